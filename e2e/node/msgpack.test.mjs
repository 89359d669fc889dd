// End-to-end tests of our Socket.IO server with the msgpack parser: the
// official socket.io-client with socket.io-msgpack-parser against
// cmd/sioe2eserver -parser msgpack (the scenarios of socketio.test.mjs) and
// cmd/siofixture -parser msgpack (the protocol fixture), over every
// transport setup.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { io, Manager } from 'socket.io-client';

const require = createRequire(import.meta.url);
const { startServer } = require('../lib/server.js');
const parser = require('socket.io-msgpack-parser');

const TRANSPORTS = {
  'websocket only': { transports: ['websocket'] },
  'polling only': { transports: ['polling'] },
  'polling then upgrade': { transports: ['polling', 'websocket'] },
};

const sockets = [];
function connect(url, nsp = '/', opts = {}) {
  const s = io(url + nsp, { forceNew: true, reconnection: false, parser, ...opts });
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
let fixture;
before(async () => {
  [server, fixture] = await Promise.all([
    startServer('sioe2eserver', ['-parser', 'msgpack']),
    startServer('siofixture', ['-parser', 'msgpack']),
  ]);
});
after(async () => {
  closeAll();
  await Promise.all([server.stop(), fixture.stop()]);
});

for (const [name, opts] of Object.entries(TRANSPORTS)) {
  describe(`msgpack, transport: ${name}`, () => {
    after(closeAll);

    for (const nsp of ['/', '/custom', '/dyn-17']) {
      test(`connects to ${nsp} with auth and exchanges events with acks`, async () => {
        const s = connect(server.url, nsp, { ...opts, auth: { token: 'abc', n: 1 } });
        const [welcome] = await once(s, 'welcome');
        assert.equal(welcome.nsp, nsp);
        assert.equal(welcome.id, s.id);
        assert.deepEqual(welcome.auth, { token: 'abc', n: 1 });
        const echoed = once(s, 'echo');
        const acked = await s.timeout(3000).emitWithAck('echo', 1, 'two', { three: [true, null], f: -2.5 });
        assert.deepEqual(acked, 1);
        assert.deepEqual(await echoed, [1, 'two', { three: [true, null], f: -2.5 }]);
      });
    }

    test('binary (Buffer, ArrayBuffer, typed array) events and acks', async () => {
      const s = connect(server.url, '/', opts);
      await once(s, 'connect');
      const payload = Buffer.from([0, 1, 2, 250, 255]);
      const big = Buffer.alloc(70000, 7);
      const echoed = once(s, 'echo');
      const ack = await s.timeout(3000).emitWithAck('echo', payload, { nested: Buffer.from('xyz'), ab: new Uint8Array([9, 8]).buffer }, new Uint8Array([5]), big);
      assert.ok(Buffer.isBuffer(ack));
      assert.deepEqual([...ack], [...payload]);
      const [b, obj, typed, large] = await echoed;
      assert.deepEqual([...b], [...payload]);
      assert.ok(Buffer.isBuffer(obj.nested) && Buffer.isBuffer(obj.ab) && Buffer.isBuffer(typed));
      assert.equal(obj.nested.toString(), 'xyz');
      assert.deepEqual([...obj.ab], [9, 8]);
      assert.deepEqual([...typed], [5]);
      assert.ok(big.equals(large));
      if (name === 'polling then upgrade') {
        await waitUpgrade(s);
        assert.equal(s.io.engine.transport.name, 'websocket');
      }
    });

    test('values that JSON cannot hold arrive as JSON.stringify writes them', async () => {
      const s = connect(server.url, '/', opts);
      await once(s, 'connect');
      const echoed = once(s, 'echo');
      await s.timeout(3000).emitWithAck('echo', { d: new Date(Date.UTC(2024, 1, 29, 1, 2, 3, 4)), u: undefined, n: NaN, big: 2 ** 40 }, [undefined]);
      assert.deepEqual(await echoed, [{ d: '2024-02-29T01:02:03.004Z', n: null, big: 2 ** 40 }, [null]]);
    });

    test('server-to-client acks, and their timeout', async () => {
      const s = connect(server.url, '/', opts);
      await once(s, 'connect');
      s.on('question', (q, cb) => cb({ answer: q + '!', bin: Buffer.from([1]) }));
      const res = await s.timeout(3000).emitWithAck('ask', 'question', 2000, 'why');
      assert.equal(res.answer[0].answer, 'why!');
      assert.deepEqual([...res.answer[0].bin], [1]);
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
      a.emit('to-room', 'r1', 'hello', 42, Buffer.from([3, 4]));
      const [hello, n, bin] = await got;
      assert.deepEqual([hello, n, [...bin]], ['hello', 42, [3, 4]]);
      const toB = once(b, 'broadcast-msg');
      const toC = once(c, 'broadcast-msg');
      a.emit('broadcast', 'all');
      assert.deepEqual(await toB, ['all']);
      assert.deepEqual(await toC, ['all']);
      // c is not in the room and a is the sender: an echo round trip on
      // each proves that nothing else was queued for them.
      assert.equal(await c.timeout(3000).emitWithAck('echo', 'sync'), 'sync');
      assert.equal(await a.timeout(3000).emitWithAck('echo', 'sync'), 'sync');
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
      const manager = new Manager(server.url, { ...opts, reconnection: false, parser });
      const main = manager.socket('/');
      const custom = manager.socket('/custom');
      sockets.push(main, custom);
      main.connect();
      custom.connect();
      await Promise.all([once(main, 'connect'), once(custom, 'connect')]);
      assert.equal(main.io.engine.id, custom.io.engine.id);
      const other = connect(server.url, '/custom', opts);
      await once(other, 'connect');
      assert.notEqual(other.io.engine.id, custom.io.engine.id);
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

    test('a malformed packet closes its connection only', async () => {
      const victim = connect(server.url, '/custom', opts);
      const bystander = connect(server.url, '/custom', opts);
      await Promise.all([once(victim, 'connect'), once(bystander, 'connect')]);
      const gone = once(victim, 'disconnect');
      victim.io.engine.write(Buffer.from([0x93, 0x01])); // an array, not a packet map
      assert.equal((await gone)[0], 'transport close');
      await waitFor(async () => (await bystander.timeout(3000).emitWithAck('last-reason')) === 'parse error');
    });

    test('the protocol fixture speaks msgpack', async () => {
      const s = connect(fixture.url, '/', { ...opts, auth: { token: '123' } });
      const [auth] = await once(s, 'auth');
      assert.deepEqual(auth, { token: '123' });
      const back = once(s, 'message-back');
      s.emit('message', 1, '2', { 3: [true] }, Buffer.from([1, 2, 3]));
      const [one, two, three, bin] = await back;
      assert.deepEqual([one, two, three, [...bin]], [1, '2', { 3: [true] }, [1, 2, 3]]);
      const acked = await s.timeout(3000).emitWithAck('message-with-ack', Buffer.from([4, 5, 6]));
      assert.deepEqual([...acked], [4, 5, 6]);
      const custom = connect(fixture.url, '/custom', opts);
      assert.deepEqual((await once(custom, 'auth'))[0], {});
      const refused = connect(fixture.url, '/random', opts);
      assert.equal((await once(refused, 'connect_error'))[0].message, 'Invalid namespace');
    });
  });
}

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
