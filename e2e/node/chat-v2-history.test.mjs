// End-to-end tests of the second part of the chat protocol (docs/protocol.md:
// "History pages", "Editing, deleting, moderation", "Rooms as data, managed
// live", "Search") with the official socket.io-client: every event, rule and
// error on one chatd (SQLite), then the cross-node behaviour on two chatd
// nodes sharing Redis and PostgreSQL (skipped without them, unless CI is
// set).
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const cluster = require('../lib/cluster.js');
const { KEYS, ROOMS, keys, join, send, events, waitFor, ackLogged, assertError } = chat;

// assertMessages checks the { messages } ack of loadHistory or
// searchMessages and the exact keys of each Message; returns the messages.
function assertMessages(ack, what) {
  assert.deepEqual(keys(ack), ['messages'], `${what}: ack ${JSON.stringify(ack)}`);
  assert.ok(Array.isArray(ack.messages), what);
  for (const m of ack.messages) {
    assert.deepEqual(keys(m), KEYS.message, `${what}: keys of ${JSON.stringify(m)}`);
    assert.ok(Number.isInteger(m.edited) && m.edited >= 0, `${what}: edited ${m.edited}`);
  }
  return ack.messages;
}

const ids = (msgs) => msgs.map((m) => m.id);
const titles = (rooms) => rooms.map((r) => r.roomTitle);

// The log entries of s from index from on, without the updateMembers
// counts (which follow joins on their own timer).
const since = (s, from) => s.log.slice(from).filter((e) => e.event !== 'updateMembers');

// The events the server pushed to s from index from on (since, without
// the acks of s's own requests).
const pushed = (s, from) => since(s, from).filter((e) => !e.event.startsWith('ack:'));

