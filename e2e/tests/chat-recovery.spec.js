// The chat page across a short drop of its connection, on one chatd node
// (connection state recovery): the page shows "Reconnecting…", then the
// messages it missed, keeps what it showed (no history reload, no rejoin)
// and sends again.
const { test, expect } = require('@playwright/test');
const chat = require('../lib/chat.js');
const { T, newUserPage, connectedIn, say, texts, noProblems } = require('./ui.js');

// dropHook keeps the page's WebSockets so that the test can close them
// (window.__dropSockets), as a lost network connection would end them.
const dropHook = () => {
  const Native = window.WebSocket;
  const open = [];
  window.__dropSockets = () => open.splice(0).forEach((ws) => ws.close());
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      open.push(this);
    }
  };
};

test.describe('chatd UI, a short drop', () => {
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

  test('the page resumes: the missed message appears, nothing is reloaded, sending works', async ({ browser }) => {
    const ann = await newUserPage(browser, server.url, 'ann');
    await ann.context().addInitScript(dropHook);
    await ann.reload();
    await connectedIn(ann, 'chat');
    const ben = await newUserPage(browser, server.url, 'ben');

    await say(ann, 'before the drop');
    await expect(ben.locator(T('message-text')).filter({ hasText: 'before the drop' })).toBeVisible();
    // A mark on a shown message: a history reload would draw it anew.
    await ann.locator(T('message')).last().evaluate((el) => { el.dataset.kept = 'yes'; });
    // Upgraded to WebSocket: the drop ends the page's connection.
    await ann.waitForFunction(() => typeof window.__dropSockets === 'function');

    await ann.evaluate(() => window.__dropSockets());
    await expect(ann.locator(T('conn-status'))).toHaveAttribute('data-state', 'reconnecting');
    await say(ben, 'while ann was away');

    await expect(ann.locator(T('conn-status'))).toHaveAttribute('data-state', 'connected', { timeout: 15_000 });
    await expect(ann.locator(T('message-text')).filter({ hasText: 'while ann was away' })).toBeVisible();
    await expect(ann.locator('[data-kept="yes"]')).toHaveCount(1);
    await expect(ann.locator(T('message-input'))).toBeEnabled();
    await say(ann, 'back again');
    await expect(ben.locator(T('message-text')).filter({ hasText: 'back again' })).toBeVisible();
    expect(await texts(ann)).toEqual(['before the drop', 'while ann was away', 'back again']);
    expect(await texts(ben)).toEqual(['before the drop', 'while ann was away', 'back again']);
    noProblems(ann, ben);
  });
});
