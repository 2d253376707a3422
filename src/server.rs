//! `stica serve`: wires config, policy, storage, the CA, the token verifier, the dev token
//! authority and the front end together, then serves HTTP (or HTTPS with rustls).

use std::path::Path;
use std::sync::Arc;

use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tower::make::Shared;

use crate::ca::crl_signer::CrlSigner;
use crate::ca::{Ca, CrlDistributionPoint};
use crate::config::Config;
use crate::jobs::{JOBS_LEASE, Leadership};
use crate::nonce::NonceKey;
use crate::pa::DevTokenAuthority;
use crate::policy::Policy;
use crate::ra::Ra;
use crate::sa::Storage;
use crate::status::ocsp::front::Front;
use crate::status::{self, StatusState, crl::CrlPublisher};
use crate::va::tkauth::TokenVerifier;
use crate::wfe::{self, AppState, Urls};

/// Everything `serve` built, before it listens (also used by tests and tools).
pub struct Built {
    /// the full application (ACME, status, OCSP, dev token authority, health), with pre-signed
    /// OCSP GETs answered before routing ([`Front`])
    pub app: Front,
    /// the external base URL
    pub base: String,
    /// the dev token authority, when it runs in-process
    pub pa: Option<Arc<DevTokenAuthority>>,
    /// storage, for background housekeeping
    pub storage: Storage,
    /// stica's CRL, refreshed in the background
    pub crl: Arc<CrlPublisher>,
}

/// The data directory's CA is checked against the database before anything is created
/// (src/binding.rs); a mismatch stops the start.
async fn connect_and_check(cfg: &Config) -> Result<(Storage, crate::binding::Verdict), String> {
    let sa = Storage::connect(&cfg.database_url())
        .await
        .map_err(|e| format!("database: {e}"))?;
    let verdict = crate::binding::check(&sa, &cfg.data_dir, cfg.bind_new_database)
        .await
        .map_err(|e| e.to_string())?;
    Ok((sa, verdict))
}

