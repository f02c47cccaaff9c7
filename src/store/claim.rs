//! The backend-independent steps of a claim: which endpoints and events a batch needs (fetched
//! once each per batch, not once per delivery), which endpoints need their row lock for the
//! circuit and throttle (in the lock order every transaction follows), and putting the claimed
//! deliveries together with what they need. Attempt completions use the same keys for health.

use std::collections::{HashMap, HashSet};

use crate::domain::health::CircuitState;
use crate::store::{Attempt, ClaimedDelivery, Delivery, Endpoint, Event, StoreError};

/// `(tenant_id, id)` of an endpoint or an event.
pub type Key = (String, String);

/// The distinct endpoints of `deliveries`, in first-seen order.
pub fn endpoint_keys(deliveries: &[Delivery]) -> Vec<Key> {
    distinct(deliveries.iter().map(|delivery| (delivery.tenant_id.to_string(), delivery.endpoint_id.to_string())))
}

/// The distinct events of `deliveries`, in first-seen order.
pub fn event_keys(deliveries: &[Delivery]) -> Vec<Key> {
    distinct(deliveries.iter().map(|delivery| (delivery.tenant_id.to_string(), delivery.event_id.to_string())))
}

/// The distinct endpoints of `attempts`, in first-seen order.
pub fn attempt_endpoint_keys(attempts: &[&Attempt]) -> Vec<Key> {
    distinct(attempts.iter().map(|attempt| (attempt.tenant_id.to_string(), attempt.endpoint_id.to_string())))
}

fn distinct(keys: impl Iterator<Item = Key>) -> Vec<Key> {
    let mut seen = HashSet::new();
    keys.filter(|key| seen.insert(key.clone())).collect()
}

/// The indexes of `claimed` per endpoint whose circuit or throttle must be applied under its row
/// lock, in key order: every transaction that locks several endpoint rows (claims here, attempt
/// completions for health) takes them in that order, so two of them never deadlock. An unlimited
/// endpoint with a closed circuit lets everything through, so most batches lock nothing.
pub fn gated_groups(claimed: &[Delivery], endpoints: &HashMap<Key, Endpoint>) -> Vec<(Key, Vec<usize>)> {
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    for (index, delivery) in claimed.iter().enumerate() {
        let key = (delivery.tenant_id.to_string(), delivery.endpoint_id.to_string());
        let Some(endpoint) = endpoints.get(&key) else { continue };
        if !endpoint.throttle.is_limited() && endpoint.health.circuit == CircuitState::Closed {
            continue;
        }
        match groups.iter_mut().find(|(group, _)| *group == key) {
            Some((_, indexes)) => indexes.push(index),
            None => groups.push((key, vec![index])),
        }
    }
    groups.sort_by(|(a, _), (b, _)| a.cmp(b));
    groups
}

/// Pairs each kept delivery with its event and endpoint.
pub fn assemble(
    kept: Vec<Delivery>,
    claim_token: &str,
    events: &HashMap<Key, Event>,
    endpoints: &HashMap<Key, Endpoint>,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    kept.into_iter()
        .map(|delivery| {
            let tenant = delivery.tenant_id.to_string();
            let event = events.get(&(tenant.clone(), delivery.event_id.to_string())).cloned();
            let endpoint = endpoints.get(&(tenant, delivery.endpoint_id.to_string())).cloned();
            let (Some(event), Some(endpoint)) = (event, endpoint) else {
                return Err(StoreError::Corrupt(format!("delivery {} lost its event or endpoint", delivery.id)));
            };
            Ok(ClaimedDelivery { delivery, claim_token: claim_token.to_owned(), event, endpoint })
        })
        .collect()
}
