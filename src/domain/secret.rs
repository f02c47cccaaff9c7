//! Endpoint signing secrets in the Standard Webhooks format: `whsec_` followed by the base64 of
//! the raw key bytes. The bytes are what HMAC uses; the string is what subscribers copy.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
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
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", SigningSecret::generate()), "SigningSecret(<redacted>)");
    }
}
