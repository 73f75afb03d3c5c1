//! The configuration as a connection keeps it.
//!
//! [`Config`] is the public, roomy form (a `Duration` is 16 bytes, a flag a
//! byte). Every connection reads its configuration for its whole life, so
//! it keeps a packed copy instead: durations in 4 bytes ([`Dur`]), flags in
//! one word, counts in bytes. [`Cfg::to_config`] gives the public form back.

use super::congestion::Algorithm;
use crate::config::{Config, Keepalive};
use crate::time::{Duration, micros};

/// A duration in 4 bytes: the top two bits choose the unit (0: µs, 1: ms,
/// 2: s, 3: saturated), the low 30 bits count units.
///
/// A duration is kept in the finest unit whose count fits in 30 bits: to
/// the microsecond (the engine's clock resolution) up to about 17 minutes,
/// then to the millisecond up to about 12 days, then to the second up to
/// about 34 years; beyond that it reads as `Duration::MAX` ("never", as
/// `Instant + Duration::MAX` saturates). A duration that is not a whole
/// number of its unit is rounded up (a timeout never fires early).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dur(u32);

impl Dur {
    const ZERO: Dur = Dur(0);
    const COUNT_BITS: u32 = 30;
    const COUNT_MASK: u32 = (1 << Self::COUNT_BITS) - 1;

    pub(super) fn new(d: Duration) -> Dur {
        let us = micros(d);
        for (tag, unit) in [(0u32, 1u64), (1, 1_000), (2, 1_000_000)] {
            let n = us.div_ceil(unit);
            if n <= u64::from(Self::COUNT_MASK) {
                return Dur((tag << Self::COUNT_BITS) | n as u32);
            }
        }
        Dur(u32::MAX)
    }

    /// Whole microseconds (`u64::MAX` when saturated, as `micros` of
    /// `Duration::MAX` is), without building a `Duration`.
    #[inline]
    pub(super) fn micros(self) -> u64 {
        let n = u64::from(self.0 & Self::COUNT_MASK);
        match self.0 >> Self::COUNT_BITS {
            0 => n,
            1 => n * 1_000,
            2 => n * 1_000_000,
            _ => u64::MAX,
        }
    }

    pub(super) fn get(self) -> Duration {
        let n = u64::from(self.0 & Self::COUNT_MASK);
        match self.0 >> Self::COUNT_BITS {
            0 => Duration::from_micros(n),
            1 => Duration::from_millis(n),
            2 => Duration::from_secs(n),
            _ => Duration::MAX,
        }
    }
}

/// One bit per flag of [`Config`], plus whether each optional part is set.
mod flag {
    pub(super) const WINDOW_SCALING: u32 = 1 << 0;
    pub(super) const TIMESTAMPS: u32 = 1 << 1;
    pub(super) const SACK: u32 = 1 << 2;
    pub(super) const NAGLE: u32 = 1 << 3;
    pub(super) const NAGLE_MINSHALL: u32 = 1 << 4;
    pub(super) const RFC1337: u32 = 1 << 5;
    pub(super) const HYSTART: u32 = 1 << 6;
    pub(super) const SLOW_START_AFTER_IDLE: u32 = 1 << 7;
    pub(super) const ECN: u32 = 1 << 8;
    pub(super) const RST_ON_DATA_AFTER_CLOSE: u32 = 1 << 9;
    pub(super) const KEEPALIVE: u32 = 1 << 10;
    // Whether `orphan_lifetime` and `wscale_buffer` are set is told by
    // their values (a zero `Dur`, a zero count), not by a bit; the user
    // timeout keeps its bit (a bit test is one instruction fewer on the
    // send path than a test of the value: W4-tx).
    pub(super) const USER_TIMEOUT: u32 = 1 << 11;
    pub(super) const MTU_PROBING: u32 = 1 << 12;
    pub(super) const LINUX_PUSH: u32 = 1 << 13;
    pub(super) const RST_WITH_ACK: u32 = 1 << 14;
    pub(super) const FRTO: u32 = 1 << 15;
    pub(super) const SYNACK_TSECR_CHECK: u32 = 1 << 16;
    pub(super) const CWND_LIMITED: u32 = 1 << 17;
    pub(super) const RTO_MIN_IN_VARIANCE: u32 = 1 << 18;
    pub(super) const LINUX_ICMP: u32 = 1 << 19;
    pub(super) const LINUX_HYSTART: u32 = 1 << 20;
    pub(super) const SACK_SEGMENTS: u32 = 1 << 21;
    pub(super) const CWND_DELIVERED: u32 = 1 << 22;
    pub(super) const LINUX_CWR: u32 = 1 << 23;
    /// Tests only: no fast path (`Connection::no_fast_path`).
    #[cfg(test)]
    pub(super) const NO_FAST_PATH: u32 = 1 << 31;
}

