// Small DOM helpers. Every string from the emulator (names, reasons, container output: the
// containers' own, untrusted text) becomes a text node; nothing is ever parsed as HTML.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function status(value) {
  return h("span", { class: value || "" }, value || "—");
}

// A keyed table body that changes only the rows whose signature changed, and moves rows only
// when the order did: hundreds of rows re-render in a few milliseconds.
export class KeyedRows {
  constructor(tbody) {
    this.tbody = tbody;
    this.rows = new Map();  // key -> {tr, sig}
  }

  update(items, keyOf, sigOf, render) {
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const sig = sigOf(item);
      let row = this.rows.get(key);
      if (!row || row.sig !== sig) {
        const tr = render(item);
        tr.dataset.key = key;
        if (row) row.tr.replaceWith(tr);
        row = { tr, sig };
        this.rows.set(key, row);
      }
      const expected = previous ? previous.nextSibling : this.tbody.firstChild;
      if (expected !== row.tr) this.tbody.insertBefore(row.tr, expected);
      previous = row.tr;
    }
    for (const [key, row] of this.rows) {
      if (!seen.has(key)) { row.tr.remove(); this.rows.delete(key); }
    }
  }
}

export function table(headings) {
  const tbody = h("tbody");
  const node = h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), tbody);
  return { node, tbody };
}

// Times: the API gives epoch seconds, the summary epoch milliseconds.
export function fromSeconds(value) { return value === null || value === undefined ? null : new Date(value * 1000); }
export function fromMs(value) { return value === null || value === undefined ? null : new Date(value); }

export function clock(date) {
  if (!date) return "—";
  return date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

export function ago(date) {
  if (!date) return "—";
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

export function timeEl(date, text) {
  return date ? h("time", { datetime: date.toISOString(), title: date.toISOString() }, text ?? clock(date)) : h("span", { class: "muted" }, "—");
}

// A published port as a link that opens the running app. 0.0.0.0 is every interface of the
// host the page came from. A port of a container that no longer runs is shown as text: Docker
// may have given that host port to another task since.
export function portLink(binding, running = true) {
  const label = `${binding.hostPort}→${binding.containerPort}/${binding.protocol || "tcp"}`;
  if (!running) return h("span", { class: "mono port muted" }, label);
  let host = binding.bindIP || "127.0.0.1";
  if (host === "0.0.0.0" || host === "::") host = location.hostname;
  if (host.includes(":")) host = `[${host}]`;
  const url = `http://${host}:${binding.hostPort}/`;
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "mono port" }, label);
}

export function shortId(arnOrId) { return String(arnOrId).split("/").pop(); }

// A view's refresh loop: `body(closed)` now and `everyMs` after each round ends (never two at once),
// its errors shown as toasts; `closed()` tells a round whose answer came after the view closed.
export function poller(ctx, everyMs, body) {
  let timer = null;
  let closed = false;
  const isClosed = () => closed;
  async function refresh() {
    clearTimeout(timer);
    try {
      await body(isClosed);
    } catch (error) {
      if (!closed) ctx.toast(String(error.message || error));
    }
    if (!closed) timer = setTimeout(refresh, everyMs);
  }
  return { refresh, dispose() { closed = true; clearTimeout(timer); } };
}
