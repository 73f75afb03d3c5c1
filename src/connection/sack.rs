//! SACK (RFC 2018, RFC 2883 D-SACK) and SACK-based loss recovery
//! (RFC 6675), with a scoreboard of fixed size.
//!
//! The scoreboard is an [`Assembler`](crate::buffer::Assembler) of byte
//! ranges above SND.UNA that the peer has reported; it holds at most eight
//! separate ranges (more are dropped, which only makes recovery resend a
//! little more). Holes below the highest SACKed byte are taken as lost once
//! recovery has started (RFC 6675 §4 IsLost, with the DupThresh test done at
//! entry).

use super::{Connection, Storage, Transmit};
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{Flags, SackBlocks, Segment};

impl<B: Storage> Connection<B> {
    /// Records the peer's SACK blocks that lie in [SND.UNA, SND.MAX]
    /// (RFC 2018 §5; D-SACK and stale blocks are ignored), and returns
    /// the lowest newly SACKed byte that was never retransmitted (for the
    /// reordering degree: Linux's `tcp_sacktag_one` takes the lowest
    /// such segment as `state->reord`).
    ///
    /// The test is on offsets from SND.UNA, not on serial-number
    /// comparisons of the edges: those are not transitive, and a block
    /// that straddles SND.UNA + 2^31 passes each of them (its left edge
    /// "after" SND.UNA, its right edge "after" the left and "before"
    /// SND.MAX) while covering nothing we sent; taking it made one ACK
    /// release the whole send buffer (RFC 6675 §4's pipe would count a
    /// gigabyte as delivered).
    pub(super) fn take_sack_blocks(&mut self, seg: &Segment<'_>) -> Option<SeqNum> {
        if !self.sack_on() {
            return None;
        }
        let blocks = seg.options.sack.as_slice();
        if blocks.is_empty() {
            return None;
        }
        let flight = self.snd_max.dist(self.snd_una);
        let original = self.rtx_frontier().dist(self.snd_una);
        let mut low: Option<u32> = None;
        // The end of the highest retransmitted bytes this ACK SACKs.
        let rtx_end = if self.in_recovery() && self.high_rxt.after(self.snd_una) {
            self.high_rxt.dist(self.snd_una)
        } else {
            0
        };
        let mut again = 0;
        for &(left, right) in blocks {
            let l = left.0.wrapping_sub(self.snd_una.0);
            let r = right.0.wrapping_sub(self.snd_una.0);
            if l < r && r <= flight {
                let (l, r) = self.whole_segments(l, r, flight);
                if l >= r {
                    continue;
                }
                let (left, right) = (self.snd_una.add(l), self.snd_una.add(r));
                if let Some(o) = self.first_unsacked(l.max(original), r) {
                    low = Some(low.map_or(o, |x| x.min(o)));
                }
                if l < rtx_end && self.first_unsacked(l, r.min(rtx_end)).is_some() {
                    again = again.max(r.min(rtx_end));
                }
                let cap = usize::from(self.cfg.max_sack_ranges.max(1));
                let _ = self
                    .sacked
                    .add_capped(left.dist(self.snd_una), right.dist(left), cap);
            }
        }
        if again > 0 {
            self.lost_retransmissions_below(again);
        }
        low.map(|o| self.snd_una.add(o))
    }

    /// RFC 8985 §6.2 (RACK) for retransmissions: this ACK SACKed bytes
    /// retransmitted in this recovery, up to offset `end`. Holes are
    /// retransmitted in sequence order (RFC 6675 §4 NextSeg), so every
    /// byte below them still missing was retransmitted before them: lost
    /// (in recovery RACK's reordering window is 0 until reordering is
    /// seen, as Linux's `tcp_rack_reo_wnd`, and the time RACK waits,
    /// RACK.rtt since it was sent, has passed since the later one was
    /// sent and delivered). Those holes go again, before any other.
    fn lost_retransmissions_below(&mut self, end: u32) {
        #[cfg(feature = "alloc")]
        if self.first_unsacked(0, end).is_some() && self.sent_log.reordering() <= 3 {
            let (una, end) = (self.snd_una, self.snd_una.add(end));
            let c = self.cold_mut();
            c.rtx_again = (una, end);
            c.rare.lost_retransmits += 1;
        }
        #[cfg(not(feature = "alloc"))]
        let _ = end;
    }

