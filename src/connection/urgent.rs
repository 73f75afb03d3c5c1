//! Urgent data (RFC 9293 §3.8.5, MUST-30..33, MUST-62, MUST-66; RFC 6093),
//! and the bits of the uncommon modes (`xflags`: urgent data, F-RTO,
//! PLPMTUD).
//!
//! RFCs to read: RFC 9293 §3.8.5 (the urgent mechanism), §3.10.2 (SEND
//! with the URGENT flag), §3.10.7.4 step 6 (URG on arrival); RFC 6093 (how
//! the urgent pointer is implemented in practice, and why new applications
//! should not use it, SHLD-13).
//!
//! Sending: `send_urgent` queues data like `send` and sets SND.UP to the
//! end of it: the urgent pointer points one past the last urgent byte
//! (MUST-62, the BSD reading that Linux keeps with `tcp_stdurg=0`). Every
//! segment whose SEG.SEQ is below SND.UP carries URG and SEG.UP = SND.UP -
//! SEG.SEQ (0xFFFF at most, as Linux), a bare ACK included, so that the
//! peer learns of urgent data that a shut window holds back; the mode ends
//! when the peer acknowledges SND.UP. Urgent data may be of any length
//! (MUST-31): SND.UP only moves forward.
//!
//! Receiving (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2; SA-URG-1/2): RCV.UP =
//! max(RCV.UP, SEG.SEQ + SEG.UP); each time it moves past what the
//! application has read, [`Action::Urgent`](super::Action::Urgent) tells it
//! (MUST-32), and [`Connection::urgent_mark`] says how far the urgent data
//! reaches (MUST-33); a read stops at that mark. The data stays in line, in
//! sequence (RFC 6093 §6 recommends it; a TCP without out-of-band delivery
//! is what Linux is with `SO_OOBINLINE`): nothing is taken out of the
//! stream. URG is processed also on a segment that a zero receive window
//! refuses (MUST-66).

use super::{Actions, AppCall, Connection, Outcome, Storage};
use crate::error::CallError;
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::Instant;
use crate::wire::{Flags, Segment};

/// Bits of `xflags`.
pub(super) mod x {
    /// SND.UP is ahead of SND.UNA: our urgent data is unacknowledged.
    pub(in crate::connection) const SND_URG: u8 = 1 << 0;
    /// RCV.UP is ahead of what the application has read.
    pub(in crate::connection) const RCV_URG: u8 = 1 << 1;
    /// F-RTO step 2: the first ACK after a timeout is awaited (`frto.rs`).
    pub(in crate::connection) const FRTO2: u8 = 1 << 2;
    /// F-RTO step 3: the second ACK is awaited; new data went out.
    pub(in crate::connection) const FRTO3: u8 = 1 << 3;
    /// A PLPMTUD search is on (`plpmtud.rs`).
    pub(in crate::connection) const MTU_SEARCH: u8 = 1 << 4;
    /// A PLPMTUD probe is out.
    pub(in crate::connection) const MTU_PROBE: u8 = 1 << 5;
    /// The last segment sent went through send prediction (`send_fast`)
    /// and no other entry point ran since, all at one time: a burst
    /// (`output.rs`, `burst`). Set by `send_fast` alone; `clock`, which
    /// every entry point calls first, clears it.
    pub(in crate::connection) const BURST: u8 = 1 << 7;
    /// What a new open keeps (`reset_tcb`): nothing.
    pub(in crate::connection) const KEEP: u8 = 0;
    /// TCP Fast Open (`fastopen.rs`, `flags.rs`'s `fast_open`).
    pub(in crate::connection) const FAST_OPEN: u8 = 1 << 6;
    /// The modes that keep the fast paths off (the `uncommon` flag).
    pub(in crate::connection) const UNCOMMON: u8 =
        SND_URG | RCV_URG | FRTO2 | FRTO3 | MTU_SEARCH | MTU_PROBE;
}

impl<B: Storage> Connection<B> {
    /// Whether the `xflags` bit `b` is set.
    #[inline]
    pub(super) fn xflag(&self, b: u8) -> bool {
        self.xflags & b != 0
    }

    /// Tests only: take the full SEGMENT ARRIVES path for every segment
    /// and the general output path for every segment sent (and the full
    /// window rules in `advertise`), to check that header prediction and
    /// send prediction change nothing. A bit of the connection's own
    /// packed config (`Cfg::no_fast_path`; the TCB is as large in tests as
    /// outside them, and `xflags` has no bit to spare).
    #[cfg(test)]
    pub(super) fn no_fast_path(&self) -> bool {
        self.cfg.no_fast_path()
    }
    #[cfg(test)]
    pub(super) fn set_no_fast_path(&mut self, on: bool) {
        self.cfg.make_mut().set_no_fast_path(on);
    }

    /// Sets or clears the `xflags` bit `b`, and the `uncommon` flag with
    /// it (also on while record ends are pending, `records.rs`).
    pub(super) fn set_x(&mut self, b: u8, on: bool) {
        if on {
            self.xflags |= b;
        } else {
            self.xflags &= !b;
        }
        self.refresh_uncommon();
    }

    /// The `uncommon` flag from what needs the general paths: the
    /// `xflags` modes, pending record ends (`records.rs`), new data held
    /// after a failed send (`txfail.rs`), the CWR state (`prr.rs`).
    pub(super) fn refresh_uncommon(&mut self) {
        #[cfg(feature = "alloc")]
        let cwr = self.cold().cwr;
        #[cfg(not(feature = "alloc"))]
        let cwr = false;
        self.set_uncommon(
            self.xflags & x::UNCOMMON != 0 || self.has_records() || self.held() || cwr,
        );
    }

