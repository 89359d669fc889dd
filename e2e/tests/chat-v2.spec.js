// End-to-end tests of the chat page's second part (docs/protocol.md, protocol
// v2) in Chromium: the member panel and "is typing…", older pages on
// scrolling up, unread badges, editing and deleting, moderation and room
// management, search, the state after a reload, and a phone-sized screen.
// Other users are pages of their own or official Node clients (lib/chat.js).
// Screenshots go to the test output (test-results/).
const { test, expect } = require('@playwright/test');
const chat = require('../lib/chat.js');
const { T, newUserPage, loginPage, connectedIn, say, texts, noProblems } = require('./ui.js');

const room = (title) => `${T('room')}[data-room="${title}"]`;
const unreadOn = (title) => `${room(title)} ${T('room-unread')}`;
const member = (name) => `${T('member')}[data-username="${name}"]`;
const messageWith = (page, text) => page.locator(T('message')).filter({
  has: page.locator(T('message-text'), { hasText: new RegExp(`^${text}$`) }),
});

const PHONE = { width: 390, height: 844 };

test.describe('chatd UI, protocol v2', () => {
  let tmp;
  let server;
  const clients = new chat.Clients();

  test.beforeAll(async () => {
    tmp = chat.tempDB();
    await chat.createAdmin(tmp.db, 'boss', 'boss-password');
    // No rate limit: the tests seed pages of messages through sockets.
    server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  });
  test.afterAll(async () => {
    clients.closeAll();
    if (server) await server.stop();
    if (tmp) tmp.cleanup();
  });

  // socketUser signs name up and connects an official client to /user, in
  // roomTitle; resolves with {s, cookie}.
  async function socketUser(name, roomTitle) {
    const cookie = await chat.signup(server.url, name, `${name}-password`);
    const s = clients.connect(server.url, '/user', cookie);
    await chat.connected(s);
    await chat.join(s, roomTitle);
    return { s, cookie };
  }

  // sendAll sends every text from s, one after the other.
  async function sendAll(s, list) {
    const ids = [];
    for (const text of list) {
      const ack = await chat.send(s, text);
      expect(ack.error, `sending ${text}`).toBeUndefined();
      ids.push(ack.id);
    }
    return ids;
  }

  // unreadCounts connects as the owner of cookie and resolves with the
  // counts of the `unread` event of /user.
  async function unreadCounts(cookie) {
    const s = clients.connect(server.url, '/user', cookie);
    try {
      const [u] = await chat.once(s, 'unread');
      return u.counts;
    } finally {
      s.disconnect();
    }
  }

  // accountPage signs name up with role and logs in through the form.
  async function accountPage(browser, name, role, viewport) {
    await chat.signup(server.url, name, `${name}-password`);
    if (role !== 'user') await chat.setRole(tmp.db, name, role);
    const page = await loginPage(browser, server.url, name, `${name}-password`, viewport);
    await connectedIn(page, 'chat');
    return page;
  }

  test('two users see each other in the member panel, with roles, and who is typing', async ({ browser }) => {
    test.setTimeout(60_000); // typing stops after 3 s of quiet and is forgotten after 6 s
    const alice = await newUserPage(browser, server.url, 'alice');
    await expect(alice.locator(T('member-panel'))).toBeVisible();
    await expect(alice.locator(T('member'))).toHaveCount(1);
    await expect(alice.locator(member('alice'))).toContainText('alice (you)');

    const bob = await newUserPage(browser, server.url, 'bob');
    await expect(bob.locator(T('member'))).toHaveCount(2);
    await expect(alice.locator(member('bob'))).toBeVisible();
    expect(await alice.locator(T('member')).evaluateAll((ls) => ls.map((l) => l.dataset.username))).toEqual(['alice', 'bob']);

    // An admin joins: listed with the role.
    const boss = await loginPage(browser, server.url, 'boss', 'boss-password');
    await connectedIn(boss, 'chat');
    await expect(alice.locator(member('boss'))).toHaveAttribute('data-role', 'admin');
    await expect(alice.locator(member('boss'))).toContainText('admin');
    await expect(boss.locator(member('bob'))).toHaveAttribute('data-role', 'user');

    // Typing: shown while bob types, gone when he stops, and at once when he sends.
    await bob.locator(T('message-input')).pressSequentially('hello ali');
    await expect(alice.locator(T('typing'))).toHaveText('bob is typing…');
    await expect(boss.locator(T('typing'))).toHaveText('bob is typing…');
    await expect(bob.locator(T('typing'))).toHaveText('');
    await expect(alice.locator(T('typing'))).toHaveText('', { timeout: 8000 }); // stopped typing
    await bob.locator(T('message-input')).pressSequentially('ce');
    await expect(alice.locator(T('typing'))).toHaveText('bob is typing…');
    await bob.press(T('message-input'), 'Enter');
    await expect(alice.locator(T('message-text')).last()).toHaveText('hello alice');
    await expect(alice.locator(T('typing'))).toHaveText('');

    // A client that says it types and then goes quiet is forgotten after 6 s.
    const { s: carl } = await socketUser('carl', 'chat');
    await expect(alice.locator(member('carl'))).toBeVisible();
    carl.emit('typing', { typing: true });
    await expect(alice.locator(T('typing'))).toHaveText('carl is typing…');
    const shown = Date.now();
    await expect(alice.locator(T('typing'))).toHaveText('', { timeout: 10_000 });
    expect(Date.now() - shown).toBeGreaterThan(4000);

    // Leaving: the panels follow.
    carl.disconnect();
    await expect(alice.locator(member('carl'))).toHaveCount(0);
    await bob.click(room('random'));
    await connectedIn(bob, 'random');
    await expect(alice.locator(member('bob'))).toHaveCount(0);
    await expect(bob.locator(T('member'))).toHaveCount(1);
    await boss.context().close();
    await expect(alice.locator(T('member'))).toHaveCount(1);
    noProblems(alice, bob);
    await alice.context().close();
    await bob.context().close();
  });

  test('scrolling to the top loads older pages, keeps the place, and stops at the start', async ({ browser }) => {
    const { s } = await socketUser('sam', 'random');
    const all = Array.from({ length: 130 }, (_, i) => `old ${i + 1}`);
    await sendAll(s, all);
    const page = await newUserPage(browser, server.url, 'rosa');
    await page.click(room('random'));
    await connectedIn(page, 'random');
    await expect(page.locator(T('message'))).toHaveCount(50);
    expect(await texts(page)).toEqual(all.slice(80));
    await expect(page.locator(T('load-older'))).toBeVisible();

    const list = page.locator(T('messages'));
    const offsetOf = (text) => messageWith(page, text).evaluate((li) =>
      li.getBoundingClientRect().top - li.closest('ol').getBoundingClientRect().top);
    await list.evaluate((e) => e.scrollTo({ top: 0, behavior: 'instant' }));
    await expect(page.locator(T('message'))).toHaveCount(100);
    // The message that was at the top is still there, not pushed down a page.
    const offset = await offsetOf('old 81');
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(120);
    expect(await list.evaluate((e) => e.scrollTop)).toBeGreaterThan(500);

    await list.evaluate((e) => e.scrollTo({ top: 0, behavior: 'instant' }));
    await expect(page.locator(T('message'))).toHaveCount(130);
    await expect(page.locator(T('history-start'))).toBeVisible();
    await expect(page.locator(T('load-older'))).toHaveCount(0);
    expect(await texts(page)).toEqual(all);

    // At the start nothing more is asked for.
    await list.evaluate((e) => e.scrollTo({ top: 0, behavior: 'instant' }));
    await chat.sleep(300);
    await expect(page.locator(T('message'))).toHaveCount(130);
    // New messages still arrive at the bottom.
    await sendAll(s, ['newest']);
    await expect(page.locator(T('message-text')).last()).toHaveText('newest');
    noProblems(page);
    await page.context().close();
  });

  test('an unread badge appears on a room with new messages and clears when read', async ({ browser }) => {
    const una = await newUserPage(browser, server.url, 'una');
    const { s: vic } = await socketUser('vic', 'help');
    await expect(una.locator(unreadOn('help'))).toHaveCount(0);

    // Live: roomActivity marks the room.
    await sendAll(vic, ['help 1', 'help 2']);
    await expect(una.locator(unreadOn('help'))).toBeVisible();
    await expect(una.locator(unreadOn('help'))).toHaveAttribute('data-more', 'true');
    await expect(una.locator(unreadOn('chat'))).toHaveCount(0);

    // After a reload the count is exact (from `unread`).
    await una.reload();
    await connectedIn(una, 'chat');
    await expect(una.locator(unreadOn('help'))).toHaveText('2');

    // Joining clears it, for good.
    await una.click(room('help'));
    await connectedIn(una, 'help');
    await expect(una.locator(unreadOn('help'))).toHaveCount(0);
    expect(await texts(una)).toEqual(['help 1', 'help 2']);
    await una.click(room('chat'));
    await connectedIn(una, 'chat');
    await una.reload();
    await connectedIn(una, 'chat');
    await expect(una.locator(T('room'))).toHaveCount(3);
    await expect(una.locator(unreadOn('help'))).toHaveCount(0);

    // Messages seen while in the room are marked read (markRead).
    const cookie = await chat.login(server.url, 'una', 'una-password');
    await una.click(room('help'));
    await connectedIn(una, 'help');
    await sendAll(vic, ['help 3 while una looks']);
    await expect(una.locator(T('message-text')).last()).toHaveText('help 3 while una looks');
    await expect.poll(async () => (await unreadCounts(cookie)).help, { timeout: 5000 }).toBe(0);
    // ... and messages arriving elsewhere are counted.
    await una.click(room('chat'));
    await connectedIn(una, 'chat');
    await sendAll(vic, ['help 4']);
    await expect(una.locator(unreadOn('help'))).toHaveText('new');
    expect((await unreadCounts(cookie)).help).toBe(1);
    noProblems(una);
    await una.context().close();
  });

  test('edits and deletes of one’s own messages reach the other user live', async ({ browser }) => {
    const eve = await newUserPage(browser, server.url, 'eve');
    const fred = await newUserPage(browser, server.url, 'fred');
    await say(eve, 'first draft');
    await expect(fred.locator(T('message-text')).last()).toHaveText('first draft');
    await say(fred, 'fred was here');

    // fred may not change eve's message; eve may not change fred's.
    await expect(messageWith(fred, 'first draft').locator('button')).toHaveCount(0);
    await expect(messageWith(eve, 'fred was here').locator('button')).toHaveCount(0);

    // Edit with the button.
    await messageWith(eve, 'first draft').locator(T('message-edit')).click();
    await expect(eve.locator(T('editing'))).toBeVisible();
    await expect(eve.locator(T('message-input'))).toHaveValue('first draft');
    await expect(eve.locator(T('message-input'))).toBeFocused();
    await eve.fill(T('message-input'), 'final text');
    await eve.press(T('message-input'), 'Enter');
    await expect(eve.locator(T('editing'))).toBeHidden();
    await expect(eve.locator(T('message-input'))).toHaveValue('');
    for (const p of [eve, fred]) {
      await expect(messageWith(p, 'final text').locator(T('message-edited'))).toHaveText('(edited)');
    }
    await expect(messageWith(fred, 'fred was here').locator(T('message-edited'))).toHaveCount(0);

    // Up in the empty composer edits the last own message; Escape cancels.
    await say(eve, 'typo mesage');
    await eve.press(T('message-input'), 'ArrowUp');
    await expect(eve.locator(T('editing'))).toBeVisible();
    await expect(eve.locator(T('message-input'))).toHaveValue('typo mesage');
    await eve.press(T('message-input'), 'Escape');
    await expect(eve.locator(T('editing'))).toBeHidden();
    await expect(eve.locator(T('message-input'))).toHaveValue('');
    await expect(messageWith(fred, 'typo mesage').locator(T('message-edited'))).toHaveCount(0);

    // A refused edit shows the server's error and stays in edit mode.
    await eve.press(T('message-input'), 'ArrowUp');
    await eve.fill(T('message-input'), 'x'.repeat(2001));
    await eve.press(T('message-input'), 'Enter');
    await expect(eve.locator(T('error'))).toBeVisible();
    await expect(eve.locator(T('error'))).not.toHaveText('');
    await expect(eve.locator(T('editing'))).toBeVisible();
    await eve.fill(T('message-input'), 'typo message');
    await eve.press(T('message-input'), 'Enter');
    await expect(fred.locator(T('message-text')).last()).toHaveText('typo message');
    await expect(eve.locator(T('error'))).toBeHidden();

    // Delete: the first click asks, the second deletes, for both at once.
    const del = messageWith(eve, 'typo message').locator(T('message-delete'));
    await del.click();
    await expect(messageWith(fred, 'typo message')).toHaveCount(1);
    await del.click();
    for (const p of [eve, fred]) await expect(messageWith(p, 'typo message')).toHaveCount(0);
    await expect(eve.locator(T('message-input'))).toBeFocused(); // not lost with the message

    // A reload shows the same.
    await fred.reload();
    await connectedIn(fred, 'chat');
    const after = await texts(fred);
    expect(after.slice(-2)).toEqual(['final text', 'fred was here']);
    expect(after).not.toContain('typo message');
    await expect(messageWith(fred, 'final text').locator(T('message-edited'))).toHaveCount(1);
    noProblems(eve, fred);
    await eve.context().close();
    await fred.context().close();
  });

  test('an admin deletes another user’s message and adds and removes a room', async ({ browser }) => {
    const boss = await loginPage(browser, server.url, 'boss', 'boss-password');
    await connectedIn(boss, 'chat');
    const ursula = await newUserPage(browser, server.url, 'ursula');
    await say(ursula, 'spam from ursula');
    await say(boss, 'boss speaking');

    // A plain user: no room form, no room delete, no buttons on others' messages.
    await expect(ursula.locator(T('room-form'))).toBeHidden();
    await expect(ursula.locator(T('room-delete'))).toHaveCount(0);
    await expect(messageWith(ursula, 'boss speaking').locator('button')).toHaveCount(0);

    // The admin may delete (not edit) ursula's message.
    const spam = messageWith(boss, 'spam from ursula');
    await expect(spam.locator(T('message-edit'))).toHaveCount(0);
    await spam.locator(T('message-delete')).click();
    await spam.locator(T('message-delete')).click();
    await expect(messageWith(ursula, 'spam from ursula')).toHaveCount(0);
    await expect(messageWith(boss, 'spam from ursula')).toHaveCount(0);

    // A bad title: the server's error is shown.
    await boss.fill(T('room-new'), 'no spaces');
    await boss.press(T('room-new'), 'Enter');
    await expect(boss.locator(T('error'))).toBeVisible();
    await expect(ursula.locator(room('no spaces'))).toHaveCount(0);

    // A new room: the admin is in it, everyone sees it in the list.
    await boss.fill(T('room-new'), 'lounge');
    await boss.click(T('room-create'));
    await connectedIn(boss, 'lounge');
    await expect(boss.locator(T('room-new'))).toHaveValue('');
    await expect(boss.locator(T('error'))).toBeHidden();
    await expect(ursula.locator(room('lounge'))).toBeVisible();
    await ursula.click(room('lounge'));
    await connectedIn(ursula, 'lounge');
    await say(boss, 'welcome to the lounge');
    await expect(ursula.locator(T('message-text')).last()).toHaveText('welcome to the lounge');

    // Removing it: gone from every list; ursula, who was in it, is told and moved.
    const del = boss.locator(`${T('room-delete')}[data-room="lounge"]`);
    await del.click();
    await expect(del).toHaveText('Delete #lounge?');
    await del.click();
    await expect(ursula.locator(T('notice'))).toContainText('lounge');
    await connectedIn(ursula, 'chat');
    await connectedIn(boss, 'chat');
    for (const p of [boss, ursula]) await expect(p.locator(room('lounge'))).toHaveCount(0);
    expect(await texts(ursula)).not.toContain('spam from ursula');
    noProblems(boss, ursula);
    await boss.context().close();
    await ursula.context().close();
  });

  test('search finds a message in another room and opens the room at it', async ({ browser }) => {
    const { s } = await socketUser('quinn', 'help');
    await sendAll(s, ['where is the quokka today']);
    await sendAll(s, Array.from({ length: 160 }, (_, i) => `filler ${i + 1}`));
    const page = await newUserPage(browser, server.url, 'sara');

    await page.fill(T('search-input'), 'nothingmatcheshere');
    await page.press(T('search-input'), 'Enter');
    await expect(page.locator(T('search-results'))).toBeVisible();
    await expect(page.locator(T('search-title'))).toContainText('No messages');
    await expect(page.locator(T('search-result'))).toHaveCount(0);

    await page.fill(T('search-input'), 'Quokka');
    await page.click(T('search-submit'));
    const result = page.locator(T('search-result'));
    await expect(result).toHaveCount(1);
    await expect(result).toHaveAttribute('data-room', 'help');
    await expect(result.locator(T('search-result-text'))).toHaveText('where is the quokka today');
    await result.click();
    await expect(page.locator(T('search-results'))).toBeHidden();
    await connectedIn(page, 'help');
    const found = messageWith(page, 'where is the quokka today');
    await expect(found).toHaveAttribute('data-highlight', 'true');
    await expect(found).toBeInViewport();
    await expect(found).toBeFocused();
    expect((await texts(page)).slice(-1)).toEqual(['filler 160']);
    noProblems(page);
    await page.context().close();
  });

  test('after a reload everything is as it was', async ({ browser }, testInfo) => {
    const cora = await accountPage(browser, 'cora', 'creator');
    const dan = await newUserPage(browser, server.url, 'dan');
    await expect(cora.locator(T('room-form'))).toBeVisible();
    await cora.fill(T('room-new'), 'studio');
    await cora.press(T('room-new'), 'Enter');
    await connectedIn(cora, 'studio');
    await say(cora, 'studio is open');
    await say(cora, 'bring <b>coffee</b>');
    await say(cora, 'this one goes away');
    await messageWith(cora, 'bring <b>coffee</b>').locator(T('message-edit')).click();
    await cora.fill(T('message-input'), 'bring <i>tea</i>');
    await cora.press(T('message-input'), 'Enter');
    await expect(messageWith(cora, 'bring <i>tea</i>').locator(T('message-edited'))).toBeVisible();
    const gone = messageWith(cora, 'this one goes away').locator(T('message-delete'));
    await gone.click();
    await gone.click();
    await expect(messageWith(cora, 'this one goes away')).toHaveCount(0);

    await say(dan, 'meanwhile in chat');
    await expect(cora.locator(unreadOn('chat'))).toHaveText('new');
    await dan.click(room('studio'));
    await connectedIn(dan, 'studio');
    await expect(cora.locator(member('dan'))).toHaveAttribute('data-role', 'user');

    const snapshot = (p) => p.evaluate(() => {
      const all = (id) => Array.from(document.querySelectorAll(`[data-testid="${id}"]`));
      return {
        room: document.querySelector('[data-testid="room-title"]').textContent,
        rooms: all('room').map((b) => b.dataset.room),
        messages: all('message').map((m) => [
          m.querySelector('[data-testid="message-user"]').textContent,
          m.querySelector('[data-testid="message-text"]').textContent,
          !!m.querySelector('[data-testid="message-edited"]'),
        ]),
        members: all('member').map((m) => m.dataset.username + ':' + m.dataset.role),
        count: document.querySelector('[data-testid="member-count"]').dataset.count,
      };
    });
    const before = await snapshot(cora);
    expect(before).toEqual({
      room: 'studio',
      rooms: ['chat', 'random', 'help', 'studio'],
      messages: [['cora', 'studio is open', false], ['cora', 'bring <i>tea</i>', true]],
      members: ['cora:creator', 'dan:user'],
      count: '2',
    });
    await cora.screenshot({ path: testInfo.outputPath('chat-v2-desktop.png') });
    await cora.reload();
    await connectedIn(cora, 'studio');
    await expect(cora.locator(T('member'))).toHaveCount(2);
    expect(await snapshot(cora)).toEqual(before);
    // The unread count is exact now.
    await expect(cora.locator(unreadOn('chat'))).toHaveText('1');
    await expect(cora.locator(`${T('messages')} b, ${T('messages')} i`)).toHaveCount(0);
    noProblems(cora, dan);
    await cora.context().close();
    await dan.context().close();
  });

  test('390 px wide: rooms, people, search and the composer are reachable', async ({ browser }, testInfo) => {
    const page = await newUserPage(browser, server.url, 'pia', PHONE);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(wide).toBeLessThanOrEqual(PHONE.width);

    // Rooms: collapsed behind a toggle.
    await expect(page.locator(T('rooms-panel'))).toBeHidden();
    await page.click(T('rooms-toggle'));
    await expect(page.locator(T('rooms-toggle'))).toHaveAttribute('aria-expanded', 'true');
    await expect(page.locator(room('help'))).toBeVisible();
    await page.click(room('help'));
    await connectedIn(page, 'help');
    await expect(page.locator(T('rooms-panel'))).toBeHidden();

    // People: collapsed too.
    await expect(page.locator(T('member-panel'))).toBeHidden();
    await page.click(T('members-toggle'));
    await expect(page.locator(member('pia'))).toBeVisible();
    await page.click(T('members-toggle'));
    await expect(page.locator(T('member-panel'))).toBeHidden();

    for (const id of ['search-input', 'search-submit', 'message-input', 'send', 'logout']) {
      await expect(page.locator(T(id))).toBeInViewport();
    }

    // By keyboard alone: Tab reaches the composer; Enter sends.
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.locator(T('message-input')).evaluate((e) => e === document.activeElement);
    }
    expect(reached, 'Tab reaches the message input').toBe(true);
    await page.keyboard.type('typed on a phone');
    await page.keyboard.press('Enter');
    await expect(page.locator(T('message-text')).last()).toHaveText('typed on a phone');
    await page.click(T('members-toggle'));
    await page.screenshot({ path: testInfo.outputPath('chat-v2-390.png') });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    noProblems(page);
    await page.context().close();
  });
});

