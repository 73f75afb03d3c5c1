//! Timers (RFC 9293 §3.10.8), RTT estimation (RFC 6298) and congestion
//! control (RFC 5681, RFC 6928 initial window, RFC 3465 ABC).

use super::cfg::Cfg;
use super::congestion::{CongestionControl, Window};
use super::{Connection, Probe, Storage};
use crate::error::CloseReason;
use crate::seq::SeqNum;
use crate::state::{Event, State};
use crate::time::{Duration, Instant, Stamp};
use crate::wire::Segment;

use super::actions::Actions;

/// RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK time of the peer
/// (RECOMMENDED 200 ms), in microseconds.
const WC_DEL_ACK_T_US: u64 = 200_000;

/// The connection's timers. The host sees only the earliest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Timer {
    /// Retransmission of SYN, SYN+ACK, data or FIN (RFC 6298), and the user timeout.
    Retransmit = 0,
    /// Delayed ACK (RFC 9293 §3.8.6.3).
    DelayedAck = 1,
    /// Zero-window probe / sender SWS override (RFC 9293 §3.8.6.1, §3.8.6.2.1).
    Persist = 2,
    /// Keep-alive (RFC 1122 §4.2.3.6).
    Keepalive = 3,
    /// TIME-WAIT 2*MSL.
    TimeWait = 4,
    /// An orphan's deadline: in FIN-WAIT-2 the fin timeout (Linux
    /// `tcp_fin_timeout`), and for any orphan its total lifetime
    /// (`Config::orphan_lifetime`), whichever comes first.
    FinWait2 = 5,
    /// RACK reordering timer (RFC 8985 §6.3).
    Rack = 6,
}

/// Timer slots: one per timer, except that TIME-WAIT's 2MSL timer and the
/// orphaned FIN-WAIT-2 timer share one. The first runs only in TIME-WAIT,
/// the second never does: entering TIME-WAIT turns off every other timer
/// (RFC 9293 §3.10.7.4 step 8), and TIME-WAIT leaves only for CLOSED.
pub(super) const COUNT: usize = 6;

impl Timer {
    fn slot(self) -> usize {
        match self {
            Timer::FinWait2 => Timer::TimeWait as usize,
            Timer::Rack => 5,
            t => t as usize,
        }
    }
}

/// The segment being timed for an RTT sample (RFC 6298 §3, Karn's rule):
/// its sequence number and when it was sent. An `Option<(SeqNum, Instant)>`
/// in 8 bytes instead of 24 (see [`Stamp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct RttSample {
    seq: SeqNum,
    at: Stamp,
}

impl RttSample {
    pub(super) const NONE: RttSample = RttSample {
        seq: SeqNum(0),
        at: Stamp::NONE,
    };

    pub(super) fn new(seq: SeqNum, at: Stamp) -> Self {
        RttSample { seq, at }
    }

    /// No segment is timed.
    pub(super) fn is_none(self) -> bool {
        self.at.is_none()
    }

    /// The timed segment's sequence number.
    pub(super) fn seq(self) -> Option<SeqNum> {
        (!self.is_none()).then_some(self.seq)
    }

    /// The timed segment and the µs since it was sent, at `now` (the
    /// connection's latest time).
    #[inline]
    pub(super) fn elapsed(self, now: Instant) -> Option<(SeqNum, u64)> {
        self.at.elapsed(now).map(|us| (self.seq, us))
    }

    /// `Stamp::renew` of the send time.
    pub(super) fn renew(&mut self, old: Instant, now: Instant) {
        self.at = self.at.renew(old, now);
    }
}

/// Microseconds in a duration, saturating at `u32::MAX` (about 71 minutes).
pub(super) fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

pub(super) fn clamp_rto(cfg: &Cfg, rto: u32) -> u32 {
    rto.max(us(cfg.rto_min()))
        .min(us(cfg.rto_max()).max(us(cfg.rto_min())))
}

impl<B: Storage> Connection<B> {
    /// Whether the slot of `t` holds `t` now (see [`COUNT`]).
    fn owns_slot(&self, t: Timer) -> bool {
        match t {
            Timer::TimeWait => self.state == State::TimeWait,
            Timer::FinWait2 => self.state != State::TimeWait,
            _ => true,
        }
    }
    /// When `t` fires, `Instant::MAX` when it is not armed.
    pub(super) fn timer_at(&self, t: Timer) -> Instant {
        if self.owns_slot(t) {
            self.timers[t.slot()]
        } else {
            Instant::MAX
        }
    }
    pub(super) fn set_timer(&mut self, t: Timer, at: Instant) {
        debug_assert!(self.owns_slot(t), "{t:?} armed in {}", self.state);
        if self.owns_slot(t) {
            self.timers[t.slot()] = at;
        }
    }
    pub(super) fn clear_timer(&mut self, t: Timer) {
        if self.owns_slot(t) {
            self.timers[t.slot()] = Instant::MAX;
        }
    }

    /// The earliest armed timer (`Instant::MAX`: none) right after an
    /// entry point, read from the copy its `finish` keeps for `Actions`
    /// (`report_deadline`) instead of the six-way minimum: the Endpoint
    /// asks after every call into a connection (`Endpoint::after`). Only
    /// `poll_transmit` changes timers without a `finish` (it arms the RTO,
    /// RFC 6298 §5.1, and clears the delayed ACK, RFC 9293 §3.8.6.3):
    /// after it, [`deadline_now`](Self::deadline_now). Debug builds check
    /// the copy against the timers.
    #[inline(always)]
    pub(crate) fn deadline_settled(&self) -> Instant {
        debug_assert_eq!(
            self.reported_deadline,
            self.earliest_timer(),
            "the deadline kept by `finish` is stale"
        );
        self.reported_deadline
    }

