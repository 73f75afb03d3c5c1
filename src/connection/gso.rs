//! Super-segments out (segmentation offload: Linux's GSO/TSO, the TUN
//! driver's `virtio_net_hdr`): a run of full-sized segments of new data,
//! written as one segment for the device to split at the MSS.
//!
//! The rule is equivalence: splitting a super-segment (each piece with the
//! same header but for SEQ, PSH and FIN on the last piece only, and its own
//! checksum: what Linux's `tcp_gso_segment` does) gives exactly the
//! segments that [`Connection::poll_transmit`] would have written one by
//! one at the same `now`. So the super-segment is built from those very
//! segments: each piece goes through the one-segment path (send prediction,
//! RFC 9293 §3.10 / RFC 5681 / RFC 9293 §3.8.6), which does every piece's
//! bookkeeping (RACK's send log, the RTT sample, the retransmission and
//! loss-probe timers, counters); congestion control, the SACK scoreboard,
//! RACK and TLP keep counting in MSS-sized pieces. A run stops before
//! anything that would make its pieces differ: a piece that is not a full
//! segment of new data, SACK blocks or a CWR mark to send. Retransmissions
//! are never coalesced: a retransmission resends only what was lost.
//!
//! One difference, on purpose: PSH. A super-segment carries PSH when its
//! last piece does, as Linux's own GSO marks the tail of each GSO packet;
//! `Config::linux_push`'s packets (Linux's GSO packets as seen on the
//! wire, `output.rs`'s `gso_push`) apply to the pieces, and the
//! super-segment takes the flag of its last.

use super::{Connection, Storage, Transmit};
use crate::time::Instant;
use crate::wire::Flags;

impl<B: Storage> Connection<B> {
    /// As [`poll_transmit`](Self::poll_transmit), for a host whose device
    /// splits segments itself (GSO/TSO): writes up to `max_len` payload
    /// bytes of consecutive full-sized segments of new data into `buf` as
    /// one segment, and returns it with the size to split it at (the
    /// MSS), or 0 when it is a single ordinary segment. Splitting it at
    /// that size (as [`wire::gso::split`](crate::wire::gso::split) or the
    /// device does) gives the segments `poll_transmit` would have sent one
    /// by one; see the module docs for the rule.
    pub fn poll_transmit_gso(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max_len: usize,
    ) -> Option<(Transmit, u16)> {
        let mut seg = 0;
        let t = self.poll_transmit_gso_in(now, buf, max_len, &mut seg)?;
        Some((t, seg))
    }

    /// [`poll_transmit_gso`](Self::poll_transmit_gso) with the size to
    /// split at written to `seg`: the Endpoint reads the segment where it
    /// was built, without moving it (and its option area) into a pair.
    pub(crate) fn poll_transmit_gso_in(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        max_len: usize,
        seg: &mut u16,
    ) -> Option<Transmit> {
        let first = self.poll_transmit(now, buf)?;
        // The pieces go at the time the first one went: `poll_transmit`
        // takes an earlier `now` as the latest time it saw (`clock`), and
        // each piece's timestamp, send time and timers must be the ones
        // of a segment sent on its own (RFC 7323 §5.4: TSval never goes
        // back).
        let now = self.last_now;
        let mss = first.len;
        let f = first.flags;
        let new_data = mss as u32 == self.eff_mss()
            && first.seq.add(mss as u32) == self.snd_max
            && self.snd_nxt == self.snd_max;
        if !new_data
            || f.syn()
            || f.fin()
            || f.rst()
            || f.contains(Flags::CWR)
            || f.psh()
            || !first.options.sack.is_empty()
        {
            *seg = 0;
            return Some(first);
        }
        let mut t = first;
        let limit = max_len.min(buf.len());
        while t.len + mss <= limit {
            // Nothing can make the next piece's header differ from the
            // first's: `send_predict` refuses while SACK blocks (RFC 2018)
            // are to be sent, and a CWR mark (RFC 3168 §6.1.2) went with
            // the first segment, which then went alone.
            // The piece before went through `send_fast` too, at this very
            // time: a burst when it marked one.
            let burst = self.xflag(super::urgent::x::BURST);
            match self.send_predict_in(limit - t.len, burst) {
                Some(m) if m as usize == mss => {}
                _ => break,
            }
            let next = self.send_fast(now, &mut buf[t.len..], mss as u32, burst);
            debug_assert_eq!(next.seq, t.seq.add(t.len as u32));
            debug_assert_eq!(
                (next.ack, next.window, next.options, next.ect),
                (t.ack, t.window, t.options, t.ect)
            );
            // PSH is the last piece's (see the module docs).
            t.flags = Flags((t.flags.0 & !Flags::PSH.0) | (next.flags.0 & Flags::PSH.0));
            t.len += mss;
        }
        *seg = if t.len > mss { mss as u16 } else { 0 };
        Some(t)
    }
}
