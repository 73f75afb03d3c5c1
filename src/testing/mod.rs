//! Test support shared by `tests/hostile.rs` and the fuzz targets
//! (feature `testing`): the hostile [`Input`] language, a [`Harness`] that
//! drives one [`Connection`] and checks the engine's invariants after every
//! step, and [`fixture`]s that bring a connection into each of the 11 states
//! through the public API.
//!
//! The invariants checked after every step (see [`Harness`]):
//!
//! * `poll_transmit` ends (fewer than [`MAX_SEGMENTS_PER_STEP`] segments);
//! * every segment's payload fits the caller's buffer, and is the bytes the
//!   application queued at that stream offset;
//! * no data beyond our FIN, one FIN position only, and that position is
//!   right after the last byte the application queued;
//! * CLOSED sends at most one (pending) RST, LISTEN sends only RSTs;
//! * every state change is an edge of [`crate::TRANSITIONS`], the changes
//!   chain, and `stats().illegal_transitions == 0`;
//! * `recv_queue() <= rx capacity`, `send_queue() <= tx capacity`;
//! * in a synchronized state the advertised right edge
//!   (`SEG.ACK + SEG.WND << scale`) never moves left (RFC 9293 SHLD-14) and
//!   `SEG.ACK` never moves back;
//! * a deadline exists in SYN-SENT, SYN-RECEIVED, FIN-WAIT-1, CLOSING,
//!   LAST-ACK, TIME-WAIT, and whenever data is queued or unacknowledged.
//! * `on_transmit_failed` of a segment the device dropped, reported right
//!   after its poll, changes no state (stale or made-up reports are
//!   checked as any other step).

pub mod endpoint;

use std::collections::VecDeque;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use crate::config::Config;
use crate::connection::{Actions, Buffers, Connection, Storage, Transmit};
use crate::seq::SeqNum;
use crate::state::{self, State};
use crate::time::{Duration, Instant};
use crate::wire::{Flags, Segment, TcpOptions};

/// More segments than this from one `poll_transmit` loop is a violation.
pub const MAX_SEGMENTS_PER_STEP: usize = 1000;
/// The largest payload a hostile segment carries.
pub const MAX_PAYLOAD: usize = 3000;
/// Log lines kept for a failure report.
const LOG_LINES: usize = 48;

/// A sequence number relative to the connection's current variables, so
/// that random inputs keep landing on window edges as the connection moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SeqRef {
    /// This exact number.
    Abs(u32),
    /// RCV.NXT plus the offset.
    RcvNxt(i32),
    /// RCV.NXT + RCV.WND plus the offset.
    RcvEdge(i32),
    /// SND.UNA plus the offset.
    SndUna(i32),
    /// SND.NXT plus the offset.
    SndNxt(i32),
    /// SND.UNA + SND.WND plus the offset.
    SndEdge(i32),
    /// ISS plus the offset.
    Iss(i32),
    /// IRS plus the offset.
    Irs(i32),
}

impl SeqRef {
    /// The number this reference names for `c` now.
    pub fn resolve<B: Storage>(self, c: &Connection<B>) -> SeqNum {
        let (base, off) = match self {
            SeqRef::Abs(n) => return SeqNum(n),
            SeqRef::RcvNxt(o) => (c.rcv_nxt(), o),
            SeqRef::RcvEdge(o) => (c.rcv_nxt().add(c.rcv_wnd()), o),
            SeqRef::SndUna(o) => (c.snd_una(), o),
            SeqRef::SndNxt(o) => (c.snd_nxt(), o),
            SeqRef::SndEdge(o) => (c.snd_una().add(c.snd_wnd()), o),
            SeqRef::Iss(o) => (c.iss(), o),
            SeqRef::Irs(o) => (c.irs(), o),
        };
        base.add(off as u32)
    }
}

/// A hostile segment, with sequence and acknowledgment numbers relative to
/// the connection it is fed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SegSpec {
    /// SEG.SEQ.
    pub seq: SeqRef,
    /// SEG.ACK.
    pub ack: SeqRef,
    /// Control bits (any of the 256 combinations).
    pub flags: Flags,
    /// Window field.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options, sane or not.
    pub options: TcpOptions,
    /// Payload length (taken modulo `MAX_PAYLOAD + 1`).
    pub payload_len: u16,
    /// Payload content seed.
    pub fill: u8,
}

