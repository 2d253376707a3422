use der::Encode;
use rcgen::CustomExtension;
use serde_json::{Value, json};
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use super::*;
use crate::jose::{EcSigner, b64, fingerprint_text, sign_compact};
use crate::va::testserver::{Route, TestServer};
use crate::x509::testpki::{
    Hierarchy, LEAF_SERIAL, NOW, TestCert, ca_params, crl, hierarchy, leaf_params, self_signed,
    signed, validity, with_crl_dp,
};
use crate::x509::to_pem;

/// SPC "1234" (standards.md §1.2).
const SPC_1234: &[u8] = &[0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'1', b'2', b'3', b'4'];
/// SPC "709J".
const SPC_709J: &[u8] = &[0x30, 0x08, 0xa0, 0x06, 0x16, 0x04, b'7', b'0', b'9', b'J'];

struct Setup {
    h: Hierarchy,
    signer: EcSigner,
    account: EcSigner,
    policy: Policy,
}

impl Setup {
    fn new() -> Self {
        Self::with_leaf(leaf_params("Test Token Signer"))
    }

    fn with_leaf(leaf: rcgen::CertificateParams) -> Self {
        let h = hierarchy(leaf);
        let signer = EcSigner::from_der(&h.leaf.pkcs8()).unwrap();
        let policy = Policy {
            token_authorities: vec![h.root.der.clone()],
            ..Policy::default()
        };
        Self {
            h,
            signer,
            account: EcSigner::generate().unwrap(),
            policy,
        }
    }

    fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(&self.policy, vec![])
    }

    fn fingerprint(&self) -> String {
        fingerprint_text(&self.account.public_jwk().spki_sha256())
    }

    fn claims(&self) -> Value {
        json!({
            "exp": NOW + 3600,
            "jti": "519175cb-6998-4074-9aea-0da5175a1622",
            "atc": {
                "tktype": "TNAuthList",
                "tkvalue": "MAigBhYEMTIzNA==",
                "ca": false,
                "fingerprint": self.fingerprint(),
            }
        })
    }

    fn x5c_header(&self) -> Map<String, Value> {
        let x5c: Vec<String> = [&self.h.leaf.der, &self.h.inter.der]
            .iter()
            .map(|d| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, d))
            .collect();
        let mut m = Map::new();
        m.insert("typ".into(), json!("JWT"));
        m.insert("x5c".into(), json!(x5c));
        m
    }

    fn x5u_header(&self, url: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("typ".into(), json!("JWT"));
        m.insert("x5u".into(), json!(url));
        m
    }

    fn sign(&self, header: Map<String, Value>, claims: &Value) -> String {
        sign_compact(&self.signer, header, claims).unwrap()
    }

    fn token(&self) -> String {
        self.sign(self.x5c_header(), &self.claims())
    }

    fn chain_pem(&self) -> Vec<u8> {
        format!(
            "{}{}",
            to_pem("CERTIFICATE", &self.h.leaf.der),
            to_pem("CERTIFICATE", &self.h.inter.der)
        )
        .into_bytes()
    }

    async fn verify(&self, token: &str) -> Result<ValidatedToken, TokenError> {
        self.verifier()
            .verify(token, SPC_1234, &self.account.public_jwk(), NOW)
            .await
    }
}

fn local_fetch_policy(policy: &mut Policy) {
    policy.file.authority_token.danger_allow_http_x5u = true;
    policy.file.authority_token.allow_private_x5u = true;
}

/// A compact JWS with arbitrary header and signature bytes.
fn raw_token(header: &Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode_url(header.to_string().as_bytes()),
        b64::encode_url(claims.to_string().as_bytes()),
        b64::encode_url(sig)
    )
}

fn with_claim(mut claims: Value, path: &[&str], value: Option<Value>) -> Value {
    let mut obj = &mut claims;
    for key in &path[..path.len() - 1] {
        obj = obj.get_mut(*key).unwrap();
    }
    let map = obj.as_object_mut().unwrap();
    let last = path[path.len() - 1];
    match value {
        Some(v) => map.insert(last.to_string(), v),
        None => map.remove(last),
    };
    claims
}

#[tokio::test]
async fn valid_x5c_token_verifies() {
    let s = Setup::new();
    let ok = s.verify(&s.token()).await.unwrap();
    assert_eq!(ok.jti, "519175cb-6998-4074-9aea-0da5175a1622");
    assert_eq!(ok.exp, NOW + 3600);
    assert!(!ok.ca);
    assert_eq!(ok.tnauthlist.to_der(), SPC_1234);
    assert_eq!(
        ok.tnauthlist.single_spc().map(|s| s.to_string()),
        Some("1234".into())
    );
    assert_eq!(ok.signer_der, s.h.leaf.der);
    assert_eq!(
        ok.chain,
        vec![
            s.h.leaf.der.clone(),
            s.h.inter.der.clone(),
            s.h.root.der.clone()
        ]
    );
    assert_eq!(ok.fingerprint_form, FingerprintForm::Spki);
}

