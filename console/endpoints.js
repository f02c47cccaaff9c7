// Endpoints: the list with each one's health (circuit, success rate, disabled reason), one
// endpoint's page (statistics, settings, enable/disable, signing secret, recover), and creation.

import {
  badge, button, code, facts, field, flash, formatDate, h, link, panel, percent, replace, route, showFieldErrors, table, time,
} from "./dom.js";
import { loadTenant, pager, tenantCrumbs, tenantFrame } from "./tenants.js";

function stateBadge(endpoint) {
  return endpoint.enabled ? badge("enabled") : badge("disabled");
}

function eventTypes(endpoint) {
  return endpoint.event_types ? endpoint.event_types.join(", ") : "all event types";
}

/** The success rate as text and a bar. */
function rateMeter(rate) {
  if (rate === null || rate === undefined) return h("span", { class: "muted", title: "No finished deliveries in the last 24 hours" }, "—");
  const tone = rate >= 0.99 ? "good" : rate >= 0.9 ? "warn" : "bad";
  return h("span", { class: "rate" },
    h("meter", { min: "0", max: "1", low: "0.9", high: "0.99", optimum: "1", value: String(rate), class: `meter-${tone}`, "aria-hidden": "true" }),
    percent(rate));
}

export async function endpointsView(ctx) {
  const tenant = await loadTenant(ctx);
  ctx.setCrumbs(tenantCrumbs(ctx, tenant, { label: "Endpoints" }));
  const list = pager(
    async (cursor, limit) => {
      const page = await ctx.api.get(["tenants", tenant.uid, "endpoints"], { limit, cursor });
      const stats = await Promise.all(page.data.map((endpoint) =>
        ctx.api.get(["tenants", tenant.uid, "endpoints", endpoint.id, "stats"]).catch(() => null)));
      page.data.forEach((endpoint, index) => { endpoint.stats = stats[index]; });
      return page;
    },
    (endpoints) => table({
      caption: "Endpoints",
      rows: endpoints,
      empty: "No endpoints yet.",
      rowClass: (endpoint) => (endpoint.enabled ? "" : "row-disabled"),
      columns: [
        {
          label: "Endpoint",
          cell: (endpoint) => [
            link(route(["tenants", tenant.uid, "endpoints", endpoint.id]), h("span", { class: "mono break" }, endpoint.url)),
            h("div", { class: "muted small" }, endpoint.description || eventTypes(endpoint)),
          ],
        },
        {
          label: "State",
          cell: (endpoint) => [stateBadge(endpoint), endpoint.disabled_reason ? h("div", { class: "small muted" }, endpoint.disabled_reason) : null],
        },
        { label: "Circuit", cell: (endpoint) => badge(endpoint.circuit_state) },
        { label: "Success (24 h)", cell: (endpoint) => rateMeter(endpoint.stats?.success_rate) },
        {
          label: "Deliveries (24 h)",
          class: "nowrap",
          cell: (endpoint) => {
            const counts = endpoint.stats?.deliveries ?? {};
            const failed = (counts.failed ?? 0) + (counts.exhausted ?? 0);
            return [
              h("span", { class: "count count-good" }, String(counts.succeeded ?? 0)), " succeeded · ",
              h("span", { class: failed ? "count count-bad" : "count" }, String(failed)), " failed",
            ];
          },
        },
        { label: "Last success", cell: (endpoint) => time(endpoint.stats?.last_success_at) },
      ],
    }));
  await list.load();
  return tenantFrame(ctx, tenant, "endpoints",
    h("div", { class: "toolbar" },
      h("p", { class: "muted" }, "Where this tenant's webhooks go, and how each is doing over the last 24 hours."),
      h("a", { href: route(["tenants", tenant.uid, "endpoints", "new"]), class: "button button-primary" }, "New endpoint")),
    list.holder);
}

