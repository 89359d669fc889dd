// WebSocket compression (permessage-deflate, RFC 7692) between our
// Socket.IO server (cmd/sioe2eserver -per-message-deflate) and Node
// clients: the official socket.io-client (whose ws transport offers the
// extension by default), and a raw WebSocket client written here that
// shows each frame's RSV1 bit (set on a compressed message).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { io } from 'socket.io-client';

const require = createRequire(import.meta.url);
const { startServer } = require('../lib/server.js');

const big = 'a chat message that repeats itself, '.repeat(200); // 7,200 bytes, compressible
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

// RawWS is a minimal WebSocket client: it sends masked frames, compressed
// or not, and reads the server's frames with their RSV1 bit.
class RawWS {
  static open(url, extensions) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const sock = net.connect(Number(u.port), u.hostname);
      const key = crypto.randomBytes(16).toString('base64');
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => reject(new Error('handshake timed out')), 5000);
      sock.on('error', reject);
      sock.once('connect', () => {
        sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n');
      });
      const onData = (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        sock.off('data', onData);
        const lines = buf.subarray(0, end).toString().split('\r\n');
        const headers = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        if (!lines[0].includes(' 101 ')) return reject(new Error(`handshake: ${lines[0]}`));
        resolve(new RawWS(sock, headers, buf.subarray(end + 4)));
      };
      sock.on('data', onData);
    });
  }

  constructor(sock, headers, rest) {
    this.sock = sock;
    this.headers = headers;
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    sock.on('data', (d) => this.onData(d));
    if (rest.length) this.onData(rest);
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let n = b[1] & 0x7f;
      let off = 2;
      if (n === 126) { if (b.length < 4) return; n = b.readUInt16BE(2); off = 4; }
      else if (n === 127) { if (b.length < 10) return; n = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b.length < off + n) return;
      const f = { fin: (b[0] & 0x80) !== 0, rsv1: (b[0] & 0x40) !== 0, op: b[0] & 0x0f, payload: b.subarray(off, off + n) };
      this.buf = b.subarray(off + n);
      const w = this.waiters.shift();
      if (w) w(f); else this.frames.push(f);
    }
  }

  // next resolves with the next frame from the server.
  next(ms = 5000) {
    if (this.frames.length) return Promise.resolve(this.frames.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame')), ms);
      this.waiters.push((f) => { clearTimeout(timer); resolve(f); });
    });
  }

  // message resolves with the next data message other than a ping, as
  // { op, compressed, data, text, wire } (wire: the payload's size on the
  // wire).
  async message() {
    for (;;) {
      const f = await this.next();
      assert.ok(f.fin, 'the server does not fragment');
      const data = f.rsv1 ? zlib.inflateRawSync(Buffer.concat([f.payload, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : f.payload;
      const text = data.toString();
      if (f.op === 1 && text === '2') { this.send('3'); continue; } // Engine.IO ping
      return { op: f.op, compressed: f.rsv1, data, text, wire: f.payload.length };
    }
  }

  send(text, compress = false) {
    let payload = Buffer.from(text);
    let b0 = 0x81;
    if (compress) {
      const z = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.ok(z.subarray(z.length - 4).equals(TAIL));
      payload = z.subarray(0, z.length - 4);
      b0 |= 0x40;
    }
    const mask = crypto.randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([b0, 0x80 | n])
      : n <= 0xffff ? Buffer.from([b0, 0x80 | 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([b0, 0x80 | 127]), (() => { const x = Buffer.alloc(8); x.writeBigUInt64BE(BigInt(n)); return x; })()]);
    const masked = Buffer.from(payload);
    for (let i = 0; i < n; i++) masked[i] ^= mask[i & 3];
    this.sock.write(Buffer.concat([head, mask, masked]));
  }

  close() { this.sock.destroy(); }
}

// connectRaw opens a Socket.IO connection over a raw WebSocket and reads
// the CONNECT reply and the welcome event.
async function connectRaw(url, extensions = 'permessage-deflate; client_max_window_bits') {
  const ws = await RawWS.open(url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket', extensions);
  const open = await ws.message();
  assert.match(open.text, /^0\{"sid"/);
  assert.equal(open.compressed, false);
  ws.send('40');
  assert.match((await ws.message()).text, /^40\{"sid"/);
  assert.match((await ws.message()).text, /^42\["welcome"/);
  return ws;
}

let server;
let plainServer;
before(async () => {
  server = await startServer('sioe2eserver', ['-per-message-deflate', '-deflate-threshold', '1024']);
  plainServer = await startServer('sioe2eserver', []);
});
after(async () => { await server.stop(); await plainServer.stop(); });

describe('raw WebSocket client', () => {
  const open = [];
  after(() => { while (open.length) open.pop().close(); });

  test('the extension is negotiated without context takeover for the client', async () => {
    const ws = await connectRaw(server.url);
    open.push(ws);
    assert.equal(ws.headers['sec-websocket-extensions'], 'permessage-deflate; client_no_context_takeover');
  });

  test('large messages are compressed both ways, byte-identical once inflated; small ones are not', async () => {
    const ws = await connectRaw(server.url);
    open.push(ws);
    const msg = JSON.stringify(['echo', big]);
    ws.send('42' + msg, true);
    const echo = await ws.message();
    assert.equal(echo.compressed, true);
    assert.equal(echo.text, '42' + msg);
    assert.ok(echo.wire < msg.length / 10, `${echo.wire} bytes on the wire for ${msg.length}`);

    ws.send('42' + JSON.stringify(['echo', 'hi']), true); // compressed below the threshold: still inflated
    const small = await ws.message();
    assert.equal(small.compressed, false);
    assert.equal(small.text, '42["echo","hi"]');

    ws.send('42' + msg); // uncompressed from the client
    const again = await ws.message();
    assert.equal(again.compressed, true);
    assert.equal(again.text, '42' + msg);
  });

  test('compress(false) is sent uncompressed, to a socket and in a broadcast', async () => {
    const a = await connectRaw(server.url);
    const b = await connectRaw(server.url);
    open.push(a, b);
    a.send('42' + JSON.stringify(['emit-plain', big]), true);
    const plain = await a.message();
    assert.equal(plain.compressed, false);
    assert.equal(plain.text, '42' + JSON.stringify(['plain', big]));

    a.send('42' + JSON.stringify(['broadcast', big]), true);
    const zipped = await b.message();
    assert.equal(zipped.compressed, true);
    assert.equal(zipped.text, '42' + JSON.stringify(['broadcast-msg', big]));

    a.send('42' + JSON.stringify(['broadcast-plain', big]), true);
    const unzipped = await b.message();
    assert.equal(unzipped.compressed, false);
    assert.equal(unzipped.text, '42' + JSON.stringify(['broadcast-msg', big]));
  });

  test('binary attachments are compressed too', async () => {
    const ws = await connectRaw(server.url);
    open.push(ws);
    const bin = Buffer.alloc(5000, 7);
    ws.send('451-["echo",{"_placeholder":true,"num":0}]');
    const f = Buffer.from(bin);
    const mask = Buffer.from([1, 2, 3, 4]);
    for (let i = 0; i < f.length; i++) f[i] ^= mask[i & 3];
    ws.sock.write(Buffer.concat([Buffer.from([0x82, 0x80 | 126, bin.length >> 8, bin.length & 0xff]), mask, f]));
    const head = await ws.message();
    assert.equal(head.text, '451-["echo",{"_placeholder":true,"num":0}]');
    const att = await ws.message();
    assert.equal(att.op, 2);
    assert.equal(att.compressed, true);
    assert.ok(att.data.equals(bin));
    assert.ok(att.wire < bin.length / 10);
  });

  test('a server with compression off (the default) answers no offer', async () => {
    const ws = await connectRaw(plainServer.url);
    open.push(ws);
    assert.equal(ws.headers['sec-websocket-extensions'], undefined);
    ws.send('42' + JSON.stringify(['echo', big]));
    const echo = await ws.message();
    assert.equal(echo.compressed, false);
    assert.equal(echo.text, '42' + JSON.stringify(['echo', big]));
  });
});

describe('official socket.io-client', () => {
  const sockets = [];
  after(() => { while (sockets.length) sockets.pop().disconnect(); });
  function connect(url, opts) {
    const s = io(url, { forceNew: true, reconnection: false, ...opts });
    sockets.push(s);
    return s;
  }

  for (const [name, transports] of [['websocket only', ['websocket']], ['polling then upgrade', ['polling', 'websocket']]]) {
    test(`${name}: compressed both ways, payloads unchanged`, async () => {
      const s = connect(server.url, { transports });
      await once(s, 'connect');
      if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade');
      const ws = s.io.engine.transport.ws;
      assert.equal(ws.extensions, 'permessage-deflate');
      const read0 = ws._socket.bytesRead;
      const written0 = ws._socket.bytesWritten;
      const echoed = once(s, 'echo');
      const acked = await s.timeout(3000).emitWithAck('echo', big);
      assert.equal(acked, big);
      assert.deepEqual(await echoed, [big]);
      // The event and the ack, 14 KB uncompressed, both came compressed;
      // the client compressed its emit too.
      const read = ws._socket.bytesRead - read0;
      const written = ws._socket.bytesWritten - written0;
      assert.ok(read < big.length / 4, `${read} bytes read for two copies of ${big.length}`);
      assert.ok(written < big.length / 4, `${written} bytes written for ${big.length}`);

      const bin = Buffer.alloc(20000, 0xab);
      const binEcho = once(s, 'echo');
      const binAck = await s.timeout(3000).emitWithAck('echo', bin, 'tail');
      assert.ok(Buffer.from(binAck).equals(bin));
      const [b, tail] = await binEcho;
      assert.ok(Buffer.from(b).equals(bin));
      assert.equal(tail, 'tail');
    });
  }

  test('compress(false) on the server: the message arrives whole, uncompressed', async () => {
    const s = connect(server.url, { transports: ['websocket'] });
    await once(s, 'connect');
    const ws = s.io.engine.transport.ws;
    const read0 = ws._socket.bytesRead;
    const got = once(s, 'plain');
    s.emit('emit-plain', big);
    assert.deepEqual(await got, [big]);
    assert.ok(ws._socket.bytesRead - read0 > big.length, 'sent uncompressed');
  });

  test('compression off by default: no extension', async () => {
    const s = connect(plainServer.url, { transports: ['websocket'] });
    await once(s, 'connect');
    assert.equal(s.io.engine.transport.ws.extensions, '');
    const echoed = once(s, 'echo');
    s.emit('echo', big);
    assert.deepEqual(await echoed, [big]);
  });
});
