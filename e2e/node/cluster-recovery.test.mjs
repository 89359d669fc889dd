// Connection state recovery across the nodes of a chatd cluster on the
// Redis Streams adapter (the default of -redis-adapter), with the official
// client: a client reaches the cluster through a switchable proxy; after a
// dropped connection it resumes its session on the other node, or on its
// own node restarted (SIGTERM, started again), with every message posted
// meanwhile on either node, once. A drop longer than -recovery-window
// starts a new session. Skipped without PostgreSQL and Redis, unless CI
// is set (then they fail).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createClient } = require('redis');
const chat = require('../lib/chat.js');
const cluster = require('../lib/cluster.js');
const { startProxy } = require('../lib/proxy.js');
const { join, send, waitFor, events, once } = chat;

let skip = null;
let c; // the cluster
let cookies;
let rdb;
const clients = new chat.Clients();
const proxies = [];
const NAMES = ['alice', 'bob', 'carol'];

before(async () => {
  skip = await cluster.servicesMissing();
  if (skip) {
    if (process.env.CI) throw new Error(skip);
    return;
  }
  ({ c, cookies } = await cluster.startClusterWithAccounts(NAMES, { args: ['-msg-rate', '0'] }));
  rdb = createClient({ url: cluster.redisURL() });
  rdb.on('error', () => {});
  await rdb.connect();
});
after(async () => {
  clients.closeAll();
  for (const p of proxies) await p.stop();
  if (rdb) await rdb.disconnect();
  if (c) await c.stop();
});
afterEach(() => clients.closeAll());

// sessionsStored resolves once n sessions of the cluster wait in Redis.
async function sessionsStored(prefix, n) {
  await waitFor(async () => (await rdb.keys(`${prefix}:session:*`)).length >= n, 5000, `${n} stored session(s)`);
}

// texts are the texts of the comPeRoom events s got.
const texts = (s) => events(s, 'comPeRoom').map((m) => m.text);

// resumable connects name through proxy p, reconnecting by hand only.
function resumable(p, name) {
  return clients.connect(p.url, '/user', cookies[name][0], { reconnection: false });
}

test('a dropped client resumes on the other node with the messages of both nodes, once', async (t) => {
  if (skip) return t.skip(skip);
  const p = await startProxy(c.urls[0]);
  proxies.push(p);
  const a = resumable(p, 'alice');
  const b = clients.connect(c.urls[0], '/user', cookies.bob[0]);
  const d = clients.connect(c.urls[1], '/user', cookies.carol[1]);
  await join(a, 'random');
  await join(b, 'random');
  await join(d, 'random');
  await send(b, 'before the drop');
  await waitFor(() => texts(a).includes('before the drop'), 5000, 'the first message');
  const id = a.id;
  assert.equal(a.recovered, false);
  const histories = events(a, 'historyUpdate').length;

  // The network drops; the proxy now leads to node B.
  p.setTarget(c.urls[1]);
  const gone = once(a, 'disconnect');
  p.drop();
  await gone;
  await sessionsStored(c.prefix, 1);
  await send(b, 'on A while away');
  await send(d, 'on B while away');

  a.connect();
  await chat.connected(a);
  assert.equal(a.recovered, true, 'resumed on node B');
  assert.equal(a.id, id);
  await waitFor(() => texts(a).length >= 3, 5000, 'the missed messages');
  // Still in the room on node B, without joining again.
  await send(a, 'back, from B');
  for (const s of [a, b, d]) {
    await waitFor(() => texts(s).includes('back, from B'), 5000, 'the message after the resume');
  }
  assert.deepEqual(texts(a), ['before the drop', 'on A while away', 'on B while away', 'back, from B']);
  assert.equal(events(a, 'historyUpdate').length, histories, 'no history reload');
});

test('a client of a node restarted gracefully resumes on it, with the messages posted while it was down', async (t) => {
  if (skip) return t.skip(skip);
  const p = await startProxy(c.urls[0]);
  proxies.push(p);
  const a = resumable(p, 'alice');
  const d = clients.connect(c.urls[1], '/user', cookies.carol[1]);
  await join(a, 'chat');
  await join(d, 'chat');
  await send(d, 'before the restart');
  await waitFor(() => texts(a).includes('before the restart'), 5000, 'the first message');
  const id = a.id;
  const histories = events(a, 'historyUpdate').length;

  const gone = once(a, 'disconnect', 10_000);
  await c.stopNode(0); // SIGTERM: the session is stored before Redis is closed
  const [reason] = await gone;
  assert.equal(reason, 'transport close');
  await sessionsStored(c.prefix, 1);
  await send(d, 'while node A is down');
  await c.startNode(0);
  await send(d, 'node A is back');
  p.setTarget(c.urls[0]);

  a.connect();
  await chat.connected(a);
  assert.equal(a.recovered, true, 'resumed on node A restarted');
  assert.equal(a.id, id);
  await send(a, 'from A again');
  await waitFor(() => texts(d).includes('from A again'), 5000, 'the message after the resume');
  await waitFor(() => texts(a).length >= 4, 5000, 'every message');
  assert.deepEqual(texts(a), ['before the restart', 'while node A is down', 'node A is back', 'from A again']);
  assert.equal(events(a, 'historyUpdate').length, histories, 'no history reload');
});

test('a drop longer than -recovery-window starts a new session', async (t) => {
  if (skip) return t.skip(skip);
  const short = await cluster.startClusterWithAccounts(['erin'], { args: ['-msg-rate', '0', '-recovery-window', '1s'] });
  try {
    const p = await startProxy(short.c.urls[0]);
    proxies.push(p);
    const a = clients.connect(p.url, '/user', short.cookies.erin[0], { reconnection: false });
    await join(a, 'random');
    await send(a, 'hello');
    await waitFor(() => texts(a).length === 1, 5000, 'the message');
    const id = a.id;
    p.setTarget(short.c.urls[1]);
    const gone = once(a, 'disconnect');
    p.drop();
    await gone;
    await sessionsStored(short.c.prefix, 1);
    // The window passes: the session expires in Redis.
    await waitFor(async () => (await rdb.keys(`${short.c.prefix}:session:*`)).length === 0, 5000, 'the session to expire');
    a.connect();
    await chat.connected(a);
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, id);
    // A new session: joining again works as usual.
    const { history } = await join(a, 'random');
    assert.deepEqual(history.map((m) => m.text), ['hello']);
  } finally {
    clients.closeAll();
    await short.c.stop();
  }
});
