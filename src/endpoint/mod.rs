//! A whole host's TCP: many connections behind one set of entry points.
//!
//! RFCs to read: RFC 9293 §3.10.7.1 (segments to no connection), §3.6.1 and
//! RFC 6191 (reusing a TIME-WAIT 4-tuple), RFC 6528 (ISNs), RFC 6056
//! (ephemeral ports), RFC 4987 (SYN cookies), RFC 1337 (TIME-WAIT
//! assassination), RFC 1122 §4.2.3.10 / RFC 9293 MUST-57, MUST-63
//! (addresses a segment must not come from or go to).
//!
//! The [`Endpoint`] owns every [`Connection`] of a host
//! (or of one shard of it), the listeners with their SYN and accept queues,
//! a compact TIME-WAIT table and one timing wheel. It takes whole TCP
//! segments (the IP payload) and gives whole segments back, checksummed.
//!
//! # The run loop
//!
//! 1. Create it: `Endpoint::new(config, secret)`, with the host's
//!    addresses in the config ([`EndpointConfig::with_local_addr`]) and a
//!    16-byte secret from the host's random source (RFC 6528 MUST-9). An
//!    impossible config value is refused here ([`ConfigError`]).
//! 2. Open: [`Endpoint::listen`] and [`Endpoint::accept`], or
//!    [`Endpoint::connect`].
//! 3. Feed it: every received TCP segment with [`Endpoint::on_datagram`]
//!    (the IP source and destination, the ECN field, and the IP payload),
//!    every ICMP error with [`Endpoint::on_icmp`], the application's calls
//!    ([`Endpoint::send`], [`Endpoint::recv`], [`Endpoint::shutdown`],
//!    [`Endpoint::close`], ...), and [`Endpoint::on_timer`] whenever
//!    [`Endpoint::next_deadline`] has passed.
//! 4. After each call, drain [`Endpoint::poll_event`] (what the
//!    applications must learn: incoming connections, readable, writable,
//!    closed) and then [`Endpoint::poll_transmit`] until it returns `None`,
//!    sending each segment it writes in an IP packet with the
//!    [`Datagram`]'s addresses and ECN field.
//! 5. Sleep until the next datagram, application call or
//!    [`Endpoint::next_deadline`]. An early `on_timer` is harmless.
//!
//! `now` never goes backwards (an earlier `now` is taken as the latest
//! one, in every build). Nothing is allocated per segment once the tables
//! have grown to the working set; a connection's creation allocates its
//! TCB and buffers. The guide [`crate::embedding`] walks through a real
//! host; `examples/server.rs` runs several Endpoints over an in-memory
//! link, and `examples/tun.rs` one over a Linux TUN device.
//!
//! # Example
//!
//! A server and a client over an in-memory link: the client sends a
//! request and shuts down, the server echoes it and closes, and each side
//! reads every byte, then the end of the stream.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr, SocketAddr};
//! use tcpstate::{CloseReason, Endpoint, EndpointConfig, EndpointError, EndpointEvent as Event, Instant};
//!
//! /// The link: whatever `from` sends, `to` receives at once.
//! fn carry(now: Instant, from: &mut Endpoint, to: &mut Endpoint) {
//!     let mut buf = [0u8; tcpstate::endpoint::MAX_HEADER + 1500];
//!     while let Some(d) = from.poll_transmit(now, &mut buf) {
//!         to.on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
//!     }
//! }
//!
//! let (a, b) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
//! let mut client = Endpoint::new(EndpointConfig::linux().with_local_addr(a)?, [1; 16])?;
//! let mut server = Endpoint::new(EndpointConfig::linux().with_local_addr(b)?, [2; 16])?;
//! server.listen(SocketAddr::new(IpAddr::V4(b), 7), 16)?;
//! let mut now = Instant::ZERO;
//! let c = client.connect(now, None, SocketAddr::new(IpAddr::V4(b), 7))?;
//!
//! let (mut request, mut reply, mut client_done) = (Vec::new(), Vec::new(), false);
//! while !client_done {
//!     carry(now, &mut client, &mut server);
//!     carry(now, &mut server, &mut client);
//!     // The server's application: read to the end, echo, close.
//!     while let Some(e) = server.poll_event() {
//!         match e {
//!             Event::Incoming(l) => {
//!                 server.accept(l);
//!             }
//!             Event::Readable(h) => loop {
//!                 let mut b = [0u8; 64];
//!                 match server.recv(now, h, &mut b) {
//!                     Ok(0) => {
//!                         server.send(now, h, &request)?;
//!                         server.close(now, h)?;
//!                         break;
//!                     }
//!                     Ok(n) => request.extend_from_slice(&b[..n]),
//!                     Err(EndpointError::WouldBlock) => break,
//!                     Err(e) => return Err(e.into()),
//!                 }
//!             },
//!             _ => {}
//!         }
//!     }
//!     // The client's application: send a request and shut down (a
//!     // half-close: the FIN goes after the data), read the reply until
//!     // `Closed`.
//!     while let Some(e) = client.poll_event() {
//!         match e {
//!             Event::Connected(h) => {
//!                 client.send(now, h, b"hello")?;
//!                 client.shutdown(now, h)?;
//!             }
//!             Event::Readable(h) => {
//!                 let mut b = [0u8; 64];
//!                 while let Ok(n @ 1..) = client.recv(now, h, &mut b) {
//!                     reply.extend_from_slice(&b[..n]);
//!                 }
//!             }
//!             Event::Closed(h, reason) => {
//!                 assert_eq!((h, reason), (c, CloseReason::Normal));
//!                 client_done = true;
//!             }
//!             _ => {}
//!         }
//!     }
//!     // Timers (here, the delayed ACKs).
//!     let next = [client.next_deadline(), server.next_deadline()];
//!     if let Some(t) = next.into_iter().flatten().min() {
//!         now = now.max(t);
//!         client.on_timer(now);
//!         server.on_timer(now);
//!     }
//! }
//! assert_eq!((&request[..], &reply[..]), (&b"hello"[..], &b"hello"[..]));
//! // The client closed first: its side keeps the 4-tuple in TIME-WAIT.
//! assert_eq!(client.time_wait_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Handles: the application contract
//!
//! A [`Handle`] names a connection while the application holds it: from
//! `connect` or `accept` until the application polls its
//! [`Event::Closed`], or calls `close` (the connection then finishes on
//! its own as an orphan, still delivering its data and FIN) or `abort`.
//! Until then:
//!
//! - [`Endpoint::recv`] returns every byte that arrived before the peer's
//!   FIN, then `Ok(0)`; or every byte that arrived before a RST (or a
//!   timeout), then `Err(Closed(reason))`. Never `UnknownHandle` first,
//!   never a RST read as an end of stream.
//! - `Closed` is queued once the connection is over and no unread byte is
//!   left (the `recv` that reads the last byte queues it): it is always
//!   the handle's last event. Its reason is the end of the stream for an
//!   application that has not read it with `recv` (`Normal`: the FIN).
//! - A connection that reaches TIME-WAIT moves its 4-tuple into the
//!   TIME-WAIT table at once (it guards the old incarnation there); only
//!   the handle, with its unread data, lives on.
//! - At most one `Readable` and one `Writable` are queued per handle at a
//!   time; events of handles the application let go of are skipped.
//!
//! Stale handles, and handles of another Endpoint, are refused with
//! [`EndpointError::UnknownHandle`].
//!
//! # Addresses
//!
//! The Endpoint answers only for its own addresses
//! ([`EndpointConfig::local_addrs`]): a segment to any other destination
//! is dropped and counted ([`Counters::not_local`]), never answered from
//! an address that is not ours. A transparent Endpoint
//! ([`EndpointConfig::transparent`], the tun2socks case) takes every
//! destination; a listener on the unspecified address with port 0 is then
//! a catch-all, and [`Endpoint::local_addr`] reports the destination each
//! connection was opened to.
//!
//! # ICMP and ECN
//!
//! [`Endpoint::on_icmp`] routes an ICMP error to the connection its quote
//! names, if the quoted sequence number is one in flight (RFC 5927 §4.1):
//! a hard error ends a connection still opening, "fragmentation needed"
//! lowers the MSS, soft errors are kept. ECN (RFC 3168, on with
//! [`Config::ecn`](crate::Config::ecn)) needs the host to pass the
//! received ECN field to `on_datagram` and to write [`Datagram::ecn`] into
//! the packets it sends.
//!
//! # Binding
//!
//! `listen` on a port that has connections or TIME-WAIT entries is allowed
//! (the `SO_REUSEADDR` semantics Linux servers use): the 4-tuples stay
//! unique, which is all TCP needs. Two listeners on the same address and
//! port are not. A specific address and the wildcard may both listen on
//! one port; the specific one wins (RFC 9293 §3.10.7, EP-1). An IPv6
//! wildcard listener does not take IPv4 (`IPV6_V6ONLY`).
//!
//! # Listeners
//!
//! As Linux: the accept queue holds at most `min(backlog, somaxconn)`
//! ESTABLISHED connections, the SYN queue at most that and
//! `max_syn_backlog` SYN-RECEIVED ones. A SYN that finds the accept queue
//! full is dropped; one that finds the SYN queue full is answered with a
//! SYN cookie (RFC 4987) when `syncookies` allows, dropped otherwise. The
//! final ACK of a handshake whose accept queue is full is dropped
//! (`tcp_abort_on_overflow=0`): the SYN,ACK timer and the client's
//! retransmissions bring it in once the application accepts.
//!
//! Size the backlog for the burst of connects to expect. A client whose
//! handshake went through a SYN cookie has no state on our side until its
//! connection fits the accept queue, and a cookie only checks out on a
//! segment at the client's first sequence number: if such a client sends
//! more than one segment before it fits, the later ones are answered with
//! a RST (RFC 4987 §3.6's known limit; Linux does the same). A burst of
//! 50 connects at one instant to a backlog of 16, each client sending at
//! once, resets most of them.
//!
//! # Memory
//!
//! `benches/scale.rs` measures about 760 bytes per ESTABLISHED connection
//! besides its buffers (the 656-byte TCB, its box, the slot, the table and
//! the wheel) and about 110 bytes per TIME-WAIT entry (48-byte entry plus
//! table and wheel).
//!
//! # Without `alloc`
//!
//! The tables live in a [`Store`] (see [`store`]): [`Heap`] grows them
//! (the default with `alloc`; the figures above), [`Fixed<N, M, B>`]
//! holds them in arrays chosen at compile time and never allocates:
//! `N` connection slots, TIME-WAIT entries, listeners and queue places,
//! `M` timer nodes and demux-table slots (open addressing keyed by a
//! keyed hash of the 4-tuple; take `M >= 4 * N`), and `[u8; B]` buffers
//! each way inside each connection. `cargo build --no-default-features`
//! builds it. When a fixed table is full, `connect` returns
//! [`EndpointError::TooManyConnections`], `listen`
//! [`EndpointError::NoCapacity`], a SYN is dropped (`ListenDrops`) or
//! answered with a cookie, a connection entering TIME-WAIT skips it
//! (`time_wait_overflow`), and events or control segments past a full
//! queue are dropped and counted: nothing panics.

mod bind;
mod config;
mod fastopen;
mod icmp;
mod input;
mod listing;
mod secret;
pub mod store;
mod time_wait;
mod txfail;
mod wheel;

pub use config::{EndpointConfig, MAX_LOCAL_ADDRS, SynCookies, TwReuse};
pub use fastopen::FastOpenConfig;
#[cfg(feature = "testing")]
pub(crate) use fastopen::server_cookie as fast_open_cookie_with;
pub use listing::{ConnInfo, Counters};
pub use time_wait::TimeWaitEntry;

use core::net::{IpAddr, SocketAddr};

use crate::StateChange;
use crate::connection::{AppCall, Buffers, Connection, Outcome, PackedConfig};
use crate::error::{CallError, CloseReason, ConfigError};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::Instant;
use crate::wire::{TcpHeader, checksum};
use crate::{Actions, Transmit};

