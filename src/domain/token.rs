//! API tokens: who is calling. A token is a random bearer string shown once; only its SHA-256
//! digest is stored, so a leaked database does not leak usable credentials.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::ids::TenantId;

/// What a token may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// The whole deployment.
    Admin,
    /// One tenant's endpoints, events, deliveries and attempts; everything else is invisible.
    Tenant(TenantId),
}

/// A freshly generated bearer token, in clear. Exists only between creation and the response.
pub struct PlainToken(String);

impl PlainToken {
    const PREFIX: &'static str = "oht_";

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!("{}{}", Self::PREFIX, URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// The stored form of a token: hex SHA-256. Tokens carry 256 random bits, so a fast hash is
/// enough; a slow password hash would only cost latency on every request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenDigest(String);

impl TokenDigest {
    pub fn of(presented: &str) -> Self {
        let digest = Sha256::digest(presented.as_bytes());
        Self(digest.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_digests_are_stable() {
        let a = PlainToken::generate();
        let b = PlainToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("oht_"));
        assert_eq!(a.digest(), TokenDigest::of(a.expose()));
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest().as_str().len(), 64);
    }
}
