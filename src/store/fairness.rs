//! Tenant-fair claiming, shared by both backends: which tenants a claim visits and how many
//! deliveries each may contribute. Tenants with due work are found by a skip scan over the
//! `(tenant_id, due_at)` index, starting after the tenant the previous claim ended with, so the
//! cost depends on the number of tenants served, not on anyone's backlog.

use std::sync::Mutex;

/// Where the next claim starts its walk through tenants (per process).
#[derive(Debug, Default)]
pub struct TenantCursor(Mutex<String>);

/// The tenants one claim visits, and the share of the batch each may take.
pub struct ClaimPlan {
    pub tenants: Vec<String>,
    pub per_tenant: usize,
}

impl ClaimPlan {
    /// Starts driving the claims of a batch of `limit`.
    pub fn claims(&self, limit: usize) -> Claims<'_> {
        Claims { plan: self, limit, claimed: 0, next: 0, has_more: Vec::new(), refilling: false, asked: 0 }
    }
}

/// Drives one batch: each tenant its share first, then the room left goes to the tenants that
/// had more. Call [`Claims::next_request`], claim, report with [`Claims::got`], repeat.
pub struct Claims<'a> {
    plan: &'a ClaimPlan,
    limit: usize,
    claimed: usize,
    next: usize,
    has_more: Vec<&'a str>,
    refilling: bool,
    asked: usize,
}

impl<'a> Claims<'a> {
    /// The next tenant to claim from and how many, or `None` when the batch is done.
    pub fn next_request(&mut self) -> Option<(&'a str, usize)> {
        let room = self.limit.saturating_sub(self.claimed);
        if room == 0 {
            return None;
        }
        if !self.refilling {
            if let Some(tenant) = self.plan.tenants.get(self.next) {
                self.next += 1;
                self.asked = self.plan.per_tenant.min(room);
                return Some((tenant.as_str(), self.asked));
            }
            self.refilling = true;
            self.next = 0;
        }
        let tenant = self.has_more.get(self.next).copied()?;
        self.next += 1;
        self.asked = room;
        Some((tenant, room))
    }

    /// Reports how many deliveries the last request claimed.
    pub fn got(&mut self, count: usize) {
        self.claimed += count;
        if !self.refilling && count == self.asked && self.next > 0 {
            self.has_more.push(self.plan.tenants[self.next - 1].as_str());
        }
    }
}

impl TenantCursor {
    /// The tenant id to start after (`""` for the beginning).
    pub fn start(&self) -> String {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Plans a claim of `limit` over `after_cursor` (tenants following the cursor) and
    /// `from_start` (tenants from the beginning, used when the first list ran short), and moves
    /// the cursor past the last tenant visited.
    pub fn plan(&self, limit: usize, after_cursor: Vec<String>, from_start: Vec<String>) -> ClaimPlan {
        let mut tenants = after_cursor;
        for tenant in from_start {
            if tenants.len() >= limit {
                break;
            }
            if !tenants.contains(&tenant) {
                tenants.push(tenant);
            }
        }
        tenants.truncate(limit.max(1));
        let per_tenant = if tenants.is_empty() { 0 } else { limit.div_ceil(tenants.len()).max(1) };
        let mut cursor = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *cursor = tenants.last().cloned().unwrap_or_default();
        ClaimPlan { tenants, per_tenant }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn the_batch_is_shared_and_the_cursor_rotates() {
        let cursor = TenantCursor::default();
        assert_eq!(cursor.start(), "");
        let plan = cursor.plan(64, names(&["a", "b"]), vec![]);
        assert_eq!((plan.tenants.len(), plan.per_tenant), (2, 32));
        assert_eq!(cursor.start(), "b");
        let plan = cursor.plan(2, names(&["c", "d", "e"]), vec![]);
        assert_eq!(plan.tenants, names(&["c", "d"]));
        assert_eq!(plan.per_tenant, 1);
        assert_eq!(cursor.start(), "d");
        let wrapped = cursor.plan(4, names(&["e"]), names(&["a", "b", "e"]));
        assert_eq!(wrapped.tenants, names(&["e", "a", "b"]));
    }

    #[test]
    fn shares_first_then_the_room_left_goes_to_tenants_with_more() {
        let plan = ClaimPlan { tenants: names(&["big", "small"]), per_tenant: 4 };
        let backlog = |tenant: &str| if tenant == "big" { 100 } else { 1 };
        let mut claims = plan.claims(8);
        let mut calls = Vec::new();
        while let Some((tenant, wanted)) = claims.next_request() {
            calls.push((tenant.to_owned(), wanted));
            claims.got(wanted.min(backlog(tenant)));
        }
        assert_eq!(calls, [("big".to_owned(), 4), ("small".to_owned(), 4), ("big".to_owned(), 3)]);
    }

    #[test]
    fn no_due_tenants_means_an_empty_plan() {
        let cursor = TenantCursor::default();
        let plan = cursor.plan(64, vec![], vec![]);
        assert!(plan.tenants.is_empty());
        assert_eq!(plan.per_tenant, 0);
    }
}
