//! Configuration, with two presets: [`Config::rfc9293`] follows the RFC's
//! recommended values; [`Config::linux`] follows Linux's defaults so that
//! packetdrill scripts and interop tests see Linux-like behaviour.

use crate::error::ConfigError;
use crate::time::Duration;

/// Keep-alive parameters (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe (MUST-28: default at least two hours).
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped (MUST-29: more than one).
    pub probes: u8,
}

/// Everything a connection can be told about how to behave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The MSS we advertise in our SYN (MUST-67: MTU minus 40 on IPv4).
    pub mss: u16,
    /// The send MSS assumed when the peer's SYN has no MSS option
    /// (MUST-15: 536 on IPv4, 1220 on IPv6).
    pub default_peer_mss: u16,
    /// The smallest send MSS accepted from a peer (Linux `tcp_min_snd_mss` 48);
    /// smaller advertised values are raised to it.
    pub min_peer_mss: u16,
    /// Offer and accept window scaling (RFC 7323 §2).
    pub window_scaling: bool,
    /// The receive-buffer size the window-scale shift we offer is chosen
    /// for: the smallest shift that lets the window field cover it
    /// (RFC 7323 §2.3). Linux chooses for the largest buffer autotuning may
    /// reach (`tcp_rmem[2]`, 6 MiB by default: shift 7), not the buffer the
    /// connection starts with. `None`: the connection's receive buffer.
    pub wscale_buffer: Option<usize>,
    /// Offer and accept timestamps (RFC 7323 §3, §5 PAWS).
    pub timestamps: bool,
    /// Offer and accept SACK (RFC 2018, D-SACK RFC 2883) and use the peer's
    /// blocks for loss recovery (RFC 6675).
    pub sack: bool,
    /// Maximum segment lifetime; TIME-WAIT lasts `2 * msl` (RFC 9293 §3.4.2).
    pub msl: Duration,
    /// Lifetime of an orphaned FIN-WAIT-2 (Linux `tcp_fin_timeout`).
    pub fin_timeout: Duration,
    /// Initial retransmission timeout (RFC 6298 §2.1: 1 s).
    pub rto_initial: Duration,
    /// Lower bound of the RTO (RFC 6298 §2.4: 1 s; Linux 200 ms).
    pub rto_min: Duration,
    /// Upper bound of the RTO (RFC 6298 §2.5: at least 60 s; Linux 120 s).
    pub rto_max: Duration,
    /// SYN retransmissions before `connect` fails with `TimedOut` (R2 for SYN).
    pub syn_retries: u8,
    /// SYN+ACK retransmissions before a half-open connection is dropped.
    pub synack_retries: u8,
    /// Retransmissions of data or FIN before the connection is dropped (R2).
    pub retries2: u8,
    /// Retransmissions of an orphaned connection's data or FIN, and its
    /// zero-window probes, before it is dropped (Linux `tcp_orphan_retries`;
    /// 8 is what Linux uses while the sysctl is 0). An orphan's probes count
    /// even when the peer answers them, as Linux's `tcp_probe_timer` counts
    /// them for a dead socket: a peer that keeps its window shut cannot keep
    /// an orphan for ever (the Sockstress attack).
    pub orphan_retries: u8,
    /// The longest an orphan (a connection the application closed, not yet
    /// in TIME-WAIT) lives after the close, whatever the peer does; then it
    /// is aborted (RST where the peer knows it, RFC 9293 §3.10.5). `None`:
    /// no limit beyond `orphan_retries` and `fin_timeout`. Linux has no
    /// such bound (its orphans end by `tcp_orphan_retries`,
    /// `tcp_fin_timeout`, or `tcp_max_orphans` and memory pressure).
    pub orphan_lifetime: Option<Duration>,
    /// Delayed-ACK timeout (RFC 9293 §3.8.6.3 MUST-40: under 500 ms).
    pub delayed_ack: Duration,
    /// Quick-ACK mode (Linux `TCP_MAX_QUICKACKS`): the first this-many
    /// ACKs of received data, and again after the peer was idle longer
    /// than the RTO, are sent at once instead of delayed, unless the
    /// connection is interactive (we sent data within the delayed-ACK time
    /// of receiving some: Linux's "pingpong" mode). With it on, the
    /// peer's FIN after data makes the connection interactive as Linux's
    /// `tcp_fin` does: its ACK waits for the delayed-ACK timer unless a
    /// full segment is unacknowledged (RFC 1122 §4.2.3.2 allows the
    /// delay). 0: off, every FIN is ACKed at once (RFC 9293 §3.8.6.3
    /// allows either; MUST-40 only bounds the delay).
    pub quickack: u8,
    /// Nagle's algorithm (RFC 9293 §3.7.4), on unless `TCP_NODELAY`.
    pub nagle: bool,
    /// Minshall's variant of Nagle (Linux `tcp_nagle_check`): a short
    /// segment may go while data is unacknowledged, as long as no other
    /// short segment is (RFC 9293 §3.7.4 allows it; RFC 896 holds any
    /// short segment while data is in flight).
    pub nagle_minshall: bool,
    /// Ignore RST in TIME-WAIT (RFC 1337). Linux's `tcp_rfc1337` is 0.
    pub rfc1337: bool,
    /// Minimum spacing of challenge ACKs and ACKs to out-of-window segments
    /// (RFC 5961 §7; Linux `tcp_invalid_ratelimit`, 500 ms).
    pub challenge_ack_interval: Duration,
    /// Challenge ACKs allowed per interval before the limit applies.
    pub challenge_ack_burst: u8,
    /// Initial congestion window in segments (RFC 6928: 10).
    pub initial_window: u16,
    /// Congestion control (RFC 5681 NewReno, RFC 9438 CUBIC).
    pub congestion: crate::connection::congestion::Algorithm,
    /// Leave slow start when the RTT starts to grow (HyStart++, RFC 9406),
    /// before the queue overflows. Linux's CUBIC does the same (HyStart).
    /// RFC 9406 §4.3: in the initial slow start only (later ones stop at
    /// the ssthresh a loss set); with [`linux_hystart`](Config::linux_hystart)
    /// in every slow start, a timeout starting a fresh round, as Linux.
    pub hystart: bool,
    /// Restart from the initial window after an idle period longer than
    /// the RTO (RFC 5681 §4.1; Linux `tcp_slow_start_after_idle=1`).
    pub slow_start_after_idle: bool,
    /// Out-of-order ranges the receiver holds for reassembly (at most
    /// [`Assembler::MAX_RANGES`](crate::buffer::Assembler), 8); a segment
    /// that would open one more is dropped and retransmitted by the peer.
    /// Together with the receive buffer this bounds reassembly memory.
    pub max_ooo_ranges: u8,
    /// SACKed ranges the sender's scoreboard holds (RFC 6675; at most 8);
    /// blocks beyond it are forgotten, which can only cause resending.
    pub max_sack_ranges: u8,
    /// Explicit Congestion Notification (RFC 3168): ask for it on our SYN
    /// and accept it on the peer's. Off by default.
    pub ecn: bool,
    /// Keep-alive; off unless set (MUST-25).
    pub keepalive: Option<Keepalive>,
    /// Abort when sent data stays unacknowledged this long (RFC 5482;
    /// Linux `TCP_USER_TIMEOUT`). `None`: only `retries2` applies.
    pub user_timeout: Option<Duration>,
    /// Reset a connection that receives new data after the application
    /// closed it (RFC 9293 §3.6.1 SHLD-3; Linux does).
    pub rst_on_data_after_close: bool,
    /// Set PSH as Linux does with segmentation offload: besides the last
    /// segment of the queued data (`tcp_mark_push`), the new data sent at
    /// one time is cut into GSO packets as Linux's `tcp_write_xmit` cuts
    /// it (at most `tso_segs` segments and half the congestion window
    /// each), and the last segment of each packet of two segments or more
    /// carries PSH, as Linux 6.18 sends them; a segment sent alone in the
    /// middle of the data does not. `SendMore` data waits only until the
    /// next ACK (Linux corks only the `MSG_MORE` write's own push) and its
    /// end still carries no PSH. The data of a Fast Open SYN that its
    /// SYN,ACK did not acknowledge goes again as the segment it was, with
    /// PSH (Linux keeps it as one buffer). Off: PSH only on the last
    /// segment of the queued data (RFC 9293 §3.9.1), and `SendMore` data
    /// waits as under a cork.
    pub linux_push: bool,
    /// With `linux_push`: the most segments of one GSO packet, Linux's
    /// `tcp_min_tso_segs` (default 2; Linux's TSO autosizing, which this
    /// leaves out, lets larger packets go only at rates above some
    /// segments a millisecond). A packet is also at most half the
    /// congestion window and what cwnd and the peer's window let go
    /// (Linux's `tcp_cwnd_test`, `tcp_mss_split_point`); the last segment
    /// of a packet of two or more carries PSH. At least 1.
    pub tso_segs: u8,
    /// The RST of a CLOSE with unread data or of an ABORT carries the ACK
    /// bit, RCV.NXT and the timestamp option, as Linux's
    /// `tcp_send_active_reset` sends it. Off: `<SEQ=SND.NXT><CTL=RST>`
    /// alone (RFC 9293 §3.10.5). On, keep-alive that gives up also sends
    /// such a RST, as Linux's `tcp_keepalive_timer` does; off, it ends the
    /// connection silently (RFC 1122 §4.2.3.6 names no segment to send).
    pub rst_with_ack: bool,
    /// F-RTO (RFC 5682, the SACK-enhanced algorithm of §3 with SACK, the
    /// basic one of §2 without): after a retransmission timeout, the first
    /// ACKs tell whether it was spurious (the original segments were only
    /// delayed); then new data goes on and the congestion window is
    /// restored (RFC 4015), instead of a go-back-N resend of a window that
    /// arrived. Linux's `tcp_frto` is on (2) by default. Works with Eifel
    /// detection (RFC 3522, with timestamps), whichever sees it first.
    pub frto: bool,
    /// Packetization-layer path MTU discovery (RFC 4821 §7; Linux
    /// `tcp_mtu_probing=1`): when R1 retransmissions of a segment go
    /// unanswered ([`Config::RETRIES1`]), the send MSS falls to
    /// [`Config::MTU_PROBE_BASE_MSS`] (Linux `tcp_base_mss`) in case the
    /// path drops large packets without an ICMP error (a black hole), and
    /// probes of sizes between the largest that got through and the MSS
    /// negotiated search the largest that does (binary search, as Linux's
    /// `tcp_mtu_probe`); [`Config::MTU_PROBE_INTERVAL`] after a search, a
    /// new one probes upwards again (with `alloc`). Off by default, as in
    /// Linux.
    pub mtu_probing: bool,
    /// In SYN-SENT, a SYN,ACK whose timestamp option echoes a TSval not
    /// yet sent (TSecr after our clock) is answered with a RST
    /// `<SEQ=SEG.ACK><CTL=RST>` and dropped; the connection stays in
    /// SYN-SENT for a valid one, as Linux's `tcp_rcv_synsent_state_process`
    /// does (its active-side PAWS check, `PAWSActiveRejected`; Linux also
    /// rejects an echo older than its first SYN, which needs a send time
    /// the engine does not keep). Off: the SYN,ACK is taken (RFC 7323
    /// §5.3 applies PAWS to synchronized connections only, and §3.2 asks
    /// nothing of a SYN,ACK's TSecr).
    pub synack_tsecr_check: bool,
    /// The congestion window grows only while the flight uses it: when
    /// the largest flight of the current window left no room for another
    /// full segment, or, in slow start, while cwnd is below twice that
    /// flight (Linux's `tcp_is_cwnd_limited`); and a congestion event
    /// reduces cwnd, not the flight (RFC 9438 §4.6 allows it with such a
    /// measure; Linux's `tcp_enter_recovery`). Off: cwnd grows on every
    /// ACK of new data and fast recovery reduces the flight (RFC 5681
    /// §3.1, §3.2).
    pub cwnd_limited: bool,
    /// The RTO is SRTT + max(4 * RTTVAR, `rto_min`), as Linux computes it
    /// (`tcp_rtt_estimator` keeps its variance term, `rttvar_us`, at least
    /// `tcp_rto_min`, and `__tcp_set_rto` adds it to SRTT): a steady
    /// 100 ms RTT gives 300 ms. Off: max(SRTT + 4 * RTTVAR, `rto_min`)
    /// (RFC 6298 §2.3, §2.4), 200 ms there with Linux's `rto_min`.
    pub rto_min_in_variance: bool,
    /// ICMP errors as Linux takes them (`tcp_v4_err`, `tcp_req_err`,
    /// `tcp_v4_mtu_reduced`) where RFC 1122 §4.2.3.9 says otherwise:
    /// - a connection still opening (SYN-SENT, or SYN-RECEIVED after a
    ///   simultaneous open or as a Fast Open child not yet accepted) ends
    ///   on any destination-unreachable (not "fragmentation needed"),
    ///   time-exceeded or parameter-problem error, soft ones included
    ///   ([`CloseReason::Unreachable`](crate::CloseReason::Unreachable));
    /// - a passive SYN-RECEIVED that is no Fast Open child (Linux's request
    ///   socket) goes back to LISTEN on network or host unreachable, time
    ///   exceeded or parameter problem, and ignores the other errors, port
    ///   unreachable among them (`tcp_req_err`);
    /// - a "fragmentation needed" in SYN-SENT whose SYN carried Fast Open
    ///   data sends the SYN again at once, without data (Linux's
    ///   `tcp_simple_retransmit` of SYN data), and the SYN's MSS option
    ///   then offers what the path MTU allows (Linux's route `advmss`).
    ///
    /// Off: RFC 1122 §4.2.3.9: only protocol and port unreachable end a
    /// connection still opening (SHLD-26), the rest are soft errors
    /// (MUST-56), and a smaller path MTU is used by the next
    /// retransmission (RFC 1191).
    pub linux_icmp: bool,
    /// With [`hystart`](Config::hystart), slow start ends as Linux's CUBIC
    /// ends it (`bictcp_acked`, `hystart_update`, HYSTART_DELAY) instead
    /// of by RFC 9406's delay test: delay samples from every ACK of new
    /// data that covers no retransmitted byte (Linux's `ca_rtt_us`: the
    /// newest acknowledged segment's send time; with timestamps the echo
    /// gives one already, without them the send log dates it, as it does
    /// for RFC 9406), counted only while cwnd is at least 16 segments
    /// (`hystart_low_window`); a round's minimum is compared with the
    /// connection's minimum RTT (`delay_min`), not the last round's, from
    /// the ninth sample of the round on, and must exceed it by more than
    /// an eighth (clamped to 4..16 ms). The samples feed nothing else
    /// (SRTT stays RFC 6298's). Off: RFC 9406 §4.2.
    pub linux_hystart: bool,
    /// Take SACK blocks in whole segments, as Linux's
    /// `tcp_match_skb_to_sack` does: a block SACKs the segments it covers
    /// whole (counted in MSS from SND.UNA; the last segment sent may be
    /// short), so a block inside one segment SACKs nothing. Off: every
    /// byte a block covers is SACKed (RFC 2018 §3, RFC 6675 §2: the
    /// scoreboard records "the left and right edge of each SACK block").
    pub sack_segments: bool,
    /// cwnd grows by the data an ACK delivers, as Linux's slow start and
    /// congestion avoidance count `acked_sacked`: what the ACK newly
    /// acknowledges less what the peer had SACKed before (without SACK,
    /// less what duplicate ACKs counted, `tcp_remove_reno_sacks`: a
    /// cumulative ACK after two duplicate ACKs counts one segment); and
    /// once reordering beyond three segments was seen
    /// (`TcpInfo::reordering`), an ACK that only SACKs new data grows it
    /// by what it SACKed (`tcp_may_raise_cwnd`). Off: by the bytes newly
    /// acknowledged (RFC 5681 §3.1, RFC 3465).
    pub cwnd_delivered: bool,
    /// An ECN-Echo reduces cwnd as Linux's CWR state does
    /// (`tcp_enter_cwr`, `tcp_cwnd_reduction`): ssthresh is set at once,
    /// and cwnd comes down to it by Proportional Rate Reduction (RFC
    /// 9937) over the round trip that follows, one ACK at a time, instead
    /// of being set to ssthresh at once; cwnd does not grow meanwhile. The
    /// state ends when SND.UNA passes what was sent before the reduction
    /// (SND.MAX then), with cwnd = ssthresh; a fast recovery that starts
    /// during it takes it over without a second reduction. While the
    /// state lasts, both fast paths are off (PRR counts every ACK and
    /// every segment sent), so `poll_transmit_gso` sends segments one by
    /// one. With the `alloc` feature only (the state lives in the
    /// uncommon-state box; without `alloc` the flag is ignored). Off: RFC
    /// 3168 §6.1.2, cwnd is halved at once.
    pub linux_cwr: bool,
}