/// An owned segment (absolute numbers) with its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedSegment {
    /// SEG.SEQ.
    pub seq: SeqNum,
    /// SEG.ACK.
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// Window field.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload.
    pub payload: Vec<u8>,
}

impl OwnedSegment {
    /// The borrowed form the engine takes.
    pub fn as_segment(&self) -> Segment<'_> {
        Segment {
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            payload: &self.payload,
        }
    }
}

impl SegSpec {
    /// The segment this spec names for `c` now.
    pub fn resolve<B: Storage>(&self, c: &Connection<B>) -> OwnedSegment {
        let n = usize::from(self.payload_len) % (MAX_PAYLOAD + 1);
        OwnedSegment {
            seq: self.seq.resolve(c),
            ack: self.ack.resolve(c),
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            options: self.options,
            payload: (0..n).map(|i| self.fill.wrapping_add(i as u8)).collect(),
        }
    }
}

/// One event of a hostile run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Input {
    /// A segment relative to the connection's current state.
    Segment(SegSpec),
    /// A segment with absolute numbers.
    Raw(OwnedSegmentSpec),
    /// Time passes by this many milliseconds, then `on_timer`.
    Advance(u32),
    /// The application sends this many bytes (of the harness's pattern).
    Send(u16),
    /// The application sends this many bytes as urgent data
    /// (`send_urgent`, RFC 9293 §3.8.5).
    SendUrgent(u16),
    /// The application reads up to this many bytes.
    Recv(u16),
    /// Half-close.
    Shutdown,
    /// Close.
    Close,
    /// Abort.
    Abort,
    /// TCP_NODELAY on (`true`) or off.
    SetNoDelay(bool),
    /// A segment handed to `on_segment_unverified` with a right (`true`)
    /// or a wrong TCP checksum: a wrong one must be refused and change
    /// nothing (RFC 9293 §3.1 MUST-2/3).
    Unverified(SegSpec, bool),
    /// A segment handed to `on_segment_recv` with a read buffer of this
    /// many bytes (the application reads at once).
    SegmentRecv(SegSpec, u16),
    /// The next `1 + n % 4` segments polled are dropped by the host's
    /// device queue: each is reported with `on_transmit_failed` right
    /// after its poll, as documented, and is not returned (a peer does
    /// not get it).
    DeviceFull(u8),
    /// A stale report to `on_transmit_failed`: the `k`-th most recent
    /// segment polled (not the last one, or one reported already).
    TransmitFailed(u8),
    /// A report to `on_transmit_failed` of a segment the connection never
    /// sent (these numbers, flags and payload length).
    TransmitFailedRaw(OwnedSegmentSpec),
}

/// An absolute segment as an input (payload by length and seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct OwnedSegmentSpec {
    /// SEG.SEQ.
    pub seq: SeqNum,
    /// SEG.ACK.
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// Window field.
    pub window: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload length (modulo `MAX_PAYLOAD + 1`).
    pub payload_len: u16,
}

impl OwnedSegmentSpec {
    /// The segment.
    pub fn to_owned_segment(&self) -> OwnedSegment {
        let n = usize::from(self.payload_len) % (MAX_PAYLOAD + 1);
        OwnedSegment {
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: 0,
            options: self.options,
            payload: (0..n).map(|i| i as u8).collect(),
        }
    }
}

/// The byte at stream offset `off` of a stream salted with `salt`. Not
/// periodic in 256, so a segment at the wrong offset shows.
pub fn pattern(salt: u64, off: u64) -> u8 {
    let x = off.wrapping_add(salt.wrapping_mul(0x9e37_79b9));
    (x ^ (x >> 8) ^ (x >> 16)).wrapping_mul(0x9d) as u8
}

/// One emitted segment, owned.
#[derive(Clone, Debug)]
pub struct Emitted {
    /// The segment.
    pub t: Transmit,
    /// Its payload.
    pub payload: Vec<u8>,
}

impl Emitted {
    /// As the peer's engine would take it.
    pub fn as_segment(&self) -> Segment<'_> {
        Segment::new(&self.t.header(1, 2), &self.payload)
    }
}

/// A one-line description of a segment, tcpdump-like.
pub fn describe(seq: SeqNum, ack: SeqNum, flags: Flags, window: u16, len: usize) -> String {
    format!("{flags:?} seq {seq} ack {ack} win {window} len {len}")
}

