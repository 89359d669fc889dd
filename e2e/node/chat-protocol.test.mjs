// End-to-end tests of chatd's chat protocol (docs/protocol.md) with the
// official socket.io-client in Node: discovery, rooms, joins, history,
// messages and the namespace access rules.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const { KEYS, ROOMS, keys, join, send, events, waitFor, sleep } = chat;

let tmp;
let server;
const clients = new chat.Clients();
// Cookies of the accounts, by role.
const cookie = {};

before(async () => {
  tmp = chat.tempDB();
  await chat.createAdmin(tmp.db, 'boss', 'boss-password');
  server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
  cookie.admin = await chat.login(server.url, 'boss', 'boss-password');
  cookie.user = await chat.signup(server.url, 'alice', 'alice-password');
  cookie.user2 = await chat.signup(server.url, 'bob', 'bob-password');
  await chat.signup(server.url, 'carol', 'carol-password');
  await chat.setRole(tmp.db, 'carol', 'creator');
  cookie.creator = await chat.login(server.url, 'carol', 'carol-password');
});

after(async () => {
  clients.closeAll();
  if (server) await server.stop();
  if (tmp) tmp.cleanup();
});

afterEach(() => clients.closeAll());

function connect(nsp, c, opts) {
  return clients.connect(server.url, nsp, c, opts);
}

