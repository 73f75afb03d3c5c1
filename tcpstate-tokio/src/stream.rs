//! `TcpStream`: tokio's `AsyncRead`/`AsyncWrite` over one engine connection.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tcpstate::{CloseReason, Handle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::engine::{Recv, Send};
use crate::stack::{ConnState, Shared, Stack};

/// The error a read or write returns once the connection ended this way.
pub(crate) fn reason_error(r: CloseReason) -> io::Error {
    use io::ErrorKind as K;
    let kind = match r {
        CloseReason::Normal => K::BrokenPipe,
        CloseReason::Refused => K::ConnectionRefused,
        CloseReason::Reset => K::ConnectionReset,
        CloseReason::TimedOut | CloseReason::UserTimeout | CloseReason::FinTimeout => K::TimedOut,
        CloseReason::Aborted => K::ConnectionAborted,
        // An ICMP error while opening (Config::linux_icmp): most are
        // unreachable errors; the connection's soft_error says which.
        CloseReason::Unreachable => K::HostUnreachable,
    };
    io::Error::new(kind, r)
}

/// One connection as the application holds it; shared by the halves of a
/// split stream. Dropping the last one lets the connection go.
pub(crate) struct Io {
    pub(crate) shared: Arc<Shared>,
    pub(crate) h: Handle,
}

impl Drop for Io {
    fn drop(&mut self) {
        self.shared.with(|g| {
            g.release(self.h);
            g.users -= 1;
            g.kick();
        });
    }
}

impl Io {
    /// Registers a new connection with the stack.
    pub(crate) fn new(
        shared: &Arc<Shared>,
        g: &mut crate::stack::Inner,
        h: Handle,
        st: ConnState,
    ) -> Arc<Io> {
        g.conns.insert(h, st);
        g.users += 1;
        Arc::new(Io {
            shared: shared.clone(),
            h,
        })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        self.shared.with(|g| {
            let now = g.now();
            let r = g.eng.recv(now, self.h, buf.initialize_unfilled());
            match r {
                Recv::Data(n) => {
                    buf.advance(n);
                    g.kick(); // the window may have opened
                    Poll::Ready(Ok(()))
                }
                Recv::Eof => Poll::Ready(Ok(())),
                Recv::Closed(Some(r)) if r != CloseReason::Normal => {
                    Poll::Ready(Err(reason_error(r)))
                }
                Recv::Closed(_) | Recv::WouldBlock => {
                    let Some(c) = g.conns.get_mut(&self.h) else {
                        return Poll::Ready(Err(g.error()));
                    };
                    match (r, c.end) {
                        (Recv::Closed(_), Some(CloseReason::Normal)) => Poll::Ready(Ok(())),
                        (_, Some(r)) if r != CloseReason::Normal => {
                            Poll::Ready(Err(reason_error(r)))
                        }
                        (Recv::Closed(_), _) => Poll::Ready(Ok(())),
                        _ if g.failed.is_some() => Poll::Ready(Err(g.error())),
                        _ => {
                            c.read = Some(cx.waker().clone());
                            Poll::Pending
                        }
                    }
                }
            }
        })
    }

    fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.shared.with(|g| {
            let now = g.now();
            match g.eng.send(now, self.h, data) {
                Send::Sent(n) => {
                    g.kick();
                    Poll::Ready(Ok(n))
                }
                Send::Closing => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Send::Closed(r) => {
                    let r = r.or_else(|| g.conns.get(&self.h).and_then(|c| c.end));
                    Poll::Ready(Err(r.map_or_else(|| g.error(), reason_error)))
                }
                Send::WouldBlock => {
                    if g.failed.is_some() {
                        return Poll::Ready(Err(g.error()));
                    }
                    let Some(c) = g.conns.get_mut(&self.h) else {
                        return Poll::Ready(Err(g.error()));
                    };
                    c.write = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }

    fn shutdown(&self) -> io::Result<()> {
        self.shared.with(|g| {
            let now = g.now();
            g.kick();
            match g.eng.shutdown(now, self.h) {
                Ok(()) => Ok(()),
                Err(Some(CloseReason::Normal)) => Ok(()),
                Err(Some(r)) => Err(reason_error(r)),
                Err(None) => match g.conns.get(&self.h).and_then(|c| c.end) {
                    Some(CloseReason::Normal) => Ok(()),
                    Some(r) => Err(reason_error(r)),
                    None => Err(g.error()),
                },
            }
        })
    }

    fn addrs(&self) -> io::Result<(SocketAddr, SocketAddr)> {
        self.shared.with(|g| {
            let h = self.h;
            let c = g.conns.get(&h).ok_or_else(|| g.error())?;
            if let (Some(l), Some(p)) = (c.local, c.peer) {
                return Ok((l, p));
            }
            let (l, p) = g.eng.addrs(h).ok_or_else(|| g.error())?;
            if let Some(c) = g.conns.get_mut(&h) {
                c.local = Some(l);
                c.peer = Some(p);
            }
            Ok((l, p))
        })
    }
}

/// A TCP connection through a [`Stack`], with tokio's `TcpStream` API.
///
/// - Reading returns end-of-stream (`Ok(0)`) only after every byte the
///   peer sent before its FIN; a reset is an error (`ConnectionReset`),
///   never an end-of-stream, once the data before it was read.
/// - Writing is bounded by the send buffer and may be partial; `flush`
///   returns once the bytes are in the engine.
/// - `shutdown` queues a FIN after the pending data and returns at once;
///   reading goes on (half-close).
/// - Dropping the stream with unread data resets the connection;
///   otherwise the connection finishes on its own (an orphan), delivering
///   its data and FIN. With `set_linger(Some(ZERO))` dropping resets.
pub struct TcpStream {
    io: Arc<Io>,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("handle", &self.io.h)
            .finish()
    }
}

impl TcpStream {
    pub(crate) fn from_io(io: Arc<Io>) -> Self {
        TcpStream { io }
    }

    /// Connects through the default stack ([`Stack::make_default`]), as
    /// `tokio::net::TcpStream::connect` does (every address is tried in
    /// turn).
    pub async fn connect<A: tokio::net::ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let stack = Stack::default_stack()?;
        let mut last = None;
        for a in tokio::net::lookup_host(addr).await? {
            match Self::connect_on(&stack, a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
    }

    pub(crate) async fn connect_on(stack: &Stack, addr: SocketAddr) -> io::Result<TcpStream> {
        let shared = &stack.shared;
        let io = shared.with(|g| {
            let now = g.now();
            let h = g
                .eng
                .connect(now, None, addr)
                .map_err(crate::listener::endpoint_error)?;
            g.kick();
            Ok::<_, io::Error>(Io::new(shared, g, h, ConnState::default()))
        })?;
        // Dropping `io` before the handshake completes aborts it.
        std::future::poll_fn(|cx| {
            shared.with(|g| {
                let Some(c) = g.conns.get_mut(&io.h) else {
                    return Poll::Ready(Err(g.error()));
                };
                if c.connected {
                    return Poll::Ready(Ok(()));
                }
                if let Some(r) = c.end {
                    return Poll::Ready(Err(reason_error(r)));
                }
                if g.failed.is_some() {
                    return Poll::Ready(Err(g.error()));
                }
                c.write = Some(cx.waker().clone());
                Poll::Pending
            })
        })
        .await?;
        Ok(TcpStream { io })
    }

    /// The local address and port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.addrs().map(|a| a.0)
    }
    /// The remote address and port.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.addrs().map(|a| a.1)
    }
    /// Turns Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.shared.with(|g| {
            let now = g.now();
            if g.eng.set_nodelay(now, self.io.h, nodelay) {
                g.kick();
                Ok(())
            } else {
                Err(g.error())
            }
        })
    }
    /// What happens on drop (`SO_LINGER`): `Some(ZERO)` resets the
    /// connection; `None` (the default) lets it finish as an orphan that
    /// still delivers its data and FIN. Other durations act as `None`: a
    /// drop never blocks, and the orphan's life is bounded by the engine's
    /// own limits.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.io.shared.with(|g| match g.conns.get_mut(&self.io.h) {
            Some(c) => {
                c.linger = linger;
                Ok(())
            }
            None => Err(g.error()),
        })
    }
    /// The linger setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.io.shared.with(|g| {
            g.conns
                .get(&self.io.h)
                .map(|c| c.linger)
                .ok_or_else(|| g.error())
        })
    }
    /// The connection's counters (segments, retransmissions, timeouts,
    /// recoveries, ...), like `TCP_INFO`; `None` once it is over.
    pub fn tcp_stats(&self) -> Option<tcpstate::Stats> {
        self.io.shared.with(|g| g.eng.stats(self.io.h))
    }
    /// Splits into halves that can move to different tasks. Dropping the
    /// write half shuts the writing direction down (as tokio's).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                io: self.io.clone(),
            },
            OwnedWriteHalf {
                io: self.io,
                shutdown_on_drop: true,
            },
        )
    }
    /// Borrowed halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf { io: &self.io }, WriteHalf { io: &self.io })
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown())
    }
}

/// The reading half of [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    io: Arc<Io>,
}

/// The writing half of [`TcpStream::into_split`]; dropping it shuts the
/// writing direction down.
pub struct OwnedWriteHalf {
    io: Arc<Io>,
    shutdown_on_drop: bool,
}

/// Neither half of the same stream: [`OwnedReadHalf::reunite`] failed.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}
impl std::error::Error for ReuniteError {}

impl std::fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("handle", &self.io.h)
            .finish()
    }
}
impl std::fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("handle", &self.io.h)
            .finish()
    }
}

impl OwnedReadHalf {
    /// Puts the stream back together.
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if Arc::ptr_eq(&self.io, &other.io) {
            other.shutdown_on_drop = false;
            drop(other);
            Ok(TcpStream { io: self.io })
        } else {
            Err(ReuniteError(self, other))
        }
    }
    /// The remote address and port.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.addrs().map(|a| a.1)
    }
    /// The local address and port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.addrs().map(|a| a.0)
    }
}

impl OwnedWriteHalf {
    /// The remote address and port.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.addrs().map(|a| a.1)
    }
    /// The local address and port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.addrs().map(|a| a.0)
    }
    /// Drops the half without shutting the writing direction down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.io.shutdown();
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.poll_read(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown())
    }
}

/// The reading half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a> {
    io: &'a Arc<Io>,
}

/// The writing half of [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a> {
    io: &'a Arc<Io>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Io({})", self.h)
    }
}

impl AsyncRead for ReadHalf<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.io.poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteHalf<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown())
    }
}
