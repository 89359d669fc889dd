// The Socket.IO Admin UI dashboard, served by chatd at /admin-ui/ (-admin-ui),
// in Chromium: its connection form logs in to the admin namespace, and the
// sockets page lists a chat user's socket.
const { test, expect } = require('@playwright/test');
const { io } = require('socket.io-client');
const chat = require('../lib/chat.js');

const NSP = '/socket.io-admin';
const USER = 'ops';
const PASSWORD = 'dashboard-password';

let tmp;
let server;
let alice;

test.beforeAll(async () => {
  tmp = chat.tempDB();
  server = await chat.startChatd(tmp.db, ['-admin-ui', '-admin-ui-user', USER], {
    CHATD_ADMIN_UI_PASSWORD: PASSWORD,
  });
  const cookie = await chat.signup(server.url, 'alice', 'alice-password');
  alice = io(server.url + '/user', {
    forceNew: true,
    reconnection: false,
    transports: ['websocket'],
    extraHeaders: { Cookie: cookie },
  });
  await chat.connected(alice);
});

test.afterAll(async () => {
  if (alice) alice.disconnect();
  if (server) await server.stop();
  if (tmp) tmp.cleanup();
});

test('the dashboard logs in and lists a chat socket', async ({ page }) => {
  // The page asks public CDNs for fonts and icons: nothing leaves the
  // machine in the tests, and the dashboard works without them.
  await page.route((url) => url.origin !== new URL(server.url).origin, (route) => route.abort());
  await page.goto(server.url + '/admin-ui/');

  await page.getByLabel('Server URL').fill(server.url);
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByText('Advanced options').click();
  const nsp = page.getByLabel('Admin namespace');
  await nsp.fill(NSP);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByText('Connection', { exact: true })).toBeHidden();

  await page.getByRole('link', { name: 'Sockets' }).click();
  // The list shows one namespace at a time: the chat's /user.
  await page.getByRole('button', { name: /Select namespace/ }).click();
  await page.getByRole('option', { name: '/user' }).click();
  const row = page.getByRole('row', { name: new RegExp(alice.id) });
  await expect(row).toBeVisible();
  await expect(row).toContainText('WebSocket');
});