// assertMessage checks the exact shape of a Message.
function assertMessage(m, want) {
  assert.deepEqual(keys(m), KEYS.message, `message keys of ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.id) && m.id > 0, `id ${m.id}`);
  assert.ok(Number.isInteger(m.time), `time ${m.time}`);
  for (const [k, v] of Object.entries(want)) assert.equal(m[k], v, `message ${k}`);
}

describe('discovery: data on /', () => {
  const want = {
    user: ['/user'],
    creator: ['/user', '/creator'],
    admin: ['/user', '/creator', '/admin'],
  };
  for (const role of ['user', 'creator', 'admin']) {
    test(`${role}: only the namespaces the role may enter, by id, exact shape`, async () => {
      const s = connect('/', cookie[role]);
      const data = await waitFor(() => events(s, 'data')[0], 5000, 'data');
      assert.ok(Array.isArray(data));
      assert.deepEqual(data.map((n) => n.endpoint), want[role]);
      const ids = data.map((n) => n.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ordered by id');
      assert.equal(new Set(ids).size, ids.length, 'ids unique');
      for (const ns of data) {
        assert.deepEqual(keys(ns), KEYS.namespace, `keys of ${JSON.stringify(ns)}`);
        assert.ok(Number.isInteger(ns.id) && ns.id > 0);
        assert.equal(typeof ns.nsTitle, 'string');
        assert.ok(ns.nsTitle.length > 0);
        assert.equal(typeof ns.img, 'string');
        assert.notEqual(ns.endpoint, '/');
      }
      // data comes once, on connect; no other event on "/".
      await sleep(200);
      assert.deepEqual(s.log.map((e) => e.event), ['data']);
    });
  }

  test('the namespaces of data are the same for every role (by id)', async () => {
    const a = connect('/', cookie.admin);
    const u = connect('/', cookie.user);
    const all = await waitFor(() => events(a, 'data')[0], 5000, 'admin data');
    const mine = await waitFor(() => events(u, 'data')[0], 5000, 'user data');
    assert.equal(mine.length, 1);
    const byId = new Map(all.map((n) => [n.id, n]));
    for (const n of mine) assert.deepEqual(n, byId.get(n.id));
  });
});

describe('nsRoomLoad', () => {
  for (const [nsp, rooms] of Object.entries(ROOMS)) {
    test(`${nsp}: the predefined rooms, exact shape`, async () => {
      const s = connect(nsp, cookie.admin);
      const list = await waitFor(() => events(s, 'nsRoomLoad')[0], 5000, 'nsRoomLoad');
      assert.deepEqual(list.map((r) => r.roomTitle).sort(), [...rooms].sort());
      for (const r of list) {
        assert.deepEqual(keys(r), KEYS.room, `keys of ${JSON.stringify(r)}`);
        assert.ok(Number.isInteger(r.roomId) && r.roomId > 0);
        assert.equal(r.namespace, nsp);
        assert.equal(r.privateRoom, false);
      }
      assert.equal(new Set(list.map((r) => r.roomId)).size, list.length, 'roomIds unique');
      assert.equal(s.log[0].event, 'nsRoomLoad', 'first event');
    });
  }

  test('a user and a creator get the same rooms of /user as an admin', async () => {
    const lists = [];
    for (const c of [cookie.user, cookie.creator, cookie.admin]) {
      const s = connect('/user', c);
      lists.push(await waitFor(() => events(s, 'nsRoomLoad')[0], 5000, 'nsRoomLoad'));
    }
    assert.deepEqual(lists[0], lists[2]);
    assert.deepEqual(lists[1], lists[2]);
  });
});

describe('namespace access', () => {
  const allowed = {
    user: ['/', '/user'],
    creator: ['/', '/user', '/creator'],
    admin: ['/', '/user', '/creator', '/admin'],
  };
  for (const [role, nsps] of Object.entries(allowed)) {
    for (const nsp of ['/', '/user', '/creator', '/admin']) {
      if (nsps.includes(nsp)) {
        test(`${role} may connect to ${nsp}`, async () => {
          await chat.connected(connect(nsp, cookie[role]));
        });
      } else {
        test(`${role} is refused on ${nsp} with "forbidden"`, async () => {
          const err = await chat.connectError(connect(nsp, cookie[role]));
          assert.equal(err.message, 'forbidden');
        });
      }
    }
  }

  for (const transports of [['websocket'], ['polling']]) {
    for (const nsp of ['/', '/user', '/admin']) {
      test(`no cookie on ${nsp} over ${transports[0]}: "unauthorized"`, async () => {
        const err = await chat.connectError(connect(nsp, null, { transports }));
        assert.equal(err.message, 'unauthorized');
      });
      test(`forged cookie on ${nsp} over ${transports[0]}: "unauthorized"`, async () => {
        const forged = `${chat.SESSION_COOKIE}=${'A'.repeat(43)}`;
        const err = await chat.connectError(connect(nsp, forged, { transports }));
        assert.equal(err.message, 'unauthorized');
      });
    }
  }

  // chatd keeps an authenticated session for a second (authCacheTTL in
  // cmd/chatd): a role set around the server, with `chatd admin set-role`,
  // applies to every connection made a second after it, the cached ones
  // included.
  const authCacheMs = 1000;
  test('a role set with chatd admin applies to the connections of the same session a second later', async () => {
    const c = await chat.signup(server.url, 'dan', 'dan-password');
    assert.equal((await chat.connectError(connect('/creator', c))).message, 'forbidden');
    await chat.setRole(tmp.db, 'dan', 'creator');
    await sleep(authCacheMs + 100);
    await chat.connected(connect('/creator', c));
    const d = connect('/', c);
    assert.deepEqual((await waitFor(() => events(d, 'data')[0], 5000, 'data')).map((n) => n.endpoint),
      ['/user', '/creator']);
    await chat.setRole(tmp.db, 'dan', 'user');
    await sleep(authCacheMs + 100);
    assert.equal((await chat.connectError(connect('/creator', c))).message, 'forbidden');
  });

  test('a cookie of a logged-out session is unauthorized', async () => {
    const c = await chat.login(server.url, 'bob', 'bob-password');
    await chat.connected(connect('/user', c));
    const res = await fetch(server.url + '/logout', {
      method: 'POST', redirect: 'manual', headers: { Cookie: c, Origin: server.url },
    });
    assert.equal(res.status, 303);
    const err = await chat.connectError(connect('/user', c));
    assert.equal(err.message, 'unauthorized');
  });

  for (const transports of [['websocket'], ['polling']]) {
    test(`a handshake from a foreign Origin is refused over ${transports[0]} (403)`, async () => {
      const s = connect('/user', cookie.admin, {
        transports, extraHeaders: { Origin: 'http://evil.example' },
      });
      const err = await chat.connectError(s);
      assert.equal(err.type, 'TransportError');
      const desc = err.description;
      const status = typeof desc === 'number' ? desc : String(desc && (desc.message || desc.error || desc));
      assert.match(String(status), /403/);
      assert.equal(s.log.length, 0);
      // The same handshake from the server's own origin is fine.
      await chat.connected(connect('/user', cookie.admin, {
        transports, extraHeaders: { Origin: new URL(server.url).origin },
      }));
    });
  }
});

describe('joinRoom', () => {
  test('acks {members}, then historyUpdate, then updateMembers to the joiner', async () => {
    const s = connect('/creator', cookie.creator);
    await waitFor(() => events(s, 'nsRoomLoad').length, 5000, 'nsRoomLoad');
    const { ack, history } = await join(s, 'drafts');
    assert.deepEqual(ack, { members: 1 });
    assert.deepEqual(history, []);
    const um = await waitFor(() => events(s, 'updateMembers')[0], 2000, 'updateMembers');
    assert.deepEqual(um, { room: 'drafts', members: 1 });
    // presence goes with updateMembers (docs/protocol.md, Presence) and
    // may still be on its way.
    assert.deepEqual(s.log.map((e) => e.event).filter((e) => e !== 'presence'),
      ['nsRoomLoad', 'unread', 'ack:joinRoom', 'historyUpdate', 'updateMembers']);
  });

  test('the last 50 messages, oldest first, with exact shapes', async () => {
    const writer = connect('/user', cookie.user);
    await join(writer, 'help');
    const sent = [];
    for (let i = 0; i < 57; i++) {
      const text = `history message ${i}`;
      const ack = await send(writer, text);
      assert.deepEqual(keys(ack), ['id'], JSON.stringify(ack));
      sent.push({ id: ack.id, text });
    }
    const ids = sent.map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'acked ids increase');
    const reader = connect('/user', cookie.user2);
    const { history } = await join(reader, 'help');
    assert.equal(history.length, 50);
    assert.deepEqual(history.map((m) => m.id), ids.slice(-50));
    assert.deepEqual(history.map((m) => m.text), sent.slice(-50).map((m) => m.text));
    for (const m of history) assertMessage(m, { namespace: '/user', room: 'help', username: 'alice' });
    for (let i = 1; i < history.length; i++) assert.ok(history[i].time >= history[i - 1].time);
  });

  test('leaves the previous room; updateMembers to the old and the new room', async () => {
    const a = connect('/user', cookie.user);
    const b = connect('/user', cookie.user2);
    const c = connect('/user', cookie.creator);
    await join(b, 'chat');
    await join(c, 'random');
    const ackA = (await join(a, 'chat')).ack;
    assert.deepEqual(ackA, { members: 2 });
    await waitFor(() => events(b, 'updateMembers').some((u) => u.room === 'chat' && u.members === 2),
      3000, 'b sees 2 in chat');
    const bBefore = b.log.length;
    const cBefore = c.log.length;
    const { ack } = await join(a, 'random');
    assert.deepEqual(ack, { members: 2 });
    // old room: b sees chat go down to 1; new room: c sees random go up to 2.
    const bu = await waitFor(() => b.log.slice(bBefore).find((e) => e.event === 'updateMembers'),
      3000, 'updateMembers to the old room');
    assert.deepEqual(bu.args[0], { room: 'chat', members: 1 });
    const cu = await waitFor(() => c.log.slice(cBefore).find((e) => e.event === 'updateMembers'),
      3000, 'updateMembers to the new room');
    assert.deepEqual(cu.args[0], { room: 'random', members: 2 });
    // a is no longer in chat: a message there does not reach a.
    const m1 = await send(b, 'only for chat');
    assert.ok(m1.id);
    const m2 = await send(c, 'only for random');
    await waitFor(() => events(a, 'comPeRoom').some((m) => m.id === m2.id), 3000, 'message in random');
    assert.ok(!events(a, 'comPeRoom').some((m) => m.id === m1.id), 'a got a message of its old room');
    assert.ok(!events(c, 'comPeRoom').some((m) => m.id === m1.id), 'c got a message of another room');
  });

  test('joining the same room again acks and resends history without a membership change', async () => {
    const a = connect('/user', cookie.user);
    const b = connect('/user', cookie.user2);
    await join(b, 'chat');
    await join(a, 'chat');
    for (const s of [a, b]) {
      await waitFor(() => events(s, 'updateMembers').some((u) => u.members === 2), 3000, 'count 2');
    }
    const posted = await send(b, 'before the second join');
    await waitFor(() => events(a, 'comPeRoom').some((m) => m.id === posted.id), 3000, 'message');
    const first = (await join(a, 'chat')).history;
    const bBefore = b.log.length;
    const aBefore = a.log.length;
    const again = await join(a, 'chat');
    assert.deepEqual(again.ack, { members: 2 });
    assert.deepEqual(again.history, first);
    assert.equal(again.history.at(-1).id, posted.id);
    // No updateMembers for anybody (coalescing would send within a second).
    await sleep(1300);
    assert.deepEqual(b.log.slice(bBefore).filter((e) => e.event === 'updateMembers'), []);
    assert.deepEqual(a.log.slice(aBefore).map((e) => e.event), ['ack:joinRoom', 'historyUpdate']);
    // Still a member: gets messages of the room.
    const later = await send(b, 'after the second join');
    await waitFor(() => events(a, 'comPeRoom').some((m) => m.id === later.id), 3000, 'message after');
  });

  test('rooms are per namespace: the same socket user in two namespaces', async () => {
    const u = connect('/user', cookie.admin);
    const x = connect('/admin', cookie.admin);
    await join(u, 'chat');
    const { ack } = await join(x, 'general');
    assert.deepEqual(ack, { members: 1 });
    const m = await send(x, 'admins only');
    await waitFor(() => events(x, 'comPeRoom').some((e) => e.id === m.id), 3000, 'own message');
    await sleep(200);
    assert.ok(!events(u, 'comPeRoom').some((e) => e.id === m.id));
    // a room title of another namespace is unknown here
    const bad = await chat.ackLogged(u, 'joinRoom', 'general');
    assert.deepEqual(keys(bad), ['error']);
  });
});

describe('newMsg2Server and comPeRoom', () => {
  test('stored, sent to the room (sender included) before the ack {id}', async () => {
    const a = connect('/user', cookie.user);
    const b = connect('/user', cookie.user2);
    const outsider = connect('/user', cookie.creator);
    await join(a, 'random');
    await join(b, 'random');
    await join(outsider, 'help');
    const before = Date.now();
    const ack = await send(a, '  hello, random!\n ');
    const after = Date.now();
    assert.deepEqual(keys(ack), ['id']);
    assert.ok(Number.isInteger(ack.id) && ack.id > 0);
    // On the sender: comPeRoom came before the ack.
    const order = a.log.filter((e) => e.event === 'comPeRoom' || e.event === 'ack:newMsg2Server');
    assert.deepEqual(order.map((e) => e.event).slice(-2), ['comPeRoom', 'ack:newMsg2Server']);
    const mine = order.at(-2).args[0];
    assertMessage(mine, { id: ack.id, namespace: '/user', room: 'random', username: 'alice', text: 'hello, random!' });
    assert.ok(mine.time >= before - 2000 && mine.time <= after + 2000, `time ${mine.time} near now`);
    const theirs = await waitFor(() => events(b, 'comPeRoom').find((m) => m.id === ack.id), 3000, 'b gets it');
    assert.deepEqual(theirs, mine);
    await sleep(200);
    assert.ok(!events(outsider, 'comPeRoom').some((m) => m.id === ack.id), 'another room got it');
    // Stored: a later join sees it last in the history.
    const reader = connect('/user', cookie.creator);
    const { history } = await join(reader, 'random');
    assert.deepEqual(history.at(-1), mine);
  });

  test('every socket of the room gets it, also the sender\'s other tab', async () => {
    const a1 = connect('/user', cookie.user);
    const a2 = connect('/user', cookie.user);
    await join(a1, 'help');
    await join(a2, 'help');
    const ack = await send(a1, 'to both tabs');
    await waitFor(() => events(a2, 'comPeRoom').some((m) => m.id === ack.id), 3000, 'other tab');
    assert.equal(events(a1, 'comPeRoom').filter((m) => m.id === ack.id).length, 1, 'exactly once');
  });

  test('markup and other text is stored and sent unchanged', async () => {
    const a = connect('/user', cookie.user);
    const b = connect('/user', cookie.user2);
    await join(a, 'chat');
    await join(b, 'chat');
    const texts = [
      '<img src=x onerror=alert(1)>',
      '<script>alert("x")</script> & &amp; &lt; "quotes" \'single\' `back`',
      'emoji 😀👍🏽, RTL שלום, NUL-free \\u0000 text, tab\tinside',
      '{"text":"json inside"} [1,2] null',
      'line one\nline two\r\nline three',
    ];
    const ids = [];
    for (const text of texts) {
      const ack = await send(a, text);
      assert.deepEqual(keys(ack), ['id'], `${text}: ${JSON.stringify(ack)}`);
      ids.push(ack.id);
    }
    await waitFor(() => ids.every((id) => events(b, 'comPeRoom').some((m) => m.id === id)), 3000, 'all');
    for (const [i, id] of ids.entries()) {
      assert.equal(events(b, 'comPeRoom').find((m) => m.id === id).text, texts[i]);
    }
    const { history } = await join(connect('/user', cookie.creator), 'chat');
    for (const [i, id] of ids.entries()) {
      assert.equal(history.find((m) => m.id === id).text, texts[i]);
    }
  });

  test('over HTTP long-polling: messages between a polling and a WebSocket client, a full history', async () => {
    const p = connect('/creator', cookie.creator, { transports: ['polling'] });
    const w = connect('/creator', cookie.admin, { transports: ['websocket'] });
    await join(p, 'resources');
    await join(w, 'resources');
    const big = '€'.repeat(2000); // 6000 bytes of UTF-8
    const ids = [];
    for (let i = 0; i < 52; i++) ids.push((await send(w, `${i} ${big}`.slice(0, 2000))).id);
    const fromP = await send(p, 'polling says hi');
    await waitFor(() => events(w, 'comPeRoom').some((m) => m.id === fromP.id), 3000, 'polling to WebSocket');
    await waitFor(() => ids.every((id) => events(p, 'comPeRoom').some((m) => m.id === id)), 5000, 'WebSocket to polling');
    assert.equal(p.io.engine.transport.name, 'polling');
    // About 300 kB of history in one polling response.
    const { history } = await join(connect('/creator', cookie.creator, { transports: ['polling'] }), 'resources');
    assert.equal(history.length, 50);
    assert.deepEqual(history.map((m) => m.id), [...ids.slice(-49), fromP.id]);
    assert.equal(history[0].text, `3 ${big}`.slice(0, 2000));
  });

  test('2000 code points (4000 UTF-16 units) are accepted, surrounding white space trimmed', async () => {
    const a = connect('/user', cookie.user);
    await join(a, 'help');
    const text = '😀'.repeat(2000);
    const ack = await send(a, ` \u3000\n${text}\t\u2003 `);
    assert.deepEqual(keys(ack), ['id'], JSON.stringify(ack).slice(0, 200));
    const got = events(a, 'comPeRoom').find((m) => m.id === ack.id);
    assert.equal(got.text, text);
  });
});
