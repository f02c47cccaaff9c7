//! The subscriber side: verifying that a webhook really comes from Outhook (or any Standard
//! Webhooks sender), was not altered, and is not a replay of an old request.
//!
//! A request is genuine when one of the `v1,<base64>` entries of its `webhook-signature` header is
//! the HMAC-SHA256, under one of the endpoint's secrets, of `{webhook-id}.{webhook-timestamp}.{body}`,
//! and `webhook-timestamp` is within the tolerance window of the receiver's clock. Signatures are
//! compared in constant time. Several secrets can be configured at once, so a subscriber keeps
//! accepting webhooks while the vendor rotates its endpoint's secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the message id: the same on every retry, the key to deduplicate on.
pub const WEBHOOK_ID: &str = "webhook-id";
/// The header carrying the send time in Unix seconds, checked against the tolerance window.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the space-separated `v1,<base64>` signatures.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// How far a webhook's timestamp may be from the receiver's clock by default, either way: the
/// usual Standard Webhooks window, wide enough for clock skew and slow networks, narrow enough to
/// make a captured request useless soon.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a webhook was rejected. Every kind means "do not process this request"; they differ so
/// that logs say what to fix (a secret, a clock, a proxy dropping headers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A secret given to [`Webhook`] is not `whsec_` followed by non-empty base64.
    #[error("the signing secret is invalid: expected `whsec_` followed by base64")]
    InvalidSecret,
    /// One of the three signature headers is absent; the name says which.
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    /// A header is present but unusable (the timestamp is not a number of seconds); the name says which.
    #[error("the `{0}` header is invalid")]
    InvalidHeader(&'static str),
    /// The timestamp is further in the past than the tolerance: possibly a replayed request.
    #[error("the webhook timestamp is {age_seconds} s old, more than the tolerated {tolerance_seconds} s")]
    TimestampTooOld {
        /// How far in the past the timestamp is.
        age_seconds: u64,
        /// The configured tolerance.
        tolerance_seconds: u64,
    },
    /// The timestamp is further in the future than the tolerance: a clock is badly off.
    #[error("the webhook timestamp is {ahead_seconds} s in the future, more than the tolerated {tolerance_seconds} s")]
    TimestampTooNew {
        /// How far in the future the timestamp is.
        ahead_seconds: u64,
        /// The configured tolerance.
        tolerance_seconds: u64,
    },
    /// No `v1` signature matches any secret: a wrong secret, an altered body or a forgery.
    #[error("no signature matches the body under the configured secrets")]
    NoMatchingSignature,
}

/// What a verified webhook is known by, for deduplication and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The `webhook-id`: the same on every retry of a message, so processing each id once makes
    /// at-least-once delivery exactly-once for the subscriber.
    pub id: String,
    /// The `webhook-timestamp`, in Unix seconds.
    pub timestamp: i64,
}

/// Where [`Webhook::verify`] reads the three headers from.
///
/// Implemented for [`http::HeaderMap`] (the header map of `reqwest`, `hyper`, `axum` and other
/// `http` 1 users) and for any `Fn(&str) -> Option<&str>` closure, which covers every other
/// framework: with actix-web,
/// `|name: &str| request.headers().get(name).and_then(|value| value.to_str().ok())`.
pub trait HeaderLookup<'h> {
    /// The value of the header `name` (given in lowercase), when present and valid UTF-8.
    fn header(&self, name: &str) -> Option<&'h str>;
}

impl<'h> HeaderLookup<'h> for &'h http::HeaderMap {
    fn header(&self, name: &str) -> Option<&'h str> {
        self.get(name).and_then(|value| value.to_str().ok())
    }
}

impl<'h, F> HeaderLookup<'h> for F
where
    F: Fn(&str) -> Option<&'h str>,
{
    fn header(&self, name: &str) -> Option<&'h str> {
        self(name)
    }
}

/// A verifier for one endpoint: its secret, or several during a rotation, and a tolerance window.
#[derive(Clone)]
pub struct Webhook {
    keys: Vec<Vec<u8>>,
    tolerance: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, even in debug logs.
        formatter
            .debug_struct("Webhook")
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Webhook {
    /// A verifier for an endpoint's `whsec_…` secret (the prefix is optional, as in other
    /// Standard Webhooks libraries).
    pub fn new(secret: &str) -> Result<Self, VerifyError> {
        Self::with_secrets([secret])
    }

    /// A verifier accepting a signature under any of `secrets`: the new and the old secret while
    /// the vendor rotates them. At least one secret is required.
    pub fn with_secrets<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, VerifyError> {
        let keys = secrets.into_iter().map(|secret| decode_secret(secret.as_ref())).collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(VerifyError::InvalidSecret);
        }
        Ok(Self { keys, tolerance: DEFAULT_TOLERANCE })
    }

