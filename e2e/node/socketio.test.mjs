// End-to-end tests of our Socket.IO server (cmd/sioe2eserver) with the
// official socket.io-client, in Node, over every transport setup.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { io, Manager } from 'socket.io-client';

const require = createRequire(import.meta.url);
const { startServer } = require('../lib/server.js');

const TRANSPORTS = {
  'websocket only': { transports: ['websocket'] },
  'polling only': { transports: ['polling'] },
  'polling then upgrade': { transports: ['polling', 'websocket'] },
};

const sockets = [];
function connect(url, nsp = '/', opts = {}) {
  const s = io(url + nsp, { forceNew: true, reconnection: false, ...opts });
  sockets.push(s);
  return s;
}
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}
function closeAll() {
  while (sockets.length) sockets.pop().disconnect();
}

let server;
before(async () => { server = await startServer('sioe2eserver', []); });
after(async () => { closeAll(); await server.stop(); });

for (const [name, opts] of Object.entries(TRANSPORTS)) {
  describe(`transport: ${name}`, () => {
    after(closeAll);

    for (const nsp of ['/', '/custom', '/dyn-17']) {
      test(`connects to ${nsp} with auth and exchanges JSON events with acks`, async () => {
        const s = connect(server.url, nsp, { ...opts, auth: { token: 'abc', n: 1 } });
        const [welcome] = await once(s, 'welcome');
        assert.equal(welcome.nsp, nsp);
        assert.equal(welcome.id, s.id);
        assert.deepEqual(welcome.auth, { token: 'abc', n: 1 });
        const echoed = once(s, 'echo');
        const acked = await s.timeout(3000).emitWithAck('echo', 1, 'two', { three: [true, null] });
        assert.deepEqual(acked, 1); // emitWithAck resolves with the first argument
        assert.deepEqual(await echoed, [1, 'two', { three: [true, null] }]);
      });
    }

    test('binary (Buffer) events and binary acks', async () => {
      const s = connect(server.url, '/', opts);
      await once(s, 'connect');
      const payload = Buffer.from([0, 1, 2, 250, 255]);
      const echoed = once(s, 'echo');
      const ack = await s.timeout(3000).emitWithAck('echo', payload, { nested: Buffer.from('xyz') });
      assert.ok(Buffer.isBuffer(ack));
      assert.deepEqual([...ack], [...payload]);
      const [b, obj] = await echoed;
      assert.deepEqual([...b], [...payload]);
      assert.equal(Buffer.from(obj.nested).toString(), 'xyz');
      if (name === 'polling then upgrade') {
        await waitUpgrade(s);
        assert.equal(s.io.engine.transport.name, 'websocket');
      }
    });

    test('server-to-client acks, and their timeout', async () => {
      const s = connect(server.url, '/', opts);
      await once(s, 'connect');
      s.on('question', (q, cb) => cb({ answer: q + '!' }));
      const res = await s.timeout(3000).emitWithAck('ask', 'question', 2000, 'why');
      assert.deepEqual(res, { answer: [{ answer: 'why!' }] });
      s.on('silent', () => { /* never acks */ });
      const late = await s.timeout(3000).emitWithAck('ask', 'silent', 200);
      assert.match(late.error, /timed out/);
    });

    test('client ack timeout fires when the server does not answer', async () => {
      const s = connect(server.url, '/', opts);
      await once(s, 'connect');
      await assert.rejects(s.timeout(300).emitWithAck('no-such-handler'), /operation has timed out/);
    });

    test('rooms and broadcast', async () => {
      const [a, b, c] = [connect(server.url, '/', opts), connect(server.url, '/', opts), connect(server.url, '/', opts)];
      await Promise.all([a, b, c].map((s) => once(s, 'connect')));
      assert.equal(await a.timeout(3000).emitWithAck('join', 'r1'), 2);
      assert.equal(await b.timeout(3000).emitWithAck('join', 'r1'), 2);
      let cGotRoomMsg = false;
      c.on('room-msg', () => { cGotRoomMsg = true; });
      let aGotOwn = false;
      a.on('room-msg', () => { aGotOwn = true; });
      const got = once(b, 'room-msg');
      a.emit('to-room', 'r1', 'hello', 42);
      assert.deepEqual(await got, ['hello', 42]);
      const toB = once(b, 'broadcast-msg');
      const toC = once(c, 'broadcast-msg');
      a.emit('broadcast', 'all');
      assert.deepEqual(await toB, ['all']);
      assert.deepEqual(await toC, ['all']);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(cGotRoomMsg, false);
      assert.equal(aGotOwn, false);
    });

    test('middleware rejection reaches the client with message and data', async () => {
      const bad = connect(server.url, '/private', { ...opts, auth: { token: 'wrong' } });
      const [err] = await once(bad, 'connect_error');
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { reason: 'bad token' });
      assert.equal(bad.active, false);
      const good = connect(server.url, '/private', { ...opts, auth: { token: 'secret' } });
      await once(good, 'connect');
    });

    test('unknown namespace is refused', async () => {
      const s = connect(server.url, '/nope', opts);
      const [err] = await once(s, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
    });

    test('several namespaces share one Engine.IO session; forceNew makes another', async () => {
      const manager = new Manager(server.url, { ...opts, reconnection: false });
      const main = manager.socket('/');
      const custom = manager.socket('/custom');
      sockets.push(main, custom);
      main.connect();
      custom.connect();
      await Promise.all([once(main, 'connect'), once(custom, 'connect')]);
      assert.equal(main.io, custom.io);
      assert.equal(main.io.engine.id, custom.io.engine.id);
      const other = connect(server.url, '/custom', opts);
      await once(other, 'connect');
      assert.notEqual(other.io, custom.io);
      assert.notEqual(other.io.engine.id, custom.io.engine.id);
      // Leaving one namespace keeps the other working.
      custom.disconnect();
      assert.equal(await main.timeout(3000).emitWithAck('echo', 'still here'), 'still here');
    });

    test('disconnect reasons on both sides', async () => {
      const s = connect(server.url, '/custom', opts);
      await once(s, 'connect');
      const reason = once(s, 'disconnect');
      s.emit('disconnect-me', false);
      assert.equal((await reason)[0], 'io server disconnect');

      const probe = connect(server.url, '/custom', opts);
      await once(probe, 'connect');
      assert.equal(await probe.timeout(3000).emitWithAck('last-reason'), 'server namespace disconnect');

      const t = connect(server.url, '/custom', opts);
      await once(t, 'connect');
      t.disconnect();
      await waitFor(async () => (await probe.timeout(3000).emitWithAck('last-reason')) === 'client namespace disconnect');

      const u = connect(server.url, '/custom', opts);
      await once(u, 'connect');
      const closed = once(u, 'disconnect');
      u.emit('disconnect-me', true);
      assert.equal((await closed)[0], 'io server disconnect');

      const v = connect(server.url, '/custom', opts);
      await once(v, 'connect');
      v.io.engine.close();
      await waitFor(async () => (await probe.timeout(3000).emitWithAck('last-reason')) === 'transport close');
    });
  });
}

test('reconnects by itself after the server restarts', async () => {
  const first = await startServer('sioe2eserver', []);
  const port = new URL(first.url).port;
  const s = io(first.url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
  sockets.push(s);
  await once(s, 'connect');
  const firstId = s.id;
  const gone = once(s, 'disconnect');
  await first.stop();
  const [reason] = await gone;
  assert.ok(['transport close', 'transport error', 'ping timeout'].includes(reason), reason);
  const back = once(s, 'connect', 15000);
  const second = await startServer('sioe2eserver', ['-addr', `127.0.0.1:${port}`]);
  try {
    await back;
    assert.notEqual(s.id, firstId);
    assert.equal(await s.timeout(3000).emitWithAck('echo', 'back'), 'back');
  } finally {
    s.disconnect();
    await second.stop();
  }
});

async function waitFor(cond, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

async function waitUpgrade(s) {
  await waitFor(() => s.io.engine.transport.name === 'websocket');
}
