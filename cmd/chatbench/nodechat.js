// The Node chat server for chatbench -proto chat: socket.io 4.8.4 and
// better-sqlite3 speaking the subset of docs/protocol.md that the load
// tool uses, so that cmd/chatd and Node are measured the same way.
//
//   - POST /signup and POST /login (urlencoded username, password): 303 to
//     / with the session cookie chatd_session; passwords hashed with
//     crypto.scrypt; sessions in SQLite (so they survive a restart) and
//     cached in memory;
//   - namespace /user, whose middleware requires a valid session cookie
//     ("unauthorized" otherwise); nsRoomLoad on connect; rooms chat,
//     random and help;
//   - joinRoom (roomTitle, ack): leaves the current room, joins the new
//     one, acks { members } (distinct users, from a presence map kept
//     incrementally), then historyUpdate (the last 50 messages from
//     SQLite, oldest first);
//   - newMsg2Server ({ text }, ack): trims and checks the text, stores it
//     (one transaction), sends comPeRoom to the room, then acks { id }; no
//     rate limit (as chatd with -msg-rate 0);
//   - updateMembers { room, members } when a room's count of distinct
//     users changed, coalesced per room: at most one per second, carrying
//     the count at the time of sending; with it presence { room, joined,
//     left[, truncated] }: the users who joined and left since the last
//     one (neither when they came and went within it), sorted, at most 100
//     in each list;
//   - unread { counts } on connect, right after nsRoomLoad: per room, the
//     messages after the user's read marker (a read_markers table, 0 for
//     a new account) written by others, at most 1000.
//
// SQLite runs as chatd's store does: WAL journal, synchronous=FULL, so
// every message's commit waits for its fsync, here on the event loop
// (better-sqlite3 is synchronous); NODECHAT_SYNCHRONOUS=NORMAL in the
// environment commits without waiting for the disk instead.
// GET /stats answers {"runtime":"node","heapBytes":N,"rss":N,"sockets":N}
// like nodeserver.js.
//
// Usage (socket.io and better-sqlite3 resolved from e2e/node_modules):
//
//   NODE_PATH=e2e/node_modules node --expose-gc cmd/chatbench/nodechat.js [port [dbfile]]
//
// It listens on 127.0.0.1 (port 0 by default: any free port) with the
// database dbfile (nodechat.db by default), prints
// "listening on http://HOST:PORT" and stops on SIGINT or SIGTERM.
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const { Server } = require("socket.io");
const Database = require("better-sqlite3");

const COOKIE = "chatd_session";
const NSP = "/user";
const ROOMS = ["chat", "random", "help"];
const HISTORY = 50;
const UNREAD_CAP = 1000;
const PRESENCE_LIST = 100;

