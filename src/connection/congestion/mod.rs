//! Congestion control behind a small trait (RFC 5681, RFC 9438).
//!
//! The connection owns the window arithmetic that every algorithm shares
//! (slow start, with the per-ACK limit the algorithm asks: RFC 3465's L=2
//! for NewReno, none for CUBIC as on Linux; the loss window after a
//! timeout, recovery entry);
//! an algorithm decides how the window grows in congestion avoidance and how
//! far it falls on a congestion event. Both built-in algorithms use integer
//! arithmetic only, so they work without floats in `no_std`.

mod cubic;
mod newreno;

pub use cubic::Cubic;
pub use newreno::NewReno;

use crate::time::Instant;

/// Which algorithm a connection uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum Algorithm {
    /// RFC 5681 / RFC 6582.
    #[default]
    NewReno,
    /// RFC 9438 (Linux's default).
    Cubic,
}

/// What an algorithm sees of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow-start threshold, bytes.
    pub ssthresh: u32,
    /// Sender MSS, bytes.
    pub mss: u32,
}

/// A congestion-control algorithm.
pub trait CongestionControl {
    /// `acked` new bytes were acknowledged while in congestion avoidance
    /// (`cwnd >= ssthresh`, not in recovery); `srtt` in microseconds (0 if
    /// unknown). Returns the new cwnd.
    fn on_ack_ca(&mut self, w: Window, acked: u32, now: Instant, srtt: u32) -> u32;
    /// A congestion event (fast retransmit or ECN): returns the new ssthresh;
    /// the connection sets cwnd from it.
    fn on_congestion(&mut self, w: Window, now: Instant) -> u32;
    /// A retransmission timeout (RFC 5681 §3.1): returns the new ssthresh.
    fn on_timeout(&mut self, w: Window, flight: u32, now: Instant) -> u32;
    /// The connection went idle for more than an RTO (RFC 5681 §4.1).
    fn on_idle_restart(&mut self) {}
    /// The most cwnd grows in slow start on one ACK, in segments of
    /// `mss` bytes: RFC 3465 §2.2's L = 2 by default (byte counting, with a
    /// stretch ACK counting for at most two segments). `None`: by every
    /// byte the ACK covers (Linux's `tcp_slow_start`, which GRO's
    /// coalesced receivers and their stretch ACKs would otherwise starve).
    fn slow_start_limit(&self) -> Option<u32> {
        Some(2)
    }
}

/// The built-in algorithms, dispatched without `dyn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Controller {
    /// NewReno.
    NewReno(NewReno),
    /// CUBIC.
    Cubic(Cubic),
}

impl Controller {
    /// A fresh controller of the given kind.
    pub fn new(a: Algorithm) -> Self {
        match a {
            Algorithm::NewReno => Controller::NewReno(NewReno::default()),
            Algorithm::Cubic => Controller::Cubic(Cubic::default()),
        }
    }
}

impl CongestionControl for Controller {
    fn on_ack_ca(&mut self, w: Window, acked: u32, now: Instant, srtt: u32) -> u32 {
        match self {
            Controller::NewReno(c) => c.on_ack_ca(w, acked, now, srtt),
            Controller::Cubic(c) => c.on_ack_ca(w, acked, now, srtt),
        }
    }
    fn on_congestion(&mut self, w: Window, now: Instant) -> u32 {
        match self {
            Controller::NewReno(c) => c.on_congestion(w, now),
            Controller::Cubic(c) => c.on_congestion(w, now),
        }
    }
    fn on_timeout(&mut self, w: Window, flight: u32, now: Instant) -> u32 {
        match self {
            Controller::NewReno(c) => c.on_timeout(w, flight, now),
            Controller::Cubic(c) => c.on_timeout(w, flight, now),
        }
    }
    fn on_idle_restart(&mut self) {
        match self {
            Controller::NewReno(c) => c.on_idle_restart(),
            Controller::Cubic(c) => c.on_idle_restart(),
        }
    }
    fn slow_start_limit(&self) -> Option<u32> {
        match self {
            Controller::NewReno(c) => c.slow_start_limit(),
            Controller::Cubic(c) => c.slow_start_limit(),
        }
    }
}
