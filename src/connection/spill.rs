//! Range sets a connection needs only while data is missing: the SACK
//! scoreboard (RFC 6675, while the peer reports holes) and the reassembly
//! ranges (RFC 9293 §3.10.7.4, while out-of-order data waits).
//!
//! With the `alloc` feature a [`Spill`] is one pointer while empty, which
//! it is in steady state: the ranges go to the heap when the first hole
//! appears and the box is freed when the last one closes, so an allocation
//! happens once per loss or reordering episode, never per segment, and a
//! box is bounded (an [`Assembler`], 72 bytes, and for the reassembly
//! ranges one more word). Without `alloc` the ranges are inline.

use crate::buffer::{Assembler, TooManyRanges};
use core::ops::Deref;

/// What a [`Spill`] holds: ranges, and maybe values that mean something
/// only while there are ranges.
pub(super) trait Held: Default + 'static {
    /// What an absent box reads as.
    #[cfg(feature = "alloc")]
    const EMPTY: &'static Self;
    fn ranges(&self) -> &Assembler;
    fn ranges_mut(&mut self) -> &mut Assembler;
}

impl Held for Assembler {
    #[cfg(feature = "alloc")]
    const EMPTY: &'static Self = &Assembler::new();
    fn ranges(&self) -> &Assembler {
        self
    }
    fn ranges_mut(&mut self) -> &mut Assembler {
        self
    }
}

/// Reassembly ranges and the start of the most recent out-of-order
/// segment (RFC 2018 §4: its block goes first), which means something only
/// while there are ranges.
#[derive(Clone, Debug, Default)]
pub(super) struct Marked {
    ranges: Assembler,
    mark: u32,
}

impl Held for Marked {
    #[cfg(feature = "alloc")]
    const EMPTY: &'static Self = &Marked {
        ranges: Assembler::new(),
        mark: 0,
    };
    fn ranges(&self) -> &Assembler {
        &self.ranges
    }
    fn ranges_mut(&mut self) -> &mut Assembler {
        &mut self.ranges
    }
}

#[cfg(feature = "alloc")]
type Slot<T> = Option<alloc::boxed::Box<T>>;
#[cfg(not(feature = "alloc"))]
type Slot<T> = T;

/// An [`Assembler`] (with what goes with it) that takes no room while
/// empty (with `alloc`).
#[derive(Clone, Debug, Default)]
pub(super) struct Spill<T: Held = Assembler>(Slot<T>);

impl<T: Held> Deref for Spill<T> {
    type Target = Assembler;
    fn deref(&self) -> &Assembler {
        self.held().ranges()
    }
}

impl<T: Held> Spill<T> {
    fn held(&self) -> &T {
        #[cfg(feature = "alloc")]
        return self.0.as_deref().unwrap_or(T::EMPTY);
        #[cfg(not(feature = "alloc"))]
        return &self.0;
    }

    /// The ranges, for a change (allocating them with `alloc`).
    fn get_mut(&mut self) -> &mut Assembler {
        #[cfg(feature = "alloc")]
        return self.0.get_or_insert_with(Default::default).ranges_mut();
        #[cfg(not(feature = "alloc"))]
        return self.0.ranges_mut();
    }

    /// Frees the box once no range is left.
    fn release_if_empty(&mut self) {
        #[cfg(feature = "alloc")]
        if self.0.as_ref().is_some_and(|h| h.ranges().is_empty()) {
            self.0 = None;
        }
    }

    /// [`Assembler::is_empty`]; with `alloc` the box exists only while
    /// there are ranges, so this is a pointer test.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        #[cfg(feature = "alloc")]
        return self.0.is_none();
        #[cfg(not(feature = "alloc"))]
        return self.0.ranges().is_empty();
    }

    /// Heap bytes held now (0 without `alloc` or while empty).
    #[cfg(feature = "alloc")]
    pub(super) fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |_| core::mem::size_of::<T>())
    }

    /// [`Assembler::clear`], freeing the box.
    pub(super) fn clear(&mut self) {
        self.0 = Slot::default();
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

impl Spill<Marked> {
    /// The value kept with the ranges (0 while there are none, with `alloc`).
    pub(super) fn mark(&self) -> u32 {
        self.held().mark
    }

    /// Sets the value kept with the ranges; with `alloc` it is dropped
    /// while there are none (it means nothing then).
    pub(super) fn set_mark(&mut self, v: u32) {
        #[cfg(feature = "alloc")]
        if let Some(h) = self.0.as_mut() {
            h.mark = v;
        }
        #[cfg(not(feature = "alloc"))]
        {
            self.0.mark = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_only_while_holding_ranges() {
        let mut s = Spill::<Marked>::default();
        assert!(s.is_empty());
        s.advance(10);
        assert_eq!(s.take_front(), 0);
        s.add_capped(100, 50, 8).unwrap();
        assert_eq!(s.ranges().next(), Some((100, 150)));
        s.set_mark(7);
        assert_eq!(s.mark(), 7);
        #[cfg(feature = "alloc")]
        assert_eq!(s.heap_bytes(), core::mem::size_of::<Marked>());
        s.advance(100);
        assert_eq!(s.take_front(), 50);
        assert!(s.is_empty());
        #[cfg(feature = "alloc")]
        {
            assert_eq!(s.mark(), 0);
            s.set_mark(9);
            assert_eq!((s.mark(), s.heap_bytes()), (0, 0));
            assert_eq!(core::mem::size_of::<Spill>(), 8);
            assert_eq!(core::mem::size_of::<Spill<Marked>>(), 8);
        }
        s.add_capped(0, 10, 8).unwrap();
        s.clear();
        assert!(s.is_empty());
    }
}
