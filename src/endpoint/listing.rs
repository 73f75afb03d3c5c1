//! What `ss -tan` and `/proc/net/snmp` show: [`ConnInfo`] and [`Counters`].

use core::fmt;
use core::net::SocketAddr;

use super::store::{Fifo, Store};
use super::{Endpoint, Handle};
use crate::Timer;
use crate::state::State;
use crate::time::{Duration, Instant};

/// Counters in the spirit of `/proc/net/snmp` (Tcp:) and
/// `/proc/net/netstat` (TcpExt:), for the whole Endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// CLOSED -> SYN-SENT transitions (`ActiveOpens`).
    pub active_opens: u64,
    /// LISTEN -> SYN-RECEIVED transitions, cookies included (`PassiveOpens`).
    pub passive_opens: u64,
    /// SYN-SENT/SYN-RECEIVED -> CLOSED and SYN-RECEIVED -> LISTEN (`AttemptFails`).
    pub attempt_fails: u64,
    /// ESTABLISHED/CLOSE-WAIT -> CLOSED (`EstabResets`).
    pub estab_resets: u64,
    /// Connections in ESTABLISHED or CLOSE-WAIT now (`CurrEstab`).
    pub curr_estab: u64,
    /// Segments received, checksum verified (`InSegs`).
    pub in_segs: u64,
    /// Segments sent (`OutSegs`).
    pub out_segs: u64,
    /// Segments retransmitted (`RetransSegs`).
    pub retrans_segs: u64,
    /// Segments received in error: bad checksum or header (`InErrs`).
    pub in_errs: u64,
    /// Of those, bad checksums (`InCsumErrors`).
    pub in_csum_errors: u64,
    /// Segments sent with RST (`OutRsts`).
    pub out_rsts: u64,
    /// Accept queue full: SYN or final ACK dropped (`ListenOverflows`).
    pub listen_overflows: u64,
    /// SYNs or final ACKs a listener dropped, overflows included (`ListenDrops`).
    pub listen_drops: u64,
    /// SYN cookies sent (`SyncookiesSent`).
    pub syncookies_sent: u64,
    /// Valid cookies received (`SyncookiesRecv`).
    pub syncookies_recv: u64,
    /// Invalid cookies received (`SyncookiesFailed`).
    pub syncookies_failed: u64,
    /// Segments that reached no connection and no listener.
    pub no_port: u64,
    /// Segments dropped for a broadcast, multicast or unspecified address.
    pub addr_drops: u64,
    /// Connections that entered the TIME-WAIT table.
    pub time_wait_entered: u64,
    /// Connections that skipped TIME-WAIT: table full (`TCPTimeWaitOverflow`).
    pub time_wait_overflow: u64,
    /// SYNs that reopened a TIME-WAIT tuple (RFC 6191).
    pub time_wait_syn_accepted: u64,
    /// SYNs refused by a TIME-WAIT entry (old duplicates).
    pub time_wait_syn_refused: u64,
    /// RSTs ignored in TIME-WAIT (RFC 1337).
    pub rst_in_time_wait_ignored: u64,
    /// Segments rejected by PAWS in TIME-WAIT (`PAWSEstabRejected`).
    pub paws_rejected: u64,
    /// ACKs to out-of-window segments in TIME-WAIT not sent because of the
    /// rate limit (`TCPACKSkippedTimeWait`).
    pub tw_acks_skipped: u64,
    /// `connect` took over a TIME-WAIT tuple (`TWRecycled`).
    pub tw_reused: u64,
    /// Orphans reset because of `max_orphans` (`TCPAbortOnMemory`).
    pub orphan_resets: u64,
    /// Orphans now.
    pub orphans: u64,
    /// TIME-WAIT entries now.
    pub time_wait: u64,
    /// Control segments dropped because the host did not poll (or a
    /// fixed queue was full).
    pub ctrl_dropped: u64,
    /// Events dropped because a fixed event queue was full.
    pub events_dropped: u64,
    /// Timers not armed because a fixed timer pool was full even after
    /// dropping stale entries. `M` of at least `4 * N` (what [`Fixed`]
    /// asks, for the demux table) always leaves room: each connection and
    /// TIME-WAIT entry keeps at most one live timer, `2 * N` in all.
    ///
    /// [`Fixed`]: super::Fixed
    pub timers_dropped: u64,
    /// Orphans the orphan queue of a fixed store could not track (they
    /// still close normally; only the `max_orphans` cap misses them).
    pub orphans_untracked: u64,
    /// Segments dropped, unanswered, because their destination is not one
    /// of the Endpoint's addresses ([`EndpointConfig::local_addrs`](super::EndpointConfig::local_addrs)).
    pub not_local: u64,
    /// Calls whose `now` was earlier than a previous call's (taken as the
    /// previous time).
    pub clock_regressions: u64,
    /// `poll_transmit` calls whose buffer was shorter than
    /// [`MIN_TRANSMIT_BUF`](super::MIN_TRANSMIT_BUF), or exactly that
    /// long while the next connection had data, a FIN or a resend due:
    /// nothing was taken from the queue.
    pub short_buffers: u64,
    /// SYNs a filtering listener's application refused (RST sent).
    pub syn_refused: u64,
    /// SYNs a filtering listener's application dropped.
    pub syn_ignored: u64,
    /// ICMP errors given to `on_icmp` (`InErrors` of `Icmp:` aside).
    pub icmp_in: u64,
    /// ICMP errors about no connection of ours, or unparsable
    /// (a TIME-WAIT entry or a listener included).
    pub icmp_no_conn: u64,
    /// ICMP errors whose quoted sequence number lies outside
    /// SND.UNA..SND.NXT, ignored (RFC 5927 §4.1; `OutOfWindowIcmps`).
    pub out_of_window_icmps: u64,
}

