//! The connection's counters as it keeps them: [`Stats`] is built from
//! them on demand. Event counters take 4 bytes each and wrap at 2^32 (a
//! wrap takes over four billion segments); byte counters stay 64-bit.

use super::Stats;
use core::ops::{AddAssign, SubAssign};

/// An event counter: 32 bits, wrapping (never a panic on overflow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Count(u32);

impl Count {
    pub(super) fn get(self) -> u32 {
        self.0
    }
}

impl AddAssign<u32> for Count {
    fn add_assign(&mut self, n: u32) {
        self.0 = self.0.wrapping_add(n);
    }
}

impl SubAssign<u32> for Count {
    fn sub_assign(&mut self, n: u32) {
        self.0 = self.0.wrapping_sub(n);
    }
}

/// The event counters of [`Stats`], packed (60 bytes; with the two byte
/// counters 76 instead of 136).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub(super) segs_in: Count,
    pub(super) segs_out: Count,
    pub(super) retransmits: Count,
    pub(super) timeouts: Count,
    pub(super) ecn_reductions: Count,
    pub(super) spurious_timeouts: Count,
    pub(super) hystart_exits: Count,
    pub(super) rack_losses: Count,
    pub(super) lost_retransmits: Count,
    pub(super) loss_probes: Count,
    pub(super) recoveries: Count,
    pub(super) dropped: Count,
    pub(super) challenge_acks: Count,
    pub(super) challenge_acks_suppressed: Count,
    pub(super) illegal_transitions: Count,
}

impl Counters {
    /// The public form; the byte counters are kept by the connection
    /// itself (64-bit, 8-byte aligned, they pack best there).
    #[inline]
    pub(super) fn stats(&self, bytes_in: u64, bytes_out: u64) -> Stats {
        let w = |c: Count| u64::from(c.get());
        Stats {
            segs_in: w(self.segs_in),
            segs_out: w(self.segs_out),
            retransmits: w(self.retransmits),
            timeouts: w(self.timeouts),
            ecn_reductions: w(self.ecn_reductions),
            spurious_timeouts: w(self.spurious_timeouts),
            hystart_exits: w(self.hystart_exits),
            rack_losses: w(self.rack_losses),
            lost_retransmits: w(self.lost_retransmits),
            loss_probes: w(self.loss_probes),
            recoveries: w(self.recoveries),
            dropped: w(self.dropped),
            challenge_acks: w(self.challenge_acks),
            challenge_acks_suppressed: w(self.challenge_acks_suppressed),
            bytes_in,
            bytes_out,
            illegal_transitions: w(self.illegal_transitions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_wrap_without_panic() {
        let mut c = Counters::default();
        c.dropped -= 1;
        assert_eq!(c.stats(0, 0).dropped, u64::from(u32::MAX));
        c.dropped += 1;
        assert_eq!(c.stats(0, 0).dropped, 0);
        assert_eq!(c.stats(1 << 40, 7).bytes_in, 1 << 40);
        assert_eq!(core::mem::size_of::<Counters>(), 60);
    }
}