    /// Changes how far the timestamp may be from the receiver's clock, in both directions.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies a request against the system clock. Pass the raw body bytes exactly as received:
    /// re-serialised JSON does not verify.
    pub fn verify<'h>(&self, headers: impl HeaderLookup<'h>, body: &[u8]) -> Result<Verified, VerifyError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Verifies a request as if the clock read `now`: for tests, and for receivers that queue
    /// requests and verify them later against their arrival time.
    pub fn verify_at<'h>(
        &self,
        headers: impl HeaderLookup<'h>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, VerifyError> {
        let id = required(&headers, WEBHOOK_ID)?;
        let timestamp_text = required(&headers, WEBHOOK_TIMESTAMP)?;
        let signatures = required(&headers, WEBHOOK_SIGNATURE)?;
        let timestamp: i64 =
            timestamp_text.trim().parse().map_err(|_| VerifyError::InvalidHeader(WEBHOOK_TIMESTAMP))?;
        self.check_timestamp(timestamp, now)?;

        let candidates: Vec<Vec<u8>> = signatures
            .split(' ')
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|encoded| STANDARD.decode(encoded).ok())
            .collect();
        for key in &self.keys {
            let mac = message_mac(key, id, timestamp, body);
            // `verify_slice` compares in constant time, so timing reveals nothing about the
            // expected signature.
            if candidates.iter().any(|candidate| mac.clone().verify_slice(candidate).is_ok()) {
                return Ok(Verified { id: id.to_owned(), timestamp });
            }
        }
        Err(VerifyError::NoMatchingSignature)
    }

    /// The `webhook-signature` value Outhook would send for this message, one `v1,` entry per
    /// secret: for testing a subscriber without a running Outhook.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let signatures: Vec<String> = self
            .keys
            .iter()
            .map(|key| format!("v1,{}", STANDARD.encode(message_mac(key, id, timestamp, body).finalize().into_bytes())))
            .collect();
        signatures.join(" ")
    }

    fn check_timestamp(&self, timestamp: i64, now: SystemTime) -> Result<(), VerifyError> {
        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(since_epoch) => i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            Err(before_epoch) => -i64::try_from(before_epoch.duration().as_secs()).unwrap_or(i64::MAX),
        };
        let tolerance_seconds = self.tolerance.as_secs();
        let difference = now.abs_diff(timestamp);
        if difference <= tolerance_seconds {
            Ok(())
        } else if timestamp < now {
            Err(VerifyError::TimestampTooOld { age_seconds: difference, tolerance_seconds })
        } else {
            Err(VerifyError::TimestampTooNew { ahead_seconds: difference, tolerance_seconds })
        }
    }
}

fn required<'h>(headers: &impl HeaderLookup<'h>, name: &'static str) -> Result<&'h str, VerifyError> {
    headers.header(name).ok_or(VerifyError::MissingHeader(name))
}

fn decode_secret(secret: &str) -> Result<Vec<u8>, VerifyError> {
    let encoded = secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim());
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(VerifyError::InvalidSecret),
    }
}

