//! RACK time-based loss detection (RFC 8985 §6), with bounded memory.
//!
//! RACK marks a segment lost when a segment sent *later* has been
//! delivered and more than an RTT plus a reordering window has passed since
//! the lost one was sent. That needs each segment's transmit time; instead
//! of a record per segment, [`SendLog`] keeps up to eight checkpoints
//! `(first sequence number, time)` of first transmissions. Data between two
//! checkpoints was sent between their times, which bounds every segment's
//! send time from both sides: the lower bound dates what was delivered (so
//! RACK's clock never runs ahead) and the upper bound dates what is missing
//! (so nothing is declared lost too early). When the log is full, the two
//! checkpoints closest in time merge, which only widens the bounds.
//! Retransmitted bytes are not dated by the log (RFC 8985 §6.2 step 2: an
//! ACK of a retransmission is ambiguous); lost retransmissions are found by
//! the send-order rule in `sack.rs`.

use super::{Actions, Connection, Storage, Timer};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant, PackedInstant};

const SLOTS: usize = 8;

/// First-transmission checkpoints, in increasing sequence and time order.
///
/// Times are kept as microseconds after `base`, the time of the first
/// checkpoint, in 32 bits (76 bytes instead of 136). A checkpoint more than
/// about 71 minutes after the first is not recorded: its data is dated from
/// the checkpoint before it, which only widens the bounds, as a merge does.
///
/// RACK.xmit_ts (RFC 8985 §6.1, the send time of the most recently sent
/// delivered byte) is kept here too, as signed microseconds from `base`
/// (4 bytes of TCB instead of 8): it moves with `base`, and one that
/// falls more than about 35 minutes behind it is taken as older still,
/// which only makes RACK wait longer.
///
/// The first checkpoint is `base` itself, and its sequence number is not
/// kept: after each trim it lies at or below SND.UNA, and the log is only
/// asked about bytes at or above SND.UNA, so the first range is taken to
/// reach down without bound. With `alloc` the other seven checkpoints (56
/// bytes) are on the heap, and only while a flight spans more than one
/// send time: a flight sent at one instant (a request, a response) takes
/// no box, and the box goes when everything sent is acknowledged, so an
/// idle connection holds 24 bytes of log in its TCB and nothing on the
/// heap (issue 17, W3).
#[derive(Clone)]
pub(super) struct SendLog {
    /// Bits 0-6: the number of checkpoints. Bit 7 (`MERGED_BIT`): a merge
    /// dated some data from an earlier checkpoint (`push`, or `record`
    /// long after the base): each checkpoint's data then went out between
    /// its time and the next one's. Without one (the usual case: fewer
    /// send times in flight than slots) each went out exactly at its
    /// checkpoint's time, and RACK can tell a hole sent in the same burst
    /// as a delivered segment from one sent after it.
    n: u8,
    base: PackedInstant,
    at: AtSlot,
    /// RACK.xmit_ts - base in µs; `NO_XMIT` before any delivery.
    xmit: i32,
    /// Bits 0-6: RACK.reo_wnd_mult (RFC 8985 §6.2.4), the reordering
    /// window in quarters of the minimum RTT, 1 until D-SACKs show
    /// spurious retransmissions (at most 127: the window is capped at
    /// SRTT long before). Bit 7: RACK.reordering_seen (RFC 8985 §6.2
    /// step 3, Linux's `tp->reord_seen != 0`), for the life of the
    /// connection.
    reo_mult: u8,
    /// Three small values in one word (the TCB has no byte to spare:
    /// `size_of::<Connection<Vec<u8>>>()` is pinned (`mod.rs`) and the flag
    /// words are full), read and written through the methods below:
    /// - bits 0-4: RACK.reo_wnd_persist (RFC 8985 §6.2.4), recoveries
    ///   left before `reo_mult` returns to 1 (at most 16);
    /// - bit 5: TLP.is_retrans (RFC 8985 §7.4), the loss probe out was a
    ///   retransmission;
    /// - bits 6-14: the reordering degree in segments (Linux's
    ///   `tp->reordering`: 3 at first, `tcp_reordering`; at most 300,
    ///   `tcp_max_reordering`, which 9 bits hold);
    /// - bit 15: a passive Fast Open connection took data from the SYN
    ///   (Linux's `syn_data_acked` on the server, `TCPI_OPT_SYN_DATA`):
    ///   not RACK's, but the TCB's only spare bit.
    small: u16,
}

/// The checkpoints after the first: `(first sequence number, µs after
/// base)`; checkpoint `i >= 1` is element `i - 1`.
type At = [(SeqNum, u32); SLOTS - 1];
#[cfg(feature = "alloc")]
type AtSlot = Option<alloc::boxed::Box<At>>;
#[cfg(not(feature = "alloc"))]
type AtSlot = At;
/// What an absent box reads as.
#[cfg(feature = "alloc")]
static NO_AT: At = [(SeqNum(0), 0); SLOTS - 1];

