//! Signing JWS with P-256 keys (ES256, RFC 7518 §3.4) and with MAC keys (HS256, for EAB).
//!
//! Used by the ACME client, the development token authority and tests; the server itself only
//! verifies. Keys live in aws-lc-rs; only the PKCS#8 encoding is kept to write the key out.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Map, Value, json};

use crate::jose::{JoseError, PublicJwk, b64};

/// A P-256 signing key producing raw r||s ES256 signatures (RFC 7518 §3.4).
pub struct EcSigner {
    key: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    public: PublicJwk,
}

impl EcSigner {
    /// A fresh random key.
    pub fn generate() -> Result<Self, JoseError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| JoseError::Crypto("P-256 key generation failed"))?;
        Self::from_key_pair(key)
    }

    /// Reads a P-256 private key from PEM: a PKCS#8 `PRIVATE KEY` block (RFC 5958) or an
    /// `EC PRIVATE KEY` block (RFC 5915, what `openssl ecparam -genkey` writes). Bare DER of
    /// either form is accepted too.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, JoseError> {
        let der = ["PRIVATE KEY", "EC PRIVATE KEY"]
            .iter()
            .find_map(|label| {
                crate::x509::pem_blocks(pem.as_bytes(), label)
                    .ok()
                    .and_then(|mut blocks| (!blocks.is_empty()).then(|| blocks.swap_remove(0)))
            })
            .ok_or_else(|| {
                JoseError::BadKey("no PRIVATE KEY or EC PRIVATE KEY PEM block found".into())
            })?;
        Self::from_der(&der)
    }

    /// Reads a P-256 private key from DER (PKCS#8 or RFC 5915 ECPrivateKey).
    pub fn from_der(der: &[u8]) -> Result<Self, JoseError> {
        let key = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| JoseError::BadKey(format!("not a P-256 private key: {e}")))?;
        Self::from_key_pair(key)
    }

    fn from_key_pair(key: EcdsaKeyPair) -> Result<Self, JoseError> {
        let pkcs8 = key
            .to_pkcs8v1()
            .map_err(|_| JoseError::Crypto("PKCS#8 encoding failed"))?
            .as_ref()
            .to_vec();
        let public = match key.public_key().as_ref() {
            [0x04, rest @ ..] if rest.len() == 64 => {
                let (x, y) = rest.split_at(32);
                let x: [u8; 32] = x
                    .try_into()
                    .map_err(|_| JoseError::Crypto("P-256 public key encoding"))?;
                let y: [u8; 32] = y
                    .try_into()
                    .map_err(|_| JoseError::Crypto("P-256 public key encoding"))?;
                PublicJwk::ec_p256(x, y)?
            }
            _ => return Err(JoseError::Crypto("P-256 public key encoding")),
        };
        Ok(EcSigner { key, pkcs8, public })
    }

    /// The private key as a PKCS#8 v1 `PRIVATE KEY` PEM block.
    pub fn to_pkcs8_pem(&self) -> String {
        crate::x509::to_pem("PRIVATE KEY", &self.pkcs8)
    }

    /// The private key as PKCS#8 v1 DER.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key.
    pub fn public_jwk(&self) -> PublicJwk {
        self.public.clone()
    }

    /// Signs `message` with ECDSA P-256 SHA-256; the result is raw r||s, 64 bytes.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        self.key
            .sign(&SystemRandom::new(), message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| JoseError::Crypto("ECDSA signing failed"))
    }
}

impl fmt::Debug for EcSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcSigner({:?})", self.public)
    }
}

/// Encodes a header map as the base64url protected header.
fn encode_header(header: Map<String, Value>) -> String {
    b64::encode_url(Value::Object(header).to_string().as_bytes())
}

/// Signs a flattened JWS (RFC 7515 §7.2.2) with ES256. `alg` is set to ES256 (overriding any
/// given); everything else in `protected` is used as given, so a `nonce` is carried as the plain
/// string the server sent (RFC 8555 §6.5.2: it is already base64url; encoding it again breaks it).
/// An empty `payload` gives the POST-as-GET body (RFC 8555 §6.3).
pub fn sign_flattened(
    signer: &EcSigner,
    mut protected: Map<String, Value>,
    payload: &[u8],
) -> Result<Value, JoseError> {
    protected.insert("alg".into(), json!("ES256"));
    let protected = encode_header(protected);
    let payload = b64::encode_url(payload);
    let signature = signer.sign(format!("{protected}.{payload}").as_bytes())?;
    Ok(json!({
        "protected": protected,
        "payload": payload,
        "signature": b64::encode_url(&signature),
    }))
}

