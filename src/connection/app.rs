//! The user calls (RFC 9293 §3.10.1-§3.10.6).

use super::{AppCall, Connection, Storage};
use crate::error::{CallError, CloseReason};
use crate::seq::SeqNum;
use crate::state::{Event, State};
use crate::time::Instant;

use super::actions::Actions;

impl<B: Storage> Connection<B> {
    pub(super) fn app_call(
        &mut self,
        now: Instant,
        call: AppCall<'_>,
        a: &mut Actions,
    ) -> Result<usize, CallError> {
        match call {
            AppCall::Listen { iss } => {
                self.check_closed()?;
                self.reset_tcb(iss);
                // The listener's seed sits in RCV.UP's place (see the field).
                self.rcv_up = iss;
                self.set_passive(true);
                self.goto(Event::PassiveOpen, State::Listen, a);
                Ok(0)
            }
            AppCall::Connect { iss } => {
                self.check_closed()?;
                self.reset_tcb(iss);
                self.start_active(iss, a);
                Ok(0)
            }
            AppCall::Send(data) => {
                let n = self.app_send(data)?;
                if n > 0 {
                    self.set_more(false);
                }
                Ok(n)
            }
            AppCall::SendMore(data) => {
                let n = self.app_send(data)?;
                if n > 0 {
                    self.set_more(true);
                    #[cfg(feature = "alloc")]
                    if self.cfg.linux_push() {
                        self.cold_mut().more_una = self.snd_una;
                    }
                }
                Ok(n)
            }
            AppCall::SendEor(data) => {
                let n = self.app_send(data)?;
                if n > 0 {
                    self.set_more(false);
                }
                // Linux marks the record's end only when the whole write
                // was taken (tcp_sendmsg_locked sets `eor` at its end).
                if n == data.len() {
                    self.record_end_queued();
                }
                Ok(n)
            }
            AppCall::SendUrgent(data) => {
                let n = self.app_send(data)?;
                self.urgent_queued(n);
                Ok(n)
            }
            AppCall::Receive(buf) => self.app_recv(buf, a),
            AppCall::Shutdown => {
                self.app_shutdown(a)?;
                Ok(0)
            }
            AppCall::Close => {
                self.app_close(now, a)?;
                Ok(0)
            }
            AppCall::Abort => {
                self.app_abort(a)?;
                Ok(0)
            }
            AppCall::SetNoDelay(on) => {
                self.set_nagle(!on);
                if on && self.unsent() > 0 {
                    // Linux (TCP_NAGLE_PUSH): what Nagle or a cork held
                    // goes now.
                    self.set_force_send(true);
                }
                Ok(0)
            }
            AppCall::SetCork(on) => {
                self.set_corked(on);
                if !on {
                    self.set_more(false);
                }
                if !on && self.unsent() > 0 {
                    self.set_force_send(true);
                }
                Ok(0)
            }
            AppCall::SetKeepalive(k) => {
                if k.is_some_and(|k| k.idle.is_zero() || k.interval.is_zero() || k.probes == 0) {
                    return Err(CallError::InvalidKeepalive);
                }
                self.cfg.make_mut().set_keepalive(k);
                self.ka_probes = 0;
                self.clear_timer(super::Timer::Keepalive);
                Ok(0)
            }
            AppCall::SetUserTimeout(t) => {
                self.cfg.make_mut().set_user_timeout(t);
                Ok(0)
            }
            AppCall::SetSynRetries(n) => {
                self.cfg.make_mut().syn_retries = n;
                Ok(0)
            }
        }
    }

    fn check_closed(&self) -> Result<(), CallError> {
        if self.state != State::Closed {
            return Err(CallError::InUse(self.state));
        }
        Ok(())
    }

    /// Active OPEN of a TCB reset for `iss` (RFC 9293 §3.10.1): SYN-SENT,
    /// the SYN waits for `poll_transmit`.
    pub(super) fn start_active(&mut self, iss: SeqNum, a: &mut Actions) {
        self.set_passive(false);
        self.rcv_wscale = self.our_wscale();
        self.ts_offset = iss.0.rotate_left(13);
        self.goto(Event::ActiveOpen, State::SynSent, a);
    }

    /// The variables a new open starts at `iss`; the rest of a TCB fresh
    /// from `Connection::new` is already what `reset_tcb` makes it.
    pub(super) fn set_iss(&mut self, iss: SeqNum) {
        self.iss = iss;
        self.reset_dsack_round(iss);
        self.snd_una = iss;
        self.snd_nxt = iss;
        self.snd_max = iss;
        self.hs_window_end = iss;
        #[cfg(feature = "alloc")]
        {
            self.cl_max = 0;
        }
        self.recover = iss;
        self.high_rxt = iss;
        self.snd_sml = iss;
    }

