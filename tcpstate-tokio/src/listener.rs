//! `TcpListener`: tokio's listener API over an engine listener.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use tcpstate::{EndpointError, ListenerId, PendingSyn};

use crate::engine::Verdict;
use crate::stack::{ConnState, ListenState, Shared, Stack};
use crate::stream::{Io, TcpStream};

/// The `io::Error` for an Endpoint call the engine refused.
pub(crate) fn endpoint_error(e: EndpointError) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        EndpointError::PortsExhausted => K::AddrNotAvailable,
        EndpointError::AddrInUse => K::AddrInUse,
        EndpointError::InvalidAddress => K::InvalidInput,
        EndpointError::NoLocalAddress => K::AddrNotAvailable,
        EndpointError::TooManyConnections | EndpointError::NoCapacity => K::OutOfMemory,
        EndpointError::AddrNotAvailable => K::AddrNotAvailable,
        EndpointError::UnknownHandle => K::NotConnected,
        EndpointError::Unsupported => K::Unsupported,
        EndpointError::WouldBlock => K::WouldBlock,
        EndpointError::Closed(r) => return crate::stream::reason_error(r),
        EndpointError::Config(_) => K::InvalidInput,
        _ => K::Other,
    };
    io::Error::new(kind, e)
}

/// A listening socket on a [`Stack`], with tokio's `TcpListener` API.
///
/// Connections complete their handshake in the engine and wait in its
/// accept queue (at most `backlog`); when it is full, new SYNs are dropped
/// (the clients retry), never answered with a reset.
pub struct TcpListener {
    shared: Arc<Shared>,
    id: ListenerId,
    addr: SocketAddr,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TcpListener {
    /// Listens on the default stack ([`Stack::make_default`]), as
    /// `tokio::net::TcpListener::bind` does.
    pub async fn bind<A: tokio::net::ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let stack = Stack::default_stack()?;
        let mut last = None;
        for a in tokio::net::lookup_host(addr).await? {
            match Self::bind_on(&stack, a, 1024, false) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
    }

    pub(crate) fn bind_on(
        stack: &Stack,
        addr: SocketAddr,
        backlog: u32,
        filter_syn: bool,
    ) -> io::Result<TcpListener> {
        let shared = stack.shared.clone();
        shared.clone().with(|g| {
            let catch_all = g.transparent && addr.ip().is_unspecified() && addr.port() == 0;
            let (id, addr) = if addr.port() == 0 && !catch_all {
                // An ephemeral port, as bind(2) picks one.
                let mut found = None;
                let seed = g.now().as_micros() as u32;
                for k in 0..4096u32 {
                    let port = 49152
                        + (seed.wrapping_mul(2_654_435_761).wrapping_add(k * 7919) % 16384) as u16;
                    let a = SocketAddr::new(addr.ip(), port);
                    match g.eng.listen(a, backlog, filter_syn) {
                        Ok(id) => {
                            found = Some((id, a));
                            break;
                        }
                        Err(EndpointError::AddrInUse) => continue,
                        Err(e) => return Err(endpoint_error(e)),
                    }
                }
                found.ok_or_else(|| io::Error::from(io::ErrorKind::AddrInUse))?
            } else {
                (
                    g.eng
                        .listen(addr, backlog, filter_syn)
                        .map_err(endpoint_error)?,
                    addr,
                )
            };
            g.listeners.insert(id, ListenState::default());
            g.users += 1;
            Ok(TcpListener { shared, id, addr })
        })
    }

    /// The next SYN held by a filtering listener
    /// ([`Stack::listen_filtered`]): nothing has been sent for it yet;
    /// answer it with [`IncomingSyn::admit`], [`IncomingSyn::refuse`] or
    /// [`IncomingSyn::ignore`]. Admitted connections come out of
    /// [`TcpListener::accept`] once their handshake completes.
    pub async fn next_syn(&self) -> io::Result<IncomingSyn> {
        std::future::poll_fn(|cx| {
            self.shared.with(|g| {
                while let Some(p) = g
                    .listeners
                    .get_mut(&self.id)
                    .and_then(|l| l.syns.pop_front())
                {
                    // A SYN the engine dropped meanwhile has no addresses.
                    if let Some((local, peer)) = g.eng.pending_syn(p) {
                        return Poll::Ready(Ok(IncomingSyn {
                            shared: self.shared.clone(),
                            p: Some(p),
                            local,
                            peer,
                        }));
                    }
                }
                if g.failed.is_some() {
                    return Poll::Ready(Err(g.error()));
                }
                if let Some(l) = g.listeners.get_mut(&self.id) {
                    l.syn = Some(cx.waker().clone());
                }
                Poll::Pending
            })
        })
        .await
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    /// Takes the next established connection, waiting for one.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next established connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let r = self.shared.with(|g| {
            let Some(h) = g.eng.accept(self.id) else {
                if g.failed.is_some() {
                    return Poll::Ready(Err(g.error()));
                }
                if let Some(l) = g.listeners.get_mut(&self.id) {
                    l.accept = Some(cx.waker().clone());
                }
                return Poll::Pending;
            };
            let (local, peer) = match g.eng.addrs(h) {
                Some((l, p)) => (Some(l), Some(p)),
                None => (None, None),
            };
            g.kick();
            let st = ConnState {
                connected: true,
                local,
                peer,
                ..ConnState::default()
            };
            Poll::Ready(Ok((Io::new(&self.shared, g, h, st), peer)))
        });
        r.map(|r| {
            r.map(|(io, peer)| {
                let peer = peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                (TcpStream::from_io(io), peer)
            })
        })
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.shared.with(|g| {
            let now = g.now();
            g.eng.close_listener(now, self.id);
            g.listeners.remove(&self.id);
            g.users -= 1;
            g.kick();
        });
    }
}

/// A SYN a filtering listener holds: nothing has been sent to the peer
/// yet. Dropping it without an answer ignores it (the peer retransmits).
pub struct IncomingSyn {
    shared: Arc<Shared>,
    p: Option<PendingSyn>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl std::fmt::Debug for IncomingSyn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingSyn")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish()
    }
}

impl IncomingSyn {
    /// The address and port the peer asked for (the original destination
    /// in transparent mode).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
    /// The peer's address and port.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }
    /// Sends the SYN,ACK: the connection comes out of
    /// [`TcpListener::accept`] once established.
    pub fn admit(mut self) {
        self.answer(Verdict::Admit);
    }
    /// Refuses with a RST: the peer's connect fails with "connection
    /// refused".
    pub fn refuse(mut self) {
        self.answer(Verdict::Refuse);
    }
    /// Drops the SYN without an answer; the peer will retransmit it (and
    /// the retransmission comes out of `next_syn` again).
    pub fn ignore(mut self) {
        self.answer(Verdict::Ignore);
    }
    fn answer(&mut self, v: Verdict) {
        if let Some(p) = self.p.take() {
            self.shared.with(|g| {
                let now = g.now();
                g.eng.answer_syn(now, p, v);
                g.kick();
            });
        }
    }
}

impl Drop for IncomingSyn {
    fn drop(&mut self) {
        self.answer(Verdict::Ignore);
    }
}