fn message_mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { unreachable!("HMAC accepts keys of any length") };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published Standard Webhooks test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(seconds: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds as u64)
    }

    fn headers(signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(WEBHOOK_ID, ID.parse().unwrap());
        headers.insert(WEBHOOK_TIMESTAMP, TIMESTAMP.to_string().parse().unwrap());
        headers.insert(WEBHOOK_SIGNATURE, signature.parse().unwrap());
        headers
    }

    #[test]
    fn the_standard_webhooks_test_vector_verifies() {
        let webhook = Webhook::new(SECRET).unwrap();
        let verified = webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP)).unwrap();
        assert_eq!(verified, Verified { id: ID.to_owned(), timestamp: TIMESTAMP });
        assert_eq!(webhook.sign(ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn a_secret_without_the_whsec_prefix_is_accepted() {
        let webhook = Webhook::new(SECRET.trim_start_matches("whsec_")).unwrap();
        assert!(webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP)).is_ok());
    }

    #[test]
    fn a_tampered_body_is_rejected() {
        let webhook = Webhook::new(SECRET).unwrap();
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            webhook.verify_at(&headers(SIGNATURE), tampered, at(TIMESTAMP)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_tampered_id_or_timestamp_is_rejected() {
        let webhook = Webhook::new(SECRET).unwrap();
        let mut other_id = headers(SIGNATURE);
        other_id.insert(WEBHOOK_ID, "msg_other".parse().unwrap());
        assert_eq!(webhook.verify_at(&other_id, BODY, at(TIMESTAMP)), Err(VerifyError::NoMatchingSignature));
        let mut other_time = headers(SIGNATURE);
        other_time.insert(WEBHOOK_TIMESTAMP, (TIMESTAMP + 1).to_string().parse().unwrap());
        assert_eq!(webhook.verify_at(&other_time, BODY, at(TIMESTAMP)), Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn a_wrong_secret_is_rejected() {
        let webhook = Webhook::new("whsec_dGhpcyBpcyBub3QgdGhlIHJpZ2h0IHNlY3JldA==").unwrap();
        assert_eq!(webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP)), Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn a_timestamp_older_than_the_tolerance_is_rejected() {
        let webhook = Webhook::new(SECRET).unwrap();
        assert!(webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP + 300)).is_ok(), "the edge is inside");
        assert_eq!(
            webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP + 301)),
            Err(VerifyError::TimestampTooOld { age_seconds: 301, tolerance_seconds: 300 })
        );
    }

    #[test]
    fn a_timestamp_further_ahead_than_the_tolerance_is_rejected() {
        let webhook = Webhook::new(SECRET).unwrap();
        assert!(webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP - 300)).is_ok());
        assert_eq!(
            webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP - 301)),
            Err(VerifyError::TimestampTooNew { ahead_seconds: 301, tolerance_seconds: 300 })
        );
    }

    #[test]
    fn the_tolerance_is_configurable() {
        let webhook = Webhook::new(SECRET).unwrap().tolerance(Duration::from_secs(10));
        assert!(webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP + 10)).is_ok());
        assert!(matches!(
            webhook.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP + 11)),
            Err(VerifyError::TimestampTooOld { .. })
        ));
    }

    #[test]
    fn an_old_timestamp_is_rejected_even_with_a_valid_signature_against_the_real_clock() {
        let webhook = Webhook::new(SECRET).unwrap();
        assert!(matches!(webhook.verify(&headers(SIGNATURE), BODY), Err(VerifyError::TimestampTooOld { .. })));
    }

    #[test]
    fn each_missing_header_is_named() {
        let webhook = Webhook::new(SECRET).unwrap();
        for name in [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE] {
            let mut incomplete = headers(SIGNATURE);
            incomplete.remove(name);
            assert_eq!(webhook.verify_at(&incomplete, BODY, at(TIMESTAMP)), Err(VerifyError::MissingHeader(name)));
        }
    }

    #[test]
    fn a_timestamp_that_is_not_a_number_is_an_invalid_header() {
        let webhook = Webhook::new(SECRET).unwrap();
        let mut invalid = headers(SIGNATURE);
        invalid.insert(WEBHOOK_TIMESTAMP, "yesterday".parse().unwrap());
        assert_eq!(
            webhook.verify_at(&invalid, BODY, at(TIMESTAMP)),
            Err(VerifyError::InvalidHeader(WEBHOOK_TIMESTAMP))
        );
    }

    #[test]
    fn any_matching_entry_among_several_signatures_passes_and_other_versions_are_ignored() {
        let webhook = Webhook::new(SECRET).unwrap();
        let stranger = Webhook::new("whsec_c29tZSBvdGhlciBlbmRwb2ludCdzIHNlY3JldA==").unwrap();
        let mixed =
            format!("v1a,{} {} garbage v1,!!! {SIGNATURE}", &SIGNATURE[3..], stranger.sign(ID, TIMESTAMP, BODY));
        assert!(webhook.verify_at(&headers(&mixed), BODY, at(TIMESTAMP)).is_ok());
        let only_other_versions = format!("v1a,{} v2,{}", &SIGNATURE[3..], &SIGNATURE[3..]);
        assert_eq!(
            webhook.verify_at(&headers(&only_other_versions), BODY, at(TIMESTAMP)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_signature_under_any_configured_secret_passes() {
        let old = "whsec_b2xkIHNlY3JldCBiZWZvcmUgdGhlIHJvdGF0aW9u";
        let signed_by_old = Webhook::new(old).unwrap().sign(ID, TIMESTAMP, BODY);
        let rotating = Webhook::with_secrets([SECRET, old]).unwrap();
        assert!(rotating.verify_at(&headers(&signed_by_old), BODY, at(TIMESTAMP)).is_ok());
        assert!(rotating.verify_at(&headers(SIGNATURE), BODY, at(TIMESTAMP)).is_ok());
        // Both secrets sign, as Outhook does during a rotation's grace period.
        assert_eq!(rotating.sign(ID, TIMESTAMP, BODY), format!("{SIGNATURE} {signed_by_old}"));
    }

    #[test]
    fn invalid_secrets_are_refused_when_the_verifier_is_built() {
        for secret in ["whsec_", "whsec_not base64!", ""] {
            assert_eq!(Webhook::new(secret).unwrap_err(), VerifyError::InvalidSecret, "{secret:?}");
        }
        assert_eq!(Webhook::with_secrets(Vec::<String>::new()).unwrap_err(), VerifyError::InvalidSecret);
    }

    #[test]
    fn headers_can_come_from_a_closure() {
        let webhook = Webhook::new(SECRET).unwrap();
        let pairs = [
            ("webhook-id", ID.to_owned()),
            ("webhook-timestamp", TIMESTAMP.to_string()),
            ("webhook-signature", SIGNATURE.to_owned()),
        ];
        let lookup = |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str());
        assert!(webhook.verify_at(lookup, BODY, at(TIMESTAMP)).is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let webhook = Webhook::new(SECRET).unwrap();
        let printed = format!("{webhook:?}");
        assert!(!printed.contains("MfKQ9r8G") && printed.contains("secrets: 1"), "{printed}");
    }
}