#[tokio::test]
async fn extra_anchor_is_trusted_like_a_policy_anchor() {
    let mut s = Setup::new();
    s.policy.token_authorities.clear();
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(err, TokenError::UntrustedSigner(ChainError::NoTrustAnchors)),
        "{err}"
    );
    let v = TokenVerifier::new(&s.policy, vec![s.h.root.der.clone()]);
    assert_eq!(v.anchors(), std::slice::from_ref(&s.h.root.der));
    v.verify(&s.token(), SPC_1234, &s.account.public_jwk(), NOW)
        .await
        .unwrap();
}

#[tokio::test]
async fn ca_grant_is_recorded_and_must_be_boolean() {
    let s = Setup::new();
    let claims = with_claim(s.claims(), &["atc", "ca"], Some(json!(true)));
    assert!(s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap().ca);
    let claims = with_claim(s.claims(), &["atc", "ca"], None);
    assert!(!s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap().ca);
    let claims = with_claim(s.claims(), &["atc", "ca"], Some(json!("true")));
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::CaNotBoolean);
    assert_eq!(err.kind(), ErrorKind::IncorrectResponse);
}

#[tokio::test]
async fn claim_constraints_members_are_read_one_kind_only() {
    use crate::tnauth::jwtcc::ClaimConstraints;
    let s = Setup::new();
    // mustInclude { "orig" }, as base64url and as padded standard base64
    let der = hex::decode("300aa008300616046f726967").unwrap();
    let url = crate::jose::b64::encode_url(&der);
    let std = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der);
    assert_eq!(s.verify(&s.token()).await.unwrap().claim_constraints, None);
    let claims = with_claim(s.claims(), &["atc", "jwtcc"], Some(json!(url)));
    let v = s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap();
    assert!(matches!(
        v.claim_constraints,
        Some(ClaimConstraints::Legacy(_))
    ));
    let claims = with_claim(s.claims(), &["atc", "ejwtcc"], Some(json!(std)));
    let v = s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap();
    assert!(matches!(
        v.claim_constraints,
        Some(ClaimConstraints::Enhanced(_))
    ));
    // both kinds, not a string, not DER: malformed
    let both = with_claim(
        with_claim(s.claims(), &["atc", "jwtcc"], Some(json!(url))),
        &["atc", "ejwtcc"],
        Some(json!(url)),
    );
    for claims in [
        both,
        with_claim(s.claims(), &["atc", "jwtcc"], Some(json!(1))),
        with_claim(s.claims(), &["atc", "ejwtcc"], Some(json!("MAA"))),
        with_claim(s.claims(), &["atc", "jwtcc"], Some(json!("!!"))),
    ] {
        let err = s
            .verify(&s.sign(s.x5c_header(), &claims))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidClaim { .. }), "{err}");
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let s = Setup::new();
    // Signed by a key that is not the certificate's.
    let other = EcSigner::generate().unwrap();
    let token = sign_compact(&other, s.x5c_header(), &s.claims()).unwrap();
    let err = s.verify(&token).await.unwrap_err();
    assert_eq!(err, TokenError::BadSignature);
    assert_eq!(err.kind(), ErrorKind::IncorrectResponse);
    // Claims changed after signing.
    let token = s.token();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = s.claims();
    claims["jti"] = json!("another");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64::encode_url(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        s.verify(&forged).await.unwrap_err(),
        TokenError::BadSignature
    );
    // A DER signature instead of r||s.
    let header = json!({"alg": "ES256", "typ": "JWT", "x5c": s.x5c_header()["x5c"]});
    let token = raw_token(&header, &s.claims(), &[0x30; 70]);
    assert_eq!(
        s.verify(&token).await.unwrap_err(),
        TokenError::BadSignature
    );
}

