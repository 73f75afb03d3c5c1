//! SEGMENT ARRIVES (RFC 9293 §3.10.7), in the order the RFC gives, with
//! RFC 5961's challenge ACKs and RFC 7323's PAWS.

use super::{Connection, Probe, Storage, Timer};
use crate::error::CloseReason;
use crate::seq::SeqNum;
use crate::state::{Event, State};
use crate::time::Instant;
use crate::wire::{Flags, Segment, TcpOptions};

use super::actions::Actions;

/// PAWS gives up on a TS.Recent older than this (RFC 7323 §5.5: 24 days),
/// in the units of [`stamp`] (2^20 µs), rounded down.
const PAWS_IDLE: u32 = ((24 * 24 * 3600 * 1_000_000u64) >> 20) as u32;

/// `now` in units of 2^20 µs (about a second): when TS.Recent was
/// recorded (`ts_recent_stamp`), a shift rather than a division.
#[inline(always)]
pub(super) fn stamp(now: Instant) -> u32 {
    (now.as_micros() >> 20) as u32
}

impl<B: Storage> Connection<B> {
    /// Returns whether the segment left every timer that `arm_timers`
    /// keeps as it was (see [`fast_path`](Self::fast_path)), so that
    /// `finish` may skip re-arming them.
    pub(super) fn input(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) -> bool {
        self.input_inline(now, seg, a)
    }

    /// [`input`](Self::input) inlined into its caller, for
    /// `on_segment_ecn`: a predicted segment then costs one call less
    /// (the header-prediction test and the fast path in the entry point
    /// itself, everything else out of line in `input_unpredicted`).
    #[inline(always)]
    pub(super) fn input_inline(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        a: &mut Actions,
    ) -> bool {
        if self.state == State::Established
            && let Some(new_ack) = self.predict(seg)
        {
            return self.fast_path(now, seg, new_ack, Text::Copy, a);
        }
        self.input_unpredicted(now, seg, a);
        false
    }

    /// A segment header prediction did not take (or any segment outside
    /// ESTABLISHED).
    #[inline(never)]
    fn input_unpredicted(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        match self.state {
            // RFC 9293 §3.10.7.1: a closed connection is the Endpoint's to
            // answer (`reply_to_unknown`); the Connection says nothing more.
            State::Closed => self.cold_mut().rare.dropped += 1,
            State::Listen => self.input_listen(now, seg, a),
            State::SynSent => self.input_syn_sent(now, seg, a),
            _ => self.input_synchronized(now, seg, a),
        }
    }

    /// Header prediction (RFC 9293 §3.10.7 notes it; Van Jacobson's fast
    /// path): in ESTABLISHED, a segment with only ACK (and PSH) set, no SACK
    /// blocks, at exactly RCV.NXT, whose ACK is new or (with data, or
    /// nothing in flight) equal to SND.UNA, with no reassembly, SACK
    /// scoreboard, out-of-order FIN or fast recovery pending, and text that fits the
    /// receive ring whole. For such a segment every step of §3.10.7.4 has
    /// one outcome, taken by [`fast_path`](Self::fast_path): PAWS passes,
    /// the sequence test passes, no RST/SYN, the ACK is processed
    /// (SA-ACK-1..4), the text goes straight into the receive ring.
    ///
    /// Changes nothing. `Some(new_ack)` when the segment qualifies (whether
    /// its ACK is new); `None` when the full path must run.
    #[inline(always)]
    pub(super) fn predict(&self, seg: &Segment<'_>) -> Option<bool> {
        #[cfg(test)]
        if self.no_fast_path() {
            return None;
        }
        let len = seg.payload.len();
        let ack = seg.ack;
        // Only ACK, or ACK+PSH: no SYN, FIN, RST, URG, ECE, CWR.
        if seg.flags.0 & !Flags::PSH.0 != Flags::ACK.0
            || seg.seq != self.rcv_nxt
            || self.recv_slow()
            || !seg.options.sack.is_empty()
            || !self.sacked.is_empty()
            || !self.asm.is_empty()
            || ack.after(self.snd_max)
            || ack.before(self.snd_una)
        {
            return None;
        }
        if len > 0 && (!self.rcv_adv.after(self.rcv_nxt) || len > self.rx.free()) {
            // Zero window or more than fits: the full path trims or drops.
            return None;
        }
        let new_ack = ack.after(self.snd_una);
        if !new_ack && len == 0 && (self.flight() > 0 || self.tlp_out()) {
            // A possible duplicate ACK (RFC 5681 §2), or one that ends a
            // loss probe's episode (RFC 8985 §7.4: `tlp_dupack`).
            return None;
        }
        // RFC 7323 §5.3 PAWS: a TSval older than TS.Recent takes the full path.
        // (The segment's option first: without one, one test.)
        if let Some(ts) = seg.options.timestamps
            && self.ts_on()
            && (ts.val.wrapping_sub(self.ts_recent) as i32) < 0
        {
            return None;
        }
        Some(new_ack)
    }

    /// The outcome of every §3.10.7.4 step for a segment
    /// [`predict`](Self::predict) accepted (`new_ack` is its answer);
    /// `text` says where the segment's text is (see [`Text`]).
    ///
    /// Returns whether the timers `arm_timers` keeps are settled: nothing
    /// of ours is queued (no text; in ESTABLISHED no FIN), so nothing is
    /// or could be in flight, the ACK acknowledged nothing new, and the
    /// retransmission, persist and keep-alive timers stay as the last
    /// `finish` left them
    /// (the delayed-ACK and keep-alive restarts this segment makes are
    /// set here directly). A receiver's in-order text, the common case of
    /// bulk transfer, takes this way; `finish` checks the claim in debug
    /// builds.
    #[inline(always)]
    pub(super) fn fast_path(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        new_ack: bool,
        text: Text,
        a: &mut Actions,
    ) -> bool {
        // In ESTABLISHED no FIN is queued, and an ACK can be new only
        // while data of ours is in flight, that is in `tx`.
        let settled = self.tx.is_empty();
        debug_assert!(!self.fin_queued());
        debug_assert!(!settled || !new_ack);
        let len = seg.payload.len();
        // Any segment from the peer shows it is alive (RFC 1122 §4.2.3.6).
        self.touch_keepalive(now);
        // RFC 7323 §4.3.
        self.update_ts_recent(now, seg);
        // Fifth: the ACK field (SA-ACK-1..4); the probes are answered.
        self.zwp_unanswered = 0;
        let old_wnd = self.snd_wnd;
        if new_ack {
            self.new_ack(now, seg, a);
            self.sent_log.trim(self.snd_una, self.snd_max);
        }
        self.update_send_window(seg, old_wnd, new_ack);
        if len == 0 {
            return settled;
        }
        // Seventh: the text, in order, into the receive ring at once.
        let plen = self.rcv_mss_sample(len, seg);
        if plen > self.rcv_mss_est {
            self.rcv_mss_est = plen;
        }
        // `predict` saw the text fit the ring whole.
        let n = match text {
            Text::Copy => {
                self.rx.enqueue_fitting(seg.payload);
                len
            }
            Text::Staged => self.rx.commit_unallocated(len),
            Text::Delivered => len,
        } as u32;
        self.data_arrived(now, n, false, a);
        settled
    }

