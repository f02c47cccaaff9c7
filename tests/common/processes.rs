//! What tests need to run helper processes beside them (the PostgreSQL cluster, chromedriver): a
//! free loopback port to start one on, and a watchdog that cleans up once the test process has
//! exited, however it exits (a test binary killed by a signal runs no destructors).

use std::process::{Command, Stdio};

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|address| address.port()).map_err(|e| e.to_string())
}

/// Runs the shell command `cleanup` once this test process has exited.
pub fn after_exit(cleanup: &str) -> Result<(), String> {
    let script = format!("while kill -0 {} 2>/dev/null; do sleep 1; done; {cleanup}", std::process::id());
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("watchdog: {e}"))
}
