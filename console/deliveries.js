// Deliveries: the filtered, live-refreshing list, and one delivery with every attempt (request
// headers, response status, headers and body, error kind, duration) and the Redeliver button.
// Response bodies and payloads are shown as text only: they come from strangers.

import { badge, button, code, facts, formatDate, h, headerTable, json, link, panel, pre, route, table, time } from "./dom.js";
import { loadTenant, pager, tenantCrumbs, tenantFrame } from "./tenants.js";

const STATUSES = [
  ["", "All"],
  ["failed", "Failed (retrying)"],
  ["exhausted", "Exhausted"],
  ["pending", "Pending"],
  ["delivering", "Delivering"],
  ["succeeded", "Succeeded"],
  ["cancelled", "Cancelled"],
];

const LIVE_INTERVAL_MS = 3000;
const UNSETTLED = new Set(["pending", "delivering"]);

/** Runs `tick` every `interval` while the view is shown and the tab is visible. */
function every(ctx, interval, tick) {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || document.hidden || !ctx.isCurrent()) return;
    busy = true;
    try {
      await tick();
    } catch {
      // A failed refresh is retried on the next tick; a refused token signs out on its own.
    } finally {
      busy = false;
    }
  }, interval);
  ctx.onCleanup(() => clearInterval(timer));
  return () => clearInterval(timer);
}

/** The deliveries of a tenant, as a table; `endpoints` maps endpoint ids to URLs. */
export function deliveryTable(tenant, deliveries, endpoints, caption = "Deliveries") {
  return table({
    caption,
    rows: deliveries,
    empty: "No deliveries match.",
    columns: [
      { label: "Delivery", cell: (d) => link(route(["tenants", tenant.uid, "deliveries", d.id]), code(d.id)) },
      { label: "Event type", cell: (d) => code(d.event_type) },
      { label: "Endpoint", cell: (d) => h("span", { class: "mono small break" }, endpoints.get(d.endpoint_id) ?? d.endpoint_id) },
      { label: "Status", cell: (d) => badge(d.status) },
      { label: "Attempts", class: "numeric", cell: (d) => String(d.attempt_count) },
      { label: "Next attempt", cell: (d) => time(d.next_attempt_at) },
      { label: "Created", cell: (d) => time(d.created_at) },
    ],
  });
}

/** Endpoint id → URL for a tenant (the first 250 endpoints; others show their id). */
export async function endpointUrls(ctx, tenant) {
  const page = await ctx.api.get(["tenants", tenant.uid, "endpoints"], { limit: 250 });
  return new Map(page.data.map((endpoint) => [endpoint.id, endpoint.url]));
}

export async function deliveriesView(ctx) {
  const tenant = await loadTenant(ctx);
  const status = ctx.query.get("status") ?? "";
  const endpointId = ctx.query.get("endpoint_id") ?? "";
  ctx.setCrumbs(tenantCrumbs(ctx, tenant, { label: "Deliveries" }));
  const endpoints = await endpointUrls(ctx, tenant);
  const here = (changes) => route(["tenants", tenant.uid, "deliveries"], { status, endpoint_id: endpointId, ...changes });

  const list = pager(
    (cursor, limit) => ctx.api.get(["tenants", tenant.uid, "deliveries"], { status, endpoint_id: endpointId, limit, cursor }),
    (rows) => deliveryTable(tenant, rows, endpoints));
  await list.load();

  const statusFilter = h("nav", { class: "segmented", "aria-label": "Filter by status" },
    STATUSES.map(([value, label]) => h("a", { href: here({ status: value }), "aria-current": value === status ? "page" : null }, label)));
  const endpointSelect = h("select", { id: "endpoint-filter" },
    h("option", { value: "" }, "All endpoints"),
    [...endpoints].map(([id, url]) => h("option", { value: id, selected: id === endpointId }, url)));
  endpointSelect.addEventListener("change", () => { location.hash = here({ endpoint_id: endpointSelect.value }); });

  const updated = h("span", { class: "muted small", "aria-live": "off" }, "updated ", time(new Date().toISOString()));
  const live = h("input", { type: "checkbox", id: "live-refresh", checked: true });
  let stop = null;
  const refresh = async () => {
    // Never pull the rows out from under someone moving through them with the keyboard.
    if (list.holder.contains(document.activeElement)) return;
    try {
      await list.refresh();
      updated.replaceChildren("updated ", time(new Date().toISOString()));
    } catch {
      updated.replaceChildren("refresh failed; retrying");
    }
  };
  const startLive = () => { stop = every(ctx, LIVE_INTERVAL_MS, refresh); };
  live.addEventListener("change", () => (live.checked ? startLive() : stop?.()));
  startLive();

  return tenantFrame(ctx, tenant, "deliveries",
    h("div", { class: "filters" },
      statusFilter,
      h("div", { class: "filter-row" },
        h("label", { for: "endpoint-filter" }, "Endpoint"), endpointSelect,
        h("span", { class: "live" }, live, h("label", { for: "live-refresh" }, "Live refresh"), updated))),
    list.holder);
}

/** How an attempt ended, as a badge: the HTTP status, or the error kind when none came back. */
function outcome(attempt) {
  const text = attempt.response_status ? `HTTP ${attempt.response_status}` : attempt.error_kind ?? "no response";
  return badge(text, attempt.succeeded ? "good" : "bad");
}

