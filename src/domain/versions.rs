//! Versioned payloads, Stripe-style. API versions form an ordered list; each endpoint is pinned
//! to one. An event is written in one version; for an older endpoint the payload is walked down
//! the ladder with each version's downgrade transform (a JSON Patch, RFC 6902), unless the
//! producer sent an explicit payload for that version. What cannot be produced is an error, never
//! a silently wrong payload.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Why a version name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 64 letters, digits, '.', '_' or '-'")]
pub struct InvalidVersionName;

/// A version's name, e.g. `2025-01-01`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersionName(String);

impl ApiVersionName {
    pub fn parse(raw: &str) -> Result<Self, InvalidVersionName> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(valid_char) {
            return Err(InvalidVersionName);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiVersionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a JSON Schema was refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid JSON Schema: {0}")]
pub struct InvalidSchema(String);

/// A compiled JSON Schema for one event type in one version.
pub struct PayloadSchema {
    validator: jsonschema::Validator,
}

/// One way a payload breaks its schema: where (a JSON pointer into the payload) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    pub pointer: String,
    pub message: String,
}

impl PayloadSchema {
    pub fn compile(schema: &Value) -> Result<Self, InvalidSchema> {
        if !schema.is_object() && !schema.is_boolean() {
            return Err(InvalidSchema("a schema is a JSON object or a boolean".into()));
        }
        jsonschema::meta::validate(schema).map_err(|error| InvalidSchema(error.to_string()))?;
        let validator = jsonschema::validator_for(schema).map_err(|error| InvalidSchema(error.to_string()))?;
        Ok(Self { validator })
    }

    /// Every violation, each with its JSON pointer; empty when the payload conforms.
    pub fn violations(&self, payload: &Value) -> Vec<SchemaViolation> {
        self.validator
            .iter_errors(payload)
            .map(|error| SchemaViolation { pointer: error.instance_path().to_string(), message: error.to_string() })
            .collect()
    }
}

/// Why a downgrade transform was refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid JSON Patch (RFC 6902): {0}")]
pub struct InvalidDowngrade(String);

/// A JSON Patch turning a payload of one version into the previous version.
#[derive(Debug, Clone, PartialEq)]
pub struct Downgrade(json_patch::Patch);

impl Downgrade {
    pub fn parse(patch: &Value) -> Result<Self, InvalidDowngrade> {
        serde_json::from_value(patch.clone()).map(Self).map_err(|error| InvalidDowngrade(error.to_string()))
    }
}

/// Why the payload for an endpoint's version cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionUnavailable {
    #[error("version `{0}` is not a known API version")]
    UnknownVersion(String),
    #[error("the event is in version `{event}`; `{target}` is newer and has no explicit payload")]
    NewerThanEvent { event: String, target: String },
    #[error("the downgrade transform of version `{version}` failed on this payload: {reason}")]
    TransformFailed { version: String, reason: String },
    #[error("the stored payload is not valid JSON: {0}")]
    Payload(String),
}

/// The ordered versions and, for one event type, each version's downgrade.
pub struct VersionLadder {
    /// Oldest first.
    versions: Vec<ApiVersionName>,
    downgrades: BTreeMap<ApiVersionName, Downgrade>,
}

impl VersionLadder {
    pub fn new(versions: Vec<ApiVersionName>, downgrades: BTreeMap<ApiVersionName, Downgrade>) -> Self {
        Self { versions, downgrades }
    }

    fn position(&self, version: &ApiVersionName) -> Result<usize, VersionUnavailable> {
        self.versions
            .iter()
            .position(|known| known == version)
            .ok_or_else(|| VersionUnavailable::UnknownVersion(version.to_string()))
    }

