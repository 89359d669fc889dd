/*
 * chatd chat page. Speaks docs/protocol.md with the official Socket.IO
 * client, which the page loads from /socket.io/socket.io.min.js (global io).
 *
 * Flow: connect to "/" and wait for `data` (the namespaces this user may
 * enter); connect to the chosen namespace; on `nsRoomLoad` join the current
 * room (or the first one) with `joinRoom` + ack, then `historyUpdate` fills
 * the message list; `comPeRoom` appends, `updateMembers` updates the member
 * count; the form sends `newMsg2Server` with an ack. After a reconnect the
 * server sends `nsRoomLoad` again and the current room is joined again.
 * Message text is only ever set with textContent, never as markup.
 *
 * data-testid attributes (for end-to-end tests):
 *   conn-status       connection state; data-state = connecting | connected |
 *                     reconnecting | disconnected
 *   current-user      the signed-in user (data-username, data-role)
 *   logout            log-out button;  admin-link  link to /admin/users (admins)
 *   error             the error banner (hidden when there is no error)
 *   namespace-list    list of namespaces; namespace  one entry (data-endpoint,
 *                     aria-current="true" on the current one)
 *   namespace-title   heading of the room list (the current namespace's title)
 *   room-list         list of rooms; room  one entry (data-room,
 *                     aria-current="true" on the current one)
 *   room-members      member count badge inside the current room's entry
 *   room-title        heading of the message pane (the current room)
 *   member-count      "N members" of the current room (data-count)
 *   messages          the message list; message  one message (data-id)
 *   message-user, message-time (datetime attribute, ISO), message-text
 *   message-form, message-input, send   the composer (Enter sends)
 */
