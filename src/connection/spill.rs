//! Range sets a connection needs only while data is missing: the SACK
//! scoreboard (RFC 6675, while the peer reports holes) and the reassembly
//! ranges (RFC 9293 §3.10.7.4, while out-of-order data waits).
//!
//! With the `alloc` feature a [`Spill`] is one pointer while empty, which
//! it is in steady state: the ranges go to the heap when the first hole
//! appears and the box is freed when the last one closes, so an allocation
//! happens once per loss or reordering episode, never per segment, and a
//! box is bounded ([`Assembler`], 72 bytes). Without `alloc` the ranges
//! are inline.

use crate::buffer::{Assembler, TooManyRanges};
use core::ops::Deref;

#[cfg(feature = "alloc")]
type Slot = Option<alloc::boxed::Box<Assembler>>;
#[cfg(not(feature = "alloc"))]
type Slot = Assembler;

/// An [`Assembler`] that takes no room while empty (with `alloc`).
#[derive(Clone, Debug, Default)]
pub(super) struct Spill(Slot);

/// What an absent box reads as.
#[cfg(feature = "alloc")]
static EMPTY: Assembler = Assembler::new();

impl Deref for Spill {
    type Target = Assembler;
    fn deref(&self) -> &Assembler {
        #[cfg(feature = "alloc")]
        return self.0.as_deref().unwrap_or(&EMPTY);
        #[cfg(not(feature = "alloc"))]
        return &self.0;
    }
}

impl Spill {
    /// The ranges, for a change (allocating them with `alloc`).
    fn get_mut(&mut self) -> &mut Assembler {
        #[cfg(feature = "alloc")]
        return self
            .0
            .get_or_insert_with(|| alloc::boxed::Box::new(Assembler::new()));
        #[cfg(not(feature = "alloc"))]
        return &mut self.0;
    }

    /// Frees the box once no range is left.
    fn release_if_empty(&mut self) {
        #[cfg(feature = "alloc")]
        if self.0.as_ref().is_some_and(|a| a.is_empty()) {
            self.0 = None;
        }
    }

    /// Heap bytes held now (0 without `alloc` or while empty).
    #[cfg(feature = "alloc")]
    pub(super) fn heap_bytes(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<Assembler>())
    }

    /// [`Assembler::clear`], freeing the box.
    pub(super) fn clear(&mut self) {
        #[cfg(feature = "alloc")]
        {
            self.0 = None;
        }
        #[cfg(not(feature = "alloc"))]
        self.0.clear();
    }

    /// [`Assembler::add_capped`].
    pub(super) fn add_capped(
        &mut self,
        offset: u32,
        len: u32,
        cap: usize,
    ) -> Result<(), TooManyRanges> {
        if len == 0 {
            return Ok(());
        }
        let r = self.get_mut().add_capped(offset, len, cap);
        self.release_if_empty();
        r
    }

    /// [`Assembler::advance`].
    pub(super) fn advance(&mut self, n: u32) {
        if !self.is_empty() {
            self.get_mut().advance(n);
            self.release_if_empty();
        }
    }

    /// [`Assembler::take_front`].
    pub(super) fn take_front(&mut self) -> u32 {
        if self.is_empty() {
            return 0;
        }
        let n = self.get_mut().take_front();
        self.release_if_empty();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_only_while_holding_ranges() {
        let mut s = Spill::default();
        assert!(s.is_empty());
        s.advance(10);
        assert_eq!(s.take_front(), 0);
        s.add_capped(100, 50, 8).unwrap();
        assert_eq!(s.ranges().next(), Some((100, 150)));
        #[cfg(feature = "alloc")]
        assert_eq!(s.heap_bytes(), core::mem::size_of::<Assembler>());
        s.advance(100);
        assert_eq!(s.take_front(), 50);
        assert!(s.is_empty());
        #[cfg(feature = "alloc")]
        {
            assert_eq!(s.heap_bytes(), 0);
            assert_eq!(core::mem::size_of::<Spill>(), 8);
        }
    }
}
