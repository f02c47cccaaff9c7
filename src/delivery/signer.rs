//! Standard Webhooks signing: `webhook-signature` is `v1,` + base64(HMAC-SHA256(secret bytes,
//! "{webhook-id}.{webhook-timestamp}.{body}")), one signature per live secret, space-separated.
//! The signature covers the exact bytes sent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::secret::SigningSecret;

/// The three headers that make a request verifiable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub webhook_id: String,
    pub webhook_timestamp: String,
    pub webhook_signature: String,
}

/// One `v1,<base64>` signature of `body` under `secret`.
pub fn sign(secret: &SigningSecret, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Signs `body` with every secret (current first), producing the header values.
pub fn signature_headers(
    secrets: &[&SigningSecret],
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> SignatureHeaders {
    let signatures: Vec<String> = secrets.iter().map(|secret| sign(secret, webhook_id, timestamp, body)).collect();
    SignatureHeaders {
        webhook_id: webhook_id.to_owned(),
        webhook_timestamp: timestamp.to_string(),
        webhook_signature: signatures.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_standard_webhooks_test_vector() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn every_live_secret_signs_and_signatures_are_space_separated() {
        let current = SigningSecret::generate();
        let previous = SigningSecret::generate();
        let headers = signature_headers(&[&current, &previous], "evt_1", 1700000000, b"{}");
        let parts: Vec<&str> = headers.webhook_signature.split(' ').collect();
        assert_eq!(parts, [sign(&current, "evt_1", 1700000000, b"{}"), sign(&previous, "evt_1", 1700000000, b"{}")]);
        assert_eq!(headers.webhook_timestamp, "1700000000");
    }

    #[test]
    fn any_change_to_id_timestamp_or_body_changes_the_signature() {
        let secret = SigningSecret::generate();
        let base = sign(&secret, "evt_1", 1, b"{}");
        assert_ne!(base, sign(&secret, "evt_2", 1, b"{}"));
        assert_ne!(base, sign(&secret, "evt_1", 2, b"{}"));
        assert_ne!(base, sign(&secret, "evt_1", 1, b"{ }"));
    }
}