impl Config {
    /// RFC 9293 and its companions' recommended values: MSL 2 minutes,
    /// RTO min 1 s, RFC 1337 protection on.
    pub fn rfc9293() -> Self {
        Config {
            mss: 1460,
            default_peer_mss: 536,
            min_peer_mss: 48,
            window_scaling: true,
            wscale_buffer: None,
            timestamps: true,
            sack: true,
            msl: Duration::from_secs(120),
            fin_timeout: Duration::from_secs(60),
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_secs(1),
            rto_max: Duration::from_secs(60),
            // 1+2+4+...+128 s: the last SYN at 127 s, failure at 255 s (MUST-23: >= 3 min).
            syn_retries: 7,
            synack_retries: 5,
            // 1,2,4,...,60 s capped: about 6 minutes (SHLD-11: >= 100 s).
            retries2: 10,
            orphan_retries: 8,
            orphan_lifetime: Some(Duration::from_secs(600)),
            delayed_ack: Duration::from_millis(200),
            quickack: 0,
            nagle: true,
            nagle_minshall: false,
            rfc1337: true,
            challenge_ack_interval: Duration::from_millis(500),
            challenge_ack_burst: 1,
            initial_window: 10,
            congestion: crate::connection::congestion::Algorithm::NewReno,
            slow_start_after_idle: true,
            hystart: true,
            max_ooo_ranges: 8,
            max_sack_ranges: 8,
            ecn: false,
            keepalive: None,
            user_timeout: None,
            rst_on_data_after_close: true,
            linux_push: false,
            tso_segs: 2,
            rst_with_ack: false,
            frto: true,
            mtu_probing: false,
            synack_tsecr_check: false,
            cwnd_limited: false,
            rto_min_in_variance: false,
            linux_icmp: false,
            linux_hystart: false,
            sack_segments: false,
            cwnd_delivered: false,
            linux_cwr: false,
        }
    }

