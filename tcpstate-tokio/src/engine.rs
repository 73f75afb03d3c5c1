//! Every call into tcpstate's `Endpoint`, in one place.
//!
//! The rest of the crate talks to the engine only through [`Engine`]: the
//! Endpoint's API is still settling (handles that live until `Closed` is
//! polled, `recv` telling end-of-stream from "nothing yet", ICMP, ECN,
//! local addresses, SYN filtering), and this module is where it is
//! adapted.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tcpstate::{
    AppCall, CallError, CloseReason, Endpoint, EndpointConfig, EndpointError, EndpointEvent,
    Handle, Instant, ListenerId,
};

/// What a read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// Bytes copied.
    Data(usize),
    /// End of stream: the peer's FIN, every byte before it read.
    Eof,
    /// Nothing to read yet.
    WouldBlock,
    /// The connection ended (`None`: the engine no longer knows the handle).
    Closed(Option<CloseReason>),
}

/// What a write found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Send {
    /// Bytes queued.
    Sent(usize),
    /// The send buffer is full.
    WouldBlock,
    /// This side already shut down (or closed) its direction.
    Closing,
    /// The connection ended (`None`: the engine no longer knows the handle).
    Closed(Option<CloseReason>),
}

/// An event for the stack, in the engine's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Incoming(ListenerId),
    Connected(Handle),
    Readable(Handle),
    Writable(Handle),
    Closed(Handle, CloseReason),
    /// A state change; nothing for the stack to do.
    Other(Handle),
}

/// A segment `poll_transmit` wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Out {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) ecn: u8,
    pub(crate) len: usize,
}

/// The Endpoint, behind the few calls the stack makes.
pub(crate) struct Engine {
    ep: Endpoint,
}

impl Engine {
    pub(crate) fn new(
        mut cfg: EndpointConfig,
        addrs: &[IpAddr],
        secret: [u8; 16],
    ) -> Result<Self, String> {
        // Today's Endpoint: one default source address per family.
        for a in addrs {
            match a {
                IpAddr::V4(v4) if cfg.local_v4.is_none() => cfg.local_v4 = Some(*v4),
                IpAddr::V6(v6) if cfg.local_v6.is_none() => cfg.local_v6 = Some(*v6),
                _ => {}
            }
        }
        if cfg.rx_buffer == 0 || cfg.tx_buffer == 0 {
            return Err("zero-sized buffers".into());
        }
        Ok(Engine {
            ep: Endpoint::new(cfg, secret),
        })
    }

    pub(crate) fn datagram(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        _ecn: u8,
        seg: &[u8],
    ) {
        self.ep.on_datagram(now, src, dst, seg);
    }

    /// An ICMP error quoting one of our segments. Not routed yet: today's
    /// Endpoint has no ICMP entry point; false means "not taken".
    pub(crate) fn icmp(
        &mut self,
        _now: Instant,
        _v6: bool,
        _kind: u8,
        _code: u8,
        _mtu: u32,
        _quoted: &[u8],
    ) -> bool {
        false
    }

    pub(crate) fn connect(
        &mut self,
        now: Instant,
        local: Option<SocketAddr>,
        remote: SocketAddr,
    ) -> Result<Handle, EndpointError> {
        self.ep.connect(now, local, remote)
    }

    pub(crate) fn listen(
        &mut self,
        addr: SocketAddr,
        backlog: u32,
    ) -> Result<ListenerId, EndpointError> {
        self.ep.listen(addr, backlog)
    }

    pub(crate) fn accept(&mut self, l: ListenerId) -> Option<Handle> {
        self.ep.accept(l)
    }

    pub(crate) fn close_listener(&mut self, now: Instant, l: ListenerId) {
        let _ = self.ep.close_listener(now, l);
    }

    /// The connection's local and remote addresses.
    pub(crate) fn addrs(&self, now: Instant, h: Handle) -> Option<(SocketAddr, SocketAddr)> {
        // Today's Endpoint has no per-handle query: scan the listing.
        self.ep
            .connections(now)
            .find(|c| c.handle == Some(h))
            .map(|c| (c.local, c.remote))
    }