const db = new Database(process.argv[3] || "nodechat.db");
db.pragma("journal_mode = WAL");
const synchronous = (process.env.NODECHAT_SYNCHRONOUS || "FULL").toUpperCase();
if (!["FULL", "NORMAL"].includes(synchronous)) throw new Error(`NODECHAT_SYNCHRONOUS must be FULL or NORMAL, not ${synchronous}`);
db.pragma(`synchronous = ${synchronous}`);
db.pragma("busy_timeout = 5000");
db.exec(`
  CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    salt BLOB NOT NULL, hash BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
  CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, room TEXT NOT NULL,
    user_id INTEGER NOT NULL, username TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS messages_room ON messages (namespace, room, id);
  CREATE TABLE IF NOT EXISTS read_markers (
    user_id INTEGER NOT NULL, namespace TEXT NOT NULL, room TEXT NOT NULL, last_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, namespace, room));
`);
const q = {
  insertUser: db.prepare("INSERT INTO users (name, salt, hash) VALUES (?, ?, ?)"),
  userByName: db.prepare("SELECT id, name, salt, hash FROM users WHERE name = ?"),
  insertSession: db.prepare("INSERT INTO sessions (token, user_id) VALUES (?, ?)"),
  session: db.prepare("SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token = ?"),
  insertMessage: db.prepare("INSERT INTO messages (namespace, room, user_id, username, text, time) VALUES (?, ?, ?, ?, ?, ?)"),
  history: db.prepare("SELECT id, namespace, room, username, text, time FROM messages WHERE namespace = ? AND room = ? ORDER BY id DESC LIMIT ?"),
  markers: db.prepare("SELECT room, last_id FROM read_markers WHERE user_id = ? AND namespace = ?"),
  unread: db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages
    WHERE namespace = ? AND room = ? AND id > ? AND user_id != ? LIMIT ${UNREAD_CAP})`),
};

// sessions caches token -> { id, name }.
const sessions = new Map();

function userOfToken(token) {
  if (!token) return null;
  let u = sessions.get(token);
  if (u === undefined) {
    u = q.session.get(token) || null;
    if (u) sessions.set(token, u);
  }
  return u;
}

function cookieToken(header) {
  for (const part of (header || "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim();
  }
  return null;
}

const scrypt = (password, salt) =>
  new Promise((resolve, reject) =>
    crypto.scrypt(password, salt, 32, (err, key) => (err ? reject(err) : resolve(key))));

function newSession(res, user) {
  const token = crypto.randomBytes(32).toString("base64url");
  q.insertSession.run(token, user.id);
  sessions.set(token, { id: user.id, name: user.name });
  res.writeHead(303, {
    Location: "/",
    "Set-Cookie": `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax`,
  });
  res.end();
}

function fail(res, status, message) {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(message + "\n");
}

async function account(req, res, signup) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) return fail(res, 413, "form too large");
  }
  const form = new URLSearchParams(body);
  const name = form.get("username") || "";
  const password = form.get("password") || "";
  if (signup) {
    if (!/^[A-Za-z0-9_-]{3,32}$/.test(name)) return fail(res, 400, "invalid username");
    if ([...password].length < 8) return fail(res, 400, "password too short");
    const salt = crypto.randomBytes(16);
    const hash = await scrypt(password, salt);
    let id;
    try {
      id = q.insertUser.run(name, salt, hash).lastInsertRowid;
    } catch (err) {
      if (err.code === "SQLITE_CONSTRAINT_UNIQUE") return fail(res, 409, "username taken");
      throw err;
    }
    return newSession(res, { id: Number(id), name });
  }
  const u = q.userByName.get(name);
  // Hash even for an unknown user, as a real server would.
  const hash = await scrypt(password, u ? u.salt : Buffer.alloc(16));
  if (!u || !crypto.timingSafeEqual(hash, u.hash)) return fail(res, 401, "wrong username or password");
  newSession(res, u);
}

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (req.method === "POST" && (url.pathname === "/signup" || url.pathname === "/login")) {
    account(req, res, url.pathname === "/signup").catch((err) => {
      console.error(err);
      if (!res.headersSent) fail(res, 500, "internal error");
    });
    return;
  }
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
      sockets: io.of(NSP).sockets.size,
    }));
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, { serveClient: false });
const nsp = io.of(NSP);

// presence: room -> Map(userId -> sockets of that user in the room).
const presence = new Map(ROOMS.map((r) => [r, new Map()]));
// coalescing of updateMembers and presence per room; diff: name -> true
// (joined) or false (left) since the last send.
const notify = new Map(ROOMS.map((r) => [r, { last: 0, timer: null, diff: new Map() }]));

function count(room) {
  return presence.get(room).size;
}

function byteOrder(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// moved records that a user joined or left a room; the room hears the new
// count and presence within a second.
function moved(room, name, joined) {
  const st = notify.get(room);
  if (st.diff.has(name) && st.diff.get(name) !== joined) st.diff.delete(name);
  else st.diff.set(name, joined);
  if (st.timer) return;
  const wait = Math.max(0, st.last + 1000 - Date.now());
  st.timer = setTimeout(() => {
    st.timer = null;
    st.last = Date.now();
    nsp.to(room).emit("updateMembers", { room, members: count(room) });
    const joinedList = [];
    const leftList = [];
    for (const [n, j] of st.diff) (j ? joinedList : leftList).push(n);
    st.diff.clear();
    if (joinedList.length === 0 && leftList.length === 0) return;
    joinedList.sort(byteOrder);
    leftList.sort(byteOrder);
    const p = { room, joined: joinedList.slice(0, PRESENCE_LIST), left: leftList.slice(0, PRESENCE_LIST) };
    if (joinedList.length > PRESENCE_LIST || leftList.length > PRESENCE_LIST) p.truncated = true;
    nsp.to(room).emit("presence", p);
  }, wait);
}

function enter(room, user) {
  const m = presence.get(room);
  const n = m.get(user.id) || 0;
  m.set(user.id, n + 1);
  if (n === 0) moved(room, user.name, true);
}

function leave(room, user) {
  const m = presence.get(room);
  const n = (m.get(user.id) || 0) - 1;
  if (n > 0) {
    m.set(user.id, n);
    return;
  }
  m.delete(user.id);
  moved(room, user.name, false);
}

function unreadCounts(user) {
  const markers = new Map(q.markers.all(user.id, NSP).map((r) => [r.room, r.last_id]));
  const counts = {};
  for (const room of ROOMS) counts[room] = q.unread.get(NSP, room, markers.get(room) || 0, user.id).n;
  return counts;
}

const roomList = ROOMS.map((title, i) => ({ roomId: i + 1, roomTitle: title, namespace: NSP, privateRoom: false }));

nsp.use((socket, next) => {
  const u = userOfToken(cookieToken(socket.handshake.headers.cookie));
  if (!u) return next(new Error("unauthorized"));
  socket.data.user = u;
  next();
});

nsp.on("connection", (socket) => {
  const user = socket.data.user;
  let current = null;
  socket.emit("nsRoomLoad", roomList);
  socket.emit("unread", { counts: unreadCounts(user) });

  socket.on("joinRoom", (title, ack) => {
    if (typeof ack !== "function") ack = () => {};
    if (typeof title !== "string" || !presence.has(title)) {
      ack({ error: "unknown room" });
      return;
    }
    const history = q.history.all(NSP, title, HISTORY).reverse();
    if (current !== title) {
      if (current !== null) {
        socket.leave(current);
        leave(current, user);
      }
      socket.join(title);
      enter(title, user);
      current = title;
    }
    ack({ members: count(title) });
    socket.emit("historyUpdate", history);
  });

  socket.on("newMsg2Server", (body, ack) => {
    if (typeof ack !== "function") ack = () => {};
    if (!body || typeof body.text !== "string") {
      ack({ error: "newMsg2Server needs an object with a text string" });
      return;
    }
    const text = body.text.trim();
    const len = [...text].length;
    if (len < 1 || len > 2000 || text.includes("\u0000")) {
      ack({ error: "text must have 1 to 2000 characters and no NUL" });
      return;
    }
    if (current === null) {
      ack({ error: "join a room before sending messages" });
      return;
    }
    const time = Date.now();
    const id = Number(q.insertMessage.run(NSP, current, user.id, user.name, text, time).lastInsertRowid);
    nsp.to(current).emit("comPeRoom", { id, namespace: NSP, room: current, username: user.name, text, time });
    ack({ id });
  });

  socket.on("disconnect", () => {
    if (current !== null) leave(current, user);
  });
});

const port = Number(process.argv[2] || 0);
httpServer.listen(port, "127.0.0.1", () => {
  const { address, port } = httpServer.address();
  console.log(`listening on http://${address}:${port}`);
});

const stop = () => {
  io.close();
  httpServer.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
