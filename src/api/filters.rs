//! Query parameters shared by the log lists: the creation-time window and typed filter values.
//! Each bad value is a 400 naming its parameter.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::errors::ApiError;
use crate::store::IdRange;

/// `since` / `until`: only items created in `[since, until)`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Window {
    /// RFC 3339 time; items created at or after it.
    pub since: Option<String>,
    /// RFC 3339 time; items created before it.
    pub until: Option<String>,
}

impl Window {
    /// The window as an id range of the listed resource (`lowest_at` of its id type).
    pub fn id_range(&self, lowest_at: fn(DateTime<Utc>) -> String) -> Result<IdRange, ApiError> {
        let since = self.since.as_deref().map(|raw| parse_time("since", raw)).transpose()?;
        let until = self.until.as_deref().map(|raw| parse_time("until", raw)).transpose()?;
        if let (Some(since), Some(until)) = (since, until)
            && until < since
        {
            return Err(bad_request("until", "`until` must not be before `since`"));
        }
        Ok(IdRange { from: since.map(lowest_at), to: until.map(lowest_at) })
    }
}

pub fn bad_request(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest { field: field.to_owned(), detail: detail.into() }
}

/// An RFC 3339 time, or a 400 naming `field`.
pub fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| bad_request(field, format!("`{field}` must be an RFC 3339 time: {error}")))
}

/// Parses an optional filter value, or a 400 naming `field`.
pub fn parse_filter<T, E: std::fmt::Display>(
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    raw.map(|raw| parse(raw).map_err(|error| bad_request(field, format!("`{field}` is invalid: {error}")))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::DeliveryId;

    fn window(since: Option<&str>, until: Option<&str>) -> Window {
        Window { since: since.map(str::to_owned), until: until.map(str::to_owned) }
    }

    #[test]
    fn a_window_becomes_an_id_range() {
        let range = window(Some("2026-01-01T00:00:00Z"), None).id_range(DeliveryId::lowest_at).unwrap();
        assert!(range.from.unwrap().starts_with("dlv_"));
        assert_eq!(range.to, None);
    }

    #[test]
    fn bad_windows_name_their_parameter() {
        let error = window(Some("yesterday"), None).id_range(DeliveryId::lowest_at).unwrap_err();
        assert!(matches!(error, ApiError::BadRequest { field, .. } if field == "since"));
        let error = window(Some("2026-01-02T00:00:00Z"), Some("2026-01-01T00:00:00Z"))
            .id_range(DeliveryId::lowest_at)
            .unwrap_err();
        assert!(matches!(error, ApiError::BadRequest { field, .. } if field == "until"));
    }
}
