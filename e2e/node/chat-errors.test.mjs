// End-to-end tests of chatd's answers to invalid input (docs/protocol.md,
// Rules): every invalid joinRoom / newMsg2Server gets an { error } ack with
// a non-empty message, nothing is stored or broadcast, and the connection
// stays up and usable. Also the per-user message rate limit.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const chat = require('../lib/chat.js');
const { keys, join, send, events, waitFor, sleep, ackLogged, assertError } = chat;

const clients = new chat.Clients();
afterEach(() => clients.closeAll());

// emitRaw emits event with exactly the given arguments and an ack
// callback; resolves with the ack's first argument.
function emitRaw(s, event, args) {
  return ackLogged(s, event, ...args);
}

// startWithUsers starts chatd on a new database with alice, bob and carol
// signed up; resolves with {server, tmp, cookie}.
async function startWithUsers(args) {
  const tmp = chat.tempDB();
  const server = await chat.startChatd(tmp.db, args);
  const cookie = {};
  for (const name of ['alice', 'bob', 'carol']) {
    cookie[name] = await chat.signup(server.url, name, `${name}-password`);
  }
  return { server, tmp, cookie };
}

describe('invalid input (no rate limit)', () => {
  let env;
  before(async () => { env = await startWithUsers(['-msg-rate', '0']); });
  after(async () => {
    clients.closeAll();
    if (env) { await env.server.stop(); env.tmp.cleanup(); }
  });
  const connect = (name) => clients.connect(env.server.url, '/user', env.cookie[name]);

  test('joinRoom: unknown room and wrong types; the socket stays where it was', async () => {
    const a = connect('alice');
    const b = connect('bob');
    await join(a, 'chat');
    await join(b, 'chat');
    // Both hear the count of b's join before the snapshots.
    for (const s of [a, b]) {
      await waitFor(() => events(s, 'updateMembers').some((u) => u.room === 'chat' && u.members === 2),
        3000, 'count 2');
    }
    const aBefore = a.log.length;
    const bBefore = b.log.length;
    const cases = [
      ['unknown room', ['no-such-room']],
      ['room of another namespace', ['general']],
      ['empty title', ['']],
      ['case differs', ['CHAT ']],
      ['number', [42]],
      ['null', [null]],
      ['object', [{ roomTitle: 'random' }]],
      ['array', [['random']]],
      ['boolean', [true]],
      ['binary', [Buffer.from('random')]],
      ['no argument', []],
    ];
    for (const [what, args] of cases) {
      assertError(await emitRaw(a, 'joinRoom', args), `joinRoom ${what}`);
    }
    // No history, no membership change (coalesced updates come within 1 s).
    await sleep(1300);
    assert.deepEqual(a.log.slice(aBefore).map((e) => e.event), cases.map(() => 'ack:joinRoom'));
    assert.deepEqual(b.log.slice(bBefore), []);
    assert.ok(a.connected);
    // a is still in chat: gets chat's messages and can send there.
    const m = await send(b, 'still here?');
    await waitFor(() => events(a, 'comPeRoom').some((x) => x.id === m.id), 3000, 'message to a');
    const mine = await send(a, 'yes');
    assert.deepEqual(keys(mine), ['id']);
    assert.equal(events(b, 'comPeRoom').at(-1).room, 'chat');
    const again = await join(a, 'chat');
    assert.deepEqual(again.ack, { members: 2 });
  });

  test('newMsg2Server: wrong types, empty, white space only, too long; nothing stored or sent', async () => {
    const a = connect('alice');
    const b = connect('bob');
    await join(a, 'random');
    const before = (await join(b, 'random')).history;
    const bBefore = b.log.length;
    const cases = [
      ['a string', ['just text']],
      ['a number', [42]],
      ['null', [null]],
      ['an array', [['text']]],
      ['no text key', [{}]],
      ['other key', [{ message: 'hi' }]],
      ['text number', [{ text: 5 }]],
      ['text null', [{ text: null }]],
      ['text array', [{ text: ['hi'] }]],
      ['text object', [{ text: { text: 'hi' } }]],
      ['text boolean', [{ text: true }]],
      ['text binary', [{ text: Buffer.from('binary text') }]],
      ['binary', [Buffer.from('binary')]],
      ['no argument', []],
      ['empty', [{ text: '' }]],
      ['spaces', [{ text: '     ' }]],
      ['white space', [{ text: ' \t\n\r\v\f ' }]],
      ['Unicode white space', [{ text: '\u00a0\u2003\u3000\u2028\u2029\u0085' }]],
      ['2001 ASCII', [{ text: 'x'.repeat(2001) }]],
      ['2001 code points outside the BMP', [{ text: '😀'.repeat(2001) }]],
      ['2001 after trimming', [{ text: `  ${'é'.repeat(2001)}  ` }]],
      ['a NUL character', [{ text: 'a\u0000b' }]],
      ['very long', [{ text: 'y'.repeat(100_000) }]],
    ];
    for (const [what, args] of cases) {
      assertError(await emitRaw(a, 'newMsg2Server', args), `newMsg2Server ${what}`);
    }
    assert.deepEqual(events(a, 'comPeRoom'), []);
    assert.ok(a.connected);
    // The connection is usable: a valid message goes through, and it is the
    // only thing b got and the only new message in the history.
    const ok = await send(a, 'valid after all that');
    assert.deepEqual(keys(ok), ['id']);
    await waitFor(() => events(b, 'comPeRoom').some((m) => m.id === ok.id), 3000, 'valid message');
    // (updateMembers for b's own join may come after its history: it is
    // not a reply to a's messages.)
    assert.deepEqual(b.log.slice(bBefore).map((e) => e.event).filter((e) => e !== 'updateMembers'), ['comPeRoom']);
    const after = (await join(connect('carol'), 'random')).history;
    assert.deepEqual(after.map((m) => m.id), [...before.map((m) => m.id), ok.id]);
  });

  test('newMsg2Server before joining a room is refused; after joining it works', async () => {
    const a = connect('alice');
    await waitFor(() => events(a, 'nsRoomLoad').length, 5000, 'nsRoomLoad');
    assertError(await send(a, 'nowhere to go'), 'not in a room');
    assertError(await send(a, 'still nowhere'), 'not in a room, again');
    assertError(await emitRaw(a, 'joinRoom', ['nope']), 'unknown room');
    assertError(await send(a, 'after a failed join'), 'not in a room after a failed join');
    const { history } = await join(a, 'help');
    assert.ok(!history.some((m) => /nowhere|failed join/.test(m.text)), 'refused text stored');
    assert.deepEqual(keys(await send(a, 'now in help')), ['id']);
  });

  test('newMsg2Server without an ack callback is still stored and sent', async () => {
    const a = connect('alice');
    const b = connect('bob');
    await join(a, 'help');
    await join(b, 'help');
    a.emit('newMsg2Server', { text: 'no ack wanted' });
    const m = await waitFor(() => events(b, 'comPeRoom').find((x) => x.text === 'no ack wanted'),
      3000, 'message without ack');
    const { history } = await join(connect('carol'), 'help');
    assert.equal(history.at(-1).id, m.id);
  });

  test('invalid messages of one user do not disturb another user in the room', async () => {
    const a = connect('alice');
    const b = connect('bob');
    await join(a, 'chat');
    await join(b, 'chat');
    for (let i = 0; i < 10; i++) assertError(await send(a, ''), 'empty');
    const ok = await send(b, 'bob is fine');
    await waitFor(() => events(a, 'comPeRoom').some((m) => m.id === ok.id), 3000, 'a gets bob');
  });

  test('with -msg-rate 0 there is no limit', async () => {
    const a = connect('carol');
    await join(a, 'help');
    const acks = await Promise.all(Array.from({ length: 60 }, (_, i) => send(a, `unlimited ${i}`)));
    for (const ack of acks) assert.deepEqual(keys(ack), ['id'], JSON.stringify(ack));
  });
});

