// The console in Simplified Chinese, in Chromium: the main flows in zh-CN, switching language,
// the choice following the account across sign-ins, rendering without script, and no page errors
// in either language.
import { test, expect, hydrated, watchErrors } from "./realms";
import { Page } from "@playwright/test";

test.use({ locale: "zh-CN" });

async function registerZh(page: Page, email: string) {
  await page.goto("/register");
  await hydrated(page);
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(page.getByRole("heading", { name: "注册 Realms 账号" })).toBeVisible();
  await page.getByLabel("邮箱").fill(email);
  await page.getByLabel("密码").fill("password123");
  await page.getByRole("button", { name: "注册", exact: true }).click();
  await expect(page.getByRole("heading", { name: "仪表盘" })).toBeVisible();
}

test("an administrator sets Realms up in Chinese: token, channel, model, binding, usage, Claude Code", async ({ page, realms, mock }) => {
  test.setTimeout(90_000);
  const errors = watchErrors(page);
  await registerZh(page, "admin@example.com");
  await expect(page.getByTestId("dash-balance")).toBeVisible();
  await expect(page.getByText("余额", { exact: true })).toBeVisible();

  // A token.
  await page.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "令牌" }).click();
  await expect(page.getByRole("heading", { name: "令牌", exact: true })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("名称").fill("笔记本");
  await page.getByRole("button", { name: "创建令牌" }).click();
  await expect(page.getByText("令牌“笔记本”已创建。")).toBeVisible();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^rlm_/);
  await expect(page.getByTestId("token-table")).toContainText("有效");

  // A channel, with an error in Chinese first.
  await page.getByTestId("admin-nav").getByRole("link", { name: "渠道" }).click();
  await expect(page.getByRole("heading", { name: "渠道", exact: true })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("名称").fill("mock-anthropic");
  await page.getByLabel("接口地址").fill("ftp://example.com");
  await page.getByLabel("API 密钥").fill(mock.key);
  await page.getByRole("button", { name: "添加渠道" }).click();
  await expect(page.locator(".field-error[data-field='base_url']")).toContainText("接口地址必须以 http:// 或 https:// 开头。");
  await page.getByLabel("接口地址").fill(mock.url);
  await page.getByRole("button", { name: "添加渠道" }).click();
  await expect(page.getByRole("heading", { name: "mock-anthropic" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "API 密钥" })).toBeVisible();

  // A model by hand, with a price error in Chinese, then its binding.
  await page.getByTestId("admin-nav").getByRole("link", { name: "模型定价" }).click();
  await hydrated(page);
  await page.getByLabel("模型 ID").fill("claude-sonnet-4-5");
  await page.getByLabel("输入", { exact: true }).fill("3");
  await page.getByLabel("输出", { exact: true }).fill("十五");
  await page.getByRole("button", { name: "添加模型" }).click();
  await expect(page.locator(".field-error[data-field='output_price']")).toContainText("输出价格必须是以美元计的数字");
  await page.getByLabel(/^输出/).fill("15");
  await page.getByRole("button", { name: "添加模型" }).click();
  await expect(page.getByRole("heading", { name: "claude-sonnet-4-5" })).toBeVisible();
  await hydrated(page);
  await expect(page.getByText("尚未绑定任何渠道")).toBeVisible();
  await page.getByRole("button", { name: "绑定", exact: true }).click();
  await expect(page.getByTestId("binding-table")).toContainText("mock-anthropic");

  // Money for the requests.
  await realms.ok(["balance", "add", "--user", "admin@example.com", "--usd", "10"]);

  // The Claude Code page in Chinese: the snippet's instructions and a connection test.
  await page.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "Claude Code" }).click();
  await expect(page.getByRole("heading", { name: "1. 安装 Claude Code" })).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId("snippet-how")).toContainText("然后运行 claude");
  await page.getByTestId("test-token").fill(token);
  await page.getByTestId("test-model").selectOption("claude-sonnet-4-5");
  await expect.poll(async () => {
    await page.getByRole("button", { name: "测试连接" }).click();
    await expect(page.getByRole("button", { name: "测试连接" })).toBeEnabled();
    return page.getByTestId("test-result").getAttribute("data-ok");
  }, { timeout: 15_000 }).toBe("true");
  await expect(page.getByTestId("test-result")).toContainText("连接成功。");
  await expect(page.getByTestId("test-timing")).toContainText("毫秒");

  // Usage: the request, with dates in Chinese.
  await page.getByRole("navigation", { name: "主导航" }).getByRole("link", { name: "用量" }).click();
  await expect(page.getByRole("heading", { name: "用量", exact: true })).toBeVisible();
  await expect(page.getByTestId("usage-table")).toContainText("claude-sonnet-4-5");
  await expect(page.getByTestId("usage-table")).toContainText(/\d{4}年\d{1,2}月\d{1,2}日/);
  await expect(page.getByTestId("chart-cost").locator("figcaption")).toHaveText("每日费用（按模型）");
  await hydrated(page);
  await page.getByTestId("chart-cost").locator("rect.bar").first().hover();
  await expect(page.getByTestId("chart-cost").locator(".chart-tip")).toContainText("日");

  // The audit log names what was done.
  await page.getByTestId("admin-nav").getByRole("link", { name: "审计日志" }).click();
  await expect(page.getByTestId("audit-table")).toContainText("channel.create");
  expect(errors).toEqual([]);
});

