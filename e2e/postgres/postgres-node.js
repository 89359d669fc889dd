// A Node.js Socket.IO node with the reference PostgreSQL adapter
// (@socket.io/postgres-adapter 0.5.x), driven over stdin/stdout by the
// mixed-cluster test of socketio/pgadapter (TestNodeInterop).
//
// Environment: PG_URL (default postgres://postgres@127.0.0.1:5432/test),
// NAME (the attachments table, which must exist, and the channel prefix;
// default socket_io_attachments and "socket.io"), HEARTBEAT_MS (heartbeat
// interval, default 500).
//
// The protocol on stdin/stdout is described in e2e/lib/adapter-peer.js
// (the adapter does not support connection state recovery).
"use strict";

const { createAdapter } = require("@socket.io/postgres-adapter");
const { Pool } = require("pg");
const { main } = require("../lib/adapter-peer.js");

main(async () => {
  const url = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432/test";
  const name = process.env.NAME;
  const heartbeatMs = Number(process.env.HEARTBEAT_MS) || 500;
  const pool = new Pool({ connectionString: url });
  pool.on("error", (err) => console.error("pg:", err.message));
  return {
    adapter: createAdapter(pool, {
      ...(name ? { tableName: name, channelPrefix: name } : {}),
      heartbeatInterval: heartbeatMs,
      heartbeatTimeout: 6 * heartbeatMs,
    }),
    close: () => pool.end(),
  };
});