// sendUntilRefused sends valid messages one after another until one is
// refused (at most max); resolves with {accepted: ids, refused: ack, ms}.
async function sendUntilRefused(s, prefix, max) {
  const accepted = [];
  const start = Date.now();
  for (let i = 0; i < max; i++) {
    const ack = await send(s, `${prefix} ${i}`);
    if (ack.error !== undefined) return { accepted, refused: ack, text: `${prefix} ${i}`, ms: Date.now() - start };
    accepted.push(ack.id);
  }
  throw new Error(`${max} messages accepted, none refused`);
}

describe('rate limit', () => {
  let env;
  before(async () => { env = await startWithUsers(['-msg-rate', '1']); });
  after(async () => {
    clients.closeAll();
    if (env) { await env.server.stop(); env.tmp.cleanup(); }
  });
  const connect = (name) => clients.connect(env.server.url, '/user', env.cookie[name]);

  test('-msg-rate 1: a burst of 20, then { error }; not stored or sent; usable; per user', async () => {
    const a = connect('alice');
    const a2 = connect('alice');
    const b = connect('bob');
    await join(a, 'chat');
    await join(a2, 'random');
    await join(b, 'chat');
    // Invalid messages do not count.
    for (let i = 0; i < 30; i++) assertError(await send(a, ' '), 'white space');
    const { accepted, refused, text, ms } = await sendUntilRefused(a, 'burst', 60);
    assertError(refused, 'over the rate limit');
    assert.ok(accepted.length >= 20, `only ${accepted.length} accepted before the limit`);
    assert.ok(accepted.length <= 20 + Math.ceil(ms / 1000) + 1,
      `${accepted.length} accepted within ${ms} ms at 1/s with bursts of 20`);
    // The limit is per user: alice's other socket is limited too, bob is not.
    assertError(await send(a2, 'other tab'), 'other socket of the same user');
    const bobs = await send(b, 'bob may talk');
    assert.deepEqual(keys(bobs), ['id']);
    // Refused messages were neither sent nor stored.
    await waitFor(() => events(b, 'comPeRoom').some((m) => m.id === bobs.id), 3000, 'bob message');
    const got = events(b, 'comPeRoom').map((m) => m.id);
    assert.deepEqual(got, [...accepted, bobs.id]);
    const { history } = await join(connect('carol'), 'chat');
    assert.ok(!history.some((m) => m.text === text || m.text === 'other tab'), 'refused message stored');
    assert.deepEqual(history.map((m) => m.id), [...accepted, bobs.id]);
    // Still connected and usable: joins work, and a message goes through
    // again once a token has come back (one per second).
    assert.ok(a.connected);
    assert.deepEqual((await join(a, 'chat')).ack, { members: 3 }); // alice, bob, carol
    let later;
    await waitFor(async () => {
      later = await send(a, 'after the pause');
      return later.error === undefined;
    }, 3000, 'a message accepted again');
    assert.deepEqual(keys(later), ['id']);
  });
});

describe('default rate limit', () => {
  let env;
  before(async () => { env = await startWithUsers([]); });
  after(async () => {
    clients.closeAll();
    if (env) { await env.server.stop(); env.tmp.cleanup(); }
  });

  test('10 per second with bursts of 20 by default', async () => {
    const a = clients.connect(env.server.url, '/user', env.cookie.alice);
    await join(a, 'help');
    const { accepted, refused, ms } = await sendUntilRefused(a, 'default', 200);
    assertError(refused, 'over the default limit');
    assert.ok(accepted.length >= 20 && accepted.length <= 20 + Math.ceil(ms / 100) + 1,
      `${accepted.length} accepted within ${ms} ms`);
  });
});
