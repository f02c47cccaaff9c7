//! Wiring: build the application from [`Settings`]. [`Application::build`] opens the store,
//! ensures an admin token exists, and binds the listener (port 0 in tests), so callers know the
//! port before the server runs.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use secrecy::ExposeSecret;

use crate::api::json::BodyLimit;
use crate::api::{self, AppState};
use crate::config::Settings;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::ids::TokenId;
use crate::domain::token::{PlainToken, TokenScope};
use crate::store::{self, DatabaseUrl, MigrationMode, SecretCipher, Store, StoreError, StoreOptions, Token};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encryption key: {0}")]
    Key(String),
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
    Ok(store::open(StoreOptions { url, pool_size: settings.database.pool_size, cipher, migrations }).await?)
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

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: Server,
    initial_admin_token: Option<PlainToken>,
    store: Arc<dyn Store>,
}

impl Application {
    /// Builds the application with the system clock.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the application with an injected clock (tests drive time with it).
    pub async fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = open_store(&settings, MigrationMode::Apply).await?;
        let initial_admin_token = ensure_admin_token(store.as_ref(), clock.as_ref()).await?;
        let listener = TcpListener::bind(settings.server.listen)
            .map_err(|source| StartupError::Bind { address: settings.server.listen.to_string(), source })?;
        let port = listener.local_addr().map_err(|source| StartupError::Bind { address: "?".into(), source })?.port();
        let state = web::Data::new(AppState { store: Arc::clone(&store), clock });
        let body_limit = BodyLimit(settings.server.max_body_bytes);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(tracing_actix_web::TracingLogger::default())
                .app_data(state.clone())
                .app_data(body_limit)
                .configure(api::configure)
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind { address: settings.server.listen.to_string(), source })?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Self { port, server: server.run(), initial_admin_token, store })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The first admin token, when this start created it. Shown once by the caller.
    pub fn take_initial_admin_token(&mut self) -> Option<PlainToken> {
        self.initial_admin_token.take()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
