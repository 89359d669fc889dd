// Writes, as JSON on stdout, messages encoded the way the reference Redis
// adapter encodes them (MessagePack through notepack.io), for the wire
// tests of socketio/redisadapter (testdata/node-wire.json):
//
//   node wire-fixtures.js > ../../socketio/redisadapter/testdata/node-wire.json
"use strict";

const msgpack = require("notepack.io");

const hex = (v) => msgpack.encode(v).toString("hex");

const packet = {
  type: 2,
  data: [
    "ev",
    1,
    -3,
    1.5,
    2 ** 40,
    "é<>",
    null,
    true,
    { a: Buffer.from([1, 2]), skip: undefined, nested: [Buffer.alloc(0)] },
    new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
    new Uint8Array([9, 8]),
  ],
  nsp: "/chat",
};

const out = {
  broadcast: hex(["node1", packet, { rooms: ["r1"], except: ["x"], flags: { volatile: true, timeout: 1500 } }]),
  broadcastNoNsp: hex(["node1", { type: 2, data: ["plain"] }, { rooms: [], except: [], flags: {} }]),
  ackBroadcastRequest: hex({
    uid: "node1",
    requestId: "req1",
    type: 7,
    packet: { type: 2, data: ["question", Buffer.from("q")], nsp: "/" },
    opts: { rooms: ["r"], except: [], flags: { timeout: 2000 } },
  }),
  ackResponse: hex({ type: 9, requestId: "req1", packet: { ok: true, bin: Buffer.from([7]) } }),
};
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
