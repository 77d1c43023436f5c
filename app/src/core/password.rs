//! Password rules and argon2id hashing. Hashing is CPU-heavy, so async callers run it off the runtime.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use super::error::StoreError;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Checks the length rules and says what is wrong.
pub fn validate(password: &str) -> Result<(), StoreError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(StoreError::Invalid(format!(
            "The password must be at least {MIN_PASSWORD_LEN} characters long."
        )));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(StoreError::Invalid(format!(
            "The password must be at most {MAX_PASSWORD_LEN} characters long."
        )));
    }
    Ok(())
}

/// Hashes with argon2id (default parameters) and a fresh random salt, in PHC string form.
pub fn hash(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
}

/// True when `password` matches the stored PHC hash.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`hash`] on the blocking pool.
pub async fn hash_async(password: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| StoreError::Internal(format!("password hashing task failed: {e}")))?
}

/// [`verify`] on the blocking pool.
pub async fn verify_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// A fixed argon2id hash verified against when the account does not exist, so a login for an unknown
/// email costs the same time as one for a known email.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("realms-dummy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_salted_and_verifies() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse battery!", &a));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn length_rules() {
        assert!(validate("1234567").is_err());
        assert!(validate("12345678").is_ok());
        assert!(validate(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
