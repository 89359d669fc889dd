// End-to-end tests of the chatd web UI in Chromium: accounts through the
// forms, live messages and member counts between two users, history after
// reloads and restarts, namespace access, text never run as markup, and
// recovery after chatd restarts. Screenshots of the main pages go to the
// test output (test-results/).
const { test, expect } = require('@playwright/test');
const chat = require('../lib/chat.js');
const { T, VIEWPORT, watch, newUserPage, loginPage, connectedIn, say, texts, noProblems } = require('./ui.js');

// members expects the member count shown on page (header and room badge),
// within timeout ms (Playwright's default when not given).
async function members(page, n, timeout) {
  const opts = timeout ? { timeout } : {};
  await expect(page.locator(T('member-count'))).toHaveAttribute('data-count', String(n), opts);
  await expect(page.locator(T('room-members'))).toHaveText(String(n), opts);
}

test.describe('chatd UI', () => {
  let tmp;
  let server;

  test.beforeAll(async () => {
    tmp = chat.tempDB();
    await chat.createAdmin(tmp.db, 'boss', 'boss-password');
    server = await chat.startChatd(tmp.db);
  });
  test.afterAll(async () => {
    if (server) await server.stop();
    if (tmp) tmp.cleanup();
  });

  test('sign up, log out and log in through the forms', async ({ page }, testInfo) => {
    watch(page);
    await page.setViewportSize(VIEWPORT);
    await page.goto(server.url + '/');
    await page.waitForURL(/\/login$/);
    await page.click(T('signup-link'));
    await page.waitForURL(/\/signup$/);
    await page.screenshot({ path: testInfo.outputPath('signup.png') });

    // A name taken (in another case): the form again with an error.
    await page.fill(T('username'), 'BOSS');
    await page.fill(T('password'), 'walter-password');
    await page.click(T('submit'));
    await expect(page.locator(T('form-error'))).toBeVisible();
    await expect(page.locator(T('form-error'))).not.toHaveText('');
    await expect(page).toHaveURL(/\/signup$/);

    await page.fill(T('username'), 'walter');
    await page.fill(T('password'), 'walter-password');
    await page.click(T('submit'));
    await page.waitForURL(server.url + '/');
    await expect(page.locator(T('current-user'))).toHaveAttribute('data-username', 'walter');
    await expect(page.locator(T('current-user'))).toHaveAttribute('data-role', 'user');
    await connectedIn(page, 'chat');

    await page.click(T('logout'));
    await page.waitForURL(/\/login$/);
    await page.goto(server.url + '/');
    await page.waitForURL(/\/login$/);
    await page.screenshot({ path: testInfo.outputPath('login.png') });

    // A wrong password is refused.
    await page.fill(T('username'), 'walter');
    await page.fill(T('password'), 'wrong-password');
    await page.click(T('submit'));
    await expect(page.locator(T('form-error'))).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath('login-error.png') });

    await page.fill(T('username'), 'walter');
    await page.fill(T('password'), 'walter-password');
    await page.click(T('submit'));
    await page.waitForURL(server.url + '/');
    await connectedIn(page, 'chat');
    noProblems(page);
    // Out of #chat before the next test counts its members: a page left
    // to the fixture's teardown may keep its socket open for a while.
    await page.click(T('logout'));
    await page.waitForURL(/\/login$/);
  });

  test('two users: live messages in the same room only; member counts on join, switch and closing tabs', async ({ browser }, testInfo) => {
    const alice = await newUserPage(browser, server.url, 'alice');
    await members(alice, 1);
    const bob = await newUserPage(browser, server.url, 'bob');
    // join: both see 2
    await members(bob, 2);
    await members(alice, 2);

    await say(alice, 'Hi Bob, welcome to #chat!');
    await expect(bob.locator(T('message-text')).last()).toHaveText('Hi Bob, welcome to #chat!');
    await expect(bob.locator(T('message-user')).last()).toHaveText('alice');
    await say(bob, 'Hello Alice! Nice to see you here.');
    await expect(alice.locator(T('message-text')).last()).toHaveText('Hello Alice! Nice to see you here.');
    await say(alice, 'Room counts update live, and text like <b>this</b> stays text.');
    await expect(bob.locator(T('message-text')).last()).toHaveText('Room counts update live, and text like <b>this</b> stays text.');
    await alice.screenshot({ path: testInfo.outputPath('chat.png') });

    // room switch: bob goes to random; chat has 1 (alice), random 1 (bob).
    await bob.click(`${T('room')}[data-room="random"]`);
    await connectedIn(bob, 'random');
    await members(bob, 1);
    await members(alice, 1);
    await expect(bob.locator(T('message'))).toHaveCount(0);
    await say(alice, 'only in chat');
    await say(bob, 'only in random');
    // Each room shows its own messages only.
    expect(await texts(bob)).toEqual(['only in random']);
    expect(await texts(alice)).not.toContain('only in random');
    expect(await texts(bob)).not.toContain('only in chat');

    // back to chat: history with alice's message, 2 members in both.
    await bob.click(`${T('room')}[data-room="chat"]`);
    await connectedIn(bob, 'chat');
    await expect(bob.locator(T('message-text')).last()).toHaveText('only in chat');
    await members(bob, 2);
    await members(alice, 2);

    // A second tab of bob: still 2 users. Closing one tab keeps bob in the
    // room; closing the last one makes it 1 for alice.
    const bob2 = await bob.context().newPage();
    watch(bob2);
    await bob2.goto(server.url + '/');
    await connectedIn(bob2, 'chat');
    await members(bob2, 2);
    await bob.close();
    await say(alice, 'still two of us?');
    await expect(bob2.locator(T('message-text')).last()).toHaveText('still two of us?');
    await members(alice, 2);
    noProblems(alice, bob2);
    await bob2.close();
    await members(alice, 1);
    noProblems(alice);
    await alice.context().close();
  });

  test('a user sees no /admin namespace and a raw connection to it is refused', async ({ browser }, testInfo) => {
    const user = await newUserPage(browser, server.url, 'ursula');
    await expect(user.locator(T('namespace'))).toHaveCount(1);
    await expect(user.locator(`${T('namespace')}[data-endpoint="/user"]`)).toBeVisible();
    await expect(user.locator(`${T('namespace')}[data-endpoint="/admin"]`)).toHaveCount(0);
    await expect(user.locator(`${T('namespace')}[data-endpoint="/creator"]`)).toHaveCount(0);
    await expect(user.locator(T('admin-link'))).toHaveCount(0);
    const res = await user.request.get(server.url + '/admin/users');
    expect(res.status()).toBe(403);

    // The official client in the page, with the page's cookie.
    const results = await user.evaluate(async () => {
      const attempt = (nsp) => new Promise((resolve) => {
        const s = window.io(nsp, { forceNew: true, reconnection: false });
        const timer = setTimeout(() => { s.close(); resolve('timeout'); }, 5000);
        s.on('connect', () => { clearTimeout(timer); s.close(); resolve('connected'); });
        s.on('connect_error', (e) => { clearTimeout(timer); s.close(); resolve(e.message); });
      });
      return { admin: await attempt('/admin'), creator: await attempt('/creator'), user: await attempt('/user') };
    });
    expect(results).toEqual({ admin: 'forbidden', creator: 'forbidden', user: 'connected' });
    noProblems(user);
    await user.context().close();

    // An admin sees every namespace, enters /admin and has the users page.
    const admin = await loginPage(browser, server.url, 'boss', 'boss-password');
    await connectedIn(admin, 'chat');
    await expect(admin.locator(T('namespace'))).toHaveCount(3);
    await admin.click(`${T('namespace')}[data-endpoint="/admin"]`);
    await connectedIn(admin, 'general');
    await expect(admin.locator(T('namespace-title'))).toHaveText('Admins');
    await say(admin, 'admins only here');
    await admin.click(T('admin-link'));
    await admin.waitForURL(/\/admin\/users$/);
    await expect(admin.locator(T('user-row')).filter({ hasText: 'ursula' })).toHaveCount(1);
    await admin.screenshot({ path: testInfo.outputPath('admin.png') });
    noProblems(admin);
    await admin.context().close();
  });

  test('without WebSocket the page chats over long-polling; closing it updates the count', async ({ browser }) => {
    test.setTimeout(90_000); // the count may wait for the heartbeat (below)
    const wsUser = await newUserPage(browser, server.url, 'wendy');
    // A context whose WebSocket connections all fail: the client stays on
    // HTTP long-polling.
    const context = await browser.newContext({ viewport: VIEWPORT });
    let blocked = 0;
    await context.routeWebSocket(/\/socket\.io\//, (ws) => { blocked++; ws.close(); });
    const page = await context.newPage();
    watch(page);
    await page.goto(server.url + '/signup');
    await page.fill(T('username'), 'paula');
    await page.fill(T('password'), 'paula-password');
    await page.click(T('submit'));
    await page.waitForURL(server.url + '/');
    await connectedIn(page, 'chat');
    await members(page, 2);
    await members(wsUser, 2);
    await say(page, 'sent over polling');
    await expect(wsUser.locator(T('message-text')).last()).toHaveText('sent over polling');
    await say(wsUser, 'received over polling');
    await expect(page.locator(T('message-text')).last()).toHaveText('received over polling');
    expect(blocked).toBeGreaterThan(0);
    noProblems(page, wsUser);
    await context.close();
    // A long-polling client that closes while a GET is pending ends its
    // session at once; one that closes between two GETs has nothing open
    // to the server, which then ends it at the heartbeat: within
    // pingInterval + pingTimeout (25 s + 20 s by default).
    await members(wsUser, 1, 50_000);
    await wsUser.context().close();
  });

  test('a message with markup is shown as text and runs nothing', async ({ browser }) => {
    const xss = '<img src=x onerror=alert(1)>';
    const mallory = await newUserPage(browser, server.url, 'mallory');
    const victim = await newUserPage(browser, server.url, 'victor');
    await members(mallory, 2);
    const before = await victim.locator(`${T('messages')} img`).count();
    expect(before).toBe(0);
    await say(mallory, xss);
    await say(mallory, '<script>alert(2)</script>');
    await expect(victim.locator(T('message-text')).last()).toHaveText('<script>alert(2)</script>');
    const live = victim.locator(T('message-text')).filter({ hasText: 'onerror' });
    await expect(live).toHaveText(xss);
    // From history too.
    await victim.reload();
    await connectedIn(victim, 'chat');
    await expect(victim.locator(T('message-text')).filter({ hasText: 'onerror' })).toHaveText(xss);
    for (const p of [mallory, victim]) {
      await expect(p.locator(`${T('messages')} img`)).toHaveCount(0);
      await expect(p.locator(`${T('messages')} script`)).toHaveCount(0);
      expect(await p.locator(T('messages')).innerHTML()).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
    noProblems(mallory, victim);
    await mallory.context().close();
    await victim.context().close();
  });
});