impl core::ops::AddAssign for Counters {
    /// Adds every counter of `o` (the host's totals over shards).
    fn add_assign(&mut self, o: Counters) {
        // The pattern names every field: a new counter must be added here.
        macro_rules! add {
            ($($f:ident),* $(,)?) => {
                let Counters { $($f),* } = o;
                $(self.$f += $f;)*
            };
        }
        add!(
            active_opens,
            passive_opens,
            attempt_fails,
            estab_resets,
            curr_estab,
            in_segs,
            out_segs,
            retrans_segs,
            in_errs,
            in_csum_errors,
            out_rsts,
            listen_overflows,
            listen_drops,
            syncookies_sent,
            syncookies_recv,
            syncookies_failed,
            no_port,
            addr_drops,
            time_wait_entered,
            time_wait_overflow,
            time_wait_syn_accepted,
            time_wait_syn_refused,
            rst_in_time_wait_ignored,
            paws_rejected,
            tw_acks_skipped,
            tw_reused,
            orphan_resets,
            orphans,
            time_wait,
            ctrl_dropped,
            events_dropped,
            timers_dropped,
            orphans_untracked,
            not_local,
            clock_regressions,
            short_buffers,
            syn_refused,
            syn_ignored,
            icmp_in,
            icmp_no_conn,
            out_of_window_icmps
        );
    }
}

impl core::iter::Sum for Counters {
    fn sum<I: Iterator<Item = Counters>>(iter: I) -> Counters {
        let mut total = Counters::default();
        for c in iter {
            total += c;
        }
        total
    }
}

impl fmt::Display for Counters {
    /// Two lines in the manner of `nstat`/`/proc/net/snmp`: `Tcp:` (the
    /// RFC 4022 MIB) and `TcpExt:` (Linux's extensions and the Endpoint's
    /// own).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Tcp: ActiveOpens {} PassiveOpens {} AttemptFails {} EstabResets {} CurrEstab {} \
             InSegs {} OutSegs {} RetransSegs {} InErrs {} InCsumErrors {} OutRsts {}",
            self.active_opens,
            self.passive_opens,
            self.attempt_fails,
            self.estab_resets,
            self.curr_estab,
            self.in_segs,
            self.out_segs,
            self.retrans_segs,
            self.in_errs,
            self.in_csum_errors,
            self.out_rsts
        )?;
        write!(
            f,
            "TcpExt: ListenOverflows {} ListenDrops {} SyncookiesSent {} SyncookiesRecv {} \
             SyncookiesFailed {} TW {} TWRecycled {} PAWSEstabRejected {} \
             TCPTimeWaitOverflow {} TCPAbortOnMemory {} Orphans {} OutOfWindowIcmps {} \
             NoPort {} NotLocal {}",
            self.listen_overflows,
            self.listen_drops,
            self.syncookies_sent,
            self.syncookies_recv,
            self.syncookies_failed,
            self.time_wait,
            self.tw_reused,
            self.paws_rejected,
            self.time_wait_overflow,
            self.orphan_resets,
            self.orphans,
            self.out_of_window_icmps,
            self.no_port,
            self.not_local
        )
    }
}

