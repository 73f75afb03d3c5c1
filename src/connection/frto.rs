//! F-RTO (RFC 5682): detecting spurious retransmission timeouts from the
//! ACKs that follow, beside Eifel detection (RFC 3522, in `timers.rs`).
//!
//! RFC to read: RFC 5682 §2 (the basic algorithm) and §3 (the
//! SACK-enhanced one), RFC 4015 (the response: restore the window).
//!
//! Step 1 (a timeout, `enter_frto`): the first unacknowledged segment is
//! retransmitted as after any timeout (cwnd is one segment, SND.NXT back
//! at SND.UNA), and "recover" is SND.MAX.
//!
//! Step 2 (the first ACK after it): if it acknowledges the retransmission
//! and not all data up to "recover", up to two *new* segments go out
//! instead of more retransmissions (2b); a duplicate ACK, or one that
//! covers "recover", ends F-RTO in the conventional recovery (2a).
//!
//! Step 3 (the second ACK): if it acknowledges or SACKs data that was
//! never retransmitted, the timeout was spurious: the window before it is
//! restored (RFC 4015) and new data goes on (3b). Otherwise (a duplicate
//! ACK, no new SACKed data) the loss was real: cwnd is at most three
//! segments and the go-back-N recovery resumes from SND.UNA (3a).
//!
//! Note: as Linux (`tcp_enter_loss`), F-RTO is tried on the first timeout
//! of an episode outside fast recovery; a further timeout during it is a
//! conventional one.

use super::urgent::x;
use super::{Connection, Storage, Undo};

impl<B: Storage> Connection<B> {
    /// Step 1, from `on_rto`: F-RTO watches the next ACKs.
    pub(super) fn enter_frto(&mut self) {
        self.set_x(x::FRTO2 | x::FRTO3, false);
        self.set_x(x::FRTO2, true);
    }

    /// Ends F-RTO: the next ACKs are ordinary ones.
    pub(super) fn end_frto(&mut self) {
        self.set_x(x::FRTO2 | x::FRTO3, false);
        if !self.ts_on() {
            // Eifel has no use for the saved window without timestamps.
            self.set_undo(None);
        }
    }

    /// Steps 2 and 3, after an acceptable ACK (slow path): `advanced`
    /// when it moved SND.UNA, `sacked_new` when it SACKed new data.
    pub(super) fn frto_on_ack(&mut self, advanced: bool, sacked_new: bool) {
        let mss = self.eff_mss();
        if self.xflag(x::FRTO2) {
            // Step 2: the retransmission acknowledged, data up to
            // "recover" not all, and new data that may go.
            // Data never sent: beyond SND.MAX, not merely beyond the
            // SND.NXT the timeout rewound (which leaves the whole flight
            // "unsent" and would take 2b with nothing new to send, the
            // resend then waiting for the next timeout).
            let new_data = self.tx.len() as u32 > self.snd_max.dist(self.tx_base())
                && self.snd_una.add(self.snd_wnd).after(self.snd_max)
                && !self.fin_queued();
            if advanced
                && self.snd_una.before(self.recover)
                && !self.snd_una.before(self.snd_nxt)
                && new_data
            {
                // 2b: up to two new segments, not more retransmissions.
                self.snd_nxt = self.snd_max;
                self.cwnd = self.flight().saturating_add(2 * mss);
                self.set_x(x::FRTO2, false);
                self.set_x(x::FRTO3, true);
            } else {
                // 2a: the conventional recovery goes on.
                self.end_frto();
            }
        } else if self.xflag(x::FRTO3) {
            if advanced || sacked_new {
                // 3b: never-retransmitted data arrived: spurious.
                if let Some(u) = self.undo() {
                    // The window before the timeout, not step 2b's.
                    self.cwnd = 0;
                    self.undo_timeout(u);
                }
                self.recover = self.snd_una;
            } else {
                // 3a: the loss was real: at most three segments, and the
                // go-back-N resend from SND.UNA.
                self.cwnd = self.cwnd.min(3 * mss);
                self.snd_nxt = self.snd_una;
            }
            self.end_frto();
        }
    }

    /// RFC 4015's response to a spurious timeout (Eifel or F-RTO): the
    /// window before the timeout (or the one since, if larger), new data
    /// next. The timeout's recovery point goes too: it was no loss, so a
    /// loss found later, even among the segments sent before it, starts
    /// fast recovery at once (RFC 6675) instead of waiting for SND.UNA to
    /// pass the "recover" of RFC 6582, which only the next timeout would
    /// do. Linux alike: after `tcp_try_undo_loss` the state is Open.
    pub(super) fn undo_timeout(&mut self, u: Undo) {
        self.cwnd = self.cwnd.max(u.cwnd);
        self.ssthresh = self.ssthresh.max(u.ssthresh);
        self.recover = self.snd_una;
        self.snd_nxt = self.snd_max;
        self.stats.rare().spurious_timeouts += 1;
        self.set_undo(None);
    }
}