    /// The earliest armed timer (`Instant::MAX`: none), computed: what
    /// the Endpoint reads after `poll_transmit`, which may move the RTO
    /// or the delayed ACK without a `finish`.
    #[inline(always)]
    pub(crate) fn deadline_now(&self) -> Instant {
        self.earliest_timer()
    }
    pub(super) fn rto_duration(&self) -> Duration {
        Duration::from_micros(u64::from(self.rto))
    }

    /// Arms the timers that follow from the connection's state; called at the
    /// end of every entry point with `wants = wants_to_send()`.
    pub(super) fn arm_timers(&mut self, now: Instant, wants: bool) {
        if !self.state.is_synchronized() && self.state != State::SynSent {
            return;
        }
        if self.state == State::TimeWait {
            return;
        }
        // Retransmission: armed while anything is in flight or about to be
        // sent (RFC 6298 §5.1).
        let busy = self.flight() > 0 || wants;
        if busy {
            if self.timer(Timer::Retransmit).is_none() {
                if self.flight() == 0 {
                    self.unacked_since = self.stamp(now);
                }
                let mut at = now + self.rto_duration();
                if let Some(ut) = self.cfg.user_timeout() {
                    at = at.min(self.when(self.unacked_since) + ut);
                }
                self.set_timer(Timer::Retransmit, at);
                // Data goes out: tcp_info's busy clock, if the clocks run.
                self.chrono(now, super::info::ChronoKind::Busy);
            }
        } else {
            self.clear_timer(Timer::Retransmit);
        }
        // Persist: data waits, nothing is in flight, and the window is shut
        // (or too small to send under SWS avoidance).
        if self.syn_acked() && self.flight() == 0 && self.unsent() > 0 && !wants {
            if self.timer(Timer::Persist).is_none() {
                let backoff = self.rto.saturating_mul(1 << self.zwp_probes.min(10));
                let d = Duration::from_micros(u64::from(clamp_rto(&self.cfg, backoff)));
                self.set_timer(Timer::Persist, now + d);
                self.chrono_rwnd_held(now);
            }
        } else if self.probe != Probe::ZeroWindow {
            self.clear_timer(Timer::Persist);
        }
        // Keep-alive: only when idle in a state that can be idle.
        if let Some(ka) = self.cfg.keepalive() {
            if matches!(
                self.state,
                State::Established | State::CloseWait | State::FinWait2
            ) && self.flight() == 0
            {
                if self.timer(Timer::Keepalive).is_none() {
                    let d = if self.ka_probes == 0 {
                        ka.idle
                    } else {
                        ka.interval
                    };
                    self.set_timer(Timer::Keepalive, now + d);
                }
            } else {
                self.clear_timer(Timer::Keepalive);
            }
        }
        // The orphan's deadline (`Timer::FinWait2`) is armed by the close
        // and on entering FIN-WAIT-2 (`arm_orphan_deadline`), and only moves
        // earlier: nothing to do here.
    }

    /// An orphan's deadline (the slot of [`Timer::FinWait2`]): its total
    /// lifetime from the close (`Config::orphan_lifetime`), and in
    /// FIN-WAIT-2 the fin timeout (FSM-32; Linux `tcp_fin_timeout`),
    /// whichever comes first. Called at the close and on entering
    /// FIN-WAIT-2; a later call never moves the deadline later.
    pub(super) fn arm_orphan_deadline(&mut self, now: Instant) {
        if !self.app_closed() || matches!(self.state, State::Closed | State::TimeWait) {
            return;
        }
        let mut at = self.timer_at(Timer::FinWait2);
        if let Some(life) = self.cfg.orphan_lifetime() {
            at = at.min(now + life);
        }
        if self.state == State::FinWait2 {
            at = at.min(now + self.cfg.fin_timeout());
        }
        self.set_timer(Timer::FinWait2, at);
    }

    /// Restarts the keep-alive idle timer (any segment received).
    #[inline(always)]
    pub(super) fn touch_keepalive(&mut self, now: Instant) {
        self.last_rcv = self.stamp(now);
        if self.cfg.keepalive_on() {
            self.ka_probes = 0;
            let at = now.as_micros().saturating_add(self.cfg.ka_idle_us());
            self.set_timer(Timer::Keepalive, Instant::from_micros(at));
        }
    }

    pub(super) fn handle_timers(&mut self, now: Instant, a: &mut Actions) {
        for t in [
            Timer::TimeWait,
            Timer::FinWait2,
            Timer::Retransmit,
            Timer::Persist,
            Timer::Keepalive,
            Timer::DelayedAck,
            Timer::Rack,
        ] {
            if self.timer_at(t) > now || self.state == State::Closed {
                continue;
            }
            self.clear_timer(t);
            match t {
                Timer::TimeWait => {
                    if self.state == State::TimeWait {
                        self.close_with(Event::TimeWaitTimeout, CloseReason::Normal, a);
                    }
                }
                Timer::FinWait2 => self.on_orphan_deadline(a),
                Timer::Retransmit => self.on_rto(now, a),
                Timer::Persist => self.on_persist(now, a),
                Timer::Keepalive => self.on_keepalive(now, a),
                Timer::Rack => self.on_rack_timer(now, a),
                Timer::DelayedAck => {
                    // The timer is armed only as an ACK becomes pending
                    // (`data_arrived` of at least one byte,
                    // `delay_fin_ack`), and every ACK sent clears both
                    // (`ack_sent`): one is pending whenever it fires.
                    debug_assert!(self.ack_pending > 0, "a delayed ACK with none pending");
                    self.set_ack_now(true);
                    // A delayed ACK went out: not interactive after all
                    // (Linux leaves pingpong mode here).
                    self.set_pingpong(false);
                }
            }
        }
    }

