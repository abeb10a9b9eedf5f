//! Tokens at rest: AES-256-GCM under the key(s) `ENCRYPTION_KEY` lists.
//!
//! `ENCRYPTION_KEY` is one or more comma-separated keys, each 32 random
//! bytes in standard base64, optionally prefixed with a key id
//! (`k2:AAAA…,k1:BBBB…`; without one the id is the first 8 hex digits of
//! the key's SHA-256). The first key seals; every listed key opens. To
//! rotate: list the new key after the current one on every replica, then
//! move it first; each start re-seals what an older key sealed
//! ([`Sealer::needs_reseal`]), after which the old key can go.
//!
//! A sealed value is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>` with a
//! random 96-bit nonce. The associated data names the value's place
//! (`sf_connections.refresh_token:<workspace>`): a value copied to another
//! column, row or workspace does not open.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::Secret;

/// The variable the keys come from (named in every error).
pub const ENV: &str = "ENCRYPTION_KEY";
/// The format tag of a sealed value; a stored value without it is the
/// plaintext an older release wrote.
const VERSION: &str = "v1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// AES-GCM's authentication tag.
const TAG_LEN: usize = 16;

/// Why `ENCRYPTION_KEY` or a sealed value was refused. Names key ids and
/// positions only: never key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("ENCRYPTION_KEY lists no key")]
    NoKey,
    #[error("ENCRYPTION_KEY: key {position} is not standard base64")]
    NotBase64 { position: usize },
    #[error("ENCRYPTION_KEY: key {position} is {len} bytes; a key is 32 random bytes in base64")]
    BadLength { position: usize, len: usize },
    #[error("ENCRYPTION_KEY: key {position} has an empty or malformed key id")]
    BadKeyId { position: usize },
    #[error("ENCRYPTION_KEY lists key id {kid} twice")]
    DuplicateKeyId { kid: String },
    #[error(
        "a stored secret was sealed with key id {kid}, which ENCRYPTION_KEY does not list \
         (put that key back in ENCRYPTION_KEY)"
    )]
    UnknownKey { kid: String },
    #[error(
        "a stored secret does not open with ENCRYPTION_KEY's key {kid}: that id names another \
         key than the one that sealed it, or the value was altered or copied from another row"
    )]
    Refused { kid: String },
    #[error("a stored secret is not in the sealed format ENCRYPTION_KEY's values use")]
    Malformed,
}

