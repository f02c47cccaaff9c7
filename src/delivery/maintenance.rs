//! Background upkeep run by worker processes next to the delivery loop: carrying out endpoint
//! recoveries batch by batch, and pruning delivery logs past the retention window. Both work in
//! small transactions, so neither holds up delivery; both resume after a restart, because their
//! progress lives in the database.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::domain::clock::Clock;
use crate::store::{Store, StoreError};

/// How the upkeep runs.
pub struct MaintenanceOptions {
    /// Deliveries requeued per transaction by a recovery.
    pub recovery_batch: usize,
    /// How long delivery logs are kept; `None` keeps them forever.
    pub retention: Option<chrono::Duration>,
    pub prune_interval: Duration,
    pub prune_batch: usize,
    /// Idle wait between checks for recoveries.
    pub poll_interval: Duration,
}

/// The upkeep loop of one worker process.
pub struct Maintenance {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: MaintenanceOptions,
}

/// Deletes events created before `before` (with their deliveries and attempts), batch by
/// batch, until none is left; returns how many. Used by the loop and by `outhook prune`.
pub async fn prune(store: &dyn Store, before: DateTime<Utc>, batch: usize) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let deleted = store.prune(before, batch.max(1)).await?;
        total += deleted;
        if deleted < batch.max(1) as u64 {
            return Ok(total);
        }
    }
}

impl Maintenance {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, options: MaintenanceOptions) -> Self {
        Self { store, clock, options }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut next_prune = tokio::time::Instant::now();
        while !*shutdown.borrow() {
            let busy = match self.store.advance_recovery(self.clock.now(), self.options.recovery_batch.max(1)).await {
                Ok(requeued) => requeued.is_some(),
                Err(error) => {
                    tracing::warn!(%error, "advancing a recovery failed");
                    false
                }
            };
            if let Some(retention) = self.options.retention
                && tokio::time::Instant::now() >= next_prune
            {
                next_prune = tokio::time::Instant::now() + self.options.prune_interval;
                match prune(self.store.as_ref(), self.clock.now() - retention, self.options.prune_batch).await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "pruned events past the retention window"),
                    Err(error) => tracing::warn!(%error, "pruning failed"),
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