    /// A loss probe may be scheduled (RFC 8985 §7.1): SACK on, an RTT
    /// sample taken, data outstanding, not in loss recovery (§7.2: neither
    /// fast recovery nor the recovery after a timeout, which lasts until
    /// SND.UNA passes `recover`, as Linux probes only in TCP_CA_Open and
    /// TCP_CA_CWR), no probe out.
    pub(super) fn tlp_eligible(&self) -> bool {
        self.sack_on()
            && self.syn_acked()
            && self.srtt != 0
            && !self.in_recovery()
            && !self.tlp_out()
            && self.retries == 0
            && (self.snd_una.after_eq(self.recover) || self.in_cwr())
            && matches!(
                self.state,
                State::Established
                    | State::CloseWait
                    | State::FinWait1
                    | State::LastAck
                    | State::Closing
            )
    }

    /// Restarts the retransmission timer: the loss-probe timeout when a
    /// probe may be sent (RFC 8985 §7.2: PTO = 2*SRTT, plus WCDelAckT when
    /// one segment is out), else the RTO (RFC 6298 §5.3).
    pub(super) fn restart_rtx_timer(&mut self, now: Instant) {
        let tlp = self.tlp_eligible();
        self.arm_rtx_timer(now, tlp);
    }

    /// `restart_rtx_timer` with `tlp = tlp_eligible()` already known.
    pub(super) fn arm_rtx_timer(&mut self, now: Instant, tlp: bool) {
        self.arm_rtx_timer_mss(now, tlp, self.eff_mss());
    }

    /// `arm_rtx_timer` with `mss = eff_mss()` already known.
    #[inline(always)]
    pub(super) fn arm_rtx_timer_mss(&mut self, now: Instant, tlp: bool, mss: u32) {
        // In whole microseconds (u64), as `Instant + Duration` computes.
        let rto = u64::from(self.rto);
        let mut wait = rto;
        let mut armed = false;
        if tlp {
            let mut pto = u64::from(self.srtt) * 2;
            if self.flight() <= mss {
                // WCDelAckT: the *peer's* worst-case delayed ACK, 200 ms
                // (RFC 8985 §7.2; Linux adds TCP_RTO_MIN, also 200 ms), not
                // our own delayed-ACK timeout.
                pto += WC_DEL_ACK_T_US;
            }
            // RFC 8985 §7.2: a PTO later than the RTO's expiry is cut to
            // it (Linux's tcp_schedule_loss_probe: `min(timeout,
            // rto_delta_us)`); the probe then goes at the RTO's time, and
            // the RTO after it is not backed off.
            wait = pto.max(10_000).min(rto);
            armed = true;
        }
        self.set_tlp_armed(armed);
        let mut at = Instant::from_micros(now.as_micros().saturating_add(wait));
        if let Some(ut) = self.cfg.user_timeout() {
            at = at.min(self.when(self.unacked_since) + ut);
        }
        self.set_timer(Timer::Retransmit, at);
    }

    /// The loss-probe timer fired (RFC 8985 §7.3): send one new segment if
    /// the windows allow, else the last one again; then wait an RTO.
    fn on_pto(&mut self, now: Instant) {
        self.set_tlp_armed(false);
        self.set_tlp_out(true);
        self.cold_mut().tlp_high = self.snd_max;
        self.cold_mut().rare.loss_probes += 1;
        let new_data = self.unsent() > 0 && self.snd_wnd > self.snd_nxt.dist(self.snd_una);
        if new_data {
            self.set_force_send(true);
            // The probe may exceed cwnd by one segment (RFC 8985 §7.3).
            self.cwnd = self.cwnd.max(self.flight().saturating_add(self.eff_mss()));
        } else {
            self.set_tlp_rtx(true);
        }
        self.sent_log.set_tlp_retrans(!new_data);
        self.set_timer(Timer::Retransmit, now + self.rto_duration());
    }

