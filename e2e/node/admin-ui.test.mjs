// End-to-end tests of the Socket.IO Admin UI support (socketio/admin) in
// chatd: the official socket.io-client plays the dashboard on the admin
// namespace, with the login of -admin-ui, next to chat users.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { io } = require('socket.io-client');
// The reference's own bcrypt (a dependency of @socket.io/admin-ui): the
// hash it makes is what its users put in their configuration.
const bcrypt = require('bcryptjs');
const chat = require('../lib/chat.js');
const { waitFor, once, connected, connectError, events } = chat;

const NSP = '/socket.io-admin';
const USER = 'ops';
const PASSWORD = 'dashboard-password';

let tmp;
let server;
const clients = new chat.Clients();
const cookie = {};

before(async () => {
  tmp = chat.tempDB();
  server = await chat.startChatd(tmp.db, ['-admin-ui', '-admin-ui-user', USER], {
    CHATD_ADMIN_UI_PASSWORD_HASH: bcrypt.hashSync(PASSWORD, 8),
  });
  cookie.alice = await chat.signup(server.url, 'alice', 'alice-password');
  cookie.bob = await chat.signup(server.url, 'bob', 'bob-password');
});

after(async () => {
  clients.closeAll();
  if (server) await server.stop();
  if (tmp) tmp.cleanup();
});

afterEach(() => clients.closeAll());

// dashboard connects to the admin namespace as the dashboard does.
function dashboard(auth, opts = {}) {
  const s = io(server.url + NSP, { forceNew: true, reconnection: false, auth, ...opts });
  chat.record(s);
  clients.sockets.push(s);
  return s;
}

test('a wrong login is refused with "invalid credentials"', async () => {
  for (const auth of [{}, { username: USER, password: 'wrong' }, { username: 'alice', password: PASSWORD }]) {
    const err = await connectError(dashboard(auth));
    assert.equal(err.message, 'invalid credentials');
  }
});

test('all_sockets lists the chat users; _disconnect ends one, who sees it', async () => {
  const alice = await connected(clients.connect(server.url, '/user', cookie.alice));
  const bob = await connected(clients.connect(server.url, '/user', cookie.bob));

  const admin = dashboard({ username: USER, password: PASSWORD });
  await connected(admin);
  const sessionId = await waitFor(() => events(admin, 'session')[0], 5000, 'session');
  assert.match(sessionId, /^[0-9a-f]{16}$/);
  const config = await waitFor(() => events(admin, 'config')[0], 5000, 'config');
  assert.ok(config.supportedFeatures.includes('DISCONNECT'), JSON.stringify(config));
  const all = await waitFor(() => events(admin, 'all_sockets')[0], 5000, 'all_sockets');

  const users = all.filter((s) => s.nsp === '/user');
  assert.deepEqual(users.map((s) => s.id).sort(), [alice.id, bob.id].sort());
  const a = users.find((s) => s.id === alice.id);
  assert.deepEqual(Object.keys(a).sort(), ['clientId', 'data', 'handshake', 'id', 'nsp', 'rooms', 'transport']);
  assert.equal(a.transport, 'websocket');
  assert.equal(a.data.username, 'alice');
  assert.ok(a.rooms.includes(alice.id));
  // The session cookie never reaches the dashboard.
  assert.equal(a.handshake.headers.cookie, '[redacted]');
  assert.ok(!JSON.stringify(all).includes(cookie.alice.split('=')[1]), 'a session cookie reached the dashboard');

  const stats = await waitFor(() => events(admin, 'server_stats')[0], 5000, 'server_stats');
  for (const k of ['serverId', 'hostname', 'pid', 'uptime', 'clientsCount', 'pollingClientsCount', 'aggregatedEvents', 'namespaces']) {
    assert.ok(k in stats, `server_stats lacks ${k}: ${JSON.stringify(stats)}`);
  }

  const aliceId = alice.id; // the client forgets it once disconnected
  const gone = once(alice, 'disconnect');
  admin.emit('_disconnect', '/user', false, aliceId);
  const [reason] = await gone;
  assert.equal(reason, 'io server disconnect');
  await waitFor(() => admin.log.some((e) => e.event === 'socket_disconnected' && e.args[0] === '/user' && e.args[1] === aliceId), 5000, 'socket_disconnected');
  assert.ok(bob.connected, 'bob was disconnected too');

  // A third user is reported as it connects.
  const carolCookie = await chat.signup(server.url, 'carol', 'carol-password');
  const carol = await connected(clients.connect(server.url, '/user', carolCookie));
  const sc = await waitFor(() => admin.log.find((e) => e.event === 'socket_connected' && e.args[0].id === carol.id), 5000, 'socket_connected');
  assert.equal(sc.args[0].nsp, '/user');

  // The session id logs in again without the password.
  const again = dashboard({ sessionId });
  await connected(again);
});

test('the dashboard over polling sees its upgrade', async () => {
  const admin = dashboard({ username: USER, password: PASSWORD }, { transports: ['polling', 'websocket'] });
  await connected(admin);
  await waitFor(() => admin.log.some((e) => e.event === 'socket_updated' && e.args[0].id === admin.id && e.args[0].transport === 'websocket'), 5000, 'socket_updated');
});
