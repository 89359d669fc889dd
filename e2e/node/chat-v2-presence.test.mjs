// End-to-end tests of the presence, typing and unread parts of the chat
// protocol (docs/protocol.md: "Presence: who is here", "Typing", "Unread
// counts and read markers") with the official socket.io-client: on one
// chatd, then on two nodes sharing Redis and PostgreSQL (skipped without
// them, unless CI is set).
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const cluster = require('../lib/cluster.js');
const { keys, join, send, events, waitFor, sleep, ackLogged, assertError } = chat;

const clients = new chat.Clients();
afterEach(() => clients.closeAll());

const OK = { ok: true };

// The index in s.log of the first entry after index from that matches.
function indexOf(s, pred, from = 0) {
  return s.log.findIndex((e, i) => i >= from && pred(e));
}

// unreadAfterLoad waits for s's unread and checks it came right after
// nsRoomLoad; resolves with its counts.
async function unreadAfterLoad(s) {
  const at = await waitFor(() => {
    const i = indexOf(s, (e) => e.event === 'unread');
    return i >= 0 && i + 1;
  }, 5000, 'unread');
  assert.equal(s.log[at - 2] && s.log[at - 2].event, 'nsRoomLoad', 'unread right after nsRoomLoad');
  const { counts, lastIds } = s.log[at - 1].args[0];
  // lastIds, when the counts came from the cached histories: for every
  // counted room, the newest message id the count holds.
  if (lastIds === undefined) {
    assert.deepEqual(keys(s.log[at - 1].args[0]), ['counts']);
  } else {
    assert.deepEqual(keys(s.log[at - 1].args[0]), ['counts', 'lastIds']);
    assert.deepEqual(keys(lastIds), keys(counts));
    for (const id of Object.values(lastIds)) assert.ok(Number.isInteger(id) && id >= 0, `lastIds ${JSON.stringify(lastIds)}`);
  }
  return counts;
}

// settledUnread connects new sockets with connect() until their unread
// counts satisfy ok (a join's marker is stored in the background, at
// once); resolves with the counts.
async function settledUnread(connect, ok, what) {
  return waitFor(async () => {
    const s = connect();
    const counts = await unreadAfterLoad(s);
    s.disconnect();
    return ok(counts) && counts;
  }, 5000, what);
}

// typingOf lists the userTyping events s got, as [username, typing].
function typingOf(s, room = 'chat') {
  return events(s, 'userTyping').filter((e) => e.room === room).map((e) => [e.username, e.typing]);
}

// presenceOf lists the presence events s got for room.
function presenceOf(s, room) {
  return events(s, 'presence').filter((p) => p.room === room);
}

// noEmptyPresence checks every presence event s got names someone.
function noEmptyPresence(s) {
  for (const p of events(s, 'presence')) {
    assert.deepEqual(keys(p), ['joined', 'left', 'room']);
    assert.ok(p.joined.length + p.left.length > 0, `an empty presence: ${JSON.stringify(p)}`);
  }
}

// A marker: s sends a message in its room and the others wait for its
// comPeRoom, so that what they had to get before it has arrived.
async function barrier(s, others) {
  const { id } = await send(s, `barrier ${Date.now()}`);
  assert.equal(typeof id, 'number');
  for (const o of others) {
    await waitFor(() => events(o, 'comPeRoom').some((m) => m.id === id), 5000, `barrier ${id}`);
  }
  return id;
}

