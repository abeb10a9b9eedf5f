//! OAuth token bookkeeping with Salesforce's rotation rules: each refresh token belongs to a
//! family; reusing a rotated-away refresh token revokes the whole family (refresh and access
//! tokens), and one refresh token may only be in one token request at a time.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

use super::SANDBOX_REFRESH_TOKEN;

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
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens::new()
    }
}

impl Tokens {
    pub fn new() -> Tokens {
        Tokens {
            families: vec![Family {
                current: SANDBOX_REFRESH_TOKEN.to_string(),
                ..Family::default()
            }],
            access: HashMap::new(),
            in_flight: HashSet::new(),
        }
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
        let access_token = format!("{}!{}", &super::SANDBOX_ORG_ID[..15], random_alnum(96));
        self.access.insert(access_token.clone(), idx);
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

    /// Every refresh token (and its family's access tokens) stops working.
    pub fn revoke_all(&mut self) {
        for f in &mut self.families {
            f.revoked = true;
        }
        self.access.clear();
    }

    /// Makes `SANDBOX_REFRESH_TOKEN` usable again (a fresh family); tokens already issued keep
    /// their state.
    pub fn reconnect(&mut self) {
        for f in &mut self.families {
            f.rotated.remove(SANDBOX_REFRESH_TOKEN);
            if f.current == SANDBOX_REFRESH_TOKEN {
                f.current = String::new();
            }
        }
        self.families.push(Family {
            current: SANDBOX_REFRESH_TOKEN.to_string(),
            ..Family::default()
        });
    }
}