/// `SendLog::small`'s fields.
const PERSIST_MASK: u16 = 0x1f;
const TLP_RETRANS_BIT: u16 = 1 << 5;
const REORDERING_SHIFT: u32 = 6;
const REORDERING_MASK: u16 = 0x1ff << REORDERING_SHIFT;
const SYN_DATA_BIT: u16 = 1 << 15;

/// Linux's `tcp_reordering` sysctl: the reordering degree a connection
/// starts with (segments).
pub(super) const REORDERING_INIT: u16 = 3;
/// Linux's `tcp_max_reordering` sysctl: the most the degree grows to.
pub(super) const REORDERING_MAX: u16 = 300;

/// RACK.reo_wnd_persist after a D-SACK: 16 recoveries (RFC 8985 §6.2.4).
const REO_PERSIST: u8 = 16;
/// `SendLog::n`'s merge flag.
const MERGED_BIT: u8 = 0x80;
/// `SendLog::reo_mult`'s fields.
const REO_SEEN_BIT: u8 = 0x80;
const REO_MULT_MASK: u8 = 0x7f;

/// The checkpoints only: RACK.xmit_ts is RACK's state, not the log's (the
/// fast-path differential tests compare the log; header prediction leaves
/// RACK.xmit_ts to the next ACK that takes the full path).
impl core::fmt::Debug for SendLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SendLog")
            .field("n", &self.len())
            .field("merged", &(self.n & MERGED_BIT != 0))
            .field("base", &self.base)
            .field("at", &&self.at()[..self.len().saturating_sub(1)])
            .finish_non_exhaustive()
    }
}

/// `SendLog::xmit` before anything was delivered (RACK.xmit_ts unset).
const NO_XMIT: i32 = i32::MIN;

impl SendLog {
    pub(super) const fn new() -> Self {
        SendLog {
            n: 0,
            base: PackedInstant::new(Instant::ZERO),
            #[cfg(feature = "alloc")]
            at: None,
            #[cfg(not(feature = "alloc"))]
            at: [(SeqNum(0), 0); SLOTS - 1],
            xmit: NO_XMIT,
            reo_mult: 1,
            small: REORDERING_INIT << REORDERING_SHIFT,
        }
    }

    fn reo_persist(&self) -> u8 {
        (self.small & PERSIST_MASK) as u8
    }

    fn set_reo_persist(&mut self, v: u8) {
        self.small = (self.small & !PERSIST_MASK) | (u16::from(v) & PERSIST_MASK);
    }

    /// The reordering degree, segments (Linux's `tp->reordering`).
    pub(super) fn reordering(&self) -> u16 {
        (self.small & REORDERING_MASK) >> REORDERING_SHIFT
    }

    /// Sets the reordering degree (at most `REORDERING_MAX`).
    pub(super) fn set_reordering(&mut self, v: u16) {
        let v = v.min(REORDERING_MAX);
        self.small = (self.small & !REORDERING_MASK) | (v << REORDERING_SHIFT);
    }

    /// A passive Fast Open connection took data from the SYN.
    pub(super) fn syn_data(&self) -> bool {
        self.small & SYN_DATA_BIT != 0
    }

    pub(super) fn set_syn_data(&mut self) {
        self.small |= SYN_DATA_BIT;
    }

    /// A round trip saw a D-SACK: the reordering window grows by a
    /// quarter of the minimum RTT and stays for 16 recoveries (RFC 8985
    /// §6.2.4 RACK.reo_wnd_mult, RACK.reo_wnd_persist).
    pub(super) fn reo_grow(&mut self) {
        let m = (self.reo_mult & REO_MULT_MASK)
            .saturating_add(1)
            .min(REO_MULT_MASK);
        self.reo_mult = (self.reo_mult & REO_SEEN_BIT) | m;
        self.set_reo_persist(REO_PERSIST);
    }

    /// RACK.reordering_seen (RFC 8985 §6.2 step 3): a segment sent once
    /// was delivered below one delivered before it.
    pub(super) fn reordering_seen(&self) -> bool {
        self.reo_mult & REO_SEEN_BIT != 0
    }

    pub(super) fn set_reordering_seen(&mut self) {
        self.reo_mult |= REO_SEEN_BIT;
    }

    /// A loss recovery ended: after 16 without a D-SACK the reordering
    /// window is back to a quarter of the minimum RTT.
    pub(super) fn reo_recovery_ended(&mut self) {
        let left = self.reo_persist().saturating_sub(1);
        self.set_reo_persist(left);
        if left == 0 {
            self.reo_mult = (self.reo_mult & REO_SEEN_BIT) | 1;
        }
    }

    /// RACK.reo_wnd_mult.
    /// TLP.is_retrans (RFC 8985 §7.4).
    pub(super) fn tlp_retrans(&self) -> bool {
        self.small & TLP_RETRANS_BIT != 0
    }
    pub(super) fn set_tlp_retrans(&mut self, on: bool) {
        if on {
            self.small |= TLP_RETRANS_BIT;
        } else {
            self.small &= !TLP_RETRANS_BIT;
        }
    }

