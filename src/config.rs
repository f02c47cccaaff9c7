//! Configuration, layered: defaults in code → optional TOML file → `OUTHOOK_*` environment
//! variables (`__` separates nesting levels: `OUTHOOK_DATABASE__URL`). One struct per concern.
//! `docs/configuration.md` is generated from [`reference`]; a test fails when it drifts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::health::HealthPolicy;
use crate::domain::retry::RetrySchedule;
use crate::telemetry::LogFormat;

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
}

/// All settings of one Outhook process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Directory for the embedded SQLite database and the generated encryption key.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub ingest: IngestSettings,
    pub delivery: DeliverySettings,
    pub retention: RetentionSettings,
    pub telemetry: TelemetrySettings,
}

/// Logs (traces are configured with the standard `OTEL_*` variables).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `text` for people, `json` (one object per line) for log pipelines.
    pub log_format: LogFormat,
}

/// How long delivery logs are kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Events (with their deliveries and attempts) older than this many days are deleted once no delivery of theirs is still pending; 0 keeps everything.
    pub days: u32,
    /// How often workers prune (s).
    pub interval_seconds: u64,
    /// Events deleted per transaction, so pruning never holds up delivery.
    pub batch_size: usize,
}

/// Limits on submitted events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// Events per second each tenant may submit, per API process (a tenant can override it); 0 disables the limit.
    pub rate_per_second: u32,
    /// How many events a tenant may submit at once above its rate.
    pub rate_burst: u32,
    /// Largest payload of one event, in bytes.
    pub max_payload_bytes: usize,
    /// Largest body of a batch submission, in bytes.
    pub max_batch_bytes: usize,
}

/// Delivery workers: concurrency, leases, timeouts, retries and the SSRF allow-list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySettings {
    /// Requests in flight at once per worker process.
    pub concurrency: usize,
    /// Deliveries claimed per database round trip.
    pub batch_size: usize,
    /// How long a claimed delivery stays leased before another worker may retry it (ms). Must
    /// exceed the request timeout.
    pub lease_ms: u64,
    /// Timeout of one HTTP request to a subscriber, connect to last byte (ms).
    pub request_timeout_ms: u64,
    /// Longest idle wait between checks for due work (ms); new work wakes workers at once.
    pub poll_interval_ms: u64,
    /// Delays in seconds before each attempt (the first is normally 0); its length is the number of attempts.
    pub retry_schedule: Vec<u64>,
    /// Upper bound on how far a subscriber's `Retry-After` may postpone the next attempt (s).
    pub retry_after_max_seconds: u64,
    /// Networks the SSRF guard lets through although they are not public, e.g. `127.0.0.0/8` for local development.
    pub allowed_networks: Vec<String>,
    /// How long shutdown waits for in-flight requests before leaving them to lease expiry (ms).
    pub shutdown_grace_ms: u64,
    /// Consecutive failed attempts that open an endpoint's circuit (deliveries then wait without spending attempts); 0 disables the breaker.
    pub circuit_failure_threshold: u32,
    /// How long an open circuit waits before one probe delivery is let through (s).
    pub circuit_cooldown_seconds: u64,
    /// An endpoint failing without any success for this long is disabled automatically (hours); 0 never disables.
    pub disable_after_hours: u64,
    /// Deliveries requeued per transaction by `recover`.
    pub recovery_batch_size: usize,
}

/// The HTTP API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port the API listens on. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Largest request body accepted, in bytes (larger bodies get 413).
    pub max_body_bytes: usize,
    /// Base URL at which browsers reach Outhook (`https://hooks.example.com`), used in console
    /// portal links. Empty: the scheme and host of the request that mints the link.
    pub public_url: String,
}

/// Where data lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:pass@host/db` or `sqlite://path`. Empty: SQLite at `<data_dir>/outhook.db`.
    #[serde(serialize_with = "serialize_secret")]
    pub url: SecretString,
    /// Maximum PostgreSQL connections per process.
    pub pool_size: usize,
    /// How long tokens, tenants and event type definitions are cached in memory (ms); changes made
    /// through another process take up to this long to be seen here. 0 disables the cache.
    pub cache_ttl_ms: u64,
}