describe('one node', () => {
  let server;
  let tmp;
  const cookie = {};
  const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'Zed', 'cap'];
  before(async () => {
    tmp = chat.tempDB();
    server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
    for (const name of NAMES) cookie[name] = await chat.signup(server.url, name, `${name}-password`);
    await chat.setRole(tmp.db, 'bob', 'creator');
    await chat.setRole(tmp.db, 'Zed', 'admin');
  });
  after(async () => {
    clients.closeAll();
    if (server) await server.stop();
    if (tmp) tmp.cleanup();
  });
  const connect = (name) => clients.connect(server.url, '/user', cookie[name]);

  test('roomUsers: distinct users of the room, by name in byte order, with roles', async () => {
    const a = connect('alice');
    assertError(await ackLogged(a, 'roomUsers', {}), 'roomUsers without a room');
    const a2 = connect('alice');
    const b = connect('bob');
    const z = connect('Zed');
    const c = connect('carol');
    for (const s of [a, a2, b, z]) await join(s, 'help');
    await join(c, 'random');
    const want = {
      users: [
        { username: 'Zed', role: 'admin' },
        { username: 'alice', role: 'user' },
        { username: 'bob', role: 'creator' },
      ],
      total: 3,
    };
    assert.deepEqual(await ackLogged(a, 'roomUsers', {}), want);
    assert.deepEqual(await ackLogged(z, 'roomUsers', {}), want);
    assert.deepEqual(await ackLogged(c, 'roomUsers', {}), { users: [{ username: 'carol', role: 'user' }], total: 1 });
    for (const bad of [['x'], [5], [[1]], [true]]) {
      assertError(await ackLogged(a, 'roomUsers', ...bad), `roomUsers(${JSON.stringify(bad)})`);
    }
    assertError(await ackLogged(a, 'roomUsers'), 'roomUsers without an argument');
    assert.deepEqual(await ackLogged(a, 'roomUsers', {}), want, 'still usable');
    a2.disconnect();
    assert.deepEqual(await ackLogged(a, 'roomUsers', {}), want, 'alice is still there');
  });

  test('presence: who joined and left, with updateMembers, never empty', async () => {
    const a = connect('alice');
    await join(a, 'chat');
    await waitFor(() => presenceOf(a, 'chat').some((p) => p.joined.includes('alice')), 3000, 'her own join');
    const b = connect('bob');
    await join(b, 'chat');
    await waitFor(() => presenceOf(a, 'chat').some((p) => p.joined.includes('bob')), 3000, 'bob joined');
    // carol joins and leaves within the interval that bob's presence
    // opened; dave joins: the next presence names dave, and not carol.
    const from = a.log.length;
    const c = connect('carol');
    await join(c, 'chat');
    await join(c, 'random');
    const d = connect('dave');
    await join(d, 'chat');
    const p = await waitFor(() => {
      const got = a.log.slice(from).filter((e) => e.event === 'presence' && e.args[0].room === 'chat');
      return got.length > 0 && got.map((e) => e.args[0]);
    }, 3000, 'presence with dave');
    assert.deepEqual(p, [{ room: 'chat', joined: ['dave'], left: [] }]);
    await waitFor(() => events(a, 'updateMembers').some((u) => u.room === 'chat' && u.members === 3), 3000, 'count 3');
    // Two go: a move and a disconnect, in one event.
    await join(b, 'help');
    d.disconnect();
    await waitFor(() => {
      const left = presenceOf(a, 'chat').flatMap((e) => e.left);
      return left.includes('bob') && left.includes('dave');
    }, 3000, 'bob and dave left');
    await waitFor(() => events(a, 'updateMembers').some((u) => u.room === 'chat' && u.members === 1), 3000, 'count 1');
    const sends = presenceOf(a, 'chat').map((e) => e);
    for (let i = 0; i < sends.length; i++) assert.ok(!sends[i].joined.includes('carol') && !sends[i].left.includes('carol'));
    noEmptyPresence(a);
  });

  test('presence: at most one per room per second', async () => {
    const watcher = connect('Zed');
    await join(watcher, 'random');
    const movers = ['alice', 'bob', 'carol', 'dave'].map(connect);
    for (const s of movers) { await join(s, 'random'); await join(s, 'help'); await join(s, 'random'); }
    await waitFor(() => {
      const joined = presenceOf(watcher, 'random').flatMap((p) => p.joined);
      return ['alice', 'bob', 'carol', 'dave'].every((n) => joined.includes(n));
    }, 4000, 'everyone in random');
    const at = watcher.log.filter((e) => e.event === 'presence' && e.args[0].room === 'random').map((e) => e.at);
    for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 900, `presence ${at[i] - at[i - 1]} ms apart`);
    noEmptyPresence(watcher);
  });

  test('typing: to the room except the typist, throttled, false at once and only after a true', async () => {
    const a1 = connect('alice');
    const a2 = connect('alice');
    const b = connect('bob');
    const c = connect('carol');
    assertError(await ackLogged(a1, 'typing', { typing: true }), 'typing without a room');
    for (const s of [a1, a2, b, c]) await join(s, 'chat');
    for (const bad of [['yes'], [{ typing: 'true' }], [{ typing: 1 }], [{}], [7], []]) {
      assertError(await ackLogged(a1, 'typing', ...bad), `typing(${JSON.stringify(bad)})`);
    }
    // A false without a true is not forwarded.
    assert.deepEqual(await ackLogged(c, 'typing', { typing: false }), OK);
    assert.deepEqual(await ackLogged(a1, 'typing', { typing: true }), OK);
    await waitFor(() => typingOf(b).length === 1, 3000, 'bob hears alice type');
    assert.deepEqual(typingOf(b), [['alice', true]]);
    // Again within 2 s (one without an ack): not forwarded.
    a1.emit('typing', { typing: true });
    assert.deepEqual(await ackLogged(a2, 'typing', { typing: true }), OK);
    assert.deepEqual(await ackLogged(a2, 'typing', { typing: false }), OK);
    // Sending stops it: false before the message's comPeRoom.
    const { id } = await send(a1, 'typed');
    // Each member's socket gets it in its own time: wait for both.
    await waitFor(() => [b, c].every((s) => events(s, 'comPeRoom').some((m) => m.id === id)), 3000, 'the message');
    const falseAt = indexOf(b, (e) => e.event === 'userTyping' && !e.args[0].typing);
    const msgAt = indexOf(b, (e) => e.event === 'comPeRoom' && e.args[0].id === id);
    assert.ok(falseAt >= 0 && falseAt < msgAt, 'userTyping false before comPeRoom');
    assert.deepEqual(typingOf(b), [['alice', true], ['alice', false]]);
    assert.deepEqual(typingOf(c), [['alice', true], ['alice', false]]);
    assert.deepEqual(b.log[falseAt].args[0], { room: 'chat', username: 'alice', typing: false });
    // Never to alice's own sockets; nothing of carol's false.
    await barrier(c, [a1, a2, b]);
    assert.deepEqual(typingOf(a1), []);
    assert.deepEqual(typingOf(a2), []);
    assert.ok(!typingOf(b).some(([n]) => n === 'carol'));

    // alice types on, repeating: her next true goes out 2 s after the
    // first one, not before; a stop sends false at once.
    const trueAt = () => b.log.filter((e) => e.event === 'userTyping' && e.args[0].username === 'alice' && e.args[0].typing).map((e) => e.at);
    await waitFor(async () => {
      assert.deepEqual(await ackLogged(a1, 'typing', { typing: true }), OK);
      return trueAt().length === 2;
    }, 4000, 'alice\'s second true');
    const [t1, t2] = trueAt();
    assert.ok(t2 - t1 >= 1900, `two trues of alice ${t2 - t1} ms apart`);
    assert.deepEqual(await ackLogged(a1, 'typing', { typing: false }), OK);
    await waitFor(() => typingOf(c).filter(([n, on]) => n === 'alice' && !on).length === 2, 3000, 'alice stopped');
  });

  test('typing: false on leaving the room and on disconnect', async () => {
    const a = connect('dave');
    const b = connect('erin');
    const w = connect('Zed');
    for (const s of [a, b, w]) await join(s, 'random');
    assert.deepEqual(await ackLogged(a, 'typing', { typing: true }), OK);
    assert.deepEqual(await ackLogged(b, 'typing', { typing: true }), OK);
    await waitFor(() => typingOf(w, 'random').length === 2, 3000, 'both typing');
    await join(a, 'help');
    await waitFor(() => typingOf(w, 'random').some((e) => e[0] === 'dave' && !e[1]), 3000, 'dave stopped on leave');
    b.disconnect();
    await waitFor(() => typingOf(w, 'random').some((e) => e[0] === 'erin' && !e[1]), 3000, 'erin stopped on disconnect');
    assert.deepEqual(typingOf(w, 'random').sort(), [['dave', false], ['dave', true], ['erin', false], ['erin', true]]);
  });

  test('unread on connect, markRead forward only and shared, join marks read, cap of 1000', async () => {
    // A new account's markers are at 0: every message so far (fewer
    // than a history's 50 per room) is unread for it.
    const a = connect('cap');
    const fresh = await unreadAfterLoad(a);
    const z = connect('Zed');
    const all = {};
    for (const room of ['chat', 'random', 'help']) all[room] = (await join(z, room)).history.length;
    assert.deepEqual(fresh, all, 'a new account');
    z.disconnect();
    const b = connect('erin');
    await join(b, 'help');
    const ids = [];
    const sends = [];
    for (let i = 0; i < 1003; i++) sends.push(send(b, `m${i}`));
    for (const r of await Promise.all(sends)) ids.push(r.id);
    await join(a, 'help');
    await send(a, 'her own');
    await join(a, 'random'); // help was marked read when she joined
    await settledUnread(() => connect('cap'), (u) => u.help === 0, 'joining to mark help read');
    const a2 = connect('cap');
    await unreadAfterLoad(a2);
    await join(a, 'chat'); // read chat up to now
    await join(a, 'random');
    await settledUnread(() => connect('cap'), (u) => u.chat === 0, 'joining to mark chat read');
    await join(b, 'chat');
    for (let i = 0; i < 3; i++) await send(b, `chat ${i}`);
    const c1 = connect('cap');
    assert.deepEqual(await unreadAfterLoad(c1), { chat: 3, random: 0, help: 0 });
    // markRead in a room not joined, forward only, shared by her sockets.
    const chatIds = events(b, 'comPeRoom').filter((m) => m.room === 'chat').map((m) => m.id);
    assert.deepEqual(await ackLogged(c1, 'markRead', { room: 'chat', id: chatIds[1] }), OK);
    assert.deepEqual(await ackLogged(a2, 'markRead', { room: 'chat', id: chatIds[0] }), OK, 'a lower id acks');
    assert.deepEqual(await unreadAfterLoad(connect('cap')), { chat: 1, random: 0, help: 0 });
    for (const bad of [['chat'], [5], [{ room: 'chat' }], [{ id: 1 }], [{ room: 'nope', id: 1 }],
      [{ room: 3, id: 1 }], [{ room: 'chat', id: '1' }], [{ room: 'chat', id: 1.5 }], [{ room: 'chat', id: -1 }], []]) {
      assertError(await ackLogged(c1, 'markRead', ...bad), `markRead(${JSON.stringify(bad)})`);
    }
    assert.deepEqual(await unreadAfterLoad(connect('cap')), { chat: 1, random: 0, help: 0 }, 'errors changed nothing');

    // The cap: the 1003 messages of erin in help count 1000 for dave,
    // who never joined help.
    assert.equal(ids.length, 1003);
    const counts = await unreadAfterLoad(connect('dave'));
    assert.equal(counts.help, 1000);
  });

  test('roomActivity: to the sockets outside the room, at most once a second, newest id within a second', async () => {
    const out = connect('alice');
    const idle = connect('bob'); // in no room
    const inRoom = connect('carol');
    await join(out, 'random');
    await join(inRoom, 'help');
    const first = await send(inRoom, 'first');
    for (const s of [out, idle]) {
      await waitFor(() => events(s, 'roomActivity').some((e) => e.lastId === first.id), 2000, 'activity of the first');
    }
    const start = Date.now();
    let last;
    for (let i = 0; i < 10; i++) last = await send(inRoom, `burst ${i}`);
    const got = await waitFor(() => events(out, 'roomActivity').some((e) => e.lastId === last.id) && Date.now(), 2500, 'the newest id');
    assert.ok(got - start <= 2000, `newest id after ${got - start} ms`);
    const acts = out.log.filter((e) => e.event === 'roomActivity' && e.args[0].room === 'help');
    for (const e of acts) assert.deepEqual(keys(e.args[0]), ['lastId', 'room']);
    for (let i = 1; i < acts.length; i++) assert.ok(acts[i].at - acts[i - 1].at >= 900, `roomActivity ${acts[i].at - acts[i - 1].at} ms apart`);
    assert.ok(acts.length <= 3, `${acts.length} roomActivity for 11 messages`);
    assert.deepEqual(events(inRoom, 'roomActivity').filter((e) => e.room === 'help'), [], 'none inside the room');
  });

  test('unread counts survive a restart', async () => {
    const b = connect('Zed');
    await join(b, 'chat');
    await send(b, 'before the restart');
    const counts = await unreadAfterLoad(connect('dave'));
    clients.closeAll();
    await server.stop();
    server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
    const again = await unreadAfterLoad(connect('dave'));
    assert.deepEqual(again, counts);
    assert.ok(again.chat > 0);
  });
});

