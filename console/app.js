// The console's entry point: the session (a bearer token kept in sessionStorage, never in a
// cookie or the URL), the hash router, and the frame around each view.

import { Api, ApiError, checkSegment } from "./api.js";
import { badge, button, field, flash, h, heading, relative, replace } from "./dom.js";
import { deliveriesView, deliveryView } from "./deliveries.js";
import { endpointView, endpointsView, newEndpointView } from "./endpoints.js";
import { eventView, eventsView } from "./events.js";
import { tenantsView } from "./tenants.js";

const TOKEN_KEY = "outhook.console.token";

/**
 * A portal link carries its token in the fragment (`/console#token=oht_…`): browsers never send
 * fragments to servers or put them in a Referer. Take it into sessionStorage and rewrite the
 * address at once, so it stays out of the history, bookmarks and screenshots too.
 */
function takeTokenFromFragment() {
  const match = /^#token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!match) return null;
  sessionStorage.setItem(TOKEN_KEY, match[1]);
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  return match[1];
}

const session = { api: null, whoami: null };

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.api = null;
  session.whoami = null;
  if (message) flash(message, "bad");
  if (location.hash !== "#/") history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  render();
}

/** Checks a token with `GET /v1/whoami`; on success it becomes the session's. */
async function signIn(token) {
  const api = new Api(token);
  const whoami = await api.get(["whoami"]);
  api.onUnauthorized = () => signOut("Your session has ended: the token expired or was revoked. Sign in again.");
  sessionStorage.setItem(TOKEN_KEY, token);
  Object.assign(session, { api, whoami });
}

/** Signs in with a stored or linked token; a refused one is forgotten with a message. */
async function resume(token) {
  try {
    await signIn(token);
  } catch (failure) {
    sessionStorage.removeItem(TOKEN_KEY);
    Object.assign(session, { api: null, whoami: null });
    flash(failure.status === 401 ? "This link or token has expired or was revoked. Sign in with a valid token." : failure.message, "bad");
  }
}

function signInView() {
  const input = h("input", { type: "password", name: "token", autocomplete: "off", spellcheck: "false", required: true, placeholder: "oht_…" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const submit = button("Sign in", null, { variant: "primary", type: "submit" });
  const form = h("form", { class: "signin", novalidate: true },
    h("h1", { tabindex: "-1" }, "Sign in"),
    h("p", { class: "muted" }, "Paste an API token: an admin token sees every tenant, a tenant token (from a portal link) sees its own."),
    field("token", "API token", input),
    error,
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.hidden = false;
      error.textContent = "Enter a token.";
      return;
    }
    submit.disabled = true;
    try {
      await signIn(token);
      // Stay on the page that was asked for: a deep link survives signing in.
      render();
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.status === 401 ? "This token is not valid (or it expired)." : failure.message;
    } finally {
      submit.disabled = false;
    }
  });
  return h("div", { class: "signin-wrap" }, form);
}

function renderIdentity() {
  const slot = document.getElementById("identity");
  const whoami = session.whoami;
  if (!whoami) {
    slot.replaceChildren();
    return;
  }
  const who = whoami.tenant
    ? [badge("tenant", "info"), " ", whoami.tenant.name || whoami.tenant.uid]
    : [badge("admin", "info"), " all tenants"];
  const expiry = whoami.expires_at ? h("span", { class: "expiry" }, `expires ${relative(whoami.expires_at)}`) : null;
  replace(slot, h("span", { class: "who" }, who), expiry, button("Sign out", () => signOut(), { variant: "ghost" }));
}

function setCrumbs(crumbs) {
  const nav = document.getElementById("breadcrumbs");
  const items = crumbs.map((crumb, index) =>
    h("li", null, index === crumbs.length - 1 || !crumb.href
      ? h("span", { "aria-current": index === crumbs.length - 1 ? "page" : null }, crumb.label)
      : h("a", { href: crumb.href }, crumb.label)));
  nav.replaceChildren(crumbs.length ? h("ol", null, items) : "");
}