    /// RFC 9293 §3.10.7.2.
    #[cold]
    #[inline(never)]
    fn input_listen(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        // First, check for a RST: ignore it.
        if seg.flags.rst() {
            self.cold_mut().rare.dropped += 1;
            return;
        }
        // Second, an ACK: <SEQ=SEG.ACK><CTL=RST>.
        if seg.flags.ack() {
            self.set_pending_rst(Some((seg.ack, None)));
            self.cold_mut().rare.dropped += 1;
            return;
        }
        // Third, a SYN.
        if !seg.flags.syn() {
            // Fourth, anything else: drop.
            self.cold_mut().rare.dropped += 1;
            return;
        }
        // ISS = M + F(): the listener's secret offset plus a 4 µs clock
        // (RFC 9293 §3.4.1 MUST-8, RFC 6528).
        let clock = (now.as_micros() / 4) as u32;
        let iss = self.rcv_up.add(clock);
        self.accept_syn(now, seg, iss);
        self.goto(Event::RcvSyn, State::SynReceived, a);
        // Note: data on a SYN is not queued (as Linux without TFO does); the
        // peer retransmits it after the handshake because we do not ACK it.
    }

    /// Records a peer's SYN: IRS, options, and our ISS (RFC 9293 §3.10.7.2, §3.10.7.3).
    pub(super) fn accept_syn(&mut self, now: Instant, seg: &Segment<'_>, iss: SeqNum) {
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq.add(1);
        self.rcv_adv = self.rcv_nxt;
        self.last_ack_sent = self.rcv_nxt;
        self.iss = iss;
        self.snd_una = iss;
        self.snd_nxt = iss; // the SYN+ACK is still to be sent
        self.snd_max = iss;
        // As reset_tcb does for an active open: "recover" starts at ISS
        // (RFC 6582 §3.2 step 1), or SND.UNA >= recover, which gates
        // entering fast recovery, is false for any ISS in the upper half
        // of the sequence space.
        self.recover = iss;
        self.high_rxt = iss;
        self.snd_sml = iss;
        // HyStart++'s round (and the cwnd_limited window) start here, as
        // set_iss starts them for an active open: a round end left at the
        // listener's seed may lie ahead of every SND.UNA of the connection.
        self.hs_window_end = iss;
        #[cfg(feature = "alloc")]
        {
            self.cl_max = 0;
        }
        self.reset_dsack_round(iss);
        self.set_syn_acked(false);
        self.negotiate(now, &seg.options, seg.seq);
        // RFC 3168 §6.1.1: an ECN-setup SYN has ECE and CWR.
        self.set_ecn_on(self.cfg.ecn() && seg.flags.contains(Flags::ECE | Flags::CWR));
        // RFC 7323 §2.2: the window in a SYN is never scaled.
        self.snd_wnd = u32::from(seg.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        self.ts_offset = iss.0.rotate_left(13);
    }

    /// Takes the peer's SYN options (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
    fn negotiate(&mut self, now: Instant, o: &TcpOptions, seq: SeqNum) {
        // MUST-15: no MSS option means 536 (IPv4) or 1220 (IPv6).
        let mss = o.mss.unwrap_or(self.cfg.default_peer_mss);
        // §3.7.1: Eff.snd.MSS = min(SendMSS + 20, MMS_S) - 20, and our own
        // MSS is MMS_S - 20: never send segments larger than our MTU allows.
        self.smss = mss.min(self.cfg.mss).max(self.cfg.min_peer_mss).max(1);
        // RFC 1191: no larger than the path MTU an ICMP error reported in
        // SYN-SENT allows (`icmp.rs`).
        let pmtu = self.pmtu_mss();
        if pmtu != 0 {
            self.smss = self.smss.min(pmtu);
        }
        // RFC 7323 §2.2-2.3: both sides must send the option; a shift above 14
        // is taken as 14.
        match (self.cfg.window_scaling(), o.window_scale) {
            (true, Some(s)) => {
                self.set_ws_on(true);
                self.snd_wscale = s.min(14);
                self.rcv_wscale = self.our_wscale();
            }
            _ => {
                self.set_ws_on(false);
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
            }
        }
        self.set_sack_on(self.cfg.sack() && o.sack_permitted);
        match (self.cfg.timestamps(), o.timestamps) {
            (true, Some(ts)) => {
                self.set_ts_on(true);
                self.ts_recent = ts.val;
                self.ts_recent_stamp = stamp(now);
            }
            _ => self.set_ts_on(false),
        }
        let _ = seq;
        self.init_cwnd();
    }

    /// The window-scale shift we offer: the smallest that lets the whole
    /// receive buffer be advertised (RFC 7323 §2.3), at most 14, and
    /// small enough that the receive buffer holds two units of it: the
    /// window is rounded down to whole units (RFC 7323 §2.4), so a buffer
    /// smaller than one unit could never advertise anything but zero
    /// (`Config::wscale_buffer` asks for the shift of a larger buffer).
    pub(super) fn our_wscale(&self) -> u8 {
        if !self.cfg.window_scaling() {
            return 0;
        }
        let rx = self.rx.capacity();
        let cap = rx.max(self.cfg.wscale_buffer().unwrap_or(0));
        let mut s = 0u8;
        while s < 14 && (cap >> s) > 0xffff && (rx >> (s + 1)) >= 2 {
            s += 1;
        }
        s
    }

    /// RFC 9293 §3.10.7.3.
    /// `Config::synack_tsecr_check`: a SYN,ACK whose TSecr is not zero
    /// and after our TSval now echoes nothing we sent (our SYN offered
    /// timestamps).
    fn synack_tsecr_unsent(&self, now: Instant, seg: &Segment<'_>) -> bool {
        self.cfg.synack_tsecr_check()
            && self.cfg.timestamps()
            && seg
                .options
                .timestamps
                .is_some_and(|t| t.ecr != 0 && (t.ecr.wrapping_sub(self.ts_val(now)) as i32) > 0)
    }

    fn input_syn_sent(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        let f = seg.flags;
        // First, the ACK bit.
        if f.ack() {
            // SEG.ACK =< ISS or SEG.ACK > SND.NXT: unacceptable.
            if seg.ack.before_eq(self.iss) || seg.ack.after(self.snd_max) {
                if !f.rst() {
                    self.set_pending_rst(Some((seg.ack, None)));
                }
                self.cold_mut().rare.dropped += 1;
                return;
            }
            if !f.rst() && f.syn() && self.synack_tsecr_unsent(now, seg) {
                // Config::synack_tsecr_check (Linux's active-side PAWS,
                // tcp_rcv_synsent_state_process): reset it, stay here.
                self.set_pending_rst(Some((seg.ack, None)));
                self.cold_mut().rare.dropped += 1;
                return;
            }
        }
        // Second, the RST bit.
        if f.rst() {
            if f.ack() {
                // An acceptable ACK: the peer refused (SA-SS-3). Note: RFC 5961
                // §3.2's SEG.SEQ == RCV.NXT cannot be checked before a SYN is
                // seen (RCV.NXT is undefined); like Linux, the ACK suffices.
                self.close_with(Event::RcvRst, CloseReason::Refused, a);
            } else {
                self.cold_mut().rare.dropped += 1;
            }
            return;
        }
        // Fourth, the SYN bit.
        if !f.syn() {
            // Fifth: neither SYN nor RST.
            self.cold_mut().rare.dropped += 1;
            return;
        }
        let iss = self.iss;
        let snd_nxt = self.snd_nxt;
        let snd_max = self.snd_max;
        // The SYN went out with this offset: keep it, whoever chose it
        // (RFC 7323 §5.4; the Endpoint sets one per address pair).
        let ts_offset = self.ts_offset;
        self.accept_syn(now, seg, iss);
        // RCV.WND is what our SYN offered (its window, unscaled, from
        // RCV.NXT = IRS + 1, RFC 9293 §3.10.7.3; Linux's rcv_wup and
        // rcv_wnd): data the peer sends before our ACK of its SYN goes out
        // (a Fast Open server's reply, a host that reads a batch before it
        // polls) is in the window. Nothing was received since the SYN.
        self.rcv_adv = self.rcv_nxt.add(self.rx.free().min(0xffff) as u32);
        self.snd_nxt = snd_nxt;
        self.snd_max = snd_max;
        self.ts_offset = ts_offset;
        // RFC 3168 §6.1.1: an ECN-setup SYN-ACK has ECE and not CWR.
        self.set_ecn_on(
            self.cfg.ecn() && f.contains(Flags::ECE) && !f.contains(Flags::CWR) && f.ack(),
        );
        if f.ack() {
            // Our SYN is acknowledged: ESTABLISHED (SA-SS-7).
            self.set_snd_una(seg.ack);
            if self.fast_open() {
                self.fast_open_synack();
            }
            self.set_syn_acked(true);
            self.rtt_on_ack(now, seg);
            self.retries = 0;
            self.after_handshake();
            // The last segment received (tcp_info's last_ack_recv and,
            // until data arrives, last_data_recv: Linux's tcp_finish_connect
            // dates both from the SYN,ACK).
            self.last_rcv = self.stamp(now);
            self.goto(Event::RcvSynAck, State::Established, a);
            self.set_ack_now(true);
            if self.cfg.quickack > 0 && self.unsent() > 0 && self.snd_max == self.snd_una {
                // Data waited for the handshake (a Fast Open write, or one
                // queued in SYN-SENT; not SYN data sent again): it goes at
                // once with the ACK, and
                // as Linux (a write pending at the SYN,ACK starts its
                // delayed-ACK clock; the data is a reply within it) the
                // connection is interactive from now on.
                self.set_pingpong(true);
            }
            a.set_writable();
            // Step 6: URG, its pointer counted from the SYN's SEQ.
            if f.urg() {
                self.urgent_in(seg, a);
            }
            // Data or FIN on the SYN+ACK continue at step 7 with SEQ+1.
            // (Steps 7 and 8 read no flag but FIN: the SYN bit may stay.)
            if !seg.payload.is_empty() || f.fin() {
                let rest = Segment {
                    seq: seg.seq.add(1),
                    ..*seg
                };
                self.text_and_fin(now, &rest, a);
            }
        } else {
            // Simultaneous open (SA-SS-8, MUST-10): SYN,ACK with our ISS.
            self.snd_nxt = self.iss;
            self.goto(Event::RcvSyn, State::SynReceived, a);
        }
    }

    /// Steps 1-8 of RFC 9293 §3.10.7.4 for every synchronized state.
    fn input_synchronized(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        let f = seg.flags;
        // Any segment from the peer shows it is alive (RFC 1122 §4.2.3.6).
        self.touch_keepalive(now);

        // RFC 7323 §5.3 PAWS, before the sequence test.
        if self.ts_on()
            && !f.rst()
            && let Some(ts) = seg.options.timestamps
            && (ts.val.wrapping_sub(self.ts_recent) as i32) < 0
            && stamp(now).saturating_sub(self.ts_recent_stamp) < PAWS_IDLE
        {
            self.cold_mut().rare.dropped += 1;
            self.ack_unacceptable(now, seg);
            return;
        }

        // First: sequence number acceptability (Table 6).
        if !self.acceptable(seg) {
            self.unacceptable(now, seg, a);
            return;
        }

        // RFC 7323 §4.3: TS.Recent from a segment that covers Last.ACK.sent,
        // and only if its ACK is acceptable: a segment acknowledging data
        // never sent (SEG.ACK > SND.NXT, which is dropped in step 5) must
        // not move it (RFC 7323 §4.3 with Appendix D; Linux updates it in
        // tcp_ack only for an acceptable ACK).
        if !f.rst() && (!f.ack() || seg.ack.before_eq(self.snd_max)) {
            self.update_ts_recent(now, seg);
        }

        // Second: the RST bit (RFC 5961 §3.2).
        if f.rst() {
            if seg.seq == self.rcv_nxt {
                self.reset_by_peer(a);
            } else {
                self.challenge_ack(now);
            }
            return;
        }

        // Third: security/compartment: tcpstate has none (SA-SEC-1).

        // Fourth: the SYN bit.
        if f.syn() {
            if self.state == State::SynReceived && self.passive() && !self.fast_open() {
                // Return to LISTEN (RFC 9293 §3.10.7.4 step 4). Not a Fast
                // Open child: the application holds it and may have read
                // the SYN's data; it is answered as a synchronized
                // connection is, as Linux answers its full socket.
                self.back_to_listen(Event::RcvSyn, a);
            } else {
                // RFC 5961 §4.2 (SA-SYN-3): challenge ACK, whatever SEG.SEQ.
                self.challenge_ack(now);
            }
            return;
        }

        // Fifth: the ACK field.
        if !f.ack() {
            self.cold_mut().rare.dropped += 1;
            return;
        }
        // The ACK of our SYN, which moves SND.UNA past it below: never a
        // duplicate ACK in step 5, whatever it leaves in flight.
        let mut syn_ack = false;
        if self.state == State::SynReceived {
            if seg.ack.after(self.snd_una) && seg.ack.before_eq(self.snd_max) {
                let wnd = u32::from(seg.window) << self.snd_wscale;
                self.syn_ack_received(now, seg, wnd, a);
                syn_ack = true;
            } else {
                // <SEQ=SEG.ACK><CTL=RST> (SA-ACK-2).
                self.set_pending_rst(Some((seg.ack, None)));
                self.cold_mut().rare.dropped += 1;
                return;
            }
        } else if !self.syn_acked() {
            // FIN-WAIT-1 entered from SYN-RECEIVED before our SYN was acked.
            if seg.ack.after(self.snd_una) && seg.ack.before_eq(self.snd_max) {
                // The SYN takes one sequence number: SND.UNA moves past it
                // here, so that step 5 below sees only what the ACK covers
                // beyond the SYN (our FIN, if at all).
                self.set_snd_una(self.iss.add(1));
                self.set_syn_acked(true);
                self.retries = 0;
                self.after_handshake();
                a.set_writable();
                syn_ack = true;
            } else {
                self.set_pending_rst(Some((seg.ack, None)));
                self.cold_mut().rare.dropped += 1;
                return;
            }
        }
        if self.ecn_on() {
            self.ecn_input(now, seg);
        }
        if !self.process_ack(now, seg, syn_ack, a) {
            return;
        }
        if self.state == State::Closed {
            return;
        }

        // Sixth: URG (`urgent.rs`; the data stays in line, RFC 6093).
        if f.urg() {
            self.urgent_in(seg, a);
        }

        // Seventh and eighth: text and FIN.
        self.text_and_fin(now, seg, a);

        // FIN-WAIT-1 whose FIN is acknowledged and no FIN arrived: FIN-WAIT-2.
        if self.state == State::FinWait1 && self.fin_acked() {
            self.goto(Event::RcvAck, State::FinWait2, a);
        }
    }

    /// SND.UNA moves up to `una` (past our SYN, or over new data in
    /// `new_ack`). SND.NXT moves with it when a timeout rewound it (to the
    /// SYN, RFC 6298 §5.4, or go-back-N) and the ACK of what was first
    /// sent arrived before the retransmission went out: SND.UNA =< SND.NXT =< SND.MAX always holds (RFC 9293
    /// §3.3.1), and SND.NXT below SND.UNA would send from a place that is
    /// no longer in the send buffer.
    fn set_snd_una(&mut self, una: SeqNum) {
        self.snd_una = una;
        if self.snd_nxt.before(una) {
            self.snd_nxt = una;
        }
    }

    /// SYN-RECEIVED: the ACK of our SYN (SND.UNA < SEG.ACK =< SND.NXT,
    /// RFC 9293 §3.10.7.4 step 5) with the peer's window `wnd`: SND.UNA,
    /// SND.WND, SND.WL1/WL2 from it, and ESTABLISHED.
    fn syn_ack_received(&mut self, now: Instant, seg: &Segment<'_>, wnd: u32, a: &mut Actions) {
        let syn_only = self.iss.add(1);
        // A Fast Open server sent data before the handshake completed
        // (RFC 7413 §4.2.2) and the ACK covers some: SND.UNA moves past
        // the SYN here, and step 5 takes the data's share (freeing it from
        // the send buffer, with the RTT sample).
        let data_acked = self.passive() && seg.ack.after(syn_only);
        self.set_snd_una(if data_acked { syn_only } else { seg.ack });
        if self.fast_open() && !self.passive() {
            // A simultaneous open after our Fast Open SYN.
            self.fast_open_synack();
        }
        self.set_syn_acked(true);
        self.snd_wnd = wnd;
        self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        if !data_acked {
            self.rtt_on_ack(now, seg);
        }
        self.retries = 0;
        self.after_handshake();
        self.goto(Event::RcvAck, State::Established, a);
        a.set_writable();
    }

    /// A segment that fails the sequence test (RFC 9293 §3.10.7.4 first
    /// step, Table 6), with the special cases that still act on it. Rare on
    /// a healthy connection: out of line, so that the common path of
    /// `input_synchronized` stays small in the instruction cache.
    #[cold]
    #[inline(never)]
    fn unacceptable(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        let f = seg.flags;
        self.cold_mut().rare.dropped += 1;
        if f.rst() {
            return; // SA-SEQ-6: drop silently.
        }
        // Simultaneous open (RFC 9293 Figure 8, line 6): the peer's
        // SYN,ACK repeats its SYN (one below RCV.NXT) and acknowledges
        // ours. Its ACK is what matters: ESTABLISHED.
        if self.state == State::SynReceived
            && !self.passive()
            && f.syn()
            && f.ack()
            && seg.seq == self.irs
            && seg.ack.after(self.snd_una)
            && seg.ack.before_eq(self.snd_max)
        {
            self.cold_mut().rare.dropped -= 1;
            // The window of a SYN is never scaled (RFC 7323 §2.2).
            self.syn_ack_received(now, seg, u32::from(seg.window), a);
            // Its SYN is a duplicate: acknowledged (step 1: an unacceptable
            // segment gets an ACK), with a D-SACK block for it (RFC 2883
            // §4), as Linux's tcp_data_queue does.
            self.set_dsack(Some((seg.seq, seg.seq.add(1))));
            self.set_ack_now(true);
            return;
        }
        // A retransmitted SYN in SYN-RECEIVED: our SYN,ACK was lost. It
        // goes again, so the ACK of it will be ambiguous: no RTT sample
        // (RFC 6298 §3, Karn, MUST-18; Linux's `tcp_synack_rtt_meas`
        // takes none once `num_retrans` counted the resend).
        if self.state == State::SynReceived && f.syn() && !f.ack() && seg.seq == self.irs {
            self.snd_nxt = self.iss;
            self.rtt_sample = super::timers::RttSample::NONE;
            return;
        }
        // TIME-WAIT: a retransmitted FIN is ACKed and restarts 2MSL
        // (RFC 9293 §3.10.7.4 step 8, SA-FIN-7).
        if self.state == State::TimeWait && f.fin() && seg.seq.add(seg.seg_len()) == self.rcv_nxt {
            self.set_ack_now(true);
            self.goto(Event::RcvFin, State::TimeWait, a);
            return;
        }
        if !seg.payload.is_empty() || f.fin() {
            // The sequence space the segment occupies, its FIN included.
            let end = seg.seq.add(seg.payload.len() as u32 + u32::from(f.fin()));
            if end.before_eq(self.rcv_nxt) {
                // A duplicate: D-SACK it (RFC 2883 §4: the block is the
                // duplicate segment's sequence space; a repeated FIN, alone
                // or after its data, is reported as Linux's tcp_data_queue
                // does).
                self.set_dsack(Some((seg.seq, end)));
            }
        }
        // RFC 9293 §3.10.7.4: with RCV.WND zero "special allowance should
        // be made to accept valid ACKs": the text is dropped, the ACK
        // field of a segment at RCV.NXT is still processed.
        if self.rcv_adv.before_eq(self.rcv_nxt)
            && seg.seq == self.rcv_nxt
            && f.ack()
            && !f.syn()
            && self.syn_acked()
        {
            self.set_ack_now(true);
            if self.process_ack(now, seg, false, a) {
                // MUST-66: URG too, whatever the window.
                if f.urg() {
                    self.urgent_in(seg, a);
                }
                if self.state == State::FinWait1 && self.fin_acked() {
                    self.goto(Event::RcvAck, State::FinWait2, a);
                }
            }
            return;
        }
        self.ack_unacceptable(now, seg);
    }

    /// An ACK at or past the end of a loss probe's episode (RFC 8985
    /// §7.4, as Linux's `tcp_process_tlp_ack`). A probe of new data ends
    /// it. A retransmission ends it as spurious when a D-SACK reports the
    /// duplicate; an ACK past the probe without one says the probe
    /// repaired a loss, and congestion control reduces the window once
    /// (RFC 8985 §7.4.2: the loss was real). An ACK of exactly the probe
    /// waits: the D-SACK may come on the next one.
    #[cold]
    #[inline(never)]
    fn tlp_acked(&mut self, now: Instant, seg: &Segment<'_>) {
        if !self.sent_log.tlp_retrans() || self.dsack_of_probe(seg) {
            self.set_tlp_out(false);
        } else if self.snd_una.after(self.cold().tlp_high) {
            self.set_tlp_out(false);
            let w = self.window();
            self.ssthresh =
                super::congestion::CongestionControl::on_congestion(&mut self.cc, w, now);
            self.cwnd = self.ssthresh;
        }
    }

    /// A duplicate ACK while a retransmitted probe's episode is on (RFC
    /// 8985 §7.4; Linux `tcp_process_tlp_ack`): a D-SACK of the probe, or
    /// a pure duplicate ACK (the probe and its original both arrived), ends
    /// it with no reduction.
    #[cold]
    #[inline(never)]
    fn tlp_dupack(&mut self, seg: &Segment<'_>, sacked_new: bool) {
        if self.dsack_of_probe(seg) || (seg.payload.is_empty() && !seg.flags.fin() && !sacked_new) {
            self.set_tlp_out(false);
        }
    }

    /// The first SACK block is a D-SACK of the probe's retransmission: it
    /// ends where the probe ended (RFC 2883 §4).
    fn dsack_of_probe(&self, seg: &Segment<'_>) -> bool {
        matches!(seg.options.sack.as_slice(), [(l, r), ..] if *r == self.cold().tlp_high
            && l.before(*r)
            && r.before_eq(seg.ack))
    }

    /// ECN signals on an acceptable segment (RFC 3168 §6.1.2, §6.1.3).
    fn ecn_input(&mut self, now: Instant, seg: &Segment<'_>) {
        if seg.flags.contains(Flags::CWR) {
            self.set_ece_pending(false);
        }
        // ECE: reduce once per window of data (RFC 3168 §6.1.2).
        if seg.flags.contains(Flags::ECE)
            && self.flight() > 0
            && !self.in_reduction()
            && self.snd_una.after_eq(self.recover)
        {
            let mss = self.eff_mss();
            let linux_cwr = cfg!(feature = "alloc") && self.cfg.linux_cwr();
            let w = super::congestion::Window {
                cwnd: if linux_cwr {
                    self.cwnd_to_reduce()
                } else {
                    self.cwnd.min(self.flight().max(mss))
                },
                ssthresh: self.ssthresh,
                mss,
            };
            self.ssthresh =
                super::congestion::CongestionControl::on_congestion(&mut self.cc, w, now);
            // Config::linux_cwr: cwnd comes down by PRR, from this ACK on
            // (Linux's CWR state); else at once.
            #[cfg(feature = "alloc")]
            if linux_cwr {
                self.enter_cwr();
            }
            if !linux_cwr {
                self.cwnd = self.ssthresh;
            }
            self.recover = self.snd_max;
            self.set_cwr_pending(true);
            self.cold_mut().rare.ecn_reductions += 1;
        }
    }

    /// Table 6 of RFC 9293 §3.10.7.4 (SA-SEQ-1..4), modulo 2^32.
    fn acceptable(&self, seg: &Segment<'_>) -> bool {
        let len = seg.seg_len();
        let wnd = self.rcv_adv.dist(self.rcv_nxt).min(i32::MAX as u32);
        let wnd = if self.rcv_adv.before(self.rcv_nxt) {
            0
        } else {
            wnd
        };
        match (len, wnd) {
            (0, 0) => seg.seq == self.rcv_nxt,
            (0, w) => seg.seq.in_window(self.rcv_nxt, w),
            (_, 0) => false,
            (l, w) => {
                seg.seq.in_window(self.rcv_nxt, w) || seg.seq.add(l - 1).in_window(self.rcv_nxt, w)
            }
        }
    }

    /// An unacceptable segment: `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`.
    /// Segments without data are answered at most at the challenge-ACK rate
    /// (as Linux's `tcp_oow_rate_limited`: a pure ACK loop cannot form).
    #[cold]
    #[inline(never)]
    fn ack_unacceptable(&mut self, now: Instant, seg: &Segment<'_>) {
        if seg.payload.is_empty() && !seg.flags.fin() {
            self.challenge_ack(now);
        } else {
            self.set_ack_now(true);
        }
    }

    /// A challenge ACK, rate-limited (RFC 5961 §7).
    #[cold]
    #[inline(never)]
    pub(super) fn challenge_ack(&mut self, now: Instant) {
        // Milliseconds, wrapping (4 bytes of TCB rather than 8): after
        // 49.7 days without a challenge ACK, one interval may be taken as
        // still running (a burst suppressed once, never one too many).
        let interval = self.cfg.challenge_ack_interval().as_millis();
        let now_ms = now.as_millis() as u32;
        let cold = self.cold_mut();
        if u128::from(now_ms.wrapping_sub(cold.challenge_at_ms)) >= interval
            || cold.challenge_at_ms == 0
        {
            // 0 is "never": an interval that starts at 0 starts at 1 ms.
            cold.challenge_at_ms = now_ms.max(1);
            self.challenge_n = 0;
        }
        if self.challenge_n < self.cfg.challenge_ack_burst {
            self.challenge_n += 1;
            self.cold_mut().rare.challenge_acks += 1;
            self.set_ack_now(true);
        } else {
            self.cold_mut().rare.challenge_acks_suppressed += 1;
        }
    }

    /// An acceptable RST (RFC 9293 §3.10.7.4 step 2, SA-RST-4..7).
    #[cold]
    #[inline(never)]
    fn reset_by_peer(&mut self, a: &mut Actions) {
        match self.state {
            // A Fast Open child (RFC 7413 §4.2.2) was given to the
            // application with the SYN's data: it is reset, not taken
            // back to LISTEN, and that data stays readable (Linux's
            // tcp_reset: ECONNRESET).
            State::SynReceived if self.passive() && self.fast_open() => {
                self.close_with(Event::RcvRst, CloseReason::Reset, a)
            }
            State::SynReceived if self.passive() => self.back_to_listen(Event::RcvRst, a),
            State::SynReceived => self.close_with(Event::RcvRst, CloseReason::Refused, a),
            State::TimeWait => {
                // RFC 1337: ignore RST in TIME-WAIT when protection is on.
                if self.cfg.rfc1337() {
                    self.cold_mut().rare.dropped += 1;
                } else {
                    self.close_with(Event::RcvRst, CloseReason::Normal, a);
                }
            }
            _ => self.close_with(Event::RcvRst, CloseReason::Reset, a),
        }
    }

    /// SYN-RECEIVED of a passive open back to LISTEN: forget the peer.
    #[cold]
    #[inline(never)]
    pub(super) fn back_to_listen(&mut self, event: Event, a: &mut Actions) {
        self.goto(event, State::Listen, a);
        // The next SYN gets ISS = the listener's seed + the clock again.
        self.timers = [Instant::MAX; super::timers::COUNT];
        self.rx.clear();
        self.tx.clear();
        self.asm.clear();
        self.set_ack_now(false);
        self.set_syn_acked(false);
        self.set_fin_queued(false);
        self.set_fin_received(false);
        self.set_fin_acked(false);
        self.set_rcv_fin(None);
        // The next SYN is a new attempt: the RTO backed off by this one's
        // SYN,ACK retries, and its "SYN resent" mark, go.
        self.reset_timing();
        self.set_pending_rst(None);
    }

    /// Step 5 for the synchronized states (RFC 9293 §3.10.7.4, SA-ACK-1..10).
    /// `syn_ack`: the segment acknowledged our SYN (SND.UNA already moved
    /// past it), so it is no duplicate ACK (RFC 5681 §2; Linux's
    /// FLAG_SYN_ACKED). Returns false when the segment is to be dropped.
    fn process_ack(
        &mut self,
        now: Instant,
        seg: &Segment<'_>,
        syn_ack: bool,
        a: &mut Actions,
    ) -> bool {
        let ack = seg.ack;
        // SEG.ACK > SND.NXT: ACK and drop (acks something not yet sent).
        if ack.after(self.snd_max) {
            self.cold_mut().rare.dropped += 1;
            self.challenge_ack(now);
            return false;
        }
        // RFC 5961 §5.2: SEG.ACK below SND.UNA - MAX.SND.WND is a blind
        // injection attempt: drop and ACK.
        if ack.before(self.snd_una.sub(self.max_snd_wnd.max(1))) {
            self.cold_mut().rare.dropped += 1;
            self.challenge_ack(now);
            return false;
        }
        // An acceptable ACK answers our probes (MUST-37: a peer that keeps
        // answering may keep its window shut forever, as Linux's probes_out).
        self.zwp_unanswered = 0;
        if self.uncommon() {
            // Held data goes again (`txfail.rs`, Linux's tcp_ack_probe).
            self.release_held();
        }
        let old_wnd = self.snd_wnd;
        // What was delivered before this ACK (for RACK's "delivered").
        let (old_una, high_before) = (self.snd_una, self.high_sacked());
        // RFC 9937 DeliveredData: SND.UNA's advance plus the change in
        // SACKed bytes (without SACK, in the duplicate-ACK estimate).
        let held_before = self.held_by_peer();
        // Reordering (Linux's `tcp_clean_rtx_queue`): the lowest byte
        // this ACK acknowledges that was neither SACKed nor retransmitted,
        // when something above it had been SACKed: a hole filled by its
        // original.
        let filled = match high_before {
            Some(high) if ack.after(old_una) => {
                let from = self.rtx_frontier().dist(old_una);
                self.first_unsacked(from, ack.dist(old_una))
                    .map(|o| old_una.add(o))
                    .filter(|s| s.before(high))
            }
            _ => None,
        };
        let mut sacked_new = false;
        let low_sacked;
        if ack.after(self.snd_una) {
            self.new_ack(now, seg, a);
            low_sacked = self.take_sack_blocks(seg);
        } else {
            let before = self.sacked.covered();
            low_sacked = self.take_sack_blocks(seg);
            sacked_new = self.sacked.covered() > before;
            // A duplicate ACK (RFC 5681 §2), or one that SACKs new data
            // (RFC 6675 §2).
            if ack == self.snd_una
                && !syn_ack
                && self.flight() > 0
                && (sacked_new
                    || (seg.payload.is_empty()
                        && !seg.flags.fin()
                        && (u32::from(seg.window) << self.snd_wscale) == old_wnd))
            {
                self.on_dupack(now);
            }
            if self.tlp_out() && ack.after_eq(self.cold().tlp_high) && self.sent_log.tlp_retrans() {
                self.tlp_dupack(seg, sacked_new);
            }
        }
        // RFC 2883 §4: a first SACK block below SEG.ACK, or inside the
        // second, reports a duplicate: RACK's reordering window grows
        // (RFC 8985 §6.2.4). Not for the duplicate of a loss probe (it
        // ends at SND.MAX as the probe was sent): a probe's original
        // often arrives, which says nothing of reordering (Linux's
        // `tcp_dsack_seen` skips it too).
        if self.sack_on()
            && let [(l, r), rest @ ..] = seg.options.sack.as_slice()
            && l.before(*r)
            && *r != self.cold().tlp_high
            && (r.before_eq(ack)
                || rest
                    .first()
                    .is_some_and(|(l2, r2)| l2.before_eq(*l) && r.before_eq(*r2)))
        {
            self.rack_on_dsack();
        }
        // Reordering (Linux's `tcp_sacktag_write_queue`): a newly SACKed
        // byte, sent once, below what was SACKed before this ACK.
        if let (Some(low), Some(high)) = (low_sacked, high_before)
            && low.before(high)
        {
            self.check_sack_reordering(low);
        }
        if let Some(low) = filled {
            self.check_sack_reordering(low);
        }
        // F-RTO steps 2 and 3 (RFC 5682, `frto.rs`).
        if self.uncommon() {
            self.frto_on_ack(ack.after(old_una), sacked_new);
        }
        // RFC 8985 §6.2: the end of the newest data this ACK delivered.
        let mut delivered = ack.after(old_una).then_some(ack);
        if let Some(high) = self.high_sacked()
            && high_before.is_none_or(|b| high.after(b))
        {
            delivered = Some(delivered.map_or(high, |d| d.max(high)));
        }
        self.rack_on_ack(now, delivered, a);
        self.detect_lost_retransmissions();
        // RFC 6675 §5: enough SACKed above SND.UNA means loss, whatever
        // the duplicate-ACK count.
        if !self.in_recovery() && self.sack_loss_detected() && self.snd_una.after_eq(self.recover) {
            self.enter_recovery(now);
        }
        if self.in_reduction() {
            let acked = ack.dist(old_una).min(i32::MAX as u32);
            let held = i64::from(self.held_by_peer()) - i64::from(held_before);
            // Without SACK a duplicate ACK delivers one segment, and an
            // ACK of new data what it acknowledges (RFC 9937): the
            // estimate it uses up is not taken back.
            let held = if self.sack_on() { held } else { held.max(0) };
            let delivered = (i64::from(acked) + held).clamp(0, i64::from(u32::MAX)) as u32;
            self.prr_ack(delivered, ack.after(old_una));
        } else if sacked_new && ack == old_una {
            // Not acknowledging new data, but SACKing it (`sack.rs`).
            self.sack_grows_cwnd(held_before, now);
        }
        self.update_send_window(seg, old_wnd, ack.after(old_una));
        if self.uncommon() {
            self.urgent_acked();
            self.mtu_on_ack(now);
        }
        match self.state {
            State::Closing if self.fin_acked() => {
                self.goto(Event::RcvAck, State::TimeWait, a);
            }
            State::LastAck if self.fin_acked() => {
                self.close_with(Event::RcvAck, CloseReason::Normal, a);
                return false;
            }
            _ => {}
        }
        true
    }

    /// Window update (RFC 9293 §3.10.7.4 step 5, SA-ACK-4): only from a
    /// segment newer than the last one that set the window (SND.WL1/WL2),
    /// or from one whose ACK moved SND.UNA (`advanced`), as Linux's
    /// `tcp_may_update_window`. The WL1/WL2 test exists to keep old
    /// segments from setting the window (RFC 9293 §3.10.7.4), and an ACK
    /// that acknowledges new data is the newest news of the peer's receive
    /// buffer whatever its SEG.SEQ: a peer's retransmission that fills a
    /// hole carries a SEG.SEQ below SND.WL1 and the window of now. Without
    /// this the window it shrinks to is ignored while SND.UNA moves, so
    /// the old SND.WND counted from the new SND.UNA lets us send past the
    /// peer's right edge (two tcpstate peers echoing at 2 % loss deadlocked
    /// that way: `a_window_that_comes_with_a_filled_hole_is_obeyed` in
    /// tests/segment_arrival.rs).
    #[inline]
    fn update_send_window(&mut self, seg: &Segment<'_>, old_wnd: u32, advanced: bool) {
        let ack = seg.ack;
        if advanced
            || self.snd_wl1.before(seg.seq)
            || (self.snd_wl1 == seg.seq && self.snd_wl2.before_eq(ack))
        {
            self.snd_wnd = u32::from(seg.window) << self.snd_wscale;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
            self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
            if self.snd_wnd > 0 {
                self.zwp_probes = 0;
                if self.probe == Probe::ZeroWindow {
                    self.probe = Probe::None;
                }
                if old_wnd == 0 {
                    self.clear_timer(Timer::Persist);
                }
            }
        }
    }

    /// SND.UNA < SEG.ACK =< SND.NXT: new data acknowledged.
    fn new_ack(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        let acked = seg.ack.dist(self.snd_una);
        // Bytes of the send buffer this ACK covers (not the FIN).
        let covered = seg.ack.dist(self.tx_base());
        let data = covered.min(self.tx.len() as u32);
        if self.fin_queued() && covered > self.tx.len() as u32 {
            // The ACK covers our FIN too.
            self.set_fin_acked(true);
        }
        self.rtt_on_ack(now, seg);
        self.eifel_check(seg);
        self.tx.consume(data as usize);
        // `Config::cwnd_delivered` (Linux's acked_sacked): cwnd grows by
        // what this ACK delivered, before the scoreboard moves up.
        let delivered = self.delivered_by(acked);
        self.sacked.advance(acked);
        // (SND.NXT moves up with it after a go-back-N rewind.)
        self.set_snd_una(seg.ack);
        self.retries = 0;
        self.zwp_probes = 0;
        self.on_new_ack(acked, delivered, now);
        self.unacked_since = self.stamp(now);
        if self.tlp_out() && self.snd_una.after_eq(self.cold().tlp_high) {
            self.tlp_acked(now, seg);
        }
        // RFC 6298 §5.3: restart the timer when new data is acked (or the
        // loss-probe timer, RFC 8985 §7.2).
        if self.flight() > 0 {
            self.restart_rtx_timer(now);
        } else {
            self.clear_timer(Timer::Retransmit);
            self.set_tlp_armed(false);
            // Everything acknowledged: tcp_info's clocks stop (`info.rs`).
            self.chrono(now, super::info::ChronoKind::Idle);
        }
        if data > 0 {
            a.set_writable();
        }
    }

    /// Steps 7 and 8: the segment's text and FIN.
    pub(super) fn text_and_fin(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        // Nothing held out of order before this segment and no ACK due
        // already (for the ACK of its FIN, `fin_ack_delayed`).
        let no_holes = self.asm.is_empty() && !self.ack_now();
        if !seg.payload.is_empty() {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    self.text(now, seg, a);
                    if self.state == State::Closed {
                        return;
                    }
                }
                // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already
                // sent FIN; ignore the text (SA-TXT-3).
                _ => {}
            }
        }
        if seg.flags.fin() {
            let fin_at = seg.seq.add(seg.payload.len() as u32);
            if fin_at.after(self.rcv_nxt) && !self.fin_received() {
                // A FIN beyond a hole: remember it until the data reaches it (SA-FIN-8).
                self.set_rcv_fin(Some(fin_at));
                self.set_ack_now(true);
                return;
            }
            if fin_at == self.rcv_nxt || self.fin_received() {
                let delay = no_holes && self.fin_ack_delayed();
                self.fin(now, a);
                if delay {
                    self.delay_fin_ack(now);
                }
            }
        } else if self.rcv_fin() == Some(self.rcv_nxt) && !self.fin_received() {
            self.fin(now, a);
        }
    }

    /// In-order or out-of-order text for ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2.
    fn text(&mut self, now: Instant, seg: &Segment<'_>, a: &mut Actions) {
        let mut payload = seg.payload;
        let mut seq = seg.seq;
        // Trim what we already have (SA-SEQ-7).
        if seq.before(self.rcv_nxt) {
            let skip = (self.rcv_nxt.dist(seq) as usize).min(payload.len());
            // RFC 2883: report the duplicate part in a D-SACK block.
            self.set_dsack(Some((seq, seq.add(skip as u32))));
            payload = &payload[skip..];
            seq = self.rcv_nxt;
        }
        if payload.is_empty() {
            self.set_ack_now(true);
            return;
        }
        // Data after the application closed both directions: RST
        // (RFC 9293 §3.6.1 SHLD-3, FSM-49; Linux's behaviour). The
        // connection ends here, so the RST answers the segment as a
        // CLOSED connection would (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK>
        // <CTL=RST>), as Linux (tcp_rcv_state_process's reset, sent by
        // tcp_v4_send_reset) and the BSDs (tcp_dropwithreset) do.
        if self.app_closed() && self.cfg.rst_on_data_after_close() && self.fin_queued() {
            self.set_pending_rst(Some((seg.ack, None)));
            self.close_with(Event::RcvDataAfterClose, CloseReason::Aborted, a);
            return;
        }
        // Estimate the peer's segment size (as Linux's rcv_mss) for the
        // every-second-segment ACK rule.
        let plen = self.rcv_mss_sample(seg.payload.len(), seg);
        if plen > self.rcv_mss_est {
            self.rcv_mss_est = plen;
        }
        let offset = seq.dist(self.rcv_nxt);
        // Overlapping copies with different bytes (Ptacek and Newsham
        // 1998): the first copy of every byte wins, for bytes held out of
        // order as for bytes already in order (trimmed above). RFC 9293
        // §3.10.7.4 leaves the choice open. Note: Linux keeps a later copy
        // that covers an earlier one from the same start
        // (tcp_data_queue_ofo), the first copy otherwise.
        let written = if self.asm.is_empty() {
            self.rx.write_unallocated(offset as usize, payload)
        } else {
            self.rx
                .write_unallocated_except(offset as usize, payload, self.asm.ranges())
        };
        if written == 0 {
            // No room (zero window): drop, ACK our window.
            self.set_ack_now(true);
            self.cold_mut().rare.dropped += 1;
            return;
        }
        // In order with nothing held out of order: commit directly (the
        // range would only be added and taken again, and it would make the
        // reassembly ranges allocate in steady state).
        let mut direct = offset == 0 && self.asm.is_empty();
        let cap = usize::from(self.cfg.max_ooo_ranges.max(1));
        if !direct && self.asm.add_capped(offset, written as u32, cap).is_err() {
            if offset != 0 {
                // Too many holes: drop this out-of-order segment (bounded
                // reassembly; the peer retransmits it).
                self.set_ack_now(true);
                self.cold_mut().rare.dropped += 1;
                return;
            }
            // In-order data is always taken, even with every range slot in
            // use: it touches no range (else it would have merged), so it
            // is committed directly and the ranges shift down under it.
            self.asm.advance(written as u32);
            direct = true;
        }
        if offset == 0 {
            let n = if direct {
                written as u32
            } else {
                self.asm.take_front()
            };
            self.rx.commit_unallocated(n as usize);
            // A gap filled: this segment joined data held beyond it, or
            // holes are still open above it (RFC 5681 §4.2: ACK at once).
            let gap_filled = n as usize > written || !self.asm.is_empty();
            self.data_arrived(now, n, gap_filled, a);
        } else {
            // Out of order: an immediate duplicate ACK (RFC 5681 §4.2, MAY-13),
            // whose first SACK block holds this segment (RFC 2018 §4).
            // Start of the most recent out-of-order segment (RFC 2018 §4),
            // kept with the reassembly ranges.
            self.asm.set_mark(seq.0);
            self.owe_ack();
        }
    }

    /// An out-of-order segment calls for an immediate duplicate ACK (RFC
    /// 5681 §4.2). When the ACK of an earlier one has not gone out yet (a
    /// host that feeds a batch of segments before it polls output), one
    /// more is owed, so that the peer counts one duplicate ACK per
    /// out-of-order segment as from a receiver that answers each at once
    /// (Linux's GRO does not merge them either): a sender without SACK
    /// needs three to retransmit (RFC 5681 §3.2), and with one ACK for a
    /// whole batch, losing that ACK leaves the sender in recovery with
    /// nothing to clock it until its retransmission timeout. At most 15
    /// are owed; they are all copies of the latest ACK (same SEG.ACK,
    /// latest SACK blocks), and any in-order data forgets them
    /// (`data_arrived`): a moved SEG.ACK is never repeated.
    fn owe_ack(&mut self) {
        if self.ack_now() {
            self.set_acks_owed(self.acks_owed().saturating_add(1));
        }
        self.set_ack_now(true);
    }

    /// After `n` in-order bytes went into the receive buffer (the full path
    /// and header prediction alike): RCV.NXT, counters, and when to ACK.
    #[inline(always)]
    fn data_arrived(&mut self, now: Instant, n: u32, gap_filled: bool, a: &mut Actions) {
        self.rcv_nxt = self.rcv_nxt.add(n);
        // SEG.ACK moves: duplicates owed for the old one are not sent.
        if self.nibbles >= 0x10 {
            self.set_acks_owed(0);
        }
        self.count_bytes_in(n);
        self.ack_pending = self.ack_pending.saturating_add(n);
        a.set_readable();
        // Quick-ACK mode again after the peer was idle longer than the
        // RTO (Linux tcp_event_data_recv).
        // (In whole microseconds, as `rto()` is: no `Duration` arithmetic.)
        if self
            .last_data_in
            .elapsed(now)
            .is_some_and(|us| us > u64::from(self.rto))
        {
            self.quick = self.quick.max(self.cfg.quickack);
        }
        self.last_data_in = self.stamp(now);
        let quick = self.quick > 0 && !self.pingpong();
        // RFC 5681 §4.2: ACK at least every second full-sized segment;
        // immediately when a gap was filled (RFC 5681 §4.2, R1122-DA-2).
        if gap_filled || quick || self.ack_pending >= 2 * self.rcv_mss() {
            self.set_ack_now(true);
        } else if self.timer(Timer::DelayedAck).is_none() {
            let at = now.as_micros().saturating_add(self.cfg.delayed_ack_us());
            self.set_timer(Timer::DelayedAck, Instant::from_micros(at));
        }
    }

    /// What a segment of `len` payload bytes says of the peer's full
    /// segment size: its length, at most our MSS less the options it
    /// carries (RFC 6691: a full-sized segment's options come out of the
    /// MSS). A coalesced segment (GRO: several full-sized segments in one)
    /// so counts as what each of its pieces would have.
    #[inline(always)]
    fn rcv_mss_sample(&self, len: usize, seg: &Segment<'_>) -> u16 {
        let ts = if seg.options.timestamps.is_some() {
            12
        } else {
            0
        };
        len.min(usize::from(self.cfg.mss) - ts) as u16
    }

    /// The receive MSS estimate: the largest segment seen, at least 536.
    fn rcv_mss(&self) -> u32 {
        u32::from(self.rcv_mss_est.max(536).min(self.cfg.mss))
    }

    /// Records TS.Recent (RFC 7323 §4.3).
    pub(super) fn update_ts_recent(&mut self, now: Instant, seg: &Segment<'_>) {
        if let (true, Some(ts)) = (self.ts_on(), seg.options.timestamps)
            && seg.seq.before_eq(self.last_ack_sent)
            && (ts.val.wrapping_sub(self.ts_recent) as i32) >= 0
        {
            self.ts_recent = ts.val;
            self.ts_recent_stamp = stamp(now);
        }
    }

    /// `Config::linux()`'s ACK model (quick ACKs on): whether the ACK of
    /// the peer's FIN, arriving in order now in ESTABLISHED (or
    /// SYN-RECEIVED) with nothing held out of order, waits for the
    /// delayed-ACK timer as on Linux. Linux's `tcp_fin` makes the
    /// connection interactive (pingpong), which ends quick-ACK mode; the
    /// ACK is then delayed unless more than one full segment is
    /// unacknowledged (`__tcp_ack_snd_check`), and immediate (a timer of
    /// `ato` = 0) when no data arrived after the SYN (Fast Open data on the
    /// SYN does not start the clock). RFC 9293 §3.10.7.4 step 8 only
    /// says to acknowledge the FIN; RFC 1122 §4.2.3.2 allows delaying it.
    fn fin_ack_delayed(&self) -> bool {
        self.cfg.quickack > 0
            && matches!(self.state, State::Established | State::SynReceived)
            && !self.fin_received()
            && !self.last_data_in.is_none()
            && self.ack_pending < self.rcv_mss()
    }

    /// The peer's FIN was taken (`fin_ack_delayed`): its ACK waits for the
    /// delayed-ACK timer (or goes with the next segment we send).
    fn delay_fin_ack(&mut self, now: Instant) {
        self.set_ack_now(false);
        self.set_pingpong(true);
        self.ack_pending = self.ack_pending.saturating_add(1);
        if self.timer(Timer::DelayedAck).is_none() {
            let at = now.as_micros().saturating_add(self.cfg.delayed_ack_us());
            self.set_timer(Timer::DelayedAck, Instant::from_micros(at));
        }
    }

    /// The peer's FIN, in order (step 8, SA-FIN-2..7).
    fn fin(&mut self, now: Instant, a: &mut Actions) {
        if !self.fin_received() {
            self.set_fin_received(true);
            self.rcv_nxt = self.rcv_nxt.add(1);
            self.set_rcv_fin(None);
            a.set_readable();
        }
        self.set_ack_now(true);
        let _ = now;
        match self.state {
            State::SynReceived | State::Established => {
                self.goto(Event::RcvFin, State::CloseWait, a);
            }
            State::FinWait1 => {
                if self.fin_acked() {
                    self.goto(Event::RcvFinAck, State::TimeWait, a);
                } else {
                    self.goto(Event::RcvFin, State::Closing, a);
                }
            }
            State::FinWait2 => self.goto(Event::RcvFin, State::TimeWait, a),
            State::TimeWait => self.goto(Event::RcvFin, State::TimeWait, a),
            // CLOSE-WAIT, CLOSING, LAST-ACK: stay.
            _ => {}
        }
    }
}

/// Where the text of a segment on the fast path is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    /// Only in the segment: copy it into the receive ring.
    Copy,
    /// Already in the ring's unallocated space (written while its checksum
    /// was verified): only commit it.
    Staged,
    /// Already in the application's buffer (`on_segment_recv`): it never
    /// enters the ring.
    Delivered,
}
