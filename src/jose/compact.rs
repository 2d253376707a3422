//! The JWS Compact Serialization (RFC 7515 §7.1) for Authority Tokens (RFC 9447 §3.1,
//! RFC 9448 §5): `header.claims.signature`, the header naming the signer by `x5u` or `x5c`.
//!
//! Parsing checks the structure and decodes the typed header members; the token verifier
//! (`va::tkauth`) decides which `alg`, `typ`, `crit` and signer it accepts.

use serde_json::{Map, Value};

use crate::jose::{JoseError, PublicJwk, b64};

/// A parsed compact JWS with a JSON object payload (a JWT's claims set).
#[derive(Debug, Clone, PartialEq)]
pub struct CompactJws {
    /// The whole decoded header (a JSON object).
    pub header: Value,
    /// `alg` (RFC 7515 §4.1.1).
    pub alg: String,
    /// `typ` (RFC 7515 §4.1.9), `"JWT"` for Authority Tokens.
    pub typ: Option<String>,
    /// `x5u` (RFC 7515 §4.1.5): where the signer's certificate (chain) is published.
    pub x5u: Option<String>,
    /// `x5c` (RFC 7515 §4.1.6), each entry decoded from standard base64 to DER, signer first.
    /// Empty when the header has no `x5c` (an empty array is refused as malformed).
    pub x5c: Vec<Vec<u8>>,
    /// `crit` (RFC 7515 §4.1.11). Empty when absent (an empty array is refused as malformed).
    /// stica understands no extension, so the verifier must refuse a token with any entry.
    pub crit: Vec<String>,
    /// The decoded claims (a JSON object).
    pub claims: Value,
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// `header.claims` as received: the JWS Signing Input (RFC 7515 §5.1 step 8).
    signing_input: String,
}

