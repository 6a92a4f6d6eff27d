// conversations.js: the conversation list and the user-name cache. The
// API has no "my conversations" route, so the list is what this browser
// saw: conversations opened here and people who wrote, kept in
// localStorage per user (ids only, no content).

import { el } from './dom.js';

const NAMES_KEY = 'dmchat:names';
const convKey = (myID) => `dmchat:conversations:${myID}`;

function readJSON(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function writeJSON(key, v) {
  try {
    localStorage.setItem(key, JSON.stringify(v));
  } catch {
    // Storage full or disabled: the list lives for this page only.
  }
}

/** Names maps user ids to the usernames the page has learnt. */
export class Names {
  constructor() {
    this.byID = new Map(Object.entries(readJSON(NAMES_KEY, {})));
  }

  set(id, username) {
    if (this.byID.get(id) === username) return;
    this.byID.set(id, username);
    writeJSON(NAMES_KEY, Object.fromEntries(this.byID));
  }

  label(id) {
    return this.byID.get(id) || `user #${id}`;
  }
}

/** ConversationList renders the conversations, most recent first. */
export class ConversationList {
  constructor(ul, names, onOpen) {
    this.ul = ul;
    this.names = names;
    this.onOpen = onOpen;
    this.myID = null;
    this.items = []; // {id, at, unread}
    this.selected = null;
  }

  load(myID) {
    this.myID = myID;
    this.items = readJSON(convKey(myID), []).map((c) => ({ id: String(c.id), at: c.at || '', unread: 0 }));
    this.render();
  }

  clear() {
    this.myID = null;
    this.items = [];
    this.selected = null;
    this.ul.replaceChildren();
  }

  /** touch records activity with id at time at (null: just opened); unread counts a new message not yet seen. */
  touch(id, at, unread) {
    let c = this.items.find((x) => x.id === id);
    if (!c) {
      c = { id, at: at || new Date().toISOString(), unread: 0 };
      this.items.push(c);
    }
    if (at && at > c.at) c.at = at;
    if (unread) c.unread++;
    this.items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    if (this.myID) writeJSON(convKey(this.myID), this.items.map(({ id, at }) => ({ id, at })));
    this.render();
  }

  select(id) {
    this.selected = id;
    const c = this.items.find((x) => x.id === id);
    if (c) c.unread = 0;
    this.render();
  }

  render() {
    this.ul.replaceChildren(
      ...this.items.map((c) => {
        const name = this.names.label(c.id);
        const b = el('button', {
          type: 'button',
          class: 'person',
          'data-user-id': c.id,
          'aria-label': `conversation with ${name}`,
          'aria-current': c.id === this.selected ? 'true' : null,
          text: name,
        });
        if (c.unread) b.append(el('span', { class: 'unread', 'aria-label': `${c.unread} unread`, text: String(c.unread) }));
        b.addEventListener('click', () => this.onOpen(c.id));
        return el('li', {}, b);
      }),
    );
  }
}
