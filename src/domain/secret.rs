//! Endpoint signing secrets in the Standard Webhooks format: `whsec_` followed by the base64 of
//! the raw key bytes. The bytes are what HMAC uses; the string is what subscribers copy.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::RngCore;

/// Why a supplied signing secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    #[error("must start with `whsec_`")]
    Prefix,
    #[error("must be `whsec_` followed by standard base64")]
    Encoding,
    #[error("must decode to between {min} and {max} bytes")]
    Length { min: usize, max: usize },
}

/// A signing key. `Debug` never prints the key material.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    pub const PREFIX: &'static str = "whsec_";
    /// Generated secrets carry 24 random bytes (192 bits), as Standard Webhooks suggests.
    pub const GENERATED_LEN: usize = 24;
    pub const MIN_LEN: usize = 24;
    pub const MAX_LEN: usize = 64;

    pub fn generate() -> Self {
        let mut bytes = vec![0u8; Self::GENERATED_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidSecret> {
        let encoded = raw.strip_prefix(Self::PREFIX).ok_or(InvalidSecret::Prefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| InvalidSecret::Encoding)?;
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(InvalidSecret::Length { min: Self::MIN_LEN, max: Self::MAX_LEN });
        }
        Ok(Self(bytes))
    }

    /// Rebuilds a secret from bytes decrypted out of storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `whsec_…` form shown to vendors and subscribers.
    pub fn expose(&self) -> String {
        format!("{}{}", Self::PREFIX, STANDARD.encode(&self.0))
    }
}

/// A secret replaced by rotation that keeps signing until `expires_at`, so subscribers can switch
/// to the new one without dropping a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredSecret {
    pub secret: SigningSecret,
    pub expires_at: DateTime<Utc>,
}

/// At most this many retired secrets sign alongside the current one; rotating more often drops
/// the oldest, keeping `webhook-signature` (and the subscriber's work) bounded.
pub const MAX_RETIRED_SECRETS: usize = 5;

/// Replaces `current` with `replacement`: `current` keeps signing for `grace`, expired retired
/// secrets are dropped, and only the newest [`MAX_RETIRED_SECRETS`] are kept.
pub fn rotate(
    current: SigningSecret,
    retired: Vec<RetiredSecret>,
    replacement: SigningSecret,
    now: DateTime<Utc>,
    grace: chrono::Duration,
) -> (SigningSecret, Vec<RetiredSecret>) {
    let mut kept: Vec<RetiredSecret> = retired.into_iter().filter(|old| old.expires_at > now).collect();
    if grace > chrono::Duration::zero() {
        kept.push(RetiredSecret { secret: current, expires_at: now + grace });
    }
    kept.sort_by_key(|old| std::cmp::Reverse(old.expires_at));
    kept.truncate(MAX_RETIRED_SECRETS);
    (replacement, kept)
}

/// The secrets that sign a request sent at `now`: the current one first, then unexpired retired ones.
pub fn signing_secrets<'a>(
    current: &'a SigningSecret,
    retired: &'a [RetiredSecret],
    now: DateTime<Utc>,
) -> Vec<&'a SigningSecret> {
    std::iter::once(current).chain(retired.iter().filter(|old| old.expires_at > now).map(|old| &old.secret)).collect()
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_24_bytes_and_round_trip() {
        let secret = SigningSecret::generate();
        assert_eq!(secret.as_bytes().len(), 24);
        let exposed = secret.expose();
        assert!(exposed.starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&exposed), Ok(secret));
    }

    #[test]
    fn the_standard_webhooks_example_secret_is_accepted() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(secret.as_bytes().len(), 24);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert_eq!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(InvalidSecret::Prefix));
        assert_eq!(SigningSecret::parse("whsec_!!!"), Err(InvalidSecret::Encoding));
        assert!(matches!(SigningSecret::parse("whsec_c2hvcnQ="), Err(InvalidSecret::Length { .. })));
    }

    #[test]
    fn a_rotated_secret_signs_until_its_grace_period_ends() {
        let now = Utc::now();
        let (old, new) = (SigningSecret::generate(), SigningSecret::generate());
        let (current, retired) = rotate(old.clone(), Vec::new(), new.clone(), now, chrono::Duration::hours(24));
        assert_eq!(current, new);
        assert_eq!(signing_secrets(&current, &retired, now + chrono::Duration::hours(23)), vec![&new, &old]);
        assert_eq!(signing_secrets(&current, &retired, now + chrono::Duration::hours(24)), vec![&new]);
    }

    #[test]
    fn rotation_keeps_a_bounded_number_of_unexpired_secrets() {
        let now = Utc::now();
        let mut current = SigningSecret::generate();
        let mut retired = vec![RetiredSecret { secret: SigningSecret::generate(), expires_at: now }];
        for minute in 0..10 {
            let at = now + chrono::Duration::minutes(minute);
            (current, retired) = rotate(current, retired, SigningSecret::generate(), at, chrono::Duration::hours(1));
        }
        assert_eq!(retired.len(), MAX_RETIRED_SECRETS);
        assert!(retired.iter().all(|old| old.expires_at > now), "the expired one was dropped");
        let (_, none) = rotate(current, Vec::new(), SigningSecret::generate(), now, chrono::Duration::zero());
        assert!(none.is_empty(), "a zero grace retires nothing");
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", SigningSecret::generate()), "SigningSecret(<redacted>)");
    }
}
