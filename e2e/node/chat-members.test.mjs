// End-to-end tests of chatd's member counts (updateMembers in
// docs/protocol.md): distinct users, the last socket of a user, and
// coalescing to at most one update per room per second with the final
// count within a second of the last change.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const { join, waitFor, sleep } = chat;

// Clients' timestamps of two updates sent one interval apart may be a
// little closer than the interval; the final count may take a little
// longer than one interval to arrive.
const INTERVAL_MS = 1000;
const JITTER_MS = 80;
const LATE_MS = 400;

let tmp;
let server;
const clients = new chat.Clients();
const cookie = {};
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

before(async () => {
  tmp = chat.tempDB();
  server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  for (const name of NAMES) cookie[name] = await chat.signup(server.url, name, `${name}-password`);
});
after(async () => {
  clients.closeAll();
  if (server) await server.stop();
  if (tmp) tmp.cleanup();
});
afterEach(() => clients.closeAll());

const connect = (name) => clients.connect(server.url, '/user', cookie[name]);

// updates returns the updateMembers entries of s ({args, at}) from index from.
function updates(s, from = 0) {
  return s.log.slice(from).filter((e) => e.event === 'updateMembers');
}

// count is the members value of the last updateMembers s got, or undefined.
function count(s) {
  const u = updates(s).at(-1);
  return u && u.args[0].members;
}

// settles waits until s's last updateMembers says want members of room.
function settles(s, room, want, ms = INTERVAL_MS + LATE_MS + 500) {
  return waitFor(() => {
    const u = updates(s).at(-1);
    return u && u.args[0].room === room && u.args[0].members === want;
  }, ms, `${room} to show ${want} members (last: ${JSON.stringify(updates(s).at(-1)?.args)})`);
}

test('counts distinct users; a user counts until the last socket leaves or disconnects', async () => {
  const o = connect('carol');
  assert.deepEqual((await join(o, 'chat')).ack, { members: 1 });
  await settles(o, 'chat', 1);

  const a1 = connect('alice');
  assert.deepEqual((await join(a1, 'chat')).ack, { members: 2 });
  await settles(o, 'chat', 2);
  await settles(a1, 'chat', 2);

  // alice's second socket: the count stays 2, nobody gets an update.
  const mark = o.log.length;
  const a2 = connect('alice');
  assert.deepEqual((await join(a2, 'chat')).ack, { members: 2 });
  const b = connect('bob');
  assert.deepEqual((await join(b, 'chat')).ack, { members: 3 });
  await settles(o, 'chat', 3);
  assert.ok(updates(o, mark).every((u) => u.args[0].members === 3),
    `a second socket of alice changed the count: ${JSON.stringify(updates(o, mark).map((u) => u.args[0]))}`);

  // alice's first socket moves to another room: alice is still in chat.
  const mark2 = o.log.length;
  const a1Moved = a1.log.length;
  assert.deepEqual((await join(a1, 'random')).ack, { members: 1 });
  await sleep(INTERVAL_MS + LATE_MS);
  assert.deepEqual(updates(o, mark2), [], 'count changed while alice had a socket in chat');

  // alice's last socket in chat disconnects: 2 (carol, bob).
  a2.disconnect();
  await settles(o, 'chat', 2);
  await settles(b, 'chat', 2);
  // bob disconnects: 1.
  b.disconnect();
  await settles(o, 'chat', 1);
  // a1 (in random) never got an update of chat after leaving it.
  const since = updates(a1, a1Moved).map((u) => u.args[0]);
  assert.deepEqual(since, [{ room: 'random', members: 1 }]);
});

test('coalescing: at most one updateMembers per room per second, final count within a second', async () => {
  const o = connect('alice');
  await join(o, 'help');
  await settles(o, 'help', 1);
  // a watcher in another room must get nothing of help.
  const w = connect('bob');
  await join(w, 'random');

  const start = o.log.length;
  // Churn: six users join help and some leave again, every 60 ms.
  const churners = ['carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
  const socks = {};
  let lastChange = 0;
  for (const name of churners) {
    socks[name] = connect(name);
    await join(socks[name], 'help');
    lastChange = Date.now();
    await sleep(60);
  }
  for (const name of ['carol', 'dave']) {
    await join(socks[name], 'random');
    lastChange = Date.now();
    await sleep(60);
  }
  socks.erin.disconnect();
  lastChange = Date.now();
  // In help now: alice, frank, grace, heidi.
  const final = 4;
  await settles(o, 'help', final, INTERVAL_MS + LATE_MS);
  const got = updates(o, start);
  const arrived = got.at(-1).at;
  assert.ok(arrived - lastChange <= INTERVAL_MS + LATE_MS,
    `final count ${arrived - lastChange} ms after the last change`);
  for (let i = 1; i < got.length; i++) {
    const gap = got[i].at - got[i - 1].at;
    assert.ok(gap >= INTERVAL_MS - JITTER_MS, `two updates ${gap} ms apart: ${JSON.stringify(got.map((u) => [u.args[0], u.at]))}`);
  }
  for (const u of got) assert.equal(u.args[0].room, 'help');
  // The churn took about a second: two or three updates, not one per change.
  assert.ok(got.length <= Math.ceil((lastChange - got[0].at) / INTERVAL_MS) + 2, `${got.length} updates`);
  // Every socket still in help gets the final count.
  for (const name of ['frank', 'grace', 'heidi']) await settles(socks[name], 'help', final);
  // Nothing more comes after the final count.
  const settled = o.log.length;
  await sleep(INTERVAL_MS + LATE_MS);
  assert.deepEqual(updates(o, settled), []);
  assert.ok(updates(w).every((u) => u.args[0].room === 'random'), 'a socket in random got updates of help');
  assert.equal(count(o), final);
});
