// Helpers for the end-to-end tests of chatd (docs/protocol.md): a chatd
// with a database of its own, accounts made with `chatd admin` or the HTTP
// forms, Socket.IO connections with the session cookie, ordered event logs
// and bounded waits.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { io } = require('socket.io-client');
const { startServer, ROOT } = require('./server.js');

/** Name of the session cookie set by POST /signup and POST /login. */
const SESSION_COOKIE = 'chatd_session';

/** The exact keys of the objects of docs/protocol.md, sorted. */
const KEYS = {
  namespace: ['endpoint', 'id', 'img', 'nsTitle'],
  room: ['namespace', 'privateRoom', 'roomId', 'roomTitle'],
  message: ['edited', 'id', 'namespace', 'room', 'text', 'time', 'username'],
};

/** The predefined namespaces and rooms of docs/protocol.md. */
const ROOMS = {
  '/user': ['chat', 'random', 'help'],
  '/creator': ['resources', 'drafts'],
  '/admin': ['general', 'ops'],
};

/**
 * A fresh temporary directory with the path of a chatd database in it.
 * cleanup() removes the directory.
 */
function tempDB() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-e2e-'));
  return {
    dir,
    db: path.join(dir, 'chatd.db'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `bin/chatd ...args` to completion; resolves with its stdout. */
function chatdCommand(args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(path.join(ROOT, 'bin', 'chatd'), args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 30_000,
    }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\nstdout: ${stdout}\nstderr: ${stderr}`;
        reject(err);
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Creates an admin account in db with `chatd admin create`. */
function createAdmin(db, name, password) {
  return chatdCommand(['admin', 'create', '-db', db, name], { CHATD_ADMIN_PASSWORD: password });
}

/** Sets a user's role in db with `chatd admin set-role`. */
function setRole(db, name, role) {
  return chatdCommand(['admin', 'set-role', '-db', db, name, role]);
}

/**
 * Starts bin/chatd on db (a free loopback port unless args hold -addr).
 * Resolves with startServer's {url, proc, output, stop}.
 */
function startChatd(db, args = [], env = {}) {
  return startServer('chatd', ['-db', db, ...args], env);
}

/** The port of a server URL such as http://127.0.0.1:1234. */
function portOf(url) {
  return new URL(url).port;
}

// postForm posts an account form the way a same-origin browser form does
// and returns the response (redirects are not followed).
function postForm(url, pathName, fields) {
  return fetch(url + pathName, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
    headers: { Origin: new URL(url).origin },
  });
}

// sessionCookie returns "chatd_session=..." from a 303 answer.
async function sessionCookie(res, what) {
  if (res.status !== 303) {
    throw new Error(`${what}: status ${res.status}, want 303: ${(await res.text()).slice(0, 300)}`);
  }
  for (const c of res.headers.getSetCookie()) {
    const pair = c.split(';')[0];
    if (pair.startsWith(SESSION_COOKIE + '=')) return pair;
  }
  throw new Error(`${what}: no ${SESSION_COOKIE} cookie in ${JSON.stringify(res.headers.getSetCookie())}`);
}

/** Signs up over HTTP; resolves with the Cookie header value. */
async function signup(url, username, password) {
  const res = await postForm(url, '/signup', { username, password });
  return sessionCookie(res, `signup ${username}`);
}

/** Logs in over HTTP; resolves with the Cookie header value. */
async function login(url, username, password) {
  const res = await postForm(url, '/login', { username, password });
  return sessionCookie(res, `login ${username}`);
}

/**
 * A set of Socket.IO client connections that can be closed together.
 * connect() opens a new Manager (forceNew) for every socket, so each is a
 * connection of its own, as two browser tabs are.
 */
class Clients {
  constructor() { this.sockets = []; }

  /**
   * Connects to url + nsp with the given Cookie header (none when falsy).
   * The socket records every event it gets in socket.log (see record).
   */
  connect(url, nsp, cookie, opts = {}) {
    const extraHeaders = { ...(opts.extraHeaders || {}) };
    if (cookie) extraHeaders.Cookie = cookie;
    const s = io(url + nsp, {
      forceNew: true,
      reconnection: false,
      transports: ['websocket'],
      ...opts,
      extraHeaders,
    });
    record(s);
    this.sockets.push(s);
    return s;
  }

  /** Disconnects every socket. */
  closeAll() {
    while (this.sockets.length) this.sockets.pop().disconnect();
  }
}

/**
 * Records every event of socket s, in arrival order, in s.log as
 * {event, args, at} (at: Date.now()). Acks sent with ackLogged appear in the
 * same log as event "ack:<event>", so the order of acks and events can be
 * checked.
 */
function record(s) {
  s.log = [];
  s.onAny((event, ...args) => s.log.push({ event, args, at: Date.now() }));
  return s;
}

/** The events named event in s.log (their first arguments). */
function events(s, event) {
  return s.log.filter((e) => e.event === event).map((e) => e.args[0]);
}

/**
 * Polls fn until it returns a truthy value (resolved with it) or ms pass
 * (rejected, with what() in the message if given).
 */
async function waitFor(fn, ms = 5000, what = '') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what || fn.toString()}`);
    }
    await sleep(20);
  }
}