test.describe('chatd UI, protocol v2, keyboard and markup', () => {
  test('buttons are buttons and text with markup stays text in search results', async ({ browser }) => {
    const tmp = chat.tempDB();
    const server = await chat.startChatd(tmp.db);
    try {
      const page = await newUserPage(browser, server.url, 'kim');
      await say(page, 'find <img src=x onerror=alert(1)> me');
      await page.fill(T('search-input'), 'find');
      await page.press(T('search-input'), 'Enter');
      await expect(page.locator(T('search-result-text'))).toHaveText('find <img src=x onerror=alert(1)> me');
      await expect(page.locator(`${T('search-results')} img`)).toHaveCount(0);
      // Escape closes the results.
      await page.locator(T('search-result')).focus();
      await page.keyboard.press('Escape');
      await expect(page.locator(T('search-results'))).toBeHidden();
      await expect(page.locator(T('search-input'))).toBeFocused();
      for (const id of ['message-edit', 'message-delete', 'members-toggle', 'rooms-toggle', 'search-submit', 'room']) {
        const tags = await page.locator(T(id)).evaluateAll((ls) => ls.map((l) => l.tagName));
        expect(tags.length, id).toBeGreaterThan(0);
        expect(new Set(tags), id).toEqual(new Set(['BUTTON']));
      }
      noProblems(page);
      await page.context().close();
    } finally {
      await server.stop();
      tmp.cleanup();
    }
  });
});
