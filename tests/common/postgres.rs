//! A PostgreSQL server for tests: `OUTHOOK_TEST_DATABASE_URL` when set, otherwise a throwaway
//! cluster started once per test process (`initdb` + `pg_ctl`, as the `postgres` user when running
//! as root, fsync off, random port). Each test gets its own database cloned from a migrated
//! template, so tests run in parallel without sharing state. A watchdog process stops the
//! cluster and deletes its files when the test process exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use outhook::store::postgres::PostgresStore;
use outhook::store::{MigrationMode, SecretCipher};
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;

use crate::common::processes::{after_exit, free_port};

const TEMPLATE: &str = "outhook_template";

/// A reachable server with a migrated template database.
pub struct Server {
    /// URL of the maintenance database, used to create per-test databases.
    admin_url: String,
}

static SERVER: OnceCell<Result<Server, String>> = OnceCell::const_new();

/// Whether a missing PostgreSQL must fail the run (CI) instead of skipping its tests.
pub fn required() -> bool {
    std::env::var("OUTHOOK_TEST_REQUIRE_POSTGRES").is_ok_and(|value| value == "1" || value == "true")
}

/// A fresh, migrated database for one test, or why none is available.
pub async fn fresh_database() -> Result<String, String> {
    let server = SERVER.get_or_init(|| async { start().await }).await.as_ref().map_err(Clone::clone)?;
    let name = format!("test_{}", ulid::Ulid::new().to_string().to_lowercase());
    let (client, connection) = tokio_postgres::connect(&server.admin_url, NoTls).await.map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .await
        .map_err(|e| format!("creating {name}: {e}"))?;
    drop(client);
    let _ = driver.await;
    Ok(with_database(&server.admin_url, &name))
}

fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{base}/{database}")
}

async fn start() -> Result<Server, String> {
    let admin_url = match std::env::var("OUTHOOK_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => tokio::task::spawn_blocking(start_cluster).await.map_err(|e| e.to_string())??,
    };
    prepare_template(&admin_url).await?;
    Ok(Server { admin_url })
}

/// Creates the template database and migrates it once; per-test databases are copies.
async fn prepare_template(admin_url: &str) -> Result<(), String> {
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL at {admin_url}: {e}"))?;
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        .await
        .map_err(|e| e.to_string())?;
    client.batch_execute(&format!("CREATE DATABASE {TEMPLATE}")).await.map_err(|e| e.to_string())?;
    drop(client);
    let _ = driver.await;
    let cipher = Arc::new(SecretCipher::from_base64(&SecretCipher::generate_key()).map_err(|e| e.to_string())?);
    let store =
        PostgresStore::connect(&with_database(admin_url, TEMPLATE), 1, cipher).await.map_err(|e| e.to_string())?;
    store.migrate(MigrationMode::Apply).await.map_err(|e| e.to_string())?;
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `initdb`'s directory: on PATH, else Debian's per-version directories, newest first.
fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file())
    {
        return Some(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn pg_command(bin: &Path, tool: &str, as_postgres: bool) -> Command {
    let program = bin.join(tool);
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn start_cluster() -> Result<String, String> {
    let bin = find_bin_dir().ok_or("initdb not found on PATH or under /usr/lib/postgresql/*/bin")?;
    let as_postgres = is_root();
    let root = tempfile::Builder::new().prefix("outhook-pg-").tempdir().map_err(|e| e.to_string())?.keep();
    let data = root.join("data");
    if as_postgres {
        run(
            {
                let mut chown = Command::new("chown");
                chown.args(["-R", "postgres:postgres"]).arg(&root);
                chown
            },
            "chown",
        )?;
    }
    let mut initdb = pg_command(&bin, "initdb", as_postgres);
    initdb.arg("-D").arg(&data).args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    run(initdb, "initdb")?;

    let port = free_port()?;
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=500 -c shared_buffers=64MB",
        root.display()
    );
    let mut pg_ctl = pg_command(&bin, "pg_ctl", as_postgres);
    pg_ctl.arg("-D").arg(&data).arg("-l").arg(root.join("server.log")).args(["-w", "-o", &options, "start"]);
    pg_ctl.stdout(Stdio::null()).stderr(Stdio::null());
    run(pg_ctl, "pg_ctl start")?;
    spawn_watchdog(&bin, &data, &root, as_postgres)?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// Stops the cluster once this test process has exited, whatever way it exits.
fn spawn_watchdog(bin: &Path, data: &Path, root: &Path, as_postgres: bool) -> Result<(), String> {
    let stop = format!(
        "{}{} -D {} stop -m immediate",
        if as_postgres { "runuser -u postgres -- " } else { "" },
        bin.join("pg_ctl").display(),
        data.display()
    );
    after_exit(&format!("{stop}; rm -rf {}", root.display()))
}
