// End-to-end test of the nginx configuration of docs/deploy.md: nginx runs
// it in front of two chatd nodes sharing Redis and PostgreSQL, and clients
// of the official socket.io-client reach the chat only through nginx, with
// the default transports (long-polling, then the WebSocket upgrade) and
// with long-polling only, which works only when nginx is sticky. Skipped
// when nginx is not installed; skipped without PostgreSQL and Redis unless
// CI is set (then it fails).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const cluster = require('../lib/cluster.js');
const { join, send, waitFor, events } = chat;

// Enough users that the cookie hash spreads them over both nodes: the
// chance that all land on one node is 2 in 2^USERS.
const USERS = 16;

let skip = null;
let c;
let proxy;
const clients = new chat.Clients();

before(async () => {
  if (!cluster.nginxBinary()) {
    skip = 'nginx is not installed';
    return;
  }
  skip = await cluster.servicesMissing();
  if (skip) {
    if (process.env.CI) throw new Error(skip);
    return;
  }
  c = await cluster.startCluster({ args: ['-msg-rate', '0', '-log-level', 'debug'] });
  proxy = await cluster.startNginx(c.urls.map((u) => new URL(u).host));
});
after(async () => {
  clients.closeAll();
  if (proxy) await proxy.stop();
  if (c) await c.stop();
});

// socketRequests counts the /socket.io/ requests a node logged, and those
// answered 400 (a polling request that reached the wrong node).
function socketRequests(node) {
  const lines = node.output().split('\n').filter((l) => l.includes('msg=request') && l.includes('path=/socket.io/'));
  return { all: lines.length, bad: lines.filter((l) => l.includes('status=400')).length };
}

test('two nodes behind the nginx configuration of docs/deploy.md', async (t) => {
  if (skip) return t.skip(skip);
  const names = Array.from({ length: USERS }, (_, i) => `user${i}`);
  const cookies = [];
  for (const name of names) cookies.push(await chat.signup(proxy.url, name, `${name}-password`));

  // Half the users with the default transports (polling, then upgrade to
  // WebSocket), half with long-polling only.
  const sockets = names.map((name, i) => clients.connect(proxy.url, '/user', cookies[i],
    { transports: i % 2 === 0 ? ['polling', 'websocket'] : ['polling'] }));
  for (const [i, s] of sockets.entries()) {
    assert.deepEqual((await join(s, 'chat')).ack, { members: i + 1 }, `join of ${names[i]}`);
  }
  // The WebSocket upgrade goes through nginx.
  await waitFor(() => sockets.filter((s, i) => i % 2 === 0)
    .every((s) => s.io.engine.transport.name === 'websocket'), 5000, 'WebSocket upgrades');
  for (const s of sockets) {
    await waitFor(() => events(s, 'updateMembers').some((u) => u.room === 'chat' && u.members === USERS),
      4000, `every client to see ${USERS} members`);
  }

  // Every client gets every message, whichever node the sender is on.
  const sent = [];
  for (const i of [0, 1, USERS - 1]) sent.push({ id: (await send(sockets[i], `hi from ${names[i]}`)).id, text: `hi from ${names[i]}` });
  for (const s of sockets) {
    await waitFor(() => sent.every((m) => events(s, 'comPeRoom').some((e) => e.id === m.id && e.text === m.text)),
      4000, 'all messages');
  }

  // Both nodes served Socket.IO traffic, and no polling request reached a
  // node that did not know its session.
  const stats = c.nodes.map(socketRequests);
  assert.ok(stats.every((s) => s.all > 0), `socket.io requests per node: ${JSON.stringify(stats)}`);
  assert.deepEqual(stats.map((s) => s.bad), [0, 0], `400 answers: ${JSON.stringify(stats)}`);
});
