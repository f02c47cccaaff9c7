//! The log queries (events, deliveries, attempts, audit entries), built once for both backends:
//! filters become `WHERE` clauses over one index each, pages are keyset ranges on the id, newest
//! first. Every bound value is text, so each backend binds the same list.

use crate::domain::delivery::DeliveryStatus;
use crate::store::PageRequest;
use crate::store::records::{AttemptFilter, AuditFilter, DeliveryFilter, EventFilter, IdRange};

/// A delivery is leased (being sent) while it carries a claim token. Claims set only the token and
/// `leased_until`, columns no index covers, so PostgreSQL updates the row in place (HOT) instead of
/// adding an entry to each of the table's indexes; the status stays `pending` or `failed`.
pub const LEASED: &str = "claim_token IS NOT NULL";

/// The status the API shows, from the stored status and the lease.
pub const SHOWN_STATUS: &str = "CASE WHEN claim_token IS NOT NULL THEN 'delivering' ELSE status END";

/// The SQL differences that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// A statement and the text values it binds, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub sql: String,
    pub params: Vec<String>,
}

struct Conditions {
    dialect: Dialect,
    clauses: Vec<String>,
    params: Vec<String>,
}

impl Conditions {
    fn new(dialect: Dialect) -> Self {
        Self { dialect, clauses: Vec::new(), params: Vec::new() }
    }

    fn bind(&mut self, value: &str) -> String {
        self.params.push(value.to_owned());
        match self.dialect {
            Dialect::Postgres => format!("${}", self.params.len()),
            Dialect::Sqlite => format!("?{}", self.params.len()),
        }
    }

    fn equals(&mut self, column: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            let placeholder = self.bind(value);
            self.clauses.push(format!("{column} = {placeholder}"));
        }
        self
    }

    fn compare(&mut self, column: &str, operator: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            let placeholder = self.bind(value);
            self.clauses.push(format!("{column} {operator} {placeholder}"));
        }
        self
    }

    /// A delivery's status as the API shows it: a leased delivery is `delivering` whatever its
    /// stored status (claims leave `status` alone, see [`LEASED`]).
    fn delivery_status(&mut self, status: Option<DeliveryStatus>) -> &mut Self {
        match status {
            None => self,
            Some(DeliveryStatus::Delivering) => {
                self.clauses.push(LEASED.to_owned());
                self
            }
            Some(status @ (DeliveryStatus::Pending | DeliveryStatus::Failed)) => {
                self.equals("status", Some(status.as_str())).clauses.push(format!("NOT ({LEASED})"));
                self
            }
            Some(status) => self.equals("status", Some(status.as_str())),
        }
    }

    fn id_range(&mut self, range: &IdRange) -> &mut Self {
        self.compare("id", ">=", range.from.as_deref()).compare("id", "<", range.to.as_deref())
    }

    fn flag(&mut self, column: &str, value: Option<bool>) -> &mut Self {
        if let Some(value) = value {
            let literal = match (self.dialect, value) {
                (Dialect::Postgres, true) => "TRUE",
                (Dialect::Postgres, false) => "FALSE",
                (Dialect::Sqlite, true) => "1",
                (Dialect::Sqlite, false) => "0",
            };
            self.clauses.push(format!("{column} = {literal}"));
        }
        self
    }

    /// `column` (a JSON array of strings) contains `value`.
    fn json_contains(&mut self, column: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            let placeholder = self.bind(value);
            self.clauses.push(match self.dialect {
                Dialect::Postgres => format!("{column} @> jsonb_build_array({placeholder}::text)"),
                Dialect::Sqlite => format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value = {placeholder})"),
            });
        }
        self
    }

    /// Newest first, after the cursor, one more row than the page to tell whether more exist.
    fn page(mut self, columns: &str, table: &str, page: &PageRequest) -> Query {
        self.compare("id", "<", page.after.as_deref());
        let conditions = if self.clauses.is_empty() { "TRUE".to_owned() } else { self.clauses.join(" AND ") };
        Query {
            sql: format!(
                "SELECT {columns} FROM {table} WHERE {conditions} ORDER BY id DESC LIMIT {}",
                page.fetch_limit()
            ),
            params: self.params,
        }
    }
}

pub fn events(dialect: Dialect, columns: &str, tenant_id: &str, filter: &EventFilter, page: &PageRequest) -> Query {
    let mut conditions = Conditions::new(dialect);
    conditions
        .equals("tenant_id", Some(tenant_id))
        .equals("event_type", filter.event_type.as_ref().map(|name| name.as_str()))
        .json_contains("channels", filter.channel.as_ref().map(|channel| channel.as_str()))
        .id_range(&filter.created);
    conditions.page(columns, "events", page)
}

pub fn deliveries(
    dialect: Dialect,
    columns: &str,
    tenant_id: &str,
    filter: &DeliveryFilter,
    page: &PageRequest,
) -> Query {
    let mut conditions = Conditions::new(dialect);
    conditions
        .equals("tenant_id", Some(tenant_id))
        .delivery_status(filter.status)
        .equals("endpoint_id", filter.endpoint_id.as_ref().map(|id| id.as_str()))
        .equals("event_type", filter.event_type.as_ref().map(|name| name.as_str()))
        .equals("event_id", filter.event_id.as_ref().map(|id| id.as_str()))
        .id_range(&filter.created);
    conditions.page(columns, "deliveries", page)
}

