// A Node.js Socket.IO node with the reference Redis adapter, driven over
// stdin/stdout by the mixed-cluster tests of socketio/redisadapter.
//
// Environment: REDIS_URL (default redis://127.0.0.1:6379), ADAPTER_KEY
// (channel prefix, default "socket.io"), REQUESTS_TIMEOUT (ms).
//
// The protocol on stdin/stdout is described in e2e/lib/adapter-peer.js.
"use strict";

const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const { main } = require("../lib/adapter-peer.js");

main(async () => {
  const url = process.env.REDIS_URL || "redis://127.0.0.1:6379";
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error("redis pub:", err.message));
  sub.on("error", (err) => console.error("redis sub:", err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub, {
      key: process.env.ADAPTER_KEY || "socket.io",
      requestsTimeout: Number(process.env.REQUESTS_TIMEOUT) || 5000,
    }),
    close: () => Promise.allSettled([pub.quit(), sub.quit()]),
  };
});
