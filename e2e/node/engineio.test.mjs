// End-to-end tests of the bare Engine.IO endpoint of cmd/siofixture (an
// echo server) with the official engine.io-client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Socket } from 'engine.io-client';

const require = createRequire(import.meta.url);
const { startServer } = require('../lib/server.js');

let server;
before(async () => { server = await startServer('siofixture', []); });
after(async () => { await server.stop(); });

for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
  test(`echo over ${transports.join(' then ')}`, async () => {
    const socket = new Socket(server.url, { path: '/engine.io/', transports });
    try {
      await new Promise((resolve, reject) => { socket.on('open', resolve); socket.on('error', reject); });
      const received = [];
      const done = new Promise((resolve) => {
        socket.on('message', (m) => { received.push(m); if (received.length === 3) resolve(); });
      });
      socket.send('hello');
      socket.send(new Uint8Array([1, 2, 3, 4]));
      socket.send('é ✓ 🚀');
      await done;
      assert.equal(received[0], 'hello');
      assert.deepEqual([...new Uint8Array(received[1])], [1, 2, 3, 4]);
      assert.equal(received[2], 'é ✓ 🚀');
      if (transports.length === 2) {
        const end = Date.now() + 5000;
        while (socket.transport.name !== 'websocket' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        assert.equal(socket.transport.name, 'websocket');
        const again = new Promise((resolve) => socket.once('message', resolve));
        socket.send('after upgrade');
        assert.equal(await again, 'after upgrade');
      }
    } finally {
      socket.close();
    }
  });
}
