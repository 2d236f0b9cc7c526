//! Serving HTTP/1.1 over TCP with limits a slow or hostile client cannot outlast: a deadline for a
//! request's head, one for its body, one for an idle kept-alive connection, and a cap on open
//! connections. (`axum::serve` has none of these: a client that never finished its headers held a
//! connection for as long as it liked.)

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::metrics::Metrics;

/// How long a client may take, and how many connections may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From a request's first byte to the end of its head.
    pub header_timeout: Duration,
    /// From the end of a request's head to the end of its body.
    pub body_timeout: Duration,
    /// How long a connection may wait for its next request (or a new one for its first).
    pub keep_alive_timeout: Duration,
    /// Open connections at most; more wait in the listen queue until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            keep_alive_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// A request body that did not arrive within the body timeout.
#[derive(Debug)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

impl BodyTimeout {
    /// Whether a body read failed because of the body timeout.
    pub fn caused(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if e.is::<BodyTimeout>() {
                return true;
            }
            cause = e.source();
        }
        false
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets the requests in
/// flight finish, and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    metrics: Option<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each connection holds a receiver; `closed()` resolves when the last one is gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, stop, open) = (app.clone(), stop_rx.clone(), open_rx.clone());
        let counted = metrics.as_ref().map(Metrics::connection_opened);
        tokio::spawn(async move {
            connection(stream, remote, app, limits, stop).await;
            drop((slot, open, counted));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// A failed accept: a connection reset before it was taken is nothing; anything else (out of file
/// descriptors) is logged and waited out, as a busy loop would only make it worse.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
        limits,
        idle_since: Instant::now(),
        deadline: Box::pin(tokio::time::sleep(limits.keep_alive_timeout)),
    });
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        let in_flight = InFlight::start(activity.clone());
        let mut req = req.map(|body| {
            Body::new(Deadline {
                inner: body,
                timeout: limits.body_timeout,
                started: Instant::now(),
                sleep: None,
            })
        });
        req.extensions_mut().insert(ConnectInfo(remote));
        async move {
            let mut req: Request = req;
            crate::middleware::trim_trailing_slash(&mut req);
            let response = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(Answer {
                    inner: body,
                    _in_flight: in_flight,
                })
            }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection closed");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    // Finishes the request in flight, if any, then closes.
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// What a connection is doing, shared by its socket (which reads) and its requests.
#[derive(Default)]
struct Activity {
    /// Requests whose answer has not been sent yet.
    in_flight: AtomicUsize,
    /// Set when an answer finished: the socket starts its keep-alive wait.
    became_idle: AtomicBool,
    /// When the first byte of the next request's head arrived (while idle).
    head_started: Mutex<Option<Instant>>,
    /// The connection's task, woken when it becomes idle so its socket arms the keep-alive
    /// deadline (hyper does not read again on its own until the client sends something).
    waker: Mutex<Option<Waker>>,
}

/// Marks a request in flight until its answer has been written (or dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut head) = activity.head_started.lock() {
            *head = None;
        }
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.became_idle.store(true, Ordering::SeqCst);
            if let Some(waker) = self.0.waker.lock().ok().and_then(|mut w| w.take()) {
                waker.wake();
            }
        }
    }
}

/// The socket, with the deadlines that apply while no request is in flight: the keep-alive wait
/// until a request's first byte, then the header timeout until the request starts.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    idle_since: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl Watched {
    /// The deadline now in force, `None` while a request is in flight (its body has its own).
    fn deadline(&mut self) -> Option<Instant> {
        if self.activity.became_idle.swap(false, Ordering::SeqCst) {
            self.idle_since = Instant::now();
        }
        if self.activity.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let head = self.activity.head_started.lock().ok().and_then(|h| *h);
        Some(match head {
            Some(started) => started + self.limits.header_timeout,
            None => self.idle_since + self.limits.keep_alive_timeout,
        })
    }

    fn note_bytes(&self) {
        if self.activity.in_flight.load(Ordering::SeqCst) == 0 {
            if let Ok(mut head) = self.activity.head_started.lock() {
                head.get_or_insert_with(Instant::now);
            }
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.note_bytes();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if let Ok(mut waker) = self.activity.waker.lock() {
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *waker = Some(cx.waker().clone());
                    }
                }
                let Some(deadline) = self.deadline() else {
                    return Poll::Pending;
                };
                if self.deadline.deadline() != deadline {
                    self.deadline.as_mut().reset(deadline);
                }
                match self.deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that must arrive whole within the body timeout from the end of the head.
struct Deadline {
    inner: Incoming,
    timeout: Duration,
    started: Instant,
    /// Made the first time the body is not there yet: most bodies never need one.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let at = self.started + self.timeout;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body; the request stays in flight until it has been written or dropped.
struct Answer {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
