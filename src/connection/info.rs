//! [`Connection::info`]: a snapshot of the connection in the shape of
//! Linux's `struct tcp_info` (`getsockopt(TCP_INFO)`, `ss -ti`), so that
//! tools and tests written against Linux read the same names, units and
//! state codes.
//!
//! Every field is derived from state the connection keeps anyway: asking
//! costs nothing when nobody asks, and the TCB does not grow. Where the
//! engine counts bytes and Linux counts segments (`unacked`, `sacked`,
//! `lost`, `retrans`, `snd_cwnd`, `delivered`), the byte count is divided by
//! the effective send MSS, rounded up, which is what Linux reports for
//! full-sized segments. Fields Linux has and the engine keeps no state for
//! are listed on [`TcpInfo`] and read 0.

use super::{Connection, Storage};
use crate::state::State;
use crate::time::Instant;

/// Linux's chronographs (`tcp_chrono_start`, `tcp_chrono_stop`):
/// tcp_info's `busy_time` and `rwnd_limited`. They run from the first
/// time the peer's window holds data back with nothing in flight (the
/// persist condition), kept in the uncommon-state box (`cold.rs`): a
/// connection never held back keeps no clock, and reads 0 (Linux starts
/// its busy clock with the first data queued). While on, one of three
/// states runs, as Linux's `chrono_type`: none (nothing queued or in
/// flight), busy (data queued or in flight) or rwnd-limited (the peer's
/// window holds the next segment back with nothing in flight; Linux also
/// counts a flight the window, not cwnd, ends, which the engine does not
/// tell apart on its send path).
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Chrono {
    /// The clocks run.
    on: bool,
    /// What runs now: `NONE`, `BUSY` or `RWND`.
    kind: u8,
    /// Since when (µs).
    since: u64,
    /// Time accumulated busy and rwnd-limited (µs), the running one's
    /// current stretch apart.
    busy: u64,
    rwnd: u64,
}

/// A transition `Connection::chrono` is told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ChronoKind {
    /// Data goes out with none in flight before.
    Busy,
    /// Everything sent is acknowledged.
    Idle,
}

#[cfg(feature = "alloc")]
const NONE: u8 = 0;
#[cfg(feature = "alloc")]
const BUSY: u8 = 1;
#[cfg(feature = "alloc")]
const RWND: u8 = 2;

#[cfg(feature = "alloc")]
impl Chrono {
    pub(super) const OFF: Chrono = Chrono {
        on: false,
        kind: NONE,
        since: 0,
        busy: 0,
        rwnd: 0,
    };

    /// `kind` runs from `now` on (Linux's `tcp_chrono_set`).
    fn set(&mut self, kind: u8, now: u64) {
        let spent = now.saturating_sub(self.since);
        match self.kind {
            BUSY => self.busy += spent,
            RWND => self.rwnd += spent,
            _ => {}
        }
        self.kind = kind;
        self.since = now;
    }

    /// (busy_time, rwnd_limited) as of `now`, µs: tcp_info's busy time is
    /// the sum of every chronograph (`tcp_get_info_chrono_stats`).
    fn read(&self, now: u64) -> (u64, u64) {
        let mut c = *self;
        c.set(NONE, now.max(self.since));
        (c.busy + c.rwnd, c.rwnd)
    }
}

/// `tcpi_options` bit: timestamps negotiated (Linux `TCPI_OPT_TIMESTAMPS`).
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
/// `tcpi_options` bit: SACK negotiated (`TCPI_OPT_SACK`).
pub const TCPI_OPT_SACK: u8 = 2;
/// `tcpi_options` bit: window scaling negotiated (`TCPI_OPT_WSCALE`).
pub const TCPI_OPT_WSCALE: u8 = 4;
/// `tcpi_options` bit: ECN negotiated (`TCPI_OPT_ECN`).
pub const TCPI_OPT_ECN: u8 = 8;
/// `tcpi_options` bit: a CE mark was received (`TCPI_OPT_ECN_SEEN`).
pub const TCPI_OPT_ECN_SEEN: u8 = 16;
/// `tcpi_options` bit: data in our SYN was acknowledged, or the peer's SYN
/// carried data we accepted (TCP Fast Open, `TCPI_OPT_SYN_DATA`).
pub const TCPI_OPT_SYN_DATA: u8 = 32;

