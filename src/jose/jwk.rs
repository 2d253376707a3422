//! Public JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) for the account key types stica accepts,
//! with RFC 7638 thumbprints and SubjectPublicKeyInfo encodings.
//!
//! Keys are validated once, when parsed: a [`PublicJwk`] always holds a key aws-lc-rs accepted
//! (an EC point on P-256, an RSA modulus of 2048..=8192 bits, an Ed25519 key), already parsed for
//! verification so each request pays only for the signature check.
//!
//! Private members (`d`, and `p`/`q`/`dp`/`dq`/`qi`/`oth` for RSA) are **refused**, not ignored:
//! a client that sends them has published its private key, and an account bound to a published
//! key is worth nothing (Boulder refuses such keys too).

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::Decode;
use der::asn1::UintRef;
use serde_json::{Map, Value, json};
use spki::SubjectPublicKeyInfoRef;

use crate::jose::JoseError;
use crate::jose::b64;

/// DER prefix of a P-256 SubjectPublicKeyInfo up to the BIT STRING contents (RFC 5480 §2):
/// SEQUENCE { SEQUENCE { id-ecPublicKey, secp256r1 }, BIT STRING (0 unused bits) }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Smallest RSA modulus accepted (RFC 8555 §6.2 leaves it to the CA; 2048 is the CA/B floor).
const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted (the range of `RSA_PKCS1_2048_8192_SHA256`).
const RSA_MAX_BITS: usize = 8192;

/// A validated public key of a type stica accepts for ACME accounts and signatures.
#[derive(Clone)]
pub enum PublicJwk {
    /// `kty: EC`, `crv: P-256` (RFC 7518 §6.2): signs ES256.
    EcP256(EcP256Key),
    /// `kty: RSA` (RFC 7518 §6.3), 2048..=8192 bits: signs RS256.
    Rsa(RsaKey),
    /// `kty: OKP`, `crv: Ed25519` (RFC 8037 §2): signs EdDSA.
    Ed25519(Ed25519Key),
}

/// A P-256 public point (affine coordinates, 32 bytes each, checked to be on the curve).
#[derive(Clone)]
pub struct EcP256Key {
    x: [u8; 32],
    y: [u8; 32],
    parsed: ParsedPublicKey,
}

/// An RSA public key: modulus and exponent as minimal big-endian bytes (RFC 7518 §2 Base64urlUInt).
#[derive(Clone)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
    spki: Vec<u8>,
    parsed: ParsedPublicKey,
}

/// An Ed25519 public key (RFC 8032 encoding, 32 bytes).
#[derive(Clone)]
pub struct Ed25519Key {
    x: [u8; 32],
    parsed: ParsedPublicKey,
}

impl EcP256Key {
    /// The x coordinate.
    pub fn x(&self) -> &[u8; 32] {
        &self.x
    }

    /// The y coordinate.
    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// The SEC1 uncompressed point `04 || x || y`.
    pub fn uncompressed_point(&self) -> [u8; 65] {
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&self.x);
        point[33..].copy_from_slice(&self.y);
        point
    }
}

impl RsaKey {
    /// The modulus, big-endian without leading zeros.
    pub fn n(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian without leading zeros.
    pub fn e(&self) -> &[u8] {
        &self.e
    }

    /// The modulus size in bits.
    pub fn modulus_bits(&self) -> usize {
        bit_length(&self.n)
    }
}

impl Ed25519Key {
    /// The public key bytes.
    pub fn x(&self) -> &[u8; 32] {
        &self.x
    }
}

/// Members that only a private JWK has (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth"];

impl PublicJwk {
    /// A P-256 key from its coordinates; refuses points not on the curve.
    pub fn ec_p256(x: [u8; 32], y: [u8; 32]) -> Result<Self, JoseError> {
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&x);
        point[33..].copy_from_slice(&y);
        let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .map_err(|_| JoseError::BadKey("EC key is not a valid P-256 point".into()))?;
        Ok(PublicJwk::EcP256(EcP256Key { x, y, parsed }))
    }

