/*
 * chatd chat page. Speaks docs/protocol.md with the official Socket.IO
 * client, which the page loads from /socket.io/socket.io.min.js (global io).
 *
 * Flow: connect to "/" and wait for `data` (the namespaces this user may
 * enter); connect to the chosen namespace; on the first `nsRoomLoad` of a
 * connection join the current room (or the one this tab was in, or the first)
 * with `joinRoom` + ack, then `historyUpdate` fills the message list and
 * `roomUsers` the member panel; `comPeRoom` appends, `updateMembers` updates
 * the member count, `presence` the member panel, `userTyping` the "is
 * typing…" line, `messageEdited` / `messageDeleted` change shown messages.
 * Scrolling to the top loads older pages with `loadHistory`. `unread` and
 * `roomActivity` put badges on the other rooms; a room is read when joined,
 * and `markRead` moves the marker while its messages are seen. A later
 * `nsRoomLoad` (a room was created or deleted) only redraws the room list;
 * `roomDeleted` leaves the room. The form sends `newMsg2Server` (or
 * `editMessage` while editing) with an ack; the search form sends
 * `searchMessages` and a result opens its room at that message. After a
 * reconnect the server sends `nsRoomLoad` again and the current room is
 * joined again, unless the server recovered the socket (`socket.recovered`:
 * a short drop on a single node), which is still in its room and was sent
 * the events it missed. Text from the server is only ever set with textContent,
 * never as markup.
 *
 * Keyboard: Enter sends (or saves an edit), Up in an empty composer edits
 * the last own message, Escape cancels an edit (or closes search results).
 *
 * data-testid attributes (for end-to-end tests):
 *   conn-status       connection state; data-state = connecting | connected |
 *                     reconnecting | disconnected
 *   current-user      the signed-in user (data-username, data-role)
 *   logout            log-out button;  admin-link  link to /admin/users (admins)
 *   error             the error banner (hidden when there is no error)
 *   notice            an information line (hidden when there is none)
 *   namespace-list    list of namespaces; namespace  one entry (data-endpoint,
 *                     aria-current="true" on the current one)
 *   rooms-panel, rooms-toggle   the room list and its toggle (narrow screens)
 *   namespace-title   heading of the room list (the current namespace's title)
 *   room-list         list of rooms; room  one entry (data-room,
 *                     aria-current="true" on the current one)
 *   room-members      member count badge inside the current room's entry
 *   room-unread       unread badge inside another room's entry (data-count;
 *                     data-more="true" when newer messages arrived since)
 *   room-delete       delete button of a room (admins; a second click confirms)
 *   room-form, room-new, room-create   adding a room (creators and admins)
 *   room-title        heading of the message pane (the current room)
 *   member-count      "N members" of the current room (data-count)
 *   members-toggle, member-panel, member-list   the people in the room;
 *                     member  one entry (data-username, data-role)
 *   member-more       "and N more" under the list
 *   messages          the message list; message  one message (data-id,
 *                     data-highlight="true" on a message opened from search)
 *   message-user, message-time (datetime attribute, ISO), message-text,
 *   message-edited    the "(edited)" marker; message-edit, message-delete
 *                     its buttons (a second click on delete confirms)
 *   load-older        button above the oldest shown message (more to load)
 *   history-start     shown instead when the start of the room is reached
 *   typing            "NAME is typing…"
 *   message-form, message-input, send   the composer (Enter sends)
 *   editing, edit-cancel   the edit-mode line of the composer
 *   search-form, search-input, search-submit   the search box
 *   search-results, search-title, search-result-list, search-close
 *   search-result     one result (button; data-room, data-id)
 */
