//! OAuth token bookkeeping with Salesforce's rotation rules: each refresh token belongs to a
//! family; reusing a rotated-away refresh token revokes the whole family (refresh and access
//! tokens), and one refresh token may only be in one token request at a time. Authorization
//! codes of the web-server flow (PKCE S256) are kept here too: each one starts a new family.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// How long an authorization code can be exchanged (Salesforce: 10 minutes).
pub const CODE_LIFETIME: Duration = Duration::from_secs(600);

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random characters from `alphabet` (std's random hasher keys; no extra crate).
pub fn random_chars(len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    let mut state = RandomState::new().build_hasher();
    let mut counter = 0u64;
    while out.len() < len {
        state.write_u64(counter);
        counter += 1;
        let mut x = state.finish();
        for _ in 0..8 {
            if out.len() == len {
                break;
            }
            out.push(alphabet[(x % alphabet.len() as u64) as usize] as char);
            x /= alphabet.len() as u64;
        }
    }
    out
}

pub fn random_alnum(len: usize) -> String {
    random_chars(len, ALNUM)
}

/// PKCE S256: BASE64URL-NOPAD(SHA256(verifier)), what the authorize request's
/// `code_challenge` must equal.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An authorization code handed out on Allow, waiting for its token request.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    /// The scopes granted (the authorize request's `scope`).
    pub scope: String,
    pub issued: Instant,
}

/// What the authorization-code grant issues.
pub struct Issued {
    pub access_token: String,
    /// Only when the scopes include `refresh_token` (or `offline_access`), as in Salesforce.
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// Outcome of a refresh-token grant.
pub enum Grant {
    Issued {
        access_token: String,
        refresh_token: Option<String>,
    },
    InvalidGrant,
}

#[derive(Debug, Default)]
struct Family {
    current: String,
    rotated: HashSet<String>,
    revoked: bool,
}

#[derive(Debug)]
pub struct Tokens {
    families: Vec<Family>,
    /// access token → family index; a token missing here is invalid.
    access: HashMap<String, usize>,
    in_flight: HashSet<String>,
    /// The org's pre-issued refresh token (usable again after a reset).
    seed_refresh: String,
    /// First 15 characters of the org id: Salesforce access tokens start with `<org15>!`.
    org_prefix: String,
    /// Authorization codes not yet exchanged.
    codes: HashMap<String, AuthCode>,
}

impl Tokens {
    /// `seed_refresh` works from the start; access tokens are prefixed with `org_id`.
    pub fn new(seed_refresh: &str, org_id: &str) -> Tokens {
        Tokens {
            families: vec![Family {
                current: seed_refresh.to_string(),
                ..Family::default()
            }],
            access: HashMap::new(),
            in_flight: HashSet::new(),
            seed_refresh: seed_refresh.to_string(),
            org_prefix: org_id.chars().take(15).collect(),
            codes: HashMap::new(),
        }
    }

    fn new_access(&mut self, family: usize) -> String {
        let token = format!("{}!{}", self.org_prefix, random_alnum(96));
        self.access.insert(token.clone(), family);
        token
    }

    /// Stores `code` and returns its value (Salesforce codes are ~90 base64-ish characters).
    pub fn grant_code(&mut self, code: AuthCode) -> String {
        let value = format!("aPrx{}==", random_alnum(84));
        self.codes.insert(value.clone(), code);
        value
    }

