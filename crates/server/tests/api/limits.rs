//! Limits under hostile load, over real sockets: password hashing runs a few at a time, and slow
//! clients (a head that never ends, a body that never arrives, an idle connection) are cut off,
//! with a cap on open connections.

use std::time::{Duration, Instant};

use igny8_server::serve::ConnectionLimits;
use igny8_server::Settings;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

fn with_limits(limits: ConnectionLimits) -> Settings {
    Settings {
        connections: limits,
        ..Settings::default()
    }
}

fn quick(
    header_ms: u64,
    body_ms: u64,
    keep_alive_ms: u64,
    max_connections: usize,
) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_millis(header_ms),
        body_timeout: Duration::from_millis(body_ms),
        keep_alive_timeout: Duration::from_millis(keep_alive_ms),
        max_connections,
    }
}

/// Reads one HTTP/1.1 answer (head and a `Content-Length` body): its status line and body.
async fn read_answer(stream: &mut TcpStream) -> (String, String) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await.expect("the answer is read");
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while got.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed in the middle of the body");
        got.extend_from_slice(&buf[..n]);
    }
    let status = head.lines().next().unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(&got[head_end..head_end + length]).into_owned();
    (status, body)
}

/// Waits (at most `within`) for the server to close the connection; answers how long it took.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {within:?}"),
        }
    }
}

const LIVEZ: &[u8] = b"GET /livez HTTP/1.1\r\nHost: test\r\n\r\n";

#[tokio::test]
async fn sign_ins_beyond_the_hashing_cap_get_503_with_retry_after() {
    let app = TestApp::spawn_with(Settings {
        password_hashes_at_once: 1,
        password_hash_wait: Duration::from_millis(1),
        login_limit_per_ip: 1_000,
        ..Settings::default()
    })
    .await;
    for n in 0..4 {
        app.user(&format!("u{n}@example.com")).await;
    }
    let attempts: Vec<_> = (0..16)
        .map(|n| {
            let request = app.client.post(app.url("/api/v1/auth/login/")).json(
                &json!({"email": format!("u{}@example.com", n % 4), "password": "wrong password"}),
            );
            tokio::spawn(async move { request.send().await.unwrap() })
        })
        .collect();
    let (mut wrong, mut busy) = (0, 0);
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["code"], "server_busy", "{body}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(wrong >= 1 && busy >= 1, "{wrong} checked, {busy} refused");
}

#[tokio::test]
async fn sign_ins_within_the_wait_take_their_turn() {
    let app = TestApp::spawn_with(Settings {
        password_hashes_at_once: 1,
        password_hash_wait: Duration::from_secs(60),
        ..Settings::default()
    })
    .await;
    app.user("ann@example.com").await;
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let request = app
                .client
                .post(app.url("/api/v1/auth/login/"))
                .json(&json!({"email": "ann@example.com", "password": crate::helpers::PASSWORD}));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for attempt in attempts {
        assert_eq!(attempt.await.unwrap(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let app = TestApp::spawn_with(with_limits(quick(300, 30_000, 30_000, 100))).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
}

#[tokio::test]
async fn a_head_dripping_byte_by_byte_is_cut_off_at_the_header_timeout() {
    let app = TestApp::spawn_with(with_limits(quick(500, 30_000, 30_000, 100))).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    let mut cut = false;
    for byte in b"GET /livez HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if stream.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    if !cut {
        closed_within(&mut stream, Duration::from_secs(1)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_keep_alive_timeout() {
    let app = TestApp::spawn_with(with_limits(quick(30_000, 30_000, 300, 100))).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
}

#[tokio::test]
async fn a_kept_alive_connection_serves_requests_until_it_idles_past_the_timeout() {
    let app = TestApp::spawn_with(with_limits(quick(30_000, 30_000, 600, 100))).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..3 {
        stream.write_all(LIVEZ).await.unwrap();
        let (status, _) = read_answer(&mut stream).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let took = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_and_closed() {
    let app = TestApp::spawn_with(with_limits(quick(30_000, 400, 30_000, 100))).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/login/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\": ",
        )
        .await
        .unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream))
        .await
        .expect("answered within the body timeout");
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(body.contains("\"code\":\"request_timeout\""), "{body}");
    closed_within(&mut stream, Duration::from_secs(5)).await;
}

/// A content batch's body is read by its own loop (into one buffer of the announced size): a body
/// that stops arriving is answered 408 there too, and one announced beyond the limit is refused
/// 413 once it passes the limit, whatever it announced.
#[tokio::test]
async fn a_batch_body_that_never_arrives_is_answered_408_and_one_beyond_the_limit_413() {
    let app = TestApp::spawn_with(with_limits(quick(30_000, 400, 30_000, 100))).await;
    let fx = app.fixture("ann@example.com").await;
    let head = |length: usize| {
        format!(
            "POST /api/v1/integration/integrations/{}/content/batch/ HTTP/1.1\r\nHost: test\r\n\
             Authorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
            fx.integration_id, fx.key
        )
    };
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(format!("{}{{\"batch_id\": \"b\", \"items\": [", head(100_000)).as_bytes())
        .await
        .unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream))
        .await
        .expect("answered within the body timeout");
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(body.contains("\"code\":\"request_timeout\""), "{body}");
    closed_within(&mut stream, Duration::from_secs(5)).await;

    let limit = igny8_domain::content::MAX_BATCH_BYTES;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(head(usize::MAX / 2).as_bytes())
        .await
        .unwrap();
    // One byte more than the limit, all of it read before the answer.
    stream.write_all(&vec![b' '; limit + 1]).await.unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream))
        .await
        .expect("answered once past the limit");
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(body.contains("\"code\":\"payload_too_large\""), "{body}");
}

/// The header timeout covers the head only: a body may take longer (up to its own timeout), and so
/// may the handler.
#[tokio::test]
async fn a_slow_body_within_its_timeout_is_served() {
    let app = TestApp::spawn_with(with_limits(quick(200, 10_000, 30_000, 100))).await;
    app.user("ann@example.com").await;
    let body =
        json!({"email": "ann@example.com", "password": crate::helpers::PASSWORD}).to_string();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/auth/login/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(body.len() / 3 + 1) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stream.write_all(chunk).await.unwrap();
    }
    let (status, answer) = read_answer(&mut stream).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status} {answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_with(with_limits(quick(30_000, 30_000, 30_000, 2))).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(LIVEZ).await.unwrap();
        read_answer(&mut stream).await;
        open.push(stream);
    }
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third.write_all(LIVEZ).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), read_answer(&mut third)).await;
    assert!(
        waited.is_err(),
        "a third connection was served beyond the cap"
    );
    drop(open.pop());
    let (status, _) = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut third))
        .await
        .expect("served once a connection closed");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
}