    pub(crate) fn recv(&mut self, now: Instant, h: Handle, buf: &mut [u8]) -> Recv {
        match self.ep.recv(now, h, buf) {
            Ok(0) => {
                // Today's `recv` returns 0 for both "nothing yet" and EOF.
                match self.ep.connection(h) {
                    Some(c) if c.is_eof() => Recv::Eof,
                    Some(c) => match c.close_reason() {
                        Some(CloseReason::Normal) => Recv::Eof,
                        Some(r) => Recv::Closed(Some(r)),
                        None => Recv::WouldBlock,
                    },
                    None => Recv::Closed(None),
                }
            }
            Ok(n) => Recv::Data(n),
            Err(EndpointError::Call(CallError::Ended(r))) => Recv::Closed(Some(r)),
            Err(_) => Recv::Closed(None),
        }
    }

    pub(crate) fn send(&mut self, now: Instant, h: Handle, data: &[u8]) -> Send {
        match self.ep.send(now, h, data) {
            Ok(0) => Send::WouldBlock,
            Ok(n) => Send::Sent(n),
            Err(EndpointError::Call(CallError::Closing)) => Send::Closing,
            Err(EndpointError::Call(CallError::Ended(r))) => Send::Closed(Some(r)),
            Err(_) => Send::Closed(None),
        }
    }

    /// Half-close. `Err` carries why it could not (the connection ended).
    pub(crate) fn shutdown(&mut self, now: Instant, h: Handle) -> Result<(), Option<CloseReason>> {
        match self.ep.shutdown(now, h) {
            Ok(()) | Err(EndpointError::Call(CallError::Closing)) => Ok(()),
            Err(EndpointError::Call(CallError::Ended(r))) => Err(Some(r)),
            Err(_) => Err(None),
        }
    }

    /// The application lets go of the handle: an orphan that finishes on
    /// its own (RST if data is left unread), or a RST at once with
    /// `linger` zero.
    pub(crate) fn release(&mut self, now: Instant, h: Handle, linger: Option<Duration>) {
        if linger == Some(Duration::ZERO) {
            let _ = self.ep.abort(now, h);
        } else {
            let _ = self.ep.close(now, h);
        }
    }

    pub(crate) fn abort(&mut self, now: Instant, h: Handle) {
        let _ = self.ep.abort(now, h);
    }

    pub(crate) fn set_nodelay(&mut self, now: Instant, h: Handle, on: bool) -> bool {
        self.ep.on_app_call(now, h, AppCall::SetNoDelay(on)).is_ok()
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        Some(match self.ep.poll_event()? {
            EndpointEvent::Incoming(l) => Event::Incoming(l),
            EndpointEvent::Connected(h) => Event::Connected(h),
            EndpointEvent::Readable(h) => Event::Readable(h),
            EndpointEvent::Writable(h) => Event::Writable(h),
            EndpointEvent::Closed(h, r) => Event::Closed(h, r),
            EndpointEvent::StateChanged(h, _) => Event::Other(h),
        })
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.ep.next_deadline()
    }

    pub(crate) fn on_timer(&mut self, now: Instant) {
        self.ep.on_timer(now);
    }

    pub(crate) fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Out> {
        self.ep.poll_transmit(now, buf).map(|d| Out {
            src: d.src,
            dst: d.dst,
            ecn: 0,
            len: d.len,
        })
    }

    pub(crate) fn stats(&self, h: Handle) -> Option<tcpstate::Stats> {
        self.ep.connection(h).map(|c| c.stats())
    }

    pub(crate) fn listing(&self, now: Instant) -> Vec<tcpstate::ConnInfo> {
        self.ep.connections(now).collect()
    }

    pub(crate) fn connection_count(&self) -> usize {
        self.ep.connection_count()
    }

    pub(crate) fn counters(&self) -> tcpstate::Counters {
        self.ep.counters()
    }
}
