import { expect, test, expectSignedIn, expectSignedOut, header, hydrated, signUp, uniqueEmail } from "./helpers";

test("a new user signs up and sees the signed-in header", async ({ page }) => {
  const email = uniqueEmail("signup");
  await signUp(page, email);
  await expect(page.getByRole("heading", { name: "Tickets for sale" })).toBeVisible();
});

test("the signed-in header survives a reload and is in the server-rendered HTML", async ({ page }) => {
  await signUp(page, uniqueEmail("reload"));
  await page.reload();
  await expectSignedIn(page);
  // The HTML as the server sends it, before any script runs.
  const html = await (await page.request.get("/")).text();
  expect(html).toContain(">Sign Out<");
  expect(html).toContain(">Sell Tickets<");
  expect(html).not.toContain(">Sign In<");
});

test("signing out returns to the signed-out home page", async ({ page }) => {
  await signUp(page, uniqueEmail("signout"));
  await header(page).getByRole("button", { name: "Sign Out" }).click();
  await expect(page).toHaveURL("/");
  await expectSignedOut(page);
  await page.reload();
  await expectSignedOut(page);
});

test("opening the sign-out address signs nobody out: signing out is a POST", async ({ page }) => {
  await signUp(page, uniqueEmail("signout-get"));
  // As a link, an image or a redirect from another site would open it.
  await page.goto("/auth/signout");
  await expect(page.getByRole("heading", { name: "Sign out" })).toBeVisible();
  await page.goto("/");
  await expectSignedIn(page);

  // The page's own button does sign out.
  await page.goto("/auth/signout");
  await hydrated(page);
  await page.getByRole("main").getByRole("button", { name: "Sign Out" }).click();
  await expect(page).toHaveURL("/");
  await expectSignedOut(page);
});

test("signing in with a wrong password shows Invalid credentials next to the form", async ({ page, browser }) => {
  const email = uniqueEmail("signin");
  await signUp(page, email);

  const other = await browser.newPage();
  await other.goto("/auth/signin");
  await hydrated(other);
  await other.getByLabel("Email").fill(email);
  await other.getByLabel("Password").fill("wrong-password");
  await other.getByRole("button", { name: "Sign In" }).click();
  await expect(other.getByRole("alert").filter({ hasText: "Invalid credentials" })).toBeVisible();
  await expect(other).toHaveURL(/\/auth\/signin/);
  await expectSignedOut(other);

  await other.getByLabel("Password").fill("secret1");
  await other.getByRole("button", { name: "Sign In" }).click();
  await expect(other).toHaveURL("/");
  await expectSignedIn(other);
  await other.close();
});

test("signing up with an email in use says so and stays signed out", async ({ page, browser }) => {
  const email = uniqueEmail("taken");
  await signUp(page, email);

  const other = await browser.newPage();
  await other.goto("/auth/signup");
  await hydrated(other);
  await other.getByLabel("Email").fill(email.toUpperCase());
  await other.getByLabel("Password").fill("another1");
  await other.getByRole("button", { name: "Sign Up" }).click();
  await expect(other.getByRole("alert").filter({ hasText: "Email in use" })).toBeVisible();
  await expectSignedOut(other);
  await other.close();
});

test("invalid input shows the message next to its field", async ({ page }) => {
  await page.goto("/auth/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password").fill("abc");
  await page.getByRole("button", { name: "Sign Up" }).click();
  await expect(page.locator("#field-email-error")).toHaveText("Email must be valid");
  await expect(page.locator("#field-password-error")).toHaveText(
    "Password must be between 4 and 20 characters",
  );
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("signing up works as a plain HTML form", async ({ page }) => {
    const email = uniqueEmail("nojs");
    await page.goto("/auth/signup");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("secret1");
    await page.getByRole("button", { name: "Sign Up" }).click();
    await expect(page).toHaveURL("/");
    await expectSignedIn(page);
    await expect(page.getByRole("heading", { name: "Tickets for sale" })).toBeVisible();
  });

  test("signing out works as a plain HTML form", async ({ page }) => {
    await page.goto("/auth/signup");
    await page.getByLabel("Email").fill(uniqueEmail("nojs-signout"));
    await page.getByLabel("Password").fill("secret1");
    await page.getByRole("button", { name: "Sign Up" }).click();
    await expectSignedIn(page);
    await header(page).getByRole("button", { name: "Sign Out" }).click();
    await expect(page).toHaveURL("/");
    await expectSignedOut(page);
  });

  test("a rejected sign-up shows its message after the round trip", async ({ page }) => {
    await page.goto("/auth/signup");
    await page.getByLabel("Email").fill("nope");
    await page.getByLabel("Password").fill("secret1");
    await page.getByRole("button", { name: "Sign Up" }).click();
    await expect(page).toHaveURL(/\/auth\/signup/);
    await expect(page.locator("#field-email-error")).toHaveText("Email must be valid");
  });
});
