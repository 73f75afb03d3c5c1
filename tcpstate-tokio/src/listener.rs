//! `TcpListener`: tokio's listener API over an engine listener.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use tcpstate::{EndpointError, ListenerId};

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
        EndpointError::UnknownHandle => K::NotConnected,
        EndpointError::Call(_) => K::Other,
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
            match Self::bind_on(&stack, a, 1024) {
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
    ) -> io::Result<TcpListener> {
        let shared = stack.shared.clone();
        shared.clone().with(|g| {
            let (id, addr) = if addr.port() == 0 {
                // An ephemeral port, as bind(2) picks one.
                let mut found = None;
                let seed = g.now().as_micros() as u32;
                for k in 0..4096u32 {
                    let port = 49152
                        + ((seed.wrapping_mul(2_654_435_761).wrapping_add(k * 7919)) % 16384)
                            as u16;
                    let a = SocketAddr::new(addr.ip(), port);
                    if let Ok(id) = g.eng.listen(a, backlog) {
                        found = Some((id, a));
                        break;
                    }
                }
                found.ok_or_else(|| io::Error::from(io::ErrorKind::AddrInUse))?
            } else {
                (g.eng.listen(addr, backlog).map_err(endpoint_error)?, addr)
            };
            g.listeners.insert(id, ListenState::default());
            g.users += 1;
            Ok(TcpListener { shared, id, addr })
        })
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
            let now = g.now();
            let (local, peer) = match g.eng.addrs(now, h) {
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