/// The packed [`Config`] of one connection (72 bytes instead of 232).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cfg {
    pub(super) mss: u16,
    pub(super) default_peer_mss: u16,
    pub(super) min_peer_mss: u16,
    pub(super) initial_window: u16,
    /// `Config::wscale_buffer` plus one, 0 for `None`, saturated at
    /// `u32::MAX` (any buffer above
    /// 1 GiB already asks for the largest shift, 14: RFC 7323 §2.3).
    wscale_buffer: u32,
    msl: Dur,
    fin_timeout: Dur,
    rto_initial: Dur,
    rto_min: Dur,
    rto_max: Dur,
    delayed_ack: Dur,
    challenge_ack_interval: Dur,
    ka_idle: Dur,
    ka_interval: Dur,
    user_timeout: Dur,
    orphan_lifetime: Dur,
    pub(super) syn_retries: u8,
    pub(super) synack_retries: u8,
    pub(super) retries2: u8,
    pub(super) orphan_retries: u8,
    pub(super) quickack: u8,
    pub(super) challenge_ack_burst: u8,
    pub(super) max_ooo_ranges: u8,
    pub(super) max_sack_ranges: u8,
    /// `Config::tso_segs`.
    pub(super) tso_segs: u8,
    ka_probes: u8,
    pub(super) congestion: Algorithm,
    flags: u32,
}

impl Cfg {
    pub(super) fn new(c: &Config) -> Cfg {
        let bits = [
            (c.window_scaling, flag::WINDOW_SCALING),
            (c.timestamps, flag::TIMESTAMPS),
            (c.sack, flag::SACK),
            (c.nagle, flag::NAGLE),
            (c.nagle_minshall, flag::NAGLE_MINSHALL),
            (c.rfc1337, flag::RFC1337),
            (c.hystart, flag::HYSTART),
            (c.slow_start_after_idle, flag::SLOW_START_AFTER_IDLE),
            (c.ecn, flag::ECN),
            (c.rst_on_data_after_close, flag::RST_ON_DATA_AFTER_CLOSE),
            (c.keepalive.is_some(), flag::KEEPALIVE),
            (c.frto, flag::FRTO),
            (c.mtu_probing, flag::MTU_PROBING),
            (c.linux_push, flag::LINUX_PUSH),
            (c.rst_with_ack, flag::RST_WITH_ACK),
            (c.synack_tsecr_check, flag::SYNACK_TSECR_CHECK),
            (c.cwnd_limited, flag::CWND_LIMITED),
            (c.rto_min_in_variance, flag::RTO_MIN_IN_VARIANCE),
            (c.linux_icmp, flag::LINUX_ICMP),
            (c.linux_hystart, flag::LINUX_HYSTART),
            (c.sack_segments, flag::SACK_SEGMENTS),
            (c.cwnd_delivered, flag::CWND_DELIVERED),
            (c.linux_cwr, flag::LINUX_CWR),
            (c.user_timeout.is_some(), flag::USER_TIMEOUT),
        ];
        let flags = bits.iter().filter(|(on, _)| *on).fold(0, |f, (_, b)| f | b);
        let ka = c.keepalive.unwrap_or(Keepalive {
            idle: Duration::ZERO,
            interval: Duration::ZERO,
            probes: 0,
        });
        Cfg {
            mss: c.mss,
            default_peer_mss: c.default_peer_mss,
            min_peer_mss: c.min_peer_mss,
            initial_window: c.initial_window,
            wscale_buffer: c.wscale_buffer.map_or(0, |b| {
                u32::try_from(b).map_or(u32::MAX, |b| b.saturating_add(1))
            }),
            msl: Dur::new(c.msl),
            fin_timeout: Dur::new(c.fin_timeout),
            rto_initial: Dur::new(c.rto_initial),
            rto_min: Dur::new(c.rto_min),
            rto_max: Dur::new(c.rto_max),
            delayed_ack: Dur::new(c.delayed_ack),
            challenge_ack_interval: Dur::new(c.challenge_ack_interval),
            ka_idle: Dur::new(ka.idle),
            ka_interval: Dur::new(ka.interval),
            user_timeout: Dur::new(c.user_timeout.unwrap_or(Duration::ZERO)),
            orphan_lifetime: Dur::new(c.orphan_lifetime.unwrap_or(Duration::ZERO)),
            syn_retries: c.syn_retries,
            synack_retries: c.synack_retries,
            retries2: c.retries2,
            orphan_retries: c.orphan_retries,
            quickack: c.quickack,
            challenge_ack_burst: c.challenge_ack_burst,
            max_ooo_ranges: c.max_ooo_ranges,
            max_sack_ranges: c.max_sack_ranges,
            tso_segs: c.tso_segs,
            ka_probes: ka.probes,
            congestion: c.congestion,
            flags,
        }
    }

