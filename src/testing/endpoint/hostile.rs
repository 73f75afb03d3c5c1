//! A peer hostile by design (issue 20), on top of [`EpHarness`]: its
//! application never reads; the peer shuts its window and keeps it shut
//! while it acknowledges every probe (Sockstress), spoofs duplicate ACKs
//! (Savage et al. 1999), sends overlapping retransmissions with other
//! bytes (Ptacek and Newsham 1998), floods 4-tuples that may be in
//! TIME-WAIT, and sends its FIN to push connections there. The harness's
//! checks run after every step (tables and timer entries within their
//! bounds, each connection within its buffers and boxes, every datagram
//! well formed, nothing due after `on_timer`), and at the end the
//! application closes everything while the peer goes on answering with a
//! shut window for four hours: every orphan must be gone by then.
//! Driven by the `hostile` fuzz target and the proptest in
//! `tests/adversarial/` (`strategies::hostile_moves`).

use std::format;
use std::vec::Vec;

use super::{EpHarness, EpInput, KEEP_SENT};
use crate::seq::SeqNum;
use crate::time::Duration;
use crate::wire::{Flags, TcpHeader, TcpOptions, Timestamps};

/// The most segments one [`HostileMove::Flood`] or
/// [`HostileMove::DupAcks`] sends.
const MAX_BURST: u16 = 2000;
/// How long the peer keeps answering after the application left.
const TAIL: Duration = Duration::from_secs(4 * 3600);

/// One move of the hostile peer (or of the application that never reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum HostileMove {
    /// A new connection to the listener on port index `port`: the
    /// peer's SYN, its ACK of the SYN,ACK, the application's `accept`,
    /// then `len` bytes written (the application never reads).
    Open {
        /// Local port index.
        port: u8,
        /// Bytes the application writes.
        len: u16,
    },
    /// The application writes `len` more bytes on connection `c`.
    Write {
        /// Connection index.
        c: u8,
        /// Bytes.
        len: u16,
    },
    /// The application closes connection `c`: an orphan from now on.
    Close(u8),
    /// The peer acknowledges all it got with a zero window, and keeps
    /// its window shut from now on.
    ShutWindow,
    /// `n` duplicate ACKs of the `k`-th most recent datagram's SEQ.
    DupAcks {
        /// Which datagram.
        k: u8,
        /// How many.
        n: u16,
    },
    /// `len` bytes of data at `at` from the peer's next sequence number
    /// on the `k`-th datagram's connection (before it: over bytes it sent
    /// already; after it: out of order), with bytes unlike any earlier
    /// copy's.
    Overlap {
        /// Which datagram.
        k: u8,
        /// Offset from the peer's next sequence number.
        at: i16,
        /// Payload length (at most 1460).
        len: u16,
    },
    /// `n` segments to the `k`-th datagram's 4-tuple: in-window ACKs, old
    /// duplicates and FINs by turns (a TIME-WAIT flood when the tuple is
    /// in TIME-WAIT).
    Flood {
        /// Which datagram.
        k: u8,
        /// How many.
        n: u16,
    },
    /// The peer's FIN on the `k`-th datagram's connection.
    Fin {
        /// Which datagram.
        k: u8,
    },
    /// `ms` milliseconds pass; the peer answers everything sent.
    Wait(u16),
    /// The host's device queue drops the next `1 + n % 4` datagrams the
    /// Endpoint sends, each reported with `on_transmit_failed` right
    /// after its poll ([`EpInput::DeviceFull`]).
    DeviceFull(u8),
}

impl EpHarness {
    /// Records what the Endpoint sent on a 4-tuple, for the peer's ACKs.
    pub(super) fn note_acked(&mut self, dst: [u8; 4], h: &TcpHeader, len: usize) {
        if h.flags.rst() {
            return;
        }
        let end = h
            .seq
            .add(len as u32 + u32::from(h.flags.syn()) + u32::from(h.flags.fin()));
        let key = (dst, h.dst_port, h.src_port);
        match self.acked.iter_mut().find(|(k, _)| *k == key) {
            Some((_, e)) if end.after(*e) || h.flags.syn() => *e = end,
            Some(_) => {}
            None => {
                if self.acked.len() >= 64 {
                    self.acked.remove(0);
                }
                self.acked.push((key, end));
            }
        }
    }