/// Linux's congestion-avoidance states (`tcpi_ca_state`, `enum
/// tcp_ca_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CaState {
    /// Nothing wrong (`TCP_CA_Open`).
    Open = 0,
    /// Duplicate ACKs or SACKs seen, no loss yet (`TCP_CA_Disorder`).
    Disorder = 1,
    /// The window was reduced for ECN (`TCP_CA_CWR`).
    Cwr = 2,
    /// Fast recovery (`TCP_CA_Recovery`).
    Recovery = 3,
    /// After a retransmission timeout, until what was in flight then is
    /// acknowledged (`TCP_CA_Loss`).
    Loss = 4,
}

/// A snapshot of one connection with the fields of Linux's `struct
/// tcp_info` (without the `tcpi_` prefix), in Linux's units: times in
/// microseconds unless the name says otherwise, windows in segments.
///
/// Not tracked by the engine, always 0: `rcv_rtt`, `rcv_space`,
/// `sndbuf_limited`, `delivery_rate`, `dsack_dups`,
/// `rcv_ooopack`, `delivered_ce`. `busy_time` and `rwnd_limited` count
/// only from the first time the peer's window held data back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpInfo {
    /// The state as Linux numbers it ([`linux_state`]).
    pub state: u8,
    /// [`CaState`] as a number.
    pub ca_state: u8,
    /// Retransmission timeouts since the last acknowledgement of new data
    /// (`icsk_retransmits`).
    pub retransmits: u8,
    /// Zero-window or keep-alive probes sent and not answered.
    pub probes: u8,
    /// Exponential backoff of the retransmission timer (`icsk_backoff`).
    pub backoff: u8,
    /// `TCPI_OPT_*` bits.
    pub options: u8,
    /// The peer's window-scale shift (0 without window scaling).
    pub snd_wscale: u8,
    /// Our window-scale shift (0 without window scaling).
    pub rcv_wscale: u8,
    /// Retransmission timeout, µs.
    pub rto: u32,
    /// Delayed-ACK timeout, µs.
    pub ato: u32,
    /// Effective send MSS, bytes.
    pub snd_mss: u32,
    /// Largest segment received so far (the receive MSS estimate), bytes.
    pub rcv_mss: u32,
    /// Segments in flight (sent, not acknowledged; `packets_out`).
    pub unacked: u32,
    /// Segments in flight that the peer SACKed (`sacked_out`).
    pub sacked: u32,
    /// Segments in flight taken as lost (`lost_out`): in fast recovery the
    /// holes below the highest SACKed byte, after a timeout all of them.
    pub lost: u32,
    /// Retransmitted segments not yet acknowledged (`retrans_out`).
    pub retrans: u32,
    /// Milliseconds since data was last sent, or since the handshake
    /// completed when no data went after it (as Linux's `lsndtime`; before
    /// that, since time zero). This and the next two are
    /// exact up to 2^30 ms (about 12.4 days) and stay there beyond (the
    /// TCB keeps past times in 32 bits; Linux's wrap at 2^32 ms).
    pub last_data_sent: u32,
    /// Milliseconds since data was last received.
    pub last_data_recv: u32,
    /// Milliseconds since an acceptable segment last arrived.
    pub last_ack_recv: u32,
    /// Path MTU (our MSS plus 40 bytes of IPv4 and TCP headers).
    pub pmtu: u32,
    /// The receive window we may advertise, bytes (`rcv_ssthresh`).
    pub rcv_ssthresh: u32,
    /// Smoothed RTT, µs (0 before the first sample).
    pub rtt: u32,
    /// RTT variation, µs.
    pub rttvar: u32,
    /// Slow-start threshold, segments (`TCP_INFINITE_SSTHRESH`, 0x7fffffff,
    /// until the first loss).
    pub snd_ssthresh: u32,
    /// Congestion window, segments.
    pub snd_cwnd: u32,
    /// The MSS we advertise, less the timestamp option when timestamps are
    /// on (Linux's `advmss`).
    pub advmss: u32,
    /// Reordering degree, segments (Linux's `tp->reordering`): 3 at first
    /// (`tcp_reordering`), raised to the distance of a reordering seen in
    /// SACKs (`tcp_check_sack_reordering`), at most 300.
    pub reordering: u32,
    /// Not tracked (0).
    pub rcv_rtt: u32,
    /// Not tracked (0).
    pub rcv_space: u32,
    /// Segments retransmitted over the connection's life.
    pub total_retrans: u32,
    /// Payload bytes sent, retransmissions included.
    pub bytes_sent: u64,
    /// Payload bytes the peer acknowledged (modulo 2^32).
    pub bytes_acked: u64,
    /// Payload bytes received in order.
    pub bytes_received: u64,
    /// Segments sent.
    pub segs_out: u32,
    /// Segments received.
    pub segs_in: u32,
    /// Bytes queued and not yet sent.
    pub notsent_bytes: u32,
    /// Minimum RTT seen, µs (0 before the first sample).
    pub min_rtt: u32,
    /// Segments delivered to the peer (acknowledged or SACKed), the SYN
    /// counted (`tp->delivered`).
    pub delivered: u32,
    /// Not tracked (0).
    pub delivered_ce: u32,
    /// Time data was queued or in flight, µs (`tcpi_busy_time`, its
    /// rwnd-limited time included): counted only from the first time the
    /// peer's window held data back, 0 before (see `rwnd_limited`).
    pub busy_time: u64,
    /// Time the peer's window held data back with nothing in flight, µs
    /// (`tcpi_rwnd_limited`; Linux also counts a flight the window ends).
    pub rwnd_limited: u64,
    /// Not tracked (0).
    pub sndbuf_limited: u64,
    /// Not tracked (0).
    pub delivery_rate: u64,
    /// Reordering events seen (Linux's `tp->reord_seen`): each SACK or
    /// cumulative ACK that newly covers data sent once below the highest
    /// SACKed byte (`tcp_check_sack_reordering`). With the `alloc`
    /// feature only (0 without: the TCB has no room).
    pub reord_seen: u32,
    /// The peer's window, bytes.
    pub snd_wnd: u32,
    /// Our receive window, bytes.
    pub rcv_wnd: u32,
}

