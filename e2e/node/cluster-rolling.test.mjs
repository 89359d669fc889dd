// A rolling restart of a two-node chatd cluster (Redis Streams adapter,
// PostgreSQL) under a message storm, with the official client: members on
// both nodes (through switchable proxies, as behind a load balancer), a
// sender posting continuously with acknowledgements; node A is restarted
// (SIGTERM, started again) while its clients go to node B, then node B
// while its clients go to node A. Every client is recovered at each
// reconnection, and every acknowledged message reaches every member
// exactly once. Skipped without PostgreSQL and Redis, unless CI is set
// (then it fails).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const cluster = require('../lib/cluster.js');
const { startProxy } = require('../lib/proxy.js');
const { join, waitFor, events } = chat;

let skip = null;
let c;
let cookies;
const clients = new chat.Clients();
const proxies = [];
const MEMBERS = ['ann', 'ben', 'cat', 'dan'];

before(async () => {
  skip = await cluster.servicesMissing();
  if (skip) {
    if (process.env.CI) throw new Error(skip);
    return;
  }
  ({ c, cookies } = await cluster.startClusterWithAccounts([...MEMBERS, 'sam'], { args: ['-msg-rate', '0'] }));
});
after(async () => {
  clients.closeAll();
  for (const p of proxies) await p.stop();
  if (c) await c.stop();
});

const reconnecting = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0 };

// member connects name through proxy p; s.connects records s.recovered at
// every connection.
function member(p, name) {
  const s = clients.connect(p.url, '/user', cookies[name][0], reconnecting);
  s.connects = [];
  s.on('connect', () => s.connects.push(s.recovered));
  return s;
}

const ids = (s) => events(s, 'comPeRoom').map((m) => m.id);

test('a rolling restart under a message storm loses no acknowledged message and delivers none twice', { timeout: 120_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const pA = await startProxy(c.urls[0]);
  const pB = await startProxy(c.urls[1]);
  proxies.push(pA, pB);
  const members = [member(pA, 'ann'), member(pA, 'ben'), member(pB, 'cat'), member(pB, 'dan')];
  const sender = member(pB, 'sam');
  const all = [...members, sender];
  for (const s of all) await join(s, 'random');

  // The storm: one message at a time, each waiting for its ack (or for
  // the failure of its ack, while a node restarts).
  const acked = new Map();
  let storming = true;
  let n = 0;
  const storm = (async () => {
    while (storming) {
      const text = `storm ${n++}`;
      const reply = await sender.timeout(3000).emitWithAck('newMsg2Server', { text }).catch(() => null);
      if (reply && typeof reply.id === 'number') acked.set(reply.id, text);
      else await chat.sleep(20); // refused during the shutdown, or no ack
    }
  })();
  const moreAcked = (k) => {
    const want = acked.size + k;
    return waitFor(() => acked.size >= want, 20_000, `${k} more acknowledged messages`);
  };
  const allConnected = () => waitFor(() => all.every((s) => s.connected), 20_000, 'every client connected');

  // restart stops node i while its proxy p leads to the other node, waits
  // until its clients have reconnected there, starts it again and points
  // its proxy back at it.
  const restart = async (i, p, clientsOfNode) => {
    const before = clientsOfNode.map((s) => s.connects.length);
    p.setTarget(c.urls[1 - i]);
    await c.stopNode(i);
    await waitFor(() => clientsOfNode.every((s, k) => s.connects.length > before[k] && s.connected), 20_000,
      `the clients of node ${i} to reconnect to the other node`);
    await allConnected();
    await c.startNode(i);
    p.setTarget(c.urls[i]);
  };

  try {
    await moreAcked(20);
    await restart(0, pA, [members[0], members[1]]);
    await moreAcked(20);
    await restart(1, pB, [members[2], members[3], sender]);
    await moreAcked(20);
  } finally {
    storming = false;
    await storm;
  }

  // Every acknowledged message reached every member, once.
  const want = [...acked.keys()];
  for (const [i, s] of all.entries()) {
    await waitFor(() => {
      const got = new Set(ids(s));
      return want.every((id) => got.has(id));
    }, 10_000, `client ${i} to get every acknowledged message`);
  }
  for (const [i, s] of all.entries()) {
    const got = ids(s);
    assert.equal(new Set(got).size, got.length, `client ${i} got a message twice`);
    // In the order of the ids (one sender, one message at a time).
    assert.deepEqual(got, [...got].sort((x, y) => x - y), `client ${i}: messages out of order`);
    assert.ok(s.connects.length >= 2, `client ${i} reconnected`);
    assert.deepEqual(s.connects.slice(1), s.connects.slice(1).map(() => true), `client ${i} recovered every time`);
    assert.equal(events(s, 'historyUpdate').length, 1, `client ${i} loaded the history again`);
  }
  const texts = new Map(events(sender, 'comPeRoom').map((m) => [m.id, m.text]));
  for (const [id, text] of acked) assert.equal(texts.get(id), text);
  assert.ok(acked.size >= 60);
});
