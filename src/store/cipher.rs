//! Encryption at rest for signing secrets: AES-256-GCM with a random 96-bit nonce per value,
//! stored as `nonce || ciphertext`. The key comes from configuration and never touches the
//! database, so a database dump alone does not reveal secrets.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

const NONCE_LEN: usize = 12;

/// Why a configured key is unusable.
#[derive(Debug, thiserror::Error)]
pub enum InvalidKey {
    #[error("the encryption key must be standard base64")]
    Encoding,
    #[error("the encryption key must decode to exactly 32 bytes, got {0}")]
    Length(usize),
}

/// A stored value failed to decrypt: wrong key or tampered data.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted (wrong encryption key or corrupted row)")]
pub struct DecryptError;

/// Seals and opens secrets with the deployment's key.
pub struct SecretCipher {
    cipher: Aes256Gcm,
}

impl SecretCipher {
    /// Builds the cipher from the base64 form used in configuration.
    pub fn from_base64(encoded: &str) -> Result<Self, InvalidKey> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| InvalidKey::Encoding)?;
        if bytes.len() != 32 {
            return Err(InvalidKey::Length(bytes.len()));
        }
        Ok(Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)) })
    }

    /// A fresh random key in configuration form.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("AES-GCM encryption cannot fail for in-memory buffers of this size");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let cipher = SecretCipher::from_base64(&SecretCipher::generate_key()).unwrap();
        let sealed = cipher.seal(b"top secret");
        assert!(!sealed.windows(10).any(|window| window == b"top secret"));
        assert_eq!(cipher.open(&sealed).unwrap(), b"top secret");

        let other = SecretCipher::from_base64(&SecretCipher::generate_key()).unwrap();
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert!(cipher.open(&tampered).is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let cipher = SecretCipher::from_base64(&SecretCipher::generate_key()).unwrap();
        assert_ne!(cipher.seal(b"x"), cipher.seal(b"x"));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(SecretCipher::from_base64("***"), Err(InvalidKey::Encoding)));
        assert!(matches!(SecretCipher::from_base64("c2hvcnQ="), Err(InvalidKey::Length(5))));
    }
}
