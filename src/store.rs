//! Durable storage for the Salesforce refresh token.
//!
//! With refresh-token rotation every refresh returns a new token and the old
//! one dies; reusing it revokes the whole connection. So a rotated token is
//! written to disk (atomically: temp file, fsync, rename) *before* the new
//! access token is used, and on the next start the stored token wins over
//! `SALESFORCE_REFRESH_TOKEN` — unless the configured token changed since the
//! store was seeded, which means an admin reconnected on purpose.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Secret;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("token store {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub enum TokenStore {
    /// The sandbox org is reseeded on every start, so its tokens live in memory.
    Memory(std::sync::Mutex<Option<Secret>>),
    File {
        path: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
struct StoredToken {
    refresh_token: String,
    /// SHA-256 of the configured token this chain started from, so that a
    /// new `SALESFORCE_REFRESH_TOKEN` (a reconnect) is noticed.
    seeded_from: Option<String>,
    updated_at: String,
}

fn fingerprint(token: Option<&Secret>) -> Option<String> {
    token.map(|t| hex::encode(Sha256::digest(t.expose().as_bytes())))
}

impl TokenStore {
    pub fn memory() -> TokenStore {
        TokenStore::Memory(std::sync::Mutex::new(None))
    }

    pub fn file(data_dir: &Path) -> TokenStore {
        TokenStore::File {
            path: data_dir.join("salesforce-token.json"),
        }
    }

    /// The refresh token to start from: the stored one if it descends from
    /// the configured one, else the configured one.
    pub fn initial(&self, configured: Option<&Secret>) -> Result<Option<Secret>, StoreError> {
        match self {
            TokenStore::Memory(m) => Ok(m.lock().unwrap().clone().or_else(|| configured.cloned())),
            TokenStore::File { path } => {
                let stored: Option<StoredToken> = match std::fs::read(path) {
                    Ok(bytes) => serde_json::from_slice(&bytes).ok(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(source) => {
                        return Err(StoreError::Io {
                            path: path.clone(),
                            source,
                        })
                    }
                };
                Ok(match stored {
                    Some(s) if configured.is_none() || s.seeded_from == fingerprint(configured) => {
                        Some(Secret::new(s.refresh_token))
                    }
                    _ => configured.cloned(),
                })
            }
        }
    }

    /// Durably records a rotated refresh token.
    pub fn save(&self, token: &Secret, configured: Option<&Secret>) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(m) => {
                *m.lock().unwrap() = Some(token.clone());
                Ok(())
            }
            TokenStore::File { path } => {
                let io = |source| StoreError::Io {
                    path: path.clone(),
                    source,
                };
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let body = serde_json::to_vec_pretty(&StoredToken {
                    refresh_token: token.expose().to_string(),
                    seeded_from: fingerprint(configured),
                    updated_at: chrono::Utc::now().to_rfc3339(),
                })
                .expect("plain struct serialises");
                let tmp = path.with_extension("json.tmp");
                write_private(&tmp, &body).map_err(io)?;
                std::fs::rename(&tmp, path).map_err(io)?;
                Ok(())
            }
        }
    }
}

fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(body)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_token_wins_until_the_configured_one_changes() {
        let dir = std::env::temp_dir().join(format!("sf-inbox-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = TokenStore::file(&dir);
        let configured = Secret::new("configured-1");
        assert_eq!(
            store.initial(Some(&configured)).unwrap(),
            Some(configured.clone())
        );
        store
            .save(&Secret::new("rotated-2"), Some(&configured))
            .unwrap();
        // Next start with the same configuration: the rotated token wins.
        let again = TokenStore::file(&dir);
        assert_eq!(
            again.initial(Some(&configured)).unwrap(),
            Some(Secret::new("rotated-2"))
        );
        // An admin reconnected with a new token: that one wins.
        let fresh = Secret::new("configured-3");
        assert_eq!(again.initial(Some(&fresh)).unwrap(), Some(fresh));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("salesforce-token.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "token file must not be group/world readable"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
