//! `Config::cwnd_limited`: the congestion window grows only while the
//! flight uses it, as Linux's `tcp_is_cwnd_limited` decides, and a
//! congestion event takes ssthresh from cwnd rather than from the flight.
//!
//! RFC 5681 grows cwnd on every ACK of new data, whatever the flight, and
//! takes ssthresh from FlightSize (§3.1, eq. 4): an application-limited
//! sender's cwnd may grow far past anything it has tested, but a loss
//! then halves only what was in flight. RFC 9438 §4.6 lets CUBIC take
//! ssthresh from cwnd instead, provided the implementation keeps cwnd
//! from growing while the flight is smaller (RFC 7661 describes such
//! measures); Linux does both.
//!
//! Linux's measure (`tcp_cwnd_validate` after each transmission,
//! `tcp_is_cwnd_limited` on each ACK): the largest flight of the current
//! window is kept; cwnd grows when that flight filled cwnd (no room for
//! another full segment), or, in slow start, while cwnd is below twice it
//! ("ensure cwnd grows to twice what was ACKed"). Linux counts packets;
//! here bytes, which is the same for full-sized segments. Linux's window
//! lasts a round trip (until SND.UNA passes SND.NXT as it was when the
//! window began) and it keeps a flag of whether the window was
//! cwnd-limited; here a window begins when data is sent with nothing in
//! flight (one word in the TCB instead of three), and whether it was
//! cwnd-limited is whether its largest flight fills the cwnd of now.
//!
//! The word is in the TCB with `alloc` only (where an out-of-order FIN's
//! number moved to the boxed uncommon state to make room); without
//! `alloc` the TCB has none to spare, and the setting is ignored (RFC
//! 5681's growth).

use super::{Connection, Storage};
use crate::seq::SeqNum;

impl<B: Storage> Connection<B> {
    /// New data from `start` went out: the largest flight of the window,
    /// or a new window when nothing was in flight before it (Linux's
    /// `tcp_cwnd_validate`).
    #[inline]
    pub(super) fn cwnd_used(&mut self, start: SeqNum) {
        #[cfg(feature = "alloc")]
        if self.cfg.cwnd_limited() {
            self.cwnd_used_record(start == self.snd_una);
        }
        #[cfg(not(feature = "alloc"))]
        let _ = start;
    }

    #[cfg(feature = "alloc")]
    fn cwnd_used_record(&mut self, fresh: bool) {
        let flight = self.flight();
        if fresh || self.cwnd_full(flight) || (!self.cwnd_full(self.cl_max) && flight > self.cl_max)
        {
            self.cl_max = flight;
        }
    }

    /// A flight of `flight` bytes leaves no room for a full segment.
    #[cfg(feature = "alloc")]
    #[inline]
    fn cwnd_full(&self, flight: u32) -> bool {
        flight.saturating_add(self.eff_mss()) > self.cwnd
    }

    /// Whether an ACK may grow cwnd (Linux's `tcp_is_cwnd_limited`;
    /// always without `Config::cwnd_limited`).
    pub(super) fn may_grow_cwnd(&self) -> bool {
        #[cfg(feature = "alloc")]
        return !self.cfg.cwnd_limited()
            || self.cwnd_full(self.cl_max)
            || (self.cwnd < self.ssthresh && self.cwnd < self.cl_max.saturating_mul(2));
        #[cfg(not(feature = "alloc"))]
        return true;
    }

    /// The window a congestion event reduces: cwnd with
    /// `Config::cwnd_limited` (RFC 9438 §4.6, as Linux), else the flight
    /// (RFC 5681 §3.1's FlightSize), at least a segment.
    pub(super) fn cwnd_to_reduce(&self) -> u32 {
        let mss = self.eff_mss();
        if cfg!(feature = "alloc") && self.cfg.cwnd_limited() {
            self.cwnd.max(mss)
        } else {
            self.cwnd.min(self.flight().max(mss))
        }
    }
}
