//! The body subscribers receive: `{"id","type","api_version","timestamp","data"}`. The payload is
//! embedded verbatim as `data`, so the signed bytes keep the producer's key order and numbers.
//! `api_version` is left out when the deployment defines no versions.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::ids::EventId;
use crate::domain::names::EventTypeName;
use crate::domain::versions::ApiVersionName;

/// Renders the JSON body of a webhook; `data` is the payload JSON already in `api_version`.
pub fn render(
    id: &EventId,
    event_type: &EventTypeName,
    api_version: Option<&ApiVersionName>,
    created_at: DateTime<Utc>,
    data: &str,
) -> Vec<u8> {
    let quoted = |text: &str| serde_json::Value::from(text).to_string();
    let mut body = String::with_capacity(data.len() + 160);
    body.push_str("{\"id\":");
    body.push_str(&quoted(id.as_str()));
    body.push_str(",\"type\":");
    body.push_str(&quoted(event_type.as_str()));
    if let Some(version) = api_version {
        body.push_str(",\"api_version\":");
        body.push_str(&quoted(version.as_str()));
    }
    body.push_str(",\"timestamp\":");
    body.push_str(&quoted(&created_at.to_rfc3339_opts(SecondsFormat::Micros, true)));
    body.push_str(",\"data\":");
    body.push_str(data);
    body.push('}');
    body.into_bytes()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::value::RawValue;

    use super::*;
    use crate::domain::event::EventPayload;

    #[test]
    fn the_envelope_wraps_the_payload_verbatim() {
        let raw = RawValue::from_string(r#"{"z": 1, "a": 1.50, "s": "\"q\""}"#.to_owned()).unwrap();
        let body = render(
            &EventId::parse("evt_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            &EventTypeName::parse("invoice.paid").unwrap(),
            Some(&ApiVersionName::parse("2026-01-01").unwrap()),
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            EventPayload::parse(&raw, 1024).unwrap().as_str(),
        );
        let body = String::from_utf8(body).unwrap();
        assert_eq!(
            body,
            r#"{"id":"evt_01ARZ3NDEKTSV4RRFFQ69G5FAV","type":"invoice.paid","api_version":"2026-01-01","timestamp":"2026-01-02T03:04:05.000000Z","data":{"z": 1, "a": 1.50, "s": "\"q\""}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"]["a"], 1.5);
    }
}