use secret::Keys;
#[cfg(feature = "alloc")]
pub use store::Heap;
use store::{Fifo, Seq, Table};
pub use store::{Fixed, Store};
use time_wait::TimeWaitTable;
use wheel::Wheel;

/// A connection's buffer storage inside a growable Endpoint.
#[cfg(feature = "alloc")]
pub type Buf = alloc::boxed::Box<[u8]>;
/// A connection as a growable Endpoint holds it.
#[cfg(feature = "alloc")]
pub type Conn = Connection<Buf>;

/// The storage `Endpoint` means without a parameter: [`Heap`] with `alloc`.
#[cfg(feature = "alloc")]
pub type DefaultStore = Heap;
/// The storage `Endpoint` means without a parameter: without `alloc`, a
/// small [`Fixed`] one (16 connections, 64 timers, 4 KiB buffers); name
/// your own `Endpoint<Fixed<N, M, B>>` for other sizes.
#[cfg(not(feature = "alloc"))]
pub type DefaultStore = Fixed<16, 64, 4096>;
/// An Endpoint of fixed capacity that never allocates (see [`Fixed`]).
pub type FixedEndpoint<const N: usize, const M: usize, const B: usize> = Endpoint<Fixed<N, M, B>>;

/// The longest TCP header: `poll_transmit` writes payload after it.
pub const MAX_HEADER: usize = 60;
/// The shortest buffer [`Endpoint::poll_transmit`] takes: room for the
/// longest header. A shorter one gets `None`, leaves every segment queued
/// and is counted ([`Counters::short_buffers`]). A buffer of exactly this
/// size carries the segments without payload (ACKs, control segments);
/// a connection with data, a FIN or a resend due stays queued for the
/// next poll with room, and the buffer is counted as short too. A
/// buffer of `MAX_HEADER` plus the MSS carries full-sized segments, a
/// shorter one smaller segments.
pub const MIN_TRANSMIT_BUF: usize = MAX_HEADER;
/// Set on a table value that names a TIME-WAIT entry.
const TW_BIT: u32 = 1 << 31;
const NONE: u32 = u32::MAX;
/// Control segments (RST, cookie SYN,ACK, TIME-WAIT ACK) waiting for
/// `poll_transmit`; past this they are dropped (a host that never polls
/// cannot make the queue grow without bound).
const MAX_CTRL: usize = 65_536;

/// A connection, as long as the application holds it: from `connect` or
/// `accept` until the application polls its [`Event::Closed`] or calls
/// `close` or `abort`. A handle names one connection of one Endpoint: a
/// stale handle, or one from another Endpoint, is refused with
/// [`EndpointError::UnknownHandle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle {
    idx: u32,
    generation: u32,
    /// The Endpoint's tag.
    ep: u32,
}

impl core::fmt::Display for Handle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "#{}.{}", self.idx, self.generation)
    }
}

/// A listening socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId {
    idx: u32,
    generation: u32,
    /// The Endpoint's tag.
    ep: u32,
}

/// What the applications must learn, in the order it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A connection waits in this listener's accept queue: call `accept`.
    Incoming(ListenerId),
    /// A SYN reached a filtering listener ([`ListenOptions::filter_syn`]):
    /// answer it with [`Endpoint::admit`], [`Endpoint::refuse`] or
    /// [`Endpoint::ignore`]; nothing is sent until then.
    SynPending(ListenerId, PendingSyn),
    /// An active open completed (ESTABLISHED).
    Connected(Handle),
    /// Data, the end of the peer's data, or an error can be read: call
    /// `recv` until it returns `Err(WouldBlock)` (nothing more for now),
    /// `Ok(0)` (the end of the stream) or `Err(Closed(_))` (a reset or
    /// timeout): the last two repeat on every later call. At most one is
    /// queued per handle at a time.
    Readable(Handle),
    /// The connection can take more data: send-buffer space was freed, or
    /// it became able to send (ESTABLISHED). At most one is queued per
    /// handle at a time.
    Writable(Handle),
    /// The connection changed state.
    StateChanged(Handle, StateChange),
    /// The peer's urgent pointer moved past what the application has read
    /// (RFC 9293 §3.8.5 MUST-32): urgent data comes in line, and
    /// `connection(h).urgent_mark()` says how many bytes to read to reach
    /// its end.
    Urgent(Handle),
    /// R1 retransmissions went unanswered (RFC 9293 §3.8.3 MUST-20,
    /// SHLD-9): the route to `peer_addr(h)` may have failed; a host with a
    /// routing table may try another gateway or refresh its neighbour
    /// entry (RFC 1122 §3.3.1.4; Linux `dst_negative_advice`). The
    /// connection goes on until R2 ([`Config::retries2`](crate::Config)).
    NegativeAdvice(Handle),
    /// The connection is over and nothing is left to read: the last event
    /// of a handle, queued only after every byte has been read. Once it
    /// is polled the handle is stale.
    Closed(Handle, CloseReason),
}

/// A SYN a filtering listener holds (see [`Event::SynPending`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PendingSyn {
    idx: u32,
    generation: u32,
    ep: u32,
}

/// How [`Endpoint::listen_with`] listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenOptions {
    /// Bounds the accept queue (at most `somaxconn`) and, with
    /// `max_syn_backlog`, the SYN queue (`listen(2)`'s backlog).
    pub backlog: u32,
    /// Hold every new SYN for the application's verdict
    /// ([`Event::SynPending`]) before any SYN,ACK goes out: accept, refuse
    /// with a RST, or drop. Held SYNs count in the SYN queue; a SYN that
    /// finds it full is dropped (no SYN cookies: a cookie would bypass
    /// the verdict).
    pub filter_syn: bool,
    /// `SO_REUSEADDR`: the listener may bind an address and port that
    /// connections (TIME-WAIT entries included) still use, if they were
    /// bound with it too (their listener's or their `connect`'s). On by
    /// default, as Rust's `std` and tokio set it on every listener; off is
    /// the C default (see [`Endpoint::listen_with`] for the rules).
    pub reuse_addr: bool,
    /// TCP Fast Open (RFC 7413; Linux's `TCP_FASTOPEN` socket option): at
    /// most this many connections opened by a Fast Open SYN wait for the
    /// ACK of their SYN,ACK (RFC 7413 §5.1). 0: no Fast Open, unless
    /// [`FastOpenConfig::server_all_listeners`]. Taken only when
    /// [`FastOpenConfig::server`] is on. Such a connection is in the
    /// accept queue at once, the data of its SYN readable
    /// ([`Endpoint::set_fast_open_key`] has the cookie rules).
    pub fast_open: u32,
}

impl ListenOptions {
    /// A listener with this backlog, `SO_REUSEADDR` on, no SYN filter, no
    /// Fast Open.
    pub fn backlog(backlog: u32) -> Self {
        ListenOptions {
            backlog,
            filter_syn: false,
            reuse_addr: true,
            fast_open: 0,
        }
    }
}

/// How [`Endpoint::connect_with`] opens a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// `SO_REUSEADDR` for an explicit local port: it may be one that other
    /// connections or TIME-WAIT entries bound with it still use (their
    /// 4-tuples must still differ, or the TIME-WAIT entry be reusable).
    /// On by default (`connect`).
    pub reuse_addr: bool,
    /// TCP Fast Open (RFC 7413 §4.1; Linux's `TCP_FASTOPEN_CONNECT`): with
    /// a cookie cached for the server, the SYN carries it and the data the
    /// application sends before the SYN goes out (at most
    /// [`Endpoint::fast_open_room`]: the server's MSS as cached, less 40
    /// bytes of option room, as Linux); without one, the SYN asks for a
    /// cookie and the data waits for the handshake. Refused
    /// (`Unsupported`, Linux's `EOPNOTSUPP`) unless
    /// [`FastOpenConfig::client`] is on. Off by default.
    /// [`Endpoint::connect_with_data`] is Linux's
    /// `sendto(MSG_FASTOPEN)`.
    pub fast_open: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            reuse_addr: true,
            fast_open: false,
        }
    }
}

/// A segment `poll_transmit` wrote: send `buf[start..end]`
/// ([`segment`](Self::segment)) from `src` to `dst`.
///
/// The segment ends where its payload ends: the payload is written once,
/// at `buf[MAX_HEADER..]`, and the header right in front of it, so
/// `start` is `MAX_HEADER` less the header's length (20 to 60 bytes): no
/// byte of payload is moved. (0.2 moved the segment to `buf[..len]`:
/// one more copy of every payload byte.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// Where the TCP segment starts in the buffer: `MAX_HEADER` less the
    /// TCP header's length, so between 0 and 40. A host that writes its
    /// IP header in front of the segment passes `&mut packet[ROOM..]` to
    /// `poll_transmit` and writes the IP header at
    /// `packet[ROOM + start - ip_len..ROOM + start]`.
    pub start: usize,
    /// Where the TCP segment ends in the buffer (`MAX_HEADER` plus the
    /// payload's length).
    pub end: usize,
    /// The ECN codepoint for the IP header (RFC 3168 §6.1.1: ECT(0) on new
    /// data of a connection that negotiated ECN, otherwise Not-ECT).
    pub ecn: crate::wire::Ecn,
    /// With [`EndpointConfig::gso_max`]: the payload size to split this
    /// super-segment at (the MSS), or 0 for an ordinary segment. The device
    /// splits it (GSO/TSO), or the host does with
    /// [`wire::gso::split`](crate::wire::gso::split).
    pub segment_size: u16,
}

impl Datagram {
    /// The TCP segment's place in the buffer: `start..end`.
    pub fn range(&self) -> core::ops::Range<usize> {
        self.start..self.end
    }
    /// The TCP segment's length (header and payload).
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    /// Never true: a segment has at least its 20-byte header.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// The TCP segment in `buf`, the buffer `poll_transmit` filled
    /// (empty if `buf` is shorter).
    pub fn segment<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.range()).unwrap_or(&[])
    }
    /// The TCP segment in `buf`, mutable (for a host that fills in the
    /// checksum, or splits a super-segment in place).
    pub fn segment_mut<'a>(&self, buf: &'a mut [u8]) -> &'a mut [u8] {
        buf.get_mut(self.range()).unwrap_or(&mut [])
    }
}

/// A call the Endpoint cannot honour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Every ephemeral port to this destination is in use (RFC 6056).
    #[error("no free ephemeral port")]
    PortsExhausted,
    /// The 4-tuple (or the listening address) is taken.
    #[error("address in use")]
    AddrInUse,
    /// Unspecified, broadcast or multicast address, port 0, or mixed families
    /// (RFC 9293 MUST-57, MUST-63).
    #[error("invalid address")]
    InvalidAddress,
    /// `connect` without a source address, and none is configured.
    #[error("no local address for this family")]
    NoLocalAddress,
    /// `max_connections` reached, or a fixed-capacity table is full.
    #[error("too many connections")]
    TooManyConnections,
    /// A fixed-capacity table (listeners) is full.
    #[error("no capacity left")]
    NoCapacity,
    /// A local address that is not one of the Endpoint's
    /// ([`EndpointConfig::local_addrs`]; `EADDRNOTAVAIL`).
    #[error("address not available")]
    AddrNotAvailable,
    /// The handle or listener is stale, or belongs to another Endpoint.
    #[error("unknown handle")]
    UnknownHandle,
    /// An option the Endpoint does not offer (a non-zero linger time).
    #[error("unsupported option")]
    Unsupported,
    /// Nothing to read yet (`recv`), or no room in the send buffer
    /// (`send`): wait for `Readable` / `Writable`.
    #[error("operation would block")]
    WouldBlock,
    /// The connection ended abnormally (reset, timed out, aborted); the
    /// data that arrived before stays readable first.
    #[error("connection closed: {0}")]
    Closed(CloseReason),
    /// The connection refused the call.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A configuration value was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl EndpointError {
    /// A connection's refusal, with its end as [`EndpointError::Closed`].
    fn from_call(e: CallError) -> Self {
        match e {
            CallError::Ended(r) => EndpointError::Closed(r),
            e => EndpointError::Call(e),
        }
    }
}