(function () {
  'use strict';

  var byId = function (id) { return document.querySelector('[data-testid="' + id + '"]'); };
  var el = {
    status: byId('conn-status'),
    me: byId('current-user'),
    error: byId('error'),
    nsList: byId('namespace-list'),
    nsTitle: byId('namespace-title'),
    roomList: byId('room-list'),
    roomTitle: byId('room-title'),
    members: byId('member-count'),
    messages: byId('messages'),
    form: byId('message-form'),
    input: byId('message-input'),
    send: byId('send')
  };
  var me = el.me ? el.me.getAttribute('data-username') : '';

  var state = {
    namespaces: [],   // Namespace[] from `data`
    endpoint: null,   // current namespace endpoint
    nsSocket: null,   // socket of the current namespace
    rooms: [],        // Room[] of the current namespace
    room: null,       // title of the joined room
    joining: null,    // title of a room being joined
    members: null,    // member count of the joined room
    seen: new Set()   // message ids shown in the current room
  };

  var ACK_TIMEOUT = 10000;

  if (typeof io !== 'function') {
    setStatus('disconnected', 'Offline');
    showError('The chat client could not be loaded. Reload the page to try again.');
    return;
  }

  // ---- status and errors -------------------------------------------------

  function setStatus(kind, text) {
    el.status.setAttribute('data-state', kind);
    el.status.textContent = text;
  }

  function showError(text) {
    el.error.textContent = text;
    el.error.hidden = false;
  }

  function clearError() {
    el.error.textContent = '';
    el.error.hidden = true;
  }

  function describeConnectError(err) {
    var msg = (err && err.message) || 'connection failed';
    if (msg === 'unauthorized') return 'Your session has ended. Please log in again.';
    if (msg === 'forbidden') return 'You are not allowed to enter this namespace.';
    return 'Cannot connect: ' + msg;
  }

  function setComposerEnabled(on) {
    el.input.disabled = !on;
    el.send.disabled = !on;
  }

  // ---- rendering -------------------------------------------------------

  function renderNamespaces() {
    el.nsList.replaceChildren();
    state.namespaces.forEach(function (ns) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'ns';
      b.setAttribute('data-testid', 'namespace');
      b.setAttribute('data-endpoint', ns.endpoint);
      b.title = ns.nsTitle;
      if (ns.endpoint === state.endpoint) b.setAttribute('aria-current', 'true');
      var img = document.createElement('img');
      img.src = ns.img;
      img.alt = '';
      img.width = 40;
      img.height = 40;
      var span = document.createElement('span');
      span.className = 'ns-title';
      span.textContent = ns.nsTitle;
      b.append(img, span);
      li.append(b);
      el.nsList.append(li);
    });
  }

  function markCurrentNamespace() {
    el.nsList.querySelectorAll('[data-testid="namespace"]').forEach(function (b) {
      if (b.getAttribute('data-endpoint') === state.endpoint) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    });
    var ns = state.namespaces.find(function (n) { return n.endpoint === state.endpoint; });
    el.nsTitle.textContent = ns ? ns.nsTitle : 'Rooms';
  }

  function renderRooms() {
    el.roomList.replaceChildren();
    state.rooms.forEach(function (room) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'room-btn';
      b.setAttribute('data-testid', 'room');
      b.setAttribute('data-room', room.roomTitle);
      var name = document.createElement('span');
      name.className = 'room-name';
      name.textContent = room.roomTitle;
      b.append(name);
      li.append(b);
      el.roomList.append(li);
    });
    markCurrentRoom();
  }

  function markCurrentRoom() {
    el.roomList.querySelectorAll('[data-testid="room"]').forEach(function (b) {
      var current = b.getAttribute('data-room') === state.room;
      var badge = b.querySelector('[data-testid="room-members"]');
      if (current) {
        b.setAttribute('aria-current', 'true');
        if (!badge) {
          badge = document.createElement('span');
          badge.className = 'room-members';
          badge.setAttribute('data-testid', 'room-members');
          b.append(badge);
        }
        badge.textContent = state.members == null ? '' : String(state.members);
        badge.setAttribute('aria-label', state.members == null ? '' : state.members + ' members');
      } else {
        b.removeAttribute('aria-current');
        if (badge) badge.remove();
      }
    });
    el.roomTitle.textContent = state.room ? state.room : 'Pick a room';
    if (state.members == null) {
      el.members.textContent = '';
      el.members.removeAttribute('data-count');
    } else {
      el.members.textContent = state.members + (state.members === 1 ? ' member' : ' members');
      el.members.setAttribute('data-count', String(state.members));
    }
  }

  function formatTime(ms) {
    var d = new Date(ms);
    var now = new Date();
    var opts = d.toDateString() === now.toDateString()
      ? { hour: '2-digit', minute: '2-digit' }
      : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
    try { return d.toLocaleString(undefined, opts); } catch (e) { return d.toISOString(); }
  }

  function messageNode(m) {
    var li = document.createElement('li');
    li.className = 'message' + (m.username === me ? ' mine' : '');
    li.setAttribute('data-testid', 'message');
    li.setAttribute('data-id', String(m.id));
    var meta = document.createElement('div');
    meta.className = 'message-meta';
    var user = document.createElement('span');
    user.className = 'message-user';
    user.setAttribute('data-testid', 'message-user');
    user.textContent = m.username;
    var time = document.createElement('time');
    time.className = 'message-time';
    time.setAttribute('data-testid', 'message-time');
    time.dateTime = new Date(m.time).toISOString();
    time.textContent = formatTime(m.time);
    meta.append(user, time);
    var text = document.createElement('p');
    text.className = 'message-text';
    text.setAttribute('data-testid', 'message-text');
    text.textContent = m.text; // text, never markup
    li.append(meta, text);
    return li;
  }

  function nearBottom() {
    var m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom() {
    el.messages.scrollTop = el.messages.scrollHeight;
  }

  function renderHistory(msgs) {
    state.seen = new Set();
    el.messages.replaceChildren();
    if (!msgs.length) {
      var empty = document.createElement('li');
      empty.className = 'empty';
      empty.setAttribute('data-testid', 'messages-empty');
      empty.textContent = 'No messages yet. Say hello!';
      el.messages.append(empty);
    }
    msgs.forEach(function (m) {
      state.seen.add(m.id);
      el.messages.append(messageNode(m));
    });
    scrollToBottom();
  }

  function appendMessage(m) {
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    var stick = nearBottom() || m.username === me;
    var empty = el.messages.querySelector('.empty');
    if (empty) empty.remove();
    el.messages.append(messageNode(m));
    if (stick) scrollToBottom();
  }

  // ---- protocol --------------------------------------------------------

  function joinRoom(title) {
    var s = state.nsSocket;
    if (!s || !title) return;
    state.joining = title;
    s.timeout(ACK_TIMEOUT).emit('joinRoom', title, function (err, ack) {
      if (s !== state.nsSocket || state.joining !== title) return; // superseded
      state.joining = null;
      if (err) { showError('Joining "' + title + '" timed out. Try again.'); return; }
      if (!ack || ack.error) { showError('Cannot join "' + title + '": ' + ((ack && ack.error) || 'no answer')); return; }
      clearError();
      if (state.room !== title) {
        state.room = title;
        el.messages.replaceChildren();
        state.seen = new Set();
      }
      state.members = typeof ack.members === 'number' ? ack.members : null;
      markCurrentRoom();
      setComposerEnabled(true);
    });
  }

  // One socket per namespace, all on the root socket's Manager (one
  // Engine.IO connection). Leaving a namespace disconnects its socket;
  // entering it again reconnects the same socket, whose handlers stay.
  var sockets = {};

  function enterNamespace(endpoint) {
    if (state.endpoint === endpoint && state.nsSocket) return;
    leaveNamespace();
    state.endpoint = endpoint;
    state.rooms = [];
    state.room = null;
    state.joining = null;
    state.members = null;
    state.seen = new Set();
    el.messages.replaceChildren();
    renderRooms();
    markCurrentNamespace();
    setComposerEnabled(false);

    var s = sockets[endpoint];
    if (s) {
      state.nsSocket = s;
      s.connect();
      return;
    }
    s = root.io.socket(endpoint);
    sockets[endpoint] = s;
    state.nsSocket = s;
    var mine = function () { return state.nsSocket === s; };

    s.on('nsRoomLoad', function (rooms) {
      if (!mine()) return;
      state.rooms = Array.isArray(rooms) ? rooms : [];
      var titles = state.rooms.map(function (r) { return r.roomTitle; });
      var target = state.room && titles.indexOf(state.room) >= 0 ? state.room : titles[0];
      if (state.room && target !== state.room) {
        state.room = null;
        state.members = null;
      }
      renderRooms();
      if (target) joinRoom(target);
    });
    s.on('historyUpdate', function (msgs) {
      if (!mine() || !Array.isArray(msgs)) return;
      renderHistory(msgs.filter(function (m) { return m.room === state.room; }));
    });
    s.on('comPeRoom', function (m) {
      if (mine() && m && m.room === state.room && m.namespace === state.endpoint) appendMessage(m);
    });
    s.on('updateMembers', function (u) {
      if (mine() && u && u.room === state.room && typeof u.members === 'number') {
        state.members = u.members;
        markCurrentRoom();
      }
    });
    s.on('connect_error', function (err) {
      if (!mine()) return;
      showError(describeConnectError(err));
      setComposerEnabled(false);
    });
    s.on('disconnect', function () {
      if (mine()) setComposerEnabled(false);
    });
  }

  function leaveNamespace() {
    if (state.nsSocket) state.nsSocket.disconnect();
    state.nsSocket = null;
  }

  function sendMessage(text) {
    var s = state.nsSocket;
    if (!s || !s.connected || !state.room) return;
    el.input.value = '';
    s.timeout(ACK_TIMEOUT).emit('newMsg2Server', { text: text }, function (err, ack) {
      var failure = err ? 'Sending timed out; the message may not have been stored.'
        : (!ack || ack.error) ? 'Not sent: ' + ((ack && ack.error) || 'no answer') : null;
      if (failure) {
        showError(failure);
        if (!el.input.value) el.input.value = text; // give the text back
        return;
      }
      clearError();
    });
  }

  // ---- wiring ----------------------------------------------------------

  el.nsList.addEventListener('click', function (e) {
    var b = e.target.closest('[data-testid="namespace"]');
    if (b) enterNamespace(b.getAttribute('data-endpoint'));
  });

  el.roomList.addEventListener('click', function (e) {
    var b = e.target.closest('[data-testid="room"]');
    if (b) {
      joinRoom(b.getAttribute('data-room'));
      el.input.focus();
    }
  });

  el.form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = el.input.value;
    if (!text.trim()) return;
    sendMessage(text);
  });

  var root = io('/');
  setStatus('connecting', 'Connecting…');

  root.on('connect', function () {
    setStatus('connected', 'Connected');
    if (el.error.textContent.indexOf('Cannot connect') === 0 || el.error.textContent.indexOf('Connection lost') === 0) clearError();
  });
  root.on('disconnect', function (reason) {
    if (reason === 'io client disconnect') return;
    if (reason === 'io server disconnect') {
      setStatus('disconnected', 'Disconnected');
      showError('The server closed the connection. Reload the page to reconnect.');
      return;
    }
    setStatus('reconnecting', 'Reconnecting…');
  });
  root.on('connect_error', function (err) {
    var msg = err && err.message;
    if (msg === 'unauthorized' || msg === 'forbidden') {
      setStatus('disconnected', 'Signed out');
      showError(describeConnectError(err));
      return;
    }
    setStatus(root.active ? 'reconnecting' : 'disconnected', root.active ? 'Reconnecting…' : 'Disconnected');
    showError('Connection lost: ' + (msg || 'server unreachable') + '. Retrying…');
  });
  root.on('data', function (namespaces) {
    state.namespaces = Array.isArray(namespaces) ? namespaces : [];
    renderNamespaces();
    var endpoints = state.namespaces.map(function (n) { return n.endpoint; });
    if (state.endpoint && endpoints.indexOf(state.endpoint) >= 0) {
      markCurrentNamespace();
      return;
    }
    leaveNamespace();
    state.endpoint = null;
    if (endpoints.length) enterNamespace(endpoints[0]);
  });
})();
