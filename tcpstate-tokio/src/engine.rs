//! Every call into tcpstate's `Endpoint`, in one place.
//!
//! The rest of the crate talks to the engine only through [`Engine`], in
//! the few shapes it needs (what a read or a write found, the events it
//! acts on): this module is where the Endpoint's API is adapted.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tcpstate::{
    CallError, CloseReason, Ecn, Endpoint, EndpointConfig, EndpointError, EndpointEvent, Handle,
    IcmpError, Instant, ListenOptions, ListenerId, PendingSyn,
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
    SynPending(ListenerId, PendingSyn),
    Connected(Handle),
    Readable(Handle),
    Writable(Handle),
    Closed(Handle, CloseReason),
    /// A state change; nothing for the stack to do.
    Other,
}

/// An answer to a held SYN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Admit,
    Refuse,
    Ignore,
}

/// A segment `poll_transmit` wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Out {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) ecn: u8,
    /// The TCP segment is `buf[start..start + len]` of the buffer passed.
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// A super-segment's size to split at (0: an ordinary segment).
    pub(crate) segment_size: u16,
}

/// The Endpoint, behind the few calls the stack makes.
pub(crate) struct Engine {
    ep: Endpoint,
}

impl Engine {
    pub(crate) fn new(
        mut cfg: EndpointConfig,
        addrs: &[IpAddr],
        transparent: bool,
        secret: [u8; 16],
    ) -> Result<Self, String> {
        for a in addrs {
            if !cfg.local_addrs.contains(a) {
                cfg = cfg.with_local_addr(*a).map_err(|e| e.to_string())?;
            }
        }
        cfg.transparent = transparent;
        Ok(Engine {
            ep: Endpoint::new(cfg, secret).map_err(|e| e.to_string())?,
        })
    }

    pub(crate) fn datagram(&mut self, now: Instant, src: IpAddr, dst: IpAddr, ecn: u8, seg: &[u8]) {
        self.ep.on_datagram(now, src, dst, Ecn::from_bits(ecn), seg);
    }

    /// An ICMP error quoting one of our segments; false if it is no error
    /// the engine knows (the caller hands it to the application).
    pub(crate) fn icmp(
        &mut self,
        now: Instant,
        v6: bool,
        kind: u8,
        code: u8,
        mtu: u32,
        quoted: &[u8],
    ) -> bool {
        let e = if v6 {
            IcmpError::from_v6(kind, code, mtu)
        } else {
            IcmpError::from_v4(kind, code, u16::try_from(mtu).unwrap_or(u16::MAX))
        };
        match e {
            Some(e) => {
                self.ep.on_icmp(now, e, quoted);
                true
            }
            None => false,
        }
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
        filter_syn: bool,
    ) -> Result<ListenerId, EndpointError> {
        let opts = ListenOptions {
            filter_syn,
            ..ListenOptions::backlog(backlog)
        };
        self.ep.listen_with(addr, opts)
    }

    pub(crate) fn accept(&mut self, l: ListenerId) -> Option<Handle> {
        self.ep.accept(l)
    }

    pub(crate) fn close_listener(&mut self, now: Instant, l: ListenerId) {
        let _ = self.ep.close_listener(now, l);
    }

    /// A held SYN's local (asked-for) and remote addresses.
    pub(crate) fn pending_syn(&self, p: PendingSyn) -> Option<(SocketAddr, SocketAddr)> {
        self.ep.pending_syn(p)
    }

    /// Answers a held SYN: admit (SYN,ACK), refuse (RST) or ignore.
    pub(crate) fn answer_syn(&mut self, now: Instant, p: PendingSyn, verdict: Verdict) {
        let _ = match verdict {
            Verdict::Admit => self.ep.admit(now, p),
            Verdict::Refuse => self.ep.refuse(now, p),
            Verdict::Ignore => self.ep.ignore(p),
        };
    }

    /// The connection's local and remote addresses (the local one is the
    /// destination the peer asked for, in transparent mode too).
    pub(crate) fn addrs(&self, h: Handle) -> Option<(SocketAddr, SocketAddr)> {
        Some((self.ep.local_addr(h)?, self.ep.peer_addr(h)?))
    }

    pub(crate) fn recv(&mut self, now: Instant, h: Handle, buf: &mut [u8]) -> Recv {
        match self.ep.recv(now, h, buf) {
            Ok(0) => Recv::Eof,
            Ok(n) => Recv::Data(n),
            Err(EndpointError::WouldBlock) => Recv::WouldBlock,
            Err(EndpointError::Closed(r)) => Recv::Closed(Some(r)),
            Err(_) => Recv::Closed(None),
        }
    }

    pub(crate) fn send(&mut self, now: Instant, h: Handle, data: &[u8]) -> Send {
        match self.ep.send(now, h, data) {
            Ok(n) => Send::Sent(n),
            Err(EndpointError::WouldBlock) => Send::WouldBlock,
            Err(EndpointError::Call(CallError::Closing)) => Send::Closing,
            Err(EndpointError::Closed(r)) => Send::Closed(Some(r)),
            Err(_) => Send::Closed(None),
        }
    }

    /// Half-close. `Err` carries why it could not (the connection ended).
    pub(crate) fn shutdown(&mut self, now: Instant, h: Handle) -> Result<(), Option<CloseReason>> {
        match self.ep.shutdown(now, h) {
            Ok(()) | Err(EndpointError::Call(CallError::Closing)) => Ok(()),
            Err(EndpointError::Closed(r)) => Err(Some(r)),
            Err(_) => Err(None),
        }
    }

    /// The application lets go of the handle: an orphan that finishes on
    /// its own, or a RST at once with unread data or `linger` zero.
    pub(crate) fn release(&mut self, now: Instant, h: Handle, linger: Option<Duration>) {
        if linger == Some(Duration::ZERO) {
            let _ = self.ep.set_linger(h, linger);
        }
        let _ = self.ep.close(now, h);
    }

    pub(crate) fn abort(&mut self, now: Instant, h: Handle) {
        let _ = self.ep.abort(now, h);
    }

    pub(crate) fn set_nodelay(&mut self, now: Instant, h: Handle, on: bool) -> bool {
        self.ep.set_nodelay(now, h, on).is_ok()
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        Some(match self.ep.poll_event()? {
            EndpointEvent::Incoming(l) => Event::Incoming(l),
            EndpointEvent::SynPending(l, p) => Event::SynPending(l, p),
            EndpointEvent::Connected(h) => Event::Connected(h),
            EndpointEvent::Readable(h) => Event::Readable(h),
            EndpointEvent::Writable(h) => Event::Writable(h),
            EndpointEvent::Closed(h, r) => Event::Closed(h, r),
            // Urgent data stays in line (RFC 6093), and a tokio host has no
            // routing table to act on negative advice (RFC 9293 SHLD-9).
            EndpointEvent::StateChanged(..)
            | EndpointEvent::Urgent(_)
            | EndpointEvent::NegativeAdvice(_) => Event::Other,
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
            ecn: d.ecn.bits(),
            start: d.start,
            len: d.len(),
            segment_size: d.segment_size,
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
