// Engine.IO v3 / Socket.IO protocol v4 clients (socket.io-client 2.x)
// against cmd/sioe2eserver -eio3 (AllowEIO3), and socket.io-client 3.x,
// which speaks Engine.IO v4, against both servers. Without AllowEIO3 the
// 2.x client is refused.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { startServer } = require('../lib/server.js');
const ioV2 = require('socket.io-client-v2');
const ioV3 = require('socket.io-client-v3');

function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

function emitAck(socket, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${args[0]}`)), 5000);
    socket.emit(...args, (...answer) => { clearTimeout(timer); resolve(answer); });
  });
}

let server; // -eio3
let plain; // without AllowEIO3
const sockets = [];

before(async () => {
  server = await startServer('sioe2eserver', ['-eio3', '-ping-interval', '400ms', '-ping-timeout', '300ms']);
  plain = await startServer('sioe2eserver', []);
});
after(async () => {
  while (sockets.length) sockets.pop().close();
  await server.stop();
  await plain.stop();
});

function v2(path, opts = {}) {
  const s = ioV2(server.url + path, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200, ...opts });
  sockets.push(s);
  return s;
}

async function connected(socket) {
  const [welcome] = await once(socket, 'welcome');
  if (!socket.connected) await once(socket, 'connect');
  return welcome;
}

const transportCases = [
  ['polling', { transports: ['polling'] }],
  ['websocket', { transports: ['websocket'] }],
  ['polling then upgrade', {}],
];

describe('socket.io-client 2.5.0 with AllowEIO3', () => {
  for (const [name, opts] of transportCases) {
    test(`connects, echoes text and binary, acks both ways (${name})`, async () => {
      const s = v2('/', opts);
      const welcome = await connected(s);
      assert.equal(welcome.nsp, '/');
      assert.equal(s.id, welcome.id);
      if (name === 'polling then upgrade') {
        if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade');
      }
      assert.equal(s.io.engine.transport.name, name === 'polling' ? 'polling' : 'websocket');

      const [text] = await emitAck(s, 'echo', 'héllo 😀');
      assert.equal(text, 'héllo 😀');
      const bin = Buffer.from([0, 1, 2, 255]);
      const echoed = once(s, 'echo');
      const [ackBin, ackStr] = await emitAck(s, 'echo', bin, 'x');
      assert.ok(Buffer.isBuffer(ackBin));
      assert.deepEqual([...ackBin], [0, 1, 2, 255]);
      assert.equal(ackStr, 'x');
      const [evBin] = await echoed;
      assert.deepEqual([...evBin], [0, 1, 2, 255]);

      // The server asks, the client answers with its ack.
      s.once('question', (n, cb) => cb(n + 1, Buffer.from('ok')));
      const [res] = await emitAck(s, 'ask', 'question', 2000, 41);
      assert.equal(res.answer[0], 42);
    });
  }

  test('namespaces: implicit "/", CONNECT with query, refused ones', async () => {
    const c = v2('/custom', { query: { token: 'abc' } });
    const welcome = await connected(c);
    assert.equal(welcome.nsp, '/custom');
    assert.equal(welcome.auth.token, 'abc');

    const p = v2('/private', { query: { token: 'secret' } });
    assert.equal((await connected(p)).nsp, '/private');

    const bad = v2('/private', { query: { token: 'nope' } });
    const [err] = await once(bad, 'error');
    assert.deepEqual(err, { reason: 'bad token' });

    const none = v2('/no-such-namespace');
    const [err2] = await once(none, 'error');
    assert.equal(err2, 'Invalid namespace');
  });

  test('rooms and broadcast reach other clients', async () => {
    const a = v2('/', { transports: ['websocket'] });
    const b = v2('/', { transports: ['polling'] });
    await Promise.all([connected(a), connected(b)]);
    await emitAck(a, 'join', 'room-eio3');
    await emitAck(b, 'join', 'room-eio3');
    const got = once(b, 'room-msg');
    a.emit('to-room', 'room-eio3', 'hi', Buffer.from([7]));
    const [msg, buf] = await got;
    assert.equal(msg, 'hi');
    assert.deepEqual([...buf], [7]);

    const bc = once(a, 'broadcast-msg');
    b.emit('broadcast', 'to all');
    assert.deepEqual(await bc, ['to all']);
  });

  for (const [name, opts] of transportCases.slice(0, 2)) {
    test(`reconnects after the server drops the connection (${name})`, async () => {
      const s = v2('/', opts);
      const first = await connected(s);
      // The client stops pinging: the server closes the session after
      // pingInterval + pingTimeout, and the client reconnects.
      s.io.engine.ping = () => {};
      const [reason] = await once(s, 'disconnect', 10000);
      assert.ok(['transport close', 'ping timeout', 'transport error'].includes(reason), reason);
      const again = await connected(s);
      assert.notEqual(again.id, first.id);
      const [text] = await emitAck(s, 'echo', 'back');
      assert.equal(text, 'back');
    });
  }

  test('the session stays up while the client pings', async () => {
    const s = v2('/', { transports: ['websocket'] });
    await connected(s);
    let disconnected = false;
    s.on('disconnect', () => { disconnected = true; });
    // Several heartbeat periods (ping-interval 400ms, ping-timeout 300ms).
    for (let i = 0; i < 5; i++) {
      await once(s.io.engine, 'pong', 3000);
    }
    assert.equal(disconnected, false);
  });
});

describe('without AllowEIO3', () => {
  test('socket.io-client 2.5.0 is refused', async () => {
    const s = ioV2(plain.url, { forceNew: true, reconnection: false, transports: ['polling'] });
    sockets.push(s);
    const [err] = await once(s, 'connect_error');
    assert.ok(err);
    assert.equal(s.connected, false);
  });
});

describe('socket.io-client 3.1.3', () => {
  for (const [label, srv] of [['with AllowEIO3', () => server], ['without', () => plain]]) {
    test(`connects, namespaces, binary and acks (${label})`, async () => {
      const s = ioV3(srv().url, { forceNew: true });
      sockets.push(s);
      assert.equal((await connected(s)).nsp, '/');
      const [b] = await emitAck(s, 'echo', Buffer.from([1, 2]));
      assert.deepEqual([...b], [1, 2]);
      const p = ioV3(srv().url + '/private', { forceNew: true, auth: { token: 'secret' } });
      sockets.push(p);
      assert.equal((await connected(p)).nsp, '/private');
      const bad = ioV3(srv().url + '/private', { forceNew: true, auth: { token: 'x' } });
      sockets.push(bad);
      const [err] = await once(bad, 'connect_error');
      assert.equal(err.message, 'not authorized');
    });
  }
});
