//! A token authority in the test process: stica's dev token authority library, served on its own
//! port (x5u, CRL), trusted by the server under test through `--policy-dir`.

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use stica::jose::{EcSigner, PublicJwk, b64, sign_compact};
use stica::pa::{DevTokenAuthority, SignerRef, TokenRequest};
use stica::tnauth::TnAuthList;

/// A running test token authority.
pub struct TestTa {
    /// the authority
    pub pa: DevTokenAuthority,
    /// its base URL (`http://127.0.0.1:PORT`)
    pub base: String,
    /// a PEM file of its root, for `token-authorities/`
    pub root_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestTa {
    /// Creates the authority and serves it on 127.0.0.1.
    pub async fn start() -> TestTa {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let pa = DevTokenAuthority::load_or_init(&dir.path().join("pa"), &base)
            .expect("token authority");
        let router = pa.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let root_file = dir.path().join("ta-root.pem");
        std::fs::write(&root_file, pa.root_pem()).expect("root pem");
        TestTa {
            pa,
            base,
            root_file,
            _dir: dir,
        }
    }

    /// A well-formed token for `list` bound to `account_key`, signer by `x5c`.
    pub fn token(&self, list: &TnAuthList, account_key: &PublicJwk) -> String {
        self.token_with(list, account_key, SignerRef::X5c, false)
    }

    /// A token with the signer named by x5u or x5c, and the `ca` grant.
    pub fn token_with(
        &self,
        list: &TnAuthList,
        account_key: &PublicJwk,
        by: SignerRef,
        ca: bool,
    ) -> String {
        let mut req = TokenRequest::new(list.clone(), account_key, ca, 3600);
        req.x5u_or_x5c = by;
        self.pa.mint(&req).expect("mint")
    }

    /// A token that expired an hour ago.
    pub fn expired_token(&self, list: &TnAuthList, account_key: &PublicJwk) -> String {
        let mut req = TokenRequest::new(list.clone(), account_key, false, 600);
        req.x5u_or_x5c = SignerRef::X5c;
        self.pa
            .mint_at(&req, stica::acme::now() - 3600)
            .expect("mint")
    }

    /// A token with hand-made claims, signed by the authority's signing key, signer by `x5c`.
    pub fn custom_token(&self, claims: &Value) -> String {
        let key_pem =
            std::fs::read_to_string(self.pa.dir().join("signer.key")).expect("signer key");
        let key = EcSigner::from_pkcs8_pem(&key_pem).expect("signer key");
        let root = self.pa.root_der();
        let chain = [self.pa.signer_der(), root];
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert(
            "x5c".into(),
            json!(
                chain
                    .iter()
                    .map(|d| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, d))
                    .collect::<Vec<_>>()
            ),
        );
        sign_compact(&key, header, claims).expect("sign")
    }

    /// The standard claims for `list` and `fingerprint`; tests remove or change members.
    pub fn claims(list: &TnAuthList, fingerprint: &str) -> Value {
        json!({
            "exp": stica::acme::now() + 3600,
            "jti": format!("test-{}", stica::ra::random_id()),
            "atc": {"tktype": "TNAuthList", "tkvalue": b64::encode_url(&list.to_der()), "ca": false, "fingerprint": fingerprint}
        })
    }
}
