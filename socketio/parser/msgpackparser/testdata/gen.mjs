// Writes packets.json: packets encoded by socket.io-msgpack-parser (and
// hand-made byte strings), whether its Decoder accepts them, and the packet
// in the form of package parser (JSON data with placeholders, attachments)
// computed with JSON.stringify. Run from the repository root after
// `npm install` in e2e/:
//
//	node socketio/parser/msgpackparser/testdata/gen.mjs
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../../../e2e/package.json"));
const parser = require("socket.io-msgpack-parser");
const notepack = require("socket.io-msgpack-parser/node_modules/notepack.io");

const encoder = new parser.Encoder();

// refAccepts runs the reference decoder on bytes.
function refAccepts(bytes) {
  const d = new parser.Decoder();
  let ok = false;
  d.on("decoded", () => (ok = true));
  try {
    d.add(bytes);
  } catch {
    return false;
  }
  return ok;
}

// internal converts a decoded packet into the form of package parser.
function internal(p) {
  const atts = [];
  const walk = (v) => {
    if (Buffer.isBuffer(v) || v instanceof ArrayBuffer) {
      atts.push(Buffer.from(v).toString("hex"));
      return { _placeholder: true, num: atts.length - 1 };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object" && !(v instanceof Date)) {
      const o = {};
      for (const k of Object.keys(v)) o[k] = walk(v[k]);
      return o;
    }
    return v;
  };
  const out = { type: p.type, nsp: p.nsp };
  if (p.data !== undefined) out.data = JSON.stringify(walk(p.data));
  if (p.id !== undefined) out.id = p.id;
  if (atts.length > 0) {
    out.attachments = atts;
    out.type = p.type === 2 ? 5 : 6;
  }
  return out;
}

const vectors = [];

// canonical: written as our encoder writes it (keys type, data, nsp, id;
// binaries as Buffer; integral numbers), so both encodings must match.
function add(name, packet, { canonical = false, ours } = {}) {
  const bytes = encoder.encode(packet)[0];
  addBytes(name, bytes, { canonical, ours });
}

function addBytes(name, bytes, { canonical = false, ours } = {}) {
  const ref = refAccepts(bytes);
  const v = { name, hex: Buffer.from(bytes).toString("hex"), refAccepts: ref, accept: ours ?? ref };
  if (ref) {
    const d = new parser.Decoder();
    d.on("decoded", (p) => (v.packet = internal(p)));
    d.add(bytes);
  }
  if (canonical) v.canonical = true;
  vectors.push(v);
}

const buf = (...b) => Buffer.from(b);

// The packets of the reference server and client.
add("connect without auth (client)", { type: 0, data: undefined, nsp: "/" });
add("connect with auth", { type: 0, data: { token: "123" }, nsp: "/custom" }, { canonical: true });
add("connect with pid and offset", { type: 0, data: { pid: "p1", offset: "o1", token: "t" }, nsp: "/" }, { canonical: true });
add("connect reply", { type: 0, data: { sid: "Xy_12-ab" }, nsp: "/" }, { canonical: true });
add("connect bare", { type: 0, nsp: "/" }, { canonical: true });
add("disconnect", { type: 1, nsp: "/custom" }, { canonical: true });
add("event from client", { type: 2, data: ["message", 1, "2", { 3: [true] }], options: { compress: true }, nsp: "/" });
add("event", { type: 2, data: ["message", 1, "2", { 3: [true] }], nsp: "/" }, { canonical: true });
add("event with ack", { type: 2, data: ["message-with-ack", 1, "2", { 3: [false] }], nsp: "/", id: 456 }, { canonical: true });
add("event with ack from client", { type: 2, data: ["hi"], options: { compress: true }, id: 0, nsp: "/custom" });
add("event with buffers", { type: 2, data: ["message", buf(1, 2, 3), buf(4, 5, 6)], nsp: "/", id: 789 }, { canonical: true });
add("event with nested buffers", { type: 2, data: ["m", { a: [buf(), { b: buf(255) }], c: buf(7) }], nsp: "/" }, { canonical: true });
add("event with arraybuffer", { type: 2, data: ["m", new Uint8Array([9, 8, 7]).buffer], nsp: "/" });
add("event with uint8array", { type: 2, data: ["m", new Uint8Array([1, 2])], nsp: "/" });
add("event with large buffer", { type: 2, data: ["m", Buffer.alloc(300, 0xab)], nsp: "/" }, { canonical: true });
add("ack", { type: 3, data: [1, "2", { 3: [false] }], nsp: "/", id: 456 }, { canonical: true });
add("ack from reference server", { id: 7, type: 3, data: ["ok"], nsp: "/" });
add("ack with buffers", { type: 3, data: [buf(1, 2, 3), buf(4, 5, 6)], nsp: "/", id: 789 }, { canonical: true });
add("ack without id", { type: 3, data: [], nsp: "/" }, { canonical: true });
add("connect error", { type: 4, data: { message: "Invalid namespace" }, nsp: "/random" }, { canonical: true });
add("connect error with data", { type: 4, data: { message: "not authorized", data: { code: 42 } }, nsp: "/" }, { canonical: true });
add("connect error string", { type: 4, data: "boom", nsp: "/" }, { canonical: true });
add("numeric event name", { type: 2, data: [42, "x"], nsp: "/" }, { canonical: true });
add("float event name", { type: 2, data: [1.5], nsp: "/" }, { canonical: true });
add("big id", { type: 2, data: ["e"], nsp: "/", id: 2 ** 40 }, { canonical: true });

