import {
  buyAsNewUser,
  expect,
  test,
  header,
  hydrated,
  listTicket,
  openTicket,
  signUp,
  uniqueEmail,
  uniqueTitle,
} from "./helpers";

test("a buyer reserves a ticket, watches the countdown, and nobody can buy it twice", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = uniqueTitle("Opera");
  await listTicket(page, title, "30");
  const ticketUrl = await openTicket(page, title);

  const buyer = await buyAsNewUser(browser, ticketUrl);
  await expect(buyer.getByRole("heading", { name: title })).toBeVisible();
  await expect(buyer.locator(".price")).toHaveText("$30.00");

  // The countdown is right in the server's HTML…
  const html = await (await buyer.request.get(buyer.url())).text();
  expect(html).toMatch(/Time left to pay: <strong[^>]*>1[45]:[0-5]\d</);
  // …and ticks in the page.
  await hydrated(buyer);
  const clock = buyer.locator(".clock");
  const first = await clock.textContent();
  await expect(clock).not.toHaveText(first ?? "", { timeout: 5_000 });
  await expect(clock).toHaveText(/^1[45]:[0-5]\d$/);

  // Nobody can buy it again, the buyer included.
  await buyer.goto(ticketUrl);
  await expect(buyer.getByText("Reserved", { exact: true })).toBeVisible();
  await expect(buyer.getByRole("button", { name: "Purchase" })).toHaveCount(0);

  // The seller can no longer edit it.
  await page.goto(ticketUrl);
  await expect(page.getByText("Reserved", { exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: "Edit" })).toHaveCount(0);
  await page.goto(`${ticketUrl}/edit`);
  await expect(page.getByRole("alert").filter({ hasText: "Cannot edit a reserved ticket" })).toBeVisible();

  // And it is in the buyer's orders.
  await header(buyer).getByRole("link", { name: "My Orders" }).click();
  const row = buyer.getByRole("row").filter({ hasText: title });
  await expect(row).toContainText("$30.00");
  await expect(row).toContainText("created");
  await buyer.close();
});

test("a second buyer racing for a reserved ticket is told it is taken", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = uniqueTitle("Derby");
  await listTicket(page, title, "15");
  const ticketUrl = await openTicket(page, title);

  const [first, second] = [await browser.newPage(), await browser.newPage()];
  for (const buyer of [first, second]) {
    await signUp(buyer, uniqueEmail("racer"));
    await buyer.goto(ticketUrl);
    await hydrated(buyer);
  }
  await first.getByRole("button", { name: "Purchase" }).click();
  await expect(first).toHaveURL(/\/orders\//);
  // The second page still shows the button it loaded before.
  await second.getByRole("button", { name: "Purchase" }).click();
  await expect(second.getByRole("alert").filter({ hasText: "Ticket is already reserved" })).toBeVisible();
  await expect(second).toHaveURL(ticketUrl);
  await first.close();
  await second.close();
});

test("the buyer cancels and the ticket is for sale again", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = uniqueTitle("Ballet");
  await listTicket(page, title, "20");
  const ticketUrl = await openTicket(page, title);

  const buyer = await buyAsNewUser(browser, ticketUrl);
  await hydrated(buyer);
  await buyer.getByRole("button", { name: "Cancel order" }).click();
  await expect(buyer.getByText("You cancelled this order.")).toBeVisible();

  await expect(async () => {
    await page.goto("/");
    await expect(page.getByRole("link", { name: title, exact: true })).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await buyer.close();
});

test("a signed-out visitor is asked to sign in before buying", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = uniqueTitle("Gig");
  await listTicket(page, title, "9.99");
  const ticketUrl = await openTicket(page, title);

  const visitor = await browser.newPage();
  await visitor.goto(ticketUrl);
  await expect(visitor.getByRole("button", { name: "Purchase" })).toHaveCount(0);
  await visitor.getByRole("link", { name: "Sign in to purchase" }).click();
  await expect(visitor).toHaveURL(/\/auth\/signin\?next=/);
  await visitor.close();
});