/// Signs a compact JWS (RFC 7515 §7.1) over JSON `claims` with ES256 (`alg` is set; add `typ`,
/// `x5u`/`x5c` to `header` as needed).
pub fn sign_compact(
    signer: &EcSigner,
    mut header: Map<String, Value>,
    claims: &Value,
) -> Result<String, JoseError> {
    header.insert("alg".into(), json!("ES256"));
    let header = encode_header(header);
    let claims = b64::encode_url(claims.to_string().as_bytes());
    let signature = signer.sign(format!("{header}.{claims}").as_bytes())?;
    Ok(format!("{header}.{claims}.{}", b64::encode_url(&signature)))
}

/// Signs a flattened JWS with HMAC SHA-256 (`alg` HS256): the External Account Binding inner
/// JWS of RFC 8555 §7.3.4 (`protected` carries `kid` and `url`, no `nonce`; the payload is the
/// account JWK).
pub fn sign_hmac_flattened(key: &[u8], mut protected: Map<String, Value>, payload: &[u8]) -> Value {
    protected.insert("alg".into(), json!("HS256"));
    let protected = encode_header(protected);
    let payload = b64::encode_url(payload);
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, format!("{protected}.{payload}").as_bytes());
    json!({
        "protected": protected,
        "payload": payload,
        "signature": b64::encode_url(tag.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_pem_round_trip_keeps_the_key() {
        let signer = EcSigner::generate().unwrap();
        let pem = signer.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = EcSigner::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.public_jwk(), signer.public_jwk());
        let sig = again.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 64);
        signer.public_jwk().verify("ES256", b"hello", &sig).unwrap();
        assert!(!format!("{signer:?}").contains(&hex::encode(signer.pkcs8_der())));
    }

    /// A key written by `openssl ecparam -name prime256v1 -genkey -noout` (RFC 5915 form) and
    /// the same key as PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`).
    #[test]
    fn reads_openssl_sec1_and_pkcs8_pem() {
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\n\
MHcCAQEEICGfpAHpQMM/lrT2/XqPeMQwTpygyPJpW/51V53N1WUHoAoGCCqGSM49\n\
AwEHoUQDQgAEPyMGCztWnDoEpJfgMXyD+WHUCiluRdAuLm4Jy+8nULXsQG23yx12\n\
C20q5Fcw1uDorTOblti9pVylAnjwy2uZJQ==\n\
-----END EC PRIVATE KEY-----\n";
        let pkcs8 = "-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIZ+kAelAwz+WtPb9\n\
eo94xDBOnKDI8mlb/nVXnc3VZQehRANCAAQ/IwYLO1acOgSkl+AxfIP5YdQKKW5F\n\
0C4ubgnL7ydQtexAbbfLHXYLbSrkVzDW4OitM5uW2L2lXKUCePDLa5kl\n\
-----END PRIVATE KEY-----\n";
        let a = EcSigner::from_pkcs8_pem(sec1).unwrap();
        let b = EcSigner::from_pkcs8_pem(pkcs8).unwrap();
        assert_eq!(a.public_jwk(), b.public_jwk());
    }

    #[test]
    fn refuses_non_keys() {
        assert!(EcSigner::from_pkcs8_pem("").is_err());
        assert!(
            EcSigner::from_pkcs8_pem(
                "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
        assert!(
            EcSigner::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"
            )
            .is_err()
        );
    }

    #[test]
    fn alg_is_forced() {
        let signer = EcSigner::generate().unwrap();
        let mut h = Map::new();
        h.insert("alg".into(), json!("none"));
        let jws = sign_flattened(&signer, h.clone(), b"{}").unwrap();
        let header = b64::decode_url(jws["protected"].as_str().unwrap()).unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], "ES256");
        let mac = sign_hmac_flattened(b"k", h, b"{}");
        let header = b64::decode_url(mac["protected"].as_str().unwrap()).unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], "HS256");
    }
}