/// The keys of `ENCRYPTION_KEY`, the first one sealing. Cheap to clone;
/// `Debug` shows key ids only.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<[(String, Aes256Gcm)]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("Sealer")
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// The keys `ENCRYPTION_KEY`'s value lists.
    pub fn from_env_value(value: &str) -> Result<Sealer, SealError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for (i, item) in value.split(',').map(str::trim).enumerate() {
            let position = i + 1;
            if item.is_empty() {
                continue;
            }
            // Standard base64 has no ':', so the first one ends a key id.
            let (kid, b64) = match item.split_once(':') {
                Some((kid, b64)) => {
                    let kid = kid.trim();
                    if kid.is_empty() || !kid.chars().all(|c| c.is_ascii_graphic()) {
                        return Err(SealError::BadKeyId { position });
                    }
                    (Some(kid.to_string()), b64.trim())
                }
                None => (None, item),
            };
            let key = BASE64
                .decode(b64)
                .map_err(|_| SealError::NotBase64 { position })?;
            if key.len() != KEY_LEN {
                return Err(SealError::BadLength {
                    position,
                    len: key.len(),
                });
            }
            let kid = kid.unwrap_or_else(|| default_kid(&key));
            if keys.iter().any(|(k, _)| *k == kid) {
                return Err(SealError::DuplicateKeyId { kid });
            }
            let cipher = Aes256Gcm::new_from_slice(&key).expect("the length was checked");
            keys.push((kid, cipher));
        }
        if keys.is_empty() {
            return Err(SealError::NoKey);
        }
        Ok(Sealer { keys: keys.into() })
    }

    /// A random key of this process only (sandbox mode, tests): what it
    /// sealed does not open after a restart.
    pub fn generate() -> Sealer {
        Sealer::from_env_value(&new_key_value()).expect("a fresh key parses")
    }

    /// The id of the key that seals.
    pub fn sealing_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plaintext` for the place `aad` names.
    pub fn seal(&self, plaintext: &str, aad: &str) -> String {
        let (kid, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM seals any value shorter than 64 GiB");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{VERSION}{kid}:{}", BASE64.encode(out))
    }

    /// Opens a value [`Sealer::seal`] made for the place `aad` names.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Secret, SealError> {
        let (kid, body) = sealed
            .strip_prefix(VERSION)
            .and_then(|rest| rest.split_once(':'))
            .ok_or(SealError::Malformed)?;
        let (_, cipher) =
            self.keys
                .iter()
                .find(|(k, _)| k == kid)
                .ok_or_else(|| SealError::UnknownKey {
                    kid: kid.to_string(),
                })?;
        let bytes = BASE64.decode(body).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Refused {
                kid: kid.to_string(),
            })?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SealError::Malformed)
    }

    /// Opens a stored value: a sealed one is opened, one without the
    /// sealed format's tag is the plaintext an older release wrote and is
    /// taken as it is (it is sealed on its next write).
    pub fn open_stored(&self, stored: &str, aad: &str) -> Result<Secret, SealError> {
        if is_sealed(stored) {
            self.open(stored, aad)
        } else {
            Ok(Secret::new(stored))
        }
    }

    /// Whether a stored value should be written again: plaintext, or
    /// sealed with a key other than the sealing one (a rotation).
    pub fn needs_reseal(&self, stored: &str) -> bool {
        match stored.strip_prefix(VERSION).and_then(|r| r.split_once(':')) {
            Some((kid, _)) => kid != self.sealing_key_id(),
            None => true,
        }
    }
}

/// A fresh key as `ENCRYPTION_KEY` spells it: 32 random bytes, base64.
pub fn new_key_value() -> String {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).expect("the OS random source works");
    BASE64.encode(key)
}

/// Whether a stored value is in the sealed format.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(VERSION)
}

/// A key's id when `ENCRYPTION_KEY` gives none.
fn default_kid(key: &[u8]) -> String {
    hex::encode(Sha256::digest(key))[..8].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        BASE64.encode([byte; KEY_LEN])
    }

    #[test]
    fn a_sealed_value_opens_in_its_place_only() {
        let s = Sealer::from_env_value(&key(1)).unwrap();
        let sealed = s.seal("5Aep861-refresh", "sf_connections.refresh_token:w1");
        assert!(sealed.starts_with(&format!("v1:{}:", s.sealing_key_id())));
        assert!(!sealed.contains("5Aep861"));
        assert_eq!(
            s.open(&sealed, "sf_connections.refresh_token:w1")
                .unwrap()
                .expose(),
            "5Aep861-refresh"
        );
        // Random nonces: the same plaintext seals differently each time.
        assert_ne!(
            sealed,
            s.seal("5Aep861-refresh", "sf_connections.refresh_token:w1")
        );
        // Another workspace or column: refused.
        for aad in [
            "sf_connections.refresh_token:w2",
            "sf_connections.access_token:w1",
        ] {
            assert_eq!(
                s.open(&sealed, aad),
                Err(SealError::Refused {
                    kid: s.sealing_key_id().to_string()
                })
            );
        }
        // An altered value (one bit of the ciphertext, re-encoded so the
        // base64 stays valid whatever the random nonce made it): refused.
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = BASE64.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("{head}:{}", BASE64.encode(bytes));
        assert!(matches!(
            s.open(&altered, "sf_connections.refresh_token:w1"),
            Err(SealError::Refused { .. })
        ));
    }

    #[test]
    fn the_default_key_id_is_the_keys_hash_and_a_prefix_names_it() {
        let s = Sealer::from_env_value(&key(1)).unwrap();
        assert_eq!(
            s.sealing_key_id(),
            &hex::encode(Sha256::digest([1u8; KEY_LEN]))[..8]
        );
        let named = Sealer::from_env_value(&format!("k7:{}", key(1))).unwrap();
        assert_eq!(named.sealing_key_id(), "k7");
    }

    #[test]
    fn a_wrong_key_is_refused_and_a_missing_one_is_named() {
        let a = Sealer::from_env_value(&format!("ka:{}", key(1))).unwrap();
        let sealed = a.seal("tok", "p");
        // Same id, other key.
        let impostor = Sealer::from_env_value(&format!("ka:{}", key(2))).unwrap();
        let err = impostor.open(&sealed, "p").unwrap_err();
        assert_eq!(err, SealError::Refused { kid: "ka".into() });
        assert!(err.to_string().contains("ENCRYPTION_KEY"));
        // Other id.
        let b = Sealer::from_env_value(&format!("kb:{}", key(2))).unwrap();
        let err = b.open(&sealed, "p").unwrap_err();
        assert_eq!(err, SealError::UnknownKey { kid: "ka".into() });
        let msg = err.to_string();
        assert!(
            msg.contains("ENCRYPTION_KEY") && msg.contains("ka"),
            "{msg}"
        );
        assert!(!msg.contains(&key(1)) && !msg.contains(&key(2)));
    }

    #[test]
    fn rotation_seals_with_the_first_key_and_opens_with_every_key() {
        let old = Sealer::from_env_value(&format!("k1:{}", key(1))).unwrap();
        let before = old.seal("tok", "p");
        let rotated = Sealer::from_env_value(&format!("k2:{}, k1:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&before, "p").unwrap().expose(), "tok");
        assert!(rotated.needs_reseal(&before));
        let after = rotated.seal("tok", "p");
        assert!(after.starts_with("v1:k2:"));
        assert!(!rotated.needs_reseal(&after));
        assert!(rotated.needs_reseal("plaintext-token"));
        // The old key alone cannot open what the new one sealed.
        assert_eq!(
            old.open(&after, "p"),
            Err(SealError::UnknownKey { kid: "k2".into() })
        );
    }

    #[test]
    fn plaintext_from_an_older_release_reads_as_it_is() {
        let s = Sealer::generate();
        assert_eq!(
            s.open_stored("5Aep-plain", "p").unwrap().expose(),
            "5Aep-plain"
        );
        assert_eq!(s.open("5Aep-plain", "p"), Err(SealError::Malformed));
        assert_eq!(s.open("v1:nocolon", "p"), Err(SealError::Malformed));
        let kid = s.sealing_key_id().to_string();
        assert_eq!(
            s.open(&format!("v1:{kid}:!!"), "p"),
            Err(SealError::Malformed)
        );
        assert_eq!(
            s.open(&format!("v1:{kid}:AAAA"), "p"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn bad_keys_are_refused_without_showing_them() {
        assert_eq!(Sealer::from_env_value(" , ").unwrap_err(), SealError::NoKey);
        assert_eq!(
            Sealer::from_env_value("not base64!").unwrap_err(),
            SealError::NotBase64 { position: 1 }
        );
        let short = BASE64.encode([9u8; 16]);
        let err = Sealer::from_env_value(&format!("{},{short}", key(1))).unwrap_err();
        assert_eq!(
            err,
            SealError::BadLength {
                position: 2,
                len: 16
            }
        );
        assert!(err.to_string().contains("ENCRYPTION_KEY"));
        assert!(!err.to_string().contains(&short));
        assert_eq!(
            Sealer::from_env_value(&format!(":{}", key(1))).unwrap_err(),
            SealError::BadKeyId { position: 1 }
        );
        assert_eq!(
            Sealer::from_env_value(&format!("k:{},k:{}", key(1), key(2))).unwrap_err(),
            SealError::DuplicateKeyId { kid: "k".into() }
        );
        let s = Sealer::from_env_value(&format!("k1:{}", key(1))).unwrap();
        let debug = format!("{s:?}");
        assert!(debug.contains("k1") && !debug.contains(&key(1)), "{debug}");
    }
}
