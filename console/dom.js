// Building the page without HTML strings. Everything the API returns is untrusted (payloads and
// response bodies come from strangers), so text only ever enters the DOM as text nodes and
// attribute values; no string is ever parsed as HTML (the Content-Security-Policy's Trusted
// Types rule would make any such sink throw, and a test forbids them in these files).

/** Creates an element. `props`: attributes, `class`, `on<event>` listeners; children: nodes or text. */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${key} must be a function`);
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      element.className = value;
    } else if (key === "href") {
      element.setAttribute("href", internalHref(value));
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (nested arrays allowed); strings and numbers become text nodes. */
export function append(element, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Replaces an element's children (same rules as `append`: arrays flattened, nulls skipped). */
export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** Links point inside the console only: a `javascript:` or foreign URL can never become a link. */
function internalHref(value) {
  const href = String(value);
  if (!href.startsWith("#")) throw new TypeError(`not a console link: ${href}`);
  return href;
}

/** The console route for path segments and an optional query, each segment encoded. */
export function route(segments, query) {
  const path = segments.map((segment) => encodeURIComponent(segment)).join("/");
  const search = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString() : "";
  return `#/${path}${search ? `?${search}` : ""}`;
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export function code(text, className) {
  return h("code", { class: className }, text);
}

const TONES = {
  succeeded: "good", closed: "good", enabled: "good",
  delivering: "info", half_open: "warn", pending: "muted", cancelled: "muted",
  failed: "warn", exhausted: "bad", open: "bad", disabled: "bad",
};

/** The colour of a status, circuit state or endpoint state: good, warn, bad, info or muted. */
export function toneOf(state) {
  return TONES[state] ?? "muted";
}

/** A small coloured label; the tone follows the text (a status) unless given. */
export function badge(text, tone) {
  const label = String(text).replaceAll("_", " ");
  return h("span", { class: `badge badge-${tone ?? toneOf(text)}` }, label);
}

export function formatDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** "3 min ago", "in 5 s": short, for lists; the exact time is in the element's title. */
export function relative(iso, now = Date.now()) {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return String(iso);
  const size = Math.abs(seconds);
  const [amount, unit] =
    size < 5 ? [0, ""] : size < 60 ? [size, "s"] : size < 3600 ? [Math.round(size / 60), "min"]
      : size < 86400 ? [Math.round(size / 3600), "h"] : [Math.round(size / 86400), "d"];
  if (amount === 0) return "just now";
  return seconds < 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`;
}

export function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: formatDate(iso) }, relative(iso));
}

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)} %`;
}

/**
 * A semantic table. `columns`: [{label, cell(row) → node or text, class}]; a caption names it
 * for screen readers (visually hidden unless `showCaption`).
 */
export function table({ caption, columns, rows, empty = "Nothing here yet.", rowClass, showCaption = false }) {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", null,
      h("caption", { class: showCaption ? "" : "visually-hidden" }, caption),
      h("thead", null, h("tr", null, columns.map((column) => h("th", { scope: "col", class: column.class }, column.label)))),
      h("tbody", null, rows.map((row) =>
        h("tr", { class: rowClass?.(row) }, columns.map((column) => h("td", { class: column.class }, column.cell(row))))))));
}

/** Header names and values (request or response) as a two-column table. */
export function headerTable(caption, headers) {
  const rows = Object.entries(headers ?? {});
  return table({
    caption,
    rows,
    empty: "No headers.",
    columns: [
      { label: "Header", class: "mono nowrap", cell: ([name]) => name },
      { label: "Value", class: "mono break", cell: ([, value]) => value },
    ],
  });
}

/** A list of facts: [[label, value node or text], …]. */
export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(Boolean).map(([label, value]) => h("div", { class: "fact" }, h("dt", null, label), h("dd", null, value))));
}

/** Untrusted text shown verbatim in a scrollable block. */
export function pre(text, className = "") {
  return h("pre", { class: `code ${className}`, tabindex: "0" }, text);
}

/** A JSON value, pretty-printed, as text. */
export function json(value, className = "") {
  return pre(JSON.stringify(value, null, 2), className);
}

export function button(label, onClick, { variant = "secondary", type = "button", ...props } = {}) {
  return h("button", { type, class: `button button-${variant}`, onClick, ...props }, label);
}

/** A labelled form field; `input` is the control element (its id is set here). */
export function field(id, label, input, hint) {
  input.id = id;
  if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

/** Marks the fields a problem document names (`errors[].field`) and returns the rest as text. */
export function showFieldErrors(form, problem) {
  for (const error of form.querySelectorAll(".field-error")) {
    error.hidden = true;
    error.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const unmatched = [];
  for (const { field: name, message } of problem?.errors ?? []) {
    const input = form.querySelector(`[name="${CSS.escape(name.split(/[.[]/)[0])}"]`);
    const slot = input && form.querySelector(`#${CSS.escape(input.id)}-error`);
    if (!slot) {
      unmatched.push(`${name}: ${message}`);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    slot.hidden = false;
    slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
  }
  return unmatched.length ? unmatched.join("; ") : problem?.errors?.length ? "" : problem?.detail ?? "";
}

let flashTimer;

/** Announces a message in the live region at the top of the page. */
export function flash(message, tone = "good") {
  const region = document.getElementById("flash");
  clearTimeout(flashTimer);
  region.replaceChildren(h("p", { class: `flash-message flash-${tone}` }, message));
  flashTimer = setTimeout(() => region.replaceChildren(), 8000);
}

/** A titled box. */
export function panel(title, ...children) {
  return h("section", { class: "panel" }, title ? h("h2", null, title) : null, ...children);
}

/** The page heading, focusable so route changes can move focus to it. */
export function heading(text, ...extra) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, text), ...extra);
}