test("the switcher changes the language, the account keeps it across sign-ins, and neither language has page errors", async ({ page, browser, baseURL }) => {
  const errors = watchErrors(page);
  await registerZh(page, "ann@example.com");
  await hydrated(page);

  // To English with the header's switcher, on the page it was used on.
  await page.goto("/tokens");
  await hydrated(page);
  await page.getByTestId("lang-switch").getByRole("button", { name: "English" }).click();
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.getByRole("heading", { name: "Tokens", exact: true })).toBeVisible();
  await hydrated(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage" }).click();
  await expect(page.getByRole("heading", { name: "Usage", exact: true })).toBeVisible();

  // A new browser whose language is Chinese: the sign-in page is in Chinese, and signing in
  // brings the account's choice, English.
  const other = await browser.newContext({ locale: "zh-CN", baseURL });
  const second = await other.newPage();
  const secondErrors = watchErrors(second);
  await second.goto("/login");
  await hydrated(second);
  await expect(second.getByRole("heading", { name: "登录 Realms" })).toBeVisible();
  await second.getByLabel("邮箱").fill("ann@example.com");
  await second.getByLabel("密码").fill("wrong-password");
  await second.getByRole("button", { name: "登录", exact: true }).click();
  await expect(second.getByRole("alert")).toHaveText("邮箱或密码不正确。");
  await second.getByLabel("密码").fill("password123");
  await second.getByRole("button", { name: "登录", exact: true }).click();
  await expect(second.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(second.locator("html")).toHaveAttribute("lang", "en");

  // Back to Chinese there: the first browser follows after its next page load.
  await hydrated(second);
  await second.getByTestId("lang-switch").getByRole("button", { name: "简体中文" }).click();
  await expect(second.getByRole("heading", { name: "仪表盘" })).toBeVisible();
  await hydrated(second);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "仪表盘" })).toBeVisible();
  await hydrated(page);
  await other.close();
  expect(errors).toEqual([]);
  expect(secondErrors).toEqual([]);
});

test.describe("without script", () => {
  test.use({ javaScriptEnabled: false, locale: "zh-CN" });

  test("the console renders and works in Chinese without script, switcher included", async ({ page, realms }) => {
    await realms.ok(["user", "create", "--email", "dev@example.com"], { REALMS_PASSWORD: "password123" });
    await page.goto("/login");
    await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
    await page.getByLabel("邮箱").fill("dev@example.com");
    await page.getByLabel("密码").fill("password123");
    await page.getByRole("button", { name: "登录", exact: true }).click();
    await expect(page.getByRole("heading", { name: "仪表盘" })).toBeVisible();

    // A token created by a plain form post, shown once, in Chinese.
    await page.goto("/tokens");
    await page.getByLabel("名称").fill("ci");
    await page.getByRole("button", { name: "创建令牌" }).click();
    await expect(page.getByText("令牌“ci”已创建。")).toBeVisible();
    await expect(page.getByTestId("new-token")).toHaveText(/^rlm_/);

    // The Claude Code page renders its steps; the switcher is a plain form too.
    await page.goto("/claude-code");
    await expect(page.getByRole("heading", { name: "6. 你的配置" })).toBeVisible();
    await page.getByTestId("lang-switch").getByRole("button", { name: "English" }).click();
    await expect(page).toHaveURL(/\/claude-code$/);
    await expect(page.getByRole("heading", { name: "6. Your settings" })).toBeVisible();
  });
});