    pub(super) fn reo_mult(&self) -> u8 {
        (self.reo_mult & REO_MULT_MASK).max(1)
    }

    /// Forgets every checkpoint (freeing their box); RACK.xmit_ts stays
    /// (the next `record` moves the base and keeps it).
    pub(super) fn clear(&mut self) {
        self.n = 0;
        #[cfg(feature = "alloc")]
        {
            self.at = None;
        }
    }

    /// The checkpoints, to read.
    #[inline]
    fn at(&self) -> &At {
        #[cfg(feature = "alloc")]
        return self.at.as_deref().unwrap_or(&NO_AT);
        #[cfg(not(feature = "alloc"))]
        return &self.at;
    }

    /// The checkpoints, to write (on the heap from the first).
    #[inline]
    fn at_mut(&mut self) -> &mut At {
        #[cfg(feature = "alloc")]
        return self
            .at
            .get_or_insert_with(|| alloc::boxed::Box::new([(SeqNum(0), 0); SLOTS - 1]));
        #[cfg(not(feature = "alloc"))]
        return &mut self.at;
    }

    /// The bytes of the checkpoints' box.
    #[cfg(feature = "alloc")]
    pub(super) const HEAP_BYTES: usize = core::mem::size_of::<At>();

    /// The bytes of the checkpoints' box, if there is one.
    #[cfg(feature = "alloc")]
    pub(super) fn heap_bytes(&self) -> usize {
        self.at.as_ref().map_or(0, |_| Self::HEAP_BYTES)
    }

    /// Forgets every checkpoint, RACK.xmit_ts and the reordering window's
    /// growth (a new connection).
    pub(super) fn reset(&mut self) {
        *self = SendLog::new();
    }

    /// RACK.xmit_ts, once something was delivered.
    #[inline]
    pub(super) fn xmit_ts(&self) -> Option<Instant> {
        (self.xmit != NO_XMIT).then(|| {
            let base = self.base.get().as_micros() as i64;
            Instant::from_micros((base + i64::from(self.xmit)).max(0) as u64)
        })
    }

    /// Sets RACK.xmit_ts (kept within about 35 minutes of `base`).
    #[inline]
    pub(super) fn set_xmit_ts(&mut self, t: Instant) {
        let d = t.as_micros() as i64 - self.base.get().as_micros() as i64;
        self.xmit = d.clamp(i64::from(NO_XMIT) + 1, i64::from(i32::MAX)) as i32;
    }

    /// Moves `base` to `to` (µs later or earlier), keeping RACK.xmit_ts.
    fn rebase(&mut self, to: Instant) {
        let x = self.xmit_ts();
        self.base = PackedInstant::new(to);
        if let Some(t) = x {
            self.set_xmit_ts(t);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.n & !MERGED_BIT).min(SLOTS)
    }

    /// The time of checkpoint `i`, in µs after `base` (0 for the first).
    #[inline]
    fn off(&self, i: usize) -> u32 {
        if i == 0 { 0 } else { self.at()[i - 1].1 }
    }

    /// The time of checkpoint `i`.
    fn time(&self, i: usize) -> Instant {
        Instant::from_micros(
            self.base
                .get()
                .as_micros()
                .saturating_add(u64::from(self.off(i))),
        )
    }

