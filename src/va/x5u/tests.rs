use super::*;
use crate::va::testserver::{Route, TestServer, chunked_server};

fn policy(http: bool, private: bool) -> AuthorityTokenPolicy {
    AuthorityTokenPolicy {
        danger_allow_http_x5u: http,
        allow_private_x5u: private,
        x5u_timeout_ms: 1000,
        x5u_max_bytes: 4096,
        x5u_cache_ttl_secs: 60,
        ..AuthorityTokenPolicy::default()
    }
}

#[test]
fn public_address_classification() {
    for private in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "0.1.2.3",
        "100.64.0.1",
        "192.0.0.8",
        "198.18.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2001:db8::1",
    ] {
        assert!(!is_public(private.parse().unwrap()), "{private}");
    }
    for public in [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ] {
        assert!(is_public(public.parse().unwrap()), "{public}");
    }
}

#[tokio::test]
async fn scheme_and_credentials_rules() {
    let f = Fetcher::new(&policy(false, false));
    assert_eq!(
        f.fetch("http://example.com/cert.pem", 0).await,
        Err(FetchError::Scheme("http".into()))
    );
    assert_eq!(
        f.fetch("ftp://example.com/cert.pem", 0).await,
        Err(FetchError::Scheme("ftp".into()))
    );
    assert_eq!(
        f.fetch("https://user:pw@example.com/cert.pem", 0).await,
        Err(FetchError::Credentials)
    );
    assert!(matches!(
        f.fetch("not a url", 0).await,
        Err(FetchError::BadUrl(_))
    ));
    // An IP literal is judged before any connection.
    assert!(matches!(
        f.fetch("https://127.0.0.1:1/cert.pem", 0).await,
        Err(FetchError::PrivateAddress { .. })
    ));
    assert!(matches!(
        f.fetch("https://[::1]:1/cert.pem", 0).await,
        Err(FetchError::PrivateAddress { .. })
    ));
    assert!(FetchError::Scheme("http".into()).is_policy_refusal());
    assert!(!FetchError::Timeout.is_policy_refusal());
}

#[tokio::test]
async fn private_addresses_refused_unless_allowed() {
    let server = TestServer::start().await;
    server.set("/cert.pem", Route::Body(b"hello".to_vec()));
    let f = Fetcher::new(&policy(true, false));
    let err = f.fetch(&server.url("/cert.pem"), 0).await.unwrap_err();
    assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err}");
    // A name that resolves to loopback is refused by the resolver, before any connection.
    let by_name = format!("http://localhost:{}/cert.pem", server.port);
    let err = f.fetch(&by_name, 0).await.unwrap_err();
    assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err}");
    assert_eq!(server.hits("/cert.pem"), 0);

    let f = Fetcher::new(&policy(true, true));
    assert_eq!(&*f.fetch(&by_name, 0).await.unwrap(), b"hello");
    assert_eq!(server.hits("/cert.pem"), 1);
}

#[tokio::test]
async fn bodies_are_cached_for_the_ttl() {
    let server = TestServer::start().await;
    server.set("/c", Route::Body(b"one".to_vec()));
    let f = Fetcher::new(&policy(true, true));
    let url = server.url("/c");
    assert_eq!(&*f.fetch(&url, 1000).await.unwrap(), b"one");
    server.set("/c", Route::Body(b"two".to_vec()));
    assert_eq!(&*f.fetch(&url, 1059).await.unwrap(), b"one");
    assert_eq!(server.hits("/c"), 1);
    assert_eq!(&*f.fetch(&url, 1060).await.unwrap(), b"two");
    assert_eq!(server.hits("/c"), 2);
    assert_eq!(&*f.fetch_fresh(&url, 1061).await.unwrap(), b"two");
    assert_eq!(server.hits("/c"), 3);
    // Failures are not cached.
    assert_eq!(
        f.fetch(&server.url("/missing"), 1000).await,
        Err(FetchError::Status(404))
    );
    assert_eq!(f.cache_len(), 1);
}

#[tokio::test]
async fn cache_is_bounded() {
    let server = TestServer::start().await;
    let f = Fetcher::new(&policy(true, true));
    for i in 0..(CACHE_CAPACITY + 10) {
        let path = format!("/c{i}");
        server.set(&path, Route::Body(vec![1]));
        f.fetch(&server.url(&path), 5).await.unwrap();
    }
    assert_eq!(f.cache_len(), CACHE_CAPACITY);
    // Once the entries are past their TTL, a new one sweeps them out.
    server.set("/late", Route::Body(vec![1]));
    f.fetch(&server.url("/late"), 100).await.unwrap();
    assert_eq!(f.cache_len(), 1);
}

#[tokio::test]
async fn redirects_are_refused_not_followed() {
    let server = TestServer::start().await;
    server.set("/target", Route::Body(b"x".to_vec()));
    server.set("/r", Route::Redirect(server.url("/target")));
    let f = Fetcher::new(&policy(true, true));
    assert_eq!(
        f.fetch(&server.url("/r"), 0).await,
        Err(FetchError::Redirect { status: 302 })
    );
    assert_eq!(server.hits("/target"), 0);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = TestServer::start().await;
    server.set("/big", Route::Body(vec![b'A'; 4097]));
    server.set("/exact", Route::Body(vec![b'A'; 4096]));
    let f = Fetcher::new(&policy(true, true));
    assert_eq!(
        f.fetch(&server.url("/big"), 0).await,
        Err(FetchError::TooLarge(4096))
    );
    assert_eq!(f.fetch(&server.url("/exact"), 0).await.unwrap().len(), 4096);
    // Without Content-Length the stream is cut once it passes the cap.
    let base = chunked_server(1024 * 1024).await;
    assert_eq!(
        f.fetch(&format!("{base}/stream"), 0).await,
        Err(FetchError::TooLarge(4096))
    );
}

#[tokio::test]
async fn slow_servers_time_out() {
    let server = TestServer::start().await;
    server.set(
        "/slow",
        Route::Slow(Duration::from_millis(3000), b"late".to_vec()),
    );
    let mut p = policy(true, true);
    p.x5u_timeout_ms = 200;
    let f = Fetcher::new(&p);
    let started = std::time::Instant::now();
    assert_eq!(
        f.fetch(&server.url("/slow"), 0).await,
        Err(FetchError::Timeout)
    );
    assert!(started.elapsed() < Duration::from_millis(2000));
}
