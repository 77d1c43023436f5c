// The Claude Code setup page in Chromium: prerequisites, the live snippet for every system and
// method, copying, the connection test and its diagnoses, and the page without script.
import { test, expect, register, hydrated, watchErrors, Realms, Mock } from "./realms";
import { Page } from "@playwright/test";

const MODEL = "claude-sonnet-4-5";

/** A channel to the mock and a priced model bound to it, made with the ops CLI, and `usd` on the
 * balance of `email`; resolves once the running instance serves the model. */
async function provisionModel(realms: Realms, mock: Mock, email: string, usd = "20") {
  const ok = realms.ok;
  await ok(["balance", "add", "--user", email, "--usd", usd, "--reason", "e2e"]);
  await ok(["channel", "create", "--name", "mock", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["model", "create", "--id", MODEL, "--input-price", "3", "--output-price", "15"]);
  await ok(["binding", "create", "--model", MODEL, "--channel", "mock"]);
  await served(realms, MODEL);
}

/** Waits until the running instance has picked up `model` and its binding (the CLI's changes reach
 * it within about a second): token counting for it stops answering 404 or 503. Counted with a
 * token of a user of its own, so the user under test has no extra usage. */
async function served(realms: Realms, model: string) {
  const probe = await realms.cli(["user", "create", "--email", "probe@example.com"], { REALMS_PASSWORD: "password123" });
  void probe; // Already there after the first call.
  const token = (await realms.ok(["token", "create", "--user", "probe@example.com", "--name", "probe"])).trim().split("\n").pop();
  await expect
    .poll(async () => {
      const res = await fetch(`${realms.url}/v1/messages/count_tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      return res.status !== 404 && res.status !== 503;
    }, { timeout: 10_000 })
    .toBe(true);
}

async function openSetup(page: Page) {
  await page.goto("/claude-code");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Claude Code", exact: true })).toBeVisible();
}

const snippet = (page: Page) => page.getByTestId("snippet");

test("the prerequisites say what is missing, and for a plain user whom to ask", async ({ page, realms, mock }) => {
  const errors = watchErrors(page);
  await register(page, "admin@example.com");
  await openSetup(page);
  const prereq = (id: string) => page.getByTestId(`prereq-${id}`);
  await expect(prereq("token")).toHaveAttribute("data-ok", "false");
  await expect(prereq("model")).toHaveAttribute("data-ok", "false");
  await expect(prereq("model").getByRole("link", { name: "Pricing" })).toBeVisible();
  await expect(prereq("balance")).toHaveAttribute("data-ok", "false");
  await expect(prereq("balance").getByRole("link", { name: "Users" })).toBeVisible();

  // A token created in place fixes the first at once.
  await page.getByRole("button", { name: "Create a token" }).click();
  await expect(page.getByTestId("new-token")).toHaveText(/^rlm_/);
  await expect(prereq("token")).toHaveAttribute("data-ok", "true");

  // With a model and a balance, everything is met.
  await provisionModel(realms, mock, "admin@example.com");
  await openSetup(page);
  await expect(prereq("token")).toHaveAttribute("data-ok", "true");
  await expect(prereq("model")).toHaveAttribute("data-ok", "true");
  await expect(prereq("model")).toContainText(MODEL);
  await expect(prereq("balance")).toHaveAttribute("data-ok", "true");

  // A plain user without a balance is told to ask an administrator, with no admin links.
  await page.context().clearCookies();
  await register(page, "plain@example.com");
  await openSetup(page);
  await expect(prereq("balance")).toHaveAttribute("data-ok", "false");
  await expect(prereq("balance")).toContainText("administrator");
  await expect(prereq("balance").getByRole("link")).toHaveCount(0);
  await expect(prereq("token")).toHaveAttribute("data-ok", "false");
  await expect(prereq("model")).toHaveAttribute("data-ok", "true");
  expect(errors).toEqual([]);
});

test("every system and method gives its snippet with this server's URL and the new token, live", async ({ page, realms, mock, context }) => {
  const errors = watchErrors(page);
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await register(page, "dev@example.com");
  await provisionModel(realms, mock, "dev@example.com");
  await openSetup(page);
  await page.getByRole("button", { name: "Create a token" }).click();
  const secret = (await page.getByTestId("new-token").textContent())!.trim();
  expect(secret).toMatch(/^rlm_/);
  // Nothing below reloads the page: a marker set now survives every choice.
  await page.evaluate(() => ((window as any).__stillHere = true));

  // The default: the settings file, with the env block and the status line.
  await expect(snippet(page)).toContainText(secret);
  const settings = JSON.parse((await snippet(page).textContent())!);
  expect(settings.env.ANTHROPIC_BASE_URL).toBe(realms.url);
  expect(settings.env.ANTHROPIC_AUTH_TOKEN).toBe(secret);
  expect(settings.env.ANTHROPIC_MODEL).toBe(MODEL);
  expect(settings.env.ANTHROPIC_DEFAULT_HAIKU_MODEL).toBe(MODEL);
  expect(settings.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe("1");
  expect(settings.statusLine.command).toContain("/v1/realms/me?format=text");
  await expect(page.getByTestId("snippet-how")).toContainText("~/.claude/settings.json");

  const cases: { system: string; shell: string; method: string; where: RegExp; line: (s: string) => string }[] = [
    { system: "macOS / Linux", shell: "bash", method: "Shell profile", where: /~\/\.bashrc/, line: (s) => `export ANTHROPIC_AUTH_TOKEN='${s}'` },
    { system: "macOS / Linux", shell: "zsh", method: "Shell profile", where: /~\/\.zshrc/, line: (s) => `export ANTHROPIC_AUTH_TOKEN='${s}'` },
    { system: "macOS / Linux", shell: "fish", method: "Shell profile", where: /config\.fish/, line: (s) => `set -gx ANTHROPIC_AUTH_TOKEN '${s}'` },
    { system: "macOS / Linux", shell: "bash", method: "This terminal only", where: /Paste this into the terminal/, line: (s) => `export ANTHROPIC_AUTH_TOKEN='${s}'` },
    { system: "macOS / Linux", shell: "fish", method: "This terminal only", where: /Paste this into the terminal/, line: () => "set -e ANTHROPIC_API_KEY" },
    { system: "Windows", shell: "powershell", method: "Shell profile", where: /\$PROFILE/, line: (s) => `$env:ANTHROPIC_AUTH_TOKEN = '${s}'` },
    { system: "Windows", shell: "cmd", method: "Shell profile", where: /setx/, line: (s) => `setx ANTHROPIC_AUTH_TOKEN "${s}"` },
    { system: "Windows", shell: "powershell", method: "This terminal only", where: /Paste this into the terminal/, line: (s) => `$env:ANTHROPIC_BASE_URL = '${realms.url}'` },
    { system: "Windows", shell: "cmd", method: "This terminal only", where: /Paste this into the terminal/, line: (s) => `set "ANTHROPIC_AUTH_TOKEN=${s}"` },
    { system: "Windows", shell: "powershell", method: "Claude Code settings file", where: /%USERPROFILE%\\\.claude\\settings\.json/, line: (s) => `"ANTHROPIC_AUTH_TOKEN": "${s}"` },
  ];
  for (const c of cases) {
    await page.getByLabel(c.system, { exact: true }).check();
    await page.getByTestId("shell").selectOption(c.shell);
    await page.getByLabel(c.method, { exact: true }).check();
    await expect(page.getByTestId("snippet-how"), `${c.shell} ${c.method}`).toHaveText(c.where);
    await expect(snippet(page), `${c.shell} ${c.method}`).toContainText(c.line(secret));
    await expect(snippet(page)).toContainText(realms.url);
    await expect(snippet(page)).not.toContainText(`${realms.url}/v1'`);
  }
  // The Windows status line is PowerShell's.
  await expect(snippet(page)).toContainText("Invoke-RestMethod");

  // Options change the snippet too.
  await page.getByTestId("discovery").check();
  await expect(snippet(page)).toContainText("CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY");
  await page.getByTestId("status-line").uncheck();
  await expect(snippet(page)).not.toContainText("statusLine");
  await page.getByTestId("model-model").selectOption("");
  await expect(snippet(page)).not.toContainText('"ANTHROPIC_MODEL"');

  // Copy puts exactly the snippet on the clipboard.
  await page.locator("#snippet").getByRole("button", { name: "Copy" }).click();
  await expect(page.locator("#snippet").getByRole("button", { name: "Copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(await snippet(page).textContent());

  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);

  // An existing token's value cannot be shown again: the snippet has a marked placeholder.
  await openSetup(page);
  await expect(page.getByTestId("placeholder-note")).toBeVisible();
  await expect(snippet(page)).toContainText("PASTE_YOUR_RLM_TOKEN_ENDING_");
  await expect(snippet(page)).not.toContainText(secret);
  expect(errors).toEqual([]);
});

test("test connection answers through Realms, and names a revoked token, a disabled model, no balance and an upstream 500", async ({ page, realms, mock }) => {
  test.setTimeout(90_000);
  const errors = watchErrors(page);
  await register(page, "dev@example.com");
  await provisionModel(realms, mock, "dev@example.com");
  await realms.ok(["model", "create", "--id", "claude-broken", "--input-price", "3", "--output-price", "15"]);
  // On a channel of its own: its failures cool that channel down, not the one the other cases use.
  await realms.ok(["channel", "create", "--name", "failing", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await realms.ok(["binding", "create", "--model", "claude-broken", "--channel", "failing", "--upstream-model", "mock-status-500"]);
  await served(realms, "claude-broken");
  await openSetup(page);
  await page.getByRole("button", { name: "Create a token" }).click();
  await expect(page.getByTestId("new-token")).toHaveText(/^rlm_/);
  const result = page.getByTestId("test-result");
  const runTest = async (model = MODEL) => {
    await page.getByTestId("test-model").selectOption(model);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByRole("button", { name: "Test connection" })).toBeEnabled();
  };

  // Success: the answer, the timings and the cost; it is in the usage log.
  await runTest();
  await expect(result).toHaveAttribute("data-ok", "true");
  await expect(page.getByTestId("test-answer")).toHaveText(/\S/);
  await expect(page.getByTestId("test-timing")).toContainText("first byte after");
  await expect(page.getByTestId("test-cost")).toHaveText(/^\$0\.\d+/);
  const usage = await realms.ok(["usage", "list", "--user", "dev@example.com", "--json"]);
  expect(usage.trim().split("\n")).toHaveLength(1);

  // An upstream failing: its status and message.
  await runTest("claude-broken");
  await expect(result).toHaveAttribute("data-ok", "false");
  await expect(page.getByTestId("test-diagnosis")).toHaveText("The upstream answered with an error (500)");
  await expect(page.getByTestId("test-error")).toContainText("mock fault");

  // No balance: the token of an account that has none.
  await realms.ok(["user", "create", "--email", "broke@example.com"], { REALMS_PASSWORD: "password123" });
  const broke = (await realms.ok(["token", "create", "--user", "broke@example.com", "--name", "broke"])).trim().split("\n").pop()!;
  await page.getByTestId("test-token").fill(broke);
  await runTest();
  await expect(page.getByTestId("test-diagnosis")).toHaveText("The balance is too low");
  await expect(page.getByTestId("test-fix").getByRole("link", { name: /Users/ })).toBeVisible();

  // A revoked token: revoked in another tab while this page stays open.
  const t2 = (await realms.ok(["token", "create", "--user", "dev@example.com", "--name", "t2"])).trim().split("\n").pop()!;
  const other = await page.context().newPage();
  await other.goto("/tokens");
  await hydrated(other);
  const row = other.getByTestId("token-table").locator("tr", { hasText: "t2" });
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row.getByRole("button", { name: "Revoke" })).toHaveCount(0);
  await page.getByTestId("test-token").fill(t2);
  await runTest();
  await expect(page.getByTestId("test-diagnosis")).toHaveText("The token was revoked");
  await expect(page.getByTestId("test-fix").getByRole("link", { name: /Tokens/ })).toBeVisible();

  // A disabled model: an administrator turns it off in the other tab; this page still offers it.
  await page.getByTestId("test-token").fill(await page.getByTestId("new-token").textContent() ?? "");
  await other.goto("/admin/models");
  await other.locator(`tr[data-model="${MODEL}"] a`).click();
  await hydrated(other);
  await other.locator("section.card", { hasText: "Model and prices" }).getByLabel("Enabled").uncheck();
  await other.getByRole("button", { name: "Save", exact: true }).first().click();
  await expect(other.getByText("Saved.")).toBeVisible();
  await runTest();
  await expect(page.getByTestId("test-diagnosis")).toHaveText("The model is not available");
  await expect(page.getByTestId("test-fix").getByRole("link", { name: /Pricing/ })).toBeVisible();
  expect(errors).toEqual([]);
});

test("without script the page shows the snippet, the choices form changes it, and a token made here is in it", async ({ browser, realms, mock }) => {
  await realms.ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  await provisionModel(realms, mock, "dev@example.com");
  const ctx = await browser.newContext({ javaScriptEnabled: false, baseURL: realms.url });
  const page = await ctx.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill("dev@example.com");
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await page.getByRole("link", { name: "Claude Code", exact: true }).click();
  await expect(snippet(page)).toContainText(`"ANTHROPIC_BASE_URL": "${realms.url}"`);
  await page.getByLabel("Shell profile", { exact: true }).check();
  await page.getByTestId("shell").selectOption("fish");
  await page.getByRole("button", { name: "Update the snippet" }).click();
  await expect(snippet(page)).toContainText(`set -gx ANTHROPIC_BASE_URL '${realms.url}'`);
  await expect(page.getByTestId("snippet-how")).toContainText("config.fish");

  await page.getByRole("button", { name: "Create a token" }).click();
  const secret = (await page.getByTestId("new-token").textContent())!.trim();
  expect(secret).toMatch(/^rlm_/);
  await expect(snippet(page)).toContainText(`set -gx ANTHROPIC_AUTH_TOKEN '${secret}'`);
  await ctx.close();
});
