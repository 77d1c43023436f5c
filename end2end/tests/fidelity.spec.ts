import { test, expect, hydrated, watchErrors, register, claude } from "./realms";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** A price file in LiteLLM's format: one model that is new, one this server has with other prices. */
const PRICE_FILE = JSON.stringify({
  "claude-upload-1": {
    litellm_provider: "anthropic", mode: "chat",
    input_cost_per_token: 0.000002, output_cost_per_token: 0.00001,
  },
  "claude-sonnet-4-5": {
    litellm_provider: "anthropic", mode: "chat",
    input_cost_per_token: 0.0000025, output_cost_per_token: 0.0000125,
  },
});

test("an uploaded price file is previewed, changes nothing until imported, then imports", async ({ page }) => {
  const errors = watchErrors(page);
  await register(page, "admin@example.com");
  await page.goto("/admin/models");
  await hydrated(page);
  await page.getByLabel("Import claude-sonnet-4-5", { exact: true }).check();
  await page.getByRole("button", { name: "Import selected" }).click();
  await expect(page.getByText("Imported 1 model.")).toBeVisible();

  // A file that is not a price file says why.
  await page.getByTestId("upload-prices").locator("input[type=file]").setInputFiles({ name: "bad.json", mimeType: "application/json", buffer: Buffer.from("[1, 2]") });
  await page.getByRole("button", { name: "Upload and preview" }).click();
  await expect(page.getByTestId("upload-error")).toBeVisible();

  await page.getByTestId("upload-prices").locator("input[type=file]").setInputFiles({ name: "prices.json", mimeType: "application/json", buffer: Buffer.from(PRICE_FILE) });
  await page.getByRole("button", { name: "Upload and preview" }).click();
  await expect(page).toHaveURL(/prices=upload/);
  await expect(page.getByTestId("price-source")).toContainText("Preview of the uploaded file prices.json");
  const form = page.getByTestId("import-prices");
  await expect(form).toContainText("claude-upload-1");
  await expect(form.locator("tr", { hasText: "claude-sonnet-4-5" })).toContainText("new prices");
  // Nothing changed yet.
  const table = page.getByTestId("model-table");
  await expect(table.locator("tr[data-model='claude-sonnet-4-5']")).toContainText("$3.00");
  await expect(table.locator("tr[data-model='claude-upload-1']")).toHaveCount(0);

  await hydrated(page);
  await page.getByLabel("Import claude-upload-1", { exact: true }).check();
  await page.getByLabel("Import claude-sonnet-4-5", { exact: true }).check();
  await page.getByRole("button", { name: "Import selected" }).click();
  await expect(page.getByText("Imported 2 models.")).toBeVisible();
  await expect(table.locator("tr[data-model='claude-upload-1']")).toContainText("$2.00");
  await expect(table.locator("tr[data-model='claude-sonnet-4-5']")).toContainText("$2.50");
  expect(errors).toEqual([]);
});

test("without script the new settings save: filtering preset, web search price, probes, token clients", async ({ browser, realms, mock }) => {
  const ok = realms.ok;
  await ok(["user", "create", "--email", "root@example.com", "--admin"], { REALMS_PASSWORD: "password123" });
  await ok(["channel", "create", "--name", "compat", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["token", "create", "--user", "root@example.com", "--name", "laptop"]);
  const ctx = await browser.newContext({ javaScriptEnabled: false, baseURL: realms.url });
  const page = await ctx.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill("root@example.com");
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();

  await page.goto("/admin/channels");
  await page.getByRole("link", { name: "compat" }).click();
  await page.getByRole("button", { name: "Use the preset for an Anthropic-compatible provider" }).click();
  await expect(page.getByLabel("Beta flags to drop")).toHaveValue("context-1m, context-management, fine-grained-tool-streaming");
  await expect(page.getByLabel("Body fields to drop")).toHaveValue("context_management, metadata");
  expect(await ok(["channel", "filter", "--name", "compat"])).toContain("fields: context_management,metadata");

  await page.goto("/admin/settings");
  await page.getByTestId("web-search-price").fill("12.5");
  await page.getByTestId("web-search-price").press("Enter");
  await expect(page.getByTestId("web-search-price")).toHaveValue("12.50");
  await page.getByLabel("Answer them here with a minimal answer, at no cost").check();
  await page.locator("section", { hasText: "Probes" }).getByRole("button", { name: "Save" }).click();
  await expect(page.getByLabel("Answer them here with a minimal answer, at no cost")).toBeChecked();

  await page.goto("/tokens");
  const clients = page.getByTestId("token-clients");
  await clients.locator("summary").click();
  await clients.getByLabel("Claude Code only (User-Agent claude-cli/…)").check();
  await clients.getByLabel("Minimum Claude Code version (optional)").fill("2.1.0");
  await clients.getByRole("button", { name: "Save clients" }).click();
  await expect(page.getByTestId("token-clients").locator("summary")).toHaveText("Claude Code 2.1.0 or later");
  await ctx.close();
});

test("Claude Code answers with a Claude-Code-only token through a channel that filters what its provider refuses; curl is refused", async ({ realms, mock }) => {
  test.setTimeout(120_000);
  const ok = realms.ok;
  await ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  await ok(["balance", "add", "--user", "dev@example.com", "--usd", "20", "--reason", "e2e"]);
  const token = (await ok(["token", "create", "--user", "dev@example.com", "--name", "cc", "--claude-code", "--min-version", "2.1.0"])).trim().split("\n").pop()!;
  await ok(["channel", "create", "--name", "compat", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["model", "create", "--id", "claude-compat", "--input-price", "3", "--output-price", "15"]);
  // The mock's strict provider refuses Claude Code's context-management beta and fields.
  await ok(["binding", "create", "--model", "claude-compat", "--channel", "compat", "--upstream-model", "mock-strict"]);
  await ok(["channel", "filter", "--name", "compat", "--preset", "anthropic-compatible"]);
  const ask = () => fetch(`${realms.url}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": "curl/8.5.0" },
    body: JSON.stringify({ model: "claude-compat", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
  });
  await expect.poll(async () => (await ask()).status, { timeout: 10_000 }).toBe(403);
  const refused = await (await ask()).json();
  expect(refused.error.type).toBe("permission_error");
  expect(refused.error.message).toContain("accepts only Claude Code 2.1.0 or later");
  // The instance picks the CLI's model and binding up by itself within about a second.
  const asClaudeCode = () => fetch(`${realms.url}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": "claude-cli/2.1.100 (external, cli)" },
    body: JSON.stringify({ model: "claude-compat", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
  });
  await expect.poll(async () => (await asClaudeCode()).status, { timeout: 10_000 }).toBe(200);

  const home = mkdtempSync(path.join(tmpdir(), "realms-claude-home-"));
  try {
    const run = await claude(["-p", "Say hello", "--model", "claude-compat"], {
      HOME: home, ANTHROPIC_BASE_URL: realms.url, ANTHROPIC_AUTH_TOKEN: token,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1", DISABLE_AUTOUPDATER: "1", NO_COLOR: "1",
    });
    expect(run.code, `claude failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain("Hello from the mock upstream.");
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
