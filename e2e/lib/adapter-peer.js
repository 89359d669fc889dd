// The command loop of the Node.js Socket.IO nodes that the Go cluster
// adapters' mixed-cluster tests drive over stdin/stdout (e2e/redis/
// node-node.js, e2e/redis/streams-node.js, e2e/postgres/postgres-node.js):
// each of them makes its reference adapter and calls runPeer.
//
// On start a node prints "listening on http://127.0.0.1:PORT". It then
// reads one JSON command per line on stdin and writes one JSON object per
// line on stdout: {"id": N, ...} answers command N ({"id": N, "error": ...}
// when it failed); {"type": "event", ...} reports an event received by one
// of its clients, {"type": "connect", client, sid, recovered} a connection
// of a recoveryClient; {"type": "serverSide", ...} an event sent with
// serverSideEmit by another node. It shuts down when stdin ends.
//
// Binary values cross the JSON lines as {"$bin": "<base64>"}.
//
// Commands (field "cmd"):
//   client     {name, nsp, auth}: connects a client of this node; the
//              server joins it to auth.rooms and sets socket.data to
//              auth.data (unless the socket was recovered); answers {sid}.
//   recoveryClient {name, url, auth}: connects a client to url (any node)
//              that reconnects on its own, quickly, and resumes its
//              session when it does; answers {sid}.
//   broadcast  {nsp, rooms, except, event, args}
//   broadcastWithAck {nsp, rooms, timeout, event, args}: answers
//              {err, responses}.
//   fetch      {nsp, rooms, except}: answers {sockets}.
//   join       {nsp, rooms (selection), join}: socketsJoin.
//   leave      {nsp, rooms (selection), leave}: socketsLeave.
//   disconnect {nsp, rooms (selection)}: disconnectSockets(true).
//   serverCount {nsp}: answers {count}.
//   serverSideEmit {event, args, ack}: answers {err, responses} with ack.
//   quit
"use strict";

const http = require("node:http");
const readline = require("node:readline");
const { Server } = require("socket.io");
const { io: connect } = require("socket.io-client");

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

// runPeer runs a node: setup makes its reference adapter and returns
// {adapter (the adapter factory of the Server's options), recoveryMs (the
// connection state recovery window, 0 or absent for none), close (an async
// function that ends the adapter's clients)}.
async function runPeer(setup) {
  const { adapter, recoveryMs = 0, close = async () => {} } = await setup();
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter,
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
    await Promise.allSettled([close()]);
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

function main(setup) {
  runPeer(setup).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { main, runPeer, encode, decode, print };