/// Builds the application from a validated config. Creates the data directory, the CA hierarchy
/// and the dev token authority on first start.
pub async fn build(cfg: &Config) -> Result<Built, String> {
    cfg.validate().map_err(|e| e.to_string())?;
    create_private_dir(&cfg.data_dir)?;
    let base = cfg.external_base();
    let policy = match &cfg.policy_dir {
        Some(dir) => Policy::load(dir).map_err(|e| e.to_string())?,
        None => Policy::default(),
    };
    let (sa, verdict) = connect_and_check(cfg).await?;
    // An intermediate that can issue `sca` certificates when policy offers them (profiles.md).
    if crate::ca::init_hierarchy_with(
        &cfg.data_dir,
        "stica development CA",
        policy.required_issuer_path_len(),
    )
    .map_err(|e| format!("CA hierarchy: {e}"))?
    {
        tracing::warn!(dir = %cfg.data_dir.join("ca").display(), "created a new development CA hierarchy");
    }
    let pa = if cfg.dev_token_authority {
        let pa =
            DevTokenAuthority::load_or_init(&cfg.data_dir.join("pa"), &format!("{base}/sti-pa"))
                .map_err(|e| format!("dev token authority: {e}"))?;
        Some(Arc::new(pa))
    } else {
        None
    };
    if policy.file.authority_token.danger_allow_http_x5u {
        tracing::warn!(
            "DANGER: authority_token.danger_allow_http_x5u is on: token signers may be fetched over plain http"
        );
    }
    // Without a policy directory the dev token authority is the trust anchor; with one, only the
    // directory's token authorities are trusted (docs/config.md).
    let extra_anchors = match (&cfg.policy_dir, &pa) {
        (None, Some(pa)) => vec![pa.root_der().to_vec()],
        _ => Vec::new(),
    };
    if policy.token_authorities.is_empty() && extra_anchors.is_empty() {
        return Err(
            "no token authority is trusted: add <policy-dir>/token-authorities/*.pem".into(),
        );
    }
    let crl_dp = crl_distribution_point(&policy, pa.as_deref())?;
    if let Some(pa) = &pa {
        // The dev token authority's ca-list names this CA's root, as the STI-PA's lists STI-CAs.
        let root = std::fs::read_to_string(cfg.data_dir.join("ca").join("root.pem"))
            .map_err(|e| format!("CA root: {e}"))?;
        pa.set_trust_list(vec![root]);
    }
    // The hierarchy is checked before anything is issued under it (a subordinate's imported SCA
    // included), so a broken one is reported as such rather than as a CRL signer failure.
    let ca_error =
        |e: crate::ca::CaError| format!("CA ({}): {e}", cfg.data_dir.join("ca").display());
    let ca = Ca::load(&cfg.data_dir, &policy, crl_dp).map_err(ca_error)?;
    if crate::ca::crl_signer::ensure_crl_signer(&cfg.data_dir)
        .map_err(|e| format!("CRL signer: {e}"))?
    {
        tracing::warn!(dir = %cfg.data_dir.join("ca").display(), "created the CRL signer certificate");
    }
    let crl_signer = CrlSigner::load(&cfg.data_dir).map_err(|e| format!("CRL signer: {e}"))?;
    // `delegate` certificates name this CA's own (indirect) CRL and its signer (profiles.md).
    let own_crl = crl_signer.distribution_point(&Urls::new(&base).crl());
    let ca = ca.with_own_crl(own_crl).map_err(ca_error)?;
    crate::binding::bind(&sa, &cfg.data_dir, verdict)
        .await
        .map_err(|e| e.to_string())?;
    let health = Arc::new(crate::wfe::health::HealthState {
        sa: sa.clone(),
        ca_root_sha256: Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            ca.root_der(),
        ))),
    });
    let ca = match &policy.inventory {
        Some(inv) => ca.with_inventory(inv.clone()),
        None => ca,
    };
    // Carriers may sign delegation tokens with the certificates this CA issued (issue 3).
    let verifier = TokenVerifier::new(&policy, extra_anchors)
        .with_own_hierarchy(ca.root_der().to_vec(), ca.chain_der().to_vec());
    let nonces = NonceKey::load_or_create(cfg.data_dir.join("nonce.key"))
        .map_err(|e| format!("nonce key: {e}"))?;
    let urls = Urls::new(&base);
    let prefix = urls.path_prefix();
    let housekeeping = sa.clone();
    let crl = Arc::new(CrlPublisher::new(
        sa.clone(),
        Arc::new(crl_signer),
        &urls.crl(),
        cfg.crl.clone(),
    ));
    crl.refresh(crate::acme::now())
        .await
        .map_err(|e| format!("publishing the CRL: {e}"))?;
    let status = Arc::new(StatusState::new(
        sa.clone(),
        urls.clone(),
        crl.clone(),
        ca.chain_der(),
    ));
    let ocsp = crate::status::ocsp_service::build(&ca, sa.clone())?;
    let ocsp_sa = sa.clone();
    let state = Arc::new(AppState {
        ra: Ra::new(sa, ca, verifier, policy).with_crl_publisher(crl.clone()),
        nonces,
        urls,
        max_body_bytes: cfg.max_body_bytes,
    });
    let rotation_state = state.clone();
    crate::status::ocsp_service::spawn_maintenance(ocsp.clone(), ocsp_sa, move |now| {
        rotation_state.ra.ca().ocsp_responder(
            crate::status::ocsp::DEFAULT_RESPONDER_CERT_LIFETIME_SECS,
            now,
        )
    });
    let mut router = wfe::router(state)
        .merge(status::router(status))
        .merge(crate::status::ocsp_service::staple_router(
            &prefix,
            ocsp.clone(),
        ))
        .merge(crate::status::ocsp::router_at(&prefix, ocsp.clone()))
        .merge(crate::wfe::health::router(health));
    if let Some(pa) = &pa {
        router = router.nest(&format!("{prefix}/sti-pa"), pa.router());
    }
    // Last, so that it wraps every route above (request ids, access log, metrics).
    let router = router.layer(axum::middleware::from_fn(crate::wfe::request::track));
    Ok(Built {
        app: Front::with_ocsp(router, &prefix, ocsp),
        base,
        pa,
        storage: housekeeping,
        crl,
    })
}

