//! The connection limits of `realms::listen`: a client that never finishes its headers, and one that
//! stops reading its answer, are let go instead of pinning a connection forever.

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use realms::listen::{serve, ConnectionLimits};

async fn start(router: Router, limits: ConnectionLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    addr
}

const SHORT: ConnectionLimits = ConnectionLimits {
    header_read_timeout: Duration::from_millis(300),
    client_write_timeout: Duration::from_millis(300),
};

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let addr = start(Router::new().route("/", get(|| async { "hi" })), SHORT).await;
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .expect("the server closes the connection");
    // Closed (0 bytes) or reset, possibly after a 408: never an answer to the request.
    if let Ok(n) = read {
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
}

/// Tells the test when the response body is dropped (the connection was given up).
struct Dropped(Option<oneshot::Sender<()>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let (dropped_tx, dropped) = oneshot::channel();
    let guard = std::sync::Mutex::new(Some(dropped_tx));
    let guard = std::sync::Arc::new(guard);
    let router = Router::new().route(
        "/big",
        get(move || {
            let tx = guard.lock().unwrap().take();
            async move {
                let marker = Dropped(tx);
                // An endless answer: only the client's reading could ever end it.
                let chunks = futures_util::stream::unfold(marker, |m| async move {
                    Some((
                        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 64 * 1024])),
                        m,
                    ))
                });
                Body::from_stream(chunks)
            }
        }),
    );
    let addr = start(router, SHORT).await;
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Never read: the server's writes fill the socket buffers and then wait.
    tokio::time::timeout(Duration::from_secs(20), dropped)
        .await
        .expect("the server gives up on a client that does not read")
        .unwrap();
    drop(tcp);
}
