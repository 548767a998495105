// Builds the page from DOM nodes. Text from the feed or the API only ever goes in through
// textContent (never innerHTML), so markup in a title or a name shows as text.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (key.startsWith("on") || key === "style" || key === "innerHTML") throw new Error(`refused property ${key}`);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function text(value) {
  if (value === undefined || value === null || value === "") return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A table: columns are [label, row => value or Node]; the caption names it for screen readers.
export function table(caption, columns, rows, { empty = "Nothing yet.", className = "" } = {}) {
  if (!rows || rows.length === 0) return h("p", { class: "muted" }, empty);
  const head = h("tr", {}, columns.map(([label]) => h("th", { scope: "col", text: label })));
  const body = rows.map((row) =>
    h("tr", {}, columns.map(([, cell]) => {
      const value = cell(row);
      return h("td", {}, value instanceof Node ? value : text(value));
    })),
  );
  return h("div", { class: "table-wrap" },
    h("table", { class: className }, h("caption", { text: caption }), h("thead", {}, head), h("tbody", {}, body)));
}

// A table of objects whose fields are not known in advance (keys become columns).
export function objectsTable(caption, items, preferred = [], options = {}) {
  const keys = [];
  for (const key of preferred) if (items.some((item) => item && key in item)) keys.push(key);
  for (const item of items) for (const key of Object.keys(item || {})) if (!keys.includes(key)) keys.push(key);
  return table(caption, keys.slice(0, 8).map((key) => [label(key), (row) => row[key]]), items, options);
}

export function label(key) {
  const spaced = key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/_/g, " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1).toLowerCase();
}

// A status line read out by screen readers: kind is info, ok, warn or error.
export function status(kind, message, ...more) {
  return h("div", { class: `status status-${kind}`, role: kind === "error" ? "alert" : "status" }, message, ...more);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function age(iso) {
  if (!iso) return "";
  const days = Math.floor((Date.now() - new Date(iso).getTime()) / 86400000);
  return days <= 0 ? "today" : days === 1 ? "1 day ago" : `${days} days ago`;
}

export function field(labelText, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  const hintNode = hint ? h("span", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  if (hintNode) input.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" }, h("label", { for: id, text: labelText }), input, hintNode,
    h("span", { class: "field-error", id: `${id}-error`, role: "alert" }));
}

export function section(title, ...children) {
  return h("section", { class: "card", "aria-label": title }, h("h2", { text: title }), ...children);
}

// Replaces a node's content; null and false children are skipped (native append would print "null").
export function fill(node, ...children) {
  return append(clear(node), children);
}
