import { expect, test, header, hydrated, signUp, uniqueEmail } from "./helpers";

test("links change the page without reloading the document", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  // A marker on window disappears if the document is ever reloaded.
  await page.evaluate(() => ((window as unknown as { __gittixMarker: number }).__gittixMarker = 42));

  await header(page).getByRole("link", { name: "Sign In" }).click();
  await expect(page).toHaveURL("/auth/signin");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL("/auth/signup");
  await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();

  await header(page).getByRole("link", { name: "GitTix" }).click();
  await expect(page).toHaveURL("/");

  const marker = await page.evaluate(() => (window as unknown as { __gittixMarker?: number }).__gittixMarker);
  expect(marker).toBe(42);
});

test("signing up and out in the app keeps the same document", async ({ page }) => {
  await page.goto("/auth/signup");
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { __gittixMarker: number }).__gittixMarker = 7));
  const email = uniqueEmail("spa");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("secret1");
  await page.getByRole("button", { name: "Sign Up" }).click();
  await expect(page).toHaveURL("/");
  await expect(header(page).getByRole("button", { name: "Sign Out" })).toBeVisible();
  await header(page).getByRole("button", { name: "Sign Out" }).click();
  await expect(header(page).getByRole("link", { name: "Sign In" })).toBeVisible();
  const marker = await page.evaluate(() => (window as unknown as { __gittixMarker?: number }).__gittixMarker);
  expect(marker).toBe(7);
});

test("an unknown address shows a friendly not-found page", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("the layout fits a phone screen", async ({ browser }) => {
  const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
  await signUp(page, uniqueEmail("phone"));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(overflow).toBe(false);
  await page.close();
});
