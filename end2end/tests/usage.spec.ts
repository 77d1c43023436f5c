import { test, expect, hydrated, signIn } from "./realms";
import { readFileSync } from "node:fs";

const MODEL = "claude-sonnet-4-5";

test("requests show up in the usage table, charts, dashboard and CSV export", async ({ page, realms, mock }) => {
  const ok = realms.ok;
  await ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  await ok(["balance", "add", "--user", "dev@example.com", "--usd", "10"]);
  const token = (await ok(["token", "create", "--user", "dev@example.com", "--name", "laptop"])).trim().split("\n").pop()!;
  await ok(["channel", "create", "--name", "mock", "--type", "anthropic", "--base-url", mock.url, "--key", mock.key]);
  await ok(["model", "create", "--id", MODEL, "--input-price", "3", "--output-price", "15"]);
  await ok(["binding", "create", "--model", MODEL, "--channel", "mock"]);

  const send = (stream: boolean) =>
    fetch(`${realms.url}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, stream, messages: [{ role: "user", content: "hi" }] }),
    });
  // The instance picks the CLI's changes up by itself within about a second.
  await expect.poll(async () => (await send(false)).status, { timeout: 10_000 }).toBe(200);
  expect((await send(true)).status).toBe(200);
  await (await send(true)).text();

  await signIn(page, "dev@example.com");
  await expect(page.getByTestId("dash-requests")).not.toHaveText("0");
  await expect(page.getByTestId("dash-balance")).not.toHaveText("$10.00"); // charged

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage" }).click();
  await expect(page.getByRole("heading", { name: "Usage", exact: true })).toBeVisible();
  const rows = page.getByTestId("usage-table").locator("tbody tr", { hasText: MODEL });
  await expect(rows.first()).toBeVisible();
  expect(await rows.count()).toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId("usage-table")).toContainText("laptop");

  // Charts render on the server as SVG, with a title per bar; hydrated, hovering shows a tooltip.
  const bars = page.getByTestId("chart-cost").locator("rect.bar");
  await expect(bars.first()).toBeAttached();
  await expect(bars.first().locator("title")).toContainText(MODEL);
  await expect(page.getByTestId("chart-requests").locator("rect.bar").first()).toBeAttached();
  await expect(page.getByTestId("chart-tokens-spend")).toContainText("laptop");
  await hydrated(page);
  await bars.first().hover();
  await expect(page.getByTestId("chart-cost").locator(".chart-tip")).toContainText(MODEL);

  // Filters narrow the table.
  await page.getByLabel("Status").selectOption("ok");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/status=ok/);
  await expect(page.getByTestId("usage-table").locator("tbody tr").first()).toBeVisible();
  await expect(page.getByTestId("usage-table")).not.toContainText("model_not_found");
  await page.getByLabel("From", { exact: true }).fill("2001-01-01");
  await page.getByLabel("To", { exact: true }).fill("2001-01-31");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("No requests match these filters.")).toBeVisible();
  await page.goto("/usage");

  // CSV export.
  const download = page.waitForEvent("download");
  await page.getByTestId("export-csv").click();
  const file = await (await download).path();
  const csv = readFileSync(file!, "utf8");
  const lines = csv.trim().split("\n");
  expect(lines[0]).toContain("request_id,time_utc,user,token");
  expect(lines.length).toBeGreaterThanOrEqual(4);
  expect(csv).toContain(MODEL);
  expect(csv).toContain("dev@example.com");
});

test("without JavaScript the usage page and its charts still render", async ({ browser, realms }) => {
  await realms.cli(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: realms.url });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill("dev@example.com");
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.goto("/usage?status=ok");
  await expect(page.getByRole("heading", { name: "Usage", exact: true })).toBeVisible();
  await expect(page.getByTestId("chart-cost")).toContainText("Nothing in this range.");
  await expect(page.getByLabel("Status")).toHaveValue("ok");
  await context.close();
});