test.describe('chatd UI across restarts', () => {
  let tmp;
  let server;

  test.beforeAll(async () => {
    tmp = chat.tempDB();
    server = await chat.startChatd(tmp.db);
  });
  test.afterAll(async () => {
    if (server) await server.stop();
    if (tmp) tmp.cleanup();
  });

  test('history after a reload; reconnecting and recovering by itself after chatd restarts', async ({ browser }, testInfo) => {
    const page = await newUserPage(browser, server.url, 'rita');
    await say(page, 'written before the reload');
    await page.reload();
    await connectedIn(page, 'chat');
    expect(await texts(page)).toEqual(['written before the reload']);
    await say(page, 'written before the restart');

    // Stop chatd: the page says it is reconnecting.
    const port = chat.portOf(server.url);
    await server.stop();
    await expect(page.locator(T('conn-status'))).toHaveAttribute('data-state', 'reconnecting');
    await expect(page.locator(T('message-input'))).toBeDisabled();
    await page.screenshot({ path: testInfo.outputPath('reconnecting.png') });

    // Start it again on the same port and database: the page recovers.
    server = await chat.startChatd(tmp.db, ['-addr', `127.0.0.1:${port}`]);
    await connectedIn(page, 'chat');
    await members(page, 1);
    await expect(page.locator(T('error'))).toBeHidden();
    expect(await texts(page)).toEqual(['written before the reload', 'written before the restart']);
    await say(page, 'written after the restart');

    await page.reload();
    await connectedIn(page, 'chat');
    expect(await texts(page)).toEqual(
      ['written before the reload', 'written before the restart', 'written after the restart']);
    noProblems(page);
    await page.context().close();
  });
});
