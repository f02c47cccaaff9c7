//! Wiring: build the application from [`Settings`]. [`Application::build`] opens the store,
//! ensures an admin token exists, and binds the listener (port 0 in tests), so callers know the
//! port before the server runs.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::api::json::BodyLimit;
use crate::api::limits::IngestLimiter;
use crate::api::{self, AppState};
use crate::config::{self, Settings};
use crate::delivery::maintenance::{Maintenance, MaintenanceOptions};
use crate::delivery::sender::Sender;
use crate::delivery::worker::{Worker, WorkerOptions};
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::ids::TokenId;
use crate::domain::limits::RateLimit;
use crate::domain::names::EventTypeName;
use crate::domain::operations;
use crate::domain::retry::RetrySchedule;
use crate::domain::token::{PlainToken, TokenScope};
use crate::store::{
    self, CompletionRules, DatabaseUrl, EventType, MigrationMode, SecretCipher, Store, StoreError, StoreOptions,
    Tenant, Token,
};
use crate::telemetry::metrics::Metrics;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encryption key: {0}")]
    Key(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot listen on {address}: {source}")]
    Bind { address: String, source: std::io::Error },
}

/// Reads the configured encryption key; for SQLite without one, generates it once into the data
/// directory so a zero-configuration start still encrypts secrets at rest.
pub fn load_cipher(settings: &Settings, url: &DatabaseUrl) -> Result<SecretCipher, StartupError> {
    let configured = settings.security.encryption_key.expose_secret();
    if !configured.is_empty() {
        return SecretCipher::from_base64(configured).map_err(|e| StartupError::Key(e.to_string()));
    }
    if matches!(url, DatabaseUrl::Postgres(_)) {
        return Err(StartupError::Key(
            "security.encryption_key (OUTHOOK_SECURITY__ENCRYPTION_KEY) is required with PostgreSQL, \
             so that every process uses the same key; generate one with `openssl rand -base64 32`"
                .into(),
        ));
    }
    let path = settings.data_dir.join("encryption.key");
    let key = read_or_create_key(&path).map_err(|e| StartupError::Key(format!("{}: {e}", path.display())))?;
    SecretCipher::from_base64(&key).map_err(|e| StartupError::Key(format!("{}: {e}", path.display())))
}

fn read_or_create_key(path: &Path) -> std::io::Result<String> {
    if path.exists() {
        return std::fs::read_to_string(path);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let key = SecretCipher::generate_key();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, key.as_bytes())?;
    tracing::warn!(path = %path.display(), "generated an encryption key for signing secrets; back it up with the database");
    Ok(key)
}

/// Opens the configured store with the given migration mode.
pub async fn open_store(settings: &Settings, migrations: MigrationMode) -> Result<Arc<dyn Store>, StartupError> {
    let url = DatabaseUrl::parse(&settings.database_url())?;
    let cipher = Arc::new(load_cipher(settings, &url)?);
    let cache_ttl = Duration::from_millis(settings.database.cache_ttl_ms);
    let pool_size = settings.database.pool_size;
    Ok(store::open(StoreOptions { url, pool_size, cache_ttl, cipher, migrations }).await?)
}

/// Creates the first admin token if the deployment has none. Returns its value, which is shown
/// once and never stored in clear.
pub async fn ensure_admin_token(store: &dyn Store, clock: &dyn Clock) -> Result<Option<PlainToken>, StoreError> {
    let plain = PlainToken::generate();
    let token = Token {
        id: TokenId::generate(),
        name: "initial admin token".into(),
        scope: TokenScope::Admin,
        digest: plain.digest(),
        created_at: clock.now(),
        expires_at: None,
    };
    Ok(store.insert_first_admin_token(&token).await?.then_some(plain))
}

/// Which parts of Outhook a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The HTTP API and delivery workers.
    All,
    /// Only the HTTP API (scale it separately from workers on PostgreSQL).
    Api,
    /// Only delivery workers.
    Worker,
}

