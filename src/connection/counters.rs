//! The connection's counters as it keeps them: [`Stats`] is built from
//! them on demand. Event counters take 4 bytes each and wrap at 2^32 (a
//! wrap takes over four billion segments); byte counters stay 64-bit.

use super::Stats;
use crate::time::Split64;
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

/// A byte counter: 64 bits as two 32-bit halves, so that [`Counters`]
/// needs only 4-byte alignment and packs with the connection's other
/// 4-byte fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Bytes(Split64);

impl Bytes {
    fn get(self) -> u64 {
        self.0.get()
    }
}

impl AddAssign<u64> for Bytes {
    fn add_assign(&mut self, n: u64) {
        self.0 = Split64::new(self.0.get().wrapping_add(n));
    }
}

/// The fields of [`Stats`], packed (76 bytes instead of 136, 4-byte aligned).
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
    pub(super) bytes_in: Bytes,
    pub(super) bytes_out: Bytes,
}

impl Counters {
    #[inline]
    pub(super) fn stats(&self) -> Stats {
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
            bytes_in: self.bytes_in.get(),
            bytes_out: self.bytes_out.get(),
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
        assert_eq!(c.stats().dropped, u64::from(u32::MAX));
        c.dropped += 1;
        assert_eq!(c.stats().dropped, 0);
        c.bytes_in += u64::from(u32::MAX);
        c.bytes_in += 2;
        assert_eq!(c.stats().bytes_in, 1 << 32 | 1);
        assert_eq!(core::mem::size_of::<Counters>(), 76);
    }
}