pub fn attempts(dialect: Dialect, columns: &str, tenant_id: &str, filter: &AttemptFilter, page: &PageRequest) -> Query {
    let mut conditions = Conditions::new(dialect);
    conditions
        .equals("tenant_id", Some(tenant_id))
        .equals("delivery_id", filter.delivery_id.as_ref().map(|id| id.as_str()))
        .equals("endpoint_id", filter.endpoint_id.as_ref().map(|id| id.as_str()))
        .equals("event_id", filter.event_id.as_ref().map(|id| id.as_str()))
        .flag("succeeded", filter.succeeded)
        .equals("error_kind", filter.error_kind.map(|kind| kind.as_str()))
        .id_range(&filter.started);
    conditions.page(columns, "attempts", page)
}

pub fn audit(dialect: Dialect, columns: &str, filter: &AuditFilter, page: &PageRequest) -> Query {
    let mut conditions = Conditions::new(dialect);
    conditions
        .equals("tenant_id", filter.tenant_id.as_ref().map(|id| id.as_str()))
        .equals("action", filter.action.as_deref());
    conditions.page(columns, "audit_log", page)
}

/// Counts an endpoint's deliveries by status over a window (for its stats).
pub fn endpoint_status_counts(dialect: Dialect, tenant_id: &str, endpoint_id: &str, window: &IdRange) -> Query {
    let mut conditions = Conditions::new(dialect);
    conditions.equals("tenant_id", Some(tenant_id)).equals("endpoint_id", Some(endpoint_id)).id_range(window);
    Query {
        sql: format!(
            "SELECT {SHOWN_STATUS} AS status, count(*) AS count FROM deliveries WHERE {} GROUP BY 1",
            conditions.clauses.join(" AND ")
        ),
        params: conditions.params,
    }
}

/// Counts the deliveries of each of `event_ids` by status (the summary shown with each event).
pub fn event_status_counts(dialect: Dialect, tenant_id: &str, event_ids: &[&str]) -> Query {
    let mut conditions = Conditions::new(dialect);
    conditions.equals("tenant_id", Some(tenant_id));
    let placeholders: Vec<String> = event_ids.iter().map(|id| conditions.bind(id)).collect();
    Query {
        sql: format!(
            "SELECT event_id, {SHOWN_STATUS} AS status, count(*) AS count FROM deliveries
             WHERE {} AND event_id IN ({}) GROUP BY 1, 2",
            conditions.clauses.join(" AND "),
            placeholders.join(", ")
        ),
        params: conditions.params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::names::Channel;

    fn page() -> PageRequest {
        PageRequest { limit: 10, after: Some("dlv_cursor".into()) }
    }

    #[test]
    fn filters_become_numbered_placeholders_in_order() {
        let filter = DeliveryFilter {
            status: Some(DeliveryStatus::Failed),
            created: IdRange { from: Some("dlv_a".into()), to: None },
            ..DeliveryFilter::default()
        };
        let query = deliveries(Dialect::Postgres, "id", "ten_x", &filter, &page());
        assert_eq!(
            query.sql,
            "SELECT id FROM deliveries WHERE tenant_id = $1 AND status = $2 AND NOT (claim_token IS NOT NULL) \
             AND id >= $3 AND id < $4 ORDER BY id DESC LIMIT 11"
        );
        assert_eq!(query.params, ["ten_x", "failed", "dlv_a", "dlv_cursor"]);
        let sqlite = deliveries(Dialect::Sqlite, "id", "ten_x", &filter, &page());
        assert!(sqlite.sql.contains("status = ?2 AND NOT (claim_token IS NOT NULL) AND id >= ?3 AND id < ?4"));
    }

    #[test]
    fn channel_and_result_filters_use_each_dialect() {
        let filter = EventFilter { channel: Some(Channel::parse("eu").unwrap()), ..EventFilter::default() };
        let query = events(Dialect::Postgres, "id", "ten_x", &filter, &PageRequest { limit: 5, after: None });
        assert!(query.sql.contains("channels @> jsonb_build_array($2::text)"), "{}", query.sql);
        let query = events(Dialect::Sqlite, "id", "ten_x", &filter, &PageRequest { limit: 5, after: None });
        assert!(query.sql.contains("json_each(channels) WHERE value = ?2"), "{}", query.sql);
        let failed = AttemptFilter { succeeded: Some(false), ..AttemptFilter::default() };
        let query = attempts(Dialect::Sqlite, "id", "ten_x", &failed, &PageRequest { limit: 5, after: None });
        assert!(query.sql.contains("succeeded = 0"));
    }

    #[test]
    fn an_unfiltered_audit_list_selects_everything() {
        let query = audit(Dialect::Postgres, "id", &AuditFilter::default(), &PageRequest { limit: 5, after: None });
        assert_eq!(query.sql, "SELECT id FROM audit_log WHERE TRUE ORDER BY id DESC LIMIT 6");
        assert!(query.params.is_empty());
    }
}