    /// `Cold::rtx_again`, while its end lies in (SND.UNA, SND.MAX] (in
    /// recovery: a stale pair from an earlier one reads as none).
    fn rtx_again(&self) -> Option<(SeqNum, SeqNum)> {
        #[cfg(feature = "alloc")]
        {
            let (from, end) = self.cold().rtx_again;
            (self.in_recovery() && end.after(self.snd_una) && !end.after(self.snd_max))
                .then_some((from, end))
        }
        #[cfg(not(feature = "alloc"))]
        None
    }

    /// The next hole of `rtx_again` to send again, as (offset from
    /// SND.UNA, length).
    fn again_hole(&self) -> Option<(u32, u32)> {
        let (from, end) = self.rtx_again()?;
        let top = end.dist(self.snd_una);
        let mut o = from.max(self.snd_una).dist(self.snd_una);
        while o < top {
            match self.sacked.range_containing(o) {
                Some((_, e)) => o = e,
                None => {
                    let next = self.sacked.next_range_after(o).map_or(top, |(s, _)| s);
                    return Some((o, next.min(top) - o));
                }
            }
        }
        None
    }

    /// `Config::sack_segments`: the part of the block [l, r) (offsets
    /// from SND.UNA, within the flight) that covers whole segments, as
    /// Linux's `tcp_match_skb_to_sack` splits a buffer only at an MSS
    /// boundary and SACKs a piece only when the block covers it whole:
    /// the left edge rounds up to a segment boundary, the right edge down,
    /// unless it is the end of what was sent (the last segment may be
    /// short). Segments are counted in MSS from SND.UNA and from each
    /// record end (`records.rs`: no segment spans one, as no Linux buffer
    /// spans an `eor` mark).
    fn whole_segments(&self, l: u32, r: u32, flight: u32) -> (u32, u32) {
        if !self.cfg.sack_segments() {
            return (l, r);
        }
        let mss = self.eff_mss();
        let (a, next) = self.segment_grid(l);
        let l = (a + (l - a).div_ceil(mss).saturating_mul(mss))
            .min(next)
            .min(flight);
        // (At a record end, r == a, rounding down keeps r; `next`, the
        // first record end above r, is never r.)
        let (a, _) = self.segment_grid(r);
        let r = if r == flight {
            r
        } else {
            a + (r - a) / mss * mss
        };
        (l, r)
    }

    /// For offset `o` from SND.UNA: where the run of segments holding it
    /// starts (SND.UNA or the last record end at or below `o`) and the
    /// next record end above `o` (`u32::MAX` with none), as offsets.
    fn segment_grid(&self, o: u32) -> (u32, u32) {
        let at = self.snd_una.add(o);
        let start = self
            .record_end_at_or_before(at)
            .filter(|m| m.after(self.snd_una))
            .map_or(0, |m| m.dist(self.snd_una));
        let next = self
            .record_end_after(at)
            .map_or(u32::MAX, |m| m.dist(self.snd_una));
        (start, next)
    }

    /// The first offset from SND.UNA in [from, to) that is not SACKed.
    pub(super) fn first_unsacked(&self, from: u32, to: u32) -> Option<u32> {
        let mut o = from;
        while o < to {
            match self.sacked.range_containing(o) {
                Some((_, e)) => o = e,
                None => return Some(o),
            }
        }
        None
    }

    /// Bytes below this may have been retransmitted; above it, each was
    /// sent once. In fast recovery and after it, the holes resent end at
    /// HighRxt; after a timeout, until SND.UNA passes `recover` (SND.MAX
    /// at the timeout), all that was sent before it may have been resent
    /// (go-back-N): nothing there counts as original.
    pub(super) fn rtx_frontier(&self) -> SeqNum {
        let f = self.high_rxt.max(self.snd_una);
        if !self.in_recovery() && self.snd_una.before(self.recover) {
            f.max(self.recover)
        } else {
            f
        }
    }

