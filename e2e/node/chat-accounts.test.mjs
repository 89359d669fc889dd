// End-to-end tests of chatd's account endpoints (docs/protocol.md, HTTP
// endpoints for accounts) over real HTTP: forms, sign-up rules, log-in,
// log-out, the log-in throttle and cross-origin refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');

let tmp;
let server;

before(async () => {
  tmp = chat.tempDB();
  server = await chat.startChatd(tmp.db);
});
after(async () => {
  if (server) await server.stop();
  if (tmp) tmp.cleanup();
});

// post sends a form without following redirects; headers are added.
function post(path, fields, headers = {}) {
  return fetch(server.url + path, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
    headers,
  });
}

function sessionSet(res) {
  return res.headers.getSetCookie().some((c) => c.startsWith(`${chat.SESSION_COOKIE}=`) && !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c));
}

test('GET /signup and /login answer 200 with the forms; / without a session goes to /login', async () => {
  for (const path of ['/signup', '/login']) {
    const res = await fetch(server.url + path);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, new RegExp(`<form[^>]*action="${path}"`));
    assert.match(html, /name="username"/);
    assert.match(html, /name="password"/);
  }
  const res = await fetch(server.url + '/', { redirect: 'manual' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login');
});

test('sign-up: 303 to / with an HttpOnly session cookie; the cookie opens the chat page', async () => {
  const res = await post('/signup', { username: 'Sam_the-1st', password: 'sam-password' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  const raw = res.headers.getSetCookie().find((c) => c.startsWith(`${chat.SESSION_COOKIE}=`));
  assert.ok(raw, 'session cookie');
  assert.match(raw, /HttpOnly/i);
  assert.match(raw, /Path=\//);
  const cookie = raw.split(';')[0];
  const page = await fetch(server.url + '/', { headers: { Cookie: cookie }, redirect: 'manual' });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /data-username="Sam_the-1st"/);
});

test('sign-up refuses invalid names, short passwords and taken names (in any case) with the form', async () => {
  const cases = [
    ['ab', 'long-enough-password'],
    ['x'.repeat(33), 'long-enough-password'],
    ['has space', 'long-enough-password'],
    ['dot.name', 'long-enough-password'],
    ['ünïcode', 'long-enough-password'],
    ['', 'long-enough-password'],
    ['validname', 'short12'],
    ['validname', ''],
    ['SAM_THE-1ST', 'another-password'],
    ['sam_the-1st', 'another-password'],
  ];
  for (const [username, password] of cases) {
    const res = await post('/signup', { username, password });
    assert.ok(res.status >= 400 && res.status < 500, `${username}/${password}: status ${res.status}`);
    assert.ok(!sessionSet(res), `${username}: session cookie set`);
    const html = await res.text();
    assert.match(html, /data-testid="form-error"/, `${username}: no error on the form`);
    assert.match(html, /<form[^>]*action="\/signup"/);
  }
  // Boundaries that are fine: 3 and 32 characters, an 8-character password.
  for (const username of ['abc', 'y'.repeat(32)]) {
    const res = await post('/signup', { username, password: '12345678' });
    assert.equal(res.status, 303, username);
  }
});

test('log-in: right password 303 with a new session; wrong password 4xx with the form', async () => {
  await chat.signup(server.url, 'lena', 'lena-password');
  const ok = await post('/login', { username: 'LENA', password: 'lena-password' });
  assert.equal(ok.status, 303, 'log-in is case-insensitive on the name');
  assert.equal(ok.headers.get('location'), '/');
  assert.ok(sessionSet(ok));
  for (const [username, password] of [['lena', 'wrong-password'], ['nobody', 'lena-password'], ['lena', '']]) {
    const res = await post('/login', { username, password });
    assert.ok(res.status >= 400 && res.status < 500, `${username}: status ${res.status}`);
    assert.ok(!sessionSet(res));
    assert.match(await res.text(), /data-testid="form-error"/);
  }
});

test('log-out: 303 to /login and the session no longer works', async () => {
  const cookie = await chat.login(server.url, 'lena', 'lena-password');
  const res = await post('/logout', {}, { Cookie: cookie });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login');
  const page = await fetch(server.url + '/', { headers: { Cookie: cookie }, redirect: 'manual' });
  assert.equal(page.status, 303);
});

test('failed log-ins are throttled per username (429), other names are not', async () => {
  await chat.signup(server.url, 'tina', 'tina-password');
  await chat.signup(server.url, 'otto', 'otto-password');
  let status;
  for (let i = 0; i < 10; i++) {
    status = (await post('/login', { username: 'tina', password: `wrong-${i}` })).status;
    if (status === 429) break;
  }
  assert.equal(status, 429);
  const locked = await post('/login', { username: 'Tina', password: 'tina-password' });
  assert.equal(locked.status, 429, 'the right password while locked');
  assert.ok(Number(locked.headers.get('retry-after')) > 0, 'Retry-After');
  assert.ok(!sessionSet(locked));
  assert.equal((await post('/login', { username: 'otto', password: 'otto-password' })).status, 303);
  // Sign-ups are not limited.
  for (let i = 0; i < 12; i++) {
    assert.equal((await post('/signup', { username: `many${i}`, password: 'many-password' })).status, 303);
  }
});

test('form posts from another origin are refused; same-origin and header-less ones pass', async () => {
  const foreign = [
    { Origin: 'http://evil.example' },
    { 'Sec-Fetch-Site': 'cross-site' },
  ];
  for (const headers of foreign) {
    for (const path of ['/signup', '/login']) {
      const res = await post(path, { username: 'crossy', password: 'crossy-password' }, headers);
      assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}`);
      assert.ok(!sessionSet(res));
    }
  }
  const cookie = await chat.login(server.url, 'otto', 'otto-password');
  const out = await post('/logout', {}, { Cookie: cookie, Origin: 'http://evil.example' });
  assert.equal(out.status, 403, 'cross-origin log-out');
  const still = await fetch(server.url + '/', { headers: { Cookie: cookie }, redirect: 'manual' });
  assert.equal(still.status, 200, 'the session survived the refused log-out');

  const same = await post('/signup', { username: 'crossy', password: 'crossy-password' },
    { Origin: new URL(server.url).origin, 'Sec-Fetch-Site': 'same-origin' });
  assert.equal(same.status, 303);
  const none = await post('/login', { username: 'crossy', password: 'crossy-password' });
  assert.equal(none.status, 303);
});

test('-origins: a configured origin may post forms and open Socket.IO connections', async () => {
  const t = chat.tempDB();
  const allowed = 'https://chat.example.org';
  const srv = await chat.startChatd(t.db, ['-origins', `${allowed},http://other.example.net:8443`]);
  const clients = new chat.Clients();
  try {
    const res = await fetch(srv.url + '/signup', {
      method: 'POST',
      body: new URLSearchParams({ username: 'proxied', password: 'proxied-password' }),
      redirect: 'manual',
      headers: { Origin: allowed, 'Sec-Fetch-Site': 'cross-site' },
    });
    assert.equal(res.status, 303);
    const cookie = res.headers.getSetCookie()[0].split(';')[0];
    for (const transports of [['websocket'], ['polling']]) {
      await chat.connected(clients.connect(srv.url, '/user', cookie, { transports, extraHeaders: { Origin: allowed } }));
      await chat.connected(clients.connect(srv.url, '/user', cookie,
        { transports, extraHeaders: { Origin: 'http://other.example.net:8443' } }));
      const err = await chat.connectError(clients.connect(srv.url, '/user', cookie,
        { transports, extraHeaders: { Origin: 'https://chat.example.org.evil.example' } }));
      assert.equal(err.type, 'TransportError');
    }
    const refused = await fetch(srv.url + '/login', {
      method: 'POST',
      body: new URLSearchParams({ username: 'proxied', password: 'proxied-password' }),
      redirect: 'manual',
      headers: { Origin: 'http://evil.example' },
    });
    assert.equal(refused.status, 403);
  } finally {
    clients.closeAll();
    await srv.stop();
    t.cleanup();
  }
});
