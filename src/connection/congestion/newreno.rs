//! NewReno (RFC 5681 §3.1 congestion avoidance, RFC 6582 recovery).

use super::{CongestionControl, Window};
use crate::time::Instant;

/// NewReno's state: the bytes acknowledged towards the next MSS of growth.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewReno {
    bytes_acked: u32,
}

impl CongestionControl for NewReno {
    /// RFC 5681 §3.1 eq. (3) with RFC 3465 byte counting: one MSS per cwnd
    /// of acknowledged bytes.
    fn on_ack_ca(&mut self, w: Window, acked: u32, _now: Instant, _srtt: u32) -> u32 {
        self.bytes_acked = self.bytes_acked.saturating_add(acked);
        let mut cwnd = w.cwnd.max(w.mss);
        if self.bytes_acked >= cwnd {
            self.bytes_acked -= cwnd;
            cwnd = cwnd.saturating_add(w.mss);
        }
        cwnd
    }
    /// RFC 5681 §3.2 eq. (4), with cwnd standing for FlightSize.
    fn on_congestion(&mut self, w: Window, _now: Instant) -> u32 {
        self.bytes_acked = 0;
        (w.cwnd / 2).max(2 * w.mss)
    }
    /// RFC 5681 §3.1 eq. (4).
    fn on_timeout(&mut self, w: Window, flight: u32, _now: Instant) -> u32 {
        self.bytes_acked = 0;
        (flight / 2).max(2 * w.mss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(cwnd: u32) -> Window {
        Window {
            cwnd,
            ssthresh: 0,
            mss: 1000,
        }
    }

    /// RFC 3465 byte counting: the bytes acknowledged beyond a cwnd's worth
    /// carry over to the next MSS of growth.
    #[test]
    fn acknowledged_bytes_carry_over() {
        let now = Instant::ZERO;
        let mut n = NewReno::default();
        assert_eq!(n.on_ack_ca(w(10_000), 15_000, now, 0), 11_000);
        assert_eq!(n.on_ack_ca(w(11_000), 6_000, now, 0), 12_000);
        assert_eq!(n.on_ack_ca(w(12_000), 11_000, now, 0), 12_000);
    }

    /// RFC 5681 §3.2 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
    #[test]
    fn ssthresh_is_half_the_flight_and_at_least_two_segments() {
        let now = Instant::ZERO;
        let mut n = NewReno::default();
        assert_eq!(n.on_congestion(w(10_000), now), 5_000);
        assert_eq!(n.on_congestion(w(3_000), now), 2_000);
        assert_eq!(n.on_timeout(w(10_000), 3_000, now), 2_000);
        assert_eq!(n.on_timeout(w(10_000), 9_000, now), 4_500);
    }
}