/// Keys and credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Base64 of 32 bytes encrypting signing secrets at rest. Empty with SQLite: generated once
    /// into `<data_dir>/encryption.key`. Required with PostgreSQL (every process needs the same key).
    #[serde(serialize_with = "serialize_secret")]
    pub encryption_key: SecretString,
    /// How long a rotated-out signing secret keeps signing alongside the new one (s).
    pub secret_rotation_grace_seconds: u64,
}

fn serialize_secret<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./outhook-data"),
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            security: SecuritySettings::default(),
            ingest: IngestSettings::default(),
            delivery: DeliverySettings::default(),
            retention: RetentionSettings::default(),
            telemetry: TelemetrySettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            max_body_bytes: 1024 * 1024,
            public_url: String::new(),
        }
    }
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            rate_per_second: 1_000,
            rate_burst: 5_000,
            max_payload_bytes: 256 * 1024,
            max_batch_bytes: 32 * 1024 * 1024,
        }
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            concurrency: 64,
            batch_size: 64,
            lease_ms: 60_000,
            request_timeout_ms: 15_000,
            poll_interval_ms: 1_000,
            retry_schedule: RetrySchedule::standard().seconds().to_vec(),
            retry_after_max_seconds: 3_600,
            allowed_networks: Vec::new(),
            shutdown_grace_ms: 30_000,
            circuit_failure_threshold: 10,
            circuit_cooldown_seconds: 60,
            disable_after_hours: 5 * 24,
            recovery_batch_size: 500,
        }
    }
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { days: 30, interval_seconds: 300, batch_size: 1_000 }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: SecretString::from(""), pool_size: 16, cache_ttl_ms: 5_000 }
    }
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self { encryption_key: SecretString::from(""), secret_rotation_grace_seconds: 24 * 3600 }
    }
}

impl Settings {
    /// Loads defaults, then `file` if given, then `OUTHOOK_*` variables from the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            figment = figment.merge(Toml::file(file));
        }
        // OUTHOOK_TEST_* variables belong to the test harness and OUTHOOK_CONFIG names the file:
        // neither is a setting.
        let env = Env::prefixed("OUTHOOK_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            !key.starts_with("test_") && key != "config"
        });
        figment.merge(env).extract().map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    /// The endpoint health rules in effect.
    pub fn health_policy(&self) -> HealthPolicy {
        let delivery = &self.delivery;
        HealthPolicy {
            failure_threshold: delivery.circuit_failure_threshold,
            cooldown: seconds(delivery.circuit_cooldown_seconds),
            disable_after: (delivery.disable_after_hours > 0)
                .then(|| seconds(delivery.disable_after_hours.saturating_mul(3600))),
        }
    }

    /// The database URL in effect: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        let configured = self.database.url.expose_secret();
        if configured.is_empty() {
            format!("sqlite://{}", self.data_dir.join("outhook.db").display())
        } else {
            configured.to_owned()
        }
    }
}

/// A configured number of seconds as a duration, saturating instead of overflowing.
pub fn seconds(value: u64) -> chrono::Duration {
    i64::try_from(value).ok().and_then(chrono::Duration::try_seconds).unwrap_or(chrono::Duration::MAX)
}

/// One documented setting: its key, default and meaning.
pub struct SettingDoc {
    pub key: &'static str,
    pub default: String,
    pub doc: &'static str,
}