    /// The retransmission timer fired (RFC 6298 §5.4-5.7, RFC 9293 §3.8.3).
    fn on_rto(&mut self, now: Instant, a: &mut Actions) {
        if self.uncommon() {
            // New data held after a failed send goes with the resend.
            self.release_held();
        }
        if self.flight() == 0 {
            // Nothing was sent yet (the host did not poll), or nothing is
            // left to time: `arm_timers` re-arms as needed. No loss probe
            // is armed: every way the flight empties disarms it (the ACK
            // of everything, a send taken back, the end of a connection).
            debug_assert!(!self.tlp_armed(), "a loss probe for nothing in flight");
            return;
        }
        if self.tlp_armed() {
            self.on_pto(now);
            return;
        }
        // RFC 5482: the user timeout.
        if let Some(ut) = self.cfg.user_timeout()
            && now.saturating_duration_since(self.when(self.unacked_since)) >= ut
        {
            self.close_with(Event::UserTimeout, CloseReason::UserTimeout, a);
            return;
        }
        let limit = match self.state {
            State::SynSent => self.cfg.syn_retries,
            // One retry more for a Fast Open child, as Linux's
            // `tcp_fastopen_synack_timer` gives it (RFC 7413 §4.2.2: the
            // application holds it, with the SYN's data).
            State::SynReceived if self.fast_open_child() => {
                self.cfg.synack_retries.saturating_add(1)
            }
            State::SynReceived => self.cfg.synack_retries,
            _ if self.app_closed() => self.cfg.orphan_retries.min(self.cfg.retries2),
            _ => self.cfg.retries2,
        };
        // RFC 9293 §3.8.6 SHLD-17: data held back by a window the peer shut
        // must not time the connection out while the peer still answers.
        // As Linux does, such timeouts probe and count no retry unless the
        // peer has been silent for longer than the maximum RTO (or the
        // connection is an orphan).
        let window_shut = self.syn_acked() && self.snd_wnd == 0 && !self.app_closed();
        if window_shut
            && now.saturating_duration_since(self.when(self.last_rcv)) <= self.cfg.rto_max()
        {
            self.cold_mut().rare.timeouts += 1;
            self.rto = clamp_rto(&self.cfg, self.rto.saturating_mul(2));
            self.probe = Probe::ZeroWindow;
            self.set_timer(Timer::Retransmit, now + self.rto_duration());
            return;
        }
        if self.retries >= limit || window_shut {
            // R2 reached (MUST-20): give up.
            match self.state {
                // A Fast Open child is the application's: it ends with
                // ETIMEDOUT (Linux's `tcp_write_err`), its data readable.
                State::SynReceived if self.passive() && !self.fast_open() => {
                    self.back_to_listen(Event::RetransmitTimeout, a);
                }
                _ => self.close_with(Event::RetransmitTimeout, CloseReason::TimedOut, a),
            }
            return;
        }
        // F-RTO (RFC 5682) on the first timeout of an episode outside
        // fast recovery; a later one is conventional.
        let frto = self.retries == 0 && self.syn_acked() && self.cfg.frto() && !self.in_recovery();
        if self.retries == 0 && self.syn_acked() && (self.ts_on() || frto) {
            // RFC 3522, RFC 5682: remember enough to undo a spurious timeout.
            self.set_undo(Some(super::Undo {
                cwnd: self.cwnd,
                ssthresh: self.ssthresh,
                tsval: self.ts_val(now),
            }));
        }
        self.retries += 1;
        self.cold_mut().rare.timeouts += 1;
        // A loss probe's episode ends at a timeout: the RTO's own window
        // reduction stands for whatever the probe would have found.
        self.set_tlp_out(false);
        if self.uncommon() {
            // A PLPMTUD probe out at a timeout did not pass (RFC 4821 §7.5).
            self.mtu_on_timeout();
        }
        if self.retries == crate::Config::RETRIES1 {
            // RFC 9293 §3.8.3 MUST-20, SHLD-9 (MUST-22 for a SYN): R1
            // retransmissions unanswered: negative advice for the IP
            // layer, news for the application; R2 (`limit`) is still
            // ahead.
            a.set_negative_advice();
        }
        if self.retries >= crate::Config::RETRIES1 {
            // PLPMTUD takes R1 unanswered retransmissions as a sign of a
            // black hole (RFC 4821 §7.7), and every timeout after them as
            // a sign that the size it fell back to is still too large
            // (Linux calls `tcp_mtu_probing` at each timeout past
            // `tcp_retries1`): the size halves each time, down to the
            // floor, so a path narrower than the base MSS gets through.
            self.mtu_black_hole(now);
        }
        // RFC 6298 §5.5: back off.
        self.rto = clamp_rto(&self.cfg, self.rto.saturating_mul(2));
        // Karn (MUST-18): no RTT sample from a retransmitted segment.
        self.rtt_sample = RttSample::NONE;
        if !self.syn_acked() {
            self.set_syn_retransmitted(true);
            self.snd_nxt = self.iss;
        } else {
            // Go back to SND.UNA and resend from there.
            self.snd_nxt = self.snd_una;
            // RFC 2018 §8: SACKed data may have been discarded by the
            // receiver (reneging). When the scoreboard covers SND.UNA, the
            // peer has not taken what it reported (as Linux's
            // `tcp_enter_loss` tells reneging): forget every block, so the
            // go-back-N resend does not skip data the peer no longer has.
            if self.sack_on() && self.sacked.range_containing(0).is_some() {
                self.sacked.clear();
            }
            // RFC 5681 §3.1: the loss window. ssthresh is reduced when the
            // segment times out for the first time, and "held constant"
            // when it has already been resent by the timer (Linux's
            // `tcp_enter_loss` likewise reduces only without retransmits
            // out in TCP_CA_Loss).
            let mss = self.eff_mss();
            if self.retries == 1 {
                let w = self.window();
                self.ssthresh = self.cc.on_timeout(w, self.flight(), now);
            }
            self.cwnd = mss;
            if self.in_recovery() {
                self.leave_recovery();
            } else if self.retries == 1 {
                // RFC 8985 §6.2.4: RACK.reo_wnd_persist counts the
                // recoveries after a timeout too (here as one starts; a
                // fast recovery it interrupts counted as it ended).
                self.sent_log.reo_recovery_ended();
            }
            self.leave_cwr();
            // A fresh HyStart round: Linux's CUBIC resets HyStart when it
            // enters TCP_CA_Loss (`cubictcp_state`, `bictcp_hystart_reset`),
            // so the slow start after a timeout judges only its own
            // samples, in a round that ends with what was sent before.
            self.prr_words_to_hystart();
            self.dupacks = 0;
            self.recover = self.snd_max;
            if frto {
                self.enter_frto();
            } else if self.uncommon() {
                self.end_frto();
            }
            if self.snd_wnd == 0 {
                // The peer closed its window with our data in flight: the
                // go-back-N resend may not go out, so probe instead, or a
                // lost window update is never recovered (RFC 9293 §3.8.6.1
                // MUST-36, SHLD-17).
                self.probe = Probe::ZeroWindow;
            }
        }
        let mut at = now + self.rto_duration();
        if let Some(ut) = self.cfg.user_timeout() {
            at = at.min(self.when(self.unacked_since) + ut);
        }
        self.set_timer(Timer::Retransmit, at);
    }

