import { test as base, expect, type Browser, type Page } from "@playwright/test";

/**
 * `test` that fails when a page logs an error or throws: a hydration mismatch or a panic in
 * the WebAssembly shows up there first.
 */
export const test = base.extend<{ failOnPageErrors: void }>({
  failOnPageErrors: [
    async ({ context, browser, javaScriptEnabled }, use) => {
      const errors: string[] = [];
      const watch = (page: Page, scripts: boolean) => {
        page.on("pageerror", (error) => errors.push(`${page.url()}: ${error.message}`));
        // A request that failed on the network (not one cancelled by a navigation) says more
        // than the console error it causes.
        page.on("requestfailed", (request) => {
          const failure = request.failure()?.errorText ?? "unknown";
          // With JavaScript off, Chromium refuses to fetch the module script and calls it "csp".
          const scriptsOff = !scripts && request.resourceType() === "script" && failure === "csp";
          if (!failure.includes("ERR_ABORTED") && !scriptsOff) {
            errors.push(`${request.method()} ${request.url()} failed: ${failure}`);
          }
        });
        // The app's own files must always load; a 4xx/5xx for one says which and why.
        page.on("response", (response) => {
          if (response.url().includes("/pkg/") && response.status() >= 400) {
            errors.push(`GET ${response.url()} answered ${response.status()}`);
          }
        });
        page.on("console", (message) => {
          // Failed requests the test provoked on purpose (4xx answers) are not page errors.
          if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
            errors.push(`${page.url()}: ${message.text()}`);
          }
        });
      };
      const scripts = javaScriptEnabled ?? true;
      context.pages().forEach((page) => watch(page, scripts));
      context.on("page", (page) => watch(page, scripts));
      // Pages the test opens in contexts of its own (a second user) are watched too.
      const newPage = browser.newPage.bind(browser);
      browser.newPage = async (options) => {
        const page = await newPage(options);
        watch(page, options?.javaScriptEnabled ?? true);
        return page;
      };
      try {
        await use();
      } finally {
        browser.newPage = newPage;
      }
      expect(errors, "errors in the browser console").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** A fresh e-mail address per call, so journeys never collide. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** Waits until the WebAssembly has hydrated the page. */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator("html[data-hydrated]")).toHaveCount(1);
}

export const header = (page: Page) => page.getByRole("navigation", { name: "Main" });

export async function expectSignedIn(page: Page): Promise<void> {
  await expect(header(page).getByRole("button", { name: "Sign Out" })).toBeVisible();
  await expect(header(page).getByRole("link", { name: "Sell Tickets" })).toBeVisible();
  await expect(header(page).getByRole("link", { name: "My Orders" })).toBeVisible();
  await expect(header(page).getByRole("link", { name: "Sign In" })).toHaveCount(0);
}

export async function expectSignedOut(page: Page): Promise<void> {
  await expect(header(page).getByRole("link", { name: "Sign In" })).toBeVisible();
  await expect(header(page).getByRole("link", { name: "Sign Up" })).toBeVisible();
  await expect(header(page).getByRole("button", { name: "Sign Out" })).toHaveCount(0);
}

/** Signs up through the form and waits for the signed-in home page. */
export async function signUp(page: Page, email: string, password = "secret1", base = ""): Promise<void> {
  await page.goto(`${base}/auth/signup`);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign Up" }).click();
  await expect(page).toHaveURL(`${base}/`);
  await expectSignedIn(page);
}

/** Lists a ticket through the Sell Tickets form (signed in) and waits for the home page. */
export async function listTicket(page: Page, title: string, price: string): Promise<void> {
  await header(page).getByRole("link", { name: "Sell Tickets" }).click();
  await expect(page).toHaveURL(/\/tickets\/new$/);
  await hydrated(page);
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Price (USD)").fill(price);
  await page.getByRole("button", { name: "List ticket" }).click();
  await expect(page.getByRole("heading", { name: "Tickets for sale" })).toBeVisible();
}

/** Opens the ticket titled `title` from the home page and returns its URL. */
export async function openTicket(page: Page, title: string, base = ""): Promise<string> {
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: title, exact: true }).click();
  await expect(page.getByRole("heading", { name: title })).toBeVisible();
  return page.url();
}

/** A unique ticket title. */
export function uniqueTitle(prefix: string): string {
  return `${prefix} ${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * A new buyer in a page of their own: signs up, opens the ticket, waits for hydration and
 * presses Purchase; returns the page, on the new order's address.
 */
export async function buyAsNewUser(browser: Browser, ticketUrl: string, base = ""): Promise<Page> {
  const buyer = await browser.newPage();
  await signUp(buyer, uniqueEmail("buyer"), "secret1", base);
  await buyer.goto(ticketUrl);
  await hydrated(buyer);
  await buyer.getByRole("button", { name: "Purchase" }).click();
  await expect(buyer).toHaveURL(/\/orders\/[0-9a-z]{26}$/);
  return buyer;
}