/// Every setting with its default and documentation, the source of `docs/configuration.md`.
pub fn reference() -> Vec<SettingDoc> {
    let defaults = Settings::default();
    let entry = |key, default: String, doc| SettingDoc { key, default, doc };
    vec![
        entry(
            "data_dir",
            defaults.data_dir.display().to_string(),
            "Directory for the embedded SQLite database and the generated encryption key.",
        ),
        entry(
            "server.listen",
            defaults.server.listen.to_string(),
            "Address and port the API listens on. Port 0 picks a free port.",
        ),
        entry("server.workers", defaults.server.workers.to_string(), "HTTP worker threads; 0 means one per CPU core."),
        entry(
            "server.max_body_bytes",
            defaults.server.max_body_bytes.to_string(),
            "Largest request body accepted, in bytes (larger bodies get 413).",
        ),
        entry(
            "server.public_url",
            String::new(),
            "Base URL at which browsers reach Outhook (`https://hooks.example.com`), used in console portal links. Empty: the scheme and host of the request that mints the link.",
        ),
        entry(
            "database.url",
            String::new(),
            "`postgres://user:pass@host/db` or `sqlite://path`. Empty: SQLite at `<data_dir>/outhook.db`.",
        ),
        entry(
            "database.pool_size",
            defaults.database.pool_size.to_string(),
            "Maximum PostgreSQL connections per process.",
        ),
        entry(
            "database.cache_ttl_ms",
            defaults.database.cache_ttl_ms.to_string(),
            "How long tokens, tenants and event type definitions are cached in memory (ms); changes made \
             through another process take up to this long to be seen here. 0 disables the cache.",
        ),
        entry(
            "security.encryption_key",
            String::new(),
            "Base64 of 32 bytes encrypting signing secrets at rest. Empty with SQLite: generated once into \
             `<data_dir>/encryption.key`. Required with PostgreSQL (every process needs the same key).",
        ),
        entry(
            "security.secret_rotation_grace_seconds",
            defaults.security.secret_rotation_grace_seconds.to_string(),
            "How long a rotated-out signing secret keeps signing alongside the new one (s).",
        ),
        entry(
            "ingest.rate_per_second",
            defaults.ingest.rate_per_second.to_string(),
            "Events per second each tenant may submit, per API process (a tenant can override it); 0 disables the limit.",
        ),
        entry(
            "ingest.rate_burst",
            defaults.ingest.rate_burst.to_string(),
            "How many events a tenant may submit at once above its rate.",
        ),
        entry(
            "ingest.max_payload_bytes",
            defaults.ingest.max_payload_bytes.to_string(),
            "Largest payload of one event, in bytes.",
        ),
        entry(
            "ingest.max_batch_bytes",
            defaults.ingest.max_batch_bytes.to_string(),
            "Largest body of a batch submission, in bytes.",
        ),
        entry(
            "delivery.concurrency",
            defaults.delivery.concurrency.to_string(),
            "Requests in flight at once per worker process.",
        ),
        entry(
            "delivery.batch_size",
            defaults.delivery.batch_size.to_string(),
            "Deliveries claimed per database round trip.",
        ),
        entry(
            "delivery.lease_ms",
            defaults.delivery.lease_ms.to_string(),
            "How long a claimed delivery stays leased before another worker may retry it (ms). Must exceed the request timeout.",
        ),
        entry(
            "delivery.request_timeout_ms",
            defaults.delivery.request_timeout_ms.to_string(),
            "Timeout of one HTTP request to a subscriber, connect to last byte (ms).",
        ),
        entry(
            "delivery.poll_interval_ms",
            defaults.delivery.poll_interval_ms.to_string(),
            "Longest idle wait between checks for due work (ms); new work wakes workers at once.",
        ),
        entry(
            "delivery.retry_schedule",
            format!("{:?}", defaults.delivery.retry_schedule),
            "Delays in seconds before each attempt (the first is normally 0); its length is the number of attempts.",
        ),
        entry(
            "delivery.retry_after_max_seconds",
            defaults.delivery.retry_after_max_seconds.to_string(),
            "Upper bound on how far a subscriber's `Retry-After` may postpone the next attempt (s).",
        ),
        entry(
            "delivery.allowed_networks",
            "[]".to_owned(),
            "Networks the SSRF guard lets through although they are not public, e.g. `127.0.0.0/8` for local development.",
        ),
        entry(
            "delivery.shutdown_grace_ms",
            defaults.delivery.shutdown_grace_ms.to_string(),
            "How long shutdown waits for in-flight requests before leaving them to lease expiry (ms).",
        ),
        entry(
            "delivery.circuit_failure_threshold",
            defaults.delivery.circuit_failure_threshold.to_string(),
            "Consecutive failed attempts that open an endpoint's circuit (deliveries then wait without spending attempts); 0 disables the breaker.",
        ),
        entry(
            "delivery.circuit_cooldown_seconds",
            defaults.delivery.circuit_cooldown_seconds.to_string(),
            "How long an open circuit waits before one probe delivery is let through (s).",
        ),
        entry(
            "delivery.disable_after_hours",
            defaults.delivery.disable_after_hours.to_string(),
            "An endpoint failing without any success for this long is disabled automatically (hours); 0 never disables.",
        ),
        entry(
            "delivery.recovery_batch_size",
            defaults.delivery.recovery_batch_size.to_string(),
            "Deliveries requeued per transaction by `recover`.",
        ),
        entry(
            "telemetry.log_format",
            "text".to_owned(),
            "`text` for people, `json` (one object per line) for log pipelines. Traces are exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.",
        ),
        entry(
            "retention.days",
            defaults.retention.days.to_string(),
            "Events (with their deliveries and attempts) older than this many days are deleted once no delivery of theirs is still pending; 0 keeps everything.",
        ),
        entry(
            "retention.interval_seconds",
            defaults.retention.interval_seconds.to_string(),
            "How often workers prune (s).",
        ),
        entry(
            "retention.batch_size",
            defaults.retention.batch_size.to_string(),
            "Events deleted per transaction, so pruning never holds up delivery.",
        ),
    ]
}

