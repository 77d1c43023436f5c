//! Upstream keys at rest: AES-256-GCM under a key derived from the instance secret. A stored value is
//! `v1:` + base64(12-byte random nonce ‖ ciphertext ‖ tag); the channel id is bound in as associated
//! data, so a value copied onto another channel does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

use super::error::StoreError;
use super::secret::InstanceSecret;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// Encrypts and decrypts upstream credentials.
#[derive(Clone)]
pub struct KeyCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for KeyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCipher(..)")
    }
}

impl KeyCipher {
    pub fn new(secret: &InstanceSecret) -> Self {
        let key = secret.encryption_key();
        KeyCipher {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// Encrypts `plain` for the channel `channel_id`.
    pub fn encrypt(&self, channel_id: i64, plain: &str) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = channel_id.to_be_bytes();
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Internal("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Decrypts a stored value of the channel `channel_id`. Fails when the instance secret is not
    /// the one that encrypted it, or the value was altered.
    pub fn decrypt(&self, channel_id: i64, stored: &str) -> Result<String, StoreError> {
        let undecryptable = || {
            StoreError::Internal(
                "a stored upstream key cannot be decrypted: the instance secret differs from the one that saved it".into(),
            )
        };
        let body = stored.strip_prefix(PREFIX).ok_or_else(undecryptable)?;
        let bytes = STANDARD.decode(body).map_err(|_| undecryptable())?;
        if bytes.len() <= NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = channel_id.to_be_bytes();
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain).map_err(|_| undecryptable())
    }
}

/// The last four characters of a key, kept in clear for display ("…abcd").
pub fn key_hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let start = chars.len().saturating_sub(4);
    chars[start..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(secret: &str) -> KeyCipher {
        KeyCipher::new(&InstanceSecret::from_value(secret).unwrap())
    }

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn round_trip() {
        let c = cipher(A);
        let stored = c.encrypt(7, "sk-ant-api03-secret-value").unwrap();
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains("secret-value"));
        assert_eq!(c.decrypt(7, &stored).unwrap(), "sk-ant-api03-secret-value");
    }

    #[test]
    fn nonces_differ_per_encryption() {
        let c = cipher(A);
        assert_ne!(c.encrypt(1, "k").unwrap(), c.encrypt(1, "k").unwrap());
    }

    #[test]
    fn wrong_secret_fails() {
        let stored = cipher(A).encrypt(7, "sk-live").unwrap();
        let err = cipher(B).decrypt(7, &stored).unwrap_err();
        assert!(err.to_string().contains("instance secret"), "{err}");
    }

    #[test]
    fn another_channel_or_tampering_fails() {
        let c = cipher(A);
        let stored = c.encrypt(7, "sk-live").unwrap();
        assert!(c.decrypt(8, &stored).is_err());
        let mut tampered = stored.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(c.decrypt(7, &String::from_utf8(tampered).unwrap()).is_err());
        assert!(c.decrypt(7, "plain-text").is_err());
    }

    #[test]
    fn hints_are_the_last_four_characters() {
        assert_eq!(key_hint("sk-ant-abcdWXYZ"), "WXYZ");
        assert_eq!(key_hint("ab"), "ab");
    }
}
