//! Segment output: what to send next (RFC 9293 §3.7, §3.8.6; RFC 5681;
//! RFC 7323 options; RFC 2018 SACK blocks).

use super::{Connection, Probe, Storage, Timer, Transmit};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Instant, Stamp};
use crate::wire::{Flags, Segment, TcpOptions, Timestamps};

/// No window reaches past 2^30 bytes (RFC 7323 §2.3: 65535 << 14 < 2^30).
/// cwnd may grow beyond it (slow start goes on while the peer's window
/// limits the flight, RFC 5681 sets no bound); the congestion window is
/// taken at most this large, so that SND.UNA + cwnd stays within 2^31 of
/// SND.NXT and compares correctly in sequence space (RFC 9293 §3.4).
const MAX_WINDOW: u32 = 1 << 30;

/// The reply RFC 9293 §3.10.7.1 prescribes for a segment that reaches no
/// connection (state CLOSED): nothing for a RST; `<SEQ=SEG.ACK><CTL=RST>`
/// when ACK is set; otherwise `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
pub fn reply_to_unknown(seg: &Segment<'_>) -> Option<Transmit> {
    if seg.flags.rst() {
        return None;
    }
    let (seq, ack, flags) = if seg.flags.ack() {
        (seg.ack, SeqNum(0), Flags::RST)
    } else {
        (
            SeqNum(0),
            seg.seq.add(seg.seg_len()),
            Flags::RST | Flags::ACK,
        )
    };
    Some(Transmit {
        seq,
        ack,
        flags,
        window: 0,
        urgent: 0,
        ect: false,
        options: TcpOptions::NONE,
        len: 0,
    })
}

impl<B: Storage> Connection<B> {
    /// Bytes in the send buffer not yet sent.
    pub(super) fn unsent(&self) -> u32 {
        let base = self.tx_base();
        let len = self.tx.len() as u32;
        if self.snd_nxt.before(base) {
            return len;
        }
        len - self.snd_nxt.dist(base).min(len)
    }

    /// Whether a SYN, data or FIN would go out now.
    #[inline(always)]
    pub(super) fn wants_to_send(&self) -> bool {
        match self.state {
            State::SynSent => return self.snd_nxt == self.iss,
            State::SynReceived => {
                return self.snd_nxt == self.iss
                    || (self.fast_open_child_sends() && self.next_data_len().is_some());
            }
            State::Closed | State::Listen | State::TimeWait => return false,
            _ => {}
        }
        if !self.syn_acked() {
            return self.snd_nxt == self.iss || self.fin_before_syn_acked();
        }
        if self.fast_rtx() || self.tlp_rtx() {
            return true;
        }
        if self.in_recovery() && !self.held() && self.sack_rtx_ready() {
            // A hole PRR lets go, with or without new data queued.
            return true;
        }
        if self.tx.is_empty() && !self.fin_queued() {
            // Nothing queued (the common case of a receiver): next_data_len
            // would find no data and no FIN.
            return false;
        }
        self.next_data_len().is_some()
    }

    /// CLOSE in SYN-RECEIVED with nothing queued: the FIN goes out at once,
    /// before our SYN is acknowledged (RFC 9293 §3.10.4).
    fn fin_before_syn_acked(&self) -> bool {
        !self.syn_acked()
            && self.state == State::FinWait1
            && self.fin_queued()
            && self.tx.is_empty()
            && self.snd_nxt == self.fin_seq()
    }

    /// Whether `poll_transmit` has anything (`wants` is `wants_to_send()`).
    pub(super) fn has_output(&self, wants: bool) -> bool {
        self.has_pending_rst()
            || (self.state != State::Closed
                && (self.ack_now() || !matches!(self.probe, Probe::None | Probe::Held) || wants))
    }

    /// (payload length, with FIN) of the next new segment, or None when
    /// nothing may be sent now: window, congestion window, Nagle and
    /// sender-side SWS avoidance (RFC 9293 §3.7.4, §3.8.6.2.1).
    fn next_data_len(&self) -> Option<(u32, bool)> {
        if self.held() {
            return None;
        }
        let unsent = self.unsent();
        if unsent == 0 {
            // Only the FIN is left, if it is queued and not yet sent.
            return (self.fin_queued() && self.snd_nxt == self.fin_seq()).then_some((0, true));
        }
        // Full-sized: the effective MSS less any SACK blocks to carry.
        let mss = self.seg_room();
        // The peer's window (RFC 9293 §3.8.6) ...
        let right = self.snd_una.add(self.snd_wnd);
        let rwnd_room = if right.after(self.snd_nxt) {
            right.dist(self.snd_nxt)
        } else {
            0
        };
        // ... and the congestion window: in recovery (and in the CWR
        // state, `Config::linux_cwr`), sending goes on while pipe < cwnd
        // (RFC 6675 §5; PRR sets cwnd, RFC 6937); otherwise by SND.UNA +
        // cwnd.
        let cwnd = self.cwnd.max(mss).min(MAX_WINDOW);
        let cwnd_room = if self.in_reduction() {
            cwnd.saturating_sub(self.pipe())
        } else {
            // Limited transmit (RFC 3042, RFC 5681 §3.2 step 1): the first
            // and second duplicate ACKs each let one new segment go beyond
            // cwnd (cwnd itself is unchanged).
            let limited = if self.in_recovery() {
                0
            } else {
                u32::from(self.dupacks.min(2)) * mss
            };
            let right = self.snd_una.add(cwnd.saturating_add(limited));
            if right.after(self.snd_nxt) {
                right.dist(self.snd_nxt)
            } else {
                0
            }
        };
        // A record's end (`records.rs`) ends the segment.
        let record = self.record_room(self.snd_nxt);
        let len = unsent.min(rwnd_room).min(cwnd_room).min(mss).min(record);
        if len == 0 {
            return None;
        }
        let all = len == unsent;
        let fin = all && self.fin_queued();
        let retransmitting = self.snd_nxt.before(self.snd_max);
        // A segment a record's end cuts short cannot grow: it goes as a
        // full-sized one would; at the queue's tail the usual rules hold
        // (Linux tests Nagle on the last buffer only, tcp_write_xmit).
        // A resend of data sent before goes as the data, the peer's window
        // and a record's end cut it, but not in a piece that a cwnd grown
        // by less than a segment leaves (SWS avoidance, RFC 9293
        // §3.8.6.2.1: congestion avoidance after a timeout adds a few bytes
        // an ACK; Linux counts cwnd in segments and never cuts one).
        let ok = len == mss
            || (len == record && !all)
            || (retransmitting && len < cwnd_room)
            || fin
            || (all
                && !self.corked()
                && !self.more_holds()
                && (!self.nagle() || self.no_data_in_flight() || self.minshall_ok()))
            || self.force_send()
            || (self.flight() == 0 && len >= self.max_snd_wnd / 2 && self.max_snd_wnd > 0);
        ok.then_some((len, fin))
    }