/// `tcpi_snd_ssthresh` before any loss (Linux `TCP_INFINITE_SSTHRESH`).
pub const TCP_INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// Linux's number for a state (`TCP_ESTABLISHED` = 1 ... `TCP_CLOSING` = 11).
pub fn linux_state(s: State) -> u8 {
    match s {
        State::Established => 1,
        State::SynSent => 2,
        State::SynReceived => 3,
        State::FinWait1 => 4,
        State::FinWait2 => 5,
        State::TimeWait => 6,
        State::Closed => 7,
        State::CloseWait => 8,
        State::LastAck => 9,
        State::Listen => 10,
        State::Closing => 11,
    }
}

impl<B: Storage> Connection<B> {
    /// Bytes queued and never sent (a go-back-N rewind after a timeout
    /// does not make sent bytes unsent again).
    fn notsent(&self) -> u32 {
        let base = self.tx_base();
        let len = self.tx.len() as u32;
        if self.snd_max.before(base) {
            return len;
        }
        len - self.snd_max.dist(base).min(len)
    }
}

fn ms_since(now: Instant, t: Instant) -> u32 {
    u32::try_from(now.saturating_duration_since(t).as_millis()).unwrap_or(u32::MAX)
}

impl<B: Storage> Connection<B> {
    /// A snapshot in the shape of Linux's `struct tcp_info` (see
    /// [`TcpInfo`]); `now` dates the `last_*` fields.
    pub fn info(&self, now: Instant) -> TcpInfo {
        let mss = self.eff_mss().max(1);
        let segs = |bytes: u32| bytes.div_ceil(mss);
        let established = self.syn_acked() || self.state == State::SynReceived;
        // Data in flight: the sequence space past SND.UNA less SYN and FIN.
        let mut data_flight = self.flight();
        if !self.syn_acked() && data_flight > 0 {
            data_flight -= 1;
        }
        if self.fin_queued() && !self.fin_acked() && self.snd_max.after(self.fin_seq()) {
            data_flight = data_flight.saturating_sub(1);
        }
        let sacked_bytes = if self.sacked.is_empty() {
            0
        } else {
            self.sacked.covered()
        };
        let in_loss = self.retries > 0 && self.syn_acked() && self.snd_una.before(self.recover);
        let ca_state = if self.in_recovery() {
            CaState::Recovery
        } else if in_loss {
            CaState::Loss
        } else if self.in_cwr()
            || (self.cwr_pending() && !(cfg!(feature = "alloc") && self.cfg.linux_cwr()))
        {
            // Without Config::linux_cwr, from the ECE until CWR is sent.
            CaState::Cwr
        } else if self.dupacks > 0 || sacked_bytes > 0 {
            CaState::Disorder
        } else {
            CaState::Open
        };
        let lost_bytes = match ca_state {
            CaState::Loss => data_flight.saturating_sub(sacked_bytes),
            CaState::Recovery if sacked_bytes > 0 => {
                let top = self.sacked.highest_end();
                top.saturating_sub(sacked_bytes)
            }
            CaState::Recovery => mss.min(data_flight),
            _ => 0,
        };
        // Retransmitted data in flight: what lies below HighRxt (in
        // recovery, after a timeout, or what a Fast Open SYN,ACK left
        // unacknowledged and was sent again); nothing once SND.UNA has
        // passed it (a partial ACK past the resend: the distance wrapped).
        let retrans_bytes = if self.high_rxt.after(self.snd_una) {
            self.high_rxt.dist(self.snd_una).min(data_flight)
        } else {
            0
        };
        let mut options = 0;
        if self.ts_on() {
            options |= TCPI_OPT_TIMESTAMPS;
        }
        if self.sack_on() {
            options |= TCPI_OPT_SACK;
        }
        if self.ws_on() {
            options |= TCPI_OPT_WSCALE;
        }
        if self.ecn_on() {
            options |= TCPI_OPT_ECN;
        }
        if self.syn_data_acked() {
            options |= TCPI_OPT_SYN_DATA;
        }
        let (snd_wscale, rcv_wscale) = if self.ws_on() {
            (self.snd_wscale, self.rcv_wscale)
        } else {
            (0, 0)
        };
        // Linux's `icsk_probes_out`: keep-alive probes sent since the peer
        // was last heard from (`tcp_keepalive_timer` counts each after it
        // goes; any segment clears `ka_probes`), or zero-window and
        // resource probes unanswered. Linux sends keep-alives only with
        // nothing queued and the others only with data queued, so one
        // counter serves both; the larger of the two here.
        let probes = self.ka_probes.max(self.zwp_unanswered);
        let acked = if self.syn_acked() {
            let mut n = self.snd_una.dist(self.iss).saturating_sub(1);
            if self.fin_acked() {
                n = n.saturating_sub(1);
            }
            n
        } else {
            0
        };
        let stats = self.stats();
        let ts = if self.ts_on() { 12 } else { 0 };
        #[cfg(feature = "alloc")]
        let (busy_time, rwnd_limited) = self.cold().chrono.read(now.as_micros());
        #[cfg(not(feature = "alloc"))]
        let (busy_time, rwnd_limited) = (0, 0);
        TcpInfo {
            state: linux_state(self.state),
            ca_state: ca_state as u8,
            retransmits: self.retries,
            probes,
            backoff: if self.syn_acked() { self.retries } else { 0 },
            options,
            snd_wscale,
            rcv_wscale,
            rto: self.rto,
            ato: if established {
                self.cfg.delayed_ack_us() as u32
            } else {
                0
            },
            snd_mss: mss,
            rcv_mss: u32::from(self.rcv_mss_est.max(1)).min(u32::from(self.cfg.mss)),
            unacked: segs(data_flight) + u32::from(!self.syn_acked() && self.flight() > 0),
            sacked: segs(sacked_bytes),
            lost: segs(lost_bytes),
            retrans: segs(retrans_bytes),
            last_data_sent: ms_since(now, self.last_send_at()),
            // Linux dates the handshake as the last receive until data comes.
            last_data_recv: ms_since(
                now,
                self.last_data_in
                    .get(self.last_now)
                    .unwrap_or(self.when(self.last_rcv)),
            ),
            last_ack_recv: ms_since(now, self.when(self.last_rcv)),
            pmtu: u32::from(self.cfg.mss) + 40,
            rcv_ssthresh: self.rcv_wnd(),
            rtt: self.srtt,
            rttvar: self.rttvar,
            snd_ssthresh: if self.ssthresh >= u32::MAX / 2 {
                TCP_INFINITE_SSTHRESH
            } else {
                segs(self.ssthresh)
            },
            snd_cwnd: (self.cwnd / mss).max(u32::from(self.cwnd > 0)),
            advmss: u32::from(self.cfg.mss).saturating_sub(ts),
            reordering: u32::from(self.sent_log.reordering()),
            rcv_rtt: 0,
            rcv_space: 0,
            total_retrans: stats.retransmits as u32,
            bytes_sent: stats.bytes_out,
            bytes_acked: u64::from(acked),
            bytes_received: stats.bytes_in,
            segs_out: stats.segs_out as u32,
            segs_in: stats.segs_in as u32,
            notsent_bytes: self.notsent(),
            min_rtt: if self.min_rtt == u32::MAX {
                0
            } else {
                self.min_rtt
            },
            // Linux counts a Fast Open SYN and the data it carried, once
            // acknowledged, as one segment delivered (tcp_rcv_fastopen_synack).
            delivered: u32::from(self.syn_acked())
                + segs(acked.saturating_sub(self.syn_data_delivered()))
                + segs(sacked_bytes),
            delivered_ce: 0,
            busy_time,
            rwnd_limited,
            sndbuf_limited: 0,
            delivery_rate: 0,
            #[cfg(feature = "alloc")]
            reord_seen: self.cold().reord_seen,
            #[cfg(not(feature = "alloc"))]
            reord_seen: 0,
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_wnd(),
        }
    }
}

