//! A local HTTP server for x5u and CRL tests: paths answer with what the test set.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode, Uri, header};

/// What a path answers.
#[derive(Clone)]
pub(crate) enum Route {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
    /// 200 after a delay.
    Slow(Duration, Vec<u8>),
}

type Routes = Arc<Mutex<HashMap<String, Route>>>;
type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// A running server on 127.0.0.1.
pub(crate) struct TestServer {
    pub(crate) port: u16,
    routes: Routes,
    hits: Hits,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0.
    pub(crate) async fn start() -> Self {
        let routes: Routes = Arc::default();
        let hits: Hits = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (routes, hits) = (r.clone(), h.clone());
            async move {
                let path = uri.path().to_string();
                *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                let route = routes.lock().unwrap().get(&path).cloned();
                match route {
                    None => Response::builder()
                        .status(StatusCode::NOT_FOUND)
                        .body(Body::empty())
                        .unwrap(),
                    Some(Route::Body(b)) => Response::new(Body::from(b)),
                    Some(Route::Redirect(to)) => Response::builder()
                        .status(StatusCode::FOUND)
                        .header(header::LOCATION, to)
                        .body(Body::empty())
                        .unwrap(),
                    Some(Route::Slow(d, b)) => {
                        tokio::time::sleep(d).await;
                        Response::new(Body::from(b))
                    }
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { port, routes, hits }
    }

    /// Sets what `path` answers.
    pub(crate) fn set(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), route);
    }

    /// How many requests `path` got.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A raw HTTP/1.1 server that answers every request with a chunked body of `len` bytes (no
/// Content-Length, so only a streaming size cap can stop it). Returns its base URL.
pub(crate) async fn chunked_server(len: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                    .await;
                let mut left = len;
                while left > 0 {
                    let n = left.min(1024);
                    let chunk = format!("{n:x}\r\n{}\r\n", "A".repeat(n));
                    if sock.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = sock.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}
