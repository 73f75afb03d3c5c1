//! Packetization-layer path MTU discovery (RFC 4821; the search of RFC
//! 8899 §5.3 and Linux's `tcp_mtu_probing=1`), for paths that drop large
//! packets without the ICMP error classic PMTUD needs (a black hole, RFC
//! 2923 §2.1). Off unless [`Config::mtu_probing`](crate::Config).
//!
//! RFCs to read: RFC 4821 §7 (probing with TCP: a probe is a segment of
//! new data larger than the send MSS; its ACK says the size passes, its
//! loss that it may not), §7.7 (black-hole detection), RFC 8899 §5.3
//! (the search), RFC 2923 §2.1.
//!
//! Black-hole detection (RFC 4821 §7.7): when R1 retransmissions of a
//! segment go unanswered (the moment the connection gives the IP layer
//! negative advice, MUST-20), the send MSS falls to
//! [`Config::MTU_PROBE_BASE_MSS`](crate::Config::MTU_PROBE_BASE_MSS)
//! (Linux `tcp_base_mss`), or to half the last size known to pass when it
//! already had; the retransmissions go out in the smaller segments. The
//! search then runs between the largest size known to pass (`mtu_low`,
//! Linux `search_low`) and the largest still possible (`mtu_high`, the MSS
//! negotiated at first): a probe halfway between goes out when the flight
//! is calm (no recovery, cwnd at least 11 segments, as Linux), one at a
//! time. Its cumulative ACK raises the MSS to its size; a loss of it
//! (recovery with SND.UNA at its start, or a timeout while it is out)
//! lowers `mtu_high` below it. The search ends when the two are less than
//! [`Config::MTU_PROBE_THRESHOLD`](crate::Config::MTU_PROBE_THRESHOLD)
//! apart.
//!
//! Sizes are send MSS values (the TCP payload of a segment without
//! options, as `smss`): the IP and TCP headers are the same on every
//! segment of the connection, so a search over MSS values is one over
//! packet sizes.
//!
//! A search that converged is trusted for
//! [`Config::MTU_PROBE_INTERVAL`](crate::Config::MTU_PROBE_INTERVAL) (10
//! minutes, RFC 4821 §7.3; Linux `tcp_probe_interval`) after it started
//! or last found a size that passes: then the next probe opportunity
//! starts a new one, from the send MSS up to the MSS the first search
//! started from (Linux `tcp_mtu_check_reprobe`). With `alloc` only:
//! without it the TCB has no room for the search's timestamp, and a
//! search that ended stays ended (a new black hole starts one again).
//!
//! Note: a lost probe costs the window reduction of any loss (Linux
//! retransmits it without one).

use super::urgent::x;
use super::{Connection, Storage};
use crate::config::Config;
use crate::time::Instant;

/// Whole seconds of `now`, wrapping (the search's timestamp).
#[cfg(feature = "alloc")]
fn secs(now: Instant) -> u32 {
    (now.as_micros() / 1_000_000) as u32
}

impl<B: Storage> Connection<B> {
    /// Whether a PLPMTUD search is on (`mtu_low`/`mtu_high` hold it).
    fn mtu_searching(&self) -> bool {
        self.xflag(x::MTU_SEARCH)
            && self.cold().mtu_high.saturating_sub(self.cold().mtu_low)
                >= Config::MTU_PROBE_THRESHOLD
    }

    /// R1 retransmissions unanswered (`on_rto`): maybe a black hole.
    pub(super) fn mtu_black_hole(&mut self, now: Instant) {
        if !self.cfg.mtu_probing() || !self.syn_acked() {
            return;
        }
        let floor = self.cfg.min_peer_mss.max(1);
        #[cfg(feature = "alloc")]
        {
            self.cold_mut().mtu_at = secs(now);
        }
        #[cfg(not(feature = "alloc"))]
        let _ = now;
        if self.cold().mtu_high == 0 {
            // First detection: the search runs up to the MSS negotiated.
            self.cold_mut().mtu_high = self.smss;
            #[cfg(feature = "alloc")]
            {
                self.cold_mut().mtu_max = self.smss;
            }
            self.cold_mut().mtu_low = self.smss.min(Config::MTU_PROBE_BASE_MSS);
        } else {
            // Again: half the size last known to pass (Linux).
            self.cold_mut().mtu_low = (self.cold().mtu_low / 2)
                .min(Config::MTU_PROBE_BASE_MSS)
                .max(floor);
        }
        if self.xflag(x::MTU_PROBE) {
            self.mtu_probe_failed();
        }
        self.smss = self.cold().mtu_low.min(self.smss).max(floor);
        self.mtu_check_done();
    }

    /// The search goes on while the bounds are far enough apart. With
    /// `alloc` the mode stays on once a search has run (the uncommon
    /// output path then asks `mtu_reprobe` whether the next one is due:
    /// such a connection keeps off the fast paths, the cost of the check).
    fn mtu_check_done(&mut self) {
        let on =
            self.cold().mtu_high.saturating_sub(self.cold().mtu_low) >= Config::MTU_PROBE_THRESHOLD;
        #[cfg(feature = "alloc")]
        let on = on || self.cold().mtu_high != 0;
        self.set_x(x::MTU_SEARCH, on);
    }

    /// The size of the next probe (a send MSS).
    fn mtu_probe_size(&self) -> u16 {
        self.cold().mtu_low + self.cold().mtu_high.saturating_sub(self.cold().mtu_low) / 2
    }

