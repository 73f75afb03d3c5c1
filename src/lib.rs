//! # tcpstate
//!
//! A complete TCP engine (RFC 9293) as a pure state machine: no sockets, no
//! clock, no threads and no `unsafe` inside. The host feeds it segments, the
//! time and application calls; it answers with actions.
//!
//! # The run loop
//!
//! A [`Connection`] is one TCB. The host drives it like this:
//!
//! 1. **Create** it with [`Connection::new`], a [`Config`] (for example
//!    [`Config::linux`] or [`Config::rfc9293`]) and [`Buffers`] for receiving
//!    and sending. The buffers bound its memory; nothing allocates per call
//!    (with `alloc`, loss recovery and reordering box their range sets,
//!    at most 80 bytes each, once per episode: [`Connection::heap_bytes`]).
//! 2. **Open** it: [`Connection::connect`] (active) or
//!    [`Connection::listen`] (passive), or take a listener's SYN with
//!    [`Connection::accept`].
//! 3. **Feed it every input**, each with the current time `now`:
//!    segments for its 4-tuple with [`Connection::on_segment`] (parsed with
//!    [`TcpHeader::parse`], checksum verified with [`wire::checksum`]);
//!    application calls with [`Connection::on_app_call`] or the helpers
//!    (`send`, `recv`, `shutdown`, `close`, `abort`); and
//!    [`Connection::on_timer`] once its deadline has passed. A segment that
//!    matches no connection is answered with
//!    [`connection::reply_to_unknown`].
//! 4. **Act on the [`Actions`]** each input returns. Iterate them:
//!    [`Action::StateChanged`] and [`Action::Closed`] report what happened,
//!    [`Action::Readable`] and [`Action::Writable`] wake the application,
//!    [`Action::Transmit`] leads to step 5 and [`Action::SetTimer`] /
//!    [`Action::ClearTimer`] to step 6; [`Action::Urgent`] (urgent data
//!    arrives) and [`Action::NegativeAdvice`] (R1 retransmissions went
//!    unanswered: advice for the IP layer) are news, nothing required.
//! 5. **Transmit**: call [`Connection::poll_transmit`] until it returns
//!    `None`. Each [`Transmit`] wrote its payload to the start of your
//!    buffer; write the header in front of it with
//!    [`Transmit::emit_header`] (ports are yours; or build a [`TcpHeader`]
//!    with [`Transmit::header`] and emit it), fill in the checksum and send.
//! 6. **Keep one timer** per connection at [`Connection::deadline`]. When it
//!    passes, call `on_timer`; calling it early is a harmless no-op.
//!    [`Action::SetTimer`] reports the deadline as the call left it; sending
//!    can move it again (a new segment starts the retransmission or the
//!    loss-probe timer), so read [`Connection::deadline`] once more after
//!    step 5 drained `poll_transmit` (as quinn's `poll_timeout`).
//! 7. **Time only moves forward**: `now` must never be earlier than in a
//!    previous call on the same connection. Then go back to step 3.
//!
//! # Example
//!
//! Two connections joined by a queue that stands in for the network (a real
//! host emits each header, adds the checksum and sends an IP packet):
//!
//! ```
//! use std::collections::VecDeque;
//! use tcpstate::{Action, Actions, Buffers, Config, Connection, Instant};
//! use tcpstate::{Segment, SeqNum, State, TcpHeader};
//!
//! type Conn = Connection<Vec<u8>>;
//! type Wire = VecDeque<(usize, TcpHeader, Vec<u8>)>; // (to, header, payload)
//!
//! // Steps 4 and 5 for connection `i`: act on what a call returned.
//! fn act(i: usize, now: Instant, actions: Actions, c: &mut Conn, wire: &mut Wire) {
//!     for action in actions {
//!         match action {
//!             Action::Transmit => {
//!                 let mut buf = [0u8; 1500];
//!                 let (src, dst) = if i == 0 { (40000, 80) } else { (80, 40000) };
//!                 while let Some(tx) = c.poll_transmit(now, &mut buf) {
//!                     let header = tx.header(src, dst);
//!                     wire.push_back((1 - i, header, buf[..tx.len].to_vec()));
//!                 }
//!             }
//!             Action::StateChanged(s) => println!("{i}: {} -> {}", s.from, s.to),
//!             _ => {} // Readable, Writable, Closed; timers: see deadline()
//!         }
//!     }
//! }
//!
//! let new = || Conn::new(Config::linux(), Buffers::with_capacity(4096, 4096));
//! let [client, server] = [new()?, new()?];
//! let mut conns = [client, server]; // 0: client, 1: server
//! let mut wire = Wire::new();
//! let mut now = Instant::ZERO;
//!
//! let [client, server] = &mut conns;
//! act(1, now, server.listen(now, SeqNum(5000))?, server, &mut wire);
//! act(0, now, client.connect(now, SeqNum(1000))?, client, &mut wire);
//! let sent = client.send(now, b"hello")?; // queued until ESTABLISHED
//! act(0, now, sent.actions, client, &mut wire);
//!
//! // Deliver segments; when none is in flight, move to the earliest deadline.
//! loop {
//!     if let Some((to, header, payload)) = wire.pop_front() {
//!         let actions = conns[to].on_segment(now, &Segment::new(&header, &payload));
//!         act(to, now, actions, &mut conns[to], &mut wire);
//!         continue;
//!     }
//!     match conns.iter().filter_map(|c| c.deadline()).min() {
//!         Some(t) if t < Instant::from_secs(1) => now = t,
//!         _ => break,
//!     }
//!     for (i, c) in conns.iter_mut().enumerate() {
//!         if c.deadline().is_some_and(|d| d <= now) {
//!             let actions = c.on_timer(now);
//!             act(i, now, actions, c, &mut wire);
//!         }
//!     }
//! }
//!
//! let [client, server] = &mut conns;
//! assert_eq!(client.state(), State::Established);
//! let mut buf = [0u8; 64];
//! let n = server.recv(now, &mut buf)?.len;
//! assert_eq!(&buf[..n], b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For a whole host (many connections, listeners, TIME-WAIT, addresses,
//! ICMP), use the [`Endpoint`]: see its module docs for its run loop and
//! the application contract, and [`embedding`] for a walk through a real
//! host.
//!
//! `cargo run --example lifecycle` runs the same loop over real TCP bytes
//! through every state; the state diagram is [`state::to_mermaid`] /
//! [`state::to_dot`], generated from [`TRANSITIONS`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod buffer;
pub mod config;
pub mod connection;
pub mod embedding;
pub mod endpoint;
pub mod error;
#[cfg(feature = "testing")]
pub mod packetdrill;
pub mod seq;
#[cfg(feature = "testing")]
pub mod sim;
pub mod state;
#[cfg(feature = "proptest")]
pub mod strategies;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod wire;

pub use buffer::{Assembler, RingBuffer, TooManyRanges};
pub use config::{Config, Keepalive};
pub use connection::{
    AcceptError, Action, Actions, AppCall, Buffers, Connection, IcmpError, Outcome, StateChange,
    Stats, Timer, Transmit,
};
pub use endpoint::{
    ConnInfo, ConnectOptions, Counters, Datagram, Endpoint, EndpointConfig, EndpointError,
    Event as EndpointEvent, FixedEndpoint, Handle, ListenOptions, ListenerId, PendingSyn,
    SynCookies, TimeWaitEntry, TwReuse,
};
pub use error::{CallError, CloseReason, ConfigError};
pub use seq::SeqNum;
pub use state::{Event, State, TRANSITIONS, Transition};
pub use time::{Duration, Instant};
pub use wire::{Ecn, Flags, Segment, TcpHeader, TcpOptions, WireError};