    /// The payload JSON for `target`, from an event written in `event_version` with `payload` and
    /// the producer's `explicit` per-version payloads. Starts from the closest version at or above
    /// `target` the producer supplied, then applies each version's downgrade on the way down.
    pub fn render(
        &self,
        event_version: &ApiVersionName,
        payload: &str,
        explicit: &BTreeMap<ApiVersionName, String>,
        target: &ApiVersionName,
    ) -> Result<String, VersionUnavailable> {
        if let Some(exact) = explicit.get(target) {
            return Ok(exact.clone());
        }
        if target == event_version {
            return Ok(payload.to_owned());
        }
        let target_position = self.position(target)?;
        let event_position = self.position(event_version)?;
        if target_position > event_position {
            return Err(VersionUnavailable::NewerThanEvent {
                event: event_version.to_string(),
                target: target.to_string(),
            });
        }
        let (start_position, start_payload) = (target_position + 1..event_position)
            .find_map(|position| explicit.get(&self.versions[position]).map(|supplied| (position, supplied.as_str())))
            .unwrap_or((event_position, payload));
        let mut value: Value =
            serde_json::from_str(start_payload).map_err(|error| VersionUnavailable::Payload(error.to_string()))?;
        for position in (target_position + 1..=start_position).rev() {
            let version = &self.versions[position];
            if let Some(Downgrade(patch)) = self.downgrades.get(version) {
                json_patch::patch(&mut value, patch).map_err(|error| VersionUnavailable::TransformFailed {
                    version: version.to_string(),
                    reason: error.to_string(),
                })?;
            }
        }
        Ok(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn name(raw: &str) -> ApiVersionName {
        ApiVersionName::parse(raw).unwrap()
    }

    fn ladder() -> VersionLadder {
        let mut downgrades = BTreeMap::new();
        // v3 → v2: `amount_cents` was called `amount`.
        downgrades.insert(
            name("v3"),
            Downgrade::parse(&json!([{"op": "move", "from": "/amount_cents", "path": "/amount"}])).unwrap(),
        );
        // v2 → v1: there was no `currency`.
        downgrades.insert(name("v2"), Downgrade::parse(&json!([{"op": "remove", "path": "/currency"}])).unwrap());
        VersionLadder::new(vec![name("v1"), name("v2"), name("v3")], downgrades)
    }

    fn render(target: &str, explicit: &BTreeMap<ApiVersionName, String>) -> Result<Value, VersionUnavailable> {
        let payload = r#"{"amount_cents": 4200, "currency": "eur"}"#;
        ladder().render(&name("v3"), payload, explicit, &name(target)).map(|text| serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn the_chain_of_downgrades_reaches_each_older_version() {
        let none = BTreeMap::new();
        assert_eq!(render("v3", &none).unwrap(), json!({"amount_cents": 4200, "currency": "eur"}));
        assert_eq!(render("v2", &none).unwrap(), json!({"amount": 4200, "currency": "eur"}));
        assert_eq!(render("v1", &none).unwrap(), json!({"amount": 4200}));
    }

    #[test]
    fn explicit_payloads_win_and_seed_further_downgrades() {
        let mut explicit = BTreeMap::new();
        explicit.insert(name("v2"), r#"{"amount": 1, "currency": "usd", "note": "explicit"}"#.to_owned());
        assert_eq!(render("v2", &explicit).unwrap(), json!({"amount": 1, "currency": "usd", "note": "explicit"}));
        assert_eq!(render("v1", &explicit).unwrap(), json!({"amount": 1, "note": "explicit"}));
    }

    #[test]
    fn what_cannot_be_produced_is_an_error() {
        let ladder = ladder();
        let none = BTreeMap::new();
        let failing = ladder.render(&name("v3"), r#"{"no_amount": true}"#, &none, &name("v2"));
        assert!(matches!(failing, Err(VersionUnavailable::TransformFailed { .. })), "{failing:?}");
        let newer = ladder.render(&name("v1"), "{}", &none, &name("v3"));
        assert!(matches!(newer, Err(VersionUnavailable::NewerThanEvent { .. })));
        let unknown = ladder.render(&name("v3"), "{}", &none, &name("v9"));
        assert!(matches!(unknown, Err(VersionUnavailable::UnknownVersion(_))));
    }

    #[test]
    fn schemas_report_every_violation_with_its_pointer() {
        let schema = PayloadSchema::compile(&json!({
            "type": "object",
            "required": ["amount"],
            "properties": {"amount": {"type": "integer"}, "currency": {"type": "string", "maxLength": 3}}
        }))
        .unwrap();
        assert!(schema.violations(&json!({"amount": 1, "currency": "eur"})).is_empty());
        let violations = schema.violations(&json!({"amount": "x", "currency": "euros"}));
        let mut pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        pointers.sort();
        assert_eq!(pointers, ["/amount", "/currency"]);
        assert!(PayloadSchema::compile(&json!({"type": "no-such-type"})).is_err());
        assert!(PayloadSchema::compile(&json!([1])).is_err());
    }

    #[test]
    fn malformed_patches_and_names_are_refused() {
        assert!(Downgrade::parse(&json!([{"op": "explode", "path": "/x"}])).is_err());
        assert!(Downgrade::parse(&json!({"op": "remove"})).is_err());
        assert!(ApiVersionName::parse("2025-01-01").is_ok());
        assert!(ApiVersionName::parse("").is_err());
        assert!(ApiVersionName::parse("has space").is_err());
    }
}
