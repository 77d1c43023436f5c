// Test fixture: every test gets its own Realms process on a fresh temporary SQLite database.
import { test as base, expect, Page } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const bin = process.env.REALMS_BIN ?? path.join(root, "target", "release", "realms");
/** The mock upstream provider: a binary of its own beside `realms`, not part of the product. */
const mockBin = process.env.REALMS_MOCK_BIN ?? path.join(path.dirname(bin), "realms-mock");
const siteRoot = process.env.REALMS_SITE_ROOT ?? path.join(root, "target", "site");

export type Realms = {
  url: string;
  dir: string;
  cli: (args: string[], env?: Record<string, string>) => Promise<CliResult>;
  /** Runs an ops command that must succeed; resolves with its stdout. */
  ok: (args: string[], env?: Record<string, string>) => Promise<string>;
  /** What `realms serve` has logged so far. */
  log: () => string;
};
export type CliResult = { code: number | null; stdout: string; stderr: string };

function run(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      env: { ...process.env, REALMS_ALLOW_PRIVATE_UPSTREAMS: "true", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `realms serve` on a free port and resolves with its URL once it logs that it listens; its
 * log keeps being read (so the pipe never fills) and is handed out by `log`. */
function start(dir: string): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--site-root", siteRoot], {
      cwd: dir,
      env: {
        ...process.env,
        REALMS_DATABASE_URL: `sqlite://${dir}/realms.db`,
        REALMS_DATA_DIR: dir,
        // The mock upstream runs on this machine.
        REALMS_ALLOW_PRIVATE_UPSTREAMS: "true",
        REALMS_LOG: "info,realms::relay::models=debug",
        NO_COLOR: "1",
      },
    });
    let output = "";
    let listening = false;
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
      const m = !listening && output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        listening = true;
        resolve({ child, url: m[1], log: () => output });
      }
    });
    child.on("exit", (code) => {
      if (!listening) reject(new Error(`realms exited with ${code} before listening:\n${output}`));
    });
  });
}

export type Mock = { url: string; key: string };

/** The mock upstream key the `mock` fixture accepts. */
export const MOCK_KEY = "sk-ant-mock-e2e-0123456789-KEY1";

/** Starts the mock upstream provider (`realms-mock`) on a free port. */
function startMock(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(mockBin, ["--addr", "127.0.0.1:0", "--key", MOCK_KEY], {
      env: { ...process.env, NO_COLOR: "1" },
    });
    let output = "";
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = output.match(/mock upstream listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        child.stderr?.off("data", onData);
        resolve({ child, url: m[1] });
      }
    };
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`the mock upstream exited with ${code}:\n${output}`)));
  });
}

export const test = base.extend<{ realms: Realms; mock: Mock }>({
  mock: async ({}, use) => {
    const { child, url } = await startMock();
    await use({ url, key: MOCK_KEY });
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  },
  realms: async ({}, use) => {
    const dir = mkdtempSync(path.join(tmpdir(), "realms-e2e-"));
    const { child, url, log } = await start(dir);
    const env = { REALMS_DATABASE_URL: `sqlite://${dir}/realms.db`, REALMS_DATA_DIR: dir };
    const cli = (args: string[], extra: Record<string, string> = {}) => run(args, { ...env, ...extra });
    const ok = async (args: string[], extra: Record<string, string> = {}) => {
      const r = await cli(args, extra);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    await use({ url, dir, cli, ok, log });
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  },
  baseURL: async ({ realms }, use) => {
    await use(realms.url);
  },
});

export { expect };

/** Fails the test on any uncaught page error; waits until the wasm has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toBeAttached();
}

export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // Answers with an error status (a refused sign-in is a 400) are expected; anything else is not.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export async function register(page: Page, email: string, password = "password123", username = "") {
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  if (username) await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
}

export async function signOut(page: Page) {
  await page.getByTestId("user-menu").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Realms" })).toBeVisible();
}

export async function signIn(page: Page, email: string, password = "password123") {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
}

/** The real Claude Code CLI, installed by the test command from npm. */
export const claudeBin = path.resolve(__dirname, "..", "node_modules", ".bin", "claude");

/** Runs the real Claude Code CLI with only `env` (and PATH) set. */
export function claude(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(claudeBin, args, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
