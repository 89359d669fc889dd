// End-to-end tests of chatd as a cluster: two chatd processes sharing one
// Redis (the Socket.IO adapter) and one PostgreSQL schema, with clients of
// the official socket.io-client on each node. Skipped without PostgreSQL
// and Redis, unless CI is set (then they fail).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const cluster = require('../lib/cluster.js');
const { join, send, waitFor, events } = chat;

let skip = null;
let c; // the cluster
const clients = new chat.Clients();
let cookies; // name -> [cookie on node 0, cookie on node 1]
const NAMES = ['alice', 'bob', 'carol', 'dave'];

before(async () => {
  skip = await cluster.servicesMissing();
  if (skip) {
    if (process.env.CI) throw new Error(skip);
    return;
  }
  // Accounts are made on alternate nodes and work on both.
  ({ c, cookies } = await cluster.startClusterWithAccounts(NAMES, { args: ['-msg-rate', '0'] }));
});
after(async () => {
  clients.closeAll();
  if (c) await c.stop();
});
afterEach(() => clients.closeAll());

// connect opens a /user socket of name on node i (0 or 1).
const connect = (name, i, opts) => clients.connect(c.urls[i], '/user', cookies[name][i], opts);

// lastCount is the members value of the last updateMembers of room s got.
function lastCount(s, room) {
  const u = events(s, 'updateMembers').filter((m) => m.room === room).at(-1);
  return u && u.members;
}

function settles(s, room, want) {
  return waitFor(() => lastCount(s, room) === want, 4000,
    `${room} to show ${want} members (last: ${lastCount(s, room)})`);
}

test('clients of both nodes in one room see each other\'s messages', async (t) => {
  if (skip) return t.skip(skip);
  const a = connect('alice', 0);
  const b = connect('bob', 1);
  assert.deepEqual((await join(a, 'random')).ack, { members: 1 });
  assert.deepEqual((await join(b, 'random')).ack, { members: 2 });

  const fromA = await send(a, 'hello from node 0');
  const fromB = await send(b, 'hello from node 1');
  assert.equal(typeof fromA.id, 'number');
  assert.ok(fromB.id > fromA.id, `ids grow across nodes: ${fromA.id} then ${fromB.id}`);
  for (const s of [a, b]) {
    const got = await waitFor(() => {
      const msgs = events(s, 'comPeRoom');
      return msgs.length >= 2 && msgs;
    }, 4000, 'both messages');
    assert.deepEqual(got.map((m) => [m.id, m.username, m.text, m.room, m.namespace]), [
      [fromA.id, 'alice', 'hello from node 0', 'random', '/user'],
      [fromB.id, 'bob', 'hello from node 1', 'random', '/user'],
    ]);
  }

  // A client in another room, on either node, gets neither.
  const other = connect('carol', 1);
  await join(other, 'help');
  await send(a, 'not for help');
  await waitFor(() => events(b, 'comPeRoom').length === 3, 4000, 'third message');
  assert.equal(events(other, 'comPeRoom').length, 0);
});

test('member counts are the same on both nodes and count distinct users', async (t) => {
  if (skip) return t.skip(skip);
  const a = connect('alice', 0);
  const b = connect('bob', 1);
  assert.deepEqual((await join(a, 'chat')).ack, { members: 1 });
  assert.deepEqual((await join(b, 'chat')).ack, { members: 2 });
  await settles(a, 'chat', 2);
  await settles(b, 'chat', 2);

  // alice's second socket, on the other node, over long-polling: still 2.
  const a2 = connect('alice', 1, { transports: ['polling'] });
  assert.deepEqual((await join(a2, 'chat')).ack, { members: 2 });

  // carol joins on node 0: 3 everywhere.
  const cc = connect('carol', 0);
  assert.deepEqual((await join(cc, 'chat')).ack, { members: 3 });
  for (const s of [a, b, cc]) await settles(s, 'chat', 3);

  // alice's first socket leaves: her socket on node 1 keeps her counted.
  a.disconnect();
  await new Promise((r) => setTimeout(r, 1200)); // past one coalescing interval
  for (const s of [b, cc]) assert.equal(lastCount(s, 'chat'), 3);

  // alice's last socket (node 1) and bob (node 1) go: node 0's carol sees 1.
  a2.disconnect();
  b.disconnect();
  await settles(cc, 'chat', 1);
});

test('history written through one node is read through the other', async (t) => {
  if (skip) return t.skip(skip);
  const writer = connect('dave', 0);
  await join(writer, 'help');
  const ids = [];
  for (const text of ['first', 'second', '<b>third</b>']) ids.push((await send(writer, text)).id);

  for (const i of [1, 0]) {
    const reader = connect('carol', i);
    const { history } = await join(reader, 'help');
    const mine = history.filter((m) => ids.includes(m.id));
    assert.deepEqual(mine.map((m) => [m.id, m.username, m.text]), [
      [ids[0], 'dave', 'first'], [ids[1], 'dave', 'second'], [ids[2], 'dave', '<b>third</b>'],
    ], `history through node ${i}`);
    const all = history.map((m) => m.id);
    assert.deepEqual(all, [...all].sort((x, y) => x - y), 'oldest first');
  }
});

