//! The app's HTTP server (`src/server.rs`): a half-sent request is closed
//! after the read timeout, and connections past the cap wait until one
//! closes. Short settings, so the tests wait milliseconds, not minutes.

use std::time::Duration;

use sf_inbox::server::{serve_counted, OpenConnections, ServerLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

async fn serve_app(limits: ServerLimits) -> (String, OpenConnections, TestApp) {
    let app = spawn().await;
    let built =
        sf_inbox::app::build(&config_for(&app.org, &[]), sf_inbox::store::Store::memory()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let open = OpenConnections::default();
    let counted = open.clone();
    tokio::spawn(async move {
        serve_counted(
            listener,
            built.router,
            limits,
            std::future::pending(),
            counted,
        )
        .await
        .unwrap();
    });
    (addr, open, app)
}

/// Reads until the server closes the connection (or 5 s pass: a failure).
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept a half-sent request open");
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_read_timeouts() {
    let (addr, _, _app) = serve_app(ServerLimits {
        header_timeout: Duration::from_millis(200),
        body_timeout: Duration::from_millis(200),
        max_connections: 16,
    })
    .await;

    // Headers never finished.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /canvas/initialize HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .await
        .unwrap();
    read_to_close(&mut s).await;

    // Headers complete, body stalls after 10 of 100 bytes.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /canvas/initialize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          X-Body-Signature: sha256=00\r\nContent-Length: 100\r\n\r\n{\"a\":12345",
    )
    .await
    .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");

    // A whole request on a fresh connection is still answered.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let (addr, open, _app) = serve_app(ServerLimits {
        header_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        max_connections: 2,
    })
    .await;
    // Two idle connections take the two places.
    let first = TcpStream::connect(&addr).await.unwrap();
    let second = TcpStream::connect(&addr).await.unwrap();
    while open.get() < 2 {
        tokio::task::yield_now().await;
    }
    let url = format!("http://{addr}/healthz");
    let waiting = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    // It is accepted by the kernel but not served while the cap is full
    // (an absence can only be watched for a while: 300 ms).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a third connection was served");
    assert_eq!(open.get(), 2, "never more than the cap");
    drop(first);
    let status = waiting.await.unwrap().unwrap();
    assert_eq!(status, 200);
    assert!(open.get() <= 2);
    drop(second);
}