describe('one node', () => {
  let tmp;
  let server;
  const clients = new chat.Clients();
  const cookie = {};

  before(async () => {
    tmp = chat.tempDB();
    await chat.createAdmin(tmp.db, 'boss', 'boss-password');
    server = await chat.startChatd(tmp.db, ['-msg-rate', '0']);
    cookie.boss = await chat.login(server.url, 'boss', 'boss-password');
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      cookie[name] = await chat.signup(server.url, name, `${name}-password`);
    }
    await chat.setRole(tmp.db, 'carol', 'creator');
    cookie.carol = await chat.login(server.url, 'carol', 'carol-password');
  });
  after(async () => {
    clients.closeAll();
    if (server) await server.stop();
    if (tmp) tmp.cleanup();
  });
  afterEach(() => clients.closeAll());

  const connect = (nsp, name) => clients.connect(server.url, nsp, cookie[name]);
  const rooms = (s) => waitFor(() => events(s, 'nsRoomLoad')[0], 5000, 'nsRoomLoad');

  test('loadHistory: pages of the current room, oldest first, [] at the start', async () => {
    const a = connect('/user', 'alice');
    await rooms(a);
    assertError(await ackLogged(a, 'loadHistory', { beforeId: 1000 }), 'loadHistory in no room');
    await join(a, 'random');
    const sent = [];
    for (let i = 0; i < 130; i++) sent.push((await send(a, `page ${i}`)).id);
    await join(a, 'help');
    await send(a, 'in another room');
    const { history } = await join(a, 'random');
    assert.deepEqual(ids(history), sent.slice(80));
    for (const m of history) assert.equal(m.edited, 0);

    const page = assertMessages(await ackLogged(a, 'loadHistory', { beforeId: history[0].id }), 'page 1');
    assert.deepEqual(ids(page), sent.slice(30, 80));
    assert.deepEqual(page.map((m) => [m.room, m.namespace, m.username]), page.map(() => ['random', '/user', 'alice']));
    const rest = assertMessages(await ackLogged(a, 'loadHistory', { beforeId: page[0].id, limit: 100 }), 'page 2');
    assert.deepEqual(ids(rest), sent.slice(0, 30));
    assert.deepEqual(assertMessages(await ackLogged(a, 'loadHistory', { beforeId: sent[0] }), 'start'), []);
    assert.deepEqual(ids(assertMessages(await ackLogged(a, 'loadHistory', { beforeId: sent[100], limit: 1 }), 'limit 1')),
      [sent[99]]);
    assert.deepEqual(ids(assertMessages(await ackLogged(a, 'loadHistory', { beforeId: sent[129] + 1000, limit: 100 }), 'limit 100')),
      sent.slice(30));
  });

  test('loadHistory: wrong types and limits out of range get { error }; the socket stays usable', async () => {
    const a = connect('/user', 'alice');
    await join(a, 'help');
    const id = (await send(a, 'a message to page to')).id;
    const cases = [
      ['limit 0', [{ beforeId: id, limit: 0 }]],
      ['limit 101', [{ beforeId: id, limit: 101 }]],
      ['limit -1', [{ beforeId: id, limit: -1 }]],
      ['limit 2.5', [{ beforeId: id, limit: 2.5 }]],
      ['limit a string', [{ beforeId: id, limit: '5' }]],
      ['beforeId a string', [{ beforeId: String(id) }]],
      ['beforeId 1.5', [{ beforeId: 1.5 }]],
      ['beforeId 0', [{ beforeId: 0 }]],
      ['beforeId negative', [{ beforeId: -5 }]],
      ['beforeId null', [{ beforeId: null }]],
      ['no beforeId', [{ limit: 5 }]],
      ['a number', [id]],
      ['a string', ['x']],
      ['null', [null]],
      ['no argument', []],
    ];
    for (const [what, args] of cases) assertError(await ackLogged(a, 'loadHistory', ...args), `loadHistory ${what}`);
    assert.ok(a.connected);
    assert.deepEqual(keys(await send(a, 'still usable')), ['id']);
  });

  test('editMessage: the author edits; messageEdited to the room before the ack; history and search follow', async () => {
    const a = connect('/user', 'alice');
    const b = connect('/user', 'bob');
    const boss = connect('/user', 'boss');
    await join(a, 'chat');
    await join(b, 'chat');
    await join(boss, 'chat');
    const m = await send(a, 'original wording here');
    await waitFor(() => events(b, 'comPeRoom').some((x) => x.id === m.id), 3000, 'the message');
    const bFrom = b.log.length;

    for (const [who, s] of [['another user', b], ['an admin', boss]]) {
      assertError(await ackLogged(s, 'editMessage', { id: m.id, text: 'not yours' }), `edit by ${who}`);
    }
    const cases = [
      ['empty', { id: m.id, text: '' }],
      ['white space', { id: m.id, text: ' \t\n ' }],
      ['too long', { id: m.id, text: 'x'.repeat(2001) }],
      ['NUL', { id: m.id, text: 'a\u0000b' }],
      ['text a number', { id: m.id, text: 5 }],
      ['no text', { id: m.id }],
      ['no id', { text: 'x' }],
      ['id a string', { id: String(m.id), text: 'x' }],
      ['unknown id', { id: m.id + 100000, text: 'x' }],
    ];
    for (const [what, arg] of cases) assertError(await ackLogged(a, 'editMessage', arg), `editMessage ${what}`);
    assertError(await ackLogged(a, 'editMessage', 'text'), 'editMessage a string');
    assertError(await ackLogged(a, 'editMessage'), 'editMessage without argument');
    assert.deepEqual(pushed(b, bFrom), [], 'refused edits sent nothing');

    const aFrom = a.log.length;
    const ack = await ackLogged(a, 'editMessage', { id: m.id, text: '  <b>new</b> wording  ' });
    assert.deepEqual(ack, { ok: true });
    const mine = since(a, aFrom);
    assert.deepEqual(mine.map((e) => e.event), ['messageEdited', 'ack:editMessage'], 'messageEdited before the ack');
    const edited = mine[0].args[0];
    assert.deepEqual(keys(edited), ['edited', 'id', 'room', 'text']);
    assert.equal(edited.id, m.id);
    assert.equal(edited.room, 'chat');
    assert.equal(edited.text, '<b>new</b> wording', 'trimmed, unchanged otherwise');
    assert.ok(Number.isInteger(edited.edited) && edited.edited > 0);
    for (const s of [b, boss]) {
      assert.deepEqual(await waitFor(() => events(s, 'messageEdited')[0], 3000, 'messageEdited'), edited);
    }
    // The edited message as every later Message shows it.
    const { history } = await join(connect('/user', 'dave'), 'chat');
    const h = history.find((x) => x.id === m.id);
    assert.equal(h.text, '<b>new</b> wording');
    assert.equal(h.edited, edited.edited);
    const page = assertMessages(await ackLogged(a, 'loadHistory', { beforeId: m.id + 1, limit: 1 }), 'page');
    assert.deepEqual([page[0].text, page[0].edited], [h.text, h.edited]);
    const found = assertMessages(await ackLogged(a, 'searchMessages', { query: 'wording' }), 'search');
    assert.deepEqual(ids(found), [m.id]);
    assert.equal(found[0].edited, edited.edited);
    assert.deepEqual(assertMessages(await ackLogged(a, 'searchMessages', { query: 'original' }), 'old text'), []);
  });

  test('editMessage and deleteMessage of a message of another namespace get { error }', async () => {
    const boss = connect('/admin', 'boss');
    await join(boss, 'general');
    const g = await send(boss, 'admins only');
    const inUser = connect('/user', 'boss');
    await rooms(inUser);
    assertError(await ackLogged(inUser, 'editMessage', { id: g.id, text: 'from /user' }), 'edit from another namespace');
    assertError(await ackLogged(inUser, 'deleteMessage', { id: g.id }), 'delete from another namespace');
    assert.deepEqual(ids((await join(connect('/admin', 'boss'), 'general')).history).slice(-1), [g.id]);
    // In its own namespace, its author deletes it.
    assert.deepEqual(await ackLogged(boss, 'deleteMessage', { id: g.id }), { ok: true });
  });

  test('deleteMessage: the author or an admin; messageDeleted before the ack; gone from history, pages and search', async () => {
    const a = connect('/user', 'alice');
    const b = connect('/user', 'bob');
    const carol = connect('/user', 'carol');
    const boss = connect('/user', 'boss');
    for (const s of [a, b, carol, boss]) await join(s, 'help');
    const own = await send(a, 'zebra one');
    const other = await send(a, 'zebra two');
    const kept = await send(b, 'zebra three');

    for (const [who, s] of [['another user', b], ['a creator', carol]]) {
      assertError(await ackLogged(s, 'deleteMessage', { id: own.id }), `delete by ${who}`);
    }
    for (const [what, args] of [
      ['unknown id', [{ id: own.id + 100000 }]],
      ['id a string', [{ id: String(own.id) }]],
      ['no id', [{}]],
      ['a number', [own.id]],
      ['no argument', []],
    ]) assertError(await ackLogged(a, 'deleteMessage', ...args), `deleteMessage ${what}`);

    let from = a.log.length;
    assert.deepEqual(await ackLogged(a, 'deleteMessage', { id: own.id }), { ok: true });
    assert.deepEqual(since(a, from).map((e) => [e.event, e.args[0]]),
      [['messageDeleted', { id: own.id, room: 'help' }], ['ack:deleteMessage', { ok: true }]]);
    from = boss.log.length;
    assert.deepEqual(await ackLogged(boss, 'deleteMessage', { id: other.id }), { ok: true }, 'an admin deletes a user\'s message');
    assert.deepEqual(since(boss, from).map((e) => e.event).filter((e) => e === 'messageDeleted' || e === 'ack:deleteMessage').slice(-2),
      ['messageDeleted', 'ack:deleteMessage']);
    for (const s of [b, carol]) {
      await waitFor(() => events(s, 'messageDeleted').length === 2, 3000, 'both messageDeleted');
      assert.deepEqual(events(s, 'messageDeleted'), [{ id: own.id, room: 'help' }, { id: other.id, room: 'help' }]);
    }
    for (const id of [own.id, other.id]) {
      assertError(await ackLogged(a, 'deleteMessage', { id }), 'already deleted');
      assertError(await ackLogged(boss, 'deleteMessage', { id }), 'already deleted, by an admin');
      assertError(await ackLogged(a, 'editMessage', { id, text: 'back' }), 'edit of a deleted message');
    }
    const { history } = await join(connect('/user', 'dave'), 'help');
    assert.ok(!history.some((m) => m.id === own.id || m.id === other.id), 'deleted messages in the history');
    assert.ok(history.some((m) => m.id === kept.id));
    const page = assertMessages(await ackLogged(a, 'loadHistory', { beforeId: kept.id + 1, limit: 3 }), 'page');
    assert.equal(page.at(-1).id, kept.id);
    assert.ok(!page.some((m) => m.id === own.id || m.id === other.id));
    assert.deepEqual(ids(assertMessages(await ackLogged(a, 'searchMessages', { query: 'zebra' }), 'search')), [kept.id]);
  });

  test('createRoom: creators and admins; titles; unique without regard to case; nsRoomLoad to the namespace', async () => {
    const u = connect('/user', 'alice');
    const cr = connect('/user', 'carol');
    const boss = connect('/user', 'boss');
    const crCreator = connect('/creator', 'carol');
    const bossAdmin = connect('/admin', 'boss');
    for (const s of [u, cr, boss, crCreator, bossAdmin]) await rooms(s);
    assert.deepEqual(titles(events(u, 'nsRoomLoad')[0]).slice(0, 3), ROOMS['/user']);
    const uFrom = u.log.length;

    assertError(await ackLogged(u, 'createRoom', { title: 'mine' }), 'a user');
    for (const [what, title] of [
      ['empty', ''], ['leading space', ' lobby'], ['trailing space', 'lobby '], ['inner space', 'lob by'],
      ['punctuation', 'lobby!'], ['a dot', 'lob.by'], ['a slash', 'a/b'], ['non-ASCII', 'lobbé'],
      ['33 characters', 'a'.repeat(33)], ['a predefined room', 'chat'], ['a predefined room in capitals', 'CHAT'],
    ]) assertError(await ackLogged(cr, 'createRoom', { title }), `createRoom ${what}`);
    for (const [what, args] of [['title a number', [{ title: 5 }]], ['no title', [{}]], ['a string', ['lobby']], ['no argument', []]]) {
      assertError(await ackLogged(cr, 'createRoom', ...args), `createRoom ${what}`);
    }
    assert.deepEqual(pushed(u, uFrom), [], 'refused creations sent nothing');

    const title = `Lobby_${'x'.repeat(26)}`; // 32 characters
    const crFrom = cr.log.length;
    const ack = await ackLogged(cr, 'createRoom', { title });
    assert.deepEqual(keys(ack), ['room']);
    assert.deepEqual(keys(ack.room), KEYS.room);
    assert.equal(ack.room.roomTitle, title);
    assert.equal(ack.room.namespace, '/user');
    assert.equal(ack.room.privateRoom, false);
    assert.ok(Number.isInteger(ack.room.roomId) && ack.room.roomId > 0);
    const creatorSaw = since(cr, crFrom);
    assert.deepEqual(creatorSaw.map((e) => e.event), ['nsRoomLoad', 'ack:createRoom']);
    const list = creatorSaw[0].args[0];
    assert.deepEqual(titles(list).slice(0, 3), ROOMS['/user']);
    assert.deepEqual(list.at(-1), ack.room);
    for (const r of list) assert.deepEqual(keys(r), KEYS.room);
    for (const s of [u, boss]) {
      assert.deepEqual(await waitFor(() => events(s, 'nsRoomLoad')[1], 3000, 'the second nsRoomLoad'), list);
    }
    assert.equal(events(crCreator, 'nsRoomLoad').length, 1, 'another namespace heard nothing');
    for (const t of [title.toLowerCase(), title.toUpperCase(), title]) {
      assertError(await ackLogged(boss, 'createRoom', { title: t }), `taken title ${t}`);
    }
    // Joinable at once; a new socket of the namespace lists it.
    const { ack: joined, history } = await join(u, title);
    assert.deepEqual([joined, history], [{ members: 1 }, []]);
    assert.deepEqual(titles(await rooms(connect('/user', 'dave'))).at(-1), title);

    // /creator: creators; /admin: admins only (creators cannot even connect).
    const inCreator = await ackLogged(crCreator, 'createRoom', { title });
    assert.equal(inCreator.room.namespace, '/creator', 'the same title in another namespace');
    const inAdmin = await ackLogged(bossAdmin, 'createRoom', { title: 'war-room' });
    assert.equal(inAdmin.room.roomTitle, 'war-room');
    assert.equal((await chat.connectError(connect('/admin', 'carol'))).message, 'forbidden');
  });

  test('deleteRoom: admins only; roomDeleted, then nsRoomLoad; its sockets are in no room and leave its count', async () => {
    const cr = connect('/user', 'carol');
    const a = connect('/user', 'alice');
    const b = connect('/user', 'bob');
    const boss = connect('/user', 'boss');
    await rooms(cr);
    const title = 'Doomed';
    assert.equal((await ackLogged(cr, 'createRoom', { title })).room.roomTitle, title);
    await join(a, title);
    await join(boss, title);
    await join(b, 'chat');
    const m = await send(a, 'soon gone');
    await waitFor(() => events(boss, 'comPeRoom').some((x) => x.id === m.id), 3000, 'message');

    for (const [what, s, arg] of [
      ['a creator', cr, { title }], ['a user', a, { title }], ['an unknown room', boss, { title: 'nope' }],
      ['a room of another namespace', boss, { title: 'general' }], ['an invalid title', boss, { title: 'doo med' }],
      ['title a number', boss, { title: 1 }],
    ]) assertError(await ackLogged(s, 'deleteRoom', arg), `deleteRoom by/of ${what}`);
    assertError(await ackLogged(boss, 'deleteRoom'), 'deleteRoom without argument');

    const marks = [a, b, cr, boss].map((s) => s.log.length);
    assert.deepEqual(await ackLogged(boss, 'deleteRoom', { title: 'dOOMED' }), { ok: true });
    const want = titles(events(cr, 'nsRoomLoad')[0]); // the list before the creation
    // The room events in their order; messages and the membership events
    // (a trailing presence or updateMembers of the joins above, up to a
    // second late) may come in between and are not what is checked here.
    const other = new Set(['comPeRoom', 'presence', 'updateMembers', 'roomActivity', 'userTyping']);
    const seen = (s, i) => since(s, marks[i]).map((e) => e.event).filter((e) => !other.has(e));
    assert.deepEqual(seen(boss, 3), ['roomDeleted', 'nsRoomLoad', 'ack:deleteRoom']);
    for (const [s, i] of [[a, 0]]) {
      await waitFor(() => seen(s, i).length >= 2, 10_000, 'roomDeleted and nsRoomLoad');
      assert.deepEqual(seen(s, i), ['roomDeleted', 'nsRoomLoad']);
    }
    for (const [s, i] of [[b, 1], [cr, 2]]) {
      await waitFor(() => seen(s, i).length >= 1, 10_000, 'nsRoomLoad');
      assert.deepEqual(seen(s, i), ['nsRoomLoad'], 'sockets not in the room hear only nsRoomLoad');
    }
    for (const s of [a, boss]) {
      assert.deepEqual(events(s, 'roomDeleted'), [{ room: title }]);
      assert.deepEqual(titles(events(s, 'nsRoomLoad').at(-1)), want);
      assertError(await send(s, 'anyone here?'), 'sending in no room');
      assertError(await ackLogged(s, 'loadHistory', { beforeId: m.id + 1 }), 'loadHistory in no room');
    }
    assertError(await ackLogged(a, 'joinRoom', title), 'joining the deleted room');
    assert.deepEqual(assertMessages(await ackLogged(a, 'searchMessages', { query: 'soon gone' }), 'search'), []);
    // Created again: empty, and the old members are not counted in it.
    assert.equal((await ackLogged(cr, 'createRoom', { title: 'doomed' })).room.roomTitle, 'doomed');
    const again = await join(connect('/user', 'dave'), 'doomed');
    assert.deepEqual([again.ack, again.history], [{ members: 1 }, []]);
    // The deleter and the deleted room's sockets are usable.
    await join(a, 'chat');
    assert.deepEqual(keys(await send(a, 'back in chat')), ['id']);
  });

  test('searchMessages: every word, newest first, up to 50, in the namespace or one room; syntax is text', async () => {
    const a = connect('/user', 'alice');
    await join(a, 'chat');
    const fox1 = await send(a, 'The quick brown fox');
    await join(a, 'random');
    const fox2 = await send(a, 'a QUICK red fox, jumping');
    const syntax = await send(a, 'quick "NOT" fox OR title:x NEAR(a b) * ^c -d');
    const c = connect('/creator', 'carol');
    await join(c, 'drafts');
    await send(c, 'quick fox of the creators');
    const search = async (arg) => ids(assertMessages(await ackLogged(a, 'searchMessages', arg), JSON.stringify(arg)));

    assert.deepEqual(await search({ query: 'fox' }), [syntax.id, fox2.id, fox1.id]);
    assert.deepEqual(await search({ query: 'QUICK Fox' }), [syntax.id, fox2.id, fox1.id]);
    assert.deepEqual(await search({ query: 'fox brown' }), [fox1.id], 'every word must match');
    assert.deepEqual(await search({ query: 'fox lazy' }), []);
    assert.deepEqual(await search({ query: 'fox', room: 'chat' }), [fox1.id]);
    assert.deepEqual(await search({ query: 'jump' }), [], 'words, not prefixes');
    for (const q of ['"NOT"', 'NOT', 'OR fox', 'title:x', 'NEAR(a b)', '-d', '^c']) {
      assert.deepEqual(await search({ query: q }), [syntax.id], `syntax as text: ${q}`);
    }
    assert.deepEqual(await search({ query: 'fox*' }), [syntax.id, fox2.id, fox1.id]);
    assert.deepEqual(await search({ query: 'bro*' }), []);
    const found = assertMessages(await ackLogged(a, 'searchMessages', { query: 'brown' }), 'brown');
    assert.deepEqual(found[0], { id: fox1.id, namespace: '/user', room: 'chat', username: 'alice', text: 'The quick brown fox', time: found[0].time, edited: 0 });
    assert.ok(Number.isInteger(found[0].time) && found[0].time > 0);
    // Up to 50, newest first.
    await join(a, 'help');
    const many = [];
    for (let i = 0; i < 55; i++) many.push((await send(a, `haystack ${i}`)).id);
    assert.deepEqual(await search({ query: 'haystack' }), many.slice(5).reverse());

    const aFrom = a.log.length;
    for (const [what, args] of [
      ['an empty query', [{ query: '' }]], ['white space', [{ query: '   ' }]], ['no words', [{ query: '"" * - :' }]],
      ['201 characters', [{ query: 'a'.repeat(201) }]],
      ['17 words', [{ query: Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ') }]],
      ['an unknown room', [{ query: 'fox', room: 'nope' }]], ['a room of another namespace', [{ query: 'fox', room: 'drafts' }]],
      ['an empty room title', [{ query: 'fox', room: '' }]], ['room a number', [{ query: 'fox', room: 5 }]],
      ['query a number', [{ query: 5 }]], ['no query', [{}]], ['a string', ['fox']], ['no argument', []],
    ]) assertError(await ackLogged(a, 'searchMessages', ...args), `searchMessages ${what}`);
    assert.deepEqual(pushed(a, aFrom), [], 'nothing sent');
    assert.deepEqual(keys(await send(a, 'still usable')), ['id']);
  });
});

describe('two nodes (Redis + PostgreSQL)', () => {
  let skip = null;
  let c;
  const clients = new chat.Clients();
  const cookies = {}; // name -> [cookie on node 0, cookie on node 1]

  before(async () => {
    skip = await cluster.servicesMissing();
    if (skip) {
      if (process.env.CI) throw new Error(skip);
      return;
    }
    c = await cluster.startCluster({ args: ['-msg-rate', '0'] });
    await chat.createAdmin(c.db, 'boss', 'boss-password');
    cookies.boss = await Promise.all(c.urls.map((u) => chat.login(u, 'boss', 'boss-password')));
    for (const [i, name] of ['alice', 'bob', 'carol'].entries()) {
      await chat.signup(c.urls[i % 2], name, `${name}-password`);
    }
    await chat.setRole(c.db, 'carol', 'creator');
    for (const name of ['alice', 'bob', 'carol']) {
      cookies[name] = await Promise.all(c.urls.map((u) => chat.login(u, name, `${name}-password`)));
    }
  });
  after(async () => {
    clients.closeAll();
    if (c) await c.stop();
  });
  afterEach(() => clients.closeAll());

  // connect opens a /user socket of name on node i (0 or 1).
  const connect = (name, i) => clients.connect(c.urls[i], '/user', cookies[name][i]);

  // auditRows reads the audit of moderators' deletions from the cluster's
  // schema.
  function auditRows() {
    return new Promise((resolve, reject) => {
      execFile('psql', [cluster.databaseURL(), '-AtF', '|', '-c',
        `SELECT message_id, room, author, deleter, text FROM "${c.schema}".message_deletions ORDER BY id`],
      { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim().split('\n').filter(Boolean))));
    });
  }

  test('messageEdited and messageDeleted reach the room on the other node; the audit is written', async (t) => {
    if (skip) return t.skip(skip);
    const a = connect('alice', 0);
    const b = connect('bob', 1);
    const boss = connect('boss', 1);
    for (const s of [a, b, boss]) await join(s, 'random');
    const m = await send(a, 'said on node 0');
    await waitFor(() => events(b, 'comPeRoom').some((x) => x.id === m.id), 4000, 'the message on node 1');

    assert.deepEqual(await ackLogged(a, 'editMessage', { id: m.id, text: 'edited on node 0' }), { ok: true });
    const edited = await waitFor(() => events(b, 'messageEdited')[0], 4000, 'messageEdited on node 1');
    assert.deepEqual([edited.id, edited.room, edited.text], [m.id, 'random', 'edited on node 0']);
    // Node 1's history has the edit.
    await waitFor(async () => {
      const { history } = await join(connect('carol', 1), 'random');
      return history.some((x) => x.id === m.id && x.text === 'edited on node 0' && x.edited === edited.edited);
    }, 4000, 'the edit in node 1\'s history');

    assert.deepEqual(await ackLogged(boss, 'deleteMessage', { id: m.id }), { ok: true });
    assert.deepEqual(await waitFor(() => events(a, 'messageDeleted')[0], 4000, 'messageDeleted on node 0'), { id: m.id, room: 'random' });
    await waitFor(async () => {
      const { history } = await join(connect('carol', 0), 'random');
      return !history.some((x) => x.id === m.id);
    }, 4000, 'the deletion in node 0\'s history');
    assert.deepEqual(await auditRows(), [`${m.id}|random|alice|boss|edited on node 0`]);
  });

  test('createRoom and deleteRoom reach every node: nsRoomLoad, roomDeleted; search finds a message of the other node', async (t) => {
    if (skip) return t.skip(skip);
    const cr = connect('carol', 0);
    const a = connect('alice', 0);
    const b = connect('bob', 1);
    const boss = connect('boss', 1);
    for (const s of [cr, a, b, boss]) await waitFor(() => events(s, 'nsRoomLoad')[0], 5000, 'nsRoomLoad');

    const { room } = await ackLogged(cr, 'createRoom', { title: 'Hall' });
    assert.equal(room.roomTitle, 'Hall');
    for (const s of [a, b, boss]) {
      const list = await waitFor(() => events(s, 'nsRoomLoad')[1], 4000, 'the new nsRoomLoad');
      assert.deepEqual(list.at(-1), room);
    }
    // Joinable on both nodes at once.
    await join(a, 'Hall');
    await join(b, 'Hall');
    const m = await send(a, 'a needle from node 0');
    await waitFor(() => events(b, 'comPeRoom').some((x) => x.id === m.id), 4000, 'the message on node 1');
    const found = assertMessages(await ackLogged(boss, 'searchMessages', { query: 'needle', room: 'Hall' }), 'search on node 1');
    assert.deepEqual(ids(found), [m.id]);
    assert.equal(found[0].text, 'a needle from node 0');

    assert.deepEqual(await ackLogged(boss, 'deleteRoom', { title: 'HALL' }), { ok: true });
    for (const s of [a, b]) {
      await waitFor(() => events(s, 'nsRoomLoad').length === 3, 4000, 'nsRoomLoad after the deletion');
      assert.deepEqual(events(s, 'roomDeleted'), [{ room: 'Hall' }]);
      const order = s.log.map((e) => e.event).filter((e) => e === 'roomDeleted' || e === 'nsRoomLoad');
      assert.deepEqual(order, ['nsRoomLoad', 'nsRoomLoad', 'roomDeleted', 'nsRoomLoad']);
      assert.ok(!titles(events(s, 'nsRoomLoad')[2]).includes('Hall'));
      assertError(await send(s, 'still in Hall?'), 'sending after the room was deleted');
    }
    await waitFor(() => events(cr, 'nsRoomLoad').length === 3, 4000, 'nsRoomLoad of a socket in no room');
    assert.deepEqual(events(cr, 'roomDeleted'), []);
    assertError(await ackLogged(a, 'joinRoom', 'Hall'), 'joining the deleted room on node 0');
    assertError(await ackLogged(b, 'joinRoom', 'Hall'), 'joining the deleted room on node 1');
    assert.deepEqual(assertMessages(await ackLogged(a, 'searchMessages', { query: 'needle' }), 'search after'), []);
  });
});