    /// An RSA key from modulus and exponent (big-endian; leading zero bytes are dropped, so a
    /// key has one canonical form for its thumbprint). Refuses moduli outside 2048..=8192 bits,
    /// even moduli and exponents that are even, 1 or above 2^33 (what aws-lc accepts).
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self, JoseError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_length(n);
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(JoseError::BadKey(format!(
                "RSA modulus has {bits} bits; {RSA_MIN_BITS} to {RSA_MAX_BITS} are accepted"
            )));
        }
        if n.last().is_none_or(|b| b & 1 == 0) {
            return Err(JoseError::BadKey("RSA modulus is even".into()));
        }
        let e_value = if e.len() <= 8 {
            e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        } else {
            u64::MAX
        };
        if e_value < 3 || e_value & 1 == 0 || e_value >= 1 << 33 {
            return Err(JoseError::BadKey(
                "RSA public exponent must be odd, at least 3 and below 2^33".into(),
            ));
        }
        let components = RsaPublicKeyComponents { n, e };
        let parsed = components
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|_| JoseError::BadKey("RSA key is not valid".into()))?;
        let spki = components
            .as_der()
            .map_err(|_| JoseError::BadKey("RSA key cannot be encoded".into()))?
            .as_ref()
            .to_vec();
        Ok(PublicJwk::Rsa(RsaKey {
            n: n.to_vec(),
            e: e.to_vec(),
            spki,
            parsed,
        }))
    }

    /// An Ed25519 key from its 32 bytes.
    pub fn ed25519(x: [u8; 32]) -> Result<Self, JoseError> {
        let parsed = ParsedPublicKey::new(&ED25519, x)
            .map_err(|_| JoseError::BadKey("Ed25519 key is not valid".into()))?;
        Ok(PublicJwk::Ed25519(Ed25519Key { x, parsed }))
    }

    /// Parses a public JWK (RFC 7517 §4). Required members per type: EC `crv` (P-256 only), `x`,
    /// `y` (32 bytes each, RFC 7518 §6.2.1.2 "full length"); RSA `n`, `e`; OKP `crv` (Ed25519
    /// only), `x`. Optional members (`kid`, `use`, `alg`, ...) are ignored; private members are
    /// refused (see the module docs).
    pub fn from_json(jwk: &Value) -> Result<Self, JoseError> {
        let obj = jwk.as_object().ok_or(JoseError::NotObject("jwk"))?;
        let kty = str_member(obj, "kty", "jwk kty")?;
        if let Some(private) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(JoseError::BadKey(format!(
                "jwk contains the private key member {private:?}; send the public key only"
            )));
        }
        match kty {
            "EC" => {
                let crv = str_member(obj, "crv", "jwk crv")?;
                if crv != "P-256" {
                    return Err(JoseError::BadKey(format!(
                        "EC curve {crv:?} is not accepted; only P-256"
                    )));
                }
                let x = fixed_member::<32>(obj, "x", "jwk x")?;
                let y = fixed_member::<32>(obj, "y", "jwk y")?;
                Self::ec_p256(x, y)
            }
            "RSA" => {
                let n = b64_member(obj, "n", "jwk n")?;
                let e = b64_member(obj, "e", "jwk e")?;
                Self::rsa(&n, &e)
            }
            "OKP" => {
                let crv = str_member(obj, "crv", "jwk crv")?;
                if crv != "Ed25519" {
                    return Err(JoseError::BadKey(format!(
                        "OKP curve {crv:?} is not accepted; only Ed25519"
                    )));
                }
                let x = fixed_member::<32>(obj, "x", "jwk x")?;
                Self::ed25519(x)
            }
            other => Err(JoseError::BadKey(format!(
                "key type {other:?} is not accepted; use EC P-256, RSA or OKP Ed25519"
            ))),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): P-256 (RFC 5480, uncompressed
    /// point), Ed25519 (RFC 8410) or RSA (RFC 3279 §2.3.1). Used for CSR keys, certificate keys
    /// (revocation by certificate key, Authority Token signers) and fingerprints.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, JoseError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| {
            JoseError::BadKey(format!("SubjectPublicKeyInfo is not valid DER: {e}"))
        })?;
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| JoseError::BadKey("SubjectPublicKeyInfo key has unused bits".into()))?;
        let oid = spki.algorithm.oid;
        let params = spki.algorithm.parameters;
        if oid == rfc5912::ID_EC_PUBLIC_KEY {
            let curve = params.and_then(|p| ObjectIdentifier::try_from(p).ok());
            if curve != Some(rfc5912::SECP_256_R_1) {
                return Err(JoseError::BadKey(
                    "EC key is not on P-256 (namedCurve secp256r1)".into(),
                ));
            }
            match key {
                [0x04, rest @ ..] if rest.len() == 64 => {
                    let (x, y) = rest.split_at(32);
                    Self::ec_p256(to_array(x)?, to_array(y)?)
                }
                _ => Err(JoseError::BadKey(
                    "EC point must be uncompressed (04 || x || y, 65 bytes)".into(),
                )),
            }
        } else if oid == rfc8410::ID_ED_25519 {
            if params.is_some() {
                return Err(JoseError::BadKey(
                    "Ed25519 AlgorithmIdentifier must have no parameters (RFC 8410 §3)".into(),
                ));
            }
            Self::ed25519(to_array(key)?)
        } else if oid == rfc5912::RSA_ENCRYPTION {
            if !params.is_some_and(|p| p.is_null()) {
                return Err(JoseError::BadKey(
                    "rsaEncryption parameters must be NULL (RFC 3279 §2.3.1)".into(),
                ));
            }
            let rsa = RsaPublicKeyDer::from_der(key)
                .map_err(|e| JoseError::BadKey(format!("RSAPublicKey is not valid DER: {e}")))?;
            Self::rsa(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
        } else {
            Err(JoseError::BadKey(format!(
                "public key algorithm {oid} is not accepted"
            )))
        }
    }

    /// The JWS `alg` this key signs with (one per key type, RFC 8555 §6.2).
    pub fn alg(&self) -> &'static str {
        match self {
            PublicJwk::EcP256(_) => "ES256",
            PublicJwk::Rsa(_) => "RS256",
            PublicJwk::Ed25519(_) => "EdDSA",
        }
    }

    /// A short name of the key type for messages.
    pub fn key_type(&self) -> &'static str {
        match self {
            PublicJwk::EcP256(_) => "EC P-256",
            PublicJwk::Rsa(_) => "RSA",
            PublicJwk::Ed25519(_) => "OKP Ed25519",
        }
    }

    /// The JWK with only the required members (RFC 7638 §3.2), which is also what stica stores.
    pub fn to_json(&self) -> Value {
        match self {
            PublicJwk::EcP256(k) => json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64::encode_url(&k.x),
                "y": b64::encode_url(&k.y),
            }),
            PublicJwk::Rsa(k) => json!({
                "kty": "RSA",
                "n": b64::encode_url(&k.n),
                "e": b64::encode_url(&k.e),
            }),
            PublicJwk::Ed25519(k) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64::encode_url(&k.x),
            }),
        }
    }

    /// The RFC 7638 §3 canonical JSON: required members in lexicographic order, no whitespace.
    /// Written out by hand so it does not depend on serde_json's map ordering; every value is
    /// base64url or a fixed name, so no escaping is needed.
    fn thumbprint_input(&self) -> String {
        match self {
            PublicJwk::EcP256(k) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                b64::encode_url(&k.x),
                b64::encode_url(&k.y)
            ),
            PublicJwk::Rsa(k) => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64::encode_url(&k.e),
                b64::encode_url(&k.n)
            ),
            PublicJwk::Ed25519(k) => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                b64::encode_url(&k.x)
            ),
        }
    }

    /// The RFC 7638 SHA-256 thumbprint digest.
    pub fn thumbprint_sha256(&self) -> [u8; 32] {
        sha256(self.thumbprint_input().as_bytes())
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: the account key's identity in stica's
    /// storage and the key authorization suffix (RFC 8555 §8.1).
    pub fn thumbprint(&self) -> String {
        b64::encode_url(&self.thumbprint_sha256())
    }

    /// The DER SubjectPublicKeyInfo of this key (what the Authority Token fingerprint hashes,
    /// standards.md §2.5).
    pub fn spki_der(&self) -> Vec<u8> {
        match self {
            PublicJwk::EcP256(k) => {
                let mut out = P256_SPKI_PREFIX.to_vec();
                out.extend_from_slice(&k.uncompressed_point());
                out
            }
            PublicJwk::Rsa(k) => k.spki.clone(),
            PublicJwk::Ed25519(k) => {
                let mut out = ED25519_SPKI_PREFIX.to_vec();
                out.extend_from_slice(&k.x);
                out
            }
        }
    }

    /// SHA-256 of [`Self::spki_der`]: the `atc.fingerprint` digest (standards.md §2.5).
    pub fn spki_sha256(&self) -> [u8; 32] {
        sha256(&self.spki_der())
    }

    /// Verifies a JWS signature (RFC 7515 §5.2) made with `alg` over `signing_input`.
    ///
    /// `alg` must be in [`crate::jose::ACCEPTED_ALGS`] and match the key type: ES256 for P-256,
    /// RS256 for RSA, EdDSA for Ed25519 (RFC 8555 §6.2 `badSignatureAlgorithm`). ES256 and EdDSA
    /// signatures are 64 bytes (ES256 is raw r||s, RFC 7518 §3.4, never DER).
    pub fn verify(&self, alg: &str, signing_input: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        crate::jose::check_account_alg(alg)?;
        if alg != self.alg() {
            return Err(JoseError::AlgorithmKeyMismatch {
                alg: alg.to_string(),
                key: self.key_type(),
            });
        }
        let parsed = match self {
            PublicJwk::EcP256(k) => {
                check_len("ES256", 64, sig)?;
                &k.parsed
            }
            PublicJwk::Ed25519(k) => {
                check_len("EdDSA", 64, sig)?;
                &k.parsed
            }
            PublicJwk::Rsa(k) => &k.parsed,
        };
        parsed
            .verify_sig(signing_input, sig)
            .map_err(|_| JoseError::BadSignature)
    }
}

