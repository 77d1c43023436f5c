//! The data-plane credential: `rlm_` followed by 43 url-safe random characters (256 bits). Only its
//! SHA-256 and the last four characters (the hint) are stored.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "rlm_";

/// A freshly generated token; `secret` is shown to its owner once and never stored.
pub struct GeneratedToken {
    pub secret: String,
    pub hash: String,
    pub hint: String,
}

pub fn generate() -> GeneratedToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    GeneratedToken {
        hash: hash(&secret),
        hint: hint(&secret),
        secret,
    }
}

/// The stored form of a token: lower-case hex SHA-256 of the whole string.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = [0u8; 64];
    // 32 bytes always fit 64 hex digits; written in place rather than character by character.
    match hex::encode_to_slice(digest, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => hex::encode(digest),
    }
}

/// The last four characters, shown in lists so people can tell tokens apart.
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// True when the string has the shape of a Realms token (cheap check before any lookup).
pub fn looks_like_token(s: &str) -> bool {
    s.len() > TOKEN_PREFIX.len() + 32
        && s.starts_with(TOKEN_PREFIX)
        && s[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_is_lower_case_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let t = generate();
        assert!(t.secret.starts_with("rlm_"));
        assert!(t.secret.len() >= 4 + 32, "{}", t.secret);
        assert!(looks_like_token(&t.secret));
        assert_eq!(t.hash, hash(&t.secret));
        assert_eq!(t.hash.len(), 64);
        assert!(t.secret.ends_with(&t.hint));
        assert_eq!(t.hint.chars().count(), 4);
        assert_ne!(generate().secret, t.secret);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn shape_check_rejects_other_strings() {
        assert!(!looks_like_token("sk-ant-123"));
        assert!(!looks_like_token("rlm_short"));
        assert!(!looks_like_token(&format!("rlm_{}", "a b".repeat(20))));
    }
}