/// Drives one connection, checks the invariants after every step, and keeps
/// the last lines of what happened for a failure report.
pub struct Harness<B: Storage> {
    /// The connection under test.
    pub conn: Connection<B>,
    /// The virtual clock (never goes back).
    pub now: Instant,
    /// A name for the log ("T", "A", ...).
    pub name: &'static str,
    /// Salt of the byte pattern this side sends.
    pub salt: u64,
    /// Bytes the application queued (stream offset of the next byte).
    pub sent: u64,
    /// Bytes the application read.
    pub received: Vec<u8>,
    rx_cap: usize,
    tx_cap: usize,
    poll_buf: Vec<u8>,
    state: State,
    data_end: Option<SeqNum>,
    fin_at: Option<SeqNum>,
    right_edge: Option<SeqNum>,
    last_ack: Option<SeqNum>,
    /// Segments left that the device drops ([`Input::DeviceFull`]).
    device_full: u8,
    /// The last segments polled, most recent first
    /// ([`Input::TransmitFailed`]).
    polled: VecDeque<Transmit>,
    /// Segments reported with `on_transmit_failed`.
    pub transmit_failed: u64,
    /// Last lines of the scenario.
    pub log: VecDeque<String>,
}

impl Harness<Vec<u8>> {
    /// A fresh CLOSED connection with heap buffers.
    pub fn with_config(
        name: &'static str,
        cfg: Config,
        rx: usize,
        tx: usize,
        now: Instant,
    ) -> Self {
        let conn = Connection::new(cfg, Buffers::with_capacity(rx, tx)).expect("a valid config");
        Harness::new(name, conn, rx, tx, now, 65536)
    }
}

impl<B: Storage> Harness<B> {
    /// Wraps `conn` (which must be CLOSED, so that the checker has seen
    /// everything it sent) with buffers of the given capacities; segments
    /// are polled into a buffer of `poll_buf` bytes.
    pub fn new(
        name: &'static str,
        conn: Connection<B>,
        rx_cap: usize,
        tx_cap: usize,
        now: Instant,
        poll_buf: usize,
    ) -> Self {
        let state = conn.state();
        Harness {
            conn,
            now,
            name,
            salt: name.as_bytes().first().copied().unwrap_or(0).into(),
            sent: 0,
            received: Vec::new(),
            rx_cap,
            tx_cap,
            poll_buf: vec![0; poll_buf.max(1)],
            state,
            data_end: None,
            fin_at: None,
            right_edge: None,
            last_ack: None,
            device_full: 0,
            polled: VecDeque::new(),
            transmit_failed: 0,
            log: VecDeque::new(),
        }
    }