    /// The public form (durations as kept: see [`Dur`]).
    pub(super) fn to_config(&self) -> Config {
        Config {
            mss: self.mss,
            default_peer_mss: self.default_peer_mss,
            min_peer_mss: self.min_peer_mss,
            window_scaling: self.window_scaling(),
            wscale_buffer: self.wscale_buffer(),
            timestamps: self.timestamps(),
            sack: self.sack(),
            msl: self.msl.get(),
            fin_timeout: self.fin_timeout(),
            rto_initial: self.rto_initial(),
            rto_min: self.rto_min(),
            rto_max: self.rto_max(),
            syn_retries: self.syn_retries,
            synack_retries: self.synack_retries,
            retries2: self.retries2,
            orphan_retries: self.orphan_retries,
            orphan_lifetime: self.orphan_lifetime(),
            delayed_ack: self.delayed_ack(),
            quickack: self.quickack,
            nagle: self.has(flag::NAGLE),
            nagle_minshall: self.nagle_minshall(),
            rfc1337: self.rfc1337(),
            challenge_ack_interval: self.challenge_ack_interval(),
            challenge_ack_burst: self.challenge_ack_burst,
            initial_window: self.initial_window,
            congestion: self.congestion,
            hystart: self.hystart(),
            slow_start_after_idle: self.slow_start_after_idle(),
            max_ooo_ranges: self.max_ooo_ranges,
            max_sack_ranges: self.max_sack_ranges,
            ecn: self.ecn(),
            keepalive: self.keepalive(),
            user_timeout: self.user_timeout(),
            rst_on_data_after_close: self.rst_on_data_after_close(),
            linux_push: self.linux_push(),
            tso_segs: self.tso_segs,
            rst_with_ack: self.rst_with_ack(),
            frto: self.frto(),
            mtu_probing: self.mtu_probing(),
            synack_tsecr_check: self.has(flag::SYNACK_TSECR_CHECK),
            cwnd_limited: self.cwnd_limited(),
            rto_min_in_variance: self.rto_min_in_variance(),
            linux_icmp: self.linux_icmp(),
            linux_hystart: self.linux_hystart(),
            sack_segments: self.sack_segments(),
            cwnd_delivered: self.cwnd_delivered(),
            linux_cwr: self.has(flag::LINUX_CWR),
        }
    }

    #[inline]
    fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Tests only: see `Connection::no_fast_path`.
    #[cfg(test)]
    pub(super) fn no_fast_path(&self) -> bool {
        self.has(flag::NO_FAST_PATH)
    }
    #[cfg(test)]
    pub(super) fn set_no_fast_path(&mut self, on: bool) {
        if on {
            self.flags |= flag::NO_FAST_PATH;
        } else {
            self.flags &= !flag::NO_FAST_PATH;
        }
    }