describe('two nodes (Redis + PostgreSQL)', () => {
  let skip = null;
  let c;
  let cookies; // name -> [cookie on node 0, cookie on node 1]
  before(async () => {
    skip = await cluster.servicesMissing();
    if (skip) {
      if (process.env.CI) throw new Error(skip);
      return;
    }
    ({ c, cookies } = await cluster.startClusterWithAccounts(['alice', 'bob', 'carol', 'dave'], { args: ['-msg-rate', '0'] }));
  });
  after(async () => {
    clients.closeAll();
    if (c) await c.stop();
  });
  const connect = (name, i) => clients.connect(c.urls[i], '/user', cookies[name][i]);

  test('roomUsers and presence span both nodes', async (t) => {
    if (skip) return t.skip(skip);
    const a = connect('alice', 0);
    const b = connect('bob', 1);
    await join(a, 'chat');
    await join(b, 'chat');
    await waitFor(() => presenceOf(a, 'chat').some((p) => p.joined.includes('bob')), 3000, 'bob joined, on node 1');
    const want = { users: [{ username: 'alice', role: 'user' }, { username: 'bob', role: 'user' }], total: 2 };
    assert.deepEqual(await ackLogged(a, 'roomUsers', {}), want);
    assert.deepEqual(await ackLogged(b, 'roomUsers', {}), want);
    b.disconnect();
    await waitFor(() => presenceOf(a, 'chat').some((p) => p.left.includes('bob')), 3000, 'bob left, on node 1');
    assert.deepEqual(await ackLogged(a, 'roomUsers', {}), { users: [want.users[0]], total: 1 });
    noEmptyPresence(a);
  });

  test('typing crosses nodes and skips the typist\'s socket on the other node', async (t) => {
    if (skip) return t.skip(skip);
    const a = connect('carol', 0);
    const a2 = connect('carol', 1);
    const b = connect('dave', 1);
    for (const s of [a, a2, b]) await join(s, 'random');
    assert.deepEqual(await ackLogged(a, 'typing', { typing: true }), OK);
    await waitFor(() => typingOf(b, 'random').length === 1, 3000, 'dave on node 1 hears carol');
    const { id } = await send(a, 'from node 0');
    await waitFor(() => events(b, 'comPeRoom').some((m) => m.id === id), 3000, 'the message on node 1');
    const falseAt = indexOf(b, (e) => e.event === 'userTyping' && !e.args[0].typing);
    const msgAt = indexOf(b, (e) => e.event === 'comPeRoom' && e.args[0].id === id);
    assert.ok(falseAt >= 0 && falseAt < msgAt, 'false before comPeRoom, across nodes');
    await barrier(b, [a, a2]);
    assert.deepEqual(typingOf(a2, 'random'), [], 'not echoed to carol\'s socket on node 1');
    assert.deepEqual(typingOf(a, 'random'), []);
  });

  test('unread and markRead shared by two sockets of one user on different nodes', async (t) => {
    if (skip) return t.skip(skip);
    const b = connect('bob', 0);
    await join(b, 'help');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await send(b, `help ${i}`)).id);
    const on0 = connect('dave', 0);
    const on1 = connect('dave', 1);
    const c0 = await unreadAfterLoad(on0);
    assert.equal(c0.help, 3);
    assert.deepEqual(await unreadAfterLoad(on1), c0);
    assert.deepEqual(await ackLogged(on0, 'markRead', { room: 'help', id: ids[1] }), OK);
    assert.deepEqual(await ackLogged(on1, 'markRead', { room: 'help', id: ids[0] }), OK);
    assert.equal((await unreadAfterLoad(connect('dave', 1))).help, 1);
    await join(on1, 'help');
    await settledUnread(() => connect('dave', 0), (u) => u.help === 0, 'a join on node 1 to mark help read for node 0');
  });

  test('roomActivity for a message posted on the other node, from one\'s own node once', async (t) => {
    if (skip) return t.skip(skip);
    const poster = connect('alice', 1);
    const out0 = connect('bob', 0);
    const out1 = connect('carol', 1);
    await join(poster, 'chat');
    await join(out0, 'help');
    await join(out1, 'help');
    const { id } = await send(poster, 'seen from node 0');
    for (const s of [out0, out1]) {
      await waitFor(() => events(s, 'roomActivity').some((e) => e.room === 'chat' && e.lastId === id), 2000, `roomActivity ${id}`);
    }
    await sleep(1000); // a duplicate from the other node would have come by now
    for (const s of [out0, out1]) {
      assert.equal(events(s, 'roomActivity').filter((e) => e.room === 'chat' && e.lastId === id).length, 1);
    }
    assert.deepEqual(events(poster, 'roomActivity').filter((e) => e.room === 'chat'), []);
  });

  test('a node that stops, or dies, takes its users out of presence', async (t) => {
    if (skip) return t.skip(skip);
    const { startServer } = require('../lib/server.js');
    const args = ['-db', c.db, '-redis', cluster.redisURL(), '-redis-prefix', c.prefix, '-msg-rate', '0'];
    const w = connect('alice', 0);
    await join(w, 'random');
    for (const [name, how] of [['dave', 'stop'], ['carol', 'kill']]) {
      const victim = await startServer('chatd', args);
      try {
        const s = clients.connect(victim.url, '/user', await chat.login(victim.url, name, `${name}-password`));
        await join(s, 'random');
        await waitFor(() => presenceOf(w, 'random').some((p) => p.joined.includes(name)), 3000, `${name} joined`);
        const at = Date.now();
        if (how === 'stop') await victim.stop();
        else victim.proc.kill('SIGKILL');
        await waitFor(() => presenceOf(w, 'random').some((p) => p.left.includes(name)), how === 'stop' ? 3000 : 15000,
          `${name} left after the node's ${how}`);
        t.diagnostic(`${how}: presence left after ${Date.now() - at} ms`);
      } finally {
        await victim.stop();
      }
    }
    noEmptyPresence(w);
  });
});
