//! Rules for incoming events: the payload shape and size, idempotency keys, and which endpoints
//! an event fans out to.

use crate::domain::names::{Channel, EventTypeName};

/// Why an event payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPayload {
    #[error("must be a JSON object")]
    NotAnObject,
    #[error("is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}

/// A JSON object, kept as the exact text the producer sent (key order and number formatting are
/// the producer's, and the text is what gets signed inside the envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPayload(String);

impl EventPayload {
    /// Accepts the raw JSON of a value already known to be well-formed.
    pub fn parse(raw: &serde_json::value::RawValue, limit: usize) -> Result<Self, InvalidPayload> {
        let text = raw.get();
        if !text.trim_start().starts_with('{') {
            return Err(InvalidPayload::NotAnObject);
        }
        if text.len() > limit {
            return Err(InvalidPayload::TooLarge { size: text.len(), limit });
        }
        Ok(Self(text.to_owned()))
    }

    /// Rebuilds a payload validated before it was stored.
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an idempotency key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {max} visible ASCII characters", max = IdempotencyKey::MAX_LEN)]
pub struct InvalidIdempotencyKey;

/// The producer's key making a submission safe to retry: the same key for the same tenant yields
/// the original event instead of a new one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(InvalidIdempotencyKey);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an endpoint subscribed to.
pub struct Subscription<'a> {
    pub enabled: bool,
    pub event_types: Option<&'a [EventTypeName]>,
    pub channels: Option<&'a [Channel]>,
}

/// Whether an event of `event_type` on `channels` goes to an endpoint with `subscription`:
/// the endpoint is enabled, its type filter (if any) names the type, and its channel filter (if
/// any) shares at least one channel with the event.
pub fn fans_out_to(subscription: &Subscription<'_>, event_type: &EventTypeName, channels: Option<&[Channel]>) -> bool {
    if !subscription.enabled {
        return false;
    }
    if subscription.event_types.is_some_and(|types| !types.contains(event_type)) {
        return false;
    }
    match subscription.channels {
        None => true,
        Some(wanted) => channels.is_some_and(|channels| channels.iter().any(|channel| wanted.contains(channel))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn only_objects_within_the_limit_are_payloads() {
        assert_eq!(
            EventPayload::parse(&raw(r#"{"b": 1, "a": 2.50}"#), 100).unwrap().as_str(),
            r#"{"b": 1, "a": 2.50}"#
        );
        for bad in ["[]", "1", "\"x\"", "null", "true"] {
            assert_eq!(EventPayload::parse(&raw(bad), 100), Err(InvalidPayload::NotAnObject), "{bad}");
        }
        assert_eq!(
            EventPayload::parse(&raw(r#"{"a": "xxxxxxxx"}"#), 10),
            Err(InvalidPayload::TooLarge { size: 17, limit: 10 })
        );
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("order-42:create").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    fn names(raw: &[&str]) -> Vec<EventTypeName> {
        raw.iter().map(|name| EventTypeName::parse(name).unwrap()).collect()
    }

    fn channels(raw: &[&str]) -> Vec<Channel> {
        raw.iter().map(|name| Channel::parse(name).unwrap()).collect()
    }

    #[test]
    fn fan_out_honours_enabled_type_filter_and_channels() {
        let paid = EventTypeName::parse("invoice.paid").unwrap();
        let types = names(&["invoice.paid"]);
        let other_types = names(&["user.created"]);
        let eu = channels(&["eu"]);
        let us = channels(&["us"]);
        let all = Subscription { enabled: true, event_types: None, channels: None };
        assert!(fans_out_to(&all, &paid, None));
        assert!(fans_out_to(&all, &paid, Some(&eu)));
        let disabled = Subscription { enabled: false, event_types: None, channels: None };
        assert!(!fans_out_to(&disabled, &paid, None));
        let typed = Subscription { enabled: true, event_types: Some(&types), channels: None };
        assert!(fans_out_to(&typed, &paid, None));
        let other = Subscription { enabled: true, event_types: Some(&other_types), channels: None };
        assert!(!fans_out_to(&other, &paid, None));
        let eu_only = Subscription { enabled: true, event_types: None, channels: Some(&eu) };
        assert!(fans_out_to(&eu_only, &paid, Some(&eu)));
        assert!(!fans_out_to(&eu_only, &paid, Some(&us)));
        assert!(!fans_out_to(&eu_only, &paid, None), "a channel filter needs a channel on the event");
    }
}