    /// Linux's `tcp_check_sack_reordering`: `low`, a byte sent once, was
    /// delivered (SACKed, or acknowledged without being SACKed) after
    /// data above it was SACKed: the reordering degree grows to the
    /// distance from `low` to the highest SACKed byte (or SND.UNA when
    /// nothing is SACKed now, as `tcp_highest_sack_seq`), in segments
    /// rounded up, at most `tcp_max_reordering` (300). Only reported
    /// (`TcpInfo::reordering`): RACK does the loss detection, and Linux's
    /// RACK does not read the degree either once reordering was seen.
    pub(super) fn check_sack_reordering(&mut self, low: SeqNum) {
        let fack = self.high_sacked().unwrap_or(self.snd_una);
        if !low.before(fack) {
            return;
        }
        let metric = fack.dist(low);
        let mss = self.eff_mss();
        if metric > u32::from(self.sent_log.reordering()) * mss {
            let segs = metric
                .div_ceil(mss)
                .min(u32::from(super::rack::REORDERING_MAX));
            self.sent_log.set_reordering(segs as u16);
        }
        // Every such event counts (`tp->reord_seen`), grown degree or not,
        // and RACK's reordering window stays open from now on (RFC 8985
        // §6.2 step 3, RACK.reordering_seen).
        self.sent_log.set_reordering_seen();
        #[cfg(feature = "alloc")]
        {
            let c = self.cold_mut();
            c.reord_seen = c.reord_seen.wrapping_add(1);
        }
    }

    /// `Config::cwnd_delivered`, an ACK of SND.UNA that SACKs new data
    /// outside recovery: once reordering beyond DupThresh was seen, data
    /// delivered out of order grows cwnd too, by what the ACK SACKed
    /// (Linux's `tcp_may_raise_cwnd`: FLAG_DATA_SACKED is progress when
    /// tp->reordering exceeds sysctl_tcp_reordering; a recovery this ACK
    /// starts reduces cwnd instead, as `tcp_fastretrans_alert` runs
    /// before `tcp_cong_control`). `held_before`: the SACKed bytes before
    /// the ACK.
    #[cold]
    #[inline(never)]
    pub(super) fn sack_grows_cwnd(&mut self, held_before: u32, now: Instant) {
        if self.cfg.cwnd_delivered() && self.sent_log.reordering() > super::rack::REORDERING_INIT {
            let newly = self.held_by_peer().saturating_sub(held_before);
            self.grow_cwnd(newly, now);
        }
    }

    /// Lost retransmissions (RFC 8985 §6.2, the RACK rule "a segment sent
    /// before one that was delivered is lost", with send order told by
    /// sequence): data first sent after our last hole retransmission has
    /// been SACKed while retransmitted bytes are still missing, so those
    /// retransmissions are lost: resend the holes from SND.UNA again.
    pub(super) fn detect_lost_retransmissions(&mut self) {
        if !(self.sack_on() && self.in_recovery() && self.high_rxt.after(self.snd_una)) {
            return;
        }
        if let Some(high) = self.high_sacked()
            && high.after(self.rtx_mark)
            && self.next_unsacked_below(self.high_rxt)
        {
            self.high_rxt = self.snd_una;
            self.rtx_mark = self.snd_max;
            self.cold_mut().rare.lost_retransmits += 1;
        }
    }

    /// Whether some byte in [SND.UNA, end) is neither acknowledged nor SACKed.
    fn next_unsacked_below(&self, end: SeqNum) -> bool {
        self.first_unsacked(0, end.dist(self.snd_una)).is_some()
    }

    /// RFC 6675 §5 entry test: DupThresh segments' worth of data SACKed
    /// above SND.UNA (`dupthresh`: 3, or the reordering degree seen).
    pub(super) fn sack_loss_detected(&self) -> bool {
        self.sack_on() && self.sacked.covered() >= self.dupthresh() * self.eff_mss()
    }

    /// The sequence number of the highest SACKed byte + 1, if any.
    pub(super) fn high_sacked(&self) -> Option<SeqNum> {
        (!self.sacked.is_empty()).then(|| self.snd_una.add(self.sacked.highest_end()))
    }