    /// Linux's defaults (`include/net/tcp.h`, `ip-sysctl.rst`): TIME-WAIT
    /// 60 s (`TCP_TIMEWAIT_LEN`), fin timeout 60 s (`tcp_fin_timeout`: how
    /// long an orphaned FIN-WAIT-2 waits for the peer's FIN),
    /// `orphan_retries` 8 (`tcp_orphan_retries` 0 means 8 in Linux's
    /// `tcp_orphan_retries()`), RTO 200 ms..120 s, 6 SYN retries, 5 SYN+ACK
    /// retries, retries2 15, delayed ACK 40 ms with 16 quick ACKs, IW 10,
    /// Minshall's Nagle, `tcp_rfc1337=0`,
    /// window scale chosen for `tcp_rmem[2]` (6 MiB: shift 7).
    pub fn linux() -> Self {
        Config {
            msl: Duration::from_secs(30),
            wscale_buffer: Some(6 << 20),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(120),
            syn_retries: 6,
            retries2: 15,
            delayed_ack: Duration::from_millis(40),
            quickack: 16,
            nagle_minshall: true,
            rfc1337: false,
            congestion: crate::connection::congestion::Algorithm::Cubic,
            linux_push: true,
            rst_with_ack: true,
            synack_tsecr_check: true,
            cwnd_limited: true,
            rto_min_in_variance: true,
            linux_icmp: true,
            linux_hystart: true,
            sack_segments: true,
            cwnd_delivered: true,
            linux_cwr: true,
            ..Config::rfc9293()
        }
    }

