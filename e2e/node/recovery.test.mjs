// Connection state recovery with the official client: a client whose
// transport is closed gets its id, rooms and the events it missed back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { io } from 'socket.io-client';

const require = createRequire(import.meta.url);
const { startServer } = require('../lib/server.js');

let server;
before(async () => { server = await startServer('sioe2eserver', ['-recovery']); });
after(async () => { await server.stop(); });

function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

for (const transports of [['websocket'], ['polling']]) {
  test(`recovers id, rooms and missed events after a forced transport close (${transports[0]})`, async () => {
    const a = io(server.url, { forceNew: true, transports, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    const b = io(server.url, { forceNew: true, transports, reconnection: false });
    const welcomes = [once(a, 'welcome'), once(b, 'welcome')];
    try {
      const [[welcome]] = await Promise.all(welcomes);
      assert.equal(welcome.recovered, false);
      assert.equal(a.recovered, false);
      assert.equal(await a.timeout(3000).emitWithAck('join', 'lobby'), 2);
      // A first room message sets the client's offset.
      const first = once(a, 'room-msg');
      b.emit('to-room', 'lobby', 'before');
      const [before, offset1] = await first;
      assert.equal(before, 'before');
      assert.equal(typeof offset1, 'string'); // the offset is the last argument
      const idBefore = a.id;

      // Keep a away until the room has moved on: no reconnection until
      // the two messages were sent.
      a.io.reconnection(false);
      const received = [];
      a.on('room-msg', (text) => received.push(text));
      const gone = once(a, 'disconnect');
      a.io.engine.close();
      await gone;
      // Sent while a is away.
      b.emit('to-room', 'lobby', 'missed-1');
      b.emit('to-room', 'lobby', 'missed-2');
      await b.timeout(3000).emitWithAck('rooms'); // both processed by now

      const back = once(a, 'connect');
      a.connect();
      await back;
      assert.equal(a.recovered, true);
      assert.equal(a.id, idBefore);
      const end = Date.now() + 3000;
      while (received.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(received, ['missed-1', 'missed-2']);
      const rooms = await a.timeout(3000).emitWithAck('rooms');
      assert.deepEqual([...rooms].sort(), [idBefore, 'lobby'].sort());
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
}

test('a client that disconnected on purpose starts a new session', async () => {
  const a = io(server.url, { forceNew: true, transports: ['websocket'] });
  try {
    await once(a, 'welcome');
    const id = a.id;
    a.disconnect();
    a.connect();
    const [welcome] = await once(a, 'welcome');
    assert.equal(welcome.recovered, false);
    assert.notEqual(a.id, id);
  } finally {
    a.disconnect();
  }
});