/// The deployment's retry schedule from configuration.
pub fn default_schedule(settings: &Settings) -> Result<RetrySchedule, StartupError> {
    RetrySchedule::parse(&settings.delivery.retry_schedule)
        .map_err(|error| StartupError::Config(format!("delivery.retry_schedule {error}")))
}

/// The deployment's per-tenant ingest limit; `None` when `ingest.rate_per_second` is 0.
fn default_ingest_limit(settings: &Settings) -> Result<Option<RateLimit>, StartupError> {
    if settings.ingest.rate_per_second == 0 {
        return Ok(None);
    }
    RateLimit::parse(settings.ingest.rate_per_second.into(), settings.ingest.rate_burst.into())
        .map(Some)
        .map_err(|error| StartupError::Config(format!("ingest: {error}")))
}

/// `server.public_url`, parsed; `None` when empty.
fn public_url(settings: &Settings) -> Result<Option<url::Url>, StartupError> {
    let raw = settings.server.public_url.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let invalid = |why: String| StartupError::Config(format!("server.public_url `{raw}`: {why}"));
    let url = url::Url::parse(raw).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid("must be an http or https URL".into()));
    }
    Ok(Some(url))
}

fn build_worker(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
) -> Result<Worker, StartupError> {
    let delivery = &settings.delivery;
    if delivery.lease_ms <= delivery.request_timeout_ms {
        return Err(StartupError::Config("delivery.lease_ms must exceed delivery.request_timeout_ms".into()));
    }
    let sender = Sender::new(Duration::from_millis(delivery.request_timeout_ms), &delivery.allowed_networks)
        .map_err(|error| StartupError::Config(error.to_string()))?;
    let options = WorkerOptions {
        concurrency: delivery.concurrency,
        batch_size: delivery.batch_size.max(1),
        lease: Duration::from_millis(delivery.lease_ms),
        poll_interval: Duration::from_millis(delivery.poll_interval_ms.max(1)),
        rules: CompletionRules { health: settings.health_policy(), default_schedule: default_schedule(settings)? },
        metrics,
        retry_after_cap: Duration::from_secs(delivery.retry_after_max_seconds),
        shutdown_grace: Duration::from_millis(delivery.shutdown_grace_ms),
    };
    Ok(Worker::new(store, sender, clock, options))
}

