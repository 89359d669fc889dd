// The Node reference server for chatbench: socket.io with the same events
// and /stats endpoint as cmd/benchserver, so that both are measured the
// same way.
//
//   - "join" (room, ack): joins the room, acks the number of rooms;
//   - "to-room" (room, ...args): emits "room-msg" with args to the room,
//     the sender excluded.
//
// GET /stats answers {"runtime":"node","heapBytes":N,"rss":N,"sockets":N}
// (heapUsed of process.memoryUsage(), after a garbage collection when the
// query has gc=1 and node runs with --expose-gc).
//
// Usage (socket.io resolved from e2e/node_modules):
//
//   NODE_PATH=e2e/node_modules node --expose-gc cmd/chatbench/nodeserver.js [port]
//
// It listens on 127.0.0.1 (port 0 by default: any free port), prints
// "listening on http://HOST:PORT" and stops on SIGINT or SIGTERM.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (req.method === "GET" && url.pathname === "/stats") {
    if (url.searchParams.get("gc") === "1" && typeof global.gc === "function") {
      global.gc();
    }
    const mem = process.memoryUsage();
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({
      runtime: "node",
      heapBytes: mem.heapUsed,
      rss: mem.rss,
      sockets: io.of("/").sockets.size,
    }));
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, { serveClient: false });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(socket.rooms.size);
  });
  socket.on("to-room", (room, ...args) => {
    socket.to(room).emit("room-msg", ...args);
  });
});

const port = Number(process.argv[2] || 0);
httpServer.listen(port, "127.0.0.1", () => {
  const { address, port } = httpServer.address();
  console.log(`listening on http://${address}:${port}`);
});

const stop = () => {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