impl PartialEq for PublicJwk {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PublicJwk::EcP256(a), PublicJwk::EcP256(b)) => a.x == b.x && a.y == b.y,
            (PublicJwk::Rsa(a), PublicJwk::Rsa(b)) => a.n == b.n && a.e == b.e,
            (PublicJwk::Ed25519(a), PublicJwk::Ed25519(b)) => a.x == b.x,
            _ => false,
        }
    }
}

impl Eq for PublicJwk {}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicJwk({} {})", self.key_type(), self.thumbprint())
    }
}

impl fmt::Debug for EcP256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcP256Key(x={})", hex::encode(self.x))
    }
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaKey({} bits)", self.modulus_bits())
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Key({})", hex::encode(self.x))
    }
}

/// RSAPublicKey (RFC 8017 §A.1.1).
#[derive(der::Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

fn check_len(alg: &'static str, expected: usize, sig: &[u8]) -> Result<(), JoseError> {
    if sig.len() == expected {
        Ok(())
    } else {
        Err(JoseError::SignatureLength {
            alg,
            expected,
            got: sig.len(),
        })
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(minimal: &[u8]) -> usize {
    match minimal.first() {
        Some(first) => minimal.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn to_array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], JoseError> {
    bytes
        .try_into()
        .map_err(|_| JoseError::BadKey(format!("key is {} bytes, expected {N}", bytes.len())))
}

fn str_member<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<&'a str, JoseError> {
    match obj.get(name) {
        None => Err(JoseError::Missing(what)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JoseError::WrongType {
            member: what,
            expected: "a string",
        }),
    }
}

fn b64_member(
    obj: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Vec<u8>, JoseError> {
    let text = str_member(obj, name, what)?;
    b64::decode_url(text).map_err(|_| JoseError::BadBase64(what))
}

fn fixed_member<const N: usize>(
    obj: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<[u8; N], JoseError> {
    let bytes = b64_member(obj, name, what)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| JoseError::BadKey(format!("{what} is {} bytes, must be {N}", bytes.len())))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::jose::{fingerprint_text, parse_fingerprint};

    /// RFC 7638 §3.1 example RSA key.
    fn rfc7638_rsa() -> Value {
        json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        })
    }

    /// The SubjectPublicKeyInfo of the leaf in /work/shared/fixtures/rfc9118_example.pem
    /// (`openssl x509 -pubkey | openssl pkey -pubin -outform DER`), standards.md §2.5.
    const RFC9118_SPKI_HEX: &str = "3059301306072a8648ce3d020106082a8648ce3d03010703420004d47a0ba9c159103f7d74e0955d37697917cbc871f6806db552e1b1367521855105aa383998557ff5efd5adf12ec67a29f761bb29527802ae0a849b546a236031";

    pub(crate) fn rfc9118_spki() -> Vec<u8> {
        hex::decode(RFC9118_SPKI_HEX).unwrap()
    }

    /// The constant above is the leaf key of the shared fixture (checked when the fixture
    /// directory is present; CI machines without it still run the vector tests).
    #[test]
    fn rfc9118_spki_constant_matches_fixture() {
        use der::Encode;
        let Ok(pem) = std::fs::read("/work/shared/fixtures/rfc9118_example.pem") else {
            return;
        };
        let der = crate::x509::pem_certificates(&pem).unwrap().remove(0);
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        assert_eq!(spki, rfc9118_spki());
    }

    #[test]
    fn rfc7638_rsa_thumbprint() {
        let key = PublicJwk::from_json(&rfc7638_rsa()).unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.alg(), "RS256");
        // to_json keeps only the required members and round-trips.
        let json = key.to_json();
        assert_eq!(json.as_object().unwrap().len(), 3);
        assert_eq!(PublicJwk::from_json(&json).unwrap(), key);
        // SPKI round trip through the DER parser.
        assert_eq!(PublicJwk::from_spki_der(&key.spki_der()).unwrap(), key);
    }

    #[test]
    fn rsa_leading_zero_is_canonicalized() {
        let mut jwk = rfc7638_rsa();
        let n = b64::decode_url(jwk["n"].as_str().unwrap()).unwrap();
        let mut padded = vec![0u8];
        padded.extend_from_slice(&n);
        jwk["n"] = json!(b64::encode_url(&padded));
        let key = PublicJwk::from_json(&jwk).unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rfc9118_key_spki_fingerprint_and_thumbprint() {
        let spki = rfc9118_spki();
        assert!(
            hex::encode(&spki)
                .starts_with("3059301306072a8648ce3d020106082a8648ce3d03010703420004d47a0b")
        );
        let key = PublicJwk::from_spki_der(&spki).unwrap();
        assert_eq!(key.spki_der(), spki);
        assert_eq!(
            fingerprint_text(&key.spki_sha256()),
            "SHA256 43:F7:43:B9:D6:40:FC:AA:DE:90:E7:E1:32:21:C9:F7:36:74:26:1A:BF:A8:67:2F:FD:91:5B:9B:CE:27:41:C8"
        );
        assert_eq!(
            key.thumbprint(),
            "qB-vHIy9M-coeMUM8oEikbvuyPa7nuO8cUBZkZtTOyE"
        );
        assert_eq!(
            parse_fingerprint(&fingerprint_text(&key.spki_sha256())).unwrap(),
            key.spki_sha256()
        );
        // JSON round trip.
        let json = key.to_json();
        assert_eq!(json["kty"], "EC");
        assert_eq!(json.as_object().unwrap().len(), 4);
        assert_eq!(PublicJwk::from_json(&json).unwrap(), key);
    }

    fn p256_json() -> Value {
        let spki = rfc9118_spki();
        PublicJwk::from_spki_der(&spki).unwrap().to_json()
    }

    #[test]
    fn ec_rejects_wrong_curve_length_and_off_curve_points() {
        let mut j = p256_json();
        j["crv"] = json!("P-384");
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::BadKey(_))
        ));

        let mut j = p256_json();
        j["x"] = json!(b64::encode_url(&[1u8; 31]));
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::BadKey(_))
        ));

        // Flip one bit of y: no longer on the curve.
        let mut j = p256_json();
        let mut y = b64::decode_url(j["y"].as_str().unwrap()).unwrap();
        y[31] ^= 1;
        j["y"] = json!(b64::encode_url(&y));
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::BadKey(_))
        ));

        // Padded coordinates are refused (RFC 8555 §6.1).
        let mut j = p256_json();
        let x = j["x"].as_str().unwrap().to_string();
        j["x"] = json!(format!("{x}="));
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::BadBase64(_))
        ));

        let mut j = p256_json();
        j.as_object_mut().unwrap().remove("y");
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::Missing(_))
        ));

        let mut j = p256_json();
        j["x"] = json!(5);
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::WrongType { .. })
        ));
    }

    #[test]
    fn private_members_and_other_key_types_are_refused() {
        let mut j = p256_json();
        j["d"] = json!(b64::encode_url(&[7u8; 32]));
        assert!(matches!(
            PublicJwk::from_json(&j),
            Err(JoseError::BadKey(_))
        ));
        let mut r = rfc7638_rsa();
        r["qi"] = json!("AQAB");
        assert!(matches!(
            PublicJwk::from_json(&r),
            Err(JoseError::BadKey(_))
        ));
        let oct = json!({"kty": "oct", "k": "AAAA"});
        assert!(matches!(
            PublicJwk::from_json(&oct),
            Err(JoseError::BadKey(_))
        ));
        let x448 = json!({"kty": "OKP", "crv": "X25519", "x": b64::encode_url(&[9u8; 32])});
        assert!(matches!(
            PublicJwk::from_json(&x448),
            Err(JoseError::BadKey(_))
        ));
        assert!(matches!(
            PublicJwk::from_json(&json!("EC")),
            Err(JoseError::NotObject(_))
        ));
        assert!(matches!(
            PublicJwk::from_json(&json!({"crv": "P-256"})),
            Err(JoseError::Missing(_))
        ));
    }

    #[test]
    fn small_rsa_is_refused() {
        let n = [0xffu8; 128]; // 1024 bits, odd
        assert!(matches!(
            PublicJwk::rsa(&n, &[1, 0, 1]),
            Err(JoseError::BadKey(_))
        ));
        let n = [0xffu8; 256];
        assert!(PublicJwk::rsa(&n, &[1, 0, 1]).is_ok());
        assert!(matches!(
            PublicJwk::rsa(&n, &[1]),
            Err(JoseError::BadKey(_))
        ));
        assert!(matches!(
            PublicJwk::rsa(&n, &[2]),
            Err(JoseError::BadKey(_))
        ));
        let mut even = [0xffu8; 256];
        even[255] = 0xfe;
        assert!(matches!(
            PublicJwk::rsa(&even, &[1, 0, 1]),
            Err(JoseError::BadKey(_))
        ));
    }

    #[test]
    fn ed25519_json_and_spki() {
        let x = [0x11u8; 32];
        let key = PublicJwk::ed25519(x).unwrap();
        assert_eq!(PublicJwk::from_json(&key.to_json()).unwrap(), key);
        assert_eq!(PublicJwk::from_spki_der(&key.spki_der()).unwrap(), key);
        assert_eq!(key.alg(), "EdDSA");
    }

    #[test]
    fn spki_rejects_other_curves_compressed_points_and_trailing_bytes() {
        let spki = rfc9118_spki();
        let mut trailing = spki.clone();
        trailing.push(0);
        assert!(PublicJwk::from_spki_der(&trailing).is_err());

        // P-384 curve OID in place of P-256 (same length).
        let mut other = spki.clone();
        let pos = other
            .windows(8)
            .position(|w| w == [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07])
            .unwrap();
        other[pos + 7] = 0x08;
        assert!(matches!(
            PublicJwk::from_spki_der(&other),
            Err(JoseError::BadKey(_))
        ));

        // A compressed point.
        let key = PublicJwk::from_spki_der(&spki).unwrap();
        let PublicJwk::EcP256(ec) = &key else {
            panic!()
        };
        let mut compressed = vec![
            0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00,
        ];
        compressed.push(0x02 | (ec.y()[31] & 1));
        compressed.extend_from_slice(ec.x());
        assert!(matches!(
            PublicJwk::from_spki_der(&compressed),
            Err(JoseError::BadKey(_))
        ));
        assert!(PublicJwk::from_spki_der(b"\x30\x00").is_err());
    }

    #[test]
    fn rs256_round_trip_with_a_generated_key() {
        use aws_lc_rs::rsa::KeySize;
        use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let key = PublicJwk::rsa(
            public.modulus().big_endian_without_leading_zero(),
            public.exponent().big_endian_without_leading_zero(),
        )
        .unwrap();
        let PublicJwk::Rsa(rsa) = &key else { panic!() };
        assert_eq!(rsa.modulus_bits(), 2048);
        let mut sig = vec![0u8; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(&RSA_PKCS1_SHA256, &rng, b"input", &mut sig)
            .unwrap();
        key.verify("RS256", b"input", &sig).unwrap();
        assert_eq!(
            key.verify("RS256", b"other", &sig),
            Err(JoseError::BadSignature)
        );
        assert!(matches!(
            key.verify("ES256", b"input", &sig),
            Err(JoseError::AlgorithmKeyMismatch { .. })
        ));
        // JSON and SPKI round trips, and the SPKI matches aws-lc's own encoding.
        assert_eq!(PublicJwk::from_json(&key.to_json()).unwrap(), key);
        assert_eq!(PublicJwk::from_spki_der(&key.spki_der()).unwrap(), key);
        assert_eq!(key.spki_der(), public.as_der().unwrap().as_ref());
    }

    #[test]
    fn eddsa_round_trip_with_a_generated_key() {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pair = Ed25519KeyPair::generate().unwrap();
        let x: [u8; 32] = pair.public_key().as_ref().try_into().unwrap();
        let key = PublicJwk::ed25519(x).unwrap();
        let sig = pair.sign(b"input");
        key.verify("EdDSA", b"input", sig.as_ref()).unwrap();
        assert_eq!(
            key.verify("EdDSA", b"inpuT", sig.as_ref()),
            Err(JoseError::BadSignature)
        );
        assert!(matches!(
            key.verify("EdDSA", b"input", &sig.as_ref()[..63]),
            Err(JoseError::SignatureLength { .. })
        ));
        assert!(matches!(
            key.verify("ES256", b"input", sig.as_ref()),
            Err(JoseError::AlgorithmKeyMismatch { .. })
        ));
    }

    #[test]
    fn verify_checks_alg_against_key() {
        let key = PublicJwk::from_spki_der(&rfc9118_spki()).unwrap();
        let sig = [0u8; 64];
        assert!(matches!(
            key.verify("RS256", b"x", &sig),
            Err(JoseError::AlgorithmKeyMismatch { .. })
        ));
        assert!(matches!(
            key.verify("none", b"x", &[]),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            key.verify("HS256", b"x", &sig),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            key.verify("ES256", b"x", &[0u8; 71]),
            Err(JoseError::SignatureLength { .. })
        ));
        assert!(matches!(
            key.verify("ES256", b"x", &sig),
            Err(JoseError::BadSignature)
        ));
    }
}
