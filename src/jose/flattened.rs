//! The flattened JWS JSON serialization (RFC 7515 §7.2.2) as RFC 8555 §6.2 restricts it: the
//! body of every ACME POST, the inner JWS of keyChange (§7.3.5) and of EAB (§7.3.4).

use aws_lc_rs::hmac;
use serde_json::{Map, Value};

use crate::jose::{JoseError, PublicJwk, b64};

/// The decoded JWS Protected Header with the members ACME uses typed (RFC 8555 §6.2, §6.4, §6.5).
///
/// Which of `nonce`, `url`, `jwk`, `kid` must be present depends on the request (newAccount vs
/// the rest, the keyChange and EAB inner JWS), so the parser only checks their types; the front
/// end checks presence.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectedHeader {
    /// `alg` (RFC 7515 §4.1.1). Any string here; [`FlattenedJws::verify`] and
    /// [`FlattenedJws::verify_hmac`] decide whether it is accepted.
    pub alg: String,
    /// `nonce` (RFC 8555 §6.5.2), as sent.
    pub nonce: Option<String>,
    /// `url` (RFC 8555 §6.4), as sent.
    pub url: Option<String>,
    /// `jwk` (RFC 7515 §4.1.3), a JSON object; parse it with [`ProtectedHeader::public_jwk`].
    pub jwk: Option<Value>,
    /// `kid` (RFC 7515 §4.1.4): the account URL in ACME.
    pub kid: Option<String>,
    /// The whole protected header, for checks on members not typed above.
    pub params: Map<String, Value>,
}

impl ProtectedHeader {
    /// The `jwk` member parsed as an accepted public key, if present.
    pub fn public_jwk(&self) -> Result<Option<PublicJwk>, JoseError> {
        self.jwk.as_ref().map(PublicJwk::from_json).transpose()
    }
}

/// A parsed flattened JWS. Parsing checks structure only; call [`FlattenedJws::verify`] (account
/// keys) or [`FlattenedJws::verify_hmac`] (EAB) before trusting anything in it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlattenedJws {
    /// The decoded protected header.
    pub header: ProtectedHeader,
    /// The `protected` member exactly as received (part of the signing input).
    pub protected_b64: String,
    /// The `payload` member exactly as received (part of the signing input).
    pub payload_b64: String,
    /// The decoded payload; empty for POST-as-GET (RFC 8555 §6.3).
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

