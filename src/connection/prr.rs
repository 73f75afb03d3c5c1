//! Proportional Rate Reduction for fast recovery (RFC 6937, as revised by
//! RFC 9937, which obsoletes it: RecoverFS is `pipe` when recovery starts,
//! and one more segment is allowed only on a SafeACK, as Linux's
//! `tcp_cwnd_reduction` does), with and without SACK, and the
//! duplicate-ACK estimate that stands in for SACK without it (Linux's Reno
//! `sacked_out`, capped by `tcp_limit_reno_sacked`).
//!
//! In recovery the connection sends while `pipe < cwnd` (RFC 6675 §5 with
//! SACK; likewise without it, where `pipe` counts the duplicate ACKs), and
//! each ACK sets `cwnd = pipe + sndcnt`: in proportion to what the ACK
//! delivered while `pipe` is above ssthresh, and at most what it delivered
//! plus one segment once `pipe` has fallen below (the slow-start reduction
//! bound, PRR-SSRB). A recovery therefore starts with one segment (the fast
//! retransmit), not a burst, and ends with about ssthresh in flight.
//!
//! PRR's three counts share their words with HyStart++'s round
//! (`hs_window_end`, `hs_last_min`, `hs_cur_min`): HyStart++ runs only in
//! slow start outside recovery, PRR only in recovery, and `in_recovery()`
//! tells which the words hold. Entering recovery overwrites HyStart's
//! round; leaving it starts a fresh one ([`Connection::leave_recovery`]).

use super::{Connection, Storage};
use crate::seq::SeqNum;

impl<B: Storage> Connection<B> {
    /// PRR's `prr_delivered`: bytes delivered to the receiver since
    /// recovery began (RFC 6937 §3).
    fn prr_delivered(&self) -> u32 {
        self.hs_last_min
    }
    /// PRR's `prr_out`: bytes sent since recovery began.
    fn prr_out(&self) -> u32 {
        self.hs_cur_min
    }
    /// PRR's `RecoverFS`: `pipe` when recovery began (RFC 9937; RFC 6937
    /// took the flight).
    fn recover_fs(&self) -> u32 {
        self.hs_window_end.0
    }

    /// Recovery begins (RFC 6937 §3 "at the beginning of recovery", with
    /// RFC 9937's RecoverFS = pipe): sets `in_recovery`.
    pub(super) fn prr_start(&mut self) {
        self.hs_last_min = 0;
        self.hs_cur_min = 0;
        self.reset_hs_samples();
        self.set_in_recovery(true);
        self.hs_window_end = SeqNum(self.pipe().max(1));
    }

    /// Leaves fast recovery; HyStart++ starts a fresh round in the words
    /// PRR used (nothing of the round before the loss is kept).
    pub(super) fn leave_recovery(&mut self) {
        self.set_in_recovery(false);
        // RFC 8985 §6.2.4: RACK.reo_wnd_persist counts recoveries.
        self.sent_log.reo_recovery_ended();
        self.prr_words_to_hystart();
    }

    /// PRR's words go back to HyStart++, which starts a fresh round (also
    /// at a timeout, `on_rto`).
    pub(super) fn prr_words_to_hystart(&mut self) {
        self.hs_window_end = self.snd_max;
        self.hs_last_min = u32::MAX;
        self.hs_cur_min = u32::MAX;
        self.reset_hs_samples();
    }

    /// In Linux's CWR state (`Config::linux_cwr`): an ECN-Echo reduction
    /// is in progress, by PRR. Sets `uncommon` (both fast paths off: every
    /// ACK goes through `prr_ack`, every segment sent through `prr_sent`).
    #[inline]
    pub(super) fn in_cwr(&self) -> bool {
        #[cfg(feature = "alloc")]
        return self.uncommon() && self.cold().cwr;
        #[cfg(not(feature = "alloc"))]
        return false;
    }

    /// PRR sets cwnd: fast recovery, or the CWR state.
    #[inline]
    pub(super) fn in_reduction(&self) -> bool {
        self.in_recovery() || self.in_cwr()
    }

    /// An ECN-Echo under `Config::linux_cwr`, ssthresh already reduced:
    /// Linux's `tcp_enter_cwr` and `tcp_init_cwnd_reduction`. PRR's counts
    /// start from zero, with the cwnd of now as RecoverFS (Linux's
    /// `prior_cwnd`; a fast recovery takes `pipe`, RFC 9937). cwnd is not
    /// changed here: the ACKs that follow bring it down (`prr_ack`).
    #[cfg(feature = "alloc")]
    pub(super) fn enter_cwr(&mut self) {
        self.hs_last_min = 0;
        self.hs_cur_min = 0;
        self.reset_hs_samples();
        self.hs_window_end = SeqNum(self.cwnd.max(1));
        self.cold_mut().cwr = true;
        self.refresh_uncommon();
    }