function attemptView(attempt) {
  const body = attempt.response_body
    ? pre(attempt.response_body, "response-body")
    : h("p", { class: "muted" }, attempt.response_status ? "Empty body." : "No response.");
  return h("article", {
    class: `attempt ${attempt.succeeded ? "attempt-succeeded" : "attempt-failed"}`,
    "data-attempt": attempt.attempt_number,
    "aria-label": `Attempt ${attempt.attempt_number}`,
  },
  h("header", { class: "attempt-head" },
    h("h3", null, `Attempt ${attempt.attempt_number}`),
    outcome(attempt),
    h("span", { class: "muted" }, attempt.trigger),
    h("span", { class: "muted" }, formatDate(attempt.started_at)),
    h("span", { class: "muted" }, `${attempt.duration_ms} ms`)),
  attempt.error_kind
    ? h("p", { class: "attempt-error" }, h("strong", { class: "error-kind" }, attempt.error_kind), attempt.error_message ? ` — ${attempt.error_message}` : "")
    : null,
  h("div", { class: "attempt-grid" },
    h("section", { class: "attempt-request" },
      h("h4", null, "Request"),
      h("p", { class: "mono small break" }, "POST ", attempt.url),
      h("details", null, h("summary", null, `Headers (${Object.keys(attempt.request_headers).length})`),
        headerTable("Request headers", attempt.request_headers))),
    h("section", { class: "attempt-response" },
      h("h4", null, "Response", attempt.response_status ? ` · ${attempt.response_status}` : ""),
      attempt.response_headers
        ? h("details", { open: !attempt.succeeded }, h("summary", null, `Headers (${Object.keys(attempt.response_headers).length})`),
          headerTable("Response headers", attempt.response_headers))
        : null,
      body)));
}

export async function deliveryView(ctx) {
  const tenant = await loadTenant(ctx);
  const base = ["tenants", tenant.uid, "deliveries", ctx.params[1]];
  const load = () => Promise.all([ctx.api.get(base), ctx.api.get([...base, "attempts"], { limit: 250 })]);
  let [delivery, attempts] = await load();
  const [event, endpoint] = await Promise.all([
    ctx.api.get(["tenants", tenant.uid, "events", delivery.event_id]).catch(() => null),
    ctx.api.get(["tenants", tenant.uid, "endpoints", delivery.endpoint_id]).catch(() => null),
  ]);
  ctx.setCrumbs(tenantCrumbs(ctx, tenant,
    { label: "Deliveries", href: route(["tenants", tenant.uid, "deliveries"]) }, { label: delivery.id }));

  const summary = h("div");
  const attemptList = h("div", { class: "attempts" });
  const progress = h("p", { class: "muted small", role: "status" });
  const drawSummary = () => summary.replaceChildren(facts([
    ["Status", h("span", { class: "delivery-status" }, badge(delivery.status))],
    ["Event", [link(route(["tenants", tenant.uid, "events", delivery.event_id]), code(delivery.event_id)), " ", code(delivery.event_type, "muted")]],
    ["Endpoint", endpoint
      ? link(route(["tenants", tenant.uid, "endpoints", endpoint.id]), h("span", { class: "mono break" }, endpoint.url))
      : code(delivery.endpoint_id)],
    ["Attempts", String(delivery.attempt_count)],
    ["Next attempt", delivery.next_attempt_at ? [formatDate(delivery.next_attempt_at), ` (${delivery.next_trigger})`] : "none scheduled"],
    ["Created", formatDate(delivery.created_at)],
    ["Updated", formatDate(delivery.updated_at)],
  ]));
  const drawAttempts = () => attemptList.replaceChildren(
    ...(attempts.data.length ? attempts.data.map(attemptView) : [h("p", { class: "empty" }, "No attempt yet.")]));
  drawSummary();
  drawAttempts();

  // While the delivery is on its way (on arrival or after Redeliver), follow it until it settles.
  let stopFollowing = null;
  let expectMore = 0;
  const follow = (interval) => {
    stopFollowing?.();
    stopFollowing = every(ctx, interval, async () => {
      [delivery, attempts] = await load();
      drawSummary();
      drawAttempts();
      if (!UNSETTLED.has(delivery.status) && attempts.data.length >= expectMore) {
        stopFollowing();
        progress.textContent = expectMore ? "The redelivery has been attempted; its result is at the top." : "";
        expectMore = 0;
      }
    });
  };
  if (UNSETTLED.has(delivery.status)) follow(LIVE_INTERVAL_MS);

  const redeliver = button("Redeliver", async () => {
    redeliver.disabled = true;
    try {
      const before = attempts.data.length;
      delivery = await ctx.api.post([...base, "retry"], {});
      expectMore = before + 1;
      drawSummary();
      progress.textContent = "Redelivery queued; waiting for the attempt…";
      follow(500);
    } catch (failure) {
      progress.textContent = failure.message;
    } finally {
      redeliver.disabled = false;
    }
  }, { variant: "primary", "aria-describedby": "redeliver-help" });

  return tenantFrame(ctx, tenant, "deliveries",
    h("div", { class: "detail-head" },
      h("div", null, h("h2", null, "Delivery ", code(delivery.id)), progress),
      h("div", { class: "action-with-help" }, redeliver,
        h("p", { class: "muted small", id: "redeliver-help" }, "Sends it again now, whatever its state; recorded as a manual attempt."))),
    h("div", { class: "columns columns-wide" },
      panel("Summary", summary),
      panel("Payload", event ? json(event.payload, "payload") : h("p", { class: "muted" }, "The event is no longer stored."))),
    h("section", { class: "panel" }, h("h2", null, "Attempts ", h("span", { class: "muted small" }, "newest first")), attemptList));
}
