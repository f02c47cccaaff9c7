//! The `outhook` command line: parses arguments and starts the requested role (or the
//! benchmark). All behaviour lives in the library.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use outhook::bench::BenchOptions;
use outhook::config::{Settings, reference_markdown};
use outhook::delivery::maintenance;
use outhook::domain::clock::{Clock, SystemClock};
use outhook::domain::ids::TokenId;
use outhook::domain::token::{PlainToken, TokenScope};
use outhook::startup::{self, Application, open_store};
use outhook::store::{MigrationMode, Token};

#[derive(Parser)]
#[command(name = "outhook", version, about = "Outbound webhook delivery platform")]
struct Cli {
    /// TOML configuration file (optional; `OUTHOOK_*` environment variables override it).
    #[arg(long, short, global = true, env = "OUTHOOK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    /// API and delivery workers in one process.
    All,
    /// Only the HTTP API.
    Api,
    /// Only delivery workers.
    Worker,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform.
    Serve {
        #[arg(long, value_enum, default_value = "all")]
        role: Role,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Print the configuration reference (docs/configuration.md).
    ConfigReference,
    /// Delete events (with their deliveries and attempts) past the retention window, and exit.
    Prune {
        /// Keep this many days instead of `retention.days`.
        #[arg(long)]
        older_than_days: Option<u32>,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Measure ingest throughput and delivery latency against an embedded or running Outhook
    /// (see docs/performance.md). Prints a table, then one JSON line; fails on any lost delivery,
    /// bad signature or unexpected duplicate.
    Bench(outhook::bench::BenchOptions),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it once.
    Create {
        /// Name describing the token's use.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scope the token to this tenant (id or uid); admin token when absent.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let loaded = Settings::load(cli.config.as_deref()).context("loading configuration");
    let log_format = loaded.as_ref().map(|settings| settings.telemetry.log_format).unwrap_or_default();
    let _telemetry = outhook::telemetry::init(log_format);
    let settings = || Settings::load(cli.config.as_deref()).context("loading configuration");
    match &cli.command {
        Command::Serve { role } => serve(settings()?, *role).await,
        Command::Migrate => {
            open_store(&settings()?, MigrationMode::Apply).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Openapi => {
            print!("{}", outhook::api::openapi_document());
            Ok(())
        }
        Command::ConfigReference => {
            print!("{}", reference_markdown());
            Ok(())
        }
        Command::Prune { older_than_days } => prune(settings()?, *older_than_days).await,
        Command::Token { command: TokenCommand::Create { name, tenant } } => {
            create_token(settings()?, name, tenant.as_deref()).await
        }
        Command::Bench(options) => bench(settings()?, cli.config.as_deref(), options.clone()).await,
    }
}

async fn bench(settings: Settings, config: Option<&Path>, options: BenchOptions) -> anyhow::Result<()> {
    let report = outhook::bench::run(options, settings, config).await.context("running the benchmark")?;
    println!("{}", report.table());
    println!("{}", report.json_line());
    let failures = report.failures();
    if !failures.is_empty() {
        anyhow::bail!("the benchmark found problems: {}", failures.join(", "));
    }
    Ok(())
}

async fn serve(settings: Settings, role: Role) -> anyhow::Result<()> {
    let role = match role {
        Role::All => startup::Role::All,
        Role::Api => startup::Role::Api,
        Role::Worker => startup::Role::Worker,
    };
    let store_url = settings.database_url();
    let mut application = Application::build(settings, role).await.context("starting Outhook")?;
    if let Some(token) = application.take_initial_admin_token() {
        eprintln!(
            "\nCreated the first admin token. It is shown only this once; store it now:\n\n    {}\n",
            token.expose()
        );
    }
    let backend = store_url.split(':').next().unwrap_or("?").to_owned();
    tracing::info!(port = application.port(), backend, ?role, "Outhook is running");
    application.run_until_stopped().await.context("serving HTTP")
}

async fn prune(settings: Settings, older_than_days: Option<u32>) -> anyhow::Result<()> {
    let days = older_than_days.unwrap_or(settings.retention.days);
    anyhow::ensure!(days > 0, "retention is off (retention.days = 0); pass --older-than-days to prune anyway");
    let store = open_store(&settings, MigrationMode::Apply).await?;
    let before = SystemClock.now() - chrono::Duration::days(i64::from(days));
    let deleted = maintenance::prune(store.as_ref(), before, settings.retention.batch_size).await?;
    eprintln!("pruned {deleted} events created before {before} (and their deliveries and attempts)");
    Ok(())
}

async fn create_token(settings: Settings, name: &str, tenant: Option<&str>) -> anyhow::Result<()> {
    let store = open_store(&settings, MigrationMode::Apply).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let scope = match tenant {
        None => TokenScope::Admin,
        Some(key) => TokenScope::Tenant(store.find_tenant(key).await?.context("no such tenant")?.id),
    };
    let plain = PlainToken::generate();
    let token = Token {
        id: TokenId::generate(),
        name: name.to_owned(),
        scope,
        digest: plain.digest(),
        created_at: clock.now(),
        expires_at: None,
    };
    store.insert_token(&token).await?;
    println!("{}", plain.expose());
    Ok(())
}