    /// An orphan's deadline passed (`arm_orphan_deadline`). In FIN-WAIT-2
    /// our FIN is acknowledged: the connection ends as Linux's
    /// `tcp_fin_timeout` ends it. Elsewhere the orphan's lifetime is over:
    /// it is aborted (RFC 9293 §3.10.5: a RST where the peer still knows
    /// us), as Linux resets the orphans it kills (`tcp_out_of_resources`).
    /// Note: RFC 9293 sets no bound on an orphan's life; like Linux's, this
    /// one is a defence against peers that would hold it for ever.
    fn on_orphan_deadline(&mut self, a: &mut Actions) {
        if !self.app_closed() {
            return;
        }
        match self.state {
            State::FinWait2 => {
                self.close_with(Event::FinWait2Timeout, CloseReason::FinTimeout, a);
            }
            State::FinWait1 | State::Closing | State::LastAck => self.abort_now(a),
            _ => {}
        }
    }

    /// The persist timer: zero-window probe or SWS override.
    fn on_persist(&mut self, _now: Instant, a: &mut Actions) {
        if self.held() {
            return self.on_resource_probe(a);
        }
        // `arm_timers` runs this timer only with the SYN acknowledged, data
        // waiting and nothing in flight; it keeps it past that only while a
        // zero-window probe is pending, which is set here or by a timeout
        // with data in flight (then this timer is off), and sent or
        // cleared (a window that opens) before anything else can change.
        debug_assert!(self.syn_acked() && self.unsent() > 0 && self.flight() == 0);
        if self.snd_wnd == 0 {
            // RFC 9293 §3.8.6.1 (MUST-36): probe. Probes that are answered
            // keep the connection up forever (MUST-37); unanswered ones count.
            // Note: an orphan's probes count toward `orphan_retries` even
            // when answered (as Linux's tcp_probe_timer for a dead socket):
            // there is no application left to keep waiting for, and a peer
            // that keeps its window shut would hold the orphan for ever
            // (Sockstress). `zwp_probes` is reset only when the window
            // opens or new data is acknowledged.
            let orphan_dead = self.app_closed()
                && self.zwp_probes >= self.cfg.orphan_retries.min(self.cfg.retries2);
            if self.zwp_unanswered >= self.cfg.retries2 || orphan_dead {
                self.close_with(Event::RetransmitTimeout, CloseReason::TimedOut, a);
                return;
            }
            self.zwp_probes = self.zwp_probes.saturating_add(1);
            self.zwp_unanswered = self.zwp_unanswered.saturating_add(1);
            self.probe = Probe::ZeroWindow;
        } else {
            // RFC 9293 §3.8.6.2.1: the override timeout.
            self.set_force_send(true);
            self.probe = Probe::Override;
        }
    }

    /// The keep-alive timer (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4).
    fn on_keepalive(&mut self, _now: Instant, a: &mut Actions) {
        let Some(ka) = self.cfg.keepalive() else {
            return;
        };
        if !matches!(
            self.state,
            State::Established | State::CloseWait | State::FinWait2
        ) || self.flight() > 0
        {
            return;
        }
        if self.ka_probes >= ka.probes {
            if self.cfg.rst_with_ack() {
                // Linux's tcp_keepalive_timer: tcp_send_active_reset.
                self.active_rst();
            }
            self.close_with(Event::KeepaliveTimeout, CloseReason::TimedOut, a);
            return;
        }
        self.ka_probes += 1;
        self.probe = Probe::Keepalive;
    }

    /// Eifel detection (RFC 3522 §3.2) on the first ACK of new data after a
    /// timeout: an echoed timestamp older than the retransmission means the
    /// original arrived, so the timeout was spurious; restore the window
    /// and go on with new data (RFC 4015 §4).
    pub(super) fn eifel_check(&mut self, seg: &Segment<'_>) {
        let Some(u) = self.undo() else { return };
        let frto = self.xflag(super::urgent::x::FRTO2 | super::urgent::x::FRTO3);
        let ts = if self.ts_on() {
            seg.options.timestamps
        } else {
            None
        };
        let Some(ts) = ts else {
            // No timestamp to judge by: F-RTO (`frto.rs`) keeps the window
            // to restore; without it there is nothing more to learn.
            if !frto {
                self.set_undo(None);
            }
            return;
        };
        if (ts.ecr.wrapping_sub(u.tsval) as i32) < 0 {
            self.undo_timeout(u);
        } else {
            self.set_undo(None);
        }
        // Eifel's verdict, either way, is final.
        if frto {
            self.end_frto();
        }
    }

