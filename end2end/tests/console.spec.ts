import { test, expect, hydrated, watchErrors, register, signIn, signOut } from "./realms";

test("the console hydrates: the wasm loads and runs without errors", async ({ page }) => {
  const errors = watchErrors(page);
  const wasm = page.waitForResponse((r) => /\/pkg\/realms[^/]*\.wasm$/.test(r.url()));
  await page.goto("/login");
  expect((await wasm).status()).toBe(200);
  await hydrated(page);
  // Hydrated forms submit in place: the error appears without a page load.
  let loads = 0;
  page.on("load", () => loads++);
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  expect(loads).toBe(0);
  expect(errors).toEqual([]);
});

test("first user is admin; sign out and back in", async ({ page }) => {
  const errors = watchErrors(page);
  await register(page, "Admin@Example.com", "password123", "ada");
  await expect(page.getByTestId("admin-nav")).toBeVisible();
  await expect(page.getByTestId("user-menu")).toContainText("ada");
  await expect(page.getByTestId("user-menu")).toContainText("admin");

  await signOut(page);
  // Signed out: console pages send you to sign in.
  await page.goto("/tokens");
  await expect(page).toHaveURL(/\/login\?next=\/tokens/);

  // Emails are case-insensitive; `next` brings you back where you were going.
  await hydrated(page);
  await page.getByLabel("Email").fill("admin@example.COM");
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Tokens" })).toBeVisible();
  await expect(page.getByTestId("admin-nav")).toBeVisible();
  expect(errors).toEqual([]);
});

test("a token is shown once, then only its hint; revoking it marks it revoked", async ({ page }) => {
  await register(page, "owner@example.com");
  await page.getByRole("link", { name: "Tokens" }).click();
  await expect(page.getByRole("heading", { name: "Tokens" })).toBeVisible();
  await expect(page.getByText("No tokens yet")).toBeVisible();

  await page.getByLabel("Name").fill("laptop");
  await page.getByLabel("Expires").selectOption("30");
  await page.getByRole("button", { name: "Create token" }).click();
  const shown = page.getByTestId("new-token");
  await expect(shown).toHaveText(/^rlm_[A-Za-z0-9_-]{32,}$/);
  const secret = (await shown.textContent())!;
  const hint = secret.slice(-4);
  const row = page.getByTestId("token-table").locator("tbody tr", { hasText: "laptop" });
  await expect(row).toContainText(`rlm_…${hint}`);
  await expect(row).toContainText("active");

  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByRole("button", { name: "Copy" }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // After a reload the value is gone for good: only the hint remains.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("token-table")).toContainText(`rlm_…${hint}`);
  expect(await page.content()).not.toContain(secret);

  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toContainText("revoked");
  await expect(row.getByRole("button", { name: "Revoke" })).toHaveCount(0);
});

test("a second user is a plain user: no admin nav, 403 on admin pages", async ({ page, browser, realms }) => {
  await register(page, "admin@example.com");
  await signOut(page);

  await register(page, "user@example.com");
  await expect(page.getByTestId("user-menu")).toContainText("user@example.com");
  await expect(page.getByTestId("admin-nav")).toHaveCount(0);
  const res = await page.goto("/admin/settings");
  expect(res!.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "403 — Forbidden" })).toBeVisible();
  await expect(page.getByText("Anyone can create an account")).toHaveCount(0);

  // Anonymous visitors are sent to sign in.
  const anon = await browser.newPage({ baseURL: realms.url });
  await anon.goto("/admin/settings");
  await expect(anon).toHaveURL(/\/login\?next=\/admin\/settings/);
  await anon.close();
});

test("an admin can close registration", async ({ page, browser, realms }) => {
  await register(page, "admin@example.com");
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByTestId("registration-state")).toHaveText("Anyone can create an account.");
  await page.getByRole("button", { name: "Close registration" }).click();
  await expect(page.getByTestId("registration-state")).toContainText("Registration is closed");

  const visitor = await browser.newPage({ baseURL: realms.url });
  await visitor.goto("/register");
  await expect(visitor.getByText("Registration is closed on this Realms instance.")).toBeVisible();
  await expect(visitor.getByRole("button", { name: "Create account" })).toHaveCount(0);
  await visitor.close();
});

test("repeated failed sign-ins are throttled with a clear message", async ({ page, realms }) => {
  const created = await realms.cli(["user", "create", "--email", "cli@example.com"], { REALMS_PASSWORD: "password123" });
  expect(created.code).toBe(0);
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill("cli@example.com");
  for (let i = 0; i < 5; i++) {
    await page.getByLabel("Password").fill(`wrong-${i}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  }
  // Even the right password is refused while throttled.
  await page.getByLabel("Password").fill("password123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("Too many failed sign-in attempts");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("plain forms sign in with errors, register, and create a token shown once", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Email").fill("nojs@example.com");
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");

    await page.goto("/register");
    await page.getByLabel("Email").fill("nojs@example.com");
    await page.getByLabel("Password").fill("password123");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
    await expect(page.getByTestId("admin-nav")).toBeVisible();

    await page.goto("/tokens");
    await page.getByLabel("Name").fill("server");
    await page.getByRole("button", { name: "Create token" }).click();
    await expect(page.getByTestId("new-token")).toHaveText(/^rlm_/);
    await page.reload();
    await expect(page.getByTestId("new-token")).toHaveCount(0);
    await expect(page.getByTestId("token-table")).toContainText("server");
  });
});
