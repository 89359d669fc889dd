// End-to-end test of two chatd nodes serving one chat through Redis
// (-redis) and one database: messages, member counts and history across
// nodes, seen by the official socket.io-client. Needs a Redis server
// (REDIS_URL, default redis://127.0.0.1:6379/0); without one the test is
// skipped, unless CI is set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const { join, send, events, waitFor } = chat;

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

// redisAnswers resolves true when the Redis server of REDIS_URL answers PING.
function redisAnswers() {
  const u = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write(u.password ? `AUTH ${decodeURIComponent(u.password)}\r\nPING\r\n` : 'PING\r\n'));
    sock.on('data', (b) => { if (/\+PONG/.test(b.toString())) done(true); });
  });
}

let tmp;
const nodes = [];
const clients = new chat.Clients();
let available = true;

before(async () => {
  available = await redisAnswers();
  if (!available) {
    if (process.env.CI) throw new Error(`no Redis at ${REDIS_URL}, and CI is set`);
    return;
  }
  tmp = chat.tempDB();
  // A channel prefix of this run only, so that nothing else on the same
  // Redis mixes in.
  const prefix = `chatd-e2e-${crypto.randomBytes(6).toString('hex')}`;
  const args = ['-redis', REDIS_URL, '-redis-prefix', prefix, '-msg-rate', '0'];
  nodes.push(await chat.startChatd(tmp.db, args));
  nodes.push(await chat.startChatd(tmp.db, args));
});
after(async () => {
  clients.closeAll();
  for (const n of nodes) await n.stop();
  if (tmp) tmp.cleanup();
});

test('two nodes on one Redis: messages, member counts and history across nodes', async (t) => {
  if (!available) { t.skip(`no Redis at ${REDIS_URL}`); return; }
  const [a, b] = nodes;
  // An account made on one node works on the other (one database).
  const alice = await chat.signup(a.url, 'alice', 'alice-password');
  const bob = await chat.signup(b.url, 'bob', 'bob-password');
  const onA = clients.connect(a.url, '/user', alice);
  const onB = clients.connect(b.url, '/user', bob);
  const alsoB = clients.connect(b.url, '/user', alice); // alice's second tab, on node b

  assert.deepEqual((await join(onA, 'chat')).ack, { members: 1 });
  assert.deepEqual((await join(onB, 'chat')).ack, { members: 2 });
  const settled = (s, n) => waitFor(() => {
    const u = events(s, 'updateMembers').at(-1);
    return u && u.room === 'chat' && u.members === n;
  }, 3000, `count ${n}`);
  await settled(onA, 2);
  await settled(onB, 2);
  // alice on both nodes counts once.
  assert.deepEqual((await join(alsoB, 'chat')).ack, { members: 2 });

  const fromA = await send(onA, 'from node a');
  const fromB = await send(onB, 'from node b');
  for (const s of [onA, onB, alsoB]) {
    await waitFor(() => [fromA.id, fromB.id].every((id) => events(s, 'comPeRoom').some((m) => m.id === id)),
      3000, 'messages of both nodes');
  }
  assert.equal(events(onB, 'comPeRoom').find((m) => m.id === fromA.id).text, 'from node a');

  // alice's tab on a leaves: she is still in chat through node b.
  onA.disconnect();
  await chat.sleep(1400);
  assert.equal(events(onB, 'updateMembers').at(-1).members, 2);
  // Her last tab leaves: 1.
  alsoB.disconnect();
  await settled(onB, 1);

  // History on a new connection to node a has both messages.
  const again = clients.connect(a.url, '/user', alice);
  const { ack, history } = await join(again, 'chat');
  assert.deepEqual(ack, { members: 2 });
  assert.deepEqual(history.slice(-2).map((m) => m.id), [fromA.id, fromB.id]);
});
