// Page helpers shared by the Playwright specs of the chat page: accounts
// through the forms, waits for the connected page, sending, and checks that
// a page saw no script errors or dialogs. (Not a spec: Playwright runs only
// *.spec.js files.)
const { expect } = require('@playwright/test');

/** The CSS selector of a data-testid. */
const T = (id) => `[data-testid="${id}"]`;
const VIEWPORT = { width: 1100, height: 700 };

// watch records page errors and dialogs; the tests expect none.
function watch(page) {
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    page.problems.push(`dialog ${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
}

// newUserPage opens a browser context of its own (its own cookies) and
// signs up name through the form; resolves with the chat page.
async function newUserPage(browser, url, name, viewport = VIEWPORT) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watch(page);
  await page.goto(url + '/signup');
  await page.fill(T('username'), name);
  await page.fill(T('password'), `${name}-password`);
  await page.click(T('submit'));
  await page.waitForURL(url + '/');
  await connectedIn(page, 'chat');
  return page;
}

// loginPage opens a new context and logs name in through the form.
async function loginPage(browser, url, name, password, viewport = VIEWPORT) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watch(page);
  await page.goto(url + '/login');
  await page.fill(T('username'), name);
  await page.fill(T('password'), password);
  await page.click(T('submit'));
  await page.waitForURL(url + '/');
  return page;
}

// connectedIn waits until page is connected, in room, with the composer on.
async function connectedIn(page, room) {
  await expect(page.locator(T('conn-status'))).toHaveAttribute('data-state', 'connected');
  await expect(page.locator(T('room-title'))).toHaveText(room);
  await expect(page.locator(`${T('room')}[data-room="${room}"]`)).toHaveAttribute('aria-current', 'true');
  await expect(page.locator(T('message-input'))).toBeEnabled();
}

// say sends text through the composer and waits until it is shown.
async function say(page, text) {
  await page.fill(T('message-input'), text);
  await page.press(T('message-input'), 'Enter');
  await expect(page.locator(T('message-text')).filter({ hasText: text }).last()).toBeVisible();
  await expect(page.locator(T('message-input'))).toHaveValue('');
}

// texts is the list of message texts shown on page.
function texts(page) {
  return page.locator(`${T('messages')} ${T('message-text')}`).allTextContents();
}

function noProblems(...pages) {
  for (const p of pages) expect(p.problems, 'page errors or dialogs').toEqual([]);
}

module.exports = { T, VIEWPORT, watch, newUserPage, loginPage, connectedIn, say, texts, noProblems };
