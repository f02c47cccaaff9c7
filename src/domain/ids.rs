//! Prefixed, time-sortable identifiers (`ten_01J…`): one newtype per resource so an endpoint id can
//! never be passed where a tenant id is expected, and the id doubles as the pagination cursor.

use std::fmt;
use std::sync::{LazyLock, Mutex};

use ulid::{Generator, Ulid};

/// One process-wide monotonic generator: ids minted in the same millisecond still sort in
/// creation order, which keeps cursor pagination stable.
static GENERATOR: LazyLock<Mutex<Generator>> = LazyLock::new(|| Mutex::new(Generator::new()));

fn next_ulid() -> Ulid {
    let mut generator = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // The generator only fails when 2^80 ids are minted within one millisecond; fall back to a
    // fresh random ULID (still time-ordered to the millisecond) rather than panic.
    generator.generate().unwrap_or_else(|_| Ulid::new())
}

/// Why a string is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id of the form `{prefix}_<26 characters>`")]
pub struct InvalidId {
    pub prefix: &'static str,
}

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Mints a new id; later calls sort after earlier ones.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid()))
            }

            /// Accepts only `<prefix>_<ULID>`, so ids from other resources or typos are refused early.
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let invalid = InvalidId { prefix: $prefix };
                let rest = raw
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or(invalid.clone())?;
                let ulid = Ulid::from_string(rest).map_err(|_| invalid)?;
                Ok(Self(format!("{}_{}", $prefix, ulid)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The smallest id minted at `at` (millisecond precision). Ids sort by creation
            /// time, so `since <= created < until` is the id range `[lowest_at(since), lowest_at(until))`.
            pub fn lowest_at(at: chrono::DateTime<chrono::Utc>) -> String {
                let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
                format!("{}_{}", $prefix, Ulid::from_parts(millis, 0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

define_id!(
    /// A tenant: one of the vendor's customers.
    TenantId,
    "ten"
);
define_id!(
    /// A subscriber endpoint owned by a tenant.
    EndpointId,
    "ep"
);
define_id!(
    /// An API token (the id, never the secret token value).
    TokenId,
    "tok"
);
define_id!(
    /// An event submitted by the vendor; also the `webhook-id` subscribers dedup on.
    EventId,
    "evt"
);
define_id!(
    /// One event on its way to one endpoint.
    DeliveryId,
    "dlv"
);
define_id!(
    /// One HTTP try of a delivery.
    AttemptId,
    "att"
);
define_id!(
    /// A background requeue of an endpoint's failed deliveries.
    RecoveryId,
    "rec"
);
define_id!(
    /// An entry of the audit log.
    AuditId,
    "aud"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_minted_at_a_time_sort_between_its_bounds() {
        let before = chrono::Utc::now() - chrono::Duration::milliseconds(1);
        let id = EventId::generate();
        let after = chrono::Utc::now() + chrono::Duration::milliseconds(1);
        assert!(EventId::lowest_at(before).as_str() <= id.as_str());
        assert!(id.as_str() < EventId::lowest_at(after).as_str());
        assert!(EventId::parse(&EventId::lowest_at(before)).is_ok());
    }

    #[test]
    fn generated_ids_round_trip_through_parse() {
        let id = TenantId::generate();
        assert_eq!(TenantId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn ids_minted_later_sort_later() {
        let ids: Vec<EndpointId> = (0..1000).map(|_| EndpointId::generate()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn ids_of_another_kind_or_malformed_are_refused() {
        let endpoint = EndpointId::generate();
        assert!(TenantId::parse(endpoint.as_str()).is_err());
        assert!(TenantId::parse("ten_").is_err());
        assert!(TenantId::parse("ten_not-a-ulid-at-all-xxxxxxx").is_err());
        assert!(TenantId::parse("ten01ARZ3NDEKTSV4RRFFQ69G5FAV").is_err());
    }

    #[test]
    fn parsing_normalises_case() {
        let id = TenantId::generate();
        let lower = format!("ten_{}", id.as_str()[4..].to_lowercase());
        assert_eq!(TenantId::parse(&lower), Ok(id));
    }
}
