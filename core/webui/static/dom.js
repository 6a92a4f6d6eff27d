// dom.js: building elements. Text always goes in through textContent:
// message content and user names are untrusted and are never parsed as
// HTML (and the CSP forbids inline script, should anything slip).

/** el makes an element with attributes (strings), text and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

/** show un-hides exactly one of the elements, hiding the others. */
export function showOnly(visible, ...all) {
  for (const e of all) e.hidden = e !== visible;
}

/** timeOf is the local clock time of an RFC 3339 timestamp. */
export function timeOf(createdAt) {
  const d = new Date(createdAt);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
