import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The journeys run against the whole system started the way the run command starts it:
// the `stack` binary with a real nats-server, every service, the web server and the
// ingress. BASE_URL points them at a system that is already running instead.
const port = Number(process.env.E2E_PORT ?? 8095);
const baseURL = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;
// A second system whose orders expire after a few seconds, for the expiry journeys. It is
// reached as `localhost` so that its cookies never mix with the first one's.
const expiryPort = port + 1;
export const expiryURL = process.env.EXPIRY_URL ?? `http://localhost:${expiryPort}`;
process.env.EXPIRY_URL = expiryURL;
const targetDir = process.env.CARGO_TARGET_DIR ?? join(__dirname, "..", "target");

/** The stack as the run command starts it, on `stackPort`, with `extra` variables. */
function stack(stackPort: number, extra: Record<string, string>) {
  return {
    command: process.env.STACK_BIN ?? join(targetDir, "debug", "stack"),
    url: `http://127.0.0.1:${stackPort}/healthz`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      PORT: String(stackPort),
      GITTIX_DATA_DIR: mkdtempSync(join(tmpdir(), "gittix-e2e-")),
      GITTIX_SITE_ROOT: process.env.GITTIX_SITE_ROOT ?? join(targetDir, "site"),
      SCRYPT_LOG_N: "10",
      // Every journey signs up from 127.0.0.1; the per-address limit has its own tests.
      SIGNUP_MAX_PER_ADDRESS: "100000",
      RUST_LOG: "warn",
      ...extra,
    },
  };
}

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-dev-shm-usage",
      ],
    },
  },
  webServer: process.env.BASE_URL
    ? undefined
    : [stack(port, {}), stack(expiryPort, { ORDER_EXPIRATION_SECONDS: "6" })],
});
