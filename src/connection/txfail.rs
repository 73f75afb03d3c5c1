//! A segment the host could not send ([`Connection::on_transmit_failed`]).
//!
//! A host's local queue can refuse a segment that `poll_transmit` built:
//! a TUN device or a NIC ring full, `ENOBUFS`, a queueing discipline that
//! drops. Without word of it the engine takes the segment for sent and
//! learns of its loss only by the retransmission timer. Linux learns it at
//! once (`tcp_transmit_skb` returns the qdisc's drop) and acts as this
//! module does, for new data:
//!
//! - `tcp_write_xmit` stops at the skb that failed: it stays in the write
//!   queue, not sent (SND.NXT does not move past it);
//! - with nothing in flight, `tcp_check_probe_timer` arms the probe timer
//!   (`ICSK_TIME_PROBE0`) at `tcp_probe0_base`, the RTO; while something is
//!   in flight, its ACK (`tcp_ack` -> `tcp_data_snd_check`) or the
//!   retransmission timer tries again;
//! - the probe timer (`tcp_probe_timer`) tries the held data again
//!   (`tcp_send_probe0` -> `tcp_write_wakeup`); when that fails too, it
//!   counts a probe (`icsk_probes_out`, `TcpInfo::probes`), leaves the
//!   backoff (`icsk_backoff`) alone and tries again after
//!   `TCP_RESOURCE_PROBE_INTERVAL`, 500 ms, or what is left of the user
//!   timeout if less (`tcp_clamp_probe0_to_user_timeout`);
//! - the connection times out (`tcp_write_err`, `ETIMEDOUT`) at a probe
//!   timer once the user timeout has passed since the first probe
//!   (`icsk_probes_tstamp`), or after `tcp_retries2` failed probes;
//! - any acceptable ACK clears the count (`icsk_probes_out = 0`) and
//!   releases the data (`tcp_ack_probe`).

use super::actions::Actions;
use super::{Connection, Probe, Storage, Timer, Transmit};
use crate::error::CloseReason;
use crate::seq::SeqNum;
use crate::state::Event;
use crate::time::{Duration, Instant};
use crate::wire::Flags;

/// Linux's `TCP_RESOURCE_PROBE_INTERVAL`: the probe timer's period while
/// the host cannot send.
const RESOURCE_PROBE: Duration = Duration::from_millis(500);

/// Linux's `TCP_TIMEOUT_MIN` (2 jiffies at HZ=1000): the shortest probe
/// interval the user-timeout clamp leaves.
const TIMEOUT_MIN: Duration = Duration::from_millis(2);