/// The local and remote ends of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Tuple {
    pub(crate) local_ip: IpAddr,
    pub(crate) remote_ip: IpAddr,
    pub(crate) local_port: u16,
    pub(crate) remote_port: u16,
}

impl Tuple {
    fn local(&self) -> SocketAddr {
        SocketAddr::new(self.local_ip, self.local_port)
    }
    fn remote(&self) -> SocketAddr {
        SocketAddr::new(self.remote_ip, self.remote_port)
    }
}

/// Where a passive connection is in its listener's queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queue {
    None,
    Syn,
    Accept,
}

/// `Entry::ev` bits: an event queued and not yet polled.
const EV_READABLE: u8 = 1;
const EV_WRITABLE: u8 = 2;
const EV_CLOSED: u8 = 4;

/// One connection and the Endpoint's bookkeeping for it.
///
/// Its life: live (in the demux table and the wheel) until it reaches
/// CLOSED or TIME-WAIT; then `dead` (out of the tables, its 4-tuple in the
/// TIME-WAIT table if any). A dead entry whose handle the application
/// still holds keeps its receive buffer for `recv` until the application
/// polls `Closed` or calls `close`/`abort`; then (and once its last
/// segment has been polled) its slot is freed.
struct Entry<S: Store> {
    conn: Connection<S::Buf>,
    tuple: Tuple,
    /// The tuple's `table_hash`.
    hash: u64,
    /// The earliest deadline, in µs, that this connection's wheel entry
    /// serves: the first microsecond that rounds up to the entry's tick
    /// ([`wheel_from`]; `u64::MAX`: no entry). A deadline at or after it
    /// needs no move; comparing microseconds spares a division per call.
    wheel_at: u64,
    /// Its node in the wheel (`NONE`: none).
    wheel_node: u32,
    /// The listener's index while in its queues.
    parent: u32,
    queue: Queue,
    /// The application holds the handle.
    app: bool,
    /// Closed by the application, still closing.
    orphan: bool,
    in_txq: bool,
    /// Reached CLOSED or TIME-WAIT: out of the tables.
    dead: bool,
    /// `EV_*` bits of the events queued for the handle.
    ev: u8,
    /// Why it ended, once `dead` while the application holds the handle.
    end: Option<CloseReason>,
    /// A SYN a filtering listener holds for the application's verdict:
    /// nothing is sent, no timer runs, segments are dropped.
    held: bool,
    /// `close` resets instead (`SO_LINGER` with a zero timeout).
    linger_zero: bool,
    /// Bound with `reuse_addr` (`SO_REUSEADDR`): its listener's, or its
    /// `connect`'s.
    reuse: bool,
    /// `[next, prev]` in its port's list of the bind index
    /// ([`bind`]).
    bind: [u32; 2],
    /// TCP Fast Open (`fo::*` bits).
    fo: u8,
}

/// `Entry::fo` bits.
mod fo {
    /// Client: the first SYN gets its option from the cookie cache.
    pub(super) const SYN: u8 = 1;
    /// Server: the first SYN,ACK carries our cookie.
    pub(super) const REPLY: u8 = 2;
    /// The option in the experimental form: the reply's, or the one our
    /// SYN carried.
    pub(super) const EXP: u8 = 4;
    /// Client in SYN-SENT: the SYN,ACK updates the cache.
    pub(super) const ACTIVE: u8 = 8;
    /// Client: no option when no cookie is cached (data without one).
    pub(super) const NO_OPTION: u8 = 16;
    /// Client: the first SYN carried the option.
    pub(super) const SENT_OPTION: u8 = 32;
    /// Client: the first SYN carried data.
    pub(super) const SENT_DATA: u8 = 64;
}

struct Slot<S: Store> {
    generation: u32,
    /// `entry` holds a connection. A freed slot may keep the entry's
    /// storage (its box, with empty buffers) for the next connection,
    /// which overwrites all of it.
    live: bool,
    entry: Option<S::Boxed<Entry<S>>>,
}

impl<S: Store> Slot<S> {
    fn get(&self) -> Option<&Entry<S>> {
        self.entry.as_deref().filter(|_| self.live)
    }
    fn get_mut(&mut self) -> Option<&mut Entry<S>> {
        if self.live {
            self.entry.as_deref_mut()
        } else {
            None
        }
    }
}

struct Listener<S: Store> {
    generation: u32,
    addr: SocketAddr,
    /// min(backlog, somaxconn).
    accept_limit: usize,
    /// min(accept_limit, max_syn_backlog).
    syn_limit: usize,
    syn_queue: S::Vec<u32>,
    accept_queue: S::Deque<Handle>,
    /// When this listener last sent a SYN cookie.
    last_cookie: Option<Instant>,
    /// New SYNs wait for the application's verdict.
    filter_syn: bool,
    /// Bound with `SO_REUSEADDR`; its connections inherit it.
    reuse_addr: bool,
    /// Fast Open: how many connections opened by a Fast Open SYN may wait
    /// for their handshake's end (0: no Fast Open).
    fast_open: u32,
    /// Fast Open: this listener's own key (Linux `TCP_FASTOPEN_KEY`).
    fo_key: Option<[u8; 16]>,
}

/// A control segment that belongs to no connection.
struct Ctrl {
    tuple: Tuple,
    t: Transmit,
}

/// A whole host's TCP (see the module docs for the run loop).
///
/// `S` is where it keeps its tables: growable ([`Heap`], the default with
/// `alloc`) or of a fixed capacity ([`Fixed`], no allocation at all).
pub struct Endpoint<S: Store = DefaultStore> {
    cfg: EndpointConfig,
    /// `cfg.conn` packed once, shared by every connection made while it
    /// holds (`set_connection_config` replaces it; open connections keep
    /// the one they were made with).
    conn_cfg: PackedConfig,
    keys: Keys,
    slots: S::Vec<Slot<S>>,
    free: S::Vec<u32>,
    /// Buffers of freed connections, for the next ones (growable stores
    /// only; at most [`SPARE_BUFFERS`]): no allocation and zeroing per
    /// connection.
    spare: S::Vec<Buffers<S::Buf>>,
    /// Freed slots that keep their entry's box (growable stores only).
    vacant: usize,
    live: usize,
    /// 4-tuple -> slot index, or `TW_BIT | time-wait index`.
    table: S::Table,
    tw: TimeWaitTable<S>,
    listeners: S::Vec<Option<Listener<S>>>,
    listener_gen: u32,
    /// (address, port) -> listener index.
    listen_table: S::Table,
    /// Local port -> the first connection or TIME-WAIT entry bound
    /// there ([`bind`]).
    bind_table: S::Table,
    wheel: Wheel<S>,
    events: S::Deque<Event>,
    txq: S::Deque<u32>,
    ctrl: S::Deque<Ctrl>,
    orphans: S::Deque<Handle>,
    orphan_count: usize,
    next_ephemeral: u32,
    last_now: Instant,
    counters: Counters,
    /// This Endpoint's tag in its handles.
    tag: u32,
    /// Fast Open settings (`cfg.fast_open`, changed with
    /// `set_fast_open_config` as Linux's sysctl takes effect at once).
    fo_cfg: FastOpenConfig,
    /// Fast Open server keys: primary and backup.
    fo_key: [u8; 16],
    fo_backup: Option<[u8; 16]>,
    /// Fast Open client cookie cache, and its use counter.
    fo_cache: S::Vec<fastopen::CacheEntry>,
    fo_stamp: u32,
}