    /// The checkpoint whose range holds `seq`: the last one that starts at
    /// or below it, else the first (which reaches down without bound);
    /// `None` with no checkpoint.
    fn find(&self, seq: SeqNum) -> Option<usize> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let later = self.at()[..n - 1]
            .iter()
            .rposition(|c| c.0.before_eq(seq))
            .map_or(0, |k| k + 1);
        Some(later)
    }

    /// New data starting at `seq` goes out at `now`.
    #[inline]
    pub(super) fn record(&mut self, seq: SeqNum, now: Instant) {
        // `len()` without its clamp: `push` merges at SLOTS checkpoints, so
        // there are never more (one compare less a segment).
        let n = usize::from(self.n & !MERGED_BIT);
        debug_assert!(n <= SLOTS);
        if n == 0 {
            // The first checkpoint: the base, no box.
            self.rebase(now);
            self.n = 1;
            return;
        }
        let since = now.as_micros().checked_sub(self.base.get().as_micros());
        // Data sent at the time of the newest checkpoint is dated by it
        // (the common case of a burst): nothing to record. (Tested first:
        // that time is in range.)
        if since == Some(u64::from(self.off(n - 1))) {
            return;
        }
        let Some(off) = since.and_then(|d| u32::try_from(d).ok()) else {
            // Too long after the first checkpoint to be kept: the data is
            // dated from the last checkpoint (wider bounds, never wrong ones).
            self.n |= MERGED_BIT;
            return;
        };
        self.push(seq, off);
    }

    /// `record` of a new checkpoint (there is one at least).
    #[inline(never)]
    fn push(&mut self, seq: SeqNum, off: u32) {
        let n = self.len();
        if n == SLOTS {
            self.n |= MERGED_BIT;
        }
        let at = self.at_mut();
        if n == SLOTS {
            // Merge the pair closest in time: drop the later checkpoint of
            // it, so that its data is dated from the earlier one (wider
            // bounds, never wrong ones). Checkpoint i >= 1 is at[i - 1];
            // pairs (i, i + 1) for i in 1..n - 1, as ever.
            let gap = |i: usize| at[i].1 - at[i - 1].1;
            let mut best = 1;
            for i in 1..n - 1 {
                if gap(i) < gap(best) {
                    best = i;
                }
            }
            // Checkpoint best + 1 (at[best]) goes.
            at.copy_within(best + 1..n - 1, best);
            at[n - 2] = (seq, off);
        } else {
            at[n - 1] = (seq, off);
            self.n += 1;
        }
    }

    /// Forgets checkpoints wholly below SND.UNA; all of them (and their
    /// box) once SND.UNA reaches SND.MAX, nothing being in flight.
    pub(super) fn trim(&mut self, una: SeqNum, snd_max: SeqNum) {
        if una == snd_max {
            if self.len() > 0 {
                self.clear();
            }
            return;
        }
        let n = self.len();
        let mut drop = 0;
        while drop + 1 < n && self.at()[drop].0.before_eq(una) {
            drop += 1;
        }
        if drop > 0 {
            // Checkpoint `drop` becomes the first, and the base; its
            // sequence number goes (it is at or below SND.UNA).
            let shift = self.off(drop);
            self.rebase(self.time(drop));
            let at = self.at_mut();
            for c in &mut at[drop..n - 1] {
                c.1 -= shift;
            }
            at.copy_within(drop..n - 1, 0);
            self.n -= drop as u8;
        }
    }

    /// The earliest time the byte at `seq` can have been sent.
    fn lower(&self, seq: SeqNum) -> Option<Instant> {
        Some(self.time(self.find(seq)?))
    }

    /// The first sequence number whose send time may be later than
    /// `limit`: every byte below it was sent at or before `limit`.
    /// `last_send` dates the newest data, `snd_max` ends it; SND.UNA
    /// stands for the first checkpoint's start.
    fn sent_by(
        &self,
        limit: Instant,
        last_send: Instant,
        snd_una: SeqNum,
        snd_max: SeqNum,
    ) -> Option<SeqNum> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        // Checkpoint i holds [start(i), start(i + 1)), sent before the
        // time of i + 1.
        for i in 0..n {
            if self.upper(i, last_send) > limit {
                return Some(if i == 0 { snd_una } else { self.at()[i - 1].0 });
            }
        }
        Some(snd_max)
    }
}

impl<B: Storage> Connection<B> {
    /// RACK.reo_wnd (RFC 8985 §6.2.4): RACK.reo_wnd_mult quarters of the
    /// minimum RTT, at most SRTT, in µs; zero while no reordering has been
    /// seen, in a recovery (fast, or after a timeout until SND.UNA passes
    /// `recover`) or with DupThresh segments SACKed (Linux's
    /// `tcp_rack_reo_wnd`: the DupThresh rule kept for a path that has not
    /// shown reordering).
    pub(super) fn rack_reo_wnd(&self) -> u64 {
        if !self.sent_log.reordering_seen()
            && (self.in_recovery()
                || self.snd_una.before(self.recover)
                || self.sack_loss_detected())
        {
            return 0;
        }
        let min = if self.min_rtt == u32::MAX {
            self.srtt
        } else {
            self.min_rtt
        };
        let w = u64::from(min / 4) * u64::from(self.sent_log.reo_mult());
        // The cap leaves at least a quarter of the minimum RTT: SRTT is
        // never below the minimum RTT (RFC 6298 §2.3's average of samples
        // that each are at least the minimum, rounded down term by term,
        // cannot fall below it; both are reset together).
        debug_assert!(self.srtt >= min);
        w.min(u64::from(self.srtt))
    }

    /// DupThresh in segments: three duplicate ACKs (RFC 5681 §3.2) or
    /// three segments SACKed (RFC 6675 §5), raised to the reordering
    /// degree once the path has shown reordering that deep (RFC 4653's
    /// idea, Linux's `tp->reordering` in `tcp_time_to_recover` and
    /// `tcp_rack_reo_wnd`). RACK's timer still finds a loss sooner when
    /// it can (RFC 8985 §6.2.4's window applies then); the degree only
    /// keeps a path that reorders N segments from starting a recovery at
    /// every such event.
    pub(super) fn dupthresh(&self) -> u32 {
        u32::from(self.sent_log.reordering()).max(u32::from(REORDERING_INIT))
    }