    /// Bytes above SND.UNA the peer is known to hold: SACKed, or without
    /// SACK what duplicate ACKs say (`reno_sacked`).
    /// `Config::cwnd_delivered`: what an ACK of `acked` new bytes
    /// delivers (Linux's `acked_sacked`): less the bytes below it the peer
    /// had SACKed, or without SACK had counted with duplicate ACKs (at
    /// least one segment then, `tcp_remove_reno_sacks`). Call before the
    /// scoreboard moves up.
    pub(super) fn delivered_by(&self, acked: u32) -> u32 {
        if !self.cfg.cwnd_delivered() {
            return acked;
        }
        if self.sack_on() {
            acked - self.sacked_below(acked)
        } else {
            let mss = self.eff_mss();
            acked.saturating_sub(self.reno_sacked()).max(mss.min(acked))
        }
    }

    /// SACKed bytes at offsets below `end`.
    fn sacked_below(&self, end: u32) -> u32 {
        let mut n = 0;
        for (s, e) in self.sacked.ranges() {
            if s < end {
                n += e.min(end) - s;
            }
        }
        n
    }

    pub(super) fn held_by_peer(&self) -> u32 {
        if self.sack_on() {
            self.sacked.covered()
        } else {
            self.reno_sacked()
        }
    }

    /// RFC 6675 §4 `pipe`: bytes thought to be in the network.
    pub(super) fn pipe(&self) -> u32 {
        let flight = self.flight();
        if !self.in_recovery() {
            // The CWR state (`Config::linux_cwr`): nothing is deemed lost,
            // what the peer SACKed has left the network.
            if self.in_cwr() && self.sack_on() {
                return flight.saturating_sub(self.sacked.covered());
            }
            return flight;
        }
        if !self.sack_on() {
            // Without SACK, the same count with the duplicate-ACK estimate
            // standing in for SACKed bytes (Linux's packets in flight for
            // Reno): the hole at SND.UNA is lost until retransmitted.
            let left = flight.saturating_sub(self.reno_sacked());
            let lost = if self.high_rxt.after(self.snd_una) {
                0
            } else {
                left.min(self.eff_mss())
            };
            return left - lost;
        }
        let sacked = self.sacked.covered();
        // Lost and not yet retransmitted: the unSACKed bytes between
        // HighRxt and the highest SACKed byte, and the lost
        // retransmissions not yet sent again (`rtx_again`).
        let mut lost = match self.high_sacked() {
            Some(high) => {
                let from = self.high_rxt.max(self.snd_una).dist(self.snd_una);
                self.unsacked_in(from, high.dist(self.snd_una))
            }
            None => 0,
        };
        if let Some((from, end)) = self.rtx_again() {
            let from = from.max(self.snd_una).dist(self.snd_una);
            lost += self.unsacked_in(from, end.dist(self.snd_una));
        }
        flight.saturating_sub(sacked).saturating_sub(lost)
    }

    /// The bytes in [from, to) (offsets from SND.UNA) not SACKed.
    fn unsacked_in(&self, from: u32, to: u32) -> u32 {
        let mut n = to.saturating_sub(from);
        for (s, e) in self.sacked.ranges() {
            let (s, e) = (s.max(from), e.min(to));
            if e > s {
                n -= e - s;
            }
        }
        n
    }

    /// RFC 6675 §4 NextSeg() rule 1: the next lost hole to retransmit, as
    /// (offset from SND.UNA, length).
    fn next_hole(&self) -> Option<(u32, u32)> {
        if let Some(h) = self.again_hole() {
            return Some(h);
        }
        // A hole ends where the next SACKed range starts, so it lies below
        // the highest SACKed byte and is never empty.
        let mut o = self.high_rxt.max(self.snd_una).dist(self.snd_una);
        while let Some((s, e)) = self.sacked.next_range_after(o) {
            if s <= o {
                o = e;
                continue;
            }
            return Some((o, s - o));
        }
        None
    }

    /// The next hole to retransmit, as (offset from SND.UNA, length), if
    /// cwnd allows it now (RFC 6675 §5 step 4) and its bytes are queued.
    fn sendable_hole(&self) -> Option<(u32, u32)> {
        if !(self.sack_on() && self.in_recovery()) {
            return None;
        }
        let (off, hole) = self.next_hole()?;
        let mss = self.eff_mss();
        let pipe = self.pipe();
        // (With nothing in the network one segment always may go: cwnd is
        // taken as at least one MSS.)
        if pipe.saturating_add(hole.min(mss)) > self.cwnd.max(mss) {
            return None;
        }
        ((self.tx.len() as u32) > off).then_some((off, hole))
    }