#[tokio::test]
async fn untrusted_signer_is_refused() {
    let s = Setup::new();
    let other = Setup::new();
    let mut policy = s.policy.clone();
    policy.token_authorities = vec![other.h.root.der.clone()];
    let err = TokenVerifier::new(&policy, vec![])
        .verify(&s.token(), SPC_1234, &s.account.public_jwk(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::UntrustedSigner(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    // A self-signed signer sent alone.
    let lone = self_signed(leaf_params("Self Signed Signer"));
    let signer = EcSigner::from_der(&lone.pkcs8()).unwrap();
    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        json!([base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &lone.der
        )]),
    );
    let token = sign_compact(&signer, header, &s.claims()).unwrap();
    let err = s.verify(&token).await.unwrap_err();
    assert!(matches!(err, TokenError::UntrustedSigner(_)), "{err}");
}

#[tokio::test]
async fn expired_signer_certificate_is_refused() {
    let s = Setup::with_leaf(validity(leaf_params("Old Signer"), NOW - 86400, NOW - 3600));
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(err, TokenError::UntrustedSigner(ChainError::Expired { .. })),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn signer_without_digital_signature_is_refused() {
    let mut p = leaf_params("Encipherment Signer");
    p.key_usages = vec![rcgen::KeyUsagePurpose::KeyAgreement];
    let s = Setup::with_leaf(p);
    assert_eq!(
        s.verify(&s.token()).await.unwrap_err(),
        TokenError::SignerKeyUsage
    );
}

#[tokio::test]
async fn expired_token_is_refused_within_skew_accepted() {
    let s = Setup::new();
    let claims = with_claim(s.claims(), &["exp"], Some(json!(NOW - 61)));
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Expired { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::IncorrectResponse);
    let claims = with_claim(s.claims(), &["exp"], Some(json!(NOW - 30)));
    s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap();
    // Fractional NumericDate.
    let claims = with_claim(s.claims(), &["exp"], Some(json!((NOW + 100) as f64 + 0.5)));
    assert_eq!(
        s.verify(&s.sign(s.x5c_header(), &claims))
            .await
            .unwrap()
            .exp,
        NOW + 100
    );
    // nbf in the future.
    let claims = with_claim(s.claims(), &["nbf"], Some(json!(NOW + 600)));
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::NotYetValid { .. }), "{err}");
}

#[tokio::test]
async fn exp_is_required_and_numeric() {
    let s = Setup::new();
    let claims = with_claim(s.claims(), &["exp"], None);
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::MissingClaim("exp"));
    assert_eq!(err.kind(), ErrorKind::Malformed);
    let claims = with_claim(s.claims(), &["exp"], Some(json!("1700000000")));
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TokenError::InvalidClaim { claim: "exp", .. }),
        "{err}"
    );
}

#[tokio::test]
async fn exp_too_far_is_refused_when_capped() {
    let mut s = Setup::new();
    let claims = with_claim(s.claims(), &["exp"], Some(json!(NOW + 400 * 86400)));
    let token = s.sign(s.x5c_header(), &claims);
    s.verify(&token).await.unwrap();
    s.policy.file.authority_token.max_token_lifetime_secs = 30 * 86400;
    let err = s.verify(&token).await.unwrap_err();
    assert!(matches!(err, TokenError::LifetimeTooLong { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::IncorrectResponse);
    s.verify(&s.token()).await.unwrap();
}

#[tokio::test]
async fn jti_is_required_non_empty_string() {
    let s = Setup::new();
    let claims = with_claim(s.claims(), &["jti"], None);
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::MissingClaim("jti"));
    assert_eq!(err.kind(), ErrorKind::Malformed);
    for bad in [json!(""), json!(42), json!("x".repeat(MAX_JTI_LEN + 1))] {
        let claims = with_claim(s.claims(), &["jti"], Some(bad));
        let err = s
            .verify(&s.sign(s.x5c_header(), &claims))
            .await
            .unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidClaim { claim: "jti", .. }),
            "{err}"
        );
    }
}

