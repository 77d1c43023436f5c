import { test, expect, hydrated, watchErrors, register, signOut } from "./realms";

test("an admin sets up a channel with a masked key, models and a binding, and tests the channel", async ({ page, mock }) => {
  const errors = watchErrors(page);
  await register(page, "admin@example.com");

  // A channel pointing at the mock upstream, with its key.
  await page.getByTestId("admin-nav").getByRole("link", { name: "Channels" }).click();
  await expect(page.getByRole("heading", { name: "Channels" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Name").fill("mock-anthropic");
  await page.getByLabel("Type").selectOption("anthropic");
  await page.getByLabel("Base URL").fill(`${mock.url}/v1`);
  await page.getByLabel("API key").fill(mock.key);
  await page.getByRole("button", { name: "Add channel" }).click();
  await expect(page.getByRole("heading", { name: "mock-anthropic" })).toBeVisible();
  await expect(page).toHaveURL(/\/admin\/channels\/\d+$/);

  // The key is masked everywhere: on the page, in its source, in the list.
  const masked = `••••${mock.key.slice(-4)}`;
  await expect(page.getByTestId("credentials")).toContainText(masked);
  await expect(page.getByTestId("endpoints")).toContainText(mock.url);
  expect(await page.content()).not.toContain(mock.key);
  const source = await (await page.request.get(page.url())).text();
  expect(source).toContain(masked);
  expect(source).not.toContain(mock.key);

  // Test: the mock accepts the key.
  await hydrated(page);
  await page.getByRole("button", { name: "Test", exact: true }).click();
  const results = page.getByTestId("test-results");
  await expect(results).toContainText("OK");
  await expect(results).toContainText("200");
  await expect(results).toContainText(/\d+ ms/);

  // A second, wrong key: the test shows the upstream's error for it.
  await page.getByLabel("Add an API key").fill("sk-ant-wrong-key-ZZZZ");
  await page.getByRole("button", { name: "Add key" }).click();
  await expect(page.getByText("Key added.")).toBeVisible();
  await expect(page.getByTestId("credentials")).toContainText("••••ZZZZ");
  await expect(page.getByLabel("Add an API key")).toHaveValue("");
  await page.getByRole("button", { name: "Test", exact: true }).click();
  const failed = page.getByTestId("test-results").locator("tr.failed");
  await expect(failed).toContainText("401");
  await expect(failed).toContainText("authentication_error");
  await expect(failed).not.toContainText("invalid x-api-key");
  expect(await page.content()).not.toContain("sk-ant-wrong-key");

  await page.goto("/admin/channels");
  await expect(page.getByTestId("channel-table")).toContainText(masked);
  expect(await page.content()).not.toContain(mock.key);

  // Models from the built-in price list.
  await page.getByTestId("admin-nav").getByRole("link", { name: "Pricing" }).click();
  await expect(page.getByRole("heading", { name: "Models", exact: true })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Import claude-sonnet-4-5", { exact: true }).check();
  await page.getByRole("button", { name: "Import selected" }).click();
  await expect(page.getByText("Imported 1 model.")).toBeVisible();
  const sonnet = page.getByTestId("model-table").locator("tr[data-model='claude-sonnet-4-5']");
  await expect(sonnet).toContainText("$3.00");
  await expect(sonnet).toContainText("$15.00");
  await expect(sonnet).toContainText("$3.75");

  // A model by hand, with a price error first.
  await page.getByLabel("Model id").fill("house-model");
  await page.getByLabel("Input", { exact: true }).fill("1.5");
  await page.getByLabel("Output", { exact: true }).fill("seven");
  await page.getByRole("button", { name: "Add model" }).click();
  await expect(page.locator(".field-error[data-field='output_price']")).toContainText("must be a number");
  await page.getByLabel(/^Output/).fill("7");
  await page.getByRole("button", { name: "Add model" }).click();
  await expect(page.getByRole("heading", { name: "house-model" })).toBeVisible();
  await expect(page.getByLabel("Cache write 5m", { exact: true })).toHaveValue("1.875");
  await expect(page.getByLabel("Cache read", { exact: true })).toHaveValue("0.15");

  // Bind it to the channel under an upstream name.
  await hydrated(page);
  await page.getByRole("combobox", { name: "Channel", exact: true }).selectOption({ label: "mock-anthropic (Anthropic)" });
  await page.getByLabel(/^Upstream model/).fill("claude-haiku-4-5");
  await page.getByRole("button", { name: "Bind" }).click();
  const bindings = page.getByTestId("binding-table");
  await expect(bindings).toContainText("mock-anthropic");
  await expect(bindings.getByLabel("Upstream model")).toHaveValue("claude-haiku-4-5");

  // Every change is in the audit log.
  await page.goto("/admin/audit");
  const audit = page.getByTestId("audit-table");
  for (const action of ["channel.create", "credential.add", "model.import", "model.create", "binding.create"]) {
    await expect(audit).toContainText(action);
  }
  expect(await page.content()).not.toContain(mock.key);

  // A plain user sees the served model with its prices.
  await signOut(page);
  await register(page, "dev@example.com");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
  const offered = page.getByTestId("available-models");
  await expect(offered.locator("tr[data-model='house-model']")).toContainText("$1.50");
  await expect(offered).not.toContainText("claude-sonnet-4-5"); // not bound to a channel
  expect(errors).toEqual([]);
});

test("a plain user cannot reach any admin page", async ({ page }) => {
  await register(page, "admin@example.com");
  await signOut(page);
  await register(page, "user@example.com");
  await expect(page.getByTestId("admin-nav")).toHaveCount(0);
  for (const path of ["/admin/channels", "/admin/channels/1", "/admin/models", "/admin/models/1", "/admin/users", "/admin/users/1", "/admin/settings", "/admin/audit"]) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(403);
    await expect(page.getByRole("heading", { name: "403 — Forbidden" })).toBeVisible();
  }
});

test("an admin adjusts a balance and manages users", async ({ page }) => {
  await register(page, "admin@example.com");
  await signOut(page);
  await register(page, "user@example.com");
  await signOut(page);
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill("admin@example.com");
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("admin-nav").getByRole("link", { name: "Users" }).click();
  const row = page.getByTestId("user-table").locator("tr[data-user='user@example.com']");
  await expect(row).toContainText("$0.00");
  await row.getByRole("link", { name: "user@example.com" }).click();
  await hydrated(page);
  await page.getByLabel(/^Amount in USD/).fill("20");
  await page.getByLabel("Reason").fill("pilot budget");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("balance")).toHaveText("$20.00");
  await expect(page.getByTestId("ledger")).toContainText("pilot budget");
  await page.getByLabel(/^Amount in USD/).fill("-50");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.locator(".field-error[data-field='amount']")).toContainText("below zero");
  await expect(page.getByTestId("balance")).toHaveText("$20.00");

  await page.goto("/admin/users");
  await hydrated(page);
  await row.getByRole("button", { name: "Make admin" }).click();
  await expect(row).toContainText("admin");
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("disabled");
  await expect(row).toContainText("$20.00");
});
