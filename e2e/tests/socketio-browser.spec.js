// The official browser bundle, served by our own Socket.IO server, talking
// to it from Chromium.
const { test, expect } = require('@playwright/test');
const { startServer } = require('../lib/server.js');

let server;
test.beforeAll(async () => { server = await startServer('sioe2eserver', []); });
test.afterAll(async () => { await server.stop(); });

for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
  test(`socket.io.min.js from our server exchanges events over ${transports.join(' then ')}`, async ({ page }) => {
    await page.goto(server.url + '/');
    await page.addScriptTag({ url: server.url + '/socket.io/socket.io.min.js' });
    const result = await page.evaluate(async (transports) => {
      const socket = window.io('/', { transports, auth: { from: 'browser' } });
      const welcome = await new Promise((resolve, reject) => {
        socket.once('welcome', resolve);
        socket.once('connect_error', reject);
      });
      const ack = await socket.timeout(3000).emitWithAck('echo', 'text', 7);
      const bytes = new Uint8Array([1, 2, 3, 254, 255]).buffer;
      const echoed = new Promise((resolve) => socket.once('echo', (...args) => resolve(args)));
      const binAck = await socket.timeout(3000).emitWithAck('echo', bytes);
      const [binEcho] = await echoed;
      // Give an upgrade the time to happen, then talk again.
      await new Promise((r) => setTimeout(r, 300));
      const after = await socket.timeout(3000).emitWithAck('echo', 'after');
      const transport = socket.io.engine.transport.name;
      socket.disconnect();
      return {
        welcome,
        ack,
        binAck: Array.from(new Uint8Array(binAck)),
        binEchoIsArrayBuffer: binEcho instanceof ArrayBuffer,
        binEcho: Array.from(new Uint8Array(binEcho)),
        after,
        transport,
      };
    }, transports);
    expect(result.welcome.nsp).toBe('/');
    expect(result.welcome.auth).toEqual({ from: 'browser' });
    expect(result.ack).toBe('text');
    expect(result.binAck).toEqual([1, 2, 3, 254, 255]);
    expect(result.binEchoIsArrayBuffer).toBe(true);
    expect(result.binEcho).toEqual([1, 2, 3, 254, 255]);
    expect(result.after).toBe('after');
    expect(result.transport).toBe(transports[transports.length - 1]);
  });
}