    /// Whether a data segment carries PSH. RFC 9293 §3.9.1 (MUST-61): the
    /// last segment of the queued data, unless the application said more
    /// is to come (`SendMore`). With `Config::linux_push`, also the last
    /// segment of each GSO packet of two segments or more of new data
    /// (`gso_push`). Called before the segment is counted as sent.
    #[inline]
    fn push(&mut self, now: Instant, buffer_end: bool, new: bool) -> bool {
        if buffer_end {
            self.set_psh_owed(false);
            return !self.more();
        }
        if !new || !self.cfg.linux_push() {
            return false;
        }
        self.gso_push(now)
    }

    /// `Config::linux_push`: the new data sent at one time goes as Linux's
    /// `tcp_write_xmit` cuts it into GSO packets, and the last segment of a
    /// packet of two or more carries PSH, as Linux (6.18, on packetdrill's
    /// tun device) sends every multi-segment packet. A packet starts with
    /// the first segment sent at a new time or after the last one ended,
    /// and holds at most `Config::tso_segs` segments (`tcp_tso_segs`), half
    /// the congestion window (`tcp_cwnd_test`: "at least 2 GSO packets in
    /// flight") and what cwnd and the peer's window let go now. `psh_owed`
    /// says a packet is open; above two segments a packet, the count left
    /// is in the uncommon state (`Cold::gso_left`).
    #[inline]
    fn gso_push(&mut self, now: Instant) -> bool {
        let open = self.psh_owed() && self.last_send == Stamp::new(now);
        let big = self.max_gso_segs() > 2;
        if open {
            if !big {
                self.set_psh_owed(false);
                return true;
            }
            let left = self.gso_left().saturating_sub(1);
            self.set_gso_left(left);
            self.set_psh_owed(left > 0);
            return left == 0;
        }
        // The first segment of a packet: none carries PSH alone.
        let segs = self.gso_packet_segs(now);
        self.set_psh_owed(segs >= 2);
        if big && segs >= 2 {
            self.set_gso_left((segs - 1) as u8);
        }
        false
    }

    /// `Config::tso_segs`; without `alloc`, at most 2 (the count of a
    /// larger packet needs the uncommon state's box).
    #[inline]
    fn max_gso_segs(&self) -> u32 {
        let n = u32::from(self.cfg.tso_segs);
        #[cfg(not(feature = "alloc"))]
        let n = n.min(2);
        n
    }

    /// `Cold::gso_left` (0 without `alloc`).
    fn gso_left(&self) -> u8 {
        #[cfg(feature = "alloc")]
        return self.cold().gso_left;
        #[cfg(not(feature = "alloc"))]
        return 0;
    }

    fn set_gso_left(&mut self, n: u8) {
        #[cfg(feature = "alloc")]
        {
            self.cold_mut().gso_left = n;
        }
        #[cfg(not(feature = "alloc"))]
        let _ = n;
    }

    /// The segments of the GSO packet that starts at SND.NXT (see
    /// `gso_push`), at least 1: Linux's `min(cwnd_quota, max_segs)`, where
    /// `tcp_cwnd_test` gives `min(max(cwnd / 2, 1), cwnd - in_flight)`,
    /// and `tcp_mss_split_point` the peer's window. The congestion window
    /// is the one after a restart after idle (RFC 5681 §4.1), which Linux
    /// applies as the data is queued (`tcp_slow_start_after_idle_check`).
    #[inline(never)]
    fn gso_packet_segs(&self, now: Instant) -> u32 {
        let mss = self.eff_mss();
        let cwnd = self.idle_restart_cwnd(now).unwrap_or(self.cwnd);
        let cwnd = (cwnd / mss).max(1);
        let in_flight = self.pipe().div_ceil(mss);
        let right = self.snd_una.add(self.snd_wnd);
        let rwnd = if right.after(self.snd_nxt) {
            right.dist(self.snd_nxt) / mss
        } else {
            0
        };
        self.max_gso_segs()
            .min((cwnd / 2).max(1))
            .min(cwnd.saturating_sub(in_flight))
            .min(rwnd)
            .max(1)
    }

    /// Whether `SendMore` data still waits as under a cork. With
    /// `Config::linux_push`, only until an ACK moves SND.UNA on: Linux
    /// corks only the push of the `MSG_MORE` write itself (tcp_push with
    /// TCP_NAGLE_CORK); the push an ACK makes (tcp_data_snd_check) uses
    /// the socket's own Nagle setting. Its end still carries no PSH.
    #[inline]
    fn more_holds(&self) -> bool {
        #[cfg(feature = "alloc")]
        return self.more() && !(self.cfg.linux_push() && self.snd_una.after(self.cold().more_una));
        #[cfg(not(feature = "alloc"))]
        return self.more();
    }

    /// Nagle's test (RFC 896, RFC 9293 §3.7.4): no data unacknowledged.
    /// A Fast Open child's SYN,ACK is not data (Linux's child does not
    /// count the SYN,ACK among its packets out).
    fn no_data_in_flight(&self) -> bool {
        self.flight() == 0 || (self.fast_open_child() && self.snd_nxt == self.iss.add(1))
    }