/// Renders `docs/configuration.md`.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated by `outhook config-reference`; a test fails when this file drifts. -->\n\n\
         Settings are read from defaults, then the TOML file given with `--config`, then environment\n\
         variables: `OUTHOOK_` followed by the key in upper case with `__` for each dot\n\
         (`server.listen` → `OUTHOOK_SERVER__LISTEN`).\n\n\
         | key | environment variable | default | meaning |\n|---|---|---|---|\n",
    );
    for setting in reference() {
        let env = format!("OUTHOOK_{}", setting.key.replace('.', "__").to_uppercase());
        let default = if setting.default.is_empty() { "(empty)".to_owned() } else { format!("`{}`", setting.default) };
        out.push_str(&format!("| `{}` | `{env}` | {default} | {} |\n", setting.key, setting.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_embedded_sqlite_on_loopback() {
        let settings = Settings::default();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url(), "sqlite://./outhook-data/outhook.db");
    }

    #[test]
    fn the_reference_lists_every_setting() {
        let serialized = serde_json::to_value(Settings::default()).unwrap();
        let mut keys = Vec::new();
        for (section, value) in serialized.as_object().unwrap() {
            match value.as_object() {
                Some(fields) => keys.extend(fields.keys().map(|field| format!("{section}.{field}"))),
                None => keys.push(section.clone()),
            }
        }
        let mut documented: Vec<String> = reference().iter().map(|setting| setting.key.to_owned()).collect();
        keys.sort();
        documented.sort();
        assert_eq!(keys, documented);
    }

    #[test]
    fn the_committed_configuration_reference_is_current() {
        let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md")).unwrap();
        assert_eq!(committed, reference_markdown(), "run `cargo run -- config-reference > docs/configuration.md`");
    }

    #[test]
    fn a_toml_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("outhook.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
        let settings = Settings::load(Some(&file)).unwrap();
        assert_eq!(settings.server.listen.port(), 9999);
        assert!(Settings::load(Some(&dir.path().join("missing.toml"))).is_err());
        std::fs::write(&file, "[server]\nlisten = \"not an address\"\n").unwrap();
        assert!(Settings::load(Some(&file)).is_err());
    }
}
