// main.js: the page controller. It owns the views (login, chat, banned),
// the socket, the message store and the conversation list, and routes
// every frame and HTTP answer to them. Nothing here parses HTML: every
// untrusted string reaches the DOM through textContent (see dom.js).

import * as api from './api.js';
import { Socket, socketURL } from './socket.js';
import { MessageStore } from './store.js';
import { MessageList } from './messages.js';
import { AdminPanel } from './admin.js';
import { Names, ConversationList } from './conversations.js';
import { el, showOnly } from './dom.js';

const PAGE_SIZE = 50;
// An unacknowledged send is sent again (same clientMessageId, so stored
// once) after this long on an open socket, and at every reconnect.
const RESEND_AFTER_MS = 8000;
// Over the server's 64 KiB read limit the socket would be closed (1009):
// such a message is refused here. Under it, the server's own 4096-byte
// rule answers TOO_LARGE, shown next to the message.
const MAX_FRAME_CONTENT_BYTES = 60000;

// USER_ID is the server's user id form ("u" and 16 hex digits).
const USER_ID = /^u[0-9a-f]{16}$/;

const $ = (id) => document.getElementById(id);
const wsPath = document.querySelector('meta[name="dmchat-ws-path"]')?.content || '/ws';

class App {
  constructor() {
    this.user = null;
    this.socket = null;
    this.store = null;
    this.list = null;
    this.admin = null;
    this.names = new Names();
    this.convs = new ConversationList($('conversations'), this.names, (id) => this.open(id, true));
    this.partner = null;
    this.pages = new Map(); // partner id -> {next, loading}: history paging state
    this.acked = new Set(); // message ids acked on the current socket
    this.resendTimer = 0;
    this.searchTimer = 0;
    this.bind();
  }