    pub(super) fn window_scaling(&self) -> bool {
        self.has(flag::WINDOW_SCALING)
    }
    pub(super) fn timestamps(&self) -> bool {
        self.has(flag::TIMESTAMPS)
    }
    pub(super) fn sack(&self) -> bool {
        self.has(flag::SACK)
    }
    pub(super) fn nagle(&self) -> bool {
        self.has(flag::NAGLE)
    }
    pub(super) fn nagle_minshall(&self) -> bool {
        self.has(flag::NAGLE_MINSHALL)
    }
    pub(super) fn rfc1337(&self) -> bool {
        self.has(flag::RFC1337)
    }
    pub(super) fn hystart(&self) -> bool {
        self.has(flag::HYSTART)
    }
    pub(super) fn slow_start_after_idle(&self) -> bool {
        self.has(flag::SLOW_START_AFTER_IDLE)
    }
    pub(super) fn ecn(&self) -> bool {
        self.has(flag::ECN)
    }
    pub(super) fn rst_with_ack(&self) -> bool {
        self.has(flag::RST_WITH_ACK)
    }
    pub(super) fn linux_cwr(&self) -> bool {
        self.has(flag::LINUX_CWR)
    }
    pub(super) fn cwnd_delivered(&self) -> bool {
        self.has(flag::CWND_DELIVERED)
    }
    pub(super) fn sack_segments(&self) -> bool {
        self.has(flag::SACK_SEGMENTS)
    }
    pub(super) fn rto_min_in_variance(&self) -> bool {
        self.has(flag::RTO_MIN_IN_VARIANCE)
    }
    pub(super) fn linux_hystart(&self) -> bool {
        self.has(flag::LINUX_HYSTART)
    }
    pub(super) fn linux_icmp(&self) -> bool {
        self.has(flag::LINUX_ICMP)
    }
    pub(super) fn cwnd_limited(&self) -> bool {
        self.has(flag::CWND_LIMITED)
    }
    pub(super) fn synack_tsecr_check(&self) -> bool {
        self.has(flag::SYNACK_TSECR_CHECK)
    }
    pub(super) fn linux_push(&self) -> bool {
        self.has(flag::LINUX_PUSH)
    }
    pub(super) fn rst_on_data_after_close(&self) -> bool {
        self.has(flag::RST_ON_DATA_AFTER_CLOSE)
    }
    pub(super) fn wscale_buffer(&self) -> Option<usize> {
        (self.wscale_buffer != 0)
            .then(|| usize::try_from(self.wscale_buffer - 1).unwrap_or(usize::MAX))
    }
    /// F-RTO (RFC 5682) after a retransmission timeout.
    pub(super) fn frto(&self) -> bool {
        self.has(flag::FRTO)
    }
    /// Packetization-layer path MTU discovery (RFC 4821) when a black
    /// hole is suspected (Linux `tcp_mtu_probing=1`).
    pub(super) fn mtu_probing(&self) -> bool {
        self.has(flag::MTU_PROBING)
    }
    pub(super) fn fin_timeout(&self) -> Duration {
        self.fin_timeout.get()
    }
    pub(super) fn rto_initial(&self) -> Duration {
        self.rto_initial.get()
    }
    pub(super) fn rto_min(&self) -> Duration {
        self.rto_min.get()
    }
    pub(super) fn rto_max(&self) -> Duration {
        self.rto_max.get()
    }
    pub(super) fn delayed_ack(&self) -> Duration {
        self.delayed_ack.get()
    }
    /// The delayed-ACK time in microseconds (the per-segment paths).
    pub(super) fn delayed_ack_us(&self) -> u64 {
        self.delayed_ack.micros()
    }
    pub(super) fn challenge_ack_interval(&self) -> Duration {
        self.challenge_ack_interval.get()
    }
    /// Length of TIME-WAIT: `2 * msl` (RFC 9293 §3.4.2).
    pub(super) fn time_wait(&self) -> Duration {
        self.msl.get().saturating_mul(2)
    }
    /// Keep-alive is on (without building the [`Keepalive`]).
    #[inline]
    pub(super) fn keepalive_on(&self) -> bool {
        self.has(flag::KEEPALIVE)
    }
    /// The keep-alive idle time in microseconds (when it is on).
    #[inline]
    pub(super) fn ka_idle_us(&self) -> u64 {
        self.ka_idle.micros()
    }
    pub(super) fn keepalive(&self) -> Option<Keepalive> {
        self.has(flag::KEEPALIVE).then(|| Keepalive {
            idle: self.ka_idle.get(),
            interval: self.ka_interval.get(),
            probes: self.ka_probes,
        })
    }
    /// Zero is none (`Config::validate` refuses `Some(0)`).
    pub(super) fn orphan_lifetime(&self) -> Option<Duration> {
        (self.orphan_lifetime != Dur::ZERO).then(|| self.orphan_lifetime.get())
    }
    /// Keep-alive on (with these values) or off, from now on.
    pub(super) fn set_keepalive(&mut self, k: Option<Keepalive>) {
        match k {
            Some(k) => {
                self.ka_idle = Dur::new(k.idle);
                self.ka_interval = Dur::new(k.interval);
                self.ka_probes = k.probes;
                self.flags |= flag::KEEPALIVE;
            }
            None => self.flags &= !flag::KEEPALIVE,
        }
    }
    /// `Some(0)` turns it off, as `None` does (Linux `TCP_USER_TIMEOUT`
    /// 0: the default, no user timeout).
    pub(super) fn set_user_timeout(&mut self, t: Option<Duration>) {
        match t.filter(|t| !t.is_zero()) {
            Some(t) => {
                self.user_timeout = Dur::new(t);
                self.flags |= flag::USER_TIMEOUT;
            }
            None => self.flags &= !flag::USER_TIMEOUT,
        }
    }
    #[inline]
    pub(super) fn user_timeout(&self) -> Option<Duration> {
        self.has(flag::USER_TIMEOUT)
            .then(|| self.user_timeout.get())
    }
}

