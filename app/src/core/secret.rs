//! The instance secret: from `REALMS_SECRET_KEY`, or generated once into the data directory. Keys for
//! specific purposes (cookie signing, encryption of upstream keys) are derived from it, never used raw.

use crate::i18n::Msg;
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::StoreError;

pub const SECRET_FILE: &str = "secret.key";
const MIN_SECRET_LEN: usize = 32;

#[derive(Clone)]
pub struct InstanceSecret(Vec<u8>);

impl std::fmt::Debug for InstanceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstanceSecret(..)")
    }
}

/// Where the secret came from, for the start-up log line.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretSource {
    Env,
    File(PathBuf),
    Generated(PathBuf),
}

impl InstanceSecret {
    pub fn from_value(value: &str) -> Result<Self, StoreError> {
        let value = value.trim();
        if value.len() < MIN_SECRET_LEN {
            return Err(StoreError::Invalid(
                Msg::new("error-secret-too-short").arg("MIN_SECRET_LEN", MIN_SECRET_LEN),
            ));
        }
        Ok(InstanceSecret(value.as_bytes().to_vec()))
    }

    /// Uses `env_value` when given; otherwise reads `<data_dir>/secret.key`, creating it (mode 0600)
    /// with 32 random bytes (hex) when missing.
    pub fn load_or_create(
        env_value: Option<&str>,
        data_dir: &Path,
    ) -> Result<(Self, SecretSource), StoreError> {
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            return Ok((Self::from_value(v)?, SecretSource::Env));
        }
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(v) => return Ok((Self::from_value(&v)?, SecretSource::File(path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Invalid(
                    Msg::new("error-cannot-read")
                        .arg("path", path.display())
                        .arg("error", e),
                ));
            }
        }
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Invalid(
                Msg::new("error-cannot-create-data-dir")
                    .arg("path", data_dir.display())
                    .arg("error", e),
            )
        })?;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let value = hex::encode(bytes);
        write_private(&path, value.as_bytes()).map_err(|e| {
            StoreError::Invalid(
                Msg::new("error-cannot-write")
                    .arg("path", path.display())
                    .arg("error", e),
            )
        })?;
        Ok((Self::from_value(&value)?, SecretSource::Generated(path)))
    }

    /// 64 bytes for signing session cookies.
    pub fn cookie_key(&self) -> [u8; 64] {
        self.derive64(b"realms cookie signing v1")
    }

    /// 32 bytes for encrypting upstream credentials at rest.
    pub fn encryption_key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"realms credential encryption v1");
        h.update(&self.0);
        h.finalize().into()
    }

    fn derive64(&self, purpose: &[u8]) -> [u8; 64] {
        let mut h = Sha512::new();
        h.update(purpose);
        h.update(&self.0);
        h.finalize().into()
    }
}

fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_with_private_mode_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, src) = InstanceSecret::load_or_create(None, dir.path()).unwrap();
        assert!(matches!(src, SecretSource::Generated(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, src) = InstanceSecret::load_or_create(None, dir.path()).unwrap();
        assert!(matches!(src, SecretSource::File(_)));
        assert_eq!(a.cookie_key(), b.cookie_key());
    }

    #[test]
    fn env_value_wins_and_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let (s, src) =
            InstanceSecret::load_or_create(Some("0123456789abcdef0123456789abcdef"), dir.path())
                .unwrap();
        assert_eq!(src, SecretSource::Env);
        assert!(!dir.path().join(SECRET_FILE).exists());
        assert_ne!(
            s.cookie_key()[..32],
            s.encryption_key()[..],
            "purposes get different keys"
        );
        assert!(InstanceSecret::load_or_create(Some("short"), dir.path()).is_err());
    }
}