    // ----- RTT (RFC 6298, RFC 7323 §4) -----------------------------------

    /// Takes an RTT sample from an ACK, if one is valid.
    pub(super) fn rtt_on_ack(&mut self, now: Instant, seg: &Segment<'_>) {
        // Not while PRR holds the words (in recovery, cwnd falls below
        // ssthresh once pipe does).
        if self.cfg.linux_hystart()
            && self.cfg.hystart()
            && self.cwnd < self.ssthresh
            && self.cwnd >= 16 * self.eff_mss()
            && !self.in_reduction()
        {
            self.hystart_round_linux(seg.ack);
        }
        let sample = if let (true, Some(ts)) = (self.ts_on(), seg.options.timestamps) {
            // RFC 7323 §4.1: TSecr gives a sample from every ACK of new data.
            let sent = ts.ecr.wrapping_sub(self.ts_offset);
            let now_ms = now.as_millis() as u32;
            let ms = now_ms.wrapping_sub(sent);
            if ts.ecr != 0 && ms < 3_600_000 {
                Some(ms.saturating_mul(1000).max(1))
            } else {
                None
            }
        } else {
            match self.rtt_sample.elapsed(now) {
                Some((seq, us)) if seg.ack.after(seq) => {
                    Some(u32::try_from(us).unwrap_or(u32::MAX).max(1))
                }
                _ => None,
            }
        };
        if let Some(seq) = self.rtt_sample.seq()
            && seg.ack.after(seq)
        {
            self.rtt_sample = RttSample::NONE;
        }
        if let Some(r) = sample {
            self.rtt_update(r);
        } else if self.cwnd < self.ssthresh {
            // A delay sample from every ACK of new data in slow start, RFC
            // 6298 timing one segment a round trip or not: RFC 9406 §4.2
            // counts one "for each arriving ACK", and Linux's CUBIC takes
            // one from every ACK (`ca_rtt_us`). Without timestamps the
            // send log dates the newest byte acknowledged.
            if let Some(r) = self.ca_rtt(now, seg) {
                self.hystart_sample(r);
            }
        }
    }

    /// Config::linux_hystart: the round `hystart_update` starts before it
    /// takes a sample, once SND.UNA (here the ACK that moves it) is past
    /// the round's end (`bictcp_hystart_reset`).
    fn hystart_round_linux(&mut self, ack: SeqNum) {
        if ack.after(self.hs_window_end) {
            self.hs_cur_min = u32::MAX;
            self.reset_hs_samples();
            self.hs_window_end = self.snd_max;
        }
    }

    /// Linux's `ca_rtt_us` for an ACK of new data without timestamps
    /// (`tcp_clean_rtx_queue`): now less the send time of the newest byte
    /// it acknowledges, none when it covers a byte that may have been
    /// retransmitted (Karn, RFC 6298 §3, MUST-18): below the recovery
    /// point while SND.UNA has not passed it: the go-back-N resend of a
    /// timeout, fast recovery's retransmissions. (A loss probe, or a
    /// rescue retransmission above the recovery point, is one segment: its
    /// ACK may still be dated from the first transmission, a longer sample
    /// that the round's minimum passes over; a timeout's resend makes
    /// every sample of a round too long, which is what Karn's rule must
    /// stop here.) The send log dates first transmissions only and bounds
    /// their time from above.
    fn ca_rtt(&self, now: Instant, seg: &Segment<'_>) -> Option<u32> {
        if !seg.ack.after(self.snd_una) || self.snd_una.before(self.recover) {
            return None;
        }
        let sent = self
            .sent_log
            .upper_for(seg.ack.sub(1), self.last_send_at())?;
        let us = now.as_micros().checked_sub(sent.as_micros())?;
        Some(u32::try_from(us).unwrap_or(u32::MAX).max(1))
    }

    /// HyStart++ (RFC 9406 §4.2), delay-increase test in slow start: a round
    /// whose minimum RTT exceeds the last round's by eta (RTT/8, clamped to
    /// 4..16 ms) after at least 8 samples ends slow start (ssthresh = cwnd).
    /// Note: the Conservative Slow Start phase of §4.3 is not implemented;
    /// slow start ends at once, as Linux's HyStart does.
    fn hystart_sample(&mut self, r: u32) {
        if !self.cfg.hystart() || self.cwnd >= self.ssthresh || self.in_reduction() {
            return;
        }
        if self.cfg.linux_hystart() {
            self.hystart_sample_linux(r);
            return;
        }
        // RFC 9406 §4.3: HyStart++ only in the initial slow start (ssthresh
        // still at its initial, arbitrarily high value); later ones stop
        // at the ssthresh a loss found.
        if self.ssthresh != u32::MAX {
            return;
        }
        self.hs_cur_min = self.hs_cur_min.min(r);
        self.add_hs_sample();
        // RFC 9406: only once cwnd is at least 16 segments (LOW_CWND).
        if self.hs_samples() >= 8
            && self.hs_last_min != u32::MAX
            && self.hs_cur_min != u32::MAX
            && self.cwnd >= 16 * self.eff_mss()
        {
            let eta = (self.hs_last_min / 8).clamp(4_000, 16_000);
            if self.hs_cur_min >= self.hs_last_min.saturating_add(eta) {
                self.ssthresh = self.cwnd;
                self.cold_mut().rare.hystart_exits += 1;
            }
        }
    }