    /// What a new attempt at a handshake starts from: no retry, no RTT
    /// measured or being measured, the initial RTO (RFC 6298 §2.1), no
    /// SYN resent (which would leave RFC 5681 §3.1's one-segment initial
    /// window). For a new open, and for a passive open back in LISTEN
    /// after an attempt that failed (`back_to_listen`).
    pub(super) fn reset_timing(&mut self) {
        self.set_syn_retransmitted(false);
        self.retries = 0;
        self.srtt = 0;
        self.rttvar = 0;
        self.rto = super::timers::clamp_rto(&self.cfg, super::timers::us(self.cfg.rto_initial()));
        self.rtt_sample = super::timers::RttSample::NONE;
    }

    /// A fresh TCB for a new open: the buffers are reused, the rest reset.
    fn reset_tcb(&mut self, iss: SeqNum) {
        self.rx.clear();
        self.tx.clear();
        self.asm.clear();
        self.set_iss(iss);
        self.snd_wnd = 0;
        self.max_snd_wnd = 0;
        self.rcv_nxt = SeqNum(0);
        self.rcv_adv = SeqNum(0);
        self.set_rcv_fin(None);
        self.set_app_closed(false);
        self.set_fin_queued(false);
        self.set_fin_received(false);
        self.set_fin_acked(false);
        self.set_syn_acked(false);
        self.reset_timing();
        self.set_ts_on(false);
        self.set_sack_on(false);
        self.set_ecn_on(false);
        self.set_ece_pending(false);
        self.set_cwr_pending(false);
        self.set_undo(None);
        self.xflags &= super::urgent::x::KEEP;
        self.set_uncommon(false);
        self.set_ws_on(false);
        self.snd_wscale = 0;
        self.rcv_wscale = 0;
        self.close_reason = None;
        self.reset_cold();
        self.soft_error = super::icmp::soft::NONE;
        self.set_pending_rst(None);
        self.cwnd = 0;
        self.ssthresh = u32::MAX;
        self.cc = super::congestion::Controller::new(self.cfg.congestion);
        self.last_send = crate::time::Stamp::NONE;
        self.hs_last_min = u32::MAX;
        self.hs_cur_min = u32::MAX;
        self.nibbles = 0;
        self.smss = self.cfg.default_peer_mss.max(1);
        self.sacked.clear();
        self.sent_log.reset();
        self.min_rtt = u32::MAX;
        self.set_dsack(None);
        self.set_in_recovery(false);
        self.dupacks = 0;
        self.quick = self.cfg.quickack;
        self.set_pingpong(false);
        self.last_data_in = crate::time::Stamp::NONE;
    }

    /// The call fails once the connection has ended.
    fn ended(&self) -> CallError {
        match self.close_reason {
            Some(r) => CallError::Ended(r),
            None => CallError::NotConnected,
        }
    }

    /// SEND (RFC 9293 §3.10.2). Queued in SYN-SENT/SYN-RECEIVED (FSM-63).
    fn app_send(&mut self, data: &[u8]) -> Result<usize, CallError> {
        self.send_allowed()?;
        if data.is_empty() {
            return Err(CallError::EmptyBuffer);
        }
        Ok(self.tx.enqueue_slice(data))
    }

    /// Whether SEND is allowed in this state (RFC 9293 §3.10.2).
    pub(super) fn send_allowed(&self) -> Result<(), CallError> {
        match self.state {
            State::Closed => Err(self.ended()),
            // FSM-4 is not taken: a listener has no remote socket
            // (RFC 9293 §3.10.2 LISTEN STATE).
            State::Listen => Err(CallError::RemoteUnspecified),
            _ if !self.may_send() => Err(CallError::Closing),
            _ => Ok(()),
        }
    }

    /// RECEIVE (RFC 9293 §3.10.3).
    pub(super) fn app_recv(&mut self, buf: &mut [u8], a: &mut Actions) -> Result<usize, CallError> {
        if buf.is_empty() {
            return match self.state {
                State::Listen => Err(CallError::NotConnected),
                State::Closed
                    if self.rx.is_empty() && self.close_reason != Some(CloseReason::Normal) =>
                {
                    Err(self.ended())
                }
                _ => Err(CallError::EmptyBuffer),
            };
        }
        if self.rx.is_empty() {
            if self.state == State::Closed && self.close_reason != Some(CloseReason::Normal) {
                return Err(self.ended());
            }
            if self.state == State::Listen {
                return Err(CallError::NotConnected);
            }
            return Ok(0);
        }
        let before = self.rcv_wnd();
        // A read stops at the end of pending urgent data (`urgent.rs`).
        let buf = if self.uncommon() {
            let n = self.urgent_read_limit(buf.len());
            &mut buf[..n]
        } else {
            buf
        };
        let n = self.rx.dequeue_slice(buf);
        if self.rx.is_empty() && self.asm.is_empty() {
            self.rx.rewind_if_empty();
        }
        self.update_after_read(before);
        if self.uncommon() {
            self.urgent_read();
        }
        let _ = a;
        Ok(n)
    }

