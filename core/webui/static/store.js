// store.js: the messages the page knows, merged from history pages, live
// frames and replays. A message is kept once by messageId whatever path it
// came by; a send not yet acknowledged is kept by its clientMessageId.

/** compareIDs orders decimal id strings numerically. */
function compareIDs(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** compareMessages orders by createdAt, then id; pending sends go last, in send order. */
export function compareMessages(a, b) {
  if (!a.messageId || !b.messageId) {
    if (a.messageId) return -1;
    if (b.messageId) return 1;
    return a.seq - b.seq;
  }
  const ta = Date.parse(a.createdAt);
  const tb = Date.parse(b.createdAt);
  if (ta !== tb) return ta - tb;
  return compareIDs(a.messageId, b.messageId);
}

/** MessageStore holds every known message and every pending send. */
export class MessageStore {
  constructor(myID) {
    this.myID = myID;
    this.byID = new Map(); // messageId -> message
    this.pending = new Map(); // clientMessageId -> unacknowledged send
    this.seq = 0;
  }

  /** partnerOf is the other user of a message (or of a pending send). */
  partnerOf(m) {
    return m.senderId === this.myID ? m.recipientId : m.senderId;
  }

  /**
   * add merges a stored message (a MESSAGE frame or a history row) and
   * reports whether it was new. A repeat keeps the first copy, but a
   * DELIVERED state is never lost to an older SENT one.
   */
  add(m) {
    const have = this.byID.get(m.messageId);
    if (have) {
      if (m.state === 'DELIVERED') have.state = 'DELIVERED';
      return false;
    }
    this.byID.set(m.messageId, {
      messageId: m.messageId,
      senderId: m.senderId,
      recipientId: m.recipientId,
      content: m.content,
      createdAt: m.createdAt,
      state: m.state || 'SENT',
      key: m.messageId,
    });
    return true;
  }

  /** queue records a new send and returns it (state 'sending'). */
  queue(recipientId, content) {
    const cmid = newClientMessageID();
    const p = {
      clientMessageId: cmid,
      senderId: this.myID,
      recipientId,
      content,
      state: 'sending',
      error: null,
      retryable: true,
      lastTry: 0,
      seq: ++this.seq,
      key: 'c:' + cmid,
    };
    this.pending.set(cmid, p);
    return p;
  }

  /**
   * acked turns a pending send into the stored message the server
   * acknowledged. Its key (the DOM element's identity) is kept, so the
   * element on screen is the same one, now with its messageId.
   */
  acked(f) {
    const p = this.pending.get(f.clientMessageId);
    if (!p) return null;
    this.pending.delete(f.clientMessageId);
    const have = this.byID.get(f.messageId);
    if (have) return have; // a history page brought it first
    const m = {
      messageId: f.messageId,
      clientMessageId: p.clientMessageId,
      senderId: p.senderId,
      recipientId: p.recipientId,
      content: p.content,
      createdAt: f.createdAt,
      state: 'SENT',
      key: p.key,
    };
    this.byID.set(m.messageId, m);
    return m;
  }

  /** delivered marks a message DELIVERED; repeats change nothing. */
  delivered(messageId) {
    const m = this.byID.get(messageId);
    if (!m || m.state === 'DELIVERED') return null;
    m.state = 'DELIVERED';
    return m;
  }

  /** failed records the server's refusal of a pending send. */
  failed(cmid, code, message) {
    const p = this.pending.get(cmid);
    if (!p) return null;
    p.state = 'failed';
    p.error = `${code}: ${message}`;
    // Refusals about the message itself would be refused again.
    p.retryable = !['TOO_LARGE', 'BAD_FRAME', 'UNKNOWN_RECIPIENT'].includes(code);
    return p;
  }

  /** conversation is every message with partner, in display order. */
  conversation(partner) {
    const out = [];
    for (const m of this.byID.values()) if (this.partnerOf(m) === partner) out.push(m);
    for (const p of this.pending.values()) if (p.recipientId === partner) out.push(p);
    return out.sort(compareMessages);
  }
}

/** newClientMessageID is a random id, unique per sender in practice. */
function newClientMessageID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
