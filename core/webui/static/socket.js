// socket.js: the one WebSocket of a logged-in page, reconnected after any
// drop with exponential backoff and jitter, except after the close
// codes that mean "do not come back": 4003 (banned) and 4001 (token
// expired or revoked).

const CLOSE_BANNED = 4003;
const CLOSE_UNAUTHORIZED = 4001;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

/**
 * Socket keeps a connection to url open.
 *
 * hooks.frame(f)       every decoded frame
 * hooks.state(s, ms)   'connecting' | 'open' | 'reconnecting' (ms until the next try) | 'stopped'
 * hooks.terminal(why)  'banned' | 'unauthorized': the socket stays closed
 * hooks.check()        async, before each reconnect: resolves false to give up
 *                      (the page then decides, e.g. after a 401 on /api/me)
 */
export class Socket {
  constructor(url, hooks) {
    this.url = url;
    this.hooks = hooks;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = true;
    this.banned = false;
    this.connects = 0; // how many sockets were opened: the tests read it
    this.lastClose = 0; // the close code of the last socket that ended
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'bye');
    this.hooks.state('stopped');
  }

  /** send writes f when the socket is open, else reports false. */
  send(f) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(f));
    return true;
  }

  /** settled resets the backoff once a connection proved good (its replay ended). */
  settled() {
    this.attempt = 0;
  }

  get open() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped) return;
    this.hooks.state('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.banned = false;
    this.connects++;
    ws.onopen = () => {
      if (this.ws === ws) this.hooks.state('open');
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let f;
      try {
        f = JSON.parse(e.data);
      } catch {
        return; // the server sends only JSON; anything else is ignored
      }
      if (f && f.type === 'ERROR' && f.code === 'BANNED') this.banned = true;
      this.hooks.frame(f);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.lastClose = e.code;
      this.ws = null;
      if (this.stopped) return;
      if (e.code === CLOSE_BANNED || this.banned) {
        this.stopped = true;
        this.hooks.terminal('banned');
        return;
      }
      if (e.code === CLOSE_UNAUTHORIZED) {
        this.stopped = true;
        this.hooks.terminal('unauthorized');
        return;
      }
      this.schedule();
    };
  }

  // schedule waits between half and all of the current backoff (the
  // random half keeps pages dropped together from coming back together),
  // asks the page whether to go on, and connects again.
  schedule() {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt++;
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.hooks.state('reconnecting', delay);
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      let go = true;
      try {
        go = await this.hooks.check();
      } catch {
        go = true; // the check could not reach the server: keep trying
      }
      if (!go) {
        this.stopped = true;
        return;
      }
      if (!this.stopped) this.connect();
    }, delay);
  }
}

/** socketURL is the WebSocket URL of path on the page's own host. */
export function socketURL(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}