    /// The authorization-code grant. The code is spent by any attempt (a wrong verifier burns
    /// it, so a verifier cannot be guessed); `None` is Salesforce's `invalid_grant`.
    pub fn redeem(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Option<Issued> {
        let pending = self.codes.remove(code)?;
        let valid = pending.issued.elapsed() <= CODE_LIFETIME
            && pending.client_id == client_id
            && pending.redirect_uri == redirect_uri
            && !verifier.is_empty()
            && s256(verifier) == pending.code_challenge;
        if !valid {
            return None;
        }
        let refreshable = pending
            .scope
            .split(' ')
            .any(|s| s == "refresh_token" || s == "offline_access");
        let current = format!("5Aep861{}", random_alnum(80));
        self.families.push(Family {
            current: current.clone(),
            ..Family::default()
        });
        let access_token = self.new_access(self.families.len() - 1);
        Some(Issued {
            access_token,
            refresh_token: refreshable.then_some(current),
            scope: pending.scope,
        })
    }

    /// Marks `refresh` as being processed; false if another request already holds it.
    pub fn begin(&mut self, refresh: &str) -> bool {
        self.in_flight.insert(refresh.to_string())
    }

    pub fn end(&mut self, refresh: &str) {
        self.in_flight.remove(refresh);
    }

    pub fn refresh(&mut self, refresh: &str, rotate: bool) -> Grant {
        if refresh.is_empty() {
            return Grant::InvalidGrant;
        }
        let Some(idx) = self
            .families
            .iter()
            .position(|f| f.current == refresh || f.rotated.contains(refresh))
        else {
            return Grant::InvalidGrant;
        };
        if self.families[idx].revoked {
            return Grant::InvalidGrant;
        }
        if self.families[idx].current != refresh {
            // Reuse of a rotated token: revoke the whole family, as Salesforce does.
            self.families[idx].revoked = true;
            self.access.retain(|_, fam| *fam != idx);
            return Grant::InvalidGrant;
        }
        let access_token = self.new_access(idx);
        let refresh_token = if rotate {
            let new = format!("5Aep861{}", random_alnum(80));
            let family = &mut self.families[idx];
            let old = std::mem::replace(&mut family.current, new.clone());
            family.rotated.insert(old);
            Some(new)
        } else {
            None
        };
        Grant::Issued {
            access_token,
            refresh_token,
        }
    }

    pub fn access_valid(&self, token: &str) -> bool {
        self.access.contains_key(token)
    }

    /// Every access token issued so far stops working.
    pub fn expire_access(&mut self) {
        self.access.clear();
    }

    /// `POST /services/oauth2/revoke`: the family `token` (a refresh token, current or rotated,
    /// or an access token) belongs to stops working, refresh and access tokens; other
    /// connections of the org keep theirs. False when the token is unknown.
    pub fn revoke(&mut self, token: &str) -> bool {
        let family = self.access.get(token).copied().or_else(|| {
            self.families
                .iter()
                .position(|f| f.current == token || f.rotated.contains(token))
        });
        let Some(idx) = family else {
            return false;
        };
        self.families[idx].revoked = true;
        self.access.retain(|_, fam| *fam != idx);
        true
    }

    /// Every refresh token (and its family's access tokens) stops working.
    pub fn revoke_all(&mut self) {
        for f in &mut self.families {
            f.revoked = true;
        }
        self.access.clear();
    }

    /// Makes the pre-issued refresh token usable again (a fresh family); tokens already issued
    /// keep their state.
    pub fn reconnect(&mut self) {
        let seed = self.seed_refresh.clone();
        for f in &mut self.families {
            f.rotated.remove(&seed);
            if f.current == seed {
                f.current = String::new();
            }
        }
        self.families.push(Family {
            current: seed,
            ..Family::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens_with_code(issued: Instant) -> (Tokens, String, &'static str) {
        let verifier = "dBjftJeZ4CVP-mJ92K9qfPiqgK1OqdvU3Bo72yLP1-I";
        let mut t = Tokens::new("seed", "00D5e000000SbxAEAS");
        let code = t.grant_code(AuthCode {
            client_id: "client".into(),
            redirect_uri: "http://app/cb".into(),
            code_challenge: s256(verifier),
            scope: "api refresh_token".into(),
            issued,
        });
        (t, code, verifier)
    }

    #[test]
    fn s256_is_base64url_of_sha256() {
        // Computed independently (Python: urlsafe_b64encode(sha256(v).digest()).rstrip("=")).
        assert_eq!(
            s256("dBjftJeZ4CVP-mJ92K9qfPiqgK1OqdvU3Bo72yLP1-I"),
            "Re2XzuU0ynq1yNiJ2gNJk3zeLWezcxSR1x8LDp6kngk"
        );
    }

    #[test]
    fn a_code_expires_after_ten_minutes() {
        let old = Instant::now()
            .checked_sub(CODE_LIFETIME + Duration::from_secs(1))
            .expect("the clock is past eleven minutes");
        let (mut t, code, verifier) = tokens_with_code(old);
        assert!(t
            .redeem(&code, "client", "http://app/cb", verifier)
            .is_none());
        let (mut t, code, verifier) = tokens_with_code(Instant::now());
        let issued = t
            .redeem(&code, "client", "http://app/cb", verifier)
            .expect("a fresh code is exchanged");
        assert!(issued.access_token.starts_with("00D5e000000SbxA!"));
        assert!(t.access_valid(&issued.access_token));
    }

    #[test]
    fn a_code_is_spent_by_a_failed_attempt() {
        let (mut t, code, verifier) = tokens_with_code(Instant::now());
        assert!(t
            .redeem(&code, "client", "http://app/cb", "wrong")
            .is_none());
        assert!(t
            .redeem(&code, "client", "http://app/cb", verifier)
            .is_none());
    }

    #[test]
    fn revoking_one_family_keeps_the_others() {
        let (mut t, code, verifier) = tokens_with_code(Instant::now());
        let issued = t
            .redeem(&code, "client", "http://app/cb", verifier)
            .unwrap();
        let refresh = issued.refresh_token.expect("refresh_token scope");
        assert!(t.revoke(&refresh));
        assert!(!t.access_valid(&issued.access_token));
        assert!(matches!(t.refresh(&refresh, true), Grant::InvalidGrant));
        assert!(matches!(t.refresh("seed", true), Grant::Issued { .. }));
        assert!(!t.revoke("unknown"));
    }
}