    /// The peer reported a D-SACK (RFC 2883: a duplicate arrived, so a
    /// retransmission was spurious, often because of reordering): RACK's
    /// reordering window grows, at most once per round trip (RFC 8985
    /// §6.2.4 RACK.dsack_round: SND.NXT when it last grew; the round is
    /// over once SND.UNA reaches it).
    pub(super) fn rack_on_dsack(&mut self) {
        // No uncommon-state box yet: no round was ever started (the box
        // would read as SND.MAX 0, a round open whenever sequence number 0
        // lies in flight).
        #[cfg(feature = "alloc")]
        let round = self.cold.as_deref().map(|c| c.dsack_round);
        #[cfg(not(feature = "alloc"))]
        let round = Some(self.cold.dsack_round);
        let round_open = round.is_some_and(|r| r.after(self.snd_una) && r.before_eq(self.snd_max));
        if !round_open {
            self.cold_mut().dsack_round = self.snd_max;
            self.sent_log.reo_grow();
        }
    }

    /// After an ACK was processed (RFC 8985 §6.2 steps 1-5): `delivered`
    /// is the end of the highest sequence range this ACK newly delivered
    /// (cumulatively or by SACK), if any.
    pub(super) fn rack_on_ack(&mut self, now: Instant, delivered: Option<SeqNum>, a: &mut Actions) {
        if !self.sack_on() {
            // RACK runs with SACK only; the log is trimmed all the same, as
            // header prediction does, so that both paths keep it alike.
            self.sent_log.trim(self.snd_una, self.snd_max);
            return;
        }
        if let Some(end) = delivered {
            let last = end.sub(1);
            // Step 2: skip bytes that were retransmitted (ambiguous).
            let retransmitted = last.before(self.high_rxt);
            if !retransmitted
                && let Some(t) = self.sent_log.lower(last)
                && self.sent_log.xmit_ts().is_none_or(|x| t > x)
            {
                self.sent_log.set_xmit_ts(t);
            }
        }
        self.sent_log.trim(self.snd_una, self.snd_max);
        self.rack_detect(now, a);
    }

    /// Step 5: marks lost what was sent an RTT plus the reordering window
    /// before something delivered; arms the reordering timer for what may
    /// soon be.
    pub(super) fn rack_detect(&mut self, now: Instant, _a: &mut Actions) {
        self.clear_timer(Timer::Rack);
        let Some(rack_xmit) = self.sent_log.xmit_ts() else {
            return;
        };
        if self.srtt == 0 || self.sacked.is_empty() {
            return;
        }
        // RACK.rtt (RFC 8985 §6.2 step 2): the RTT of the newest delivered
        // segment, as of the last ACK (which delivered it, or later ones).
        let rack_rtt = self
            .when(self.last_rcv)
            .as_micros()
            .saturating_sub(rack_xmit.as_micros());
        let rack_rtt = if rack_rtt == 0 {
            u64::from(self.srtt)
        } else {
            rack_rtt
        };
        let wait = Duration::from_micros(rack_rtt + self.rack_reo_wnd());
        let timed_out =
            Instant::from_micros(now.as_micros().saturating_sub(wait.as_micros() as u64));
        let limit = rack_xmit.min(timed_out);
        let Some(lost_to) =
            self.sent_log
                .sent_by(limit, self.last_send_at(), self.snd_una, self.snd_max)
        else {
            return;
        };
        // Only what lies below something delivered can have been sent
        // before it (RFC 8985 §6.2: or at the same time with a lower end).
        let Some(high) = self.high_sacked() else {
            return;
        };
        let lost_to = lost_to.min(high);
        let from = self.high_rxt.max(self.snd_una);
        if self.unsacked_between(from, lost_to) {
            self.cold_mut().rare.rack_losses += 1;
            if !self.in_recovery() && self.snd_una.after_eq(self.recover) {
                self.enter_recovery(now);
            }
            return;
        }
        // Sent before the delivered segment but not yet long enough ago:
        // check again when it would be (RFC 8985 §6.3 reordering timer).
        if let Some(maybe_to) =
            self.sent_log
                .sent_by(rack_xmit, self.last_send_at(), self.snd_una, self.snd_max)
            && self.unsacked_between(lost_to.max(from), maybe_to.min(high))
            && let Some(sent) = self
                .sent_log
                .upper_for(lost_to.max(from), self.last_send_at())
        {
            self.set_timer(Timer::Rack, sent + wait);
        }
    }

    /// Whether some byte in [from, to) is neither acknowledged nor SACKed.
    fn unsacked_between(&self, from: SeqNum, to: SeqNum) -> bool {
        if !to.after(from) || !from.after_eq(self.snd_una) {
            return false;
        }
        let (f, t) = (from.dist(self.snd_una), to.dist(self.snd_una));
        let mut o = f;
        while o < t {
            match self.sacked.range_containing(o) {
                Some((_, e)) => o = e,
                None => return true,
            }
        }
        false
    }

    /// The RACK reordering timer fired.
    pub(super) fn on_rack_timer(&mut self, now: Instant, a: &mut Actions) {
        self.rack_detect(now, a);
    }
}

