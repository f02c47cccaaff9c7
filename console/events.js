// Events: the tenant's event log (filterable by type) and one event with its payload and its
// deliveries. Payloads are untrusted and shown as text.

import { badge, code, facts, formatDate, h, json, link, panel, route, table, time, toneOf } from "./dom.js";
import { deliveryTable, endpointUrls } from "./deliveries.js";
import { loadTenant, pager, tenantCrumbs, tenantFrame } from "./tenants.js";

function deliveryCounts(counts) {
  const entries = Object.entries(counts ?? {}).filter(([, count]) => count > 0);
  if (entries.length === 0) return h("span", { class: "muted" }, "none");
  return h("span", { class: "badges" }, entries.map(([status, count]) => badge(`${count} ${status}`, toneOf(status))));
}

export async function eventsView(ctx) {
  const tenant = await loadTenant(ctx);
  const eventType = ctx.query.get("event_type") ?? "";
  ctx.setCrumbs(tenantCrumbs(ctx, tenant, { label: "Events" }));
  const types = await ctx.api.get(["event-types"], { limit: 250 });
  const list = pager(
    (cursor, limit) => ctx.api.get(["tenants", tenant.uid, "events"], { event_type: eventType, limit, cursor }),
    (events) => table({
      caption: "Events",
      rows: events,
      empty: "No events match.",
      columns: [
        { label: "Event", cell: (e) => link(route(["tenants", tenant.uid, "events", e.id]), code(e.id)) },
        { label: "Type", cell: (e) => code(e.event_type) },
        { label: "Deliveries", cell: (e) => deliveryCounts(e.deliveries) },
        { label: "Created", cell: (e) => time(e.created_at) },
      ],
    }));
  await list.load();
  const select = h("select", { id: "event-type-filter" },
    h("option", { value: "" }, "All event types"),
    types.data.map((type) => h("option", { value: type.name, selected: type.name === eventType }, type.name)));
  select.addEventListener("change", () => {
    location.hash = route(["tenants", tenant.uid, "events"], { event_type: select.value });
  });
  return tenantFrame(ctx, tenant, "events",
    h("div", { class: "filters" }, h("div", { class: "filter-row" }, h("label", { for: "event-type-filter" }, "Event type"), select)),
    list.holder);
}

export async function eventView(ctx) {
  const tenant = await loadTenant(ctx);
  const base = ["tenants", tenant.uid, "events", ctx.params[1]];
  const [event, deliveries, endpoints] = await Promise.all([
    ctx.api.get(base),
    ctx.api.get([...base, "deliveries"], { limit: 250 }),
    endpointUrls(ctx, tenant),
  ]);
  ctx.setCrumbs(tenantCrumbs(ctx, tenant, { label: "Events", href: route(["tenants", tenant.uid, "events"]) }, { label: event.id }));
  return tenantFrame(ctx, tenant, "events",
    h("div", { class: "detail-head" }, h("div", null, h("h2", null, "Event ", code(event.id)))),
    h("div", { class: "columns columns-wide" },
      panel("Event", facts([
        ["Type", code(event.event_type)],
        ["Created", formatDate(event.created_at)],
        ["API version", event.api_version ?? "—"],
        ["Channels", event.channels?.length ? event.channels.join(", ") : "none"],
        ["Idempotency key", event.idempotency_key ? code(event.idempotency_key) : "none"],
        ["Deliveries", deliveryCounts(event.deliveries)],
      ])),
      panel("Payload", json(event.payload, "payload"))),
    panel("Deliveries", deliveryTable(tenant, deliveries.data, endpoints, "Deliveries of this event")));
}
