// admin.js: the admin's users list (GET /api/admin/users) with ban and
// unban, polled while the page is visible so a kick shows within a poll.

import * as api from './api.js';
import { el } from './dom.js';

const POLL_MS = 1500;

/** AdminPanel polls and renders the users table. */
export class AdminPanel {
  constructor({ tbody, status, myID, names, onUnauthorized }) {
    this.tbody = tbody;
    this.status = status;
    this.myID = myID;
    this.names = names;
    this.onUnauthorized = onUnauthorized;
    this.timer = 0;
    this.running = false;
    this.rows = new Map(); // user id -> <tr>
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.poll();
    };
  }

  start() {
    this.running = true;
    document.addEventListener('visibilitychange', this.onVisible);
    this.poll();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.rows.clear();
    this.tbody.replaceChildren();
  }

  // poll fetches the list now and schedules the next fetch; a hidden
  // page does not poll (it catches up when shown again).
  async poll() {
    clearTimeout(this.timer);
    if (!this.running || document.visibilityState !== 'visible') return;
    try {
      const res = await api.adminUsers();
      if (!this.running) return;
      this.render(res.users || []);
      this.status.textContent = '';
    } catch (err) {
      if (err.status === 401) {
        this.onUnauthorized();
        return;
      }
      this.status.textContent = `Users list: ${err.message}`;
    }
    if (this.running) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  render(users) {
    const seen = new Set();
    let prev = null;
    for (const u of users) {
      seen.add(u.id);
      this.names.set(u.id, u.username);
      let tr = this.rows.get(u.id);
      if (!tr) {
        tr = this.row(u);
        this.rows.set(u.id, tr);
      }
      this.update(tr, u);
      const want = prev ? prev.nextSibling : this.tbody.firstChild;
      if (want !== tr) this.tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const [id, tr] of this.rows) {
      if (!seen.has(id)) {
        tr.remove();
        this.rows.delete(id);
      }
    }
  }

  row(u) {
    const tr = el('tr', { 'data-user-id': u.id });
    tr._name = el('th', { scope: 'row', id: `admin-user-${u.id}` });
    tr._online = el('td', { class: 'online' });
    tr._instances = el('td', { class: 'instances' });
    tr._banned = el('td', { class: 'banned' });
    tr._action = el('button', { type: 'button', 'aria-describedby': `admin-user-${u.id}` });
    tr._action.hidden = u.id === this.myID; // an admin cannot ban themselves
    tr._action.addEventListener('click', () => this.toggle(tr));
    tr.append(tr._name, tr._online, tr._instances, tr._banned, el('td', {}, tr._action));
    return tr;
  }

  update(tr, u) {
    tr.dataset.username = u.username;
    tr.dataset.online = String(!!u.online);
    tr.dataset.banned = String(!!u.banned);
    tr._name.textContent = u.role === 'admin' ? `${u.username} (admin)` : u.username;
    tr._online.textContent = u.online ? 'online' : 'offline';
    tr._instances.textContent = (u.instances || []).join(', ') || '—';
    tr._banned.textContent = u.banned ? 'banned' : '';
    const verb = u.banned ? 'unban' : 'ban';
    if (!tr._action.disabled || tr._action.dataset.verb !== verb) {
      tr._action.disabled = false;
      tr._action.dataset.verb = verb;
      tr._action.setAttribute('aria-label', verb);
      tr._action.textContent = u.banned ? 'Unban' : 'Ban';
    }
  }

  async toggle(tr) {
    const id = tr.dataset.userId;
    const verb = tr._action.dataset.verb;
    tr._action.disabled = true;
    try {
      await (verb === 'ban' ? api.ban(id) : api.unban(id));
      this.status.textContent = `${verb === 'ban' ? 'Banned' : 'Unbanned'} ${tr.dataset.username}.`;
    } catch (err) {
      tr._action.disabled = false;
      if (err.status === 401) {
        this.onUnauthorized();
        return;
      }
      this.status.textContent = `Could not ${verb} ${tr.dataset.username}: ${err.message}`;
      return;
    }
    this.poll();
  }
}
