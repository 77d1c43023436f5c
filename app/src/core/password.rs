//! Password rules and argon2id hashing. Hashing is CPU-heavy, so async callers run it off the runtime.

use crate::i18n::Msg;
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
        return Err(StoreError::Invalid(
            Msg::new("error-password-too-short").arg("MIN_PASSWORD_LEN", MIN_PASSWORD_LEN),
        ));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(StoreError::Invalid(
            Msg::new("error-password-too-long").arg("MAX_PASSWORD_LEN", MAX_PASSWORD_LEN),
        ));
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

/// Sign-ins and sign-ups waiting for a hash slot at most; past it they are refused at once
/// ([`StoreError::Busy`]), so a flood of attempts costs neither unbounded memory nor CPU.
pub const MAX_WAITING_HASHES: usize = 64;

/// At most `slots` hashes at once (each takes a core for tens of milliseconds), with a bounded
/// queue in front.
struct HashGate {
    slots: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

impl HashGate {
    fn new(slots: usize, max_waiting: usize) -> Self {
        HashGate {
            slots: tokio::sync::Semaphore::new(slots),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `work` on the blocking pool when a slot is free; refuses when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(StoreError::Busy(Msg::new("error-sign-in-busy")));
        }
        let permit = self.slots.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit =
            permit.map_err(|e| StoreError::Internal(format!("password hashing is closed: {e}")))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StoreError::Internal(format!("password hashing task failed: {e}")))
    }
}

fn gate() -> &'static HashGate {
    static GATE: std::sync::OnceLock<HashGate> = std::sync::OnceLock::new();
    GATE.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashGate::new(cores, MAX_WAITING_HASHES)
    })
}

/// [`hash`] on the blocking pool, one per core at once.
pub async fn hash_async(password: String) -> Result<String, StoreError> {
    gate().run(move || hash(&password)).await?
}

/// [`verify`] on the blocking pool, one per core at once.
pub async fn verify_async(password: String, phc: String) -> Result<bool, StoreError> {
    gate().run(move || verify(&password, &phc)).await
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

    #[tokio::test]
    async fn past_the_queue_hashes_are_refused_at_once() {
        let gate: &'static HashGate = Box::leak(Box::new(HashGate::new(1, 2)));
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let busy = tokio::spawn(gate.run(move || {
            let _ = started_tx.send(());
            wait.recv().is_ok()
        }));
        started.await.unwrap();
        let queued: Vec<_> = (0..2).map(|i| tokio::spawn(gate.run(move || i))).collect();
        while gate.waiting.load(std::sync::atomic::Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.run(|| 9).await, Err(StoreError::Busy(_))));
        release.send(()).unwrap();
        assert!(busy.await.unwrap().unwrap());
        for (i, q) in queued.into_iter().enumerate() {
            assert_eq!(q.await.unwrap().unwrap(), i);
        }
        assert_eq!(
            gate.run(|| 7).await.unwrap(),
            7,
            "free again once the queue drains"
        );
    }

    #[test]
    fn length_rules() {
        assert!(validate("1234567").is_err());
        assert!(validate("12345678").is_ok());
        assert!(validate(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