impl SendLog {
    /// The latest time the byte at `seq` can have been sent.
    pub(super) fn upper_for(&self, seq: SeqNum, last_send: Instant) -> Option<Instant> {
        Some(self.upper(self.find(seq)?, last_send))
    }

    /// The latest time checkpoint `i`'s data can have been sent: its own
    /// time until a merge, then the next checkpoint's (`last_send` for the
    /// newest).
    fn upper(&self, i: usize, last_send: Instant) -> Instant {
        if self.n & MERGED_BIT == 0 {
            self.time(i)
        } else if i + 1 < self.len() {
            self.time(i + 1)
        } else {
            last_send
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_survive_merging() {
        let mut l = SendLog::new();
        for k in 0..20u32 {
            l.record(
                SeqNum(k * 1000),
                Instant::from_millis(u64::from(k) * 10 + u64::from(k % 3)),
            );
        }
        assert_eq!(l.len(), SLOTS);
        // Every byte's true send time lies within [lower, upper].
        for k in 0..20u32 {
            let t = Instant::from_millis(u64::from(k) * 10 + u64::from(k % 3));
            let seq = SeqNum(k * 1000 + 500);
            assert!(l.lower(seq).unwrap() <= t, "lower bound for {k}");
            assert!(
                l.upper_for(seq, Instant::from_secs(1)).unwrap() >= t,
                "upper bound for {k}"
            );
        }
        l.trim(SeqNum(15_500), SeqNum(20_000));
        // The second checkpoint (the first kept with its sequence number)
        // starts above SND.UNA, or it would have gone.
        assert!(l.len() == 1 || l.at()[0].0.after(SeqNum(15_500)));
        assert!(l.lower(SeqNum(15_500)).is_some());
        let b = l.sent_by(
            Instant::from_millis(5),
            Instant::from_secs(1),
            SeqNum(15_500),
            SeqNum(20_000),
        );
        assert!(b.unwrap().before_eq(SeqNum(16_000)));
        #[cfg(feature = "alloc")]
        assert_eq!(core::mem::size_of::<SendLog>(), 24);
        #[cfg(not(feature = "alloc"))]
        assert_eq!(core::mem::size_of::<SendLog>(), 80);
        // Everything acknowledged: no checkpoint left, none on the heap;
        // RACK.xmit_ts stays.
        l.set_xmit_ts(Instant::from_millis(150));
        l.trim(SeqNum(20_000), SeqNum(20_000));
        assert_eq!((l.len(), l.lower(SeqNum(19_999))), (0, None));
        #[cfg(feature = "alloc")]
        assert_eq!(l.heap_bytes(), 0);
        assert_eq!(l.xmit_ts(), Some(Instant::from_millis(150)));
        // A flight sent at one instant: its first checkpoint is the base,
        // no box.
        l.record(SeqNum(20_000), Instant::from_secs(2));
        assert_eq!(l.lower(SeqNum(20_500)), Some(Instant::from_secs(2)));
        #[cfg(feature = "alloc")]
        assert_eq!(l.heap_bytes(), 0);
        l.record(SeqNum(21_000), Instant::from_secs(2));
        #[cfg(feature = "alloc")]
        assert_eq!(l.heap_bytes(), 0);
        // A second send time: the box.
        l.record(SeqNum(22_000), Instant::from_secs(3));
        assert_eq!(l.lower(SeqNum(21_999)), Some(Instant::from_secs(2)));
        assert_eq!(l.lower(SeqNum(22_000)), Some(Instant::from_secs(3)));
        #[cfg(feature = "alloc")]
        assert_eq!(l.heap_bytes(), 56);
        assert_eq!(l.xmit_ts(), Some(Instant::from_millis(150)));
        let mut r = SendLog::new();
        for _ in 0..3 {
            r.reo_grow();
        }
        assert_eq!(r.reo_mult(), 4);
        for _ in 0..15 {
            r.reo_recovery_ended();
        }
        assert_eq!(r.reo_mult(), 4, "for 16 recoveries");
        r.reo_recovery_ended();
        assert_eq!(r.reo_mult(), 1);
        r.reo_recovery_ended();
        assert_eq!(r.reo_mult(), 1);
    }

    // RACK.reordering_seen (RFC 8985 §6.2 step 3) shares a byte with
    // RACK.reo_wnd_mult (§6.2.4): growing the window, its return to one
    // quarter after 16 recoveries and its cap leave the flag as it was,
    // set or not, and the flag leaves the multiplier.
    #[test]
    fn reordering_seen_and_reo_mult_share_a_byte_without_touching() {
        for seen in [false, true] {
            let mut r = SendLog::new();
            assert!(!r.reordering_seen());
            if seen {
                r.set_reordering_seen();
            }
            assert_eq!((r.reo_mult(), r.reordering_seen()), (1, seen));
            r.reo_grow();
            assert_eq!((r.reo_mult(), r.reordering_seen()), (2, seen));
            for _ in 0..REO_PERSIST {
                r.reo_recovery_ended();
            }
            assert_eq!((r.reo_mult(), r.reordering_seen()), (1, seen));
            for _ in 0..200 {
                r.reo_grow();
            }
            assert_eq!((r.reo_mult(), r.reordering_seen()), (127, seen));
            r.set_reordering_seen();
            assert_eq!((r.reo_mult(), r.reordering_seen()), (127, true));
        }
    }

    #[test]
    fn a_merge_drops_the_later_of_the_closest_pair_and_sent_by_names_its_range() {
        let mut l = SendLog::new();
        // Eight checkpoints, 1000 bytes apart; the closest pair in time is
        // the fifth and the sixth (40 and 41 ms).
        let ms = |t: u64| Instant::from_millis(1000 + t);
        for (k, t) in [0u64, 10, 20, 30, 40, 41, 60, 70].into_iter().enumerate() {
            l.record(SeqNum(1000 * k as u32), ms(t));
        }
        assert_eq!(l.len(), SLOTS);
        // No merge yet: each range went out at its checkpoint's time.
        assert_eq!(l.upper_for(SeqNum(5500), ms(80)), Some(ms(41)));
        assert_eq!(
            l.sent_by(ms(25), ms(80), SeqNum(0), SeqNum(8000)),
            Some(SeqNum(3000))
        );
        // A ninth: the 41 ms checkpoint goes, its data dated from 40 ms;
        // the others keep their times.
        l.record(SeqNum(8000), ms(80));
        assert_eq!(l.len(), SLOTS);
        assert_eq!(l.lower(SeqNum(5500)), Some(ms(40)));
        assert_eq!(l.lower(SeqNum(2500)), Some(ms(20)));
        assert_eq!(l.lower(SeqNum(6000)), Some(ms(60)));
        assert_eq!(l.lower(SeqNum(8500)), Some(ms(80)));
        // sent_by: the start of the first range whose data may have gone
        // after the limit (range i is dated before checkpoint i + 1);
        // SND.UNA for the first range, SND.MAX when all went before.
        let (una, max) = (SeqNum(0), SeqNum(9000));
        assert_eq!(l.sent_by(ms(25), ms(80), una, max), Some(SeqNum(2000)));
        assert_eq!(l.sent_by(ms(45), ms(80), una, max), Some(SeqNum(4000)));
        assert_eq!(l.sent_by(ms(5), ms(80), una, max), Some(una));
        assert_eq!(l.sent_by(ms(100), ms(80), una, max), Some(max));
        assert_eq!(l.upper_for(SeqNum(5500), ms(80)), Some(ms(60)));
    }

    // A trim (SND.UNA passed the first checkpoints) moves the base; the
    // checkpoints left keep their times, which date what RACK reads (RFC
    // 8985 §6.2 step 2: the lower bound of delivered data; §6.3: the
    // upper bound of what may be lost).
    #[test]
    fn a_trim_keeps_the_times_of_the_checkpoints_left() {
        let mut l = SendLog::new();
        let ms = |t: u64| Instant::from_millis(1000 + t);
        for (k, t) in [0u64, 10, 20, 30].into_iter().enumerate() {
            l.record(SeqNum(1000 * k as u32), ms(t));
        }
        l.trim(SeqNum(1500), SeqNum(4000));
        assert_eq!(l.len(), 3);
        assert_eq!(l.lower(SeqNum(1500)), Some(ms(10)));
        assert_eq!(l.lower(SeqNum(2500)), Some(ms(20)));
        assert_eq!(l.lower(SeqNum(3500)), Some(ms(30)));
        // No merge: each checkpoint's data went out at its own time.
        assert_eq!(l.upper_for(SeqNum(2500), ms(40)), Some(ms(20)));
        assert_eq!(l.upper_for(SeqNum(3500), ms(40)), Some(ms(30)));
    }

    // Of two pairs equally close in time, the older merges: the newer data,
    // which RACK (RFC 8985 §6.2 step 5) dates the loss of, keeps its
    // bounds, and the older goes first at the next trim anyway.
    #[test]
    fn of_equally_close_pairs_the_older_merges() {
        let mut l = SendLog::new();
        let ms = |t: u64| Instant::from_millis(1000 + t);
        // Gaps 20 -> 25 and 25 -> 30 ms are the closest, 5 ms each.
        for (k, t) in [0u64, 10, 20, 25, 30, 40, 50, 60].into_iter().enumerate() {
            l.record(SeqNum(1000 * k as u32), ms(t));
        }
        l.record(SeqNum(8000), ms(70));
        // The 25 ms checkpoint goes (its data dated from 20 ms), the
        // 30 ms one stays.
        assert_eq!(l.lower(SeqNum(3500)), Some(ms(20)));
        assert_eq!(l.lower(SeqNum(4500)), Some(ms(30)));
    }

    #[test]
    fn reordering_persist_and_tlp_share_a_word_without_touching() {
        let mut l = SendLog::new();
        assert_eq!(l.reordering(), REORDERING_INIT);
        assert!(!l.tlp_retrans());
        l.reo_grow();
        l.set_tlp_retrans(true);
        l.set_reordering(299);
        assert_eq!(l.reordering(), 299);
        assert_eq!(l.reo_persist(), REO_PERSIST);
        assert!(l.tlp_retrans());
        // Linux's tcp_max_reordering caps the degree.
        l.set_reordering(1000);
        assert_eq!(l.reordering(), REORDERING_MAX);
        l.set_reo_persist(0x3f);
        assert_eq!(l.reo_persist(), 0x1f);
        assert!(l.tlp_retrans());
        assert_eq!(l.reordering(), REORDERING_MAX);
        l.set_tlp_retrans(false);
        l.set_reo_persist(0);
        assert_eq!((l.reo_persist(), l.tlp_retrans()), (0, false));
        assert_eq!(l.reordering(), REORDERING_MAX);
        l.set_reordering(0);
        assert_eq!(l.reordering(), 0);
        assert!(!l.syn_data());
        l.set_syn_data();
        l.set_reordering(REORDERING_MAX);
        assert!(l.syn_data());
        assert_eq!(l.reordering(), REORDERING_MAX);
        l.set_reordering(5);
        assert!(l.syn_data());
        assert_eq!(
            (l.reordering(), l.reo_persist(), l.tlp_retrans()),
            (5, 0, false)
        );
        l.reset();
        assert!(!l.syn_data());
        assert_eq!(l.reordering(), REORDERING_INIT);
    }

    // The differential tests of the fast paths compare the log through its
    // Debug form (`connection::tests::observe`; RFC 8985 §6.2 step 2 dates
    // delivered data by it): two logs with other checkpoints must print
    // differently, and the checkpoints must show.
    #[test]
    fn debug_shows_the_checkpoints() {
        let mut a = SendLog::new();
        a.record(SeqNum(0), Instant::from_millis(1));
        let mut b = a.clone();
        a.record(SeqNum(1000), Instant::from_millis(2));
        b.record(SeqNum(1000), Instant::from_millis(3));
        let (da, db) = (format!("{a:?}"), format!("{b:?}"));
        assert_ne!(da, db);
        assert!(da.starts_with("SendLog"), "{da}");
        assert!(da.contains(&format!("{:?}", SeqNum(1000))), "{da}");
        assert!(db.contains("2000"), "µs after the base: {db}");
        // Whether a merge widened the bounds shows too (it changes what
        // RACK may take as lost), and only that: the count stays the
        // count.
        assert!(da.contains("n: 2, merged: false"), "{da}");
        for k in 3..=SLOTS as u64 + 1 {
            a.record(SeqNum(1000 * k as u32), Instant::from_millis(k));
        }
        let da = format!("{a:?}");
        assert!(da.contains(&format!("n: {SLOTS}, merged: true")), "{da}");
    }

    // RACK.xmit_ts (RFC 8985 §6.1) more than 2^31 µs before the base (an
    // hour-long idle time, then a new flight moved the base) stays set,
    // kept at the earliest time 32 bits hold: never unset (the sentinel)
    // and never after the base.
    #[test]
    fn an_xmit_ts_long_before_the_base_is_kept_at_the_earliest() {
        let mut l = SendLog::new();
        let base = Instant::from_secs(3600);
        l.record(SeqNum(0), base);
        l.set_xmit_ts(Instant::from_secs(1));
        let earliest = Instant::from_micros(base.as_micros() - i32::MAX as u64);
        assert_eq!(l.xmit_ts(), Some(earliest));
        // Within the range it is exact.
        l.set_xmit_ts(Instant::from_secs(1800));
        assert_eq!(l.xmit_ts(), Some(Instant::from_secs(1800)));
    }

    #[test]
    fn a_checkpoint_too_late_for_32_bits_widens_the_last_range() {
        let mut l = SendLog::new();
        let t0 = Instant::from_secs(10);
        l.record(SeqNum(0), t0);
        l.record(SeqNum(1000), t0 + Duration::from_secs(1000));
        let late = t0 + Duration::from_secs(5000);
        l.record(SeqNum(2000), late);
        assert_eq!(l.len(), 2);
        // The late data is dated from the checkpoint before it: an earlier
        // lower bound and, with `last_send`, a correct upper bound.
        assert_eq!(l.lower(SeqNum(2500)), Some(t0 + Duration::from_secs(1000)));
        assert_eq!(l.upper_for(SeqNum(2500), late), Some(late));
        // Once the old data is acknowledged, the base moves up and later
        // checkpoints fit again.
        l.trim(SeqNum(1500), SeqNum(3000));
        assert_eq!(l.lower(SeqNum(1500)), Some(t0 + Duration::from_secs(1000)));
        l.record(SeqNum(3000), late + Duration::from_secs(1));
        assert_eq!(l.len(), 2);
        assert_eq!(l.lower(SeqNum(3000)), Some(late + Duration::from_secs(1)));
    }
}