    /// Payload bytes of a probe to send now, if one is due: a search on,
    /// no probe out, a calm flight (no recovery, timeout or F-RTO), new
    /// data at SND.MAX, a congestion window of at least 11 segments (as
    /// Linux's `tcp_mtu_probe`), and room for the whole probe in the send
    /// buffer, both windows and the caller's buffer (`room`).
    pub(super) fn mtu_probe_len(&mut self, now: Instant, room: usize) -> Option<u32> {
        self.mtu_reprobe(now);
        // Linux's `tcp_mtu_probe` probes in TCP_CA_Open only: not in
        // recovery, nor after duplicate ACKs (Disorder), where limited
        // transmit (RFC 3042) allows segments of the send MSS only.
        // Note: Linux's Disorder also holds while data is SACKed above a
        // hole that neither RACK nor three duplicate ACKs called lost yet
        // (an ACK that moved SND.UNA counts none); here a probe may go
        // then.
        if !self.mtu_searching()
            || self.xflag(x::MTU_PROBE | x::FRTO2 | x::FRTO3)
            || self.in_recovery()
            || self.dupacks != 0
            || self.retries != 0
            || self.snd_nxt != self.snd_max
            || self.fin_queued()
        {
            return None;
        }
        // The probe's packet is as large as a segment of `size` send MSS
        // would be: its payload gives way to the options it carries
        // (timestamps, SACK blocks: MUST-16, `seg_room`).
        let mss = self.seg_room();
        let opt = u32::from(self.smss).saturating_sub(mss);
        let len = u32::from(self.mtu_probe_size()).saturating_sub(opt);
        let fits = |right: crate::seq::SeqNum| !self.snd_nxt.add(len).after(right);
        (len > mss
            && self.cwnd >= 11 * mss
            && self.unsent() >= len
            && room >= len as usize
            && fits(self.snd_una.add(self.snd_wnd))
            && fits(self.snd_una.add(self.cwnd.min(1 << 30))))
        .then_some(len)
    }

    /// A search that converged (or stopped below the MSS it started
    /// from) starts again once `MTU_PROBE_INTERVAL` has passed since it
    /// started or last found a size that passes (RFC 4821 §7.3; Linux
    /// `tcp_mtu_check_reprobe`): from the send MSS up to `mtu_max`.
    #[cfg(feature = "alloc")]
    fn mtu_reprobe(&mut self, now: Instant) {
        if self.mtu_searching() || self.cold().mtu_high == 0 {
            return;
        }
        let interval = Config::MTU_PROBE_INTERVAL.as_secs() as u32;
        if secs(now).wrapping_sub(self.cold().mtu_at) < interval {
            return;
        }
        let smss = self.smss;
        let c = self.cold_mut();
        c.mtu_low = smss;
        c.mtu_high = c.mtu_max;
        c.mtu_at = secs(now);
        self.mtu_check_done();
    }

    #[cfg(not(feature = "alloc"))]
    fn mtu_reprobe(&mut self, _now: Instant) {}

    /// A probe of `len` bytes goes out at SND.NXT.
    pub(super) fn mtu_probe_sent(&mut self, len: u32) {
        self.cold_mut().mtu_probe_end = self.snd_nxt.add(len);
        self.set_x(x::MTU_PROBE, true);
    }

    /// After an acceptable ACK (slow path): a probe cumulatively
    /// acknowledged passed (Linux `tcp_mtup_probe_success`).
    pub(super) fn mtu_on_ack(&mut self, now: Instant) {
        if self.xflag(x::MTU_PROBE) && !self.cold().mtu_probe_end.after(self.snd_una) {
            let size = self.mtu_probe_size();
            self.set_x(x::MTU_PROBE, false);
            self.cold_mut().mtu_low = size;
            #[cfg(feature = "alloc")]
            {
                self.cold_mut().mtu_at = secs(now);
            }
            #[cfg(not(feature = "alloc"))]
            let _ = now;
            self.smss = size;
            self.mtu_check_done();
        }
    }

    /// Loss recovery begins (`enter_recovery`): with SND.UNA at the
    /// probe (Linux `tcp_mtup_probe_failed`: at its start) the probe is
    /// what was lost. Note: the probe's start is not kept (no room in the
    /// TCB): SND.UNA within the probe's size below its end counts, which
    /// takes in at most the options' bytes before it.
    pub(super) fn mtu_on_recovery(&mut self) {
        if self.xflag(x::MTU_PROBE) {
            let size = u32::from(self.mtu_probe_size());
            let end = self.cold().mtu_probe_end;
            if self.snd_una.before(end) && !self.snd_una.before(end.sub(size)) {
                self.mtu_probe_failed();
            }
        }
    }

    /// A timeout while a probe is out: taken as the probe's loss.
    pub(super) fn mtu_on_timeout(&mut self) {
        if self.xflag(x::MTU_PROBE) {
            self.mtu_probe_failed();
        }
    }

    /// An ICMP "fragmentation needed" lowered the send MSS to `mss`
    /// (RFC 1191): the search stays at or below it.
    pub(super) fn mtu_icmp(&mut self, mss: u16) {
        if self.cold().mtu_high != 0 && mss < self.cold().mtu_high {
            self.cold_mut().mtu_high = mss;
            self.cold_mut().mtu_low = self.cold().mtu_low.min(mss);
            if self.xflag(x::MTU_PROBE) {
                self.mtu_probe_failed();
            }
            self.mtu_check_done();
        }
    }

    /// The probe's size does not pass: the search stays below it.
    fn mtu_probe_failed(&mut self) {
        let size = self.mtu_probe_size();
        self.set_x(x::MTU_PROBE, false);
        self.cold_mut().mtu_high = size.saturating_sub(1).max(self.cold().mtu_low);
        self.mtu_check_done();
    }
}
