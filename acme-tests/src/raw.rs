//! A deliberately low-level ACME client for tests: every request is built by hand so that tests
//! can break one rule at a time (nonce, url, kid, content type, size) and read the raw answer.

use serde_json::{Map, Value, json};
use stica::jose::{EcSigner, b64, sign_flattened};

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status
    pub status: u16,
    /// response headers
    pub headers: reqwest::header::HeaderMap,
    /// raw body
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON (Null if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// The problem `type` of an error body.
    pub fn problem_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or("").to_string()
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A test ACME client holding one account key.
pub struct Raw {
    /// HTTP client
    pub http: reqwest::Client,
    /// the directory object
    pub dir: Value,
    /// the account key
    pub key: EcSigner,
    /// the account URL once registered
    pub kid: Option<String>,
}

impl Raw {
    /// Fetches the directory with a fresh account key.
    pub async fn new(directory_url: &str) -> Raw {
        let http = reqwest::Client::new();
        let dir = http
            .get(directory_url)
            .send()
            .await
            .expect("directory")
            .json()
            .await
            .expect("directory json");
        Raw {
            http,
            dir,
            key: EcSigner::generate().expect("key"),
            kid: None,
        }
    }

    /// A directory URL by name (`newOrder` ...).
    pub fn url(&self, name: &str) -> String {
        self.dir[name]
            .as_str()
            .expect("directory entry")
            .to_string()
    }

    /// A fresh nonce from newNonce.
    pub async fn nonce(&self) -> String {
        let r = self
            .http
            .head(self.url("newNonce"))
            .send()
            .await
            .expect("newNonce");
        r.headers()["replay-nonce"]
            .to_str()
            .expect("nonce")
            .to_string()
    }

    /// Builds the JWS body for `url`; `tweak` may change the protected header before signing.
    pub async fn jws(
        &self,
        url: &str,
        payload: Option<&Value>,
        tweak: impl FnOnce(&mut Map<String, Value>),
    ) -> Value {
        let mut protected = Map::new();
        protected.insert("nonce".into(), json!(self.nonce().await));
        protected.insert("url".into(), json!(url));
        match &self.kid {
            Some(kid) => protected.insert("kid".into(), json!(kid)),
            None => protected.insert("jwk".into(), self.key.public_jwk().to_json()),
        };
        tweak(&mut protected);
        let body = match payload {
            Some(p) => serde_json::to_vec(p).expect("payload"),
            None => Vec::new(),
        };
        sign_flattened(&self.key, protected, &body).expect("sign")
    }

    /// Sends a raw body with a content type.
    pub async fn send(&self, url: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let r = self
            .http
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("body").to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// POSTs a signed request (payload None = POST-as-GET).
    pub async fn post(&self, url: &str, payload: Option<&Value>) -> Resp {
        let jws = self.jws(url, payload, |_| {}).await;
        self.send(
            url,
            "application/jose+json",
            serde_json::to_vec(&jws).expect("json"),
        )
        .await
    }

    /// newAccount; remembers the account URL.
    pub async fn register(&mut self) -> Resp {
        self.register_with(json!({"termsOfServiceAgreed": true}))
            .await
    }

    /// newAccount with a custom payload.
    pub async fn register_with(&mut self, payload: Value) -> Resp {
        self.kid = None;
        let r = self.post(&self.url("newAccount"), Some(&payload)).await;
        if let Some(loc) = r.header("location") {
            self.kid = Some(loc);
        }
        r
    }

    /// newOrder for a TNAuthList DER; returns the response (order JSON + Location).
    pub async fn new_order(&self, tnauthlist_der: &[u8]) -> Resp {
        let payload = json!({"identifiers": [{"type": "TNAuthList", "value": b64::encode_url(tnauthlist_der)}]});
        self.post(&self.url("newOrder"), Some(&payload)).await
    }

    /// The challenge URL of an order's first authorization.
    pub async fn challenge_url(&self, order: &Value) -> String {
        let authz_url = order["authorizations"][0].as_str().expect("authz url");
        let authz = self.post(authz_url, None).await.json();
        authz["challenges"][0]["url"]
            .as_str()
            .expect("challenge url")
            .to_string()
    }

    /// Answers tkauth-01 with `{"atc": token}`.
    pub async fn answer(&self, challenge_url: &str, token: &str) -> Resp {
        self.post(challenge_url, Some(&json!({"atc": token}))).await
    }

    /// Finalizes with a CSR (DER).
    pub async fn finalize(&self, order: &Value, csr_der: &[u8]) -> Resp {
        let url = order["finalize"].as_str().expect("finalize url");
        self.post(url, Some(&json!({"csr": b64::encode_url(csr_der)})))
            .await
    }

    /// The SHA-256 SPKI fingerprint of the account key, as the STI-PA writes it.
    pub fn fingerprint(&self) -> String {
        stica::jose::fingerprint_text(&self.key.public_jwk().spki_sha256())
    }
}

/// A CSR for a fresh P-256 key carrying `tnauthlist_der` in its extensionRequest.
pub fn csr(tnauthlist_der: &[u8]) -> Vec<u8> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    csr_with_key(tnauthlist_der, &key)
}

/// A CSR for `key` carrying `tnauthlist_der`.
pub fn csr_with_key(tnauthlist_der: &[u8], key: &rcgen::KeyPair) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ignored.example");
    let ext = rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 26],
        tnauthlist_der.to_vec(),
    );
    params.custom_extensions.push(ext);
    params.serialize_request(key).expect("csr").der().to_vec()
}

/// A CSR for a fresh P-256 key carrying `tnauthlist_der` and a basicConstraints extension request
/// with cA TRUE (pathLen 0) or cA FALSE: how a client asks for a CA (`sca`) certificate.
pub fn csr_with_ca(tnauthlist_der: &[u8], ca: bool) -> Vec<u8> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    csr_with_ca_key(tnauthlist_der, ca, &key)
}

/// [`csr_with_ca`] for `key`.
pub fn csr_with_ca_key(tnauthlist_der: &[u8], ca: bool, key: &rcgen::KeyPair) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 26],
            tnauthlist_der.to_vec(),
        ));
    let bc: &[u8] = if ca {
        &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]
    } else {
        &[0x30, 0x00]
    };
    let mut ext = rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 19], bc.to_vec());
    ext.set_criticality(true);
    params.custom_extensions.push(ext);
    params.serialize_request(key).expect("csr").der().to_vec()
}