/// One line of [`Endpoint::connections`], like `ss -tan -o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// The connection's handle, while the application holds it.
    pub handle: Option<Handle>,
    /// Local address and port (unspecified for a wildcard listener).
    pub local: SocketAddr,
    /// Remote address and port (unspecified for a listener).
    pub remote: SocketAddr,
    /// State.
    pub state: State,
    /// Bytes waiting to be read; for a listener, the accept queue length.
    pub recv_q: usize,
    /// Bytes queued to send; for a listener, the backlog.
    pub send_q: usize,
    /// The earliest timer, as `ss -o` names it (`on`, `keepalive`,
    /// `persist`, `timewait`, `delack`), and the time left.
    pub timer: Option<(&'static str, Duration)>,
}

impl fmt::Display for ConnInfo {
    /// `State Recv-Q Send-Q Local:Port Peer:Port [timer:(name,left)]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<11} {:>6} {:>6} {:<24} {:<24}",
            self.state.netstat_name(),
            self.recv_q,
            self.send_q,
            self.local,
            self.remote
        )?;
        if let Some((name, left)) = self.timer {
            write!(f, " timer:({name},{}ms)", left.as_millis())?;
        }
        Ok(())
    }
}

fn timer_name(t: Timer) -> &'static str {
    match t {
        Timer::Retransmit | Timer::Rack => "on",
        Timer::DelayedAck => "delack",
        Timer::Persist => "persist",
        Timer::Keepalive => "keepalive",
        Timer::TimeWait | Timer::FinWait2 => "timewait",
    }
}

impl<S: Store> Endpoint<S> {
    /// Every listener, connection and TIME-WAIT entry, like `ss -tan -o`:
    /// listeners first, then connections, then TIME-WAIT.
    pub fn connections(&self, now: Instant) -> impl Iterator<Item = ConnInfo> + '_ {
        let any = |a: SocketAddr| match a {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let listeners = self.listeners.iter().flatten().map(move |l| ConnInfo {
            handle: None,
            local: l.addr,
            remote: any(l.addr),
            state: State::Listen,
            recv_q: l.accept_queue.count(),
            send_q: l.accept_limit,
            timer: None,
        });
        let conns = self.slots.iter().enumerate().filter_map(move |(i, s)| {
            let e = s.get()?;
            if e.dead {
                return None;
            }
            let c = &e.conn;
            let timer = [
                Timer::Retransmit,
                Timer::Persist,
                Timer::Keepalive,
                Timer::TimeWait,
                Timer::FinWait2,
                Timer::DelayedAck,
            ]
            .into_iter()
            .filter_map(|t| c.timer(t).map(|at| (t, at)))
            .min_by_key(|&(_, at)| at)
            .map(|(t, at)| (timer_name(t), at.saturating_duration_since(now)));
            Some(ConnInfo {
                handle: e.app.then_some(Handle {
                    idx: i as u32,
                    generation: s.generation,
                    ep: self.tag,
                }),
                local: e.tuple.local(),
                remote: e.tuple.remote(),
                state: c.state(),
                recv_q: c.recv_queue(),
                send_q: c.send_queue(),
                timer,
            })
        });
        let tw = self.tw.iter().map(move |(i, e)| {
            let t = self.tw.tuple(i);
            ConnInfo {
                handle: None,
                local: t.local(),
                remote: t.remote(),
                state: State::TimeWait,
                recv_q: 0,
                send_q: 0,
                timer: Some(("timewait", e.remaining(now))),
            }
        });
        listeners.chain(conns).chain(tw)
    }
}