    /// The smallest MSS we advertise (Linux `TCP_MIN_MSS`): 88 bytes of
    /// payload in a 128-byte IPv4 packet, above the 68-byte minimum MTU
    /// every IPv4 link carries (RFC 791).
    pub const MIN_MSS: u16 = 88;
    /// The largest MSS: a 65,535-byte IPv4 packet less 40 bytes of headers.
    pub const MAX_MSS: u16 = 65_495;
    /// R1 (RFC 9293 §3.8.3): after this many retransmissions of the same
    /// segment (or SYN) without an answer, the connection reports
    /// [`Action::NegativeAdvice`](crate::Action::NegativeAdvice) for the
    /// IP layer and the application (MUST-20, SHLD-9, MUST-22), once, and
    /// goes on until R2 (`retries2`, `syn_retries`, `synack_retries`). 3,
    /// as Linux's `tcp_retries1` and the least SHLD-10 allows.
    pub const RETRIES1: u8 = 3;
    /// The send MSS PLPMTUD falls back to when it suspects a black hole
    /// (Linux `tcp_base_mss`, 1024; RFC 4821 §7.2 suggests 1024 bytes of
    /// packet); lowered to the peer's MSS when that is smaller.
    pub const MTU_PROBE_BASE_MSS: u16 = 1024;
    /// PLPMTUD stops searching when the largest size known to pass and
    /// the smallest known to fail are this close (Linux
    /// `tcp_probe_threshold`, 8 bytes).
    pub const MTU_PROBE_THRESHOLD: u16 = 8;
    /// How long a PLPMTUD search that converged is trusted: then a new
    /// one probes upwards again, from the send MSS to the MSS the first
    /// search started from, so that a path whose MTU grew back is used
    /// in full again (RFC 4821 §7.3, "every 10 minutes"; RFC 8899
    /// §5.1.1's PMTU_RAISE_TIMER; Linux `tcp_probe_interval`, 600 s).
    pub const MTU_PROBE_INTERVAL: Duration = Duration::from_secs(600);
    /// The largest RTO bound the engine keeps (it counts RTOs in 32-bit
    /// microseconds): one hour.
    pub const MAX_RTO: Duration = Duration::from_secs(3600);