  bind() {
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.login(false);
    });
    $('register').addEventListener('click', () => this.login(true));
    $('logout').addEventListener('click', () => this.logout());
    $('compose').addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    $('message').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.send();
      }
    });
    $('people-search').addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(), 200);
    });
    $('history').addEventListener('scroll', () => {
      if ($('history').scrollTop < 60) this.loadOlder();
    });
    $('older').addEventListener('click', () => this.loadOlder());
    window.addEventListener('popstate', () => this.route());
    // A page restored from the back/forward cache may belong to a session
    // that has since logged out: ask the server again.
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) this.boot();
    });
  }

  async boot() {
    // Which instance served the page: the seeds' checklist runs one tab per instance.
    api.health().then(
      (h) => ($('instance').textContent = h.instanceId ? `instance ${h.instanceId}` : ''),
      () => {},
    );
    try {
      this.enter(await api.me());
    } catch (err) {
      this.showLogin(err.status === 401 ? '' : `The server answered: ${err.message}`);
    }
  }

  // --- views -------------------------------------------------------------

  setView(name) {
    $('app').dataset.view = name;
    showOnly($(`${name}-view`), $('login-view'), $('chat-view'), $('banned-view'));
  }

  showLogin(message) {
    this.teardown();
    this.setView('login');
    $('logout').hidden = true;
    $('whoami').textContent = '';
    $('password').value = '';
    $('login-error').textContent = message || '';
    if (location.hash) history.replaceState(null, '', location.pathname);
    $('username').focus();
  }

  showBanned() {
    this.stopLive();
    this.setView('banned');
    $('logout').hidden = false;
    this.setConn('banned', 'banned');
  }

  setConn(state, text) {
    const s = $('conn-status');
    s.dataset.conn = state;
    s.textContent = text;
  }

  banner(text) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = !text;
    clearTimeout(this.bannerTimer);
    if (text) this.bannerTimer = setTimeout(() => (b.hidden = true), 8000);
  }

  // --- session -----------------------------------------------------------

  async login(isRegister) {
    const username = $('username').value.trim();
    const password = $('password').value;
    $('login-error').textContent = '';
    if (!username || !password) {
      $('login-error').textContent = 'Enter a username and a password.';
      return;
    }
    try {
      if (isRegister) await api.register(username, password);
      await api.login(username, password);
      this.enter(await api.me());
    } catch (err) {
      $('login-error').textContent = loginError(err, isRegister);
    }
  }

  async logout() {
    try {
      await api.logout();
    } catch {
      // Logged out already (401) or unreachable: the page forgets either way.
    }
    this.showLogin('You are logged out.');
  }

  enter(me) {
    this.teardown();
    this.user = me;
    $('whoami').textContent = `${me.username}${me.role === 'admin' ? ' (admin)' : ''}`;
    $('logout').hidden = false;
    if (me.banned) {
      this.showBanned();
      return;
    }
    this.setView('chat');
    this.store = new MessageStore(me.id);
    this.list = new MessageList($('messages'), $('history'), me.id, (cmid) => this.retry(cmid));
    this.convs.load(me.id);
    this.socket = new Socket(socketURL(wsPath), {
      frame: (f) => this.onFrame(f),
      state: (s, ms) => this.onSocketState(s, ms),
      terminal: (why) => (why === 'banned' ? this.showBanned() : this.showLogin('Your session ended; log in again.')),
      check: () => this.stillLoggedIn(),
    });
    window.dmchatSocket = this.socket; // read by the browser tests (connection count)
    this.socket.start();
    this.resendTimer = setInterval(() => this.resendStale(), 2000);
    $('admin-view').hidden = me.role !== 'admin';
    $('chat-view').classList.toggle('with-admin', me.role === 'admin');
    if (me.role === 'admin') {
      this.admin = new AdminPanel({
        tbody: $('admin-users').tBodies[0],
        status: $('admin-status'),
        myID: me.id,
        names: this.names,
        onUnauthorized: () => this.showLogin('Your session ended; log in again.'),
      });
      this.admin.start();
    }
    this.route();
  }

  // stopLive stops everything that talks to the server.
  stopLive() {
    if (this.socket) this.socket.stop();
    this.socket = null;
    if (this.admin) this.admin.stop();
    this.admin = null;
    clearInterval(this.resendTimer);
  }

  // teardown forgets the session's state (on logout, or a new login).
  teardown() {
    this.stopLive();
    this.user = null;
    this.store = null;
    this.partner = null;
    this.pages.clear();
    this.acked.clear();
    if (this.list) this.list.clear();
    this.list = null;
    this.convs.clear();
    $('people-results').replaceChildren();
    $('people-search').value = '';
    $('people-note').textContent = '';
    $('compose').hidden = true;
    $('conversation-title').textContent = 'No conversation open';
    $('history-status').textContent = '';
    $('older').hidden = true;
    this.setConn('offline', '');
  }

  // stillLoggedIn runs before each reconnect: a socket refused before the
  // upgrade (401) looks like any other drop to the page, so ask /api/me.
  async stillLoggedIn() {
    try {
      const me = await api.me();
      if (me.banned) {
        this.showBanned();
        return false;
      }
      return true;
    } catch (err) {
      if (err.status === 401) {
        this.showLogin('Your session ended; log in again.');
        return false;
      }
      return true; // unreachable: keep trying
    }
  }

  onSocketState(s, ms) {
    if (s === 'connecting') this.setConn('connecting', 'connecting…');
    else if (s === 'open') this.setConn('replaying', 'catching up…');
    else if (s === 'reconnecting') this.setConn('reconnecting', `reconnecting in ${Math.ceil(ms / 1000)} s`);
    if (s === 'connecting' || s === 'reconnecting') this.acked.clear();
  }

  // --- frames ------------------------------------------------------------

  onFrame(f) {
    switch (f.type) {
      case 'MESSAGE':
        this.onMessage(f);
        break;
      case 'REPLAY_DONE':
        this.socket.settled();
        this.setConn('live', 'live');
        this.resendAll();
        break;
      case 'MESSAGE_ACK': {
        const m = this.store.acked(f);
        if (m) this.changed(m.recipientId, m.createdAt);
        break;
      }
      case 'MESSAGE_STATE': {
        const m = this.store.delivered(f.messageId);
        if (m) this.changed(this.store.partnerOf(m));
        break;
      }
      case 'ERROR':
        this.onError(f);
        break;
    }
  }

  onMessage(f) {
    if (f.recipientId !== this.user.id) return;
    // Every delivery on this socket is acked, repeats included: the server
    // re-sends only when an earlier ack was lost.
    this.ack(f.messageId, true);
    const isNew = this.store.add({ ...f, state: 'DELIVERED' });
    if (!isNew) return;
    const partner = f.senderId;
    this.convs.touch(partner, f.createdAt, partner !== this.partner);
    if (partner === this.partner) this.renderOpen(false);
  }

  ack(messageId, always) {
    if (!always && this.acked.has(messageId)) return;
    if (this.socket && this.socket.send({ type: 'DELIVERY_ACK', messageId })) this.acked.add(messageId);
  }

  onError(f) {
    if (f.code === 'BANNED') {
      this.showBanned();
      return;
    }
    if (f.clientMessageId) {
      const p = this.store.failed(f.clientMessageId, f.code, f.message);
      if (p) {
        this.changed(p.recipientId);
        return;
      }
    }
    if (f.messageId) {
      const li = document.querySelector(`li[data-message-id="${CSS.escape(f.messageId)}"]`);
      if (li) {
        li.querySelector('.msg-error').textContent = `${f.code}: ${f.message}`;
        li.querySelector('.msg-error').hidden = false;
        return;
      }
    }
    this.banner(`${f.code}: ${f.message}`);
  }

  // changed re-renders after a change in the conversation with partner.
  changed(partner, at) {
    if (at) this.convs.touch(partner, at, false);
    if (partner === this.partner) this.renderOpen(false);
  }

  // --- sending -----------------------------------------------------------

  send() {
    const box = $('message');
    const content = box.value;
    if (!this.partner || !content.trim()) return;
    box.value = '';
    const p = this.store.queue(this.partner, content);
    if (new TextEncoder().encode(content).length > MAX_FRAME_CONTENT_BYTES) {
      this.store.failed(p.clientMessageId, 'TOO_LARGE', 'content is over 4096 bytes');
    } else {
      this.trySend(p);
    }
    this.convs.touch(this.partner, new Date().toISOString(), false);
    this.renderOpen(false);
    this.list.scrollToBottom();
  }

  trySend(p) {
    p.lastTry = Date.now();
    this.socket?.send({ type: 'MESSAGE_SEND', clientMessageId: p.clientMessageId, recipientId: p.recipientId, content: p.content });
  }

  retry(cmid) {
    const p = this.store?.pending.get(cmid);
    if (!p) return;
    p.state = 'sending';
    p.error = null;
    this.trySend(p);
    this.changed(p.recipientId);
  }

  // resendAll sends every unacknowledged send again once a (new) socket
  // finished its replay.
  resendAll() {
    for (const p of this.store.pending.values()) if (p.state === 'sending') this.trySend(p);
  }

  resendStale() {
    if (!this.socket?.open || !this.store) return;
    const old = Date.now() - RESEND_AFTER_MS;
    for (const p of this.store.pending.values()) if (p.state === 'sending' && p.lastTry < old) this.trySend(p);
  }

  // --- conversations -----------------------------------------------------

  route() {
    if (!this.user || this.user.banned) return;
    const m = /^#with=([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
    if (m) this.open(m[1], false);
  }

  open(partner, push) {
    if (!this.user) return;
    if (push && location.hash !== `#with=${partner}`) history.pushState(null, '', `#with=${partner}`);
    this.partner = partner;
    this.convs.touch(partner, null, false);
    this.convs.select(partner);
    $('conversation-title').textContent = `Conversation with ${this.names.label(partner)}`;
    $('compose').hidden = false;
    $('history-status').textContent = '';
    this.list.clear();
    this.renderOpen(false);
    this.list.scrollToBottom();
    const page = this.pages.get(partner);
    if (!page) this.loadOlder();
    else this.showPaging(page);
    $('message').focus();
  }

  renderOpen(keepOffset) {
    if (!this.partner || !this.list) return;
    this.list.render(this.store.conversation(this.partner), keepOffset);
  }

  // loadOlder fetches the page before the oldest one loaded; the first
  // call loads the newest page.
  async loadOlder() {
    const partner = this.partner;
    if (!partner) return;
    let page = this.pages.get(partner);
    if (!page) {
      page = { next: undefined, loading: false };
      this.pages.set(partner, page);
    }
    if (page.loading || page.next === null) return;
    page.loading = true;
    const first = page.next === undefined;
    $('history-status').textContent = 'loading…';
    try {
      const res = await api.history(partner, page.next, PAGE_SIZE);
      if (this.pages.get(partner) !== page) return; // logged out meanwhile
      for (const m of res.messages || []) {
        this.store.add(m);
        // Shown now: a message to me still SENT was never acked.
        if (m.recipientId === this.user.id && m.state !== 'DELIVERED') {
          this.ack(m.messageId, false);
          this.store.delivered(m.messageId);
        }
      }
      page.next = res.nextBefore ?? null;
    } catch (err) {
      if (err.status === 401) {
        this.showLogin('Your session ended; log in again.');
        return;
      }
      $('history-status').textContent = `History: ${err.message}`;
      page.loading = false;
      return;
    }
    page.loading = false;
    if (partner !== this.partner) return;
    this.renderOpen(!first);
    if (first) this.list.scrollToBottom();
    this.showPaging(page);
    // A page that does not fill the view cannot be scrolled up: load on.
    const h = $('history');
    if (page.next !== null && h.scrollHeight <= h.clientHeight) this.loadOlder();
  }

  showPaging(page) {
    $('older').hidden = page.next === null || page.next === undefined;
    $('history-status').textContent = page.next === null ? 'Start of the conversation' : '';
  }

  // --- people search -----------------------------------------------------

  async search() {
    const q = $('people-search').value.trim();
    const out = $('people-results');
    const note = $('people-note');
    if (!q) {
      out.replaceChildren();
      note.textContent = '';
      return;
    }
    const items = [];
    note.textContent = '';
    try {
      const res = await api.searchUsers(q);
      if (!this.user || $('people-search').value.trim() !== q) return; // logged out or typed on meanwhile
      for (const u of res.users || []) {
        this.names.set(u.id, u.username);
        if (u.id !== this.user.id) items.push(this.person(u.id, u.username));
      }
      if (!items.length) note.textContent = 'Nobody by that name.';
    } catch (err) {
      if (err.status === 401) {
        this.showLogin('Your session ended; log in again.');
        return;
      }
      note.textContent = err.status === 404 ? 'The directory is not available here; enter a user id.' : `Search: ${err.message}`;
    }
    if (!this.user) return;
    // A user id (as the admin list shows it) opens a conversation directly.
    if (USER_ID.test(q) && q !== this.user.id && !items.some((b) => b.dataset.userId === q)) {
      items.push(this.person(q, null));
      note.textContent = '';
    }
    out.replaceChildren(...items.map((b) => el('li', {}, b)));
  }

  person(id, username) {
    const label = username || `user #${id}`;
    const b = el('button', { type: 'button', class: 'person', 'data-user-id': id, 'aria-label': `open conversation with ${label}`, text: label });
    b.addEventListener('click', () => {
      $('people-results').replaceChildren();
      $('people-search').value = '';
      $('people-note').textContent = '';
      this.open(id, true);
    });
    return b;
  }
}

function loginError(err, isRegister) {
  if (err.code === 'USERNAME_TAKEN') return 'That username is taken.';
  if (err.status === 401) return 'Wrong username or password.';
  if (err.status === 429) return 'Too many attempts; wait a moment and try again.';
  if (err.status === 400) return err.message;
  return `${isRegister ? 'Register' : 'Log in'} failed: ${err.message}`;
}

new App().boot();