    /// After the application read, with `before` the window the ring
    /// offered before the read.
    pub(super) fn update_after_read(&mut self, before: u32) {
        // Window update after a read (RFC 9293 §3.8.6.2.2): when the window
        // we could offer grew by at least min(RCV.BUFF/2, MSS) beyond what we
        // advertised, tell the peer now. (Once the peer's FIN is in, the
        // state is one that may not receive: `input::fin` moves
        // SYN-RECEIVED and ESTABLISHED to CLOSE-WAIT, FIN-WAIT-1 to CLOSING
        // or TIME-WAIT, FIN-WAIT-2 to TIME-WAIT, RFC 9293 §3.10.7.4 step 8.)
        debug_assert!(!(self.state.may_receive() && self.fin_received()));
        if self.state.may_receive() {
            let adv = if self.rcv_adv.after(self.rcv_nxt) {
                self.rcv_adv.dist(self.rcv_nxt)
            } else {
                0
            };
            let cap = self.rx.capacity_u32();
            let step = (cap / 2).min(u32::from(self.cfg.mss)).max(1);
            // The window field cannot say more than 0xffff << RCV.WIND.SHIFT:
            // no update when the offer could not grow past that.
            let max = 0xffffu32 << self.rcv_wscale;
            let offer = self.rcv_wnd().min(max);
            if offer >= adv.saturating_add(step) && adv < cap / 2 && offer > before.min(max) {
                self.set_ack_now(true);
            }
        }
    }

    /// Shutdown of the sending direction: FIN after queued data.
    fn app_shutdown(&mut self, a: &mut Actions) -> Result<(), CallError> {
        match self.state {
            State::Closed => Err(self.ended()),
            // A close before any connection exists ends it at once, with
            // the same reason in LISTEN and SYN-SENT (RFC 9293 §3.10.4:
            // "delete TCB"; nothing is sent).
            State::Listen | State::SynSent => {
                self.goto(Event::Close, State::Closed, a);
                self.close_reason = Some(CloseReason::Aborted);
                Ok(())
            }
            State::SynReceived | State::Established => {
                self.set_fin_queued(true);
                self.goto(Event::Close, State::FinWait1, a);
                Ok(())
            }
            State::CloseWait => {
                self.set_fin_queued(true);
                self.goto(Event::Close, State::LastAck, a);
                Ok(())
            }
            // FSM-60/61: never a second FIN.
            _ => Err(CallError::Closing),
        }
    }

    /// CLOSE (RFC 9293 §3.10.4).
    fn app_close(&mut self, now: Instant, a: &mut Actions) -> Result<(), CallError> {
        let unread = !self.rx.is_empty();
        match self.state {
            State::Closed => return Err(self.ended()),
            // (SYN-RECEIVED holds data only on a Fast Open child, whose
            // SYN's data the application did not read.)
            State::SynReceived | State::Established | State::CloseWait if unread => {
                // SHLD-3 / FSM-48: unread data means the peer's data would be
                // lost: tell it with a RST.
                self.active_rst();
                self.set_app_closed(true);
                self.close_with(Event::CloseWithUnreadData, CloseReason::Aborted, a);
                return Ok(());
            }
            State::FinWait1
            | State::FinWait2
            | State::Closing
            | State::LastAck
            | State::TimeWait => {
                // Already closing: the app now also stops reading.
                let first = !self.app_closed();
                self.set_app_closed(true);
                if first {
                    self.arm_orphan_deadline(now);
                }
                return if first {
                    Ok(())
                } else {
                    Err(CallError::Closing)
                };
            }
            _ => {}
        }
        self.set_app_closed(true);
        self.app_shutdown(a)?;
        self.arm_orphan_deadline(now);
        Ok(())
    }

    /// The RST of a CLOSE with unread data or an ABORT: `<SEQ=SND.NXT>
    /// <CTL=RST>` (RFC 9293 §3.10.5), or with `Config::rst_with_ack` as
    /// Linux sends it: ACK bit, RCV.NXT and the timestamp option.
    pub(super) fn active_rst(&mut self) {
        let ack = self.cfg.rst_with_ack().then_some(self.rcv_nxt);
        self.set_pending_rst(Some((self.snd_max, ack)));
        self.set_rst_ts(ack.is_some());
    }

    /// ABORT (RFC 9293 §3.10.5).
    fn app_abort(&mut self, a: &mut Actions) -> Result<(), CallError> {
        if self.state == State::Closed {
            return Err(self.ended());
        }
        self.abort_now(a);
        Ok(())
    }

    /// ABORT's work (RFC 9293 §3.10.5), also when an orphan's lifetime
    /// runs out: a RST where the peer has a TCB for us, then CLOSED.
    pub(super) fn abort_now(&mut self, a: &mut Actions) {
        match self.state {
            // FSM-40: a RST where the peer has a TCB for us.
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait => {
                self.active_rst();
            }
            // FSM-41/42: no segment.
            _ => {}
        }
        self.set_app_closed(true);
        self.close_with(Event::Abort, CloseReason::Aborted, a);
    }
}