    /// SEND with the URGENT flag (RFC 9293 §3.10.2): the data is queued as
    /// by [`send`](Self::send), and SND.UP moves to its end; it goes out
    /// at once, whatever Nagle's algorithm or a cork would hold back. Every
    /// segment below SND.UP carries URG and the urgent pointer (one past
    /// the last urgent byte, MUST-62) until the peer acknowledges it.
    ///
    /// Note: RFC 9293 §3.8.5 (SHLD-13) and RFC 6093 advise new
    /// applications not to use urgent data; it is here for the ones that
    /// do (telnet, ftp, rlogin).
    pub fn send_urgent(&mut self, now: Instant, data: &[u8]) -> Result<Outcome, CallError> {
        self.on_app_call(now, AppCall::SendUrgent(data))
    }

    /// Where the peer's urgent data ends (the mark, RCV.UP), as the number
    /// of bytes the application can read before it (RFC 9293 §3.8.5
    /// MUST-33): `Some(n)` from the moment urgent data arrives until the
    /// application has read past its end, `None` otherwise. `n` may exceed
    /// [`recv_queue`](Self::recv_queue) while the urgent data is still
    /// arriving; `Some(0)` is "at the mark" (BSD's `SIOCATMARK`). A read
    /// stops at the mark, so that one read ends with the urgent data and
    /// the next begins after it (as BSD and Linux stop a read at it). The
    /// last urgent byte is the one before the mark: the byte Linux takes
    /// out of band without `SO_OOBINLINE` (`tcp_stdurg=0`).
    pub fn urgent_mark(&self) -> Option<usize> {
        self.xflag(x::RCV_URG)
            .then(|| self.rcv_up.dist(self.read_point()) as usize)
    }

    /// The sequence number of the next byte the application reads.
    fn read_point(&self) -> SeqNum {
        let fin = u32::from(self.fin_received());
        self.rcv_nxt.sub(fin + self.rx.len() as u32)
    }

    /// `AppCall::SendUrgent`: `n` bytes of `data` were queued.
    pub(super) fn urgent_queued(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.cold_mut().snd_up = self.tx_base().add(self.tx.len() as u32);
        self.set_x(x::SND_URG, true);
        self.set_more(false);
        // Urgent data does not wait for Nagle or a cork (as Linux pushes
        // an MSG_OOB send); when the window holds it back, a bare ACK
        // carries the pointer (see `mark_urgent`).
        self.set_force_send(true);
        if self.syn_acked() && self.snd_wnd == 0 {
            self.set_ack_now(true);
        }
    }

    /// URG and the urgent pointer on an outgoing segment below SND.UP
    /// (RFC 9293 §3.8.5; Linux `tcp_transmit_skb`).
    pub(super) fn mark_urgent(&self, flags: &mut Flags, seq: SeqNum) -> u16 {
        if !self.xflag(x::SND_URG) || !seq.before(self.cold().snd_up) || flags.syn() || flags.rst()
        {
            return 0;
        }
        *flags |= Flags::URG;
        self.cold().snd_up.dist(seq).min(0xffff) as u16
    }

    /// After an acceptable ACK (slow path, `uncommon` set): the urgent
    /// mode ends once the peer has acknowledged SND.UP.
    pub(super) fn urgent_acked(&mut self) {
        if self.xflag(x::SND_URG) && !self.cold().snd_up.after(self.snd_una) {
            self.set_x(x::SND_URG, false);
        }
    }

    /// How much of a `len`-byte read may be taken: up to the mark, when
    /// urgent data lies ahead of the read.
    pub(super) fn urgent_read_limit(&self, len: usize) -> usize {
        let read = self.read_point();
        if self.xflag(x::RCV_URG) && self.rcv_up.after(read) {
            len.min(self.rcv_up.dist(read) as usize)
        } else {
            len
        }
    }

    /// After the application read: once it has read past the mark, the
    /// urgent data is no longer pending.
    pub(super) fn urgent_read(&mut self) {
        if self.xflag(x::RCV_URG) && self.read_point().after(self.rcv_up) {
            self.set_x(x::RCV_URG, false);
        }
    }

    /// RFC 9293 §3.10.7.4 step 6: a segment with URG in an acceptable
    /// position (or at RCV.NXT in a zero window, MUST-66).
    #[cold]
    #[inline(never)]
    pub(super) fn urgent_in(&mut self, seg: &Segment<'_>, a: &mut Actions) {
        // SA-URG-2: in CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT the
        // peer has sent its FIN: its URG means nothing.
        if !matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            return;
        }
        // Note: a zero pointer points at no urgent byte (MUST-62: one past
        // the last one); it is ignored. (Linux takes SEG.SEQ itself as the
        // urgent byte then.)
        if seg.urgent == 0 {
            return;
        }
        let up = seg.seq.add(u32::from(seg.urgent));
        let read = self.read_point();
        // RCV.UP = max(RCV.UP, SEG.UP); the application is told when it
        // moves past what it has read (SA-URG-1, MUST-32).
        let cur = if self.xflag(x::RCV_URG) {
            self.rcv_up
        } else {
            read
        };
        if up.after(cur) && up.after(read) {
            self.rcv_up = up;
            self.set_x(x::RCV_URG, true);
            a.set_urgent();
        }
    }
}