    /// The peer's cumulative ACK on the tuple of a datagram it got.
    fn ack_for(&self, dst: [u8; 4], h: &TcpHeader) -> SeqNum {
        let key = (dst, h.dst_port, h.src_port);
        self.acked
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(h.seq, |(_, e)| *e)
    }

    /// The peer acknowledges every datagram sent since it last did, with
    /// `window`: a cumulative ACK of all it got on that tuple.
    fn ack_all(&mut self, window: u16) -> Result<(), super::String> {
        let n = self.fresh.min(KEEP_SENT).min(self.sent.len());
        self.fresh = 0;
        let answers: Vec<_> = self.sent.iter().take(n).cloned().collect();
        for s in answers.iter().rev() {
            if s.header.flags.rst() {
                continue;
            }
            let hdr = self.peer_header(s.dst, &s.header, Flags::ACK, s.header.ack, window);
            self.deliver(s.dst, &hdr, &[], false)?;
        }
        Ok(())
    }

    /// A segment from the peer on the tuple of a datagram the Endpoint
    /// sent it, acknowledging all the peer got there.
    fn peer_header(
        &self,
        dst: [u8; 4],
        h: &TcpHeader,
        flags: Flags,
        seq: SeqNum,
        window: u16,
    ) -> TcpHeader {
        TcpHeader {
            src_port: h.dst_port,
            dst_port: h.src_port,
            seq,
            ack: self.ack_for(dst, h),
            flags,
            window,
            urgent: 0,
            options: TcpOptions::NONE,
        }
    }

    /// Applies one hostile move, then checks (as `apply` does).
    pub fn hostile(
        &mut self,
        m: &HostileMove,
        shut: &mut bool,
        opens: &mut u32,
    ) -> Result<(), super::String> {
        self.note(format!("{m:?}"));
        let window = if *shut { 0 } else { 65535 };
        match *m {
            HostileMove::Open { port, len } => {
                let i = *opens;
                *opens += 1;
                let mut o = TcpOptions::NONE;
                o.mss = Some(1460);
                o.window_scale = Some(7);
                o.sack_permitted = i % 2 == 0;
                if i % 3 != 0 {
                    o.timestamps = Some(Timestamps { val: i, ecr: 0 });
                }
                let spec = super::OwnedSegmentSpec {
                    seq: SeqNum(i.wrapping_mul(2_654_435_761)),
                    ack: SeqNum(0),
                    flags: Flags::SYN,
                    window: 65535,
                    options: o,
                    payload_len: 0,
                };
                let (from, sport) = ((i % 3) as u8, ((i / 3) % 3) as u8);
                self.apply(&EpInput::Crafted {
                    from,
                    sport,
                    dport: port,
                    spec,
                    read: false,
                })?;
                // The handshake completes with the peer's window as it is.
                self.ack_all(window)?;
                let before = self.handles.len();
                self.apply(&EpInput::Accept(port % super::PORTS.len() as u8))?;
                if self.handles.len() > before {
                    let c = (self.handles.len() - 1) as u8;
                    self.apply(&EpInput::Send(c, len))?;
                }
            }
            HostileMove::Write { c, len } => self.apply(&EpInput::Send(c, len))?,
            HostileMove::Close(c) => self.apply(&EpInput::Close(c))?,
            HostileMove::ShutWindow => {
                *shut = true;
                self.fresh = self.sent.len();
                self.ack_all(0)?;
            }
            HostileMove::DupAcks { k, n } => {
                let Some(s) = self.pick(k) else {
                    return Ok(());
                };
                // The ACK of the first byte the peer has not got: a
                // duplicate of the ACK it sent last, again and again.
                let hdr = self.peer_header(s.dst, &s.header, Flags::ACK, s.header.ack, window);
                for _ in 0..n.min(MAX_BURST) {
                    self.deliver(s.dst, &hdr, &[], false)?;
                }
            }
            HostileMove::Overlap { k, at, len } => {
                let Some(s) = self.pick(k) else {
                    return Ok(());
                };
                let seq = s.header.ack.add(at as i32 as u32);
                let hdr = self.peer_header(s.dst, &s.header, Flags::ACK, seq, window);
                let salt = self.datagrams_out as u8;
                let payload: Vec<u8> = (0..usize::from(len).min(1460))
                    .map(|i| (i as u8).wrapping_mul(31) ^ salt)
                    .collect();
                self.deliver(s.dst, &hdr, &payload, false)?;
            }
            HostileMove::Flood { k, n } => {
                let Some(s) = self.pick(k) else {
                    return Ok(());
                };
                let next = s.header.ack;
                for i in 0..n.min(MAX_BURST) {
                    let (flags, seq) = match i % 3 {
                        0 => (Flags::ACK, next),
                        1 => (Flags::ACK, next.sub(5000)),
                        _ => (Flags::ACK | Flags::FIN, next.sub(1)),
                    };
                    let hdr = self.peer_header(s.dst, &s.header, flags, seq, window);
                    self.deliver(s.dst, &hdr, &[], false)?;
                }
            }
            HostileMove::Fin { k } => {
                let Some(s) = self.pick(k) else {
                    return Ok(());
                };
                let hdr = self.peer_header(
                    s.dst,
                    &s.header,
                    Flags::ACK | Flags::FIN,
                    s.header.ack,
                    window,
                );
                self.deliver(s.dst, &hdr, &[], false)?;
            }
            HostileMove::DeviceFull(n) => self.apply(&EpInput::DeviceFull(n))?,
            HostileMove::Wait(ms) => {
                self.apply(&EpInput::Advance(u32::from(ms)))?;
                self.ack_all(window)?;
            }
        }
        Ok(())
    }

