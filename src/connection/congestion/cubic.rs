//! CUBIC (RFC 9438) in integer arithmetic: windows in bytes, time in
//! microseconds, the cubic term in 128-bit integers.

use super::{CongestionControl, Window};
use crate::time::{Instant, OptInstant};

/// beta_cubic = 0.7 (RFC 9438 §4.6), as a fraction of 10.
const BETA_X10: u32 = 7;
/// 1e18: microseconds cubed per second cubed.
const US3: i128 = 1_000_000_000_000_000_000;

/// CUBIC's state (RFC 9438 §4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cubic {
    /// W_max: the window before the last reduction, bytes.
    w_max: u32,
    /// K in microseconds.
    k_us: u32,
    /// t_epoch: start of the current congestion-avoidance epoch.
    epoch: OptInstant,
    /// W_est: the Reno-friendly window, bytes (RFC 9438 §4.3).
    w_est: u32,
    /// Bytes acknowledged not yet counted into W_est.
    est_acked: u32,
}

/// The integer cube root, rounded down.
fn cbrt(x: u128) -> u64 {
    let (mut lo, mut hi) = (0u64, 1u64 << 43);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let m = u128::from(mid);
        if m * m * m <= x {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

impl Cubic {
    /// W_cubic(t) = C*(t-K)^3 + W_max (RFC 9438 eq. 1), C = 0.4 segments/s^3.
    fn w_cubic(&self, t_us: u64, mss: u32) -> i128 {
        let dt = (t_us as i128 - self.k_us as i128).clamp(-1_000_000_000, 1_000_000_000);
        i128::from(self.w_max) + 2 * i128::from(mss) * dt * dt * dt / (5 * US3)
    }

    fn start_epoch(&mut self, w: Window, now: Instant) {
        self.epoch = OptInstant::some(now);
        if w.cwnd < self.w_max {
            // K = cbrt((W_max - cwnd) / C) (RFC 9438 eq. 2), in seconds.
            let seg = u128::from(self.w_max - w.cwnd) * 5 * (US3 as u128)
                / (2 * u128::from(w.mss.max(1)));
            // At most cbrt(2^32 * 5/2) s, about 2200 s: it fits.
            self.k_us = u32::try_from(cbrt(seg)).unwrap_or(u32::MAX);
        } else {
            self.k_us = 0;
            self.w_max = w.cwnd;
        }
        self.w_est = w.cwnd;
        self.est_acked = 0;
    }
}

impl CongestionControl for Cubic {
    /// Slow start grows by every byte an ACK covers, up to ssthresh
    /// (Linux's `tcp_slow_start`, under `bictcp_cong_avoid`).
    fn slow_start_limit(&self) -> Option<u32> {
        None
    }
    fn on_ack_ca(&mut self, w: Window, acked: u32, now: Instant, srtt: u32) -> u32 {
        let Some(epoch) = self.epoch.get() else {
            self.start_epoch(w, now);
            return self.on_ack_ca(w, acked, now, srtt);
        };
        let mss = w.mss.max(1);
        let cwnd = w.cwnd.max(mss);
        let t = now.saturating_duration_since(epoch).as_micros() as u64;
        // RFC 9438 §4.3: W_est grows by alpha_cubic per RTT, alpha = 3(1-b)/(1+b) = 9/17.
        self.est_acked = self.est_acked.saturating_add(acked);
        let step = (u64::from(self.est_acked) * 9 * u64::from(mss) / (17 * u64::from(cwnd))) as u32;
        if step > 0 {
            self.w_est = self.w_est.saturating_add(step);
            self.est_acked = 0;
        }
        // RFC 9438 §4.4: the target is W_cubic(t + RTT), within [cwnd, 1.5 cwnd].
        let target = self
            .w_cubic(t + u64::from(srtt), mss)
            .clamp(i128::from(cwnd), i128::from(cwnd) * 3 / 2) as u32;
        if self.w_cubic(t, mss) < i128::from(self.w_est) {
            // Reno-friendly region.
            return self.w_est.max(cwnd);
        }
        // Concave/convex region: cwnd += (target - cwnd) / cwnd per ACKed MSS.
        let inc = u64::from(target - cwnd) * u64::from(acked) / u64::from(cwnd);
        cwnd.saturating_add(inc as u32)
    }

    fn on_congestion(&mut self, w: Window, _now: Instant) -> u32 {
        let cwnd = w.cwnd.max(w.mss);
        // RFC 9438 §4.7 fast convergence.
        self.w_max = if cwnd < self.w_max {
            (u64::from(cwnd) * u64::from(10 + BETA_X10) / 20) as u32
        } else {
            cwnd
        };
        self.epoch = OptInstant::NONE;
        // RFC 9438 §4.6: ssthresh = cwnd * beta_cubic.
        ((u64::from(cwnd) * u64::from(BETA_X10) / 10) as u32).max(2 * w.mss)
    }

    fn on_timeout(&mut self, w: Window, flight: u32, now: Instant) -> u32 {
        // RFC 9438 §4.8: a timeout is handled like a congestion event, then
        // cwnd restarts from the loss window.
        let _ = flight;
        self.on_congestion(w, now)
    }

    fn on_idle_restart(&mut self) {
        self.epoch = OptInstant::NONE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_root() {
        for x in [0u64, 1, 2, 7, 8, 9, 26, 27, 1000, 123_456_789, 1 << 42] {
            let r = cbrt(u128::from(x) * u128::from(x) * u128::from(x));
            assert_eq!(r, x);
        }
        assert_eq!(cbrt(26), 2);
    }

    /// RFC 9438 eq. 1 with C = 0.4 segments/s^3: W_max at K, 0.4 segment
    /// above it one second later (below it one second before), 400 at
    /// ten seconds.
    #[test]
    fn w_cubic_follows_c_of_0_4() {
        let mss = 1000;
        let c = Cubic {
            w_max: 100 * mss,
            k_us: 4_000_000,
            ..Cubic::default()
        };
        assert_eq!(c.w_cubic(4_000_000, mss), i128::from(100 * mss));
        assert_eq!(c.w_cubic(5_000_000, mss), i128::from(100 * mss + 400));
        assert_eq!(c.w_cubic(3_000_000, mss), i128::from(100 * mss - 400));
        assert_eq!(c.w_cubic(14_000_000, mss), i128::from(500 * mss));
    }

    #[test]
    fn reduction_and_recovery_to_w_max() {
        let mss = 1000;
        let mut c = Cubic::default();
        let t0 = Instant::from_secs(10);
        let w = Window {
            cwnd: 100 * mss,
            ssthresh: u32::MAX,
            mss,
        };
        let ss = c.on_congestion(w, t0);
        assert_eq!(ss, 70 * mss); // beta 0.7
        assert_eq!(c.w_max, 100 * mss);
        // K = cbrt(30 / 0.4) = cbrt(75) ~ 4.217 s.
        let mut cwnd = ss;
        let mut now = t0;
        c.start_epoch(
            Window {
                cwnd,
                ssthresh: ss,
                mss,
            },
            now,
        );
        assert!((4_200_000..4_230_000).contains(&c.k_us), "K = {}", c.k_us);
        // Acks a whole window every 100 ms RTT for `rtts` round trips.
        let rounds = |c: &mut Cubic, cwnd: &mut u32, now: &mut Instant, rtts: u32| {
            for _ in 0..rtts {
                *now += crate::time::Duration::from_millis(100);
                let w = Window {
                    cwnd: *cwnd,
                    ssthresh: ss,
                    mss,
                };
                *cwnd = c.on_ack_ca(w, *cwnd, *now, 100_000);
            }
        };
        // For 4.2 s: cwnd approaches W_max.
        rounds(&mut c, &mut cwnd, &mut now, 42);
        assert!(cwnd > 95 * mss && cwnd <= 101 * mss, "cwnd {cwnd}");
        // Beyond K the window grows past W_max (convex region).
        rounds(&mut c, &mut cwnd, &mut now, 30);
        assert!(cwnd > 105 * mss, "cwnd {cwnd}");
    }

    fn win(cwnd: u32) -> Window {
        Window {
            cwnd,
            ssthresh: 0,
            mss: 1000,
        }
    }

    /// RFC 9438 §4.7: fast convergence lowers W_max only when cwnd is
    /// below it; at W_max, W_max stays.
    #[test]
    fn no_fast_convergence_at_w_max() {
        let mut c = Cubic::default();
        let t = Instant::from_secs(1);
        let _ = c.on_congestion(win(100_000), t);
        assert_eq!(c.w_max, 100_000);
        let _ = c.on_congestion(win(100_000), t);
        assert_eq!(c.w_max, 100_000);
    }

    /// RFC 9438 §4.6: ssthresh = cwnd * 0.7, and never below 2 segments
    /// (RFC 5681 §3.1's floor, as Linux's `bictcp_recalc_ssthresh`).
    #[test]
    fn ssthresh_is_seven_tenths_and_at_least_two_segments() {
        let mut c = Cubic::default();
        let t = Instant::from_secs(1);
        assert_eq!(c.on_congestion(win(100_000), t), 70_000);
        assert_eq!(c.on_congestion(win(2_000), t), 2_000);
        assert_eq!(c.on_timeout(win(2_500), 2_500, t), 2_000);
    }

    /// RFC 9438 §4.3: W_est grows by alpha (9/17 of an MSS) per cwnd of
    /// acknowledged bytes, also when each ACK alone is too small to move it
    /// (a window of 1,000 segments, one MSS an ACK): the bytes add up.
    #[test]
    fn w_est_adds_up_small_acks() {
        let mut c = Cubic::default();
        let now = Instant::from_secs(1);
        let cwnd = 1_000_000;
        c.w_max = cwnd;
        c.start_epoch(win(cwnd), now);
        for _ in 0..1000 {
            let _ = c.on_ack_ca(win(cwnd), 1000, now, 100_000);
        }
        assert!(
            (cwnd + 500..cwnd + 600).contains(&c.w_est),
            "W_est {}",
            c.w_est
        );
    }

    /// RFC 9438 §4.4: where W_cubic equals W_est the window follows the
    /// cubic target (the Reno-friendly region is W_cubic < W_est): at the
    /// epoch's start with cwnd = W_max and an SRTT of 10 s, the target is
    /// capped at 1.5 cwnd, and 100 bytes acknowledged of 100,000 give 50.
    #[test]
    fn the_cubic_target_where_w_cubic_meets_w_est() {
        let mut c = Cubic::default();
        let now = Instant::from_secs(1);
        c.w_max = 100_000;
        c.start_epoch(win(100_000), now);
        assert_eq!(c.w_cubic(0, 1000), i128::from(c.w_est));
        assert_eq!(c.on_ack_ca(win(100_000), 100, now, 10_000_000), 100_050);
    }

    /// The controller passes an idle restart on: CUBIC's epoch ends.
    #[test]
    fn an_idle_restart_ends_the_epoch() {
        let mut c = Cubic::default();
        c.start_epoch(win(10_000), Instant::from_secs(1));
        let mut k = crate::connection::congestion::Controller::Cubic(c);
        k.on_idle_restart();
        let crate::connection::congestion::Controller::Cubic(c) = k else {
            unreachable!()
        };
        assert_eq!(c.epoch.get(), None);
    }

    #[test]
    fn fast_convergence() {
        let mss = 1000;
        let mut c = Cubic::default();
        let t = Instant::from_secs(1);
        let _ = c.on_congestion(
            Window {
                cwnd: 100 * mss,
                ssthresh: 0,
                mss,
            },
            t,
        );
        let _ = c.on_congestion(
            Window {
                cwnd: 80 * mss,
                ssthresh: 0,
                mss,
            },
            t,
        );
        assert_eq!(c.w_max, 68 * mss); // 80 * (1 + 0.7) / 2
    }
}