impl<S: Store> core::fmt::Debug for Endpoint<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("connections", &self.live)
            .field("time_wait", &self.tw.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Whether a TCP segment may come from or go to `ip` (RFC 9293 MUST-57:
/// no broadcast or multicast; MUST-63 / RFC 1122 §4.2.3.10: not from an
/// unspecified source).
fn unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

fn tick_floor(t: Instant) -> u64 {
    t.as_micros() / 1000
}

fn tick_ceil(t: Instant) -> u64 {
    t.as_micros().div_ceil(1000)
}

/// The first microsecond whose [`tick_ceil`] is `tick` (0 for tick 0):
/// `tick_ceil(d) >= tick` exactly when `d.as_micros() >= wheel_from(tick)`.
fn wheel_from(tick: u64) -> u64 {
    tick.checked_sub(1)
        .map_or(0, |t| t.saturating_mul(1000).saturating_add(1))
}

/// The most freed connections' buffers an Endpoint keeps for reuse.
const SPARE_BUFFERS: usize = 16;
/// The most freed slots that keep their entry's box (growable stores).
const SPARE_ENTRIES: usize = 64;

/// Pushes an event; a full fixed queue drops it and counts it.
macro_rules! event {
    ($self:ident, $e:expr) => {
        if $crate::endpoint::store::Fifo::push(&mut $self.events, $e).is_err() {
            $self.counters.events_dropped += 1;
        }
    };
}

#[cfg(feature = "alloc")]
impl Endpoint<Heap> {
    /// An Endpoint with no connections whose tables grow. `secret` keys
    /// every hash (ISNs, ports, cookies, the demux table): take it from a
    /// good random source. Fails when the config holds a value the engine
    /// cannot work with ([`EndpointConfig::validate`]).
    pub fn new(config: EndpointConfig, secret: [u8; 16]) -> Result<Self, ConfigError> {
        Self::with_store(config, secret)
    }
}

impl<S: Store> Endpoint<S> {
    /// An Endpoint with no connections over the storage `S`, for example
    /// `FixedEndpoint::<8, 64, 4096>::with_store(config, secret)`. With a
    /// [`Fixed`] store, `rx_buffer` and `tx_buffer` become its buffer size.
    /// Fails when the config holds a value the engine cannot work with
    /// ([`EndpointConfig::validate`]).
    pub fn with_store(mut config: EndpointConfig, secret: [u8; 16]) -> Result<Self, ConfigError> {
        if let Some(b) = S::buffer_size() {
            config.rx_buffer = b;
            config.tx_buffer = b;
        }
        config.validate()?;
        let keys = Keys::new(secret);
        Ok(Endpoint {
            fo_cfg: config.fast_open,
            fo_key: fastopen::default_key(&secret),
            fo_backup: None,
            fo_cache: Default::default(),
            fo_stamp: 0,
            tag: keys.endpoint_tag(),
            keys,
            slots: Default::default(),
            free: Default::default(),
            spare: Default::default(),
            vacant: 0,
            live: 0,
            table: Default::default(),
            tw: TimeWaitTable::default(),
            listeners: Default::default(),
            listener_gen: 0,
            listen_table: Default::default(),
            bind_table: Default::default(),
            wheel: Wheel::new(0),
            events: Default::default(),
            txq: Default::default(),
            ctrl: Default::default(),
            orphans: Default::default(),
            orphan_count: 0,
            next_ephemeral: 0,
            last_now: Instant::ZERO,
            counters: Counters::default(),
            conn_cfg: PackedConfig::new(&config.conn),
            cfg: config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }
    /// Replaces the connection settings ([`EndpointConfig::conn`]) for what
    /// opens from now on, as a Linux sysctl changed while sockets are open:
    /// each open connection keeps the copy it was made with; new
    /// connections, listeners' new children and the answers to SYNs take
    /// the new ones. Fails, changing nothing, on settings
    /// [`EndpointConfig::validate`] refuses.
    pub fn set_connection_config(&mut self, conn: crate::Config) -> Result<(), ConfigError> {
        let mut next = self.cfg.clone();
        next.conn = conn;
        next.validate()?;
        self.conn_cfg = PackedConfig::new(&next.conn);
        self.cfg = next;
        Ok(())
    }
    /// The counters (`/proc/net/snmp` style).
    pub fn counters(&self) -> Counters {
        let mut c = self.counters;
        c.orphans = self.orphan_count as u64;
        c.time_wait = self.tw.len() as u64;
        c
    }
    /// Connections (all states but TIME-WAIT).
    pub fn connection_count(&self) -> usize {
        self.live
    }
    /// TIME-WAIT entries.
    pub fn time_wait_count(&self) -> usize {
        self.tw.len()
    }
    /// Entries in the timing wheel: at most one per connection and one
    /// per TIME-WAIT entry.
    pub fn timer_count(&self) -> usize {
        self.wheel.len()
    }
    /// The connection behind a handle, for queries (`state()`, `stats()`,
    /// ...). After the connection ended (`Closed` queued or about to be),
    /// it shows the TCB as it ended: CLOSED, or TIME-WAIT (the 4-tuple
    /// itself is then in the TIME-WAIT table).
    pub fn connection(&self, h: Handle) -> Option<&Connection<S::Buf>> {
        self.entry(h).map(|e| &e.conn)
    }

    /// Whether `ip` is one of this Endpoint's addresses
    /// ([`EndpointConfig::local_addrs`]; any address in transparent mode).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.cfg.is_local(ip)
    }

    /// The local address and port of a connection: for a connection a
    /// transparent Endpoint accepted, the destination the peer opened it to.
    pub fn local_addr(&self, h: Handle) -> Option<SocketAddr> {
        self.entry(h).map(|e| e.tuple.local())
    }

    /// The remote address and port of a connection.
    pub fn peer_addr(&self, h: Handle) -> Option<SocketAddr> {
        self.entry(h).map(|e| e.tuple.remote())
    }

    /// Time as the Endpoint takes it: a `now` earlier than one it was
    /// given before is taken as that earlier time (clamped, in debug and
    /// release builds alike, and counted in
    /// [`Counters::clock_regressions`]): time never goes backwards inside.
    fn clock(&mut self, now: Instant) -> Instant {
        if now > self.last_now {
            self.last_now = now;
        } else if now < self.last_now {
            self.counters.clock_regressions += 1;
        }
        self.last_now
    }

    /// The entry of a handle the application holds.
    fn entry(&self, h: Handle) -> Option<&Entry<S>> {
        if h.ep != self.tag {
            return None;
        }
        let s = self.slots.get(h.idx as usize)?;
        if s.generation != h.generation {
            return None;
        }
        s.get().filter(|e| e.app)
    }

    fn handle_of(&self, idx: u32) -> Handle {
        Handle {
            idx,
            generation: self.slots[idx as usize].generation,
            ep: self.tag,
        }
    }

    fn entry_mut(&mut self, idx: u32) -> Option<&mut Entry<S>> {
        self.slots.get_mut(idx as usize)?.get_mut()
    }

    // ----- the tuple table ----------------------------------------------

    fn tuple_of(slots: &[Slot<S>], tw: &TimeWaitTable<S>, v: u32) -> Tuple {
        if v & TW_BIT != 0 {
            tw.tuple(v & !TW_BIT)
        } else {
            slots[v as usize]
                .get()
                .map(|e| e.tuple)
                .expect("table names a live slot")
        }
    }

    /// The table value for a 4-tuple: a slot index or `TW_BIT | tw index`.
    fn lookup(&self, t: &Tuple) -> Option<u32> {
        self.lookup_hashed(t, self.keys.table_hash(t))
    }

    /// [`lookup`](Self::lookup) with the tuple's `table_hash` already known.
    fn lookup_hashed(&self, t: &Tuple, h: u64) -> Option<u32> {
        self.table.find(h, |v| {
            if v & TW_BIT != 0 {
                self.tw.tuple(v & !TW_BIT) == *t
            } else {
                // In place: no copy of the entry's tuple.
                self.slots[v as usize].get().is_some_and(|e| e.tuple == *t)
            }
        })
    }

    /// Adds `t -> v` (`h` is `t`'s `table_hash`); the caller checked
    /// `table.has_room()`.
    fn table_insert(&mut self, h: u64, v: u32) {
        let Endpoint {
            table,
            slots,
            tw,
            keys,
            ..
        } = self;
        let r = table.insert(h, v, |v| keys.table_hash(&Self::tuple_of(slots, tw, v)));
        debug_assert!(r.is_ok(), "demux table full");
        // The bind index holds what the demux table holds.
        self.bind_add(v);
    }

    /// Replaces the value `old` (whose tuple's `table_hash` is `h`) by
    /// `new`, or removes it when `new` is `None` (the values are unique: no
    /// tuple comparison is needed).
    fn table_set(&mut self, h: u64, old: u32, new: Option<u32>) {
        // The bind index holds what the demux table holds: the new value
        // (a TIME-WAIT entry of the same tuple) takes the old one's place.
        self.bind_remove(old, new);
        let Endpoint {
            table,
            slots,
            tw,
            keys,
            ..
        } = self;
        table.update(
            h,
            |v| v == old,
            new,
            |v| keys.table_hash(&Self::tuple_of(slots, tw, v)),
        );
    }

    // ----- connections ----------------------------------------------------

    /// A new connection's buffers: a freed connection's, or new ones. A
    /// reused buffer keeps its old bytes; a ring buffer only ever reads
    /// the bytes written into it since.
    fn buffers(&mut self) -> Buffers<S::Buf> {
        match self.spare.pop() {
            Some(b) => b,
            None => S::buffers(self.cfg.rx_buffer, self.cfg.tx_buffer),
        }
    }

    /// Whether one more connection fits: `max_connections`, and the slot
    /// array and demux table of a fixed store.
    fn room_for_conn(&self) -> bool {
        self.live < self.cfg.max_connections
            && (!self.free.is_empty() || self.slots.len() < self.slots.cap())
            && self.table.has_room()
    }

    /// Stores a new connection (`h` is its tuple's `table_hash`); returns
    /// its slot index. The caller checked [`room_for_conn`](Self::room_for_conn).
    #[inline(always)]
    fn insert_conn(
        &mut self,
        make: impl FnOnce(&PackedConfig) -> Connection<S::Buf>,
        tuple: Tuple,
        h: u64,
        parent: u32,
        app: bool,
        reuse: bool,
    ) -> u32 {
        let queue = if parent == NONE {
            Queue::None
        } else {
            Queue::Syn
        };
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                if self
                    .slots
                    .try_push(Slot {
                        generation: 0,
                        live: false,
                        entry: None,
                    })
                    .is_err()
                {
                    debug_assert!(false, "insert_conn without room");
                }
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        // The free stack's top `vacant` slots keep a box (`free_slot`).
        debug_assert!(S::buffer_size().is_some() || s.entry.is_some() == (self.vacant > 0));
        let cfg = &self.conn_cfg;
        match s.entry.as_deref_mut() {
            // A freed connection's storage: every field is overwritten (the
            // pattern names them all), so nothing of the old connection
            // remains but its allocation. Field by field, the TCB is
            // copied once, straight into place.
            Some(e) => {
                if S::buffer_size().is_none() {
                    self.vacant -= 1;
                }
                let Entry {
                    conn: e_conn,
                    tuple: e_tuple,
                    hash: e_hash,
                    wheel_at,
                    wheel_node,
                    parent: e_parent,
                    queue: e_queue,
                    app: e_app,
                    orphan,
                    in_txq,
                    dead,
                    ev,
                    end,
                    held,
                    linger_zero,
                    reuse: e_reuse,
                    bind: e_bind,
                    fo: e_fo,
                } = e;
                *e_conn = make(cfg);
                *e_tuple = tuple;
                *e_hash = h;
                *wheel_at = u64::MAX;
                *wheel_node = NONE;
                *e_parent = parent;
                *e_queue = queue;
                *e_app = app;
                *orphan = false;
                *in_txq = false;
                *dead = false;
                *ev = 0;
                *end = None;
                *held = false;
                *linger_zero = false;
                *e_reuse = reuse;
                *e_bind = bind::UNLINKED;
                *e_fo = 0;
            }
            None => {
                s.entry = Some(S::boxed(Entry {
                    conn: make(cfg),
                    tuple,
                    hash: h,
                    wheel_at: u64::MAX,
                    wheel_node: NONE,
                    parent,
                    queue,
                    app,
                    orphan: false,
                    in_txq: false,
                    dead: false,
                    ev: 0,
                    end: None,
                    held: false,
                    linger_zero: false,
                    reuse,
                    bind: bind::UNLINKED,
                    fo: 0,
                }));
            }
        }
        s.live = true;
        self.live += 1;
        self.table_insert(h, idx);
        idx
    }

    /// Takes a connection out of the tables (not yet out of its slot); its
    /// 4-tuple then maps to `next` (a TIME-WAIT entry) if given.
    fn detach(&mut self, idx: u32, next: Option<u32>) {
        let Some(e) = self.entry_mut(idx) else { return };
        let (hash, parent, queue) = (e.hash, e.parent, e.queue);
        e.parent = NONE;
        e.queue = Queue::None;
        if e.orphan {
            e.orphan = false;
            self.orphan_count -= 1;
        }
        if let Some(Some(l)) = self.listeners.get_mut(parent as usize) {
            match queue {
                Queue::Syn => l.syn_queue.keep(|&i| i != idx),
                Queue::Accept => {
                    let h = Handle {
                        idx,
                        generation: self.slots[idx as usize].generation,
                        ep: self.tag,
                    };
                    l.accept_queue.keep(|&x| x != h);
                }
                Queue::None => {}
            }
        }
        // A connection is in the table from `insert_conn` until here.
        self.table_set(hash, idx, next);
    }

    /// Frees a slot whose connection is detached. With a growable store
    /// its buffers go to `spare` and the slot keeps the entry's box for the
    /// next connection (at most [`SPARE_ENTRIES`] slots keep one): no
    /// allocation, and one copy of the TCB instead of two, per connection.
    ///
    /// The slots that keep a box are the top `vacant` of the free stack,
    /// where `insert_conn` takes the next slot: a freed slot goes on top
    /// with its box, and past `SPARE_ENTRIES` the deepest of them gives
    /// its box up. After a burst, the boxes that go are the burst's, and
    /// the connections that come one at a time afterwards reuse the ones
    /// kept (freeing the newest slot's box instead would make each of them
    /// allocate one).
    fn free_slot(&mut self, idx: u32) {
        let heap = S::buffer_size().is_none();
        let s = &mut self.slots[idx as usize];
        if !s.live {
            return;
        }
        s.live = false;
        s.generation = s.generation.wrapping_add(1);
        // Cannot fail: there are no more free indices than slots.
        let _ = self.free.try_push(idx);
        self.live -= 1;
        let Some(e) = s.entry.as_deref_mut() else {
            return;
        };
        if e.wheel_node != NONE {
            self.wheel.remove(e.wheel_node);
            e.wheel_node = NONE;
        }
        // Inline (fixed) buffers would be copied, not reused.
        if heap {
            let b = e.conn.swap_buffers(S::buffers(0, 0));
            if self.spare.len() < SPARE_BUFFERS {
                let _ = self.spare.try_push(b);
            }
            self.vacant += 1;
            if self.vacant > SPARE_ENTRIES {
                let deepest = self.free.len().checked_sub(self.vacant);
                if let Some(&i) = deepest.and_then(|d| self.free.get(d)) {
                    debug_assert!(!self.slots[i as usize].live);
                    self.slots[i as usize].entry = None;
                }
                self.vacant -= 1;
            }
        }
    }

    /// Keeps a connection's one wheel entry at or before its deadline.
    /// An earlier deadline moves the entry; a later one (or none) leaves
    /// it, to fire early and be re-armed by `on_timer` (an RTO pushed back
    /// by every ACK costs nothing per ACK). The entry goes when the
    /// connection is freed, so a freed connection leaves none behind.
    #[inline(always)]
    fn schedule(&mut self, idx: u32) {
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        let d = e.conn.deadline_now();
        if let Some((old, t)) = Self::wheel_move(e, d) {
            self.rearm(idx, old, t);
        }
    }

    /// [`schedule`](Self::schedule)'s test, on an entry its caller holds
    /// already, with the connection's earliest timer `d` (`Instant::MAX`:
    /// none): when the entry's wheel node must move to an earlier tick,
    /// takes the node out of the entry and returns it with that tick, for
    /// [`rearm`](Self::rearm). One comparison in microseconds; the tick
    /// is computed only for a move.
    #[inline(always)]
    fn wheel_move(e: &mut Entry<S>, d: Instant) -> Option<(u32, u64)> {
        if e.held || d.as_micros() >= e.wheel_at {
            return None;
        }
        let old = core::mem::replace(&mut e.wheel_node, NONE);
        e.wheel_at = u64::MAX;
        Some((old, tick_ceil(d)))
    }

    /// [`schedule`](Self::schedule)'s move of a connection's entry (out of
    /// line: the common call changes nothing).
    #[inline(never)]
    fn rearm(&mut self, idx: u32, old: u32, t: u64) {
        if old != NONE {
            // Moved on its own node: as a remove and an insert would.
            if t != u64::MAX
                && self.wheel.relocate(old, t)
                && let Some(e) = self.slots[idx as usize].get_mut()
            {
                e.wheel_at = wheel_from(t);
                e.wheel_node = old;
                return;
            }
            self.wheel.remove(old);
        }
        if t != u64::MAX
            && let Some(n) = self.wheel_insert(idx, t)
            && let Some(e) = self.slots[idx as usize].get_mut()
        {
            e.wheel_at = wheel_from(t);
            e.wheel_node = n;
        }
    }

    /// Inserts into the wheel; when a fixed pool is full, drops the stale
    /// entries (lazy deletion's leftovers, TIME-WAIT's) first. Each
    /// connection and TIME-WAIT entry has one live timer, so a pool of at
    /// least `2 * N` nodes always has room after the purge.
    fn wheel_insert(&mut self, id: u32, tick: u64) -> Option<u32> {
        if let Ok(n) = self.wheel.insert(id, tick) {
            return Some(n);
        }
        let Endpoint {
            wheel, slots, tw, ..
        } = self;
        wheel.purge(|n, w| {
            if w.id & TW_BIT != 0 {
                tw.timer_live(w.id & !TW_BIT, w.tick)
            } else {
                slots
                    .get(w.id as usize)
                    .and_then(|s| s.get())
                    .is_some_and(|e| e.wheel_node == n)
            }
        });
        let n = self.wheel.insert(id, tick).ok();
        if n.is_none() {
            self.counters.timers_dropped += 1;
        }
        n
    }

    /// Everything that follows a call into a connection: counters, events,
    /// queues, the wheel, TIME-WAIT and freeing.
    fn after(&mut self, idx: u32, acts: Actions, now: Instant) {
        let h = self.handle_of(idx);
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        let mut incoming = None;
        for c in acts.state_changes() {
            let (from, to) = (c.from, c.to);
            let estab = |s: State| matches!(s, State::Established | State::CloseWait);
            let k = &mut self.counters;
            match (from, to) {
                (State::Closed, State::SynSent) => k.active_opens += 1,
                (State::Listen, State::SynReceived) => k.passive_opens += 1,
                (State::SynSent | State::SynReceived, State::Closed)
                | (State::SynReceived, State::Listen) => k.attempt_fails += 1,
                (f, State::Closed) if estab(f) => k.estab_resets += 1,
                _ => {}
            }
            if estab(to) && !estab(from) {
                k.curr_estab += 1;
            } else if estab(from) && !estab(to) {
                k.curr_estab -= 1;
            }
            if e.app {
                event!(self, Event::StateChanged(h, *c));
            }
            if to == State::Established && from == State::SynReceived && e.queue == Queue::Syn {
                incoming = Some(e.parent);
            }
            // An active open completed: from SYN-SENT, or from
            // SYN-RECEIVED after a simultaneous open (RFC 9293 §3.5,
            // figure 8; Linux's `connect` returns then too).
            if to == State::Established
                && matches!(from, State::SynSent | State::SynReceived)
                && e.app
                && e.conn.active_open()
            {
                event!(self, Event::Connected(h));
            }
        }
        if e.app {
            // At most one Readable and one Writable queued per handle.
            let want = (u8::from(acts.readable()) * EV_READABLE)
                | (u8::from(acts.writable()) * EV_WRITABLE);
            let new = want & !e.ev;
            if new & EV_READABLE != 0 {
                if self.events.push(Event::Readable(h)).is_ok() {
                    e.ev |= EV_READABLE;
                } else {
                    self.counters.events_dropped += 1;
                }
            }
            if new & EV_WRITABLE != 0 {
                if self.events.push(Event::Writable(h)).is_ok() {
                    e.ev |= EV_WRITABLE;
                } else {
                    self.counters.events_dropped += 1;
                }
            }
            if acts.rare() {
                for (on, ev) in [
                    (acts.urgent(), Event::Urgent(h)),
                    (acts.negative_advice(), Event::NegativeAdvice(h)),
                ] {
                    if on && self.events.push(ev).is_err() {
                        self.counters.events_dropped += 1;
                    }
                }
            }
        }
        // Every call into the connection ends in its `finish`, which sets
        // `transmit` exactly when `poll_transmit` has something: asking the
        // connection again would compute the same answer.
        debug_assert!(acts.transmit() || !e.conn.wants_output());
        if acts.transmit() && !e.in_txq && !e.held {
            e.in_txq = true;
            // Cannot fail: each slot is in the queue at most once.
            let _ = self.txq.push(idx);
        }
        let state = e.conn.state();
        if let Some(li) = incoming {
            e.queue = Queue::Accept;
            if let Some(Some(l)) = self.listeners.get_mut(li as usize) {
                l.syn_queue.keep(|&i| i != idx);
                // Cannot fail: the accept queue was checked before the
                // final ACK went in, and its limit is at most its capacity.
                let _ = l.accept_queue.push(h);
                event!(
                    self,
                    Event::Incoming(ListenerId {
                        idx: li,
                        generation: l.generation,
                        ep: self.tag,
                    })
                );
            }
        }
        match state {
            State::Closed if e.queue == Queue::Accept => {
                // A child that ends before the application accepts it
                // (reset, timed out) stays in the accept queue, as Linux
                // leaves it there in TCP_CLOSE (`tcp_done` does not unlink
                // it): `accept` returns it, with the data it received and
                // then the error. Out of the demux table now; the slot is
                // freed once accepted and closed, or with its listener.
                let reason = e.conn.close_reason().unwrap_or(CloseReason::Reset);
                e.dead = true;
                e.end = Some(reason);
                let hash = e.hash;
                self.table_set(hash, idx, None);
                return;
            }
            State::Closed | State::Listen => {
                // CLOSED, or a passive SYN-RECEIVED back to LISTEN: the
                // listener owns no child in LISTEN; the connection ends.
                let reason = e.conn.close_reason().unwrap_or(CloseReason::Refused);
                e.dead = true;
                self.detach(idx, None);
                self.ended(idx, reason);
                self.maybe_free(idx);
                return;
            }
            State::TimeWait => {
                self.enter_time_wait(idx, now);
                return;
            }
            _ => {}
        }
        // Every call into a connection ends in its `finish`, which keeps
        // the earliest timer for `Actions`: one load, not six.
        let d = e.conn.deadline_settled();
        if let Some((old, t)) = Self::wheel_move(e, d) {
            self.rearm(idx, old, t);
        }
    }

    /// Connection `idx` is dead (out of the tables): if the application
    /// holds its handle, the handle lives on for `recv` with the reason
    /// kept; `Closed` is queued now when nothing is left to read, or by the
    /// `recv` that reads the last byte.
    fn ended(&mut self, idx: u32, reason: CloseReason) {
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        if !e.app {
            return;
        }
        e.end = Some(reason);
        if e.conn.recv_queue() == 0 {
            self.queue_closed(idx);
        } else if e.ev & EV_READABLE == 0 {
            if self
                .events
                .push(Event::Readable(self.handle_of(idx)))
                .is_ok()
            {
                if let Some(e) = self.slots[idx as usize].get_mut() {
                    e.ev |= EV_READABLE;
                }
            } else {
                self.counters.events_dropped += 1;
            }
        }
    }

    /// Queues the `Closed` event of a dead connection's handle (once). Its
    /// callers hold such a connection: `ended` (which returns first for a
    /// handle the application let go of) right after marking it dead, and
    /// `call_ended` (an application call on a live handle of a dead one).
    fn queue_closed(&mut self, idx: u32) {
        let h = self.handle_of(idx);
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        debug_assert!(e.app && e.dead, "Closed for a live or let-go handle");
        if e.ev & EV_CLOSED != 0 {
            return;
        }
        let reason = e.end.unwrap_or(CloseReason::Normal);
        e.ev |= EV_CLOSED;
        if self.events.push(Event::Closed(h, reason)).is_err() {
            // A full fixed queue: the application never learns of the end
            // by an event; `recv` still reports it, and `close` frees it.
            self.counters.events_dropped += 1;
        }
    }

    /// The application let go of the handle of connection `idx` (it polled
    /// `Closed`, or called `close` or `abort` on a dead connection).
    fn release(&mut self, idx: u32) {
        if let Some(e) = self.slots[idx as usize].get_mut() {
            e.app = false;
            e.ev = 0;
        }
        self.maybe_free(idx);
    }

    /// Frees the slot of a dead connection once nothing holds it: neither
    /// the application nor the transmit queue (its last segment).
    fn maybe_free(&mut self, idx: u32) {
        if self.slots[idx as usize]
            .get()
            .is_some_and(|e| e.dead && !e.in_txq && !e.app && e.queue != Queue::Accept)
        {
            self.free_slot(idx);
        }
    }

    // ----- opening --------------------------------------------------------

    /// Active OPEN (RFC 9293 §3.10.1) from `local` (address and port; port
    /// 0 or `None` picks an ephemeral port per RFC 6056, address `None` the
    /// first of [`EndpointConfig::local_addrs`] of the family) to `remote`. The ISN follows
    /// RFC 6528. The SYN waits in `poll_transmit`.
    pub fn connect(
        &mut self,
        now: Instant,
        local: Option<SocketAddr>,
        remote: SocketAddr,
    ) -> Result<Handle, EndpointError> {
        self.connect_with(now, local, remote, ConnectOptions::default())
    }

    /// [`connect`](Self::connect) with options: an explicit local port is
    /// bound as Linux's `bind(2)` would bind it (see
    /// [`listen_with`](Self::listen_with)'s rules), with or without
    /// `SO_REUSEADDR`.
    pub fn connect_with(
        &mut self,
        now: Instant,
        local: Option<SocketAddr>,
        remote: SocketAddr,
        opts: ConnectOptions,
    ) -> Result<Handle, EndpointError> {
        let now = self.clock(now);
        if !unicast(remote.ip()) || remote.port() == 0 {
            return Err(EndpointError::InvalidAddress);
        }
        if opts.fast_open && !self.fo_cfg.client {
            return Err(EndpointError::Unsupported);
        }
        let local_ip = match (local.map(|l| l.ip()), remote.ip()) {
            (Some(ip), r) if ip.is_ipv4() == r.is_ipv4() && unicast(ip) => {
                if !self.is_local(ip) {
                    return Err(EndpointError::AddrNotAvailable);
                }
                ip
            }
            (Some(_), _) => return Err(EndpointError::InvalidAddress),
            (None, r) => self
                .cfg
                .local_addrs
                .iter()
                .copied()
                .find(|a| a.is_ipv4() == r.is_ipv4())
                .ok_or(EndpointError::NoLocalAddress)?,
        };
        if !self.room_for_conn() {
            return Err(EndpointError::TooManyConnections);
        }
        let port = local.map_or(0, |l| l.port());
        let mut tuple = Tuple {
            local_ip,
            remote_ip: remote.ip(),
            local_port: port,
            remote_port: remote.port(),
        };
        if port != 0 && self.bind_conflict(SocketAddr::new(local_ip, port), opts.reuse_addr) {
            return Err(EndpointError::AddrInUse);
        }
        let (h, reuse) = if port == 0 {
            let (p, reuse) = self.pick_port(&tuple, now)?;
            tuple.local_port = p;
            (self.keys.table_hash(&tuple), reuse)
        } else {
            let h = self.keys.table_hash(&tuple);
            let reuse = match self.lookup_hashed(&tuple, h) {
                None => None,
                Some(v) if v & TW_BIT != 0 && self.tw_reusable(v & !TW_BIT, &tuple, now) => {
                    Some(v & !TW_BIT)
                }
                Some(_) => return Err(EndpointError::AddrInUse),
            };
            (h, reuse)
        };
        let iss = match reuse {
            Some(ti) => {
                // Linux `tcp_twsk_unique`: the new incarnation starts above
                // anything the old one sent (RFC 6191 §2, R6191-3).
                let iss = self.tw.get(ti).snd_nxt().add(65537);
                self.remove_time_wait(ti, &tuple);
                self.counters.tw_reused += 1;
                iss
            }
            None => self.keys.isn(&tuple, now),
        };
        let buffers = self.buffers();
        // Built in its slot (no copy of the TCB), then opened there.
        let idx = self.insert_conn(
            |c| Connection::new_packed(c, buffers),
            tuple,
            h,
            NONE,
            true,
            opts.reuse_addr,
        );
        let ts_offset = self.ts_offset_for(&tuple);
        let fast_open = opts.fast_open.then(|| self.fast_open_plan(&tuple));
        let Some(e) = self.entry_mut(idx) else {
            return Err(EndpointError::TooManyConnections);
        };
        let acts = match fast_open {
            Some((room, bits)) => {
                e.fo = bits;
                e.conn.open_active_fast_open(now, iss, room)
            }
            None => e.conn.open_active(now, iss),
        };
        // After OPEN, which seeds its own offset; the SYN is built later.
        if let Some(off) = ts_offset {
            e.conn.set_ts_offset(off);
        }
        self.after(idx, acts, now);
        Ok(self.handle_of(idx))
    }

    /// Gives a new connection its address pair's timestamp clock offset
    /// (RFC 7323 §5.4). Only a connection that may negotiate timestamps
    /// reads it (every TSval it sends is `ts_on` or a SYN offering them):
    /// with `timestamps` off, no keyed hash per connection.
    fn ts_offset_for(&self, tuple: &Tuple) -> Option<u32> {
        self.cfg
            .conn
            .timestamps
            .then(|| self.keys.ts_offset(tuple.local_ip, tuple.remote_ip))
    }

    /// Whether `connect` may take over TIME-WAIT entry `ti` (Linux
    /// `tcp_twsk_unique`: timestamps were on and the last one seen is more
    /// than a second old, so PAWS protects the new incarnation). With
    /// `LoopbackOnly`, Linux asks for a loopback source *or* destination
    /// address (an IPv4-mapped one counts).
    fn tw_reusable(&self, ti: u32, t: &Tuple, now: Instant) -> bool {
        let lo = |ip: IpAddr| ip.to_canonical().is_loopback();
        let allowed = match self.cfg.tw_reuse {
            TwReuse::Off => false,
            TwReuse::On => true,
            TwReuse::LoopbackOnly => lo(t.local_ip) || lo(t.remote_ip),
        };
        allowed && self.tw.get(ti).reusable(now)
    }

    /// RFC 6056 §3.3.3 Algorithm 3 ("simple hash-based"): start at a keyed
    /// hash of (local IP, remote IP, remote port) plus a counter, and take
    /// the first port whose 4-tuple is free (or a reusable TIME-WAIT).
    /// Ports a listener holds are skipped.
    fn pick_port(&mut self, t: &Tuple, now: Instant) -> Result<(u16, Option<u32>), EndpointError> {
        let (min, max) = (self.cfg.port_min, self.cfg.port_max.max(self.cfg.port_min));
        let n = u32::from(max - min) + 1;
        let offset = self
            .keys
            .port_offset(t.local_ip, t.remote_ip, t.remote_port);
        for k in 0..n {
            let port =
                min + ((offset.wrapping_add(self.next_ephemeral).wrapping_add(k)) % n) as u16;
            // A port a listener is bound to (the catch-all binds none).
            if self.listener_bound(t.local_ip, port) {
                continue;
            }
            let cand = Tuple {
                local_port: port,
                ..*t
            };
            let found = match self.lookup(&cand) {
                None => Some(None),
                Some(v) if v & TW_BIT != 0 && self.tw_reusable(v & !TW_BIT, &cand, now) => {
                    Some(Some(v & !TW_BIT))
                }
                Some(_) => None,
            };
            if let Some(reuse) = found {
                self.next_ephemeral = self.next_ephemeral.wrapping_add(k + 1);
                return Ok((port, reuse));
            }
        }
        Err(EndpointError::PortsExhausted)
    }

    /// Passive OPEN on `addr` (an unspecified address listens on all of
    /// ours). `backlog` bounds the accept queue (at most `somaxconn`) and,
    /// with `max_syn_backlog`, the SYN queue, as Linux's `listen(2)`. A
    /// specific address must be one of ours (else `AddrNotAvailable`). A
    /// transparent Endpoint also takes the unspecified address with port
    /// 0: a catch-all for every SYN no other listener takes, whatever its
    /// destination address and port.
    pub fn listen(&mut self, addr: SocketAddr, backlog: u32) -> Result<ListenerId, EndpointError> {
        self.listen_with(addr, ListenOptions::backlog(backlog))
    }

    /// [`listen`](Self::listen) with options: the backlog, whether new
    /// SYNs wait for the application's verdict
    /// ([`ListenOptions::filter_syn`]), and `SO_REUSEADDR`
    /// ([`ListenOptions::reuse_addr`]).
    ///
    /// Binding follows Linux's `bind(2)` (measured on Linux 6.18; the
    /// table is in `tests/reuse_addr.rs`). Two addresses overlap when they
    /// are equal or either is unspecified (same family). The call fails
    /// with [`EndpointError::AddrInUse`] when
    /// - a listener on an overlapping address has the same port (with
    ///   `SO_REUSEADDR` or without: Linux needs `SO_REUSEPORT` for two);
    /// - a connection in any state, or a TIME-WAIT entry, has an
    ///   overlapping local address and the same port, unless both it and
    ///   this listener have `SO_REUSEADDR`. This is how a restarted server
    ///   is refused its port while its previous run's connections sit in
    ///   TIME-WAIT, unless it sets `SO_REUSEADDR` (as the previous run
    ///   did).
    pub fn listen_with(
        &mut self,
        addr: SocketAddr,
        opts: ListenOptions,
    ) -> Result<ListenerId, EndpointError> {
        let backlog = opts.backlog;
        let ip = addr.ip();
        let bad = match ip {
            IpAddr::V4(a) => a.is_broadcast() || a.is_multicast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        let catch_all = self.cfg.transparent && ip.is_unspecified();
        if bad || (addr.port() == 0 && !catch_all) {
            return Err(EndpointError::InvalidAddress);
        }
        if !ip.is_unspecified() && !self.is_local(ip) {
            return Err(EndpointError::AddrNotAvailable);
        }
        if !catch_all && self.bind_conflict(addr, opts.reuse_addr) {
            return Err(EndpointError::AddrInUse);
        }
        if self.listener_exact(ip, addr.port()).is_some() {
            return Err(EndpointError::AddrInUse);
        }
        let syn_queue: S::Vec<u32> = Default::default();
        let accept_queue: S::Deque<Handle> = Default::default();
        let accept_limit = (backlog.min(self.cfg.somaxconn).max(1) as usize)
            .min(accept_queue.cap())
            .min(syn_queue.cap());
        let syn_limit = accept_limit.min(self.cfg.max_syn_backlog.max(1) as usize);
        let slot = self.listeners.iter().position(Option::is_none);
        if !self.listen_table.has_room()
            || (slot.is_none() && self.listeners.len() >= self.listeners.cap())
        {
            return Err(EndpointError::NoCapacity);
        }
        self.listener_gen = self.listener_gen.wrapping_add(1);
        let l = Listener {
            generation: self.listener_gen,
            addr,
            accept_limit,
            syn_limit,
            syn_queue,
            accept_queue,
            last_cookie: None,
            filter_syn: opts.filter_syn,
            reuse_addr: opts.reuse_addr,
            fast_open: if opts.fast_open == 0 && self.fo_cfg.server_all_listeners {
                accept_limit as u32
            } else {
                opts.fast_open
            },
            fo_key: None,
        };
        let idx = match slot {
            Some(i) => {
                self.listeners[i] = Some(l);
                i
            }
            None => {
                if self.listeners.try_push(Some(l)).is_err() {
                    return Err(EndpointError::NoCapacity);
                }
                self.listeners.len() - 1
            }
        } as u32;
        let h = self.keys.listen_hash(ip, addr.port());
        let Endpoint {
            listen_table,
            listeners,
            keys,
            ..
        } = self;
        let r = listen_table.insert(h, idx, |i| {
            let a = listeners[i as usize]
                .as_ref()
                .map(|l| l.addr)
                .expect("live listener");
            keys.listen_hash(a.ip(), a.port())
        });
        debug_assert!(r.is_ok(), "listener table full");
        Ok(ListenerId {
            idx,
            generation: self.listener_gen,
            ep: self.tag,
        })
    }

    fn listener_exact(&self, ip: IpAddr, port: u16) -> Option<u32> {
        let h = self.keys.listen_hash(ip, port);
        self.listen_table.find(h, |i| {
            self.listeners[i as usize]
                .as_ref()
                .is_some_and(|l| l.addr.ip() == ip && l.addr.port() == port)
        })
    }

    /// Whether a listener is bound to this address (or the wildcard) and
    /// port.
    fn listener_bound(&self, ip: IpAddr, port: u16) -> bool {
        let any = match ip {
            IpAddr::V4(_) => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
        };
        self.listener_exact(ip, port).is_some() || self.listener_exact(any, port).is_some()
    }

    /// The listener for a local address and port: the specific address
    /// first, then the wildcard of the same family (EP-1), then (in
    /// transparent mode) the family's catch-all on port 0.
    fn listener_at(&self, ip: IpAddr, port: u16) -> Option<u32> {
        let any = match ip {
            IpAddr::V4(_) => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
        };
        self.listener_exact(ip, port)
            .or_else(|| self.listener_exact(any, port))
            .or_else(|| {
                if self.cfg.transparent && port != 0 {
                    self.listener_exact(any, 0)
                } else {
                    None
                }
            })
    }

    fn listener(&self, id: ListenerId) -> Option<&Listener<S>> {
        if id.ep != self.tag {
            return None;
        }
        self.listeners
            .get(id.idx as usize)?
            .as_ref()
            .filter(|l| l.generation == id.generation)
    }

    /// Takes the oldest established connection from a listener's accept
    /// queue. If data (or the peer's FIN) arrived before, a `Readable`
    /// for the new handle is queued at once.
    pub fn accept(&mut self, listener: ListenerId) -> Option<Handle> {
        self.listener(listener)?;
        let l = self.listeners[listener.idx as usize].as_mut()?;
        let h = l.accept_queue.pop()?;
        let e = self.slots[h.idx as usize].get_mut()?;
        e.queue = Queue::None;
        e.parent = NONE;
        e.app = true;
        if e.dead {
            // It ended in the accept queue: its data, then its end.
            let reason = e.end.unwrap_or(CloseReason::Reset);
            self.ended(h.idx, reason);
            return Some(h);
        }
        if e.conn.recv_queue() > 0 || e.conn.is_eof() {
            if self.events.push(Event::Readable(h)).is_ok() {
                e.ev |= EV_READABLE;
            } else {
                self.counters.events_dropped += 1;
            }
        }
        Some(h)
    }

    /// The slot of a SYN still held for a verdict.
    fn held(&self, p: PendingSyn) -> Option<u32> {
        if p.ep != self.tag {
            return None;
        }
        let s = self.slots.get(p.idx as usize)?;
        (s.generation == p.generation && s.get().is_some_and(|e| e.held && !e.dead))
            .then_some(p.idx)
    }

    /// The local (the destination the peer asked for) and remote address
    /// of a SYN held for a verdict.
    pub fn pending_syn(&self, p: PendingSyn) -> Option<(SocketAddr, SocketAddr)> {
        let idx = self.held(p)?;
        self.slots[idx as usize]
            .get()
            .map(|e| (e.tuple.local(), e.tuple.remote()))
    }

    /// Accepts a held SYN: the SYN,ACK goes out now, and the connection
    /// goes on as any other (to the accept queue once its handshake
    /// completes).
    pub fn admit(&mut self, now: Instant, p: PendingSyn) -> Result<(), EndpointError> {
        let now = self.clock(now);
        let idx = self.held(p).ok_or(EndpointError::UnknownHandle)?;
        let e = self.entry_mut(idx).expect("held");
        e.held = false;
        // `after` queues no held connection to transmit: it is not there.
        debug_assert!(!e.in_txq, "a held SYN in the transmit queue");
        if e.conn.wants_output() {
            e.in_txq = true;
            let _ = self.txq.push(idx);
        }
        // Its timers start from now, as if the SYN had just come.
        let _ = now;
        self.schedule(idx);
        Ok(())
    }

    /// Refuses a held SYN with a RST (`<SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>`,
    /// as a closed port answers: RFC 9293 §3.10.7.1); the peer's connect
    /// fails with "connection refused".
    pub fn refuse(&mut self, now: Instant, p: PendingSyn) -> Result<(), EndpointError> {
        let _ = self.clock(now);
        let idx = self.held(p).ok_or(EndpointError::UnknownHandle)?;
        let e = self.entry_mut(idx).expect("held");
        let (tuple, irs) = (e.tuple, e.conn.irs());
        self.push_ctrl(
            tuple,
            Transmit {
                seq: SeqNum(0),
                ack: irs.add(1),
                flags: crate::wire::Flags::RST | crate::wire::Flags::ACK,
                window: 0,
                urgent: 0,
                ect: false,
                options: crate::wire::TcpOptions::NONE,
                len: 0,
            },
        );
        self.counters.syn_refused += 1;
        self.drop_held(idx);
        Ok(())
    }

    /// Drops a held SYN without an answer; the peer will retransmit it,
    /// and a retransmission raises a new [`Event::SynPending`].
    pub fn ignore(&mut self, p: PendingSyn) -> Result<(), EndpointError> {
        let idx = self.held(p).ok_or(EndpointError::UnknownHandle)?;
        self.counters.syn_ignored += 1;
        self.drop_held(idx);
        Ok(())
    }

    /// Removes a held SYN's connection, which never sent anything.
    pub(super) fn drop_held(&mut self, idx: u32) {
        if let Some(e) = self.entry_mut(idx) {
            e.dead = true;
        }
        self.detach(idx, None);
        self.maybe_free(idx);
    }

    /// Connections waiting in a listener's accept queue and SYN queue.
    pub fn queue_lengths(&self, listener: ListenerId) -> Option<(usize, usize)> {
        self.listener(listener)
            .map(|l| (l.accept_queue.count(), l.syn_queue.len()))
    }

    /// Closes a listener: every connection in its queues is reset (EP-5).
    pub fn close_listener(
        &mut self,
        now: Instant,
        listener: ListenerId,
    ) -> Result<(), EndpointError> {
        let now = self.clock(now);
        self.listener(listener)
            .ok_or(EndpointError::UnknownHandle)?;
        let l = self.listeners[listener.idx as usize]
            .take()
            .expect("checked");
        let h = self.keys.listen_hash(l.addr.ip(), l.addr.port());
        let Endpoint {
            listen_table,
            listeners,
            keys,
            ..
        } = self;
        listen_table.update(
            h,
            |i| i == listener.idx,
            None,
            |i| {
                let a = listeners[i as usize]
                    .as_ref()
                    .map(|l| l.addr)
                    .expect("live listener");
                keys.listen_hash(a.ip(), a.port())
            },
        );
        let children = l
            .syn_queue
            .iter()
            .copied()
            .chain(l.accept_queue.each().map(|h| h.idx));
        for idx in children {
            if let Some(e) = self.entry_mut(idx) {
                e.parent = NONE;
                e.queue = Queue::None;
                if e.dead {
                    // Ended in the accept queue: nothing to reset.
                    self.maybe_free(idx);
                } else if let Ok(a) = e.conn.abort(now) {
                    self.after(idx, a, now);
                }
            }
        }
        Ok(())
    }

    // ----- application calls ---------------------------------------------

    /// An application call on a connection (RFC 9293 §3.10). `Close` hands
    /// the connection to the Endpoint (an orphan) and `Abort` ends it: the
    /// handle is stale after either. A connection that has ended (its
    /// `Closed` not yet polled) still answers `Receive` with the data left
    /// and then the end; `Close` and `Abort` let go of it.
    ///
    /// This is the raw call: `Receive` and `Send` return the connection's
    /// [`Outcome`] (a `len` of 0 can mean "nothing yet" or "end of
    /// stream"). [`Endpoint::recv`] and [`Endpoint::send`] say which.
    pub fn on_app_call(
        &mut self,
        now: Instant,
        h: Handle,
        call: AppCall<'_>,
    ) -> Result<Outcome, EndpointError> {
        let now = self.clock(now);
        let dead = self.entry(h).ok_or(EndpointError::UnknownHandle)?.dead;
        if dead {
            return self.call_ended(now, h.idx, call);
        }
        let (close, abort) = (
            matches!(call, AppCall::Close),
            matches!(call, AppCall::Abort),
        );
        let e = self.entry_mut(h.idx).expect("checked");
        let out = e
            .conn
            .on_app_call(now, call)
            .map_err(EndpointError::from_call)?;
        if close || abort {
            e.app = false;
            // (Not dead: a dead connection's calls went to `call_ended`.)
            if close && e.conn.state() != State::Closed {
                e.orphan = true;
                self.orphan_count += 1;
                if let Err(h) = self.orphans.push(h) {
                    // A full fixed queue: drop the handles of orphans that
                    // already ended, then try again.
                    self.prune_orphans();
                    if self.orphans.push(h).is_err() {
                        self.counters.orphans_untracked += 1;
                    }
                }
            }
        }
        self.after(h.idx, out.actions, now);
        if close {
            self.enforce_orphan_limit(now);
        }
        Ok(out)
    }

    /// A call on a connection that has ended while the application holds
    /// its handle: reads drain what is left, `Close`/`Abort` let go of it.
    fn call_ended(
        &mut self,
        now: Instant,
        idx: u32,
        call: AppCall<'_>,
    ) -> Result<Outcome, EndpointError> {
        if matches!(call, AppCall::Close | AppCall::Abort) {
            self.release(idx);
            return Ok(Outcome {
                actions: Actions::NONE,
                len: 0,
            });
        }
        let e = self.entry_mut(idx).expect("checked");
        // The TCB answers as it ended (CLOSED or TIME-WAIT); what it
        // would do besides (a window update) is moot: it is out of the
        // tables and never sends again.
        let r = e.conn.on_app_call(now, call);
        if e.conn.recv_queue() == 0 {
            self.queue_closed(idx);
        }
        r.map(|o| Outcome {
            actions: Actions::NONE,
            len: o.len,
        })
        .map_err(EndpointError::from_call)
    }

    /// Resets the oldest orphans while there are more than `max_orphans`
    /// (Linux `tcp_too_many_orphans`).
    fn enforce_orphan_limit(&mut self, now: Instant) {
        while self.orphan_count > self.cfg.max_orphans {
            let Some(h) = self.orphans.pop() else {
                break;
            };
            let Some(s) = self.slots.get_mut(h.idx as usize) else {
                continue;
            };
            if s.generation != h.generation {
                continue;
            }
            let Some(e) = s.get_mut() else {
                continue;
            };
            if !e.orphan {
                continue;
            }
            self.counters.orphan_resets += 1;
            let a = match e.conn.abort(now) {
                Ok(a) => a,
                Err(_) => continue,
            };
            self.after(h.idx, a, now);
        }
        // Drop handles of orphans that already ended.
        if self.orphans.count() > 2 * self.orphan_count + 64 {
            self.prune_orphans();
        }
    }

    fn prune_orphans(&mut self) {
        let slots = &self.slots;
        self.orphans.keep(|h| {
            slots[h.idx as usize].generation == h.generation
                && slots[h.idx as usize].get().is_some_and(|e| e.orphan)
        });
    }

    /// Queues data on a connection: `Ok(n)` with `n > 0` bytes taken
    /// (possibly fewer than given), `Err(WouldBlock)` when the send buffer
    /// is full (wait for `Writable`), `Err(Call(Closing))` after
    /// `shutdown`, `Err(Closed(reason))` once the connection was reset or
    /// timed out, `Err(Call(EmptyBuffer))` for empty `data`.
    pub fn send(&mut self, now: Instant, h: Handle, data: &[u8]) -> Result<usize, EndpointError> {
        match self.on_app_call(now, h, AppCall::Send(data))?.len {
            0 => Err(EndpointError::WouldBlock),
            n => Ok(n),
        }
    }
    /// Queues data written in place ([`Connection::send_with`]): `fill`
    /// writes into the send buffer's free space and returns how many bytes
    /// it wrote; no copy from an application buffer. `Err(WouldBlock)`
    /// when the buffer is full (`fill` is not called) or `fill` wrote
    /// nothing; errors otherwise as [`send`](Self::send).
    pub fn send_with(
        &mut self,
        now: Instant,
        h: Handle,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, EndpointError> {
        let now = self.clock(now);
        let dead = self.entry(h).ok_or(EndpointError::UnknownHandle)?.dead;
        if dead {
            // The TCB answers as it ended, as `send` does (an ended
            // connection refuses every send).
            return match self.call_ended(now, h.idx, AppCall::Send(&[0])) {
                Err(e) => Err(e),
                Ok(_) => Err(EndpointError::WouldBlock),
            };
        }
        let e = self.entry_mut(h.idx).expect("checked");
        let out = e
            .conn
            .send_with(now, fill)
            .map_err(EndpointError::from_call)?;
        self.after(h.idx, out.actions, now);
        match out.len {
            0 => Err(EndpointError::WouldBlock),
            n => Ok(n),
        }
    }
    /// Queues urgent data ([`Connection::send_urgent`], RFC 9293 §3.8.5):
    /// as [`send`](Self::send), and the urgent pointer moves to the end of
    /// what was taken.
    pub fn send_urgent(
        &mut self,
        now: Instant,
        h: Handle,
        data: &[u8],
    ) -> Result<usize, EndpointError> {
        match self.on_app_call(now, h, AppCall::SendUrgent(data))?.len {
            0 => Err(EndpointError::WouldBlock),
            n => Ok(n),
        }
    }
    /// Reads from a connection: `Ok(n)` with `n > 0` bytes copied,
    /// `Ok(0)` at the end of the stream (the peer's FIN, every byte before
    /// it read; again on every later call), `Err(WouldBlock)` when nothing
    /// has arrived yet (wait for `Readable`), `Err(Closed(reason))` once
    /// the connection was reset or timed out and the data that came before
    /// has been read, `Err(Call(EmptyBuffer))` for an empty `buf`.
    pub fn recv(
        &mut self,
        now: Instant,
        h: Handle,
        buf: &mut [u8],
    ) -> Result<usize, EndpointError> {
        let n = self.on_app_call(now, h, AppCall::Receive(buf))?.len;
        if n > 0 {
            return Ok(n);
        }
        let e = self.entry(h).ok_or(EndpointError::UnknownHandle)?;
        if e.conn.is_eof() {
            Ok(0)
        } else {
            Err(EndpointError::WouldBlock)
        }
    }
    /// Nagle's algorithm off (`true`, as `TCP_NODELAY`) or on.
    pub fn set_nodelay(&mut self, now: Instant, h: Handle, on: bool) -> Result<(), EndpointError> {
        self.on_app_call(now, h, AppCall::SetNoDelay(on))
            .map(|_| ())
    }

    /// What `close` does (`SO_LINGER`): `None` (the default) closes
    /// gracefully, the connection finishing as an orphan that still
    /// delivers its data and FIN; `Some(Duration::ZERO)` makes `close`
    /// reset the connection (RST) and drop what is unsent. A non-zero
    /// linger time (which makes Linux's `close` block) is refused with
    /// [`EndpointError::Unsupported`]: an orphan's life is bounded by its
    /// own limits (`orphan_retries`, `fin_timeout`).
    pub fn set_linger(
        &mut self,
        h: Handle,
        linger: Option<crate::time::Duration>,
    ) -> Result<(), EndpointError> {
        if linger.is_some_and(|d| !d.is_zero()) {
            return Err(EndpointError::Unsupported);
        }
        self.entry(h).ok_or(EndpointError::UnknownHandle)?;
        if let Some(e) = self.entry_mut(h.idx) {
            e.linger_zero = linger.is_some();
        }
        Ok(())
    }

    /// Half-close (FIN after the queued data).
    pub fn shutdown(&mut self, now: Instant, h: Handle) -> Result<(), EndpointError> {
        self.on_app_call(now, h, AppCall::Shutdown).map(|_| ())
    }
    /// Full close; the connection finishes as an orphan and the handle
    /// ends (with unread data, or after `set_linger(Some(ZERO))`, it is
    /// reset instead: RFC 9293 §3.6.1 SHLD-3).
    pub fn close(&mut self, now: Instant, h: Handle) -> Result<(), EndpointError> {
        let call = match self.entry(h) {
            Some(e) if e.linger_zero && !e.dead => AppCall::Abort,
            _ => AppCall::Close,
        };
        self.on_app_call(now, h, call).map(|_| ())
    }
    /// Abort (RST); the handle ends.
    pub fn abort(&mut self, now: Instant, h: Handle) -> Result<(), EndpointError> {
        self.on_app_call(now, h, AppCall::Abort).map(|_| ())
    }

    // ----- outputs ---------------------------------------------------------

    /// The next thing the applications must learn. Events of handles the
    /// application has let go of (`close`, `abort`) and of listeners it
    /// closed are skipped. Polling a handle's [`Event::Closed`] ends the
    /// handle.
    pub fn poll_event(&mut self) -> Option<Event> {
        while let Some(ev) = self.events.pop() {
            let h = match ev {
                Event::Incoming(l) => {
                    if self.listener(l).is_some() {
                        return Some(ev);
                    }
                    continue;
                }
                Event::SynPending(_, p) => {
                    if self.held(p).is_some() {
                        return Some(ev);
                    }
                    continue;
                }
                Event::Connected(h)
                | Event::Readable(h)
                | Event::Writable(h)
                | Event::Urgent(h)
                | Event::NegativeAdvice(h)
                | Event::StateChanged(h, _)
                | Event::Closed(h, _) => h,
            };
            if self.entry(h).is_none() {
                continue;
            }
            let e = self.entry_mut(h.idx).expect("checked");
            match ev {
                Event::Readable(_) => e.ev &= !EV_READABLE,
                Event::Writable(_) => e.ev &= !EV_WRITABLE,
                Event::Closed(..) => self.release(h.idx),
                _ => {}
            }
            return Some(ev);
        }
        None
    }

    /// The earliest time `on_timer` is needed (possibly a little early).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.wheel.next_tick().map(Instant::from_millis)
    }

    /// Time passed: runs every timer due at `now`. Costs O(timers due),
    /// whatever the number of connections.
    pub fn on_timer(&mut self, now: Instant) {
        let now = self.clock(now);
        self.wheel.advance(tick_floor(now));
        while let Some(f) = self.wheel.pop_fired() {
            let w = f.e;
            if w.id & TW_BIT != 0 {
                self.time_wait_timer(w.id & !TW_BIT, w.tick);
                continue;
            }
            let idx = w.id;
            let Some(e) = self.entry_mut(idx) else {
                continue;
            };
            if e.wheel_node != f.node {
                continue;
            }
            e.wheel_node = NONE;
            e.wheel_at = u64::MAX;
            if e.dead {
                continue;
            }
            if e.conn.deadline().is_some_and(|d| d <= now) {
                let a = e.conn.on_timer(now);
                self.after(idx, a, now);
            } else {
                self.schedule(idx);
            }
        }
    }

    /// Writes the next segment to send into `buf` (header, options,
    /// payload, checksum) and says where it goes. Call until `None` after
    /// every entry point. `buf` must hold at least [`MIN_TRANSMIT_BUF`]
    /// bytes (else nothing is taken: see there), and should hold
    /// [`MAX_HEADER`] plus the MSS: the payload is limited by what fits.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Datagram> {
        let now = self.clock(now);
        if buf.len() < MIN_TRANSMIT_BUF {
            if self.ctrl.count() > 0 || self.txq.count() > 0 {
                self.counters.short_buffers += 1;
            }
            return None;
        }
        if let Some(c) = self.ctrl.pop() {
            return self.emit(&c.tuple, &c.t, buf, 0);
        }
        while let Some(&idx) = self.txq.first() {
            let Some(e) = self.slots[idx as usize].get_mut() else {
                self.txq.pop();
                continue;
            };
            if e.dead && e.conn.state() == State::TimeWait {
                // Replaced by a TIME-WAIT entry, which sends the ACK.
                e.in_txq = false;
                self.txq.pop();
                self.maybe_free(idx);
                continue;
            }
            let before = e.conn.retransmits();
            // The segment stays where the connection built it (`out`,
            // changed and read in place): moving a `Transmit` copies its
            // option area.
            let mut seg = 0;
            let mut out = if self.cfg.gso_max > 0 {
                let max = self.cfg.gso_max.min(buf.len() - MAX_HEADER);
                e.conn
                    .poll_transmit_gso_in(now, &mut buf[MAX_HEADER..], max, &mut seg)
            } else {
                e.conn.poll_transmit(now, &mut buf[MAX_HEADER..])
            };
            // Retransmissions go out here (loss found by an ACK or a timer
            // only marks what to resend).
            self.counters.retrans_segs += u64::from(e.conn.retransmits().wrapping_sub(before));
            match &mut out {
                Some(t) => {
                    let tuple = e.tuple;
                    // The entry in hand, unless the Fast Open option (which
                    // needs the whole Endpoint) was added in between.
                    let e = if e.fo & (fo::SYN | fo::REPLY) != 0 && t.flags.syn() {
                        self.fast_open_option(idx, t);
                        self.slots[idx as usize].get_mut()?
                    } else {
                        e
                    };
                    let more = e.conn.may_transmit();
                    if !more {
                        // Nothing more to send: out of the queue now
                        // rather than after one more poll (`drained`, on
                        // the entry in hand).
                        self.txq.pop();
                        e.in_txq = false;
                    }
                    if !more && e.dead {
                        self.maybe_free(idx);
                    } else if let Some((old, tick)) = Self::wheel_move(e, e.conn.deadline_now()) {
                        self.rearm(idx, old, tick);
                    }
                    return self.emit(&tuple, t, buf, seg);
                }
                // A buffer with room for a header only: data, a FIN and
                // resends wait for a poll with room (`Connection::
                // poll_transmit`). The connection stays queued for that
                // poll, as `MIN_TRANSMIT_BUF` says, and the buffer is
                // counted short; out of the queue, it would wait for an
                // unrelated timer or the next application call.
                None if buf.len() == MAX_HEADER && e.conn.wants_output() => {
                    self.counters.short_buffers += 1;
                    return None;
                }
                None => self.drained(idx),
            }
        }
        None
    }

    /// The Fast Open option of a connection's first SYN (from the cookie
    /// cache) or SYN,ACK (our cookie): once.
    fn fast_open_option(&mut self, idx: u32, t: &mut Transmit) {
        let Some(e) = self.slots[idx as usize].get() else {
            return;
        };
        let (bits, tuple, parent) = (e.fo, e.tuple, e.parent);
        let opt = if bits & fo::SYN != 0 && !t.flags.ack() {
            // The connection marks its first SYN (a retransmission has no
            // option).
            match t.options.fast_open {
                Some(_) => self.syn_option(&tuple, bits),
                None => None,
            }
        } else if bits & fo::REPLY != 0 && t.flags.ack() {
            self.reply_option(&tuple, parent, bits & fo::EXP != 0)
        } else {
            return;
        };
        t.options.fast_open = opt;
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        e.fo &= !(fo::SYN | fo::REPLY);
        if let Some(o) = opt
            && !t.flags.ack()
        {
            e.fo = (e.fo & !fo::EXP) | fo::SENT_OPTION | if o.is_exp() { fo::EXP } else { 0 };
        }
        if t.len > 0 && !t.flags.ack() {
            e.fo |= fo::SENT_DATA;
        }
    }

    /// The connection first in the transmit queue has nothing more to
    /// send: it leaves the queue, and is freed if it ended.
    fn drained(&mut self, idx: u32) {
        self.txq.pop();
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        e.in_txq = false;
        if e.dead {
            self.maybe_free(idx);
        } else {
            self.schedule(idx);
        }
    }

    /// Builds the segment for `t` whose payload (if any) sits at
    /// `buf[MAX_HEADER..]`.
    fn emit(
        &mut self,
        tuple: &Tuple,
        t: &Transmit,
        buf: &mut [u8],
        segment_size: u16,
    ) -> Option<Datagram> {
        let end = MAX_HEADER + t.len;
        // The header goes right in front of the payload: no byte moves.
        if t.options.is_empty() {
            // No options (every segment after the handshake without
            // timestamps or SACK blocks): `Transmit::emit_header` writes
            // the 20-byte fixed header from the fields, without copying
            // the option area into a `TcpHeader` first.
            let start = t
                .emit_header(tuple.local_port, tuple.remote_port, buf, MAX_HEADER)
                .ok()?;
            let seg = buf.get_mut(start..end)?;
            return self.seal(tuple, t, seg, start, end, segment_size);
        }
        let mut header: TcpHeader = t.header(tuple.local_port, tuple.remote_port);
        if header.options_len() > 40 {
            header.options.sack.truncate(2);
        }
        let ts_only = header.options.only_timestamps();
        let hlen = match ts_only {
            Some(_) => TcpHeader::TS_ONLY_LEN,
            None => header.header_len(),
        };
        let start = MAX_HEADER.checked_sub(hlen)?;
        let seg = buf.get_mut(start..end)?;
        match ts_only {
            Some(ts) => header.emit_ts_only(ts, seg).ok()?,
            None => header.emit(seg).ok()?,
        };
        self.seal(tuple, t, seg, start, end, segment_size)
    }

    /// [`emit`](Self::emit)'s last step, once the header is in `seg`
    /// (`buf[start..end]`): the checksum (or, with offload, the
    /// pseudo-header's sum for the device), the counters and the
    /// `Datagram`.
    #[inline(always)]
    fn seal(
        &mut self,
        tuple: &Tuple,
        t: &Transmit,
        seg: &mut [u8],
        start: usize,
        end: usize,
        segment_size: u16,
    ) -> Option<Datagram> {
        let len = seg.len();
        let offload = self.cfg.tx_checksum_offload;
        match (tuple.local_ip, tuple.remote_ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) if offload => {
                let sum = checksum::pseudo_header_v4(s.octets(), d.octets(), len as u16);
                seg[16..18].copy_from_slice(&checksum::fold(sum).to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) if offload => {
                let sum = checksum::pseudo_header_v6(s.octets(), d.octets(), len as u32);
                seg[16..18].copy_from_slice(&checksum::fold(sum).to_be_bytes());
            }
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                checksum::fill_checksum_v4(s.octets(), d.octets(), seg);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                checksum::fill_checksum_v6(s.octets(), d.octets(), seg);
            }
            _ => return None,
        }
        self.counters.out_segs += 1;
        if t.flags.rst() {
            self.counters.out_rsts += 1;
        }
        Some(Datagram {
            src: tuple.local_ip,
            dst: tuple.remote_ip,
            start,
            end,
            ecn: if t.ect {
                crate::wire::Ecn::Ect0
            } else {
                crate::wire::Ecn::NotEct
            },
            segment_size,
        })
    }

    fn push_ctrl(&mut self, tuple: Tuple, t: Transmit) {
        if self.ctrl.count() >= MAX_CTRL || self.ctrl.push(Ctrl { tuple, t }).is_err() {
            self.counters.ctrl_dropped += 1;
        }
    }

    /// The ISN for a new passive connection (RFC 6528).
    fn passive_iss(&self, t: &Tuple, now: Instant) -> SeqNum {
        self.keys.isn(t, now)
    }
}
