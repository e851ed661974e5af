import { expect, test, header, hydrated, listTicket, openTicket, signUp, uniqueEmail } from "./helpers";

test("a seller lists a ticket and sees it for sale on the home page", async ({ page }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = `Concert ${Date.now()}`;
  await listTicket(page, title, "25");
  const card = page.getByRole("listitem").filter({ hasText: title });
  await expect(card).toBeVisible();
  await expect(card.getByText("$25.00")).toBeVisible();

  // The server-rendered home page lists it too, with two decimals.
  const html = await (await page.request.get("/")).text();
  expect(html).toContain(title);
  expect(html).toContain("$25.00");
});

test("listing with bad input shows the messages next to the fields", async ({ page }) => {
  await signUp(page, uniqueEmail("seller"));
  await header(page).getByRole("link", { name: "Sell Tickets" }).click();
  await page.getByRole("button", { name: "List ticket" }).click();
  await expect(page.locator("#field-title-error")).toHaveText("Title is required");
  await expect(page.locator("#field-price-error")).toHaveText("Price must be greater than 0");
  await page.getByLabel("Title").fill("Show");
  await page.getByLabel("Price (USD)").fill("10.123");
  await page.getByRole("button", { name: "List ticket" }).click();
  await expect(page.locator("#field-price-error")).toHaveText("Price can have at most two decimal places");
  await expect(page.locator("#field-title-error")).toHaveText("");
});

test("the seller edits the price and sees the new price", async ({ page }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = `Festival ${Date.now()}`;
  await listTicket(page, title, "40");
  const url = await openTicket(page, title);
  await expect(page.getByText("$40.00")).toBeVisible();
  await expect(page.getByText("Available")).toBeVisible();

  await page.getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(`${url}/edit`);
  await expect(page.getByLabel("Price (USD)")).toHaveValue("40.00");
  await page.getByLabel("Price (USD)").fill("55.5");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(url);
  await expect(page.getByText("$55.50")).toBeVisible();

  await page.goto("/");
  await expect(page.getByRole("listitem").filter({ hasText: title }).getByText("$55.50")).toBeVisible();
});

test("another user sees no Edit link and is refused at the edit address", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("owner"));
  const title = `Play ${Date.now()}`;
  await listTicket(page, title, "12.5");
  const url = await openTicket(page, title);

  const other = await browser.newPage();
  await signUp(other, uniqueEmail("other"));
  await other.goto(url);
  await hydrated(other);
  await expect(other.getByRole("heading", { name: title })).toBeVisible();
  await expect(other.getByText("$12.50")).toBeVisible();
  await expect(other.getByRole("link", { name: "Edit" })).toHaveCount(0);

  const response = await other.goto(`${url}/edit`);
  expect(response?.status()).toBe(403);
  await expect(other.getByRole("heading", { name: "Not your ticket" })).toBeVisible();
  await expect(other.getByLabel("Price (USD)")).toHaveCount(0);
  await other.close();
});

test("a signed-out visitor is sent to sign in and brought back to sell", async ({ page, browser }) => {
  const email = uniqueEmail("later");
  await signUp(page, email);

  const visitor = await browser.newPage();
  await visitor.goto("/tickets/new");
  await expect(visitor).toHaveURL(/\/auth\/signin\?next=%2Ftickets%2Fnew|\/auth\/signin\?next=\/tickets\/new/);
  await hydrated(visitor);
  await visitor.getByLabel("Email").fill(email);
  await visitor.getByLabel("Password").fill("secret1");
  await visitor.getByRole("button", { name: "Sign In" }).click();
  await expect(visitor).toHaveURL("/tickets/new");
  await expect(visitor.getByRole("heading", { name: "Sell a ticket" })).toBeVisible();
  await visitor.close();
});

test("an unknown ticket shows the not-found page", async ({ page }) => {
  const response = await page.goto("/tickets/01aaaaaaaaaaaaaaaaaaaaaaaa");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
