//! Group commit: writes submitted concurrently share one transaction, and so one durable commit
//! (one WAL flush), instead of paying a flush each. A caller's future resolves only after the
//! transaction holding its write committed, so nothing is acknowledged before it is durable.
//!
//! Batching is natural, not timed: a group is whatever was queued when a committer became free,
//! so a lone write is committed at once and only a busy store forms large groups. When a group
//! fails for a reason other than the database being unavailable, each of its writes is retried
//! alone, so one bad write cannot fail its neighbours.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::store::StoreError;

/// A write that takes part of a group's budget.
pub trait Weighed {
    /// How much of a group's budget this write takes (e.g. its number of rows).
    fn weight(&self) -> usize;
}

/// Carries out a group of writes in one transaction.
#[async_trait]
pub trait Committer: Send + Sync + 'static {
    type Write: Weighed + Send + Sync + 'static;
    type Outcome: Send + 'static;

    /// Commits every write in one transaction, or none; one outcome per write, in order.
    async fn commit(&self, writes: &[Self::Write]) -> Result<Vec<Self::Outcome>, StoreError>;
}

type Reply<C> = oneshot::Sender<Result<<C as Committer>::Outcome, StoreError>>;

/// The queue in front of a [`Committer`].
pub struct GroupCommit<C: Committer> {
    queue: mpsc::UnboundedSender<(C::Write, Reply<C>)>,
}

/// How long attempt completions linger for company: long enough that at light load several
/// share one flush, short next to the lease and the request that preceded them.
pub const COMPLETION_LINGER: Duration = Duration::from_millis(2);

/// How groups form.
#[derive(Debug, Clone, Copy)]
pub struct GroupLimits {
    /// The most weight one group carries (a single heavier write still goes alone).
    pub max_weight: usize,
    /// How many groups may be committing at once.
    pub parallel: usize,
    /// How long a group waits for more writes after its first one. Zero for writes a caller is
    /// waiting on (ingest); a few milliseconds for writes nobody waits for, so that at light load
    /// they still share a flush instead of competing with ingest for the disk.
    pub linger: Duration,
}

impl<C: Committer> GroupCommit<C> {
    /// Starts the committing task on the current tokio runtime. It ends when the queue is dropped.
    pub fn start(committer: C, limits: GroupLimits) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(run(Arc::new(committer), pending, limits));
        Self { queue }
    }

    /// Queues `write` and waits until the transaction holding it committed (or failed).
    pub async fn submit(&self, write: C::Write) -> Result<C::Outcome, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.queue.send((write, reply)).map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
        outcome.await.map_err(|_| StoreError::Internal("the group commit task stopped".into()))?
    }
}

async fn run<C: Committer>(
    committer: Arc<C>,
    mut pending: mpsc::UnboundedReceiver<(C::Write, Reply<C>)>,
    limits: GroupLimits,
) {
    let permits = Arc::new(Semaphore::new(limits.parallel.max(1)));
    while let Ok(permit) = Arc::clone(&permits).acquire_owned().await {
        let Some(first) = pending.recv().await else { return };
        let mut weight = first.0.weight();
        let mut group = vec![first];
        let deadline = tokio::time::Instant::now() + limits.linger;
        while weight < limits.max_weight {
            let next = match pending.try_recv() {
                Ok(next) => next,
                Err(_) if limits.linger.is_zero() => break,
                Err(_) => match tokio::time::timeout_at(deadline, pending.recv()).await {
                    Ok(Some(next)) => next,
                    Ok(None) | Err(_) => break,
                },
            };
            weight += next.0.weight();
            group.push(next);
        }
        let committer = Arc::clone(&committer);
        tokio::spawn(async move {
            commit_group(committer.as_ref(), group).await;
            drop(permit);
        });
    }
}

/// How often a write that met contention (a deadlock with another transaction) is tried again.
const CONTENTION_RETRIES: usize = 3;

/// Commits `writes`, trying again while the failure is contention, which another try resolves.
async fn commit_retrying<C: Committer>(committer: &C, writes: &[C::Write]) -> Result<Vec<C::Outcome>, StoreError> {
    let mut tries = 0;
    loop {
        match committer.commit(writes).await {
            Err(StoreError::Contention(_)) if tries < CONTENTION_RETRIES => tries += 1,
            result => return result,
        }
    }
}