#[tokio::test]
async fn atc_and_members_are_required() {
    let s = Setup::new();
    let claims = with_claim(s.claims(), &["atc"], None);
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::MissingClaim("atc"));
    for member in ["tktype", "tkvalue", "fingerprint"] {
        let claims = with_claim(s.claims(), &["atc", member], None);
        let err = s
            .verify(&s.sign(s.x5c_header(), &claims))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::MissingClaim(_)), "{err}");
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
    let claims = with_claim(s.claims(), &["atc"], Some(json!("TNAuthList")));
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TokenError::InvalidClaim { claim: "atc", .. }),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_fingerprint_is_refused_any_case_accepted() {
    let s = Setup::new();
    let other = EcSigner::generate().unwrap();
    let claims = with_claim(
        s.claims(),
        &["atc", "fingerprint"],
        Some(json!(fingerprint_text(&other.public_jwk().spki_sha256()))),
    );
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::FingerprintMismatch(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let lower = s.fingerprint().to_lowercase();
    let claims = with_claim(s.claims(), &["atc", "fingerprint"], Some(json!(lower)));
    s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap();
    let claims = with_claim(
        s.claims(),
        &["atc", "fingerprint"],
        Some(json!("SHA1 AB:CD")),
    );
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::InvalidClaim {
                claim: "atc.fingerprint",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn jwk_thumbprint_form_follows_policy() {
    let mut s = Setup::new();
    let thumb = fingerprint_text(&s.account.public_jwk().thumbprint_sha256());
    let claims = with_claim(s.claims(), &["atc", "fingerprint"], Some(json!(thumb)));
    let thumb_token = s.sign(s.x5c_header(), &claims);
    let spki_token = s.token();
    assert_eq!(
        s.verify(&thumb_token).await.unwrap().fingerprint_form,
        FingerprintForm::JwkThumbprint
    );
    s.policy.file.authority_token.fingerprint_forms = vec![FingerprintForm::Spki];
    let err = s.verify(&thumb_token).await.unwrap_err();
    assert!(
        matches!(&err, TokenError::FingerprintMismatch(m) if m.contains("JWK thumbprint")),
        "{err}"
    );
    s.verify(&spki_token).await.unwrap();
    s.policy.file.authority_token.fingerprint_forms = vec![FingerprintForm::JwkThumbprint];
    let err = s.verify(&spki_token).await.unwrap_err();
    assert!(matches!(err, TokenError::FingerprintMismatch(_)), "{err}");
    s.verify(&thumb_token).await.unwrap();
}

#[tokio::test]
async fn tkvalue_must_be_the_identifier() {
    let s = Setup::new();
    let err = s
        .verifier()
        .verify(&s.token(), SPC_709J, &s.account.public_jwk(), NOW)
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::TkValueMismatch);
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let claims = with_claim(
        s.claims(),
        &["atc", "tkvalue"],
        Some(json!("!!not base64!!")),
    );
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::InvalidClaim {
                claim: "atc.tkvalue",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn tkvalue_base64_forms_are_accepted() {
    let s = Setup::new();
    for form in ["MAigBhYEMTIzNA==", "MAigBhYEMTIzNA", "MAigBhYEMTIzNA=="] {
        let claims = with_claim(s.claims(), &["atc", "tkvalue"], Some(json!(form)));
        s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap();
    }
    // A value whose std and url forms differ ('+' vs '-'): one "12155550123".
    let one = b64::decode_lenient("MA+iDRYLMTIxNTU1NTAxMjM=").unwrap();
    for form in ["MA+iDRYLMTIxNTU1NTAxMjM=", "MA-iDRYLMTIxNTU1NTAxMjM"] {
        let claims = with_claim(s.claims(), &["atc", "tkvalue"], Some(json!(form)));
        s.verifier()
            .verify(
                &s.sign(s.x5c_header(), &claims),
                &one,
                &s.account.public_jwk(),
                NOW,
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn tktype_is_case_insensitive_and_checked() {
    let s = Setup::new();
    for casing in ["TNAuthList", "TnAuthList", "tnauthlist"] {
        let claims = with_claim(s.claims(), &["atc", "tktype"], Some(json!(casing)));
        s.verify(&s.sign(s.x5c_header(), &claims)).await.unwrap();
    }
    let claims = with_claim(s.claims(), &["atc", "tktype"], Some(json!("dns")));
    let err = s
        .verify(&s.sign(s.x5c_header(), &claims))
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::WrongTkType("dns".into()));
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn only_es256_is_accepted() {
    let s = Setup::new();
    let x5c = s.x5c_header()["x5c"].clone();
    for alg in ["HS256", "none", "RS256", "ES384", "es256"] {
        let header = json!({"alg": alg, "typ": "JWT", "x5c": x5c});
        let err = s
            .verify(&raw_token(&header, &s.claims(), &[7; 64]))
            .await
            .unwrap_err();
        assert_eq!(err, TokenError::UnsupportedAlg(alg.into()));
        assert_eq!(err.kind(), ErrorKind::IncorrectResponse);
    }
}

#[tokio::test]
async fn crit_and_typ_rules() {
    let s = Setup::new();
    let mut header = s.x5c_header();
    header.insert("crit".into(), json!(["exp"]));
    let err = s.verify(&s.sign(header, &s.claims())).await.unwrap_err();
    assert!(matches!(err, TokenError::Crit(_)), "{err}");
    let mut header = s.x5c_header();
    header.insert("typ".into(), json!("JOSE"));
    let err = s.verify(&s.sign(header, &s.claims())).await.unwrap_err();
    assert_eq!(err, TokenError::WrongTyp("JOSE".into()));
    for typ in ["jwt", "application/jwt"] {
        let mut header = s.x5c_header();
        header.insert("typ".into(), json!(typ));
        s.verify(&s.sign(header, &s.claims())).await.unwrap();
    }
    let mut header = s.x5c_header();
    header.remove("typ");
    s.verify(&s.sign(header, &s.claims())).await.unwrap();
}

#[tokio::test]
async fn not_a_jws_is_malformed() {
    let s = Setup::new();
    for junk in ["", "abc", "a.b", "a.b.c.d", "e30.e30.", "!!.e30.AA"] {
        let err = s.verify(junk).await.unwrap_err();
        assert!(matches!(err, TokenError::NotJws(_)), "{junk}: {err}");
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(s.verify(&huge).await.unwrap_err(), TokenError::TooLarge);
}

#[tokio::test]
async fn signer_reference_is_required_and_unambiguous() {
    let s = Setup::new();
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    let err = s.verify(&s.sign(header, &s.claims())).await.unwrap_err();
    assert_eq!(err, TokenError::NoSigner);
    let mut header = s.x5c_header();
    header.insert("x5u".into(), json!("https://example.com/cert.pem"));
    let err = s.verify(&s.sign(header, &s.claims())).await.unwrap_err();
    assert_eq!(err, TokenError::AmbiguousSigner);
}

#[tokio::test]
async fn valid_x5u_token_verifies_and_is_cached() {
    let mut s = Setup::new();
    local_fetch_policy(&mut s.policy);
    let server = TestServer::start().await;
    server.set("/cert.pem", Route::Body(s.chain_pem()));
    let v = s.verifier();
    let token = s.sign(s.x5u_header(&server.url("/cert.pem")), &s.claims());
    let ok = v
        .verify(&token, SPC_1234, &s.account.public_jwk(), NOW)
        .await
        .unwrap();
    assert_eq!(ok.signer_der, s.h.leaf.der);
    v.verify(&token, SPC_1234, &s.account.public_jwk(), NOW + 1)
        .await
        .unwrap();
    assert_eq!(server.hits("/cert.pem"), 1);
    // A single DER certificate works too, when the intermediate is the anchor.
    server.set("/leaf.der", Route::Body(s.h.leaf.der.clone()));
    s.policy.token_authorities = vec![s.h.inter.der.clone()];
    let token = s.sign(s.x5u_header(&server.url("/leaf.der")), &s.claims());
    s.verify(&token).await.unwrap();
}

#[tokio::test]
async fn x5u_content_and_fetch_failures() {
    let mut s = Setup::new();
    local_fetch_policy(&mut s.policy);
    let server = TestServer::start().await;
    server.set("/junk", Route::Body(b"hello".to_vec()));
    let token = s.sign(s.x5u_header(&server.url("/junk")), &s.claims());
    let err = s.verify(&token).await.unwrap_err();
    assert!(matches!(err, TokenError::X5uContent { .. }), "{err}");
    let token = s.sign(s.x5u_header(&server.url("/missing")), &s.claims());
    let err = s.verify(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::X5uFetch {
                error: FetchError::Status(404),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::IncorrectResponse);
}

#[tokio::test]
async fn http_x5u_is_refused_unless_danger_flag() {
    let mut s = Setup::new();
    s.policy.file.authority_token.allow_private_x5u = true;
    let server = TestServer::start().await;
    server.set("/cert.pem", Route::Body(s.chain_pem()));
    let token = s.sign(s.x5u_header(&server.url("/cert.pem")), &s.claims());
    let err = s.verify(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::X5uRefused {
                error: FetchError::Scheme(_),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(server.hits("/cert.pem"), 0);
    s.policy.file.authority_token.danger_allow_http_x5u = true;
    s.verify(&token).await.unwrap();
}

#[tokio::test]
async fn private_address_x5u_is_refused_unless_allowed() {
    let mut s = Setup::new();
    s.policy.file.authority_token.danger_allow_http_x5u = true;
    let server = TestServer::start().await;
    server.set("/cert.pem", Route::Body(s.chain_pem()));
    for url in [
        server.url("/cert.pem"),
        format!("http://localhost:{}/cert.pem", server.port),
    ] {
        let token = s.sign(s.x5u_header(&url), &s.claims());
        let err = s.verify(&token).await.unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::X5uRefused {
                    error: FetchError::PrivateAddress { .. },
                    ..
                }
            ),
            "{err}"
        );
    }
    assert_eq!(server.hits("/cert.pem"), 0);
    s.policy.file.authority_token.allow_private_x5u = true;
    let token = s.sign(s.x5u_header(&server.url("/cert.pem")), &s.claims());
    s.verify(&token).await.unwrap();
}

#[tokio::test]
async fn redirecting_x5u_is_refused() {
    let mut s = Setup::new();
    local_fetch_policy(&mut s.policy);
    let server = TestServer::start().await;
    server.set("/cert.pem", Route::Body(s.chain_pem()));
    server.set("/moved", Route::Redirect(server.url("/cert.pem")));
    let token = s.sign(s.x5u_header(&server.url("/moved")), &s.claims());
    let err = s.verify(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::X5uRefused {
                error: FetchError::Redirect { status: 302 },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.hits("/cert.pem"), 0);
}

#[tokio::test]
async fn oversized_x5u_is_refused() {
    let mut s = Setup::new();
    local_fetch_policy(&mut s.policy);
    s.policy.file.authority_token.x5u_max_bytes = 512;
    let server = TestServer::start().await;
    server.set("/cert.pem", Route::Body(s.chain_pem()));
    let token = s.sign(s.x5u_header(&server.url("/cert.pem")), &s.claims());
    let err = s.verify(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::X5uRefused {
                error: FetchError::TooLarge(512),
                ..
            }
        ),
        "{err}"
    );
}

/// A signer whose certificate names `server`'s `/crl`.
async fn crl_setup(server: &TestServer) -> Setup {
    let mut s = Setup::with_leaf(with_crl_dp(
        leaf_params("CRL Signer Leaf"),
        &server.url("/crl"),
    ));
    local_fetch_policy(&mut s.policy);
    s
}

#[tokio::test]
async fn revoked_signer_is_refused() {
    let server = TestServer::start().await;
    let s = crl_setup(&server).await;
    server.set(
        "/crl",
        Route::Body(crl(
            &s.h.inter,
            &[&[0x09], LEAF_SERIAL],
            NOW - 600,
            NOW + 86400,
        )),
    );
    let err = s.verify(&s.token()).await.unwrap_err();
    assert_eq!(
        err,
        TokenError::SignerRevoked {
            serial: "01234567".into(),
            url: server.url("/crl")
        }
    );
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn unrevoked_signer_passes_with_der_or_pem_crl() {
    let server = TestServer::start().await;
    let s = crl_setup(&server).await;
    let der = crl(&s.h.inter, &[&[0x09]], NOW - 600, NOW + 86400);
    server.set("/crl", Route::Body(der.clone()));
    s.verify(&s.token()).await.unwrap();
    server.set("/crl", Route::Body(to_pem("X509 CRL", &der).into_bytes()));
    s.verify(&s.token()).await.unwrap();
    assert_eq!(server.hits("/crl"), 2);
}

#[tokio::test]
async fn unavailable_crl_refuses_only_when_required() {
    let server = TestServer::start().await;
    let mut s = crl_setup(&server).await;
    // 404.
    s.verify(&s.token()).await.unwrap();
    s.policy.file.authority_token.require_crl = true;
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(err, TokenError::RevocationUnknown(CrlError::Fetch { .. })),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}

#[tokio::test]
async fn unusable_crls_are_unknown_status() {
    let server = TestServer::start().await;
    let mut s = crl_setup(&server).await;
    s.policy.file.authority_token.require_crl = true;

    // Signed by a look-alike issuer (same name, other key).
    let lookalike = signed(ca_params("Test Token Authority Issuing", None), &s.h.root);
    server.set(
        "/crl",
        Route::Body(crl(&lookalike, &[], NOW - 600, NOW + 86400)),
    );
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::RevocationUnknown(CrlError::BadSignature { .. })
        ),
        "{err}"
    );

    // Issued by someone with no authority over the signer.
    let stranger = self_signed(ca_params("Stranger", None));
    server.set(
        "/crl",
        Route::Body(crl(&stranger, &[LEAF_SERIAL], NOW - 600, NOW + 86400)),
    );
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::RevocationUnknown(CrlError::NotAuthoritative { .. })
        ),
        "{err}"
    );

    // Stale (nextUpdate passed; the refetch gets the same stale CRL).
    server.set(
        "/crl",
        Route::Body(crl(&s.h.inter, &[], NOW - 86400, NOW - 3600)),
    );
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::RevocationUnknown(CrlError::NotCurrent { .. })
        ),
        "{err}"
    );

    // Garbage.
    server.set("/crl", Route::Body(b"not a crl".to_vec()));
    let err = s.verify(&s.token()).await.unwrap_err();
    assert!(
        matches!(err, TokenError::RevocationUnknown(CrlError::Parse { .. })),
        "{err}"
    );

    // Without require_crl the token passes (with a warning).
    s.policy.file.authority_token.require_crl = false;
    s.verify(&s.token()).await.unwrap();
}

#[tokio::test]
async fn stale_cached_crl_is_fetched_again() {
    let server = TestServer::start().await;
    let mut s = crl_setup(&server).await;
    s.policy.file.authority_token.require_crl = true;
    let v = s.verifier();
    server.set(
        "/crl",
        Route::Body(crl(&s.h.inter, &[], NOW - 600, NOW + 100)),
    );
    let key = s.account.public_jwk();
    v.verify(&s.token(), SPC_1234, &key, NOW).await.unwrap();
    // Later, within the cache TTL but past nextUpdate, a new CRL revokes the signer.
    server.set(
        "/crl",
        Route::Body(crl(&s.h.inter, &[LEAF_SERIAL], NOW + 150, NOW + 86400)),
    );
    let err = v
        .verify(&s.token(), SPC_1234, &key, NOW + 300)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::SignerRevoked { .. }), "{err}");
    assert_eq!(server.hits("/crl"), 2);
}

/// A cRLDistributionPoints extension with a URI and a cRLIssuer (what rcgen cannot write).
fn crl_dp_with_issuer(url: &str, crl_issuer: &TestCert) -> CustomExtension {
    let cert = <x509_cert::Certificate as der::Decode>::from_der(&crl_issuer.der).unwrap();
    let dps = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(url).unwrap()),
        ])),
        reasons: None,
        crl_issuer: Some(vec![GeneralName::DirectoryName(
            cert.tbs_certificate().subject().clone(),
        )]),
    }]);
    CustomExtension::from_oid_content(&[2, 5, 29, 31], dps.to_der().unwrap())
}