const ROUTES = [
  [/^tenants$/, tenantsView],
  [/^tenants\/([^/]+)(?:\/endpoints)?$/, endpointsView],
  [/^tenants\/([^/]+)\/endpoints\/new$/, newEndpointView],
  [/^tenants\/([^/]+)\/endpoints\/([^/]+)$/, endpointView],
  [/^tenants\/([^/]+)\/deliveries$/, deliveriesView],
  [/^tenants\/([^/]+)\/deliveries\/([^/]+)$/, deliveryView],
  [/^tenants\/([^/]+)\/events$/, eventsView],
  [/^tenants\/([^/]+)\/events\/([^/]+)$/, eventView],
];

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(404, null);
  }
}

/** The view and parameters for the current hash (`#/tenants/acme/deliveries?status=failed`). */
function resolve() {
  const [rawPath, rawQuery = ""] = location.hash.replace(/^#\/?/, "").split("?", 2);
  const query = new URLSearchParams(rawQuery);
  const path = rawPath.replace(/\/$/, "");
  if (path === "") {
    const tenant = session.whoami.tenant;
    return tenant ? { redirect: `#/tenants/${encodeURIComponent(tenant.uid)}` } : { redirect: "#/tenants" };
  }
  for (const [pattern, view] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = match.slice(1).map((segment) => checkSegment(decodeSegment(segment)));
    return { view, params, query };
  }
  return { view: notFoundView, params: [], query };
}

let generation = 0;
let cleanups = [];

/** Renders the current route; a newer navigation makes an older one's late results disappear. */
async function render() {
  const current = ++generation;
  for (const cleanup of cleanups.splice(0)) cleanup();
  const main = document.getElementById("main");
  renderIdentity();
  if (!session.api) {
    setCrumbs([]);
    main.replaceChildren(signInView());
    main.querySelector("input")?.focus();
    return;
  }
  const ctx = {
    api: session.api,
    whoami: session.whoami,
    isAdmin: !session.whoami.tenant,
    setCrumbs,
    isCurrent: () => current === generation,
    onCleanup: (cleanup) => cleanups.push(cleanup),
    rerender: render,
  };
  main.setAttribute("aria-busy", "true");
  try {
    const target = resolve();
    if (target.redirect) {
      history.replaceState(null, "", target.redirect);
      return render();
    }
    Object.assign(ctx, { params: target.params, query: target.query });
    const node = await target.view(ctx);
    if (!ctx.isCurrent()) return;
    main.replaceChildren(node);
  } catch (failure) {
    if (!ctx.isCurrent() || !session.api) return;
    if (!(failure instanceof ApiError)) console.error(failure);
    setCrumbs([{ label: "Error" }]);
    main.replaceChildren(errorView(failure));
  } finally {
    if (ctx.isCurrent()) main.removeAttribute("aria-busy");
  }
  main.querySelector("h1")?.focus({ preventScroll: true });
}

function errorView(failure) {
  const status = failure instanceof ApiError ? failure.status : 0;
  const [title, text] = status === 404
    ? ["Not found", "It does not exist, or this token cannot see it."]
    : status === 403
      ? ["Not allowed", "This token may not do that."]
      : ["Something went wrong", failure.message];
  return h("div", { class: "error-page", "data-status": status }, heading(title), h("p", null, text),
    h("p", null, h("a", { href: "#/" }, "Back to the start")));
}

function notFoundView(ctx) {
  ctx.setCrumbs([{ label: "Not found" }]);
  return errorView(new ApiError(404, null));
}

async function start() {
  window.addEventListener("hashchange", async () => {
    const linked = takeTokenFromFragment();
    if (linked) await resume(linked);
    render();
  });
  const token = takeTokenFromFragment() ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) await resume(token);
  render();
}

start();