    /// Whether [`sack_retransmit`](Self::sack_retransmit) would send now:
    /// an ACK in recovery that opens cwnd (PRR) lets a hole go out even
    /// when no new data is queued.
    pub(super) fn sack_rtx_ready(&self) -> bool {
        self.sendable_hole().is_some()
    }

    /// A retransmission of the next hole, if cwnd allows (RFC 6675 §5 step 4).
    pub(super) fn sack_retransmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let (off, hole) = self.sendable_hole()?;
        // A lost retransmission sent again (`rtx_again`), or the next hole.
        let again = self.again_hole().is_some_and(|(o, _)| o == off);
        let in_buf = (self.tx.len() as u32).saturating_sub(off);
        let seq = self.snd_una.add(off);
        // Not across a record's end (`records.rs`).
        let room = self.seg_room().min(self.record_room(seq));
        let len = (hole.min(room).min(in_buf) as usize).min(buf.len());
        if len == 0 {
            return None;
        }
        let n = self.tx.read_at(off as usize, &mut buf[..len]);
        self.prr_sent(n as u32);
        let end = seq.add(n as u32);
        if again {
            // A lost retransmission, again: HighRxt stays.
            #[cfg(feature = "alloc")]
            {
                self.cold_mut().rtx_again.0 = end;
            }
        } else {
            self.high_rxt = end;
        }
        self.rtx_mark = self.snd_max;
        self.cold_mut().rare.retransmits += 1;
        self.rtt_sample = super::timers::RttSample::NONE;
        let mut flags = Flags::ACK;
        if self.ends_record(seq.add(n as u32)) {
            flags |= Flags::PSH;
        }
        Some(self.segment(now, seq, flags, n))
    }

    /// When going back to SND.UNA after a timeout, skips what the peer has
    /// SACKed; returns the most bytes that may be sent from SND.NXT before
    /// the next SACKed range.
    pub(super) fn skip_sacked(&mut self) -> u32 {
        if !self.sack_on() || self.sacked.is_empty() || !self.snd_nxt.before(self.snd_max) {
            return u32::MAX;
        }
        let o = self.snd_nxt.dist(self.snd_una);
        if let Some((_, e)) = self.sacked.range_containing(o) {
            self.snd_nxt = self.snd_una.add(e).min(self.snd_max);
        }
        let o = self.snd_nxt.dist(self.snd_una);
        match self.sacked.next_range_after(o) {
            Some((s, _)) if s > o => s - o,
            _ => u32::MAX,
        }
    }

    /// The payload a data segment may carry now: the effective MSS less the
    /// SACK blocks it will carry (RFC 9293 §3.7.1, MUST-16: the effective
    /// send MSS is reduced by the TCP options sent; Linux's
    /// `tcp_current_mss`). Without it, a full-sized segment with SACK
    /// blocks would exceed the path MTU.
    pub(super) fn seg_room(&self) -> u32 {
        let mss = self.eff_mss();
        if !self.sack_on() || (self.asm.is_empty() && self.dsack().is_none()) {
            return mss;
        }
        let max = if self.ts_on() { 3 } else { 4 };
        let n = (usize::from(self.has_dsack()) + self.asm.ranges().count()).min(max);
        // NOP, NOP, kind, length and 8 bytes a block (RFC 2018 §3).
        mss.saturating_sub(4 + 8 * n as u32).max(1)
    }

    /// The SACK blocks for our next ACK (RFC 2018 §4: the block holding
    /// the most recent segment first; RFC 2883: a D-SACK block before all).
    pub(super) fn sack_blocks(&mut self) -> SackBlocks {
        let mut s = SackBlocks::new();
        let max = if self.ts_on() { 3 } else { 4 };
        if let Some((l, r)) = self.take_dsack() {
            s.push(l, r);
        }
        let recent = SeqNum(self.asm.mark()).dist(self.rcv_nxt);
        let first = self.asm.range_containing(recent);
        if let Some((a, b)) = first {
            s.push(self.rcv_nxt.add(a), self.rcv_nxt.add(b));
        }
        for (a, b) in self.asm.ranges() {
            if s.len() >= max {
                break;
            }
            if Some((a, b)) != first {
                s.push(self.rcv_nxt.add(a), self.rcv_nxt.add(b));
            }
        }
        s.truncate(max);
        s
    }
}