#[tokio::test]
async fn indirect_crl_from_a_named_crl_issuer() {
    let server = TestServer::start().await;
    let root = self_signed(ca_params("Indirect Root", None));
    let mut crl_params = ca_params("Indirect CRL Signer", None);
    crl_params.is_ca = rcgen::IsCa::ExplicitNoCa;
    crl_params.key_usages = vec![rcgen::KeyUsagePurpose::CrlSign];
    let crl_signer = signed(crl_params, &root);
    let inter = signed(ca_params("Indirect Issuing", None), &root);
    let mut leaf = leaf_params("Indirect Signer");
    leaf.custom_extensions
        .push(crl_dp_with_issuer(&server.url("/crl"), &crl_signer));
    let leaf = signed(leaf, &inter);

    let account = EcSigner::generate().unwrap();
    let signer = EcSigner::from_der(&leaf.pkcs8()).unwrap();
    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        json!([
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &leaf.der),
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &inter.der)
        ]),
    );
    let claims = json!({
        "exp": NOW + 3600, "jti": "j",
        "atc": {"tktype": "TNAuthList", "tkvalue": "MAigBhYEMTIzNA",
                "fingerprint": fingerprint_text(&account.public_jwk().spki_sha256())}
    });
    let token = sign_compact(&signer, header, &claims).unwrap();
    let mut policy = Policy {
        token_authorities: vec![root.der.clone()],
        ..Policy::default()
    };
    local_fetch_policy(&mut policy);
    policy.file.authority_token.require_crl = true;

    // The CRL signer is not in the chain: as an extra anchor it is found (and cannot issue).
    let v = TokenVerifier::new(&policy, vec![crl_signer.der.clone()]);
    server.set(
        "/crl",
        Route::Body(crl(&crl_signer, &[LEAF_SERIAL], NOW - 600, NOW + 86400)),
    );
    let err = v
        .verify(&token, SPC_1234, &account.public_jwk(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::SignerRevoked { .. }), "{err}");
    server.set(
        "/crl",
        Route::Body(crl(&crl_signer, &[&[0x77]], NOW - 600, NOW + 86400)),
    );
    let v = TokenVerifier::new(&policy, vec![crl_signer.der.clone()]);
    v.verify(&token, SPC_1234, &account.public_jwk(), NOW)
        .await
        .unwrap();
    // Without the CRL signer's certificate the CRL cannot be checked.
    let v = TokenVerifier::new(&policy, vec![]);
    let err = v
        .verify(&token, SPC_1234, &account.public_jwk(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::RevocationUnknown(CrlError::UnknownIssuer { .. })
        ),
        "{err}"
    );
}

