// A Node.js Socket.IO node with the reference Redis Streams adapter
// (@socket.io/redis-streams-adapter 0.3.x), driven over stdin/stdout by
// the mixed-cluster test of socketio/redisstreams (TestNodeInterop).
//
// Environment: REDIS_URL (default redis://127.0.0.1:6379), STREAM_NAME
// (stream, channel prefix and session key prefix, default "socket.io"),
// RECOVERY_MS (connection state recovery window; 0 for none).
//
// The protocol on stdin/stdout is described in e2e/lib/adapter-peer.js;
// the recoveryClient command is meant for this node.
"use strict";

const { createAdapter } = require("@socket.io/redis-streams-adapter");
const { createClient } = require("redis");
const { main } = require("../lib/adapter-peer.js");

main(async () => {
  const url = process.env.REDIS_URL || "redis://127.0.0.1:6379";
  const name = process.env.STREAM_NAME || "socket.io";
  const redis = createClient({ url });
  redis.on("error", (err) => console.error("redis:", err.message));
  await redis.connect();
  return {
    adapter: createAdapter(redis, {
      streamName: name,
      channelPrefix: name,
      sessionKeyPrefix: name + ":session:",
      blockTimeInMs: 200,
    }),
    recoveryMs: Number(process.env.RECOVERY_MS) || 0,
    close: () => redis.quit(),
  };
});
