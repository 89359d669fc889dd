// A Node.js Socket.IO node with the reference PostgreSQL adapter
// (@socket.io/postgres-adapter 0.5.x), driven over stdin/stdout by the
// mixed-cluster test of socketio/pgadapter (TestNodeInterop).
//
// Environment: PG_URL (default postgres://postgres@127.0.0.1:5432/test),
// NAME (the attachments table, which must exist, and the channel prefix;
// default socket_io_attachments and "socket.io"), HEARTBEAT_MS (heartbeat
// interval, default 500).
//
// The protocol on stdin/stdout is that of e2e/redis/streams-node.js,
// without recoveryClient (the adapter does not support connection state
// recovery).
"use strict";

const http = require("node:http");
const readline = require("node:readline");
const { Server } = require("socket.io");
const { io: connect } = require("socket.io-client");
const { createAdapter } = require("@socket.io/postgres-adapter");
const { Pool } = require("pg");

function encode(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = encode(x);
    return out;
  }
  return v;
}

function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "base64");
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = decode(x);
    return out;
  }
  return v;
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function main() {
  const url = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test";
  const name = process.env.NAME;
  const heartbeatMs = Number(process.env.HEARTBEAT_MS) || 500;
  const recoveryMs = 0;
  const pool = new Pool({ connectionString: url });
  pool.on("error", (err) => console.error("pg:", err.message));

  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(pool, {
      ...(name ? { tableName: name, channelPrefix: name } : {}),
      heartbeatInterval: heartbeatMs,
      heartbeatTimeout: 6 * heartbeatMs,
    }),
    connectionStateRecovery: recoveryMs ? { maxDisconnectionDuration: recoveryMs } : undefined,
  });

  const onConnection = (socket) => {
    const auth = socket.handshake.auth || {};
    if (socket.recovered) return;
    if (Array.isArray(auth.rooms)) socket.join(auth.rooms);
    if (auth.data !== undefined) socket.data = auth.data;
  };
  io.on("connection", onConnection);
  io.of("/chat").on("connection", onConnection);

  // Events sent by other nodes with serverSideEmit.
  for (const nsp of [io.of("/"), io.of("/chat")]) {
    nsp.on("hello", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      print({ type: "serverSide", nsp: nsp.name, event: "hello", args: encode(args) });
      if (ack) ack("node-ack");
    });
  }

  const clients = new Map();
  let port = 0;

  async function run(cmd) {
    const nsp = io.of(cmd.nsp || "/");
    const sel = (op) => {
      let o = op;
      if (cmd.rooms && cmd.rooms.length) o = o.in(cmd.rooms);
      if (cmd.except && cmd.except.length) o = o.except(cmd.except);
      return o;
    };
    switch (cmd.cmd) {
      case "client": {
        const socket = connect(`http://127.0.0.1:${port}${cmd.nsp && cmd.nsp !== "/" ? cmd.nsp : ""}`, {
          transports: ["websocket"],
          auth: cmd.auth || {},
          reconnection: false,
        });
        clients.set(cmd.name, socket);
        socket.onAny((event, ...args) => {
          const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
          print({ type: "event", client: cmd.name, event, args: encode(args) });
          if (ack) ack("ack-from-" + cmd.name);
        });
        socket.on("disconnect", (reason) => print({ type: "disconnect", client: cmd.name, reason }));
        await new Promise((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("connect_error", reject);
        });
        return { sid: socket.id };
      }
      case "recoveryClient": {
        const socket = connect(cmd.url, {
          transports: ["websocket"],
          auth: cmd.auth || {},
          reconnectionDelay: 100,
          reconnectionDelayMax: 300,
          randomizationFactor: 0,
        });
        clients.set(cmd.name, socket);
        socket.onAny((event, ...args) => {
          print({ type: "event", client: cmd.name, event, args: encode(args) });
        });
        socket.on("connect", () => print({ type: "connect", client: cmd.name, sid: socket.id, recovered: socket.recovered }));
        socket.on("disconnect", (reason) => print({ type: "disconnect", client: cmd.name, reason }));
        await new Promise((resolve) => socket.once("connect", resolve));
        return { sid: socket.id };
      }
      case "broadcast":
        sel(nsp).emit(cmd.event, ...decode(cmd.args || []));
        return {};
      case "broadcastWithAck":
        return await new Promise((resolve) => {
          sel(nsp.timeout(cmd.timeout || 2000)).emit(cmd.event, ...decode(cmd.args || []), (err, responses) => {
            resolve({ err: err ? err.message : null, responses: encode(responses) });
          });
        });
      case "fetch": {
        const sockets = await sel(nsp).fetchSockets();
        return {
          sockets: sockets.map((s) => ({
            id: s.id,
            rooms: [...s.rooms],
            data: encode(s.data),
            handshake: { auth: s.handshake.auth, query: s.handshake.query, headers: s.handshake.headers, address: s.handshake.address },
          })),
        };
      }
      case "join":
        sel(nsp).socketsJoin(cmd.join);
        return {};
      case "leave":
        sel(nsp).socketsLeave(cmd.leave);
        return {};
      case "disconnect":
        sel(nsp).disconnectSockets(true);
        return {};
      case "serverCount":
        return { count: await nsp.adapter.serverCount() };
      case "serverSideEmit":
        if (!cmd.ack) {
          nsp.serverSideEmit(cmd.event, ...decode(cmd.args || []));
          return {};
        }
        try {
          const responses = await nsp.serverSideEmitWithAck(cmd.event, ...decode(cmd.args || []));
          return { err: null, responses };
        } catch (err) {
          return { err: err.message };
        }
      case "quit":
        setImmediate(shutdown);
        return {};
      default:
        throw new Error("unknown command " + cmd.cmd);
    }
  }

  async function shutdown() {
    for (const c of clients.values()) c.disconnect();
    io.close();
    await Promise.allSettled([pool.end()]);
    process.exit(0);
  }

  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  port = httpServer.address().port;
  console.log(`listening on http://127.0.0.1:${port}`);

  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    if (!line.trim()) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (err) {
      print({ type: "error", error: "bad command: " + err.message });
      return;
    }
    try {
      print({ id: cmd.id, ...(await run(cmd)) });
    } catch (err) {
      print({ id: cmd.id, error: String(err && err.message ? err.message : err) });
    }
  });
  rl.on("close", shutdown);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