    /// Config::linux_hystart: Linux's `hystart_update` (HYSTART_DELAY),
    /// from `bictcp_acked`: samples only while cwnd is at least
    /// `hystart_low_window` (16 segments); from the ninth of a round
    /// (HYSTART_MIN_SAMPLES, 8, counted first), a round minimum above the
    /// connection's minimum RTT (`delay_min`) by more than an eighth of
    /// it, clamped to 4..16 ms (HYSTART_DELAY_THRESH), ends slow start
    /// with ssthresh = cwnd.
    fn hystart_sample_linux(&mut self, r: u32) {
        if self.cwnd < 16 * self.eff_mss() {
            return;
        }
        self.hs_cur_min = self.hs_cur_min.min(r);
        if self.hs_samples() < 8 {
            self.add_hs_sample();
            return;
        }
        let delay_min = self.min_rtt.min(r);
        let thresh = (delay_min / 8).clamp(4_000, 16_000);
        if self.hs_cur_min > delay_min.saturating_add(thresh) {
            self.ssthresh = self.cwnd;
            self.cold_mut().rare.hystart_exits += 1;
        }
    }

    /// HyStart++ rounds: a round ends when the data sent at its start is acked.
    fn hystart_round(&mut self) {
        if self.snd_una.after_eq(self.hs_window_end) {
            if self.hs_cur_min != u32::MAX {
                self.hs_last_min = self.hs_cur_min;
            }
            self.hs_cur_min = u32::MAX;
            self.reset_hs_samples();
            self.hs_window_end = self.snd_max;
        }
    }

    fn rtt_update(&mut self, r: u32) {
        self.hystart_sample(r);
        self.min_rtt = self.min_rtt.min(r);
        if self.srtt == 0 {
            // RFC 6298 §2.2.
            self.srtt = r;
            self.rttvar = r / 2;
        } else {
            // RFC 6298 §2.3 (alpha 1/8, beta 1/4).
            let delta = self.srtt.abs_diff(r);
            self.rttvar = self.rttvar - self.rttvar / 4 + delta / 4;
            self.srtt = self.srtt - self.srtt / 8 + r / 8;
        }
        // G: 1 ms clock granularity.
        let var = self.rttvar.saturating_mul(4).max(1000);
        // Config::rto_min_in_variance: Linux's variance term is at least
        // RTO.min (tcp_rtt_estimator's rttvar_us, added by __tcp_set_rto).
        let var = if self.cfg.rto_min_in_variance() {
            var.max(us(self.cfg.rto_min()))
        } else {
            var
        };
        let rto = self.srtt.saturating_add(var);
        self.rto = clamp_rto(&self.cfg, rto);
    }

    // ----- congestion control (RFC 5681) ---------------------------------

    /// RFC 5681 §4.1: after an idle period longer than the RTO, restart
    /// from the initial window.
    #[inline]
    pub(super) fn restart_after_idle(&mut self, now: Instant) {
        if let Some(cwnd) = self.idle_restart_cwnd(now) {
            self.cwnd = cwnd;
            self.cc.on_idle_restart();
        }
    }

    /// The restart window `restart_after_idle` would set, if data sent
    /// now restarts after idle.
    pub(super) fn idle_restart_cwnd(&self, now: Instant) -> Option<u32> {
        (self.flight() == 0
            && self.cfg.slow_start_after_idle()
            && self
                .last_send
                .elapsed(now)
                .is_some_and(|us| us > u64::from(self.rto)))
        .then(|| {
            let iw = u32::from(self.cfg.initial_window).saturating_mul(self.eff_mss());
            self.cwnd.min(iw.max(self.eff_mss()))
        })
    }

    pub(super) fn init_cwnd(&mut self) {
        // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) for IW10.
        let mss = self.eff_mss();
        let iw = u32::from(self.cfg.initial_window).saturating_mul(mss);
        self.cwnd = iw.max(mss);
        self.ssthresh = u32::MAX;
    }

    /// After the handshake: RFC 6298 §5.7 (RTO 3 s if the SYN was lost).
    pub(super) fn after_handshake(&mut self) {
        if self.syn_retransmitted() && self.srtt == 0 {
            self.rto = clamp_rto(&self.cfg, 3_000_000);
            // RFC 5681 §3.1: the initial window is one segment after a lost SYN.
            self.cwnd = self.eff_mss();
        } else if self.srtt == 0 {
            self.rto = clamp_rto(&self.cfg, us(self.cfg.rto_initial()));
        }
        if self.cwnd == 0 {
            self.init_cwnd();
        }
    }

    /// The window as congestion control sees it.
    pub(super) fn window(&self) -> Window {
        Window {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            mss: self.eff_mss(),
        }
    }

