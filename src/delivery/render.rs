//! Produces the payload an endpoint receives, in the API version it is pinned to. Each event is
//! rendered once per version per process, however many endpoints share that version: concurrent
//! deliveries of the same event wait for the one rendering in progress.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::domain::ids::EventId;
use crate::domain::versions::{ApiVersionName, Downgrade, VersionLadder, VersionUnavailable};
use crate::store::{Event, Store, StoreError};

/// How many (event, version) renderings are kept; deliveries of one event are claimed close
/// together, so a small cache suffices.
const CAPACITY: usize = 4096;

/// A payload ready to wrap in the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPayload {
    /// The version the payload is in (sent as `api_version` and `outhook-api-version`).
    pub api_version: Option<ApiVersionName>,
    /// The payload JSON.
    pub data: String,
}

/// The outcome of rendering, shared by every delivery that needs it.
pub type Rendered = Result<Arc<RenderedPayload>, VersionUnavailable>;

type Key = (EventId, Option<ApiVersionName>);

/// Renders and remembers payloads per (event, version).
pub struct Renderer {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<Key, Arc<OnceCell<Rendered>>>>,
    renders: AtomicU64,
}

impl Renderer {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, cache: Mutex::new(HashMap::new()), renders: AtomicU64::new(0) }
    }

    /// How many renderings were computed (not served from the cache), for tests and metrics.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// The payload of `event` for an endpoint pinned to `target`.
    pub async fn render(&self, event: &Event, target: Option<&ApiVersionName>) -> Result<Rendered, StoreError> {
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if cache.len() >= CAPACITY {
                cache.clear();
            }
            Arc::clone(cache.entry((event.id.clone(), target.cloned())).or_default())
        };
        let rendered = cell
            .get_or_try_init(|| async {
                self.renders.fetch_add(1, Ordering::Relaxed);
                self.compute(event, target).await
            })
            .await?;
        Ok(rendered.clone())
    }

    async fn compute(&self, event: &Event, target: Option<&ApiVersionName>) -> Result<Rendered, StoreError> {
        let as_written = || {
            Ok(Arc::new(RenderedPayload {
                api_version: event.api_version.clone(),
                data: event.payload.as_str().to_owned(),
            }))
        };
        let (Some(written_in), Some(target)) = (&event.api_version, target) else { return Ok(as_written()) };
        if written_in == target {
            return Ok(as_written());
        }
        let versions = self.store.list_api_versions().await?.into_iter().map(|version| version.name).collect();
        let mut downgrades = BTreeMap::new();
        for definition in self.store.list_event_type_versions(&event.event_type).await? {
            if let Some(patch) = &definition.downgrade {
                let downgrade = Downgrade::parse(patch).map_err(|error| StoreError::Corrupt(error.to_string()))?;
                downgrades.insert(definition.api_version, downgrade);
            }
        }
        let explicit: BTreeMap<ApiVersionName, String> =
            event.payloads.iter().map(|(version, payload)| (version.clone(), payload.as_str().to_owned())).collect();
        let ladder = VersionLadder::new(versions, downgrades);
        Ok(ladder
            .render(written_in, event.payload.as_str(), &explicit, target)
            .map(|data| Arc::new(RenderedPayload { api_version: Some(target.clone()), data })))
    }
}
