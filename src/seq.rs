//! Sequence numbers: serial-number arithmetic modulo 2^32 (RFC 9293 §3.4).
//!
//! `SeqNum` deliberately has no `PartialOrd`: the wrapping order is not
//! transitive, so every comparison names its direction (`before`, `after`)
//! and is only meaningful for numbers less than 2^31 apart.

use core::fmt;

/// A TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The number `n` further on, modulo 2^32.
    #[inline]
    pub const fn add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }
    /// The number `n` earlier, modulo 2^32.
    #[inline]
    pub const fn sub(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n))
    }
    /// The signed distance from `other` to `self` (`self - other`).
    #[inline]
    pub const fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
    /// The unsigned distance from `other` forward to `self`.
    #[inline]
    pub const fn dist(self, other: SeqNum) -> u32 {
        self.0.wrapping_sub(other.0)
    }
    /// `self < other` in sequence space.
    #[inline]
    pub const fn before(self, other: SeqNum) -> bool {
        self.diff(other) < 0
    }
    /// `self <= other` in sequence space.
    #[inline]
    pub const fn before_eq(self, other: SeqNum) -> bool {
        self.diff(other) <= 0
    }
    /// `self > other` in sequence space.
    #[inline]
    pub const fn after(self, other: SeqNum) -> bool {
        self.diff(other) > 0
    }
    /// `self >= other` in sequence space.
    #[inline]
    pub const fn after_eq(self, other: SeqNum) -> bool {
        self.diff(other) >= 0
    }
    /// `lo <= self < lo + len` (a half-open window that may wrap).
    #[inline]
    pub const fn in_window(self, lo: SeqNum, len: u32) -> bool {
        self.dist(lo) < len
    }
    /// The later of two numbers.
    #[inline]
    pub fn max(self, other: SeqNum) -> SeqNum {
        if self.after(other) { self } else { other }
    }
    /// The earlier of two numbers.
    #[inline]
    pub fn min(self, other: SeqNum) -> SeqNum {
        if self.before(other) { self } else { other }
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_2_pow_32() {
        let top = SeqNum(u32::MAX);
        let zero = top.add(1);
        assert_eq!(zero, SeqNum(0));
        assert!(top.before(zero));
        assert!(zero.after(top));
        assert!(top.before_eq(top) && top.after_eq(top));
        assert!(!top.before(top) && !top.after(top));
        assert_eq!(zero.diff(top), 1);
        assert_eq!(top.diff(zero), -1);
        assert_eq!(zero.sub(1), top);
        assert_eq!(SeqNum(5).dist(SeqNum(u32::MAX - 4)), 10);
    }

    #[test]
    fn window_membership_across_the_wrap() {
        let lo = SeqNum(u32::MAX - 9);
        assert!(lo.in_window(lo, 20));
        assert!(SeqNum(9).in_window(lo, 20));
        assert!(!SeqNum(10).in_window(lo, 20));
        assert!(!lo.sub(1).in_window(lo, 20));
        assert!(!lo.in_window(lo, 0));
    }

    #[test]
    fn half_space_boundary() {
        let a = SeqNum(0);
        assert!(a.before(SeqNum(0x7fff_ffff)));
        // Exactly 2^31 apart the distance is i32::MIN: `a` counts as "before".
        // Such numbers are never compared by the engine (windows < 2^30).
        assert!(a.before(SeqNum(0x8000_0000)));
        assert!(!a.after(SeqNum(0x8000_0000)));
        assert_eq!(SeqNum(10).max(SeqNum(u32::MAX)), SeqNum(10));
        assert_eq!(SeqNum(10).min(SeqNum(u32::MAX)), SeqNum(u32::MAX));
    }
}
