//! The Outhook under test: one already running (`--url`), or one the benchmark starts in its own
//! process on a throwaway SQLite directory or a given PostgreSQL database, optionally with
//! separate worker processes. Also knows how to measure the server's CPU time and memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::bench::resources;
use crate::bench::{BenchError, BenchOptions, Embedded};
use crate::config::Settings;
use crate::startup::{Application, Role};
use crate::store::SecretCipher;

/// Prefix of the names of the benchmark's own threads (load generator and receiver), so their
/// CPU time can be told apart from the embedded server's.
pub const BENCH_THREAD_NAME: &str = "outhook-bench";
/// How long a freshly spawned worker process gets to start before the run begins.
const WORKER_START: Duration = Duration::from_secs(1);

/// CPU time consumed so far, by the server processes and by the database, when measurable.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    pub server: Option<Duration>,
    pub database: Option<Duration>,
}

/// How to measure the server under test.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The server runs in this process, next to the benchmark's threads.
    pub embedded: bool,
    pub server_pid: Option<u32>,
    pub worker_pids: Vec<u32>,
    /// PostgreSQL's postmaster, whose backends are its children.
    pub postgres_pid: Option<u32>,
}

impl Probe {
    pub fn cpu(&self) -> CpuSample {
        let workers: Duration =
            self.worker_pids.iter().filter_map(|pid| resources::stat(Some(*pid))).map(|stat| stat.cpu).sum();
        let server = if self.embedded {
            resources::stat(None)
                .map(|stat| stat.cpu.saturating_sub(resources::own_threads_cpu(BENCH_THREAD_NAME)) + workers)
        } else {
            self.server_pid.and_then(|pid| resources::stat(Some(pid))).map(|stat| stat.cpu + workers)
        };
        CpuSample { server, database: self.postgres_pid.and_then(resources::process_tree_cpu) }
    }

    /// Peak RSS of the server process; for an embedded server that is this whole process.
    pub fn server_peak_rss(&self) -> Option<u64> {
        if self.embedded {
            resources::peak_rss_bytes(None)
        } else {
            self.server_pid.and_then(|pid| resources::peak_rss_bytes(Some(pid)))
        }
    }

    /// The largest peak RSS among worker processes.
    pub fn worker_peak_rss(&self) -> Option<u64> {
        self.worker_pids.iter().filter_map(|pid| resources::peak_rss_bytes(Some(*pid))).max()
    }
}

/// Worker children, killed when dropped so no run leaves processes behind.
struct WorkerProcesses(Vec<Child>);

impl Drop for WorkerProcesses {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server ready to take the benchmark's requests, and whatever keeps it alive.
pub struct ServerUnderTest {
    pub base_url: String,
    pub token: String,
    /// `sqlite`, `postgres` or `remote`.
    pub backend: &'static str,
    pub probe: Probe,
    // Dropped in declaration order: workers stop before their data directory goes.
    _workers: Option<WorkerProcesses>,
    _data_dir: Option<TempDir>,
}

impl ServerUnderTest {
    /// Connects to `--url` or starts the embedded server the options ask for.
    pub async fn start(
        options: &BenchOptions,
        settings: Settings,
        config_file: Option<&Path>,
    ) -> Result<Self, BenchError> {
        if let Some(url) = &options.url {
            let token = options.token.clone().ok_or_else(|| BenchError::Options("--url needs --token".into()))?;
            let probe =
                Probe { server_pid: options.server_pid, postgres_pid: options.postgres_pid, ..Probe::default() };
            return Ok(Self {
                base_url: url.clone(),
                token,
                backend: "remote",
                probe,
                _workers: None,
                _data_dir: None,
            });
        }
        let data_dir =
            std::env::temp_dir().join(format!("outhook-bench-{}", ulid::Ulid::new().to_string().to_lowercase()));
        std::fs::create_dir_all(&data_dir)
            .map_err(|source| BenchError::Io { context: "creating the data directory", source })?;
        let data_dir = TempDir(data_dir);
        let settings = embedded_settings(options, settings, &data_dir.0)?;
        let role = if options.worker_processes > 0 { Role::Api } else { Role::All };
        let mut application = Application::build(settings.clone(), role).await?;
        let token = application
            .take_initial_admin_token()
            .ok_or_else(|| BenchError::Options("the embedded database already had an admin token".into()))?;
        let port = application.port().ok_or_else(|| BenchError::Options("the embedded server has no API".into()))?;
        tokio::spawn(application.run_until_stopped());
        let workers = spawn_workers(options.worker_processes, &settings, config_file).await?;
        let probe = Probe {
            embedded: true,
            worker_pids: workers.0.iter().map(Child::id).collect(),
            postgres_pid: options.postgres_pid,
            ..Probe::default()
        };
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}"),
            token: token.expose().to_owned(),
            backend: match options.embedded {
                Embedded::Sqlite => "sqlite",
                Embedded::Postgres => "postgres",
            },
            probe,
            _workers: Some(workers),
            _data_dir: Some(data_dir),
        })
    }
}