    /// New data acknowledged: grow cwnd (RFC 5681 §3.1, RFC 3465 ABC L=2)
    /// by `delivered`, `acked` less what was SACKed or duplicate-ACKed
    /// before with `Config::cwnd_delivered` (`sack.rs`, `delivered_by`).
    pub(super) fn on_new_ack(&mut self, acked: u32, delivered: u32, now: Instant) {
        let mss = self.eff_mss();
        if self.in_cwr() {
            if !self.snd_una.after(self.recover) {
                // Config::linux_cwr: PRR sets cwnd (`prr_ack`), which does
                // not grow meanwhile (Linux's `tcp_may_raise_cwnd`).
                self.dupacks = 0;
                return;
            }
            // Past what was sent before the reduction (strictly: Linux
            // waits for an ACK above it, so that the CWR flag reached the
            // peer): cwnd = ssthresh (`tcp_end_cwnd_reduction`), and this
            // ACK grows it as any other.
            self.leave_cwr();
            self.cwnd = self.ssthresh;
        }
        if self.in_recovery() {
            if self.snd_una.after_eq(self.recover) {
                // Full ACK: leave fast recovery (RFC 6582 §3.2 step 3).
                self.leave_recovery();
                self.cwnd = self.ssthresh.min(self.flight().max(mss) + mss);
                if self.sack_on() {
                    self.cwnd = self.ssthresh;
                }
                self.dupacks = 0;
            } else if self.sack_on() {
                // RFC 6675: the holes are resent by NextSeg(); PRR sets
                // cwnd (`prr_ack`).
                self.dupacks = 0;
            } else {
                // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next
                // hole; the duplicate ACKs this ACK covers are used up;
                // PRR sets cwnd (no deflation).
                self.set_fast_rtx(true);
                self.reno_partial_ack(acked);
            }
            return;
        }
        self.dupacks = 0;
        // RFC 9406 §4.3: rounds in the initial slow start only (where
        // cwnd is always below ssthresh).
        if self.ssthresh == u32::MAX && !self.cfg.linux_hystart() {
            self.hystart_round();
        }
        self.grow_cwnd(delivered, now);
    }

    /// Slow start or congestion avoidance by `acked` bytes delivered,
    /// unless the flight did not use cwnd (`Config::cwnd_limited`).
    #[inline]
    pub(super) fn grow_cwnd(&mut self, acked: u32, now: Instant) {
        if !self.may_grow_cwnd() {
            return;
        }
        let mss = self.eff_mss();
        if self.cwnd < self.ssthresh {
            // RFC 5681 §3.1 with RFC 3465 byte counting; the limit per ACK
            // is the algorithm's. Without one (CUBIC, as Linux's
            // `tcp_slow_start`), a stretch ACK from a coalescing receiver
            // (GRO) counts for all it covers, up to ssthresh; but only
            // until the first congestion event: after a timeout a
            // cumulative ACK can cover a whole window the peer held out of
            // order (without SACK above all), and a burst of that size
            // into the queue that just overflowed costs more than it gains
            // (benches/recovery.rs without SACK: -3 % to -25 %), so L = 2
            // applies then.
            let inc = match self.cc.slow_start_limit() {
                None if self.ssthresh == u32::MAX => acked,
                Some(l) => acked.min(l.saturating_mul(mss)),
                None => acked.min(2 * mss),
            };
            self.cwnd = self.cwnd.saturating_add(inc);
        } else {
            let w = self.window();
            self.cwnd = self.cc.on_ack_ca(w, acked, now, self.srtt);
        }
    }

    /// A duplicate ACK (RFC 5681 §3.2, RFC 6582 NewReno).
    pub(super) fn on_dupack(&mut self, now: Instant) {
        self.dupacks = self.dupacks.saturating_add(1);
        if !self.in_recovery()
            && u32::from(self.dupacks) == self.dupthresh()
            && self.snd_una.after_eq(self.recover)
        {
            self.enter_recovery(now);
        }
        if self.in_recovery() && !self.sack_on() {
            // Note: RFC 5681 §3.2 step 4 inflates cwnd by one segment per
            // duplicate ACK, which lets a receiver that spoofs them inflate
            // it without bound (Savage et al. 1999). Instead each counts as
            // one segment delivered, no more than the flight holds
            // (`reno_cap`, as Linux), and PRR (RFC 6937) sets cwnd.
            self.reno_cap();
        }
    }

    /// Fast retransmit and recovery (RFC 5681 §3.2, RFC 6582, RFC 6675 §5).
    pub(super) fn enter_recovery(&mut self, now: Instant) {
        let mss = self.eff_mss();
        // Config::linux_cwr: a recovery that starts during the CWR state
        // takes its reduction over (no second one).
        let from_cwr = self.cwr_to_recovery();
        if !from_cwr {
            let w = Window {
                cwnd: self.cwnd_to_reduce(),
                ..self.window()
            };
            self.ssthresh = self.cc.on_congestion(w, now);
        }
        self.recover = self.snd_max;
        self.high_rxt = self.snd_una;
        self.rtx_mark = self.snd_max;
        // RFC 6937 §3: PRR instead of RFC 6675 §5 step 4.2's cwnd =
        // ssthresh (and RFC 5681 §3.2's ssthresh + 3 * SMSS without SACK):
        // each ACK sets cwnd = pipe + sndcnt (`prr_ack`). Until one does
        // (recovery entered by RACK's timer), one segment may go: the fast
        // retransmit.
        if self.uncommon() {
            self.mtu_on_recovery();
        }
        if !from_cwr {
            self.prr_start();
        }
        self.cwnd = self.pipe().saturating_add(mss);
        self.set_fast_rtx(true);
        self.cold_mut().rare.recoveries += 1;
        // A loss probe's episode ends in fast recovery, which reduces the
        // window itself (Linux clears tlp_high_seq when recovery starts).
        self.set_tlp_out(false);
        if self.tlp_armed() {
            // No loss probe in fast recovery (RFC 8985 §7.2): the pending
            // PTO becomes an RTO (as Linux re-arms it on the retransmission).
            self.restart_rtx_timer(now);
        }
    }
}