    /// Checks every value for one the engine cannot work with. The
    /// constructors call it ([`Connection::new`](crate::Connection::new),
    /// [`Endpoint::new`](crate::Endpoint::new)), so an impossible value is
    /// refused where it is given, never accepted to fail later.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = ConfigError::check;
        check(
            (Self::MIN_MSS..=Self::MAX_MSS).contains(&self.mss),
            "mss",
            "must be 88..=65495 (Linux TCP_MIN_MSS; RFC 9293 §3.7.1)",
        )?;
        check(self.min_peer_mss >= 1, "min_peer_mss", "must be at least 1")?;
        check(
            self.default_peer_mss >= self.min_peer_mss,
            "default_peer_mss",
            "must be at least min_peer_mss",
        )?;
        check(!self.rto_min.is_zero(), "rto_min", "must be above zero")?;
        check(
            self.rto_min <= self.rto_max,
            "rto_min",
            "must not exceed rto_max",
        )?;
        check(
            self.rto_max <= Self::MAX_RTO,
            "rto_max",
            "must be at most one hour",
        )?;
        check(
            !self.rto_initial.is_zero() && self.rto_initial <= Self::MAX_RTO,
            "rto_initial",
            "must be above zero and at most one hour",
        )?;
        check(
            self.delayed_ack <= Duration::from_millis(500),
            "delayed_ack",
            "must be under 500 ms (RFC 9293 §3.8.6.3, MUST-40)",
        )?;
        check(self.tso_segs >= 1, "tso_segs", "must be at least 1")?;
        check(
            self.initial_window >= 1,
            "initial_window",
            "must be at least one segment",
        )?;
        check(
            usize::from(self.max_ooo_ranges) <= <crate::buffer::Assembler>::MAX_RANGES,
            "max_ooo_ranges",
            "must be at most Assembler::MAX_RANGES (8)",
        )?;
        check(
            usize::from(self.max_sack_ranges) <= <crate::buffer::Assembler>::MAX_RANGES,
            "max_sack_ranges",
            "must be at most 8",
        )?;
        if let Some(k) = self.keepalive {
            check(
                !k.idle.is_zero() && !k.interval.is_zero() && k.probes >= 1,
                "keepalive",
                "needs an idle time and interval above zero and at least one probe",
            )?;
        }
        if let Some(t) = self.user_timeout {
            check(!t.is_zero(), "user_timeout", "must be above zero (or None)")?;
        }
        if let Some(t) = self.orphan_lifetime {
            check(
                !t.is_zero(),
                "orphan_lifetime",
                "must be above zero (or None): a close is not an abort",
            )?;
        }
        Ok(())
    }

    /// Length of TIME-WAIT: `2 * msl`.
    pub fn time_wait(&self) -> Duration {
        self.msl.saturating_mul(2)
    }

    /// The keep-alive values RFC 1122 and Linux use (7200 s, 75 s, 9), to
    /// put in [`Config::keepalive`].
    pub fn default_keepalive() -> Keepalive {
        Keepalive {
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            probes: 9,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::rfc9293()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_follow_their_sources() {
        let r = Config::rfc9293();
        assert_eq!(r.time_wait(), Duration::from_secs(240));
        assert_eq!(r.rto_min, Duration::from_secs(1));
        assert!(r.rfc1337);
        assert!(r.keepalive.is_none()); // MUST-25
        assert!(r.delayed_ack < Duration::from_millis(500)); // MUST-40
        let l = Config::linux();
        assert_eq!(l.time_wait(), Duration::from_secs(60));
        assert_eq!(l.fin_timeout, Duration::from_secs(60));
        assert_eq!(l.rto_min, Duration::from_millis(200));
        assert_eq!(l.rto_max, Duration::from_secs(120));
        assert_eq!((l.syn_retries, l.synack_retries, l.retries2), (6, 5, 15));
        assert_eq!(l.delayed_ack, Duration::from_millis(40));
        assert_eq!(l.initial_window, 10);
        assert!(!l.rfc1337);
        assert_eq!(l.wscale_buffer, Some(6 << 20));
        let k = Config::default_keepalive();
        assert!(k.idle >= Duration::from_secs(7200)); // MUST-28
        assert!(k.probes > 1); // MUST-29
    }
}