fn build_maintenance(settings: &Settings, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Maintenance {
    let retention = &settings.retention;
    let options = MaintenanceOptions {
        recovery_batch: settings.delivery.recovery_batch_size,
        retention: (retention.days > 0).then(|| chrono::Duration::days(i64::from(retention.days))),
        prune_interval: Duration::from_secs(retention.interval_seconds.max(1)),
        prune_batch: retention.batch_size,
        poll_interval: Duration::from_millis(settings.delivery.poll_interval_ms.max(1)),
    };
    Maintenance::new(store, clock, options)
}

/// Creates the operations tenant and the operational event types if they are missing, so the
/// admin only has to add endpoints to `outhook-operations` to receive Outhook's own events.
pub async fn ensure_operations(store: &dyn Store, clock: &dyn Clock) -> Result<(), StoreError> {
    let now = clock.now();
    let tenant = Tenant {
        id: operations::tenant_id(),
        uid: operations::tenant_uid(),
        name: "Outhook operational webhooks".into(),
        ingest_limit: None,
        created_at: now,
        updated_at: now,
    };
    match store.find_tenant(operations::TENANT_ID).await? {
        Some(_) => {}
        None => match store.insert_tenant(&tenant).await {
            Ok(()) => {}
            // Another process created it meanwhile, or a vendor tenant took the uid.
            Err(StoreError::Conflict) => {
                if store.find_tenant(operations::TENANT_ID).await?.is_none() {
                    tracing::warn!(
                        uid = operations::TENANT_UID,
                        "a tenant already uses the operations uid; operational webhooks are off"
                    );
                }
            }
            Err(error) => return Err(error),
        },
    }
    for (name, description) in operations::EVENT_TYPES {
        let event_type = EventType {
            name: EventTypeName::parse(name).map_err(|error| StoreError::Internal(error.to_string()))?,
            description: description.to_owned(),
            archived: false,
            created_at: now,
            updated_at: now,
        };
        match store.insert_event_type(&event_type).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn build_server(settings: &Settings, state: web::Data<AppState>) -> Result<(u16, Server), StartupError> {
    let address = settings.server.listen.to_string();
    let listener = TcpListener::bind(settings.server.listen)
        .map_err(|source| StartupError::Bind { address: address.clone(), source })?;
    let port = listener.local_addr().map_err(|source| StartupError::Bind { address: address.clone(), source })?.port();
    let body_limit = BodyLimit(settings.server.max_body_bytes);
    let batch_limit = BodyLimit(settings.ingest.max_batch_bytes);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(tracing_actix_web::TracingLogger::default())
            .app_data(state.clone())
            .app_data(body_limit)
            .configure(|config| api::configure(config, batch_limit))
    })
    .listen(listener)
    .map_err(|source| StartupError::Bind { address, source })?;
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok((port, server.run()))
}

/// A built, bound, not yet running application.
pub struct Application {
    port: Option<u16>,
    server: Option<Server>,
    worker: Option<Worker>,
    maintenance: Option<Maintenance>,
    initial_admin_token: Option<PlainToken>,
    store: Arc<dyn Store>,
}

impl Application {
    /// Builds the application with the system clock.
    pub async fn build(settings: Settings, role: Role) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, role, Arc::new(SystemClock)).await
    }

    /// Builds the application with an injected clock (tests drive time with it).
    pub async fn build_with_clock(settings: Settings, role: Role, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = open_store(&settings, MigrationMode::Apply).await?;
        let initial_admin_token = ensure_admin_token(store.as_ref(), clock.as_ref()).await?;
        ensure_operations(store.as_ref(), clock.as_ref()).await?;
        let metrics = Arc::new(Metrics::default());
        let (worker, maintenance) = match role {
            Role::All | Role::Worker => (
                Some(build_worker(&settings, Arc::clone(&store), Arc::clone(&clock), Arc::clone(&metrics))?),
                Some(build_maintenance(&settings, Arc::clone(&store), Arc::clone(&clock))),
            ),
            Role::Api => (None, None),
        };
        let (port, server) = match role {
            Role::All | Role::Api => {
                let state = web::Data::new(AppState {
                    store: Arc::clone(&store),
                    clock,
                    limits: settings.ingest.clone(),
                    default_schedule: default_schedule(&settings)?,
                    ingest_limiter: IngestLimiter::new(
                        default_ingest_limit(&settings)?,
                        metrics.events_rate_limited.clone(),
                    ),
                    secret_rotation_grace: config::seconds(settings.security.secret_rotation_grace_seconds),
                    metrics,
                    public_url: public_url(&settings)?,
                });
                let (port, server) = build_server(&settings, state)?;
                (Some(port), Some(server))
            }
            Role::Worker => (None, None),
        };
        Ok(Self { port, server, worker, maintenance, initial_admin_token, store })
    }

    /// The HTTP port, when this process serves the API.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The first admin token, when this start created it. Shown once by the caller.
    pub fn take_initial_admin_token(&mut self) -> Option<PlainToken> {
        self.initial_admin_token.take()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Runs until SIGINT/SIGTERM. Shutdown is graceful: the API finishes in-flight requests,
    /// workers stop claiming and finish (or leave to lease expiry) what they are sending.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let maintenance = self.maintenance.map(|maintenance| tokio::spawn(maintenance.run(stopped.clone())));
        let worker = self.worker.map(|worker| tokio::spawn(worker.run(stopped)));
        match self.server {
            Some(server) => server.await?,
            None => wait_for_signal().await?,
        }
        tracing::info!("shutting down");
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Some(maintenance) = maintenance {
            let _ = maintenance.await;
        }
        Ok(())
    }
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
