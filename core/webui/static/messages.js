// messages.js: the open conversation's message list. Elements are kept by
// message key, so an update (a state, an ack) changes the element on
// screen instead of replacing it, and the list never shows one message
// twice.

import { el, timeOf } from './dom.js';

const STATE_LABEL = { sending: 'sending…', SENT: 'sent', DELIVERED: 'delivered', failed: 'not sent' };

/** MessageList renders a conversation into an <ol>. */
export class MessageList {
  constructor(list, scroller, myID, onRetry) {
    this.list = list;
    this.scroller = scroller;
    this.myID = myID;
    this.onRetry = onRetry;
    this.items = new Map(); // key -> <li>
  }

  clear() {
    this.items.clear();
    this.list.replaceChildren();
  }

  /**
   * render shows msgs (in display order). keepOffset keeps the view on
   * the same messages when older ones were added above; otherwise a view
   * scrolled to the bottom stays at the bottom.
   */
  render(msgs, keepOffset) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
    const before = s.scrollHeight - s.scrollTop;
    const keep = new Set();
    let prev = null;
    for (const m of msgs) {
      keep.add(m.key);
      let li = this.items.get(m.key);
      if (!li) {
        li = this.create(m);
        this.items.set(m.key, li);
      }
      this.update(li, m);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== li) this.list.insertBefore(li, want);
      prev = li;
    }
    for (const [key, li] of this.items) {
      if (!keep.has(key)) {
        li.remove();
        this.items.delete(key);
      }
    }
    if (keepOffset) s.scrollTop = s.scrollHeight - before;
    else if (atBottom) s.scrollTop = s.scrollHeight;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  create(m) {
    const mine = m.senderId === this.myID;
    const li = el('li', { class: mine ? 'msg mine' : 'msg theirs' });
    li._content = el('p', { class: 'content' });
    li._content.textContent = m.content; // untrusted: text, never HTML
    li._meta = el('span', { class: 'meta' });
    li._error = el('span', { class: 'msg-error', role: 'alert' });
    li._retry = el('button', { type: 'button', class: 'retry', 'aria-label': 'retry', text: 'Retry' });
    li._retry.hidden = true;
    li._retry.addEventListener('click', () => this.onRetry(li.dataset.clientMessageId));
    li.append(li._content, el('div', { class: 'foot' }, li._meta, li._error, li._retry));
    return li;
  }

  update(li, m) {
    const mine = m.senderId === this.myID;
    li.dataset.messageId = m.messageId || '';
    li.dataset.state = m.state;
    if (m.clientMessageId) li.dataset.clientMessageId = m.clientMessageId;
    const when = m.createdAt ? timeOf(m.createdAt) : '';
    li._meta.textContent = mine ? [when, STATE_LABEL[m.state] || m.state].filter(Boolean).join(' · ') : when;
    li._error.textContent = m.error || '';
    li._error.hidden = !m.error;
    li._retry.hidden = !(m.state === 'failed' && m.retryable);
  }
}
