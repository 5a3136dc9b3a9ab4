// Small DOM and formatting helpers. Text always goes in as text nodes: nothing the API returns is ever
// parsed as HTML.

/** h('tag', { attr: value, onclick: fn }, ...children): an element; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A table with a caption, column headers with scope, and one row per item. */
export function table(caption, columns, rows, { rowAttrs } = {}) {
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : undefined }, c.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'None yet.'))
      : rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : {},
        columns.map((c, i) => (i === 0 && c.header
          ? h('th', { scope: 'row' }, c.value(row))
          : h('td', { class: c.numeric ? 'num' : undefined }, c.value(row))))))));
}

export function time(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return h('time', { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleTimeString());
}

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export const shortId = (id) => (id ? id.slice(0, 8) : '');

export function badge(text, kind = text) {
  return h('span', { class: `badge badge-${String(kind).replace(/_/g, '-').replace(/[^a-z-]/g, '')}` }, text);
}

export function say(text) {
  document.getElementById('status').textContent = text;
}
