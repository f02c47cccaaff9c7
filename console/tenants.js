// Tenants: the admin's list of all tenants, and the frame every tenant page shares (its name,
// the Endpoints / Deliveries / Events tabs, and for admins the portal link).

import { button, code, flash, h, heading, link, route, table, time } from "./dom.js";

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 250;

/**
 * A list behind a "Load more" button: `fetchPage(cursor, limit)` → {data, next_cursor}.
 * `load()` shows the first page; `refresh()` reloads as many rows as are shown (up to the API's
 * page limit), so a live list does not collapse to one page.
 */
export function pager(fetchPage, renderRows) {
  let rows = [];
  let cursor = null;
  const holder = h("div");
  const more = button("Load more", () => load(cursor, PAGE_SIZE), { class: "button button-secondary load-more" });
  async function load(after, limit) {
    more.disabled = true;
    try {
      const page = await fetchPage(after, limit);
      rows = after ? rows.concat(page.data) : page.data;
      cursor = page.next_cursor ?? null;
      holder.replaceChildren(renderRows(rows), cursor ? more : "");
    } finally {
      more.disabled = false;
    }
  }
  return {
    holder,
    load: () => load(null, PAGE_SIZE),
    refresh: () => load(null, Math.min(MAX_PAGE_SIZE, Math.max(PAGE_SIZE, rows.length))),
  };
}

export async function tenantsView(ctx) {
  if (!ctx.isAdmin) {
    // A tenant token has one tenant: its list is that tenant.
    history.replaceState(null, "", route(["tenants", ctx.whoami.tenant.uid]));
    return ctx.rerender();
  }
  ctx.setCrumbs([{ label: "Tenants" }]);
  const list = pager(
    (cursor, limit) => ctx.api.get(["tenants"], { limit, cursor }),
    (tenants) => table({
      caption: "Tenants",
      rows: tenants,
      empty: "No tenants yet. Create one with POST /v1/tenants.",
      columns: [
        { label: "Name", cell: (t) => link(route(["tenants", t.uid]), t.name || t.uid) },
        { label: "uid", cell: (t) => code(t.uid) },
        { label: "Id", cell: (t) => code(t.id, "muted") },
        { label: "Created", cell: (t) => time(t.created_at) },
      ],
    }));
  await list.load();
  return h("div", null, heading("Tenants"), h("p", { class: "lead" }, "Every customer of this deployment. Pick one to see its endpoints, deliveries and events."), list.holder);
}

/** The tenant named by the route's first parameter; a tenant token gets 404 for any other. */
export function loadTenant(ctx) {
  return ctx.api.get(["tenants", ctx.params[0]]);
}

/** Breadcrumbs starting at the tenant (with the tenant list before it for admins). */
export function tenantCrumbs(ctx, tenant, ...rest) {
  const base = ctx.isAdmin ? [{ label: "Tenants", href: "#/tenants" }] : [];
  return base.concat([{ label: tenant.name || tenant.uid, href: route(["tenants", tenant.uid]) }], rest);
}

const TABS = [
  ["endpoints", "Endpoints"],
  ["deliveries", "Deliveries"],
  ["events", "Events"],
];

/** A tenant page: the tenant's heading, its tabs (`active` marked current) and `body`. */
export function tenantFrame(ctx, tenant, active, ...body) {
  const actions = ctx.isAdmin ? portalLinkAction(ctx, tenant) : null;
  const tabs = h("nav", { class: "tabs", "aria-label": "Tenant sections" },
    TABS.map(([key, label]) => h("a", { href: route(["tenants", tenant.uid, key]), "aria-current": key === active ? "page" : null }, label)));
  return h("div", { class: "tenant", "data-tenant": tenant.uid },
    h("div", { class: "tenant-head" },
      heading(tenant.name || tenant.uid, h("p", { class: "subtitle" }, code(tenant.uid), " · ", code(tenant.id, "muted"))),
      actions),
    tabs,
    ...body);
}

/** For admins: mint a short-lived portal link for this tenant and show it, ready to copy. */
function portalLinkAction(ctx, tenant) {
  const output = h("div", { class: "portal-link", hidden: true });
  const mint = button("Create portal link", async () => {
    mint.disabled = true;
    try {
      const created = await ctx.api.post(["tenants", tenant.uid, "portal-links"], {});
      const url = h("input", { type: "text", readonly: true, value: created.url, class: "mono", "aria-label": "Portal link" });
      const copy = button("Copy", async () => {
        await navigator.clipboard?.writeText(created.url);
        flash("Portal link copied.");
      });
      output.replaceChildren(
        h("p", null, "Send this link to the tenant. It signs in as this tenant only, and stops working ", time(created.expires_at), "."),
        h("div", { class: "inline-form" }, url, copy));
      output.hidden = false;
      url.select();
    } catch (failure) {
      flash(failure.message, "bad");
    } finally {
      mint.disabled = false;
    }
  });
  return h("div", { class: "page-actions" }, mint, output);
}