/** The settings form fields shared by creation and editing. */
function settingsFields(endpoint) {
  return [
    field("endpoint-url", "URL", h("input", { name: "url", type: "url", required: true, value: endpoint?.url ?? "", class: "mono", placeholder: "https://…" })),
    field("endpoint-description", "Description", h("input", { name: "description", type: "text", value: endpoint?.description ?? "" })),
    field("endpoint-event-types", "Event types", h("input", { name: "event_types", type: "text", value: endpoint?.event_types?.join(", ") ?? "", class: "mono" }),
      "Comma-separated, e.g. invoice.paid, invoice.voided. Empty: every event type."),
  ];
}

function readSettings(form) {
  const data = new FormData(form);
  const types = String(data.get("event_types") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  return { url: String(data.get("url")).trim(), description: String(data.get("description") ?? ""), event_types: types.length ? types : null };
}

/** Submits a form through `action`, showing field errors from a 422 next to their fields. */
function handleSubmit(form, action) {
  const message = h("p", { class: "form-error", role: "alert", hidden: true });
  form.append(message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    message.hidden = true;
    try {
      await action();
      showFieldErrors(form, null);
    } catch (failure) {
      const rest = showFieldErrors(form, failure.problem) || (failure.problem?.errors?.length ? "" : failure.message);
      message.textContent = rest;
      message.hidden = !rest;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function newEndpointView(ctx) {
  const tenant = await loadTenant(ctx);
  ctx.setCrumbs(tenantCrumbs(ctx, tenant, { label: "Endpoints", href: route(["tenants", tenant.uid, "endpoints"]) }, { label: "New endpoint" }));
  const form = h("form", { class: "form", novalidate: true }, settingsFields(null),
    h("div", { class: "form-actions" }, button("Create endpoint", null, { variant: "primary", type: "submit" })));
  handleSubmit(form, async () => {
    const created = await ctx.api.post(["tenants", tenant.uid, "endpoints"], readSettings(form));
    flash("Endpoint created.");
    location.hash = route(["tenants", tenant.uid, "endpoints", created.id]);
  });
  return tenantFrame(ctx, tenant, "endpoints", panel("New endpoint", form));
}

export async function endpointView(ctx) {
  const tenant = await loadTenant(ctx);
  const base = ["tenants", tenant.uid, "endpoints", ctx.params[1]];
  const [endpoint, stats] = await Promise.all([ctx.api.get(base), ctx.api.get([...base, "stats"])]);
  ctx.setCrumbs(tenantCrumbs(ctx, tenant, { label: "Endpoints", href: route(["tenants", tenant.uid, "endpoints"]) }, { label: endpoint.url }));
  const deliveriesLink = (status) => route(["tenants", tenant.uid, "deliveries"], { endpoint_id: endpoint.id, status });

  const health = panel("Health (last 24 hours)",
    h("div", { class: "cards" },
      card("Success rate", rateMeter(stats.success_rate)),
      card("Circuit", badge(stats.circuit_state), stats.circuit_retry_at ? h("div", { class: "small muted" }, "next probe ", time(stats.circuit_retry_at)) : null),
      card("State", stateBadge(stats), stats.disabled_reason ? h("div", { class: "small" }, stats.disabled_reason) : null),
      card("Consecutive failures", String(stats.consecutive_failures), stats.failing_since ? h("div", { class: "small muted" }, "since ", time(stats.failing_since)) : null),
      card("Last success", time(stats.last_success_at)),
      card("Last failure", time(stats.last_failure_at))),
    h("ul", { class: "status-links", "aria-label": "Deliveries by status" },
      Object.entries(stats.deliveries).map(([status, count]) =>
        h("li", null, link(deliveriesLink(status), badge(status), " ", h("strong", null, String(count)))))));

  const settings = h("form", { class: "form", novalidate: true }, settingsFields(endpoint),
    h("div", { class: "form-actions" }, button("Save changes", null, { variant: "primary", type: "submit" })));
  handleSubmit(settings, async () => {
    await ctx.api.patch(base, readSettings(settings));
    // Announce once the page shows the saved state, not before.
    await ctx.rerender();
    flash("Endpoint saved.");
  });

  const toggle = button(endpoint.enabled ? "Disable endpoint" : "Enable endpoint", async () => {
    if (endpoint.enabled && !confirm("Disable this endpoint? Its deliveries wait until it is enabled again.")) return;
    toggle.disabled = true;
    try {
      await ctx.api.patch(base, { enabled: !endpoint.enabled });
      await ctx.rerender();
      flash(endpoint.enabled ? "Endpoint disabled; deliveries wait until it is enabled." : "Endpoint enabled.");
    } catch (failure) {
      flash(failure.message, "bad");
      toggle.disabled = false;
    }
  }, { variant: endpoint.enabled ? "danger" : "primary" });

  return tenantFrame(ctx, tenant, "endpoints",
    h("div", { class: "detail-head" },
      h("div", null,
        h("h2", { class: "mono break" }, endpoint.url),
        h("p", { class: "muted" }, [endpoint.description, eventTypes(endpoint), endpoint.api_version && `API version ${endpoint.api_version}`].filter(Boolean).join(" · "))),
      h("div", { class: "button-row" }, h("a", { href: deliveriesLink(""), class: "button button-secondary" }, "View deliveries"), toggle)),
    health,
    h("div", { class: "columns" },
      panel("Settings", settings),
      h("div", null, secretPanel(ctx, base), recoverPanel(ctx, base))),
    panel("Details", facts([
      ["Id", code(endpoint.id)],
      ["Created", formatDate(endpoint.created_at)],
      ["Updated", formatDate(endpoint.updated_at)],
      ["Retry schedule", endpoint.retry_schedule ? `${endpoint.retry_schedule.join(" s, ")} s` : "deployment default"],
      ["Rate limit", endpoint.delivery_rate_per_second ? `${endpoint.delivery_rate_per_second}/s` : "none"],
      ["Custom headers", Object.keys(endpoint.headers).length ? Object.keys(endpoint.headers).join(", ") : "none"],
    ])));
}

function card(label, ...value) {
  return h("div", { class: "card" }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, ...value));
}

/** Reveal the signing secret, or rotate it (the old one keeps signing during the grace period). */
function secretPanel(ctx, base) {
  const output = h("div", { class: "secret-output" });
  const show = (secret) => replace(output,
    h("p", null, "Current secret: ", code(secret.key, "secret")),
    secret.previous.length
      ? h("p", { class: "small muted" }, `${secret.previous.length} previous secret(s) still sign until `, formatDate(secret.previous[0].expires_at), ".")
      : null);
  const reveal = button("Reveal secret", async () => show(await ctx.api.get([...base, "secret"])));
  const rotate = button("Rotate secret", async () => {
    if (!confirm("Rotate the signing secret? The current one keeps signing during the grace period.")) return;
    rotate.disabled = true;
    try {
      show(await ctx.api.post([...base, "secret", "rotate"], {}));
      flash("Secret rotated. Give the new secret to the subscriber.");
    } catch (failure) {
      flash(failure.message, "bad");
    } finally {
      rotate.disabled = false;
    }
  });
  return panel("Signing secret",
    h("p", { class: "muted small" }, "Subscribers verify each webhook's signature with this whsec_ secret."),
    h("div", { class: "button-row" }, reveal, rotate), output);
}

/** Requeue every failed or exhausted delivery of the endpoint created since a time. */
function recoverPanel(ctx, base) {
  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
  const local = new Date(dayAgo.getTime() - dayAgo.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const since = h("input", { type: "datetime-local", name: "since", value: local, required: true });
  const form = h("form", { class: "form", novalidate: true },
    field("recover-since", "Failed since", since, "Every failed or exhausted delivery created since then gets one more attempt now."),
    h("div", { class: "form-actions" }, button("Recover failed deliveries", null, { variant: "primary", type: "submit" })));
  handleSubmit(form, async () => {
    const at = new Date(since.value);
    const recovery = await ctx.api.post([...base, "recover"], { since: Number.isNaN(at.getTime()) ? since.value : at.toISOString() });
    flash(`Recovering ${recovery.deliveries} deliveries (${recovery.id}).`);
  });
  return panel("Recover failed since…", form);
}
