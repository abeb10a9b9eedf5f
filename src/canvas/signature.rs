//! Request signatures: Canvas Kit's `X-Body-Signature` (hex HMAC-SHA256 of
//! the raw body) and webhooks' `X-Hub-Signature` (`sha1=` hex HMAC-SHA1).
//!
//! Both are keyed with the app's client secret and checked with the MAC's own
//! constant-time comparison (`verify_slice`), never with `==` on strings, so
//! the time taken does not reveal how much of a guess was right.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature header is missing")]
    Missing,
    #[error("signature header is not valid hex")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
}

/// One of the two signature schemes, in the steps a streaming reader needs:
/// parse the header, feed the MAC, verify (the MAC's own constant-time
/// comparison).
pub trait SignatureCheck {
    /// The header carrying the signature.
    const HEADER: &'static str;
    type Mac: Mac;
    /// The digest the header claims, decoded.
    fn parse_header(header: Option<&str>) -> Result<Vec<u8>, SignatureError>;
    fn mac(secret: &[u8]) -> Self::Mac;
    fn update(mac: &mut Self::Mac, data: &[u8]) {
        mac.update(data);
    }
    fn verify(mac: Self::Mac, expected: &[u8]) -> Result<(), SignatureError> {
        mac.verify_slice(expected)
            .map_err(|_| SignatureError::Mismatch)
    }
    /// The whole check on a body already in memory.
    fn check(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
        let expected = Self::parse_header(header)?;
        let mut mac = Self::mac(secret);
        Self::update(&mut mac, body);
        Self::verify(mac, &expected)
    }
}

/// Canvas Kit's `X-Body-Signature`: hex HMAC-SHA256 of the raw body.
pub struct BodySignature;

impl SignatureCheck for BodySignature {
    const HEADER: &'static str = "x-body-signature";
    type Mac = Hmac<Sha256>;
    fn parse_header(header: Option<&str>) -> Result<Vec<u8>, SignatureError> {
        decode_hex(header.ok_or(SignatureError::Missing)?)
    }
    fn mac(secret: &[u8]) -> Self::Mac {
        Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length")
    }
}

/// Webhooks' `X-Hub-Signature: sha1=<hex>`: HMAC-SHA1 of the raw body.
pub struct HubSignature;

impl SignatureCheck for HubSignature {
    const HEADER: &'static str = "x-hub-signature";
    type Mac = Hmac<Sha1>;
    fn parse_header(header: Option<&str>) -> Result<Vec<u8>, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?.trim();
        if header.is_empty() {
            return Err(SignatureError::Missing);
        }
        let hex_part = header
            .strip_prefix("sha1=")
            .ok_or(SignatureError::Malformed)?;
        decode_hex(hex_part)
    }
    fn mac(secret: &[u8]) -> Self::Mac {
        Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length")
    }
}

/// Checks a Canvas Kit request's `X-Body-Signature` value against the body.
pub fn verify_body_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    BodySignature::check(secret, body, header)
}

/// Checks a webhook's `X-Hub-Signature: sha1=<hex>` against the body.
pub fn verify_hub_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    HubSignature::check(secret, body, header)
}

/// Hex HMAC-SHA256 of `body`: what Intercom puts in `X-Body-Signature`.
/// Used by tests, the benchmark and the local preview to sign requests.
pub fn sign_body(secret: &[u8], body: &[u8]) -> String {
    let mut mac = BodySignature::mac(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// `sha1=<hex>` of `body`: what Intercom puts in `X-Hub-Signature`.
pub fn sign_hub(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HubSignature::mac(secret);
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

fn decode_hex(s: &str) -> Result<Vec<u8>, SignatureError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SignatureError::Missing);
    }
    hex::decode(s).map_err(|_| SignatureError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_own_signature_and_rejects_tampering() {
        let sig = sign_body(b"secret", br#"{"a":1}"#);
        assert_eq!(sig.len(), 64);
        assert_eq!(
            verify_body_signature(b"secret", br#"{"a":1}"#, Some(&sig)),
            Ok(())
        );
        assert_eq!(
            verify_body_signature(b"secret", br#"{"a":2}"#, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_body_signature(b"other", br#"{"a":1}"#, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_body_signature(b"secret", b"{}", None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_body_signature(b"secret", b"{}", Some("zz")),
            Err(SignatureError::Malformed)
        );
        // A prefix of the right digest is not accepted.
        assert_eq!(
            verify_body_signature(b"secret", br#"{"a":1}"#, Some(&sig[..32])),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            sign_body(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hub_signature_is_sha1_prefixed() {
        // RFC 2202 test case 2 for HMAC-SHA1.
        let sig = sign_hub(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        assert_eq!(
            verify_hub_signature(b"Jefe", b"what do ya want for nothing?", Some(&sig)),
            Ok(())
        );
        assert_eq!(
            verify_hub_signature(b"Jefe", b"tampered", Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hub_signature(b"Jefe", b"x", Some("effcdf6a")),
            Err(SignatureError::Malformed)
        );
    }
}
