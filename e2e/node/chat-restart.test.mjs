// End-to-end tests of durability (docs/protocol.md, Rules): an acknowledged
// message is in the history of its room after chatd restarts on the same
// database, whether it stopped gracefully or was killed.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const { keys, join, send, waitFor } = chat;

let tmp;
let server;
const clients = new chat.Clients();

before(() => { tmp = chat.tempDB(); });
after(async () => {
  clients.closeAll();
  if (server) await server.stop();
  if (tmp) tmp.cleanup();
});
afterEach(() => clients.closeAll());

// kill ends the server with SIGKILL and waits for it to be gone.
async function kill(srv) {
  const gone = new Promise((resolve) => srv.proc.once('exit', resolve));
  if (srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
  await gone;
  await srv.stop();
}

test('acknowledged messages and the session survive a graceful restart', async () => {
  server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  const cookie = await chat.signup(server.url, 'alice', 'alice-password');
  const s = clients.connect(server.url, '/user', cookie);
  await join(s, 'chat');
  const sent = [];
  for (const text of ['first before restart', '<b>second</b> & more', 'third 😀']) {
    const ack = await send(s, text);
    assert.deepEqual(keys(ack), ['id']);
    sent.push({ id: ack.id, text });
  }
  await server.stop();
  await waitFor(() => !s.connected, 5000, 'the client to notice the shutdown');

  server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  // The same session cookie still works, and the history is there.
  const again = clients.connect(server.url, '/user', cookie);
  const { history } = await join(again, 'chat');
  assert.deepEqual(history.map((m) => ({ id: m.id, text: m.text })), sent);
  for (const m of history) assert.equal(m.username, 'alice');
  // New messages get new ids.
  const next = await send(again, 'after restart');
  assert.ok(next.id > sent.at(-1).id);
  await server.stop();
});

test('every acknowledged message survives chatd being killed mid-stream', async () => {
  server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  const cookie = await chat.login(server.url, 'alice', 'alice-password');
  const s = clients.connect(server.url, '/user', cookie);
  await join(s, 'random');
  const acked = new Map();
  // Fire many sends; kill the server once some have been acknowledged.
  const inFlight = [];
  for (let i = 0; i < 150; i++) {
    const text = `burst ${i}`;
    inFlight.push(send(s, text).then((ack) => {
      if (ack && ack.id !== undefined) acked.set(ack.id, text);
    }, () => {}));
  }
  await waitFor(() => acked.size >= 10, 5000, 'ten acks');
  await kill(server);
  await Promise.all(inFlight); // the rest time out or fail: not acknowledged
  const ids = [...acked.keys()].sort((a, b) => a - b);
  assert.ok(ids.length >= 10);

  server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  const again = clients.connect(server.url, '/user', cookie);
  const { history } = await join(again, 'random');
  const stored = new Map(history.map((m) => [m.id, m.text]));
  const oldest = history.length ? history[0].id : Infinity;
  // The history holds the last 50: every acknowledged message at least as
  // new as the oldest of them is there with its text, and the newest
  // acknowledged one is not newer than the history.
  for (const id of ids) {
    if (id >= oldest) assert.equal(stored.get(id), acked.get(id), `acknowledged message ${id}`);
  }
  assert.ok(history.length > 0);
  assert.ok(ids.at(-1) <= history.at(-1).id, `acknowledged ${ids.at(-1)} missing after restart`);
  if (ids.length <= 50) for (const id of ids) assert.ok(stored.has(id), `acknowledged message ${id}`);
  await server.stop();
});