    /// The CWR state ends (Linux's `tcp_end_cwnd_reduction`, once SND.UNA
    /// is past what was sent before the reduction, or at a timeout): PRR's
    /// words go back to HyStart++. The caller sets cwnd.
    pub(super) fn leave_cwr(&mut self) {
        #[cfg(feature = "alloc")]
        if self.in_cwr() {
            self.cold_mut().cwr = false;
            self.refresh_uncommon();
            self.prr_words_to_hystart();
        }
    }

    /// A fast recovery starts during the CWR state: it takes the
    /// reduction over, with PRR's counts and ssthresh as they are (Linux's
    /// `tcp_enter_recovery` does not reduce again while
    /// `tcp_in_cwnd_reduction`). Returns whether it did.
    pub(super) fn cwr_to_recovery(&mut self) -> bool {
        if !self.in_cwr() {
            return false;
        }
        #[cfg(feature = "alloc")]
        {
            self.cold_mut().cwr = false;
            self.refresh_uncommon();
        }
        self.set_in_recovery(true);
        true
    }

    /// `n` bytes of data (new or retransmitted) went out: PRR's `prr_out`.
    #[inline]
    pub(super) fn prr_sent(&mut self, n: u32) {
        if self.in_reduction() {
            self.hs_cur_min = self.hs_cur_min.saturating_add(n);
        }
    }

    /// Without SACK: the bytes duplicate ACKs say have left the network
    /// (one segment each), at most the flight less one segment, the hole
    /// (Linux `tcp_limit_reno_sacked`). A spoofed duplicate ACK beyond
    /// that counts for nothing (Savage et al. 1999).
    pub(super) fn reno_sacked(&self) -> u32 {
        let mss = self.eff_mss();
        (u32::from(self.dupacks) * mss).min(self.flight().saturating_sub(mss))
    }

    /// Without SACK, in recovery: a duplicate ACK counts only while the
    /// estimate stays below the flight (`reno_sacked`). Keeps `dupacks`
    /// at the cap so that later ACKs see what was counted.
    pub(super) fn reno_cap(&mut self) {
        let mss = self.eff_mss();
        let max = (self.flight() / mss)
            .saturating_sub(1)
            .min(u32::from(u8::MAX));
        if u32::from(self.dupacks) > max {
            self.dupacks = max as u8;
        }
    }

    /// Without SACK, a partial ACK of `acked` bytes: one segment of it
    /// filled the hole, the rest had been counted by duplicate ACKs
    /// (Linux `tcp_remove_reno_sacks`); what is left is capped by the
    /// smaller flight (`reno_cap`, as `tcp_remove_reno_sacks` calls
    /// `tcp_limit_reno_sacked`).
    pub(super) fn reno_partial_ack(&mut self, acked: u32) {
        let segs = acked.div_ceil(self.eff_mss()).saturating_sub(1);
        self.dupacks = self.dupacks.saturating_sub(segs.min(255) as u8);
        self.reno_cap();
    }

    /// RFC 6937 §3 / RFC 9937, on every ACK in recovery: `delivered` bytes reached
    /// the receiver (SND.UNA's advance plus newly SACKed bytes, or the
    /// duplicate-ACK estimate without SACK); `safe` when the ACK advanced
    /// SND.UNA (RFC 9937 SafeACK: one more segment may go). Sets
    /// `cwnd = pipe + sndcnt`. An ACK that delivered nothing changes
    /// nothing (as Linux). Called in a reduction only (`process_ack`).
    pub(super) fn prr_ack(&mut self, delivered: u32, safe: bool) {
        debug_assert!(self.in_reduction());
        if delivered == 0 {
            return;
        }
        let mss = self.eff_mss();
        let prr_delivered = self.prr_delivered().saturating_add(delivered);
        self.hs_last_min = prr_delivered;
        let prr_out = self.prr_out();
        let pipe = self.pipe();
        let ssthresh = self.ssthresh;
        let sndcnt = if pipe > ssthresh {
            // Proportional Rate Reduction:
            // CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
            let fs = u64::from(self.recover_fs().max(1));
            let due = (u64::from(prr_delivered) * u64::from(ssthresh)).div_ceil(fs);
            // The CWR state (`Config::linux_cwr`) rounds up to whole
            // segments, as Linux counts packets (`tcp_cwnd_reduction`);
            // fast recovery keeps RFC 9937's bytes.
            let due = if self.in_cwr() {
                due.div_ceil(u64::from(mss)) * u64::from(mss)
            } else {
                due
            };
            u32::try_from(due)
                .unwrap_or(u32::MAX)
                .saturating_sub(prr_out)
        } else {
            // PRR-SSRB: MAX(prr_delivered - prr_out, DeliveredData), plus
            // one segment on a SafeACK, at most up to ssthresh.
            let mut limit = prr_delivered.saturating_sub(prr_out).max(delivered);
            if safe {
                limit = limit.saturating_add(mss);
            }
            (ssthresh - pipe).min(limit)
        };
        // The fast retransmit goes out whatever the count (Linux).
        let sndcnt = if prr_out == 0 {
            sndcnt.max(mss)
        } else {
            sndcnt
        };
        self.cwnd = pipe.saturating_add(sndcnt);
    }
}
