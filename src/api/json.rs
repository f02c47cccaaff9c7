//! The JSON body extractor used by every handler. Unlike actix's own, it reports *which* field
//! is wrong (via `serde_path_to_error`), distinguishes malformed JSON (400) from well-formed JSON
//! of the wrong shape (422), and enforces the configured body limit (413), all as problem+json.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev, web};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::api::errors::ApiError;
use crate::domain::validation::FieldError;

/// The largest body a request may carry, set once from configuration as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body parsed into `T`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let limit = request.app_data::<BodyLimit>().map_or(256 * 1024, |limit| limit.0);
        let media_type_ok = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| {
                value.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
            })
            .is_none_or(|media| media == "application/json" || media.ends_with("+json"));
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let body = web::Payload::from_request(request, payload);
        Box::pin(async move {
            if !media_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_length.is_some_and(|length| length > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let body = body.await.map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            let bytes = body
                .to_bytes_limited(limit)
                .await
                .map_err(|_| ApiError::PayloadTooLarge { limit })?
                .map_err(|e| ApiError::MalformedJson(format!("the body could not be read: {e}")))?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// Distinguishes "absent" (keep) from `null` (clear) in PATCH bodies: use with
/// `#[serde(default, deserialize_with = "crate::api::json::present")]` on an `Option<Option<T>>`.
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Parses `bytes` as `T`, naming the offending field when the JSON is valid but does not fit.
/// Every request body of the API is an object; serde would otherwise accept a struct written as
/// an array, so other top-level values are refused first.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => ApiError::invalid("body", "must be a JSON object"),
            Err(error) => ApiError::MalformedJson(error.to_string()),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            Category::Data => shape_error(&path, &inner),
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    Ok(value)
}

/// Turns serde's data error into a field error. Missing fields are reported under
/// their own name: serde reports a missing field at its parent's path.
fn shape_error(path: &str, error: &serde_json::Error) -> ApiError {
    let message = error.to_string();
    // serde_json appends " at line L column C"; the field path says more than the position.
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    let named = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let field = match (named, path) {
        (Some(name), "." | "") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "." | "") => "body".to_owned(),
        (None, path) => path.to_owned(),
    };
    ApiError::Validation(vec![FieldError::new(field, message)])
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        #[serde(default)]
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        flag: bool,
    }

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::Validation(errors) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert!(matches!(parse_json::<Body>(b"{\"name\": "), Err(ApiError::MalformedJson(_))));
        assert!(matches!(
            parse_json::<Body>(br#"{"name": "x", "count": 1} trailing"#),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(field_of(parse_json::<Body>(br#"{"name": 1, "count": 1}"#).unwrap_err()), "name");
        assert_eq!(field_of(parse_json::<Body>(br#"{"count": 1}"#).unwrap_err()), "name");
        assert_eq!(field_of(parse_json::<Body>(br#"{"name": "x", "count": -1}"#).unwrap_err()), "count");
        assert_eq!(field_of(parse_json::<Body>(br#"{"name": "x", "count": 1, "nme": 2}"#).unwrap_err()), "nme");
        let nested = br#"{"name": "x", "count": 1, "nested": {"flag": "yes"}}"#;
        assert_eq!(field_of(parse_json::<Body>(nested).unwrap_err()), "nested.flag");
        assert_eq!(field_of(parse_json::<Body>(b"[]").unwrap_err()), "body");
    }
}