(function () {
  'use strict';

  var byId = function (id) { return document.querySelector('[data-testid="' + id + '"]'); };
  var el = {
    status: byId('conn-status'),
    me: byId('current-user'),
    error: byId('error'),
    notice: byId('notice'),
    nsList: byId('namespace-list'),
    nsTitle: byId('namespace-title'),
    roomsPanel: byId('rooms-panel'),
    roomsToggle: byId('rooms-toggle'),
    roomList: byId('room-list'),
    roomForm: byId('room-form'),
    roomNew: byId('room-new'),
    roomTitle: byId('room-title'),
    members: byId('member-count'),
    membersToggle: byId('members-toggle'),
    memberPanel: byId('member-panel'),
    memberList: byId('member-list'),
    memberMore: byId('member-more'),
    messages: byId('messages'),
    typing: byId('typing'),
    form: byId('message-form'),
    label: byId('message-label'),
    input: byId('message-input'),
    send: byId('send'),
    editing: byId('editing'),
    editCancel: byId('edit-cancel'),
    searchForm: byId('search-form'),
    searchInput: byId('search-input'),
    results: byId('search-results'),
    resultsTitle: byId('search-title'),
    resultList: byId('search-result-list'),
    resultsClose: byId('search-close')
  };
  var me = el.me ? el.me.getAttribute('data-username') : '';
  var myRole = el.me ? el.me.getAttribute('data-role') : 'user';

  var state = {
    namespaces: [],   // Namespace[] from `data`
    endpoint: null,   // current namespace endpoint
    nsSocket: null,   // socket of the current namespace
    needJoin: false,  // the namespace socket (re)connected: join on nsRoomLoad
    rooms: [],        // Room[] of the current namespace
    room: null,       // title of the joined room
    joining: null,    // title of a room being joined
    members: null,    // member count of the joined room
    seen: new Set(),  // message ids shown (or deleted) in the current room
    oldest: null,     // id of the oldest message shown
    atStart: true,    // no messages before the oldest shown one
    loadingOlder: null, // callbacks waiting for the loadHistory in flight
    users: new Map(), // username -> role ('' until known) in the current room
    typers: new Map(), // username -> timer of the "is typing" entry
    unread: {},       // room -> {count, more} for the other rooms
    editing: null,    // id of the message being edited
    draft: '',        // composer text put aside while editing
    target: null,     // {room, id} of a search result being opened
    view: 0           // counts room views: answers for an older one are dropped
  };

  var ACK_TIMEOUT = 10000;
  var PAGE = 50;            // messages in historyUpdate and per loadHistory page
  var SEEK_PAGE = 100;      // page size while looking for a search result
  var TYPING_REPEAT = 2000; // `typing: true` at most this often while typing
  var TYPING_IDLE = 3000;   // no key for this long: `typing: false`
  var TYPING_FORGET = 6000; // a `true` without a repeat is forgotten
  var narrow = window.matchMedia ? window.matchMedia('(max-width: 760px)') : { matches: false };

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

  function showNotice(text) {
    el.notice.textContent = text;
    el.notice.hidden = !text;
  }

  // ackError is the text of a failed ack (timeout, no answer or { error }),
  // or null when the ack is a success.
  function ackError(err, ack, what) {
    if (err) return what + ' timed out. Try again.';
    if (!ack || typeof ack !== 'object') return what + ' failed: no answer.';
    if (ack.error !== undefined) return what + ' failed: ' + ack.error;
    return null;
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

  function remember(key, value) {
    try { window.sessionStorage.setItem('chatd.' + key, value); } catch (e) { /* storage off */ }
  }

  function recall(key) {
    try { return window.sessionStorage.getItem('chatd.' + key); } catch (e) { return null; }
  }

  function mayCreateRooms() {
    if (state.endpoint === '/admin') return myRole === 'admin';
    return myRole === 'creator' || myRole === 'admin';
  }

  // ---- rendering -------------------------------------------------------

  // make creates an element with a class, a data-testid and a text (each
  // optional; the text is set as text, never markup). Buttons are
  // type=button.
  function make(tag, className, testid, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (testid) n.setAttribute('data-testid', testid);
    if (text != null) n.textContent = text;
    if (tag === 'button') n.type = 'button';
    return n;
  }

  function renderNamespaces() {
    el.nsList.replaceChildren();
    state.namespaces.forEach(function (ns) {
      var li = make('li');
      var b = make('button', 'ns', 'namespace');
      b.setAttribute('data-endpoint', ns.endpoint);
      b.title = ns.nsTitle;
      if (ns.endpoint === state.endpoint) b.setAttribute('aria-current', 'true');
      var img = document.createElement('img');
      img.src = ns.img;
      img.alt = '';
      img.width = 40;
      img.height = 40;
      b.append(img, make('span', 'ns-title', null, ns.nsTitle));
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
    if (el.roomForm) el.roomForm.hidden = !mayCreateRooms();
  }

  function renderRooms() {
    el.roomList.replaceChildren();
    state.rooms.forEach(function (room) {
      var li = make('li', 'room-item');
      var b = make('button', 'room-btn', 'room');
      b.setAttribute('data-room', room.roomTitle);
      b.append(make('span', 'room-name', null, room.roomTitle));
      li.append(b);
      if (myRole === 'admin') {
        var del = make('button', 'room-delete', 'room-delete', '✕');
        del.setAttribute('data-room', room.roomTitle);
        del.setAttribute('aria-label', 'Delete room ' + room.roomTitle);
        li.append(del);
      }
      el.roomList.append(li);
    });
    markCurrentRoom();
    renderUnread();
  }

  function markCurrentRoom() {
    el.roomList.querySelectorAll('[data-testid="room"]').forEach(function (b) {
      var current = b.getAttribute('data-room') === state.room;
      var badge = b.querySelector('[data-testid="room-members"]');
      if (current) {
        b.setAttribute('aria-current', 'true');
        if (!badge) {
          badge = make('span', 'room-members', 'room-members');
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
    renderMemberMore();
  }

  // renderUnread draws the unread badges of the rooms other than the
  // current one, and the number of such rooms on the rooms toggle.
  function renderUnread() {
    var rooms = 0;
    el.roomList.querySelectorAll('[data-testid="room"]').forEach(function (b) {
      var title = b.getAttribute('data-room');
      var u = title === state.room ? null : state.unread[title];
      var show = u && (u.count > 0 || u.more);
      var badge = b.querySelector('[data-testid="room-unread"]');
      if (!show) {
        if (badge) badge.remove();
        return;
      }
      rooms++;
      if (!badge) {
        badge = make('span', 'room-unread', 'room-unread');
        b.append(badge);
      }
      var text = u.more ? (u.count > 0 ? u.count + '+' : 'new') : String(u.count);
      badge.textContent = text;
      badge.setAttribute('data-count', String(u.count));
      badge.setAttribute('data-more', u.more ? 'true' : 'false');
      badge.setAttribute('aria-label', u.more && u.count === 0 ? 'new messages' : text + ' unread');
    });
    el.roomsToggle.textContent = 'Rooms';
    el.roomsToggle.removeAttribute('aria-label');
    if (rooms) {
      el.roomsToggle.append(' ', make('span', 'room-unread', null, String(rooms)));
      el.roomsToggle.setAttribute('aria-label', 'Rooms, ' + rooms + ' with unread messages');
    }
  }

  function renderMembers() {
    var names = Array.from(state.users.keys()).sort(function (a, b) { return a < b ? -1 : a > b ? 1 : 0; });
    el.memberList.replaceChildren();
    names.forEach(function (name) {
      var role = state.users.get(name);
      var li = make('li', 'member', 'member');
      li.setAttribute('data-username', name);
      if (role) li.setAttribute('data-role', role);
      li.append(make('span', 'member-name', null, name === me ? name + ' (you)' : name));
      if (role && role !== 'user') li.append(make('span', 'role', null, role));
      el.memberList.append(li);
    });
    renderMemberMore();
  }

  function renderMemberMore() {
    var more = state.members == null ? 0 : state.members - state.users.size;
    el.memberMore.hidden = more <= 0;
    el.memberMore.textContent = more > 0 ? 'and ' + more + ' more' : '';
  }

  function renderTyping() {
    var names = Array.from(state.typers.keys()).sort();
    var text = '';
    if (names.length === 1) text = names[0] + ' is typing…';
    else if (names.length === 2) text = names[0] + ' and ' + names[1] + ' are typing…';
    else if (names.length > 2) text = names[0] + ', ' + names[1] + ' and ' + (names.length - 2) + ' more are typing…';
    el.typing.textContent = text;
  }

  function clearTypers() {
    state.typers.forEach(function (timer) { clearTimeout(timer); });
    state.typers.clear();
    renderTyping();
  }

  function formatTime(ms) {
    var d = new Date(ms);
    var now = new Date();
    var opts = d.toDateString() === now.toDateString()
      ? { hour: '2-digit', minute: '2-digit' }
      : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
    try { return d.toLocaleString(undefined, opts); } catch (e) { return d.toISOString(); }
  }

  function setEdited(li, edited) {
    var marker = li.querySelector('[data-testid="message-edited"]');
    if (!edited) {
      if (marker) marker.remove();
      return;
    }
    if (!marker) {
      marker = make('span', 'message-edited', 'message-edited', '(edited)');
      var meta = li.querySelector('.message-meta');
      meta.insertBefore(marker, meta.querySelector('.message-actions'));
    }
    marker.title = 'edited ' + formatTime(edited);
  }

  function actionButton(testid, label, text) {
    var b = make('button', 'link', testid, text);
    b.setAttribute('aria-label', label);
    return b;
  }

  function messageNode(m) {
    var mine = m.username === me;
    var li = make('li', 'message' + (mine ? ' mine' : ''), 'message');
    li.setAttribute('data-id', String(m.id));
    li.setAttribute('data-username', m.username);
    var meta = make('div', 'message-meta');
    var time = make('time', 'message-time', 'message-time', formatTime(m.time));
    time.dateTime = new Date(m.time).toISOString();
    meta.append(make('span', 'message-user', 'message-user', m.username), time);
    li.append(meta, make('p', 'message-text', 'message-text', m.text)); // text, never markup
    if (mine || myRole === 'admin') {
      var actions = make('span', 'message-actions');
      if (mine) actions.append(actionButton('message-edit', 'Edit this message', 'Edit'));
      actions.append(actionButton('message-delete', mine ? 'Delete this message' : 'Delete ' + m.username + '’s message', 'Delete'));
      meta.append(actions);
    }
    setEdited(li, m.edited);
    return li;
  }

  function messageById(id) {
    return el.messages.querySelector('[data-testid="message"][data-id="' + Number(id) + '"]');
  }

  function nearBottom() {
    var m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollTo(top) {
    el.messages.scrollTo({ top: top, behavior: 'instant' });
  }

  function scrollToBottom() {
    scrollTo(el.messages.scrollHeight);
  }

  function showEmptyIfNone() {
    if (el.messages.querySelector('[data-testid="message"]') || el.messages.querySelector('.empty')) return;
    el.messages.append(make('li', 'empty', 'messages-empty', 'No messages yet. Say hello!'));
  }

  // renderHistoryTop draws the first row of the list: a button that loads
  // older messages, or a line saying the start of the room is reached.
  function renderHistoryTop() {
    var top = el.messages.querySelector('.history-top');
    if (!el.messages.querySelector('[data-testid="message"]')) {
      if (top) top.remove();
      return;
    }
    if (!top) {
      top = make('li', 'history-top');
      el.messages.prepend(top);
    }
    if (state.atStart) {
      top.replaceChildren(make('span', null, 'history-start', 'This is the start of #' + state.room + '.'));
      return;
    }
    var b = make('button', 'link', 'load-older', state.loadingOlder ? 'Loading…' : 'Load older messages');
    b.disabled = !!state.loadingOlder;
    top.replaceChildren(b);
  }

  function resetRoomView() {
    state.view++;
    state.seen = new Set();
    state.oldest = null;
    state.atStart = true;
    state.loadingOlder = null;
    state.users = new Map();
    el.messages.replaceChildren();
    renderMembers();
    clearTypers();
    if (state.editing != null) endEdit();
  }

  // The newest message id this user has seen in a room, kept in
  // localStorage (all tabs of this browser, across reloads): a late
  // roomActivity about messages read already then adds no badge.
  function readKey(room) {
    return 'chatd.read ' + me + ' ' + state.endpoint + ' ' + room;
  }

  function lastRead(room) {
    var id = 0;
    try { id = Number(window.localStorage.getItem(readKey(room))) || 0; } catch (e) { /* storage off */ }
    return Math.max(id, lastReadHere[readKey(room)] || 0);
  }

  var lastReadHere = {}; // the same, for when localStorage is off
  function noteRead(m) {
    if (m.id <= lastRead(m.room)) return;
    lastReadHere[readKey(m.room)] = m.id;
    try { window.localStorage.setItem(readKey(m.room), String(m.id)); } catch (e) { /* storage off */ }
  }

  function renderHistory(msgs) {
    resetRoomView();
    msgs.forEach(function (m) {
      state.seen.add(m.id);
      noteRead(m);
      el.messages.append(messageNode(m));
    });
    state.oldest = msgs.length ? msgs[0].id : null;
    state.atStart = msgs.length < PAGE;
    renderHistoryTop();
    showEmptyIfNone();
    scrollToBottom();
    loadRoomUsers();
  }

  function appendMessage(m) {
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    noteRead(m);
    var stick = nearBottom() || m.username === me;
    var empty = el.messages.querySelector('.empty');
    if (empty) empty.remove();
    el.messages.append(messageNode(m));
    if (state.oldest == null) state.oldest = m.id;
    renderHistoryTop();
    if (stick) scrollToBottom();
    if (m.username !== me) markReadSoon();
  }

  // prependMessages puts an older page above the shown messages, keeping
  // what is on screen where it is.
  function prependMessages(msgs) {
    var box = el.messages;
    var before = box.scrollHeight;
    var top = box.scrollTop;
    var first = box.querySelector('[data-testid="message"]');
    var frag = document.createDocumentFragment();
    msgs.forEach(function (m) {
      if (state.seen.has(m.id)) return;
      state.seen.add(m.id);
      frag.append(messageNode(m));
    });
    if (first) box.insertBefore(frag, first);
    else box.append(frag);
    scrollTo(top + (box.scrollHeight - before));
  }

  // ---- protocol --------------------------------------------------------

  function joinRoom(title) {
    var s = state.nsSocket;
    if (!s || !title) return;
    state.joining = title;
    s.timeout(ACK_TIMEOUT).emit('joinRoom', title, function (err, ack) {
      if (s !== state.nsSocket || state.joining !== title) return; // superseded
      state.joining = null;
      var failure = ackError(err, ack, 'Joining "' + title + '"');
      if (failure) {
        showError(failure);
        if (state.target && state.target.room === title) state.target = null;
        if (!state.room) ensureRoom(title);
        return;
      }
      clearError();
      if (state.room !== title) {
        stopTyping();
        state.room = title;
        resetRoomView();
      }
      remember('room:' + state.endpoint, title);
      delete state.unread[title];
      state.members = typeof ack.members === 'number' ? ack.members : null;
      markCurrentRoom();
      renderUnread();
      setComposerEnabled(true);
    });
  }

  // preferredRoom is the room to join in a namespace: the one this tab was
  // in, or else the first.
  function preferredRoom(except) {
    var titles = state.rooms.map(function (r) { return r.roomTitle; })
      .filter(function (t) { return t !== except; });
    var saved = recall('room:' + state.endpoint);
    return saved && titles.indexOf(saved) >= 0 ? saved : titles[0];
  }

  // ensureRoom joins a room when the socket is in none and no join is on
  // its way (except: a room not to try).
  function ensureRoom(except) {
    if (state.room || state.joining) return;
    var target = preferredRoom(except);
    if (target) joinRoom(target);
  }

  // leaveRoomView forgets the current room (it was deleted).
  function leaveRoomView() {
    stopTyping();
    state.room = null;
    state.members = null;
    resetRoomView();
    setComposerEnabled(false);
    markCurrentRoom();
  }

  function loadRoomUsers() {
    var s = state.nsSocket;
    var view = state.view;
    if (!s || !state.room) return;
    s.timeout(ACK_TIMEOUT).emit('roomUsers', {}, function (err, ack) {
      if (s !== state.nsSocket || view !== state.view) return;
      var failure = ackError(err, ack, 'Loading the people in the room');
      if (failure || !Array.isArray(ack.users)) { showError(failure || 'Loading the people in the room failed.'); return; }
      state.users = new Map();
      ack.users.forEach(function (u) { if (u && u.username) state.users.set(u.username, u.role || ''); });
      renderMembers();
    });
  }

  var usersRefresh = null;
  // The wait grows with the room (up to 5 s more, at random), so that the
  // members of a big room do not all ask at once after one presence event.
  function loadRoomUsersSoon() {
    if (usersRefresh) return;
    var spread = Math.min(5000, Math.max(0, Number(state.members) || 0));
    usersRefresh = setTimeout(function () { usersRefresh = null; loadRoomUsers(); }, 250 + Math.random() * spread);
  }

  // loadOlder fetches the page before the oldest shown message; then runs
  // after it arrived (also when a load was already on its way).
  function loadOlder(limit, then) {
    var s = state.nsSocket;
    var room = state.room;
    var view = state.view;
    if (!s || !room || state.atStart || state.oldest == null) { if (then) then(); return; }
    if (state.loadingOlder) { if (then) state.loadingOlder.push(then); return; }
    state.loadingOlder = then ? [then] : [];
    renderHistoryTop();
    s.timeout(ACK_TIMEOUT).emit('loadHistory', { beforeId: state.oldest, limit: limit }, function (err, ack) {
      if (s !== state.nsSocket || view !== state.view) return;
      var waiting = state.loadingOlder || [];
      state.loadingOlder = null;
      var failure = ackError(err, ack, 'Loading older messages');
      if (!failure && !Array.isArray(ack.messages)) failure = 'Loading older messages failed: no messages.';
      if (failure) {
        showError(failure);
        renderHistoryTop();
        state.target = null;
        return;
      }
      var msgs = ack.messages.filter(function (m) { return m.room === room; });
      if (msgs.length) {
        state.oldest = Math.min(state.oldest, msgs[0].id);
        prependMessages(msgs);
      }
      if (ack.messages.length < limit) state.atStart = true;
      renderHistoryTop();
      waiting.forEach(function (f) { f(); });
    });
  }

  // seekTarget shows the search result being opened: loads older pages
  // until it is shown, then scrolls to it and highlights it.
  function seekTarget() {
    var t = state.target;
    if (!t || t.room !== state.room) return;
    var li = messageById(t.id);
    if (li) {
      state.target = null;
      el.messages.querySelectorAll('[data-highlight="true"]').forEach(function (n) {
        n.removeAttribute('data-highlight');
      });
      li.setAttribute('data-highlight', 'true');
      li.tabIndex = -1;
      li.scrollIntoView({ block: 'center', behavior: 'instant' });
      li.focus({ preventScroll: true });
      return;
    }
    if (state.atStart || state.oldest == null || state.oldest <= t.id) {
      state.target = null;
      showError('That message is no longer in #' + t.room + '.');
      return;
    }
    loadOlder(SEEK_PAGE, seekTarget);
  }

  function openMessage(room, id) {
    state.target = { room: room, id: id };
    if (state.room === room && !state.joining) seekTarget();
    else joinRoom(room);
  }

  // markRead moves the read marker of the current room to the newest
  // message shown, at most once a second, while the page is visible and
  // the list is scrolled to the bottom (the new messages are on screen).
  var readTimer = null;
  var readSent = {};
  function markReadSoon() {
    if (readTimer || document.visibilityState !== 'visible' || !nearBottom()) return;
    readTimer = setTimeout(function () {
      readTimer = null;
      var s = state.nsSocket;
      var room = state.room;
      var id = room && lastRead(room);
      if (!s || !s.connected || !id || document.visibilityState !== 'visible') return;
      var key = state.endpoint + ' ' + room;
      if (readSent[key] >= id) return;
      readSent[key] = id;
      s.timeout(ACK_TIMEOUT).emit('markRead', { room: room, id: id }, function (err, ack) {
        var failure = ackError(err, ack, 'Marking #' + room + ' read');
        if (failure) { readSent[key] = 0; showError(failure); }
      });
    }, 1000);
  }

  // Typing: `typing: true` while keys are pressed (at most every
  // TYPING_REPEAT), `false` after TYPING_IDLE without a key, on send, on
  // blur and when the composer is emptied.
  var typing = { on: false, last: 0, idle: null };

  function emitTyping(on) {
    var s = state.nsSocket;
    if (s && s.connected && state.room) s.emit('typing', { typing: on });
  }

  function noteTyping() {
    if (state.editing != null || !state.room) return;
    if (!el.input.value.trim()) { stopTyping(); return; }
    var now = Date.now();
    if (!typing.on || now - typing.last >= TYPING_REPEAT) {
      typing.on = true;
      typing.last = now;
      emitTyping(true);
    }
    clearTimeout(typing.idle);
    typing.idle = setTimeout(stopTyping, TYPING_IDLE);
  }

  function stopTyping() {
    clearTimeout(typing.idle);
    typing.idle = null;
    if (!typing.on) return;
    typing.on = false;
    emitTyping(false);
  }

  function onUserTyping(t) {
    if (!t || t.room !== state.room || t.username === me) return;
    var old = state.typers.get(t.username);
    if (old) clearTimeout(old);
    if (t.typing) {
      state.typers.set(t.username, setTimeout(function () {
        state.typers.delete(t.username);
        renderTyping();
      }, TYPING_FORGET));
    } else {
      state.typers.delete(t.username);
    }
    renderTyping();
  }

  // One socket per namespace, all on the root socket's Manager (one
  // Engine.IO connection). Leaving a namespace disconnects its socket;
  // entering it again reconnects the same socket, whose handlers stay.
  var sockets = {};

  function enterNamespace(endpoint) {
    if (state.endpoint === endpoint && state.nsSocket) return;
    leaveNamespace();
    state.endpoint = endpoint;
    remember('ns', endpoint);
    state.rooms = [];
    state.room = null;
    state.joining = null;
    state.members = null;
    state.unread = {};
    state.target = null;
    resetRoomView();
    showNotice('');
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

    s.on('connect', function () {
      // A socket the server recovered after a short drop is still in its
      // room and was sent what it missed: nothing to join or reload.
      if (mine() && !(s.recovered && state.room)) state.needJoin = true;
      if (mine() && s.recovered && state.room) setComposerEnabled(true);
    });
    s.on('nsRoomLoad', function (rooms) {
      if (!mine()) return;
      state.rooms = Array.isArray(rooms) ? rooms : [];
      var titles = state.rooms.map(function (r) { return r.roomTitle; });
      Object.keys(state.unread).forEach(function (t) { if (titles.indexOf(t) < 0) delete state.unread[t]; });
      if (state.room && titles.indexOf(state.room) < 0) {
        showNotice('The room #' + state.room + ' was deleted.');
        leaveRoomView();
      }
      renderRooms();
      if (state.needJoin) {
        state.needJoin = false;
        var target = state.room || state.joining || preferredRoom();
        if (target) joinRoom(target);
      } else {
        ensureRoom();
      }
    });
    s.on('historyUpdate', function (msgs) {
      if (!mine() || !Array.isArray(msgs)) return;
      renderHistory(msgs.filter(function (m) { return m.room === state.room; }));
      seekTarget();
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
    s.on('presence', function (p) {
      if (!mine() || !p || p.room !== state.room) return;
      var unknown = false;
      (Array.isArray(p.left) ? p.left : []).forEach(function (name) { state.users.delete(name); });
      (Array.isArray(p.joined) ? p.joined : []).forEach(function (name) {
        if (!state.users.has(name)) { state.users.set(name, ''); unknown = true; }
      });
      renderMembers();
      // roles of the newcomers; all of the list when the event could not hold every name
      if (unknown || p.truncated === true) loadRoomUsersSoon();
    });
    s.on('userTyping', function (t) {
      if (mine()) onUserTyping(t);
    });
    s.on('unread', function (u) {
      if (!mine() || !u || !u.counts || typeof u.counts !== 'object') return;
      state.unread = {};
      // lastIds: the newest message each count holds; a roomActivity
      // about those (sent within a second of them) adds no "+".
      var last = u.lastIds && typeof u.lastIds === 'object' ? u.lastIds : {};
      Object.keys(u.counts).forEach(function (room) {
        if (room === state.room) return;
        var n = Number(u.counts[room]) || 0;
        var id = Number(last[room]) || 0;
        if (n > 0 || id > 0) state.unread[room] = { count: n, more: false, lastId: id };
      });
      renderUnread();
    });
    s.on('roomActivity', function (a) {
      if (!mine() || !a || !a.room || a.room === state.room) return;
      if (a.lastId <= lastRead(a.room)) return; // read already
      var u = state.unread[a.room] || { count: 0, more: false };
      if (u.lastId && a.lastId <= u.lastId) return;
      u.lastId = a.lastId;
      u.more = true;
      state.unread[a.room] = u;
      renderUnread();
    });
    s.on('messageEdited', function (e) {
      if (!mine() || !e || e.room !== state.room) return;
      var li = messageById(e.id);
      if (li) {
        li.querySelector('[data-testid="message-text"]').textContent = e.text;
        setEdited(li, e.edited || Date.now());
      }
      updateResult(e.id, e.text);
    });
    s.on('messageDeleted', function (d) {
      if (!mine() || !d) return;
      updateResult(d.id, null);
      if (d.room !== state.room) return;
      if (state.editing === d.id) endEdit();
      var li = messageById(d.id);
      if (li) {
        var focused = li.contains(document.activeElement);
        li.remove();
        if (focused) (el.input.disabled ? el.messages : el.input).focus();
      }
      renderHistoryTop();
      showEmptyIfNone();
    });
    s.on('roomDeleted', function (d) {
      if (!mine() || !d || !d.room) return;
      delete state.unread[d.room];
      if (d.room === state.room) {
        leaveRoomView();
        showNotice('The room #' + d.room + ' was deleted.');
        ensureRoom(d.room);
      }
    });
    s.on('connect_error', function (err) {
      if (!mine()) return;
      showError(describeConnectError(err));
      setComposerEnabled(false);
    });
    s.on('disconnect', function () {
      if (!mine()) return;
      setComposerEnabled(false);
      clearTypers();
      typing.on = false;
    });
  }

  function leaveNamespace() {
    stopTyping();
    if (state.nsSocket) state.nsSocket.disconnect();
    state.nsSocket = null;
  }

  function sendMessage(text) {
    var s = state.nsSocket;
    if (!s || !s.connected || !state.room) return;
    stopTyping();
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

  // ---- editing and deleting ---------------------------------------------

  function startEdit(li) {
    var id = Number(li.getAttribute('data-id'));
    if (state.editing == null) state.draft = el.input.value;
    stopTyping();
    el.messages.querySelectorAll('.being-edited').forEach(function (n) { n.classList.remove('being-edited'); });
    li.classList.add('being-edited');
    state.editing = id;
    el.editing.hidden = false;
    el.label.textContent = 'Edit message';
    el.send.textContent = 'Save';
    el.input.value = li.querySelector('[data-testid="message-text"]').textContent;
    el.input.focus();
    el.input.setSelectionRange(el.input.value.length, el.input.value.length);
  }

  function endEdit() {
    el.messages.querySelectorAll('.being-edited').forEach(function (n) { n.classList.remove('being-edited'); });
    state.editing = null;
    el.editing.hidden = true;
    el.label.textContent = 'Message';
    el.send.textContent = 'Send';
    el.input.value = state.draft;
    state.draft = '';
  }

  function saveEdit(text) {
    var s = state.nsSocket;
    var id = state.editing;
    if (!s || !s.connected || id == null) return;
    s.timeout(ACK_TIMEOUT).emit('editMessage', { id: id, text: text }, function (err, ack) {
      var failure = ackError(err, ack, 'Editing');
      if (failure) { showError(failure); return; }
      clearError();
      if (state.editing === id) endEdit();
    });
  }

  function lastOwnMessage() {
    var mine = el.messages.querySelectorAll('[data-testid="message"].mine');
    return mine.length ? mine[mine.length - 1] : null;
  }

  function deleteMessage(id) {
    var s = state.nsSocket;
    if (!s || !s.connected) return;
    s.timeout(ACK_TIMEOUT).emit('deleteMessage', { id: id }, function (err, ack) {
      var failure = ackError(err, ack, 'Deleting');
      if (failure) showError(failure);
      else clearError();
    });
  }

  // confirmed arms a destructive button on its first click (it then asks
  // "Sure?") and reports true on the second one.
  function confirmed(b, question) {
    if (b.getAttribute('data-armed') === 'true') {
      disarm(b);
      return true;
    }
    b.setAttribute('data-armed', 'true');
    b.setAttribute('data-label', b.textContent);
    b.setAttribute('data-aria', b.getAttribute('aria-label') || '');
    b.textContent = question;
    b.setAttribute('aria-label', question);
    b.addEventListener('blur', function () { disarm(b); }, { once: true });
    return false;
  }

  function disarm(b) {
    if (b.getAttribute('data-armed') !== 'true') return;
    b.removeAttribute('data-armed');
    b.textContent = b.getAttribute('data-label');
    b.setAttribute('aria-label', b.getAttribute('data-aria'));
  }

  // ---- rooms -----------------------------------------------------------

  function createRoom(title) {
    var s = state.nsSocket;
    if (!s || !s.connected) return;
    s.timeout(ACK_TIMEOUT).emit('createRoom', { title: title }, function (err, ack) {
      var failure = ackError(err, ack, 'Adding the room');
      if (!failure && (!ack.room || !ack.room.roomTitle)) failure = 'Adding the room failed: no room.';
      if (failure) { showError(failure); return; }
      clearError();
      el.roomNew.value = '';
      if (s === state.nsSocket) joinRoom(ack.room.roomTitle);
    });
  }

  function deleteRoom(title) {
    var s = state.nsSocket;
    if (!s || !s.connected) return;
    s.timeout(ACK_TIMEOUT).emit('deleteRoom', { title: title }, function (err, ack) {
      var failure = ackError(err, ack, 'Deleting #' + title);
      if (failure) { showError(failure); return; }
      clearError();
      showNotice('The room #' + title + ' was deleted.');
    });
  }

  // ---- search ----------------------------------------------------------

  function search(query) {
    var s = state.nsSocket;
    if (!s || !s.connected) return;
    s.timeout(ACK_TIMEOUT).emit('searchMessages', { query: query }, function (err, ack) {
      var failure = ackError(err, ack, 'Searching');
      if (!failure && !Array.isArray(ack.messages)) failure = 'Searching failed: no messages.';
      if (failure) { showError(failure); return; }
      clearError();
      renderResults(query, ack.messages);
    });
  }

  function renderResults(query, msgs) {
    el.resultList.replaceChildren();
    el.resultsTitle.textContent = (msgs.length === 0 ? 'No messages' : msgs.length === 1 ? '1 message' : msgs.length + ' messages') +
      ' found for “' + query + '”';
    msgs.forEach(function (m) {
      var li = make('li');
      var b = make('button', 'result', 'search-result');
      b.setAttribute('data-room', m.room);
      b.setAttribute('data-id', String(m.id));
      b.append(make('span', 'result-meta', null, '#' + m.room + ' · ' + m.username + ' · ' + formatTime(m.time)),
        make('span', 'result-text', 'search-result-text', m.text));
      li.append(b);
      el.resultList.append(li);
    });
    el.results.hidden = false;
  }

  // updateResult follows an edit (text) or a delete (null) in the results.
  function updateResult(id, text) {
    var b = el.resultList.querySelector('[data-testid="search-result"][data-id="' + Number(id) + '"]');
    if (!b) return;
    if (text == null) b.parentNode.remove();
    else b.querySelector('[data-testid="search-result-text"]').textContent = text;
  }

  function closeResults() {
    el.results.hidden = true;
    el.resultList.replaceChildren();
  }

  // ---- panels ----------------------------------------------------------

  function setRoomsOpen(open) {
    el.roomsToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) el.roomsPanel.setAttribute('data-open', 'true');
    else el.roomsPanel.removeAttribute('data-open');
  }

  function setMembersOpen(open) {
    el.membersToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    el.memberPanel.hidden = !open;
  }

  // ---- wiring ----------------------------------------------------------

  setMembersOpen(!narrow.matches);
  setRoomsOpen(false);

  el.roomsToggle.addEventListener('click', function () {
    setRoomsOpen(el.roomsToggle.getAttribute('aria-expanded') !== 'true');
  });

  el.membersToggle.addEventListener('click', function () {
    setMembersOpen(el.memberPanel.hidden);
  });

  el.nsList.addEventListener('click', function (e) {
    var b = e.target.closest('[data-testid="namespace"]');
    if (b) enterNamespace(b.getAttribute('data-endpoint'));
  });

  el.roomList.addEventListener('click', function (e) {
    var del = e.target.closest('[data-testid="room-delete"]');
    if (del) {
      var title = del.getAttribute('data-room');
      if (confirmed(del, 'Delete #' + title + '?')) deleteRoom(title);
      return;
    }
    var b = e.target.closest('[data-testid="room"]');
    if (b) {
      showNotice('');
      joinRoom(b.getAttribute('data-room'));
      if (narrow.matches) setRoomsOpen(false);
      el.input.focus();
    }
  });

  if (el.roomForm) {
    el.roomForm.addEventListener('submit', function (e) {
      e.preventDefault();
      if (el.roomNew.value) createRoom(el.roomNew.value);
    });
  }

  el.messages.addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (!b) return;
    var li = b.closest('[data-testid="message"]');
    var testid = b.getAttribute('data-testid');
    if (testid === 'load-older') loadOlder(PAGE);
    else if (testid === 'message-edit' && li) startEdit(li);
    else if (testid === 'message-delete' && li && confirmed(b, 'Sure? Delete')) deleteMessage(Number(li.getAttribute('data-id')));
  });

  el.messages.addEventListener('scroll', function () {
    if (el.messages.scrollTop < 40 && !state.atStart && !state.loadingOlder) loadOlder(PAGE);
    else if (nearBottom()) markReadSoon();
  });

  el.form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = el.input.value;
    if (!text.trim()) return;
    if (state.editing != null) saveEdit(text);
    else sendMessage(text);
  });

  el.input.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && state.editing != null) {
      e.preventDefault();
      endEdit();
    } else if (e.key === 'ArrowUp' && !el.input.value && state.editing == null && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      var li = lastOwnMessage();
      if (li) {
        e.preventDefault();
        startEdit(li);
      }
    }
  });
  el.input.addEventListener('input', noteTyping);
  el.input.addEventListener('blur', stopTyping);
  el.editCancel.addEventListener('click', function () {
    endEdit();
    el.input.focus();
  });

  el.searchForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var q = el.searchInput.value.trim();
    if (q) search(q);
  });
  el.resultsClose.addEventListener('click', function () {
    closeResults();
    el.searchInput.focus();
  });
  el.results.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') {
      closeResults();
      el.searchInput.focus();
    }
  });
  el.resultList.addEventListener('click', function (e) {
    var b = e.target.closest('[data-testid="search-result"]');
    if (!b) return;
    closeResults();
    showNotice('');
    openMessage(b.getAttribute('data-room'), Number(b.getAttribute('data-id')));
  });

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') markReadSoon();
    else stopTyping();
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
    var saved = recall('ns');
    if (endpoints.length) enterNamespace(saved && endpoints.indexOf(saved) >= 0 ? saved : endpoints[0]);
  });
})();
