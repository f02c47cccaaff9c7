//! The schema history of each backend, embedded in the binary, and the rule deciding what to do
//! with a database at a given version. Files live in `migrations/{postgres,sqlite}`; see
//! `migrations/README.md` for the expand/contract policy.

use crate::store::{MigrationMode, StoreError};

/// One forward-only schema step.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($backend:literal, $version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $backend, "/", stringify!($version), "_", $name, ".sql")),
        }
    };
}

pub const POSTGRES: &[Migration] = &[
    migration!("postgres", 1, "foundation"),
    migration!("postgres", 2, "delivery"),
    migration!("postgres", 3, "versions"),
    migration!("postgres", 4, "fairness"),
    migration!("postgres", 5, "tenant_limits"),
    migration!("postgres", 6, "endpoint_throttle"),
    migration!("postgres", 7, "operations"),
    migration!("postgres", 8, "trace_context"),
    migration!("postgres", 9, "binary_collation"),
    migration!("postgres", 10, "in_place_leases"),
    migration!("postgres", 11, "attempt_results"),
];
pub const SQLITE: &[Migration] = &[
    migration!("sqlite", 1, "foundation"),
    migration!("sqlite", 2, "delivery"),
    migration!("sqlite", 3, "versions"),
    migration!("sqlite", 4, "fairness"),
    migration!("sqlite", 5, "tenant_limits"),
    migration!("sqlite", 6, "endpoint_throttle"),
    migration!("sqlite", 7, "operations"),
    migration!("sqlite", 8, "trace_context"),
    migration!("sqlite", 9, "binary_collation"),
    migration!("sqlite", 10, "in_place_leases"),
    migration!("sqlite", 11, "attempt_results"),
];

/// The migrations still to apply to a database at `current`, or why it must not be touched.
pub fn pending(
    all: &'static [Migration],
    current: i64,
    mode: MigrationMode,
) -> Result<&'static [Migration], StoreError> {
    let latest = latest(all);
    if current > latest {
        return Err(StoreError::SchemaTooNew { database: current, binary: latest });
    }
    let start = all.iter().position(|migration| migration.version > current).unwrap_or(all.len());
    let pending = &all[start..];
    if mode == MigrationMode::Verify && !pending.is_empty() {
        return Err(StoreError::SchemaOutdated { database: current, binary: latest });
    }
    Ok(pending)
}

/// The version this binary expects, for readiness checks.
pub fn latest(all: &'static [Migration]) -> i64 {
    all.last().map_or(0, |migration| migration.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        for all in [POSTGRES, SQLITE] {
            for (index, migration) in all.iter().enumerate() {
                assert_eq!(migration.version, index as i64 + 1, "{}", migration.name);
            }
        }
        assert_eq!(latest(POSTGRES), latest(SQLITE), "both backends must be at the same schema version");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let result = pending(POSTGRES, latest(POSTGRES) + 1, MigrationMode::Apply);
        assert!(matches!(result, Err(StoreError::SchemaTooNew { .. })));
    }

    #[test]
    fn verify_mode_refuses_an_outdated_database_and_apply_mode_lists_steps() {
        assert!(matches!(pending(SQLITE, 0, MigrationMode::Verify), Err(StoreError::SchemaOutdated { .. })));
        assert_eq!(pending(SQLITE, 0, MigrationMode::Apply).unwrap().len(), SQLITE.len());
        assert!(pending(SQLITE, latest(SQLITE), MigrationMode::Verify).unwrap().is_empty());
    }
}