test.describe("with a short payment window", () => {
  test("an unpaid order expires and its ticket is back on the home page", async ({ browser }) => {
    const base = process.env.EXPIRY_URL!;
    const seller = await browser.newPage();
    await signUp(seller, uniqueEmail("seller"), "secret1", base);
    const title = uniqueTitle("Matinee");
    await listTicket(seller, title, "11");
    const ticketUrl = await openTicket(seller, title, base);

    const buyer = await buyAsNewUser(browser, ticketUrl, base);
    await expect(buyer.getByText("Time left to pay")).toBeVisible();
    await expect(buyer.getByText("Order Expired")).toBeVisible({ timeout: 20_000 });

    // The service cancels it too, and the ticket is for sale again.
    await expect(async () => {
      await buyer.reload();
      await expect(buyer.getByText("expired", { exact: false }).first()).toBeVisible({ timeout: 1_000 });
      await expect(buyer.locator(".badge")).toHaveText("cancelled", { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    await expect(async () => {
      await seller.goto(`${base}/`);
      await expect(seller.getByRole("link", { name: title, exact: true })).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    await seller.close();
    await buyer.close();
  });
});

test("a buyer pays with the test card: the order completes and the ticket is sold", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("seller"));
  const title = uniqueTitle("Symphony");
  await listTicket(page, title, "42.5");
  const ticketUrl = await openTicket(page, title);

  const buyer = await buyAsNewUser(browser, ticketUrl);
  const orderUrl = buyer.url();
  await hydrated(buyer);

  // A declined card says so, and the order stays open.
  await buyer.getByLabel("Card number").fill("4000 0000 0000 0002");
  await buyer.getByRole("button", { name: "Pay $42.50" }).click();
  await expect(buyer.getByRole("alert").filter({ hasText: "Your card was declined." })).toBeVisible();
  await expect(buyer.locator(".badge")).toHaveText("created");
  await expect(buyer.getByText("Time left to pay")).toBeVisible();

  // The test card pays.
  await buyer.getByLabel("Card number").fill("4242 4242 4242 4242");
  await buyer.getByRole("button", { name: "Pay $42.50" }).click();
  await expect(buyer.getByText("Paid", { exact: true })).toBeVisible({ timeout: 20_000 });
  await expect(buyer.locator(".badge")).toHaveText("complete");
  expect(buyer.url()).toContain(orderUrl);

  await header(buyer).getByRole("link", { name: "My Orders" }).click();
  await expect(buyer.getByRole("row").filter({ hasText: title })).toContainText("complete");

  await expect(async () => {
    await buyer.goto(ticketUrl);
    await expect(buyer.getByText("Sold", { exact: true })).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await buyer.close();
});

test.describe("paying without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the pay form works as a plain HTML form", async ({ page, browser }) => {
    const sellerPage = await browser.newPage({ javaScriptEnabled: true });
    await signUp(sellerPage, uniqueEmail("seller"));
    const title = uniqueTitle("Quartet");
    await listTicket(sellerPage, title, "8");
    const ticketUrl = await openTicket(sellerPage, title);
    await sellerPage.close();

    await page.goto("/auth/signup");
    await page.getByLabel("Email").fill(uniqueEmail("nojs-buyer"));
    await page.getByLabel("Password").fill("secret1");
    await page.getByRole("button", { name: "Sign Up" }).click();
    await page.goto(ticketUrl);
    await page.getByRole("button", { name: "Purchase" }).click();
    await expect(page).toHaveURL(/\/orders\//);
    await page.getByLabel("Card number").fill("4242424242424242");
    await page.getByRole("button", { name: "Pay $8.00" }).click();
    await expect(page.getByText(/Payment received|Paid/).first()).toBeVisible();
    await expect(async () => {
      await page.reload();
      await expect(page.locator(".badge")).toHaveText("complete", { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
  });
});