    fn note(&mut self, line: String) {
        if self.log.len() >= LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// The failure report: the message, the connection and the log tail.
    pub fn report(&self, msg: &str) -> String {
        let mut s = format!(
            "INVARIANT VIOLATED [{}] at {:?}: {msg}\n  {:?}\n  last events:\n",
            self.name, self.now, self.conn
        );
        for l in &self.log {
            s.push_str("    ");
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    fn fail<T>(&self, msg: String) -> Result<T, String> {
        Err(self.report(&msg))
    }

    /// Advances the clock (never backwards).
    pub fn set_now(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// Applies one hostile input.
    pub fn apply(&mut self, input: &Input) -> Result<Vec<Emitted>, String> {
        match input {
            Input::Segment(spec) => {
                let seg = spec.resolve(&self.conn);
                self.segment(&seg)
            }
            Input::Raw(spec) => self.segment(&spec.to_owned_segment()),
            Input::Unverified(spec, good) => {
                let seg = spec.resolve(&self.conn);
                self.segment_unverified(&seg, *good)
            }
            Input::SegmentRecv(spec, n) => {
                let seg = spec.resolve(&self.conn);
                self.segment_recv(&seg.as_segment(), usize::from(*n))
            }
            Input::Advance(ms) => {
                let d = Duration::from_millis(u64::from(*ms));
                self.now += d;
                self.timer()
            }
            Input::Send(n) => self.send(usize::from(*n)),
            Input::SendUrgent(n) => self.send_with(usize::from(*n), true),
            Input::Recv(n) => self.recv(usize::from(*n)),
            Input::Shutdown => {
                let r = self.conn.shutdown(self.now);
                self.after("shutdown", r.ok())
            }
            Input::Close => {
                let r = self.conn.close(self.now);
                self.after("close", r.ok())
            }
            Input::Abort => {
                let r = self.conn.abort(self.now);
                self.after("abort", r.ok())
            }
            Input::SetNoDelay(on) => {
                let r = self
                    .conn
                    .on_app_call(self.now, crate::AppCall::SetNoDelay(*on));
                self.after("set_nodelay", r.ok().map(|o| o.actions))
            }
            Input::DeviceFull(n) => {
                self.device_full = 1 + n % 4;
                self.after("device full", None)
            }
            Input::TransmitFailed(k) => {
                let Some(&t) = self.polled.get(usize::from(*k) % self.polled.len().max(1)) else {
                    return self.after("transmit_failed (nothing polled)", None);
                };
                self.transmit_failed += 1;
                let a = self.conn.on_transmit_failed(self.now, &t);
                self.after("transmit_failed", Some(a))
            }
            Input::TransmitFailedRaw(spec) => {
                let t = Transmit {
                    seq: spec.seq,
                    ack: spec.ack,
                    flags: spec.flags,
                    window: spec.window,
                    urgent: 0,
                    ect: false,
                    options: spec.options,
                    len: usize::from(spec.payload_len) % (MAX_PAYLOAD + 1),
                };
                self.transmit_failed += 1;
                let a = self.conn.on_transmit_failed(self.now, &t);
                self.after("transmit_failed (never sent)", Some(a))
            }
        }
    }

    /// Feeds a segment.
    pub fn segment(&mut self, seg: &OwnedSegment) -> Result<Vec<Emitted>, String> {
        self.segment_ref(&seg.as_segment())
    }

    /// Feeds a borrowed segment.
    pub fn segment_ref(&mut self, seg: &Segment<'_>) -> Result<Vec<Emitted>, String> {
        let line = format!(
            "{:?} {} <- {} opts {:?}",
            self.now,
            self.name,
            describe(seg.seq, seg.ack, seg.flags, seg.window, seg.payload.len()),
            seg.options
        );
        self.note(line);
        let a = self.conn.on_segment(self.now, seg);
        self.after("segment", Some(a))
    }

    /// Feeds a segment through `on_segment_recv` with a read buffer of
    /// `n` bytes; what it reads goes to `received`.
    pub fn segment_recv(&mut self, seg: &Segment<'_>, n: usize) -> Result<Vec<Emitted>, String> {
        self.note(format!(
            "{:?} {} <- {} read at once into {n}",
            self.now,
            self.name,
            describe(seg.seq, seg.ack, seg.flags, seg.window, seg.payload.len()),
        ));
        let mut buf = vec![0u8; n];
        let o = self.conn.on_segment_recv(self.now, seg, false, &mut buf);
        if o.len > n {
            return self.fail(format!("on_segment_recv copied {} into {n} bytes", o.len));
        }
        self.received.extend_from_slice(&buf[..o.len]);
        self.after("segment (read at once)", Some(o.actions))
    }

    /// Feeds a segment through `on_segment_unverified`, with the partial
    /// sum that makes its checksum right (`good`) or one that makes it
    /// wrong. A wrong sum must give `BadChecksum` and leave the connection
    /// exactly as it was; a right one must be taken as `on_segment` takes
    /// it.
    pub fn segment_unverified(
        &mut self,
        seg: &OwnedSegment,
        good: bool,
    ) -> Result<Vec<Emitted>, String> {
        use crate::wire::checksum::{fold, ones_complement_sum};
        let seg = seg.as_segment();
        // The header-and-pseudo-header sum that completes the payload's sum
        // to 0xffff (RFC 1071); one off from it can never verify.
        let right = u32::from(!fold(ones_complement_sum(seg.payload, 0)));
        let sum = if good { right } else { right ^ 1 };
        self.note(format!(
            "{:?} {} <- {} unverified, checksum {}",
            self.now,
            self.name,
            describe(seg.seq, seg.ack, seg.flags, seg.window, seg.payload.len()),
            if good { "right" } else { "wrong" }
        ));
        let before = (
            self.conn.fingerprint(),
            self.conn.stats(),
            self.conn.recv_queue(),
        );
        match self.conn.on_segment_unverified(self.now, &seg, false, sum) {
            Ok(a) if good => self.after("segment (unverified)", Some(a)),
            Ok(_) => self.fail("a wrong checksum was accepted".to_string()),
            Err(e) if good => self.fail(format!("a right checksum was refused: {e}")),
            Err(_)
                if (
                    self.conn.fingerprint(),
                    self.conn.stats(),
                    self.conn.recv_queue(),
                ) != before =>
            {
                self.fail("a wrong checksum changed the connection".to_string())
            }
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Calls `on_timer` at the current time.
    pub fn timer(&mut self) -> Result<Vec<Emitted>, String> {
        let a = self.conn.on_timer(self.now);
        self.after("timer", Some(a))
    }

    /// Calls `listen`.
    pub fn listen(&mut self, iss: SeqNum) -> Result<Vec<Emitted>, String> {
        let r = self.conn.listen(self.now, iss);
        self.after("listen", r.ok())
    }

    /// Calls `connect`.
    pub fn connect(&mut self, iss: SeqNum) -> Result<Vec<Emitted>, String> {
        let r = self.conn.connect(self.now, iss);
        self.after("connect", r.ok())
    }

    /// Sends `n` bytes of the pattern.
    pub fn send(&mut self, n: usize) -> Result<Vec<Emitted>, String> {
        self.send_with(n, false)
    }

    /// Sends `n` bytes of the pattern, as urgent data when `urgent`.
    pub fn send_with(&mut self, n: usize, urgent: bool) -> Result<Vec<Emitted>, String> {
        let data: Vec<u8> = (0..n as u64)
            .map(|i| pattern(self.salt, self.sent + i))
            .collect();
        let r = if urgent {
            self.conn.send_urgent(self.now, &data)
        } else {
            self.conn.send(self.now, &data)
        };
        let acts = match r {
            Ok(o) => {
                if o.len > n {
                    return self.fail(format!("send accepted {} of {n} bytes", o.len));
                }
                self.sent += o.len as u64;
                Some(o.actions)
            }
            Err(_) => None,
        };
        self.after(&format!("send {n}"), acts)
    }

    /// Reads up to `n` bytes into `received`.
    pub fn recv(&mut self, n: usize) -> Result<Vec<Emitted>, String> {
        let mut buf = vec![0u8; n];
        let r = self.conn.recv(self.now, &mut buf);
        let acts = match r {
            Ok(o) => {
                if o.len > n {
                    return self.fail(format!("recv copied {} into {n} bytes", o.len));
                }
                self.received.extend_from_slice(&buf[..o.len]);
                Some(o.actions)
            }
            Err(_) => None,
        };
        self.after(&format!("recv {n}"), acts)
    }

    /// After an entry point: checks the actions, polls every segment and
    /// checks them, then checks the connection's state.
    pub fn after(&mut self, what: &str, acts: Option<Actions>) -> Result<Vec<Emitted>, String> {
        let was = self.state;
        if let Some(a) = acts {
            for c in a.state_changes() {
                self.note(format!(
                    "{:?} {} {what}: {} --{:?}--> {}",
                    self.now, self.name, c.from, c.event, c.to
                ));
                if c.from != self.state {
                    return self.fail(format!(
                        "state change {c:?} does not start from the state {}",
                        self.state
                    ));
                }
                if !state::is_allowed(c.from, c.event, c.to) {
                    return self.fail(format!("state change {c:?} is not in TRANSITIONS"));
                }
                self.state = c.to;
                if c.to == State::Listen {
                    // A passive open back in LISTEN forgets its peer: a new
                    // SYN starts a new sequence space.
                    self.forget_peer();
                }
            }
            if a.closed().is_some() && self.conn.state() != State::Closed {
                return self.fail(format!("Closed reported in {}", self.conn.state()));
            }
            // A deadline the call reports is the connection's deadline
            // (`Actions::timer`: `Some(None)` when none is left).
            if let Some(t) = a.timer()
                && t != self.conn.deadline()
            {
                return self.fail(format!(
                    "{what} reported the deadline {t:?}, deadline() is {:?}",
                    self.conn.deadline()
                ));
            }
        }
        if self.state != self.conn.state() {
            return self.fail(format!(
                "state() is {} but the reported changes end in {} (was {was})",
                self.conn.state(),
                self.state
            ));
        }
        let out = self.poll()?;
        self.check_state()?;
        Ok(out)
    }

    fn forget_peer(&mut self) {
        self.sent = 0;
        self.data_end = None;
        self.fin_at = None;
        self.right_edge = None;
        self.last_ack = None;
    }

    /// Polls every segment and checks each.
    fn poll(&mut self) -> Result<Vec<Emitted>, String> {
        let mut out: Vec<Emitted> = Vec::new();
        let st = self.conn.state();
        while let Some(t) = self.conn.poll_transmit(self.now, &mut self.poll_buf) {
            if t.len > self.poll_buf.len() {
                return self.fail(format!(
                    "segment of {} bytes into a {}-byte buffer",
                    t.len,
                    self.poll_buf.len()
                ));
            }
            let e = Emitted {
                t,
                payload: self.poll_buf[..t.len].to_vec(),
            };
            let line = format!(
                "{:?} {} -> {} opts {:?}",
                self.now,
                self.name,
                describe(t.seq, t.ack, t.flags, t.window, t.len),
                t.options
            );
            self.note(line);
            self.check_segment(st, &e, out.len())?;
            if self.polled.len() == 16 {
                self.polled.pop_back();
            }
            self.polled.push_front(t);
            if self.device_full > 0 {
                // Dropped by the device, reported right after its poll.
                self.device_full -= 1;
                self.transmit_failed += 1;
                self.note(format!("{:?} {} device dropped it", self.now, self.name));
                let a = self.conn.on_transmit_failed(self.now, &t);
                if a.state_changes().next().is_some() || a.closed().is_some() {
                    return self.fail(format!("on_transmit_failed changed the state: {a:?}"));
                }
                if self.conn.state() != st {
                    return self.fail("on_transmit_failed changed the state".to_string());
                }
                continue;
            }
            out.push(e);
            if out.len() >= MAX_SEGMENTS_PER_STEP {
                return self.fail(format!(
                    "poll_transmit did not end after {MAX_SEGMENTS_PER_STEP} segments"
                ));
            }
            if self.conn.state() != st {
                return self.fail("poll_transmit changed the state".to_string());
            }
        }
        Ok(out)
    }

    fn check_segment(&mut self, st: State, e: &Emitted, index: usize) -> Result<(), String> {
        let t = &e.t;
        let f = t.flags;
        match st {
            State::Closed if !f.rst() || index > 0 || t.len > 0 => {
                return self.fail("CLOSED sent more than one pending RST".to_string());
            }
            State::Listen if !f.rst() => {
                return self.fail("LISTEN sent something other than a RST".to_string());
            }
            _ => {}
        }
        if f.rst() {
            if t.len > 0 {
                return self.fail("a RST carries data".to_string());
            }
            return Ok(());
        }
        if f.syn() && t.len > 0 {
            return self.fail("data on our SYN".to_string());
        }
        let data_start = self.conn.iss().add(1);
        if t.len > 0 {
            // The payload is what the application queued at this offset.
            let off = u64::from(t.seq.dist(data_start));
            if t.seq.before(data_start) || off + t.len as u64 > self.sent {
                return self.fail(format!(
                    "data at stream offset {off}+{} but only {} bytes were queued",
                    t.len, self.sent
                ));
            }
            for (i, b) in e.payload.iter().enumerate() {
                if *b != pattern(self.salt, off + i as u64) {
                    return self.fail(format!("wrong byte at stream offset {}", off + i as u64));
                }
            }
            let end = t.seq.add(t.len as u32);
            if let Some(fin) = self.fin_at
                && end.after(fin)
            {
                return self.fail(format!("data up to {end} beyond our FIN at {fin}"));
            }
            if self.data_end.is_none_or(|d| end.after(d)) {
                self.data_end = Some(end);
            }
        }
        if f.fin() {
            let fin = t.seq.add(t.len as u32);
            if let Some(prev) = self.fin_at
                && prev != fin
            {
                return self.fail(format!("a second FIN at {fin}, the first was at {prev}"));
            }
            if let Some(d) = self.data_end
                && d.after(fin)
            {
                return self.fail(format!("FIN at {fin} below data sent up to {d}"));
            }
            let expect = data_start.add(self.sent as u32);
            if fin != expect {
                return self.fail(format!(
                    "FIN at {fin}, but the {} queued bytes end at {expect}",
                    self.sent
                ));
            }
            self.fin_at = Some(fin);
        }
        if f.ack() && st.is_synchronized() {
            if let Some(prev) = self.last_ack
                && t.ack.before(prev)
            {
                return self.fail(format!("SEG.ACK went back from {prev} to {}", t.ack));
            }
            self.last_ack = Some(t.ack);
            // RFC 7323 §2.2: the window of a SYN is never scaled.
            let shift = if f.syn() {
                0
            } else {
                self.conn.window_scale().map_or(0, |w| w.0)
            };
            let edge = t.ack.add(u32::from(t.window) << shift);
            // A retransmitted SYN,ACK repeats an old, unscaled window that
            // cannot express a scaled edge; the peer ignores the window of
            // that older segment (RFC 9293 §3.10.7.4 SND.WL1/WL2), so only
            // the first SYN,ACK sets an edge and later SYNs are not checked.
            // RFC 7323 §2.4: a scaled window is rounded down, so the edge
            // may read up to 2^shift - 1 short of one offered before.
            if let Some(prev) = self.right_edge
                && edge.before(prev)
                && !(f.syn() && prev.dist(edge) < (1 << 14))
                && prev.dist(edge) >= (1 << shift)
            {
                return self.fail(format!(
                    "advertised right edge moved left from {prev} to {edge} (SHLD-14)"
                ));
            }
            if self.right_edge.is_none_or(|p| edge.after(p)) {
                self.right_edge = Some(edge);
            }
            // RFC 9293 §3.8.6.2.2, RFC 7323 §2.4: the edge offered never
            // passes what the receive buffer can hold.
            let room = self.conn.rcv_nxt().add(self.conn.rcv_wnd());
            if !f.syn() && edge.after(room) {
                return self.fail(format!(
                    "advertised right edge {edge} beyond the receive buffer's {room}"
                ));
            }
        }
        Ok(())
    }

    fn check_state(&mut self) -> Result<(), String> {
        let c = &self.conn;
        let st = c.state();
        if c.stats().illegal_transitions != 0 {
            return self.fail("stats().illegal_transitions != 0".to_string());
        }
        if c.recv_queue() > self.rx_cap {
            return self.fail(format!("recv_queue {} > {}", c.recv_queue(), self.rx_cap));
        }
        if c.send_queue() > self.tx_cap {
            return self.fail(format!("send_queue {} > {}", c.send_queue(), self.tx_cap));
        }
        // Room is kept for everything ever offered: no segment inside an
        // advertised window is dropped for lack of space (RFC 9293
        // §3.8.6.2.2, RFC 7323 §2.4).
        let room = c.rcv_nxt().add(c.rcv_wnd());
        if matches!(st, State::Established | State::FinWait1 | State::FinWait2)
            && let Some(edge) = self.right_edge
            && edge.after(room)
        {
            return self.fail(format!(
                "offered right edge {edge} beyond the receive buffer's {room}"
            ));
        }
        let must_time = matches!(
            st,
            State::SynSent
                | State::SynReceived
                | State::FinWait1
                | State::Closing
                | State::LastAck
                | State::TimeWait
        ) || (st.is_synchronized()
            && (c.snd_una() != c.snd_nxt() || c.send_queue() > 0));
        if must_time && c.deadline().is_none() {
            return self.fail(format!(
                "no deadline in {st} (send_queue {}, snd_una {}, snd_nxt {})",
                c.send_queue(),
                c.snd_una(),
                c.snd_nxt()
            ));
        }
        Ok(())
    }
}

/// Delivers segments to `to` (in order) and returns what `to` answered.
pub fn deliver<B: Storage>(to: &mut Harness<B>, segs: &[Emitted]) -> Result<Vec<Emitted>, String> {
    let mut out = Vec::new();
    for s in segs {
        out.extend(to.segment_ref(&s.as_segment())?);
    }
    Ok(out)
}

/// Exchanges segments between `a` and `b`, starting with `a_out` from `a`,
/// until neither has anything more to say.
pub fn exchange<B: Storage>(
    a: &mut Harness<B>,
    b: &mut Harness<B>,
    mut a_out: Vec<Emitted>,
) -> Result<(), String> {
    for _ in 0..64 {
        if a_out.is_empty() {
            return Ok(());
        }
        let b_out = deliver(b, &a_out)?;
        a_out = deliver(a, &b_out)?;
    }
    Err(a.report("exchange did not settle"))
}

/// The configurations the fixtures use: 0 is RFC 9293 with window scaling
/// (a buffer large enough for a shift of 3) and timestamps; 1 is Linux's
/// without timestamps and window scaling, with SACK, and a small receive
/// buffer that fills up.
pub fn fixture_config(variant: u8) -> (Config, usize, usize) {
    match variant % 2 {
        0 => (Config::rfc9293(), 300_000, 16_384),
        _ => {
            let mut c = Config::linux();
            c.timestamps = false;
            c.window_scaling = false;
            c.sack = true;
            c.keepalive = Some(Config::default_keepalive());
            // F-RTO alone judges timeouts here (no timestamps), and
            // PLPMTUD answers R1 (both issue 18).
            c.mtu_probing = true;
            // ECN, so that an ECE takes T into Linux's CWR state
            // (`Config::linux_cwr`).
            c.ecn = true;
            (c, 2048, 4096)
        }
    }
}

/// A connection "T" brought into `target` through the public API by a
/// scripted exchange with a peer "P" (whose segments are dropped where the
/// script needs something unacknowledged). Sequence numbers start close to
/// the 2^32 wrap.
pub fn fixture(target: State, variant: u8) -> Result<Harness<Vec<u8>>, String> {
    let (cfg, rx, tx) = fixture_config(variant);
    let t0 = Instant::from_secs(1000);
    let mut t = Harness::with_config("T", cfg.clone(), rx, tx, t0);
    let mut p = Harness::with_config("P", cfg, rx, tx, t0);
    let t_iss = SeqNum(0xffff_fc00);
    let p_iss = SeqNum(0x7fff_ff00);
    let expect = |h: &Harness<Vec<u8>>, s: State| -> Result<(), String> {
        if h.conn.state() == s {
            Ok(())
        } else {
            Err(h.report(&format!("fixture wanted {s}, got {}", h.conn.state())))
        }
    };
    match target {
        State::Closed => return Ok(t),
        State::Listen => {
            t.listen(t_iss)?;
            return Ok(t);
        }
        State::SynSent => {
            t.connect(t_iss)?; // the SYN is lost
            return Ok(t);
        }
        State::SynReceived => {
            t.listen(t_iss)?;
            let syn = p.connect(p_iss)?;
            deliver(&mut t, &syn)?; // the SYN,ACK is lost
            expect(&t, State::SynReceived)?;
            return Ok(t);
        }
        _ => {}
    }
    // ESTABLISHED, with data both ways.
    p.listen(p_iss)?;
    let syn = t.connect(t_iss)?;
    exchange(&mut t, &mut p, syn)?;
    expect(&t, State::Established)?;
    let o = p.send(700)?;
    exchange(&mut p, &mut t, o)?;
    let o = t.send(900)?;
    exchange(&mut t, &mut p, o)?;
    p.recv(10_000)?;
    if target == State::Established {
        // Unread data, and data in flight that P never sees.
        t.send(1200)?;
        return Ok(t);
    }
    t.recv(10_000)?;
    let fin_t = |t: &mut Harness<Vec<u8>>| {
        if variant % 2 == 0 {
            t.apply(&Input::Shutdown)
        } else {
            t.apply(&Input::Close)
        }
    };
    match target {
        State::FinWait1 => {
            fin_t(&mut t)?; // the FIN is lost
            expect(&t, State::FinWait1)?;
        }
        State::FinWait2 | State::TimeWait => {
            let o = fin_t(&mut t)?;
            exchange(&mut t, &mut p, o)?;
            if t.conn.state() == State::FinWait1 {
                // Config::linux(): P's ACK of a FIN after data waits for
                // its delayed-ACK timer (40 ms, Linux's tcp_fin).
                let o = t.apply(&Input::Advance(40))?;
                exchange(&mut t, &mut p, o)?;
                let o = p.apply(&Input::Advance(40))?;
                exchange(&mut p, &mut t, o)?;
            }
            expect(&t, State::FinWait2)?;
            if target == State::TimeWait {
                let o = p.apply(&Input::Shutdown)?;
                exchange(&mut p, &mut t, o)?;
                expect(&t, State::TimeWait)?;
            }
        }
        State::CloseWait | State::LastAck => {
            let o = p.apply(&Input::Shutdown)?;
            exchange(&mut p, &mut t, o)?;
            expect(&t, State::CloseWait)?;
            if target == State::LastAck {
                fin_t(&mut t)?; // the FIN is lost
                expect(&t, State::LastAck)?;
            }
        }
        State::Closing => {
            let ft = fin_t(&mut t)?;
            let fp = p.apply(&Input::Shutdown)?;
            deliver(&mut t, &fp)?; // P's FIN, which does not ack T's
            expect(&t, State::Closing)?;
            let _ = ft;
        }
        _ => unreachable!("handled above"),
    }
    Ok(t)
}