impl CompactJws {
    /// Parses a compact JWS: exactly three strict base64url parts (RFC 7515 §7.1, RFC 8555
    /// §6.1), a JSON object header with a string `alg`, a JSON object payload and a non-empty
    /// signature. `b64: false` (RFC 7797) is refused: the payload must be the encoded claims.
    pub fn parse(token: &str) -> Result<CompactJws, JoseError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "a compact JWS has exactly three dot-separated parts".into(),
            ));
        };
        let header_bytes =
            b64::decode_url(header_b64).map_err(|_| JoseError::BadBase64("the JWS header"))?;
        let claims_bytes =
            b64::decode_url(claims_b64).map_err(|_| JoseError::BadBase64("the JWS payload"))?;
        let signature = b64::decode_url(signature_b64)
            .map_err(|_| JoseError::BadBase64("the JWS signature"))?;
        if signature.is_empty() {
            return Err(JoseError::Missing("the JWS signature"));
        }

        let header: Value = serde_json::from_slice(&header_bytes)
            .map_err(|_| JoseError::NotJson("the JWS header"))?;
        let params = header
            .as_object()
            .ok_or(JoseError::NotObject("the JWS header"))?;
        if let Some(b64) = params.get("b64") {
            if b64 != &Value::Bool(true) {
                return Err(JoseError::UnencodedPayload);
            }
        }
        let alg = optional_string(params, "alg")?.ok_or(JoseError::Missing("alg"))?;
        let typ = optional_string(params, "typ")?;
        let x5u = optional_string(params, "x5u")?;
        let x5c = match params.get("x5c") {
            None => Vec::new(),
            Some(Value::Array(entries)) if !entries.is_empty() => entries
                .iter()
                .map(|entry| {
                    let text = entry.as_str().ok_or(JoseError::WrongType {
                        member: "x5c entries",
                        expected: "strings",
                    })?;
                    match b64::decode_std(text) {
                        Ok(der) if !der.is_empty() => Ok(der),
                        _ => Err(JoseError::Malformed(
                            "x5c entries must be standard base64 DER certificates (RFC 7515 §4.1.6)"
                                .into(),
                        )),
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(JoseError::WrongType {
                    member: "x5c",
                    expected: "a non-empty array",
                });
            }
        };
        let crit = match params.get("crit") {
            None => Vec::new(),
            Some(Value::Array(entries)) if !entries.is_empty() => entries
                .iter()
                .map(|entry| {
                    entry
                        .as_str()
                        .map(str::to_string)
                        .ok_or(JoseError::WrongType {
                            member: "crit entries",
                            expected: "strings",
                        })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(JoseError::WrongType {
                    member: "crit",
                    expected: "a non-empty array of strings (RFC 7515 §4.1.11)",
                });
            }
        };

        let claims: Value = serde_json::from_slice(&claims_bytes)
            .map_err(|_| JoseError::NotJson("the JWS payload (claims)"))?;
        if !claims.is_object() {
            return Err(JoseError::NotObject("the JWS payload (claims)"));
        }

        let signing_input = format!("{header_b64}.{claims_b64}");
        Ok(CompactJws {
            header,
            alg,
            typ,
            x5u,
            x5c,
            crit,
            claims,
            signature,
            signing_input,
        })
    }

    /// The JWS Signing Input (RFC 7515 §5.1 step 8), as received.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// Verifies the signature with `key`; `alg` must fit the key (see [`PublicJwk::verify`]).
    pub fn verify(&self, key: &PublicJwk) -> Result<(), JoseError> {
        key.verify(&self.alg, self.signing_input(), &self.signature)
    }

    /// Verifies an ES256 signature with the P-256 key in a DER SubjectPublicKeyInfo, typically
    /// the Token Authority certificate's (RFC 9448 §5: SHAKEN tokens are ES256). Any other
    /// `alg` is refused before the key is looked at.
    pub fn verify_es256_spki(&self, spki_der: &[u8]) -> Result<(), JoseError> {
        if self.alg != "ES256" {
            return Err(JoseError::UnsupportedAlgorithm(self.alg.clone()));
        }
        let key = PublicJwk::from_spki_der(spki_der)?;
        if !matches!(key, PublicJwk::EcP256(_)) {
            return Err(JoseError::BadKey(format!(
                "the token signer's key is {}, not EC P-256",
                key.key_type()
            )));
        }
        self.verify(&key)
    }
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
    use crate::jose::{EcSigner, sign_compact};

    /// standards.md §7 row 9: a real iconectiv staging SPC token (SPC 281K, expired).
    const STI_PA_STAGING_TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsIng1dSI6Imh0dHBzOi8vYXV0aGVudGljYXRlLWFwaS1zdGcuaWNvbmVjdGl2LmNvbS9kb3dubG9hZC92MS9jZXJ0aWZpY2F0ZS9jZXJ0aWZpY2F0ZUlkXzk3NTc0LmNydCJ9.eyJleHAiOjE2ODk5MTkwNjMsImp0aSI6IjUxOTE3NWNiLTY5OTgtNDA3NC05YWVhLTBkYTUxNzVhMTYyMiIsImF0YyI6eyJ0a3R5cGUiOiJUTkF1dGhMaXN0IiwidGt2YWx1ZSI6Ik1BaWdCaFlFTWpneFN3PT0iLCJjYSI6ZmFsc2UsImZpbmdlcnByaW50IjoiU0hBMjU2IDQ5OjU1Ojc4OjdGOjQyOjE3OjgxOjY3Ojk5OjQ4OkRDOjU0OjIxOkRBOkY0Ojc5OkM3OjQxOjI5OjA2OkJGOkE1OjM4OkRGOjlFOjAxOjk3OjZBOjJDOjUzOkNDOjNCIn19.yZsMAjzQ0fBx4hUQBR-E-exUwRHrFn4_utPuSJrraJYjI2K3eCfjNwVuMSCkAx9MQrUofB0d9hmDnZ_AblOCUQ";

    #[test]
    fn parses_the_real_sti_pa_staging_token() {
        let jws = CompactJws::parse(STI_PA_STAGING_TOKEN).unwrap();
        assert_eq!(jws.alg, "ES256");
        assert_eq!(jws.typ.as_deref(), Some("JWT"));
        assert_eq!(
            jws.x5u.as_deref(),
            Some(
                "https://authenticate-api-stg.iconectiv.com/download/v1/certificate/certificateId_97574.crt"
            )
        );
        assert!(jws.x5c.is_empty());
        assert!(jws.crit.is_empty());
        assert_eq!(jws.claims["exp"], 1689919063);
        assert_eq!(jws.claims["jti"], "519175cb-6998-4074-9aea-0da5175a1622");
        assert_eq!(jws.claims["atc"]["tktype"], "TNAuthList");
        assert_eq!(jws.claims["atc"]["tkvalue"], "MAigBhYEMjgxSw==");
        assert_eq!(jws.claims["atc"]["ca"], false);
        let fp = jws.claims["atc"]["fingerprint"].as_str().unwrap();
        assert!(crate::jose::parse_fingerprint(fp).is_ok());
        assert_eq!(jws.signature.len(), 64);
        assert!(jws.signing_input().starts_with(b"eyJhbGciOiJFUzI1NiIs"));
        // Its key is not available; a different P-256 key must not verify it.
        let other = crate::jose::jwk::tests::rfc9118_spki();
        assert_eq!(jws.verify_es256_spki(&other), Err(JoseError::BadSignature));
    }

    fn token_header() -> Map<String, Value> {
        let mut h = Map::new();
        h.insert("typ".into(), json!("JWT"));
        h.insert("x5u".into(), json!("https://pa.example/cert.pem"));
        h
    }

    fn claims() -> Value {
        json!({"exp": 2_000_000_000, "jti": "j1", "atc": {"tktype": "TNAuthList",
            "tkvalue": "MAigBhYEMTIzNA", "ca": false, "fingerprint": "SHA256 00"}})
    }

    #[test]
    fn round_trip_and_tampering() {
        let signer = EcSigner::generate().unwrap();
        let spki = signer.public_jwk().spki_der();
        let token = sign_compact(&signer, token_header(), &claims()).unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        assert_eq!(jws.alg, "ES256");
        assert_eq!(jws.claims, claims());
        jws.verify_es256_spki(&spki).unwrap();
        jws.verify(&signer.public_jwk()).unwrap();

        let parts: Vec<&str> = token.split('.').collect();
        // Payload changed.
        let forged_claims = b64::encode_url(br#"{"exp":2000000000,"jti":"j2"}"#);
        let t = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(jws.verify_es256_spki(&spki), Err(JoseError::BadSignature));
        // Header changed.
        let forged_header = b64::encode_url(br#"{"alg":"ES256","x5u":"https://evil.example/"}"#);
        let t = format!("{}.{}.{}", forged_header, parts[1], parts[2]);
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(jws.verify_es256_spki(&spki), Err(JoseError::BadSignature));
        // Signature bit flipped.
        let mut sig = b64::decode_url(parts[2]).unwrap();
        sig[0] ^= 0x80;
        let t = format!("{}.{}.{}", parts[0], parts[1], b64::encode_url(&sig));
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(jws.verify_es256_spki(&spki), Err(JoseError::BadSignature));
    }

    #[test]
    fn verify_es256_spki_refuses_other_algs_and_keys() {
        let signer = EcSigner::generate().unwrap();
        let mut h = token_header();
        h.insert("alg".into(), json!("none"));
        // sign_compact forces ES256; build an alg=none token by hand.
        let t = format!(
            "{}.{}.{}",
            b64::encode_url(Value::Object(h).to_string().as_bytes()),
            b64::encode_url(claims().to_string().as_bytes()),
            b64::encode_url(&[0u8; 64])
        );
        let jws = CompactJws::parse(&t).unwrap();
        assert_eq!(
            jws.verify_es256_spki(&signer.public_jwk().spki_der()),
            Err(JoseError::UnsupportedAlgorithm("none".into()))
        );
        // An Ed25519 signer key is refused for an ES256 token.
        let token = sign_compact(&signer, token_header(), &claims()).unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        let ed = PublicJwk::ed25519([3u8; 32]).unwrap();
        assert!(matches!(
            jws.verify_es256_spki(&ed.spki_der()),
            Err(JoseError::BadKey(_))
        ));
        assert!(matches!(
            jws.verify_es256_spki(b"not der"),
            Err(JoseError::BadKey(_))
        ));
    }

    #[test]
    fn x5c_is_standard_base64_der() {
        let signer = EcSigner::generate().unwrap();
        let mut h = token_header();
        // Standard alphabet with '+' and '/' and padding, as RFC 7515 §4.1.6 specifies.
        h.insert("x5c".into(), json!(["MIIB+/8=", "MAigBhYEMTIzNA=="]));
        let token = sign_compact(&signer, h, &claims()).unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        assert_eq!(
            jws.x5c,
            vec![
                vec![0x30, 0x82, 0x01, 0xfb, 0xff],
                hex::decode("3008a006160431323334").unwrap()
            ]
        );

        for bad in [
            json!([]),
            json!("MIIB"),
            json!([5]),
            json!(["MI-_"]),
            json!([""]),
        ] {
            let mut h = token_header();
            h.insert("x5c".into(), bad.clone());
            let token = sign_compact(&signer, h, &claims()).unwrap();
            assert!(CompactJws::parse(&token).is_err(), "{bad}");
        }
    }

    #[test]
    fn crit_is_exposed_and_b64_false_refused() {
        let signer = EcSigner::generate().unwrap();
        let mut h = token_header();
        h.insert("crit".into(), json!(["exp"]));
        let token = sign_compact(&signer, h, &claims()).unwrap();
        assert_eq!(
            CompactJws::parse(&token).unwrap().crit,
            vec!["exp".to_string()]
        );

        for bad in [json!([]), json!("exp"), json!([1])] {
            let mut h = token_header();
            h.insert("crit".into(), bad.clone());
            let token = sign_compact(&signer, h, &claims()).unwrap();
            assert!(CompactJws::parse(&token).is_err(), "{bad}");
        }

        let mut h = token_header();
        h.insert("b64".into(), json!(false));
        let token = sign_compact(&signer, h, &claims()).unwrap();
        assert_eq!(CompactJws::parse(&token), Err(JoseError::UnencodedPayload));
    }

    #[test]
    fn malformed_compact_tokens() {
        let signer = EcSigner::generate().unwrap();
        let token = sign_compact(&signer, token_header(), &claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let enc = |v: &[u8]| b64::encode_url(v);
        let cases = [
            String::new(),
            "abc".to_string(),
            format!("{}.{}", parts[0], parts[1]),
            format!("{token}.{}", parts[2]),
            format!("{}.{}.", parts[0], parts[1]), // empty signature
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]), // padded header
            format!("{}.{}.{}", enc(b"[1]"), parts[1], parts[2]), // header not an object
            format!("{}.{}.{}", enc(b"{x}"), parts[1], parts[2]), // header not JSON
            format!("{}.{}.{}", enc(br#"{"typ":"JWT"}"#), parts[1], parts[2]), // no alg
            format!("{}.{}.{}", enc(br#"{"alg":7}"#), parts[1], parts[2]),
            format!(
                "{}.{}.{}",
                enc(br#"{"alg":"ES256","x5u":1}"#),
                parts[1],
                parts[2]
            ),
            format!("{}.{}.{}", parts[0], enc(b"[1,2]"), parts[2]), // claims not an object
            format!("{}.{}.{}", parts[0], enc(b"not json"), parts[2]),
            format!("{}.{}.{}", parts[0], "", parts[2]), // empty payload
            format!("{} .{}.{}", parts[0], parts[1], parts[2]),
        ];
        for case in cases {
            assert!(CompactJws::parse(&case).is_err(), "{case}");
        }
    }
}