/// A [`Cfg`] as connections hold it: shared, one pointer, among every
/// connection made from the same [`PackedConfig`](super::PackedConfig)
/// (an Endpoint's listeners and `connect`s), as quinn-proto shares an
/// `Arc<TransportConfig>`; copied on the rare write (a socket option set
/// on one connection). Without `alloc` (or on a target without atomic
/// pointers, where `Arc` does not exist) each connection keeps its own
/// copy inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Shared(Held);

#[cfg(all(feature = "alloc", target_has_atomic = "ptr"))]
type Held = alloc::sync::Arc<Cfg>;
#[cfg(not(all(feature = "alloc", target_has_atomic = "ptr")))]
type Held = Cfg;

impl Shared {
    pub(super) fn new(cfg: Cfg) -> Shared {
        #[cfg(all(feature = "alloc", target_has_atomic = "ptr"))]
        return Shared(alloc::sync::Arc::new(cfg));
        #[cfg(not(all(feature = "alloc", target_has_atomic = "ptr")))]
        return Shared(cfg);
    }

    /// This connection's own copy, to change (copied first while shared).
    pub(super) fn make_mut(&mut self) -> &mut Cfg {
        #[cfg(all(feature = "alloc", target_has_atomic = "ptr"))]
        return alloc::sync::Arc::make_mut(&mut self.0);
        #[cfg(not(all(feature = "alloc", target_has_atomic = "ptr")))]
        return &mut self.0;
    }
}

impl Shared {
    /// The bytes of one allocation: `Arc`'s two counts and the packed
    /// config after them, rounded up to the alignment of the whole (as
    /// `ArcInner`, `repr(C)`, is laid out).
    #[cfg(feature = "alloc")]
    pub(super) const ALLOC_BYTES: usize =
        (2 * core::mem::size_of::<usize>() + core::mem::size_of::<Cfg>()).next_multiple_of(
            if core::mem::align_of::<Cfg>() > core::mem::align_of::<usize>() {
                core::mem::align_of::<Cfg>()
            } else {
                core::mem::align_of::<usize>()
            },
        );

    /// The heap bytes this connection alone holds for its configuration:
    /// the packed config and `Arc`'s two counts when nothing else shares
    /// it, else nothing (the Endpoint's copy is counted once, not per
    /// connection).
    #[cfg(feature = "alloc")]
    pub(super) fn heap_bytes(&self) -> usize {
        #[cfg(target_has_atomic = "ptr")]
        if alloc::sync::Arc::strong_count(&self.0) == 1 {
            return Self::ALLOC_BYTES;
        }
        0
    }
}

impl core::ops::Deref for Shared {
    type Target = Cfg;
    #[inline(always)]
    fn deref(&self) -> &Cfg {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_their_value() {
        for d in [
            Duration::ZERO,
            Duration::from_micros(1),
            Duration::from_millis(200),
            Duration::from_secs(120),
            Duration::from_secs(7200),
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(1 << 29),
        ] {
            assert_eq!(Dur::new(d).get(), d, "{d:?}");
            assert_eq!(Dur::new(d).micros(), micros(d), "{d:?}");
        }
        // Not a whole unit: rounded up, never down.
        let odd = Duration::from_secs(3600) + Duration::from_micros(1);
        assert_eq!(Dur::new(odd).get(), odd + Duration::from_micros(999));
        assert_eq!(Dur::new(Duration::MAX).get(), Duration::MAX);
        assert_eq!(Dur::new(Duration::MAX).micros(), u64::MAX);
        assert_eq!(
            Dur::new(Duration::from_secs(u64::from(u32::MAX))).get(),
            Duration::MAX
        );
    }

    #[test]
    fn presets_round_trip() {
        let mut with_all = Config::linux();
        with_all.keepalive = Some(Config::default_keepalive());
        with_all.user_timeout = Some(Duration::from_secs(30));
        with_all.ecn = true;
        let mut without = Config::rfc9293();
        without.orphan_lifetime = None;
        for c in [Config::rfc9293(), Config::linux(), with_all, without] {
            assert_eq!(Cfg::new(&c).to_config(), c);
        }
        assert_eq!(core::mem::size_of::<Cfg>(), 72);
    }
}