async fn commit_group<C: Committer>(committer: &C, group: Vec<(C::Write, Reply<C>)>) {
    let (writes, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
    match commit_retrying(committer, &writes).await {
        Ok(outcomes) if outcomes.len() == writes.len() => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Ok(_) => {
            for reply in replies {
                let _ = reply.send(Err(StoreError::Internal("a group commit lost track of its writes".into())));
            }
        }
        Err(error) if writes.len() == 1 || matches!(error, StoreError::Unavailable(_)) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
        Err(_) => {
            for (write, reply) in writes.iter().zip(replies) {
                let outcome = commit_retrying(committer, std::slice::from_ref(write)).await.and_then(|mut outcomes| {
                    outcomes.pop().ok_or_else(|| StoreError::Internal("a commit returned no outcome".into()))
                });
                let _ = reply.send(outcome);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    impl Weighed for i64 {
        fn weight(&self) -> usize {
            1
        }
    }

    /// Records each group's writes; fails any group containing a negative number.
    #[derive(Default)]
    struct Recorder {
        groups: Mutex<Vec<Vec<i64>>>,
    }

    #[async_trait]
    impl Committer for Arc<Recorder> {
        type Write = i64;
        type Outcome = i64;

        async fn commit(&self, writes: &[i64]) -> Result<Vec<i64>, StoreError> {
            self.groups.lock().unwrap().push(writes.to_vec());
            tokio::task::yield_now().await;
            if writes.iter().any(|write| *write < 0) {
                return Err(StoreError::Conflict);
            }
            Ok(writes.iter().map(|write| write * 10).collect())
        }
    }

    #[tokio::test]
    async fn concurrent_writes_share_groups_and_each_gets_its_own_outcome() {
        let recorder = Arc::new(Recorder::default());
        let commit = Arc::new(GroupCommit::start(
            Arc::clone(&recorder),
            GroupLimits { max_weight: 8, parallel: 1, linger: Duration::ZERO },
        ));
        let submissions = (0..20).map(|write| {
            let commit = Arc::clone(&commit);
            tokio::spawn(async move { commit.submit(write).await })
        });
        let outcomes: Vec<i64> =
            futures_util::future::join_all(submissions).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
        assert_eq!(outcomes, (0..20).map(|write| write * 10).collect::<Vec<_>>());
        let groups = recorder.groups.lock().unwrap();
        assert!(groups.len() < 20, "some writes shared a transaction: {groups:?}");
        assert!(groups.iter().all(|group| group.len() <= 8), "{groups:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lingering_group_collects_writes_that_arrive_within_the_linger() {
        let recorder = Arc::new(Recorder::default());
        let limits = GroupLimits { max_weight: 8, parallel: 1, linger: Duration::from_millis(5) };
        let commit = Arc::new(GroupCommit::start(Arc::clone(&recorder), limits));
        let submissions = (0..3).map(|write| {
            let commit = Arc::clone(&commit);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(write as u64)).await;
                commit.submit(write).await
            })
        });
        for outcome in futures_util::future::join_all(submissions).await {
            outcome.unwrap().unwrap();
        }
        assert_eq!(*recorder.groups.lock().unwrap(), vec![vec![0, 1, 2]]);
    }

    /// Deadlocks with an imaginary neighbour on the first try of every write.
    #[derive(Default)]
    struct Contended {
        tries: Mutex<Vec<i64>>,
    }

    #[async_trait]
    impl Committer for Arc<Contended> {
        type Write = i64;
        type Outcome = i64;

        async fn commit(&self, writes: &[i64]) -> Result<Vec<i64>, StoreError> {
            let mut tries = self.tries.lock().unwrap();
            let first_try = !tries.contains(&writes[0]);
            tries.push(writes[0]);
            if first_try {
                return Err(StoreError::Contention("deadlock detected".into()));
            }
            Ok(writes.to_vec())
        }
    }

    #[tokio::test]
    async fn a_group_that_met_contention_is_tried_again() {
        let contended = Arc::new(Contended::default());
        let limits = GroupLimits { max_weight: 8, parallel: 1, linger: Duration::ZERO };
        let commit = GroupCommit::start(Arc::clone(&contended), limits);
        assert!(matches!(commit.submit(7).await, Ok(7)));
        assert_eq!(*contended.tries.lock().unwrap(), vec![7, 7]);
    }

    #[tokio::test]
    async fn a_failing_write_fails_alone_and_its_neighbours_commit() {
        let recorder = Arc::new(Recorder::default());
        let commit = Arc::new(GroupCommit::start(
            Arc::clone(&recorder),
            GroupLimits { max_weight: 8, parallel: 1, linger: Duration::ZERO },
        ));
        let submissions = [1, -1, 2].map(|write| {
            let commit = Arc::clone(&commit);
            tokio::spawn(async move { commit.submit(write).await })
        });
        let outcomes: Vec<_> =
            futures_util::future::join_all(submissions).await.into_iter().map(|r| r.unwrap()).collect();
        assert!(matches!(outcomes[0], Ok(10)));
        assert!(matches!(outcomes[1], Err(StoreError::Conflict)));
        assert!(matches!(outcomes[2], Ok(20)));
    }
}
