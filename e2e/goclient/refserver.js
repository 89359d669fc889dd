// Reference Socket.IO server (the official Node implementation) for the
// tests of the Go client in socketio/client.
//
// Listens on 127.0.0.1, on the port given by the PORT environment variable
// (0, the default, picks a free one), and prints
// "listening on http://127.0.0.1:PORT" once ready. PING_INTERVAL and
// PING_TIMEOUT (milliseconds) set the heartbeat, MAX_PAYLOAD the
// maxHttpBufferSize, and UPGRADE_DELAY (milliseconds) holds every WebSocket
// handshake back for that long (to widen the polling phase of an upgrade).
// PARSER=msgpack uses socket.io-msgpack-parser instead of the default parser.
// RECOVERY=1 turns connection state recovery on (a 60 s window).
//
// Main namespace "/":
//   echo (...args, ack?)          ack with the args, or emit "echo" with them
//   whoami (ack)                  ack {id, connId, transport, auth}
//   record (value)                append value to a list; get-records (ack)
//   join (room, ack)              join a room
//   broadcast (room, ev, ...args) emit to the room, except the sender
//   to-room (room, ev, ...args)   emit to the room, the sender included
//   room-size (room, ack)         ack the number of sockets in the room
//   request-ack (ev, ...args, ack) emit ev with args and an ack callback to
//                                 the client; ack with {reply} or {error}
//   emit-back (ev, ...args)       emit ev with args to the sender
//   disconnect-me                 server-side disconnect of this socket
//   close-conn                    disconnect(true): closes the connection
//   stop-heartbeat                stop sending pings on this connection
//   flaky (key, ack)              ack (key, n) only on every second receipt
//                                 of key (n counts receipts); count (key, ack)
//                                 acks the number of receipts of key
// Namespace "/admin": a middleware refuses unless auth.token is "secret",
//   with an error whose data is {code: 401, reason: "bad token"};
//   whoami as above.
// Namespace "/chat": echo and whoami as above.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: Number(process.env.PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.PING_TIMEOUT || 20000),
  maxHttpBufferSize: Number(process.env.MAX_PAYLOAD || 1e6),
  ...(process.env.PARSER === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {}),
  ...(process.env.RECOVERY === "1" ? { connectionStateRecovery: { maxDisconnectionDuration: 60000 } } : {}),
});

const upgradeDelay = Number(process.env.UPGRADE_DELAY || 0);
if (upgradeDelay > 0) {
  const handlers = httpServer.listeners("upgrade");
  httpServer.removeAllListeners("upgrade");
  httpServer.on("upgrade", (...args) => {
    setTimeout(() => handlers.forEach((h) => h.apply(httpServer, args)), upgradeDelay);
  });
}

const records = [];
const receipts = new Map();

function common(socket) {
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) {
      ack(...args);
    } else {
      socket.emit("echo", ...args);
    }
  });
  socket.on("whoami", (ack) => {
    ack({
      id: socket.id,
      nsp: socket.nsp.name,
      connId: socket.conn.id,
      transport: socket.conn.transport.name,
      auth: socket.handshake.auth,
      query: socket.handshake.query,
      header: socket.handshake.headers["x-test"] || null,
    });
  });
}

io.on("connection", (socket) => {
  common(socket);
  socket.on("record", (value) => records.push(value));
  socket.on("get-records", (ack) => ack(records));
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("broadcast", (room, ev, ...args) => socket.to(room).emit(ev, ...args));
  socket.on("to-room", (room, ev, ...args) => io.to(room).emit(ev, ...args));
  socket.on("room-size", async (room, ack) => ack((await io.in(room).fetchSockets()).length));
  socket.on("emit-back", (ev, ...args) => socket.emit(ev, ...args));
  socket.on("request-ack", (ev, ...args) => {
    const ack = args.pop();
    socket.timeout(5000).emit(ev, ...args, (err, ...reply) => {
      if (err) {
        ack({ error: err.message });
      } else {
        ack({ reply });
      }
    });
  });
  socket.on("flaky", (key, ack) => {
    const n = (receipts.get(key) || 0) + 1;
    receipts.set(key, n);
    if (n % 2 === 0) ack(key, n);
  });
  socket.on("count", (key, ack) => ack(receipts.get(key) || 0));
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("close-conn", () => socket.disconnect(true));
  socket.on("stop-heartbeat", (ack) => {
    const conn = socket.conn;
    conn.schedulePing = () => {};
    clearTimeout(conn.pingIntervalTimer);
    clearTimeout(conn.pingTimeoutTimer);
    conn.pingIntervalTimer = null;
    conn.pingTimeoutTimer = null;
    if (typeof ack === "function") ack();
  });
});

const admin = io.of("/admin");
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") {
    next();
    return;
  }
  const err = new Error("not authorized");
  err.data = { code: 401, reason: "bad token" };
  next(err);
});
admin.on("connection", common);

io.of("/chat").on("connection", common);

httpServer.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});

process.on("SIGTERM", () => process.exit(0));