// Value kinds.
add("numbers", {
  type: 2,
  data: ["n", 0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40), 1.5, -0.25, 1e-7, 123456.789, Number.MIN_VALUE, -1e-300],
  nsp: "/",
}, { canonical: true });
// notepack.io writes integral numbers of 2^64 and more wrongly (as
// uint 64 from a truncated high half): the bytes are read as they are.
add("notepack big numbers", { type: 2, data: ["n", 1e21, 1e20, 2 ** 63, Number.MAX_VALUE, -(2 ** 63), -1e300], nsp: "/" });
add("specials", { type: 2, data: ["s", null, true, false, NaN, Infinity, -Infinity, undefined, { u: undefined, k: 1 }], nsp: "/" });
add("strings", {
  type: 2,
  data: ["str", "", "a".repeat(31), "b".repeat(32), "c".repeat(255), "d".repeat(256), "é日本🎉", "quote\" back\\ nl\n tab\t nul\u0000 \u001f <>&\u2028"],
  nsp: "/",
}, { canonical: true });
add("containers", {
  type: 2,
  data: ["c", [], {}, Array.from({ length: 16 }, (_, i) => i), Object.fromEntries(Array.from({ length: 16 }, (_, i) => ["k" + i, i])), [[[[["deep"]]]]]],
  nsp: "/",
}, { canonical: true });
add("date", { type: 2, data: ["d", new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)), new Date(-1), new Date(Date.UTC(-5, 0, 1)), new Date(Date.UTC(12345, 0, 1))], nsp: "/" });
add("unicode namespace", { type: 2, data: ["e"], nsp: "/ünï" }, { canonical: true });
add("object keys", { type: 2, data: ["k", { "": 1, "a b": 2, "ключ": 3 }], nsp: "/" }, { canonical: true });

// Raw byte strings.
const enc = (v) => notepack(v);
const hex = (h) => Buffer.from(h.replace(/ /g, ""), "hex");
// {type:2, data:[...], nsp:"/"} with the given msgpack bytes as data.
const eventWith = (dataHex) => Buffer.concat([hex("83 a4 74797065 02 a4 64617461"), hex(dataHex), hex("a3 6e7370 a1 2f")]);
addBytes("integer map key", eventWith("92 a1 6b 82 01 a1 61 c3 a1 62")); // ["k", {1:"a", true:"b"}]
addBytes("nil map key", eventWith("92 a1 6b 81 c0 01")); // ["k", {null: 1}]
addBytes("float map key", eventWith("92 a1 6b 81 cb 3ff8000000000000 01")); // ["k", {1.5: 1}]
addBytes("array map key", eventWith("92 a1 6b 81 91 01 01"), { ours: false }); // ["k", {[1]: 1}]
addBytes("duplicate map key", eventWith("92 a1 6b 82 a1 61 01 a1 61 02")); // ["k", {a:1, a:2}]
addBytes("ext type 5", eventWith("92 a1 65 d5 05 0102")); // ["e", [5, <01 02>]]
addBytes("ext 8 type -1", eventWith("92 a1 65 c7 03 ff 010203"));
addBytes("float32", eventWith("92 a1 66 ca 3dcccccd")); // 0.1f
addBytes("uint64 max", eventWith("92 a1 75 cf ffffffffffffffff"));
addBytes("int64 min", eventWith("92 a1 69 d3 8000000000000000"));
addBytes("str 8 short", eventWith("92 a1 73 d9 01 78"));
addBytes("array 16 short", eventWith("dc 0002 a1 61 01"));
addBytes("map 16 in data", eventWith("92 a1 6d de 0001 a1 61 01"));
addBytes("float type", hex("82 a4 74797065 cb 4000000000000000 a3 6e7370 a1 2f")); // type 2.0? data missing
addBytes("float type with data", hex("83 a4 74797065 cb 4000000000000000 a4 64617461 91 a1 65 a3 6e7370 a1 2f"));
addBytes("float id", Buffer.concat([hex("84 a4 74797065 02 a4 64617461 91 a1 65 a3 6e7370 a1 2f a2 6964 cb 4008000000000000")]));
addBytes("undefined id", Buffer.concat([hex("84 a4 74797065 02 a4 64617461 91 a1 65 a3 6e7370 a1 2f a2 6964 d4 00 00")]));
addBytes("keys in another order", hex("83 a3 6e7370 a1 2f a4 64617461 91 a1 65 a4 74797065 02"));
addBytes("duplicate data key", hex("84 a4 74797065 02 a4 64617461 91 c4 01 01 a4 64617461 92 a1 65 c4 01 02 a3 6e7370 a1 2f"));
addBytes("empty namespace", hex("82 a4 74797065 00 a3 6e7370 a0"));
addBytes("invalid utf8 string", eventWith("92 a1 73 a3 61ff62"));

