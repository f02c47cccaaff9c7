//! What a client call can fail with. Outhook answers every failure with an RFC 9457 problem
//! document; [`Error::Api`] carries it whole, so callers match on its stable `type` and read the
//! rejected fields instead of parsing messages. The other variants are failures to talk to Outhook
//! at all, or answers that are not Outhook's (a proxy's error page).

use std::time::Duration;

use crate::models::Problem;

/// A failed client call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL given to [`crate::Client`] is not an absolute `http` or `https` URL.
    #[error("invalid Outhook base URL `{0}`: expected an absolute http or https URL")]
    InvalidBaseUrl(String),
    /// The default HTTP client could not be built (the TLS backend failed to initialise).
    #[error("could not build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// Outhook refused the request (4xx) or failed (5xx), with its problem document.
    #[error("{operation} failed: {problem}")]
    Api {
        /// The `operationId` called.
        operation: &'static str,
        /// What Outhook said, with the rejected fields.
        problem: Box<Problem>,
        /// `Retry-After` of a 429 or 503: when to try again.
        retry_after: Option<Duration>,
    },
    /// An error status whose body is not a problem document: something between the client and
    /// Outhook answered.
    #[error("{operation} failed with status {status} and a body that is not a problem document")]
    UnexpectedResponse {
        /// The `operationId` called.
        operation: &'static str,
        /// The HTTP status received.
        status: u16,
        /// The start of the body received, for logs.
        body: String,
    },
    /// A success whose body does not have the documented shape.
    #[error("{operation} answered a body the SDK cannot read")]
    Decode {
        /// The `operationId` called.
        operation: &'static str,
        /// Where the body differed from the expected shape.
        #[source]
        source: serde_json::Error,
    },
    /// The request did not complete: connection refused, timeout, TLS, DNS.
    #[error("{operation} could not reach Outhook")]
    Transport {
        /// The `operationId` called.
        operation: &'static str,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
}

impl Error {
    /// The HTTP status Outhook (or whatever answered) responded with, if a response came.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { problem, .. } => Some(problem.status),
            Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Outhook's problem document, for 4xx and 5xx answers.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Api { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// Whether sending the same request again later may succeed: rate limited, unavailable, or
    /// not reached at all. Safe for event creation only with an idempotency key.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Api { problem, .. } => matches!(problem.status, 429 | 502 | 503 | 504),
            Self::UnexpectedResponse { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }
}
