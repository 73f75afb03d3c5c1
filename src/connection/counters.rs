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
/// The counters of every segment (kept inline) and of rarer events
/// (retransmissions, timeouts, drops ...), which with `alloc` go to the
/// heap at the first such event: most connections never see one, and
/// their TCB is 52 bytes smaller (issue 17, W3). Without `alloc` they are
/// inline.
#[derive(Clone, Debug, Default)]
pub(super) struct Counters {
    pub(super) segs_in: Count,
    pub(super) segs_out: Count,
    rare: Slot,
}

#[cfg(feature = "alloc")]
type Slot = Option<alloc::boxed::Box<Rare>>;
#[cfg(not(feature = "alloc"))]
type Slot = Rare;

/// The counters of events a connection in steady state never sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Rare {
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

/// What an absent box reads as.
#[cfg(feature = "alloc")]
static NONE: Rare = Rare {
    retransmits: Count(0),
    timeouts: Count(0),
    ecn_reductions: Count(0),
    spurious_timeouts: Count(0),
    hystart_exits: Count(0),
    rack_losses: Count(0),
    lost_retransmits: Count(0),
    loss_probes: Count(0),
    recoveries: Count(0),
    dropped: Count(0),
    challenge_acks: Count(0),
    challenge_acks_suppressed: Count(0),
    illegal_transitions: Count(0),
};

impl Counters {
    /// The rare counters, to read.
    #[inline]
    pub(super) fn get(&self) -> &Rare {
        #[cfg(feature = "alloc")]
        return self.rare.as_deref().unwrap_or(&NONE);
        #[cfg(not(feature = "alloc"))]
        return &self.rare;
    }

    /// The rare counters, to count an event (on the heap from the first).
    #[inline]
    pub(super) fn rare(&mut self) -> &mut Rare {
        #[cfg(feature = "alloc")]
        return self.rare.get_or_insert_with(Default::default);
        #[cfg(not(feature = "alloc"))]
        return &mut self.rare;
    }

    /// The bytes of the rare counters' box, if there is one.
    #[cfg(feature = "alloc")]
    pub(super) fn heap_bytes(&self) -> usize {
        self.rare
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<Rare>())
    }

    #[inline]
    pub(super) fn stats(&self, bytes_in: u64, bytes_out: u64) -> Stats {
        let w = |c: Count| u64::from(c.get());
        let r = self.get();
        Stats {
            segs_in: w(self.segs_in),
            segs_out: w(self.segs_out),
            retransmits: w(r.retransmits),
            timeouts: w(r.timeouts),
            ecn_reductions: w(r.ecn_reductions),
            spurious_timeouts: w(r.spurious_timeouts),
            hystart_exits: w(r.hystart_exits),
            rack_losses: w(r.rack_losses),
            lost_retransmits: w(r.lost_retransmits),
            loss_probes: w(r.loss_probes),
            recoveries: w(r.recoveries),
            dropped: w(r.dropped),
            challenge_acks: w(r.challenge_acks),
            challenge_acks_suppressed: w(r.challenge_acks_suppressed),
            bytes_in,
            bytes_out,
            illegal_transitions: w(r.illegal_transitions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_wrap_without_panic() {
        let mut c = Counters::default();
        let zero = Counters::default().stats(0, 0);
        assert_eq!(c.stats(0, 0), zero);
        c.rare().dropped -= 1;
        assert_eq!(c.stats(0, 0).dropped, u64::from(u32::MAX));
        c.rare().dropped += 1;
        assert_eq!(c.stats(0, 0).dropped, 0);
        // A box of zeros reads as no box.
        assert_eq!(c.stats(0, 0), zero);
        assert_eq!(c.stats(1 << 40, 7).bytes_in, 1 << 40);
        assert_eq!(core::mem::size_of::<Rare>(), 52);
        #[cfg(feature = "alloc")]
        assert_eq!(core::mem::size_of::<Counters>(), 16);
    }
}