/// How often expired nonce and token records are purged.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Purges expired replay records (nonces, token uses) every [`PURGE_INTERVAL`] on the replica
/// holding the jobs lease (src/jobs.rs). Each purge is a plain conditional DELETE, so two
/// replicas running it together would only repeat work.
fn spawn_housekeeping(sa: Storage, jobs: Leadership) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_INTERVAL);
        loop {
            tick.tick().await;
            let now = crate::acme::now();
            if !jobs.leads(now) {
                continue;
            }
            match sa.purge_expired(now).await {
                Ok(n) if n > 0 => tracing::debug!(purged = n, "expired replay records purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired records failed"),
            }
        }
    });
}

/// The CRL distribution point for issued certificates: from policy, or the dev token
/// authority's CRL (the STI-PA's indirect CRL in production, standards.md §3.2).
fn crl_distribution_point(
    policy: &Policy,
    pa: Option<&DevTokenAuthority>,
) -> Result<CrlDistributionPoint, String> {
    let issuance = &policy.file.issuance;
    let crl_issuer_der = match &issuance.crl_issuer {
        Some(path) => {
            Some(crate::ca::name_from_file(path).map_err(|e| format!("issuance.crl_issuer: {e}"))?)
        }
        None if issuance.crl_url.is_none() => pa
            .map(|p| p.crl_issuer_name_der())
            .transpose()
            .map_err(|e| format!("dev token authority CRL issuer: {e}"))?,
        None => None,
    };
    let url = match (&issuance.crl_url, pa) {
        (Some(u), _) => u.clone(),
        (None, Some(pa)) => pa.crl_url(),
        (None, None) => {
            return Err("issuance.crl_url must be set when the dev token authority is off".into());
        }
    };
    Ok(CrlDistributionPoint {
        url,
        crl_issuer_der,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Serves until SIGINT/SIGTERM, finishing in-flight requests. Binds first, so that
/// `--listen 127.0.0.1:0` works: without an external URL the bound address is used.
pub async fn serve(mut cfg: Config) -> Result<(), String> {
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    cfg.listen = local;
    let built = build(&cfg).await?;
    let jobs = Leadership::new(built.storage.clone(), JOBS_LEASE);
    jobs.renew(crate::acme::now()).await;
    jobs.spawn_renewal();
    spawn_housekeeping(built.storage.clone(), jobs.clone());
    crate::status::crl::spawn_scheduler(built.crl.clone(), jobs.clone());
    announce(&built, local);
    let served = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => crate::tls::serve_tls(listener, built.app, cert, key).await,
        _ => axum::serve(listener.tap_io(set_nodelay), Shared::new(built.app))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string()),
    };
    // Another replica takes the jobs at its next renewal instead of waiting for the lease to expire.
    jobs.release().await;
    served
}

/// TCP_NODELAY on every accepted connection: a response is written whole, so Nagle's algorithm
/// only delays it, by up to a delayed-ACK period (40 ms on Linux) when a client pipelines
/// requests or a response leaves in two segments.
pub(crate) fn set_nodelay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
}

fn announce(built: &Built, local: std::net::SocketAddr) {
    let directory = format!("{}/directory", built.base);
    tracing::info!(listen = %local, directory = %directory, "stica is serving");
    // Machine-readable line for scripts and tests.
    println!("stica listening on {local}");
    println!("ACME directory: {directory}");
    if let Some(pa) = &built.pa {
        println!(
            "Get a certificate with the dev token authority:\n  stica client --directory {directory} --tnauthlist spc:1234 \\\n    --token-authority {}/sti-pa --pa-user {} --pa-password {} --out ./cert-1234",
            built.base,
            pa.dev_user(),
            pa.dev_password()
        );
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