// Invalid packets.
add("type 5", { type: 5, data: ["e"], nsp: "/" });
add("type 6", { type: 6, data: [], nsp: "/", id: 1 });
add("type -1", { type: -1, nsp: "/" });
add("type string", { type: "2", data: ["e"], nsp: "/" });
add("type 1.5", { type: 1.5, nsp: "/" });
add("no type", { data: ["e"], nsp: "/" });
add("no nsp", { type: 2, data: ["e"] });
add("nsp number", { type: 2, data: ["e"], nsp: 1 });
add("nsp buffer", { type: 2, data: ["e"], nsp: buf(0x2f) });
add("connect data array", { type: 0, data: ["x"], nsp: "/" });
add("connect data string", { type: 0, data: "x", nsp: "/" });
add("connect data null", { type: 0, data: null, nsp: "/" });
add("connect data date", { type: 0, data: new Date(0), nsp: "/" });
add("disconnect with data", { type: 1, data: {}, nsp: "/" });
add("disconnect with null", { type: 1, data: null, nsp: "/" });
add("event data object", { type: 2, data: { a: 1 }, nsp: "/" });
add("event data string", { type: 2, data: "e", nsp: "/" });
add("event without data", { type: 2, nsp: "/" });
add("ack data object", { type: 3, data: {}, nsp: "/", id: 1 });
add("connect error array", { type: 4, data: [], nsp: "/" });
add("connect error without data", { type: 4, nsp: "/" });
add("id string", { type: 2, data: ["e"], nsp: "/", id: "1" });
add("id float", { type: 2, data: ["e"], nsp: "/", id: 1.5 });
add("id null", { type: 2, data: ["e"], nsp: "/", id: null });
add("not a map", ["type", 2]);
add("a string", "hello");
add("null", null);
// Accepted by the reference decoder, refused here.
add("negative id", { type: 2, data: ["e"], nsp: "/", id: -1 }, { ours: false });
add("empty event", { type: 2, data: [], nsp: "/" }, { ours: false });
add("reserved event name", { type: 2, data: ["disconnect"], nsp: "/" }, { ours: false });
add("event name null", { type: 2, data: [null], nsp: "/" }, { ours: false });
add("event name object", { type: 2, data: [{}], nsp: "/" }, { ours: false });
add("event name NaN", { type: 2, data: [NaN], nsp: "/" }, { ours: false });
// Malformed msgpack.
addBytes("empty", hex(""));
addBytes("trailing bytes", Buffer.concat([encoder.encode({ type: 1, nsp: "/" })[0], hex("00")]));
addBytes("truncated", encoder.encode({ type: 2, data: ["message"], nsp: "/" })[0].subarray(0, 12));
addBytes("truncated bin", eventWith("92 a1 62 c4 05 0102"));
addBytes("code c1", eventWith("92 a1 62 c1"));
addBytes("huge array count", eventWith("dd ffffffff"));
addBytes("huge map count", hex("df ffffffff"));

writeFileSync(path.join(here, "packets.json"), JSON.stringify(vectors, null, 1) + "\n");
console.log(vectors.length, "vectors");
