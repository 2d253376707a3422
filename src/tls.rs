//! HTTPS with rustls, for deployments that terminate TLS in stica itself.

use std::path::Path;
use std::sync::Arc;

use crate::status::ocsp::front::Front;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Loads a PEM chain and a PKCS#8 PEM key into a rustls server config.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, String> {
    let chain_pem = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = crate::x509::pem_certificates(&chain_pem)?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    if chain.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key_pem = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let key_der = crate::x509::pem_blocks(&key_pem, "PRIVATE KEY")?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no PKCS#8 PRIVATE KEY block", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )
        .map_err(|e| format!("TLS key and certificate: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts TLS connections and serves the router on each until SIGINT/SIGTERM.
pub async fn serve_tls(
    listener: TcpListener,
    app: Front,
    cert: &Path,
    key: &Path,
) -> Result<(), String> {
    let acceptor = TlsAcceptor::from(Arc::new(server_config(cert, key)?));
    let shutdown = crate::server::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let mut tcp = tcp;
        crate::server::set_nodelay(&mut tcp);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp))
                    .await
            else {
                tracing::debug!(%peer, "TLS handshake failed");
                return;
            };
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