/// The user's settings with what an embedded benchmark server needs: loopback only, a fresh data
/// directory, the receiver's network allowed through the SSRF guard, and no ingest limit.
fn embedded_settings(options: &BenchOptions, mut settings: Settings, data_dir: &Path) -> Result<Settings, BenchError> {
    settings.data_dir = data_dir.to_owned();
    settings.server.listen = "127.0.0.1:0".parse().map_err(|_| BenchError::Options("loopback address".into()))?;
    settings.ingest.rate_per_second = 0;
    let loopback = "127.0.0.0/8".to_owned();
    if !settings.delivery.allowed_networks.contains(&loopback) {
        settings.delivery.allowed_networks.push(loopback);
    }
    settings.database.url = SecretString::from(match options.embedded {
        Embedded::Sqlite => String::new(),
        Embedded::Postgres => options
            .database_url
            .clone()
            .ok_or_else(|| BenchError::Options("--embedded postgres needs --database-url".into()))?,
    });
    if settings.security.encryption_key.expose_secret().is_empty() {
        settings.security.encryption_key = SecretString::from(SecretCipher::generate_key());
    }
    Ok(settings)
}

/// Starts `count` `outhook serve --role worker` processes on the same database and key.
async fn spawn_workers(
    count: usize,
    settings: &Settings,
    config_file: Option<&Path>,
) -> Result<WorkerProcesses, BenchError> {
    let mut workers = WorkerProcesses(Vec::with_capacity(count));
    if count == 0 {
        return Ok(workers);
    }
    let executable =
        std::env::current_exe().map_err(|source| BenchError::Io { context: "finding the outhook binary", source })?;
    let networks: Vec<String> =
        settings.delivery.allowed_networks.iter().map(|network| format!("\"{network}\"")).collect();
    for _ in 0..count {
        let mut command = Command::new(&executable);
        if let Some(file) = config_file {
            command.arg("--config").arg(file);
        }
        command
            .args(["serve", "--role", "worker"])
            .env("OUTHOOK_DATA_DIR", &settings.data_dir)
            .env("OUTHOOK_DATABASE__URL", settings.database.url.expose_secret())
            .env("OUTHOOK_SECURITY__ENCRYPTION_KEY", settings.security.encryption_key.expose_secret())
            .env("OUTHOOK_DELIVERY__ALLOWED_NETWORKS", format!("[{}]", networks.join(",")))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child =
            command.spawn().map_err(|source| BenchError::Io { context: "starting a worker process", source })?;
        workers.0.push(child);
    }
    tokio::time::sleep(WORKER_START).await;
    for child in &mut workers.0 {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BenchError::Worker(format!("a worker process exited at start with {status}")));
        }
    }
    Ok(workers)
}