/** Resolves after ms. Used only to observe that nothing happens. */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the arguments of the next `event` on emitter within ms. */
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out waiting for ${event}`));
    }, ms);
    const on = (...args) => { clearTimeout(timer); resolve(args); };
    emitter.once(event, on);
  });
}

/** Resolves once s is connected; rejects with its connect_error. */
function connected(s, ms = 5000) {
  if (s.connected) return Promise.resolve(s);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error('timed out connecting')); }, ms);
    const ok = () => { off(); resolve(s); };
    const bad = (err) => { off(); reject(err); };
    const off = () => { clearTimeout(timer); s.off('connect', ok); s.off('connect_error', bad); };
    s.on('connect', ok);
    s.on('connect_error', bad);
  });
}

/** Resolves with the connect_error of s (rejects if it connects). */
function connectError(s, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error('timed out waiting for connect_error')); }, ms);
    const ok = () => { off(); reject(new Error(`connected to ${s.nsp}, want connect_error`)); };
    const bad = (err) => { off(); resolve(err); };
    const off = () => { clearTimeout(timer); s.off('connect', ok); s.off('connect_error', bad); };
    s.on('connect', ok);
    s.on('connect_error', bad);
  });
}

/**
 * Emits event with args and resolves with the server's ack (its first
 * argument). The ack is also pushed to s.log as "ack:<event>" at the moment
 * it arrives, before any later packet is handled.
 */
function ackLogged(s, event, ...args) {
  return new Promise((resolve, reject) => {
    s.timeout(5000).emit(event, ...args, (err, reply) => {
      if (err) { reject(new Error(`no ack for ${event}: ${err.message}`)); return; }
      if (s.log) s.log.push({ event: 'ack:' + event, args: [reply], at: Date.now() });
      resolve(reply);
    });
  });
}

/**
 * Joins a room and waits for the historyUpdate that follows the ack.
 * Resolves with {ack, history}; rejects on an error ack.
 */
async function join(s, title) {
  const before = s.log.length;
  const ack = await ackLogged(s, 'joinRoom', title);
  if (!ack || ack.error !== undefined) throw new Error(`joinRoom ${title}: ${JSON.stringify(ack)}`);
  const ackAt = s.log.findIndex((e, i) => i >= before && e.event === 'ack:joinRoom');
  const entry = await waitFor(
    () => s.log.find((e, i) => i > ackAt && e.event === 'historyUpdate'),
    5000, `historyUpdate after joining ${title}`);
  return { ack, history: entry.args[0] };
}

/** Sends a message; resolves with its ack ({id} or {error}). */
function send(s, text) {
  return ackLogged(s, 'newMsg2Server', { text });
}

/** The sorted keys of an object. */
function keys(o) {
  return Object.keys(o).sort();
}

module.exports = {
  SESSION_COOKIE,
  KEYS,
  ROOMS,
  tempDB,
  chatdCommand,
  createAdmin,
  setRole,
  startChatd,
  portOf,
  signup,
  login,
  Clients,
  record,
  events,
  waitFor,
  sleep,
  once,
  connected,
  connectError,
  ackLogged,
  join,
  send,
  keys,
};