    /// Minshall's rule: no short segment is unacknowledged.
    fn minshall_ok(&self) -> bool {
        self.cfg.nagle_minshall() && !self.snd_sml.after(self.snd_una)
    }

    /// The next segment to send, with its payload written to `buf`
    /// (RFC 9293 §3.10). Call until `None` after every `Action::Transmit`.
    /// A buffer smaller than the MSS limits the segment's payload; an
    /// empty one gets only segments that carry none of the stream (an ACK,
    /// a window probe, a RST): data, a FIN and resends wait for a poll
    /// with room.
    ///
    /// Inlined into the caller, the send fast path with it (`send_fast`):
    /// the segment is built where the caller reads it, without a call.
    ///
    /// Segments 2..n of a burst (`send_fast` after `send_fast`, at one
    /// time, no other call between) skip the bookkeeping that the one
    /// before them did with the same outcome: see `send_fast`.
    #[inline(always)]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        // A later time ends the burst (an earlier one is clamped to the
        // burst's own); every other entry point ends it (`clock`), and so
        // does the general path.
        let now = self.clock_poll(now);
        let burst = self.xflag(super::urgent::x::BURST);
        if let Some(mss) = self.send_predict_in(buf.len(), burst) {
            return Some(self.send_fast(now, buf, mss, burst));
        }
        self.poll_general(now, buf, burst)
    }

    /// The poll that ends a burst (`send_fast`) when no full segment is
    /// left to send: whether `poll_general` would find nothing, so that it
    /// need not run (it changes nothing then). Nothing but `send_fast` ran
    /// since `send_predict`'s state tests passed (no RST, retransmission,
    /// recovery, uncommon mode, record end, SACK or D-SACK block, SND.NXT
    /// = SND.MAX, in ESTABLISHED: no SYN or FIN is due either), no ACK is
    /// due (`ack_sent` ran, no duplicate owed) and nothing forces a send;
    /// with no probe pending and room for a full segment in the caller's
    /// buffer, `next_data_len` alone decides, and finds nothing to send
    /// (RFC 9293 §3.7.4, §3.8.6.2.1) when the windows leave less than a
    /// segment while a full segment is queued (the segment could not be
    /// the queue's last), or when Nagle holds the queue's short tail with
    /// data in flight and Minshall's rule does not let it go.
    #[inline(always)]
    fn burst_ends(&self, room: usize) -> bool {
        let mss = self.eff_mss();
        debug_assert!(!self.ack_now() && !self.force_send() && self.flight() > 0);
        self.probe == Probe::None
            && room >= mss as usize
            && (self.unsent() >= mss || (self.nagle() && !self.minshall_ok()))
    }

    /// `poll_transmit` for every segment `send_predict` does not cover.
    /// `burst`: the poll after a segment of a burst (see `burst_ends`).
    #[inline(never)]
    fn poll_general(&mut self, now: Instant, buf: &mut [u8], burst: bool) -> Option<Transmit> {
        if burst {
            // Whatever goes out here, or nothing, ends the burst.
            self.xflags &= !super::urgent::x::BURST;
            if self.burst_ends(buf.len()) {
                return None;
            }
        }
        // RFC 9293 §3.3.1: SND.UNA =< SND.NXT =< SND.MAX. A SND.NXT below
        // SND.UNA would send an empty segment from outside the send buffer
        // on every poll (the fuzzers' and tests' builds check it).
        debug_assert!(
            matches!(self.state, State::Closed | State::Listen)
                || (!self.snd_nxt.before(self.snd_una) && !self.snd_nxt.after(self.snd_max)),
            "SND.NXT {:?} outside [SND.UNA {:?}, SND.MAX {:?}] in {}",
            self.snd_nxt,
            self.snd_una,
            self.snd_max,
            self.state
        );
        if self.idle_predict() {
            // Nothing but an ACK can be due (see `idle_predict`).
            if !self.ack_now() {
                return None;
            }
            if self.asm.is_empty() && !self.has_dsack() && !self.out_marks() {
                return Some(self.send_ack_fast(now));
            }
        }
        if self.uncommon() {
            self.prune_records();
        }
        // Changed in place: the segment is built once, in the return slot.
        let mut out = self.next_transmit(now, buf);
        let t = out.as_mut()?;
        // One test for the two marks of the general path.
        if self.out_marks() {
            if self.ece_pending() && t.flags.ack() && !t.flags.syn() && !t.flags.rst() {
                t.flags |= Flags::ECE;
            }
            // RFC 9293 §3.8.5: URG below SND.UP (`urgent.rs`).
            t.urgent = self.mark_urgent(&mut t.flags, t.seq);
        }
        self.count_out(t.len);
        if t.flags.ack() {
            self.ack_sent();
        }
        out
    }

    /// The receiver's counterpart of `send_predict`: in ESTABLISHED with
    /// nothing to send but maybe an ACK (no unsent data, no RST,
    /// retransmission, recovery, probe or uncommon mode), `next_transmit`
    /// sends nothing unless an ACK is due (`ack_now`), and then, with no
    /// SACK or D-SACK block to report and no ECE to echo, exactly a pure
    /// ACK at `acceptable_seq` with the window and timestamps (RFC 9293
    /// §3.10.7.4, RFC 7323 §3.2): `send_ack_fast`. Changes nothing.
    #[inline(always)]
    pub(super) fn idle_predict(&self) -> bool {
        #[cfg(test)]
        if self.no_fast_path() {
            return false;
        }
        self.state == State::Established
            && !self.send_slow()
            && (self.tx.is_empty() || self.unsent() == 0)
            && self.probe == Probe::None
    }

    /// The pure ACK `idle_predict` found: what `control` and
    /// `poll_general` do for it, in the same order.
    #[inline(always)]
    fn send_ack_fast(&mut self, now: Instant) -> Transmit {
        // No FIN can be queued in ESTABLISHED (CLOSE moves it on at once).
        debug_assert!(self.syn_acked() && !self.fin_queued() && self.next_data_len().is_none());
        let seq = self.acceptable_seq();
        let window = self.advertise();
        let options = self.ts_options(now);
        self.count_out(0);
        self.ack_sent();
        Transmit {
            seq,
            ack: self.rcv_nxt,
            flags: Flags::ACK,
            window,
            urgent: 0,
            ect: false,
            options,
            len: 0,
        }
    }

    /// Counts a segment of `len` payload bytes sent.
    #[inline(always)]
    fn count_out(&mut self, len: usize) {
        self.stats.segs_out += 1;
        self.count_bytes_out(len as u32);
    }

    /// A segment with ACK set goes out.
    #[inline(always)]
    fn ack_sent(&mut self) {
        if self.ack_pending > 0 {
            // An ACK of new data: one quick ACK used.
            self.quick = self.quick.saturating_sub(1);
        }
        // Every ACK we send carries RCV.NXT: no ACK is pending any more,
        // unless duplicates are owed for out-of-order segments (`owe_ack`).
        self.set_ack_now(false);
        self.ack_pending = 0;
        self.clear_timer(Timer::DelayedAck);
        self.last_ack_sent = self.rcv_nxt;
        if self.nibbles >= 0x10 {
            self.set_acks_owed(self.acks_owed() - 1);
            self.set_ack_now(true);
        }
    }

    /// Send-side prediction (the counterpart of header prediction on
    /// receive): in ESTABLISHED, with no RST, loss probe, fast
    /// retransmission, recovery, duplicate ACKs or SACKed data pending and
    /// SND.NXT at SND.MAX (no go-back-N resend), when a full segment of new
    /// data fits the send buffer, the peer's window (RFC 9293 §3.8.6), the
    /// congestion window (RFC 5681) and the caller's buffer (`room`), the
    /// general path (`next_transmit`) would send exactly that segment:
    /// Nagle and sender-side SWS avoidance (RFC 9293 §3.7.4, §3.8.6.2.1)
    /// always let a full-sized segment go, and neither FIN nor SYN can be
    /// due in ESTABLISHED. Changes nothing; `Some(eff_mss)` when it applies.
    #[inline(always)]
    pub(super) fn send_predict(&self, room: usize) -> Option<u32> {
        self.send_predict_in(room, false)
    }

    /// `send_predict` in a burst (`burst`, see `send_fast`): the tests of
    /// the state, the flags, the duplicate ACKs, SND.NXT and the SACK and
    /// reassembly state held for the segment before and nothing but
    /// `send_fast` ran since, which moves SND.NXT and SND.MAX together and
    /// sets none of the flags tested: only the room is tested again.
    #[inline(always)]
    pub(super) fn send_predict_in(&self, room: usize, burst: bool) -> Option<u32> {
        #[cfg(test)]
        if self.no_fast_path() {
            return None;
        }
        if !burst
            && (self.state != State::Established
                || self.send_slow()
                || self.dupacks != 0
                || self.snd_nxt != self.snd_max
                || !self.sacked.is_empty()
                // SACK blocks to send shrink the segment (`seg_room`).
                || !self.asm.is_empty()
                || self.has_dsack())
        {
            return None;
        }
        debug_assert!(self.syn_acked() && !self.fin_queued() && !self.fin_acked());
        let mss = self.eff_mss();
        // SND.NXT = SND.MAX >= SND.UNA: the flight is what the buffer holds
        // below SND.NXT, and a full segment fits the buffer, SND.WND and
        // cwnd when each reaches `flight + mss` past SND.UNA. Both windows
        // are below 2^30 (SND.WND by RFC 7323 §2.3, cwnd as next_data_len
        // takes it), so this is next_data_len's sequence-space test exactly.
        let need = self.flight().saturating_add(mss);
        // SND.WND is below MAX_WINDOW, so the cwnd's cap changes nothing
        // in the smaller of the two.
        debug_assert!(self.snd_wnd < MAX_WINDOW);
        let wnd = self.snd_wnd.min(self.cwnd.max(mss));
        (self.tx.len() as u32 >= need && wnd >= need && room >= mss as usize).then_some(mss)
    }

    /// The segment `send_predict` found: `mss` bytes of new data from
    /// SND.NXT, with what `data_segment` and `poll_general` do for it (same
    /// order, same outcome), the tests that cannot hold left out. Inlined,
    /// so that the segment is built in `poll_transmit`'s return slot.
    ///
    /// `burst`: the segment before this one went out through here, at the
    /// same time, with data in flight before it (what sets the mark, before
    /// the window), and no other entry point ran since (every one clears
    /// it, `clock`). Then these steps give what they gave for that
    /// segment, and are skipped (`burst` below):
    /// - `new_data_out`: the interactive test reads the time and when data
    ///   last came in, both unchanged; no restart after idle with data in
    ///   flight (RFC 5681 §4.1); the send time, RACK's newest checkpoint
    ///   (RFC 8985 §6.1: already this time) and the timed segment (RFC
    ///   6298: one already) are set.
    /// - the retransmission timer: the loss-probe deadline (RFC 8985 §7.2)
    ///   is now + PTO, and PTO has no WCDelAckT with more than one segment
    ///   out, before and now; the RTO is armed already (RFC 6298 §5.1).
    /// - `force_send` and `ack_sent`: cleared and written for RCV.NXT,
    ///   which has not moved (no duplicate ACK is owed on this path:
    ///   nothing counts down).
    /// - `advertise`: it answered from RCV.ADV without its update rules
    ///   (which end the burst), and nothing was received or read since:
    ///   the same answer, from RCV.ADV (`advertise_again`).
    #[inline(always)]
    pub(super) fn send_fast(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        mss: u32,
        burst: bool,
    ) -> Transmit {
        let seq = self.snd_nxt;
        let flight = self.flight();
        let off = flight as usize;
        let n = mss as usize;
        let mut flags = Flags::ACK;
        if self.push(now, off + n == self.tx.len(), true) {
            flags |= Flags::PSH;
        }
        if !burst {
            self.new_data_out(now, seq, n);
            if flight == 0 {
                self.unacked_since = self.stamp(now);
            }
        }
        self.snd_nxt = seq.add(mss);
        self.snd_max = self.snd_nxt;
        self.cwnd_used(seq);
        // In a burst the mark stays for the next segment: its conditions
        // still hold.
        if !burst {
            // `tlp_eligible()` in ESTABLISHED out of recovery (RFC 8985
            // §7.2: restart the loss-probe timer after new data; not while
            // the recovery after a timeout lasts).
            if self.sack_on()
                && self.srtt != 0
                && !self.tlp_out()
                && self.retries == 0
                && self.snd_una.after_eq(self.recover)
            {
                self.arm_rtx_timer_mss(now, true, mss);
            } else if self.timer(Timer::Retransmit).is_none() {
                // RFC 6298 §5.1.
                self.set_timer(Timer::Retransmit, now + self.rto_duration());
            }
            // No duplicate ACK is owed (`ack_sent` would count one down
            // and ask for the next): they are owed only for out-of-order
            // data held (`owe_ack`), which keeps send prediction off, and
            // in-order data forgets them (`data_arrived`).
            debug_assert!(self.nibbles < 0x10);
            // (Before the marks and the window below, which they do not
            // read.)
            self.set_force_send(false);
            self.ack_sent();
            if flight != 0 {
                self.xflags |= super::urgent::x::BURST;
            }
        }
        let ect = self.ecn_on();
        // One test of the flag word for both ECN marks (off unless ECN).
        let marks = self.ecn_marks();
        if marks {
            if ect && self.cwr_pending() {
                // RFC 3168 §6.1.2: CWR on the first new data after a reduction.
                flags |= Flags::CWR;
                self.set_cwr_pending(false);
            }
            if self.ece_pending() {
                // RFC 3168 §6.1.3: ECE on every ACK until the peer's CWR.
                flags |= Flags::ECE;
            }
        }
        // `segment`'s work, with no SACK blocks to look for: send_predict
        // found no reassembly and no D-SACK block to report.
        debug_assert!(self.asm.is_empty() && !self.has_dsack());
        let window = if burst {
            self.advertise_again()
        } else {
            self.advertise()
        };
        let options = self.ts_options(now);
        self.count_out(n);
        let t = Transmit {
            seq,
            ack: self.rcv_nxt,
            flags,
            window,
            urgent: 0,
            // RFC 3168 §6.1.5: new data of an ECN-capable connection is ECT.
            ect,
            options,
            len: n,
        };
        // The payload last (nothing above changes the send buffer): fewer
        // values are live across the copy.
        // `send_predict` found the segment in the buffer.
        self.tx.read_exact_at(off, &mut buf[..n]);
        t
    }

    fn next_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if let Some((seq, ack)) = self.take_pending_rst() {
            let flags = if ack.is_some() {
                Flags::RST | Flags::ACK
            } else {
                Flags::RST
            };
            let mut options = TcpOptions::NONE;
            if self.rst_ts() {
                // Our own RST (Config::rst_with_ack): TS as on any segment.
                self.set_rst_ts(false);
                options = self.ts_options(now);
            }
            return Some(Transmit {
                seq,
                ack: ack.unwrap_or(SeqNum(0)),
                flags,
                window: 0,
                urgent: 0,
                ect: false,
                options,
                len: 0,
            });
        }
        match self.state {
            State::Closed | State::Listen => return None,
            State::SynSent => {
                return (self.snd_nxt == self.iss).then(|| self.syn(now, false, buf));
            }
            _ => {}
        }
        if !self.syn_acked() && self.snd_nxt == self.iss {
            return Some(self.syn(now, true, buf));
        }
        // A buffer with no room takes no segment of the data path (new
        // data, a FIN, a resend, a loss probe): those wait for a poll with
        // room (a pending override or retry of held data is spent all the
        // same); an ACK or a window probe due still goes.
        if !buf.is_empty()
            && let Some(t) = self.data_transmit(now, buf)
        {
            return Some(t);
        }
        match core::mem::replace(&mut self.probe, Probe::None) {
            // Zero-window probe: an ACK one below SND.UNA draws the peer's
            // ACK with its window (as Linux's tcp_xmit_probe_skb).
            Probe::ZeroWindow => return Some(self.control(now, self.snd_una.sub(1), Flags::ACK)),
            // Keep-alive: SEG.SEQ = SND.NXT-1, no data (RFC 9293 §3.8.4 SHLD-12).
            Probe::Keepalive => return Some(self.control(now, self.snd_max.sub(1), Flags::ACK)),
            Probe::Held => self.probe = Probe::Held,
            // Held data goes again: a probe that sent clears the count
            // (Linux's tcp_send_probe0 with packets out).
            Probe::Retry => self.zwp_unanswered = 0,
            Probe::None | Probe::Override => {}
        }
        if self.ack_now() {
            // The highest sequence number sent, not a SND.NXT rewound for a
            // retransmission: the peer's RCV.NXT may already be past the
            // rewound value, and an ACK below it would be unacceptable there
            // (RFC 9293 §3.10.7.4 step 1), losing the acknowledgment.
            let seq = self.acceptable_seq();
            return Some(self.control(now, seq, Flags::ACK));
        }
        None
    }

    /// `next_transmit`'s data path, for a buffer with room: a FIN, new
    /// data, a resend or a loss probe, whichever is due first.
    fn data_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if self.fin_before_syn_acked() {
            return Some(self.data_segment(now, buf, 0, true));
        }
        // RFC 7413 §4.2.2: a Fast Open server's data before the handshake
        // completes.
        if self.fast_open_child_sends()
            && let Some((len, _)) = self.next_data_len()
        {
            return Some(self.data_segment(now, buf, len, false));
        }
        if self.syn_acked() && self.state != State::TimeWait {
            if self.tlp_rtx() {
                self.set_tlp_rtx(false);
                if let Some(t) = self.retransmit_last(now, buf) {
                    return Some(t);
                }
            }
            if self.fast_rtx() {
                self.set_fast_rtx(false);
                if let Some(t) = self.retransmit_first(now, buf) {
                    return Some(t);
                }
            }
            // The tests that make these two do nothing are repeated here,
            // so that the common case (no recovery, nothing SACKed) makes
            // no call.
            if self.sack_on()
                && self.in_recovery()
                && !self.held()
                && let Some(t) = self.sack_retransmit(now, buf)
            {
                return Some(t);
            }
            // RFC 4821 §7: a PLPMTUD probe of new data, when one is due.
            if self.uncommon()
                && !self.has_records()
                && let Some(len) = self.mtu_probe_len(now, buf.len())
            {
                self.mtu_probe_sent(len);
                return Some(self.data_segment(now, buf, len, false));
            }
            let room = if self.sacked.is_empty() {
                u32::MAX
            } else {
                self.skip_sacked()
            };
            if let Some((len, fin)) = self.next_data_len() {
                let fin = fin && len <= room;
                return Some(self.data_segment(now, buf, len.min(room), fin));
            }
        }
        None
    }

    /// Our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED). The first SYN of a
    /// Fast Open connection carries the option and data (`fastopen.rs`),
    /// the payload written to `buf`.
    fn syn(&mut self, now: Instant, with_ack: bool, buf: &mut [u8]) -> Transmit {
        let mut o = TcpOptions::NONE;
        o.mss = Some(self.syn_mss());
        // Offer each option on a SYN; on a SYN,ACK only what the peer offered.
        if self.cfg.window_scaling() && (!with_ack || self.ws_on()) {
            o.window_scale = Some(if with_ack {
                self.rcv_wscale
            } else {
                self.our_wscale()
            });
        }
        if self.cfg.sack() && (!with_ack || self.sack_on()) {
            o.sack_permitted = true;
        }
        if self.cfg.timestamps() && (!with_ack || self.ts_on()) {
            o.timestamps = Some(Timestamps {
                val: self.ts_val(now),
                ecr: if with_ack { self.ts_recent } else { 0 },
            });
        }
        // RFC 7413 §4.1.2: data, and the option, on the first SYN only.
        let data = self.syn_payload();
        let n = (data as usize).min(buf.len());
        let len = self.tx.read_at(0, &mut buf[..n]);
        if !with_ack && self.fast_open() && self.snd_max == self.iss {
            o.fast_open = Some(crate::wire::FastOpen::request(false));
        }
        if self.snd_max == self.iss {
            // The first SYN (or SYN,ACK) of an attempt, timed (RFC 6298);
            // a resend is not (Karn). A new attempt starts with nothing
            // timed and no SYN resent (`reset_timing`).
            debug_assert!(self.rtt_sample.is_none() && !self.syn_retransmitted());
            self.rtt_sample = super::timers::RttSample::new(self.iss, self.stamp(now));
        }
        self.snd_nxt = self.iss.add(1 + len as u32);
        if len > 0 {
            // (Its bytes are counted by `poll_general`'s `count_out`.)
            self.last_send = self.stamp(now);
        }
        if self.snd_max.before(self.snd_nxt) {
            self.snd_max = self.snd_nxt;
        }
        // RFC 7323 §2.2: the window of a SYN is never scaled. It is the full
        // 65535 as Linux sends it; a scaled window may then round its right
        // edge up by less than 2^shift, which a retransmitted SYN,ACK cannot
        // repeat; the peer ignores the window of that older segment
        // (RFC 9293 §3.10.7.4 SND.WL1/WL2 rule).
        let window = self.rx.free().min(0xffff) as u16;
        self.rcv_adv = self.rcv_nxt.add(u32::from(window));
        Transmit {
            seq: self.iss,
            ack: if with_ack { self.rcv_nxt } else { SeqNum(0) },
            flags: match (with_ack, self.cfg.ecn(), self.ecn_on()) {
                // RFC 3168 §6.1.1: ECN-setup SYN (ECE, CWR) and SYN-ACK (ECE).
                (false, true, _) => Flags::SYN | Flags::ECE | Flags::CWR,
                (true, _, true) => Flags::SYN | Flags::ACK | Flags::ECE,
                (true, _, false) => Flags::SYN | Flags::ACK,
                (false, false, _) => Flags::SYN,
            },
            window,
            urgent: 0,
            ect: false,
            options: o,
            len,
        }
    }

    /// SEG.SEQ of a segment without data: SND.MAX, or the right edge of
    /// the peer's window when we have sent past it (the peer shrank its
    /// window, RFC 9293 §3.8.6.2.2 allows for it). A receiver takes the
    /// ACK of a segment only when its SEG.SEQ is in its window (RFC 9293
    /// §3.10.7.4 step 1; with a zero window only SEG.SEQ = RCV.NXT): an
    /// ACK at SND.MAX beyond it would be dropped with what it
    /// acknowledges, and two peers whose windows are both full would wait
    /// on each other for ever. As Linux's `tcp_acceptable_seq`, SND.MAX
    /// stays when it is less than one of the peer's window-scale units past
    /// the edge (the peer rounds its window down to its unit).
    fn acceptable_seq(&self) -> SeqNum {
        let edge = self.snd_una.add(self.snd_wnd);
        if !self.syn_acked()
            || edge.after_eq(self.snd_max)
            || self.snd_max.dist(edge) < 1u32 << self.snd_wscale
        {
            self.snd_max
        } else {
            edge
        }
    }

    /// A segment without data: ACK, probe.
    fn control(&mut self, now: Instant, seq: SeqNum, flags: Flags) -> Transmit {
        self.segment(now, seq, flags, 0)
    }

    /// A non-SYN segment of `len` payload bytes at `seq`: it acknowledges
    /// RCV.NXT, advertises the window and carries timestamps and SACK blocks.
    pub(super) fn segment(
        &mut self,
        now: Instant,
        seq: SeqNum,
        flags: Flags,
        len: usize,
    ) -> Transmit {
        let window = self.advertise();
        Transmit {
            seq,
            ack: self.rcv_nxt,
            flags,
            window,
            urgent: 0,
            ect: false,
            options: self.options(now),
            len,
        }
    }

    /// Options on a non-SYN segment: timestamps and SACK blocks.
    #[inline(always)]
    pub(super) fn options(&mut self, now: Instant) -> TcpOptions {
        let mut o = self.ts_options(now);
        if self.sack_on() && (!self.asm.is_empty() || self.has_dsack()) {
            o.sack = self.sack_blocks();
        }
        o
    }

    /// The options of a segment without SACK blocks: timestamps, if on
    /// (RFC 7323 §3.2: on every segment once negotiated).
    #[inline(always)]
    fn ts_options(&self, now: Instant) -> TcpOptions {
        let mut o = TcpOptions::NONE;
        if self.ts_on() {
            o.timestamps = Some(Timestamps {
                val: self.ts_val(now),
                ecr: self.ts_recent,
            });
        }
        o
    }

    /// TSval: a 1 ms clock with a per-connection offset (RFC 7323 §5.4).
    pub(super) fn ts_val(&self, now: Instant) -> u32 {
        (now.as_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// The window field to send, and RCV.ADV updated. RCV.ADV never moves
    /// left (SHLD-14), and it moves right only in steps of at least
    /// min(RCV.BUFF/2, MSS) (receiver SWS avoidance, MUST-39).
    ///
    /// RFC 7323 §2.4: with a window shift the field is the window rounded
    /// *down* to a multiple of 2^shift, so that the right edge offered
    /// never passes what the receive buffer can hold, and the window
    /// closes to 0 when less than 2^shift bytes are free (RFC 9293
    /// §3.8.6.2.2). A window that would only grow back to where it was may
    /// then read up to 2^shift - 1 bytes short of RCV.ADV (the retraction
    /// §2.4 allows); RCV.ADV itself stays, and segments up to it are still
    /// accepted: the buffer has room for them, since RCV.ADV never passed
    /// RCV.NXT plus the free space, and neither moves back.
    pub(super) fn advertise(&mut self) -> u16 {
        let free = self.rx.free_u32();
        let cur = if self.rcv_adv.after(self.rcv_nxt) {
            self.rcv_adv.dist(self.rcv_nxt)
        } else {
            0
        };
        let shift = self.rcv_wscale;
        // Nothing was received or read since the last advertisement (the
        // sender's case, `free == cur`): whichever rule below applies, the
        // window is `cur` rounded down to whole units and RCV.ADV stays
        // (the units are at most 0xffff: RCV.ADV never passes RCV.NXT by
        // more than the largest window the field can carry; 0 units take
        // the rules, which may move a RCV.ADV left behind RCV.NXT).
        // Tests compare it with the rules below (`no_fast_path`).
        #[cfg(test)]
        if self.no_fast_path() {
            return self.advertise_update(free, cur);
        }
        let units = cur >> shift;
        if free == cur && units.wrapping_sub(1) < 0xffff {
            return units as u16;
        }
        self.advertise_update(free, cur)
    }

    /// [`advertise`](Self::advertise) again, for the next segment of a
    /// burst (`send_fast`): the last call took the unchanged-window answer
    /// (its update rules end the burst), and RCV.NXT, RCV.ADV and the
    /// receive buffer have not moved since, so the answer is the same:
    /// RCV.ADV - RCV.NXT (more than 0) in window units.
    #[inline(always)]
    fn advertise_again(&self) -> u16 {
        debug_assert!(self.rcv_adv.after(self.rcv_nxt));
        debug_assert_eq!(self.rx.free_u32(), self.rcv_adv.dist(self.rcv_nxt));
        (self.rcv_adv.dist(self.rcv_nxt) >> self.rcv_wscale) as u16
    }

    /// [`advertise`](Self::advertise) when something was received or read
    /// since the last advertisement (out of line: the sender's common case
    /// above changes nothing). It ends a burst of predicted segments
    /// (`send_fast`): the next one asks again.
    #[inline(never)]
    pub(super) fn advertise_update(&mut self, free: u32, cur: u32) -> u16 {
        self.xflags &= !super::urgent::x::BURST;
        let shift = self.rcv_wscale;
        let cap = self.rx.capacity_u32();
        let step = (cap / 2).min(u32::from(self.cfg.mss)).max(1);
        let wnd = if !self.syn_acked() {
            // Our SYN,ACK may still be retransmitted with its unscaled
            // window: advertise no more than it did (SHLD-14).
            cur
        } else if free >= cur.saturating_add(step) || free == cap {
            free
        } else {
            cur
        };
        let max = 0xffffu32 << shift;
        // RFC 7323 §2.4: round down; never offer more than the buffer holds.
        let field = wnd.min(max).min(free) >> shift;
        let edge = self.rcv_nxt.add(field << shift);
        if edge.after(self.rcv_adv) {
            self.rcv_adv = edge;
        }
        field as u16
    }

    /// New data (and maybe FIN) from SND.NXT.
    fn data_segment(&mut self, now: Instant, buf: &mut [u8], len: u32, fin: bool) -> Transmit {
        let off = self.snd_nxt.dist(self.tx_base()) as usize;
        let len = (len as usize).min(buf.len());
        let n = self.tx.read_at(off, &mut buf[..len]);
        // If the buffer truncated the payload, the FIN waits for the next one.
        let fin = fin && n as u32 == self.unsent();
        let seq = self.snd_nxt;
        let mut flags = Flags::ACK;
        if fin {
            flags |= Flags::FIN;
        }
        let retransmission = seq.before(self.snd_max);
        // Linux's PSH rules: what the override timeout forces out (RFC 9293
        // §3.8.6.2.1; corked or `SendMore` data held with nothing in flight)
        // carries PSH, as Linux's tcp_write_wakeup sets it.
        // The override timeout is served by this segment (a FIN alone too).
        let forced = self.probe == Probe::Override;
        if forced {
            self.probe = Probe::None;
        }
        let forced = forced && self.cfg.linux_push();
        if n > 0
            && (self.push(now, off + n == self.tx.len(), !retransmission)
                || forced
                || self.ends_record(seq.add(n as u32)))
        {
            flags |= Flags::PSH;
        }
        self.prr_sent(n as u32);
        // Minshall's SND.SML: the end of the last segment shorter than the
        // MSS, a FIN alone too (as Linux's `tcp_minshall_update` takes any
        // skb shorter than the MSS).
        if !retransmission && (n as u32) < self.seg_room() {
            self.snd_sml = seq.add(n as u32);
        }
        if retransmission {
            self.cold_mut().rare.retransmits += 1;
        } else {
            self.new_data_out(now, seq, n);
        }
        if self.flight() == 0 {
            self.unacked_since = self.stamp(now);
        }
        self.snd_nxt = seq.add(n as u32 + u32::from(fin));
        if self.snd_nxt.after(self.snd_max) {
            self.snd_max = self.snd_nxt;
        }
        if !retransmission {
            self.cwnd_used(seq);
        }
        self.set_force_send(false);
        if !retransmission && self.tlp_eligible() {
            // RFC 8985 §7.2: (re)start the loss-probe timer after new data.
            self.arm_rtx_timer(now, true);
        } else if self.timer(Timer::Retransmit).is_none() {
            self.set_timer(Timer::Retransmit, now + self.rto_duration());
        }
        // RFC 3168 §6.1.2: CWR on the first new data after a reduction.
        if self.ecn_on() && !retransmission && n > 0 && self.cwr_pending() {
            flags |= Flags::CWR;
            self.set_cwr_pending(false);
        }
        let mut t = self.segment(now, seq, flags, n);
        // RFC 3168 §6.1.5: retransmissions are not ECT.
        t.ect = self.ecn_on() && !retransmission && n > 0;
        t
    }

    /// What a first transmission of `n` bytes at `seq` (maybe none, with a
    /// FIN) changes, before SND.NXT moves.
    #[inline(always)]
    fn new_data_out(&mut self, now: Instant, seq: SeqNum, n: usize) {
        if n > 0
            && self
                .last_data_in
                .elapsed(now)
                .is_some_and(|us| us < self.cfg.delayed_ack_us())
        {
            // A reply within the delayed-ACK time: interactive traffic.
            self.set_pingpong(true);
        }
        self.restart_after_idle(now);
        self.last_send = self.stamp(now);
        // RACK dates first transmissions (RFC 8985 §6.1).
        self.sent_log.record(seq, now);
        if self.rtt_sample.is_none() {
            // RFC 6298 (Karn, MUST-18): time one new segment at a time (a
            // FIN alone too: its ACK dates it as well as data's would, and
            // Linux takes an RTT from a FIN-only skb as from any other).
            self.rtt_sample = super::timers::RttSample::new(seq, self.stamp(now));
        }
    }

    /// A loss probe: the last segment sent, again (RFC 8985 §7.3).
    fn retransmit_last(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let flight = self.flight();
        if flight == 0 {
            return None;
        }
        let fin_out = self.fin_queued() && self.snd_max == self.fin_seq().add(1);
        let data_out = flight - u32::from(fin_out);
        let len = (data_out.min(self.seg_room()) as usize).min(buf.len());
        // Not across a record's end (`records.rs`).
        let len = self.record_start_before(self.snd_una.add(data_out), len as u32) as usize;
        let off = (data_out as usize - len).min(self.tx.len());
        let n = self.tx.read_at(off, &mut buf[..len]);
        let seq = self.snd_una.add(off as u32);
        self.cold_mut().rare.retransmits += 1;
        self.rtt_sample = super::timers::RttSample::NONE;
        let mut flags = Flags::ACK;
        if fin_out {
            flags |= Flags::FIN;
        }
        // RFC 9293 §3.9.1: the probe is the segment that ended the pushed
        // data, PSH included (as `data_segment` resends it; Linux's
        // tcp_send_loss_probe resends the skb with its flags).
        if n > 0
            && ((off + n == self.tx.len() && !self.more()) || self.ends_record(seq.add(n as u32)))
        {
            flags |= Flags::PSH;
        }
        Some(self.segment(now, seq, flags, n))
    }

    /// Fast retransmit: the first unacknowledged segment (RFC 5681 §3.2).
    fn retransmit_first(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if self.flight() == 0 {
            return None;
        }
        let in_buf = (self.tx.len() as u32).min(self.flight());
        let room = self.seg_room().min(self.record_room(self.snd_una));
        let len = (in_buf.min(room) as usize).min(buf.len());
        let n = self.tx.read_at(0, &mut buf[..len]);
        let fin = self.fin_queued()
            && n as u32 == self.tx.len() as u32
            && self.snd_max == self.fin_seq().add(1);
        // `data_transmit` runs with room in `buf`, so `len` is 0 only when
        // the send buffer is empty: the flight is the FIN alone.
        debug_assert!(n > 0 || fin, "an empty fast retransmission");
        self.cold_mut().rare.retransmits += 1;
        self.prr_sent(n as u32);
        self.rtt_sample = super::timers::RttSample::NONE;
        if self.high_rxt.before(self.snd_una.add(n as u32)) {
            self.high_rxt = self.snd_una.add(n as u32);
        }
        let mut flags = Flags::ACK;
        if fin {
            flags |= Flags::FIN;
        }
        if n > 0 && self.ends_record(self.snd_una.add(n as u32)) {
            flags |= Flags::PSH;
        }
        Some(self.segment(now, self.snd_una, flags, n))
    }
}
