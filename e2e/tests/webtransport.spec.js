// The official browser client over WebTransport (HTTP/3) in Chromium,
// against sioe2eserver -webtransport: a self-signed certificate of a day,
// accepted through serverCertificateHashes. QUIC must be enabled for this
// spec, so it overrides the standard launch arguments without
// --disable-quic (all the others kept).
const { test, expect } = require('@playwright/test');
const { startServer } = require('../lib/server.js');

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
});

// talk runs in the page: connects to url with opts (a certHash, when
// given, becomes the WebTransport serverCertificateHashes), exchanges
// events with acks (text and binary) and reports the transport seen by
// both sides.
async function talk(page, { url, opts, certHash }) {
  return page.evaluate(async ({ url, opts, certHash }) => {
    if (certHash) {
      opts.transportOptions = {
        webtransport: { serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(certHash) }] },
      };
    }
    const socket = window.io(url, opts);
    const welcome = await new Promise((resolve, reject) => {
      socket.once('welcome', resolve);
      socket.once('connect_error', (err) => reject(new Error('connect_error: ' + err.message)));
    });
    const ack = await socket.timeout(5000).emitWithAck('echo', 'text', 7);
    const bytes = new Uint8Array([1, 2, 3, 254, 255]).buffer;
    const echoed = new Promise((resolve) => socket.once('echo', (...args) => resolve(args)));
    const binAck = await socket.timeout(5000).emitWithAck('echo', bytes);
    const [binEcho] = await echoed;
    const serverTransport = await socket.timeout(5000).emitWithAck('transport');
    const transport = socket.io.engine.transport.name;
    socket.disconnect();
    return {
      welcome,
      ack,
      binAck: Array.from(new Uint8Array(binAck)),
      binEcho: Array.from(new Uint8Array(binEcho)),
      serverTransport,
      transport,
    };
  }, { url, opts, certHash });
}

test.describe('with an HTTP/3 listener', () => {
  let server;
  test.beforeAll(async () => { server = await startServer('sioe2eserver', ['-webtransport']); });
  test.afterAll(async () => { await server.stop(); });

  test('socket.io.min.js connects over WebTransport and exchanges events, acks and binary', async ({ page }) => {
    await page.goto(server.url + '/');
    await page.addScriptTag({ url: server.url + '/socket.io/socket.io.min.js' });
    expect(await page.evaluate(() => typeof WebTransport)).toBe('function');
    const info = await (await page.request.get(server.url + '/webtransport.json')).json();
    // The HTTP/3 listener has a UDP port of its own, and the client dials
    // its URL's host and port for WebTransport: the page names that port.
    const out = await talk(page, {
      url: info.url,
      opts: { transports: ['webtransport'] },
      certHash: Array.from(Buffer.from(info.certHash, 'base64')),
    });
    expect(out.welcome.nsp).toBe('/');
    expect(out.ack).toBe('text');
    expect(out.binAck).toEqual([1, 2, 3, 254, 255]);
    expect(out.binEcho).toEqual([1, 2, 3, 254, 255]);
    expect(out.transport).toBe('webtransport');
    expect(out.serverTransport).toBe('webtransport');
  });
});

test.describe('without an HTTP/3 listener', () => {
  let server;
  test.beforeAll(async () => { server = await startServer('sioe2eserver', []); });
  test.afterAll(async () => { await server.stop(); });

  test('the client falls back from WebTransport to WebSocket', async ({ page }) => {
    await page.goto(server.url + '/');
    await page.addScriptTag({ url: server.url + '/socket.io/socket.io.min.js' });
    const out = await talk(page, {
      url: server.url,
      opts: { transports: ['webtransport', 'websocket'], tryAllTransports: true },
    });
    expect(out.welcome.nsp).toBe('/');
    expect(out.ack).toBe('text');
    expect(out.binAck).toEqual([1, 2, 3, 254, 255]);
    expect(out.binEcho).toEqual([1, 2, 3, 254, 255]);
    expect(out.transport).toBe('websocket');
    expect(out.serverTransport).toBe('websocket');
  });
});
