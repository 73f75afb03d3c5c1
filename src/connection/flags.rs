//! The connection's yes/no state, one bit each in a `u32` (4 bytes
//! instead of 22), read and written through one getter and one setter per
//! flag.

use super::{Connection, Storage, Undo};
use crate::seq::SeqNum;

macro_rules! flags {
    ($($(#[$doc:meta])* $bit:literal $get:ident $set:ident;)*) => {
        impl<B: Storage> Connection<B> {
            $(
                $(#[$doc])*
                #[inline]
                pub(super) fn $get(&self) -> bool {
                    self.flags & (1 << $bit) != 0
                }
                #[inline]
                pub(super) fn $set(&mut self, on: bool) {
                    if on {
                        self.flags |= 1 << $bit;
                    } else {
                        self.flags &= !(1 << $bit);
                    }
                }
            )*
        }
    };
}

flags! {
    /// Opened by a passive OPEN (RFC 9293 §3.5 MUST-11).
    0 passive set_passive;
    /// The application called CLOSE: it reads no more (an orphan once the
    /// host drops its handle).
    1 app_closed set_app_closed;
    /// A FIN is to follow the data in `tx` (Shutdown or Close).
    2 fin_queued set_fin_queued;
    /// Our SYN has been acknowledged.
    3 syn_acked set_syn_acked;
    /// The peer's FIN has been received (in order).
    4 fin_received set_fin_received;
    /// Our FIN has been acknowledged.
    5 fin_acked set_fin_acked;
    /// The SYN was retransmitted (RFC 6298 §5.7).
    6 syn_retransmitted set_syn_retransmitted;
    /// Nagle's algorithm is on (RFC 9293 §3.7.4).
    7 nagle set_nagle;
    /// Timestamps negotiated (RFC 7323 §3).
    8 ts_on set_ts_on;
    /// SACK negotiated (RFC 2018).
    9 sack_on set_sack_on;
    /// ECN negotiated (RFC 3168 §6.1.1).
    10 ecn_on set_ecn_on;
    /// Echo ECE on our ACKs until the peer's CWR (RFC 3168 §6.1.3).
    11 ece_pending set_ece_pending;
    /// Set CWR on the next new data segment (RFC 3168 §6.1.2).
    12 cwr_pending set_cwr_pending;
    /// Window scaling negotiated (both SYNs carried the option, RFC 7323 §2).
    13 ws_on set_ws_on;
    /// Send a pure ACK now.
    14 ack_now set_ack_now;
    /// Retransmit the first unacknowledged segment now (fast retransmit).
    15 fast_rtx set_fast_rtx;
    /// Send what the window allows even if below the SWS threshold.
    16 force_send set_force_send;
    /// The retransmission timer is a tail-loss-probe timer (RFC 8985 §7).
    17 tlp_armed set_tlp_armed;
    /// A loss probe is outstanding (until SND.UNA passes `tlp_high`).
    18 tlp_out set_tlp_out;
    /// Retransmit the last segment as a loss probe now.
    19 tlp_rtx set_tlp_rtx;
    /// In fast recovery (RFC 5681 §3.2, RFC 6675).
    20 in_recovery set_in_recovery;
    /// Interactive: delayed ACKs even in quick-ACK mode (Linux pingpong).
    21 pingpong set_pingpong;
    /// Corked (`AppCall::SetCork`): short segments wait.
    27 corked set_corked;
    /// The last data queued came with `AppCall::SendMore`: it waits as
    /// under a cork, and its end carries no PSH.
    28 more set_more;
    /// Linux's PSH on GSO packets (`output.rs`, `gso_push`): the last
    /// new-data segment opened or continued a packet of two segments or
    /// more that the next one sent at the same time continues.
    29 psh_owed set_psh_owed;
    /// The pending RST is our own (CLOSE with unread data, ABORT) and
    /// carries the timestamp option (`Config::rst_with_ack`).
    30 rst_ts set_rst_ts;
    /// An uncommon mode is on (urgent data in either direction, F-RTO, a
    /// PLPMTUD search: `xflags`): both fast paths are off, and the general
    /// paths look at the details. Set only through `set_x`.
    31 uncommon set_uncommon;
}

impl<B: Storage> Connection<B> {
    /// TCP Fast Open (RFC 7413, `fastopen.rs`): in SYN-SENT, the first SYN
    /// carries the option and data; afterwards, the SYN's data was
    /// acknowledged (active) or taken (passive). A bit of `xflags` (the
    /// flag word is full; nothing on a per-segment path reads it).
    #[inline]
    pub(super) fn fast_open(&self) -> bool {
        self.xflag(super::urgent::x::FAST_OPEN)
    }
    #[inline]
    pub(super) fn set_fast_open(&mut self, on: bool) {
        self.set_x(super::urgent::x::FAST_OPEN, on);
    }
}

/// Bit of `flags`: Eifel detection (RFC 3522) awaits the first ACK after
/// a timeout; the window before it and the TSval at it are in the
/// uncommon state (`cold.rs`).
const UNDO: u32 = 1 << 22;

/// Bit of `flags`: a FIN received out of order; its sequence number is
/// in the uncommon state (`cold.rs`).
const RCV_FIN: u32 = 1 << 23;

/// Bit of `flags`: a D-SACK block to report (RFC 2883) is in `pend_val`.
const DSACK: u32 = 1 << 24;
/// Bit of `flags`: a RST to send is in `pend_val` (SEG.SEQ and SEG.ACK;
/// whether the ACK bit is set is bit 26, `pending_rst` puts them together).
const RST: u32 = 1 << 25;

/// Bit of `flags`: the pending RST carries an ACK.
const RST_ACK: u32 = 1 << 26;

/// The bits that keep a segment off the send fast path (`send_predict`):
/// a RST to send (`rst_raw`), a fast retransmission (`fast_rtx`), a loss
/// probe (`tlp_rtx`), fast recovery (`in_recovery`), an uncommon mode
/// (`uncommon`). One test of the word instead of five.
const SEND_SLOW: u32 = (1 << 25) | (1 << 15) | (1 << 19) | (1 << 20) | (1 << 31);

/// The bits that keep a segment off header prediction (`predict`), and
/// `syn_acked`, which must be set: an out-of-order FIN (`rcv_fin`), our
/// FIN queued (`fin_queued`), fast recovery (`in_recovery`, where every
/// ACK goes through PRR), an uncommon mode (`uncommon`). One test of the
/// word instead of five.
const RECV_SLOW: u32 = (1 << 23) | (1 << 2) | (1 << 20) | (1 << 31);
const SYN_ACKED: u32 = 1 << 3;

/// A pending RST and a D-SACK block to report share one slot
/// (`pend_val`): a RST ends or resets the exchange, and a D-SACK is only
/// advice (RFC 2883 §4: the sender may ignore it), so a RST takes the slot
/// and a D-SACK waits for no RST.
impl<B: Storage> Connection<B> {
    /// Sequence number of a FIN received out of order.
    #[inline]
    pub(super) fn rcv_fin(&self) -> Option<SeqNum> {
        (self.flags & RCV_FIN != 0).then(|| self.cold().rcv_fin)
    }
    #[inline]
    pub(super) fn set_rcv_fin(&mut self, v: Option<SeqNum>) {
        match v {
            Some(v) => {
                self.cold_mut().rcv_fin = v;
                self.flags |= RCV_FIN;
            }
            None => self.flags &= !RCV_FIN,
        }
    }
    /// Eifel detection (RFC 3522): the window before a timeout and the
    /// TSval at the timeout, while the first ACK after it is awaited.
    #[inline]
    pub(super) fn undo(&self) -> Option<Undo> {
        (self.flags & UNDO != 0).then(|| self.cold().undo)
    }
    #[inline]
    pub(super) fn set_undo(&mut self, v: Option<Undo>) {
        match v {
            Some(v) => {
                self.cold_mut().undo = v;
                self.flags |= UNDO;
            }
            None => self.flags &= !UNDO,
        }
    }
    /// A D-SACK block to report (RFC 2883).
    #[inline]
    pub(super) fn dsack(&self) -> Option<(SeqNum, SeqNum)> {
        (self.flags & DSACK != 0).then(|| self.cold().pend)
    }
    /// Records (or forgets) the D-SACK block to report; dropped while a
    /// RST is pending.
    #[inline]
    pub(super) fn set_dsack(&mut self, v: Option<(SeqNum, SeqNum)>) {
        match v {
            Some(_) if self.flags & RST != 0 => {}
            Some(v) => {
                self.cold_mut().pend = v;
                self.flags |= DSACK;
            }
            None => self.flags &= !DSACK,
        }
    }
    #[inline]
    pub(super) fn take_dsack(&mut self) -> Option<(SeqNum, SeqNum)> {
        let v = self.dsack();
        self.set_dsack(None);
        v
    }
    #[inline]
    fn rst_raw(&self) -> Option<(SeqNum, SeqNum)> {
        (self.flags & RST != 0).then(|| self.cold().pend)
    }
    #[inline]
    fn set_rst_raw(&mut self, v: Option<(SeqNum, SeqNum)>) {
        match v {
            Some(v) => {
                self.cold_mut().pend = v;
                self.flags = (self.flags & !DSACK) | RST;
            }
            None => self.flags &= !RST,
        }
    }

    /// Our SYN is not acknowledged, or one of the [`RECV_SLOW`]
    /// conditions holds.
    #[inline]
    pub(super) fn recv_slow(&self) -> bool {
        (self.flags ^ SYN_ACKED) & (RECV_SLOW | SYN_ACKED) != 0
    }

    /// One of the [`SEND_SLOW`] conditions holds.
    #[inline]
    pub(super) fn send_slow(&self) -> bool {
        self.flags & SEND_SLOW != 0
    }

    /// `ece_pending() || uncommon()`, in one test: the general output
    /// path's marks (ECE, URG).
    #[inline]
    pub(super) fn out_marks(&self) -> bool {
        self.flags & ((1 << 11) | (1 << 31)) != 0
    }

    /// `cwr_pending() || ece_pending()`, in one test.
    #[inline]
    pub(super) fn ecn_marks(&self) -> bool {
        self.flags & ((1 << 11) | (1 << 12)) != 0
    }

    /// Whether a RST is to be sent (`pending_rst().is_some()`, without
    /// reading the uncommon state: the flag bit alone).
    #[inline]
    pub(super) fn has_pending_rst(&self) -> bool {
        self.flags & RST != 0
    }
    /// `has_pending_rst() || ack_now()` (bit 14), in one test.
    #[inline]
    pub(super) fn rst_or_ack_now(&self) -> bool {
        self.flags & (RST | (1 << 14)) != 0
    }
    /// Whether a D-SACK block is to be reported (`dsack().is_some()`, the
    /// flag bit alone).
    #[inline]
    pub(super) fn has_dsack(&self) -> bool {
        self.flags & DSACK != 0
    }
    /// A RST to send: (SEG.SEQ, Some(SEG.ACK) when the ACK bit is set).
    pub(super) fn pending_rst(&self) -> Option<(SeqNum, Option<SeqNum>)> {
        let ack = self.flags & RST_ACK != 0;
        self.rst_raw().map(|(seq, a)| (seq, ack.then_some(a)))
    }
    pub(super) fn set_pending_rst(&mut self, v: Option<(SeqNum, Option<SeqNum>)>) {
        let ack = v.and_then(|(_, a)| a);
        if ack.is_some() {
            self.flags |= RST_ACK;
        } else {
            self.flags &= !RST_ACK;
        }
        self.set_rst_raw(v.map(|(seq, a)| (seq, a.unwrap_or(SeqNum(0)))));
    }
    pub(super) fn take_pending_rst(&mut self) -> Option<(SeqNum, Option<SeqNum>)> {
        let v = self.pending_rst();
        self.set_pending_rst(None);
        v
    }
}

/// The two counters packed in `nibbles`.
impl<B: Storage> Connection<B> {
    /// HyStart++'s RTT samples this round (RFC 9406 §4.2).
    #[inline]
    pub(super) fn hs_samples(&self) -> u8 {
        self.nibbles & 0x0f
    }
    #[inline]
    pub(super) fn add_hs_sample(&mut self) {
        if self.nibbles & 0x0f != 0x0f {
            self.nibbles += 1;
        }
    }
    #[inline]
    pub(super) fn reset_hs_samples(&mut self) {
        self.nibbles &= 0xf0;
    }
    /// Duplicate ACKs owed beyond the pending one.
    #[inline]
    pub(super) fn acks_owed(&self) -> u8 {
        self.nibbles >> 4
    }
    #[inline]
    pub(super) fn set_acks_owed(&mut self, n: u8) {
        self.nibbles = (self.nibbles & 0x0f) | (n.min(15) << 4);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Connection;
    use crate::config::Config;
    use crate::seq::SeqNum;
    use std::vec::Vec;

    fn conn() -> Connection<Vec<u8>> {
        Connection::<Vec<u8>>::new(
            Config::rfc9293(),
            crate::connection::Buffers {
                rx: Vec::from([0; 64]),
                tx: Vec::from([0; 64]),
            },
        )
        .unwrap()
    }

    /// The two counters packed in `nibbles` are independent: HyStart++'s
    /// RTT samples of the round (RFC 9406 §4.2, which needs 8; counted up
    /// to 15 and kept there) and the duplicate ACKs owed (at most 15).
    #[test]
    fn the_two_nibble_counters_count_apart() {
        let mut c = conn();
        assert_eq!((c.hs_samples(), c.acks_owed()), (0, 0));
        c.set_acks_owed(3);
        for n in 1..=20u8 {
            c.add_hs_sample();
            assert_eq!((c.hs_samples(), c.acks_owed()), (n.min(15), 3), "{n}");
        }
        c.set_acks_owed(200);
        assert_eq!((c.hs_samples(), c.acks_owed()), (15, 15));
        c.reset_hs_samples();
        assert_eq!((c.hs_samples(), c.acks_owed()), (0, 15));
        c.add_hs_sample();
        c.set_acks_owed(0);
        assert_eq!((c.hs_samples(), c.acks_owed()), (1, 0));
    }

    /// `send_slow` is exactly "a RST is pending, or fast_rtx, tlp_rtx or
    /// in_recovery": each alone sets it, every other flag alone does not.
    #[test]
    fn send_slow_mask_is_its_four_conditions() {
        let fresh = || {
            let mut c = conn();
            c.flags = 0;
            c
        };
        assert!(!fresh().send_slow());
        let mut c = fresh();
        c.set_pending_rst(Some((SeqNum(1), None)));
        assert!(c.send_slow());
        let mut c = fresh();
        c.set_fast_rtx(true);
        assert!(c.send_slow());
        let mut c = fresh();
        c.set_tlp_rtx(true);
        assert!(c.send_slow());
        let mut c = fresh();
        c.set_in_recovery(true);
        assert!(c.send_slow());
        for bit in 0..32 {
            let mut c = fresh();
            c.flags = 1 << bit;
            assert_eq!(
                c.ecn_marks(),
                c.cwr_pending() || c.ece_pending(),
                "bit {bit}"
            );
            let expect = c.pending_rst().is_some()
                || c.fast_rtx()
                || c.tlp_rtx()
                || c.in_recovery()
                || c.uncommon();
            assert_eq!(c.send_slow(), expect, "bit {bit}");
            assert_eq!(c.out_marks(), c.ece_pending() || c.uncommon(), "bit {bit}");
            for acked in [false, true] {
                c.set_syn_acked(acked);
                let expect = !c.syn_acked()
                    || c.rcv_fin().is_some()
                    || c.fin_queued()
                    || c.in_recovery()
                    || c.uncommon();
                assert_eq!(c.recv_slow(), expect, "bit {bit}, syn_acked {acked}");
            }
        }
    }
}