impl<B: Storage> Connection<B> {
    /// The host could not send `t`, the segment the last call to
    /// [`poll_transmit`](Self::poll_transmit) (or
    /// [`poll_transmit_gso`](Self::poll_transmit_gso)) returned: its local
    /// queue dropped it (`ENOBUFS`, a full device queue). Call it right
    /// after that poll, before any other call on this connection; then go
    /// on as after any call (the returned actions).
    ///
    /// **New data** (with its FIN, if any) is taken back, as Linux keeps an skb its
    /// qdisc refused in the write queue: SND.NXT and SND.MAX return to
    /// `t.seq`, the bytes wait in the send buffer unsent, no RTT sample is
    /// taken from them, and RACK, the loss probe and the congestion state
    /// stay as they are. The data then waits: with nothing else in flight
    /// the probe timer tries it again after the RTO (Linux's
    /// `tcp_check_probe_timer`), and every further failure counts a probe
    /// ([`TcpInfo::probes`](crate::connection::info::TcpInfo::probes); the backoff stays)
    /// and tries again after 500 ms (`TCP_RESOURCE_PROBE_INTERVAL`). The
    /// connection times out with [`CloseReason::UserTimeout`] once the
    /// user timeout ([`Config::user_timeout`](crate::Config::user_timeout))
    /// has passed since the first probe, or with
    /// [`CloseReason::TimedOut`] after `retries2` failed probes (Linux's
    /// `tcp_probe_timer`). With data in flight, the next ACK or the
    /// retransmission timer releases it. Any acceptable ACK clears the
    /// count of probes.
    ///
    /// **A SACK-based retransmission in fast recovery** (RFC 6675 NextSeg,
    /// the hole HighRxt ends at) stays lost and unsent, as Linux's
    /// `tcp_xmit_retransmit_queue` leaves an skb `tcp_retransmit_skb`
    /// could not send: HighRxt returns to `t.seq` (not in
    /// [`TcpInfo::retrans`](crate::connection::info::TcpInfo::retrans)), and the resend
    /// waits for the next ACK or the retransmission timer. Its attempt
    /// stays counted in `total_retrans` and [`Stats`](crate::Stats)'s
    /// `retransmits`, as Linux's `__tcp_retransmit_skb` counts it before
    /// the send.
    ///
    /// Not covered (the call changes nothing; the segment counts as sent
    /// and lost, and the retransmission timer recovers it, as before):
    /// other retransmissions (after a timeout, a loss probe, a fast
    /// retransmission outside SACK recovery), a segment that is not the
    /// last one polled, a SYN or SYN,ACK, a FIN alone, a pure ACK, a window probe or
    /// keep-alive, a RST, a PLPMTUD probe. Linux also enters CWR
    /// (`tcp_enter_cwr`) on a local drop; the engine does not, and PRR
    /// keeps the failed attempt in its count of what was sent. The time
    /// since the first probe is counted as 500 ms per failed probe (the
    /// probe timer's period, as Linux's clamp keeps it), so run the
    /// timers on time and report each failure at once. Byte and segment
    /// counters keep the attempt, as Linux's (`tcpi_segs_out`,
    /// `tcpi_bytes_sent`, `tcpi_last_data_sent`). The rule reads the
    /// retransmission state (RecoveryPoint, HighRxt, the loss probe) to
    /// tell a retransmission ending at SND.MAX from new data.
    ///
    /// ```
    /// use tcpstate::{Buffers, Config, Connection, Instant, Segment, SeqNum, State};
    ///
    /// type Conn = Connection<Vec<u8>>;
    /// // Delivers every segment `from` has for `to`.
    /// fn pump(now: Instant, from: &mut Conn, to: &mut Conn) {
    ///     let mut buf = [0u8; 1500];
    ///     while let Some(t) = from.poll_transmit(now, &mut buf) {
    ///         let h = t.header(1, 2);
    ///         to.on_segment(now, &Segment::new(&h, &buf[..t.len]));
    ///     }
    /// }
    /// let new = || Conn::new(Config::linux(), Buffers::with_capacity(4096, 4096));
    /// let (mut a, mut b) = (new()?, new()?);
    /// let now = Instant::ZERO;
    /// b.listen(now, SeqNum(5000))?;
    /// a.connect(now, SeqNum(1000))?;
    /// pump(now, &mut a, &mut b);
    /// pump(now, &mut b, &mut a);
    /// pump(now, &mut a, &mut b);
    /// assert_eq!(a.state(), State::Established);
    ///
    /// a.send(now, b"hello")?;
    /// let mut buf = [0u8; 1500];
    /// let t = a.poll_transmit(now, &mut buf).expect("data");
    /// // The device queue is full (ENOBUFS): the segment never left.
    /// let _actions = a.on_transmit_failed(now, &t);
    /// assert_eq!(a.send_queue(), 5);
    /// assert!(a.poll_transmit(now, &mut buf).is_none()); // it waits
    /// // The probe timer (the RTO) tries the same bytes again.
    /// let at = a.deadline().expect("the probe timer");
    /// a.on_timer(at);
    /// let again = a.poll_transmit(at, &mut buf).expect("data again");
    /// assert_eq!((again.seq, again.len), (t.seq, 5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_transmit_failed(&mut self, now: Instant, t: &Transmit) -> Actions {
        self.transmit_failed(now, t.seq, t.len, t.flags)
    }

    /// [`on_transmit_failed`](Self::on_transmit_failed) of the segment
    /// that starts at `seq` with `len` payload bytes and `flags` (the
    /// Endpoint reads them from the header it wrote).
    pub(crate) fn transmit_failed(
        &mut self,
        now: Instant,
        seq: SeqNum,
        len: usize,
        flags: Flags,
    ) -> Actions {
        let now = self.clock(now);
        let mut a = Actions::NONE;
        if self.take_back(seq, len, flags) {
            self.hold_unsent(now);
        }
        self.finish(now, &mut a);
        a
    }

    /// Takes `t` back when it is new data (or a FIN) ending at SND.NXT =
    /// SND.MAX: the last segment polled, first sent by that poll.
    fn take_back(&mut self, seq: SeqNum, len: usize, f: Flags) -> bool {
        if !self.syn_acked() || f.syn() || f.rst() || !self.state.is_synchronized() {
            return false;
        }
        // A FIN alone is not taken back: the probe timer waits for data
        // (`unsent()`), which a FIN alone is not.
        if len == 0 {
            return false;
        }
        let len = len as u32 + u32::from(f.fin());
        let end = seq.add(len);
        if seq.before(self.snd_una) || end.after(self.snd_max) {
            return false;
        }
        if self.take_back_rtx(seq, end) {
            return false;
        }
        if end != self.snd_nxt || end != self.snd_max {
            return false;
        }
        // A retransmission ending at SND.MAX: the last of a go-back-N
        // resend after a timeout, or a fast retransmission (both at or
        // below RecoveryPoint while SND.UNA is below it), a SACK-based or
        // fast retransmission (HighRxt is its end), a loss probe that
        // resent the last segment. New data ends beyond all three. A
        // PLPMTUD probe is left alone too.
        let rtx = (self.snd_una.before(self.recover) && end.before_eq(self.recover))
            || (self.high_rxt.after(self.snd_una) && self.high_rxt == end)
            || (self.tlp_out() && self.sent_log.tlp_retrans() && self.cold().tlp_high == end)
            || self.xflag(super::urgent::x::MTU_PROBE);
        if rtx {
            return false;
        }
        self.snd_nxt = seq;
        self.snd_max = seq;
        if self.snd_sml.after(seq) {
            self.snd_sml = seq;
        }
        // Karn: nothing to time in bytes that did not go.
        if self.rtt_sample.seq().is_some_and(|s| !s.before(seq)) {
            self.rtt_sample = super::timers::RttSample::NONE;
        }
        self.sent_log.trim(self.snd_una, self.snd_max);
        if self.flight() == 0 {
            // No loss probe for nothing in flight.
            self.set_tlp_armed(false);
        }
        true
    }

    /// A SACK-based retransmission of a hole in recovery (RFC 6675
    /// NextSeg, the last polled: HighRxt is its end) that did not go: as
    /// Linux's `tcp_xmit_retransmit_queue` when `tcp_retransmit_skb`
    /// fails, the hole stays lost and unsent (HighRxt back to its start:
    /// not in `TcpInfo::retrans`; `total_retrans` and `Stats::retransmits`
    /// keep the attempt, as Linux's `__tcp_retransmit_skb` counts it
    /// before the send), and the resend waits for the next ACK or the
    /// retransmission timer.
    /// Any other retransmission is left as sent. Whether it was one.
    fn take_back_rtx(&mut self, seq: SeqNum, end: SeqNum) -> bool {
        if !(self.sack_on() && self.in_recovery() && self.high_rxt == end && end.after(seq)) {
            return false;
        }
        self.high_rxt = seq;
        self.probe = Probe::Held;
        self.refresh_uncommon();
        true
    }

    /// The data waits (`Probe::Held`): with nothing in flight, on the probe
    /// timer, first after the RTO (`tcp_check_probe_timer`), then, when the
    /// probe's own attempt failed, after 500 ms counting a probe
    /// (`tcp_send_probe0`, clamped to the user timeout).
    fn hold_unsent(&mut self, now: Instant) {
        let retry = self.probe == Probe::Retry;
        self.probe = Probe::Held;
        self.refresh_uncommon();
        if self.flight() > 0 {
            return;
        }
        let d = if retry {
            self.zwp_unanswered = self.zwp_unanswered.saturating_add(1);
            match self.cfg.user_timeout() {
                Some(ut) => {
                    let left = ut.saturating_sub(self.resource_elapsed());
                    RESOURCE_PROBE.min(left.max(TIMEOUT_MIN))
                }
                None => RESOURCE_PROBE,
            }
        } else {
            self.rto_duration()
        };
        self.set_timer(Timer::Persist, now + d);
    }

    /// The time since the first probe, as the probes count it: the probe
    /// timer's period for each probe that failed before the latest one.
    fn resource_elapsed(&self) -> Duration {
        RESOURCE_PROBE * u32::from(self.zwp_unanswered.saturating_sub(1))
    }

    /// The probe timer fired while the data is held (Linux's
    /// `tcp_probe_timer`): time out, or let the data try again
    /// (`Probe::Retry`).
    pub(super) fn on_resource_probe(&mut self, a: &mut Actions) {
        self.probe = Probe::None;
        self.refresh_uncommon();
        if self.flight() > 0 || self.unsent() == 0 {
            self.zwp_unanswered = 0;
            return;
        }
        let probes = self.zwp_unanswered;
        if probes > 0
            && let Some(ut) = self.cfg.user_timeout()
            && RESOURCE_PROBE * u32::from(probes) >= ut
        {
            self.close_with(Event::UserTimeout, CloseReason::UserTimeout, a);
            return;
        }
        if probes >= self.cfg.retries2 {
            self.close_with(Event::RetransmitTimeout, CloseReason::TimedOut, a);
            return;
        }
        self.probe = Probe::Retry;
    }

    /// An acceptable ACK, or the retransmission timer, releases held data
    /// (Linux's `tcp_ack_probe` clears the probe timer; the data goes at
    /// the next poll).
    #[cold]
    pub(super) fn release_held(&mut self) {
        if matches!(self.probe, Probe::Held | Probe::Retry) {
            self.probe = Probe::None;
            self.clear_timer(Timer::Persist);
            self.refresh_uncommon();
        }
    }

    /// Whether new data waits after a failed send (`Probe::Held`).
    #[inline]
    pub(super) fn held(&self) -> bool {
        self.probe == Probe::Held
    }
}