    /// The `k`-th most recent datagram sent that was not a RST.
    fn pick(&self, k: u8) -> Option<super::Sent> {
        let live: Vec<&super::Sent> = self.sent.iter().filter(|s| !s.header.flags.rst()).collect();
        (!live.is_empty()).then(|| live[usize::from(k) % live.len()].clone())
    }

    /// Runs `moves` against a host listening on every port, then has the
    /// application close every connection it holds and its listeners while the peer goes
    /// on answering everything with its window shut: after four hours no
    /// connection may be left (orphans end by `orphan_retries` counting
    /// answered probes, or by `orphan_lifetime`), and the timer wheel
    /// holds nothing but the TIME-WAIT entries' timers.
    pub fn run_hostile(&mut self, moves: &[HostileMove]) -> Result<(), super::String> {
        for i in EpInput::listen_everywhere() {
            self.apply(&i)?;
        }
        let (mut shut, mut opens) = (false, 0);
        for m in moves {
            self.hostile(m, &mut shut, &mut opens)?;
        }
        for c in (0..self.handles.len()).rev() {
            self.apply(&EpInput::Close(c as u8))?;
        }
        // And its listeners, which resets what it never accepted (a
        // handshake whose SYN,ACK the device dropped completes later, after
        // `Open`'s accept).
        for l in (0..self.listeners.len()).rev() {
            self.apply(&EpInput::CloseListener(l as u8))?;
        }
        let end = self.now + TAIL;
        while self.now < end && self.ep.connection_count() > 0 {
            let next = self
                .ep
                .next_deadline()
                .unwrap_or(end)
                .min(self.now + Duration::from_secs(60));
            let ms = next.saturating_duration_since(self.now).as_millis().max(1);
            self.apply(&EpInput::Advance(ms.min(u128::from(u32::MAX)) as u32))?;
            self.ack_all(0)?;
        }
        if self.ep.connection_count() != 0 {
            return self.fail(&format!(
                "{} connections left after the application closed and {TAIL:?} of a shut window answered",
                self.ep.connection_count()
            ));
        }
        if self.ep.timer_count() > self.ep.time_wait_count() {
            return self.fail(&format!(
                "{} timer entries for {} TIME-WAIT entries and no connection",
                self.ep.timer_count(),
                self.ep.time_wait_count()
            ));
        }
        Ok(())
    }
}