impl FlattenedJws {
    /// Parses a request body as a flattened JWS, refusing everything RFC 8555 §6.2 forbids:
    /// compact and general serializations, the unprotected `header`, detached payloads, the
    /// unencoded payload option (`b64: false`, RFC 7797) and `crit` (RFC 7515 §4.1.11: stica
    /// understands no extension). All members must be strict base64url (RFC 8555 §6.1).
    /// Members other than those of RFC 7515 §7.2.1 are ignored, as that section requires.
    pub fn parse(body: &[u8]) -> Result<FlattenedJws, JoseError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| JoseError::NotJson("the request body (a flattened JWS, RFC 8555 §6.2)"))?;
        let obj = value
            .as_object()
            .ok_or(JoseError::NotObject("the request body"))?;
        if obj.contains_key("signatures") {
            return Err(JoseError::GeneralSerialization);
        }
        if obj.contains_key("header") {
            return Err(JoseError::UnprotectedHeader);
        }
        let protected_b64 = string_member(obj, "protected")?;
        let payload_b64 = string_member(obj, "payload")?;
        let signature_b64 = string_member(obj, "signature")?;
        if protected_b64.is_empty() {
            return Err(JoseError::Missing("protected"));
        }
        if signature_b64.is_empty() {
            return Err(JoseError::Missing("signature"));
        }
        let protected_bytes =
            b64::decode_url(protected_b64).map_err(|_| JoseError::BadBase64("protected"))?;
        let payload = b64::decode_url(payload_b64).map_err(|_| JoseError::BadBase64("payload"))?;
        let signature =
            b64::decode_url(signature_b64).map_err(|_| JoseError::BadBase64("signature"))?;
        let header = parse_protected(&protected_bytes)?;
        Ok(FlattenedJws {
            header,
            protected_b64: protected_b64.to_string(),
            payload_b64: payload_b64.to_string(),
            payload,
            signature,
        })
    }

    /// The JWS Signing Input (RFC 7515 §5.1 step 8): `protected || '.' || payload`, as received.
    pub fn signing_input(&self) -> Vec<u8> {
        let mut input = Vec::with_capacity(self.protected_b64.len() + 1 + self.payload_b64.len());
        input.extend_from_slice(self.protected_b64.as_bytes());
        input.push(b'.');
        input.extend_from_slice(self.payload_b64.as_bytes());
        input
    }

    /// True for a POST-as-GET (RFC 8555 §6.3: the payload is the empty string).
    pub fn is_post_as_get(&self) -> bool {
        self.payload_b64.is_empty()
    }

    /// Verifies the signature with an account key; `alg` must be accepted and fit the key
    /// (RFC 8555 §6.2; see [`PublicJwk::verify`]).
    pub fn verify(&self, key: &PublicJwk) -> Result<(), JoseError> {
        key.verify(&self.header.alg, &self.signing_input(), &self.signature)
    }

    /// Verifies a MAC-keyed JWS ([`crate::jose::HMAC_ALGS`]), the External Account Binding inner JWS of
    /// RFC 8555 §7.3.4. The tag is compared in constant time.
    pub fn verify_hmac(&self, key: &[u8]) -> Result<(), JoseError> {
        let algorithm = match self.header.alg.as_str() {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            other => return Err(JoseError::UnsupportedAlgorithm(other.to_string())),
        };
        let key = hmac::Key::new(algorithm, key);
        hmac::verify(&key, &self.signing_input(), &self.signature)
            .map_err(|_| JoseError::BadSignature)
    }
}

fn string_member<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, JoseError> {
    match obj.get(name) {
        None => Err(JoseError::Missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JoseError::WrongType {
            member: name,
            expected: "a string",
        }),
    }
}

/// Decodes and checks the protected header (RFC 7515 §4; RFC 7797 §3; RFC 8555 §6.2).
fn parse_protected(bytes: &[u8]) -> Result<ProtectedHeader, JoseError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| JoseError::NotJson("the protected header"))?;
    let Value::Object(params) = value else {
        return Err(JoseError::NotObject("the protected header"));
    };
    if let Some(b64) = params.get("b64") {
        if b64 != &Value::Bool(true) {
            return Err(JoseError::UnencodedPayload);
        }
    }
    if params.contains_key("crit") {
        return Err(JoseError::Critical);
    }
    let alg = match params.get("alg") {
        None => return Err(JoseError::Missing("alg")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(JoseError::WrongType {
                member: "alg",
                expected: "a string",
            });
        }
    };
    let nonce = optional_string(&params, "nonce")?;
    let url = optional_string(&params, "url")?;
    let kid = optional_string(&params, "kid")?;
    let jwk = match params.get("jwk") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(JoseError::WrongType {
                member: "jwk",
                expected: "a JSON object",
            });
        }
    };
    Ok(ProtectedHeader {
        alg,
        nonce,
        url,
        jwk,
        kid,
        params,
    })
}