test('a node that stops takes only its own clients; the other node keeps serving', async (t) => {
  if (skip) return t.skip(skip);
  // A third node joins the cluster, gets a client, and stops.
  const { startServer } = require('../lib/server.js');
  const extra = await startServer('chatd',
    ['-db', c.db, '-redis', cluster.redisURL(), '-redis-prefix', c.prefix, '-msg-rate', '0']);
  try {
    const carolCookie = await chat.login(extra.url, 'carol', 'carol-password');
    const onExtra = clients.connect(extra.url, '/user', carolCookie);
    const a = connect('alice', 0);
    assert.deepEqual((await join(a, 'chat')).ack, { members: 1 });
    assert.deepEqual((await join(onExtra, 'chat')).ack, { members: 2 });
    await settles(a, 'chat', 2);
    await send(onExtra, 'from the third node');
    await waitFor(() => events(a, 'comPeRoom').some((m) => m.text === 'from the third node'), 4000);

    await extra.stop();
    await settles(a, 'chat', 1);
    const b = connect('bob', 1);
    assert.deepEqual((await join(b, 'chat')).ack, { members: 2 });
    const { history } = await join(connect('dave', 1), 'chat');
    assert.ok(history.some((m) => m.text === 'from the third node' && m.username === 'carol'));
  } finally {
    await extra.stop();
  }
});

test('a node killed without a word leaves the counts within 15 s; no session cookie crosses Redis', async (t) => {
  if (skip) return t.skip(skip);
  const { startServer } = require('../lib/server.js');
  const net = require('node:net');
  // Every command any node sends to Redis while members join and leave,
  // seen by MONITOR (over a plain connection: the reply is a stream of
  // lines): none may carry a cookie or a session token.
  const ru = new URL(cluster.redisURL());
  const monitor = net.connect(Number(ru.port || 6379), ru.hostname);
  let seenText = '';
  monitor.on('data', (d) => { seenText += d.toString('latin1'); });
  monitor.on('error', () => {});
  await new Promise((resolve, reject) => { monitor.once('connect', resolve); monitor.once('error', reject); });
  monitor.write('MONITOR\r\n');
  await waitFor(() => seenText.startsWith('+OK'), 4000, 'MONITOR to start');
  const victim = await startServer('chatd',
    ['-db', c.db, '-redis', cluster.redisURL(), '-redis-prefix', c.prefix, '-msg-rate', '0']);
  try {
    const daveCookie = await chat.login(victim.url, 'dave', 'dave-password');
    const carolCookie = await chat.login(victim.url, 'carol', 'carol-password');
    const a = connect('alice', 0);
    const b = connect('bob', 1);
    assert.deepEqual((await join(a, 'random')).ack, { members: 1 });
    assert.deepEqual((await join(b, 'random')).ack, { members: 2 });
    const d = clients.connect(victim.url, '/user', daveCookie);
    const cc = clients.connect(victim.url, '/user', carolCookie);
    assert.deepEqual((await join(d, 'random')).ack, { members: 3 });
    assert.deepEqual((await join(cc, 'help')).ack, { members: 1 });
    await settles(a, 'random', 3);
    await settles(b, 'random', 3);

    const tokens = [...cookies.alice, ...cookies.bob, daveCookie, carolCookie].map((k) => k.split('=')[1]);
    const seen = seenText.split('\r\n');
    const leaked = seen.filter((line) => /cookie/i.test(line) || tokens.some((tok) => line.includes(tok)));
    assert.ok(seen.some((line) => line.includes(c.prefix)), 'MONITOR saw the nodes\' commands');
    assert.deepEqual(leaked, [], 'Redis commands carrying a cookie or a session token');

    // SIGKILL: no disconnect, no cleanup. The other nodes' members see
    // dave leave within 15 s.
    const killed = Date.now();
    victim.proc.kill('SIGKILL');
    await waitFor(() => lastCount(a, 'random') === 2 && lastCount(b, 'random') === 2, 15000,
      `random to show 2 members after the kill (last: ${lastCount(a, 'random')}, ${lastCount(b, 'random')})`);
    t.diagnostic(`counts dropped ${Date.now() - killed} ms after the kill`);
    // The presence no longer counts them: a new joiner of help is alone.
    assert.deepEqual((await join(connect('carol', 0), 'help')).ack, { members: 1 });
  } finally {
    monitor.destroy();
    await victim.stop();
  }
});
