//! The one error type of the HTTP API. Every failure a handler can return becomes an RFC 9457
//! problem document with a stable `type` URI, a human `detail` and, for input errors, the
//! offending fields.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::validation::{FieldError, FieldErrors};
use crate::store::StoreError;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:outhook:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The fields that were rejected, for input errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One rejected input field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// Path of the field in the request (`url`, `headers.Host`, `event_types[1]`, `cursor`).
    pub field: String,
    /// Why it was rejected.
    pub message: String,
}

/// Everything an API request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    BadRequest { field: String, detail: String },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this token may not perform this operation")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { field: Option<String>, detail: String },
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("{detail}")]
    RateLimited { limit: u32, retry_after_seconds: Option<u64>, detail: String },
    #[error("the service is temporarily unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A single rejected field.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::MalformedJson(_) => ("malformed-json", "Malformed JSON"),
            Self::Validation(_) => ("validation", "Invalid request"),
            Self::BadRequest { .. } => ("bad-request", "Bad request"),
            Self::Unauthorized => ("unauthorized", "Unauthorized"),
            Self::Forbidden => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::Conflict { .. } => ("conflict", "Conflict"),
            Self::PayloadTooLarge { .. } => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            Self::RateLimited { .. } => ("rate-limited", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    fn fields(&self) -> Vec<ProblemField> {
        let field = |field: &str, message: &str| ProblemField { field: field.to_owned(), message: message.to_owned() };
        match self {
            Self::Validation(errors) => errors.iter().map(|error| field(&error.field, &error.message)).collect(),
            Self::BadRequest { field: name, detail } => vec![field(name, detail)],
            Self::Conflict { field: Some(name), detail } => vec![field(name, detail)],
            _ => Vec::new(),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => match errors.as_slice() {
                [only] => format!("`{}` {}", only.field, only.message),
                _ => format!("{} fields are invalid", errors.len()),
            },
            // Never echo internal causes to clients; they are logged instead.
            Self::Unavailable(_) => "the database is unavailable, retry later".to_owned(),
            Self::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        Problem {
            kind: format!("urn:outhook:problem:{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            errors: self.fields(),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors.into_vec())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) | StoreError::Contention(cause) => Self::Unavailable(cause),
            StoreError::Conflict => Self::Conflict { field: None, detail: "the resource already exists".into() },
            StoreError::NotFound => Self::NotFound("resource"),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(cause = %cause, "database unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        match self {
            Self::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            Self::RateLimited { limit, retry_after_seconds, .. } => {
                response.insert_header(("ratelimit-limit", limit.to_string()));
                response.insert_header(("ratelimit-remaining", "0"));
                if let Some(seconds) = retry_after_seconds {
                    response.insert_header((header::RETRY_AFTER, seconds.to_string()));
                    response.insert_header(("ratelimit-reset", seconds.to_string()));
                }
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let problem = ApiError::Internal("password=hunter2 at db.internal".into()).problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("hunter2"));
        let problem = ApiError::Unavailable("connection refused 10.0.0.5".into()).problem();
        assert_eq!(problem.status, 503);
        assert!(!problem.detail.contains("10.0.0.5"));
    }

    #[test]
    fn validation_problems_name_each_field() {
        let problem =
            ApiError::Validation(vec![FieldError::new("url", "bad"), FieldError::new("headers.Host", "reserved")])
                .problem();
        assert_eq!(problem.kind, "urn:outhook:problem:validation");
        assert_eq!(problem.status, 422);
        let fields: Vec<&str> = problem.errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["url", "headers.Host"]);
    }

    #[test]
    fn an_unreachable_database_is_503() {
        let error: ApiError = StoreError::Unavailable("down".into()).into();
        assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
