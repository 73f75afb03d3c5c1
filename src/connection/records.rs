//! Record ends (Linux's `MSG_EOR`): `AppCall::SendEor` queues data as
//! SEND does and marks where it ends; no segment, first transmission or
//! retransmission, carries bytes from both sides of a mark, and the
//! segment that ends at one carries PSH.
//!
//! RFC 9293 has no records: the stream is bytes, and a SEND with the
//! PUSH flag asks only that its data go promptly, PSH on its last segment
//! (§3.9.1). Linux keeps each `MSG_EOR` write's end as the end of a
//! buffer (`TCP_SKB_CB(skb)->eor`): later writes start a new one
//! (`tcp_skb_can_collapse_to`), and retransmissions are not collapsed
//! across it (`tcp_skb_can_collapse`), so a record's last segment is
//! never merged with the next record's first. The mark is an explicit
//! request of the application, so both presets keep it.
//!
//! A segment cut short by a mark cannot grow: the bytes after the mark
//! belong to the next record. It is sent as a full-sized one would be
//! (Nagle's algorithm and a cork hold back only the queue's tail, as
//! Linux's `tcp_write_xmit` tests Nagle only on the last buffer of its
//! queue); a mark at the end of the queue leaves the usual rules.
//!
//! The marks live in the uncommon state's box (`cold.rs`), at most
//! [`MAX_RECORDS`] unacknowledged ones (past that a mark is dropped: the
//! record merges with the next, which a byte stream allows); while any
//! is pending the `uncommon` flag keeps the fast paths off. Without
//! `alloc` there is no room for them: `SendEor` is a SEND with PUSH.

use super::{AppCall, Connection, Outcome, Storage};
use crate::error::CallError;
use crate::seq::SeqNum;
use crate::time::Instant;

/// The most record ends kept unacknowledged (4 bytes each in the box).
#[cfg(feature = "alloc")]
pub(super) const MAX_RECORDS: usize = 1024;

impl<B: Storage> Connection<B> {
    /// SEND that ends a record (Linux `send(..., MSG_EOR)`): the data is
    /// queued as by [`send`](Self::send); its end is a record's end (see
    /// the module's notes: no segment spans it, the segment ending there
    /// carries PSH). The mark is kept only when all of `data` fit.
    pub fn send_eor(&mut self, now: Instant, data: &[u8]) -> Result<Outcome, CallError> {
        self.on_app_call(now, AppCall::SendEor(data))
    }

    /// `SendEor`'s data was all queued: its end is a record's.
    pub(super) fn record_end_queued(&mut self) {
        self.record_end_at(self.tx_base().add(self.tx.len() as u32));
    }

    /// A record ends at `end` (past SND.UNA, at or after every mark).
    pub(super) fn record_end_at(&mut self, end: SeqNum) {
        #[cfg(not(feature = "alloc"))]
        let _ = end;
        #[cfg(feature = "alloc")]
        {
            let una = self.snd_una;
            let r = &mut self.cold_mut().records;
            r.retain(|m| m.after(una));
            if r.len() < MAX_RECORDS && r.last().is_none_or(|m| end.after(*m)) {
                r.push(end);
            }
            self.records_changed();
        }
    }

    /// Whether record ends are pending.
    #[inline]
    pub(super) fn has_records(&self) -> bool {
        #[cfg(feature = "alloc")]
        return !self.cold().records.is_empty();
        #[cfg(not(feature = "alloc"))]
        return false;
    }

    /// The `uncommon` flag again, after the marks changed.
    #[cfg(feature = "alloc")]
    fn records_changed(&mut self) {
        let x = self.xflags;
        self.set_x(x, true);
    }

    /// The first record end after `seq`, if any (marks at or below
    /// SND.UNA are stale and skipped).
    #[inline]
    pub(super) fn record_end_after(&self, seq: SeqNum) -> Option<SeqNum> {
        #[cfg(feature = "alloc")]
        {
            let r = &self.cold().records;
            let i = r.partition_point(|m| !m.after(seq));
            r.get(i).copied()
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = seq;
            None
        }
    }

    /// The last record end at or before `seq`, if any (stale marks at
    /// or below SND.UNA may be returned).
    #[inline]
    pub(super) fn record_end_at_or_before(&self, seq: SeqNum) -> Option<SeqNum> {
        #[cfg(feature = "alloc")]
        {
            let r = &self.cold().records;
            let i = r.partition_point(|m| !m.after(seq));
            i.checked_sub(1).map(|i| r[i])
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = seq;
            None
        }
    }

    /// The most bytes a segment from `seq` may carry before the next
    /// record end (`u32::MAX` with none).
    #[inline]
    pub(super) fn record_room(&self, seq: SeqNum) -> u32 {
        if !self.uncommon() {
            return u32::MAX;
        }
        self.record_end_after(seq).map_or(u32::MAX, |m| m.dist(seq))
    }

    /// Whether a segment ending at `end` ends a record (it carries PSH).
    #[inline]
    pub(super) fn ends_record(&self, end: SeqNum) -> bool {
        self.uncommon() && self.record_end_after(end.sub(1)) == Some(end)
    }

    /// Where a segment that ends at `end` and may carry `len` bytes
    /// starts: no earlier than the record end before `end` (a loss probe
    /// resends the last segment, RFC 8985 §7.3).
    pub(super) fn record_start_before(&self, end: SeqNum, len: u32) -> u32 {
        #[cfg(feature = "alloc")]
        if self.uncommon() {
            let r = &self.cold().records;
            let i = r.partition_point(|m| m.before(end));
            if let Some(m) = i.checked_sub(1).map(|i| r[i])
                && m.after(self.snd_una)
            {
                return len.min(end.dist(m));
            }
        }
        let _ = end;
        len
    }

    /// Drops the record ends SND.UNA has passed (after an ACK moved it,
    /// from the output path).
    pub(super) fn prune_records(&mut self) {
        #[cfg(feature = "alloc")]
        if self.has_records() && !self.cold().records[0].after(self.snd_una) {
            let una = self.snd_una;
            self.cold_mut().records.retain(|m| m.after(una));
            self.records_changed();
        }
    }
}
