//! A TCP load balancer in the test process, standing where a carrier's reverse proxy stands in
//! front of several `stica serve` replicas: every new connection goes to the next live backend
//! (round robin), or to the one the test pins. A backend that refuses the connection is skipped,
//! as a proxy's health check would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};

/// Which backend new connections go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The next backend for each connection.
    RoundRobin,
    /// Always backend `n` (falls back to the others when it refuses).
    Pinned(usize),
}

/// A running balancer.
pub struct Balancer {
    /// The address clients connect to.
    pub addr: SocketAddr,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    route: Arc<Mutex<Route>>,
    /// How many connections each backend received.
    counts: Arc<Vec<AtomicUsize>>,
}

impl Balancer {
    /// Listens on 127.0.0.1 for `n` backends, set later with [`Balancer::set_backends`] (the
    /// replicas need the balancer's address as their external URL before they start).
    pub async fn start(n: usize) -> Balancer {
        let backends: Vec<SocketAddr> = (0..n)
            .map(|_| SocketAddr::from(([127, 0, 0, 1], 9)))
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new(backends.iter().map(|_| AtomicUsize::new(0)).collect());
        let backends = Arc::new(Mutex::new(backends));
        let route = Arc::new(Mutex::new(Route::RoundRobin));
        let next = Arc::new(AtomicUsize::new(0));
        let (b, r, c) = (backends.clone(), route.clone(), counts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let list = b.lock().expect("backends").clone();
                let first = match *r.lock().expect("route") {
                    Route::RoundRobin => next.fetch_add(1, Ordering::Relaxed),
                    Route::Pinned(n) => n,
                };
                let counts = c.clone();
                tokio::spawn(async move {
                    for i in 0..list.len() {
                        let n = (first + i) % list.len();
                        if let Ok(mut outbound) = TcpStream::connect(list[n]).await {
                            counts[n].fetch_add(1, Ordering::Relaxed);
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Balancer {
            addr,
            backends,
            route,
            counts,
        }
    }

    /// The base URL clients and `--external-url` use.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Routes new connections.
    pub fn set_route(&self, route: Route) {
        *self.route.lock().expect("route") = route;
    }

    /// Replaces the backend list (same length as at start, for the counters).
    pub fn set_backends(&self, backends: Vec<SocketAddr>) {
        *self.backends.lock().expect("backends") = backends;
    }

    /// Connections backend `n` has received.
    pub fn connections(&self, n: usize) -> usize {
        self.counts.get(n).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}