/// The iconectiv staging SPC token (standards.md §7 #9): it parses, and it is long expired.
#[tokio::test]
async fn real_sti_pa_token_shape_is_understood() {
    const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsIng1dSI6Imh0dHBzOi8vYXV0aGVudGljYXRlLWFwaS1zdGcuaWNvbmVjdGl2LmNvbS9kb3dubG9hZC92MS9jZXJ0aWZpY2F0ZS9jZXJ0aWZpY2F0ZUlkXzk3NTc0LmNydCJ9.eyJleHAiOjE2ODk5MTkwNjMsImp0aSI6IjUxOTE3NWNiLTY5OTgtNDA3NC05YWVhLTBkYTUxNzVhMTYyMiIsImF0YyI6eyJ0a3R5cGUiOiJUTkF1dGhMaXN0IiwidGt2YWx1ZSI6Ik1BaWdCaFlFTWpneFN3PT0iLCJjYSI6ZmFsc2UsImZpbmdlcnByaW50IjoiU0hBMjU2IDQ5OjU1Ojc4OjdGOjQyOjE3OjgxOjY3Ojk5OjQ4OkRDOjU0OjIxOkRBOkY0Ojc5OkM3OjQxOjI5OjA2OkJGOkE1OjM4OkRGOjlFOjAxOjk3OjZBOjJDOjUzOkNDOjNCIn19.yZsMAjzQ0fBx4hUQBR-E-exUwRHrFn4_utPuSJrraJYjI2K3eCfjNwVuMSCkAx9MQrUofB0d9hmDnZ_AblOCUQ";
    let jws = CompactJws::parse(TOKEN).unwrap();
    check_header(&jws).unwrap();
    let claims = read_claims(&jws.claims).unwrap();
    assert_eq!(claims.exp, 1_689_919_063);
    check_tktype(&claims.tktype).unwrap();
    let spc_281k = b64::decode_lenient("MAigBhYEMjgxSw==").unwrap();
    assert_eq!(
        check_tkvalue(&claims.tkvalue, &spc_281k).unwrap().to_der(),
        spc_281k
    );
    let s = Setup::new();
    let err = s
        .verifier()
        .verify(TOKEN, &spc_281k, &s.account.public_jwk(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Expired { .. }), "{err}");
}