impl<B: Storage> Connection<B> {
    /// The persist condition holds (data waits, nothing in flight, and
    /// nothing may be sent: `arm_timers`) and the persist timer is armed
    /// now: if the peer's window is what holds the next segment back
    /// (Linux's `tcp_snd_wnd_test` failing in `tcp_write_xmit`), the
    /// chronographs start (the box with them) and the rwnd-limited one
    /// runs (`tcp_chrono_start(sk, TCP_CHRONO_RWND_LIMITED)`).
    #[cold]
    pub(super) fn chrono_rwnd_held(&mut self, now: Instant) {
        #[cfg(not(feature = "alloc"))]
        let _ = now;
        #[cfg(feature = "alloc")]
        if self.rwnd_holds_back() {
            let c = &mut self.cold_mut().chrono;
            c.on = true;
            if c.kind != RWND {
                c.set(RWND, now.as_micros());
            }
        }
    }

    /// The peer's window ends before the next segment would (at most an
    /// MSS of what is unsent).
    #[cfg(feature = "alloc")]
    fn rwnd_holds_back(&self) -> bool {
        let next = self.unsent().min(self.eff_mss());
        let right = self.snd_una.add(self.snd_wnd);
        next > 0 && self.snd_nxt.add(next).after(right)
    }

    /// A transition of tcp_info's clocks: data goes out after none was
    /// in flight or waiting (`arm_timers` arms the retransmission timer:
    /// busy), or everything sent is acknowledged (`new_ack`: idle, unless
    /// data still waits for the window, which `arm_timers` then finds).
    /// One branch without the box; nothing while the clocks are off.
    #[inline]
    pub(super) fn chrono(&mut self, now: Instant, kind: ChronoKind) {
        #[cfg(feature = "alloc")]
        if let Some(c) = self.cold.as_deref_mut()
            && c.chrono.on
        {
            let k = match kind {
                ChronoKind::Busy => BUSY,
                ChronoKind::Idle => NONE,
            };
            if c.chrono.kind != k {
                c.chrono.set(k, now.as_micros());
            }
        }
        #[cfg(not(feature = "alloc"))]
        let _ = (now, kind);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Buffers, Connection};
    use crate::config::Config;
    use crate::time::Instant;
    use std::vec::Vec;

    /// `tcpi_snd_cwnd` is the window in whole segments, rounded down, and
    /// at least one while there is a window at all: under a window below
    /// one MSS the send path still lets one segment go (`output.rs`,
    /// `cwnd.max(mss)`), which is what such a window allows. Before an
    /// open there is no window yet (0; the open sets the initial window,
    /// RFC 5681 §3.1).
    #[test]
    fn snd_cwnd_is_whole_segments_and_one_under_a_segment() {
        let mut c = Connection::<Vec<u8>>::new(
            Config::rfc9293(),
            Buffers {
                rx: Vec::from([0; 64]),
                tx: Vec::from([0; 64]),
            },
        )
        .unwrap();
        let now = Instant::from_secs(1);
        let mss = c.info(now).snd_mss;
        assert!(mss > 1);
        for (cwnd, segs) in [
            (0, 0),
            (1, 1),
            (mss - 1, 1),
            (mss, 1),
            (2 * mss - 1, 1),
            (2 * mss, 2),
            (10 * mss + 1, 10),
        ] {
            c.cwnd = cwnd;
            assert_eq!(c.info(now).snd_cwnd, segs, "cwnd {cwnd}, MSS {mss}");
        }
    }
}
