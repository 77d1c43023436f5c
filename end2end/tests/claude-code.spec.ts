// The real Claude Code CLI against Realms, with the mock upstream behind it.
import { test, expect, Realms, Mock, register, hydrated, claude, claudeBin } from "./realms";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const MODEL = "claude-sonnet-4-5";

/** A user with a balance and a token, a channel to the mock, a priced model bound to it (with the
 * ops CLI); resolves with the token once the running instance has picked the changes up. */
async function provision(realms: Realms, mock: Mock): Promise<string> {
  const ok = realms.ok;
  await ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  await ok(["balance", "add", "--user", "dev@example.com", "--usd", "20", "--reason", "e2e"]);
  const token = (await ok(["token", "create", "--user", "dev@example.com", "--name", "claude-code"])).trim().split("\n").pop()!;
  expect(token).toMatch(/^rlm_/);
  await ok(["channel", "create", "--name", "mock", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["model", "create", "--id", MODEL, "--input-price", "3", "--output-price", "15"]);
  await ok(["binding", "create", "--model", MODEL, "--channel", "mock"]);
  // The running instance picks the CLI's changes up by itself (within about a second).
  await expect
    .poll(async () => {
      const res = await fetch(`${realms.url}/v1/messages/count_tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
      });
      return res.status;
    }, { timeout: 10_000 })
    .toBe(200);
  return token;
}

/** `claude -p "Say hello" --model MODEL` in a fresh HOME, pointed at Realms. */
async function sayHello(realms: Realms, token: string, extra: Record<string, string> = {}) {
  const home = mkdtempSync(path.join(tmpdir(), "realms-claude-home-"));
  try {
    return await claude(["-p", "Say hello", "--model", MODEL], {
      HOME: home,
      ANTHROPIC_BASE_URL: realms.url,
      ANTHROPIC_AUTH_TOKEN: token,
      ANTHROPIC_SMALL_FAST_MODEL: MODEL,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: MODEL,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      NO_COLOR: "1",
      ...extra,
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The status-line command the README gives for `~/.claude/settings.json`. */
const STATUS_LINE = 'curl -fsS -H "Authorization: Bearer $ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_BASE_URL/v1/realms/me?format=text"';

test("claude -p answers through Realms, and the status line shows the balance", async ({ realms, mock }) => {
  test.setTimeout(120_000);
  const token = await provision(realms, mock);
  const run = await sayHello(realms, token);
  expect(run.code, `claude failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).toContain("Hello from the mock upstream.");
  const status = await new Promise<string>((resolve) => {
    const child = spawn("bash", ["-c", STATUS_LINE], {
      env: { PATH: process.env.PATH ?? "", ANTHROPIC_BASE_URL: realms.url, ANTHROPIC_AUTH_TOKEN: token },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", () => resolve(out));
  });
  expect(status).toMatch(/^Realms · \$\d+\.\d+ left · today \$\d+\.\d+\n$/);
});

test("with gateway model discovery on, Claude Code reads the models list in Anthropic's shape", async ({ realms, mock }) => {
  test.setTimeout(120_000);
  const token = await provision(realms, mock);
  expect(realms.log()).not.toContain("models listed");
  const run = await sayHello(realms, token, { CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY: "1" });
  expect(run.code, `claude failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).toContain("Hello from the mock upstream.");
  expect(realms.log()).toMatch(/models listed.*Anthropic/);
});

/** Runs `script` in bash with only `env` (and PATH); resolves with what it printed. */
function bash(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", script], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("the setup page's bash profile and settings.json, applied in a fresh HOME, make claude -p answer; its status line prints the balance", async ({ page, realms, mock }) => {
  test.setTimeout(180_000);
  await register(page, "dev@example.com");
  const ok = realms.ok;
  await ok(["balance", "add", "--user", "dev@example.com", "--usd", "20", "--reason", "e2e"]);
  await ok(["channel", "create", "--name", "mock", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["model", "create", "--id", MODEL, "--input-price", "3", "--output-price", "15"]);
  await ok(["binding", "create", "--model", MODEL, "--channel", "mock"]);
  await expect
    .poll(async () => {
      await page.goto("/claude-code");
      return page.getByTestId("prereq-model").getAttribute("data-ok");
    }, { timeout: 10_000 })
    .toBe("true");
  await hydrated(page);
  await page.getByRole("button", { name: "Create a token" }).click();
  await expect(page.getByTestId("new-token")).toHaveText(/^rlm_/);
  const quiet = { DISABLE_AUTOUPDATER: "1", NO_COLOR: "1" };

  // The bash profile.
  await page.getByLabel("macOS / Linux", { exact: true }).check();
  await page.getByTestId("shell").selectOption("bash");
  await page.getByLabel("Shell profile", { exact: true }).check();
  await expect(page.getByTestId("snippet")).toContainText("export ANTHROPIC_BASE_URL=");
  const profile = (await page.getByTestId("snippet").textContent())!;
  const home1 = mkdtempSync(path.join(tmpdir(), "realms-claude-home-"));
  try {
    writeFileSync(path.join(home1, ".bashrc"), profile);
    const run = await bash(`source ~/.bashrc && "${claudeBin}" -p "Say hello"`, { HOME: home1, ...quiet });
    expect(run.code, `claude failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("Hello from the mock upstream.");
  } finally {
    rmSync(home1, { recursive: true, force: true });
  }

  // ~/.claude/settings.json, with the status line.
  await page.getByLabel("Claude Code settings file", { exact: true }).check();
  await expect(page.getByTestId("snippet")).toContainText('"statusLine"');
  const settingsText = (await page.getByTestId("snippet").textContent())!;
  const settings = JSON.parse(settingsText);
  const home2 = mkdtempSync(path.join(tmpdir(), "realms-claude-home-"));
  try {
    mkdirSync(path.join(home2, ".claude"));
    writeFileSync(path.join(home2, ".claude", "settings.json"), settingsText);
    const run = await claude(["-p", "Say hello"], { HOME: home2, ...quiet });
    expect(run.code, `claude failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("Hello from the mock upstream.");
    const status = await bash(settings.statusLine.command, { HOME: home2, ...settings.env });
    expect(status.stdout).toMatch(/^Realms · \$\d+\.\d+ left · today \$\d+\.\d+\n$/);
  } finally {
    rmSync(home2, { recursive: true, force: true });
  }
});

test("with the current models imported from the snapshot and bound, claude answers with no --model, and with a dated id", async ({ realms, mock }) => {
  test.setTimeout(180_000);
  const ok = realms.ok;
  await ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  await ok(["balance", "add", "--user", "dev@example.com", "--usd", "20", "--reason", "e2e"]);
  const token = (await ok(["token", "create", "--user", "dev@example.com", "--name", "claude-code"])).trim().split("\n").pop()!;
  await ok(["channel", "create", "--name", "mock", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  // Every Claude model of the built-in snapshot, undated: their dated ids become their aliases.
  const preview = await ok(["model", "import-prices", "--new"]);
  const claudes = preview
    .split("\n")
    .filter((l) => l.startsWith("new\tclaude-"))
    .map((l) => l.split("\t")[1])
    .filter((id) => !/-\d{8}$/.test(id));
  expect(claudes).toContain("claude-opus-5-5");
  await ok(["model", "import-prices", "--only", claudes.join(","), "--apply"]);
  for (const id of claudes) await ok(["binding", "create", "--model", id, "--channel", "mock"]);
  expect(await ok(["model", "aliases", "--id", "claude-sonnet-4-5"])).toContain("claude-sonnet-4-5-20250929");
  await expect
    .poll(async () => {
      const res = await fetch(`${realms.url}/v1/models/claude-sonnet-4-5-20250929`, { headers: { authorization: `Bearer ${token}` } });
      return res.status;
    }, { timeout: 10_000 })
    .toBe(200);

  const env = { ANTHROPIC_BASE_URL: realms.url, ANTHROPIC_AUTH_TOKEN: token, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_AUTOUPDATER: "1", NO_COLOR: "1" };
  for (const args of [["-p", "Say hello"], ["-p", "Say hello", "--model", "claude-sonnet-4-5-20250929"]]) {
    const home = mkdtempSync(path.join(tmpdir(), "realms-claude-home-"));
    try {
      const run = await claude(args, { HOME: home, ...env });
      expect(run.code, `claude ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("Hello from the mock upstream.");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
  // The usage log says what was asked and what an alias resolved to.
  const usage = (await ok(["usage", "list", "--user", "dev@example.com", "--json"])).trim().split("\n").map((l) => JSON.parse(l));
  const dated = usage.find((u) => u.model === "claude-sonnet-4-5-20250929");
  expect(dated?.resolved_model).toBe("claude-sonnet-4-5");
  expect(usage.every((u) => u.status === 200)).toBe(true);
});