#[test]
fn errors_convert_to_problems() {
    let e: Error = TokenError::TkValueMismatch.into();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.detail.contains("tkvalue"));
    let e: Error = TokenError::MissingClaim("jti").into();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.detail.contains("jti"));
}

/// The RA awaits `verify` inside axum handlers, which need `Send` futures.
#[test]
fn verify_future_is_send_and_verifier_is_sync() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<TokenVerifier>();
    let s = Setup::new();
    let v = s.verifier();
    let key = s.account.public_jwk();
    let fut = v.verify("a.b.c", SPC_1234, &key, NOW);
    assert_send(&fut);
}

/// Direct delegation (issue 3): a signer chaining to this CA's own root is accepted and marked
/// [`SignerAnchor::ThisCa`], with a keyCertSign-only key (an `sca`); the same certificate under
/// a token-authority anchor keeps the digitalSignature rule, and a CRL it names is not fetched
/// (the RA reads the status from its own database).
#[tokio::test]
async fn signers_under_this_cas_root_are_marked_for_the_ra() {
    let mut sca = ca_params("Carrier SHAKEN SCA 1234", Some(0));
    sca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    // An unreachable CRL: fetching it would fail and, with require_crl, refuse the token.
    let mut sca = with_crl_dp(sca, "http://127.0.0.1:9/never.crl");
    sca.serial_number = Some(rcgen::SerialNumber::from_slice(LEAF_SERIAL));
    let mut s = Setup::with_leaf(sca);
    s.policy.file.authority_token.require_crl = true;
    let own_root = s.h.root.der.clone();
    let own_inter = s.h.inter.der.clone();

    // Trusted as this CA's hierarchy (no token authority anchor): ThisCa, no CRL fetch.
    let policy = Policy {
        token_authorities: vec![],
        ..s.policy.clone()
    };
    let v =
        TokenVerifier::new(&policy, vec![]).with_own_hierarchy(own_root.clone(), vec![own_inter]);
    // the carrier may send only its own certificate: the intermediate is known
    let mut header = s.x5c_header();
    header.insert(
        "x5c".into(),
        json!([base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &s.h.leaf.der
        )]),
    );
    let token = s.sign(header, &s.claims());
    let ok = v
        .verify(&token, SPC_1234, &s.account.public_jwk(), NOW)
        .await
        .unwrap();
    assert_eq!(ok.anchor, SignerAnchor::ThisCa);
    assert_eq!(ok.signer_der, s.h.leaf.der);

    // The same root as a token authority: a keyCertSign-only signer is refused.
    let e = s.verify(&s.token()).await.unwrap_err();
    assert_eq!(e, TokenError::SignerKeyUsage);

    // A root that is both a token authority and this CA's root counts as a token authority.
    let v = TokenVerifier::new(&s.policy, vec![]).with_own_hierarchy(own_root, vec![]);
    let e = v
        .verify(&s.token(), SPC_1234, &s.account.public_jwk(), NOW)
        .await
        .unwrap_err();
    assert_eq!(e, TokenError::SignerKeyUsage);
}

#[tokio::test]
async fn token_authority_signers_stay_token_authority_signers_next_to_an_own_root() {
    let s = Setup::new();
    let other = hierarchy(leaf_params("Other CA Leaf"));
    let v = s
        .verifier()
        .with_own_hierarchy(other.root.der.clone(), vec![]);
    let ok = v
        .verify(&s.token(), SPC_1234, &s.account.public_jwk(), NOW)
        .await
        .unwrap();
    assert_eq!(ok.anchor, SignerAnchor::TokenAuthority);
    // and a signer chaining to neither is untrusted
    let stranger = Setup::new();
    let e = v
        .verify(
            &stranger.token(),
            SPC_1234,
            &stranger.account.public_jwk(),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, TokenError::UntrustedSigner(_)), "{e:?}");
}
