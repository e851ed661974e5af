import type { Page } from "@playwright/test";
import { expect, test, header, hydrated, openTicket, signUp, uniqueEmail, uniqueTitle } from "./helpers";

// The per-user limits (MAX_LISTINGS_PER_HOUR = 20, MAX_OPEN_ORDERS_PER_USER = 5 by default)
// as a user meets them: the page says what happened and nothing changes.

/** Lists a ticket through the API with the page's session; returns its id. */
async function listByApi(page: Page, title: string): Promise<string> {
  const response = await page.request.post("/api/tickets", { data: { title, price: 5 } });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).id;
}

test("a seller past the hourly listing limit is told so on the form", async ({ page }) => {
  await signUp(page, uniqueEmail("hoarder"));
  for (let n = 0; n < 20; n++) {
    await listByApi(page, uniqueTitle(`Bulk ${n}`));
  }

  const title = uniqueTitle("One too many");
  await header(page).getByRole("link", { name: "Sell Tickets" }).click();
  await hydrated(page);
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Price (USD)").fill("12");
  await page.getByRole("button", { name: "List ticket" }).click();
  await expect(
    page.getByRole("alert").filter({ hasText: "You have listed too many tickets in the last hour" }),
  ).toBeVisible();
  await expect(page).toHaveURL(/\/tickets\/new$/);
  await page.goto("/");
  await expect(page.getByRole("link", { name: title, exact: true })).toHaveCount(0);
});

test("a buyer holding the most open orders is told to pay or cancel one first", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("seller"));
  const titles = Array.from({ length: 6 }, (_, n) => uniqueTitle(`Hoard ${n}`));
  const ids = [];
  for (const title of titles) {
    ids.push(await listByApi(page, title));
  }

  const buyer = await browser.newPage();
  await signUp(buyer, uniqueEmail("hoarder"));
  // Five reservations, the most one buyer may hold; each waits for the orders service to
  // have the ticket.
  for (const ticketId of ids.slice(0, 5)) {
    await expect
      .poll(async () => (await buyer.request.post("/api/orders", { data: { ticketId } })).status())
      .toBe(201);
  }

  await openTicket(buyer, titles[5]);
  await hydrated(buyer);
  await buyer.getByRole("button", { name: "Purchase" }).click();
  await expect(
    buyer.getByRole("alert").filter({ hasText: "You have too many open orders. Pay for or cancel one first." }),
  ).toBeVisible();
  await expect(buyer.getByRole("button", { name: "Purchase" })).toBeVisible();
  await buyer.close();
});