fn optional_string(
    params: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, JoseError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JoseError::WrongType {
            member: name,
            expected: "a string",
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;
    use crate::jose::{EcSigner, sign_flattened, sign_hmac_flattened};

    fn header(extra: Value) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("nonce".into(), json!("abc-_123"));
        map.insert("url".into(), json!("https://ca.example/acme/new-order"));
        map.insert("kid".into(), json!("https://ca.example/acme/acct/1"));
        if let Value::Object(extra) = extra {
            map.extend(extra);
        }
        map
    }

    fn body(jws: &Value) -> Vec<u8> {
        serde_json::to_vec(jws).unwrap()
    }

    /// Builds a flattened JWS whose protected header is `protected` verbatim (unsigned).
    fn raw(protected: &Value, payload: &str) -> Vec<u8> {
        body(&json!({
            "protected": b64::encode_url(protected.to_string().as_bytes()),
            "payload": payload,
            "signature": b64::encode_url(&[1u8; 64]),
        }))
    }

    #[test]
    fn round_trip_sign_parse_verify() {
        let signer = EcSigner::generate().unwrap();
        let jws = sign_flattened(&signer, header(json!({})), br#"{"a":1}"#).unwrap();
        let parsed = FlattenedJws::parse(&body(&jws)).unwrap();
        assert_eq!(parsed.header.alg, "ES256");
        // The nonce is carried as the plain string it was given.
        assert_eq!(parsed.header.nonce.as_deref(), Some("abc-_123"));
        assert_eq!(
            parsed.header.kid.as_deref(),
            Some("https://ca.example/acme/acct/1")
        );
        assert_eq!(parsed.payload, br#"{"a":1}"#);
        assert_eq!(parsed.signature.len(), 64);
        assert!(!parsed.is_post_as_get());
        parsed.verify(&signer.public_jwk()).unwrap();
        // Another key does not verify.
        let other = EcSigner::generate().unwrap();
        assert_eq!(
            parsed.verify(&other.public_jwk()),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn post_as_get_and_jwk_header() {
        let signer = EcSigner::generate().unwrap();
        let mut h = header(json!({}));
        h.remove("kid");
        h.insert("jwk".into(), signer.public_jwk().to_json());
        let jws = sign_flattened(&signer, h, b"").unwrap();
        assert_eq!(jws["payload"], "");
        let parsed = FlattenedJws::parse(&body(&jws)).unwrap();
        assert!(parsed.is_post_as_get());
        assert!(parsed.payload.is_empty());
        let key = parsed.header.public_jwk().unwrap().unwrap();
        assert_eq!(key, signer.public_jwk());
        parsed.verify(&key).unwrap();
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let signer = EcSigner::generate().unwrap();
        let key = signer.public_jwk();
        let jws = sign_flattened(&signer, header(json!({})), br#"{"a":1}"#).unwrap();

        let mut t = jws.clone();
        t["payload"] = json!(b64::encode_url(br#"{"a":2}"#));
        let parsed = FlattenedJws::parse(&body(&t)).unwrap();
        assert_eq!(parsed.verify(&key), Err(JoseError::BadSignature));

        let mut t = jws.clone();
        let h = header(json!({"alg": "ES256", "nonce": "other"}));
        t["protected"] = json!(b64::encode_url(Value::Object(h).to_string().as_bytes()));
        let parsed = FlattenedJws::parse(&body(&t)).unwrap();
        assert_eq!(parsed.verify(&key), Err(JoseError::BadSignature));

        let mut t = jws.clone();
        let mut sig = b64::decode_url(jws["signature"].as_str().unwrap()).unwrap();
        sig[10] ^= 0x01;
        t["signature"] = json!(b64::encode_url(&sig));
        let parsed = FlattenedJws::parse(&body(&t)).unwrap();
        assert_eq!(parsed.verify(&key), Err(JoseError::BadSignature));
        let err: crate::error::Error = JoseError::BadSignature.into();
        assert_eq!(err.kind, ErrorKind::Unauthorized);
    }

    #[test]
    fn rejects_non_flattened_forms() {
        let signer = EcSigner::generate().unwrap();
        let jws = sign_flattened(&signer, header(json!({})), b"{}").unwrap();

        // Compact serialization as a body.
        let compact = format!(
            "{}.{}.{}",
            jws["protected"].as_str().unwrap(),
            jws["payload"].as_str().unwrap(),
            jws["signature"].as_str().unwrap()
        );
        assert!(matches!(
            FlattenedJws::parse(compact.as_bytes()),
            Err(JoseError::NotJson(_))
        ));
        assert!(matches!(
            FlattenedJws::parse(b""),
            Err(JoseError::NotJson(_))
        ));
        assert!(matches!(
            FlattenedJws::parse(b"[1,2]"),
            Err(JoseError::NotObject(_))
        ));
        assert!(matches!(
            FlattenedJws::parse(b"\"x\""),
            Err(JoseError::NotObject(_))
        ));

        // General serialization.
        let general = json!({
            "payload": jws["payload"],
            "signatures": [{"protected": jws["protected"], "signature": jws["signature"]}],
        });
        assert_eq!(
            FlattenedJws::parse(&body(&general)),
            Err(JoseError::GeneralSerialization)
        );

        // Unprotected header.
        let mut t = jws.clone();
        t["header"] = json!({"kid": "x"});
        assert_eq!(
            FlattenedJws::parse(&body(&t)),
            Err(JoseError::UnprotectedHeader)
        );

        // Missing members (a missing payload is a detached payload).
        for member in ["protected", "payload", "signature"] {
            let mut t = jws.clone();
            t.as_object_mut().unwrap().remove(member);
            assert_eq!(
                FlattenedJws::parse(&body(&t)),
                Err(JoseError::Missing(member))
            );
        }
        let mut t = jws.clone();
        t["signature"] = json!("");
        assert_eq!(
            FlattenedJws::parse(&body(&t)),
            Err(JoseError::Missing("signature"))
        );
        let mut t = jws.clone();
        t["payload"] = json!(5);
        assert!(matches!(
            FlattenedJws::parse(&body(&t)),
            Err(JoseError::WrongType { .. })
        ));
    }

    #[test]
    fn rejects_padded_or_non_url_base64() {
        let signer = EcSigner::generate().unwrap();
        // A payload whose base64url needs padding: 1 byte.
        let jws = sign_flattened(&signer, header(json!({})), b"x").unwrap();
        for (member, what) in [
            ("protected", "protected"),
            ("payload", "payload"),
            ("signature", "signature"),
        ] {
            let mut t = jws.clone();
            let padded = format!("{}=", t[member].as_str().unwrap());
            t[member] = json!(padded);
            assert_eq!(
                FlattenedJws::parse(&body(&t)),
                Err(JoseError::BadBase64(what)),
                "{member}"
            );
        }
        let mut t = jws.clone();
        t["signature"] = json!(jws["signature"].as_str().unwrap().replace(['-', '_'], "+"));
        if t["signature"] != jws["signature"] {
            assert_eq!(
                FlattenedJws::parse(&body(&t)),
                Err(JoseError::BadBase64("signature"))
            );
        }
        let mut t = jws.clone();
        t["payload"] = json!("eyJ hIjoxfQ");
        assert_eq!(
            FlattenedJws::parse(&body(&t)),
            Err(JoseError::BadBase64("payload"))
        );
    }

    #[test]
    fn rejects_bad_protected_headers() {
        let cases: Vec<(Value, JoseError)> = vec![
            (json!([1]), JoseError::NotObject("the protected header")),
            (json!("ES256"), JoseError::NotObject("the protected header")),
            (json!({"nonce": "n"}), JoseError::Missing("alg")),
            (
                json!({"alg": 1}),
                JoseError::WrongType {
                    member: "alg",
                    expected: "a string",
                },
            ),
            (
                json!({"alg": "ES256", "b64": false}),
                JoseError::UnencodedPayload,
            ),
            (
                json!({"alg": "ES256", "b64": "false"}),
                JoseError::UnencodedPayload,
            ),
            (
                json!({"alg": "ES256", "crit": ["b64"], "b64": true}),
                JoseError::Critical,
            ),
            (
                json!({"alg": "ES256", "crit": ["exp"]}),
                JoseError::Critical,
            ),
            (
                json!({"alg": "ES256", "nonce": 5}),
                JoseError::WrongType {
                    member: "nonce",
                    expected: "a string",
                },
            ),
            (
                json!({"alg": "ES256", "jwk": "key"}),
                JoseError::WrongType {
                    member: "jwk",
                    expected: "a JSON object",
                },
            ),
            (
                json!({"alg": "ES256", "url": ["u"]}),
                JoseError::WrongType {
                    member: "url",
                    expected: "a string",
                },
            ),
        ];
        for (protected, expected) in cases {
            assert_eq!(
                FlattenedJws::parse(&raw(&protected, "")),
                Err(expected),
                "{protected}"
            );
        }
        // Not JSON at all.
        let t = json!({
            "protected": b64::encode_url(b"{alg:ES256}"),
            "payload": "",
            "signature": b64::encode_url(&[1u8; 64]),
        });
        assert_eq!(
            FlattenedJws::parse(&body(&t)),
            Err(JoseError::NotJson("the protected header"))
        );
        // b64: true without crit is harmless and accepted.
        assert!(FlattenedJws::parse(&raw(&json!({"alg": "ES256", "b64": true}), "")).is_ok());
    }

    #[test]
    fn none_and_mac_algs_are_refused_for_account_keys() {
        let signer = EcSigner::generate().unwrap();
        let key = signer.public_jwk();
        for alg in ["none", "HS256", "RS256", "ES384"] {
            let parsed = FlattenedJws::parse(&raw(&json!({"alg": alg}), "")).unwrap();
            let err = parsed.verify(&key).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadSignatureAlgorithm, "{alg}");
        }
        // An HMAC-signed JWS cannot pass as an account JWS, even with the right MAC.
        let jws = sign_hmac_flattened(b"secret", header(json!({})), b"{}");
        let parsed = FlattenedJws::parse(&body(&jws)).unwrap();
        assert_eq!(
            parsed.verify(&key).unwrap_err().kind(),
            ErrorKind::BadSignatureAlgorithm
        );
    }

    #[test]
    fn hmac_round_trip_and_failures() {
        let key = b"0123456789abcdef0123456789abcdef";
        let mut h = Map::new();
        h.insert("kid".into(), json!("eab-kid-1"));
        h.insert("url".into(), json!("https://ca.example/acme/new-account"));
        let jws = sign_hmac_flattened(key, h, br#"{"kty":"EC"}"#);
        let parsed = FlattenedJws::parse(&body(&jws)).unwrap();
        assert_eq!(parsed.header.alg, "HS256");
        assert_eq!(parsed.header.nonce, None);
        parsed.verify_hmac(key).unwrap();
        assert_eq!(
            parsed.verify_hmac(b"other key"),
            Err(JoseError::BadSignature)
        );

        let mut t = jws.clone();
        t["payload"] = json!(b64::encode_url(br#"{"kty":"RSA"}"#));
        let tampered = FlattenedJws::parse(&body(&t)).unwrap();
        assert_eq!(tampered.verify_hmac(key), Err(JoseError::BadSignature));

        // HS384 and HS512 (RFC 8555 §7.3.4 allows any MAC algorithm).
        for (alg, algorithm) in [("HS384", hmac::HMAC_SHA384), ("HS512", hmac::HMAC_SHA512)] {
            let protected = b64::encode_url(json!({"alg": alg, "kid": "k"}).to_string().as_bytes());
            let payload = b64::encode_url(b"{}");
            let tag = hmac::sign(
                &hmac::Key::new(algorithm, key),
                format!("{protected}.{payload}").as_bytes(),
            );
            let t = json!({"protected": protected, "payload": payload,
                "signature": b64::encode_url(tag.as_ref())});
            let parsed = FlattenedJws::parse(&body(&t)).unwrap();
            parsed.verify_hmac(key).unwrap();
            assert_eq!(parsed.verify_hmac(b"nope"), Err(JoseError::BadSignature));
        }

        // An ES256 JWS is not a MAC.
        let signer = EcSigner::generate().unwrap();
        let es = sign_flattened(&signer, header(json!({})), b"{}").unwrap();
        let es = FlattenedJws::parse(&body(&es)).unwrap();
        assert!(matches!(
            es.verify_hmac(key),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
        let none = FlattenedJws::parse(&raw(&json!({"alg": "none"}), "")).unwrap();
        assert!(matches!(
            none.verify_hmac(key),
            Err(JoseError::UnsupportedAlgorithm(_))
        ));
    }
}
