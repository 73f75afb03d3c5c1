//! Byte storage for a connection: a [`RingBuffer`] over caller-provided
//! storage (send and receive buffers) and an [`Assembler`] that tracks
//! out-of-order byte ranges for reassembly.
//!
//! Nothing here allocates and no method panics, whatever its arguments:
//! offsets and lengths that run past the data or the free space are clamped.

use core::fmt;

/// A byte ring over caller-provided storage.
///
/// The storage may be anything that derefs to a byte slice: `[u8; N]`,
/// `&mut [u8]`, `Vec<u8>`, `Box<[u8]>`. Its length is the capacity, up to
/// 2^31 - 1 bytes (2 GiB); the storage's `AsRef`/`AsMut` must keep
/// returning slices of that same length (every standard type does).
///
/// Of a longer storage only the first 2^31 - 1 bytes are used: the ring
/// keeps its two positions in 32 bits (8 bytes per ring on 64-bit targets
/// instead of 16), and a limit below 2^31 lets the hot paths test it with
/// one compare. No TCP window could use more: with the largest scale shift
/// a window covers less than 2^30 bytes (RFC 7323 §2.3).
///
/// Layout: `len` stored bytes start at the *front*; the `free()` bytes after
/// them (wrapping) are the *unallocated* space. The send buffer keeps unacked
/// and unsent data here and retransmits with [`read_at`](Self::read_at). The
/// receive buffer keeps in-order readable data at the front, writes
/// out-of-order data into the unallocated space with
/// [`write_unallocated`](Self::write_unallocated) and makes it readable with
/// [`commit_unallocated`](Self::commit_unallocated) once the gap fills.
///
/// The front position never moves except by consuming data (and by
/// [`clear`](Self::clear) / [`rewind_if_empty`](Self::rewind_if_empty)), so
/// data written beyond the end stays at the same offset even while the buffer
/// is empty.
#[derive(Clone)]
pub struct RingBuffer<B>
where
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    storage: B,
    /// Index of the front byte; always `< capacity` (or 0 if capacity is 0).
    read: u32,
    /// Stored bytes; always `<= capacity`.
    len: u32,
}

/// The largest capacity of a [`RingBuffer`]: 2^31 - 1 bytes (on targets
/// whose `usize` is 32 bits or narrower, the whole address space), so that
/// its positions fit in 32 bits.
pub(crate) const MAX_CAPACITY: usize = if usize::BITS > u32::BITS {
    i32::MAX as usize
} else {
    usize::MAX
};

impl<B> RingBuffer<B>
where
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    /// An empty ring using all of `storage` as capacity.
    #[inline]
    pub fn new(storage: B) -> Self {
        RingBuffer {
            storage,
            read: 0,
            len: 0,
        }
    }

    /// Gives the storage back (its contents are not rearranged).
    #[inline]
    pub fn into_inner(self) -> B {
        self.storage
    }

    /// Total bytes the ring can hold.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf().len()
    }

    /// The storage the ring uses: its first `capacity()` bytes.
    #[inline]
    fn buf(&self) -> &[u8] {
        let s = self.storage.as_ref();
        // A branch rather than `min`: one compare on the hot paths.
        if s.len() > MAX_CAPACITY {
            return Self::cap(s);
        }
        s
    }

    /// [`buf`](Self::buf), mutable.
    #[inline]
    fn buf_mut(&mut self) -> &mut [u8] {
        let s = self.storage.as_mut();
        if s.len() > MAX_CAPACITY {
            return Self::cap_mut(s);
        }
        s
    }

    /// The first [`MAX_CAPACITY`] bytes of an oversized storage.
    #[cold]
    fn cap(s: &[u8]) -> &[u8] {
        s.get(..MAX_CAPACITY).unwrap_or(s)
    }

    /// [`cap`](Self::cap), mutable.
    #[cold]
    fn cap_mut(s: &mut [u8]) -> &mut [u8] {
        let n = s.len().min(MAX_CAPACITY);
        &mut s[..n]
    }

    /// The front index, as a `usize`.
    #[inline]
    fn front(&self) -> usize {
        self.read as usize
    }

    /// A position or length within the capacity, kept in 32 bits: exact,
    /// as the capacity is at most [`MAX_CAPACITY`].
    #[inline]
    fn pos(i: usize) -> u32 {
        debug_assert!(i <= MAX_CAPACITY);
        i as u32
    }

    /// Bytes stored (readable from the front).
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// No bytes stored.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// No free space left.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity()
    }

    /// Free space: `capacity() - len()`.
    #[inline]
    pub fn free(&self) -> usize {
        // `len <= capacity` always holds: no underflow.
        self.capacity() - self.len()
    }

    /// [`free`](Self::free) as a `u32`, which holds it exactly (the
    /// capacity is at most [`MAX_CAPACITY`]). Computed in 32 bits: cheaper
    /// on the send path than `free()` and a conversion.
    #[inline]
    pub(crate) fn free_u32(&self) -> u32 {
        // The storage's length as a u32, saturated: `len` fits below it.
        // (Not `capacity_u32() - len`: going through `buf()` costs two
        // instructions per sent segment, W4-tx 977 -> 979.)
        let n = self.storage.as_ref().len();
        let cap = if n > MAX_CAPACITY {
            MAX_CAPACITY as u32
        } else {
            n as u32
        };
        cap - self.len
    }

    /// [`capacity`](Self::capacity) as a `u32`, which holds it exactly.
    #[inline]
    pub(crate) fn capacity_u32(&self) -> u32 {
        Self::pos(self.capacity())
    }

    /// Drops all data and moves the front to the start of the storage.
    ///
    /// Anything written with [`write_unallocated`](Self::write_unallocated)
    /// is lost too.
    #[inline]
    pub fn clear(&mut self) {
        self.read = 0;
        self.len = 0;
    }

    /// If the ring is empty, moves the front to the start of the storage so
    /// later writes are contiguous; returns whether it did.
    ///
    /// This changes where the unallocated space begins, so it invalidates
    /// data written with [`write_unallocated`](Self::write_unallocated) but
    /// not yet committed: call it only when there is none (e.g. on the send
    /// buffer, or on the receive buffer when the assembler is empty).
    #[inline]
    pub fn rewind_if_empty(&mut self) -> bool {
        if self.len == 0 {
            self.read = 0;
            true
        } else {
            false
        }
    }

    /// `start + off` reduced modulo `cap`, for `start < cap` and `off <= cap`.
    #[inline]
    fn wrap(start: usize, off: usize, cap: usize) -> usize {
        // start < cap and off <= cap, and cap <= isize::MAX, so no overflow.
        let i = start + off;
        if i >= cap { i - cap } else { i }
    }

    /// Copies `data` into `buf` at `start`, wrapping at most once.
    /// Requires `start < buf.len()` (or `data` empty) and `data.len() <= buf.len()`.
    #[inline]
    fn copy_in(buf: &mut [u8], start: usize, data: &[u8]) {
        let first = data.len().min(buf.len().saturating_sub(start));
        let (a, b) = data.split_at(first);
        buf[start..start + first].copy_from_slice(a);
        if !b.is_empty() {
            // Only when the copy wraps: no second (empty) memcpy call.
            buf[..b.len()].copy_from_slice(b);
        }
    }

    /// Copies `out.len()` bytes out of `buf` from `start`, wrapping at most
    /// once. Same requirements as `copy_in`.
    #[inline]
    fn copy_out(buf: &[u8], start: usize, out: &mut [u8]) {
        let (wrapped, head) = buf.split_at(start.min(buf.len()));
        let first = out.len().min(head.len());
        let (a, b) = out.split_at_mut(first);
        a.copy_from_slice(&head[..first]);
        if !b.is_empty() {
            // Only when the copy wraps: no second (empty) memcpy call.
            b.copy_from_slice(&wrapped[..b.len()]);
        }
    }

    /// Appends as much of `data` as fits; returns how many bytes.
    #[inline]
    pub fn enqueue_slice(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        let (read, len) = (self.front(), self.len());
        let buf = self.buf_mut();
        let start = Self::wrap(read, len, buf.len());
        Self::copy_in(buf, start, &data[..n]);
        self.len = Self::pos(len + n);
        n
    }

    /// Appends all of `data`, which the caller knows fits
    /// (`data.len() <= free()`): header prediction's write of in-order
    /// text, whose `predict` already compared the length with the free
    /// space, so `enqueue_slice`'s clamp would test it again. A `data`
    /// that does not fit panics on a slice bound (or overwrites stored
    /// bytes); debug builds assert.
    #[inline]
    pub(crate) fn enqueue_fitting(&mut self, data: &[u8]) {
        debug_assert!(
            data.len() <= self.free(),
            "enqueue_fitting of more than fits"
        );
        let (read, len) = (self.front(), self.len());
        let buf = self.buf_mut();
        let start = Self::wrap(read, len, buf.len());
        // The free space runs from `start` to the end, then on from 0.
        let (head, tail) = buf.split_at_mut(start);
        let first = data.len().min(tail.len());
        let (a, b) = data.split_at(first);
        tail[..first].copy_from_slice(a);
        if !b.is_empty() {
            // Only when the copy wraps: no second (empty) memcpy call.
            head[..b.len()].copy_from_slice(b);
        }
        self.len = Self::pos(len + data.len());
    }

    /// Moves bytes from the front into `out`; returns how many.
    #[inline]
    pub fn dequeue_slice(&mut self, out: &mut [u8]) -> usize {
        let n = self.read_at(0, out);
        self.consume(n)
    }

    /// Drops up to `n` bytes from the front; returns how many were dropped.
    ///
    /// The front moves forward even if the ring becomes empty (see
    /// [`rewind_if_empty`](Self::rewind_if_empty)).
    #[inline]
    pub fn consume(&mut self, n: usize) -> usize {
        let len = self.len();
        let n = n.min(len);
        if n == 0 {
            return 0;
        }
        self.read = Self::pos(Self::wrap(self.front(), n, self.capacity()));
        self.len = Self::pos(len - n);
        n
    }

    /// Copies stored bytes starting `offset` bytes after the front into
    /// `out`, without consuming them; returns how many (0 if
    /// `offset >= len()`).
    #[inline]
    pub fn read_at(&self, offset: usize, out: &mut [u8]) -> usize {
        let len = self.len();
        if offset >= len {
            return 0;
        }
        let n = out.len().min(len - offset);
        if n == 0 {
            return 0;
        }
        let buf = self.buf();
        let start = Self::wrap(self.front(), offset, buf.len());
        Self::copy_out(buf, start, &mut out[..n]);
        n
    }

    /// [`read_at`](Self::read_at) of exactly `out.len()` bytes, for a
    /// caller that knows they are stored (`offset + out.len() <= len()`):
    /// the send path's full segment (`Connection::send_fast`), without the
    /// tests that trim the copy.
    #[inline]
    pub(crate) fn read_exact_at(&self, offset: usize, out: &mut [u8]) {
        debug_assert!(offset + out.len() <= self.len());
        let buf = self.buf();
        let start = Self::wrap(self.front(), offset, buf.len());
        Self::copy_out(buf, start, out);
    }

    /// The longest contiguous run of stored bytes starting `offset` bytes
    /// after the front, at most `max` bytes. It may be shorter than the data
    /// available because the storage wraps; empty if `offset >= len()`.
    #[inline]
    pub fn peek_contiguous(&self, offset: usize, max: usize) -> &[u8] {
        let len = self.len();
        if offset >= len {
            return &[];
        }
        let buf = self.buf();
        let start = Self::wrap(self.front(), offset, buf.len());
        let n = max.min(len - offset).min(buf.len() - start);
        &buf[start..start + n]
    }

    /// The longest contiguous run of free space starting `offset` bytes after
    /// the end of the stored data, at most `max` bytes, for writing in place
    /// (then [`commit_unallocated`](Self::commit_unallocated)). Empty if
    /// `offset >= free()`.
    #[inline]
    pub fn unallocated_contiguous_mut(&mut self, offset: usize, max: usize) -> &mut [u8] {
        let free = self.free();
        if offset >= free {
            return &mut [];
        }
        let (read, len) = (self.front(), self.len());
        let buf = self.buf_mut();
        // len + offset < capacity, so the wrap precondition holds.
        let start = Self::wrap(read, len + offset, buf.len());
        let n = max.min(free - offset).min(buf.len() - start);
        &mut buf[start..start + n]
    }

    /// Writes `data` into the free space starting `offset` bytes after the
    /// end of the stored data, without changing `len()`. Writes only the
    /// prefix of `data` that fits before the free space ends; returns its
    /// length (0 if `offset >= free()`).
    #[inline]
    pub fn write_unallocated(&mut self, offset: usize, data: &[u8]) -> usize {
        let free = self.free();
        if offset >= free {
            return 0;
        }
        let n = data.len().min(free - offset);
        if n == 0 {
            return 0;
        }
        let (read, len) = (self.front(), self.len());
        let buf = self.buf_mut();
        // len + offset < capacity, so the wrap precondition holds.
        let start = Self::wrap(read, len + offset, buf.len());
        Self::copy_in(buf, start, &data[..n]);
        n
    }

    /// As [`write_unallocated`](Self::write_unallocated), but bytes at the
    /// offsets `held` covers (sorted, disjoint `[start, end)` ranges, such
    /// as an [`Assembler`]'s) are left as they are: what is already there
    /// stays, so that the first copy of every byte wins. Returns the length
    /// of the prefix of `data` that fits, as `write_unallocated` does.
    pub fn write_unallocated_except(
        &mut self,
        offset: usize,
        data: &[u8],
        held: impl Iterator<Item = (u32, u32)>,
    ) -> usize {
        let free = self.free();
        if offset >= free {
            return 0;
        }
        let n = data.len().min(free - offset);
        let end = offset + n;
        let mut at = offset;
        for (s, e) in held {
            let (s, e) = (s as usize, e as usize);
            if e <= at {
                continue;
            }
            if s >= end {
                break;
            }
            if s > at {
                self.write_unallocated(at, &data[at - offset..s - offset]);
            }
            at = e;
            if at >= end {
                return n;
            }
        }
        if at < end {
            self.write_unallocated(at, &data[at - offset..n]);
        }
        n
    }

    /// Writes all of `data` into the free space right after the stored data
    /// (as `write_unallocated(0, data)`) and returns the ones'-complement
    /// sum of `data` added to the partial sum `initial`
    /// ([`checksum::copy_and_sum`](crate::wire::checksum::copy_and_sum)):
    /// the receive path's copy and checksum in one pass. `len()` does not
    /// change; [`commit_unallocated`](Self::commit_unallocated) makes the
    /// bytes readable. Writes nothing and returns `None` if `data` does not
    /// fit in `free()`.
    pub fn write_unallocated_sum(&mut self, data: &[u8], initial: u32) -> Option<u32> {
        use crate::wire::checksum::{add_piece, copy_and_sum};
        if data.len() > self.free() {
            return None;
        }
        let (read, len) = (self.front(), self.len());
        let buf = self.buf_mut();
        // len < capacity (or data is empty), so the wrap precondition holds.
        let start = Self::wrap(read, len, buf.len());
        let first = data.len().min(buf.len().saturating_sub(start));
        let (a, b) = data.split_at(first);
        let sum = copy_and_sum(buf.get_mut(start..).unwrap_or_default(), a, initial);
        if b.is_empty() {
            return Some(sum);
        }
        // The ring wrapped: the rest goes to the start of the storage.
        let rest = copy_and_sum(buf, b, 0);
        Some(add_piece(sum, rest, a.len() % 2 == 1))
    }

    /// Copies bytes of the free space starting `offset` bytes after the end
    /// of the stored data into `out` (what
    /// [`write_unallocated`](Self::write_unallocated) put there); returns
    /// how many (0 if `offset >= free()`). For state fingerprints.
    #[cfg(feature = "testing")]
    pub(crate) fn read_unallocated(&self, offset: usize, out: &mut [u8]) -> usize {
        let free = self.free();
        if offset >= free {
            return 0;
        }
        let n = out.len().min(free - offset);
        if n == 0 {
            return 0;
        }
        let buf = self.buf();
        let start = Self::wrap(self.front(), self.len() + offset, buf.len());
        Self::copy_out(buf, start, &mut out[..n]);
        n
    }

    /// Makes up to `n` bytes after the end (written earlier with
    /// [`write_unallocated`](Self::write_unallocated)) part of the stored
    /// data; returns how many, clamped to `free()`.
    #[inline]
    pub fn commit_unallocated(&mut self, n: usize) -> usize {
        let n = n.min(self.free());
        self.len = Self::pos(self.len() + n);
        n
    }
}

impl<B> fmt::Debug for RingBuffer<B>
where
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer")
            .field("capacity", &self.capacity())
            .field("read", &self.read)
            .field("len", &self.len)
            .finish()
    }
}

/// [`Assembler::add`] would need more separate ranges than the assembler
/// holds; nothing was changed and the caller should drop the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many out-of-order ranges")]
pub struct TooManyRanges;

/// Tracks which out-of-order byte ranges have arrived, for reassembly.
///
/// Holds at most `N` (default 8) disjoint, non-adjacent ranges in a fixed
/// array. Offsets are `u32`s relative to the in-order point (RCV.NXT): the
/// next in-order byte is offset 0. Ranges are half-open `[start, end)`; an
/// end past `u32::MAX` is clamped to `u32::MAX`.
///
/// Typical use: in-order data of length `L` arrives, so `add(0, L)` then
/// [`take_front`](Self::take_front), which returns at least `L` (more if it
/// joined queued ranges) and rebases the rest; out-of-order data at offset
/// `k` is just `add(k, len)`.
///
/// Name the type as `Assembler` (for the default) or `Assembler<N>`;
/// `Assembler::new()` needs the type known from context
/// (`let a: Assembler = Assembler::new();`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Assembler<const N: usize = 8> {
    /// `(start, end)` pairs, sorted, disjoint and non-adjacent
    /// (`ranges[i].1 < ranges[i + 1].0`), each non-empty; only `..count` valid.
    ranges: [(u32, u32); N],
    count: usize,
}

impl<const N: usize> Assembler<N> {
    /// The most separate ranges this assembler holds.
    pub const MAX_RANGES: usize = N;

    /// An empty assembler.
    #[inline]
    pub const fn new() -> Self {
        Assembler {
            ranges: [(0, 0); N],
            count: 0,
        }
    }

    /// Forgets all ranges.
    #[inline]
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// No ranges held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of separate ranges held.
    #[inline]
    pub fn len(&self) -> usize {
        self.count
    }

    /// The end of the last range (one past its last byte); 0 if empty.
    #[inline]
    pub fn highest_end(&self) -> u32 {
        match self.count {
            0 => 0,
            c => self.ranges[c - 1].1,
        }
    }

    /// The ranges as `(start, end)` pairs (half-open), in increasing order.
    #[inline]
    pub fn ranges(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.ranges[..self.count].iter().copied()
    }

    /// Whether the byte at `offset` has been received.
    #[inline]
    pub fn contains(&self, offset: u32) -> bool {
        self.ranges().any(|(s, e)| s <= offset && offset < e)
    }

    /// Marks `[offset, offset + len)` as received (the end clamped to
    /// `u32::MAX`), merging with overlapping and adjacent ranges. An empty
    /// range is a no-op. If it would need a new separate range and all `N`
    /// are in use, returns [`TooManyRanges`] and changes nothing.
    pub fn add(&mut self, offset: u32, len: u32) -> Result<(), TooManyRanges> {
        let start = offset;
        let end = offset.saturating_add(len);
        if end <= start {
            return Ok(());
        }
        let live = &self.ranges[..self.count];
        // First range that touches or follows the new one.
        let i = live.partition_point(|&(_, e)| e < start);
        // First range wholly after the new one (not even adjacent).
        let j = i + live[i..].partition_point(|&(s, _)| s <= end);
        if i == j {
            // Separate range: insert at i.
            if self.count >= N {
                return Err(TooManyRanges);
            }
            self.ranges.copy_within(i..self.count, i + 1);
            self.ranges[i] = (start, end);
            self.count += 1;
        } else {
            // Merge ranges i..j with the new one into slot i.
            let s = start.min(self.ranges[i].0);
            let e = end.max(self.ranges[j - 1].1);
            self.ranges[i] = (s, e);
            self.ranges.copy_within(j..self.count, i + 1);
            self.count -= j - i - 1;
        }
        Ok(())
    }

    /// As [`Assembler::add`], but refuses a new separate range once `cap`
    /// ranges are held (`cap` above `N` means `N`): the bound a connection
    /// takes from its configuration.
    pub fn add_capped(&mut self, offset: u32, len: u32, cap: usize) -> Result<(), TooManyRanges> {
        if len == 0 {
            return Ok(());
        }
        let end = offset.saturating_add(len);
        let touches = self.ranges[..self.count]
            .iter()
            .any(|r| r.0 <= end && offset <= r.1);
        if !touches && self.count >= cap.min(N) {
            return Err(TooManyRanges);
        }
        self.add(offset, len)
    }

    /// Moves the origin forward by `n`: bytes below `n` are forgotten and
    /// the remaining ranges shift down by `n`.
    pub fn advance(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        let mut w = 0;
        for i in 0..self.count {
            let (s, e) = self.ranges[i];
            if e <= n {
                continue;
            }
            self.ranges[w] = (s.saturating_sub(n), e - n);
            w += 1;
        }
        self.count = w;
    }

    /// Total bytes covered by all ranges.
    pub fn covered(&self) -> u32 {
        self.ranges[..self.count]
            .iter()
            .fold(0u32, |acc, r| acc.saturating_add(r.1 - r.0))
    }

    /// The range that contains `offset`, if any.
    pub fn range_containing(&self, offset: u32) -> Option<(u32, u32)> {
        self.ranges[..self.count]
            .iter()
            .copied()
            .find(|r| r.0 <= offset && offset < r.1)
    }

    /// The first range that ends after `offset` (contains it or lies above it).
    pub fn next_range_after(&self, offset: u32) -> Option<(u32, u32)> {
        self.ranges[..self.count]
            .iter()
            .copied()
            .find(|r| r.1 > offset)
    }

    /// If a range starts at offset 0, removes it and returns its length,
    /// shifting the others down by it; otherwise returns 0.
    pub fn take_front(&mut self) -> u32 {
        if self.count == 0 || self.ranges[0].0 != 0 {
            return 0;
        }
        let n = self.ranges[0].1;
        self.ranges.copy_within(1..self.count, 0);
        self.count -= 1;
        for r in &mut self.ranges[..self.count] {
            // Later ranges start after n (non-adjacent), so no underflow.
            r.0 -= n;
            r.1 -= n;
        }
        n
    }
}

impl<const N: usize> Default for Assembler<N> {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for Assembler<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.ranges().map(|(s, e)| s..e))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;
    use std::vec;
    use std::vec::Vec;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
            .collect()
    }

    /// A ring of capacity `cap` whose front sits at index `pos`.
    fn ring_at(cap: usize, pos: usize) -> RingBuffer<Vec<u8>> {
        let mut r = RingBuffer::new(vec![0xEE; cap]);
        assert_eq!(r.enqueue_slice(&vec![0xAA; pos]), pos);
        assert_eq!(r.consume(pos), pos);
        assert!(r.is_empty());
        r
    }

    #[test]
    fn advance_trims_and_shifts() {
        let mut a: Assembler = Assembler::new();
        a.add(10, 10).unwrap();
        a.add(30, 5).unwrap();
        a.add(50, 10).unwrap();
        a.advance(15);
        assert_eq!(
            a.ranges().collect::<Vec<_>>(),
            vec![(0, 5), (15, 20), (35, 45)]
        );
        assert_eq!(a.covered(), 20);
        assert_eq!(a.range_containing(16), Some((15, 20)));
        assert_eq!(a.next_range_after(6), Some((15, 20)));
        a.advance(40);
        assert_eq!(a.ranges().collect::<Vec<_>>(), vec![(0, 5)]);
        a.advance(100);
        assert!(a.is_empty());
    }

    /// `enqueue_fitting` stores what `enqueue_slice` stores, for every
    /// front position, fill and length that fits (wrapping or not).
    #[test]
    fn enqueue_fitting_is_enqueue_slice() {
        let cap = 8;
        for pos in 0..cap {
            for fill in 0..=cap {
                for n in 0..=cap - fill {
                    let mut a = ring_at(cap, pos);
                    assert_eq!(a.enqueue_slice(&pattern(fill, 1)), fill);
                    let mut b = a.clone();
                    let data = pattern(n, 9);
                    assert_eq!(a.enqueue_slice(&data), n);
                    b.enqueue_fitting(&data);
                    assert_eq!((a.len(), a.front()), (b.len(), b.front()));
                    assert_eq!(a.storage, b.storage);
                }
            }
        }
    }

    #[test]
    fn enqueue_dequeue_every_split() {
        let cap = 8;
        for pos in 0..cap {
            for n in 0..=cap {
                let mut r = ring_at(cap, pos);
                let data = pattern(n, pos as u8);
                assert_eq!(r.enqueue_slice(&data), n);
                assert_eq!(r.len(), n);
                assert_eq!(r.free(), cap - n);
                assert_eq!(r.is_full(), n == cap);
                // read_at from every offset
                for off in 0..=n + 1 {
                    let mut out = vec![0; cap + 2];
                    let got = r.read_at(off, &mut out);
                    assert_eq!(got, n.saturating_sub(off));
                    assert_eq!(&out[..got], &data[off.min(n)..]);
                    // peek_contiguous gives a prefix of the same bytes
                    let p = r.peek_contiguous(off, usize::MAX);
                    assert_eq!(p, &data[off.min(n)..off.min(n) + p.len()]);
                    assert!(!p.is_empty() || off >= n);
                    if off < n {
                        let contiguous = (cap - (pos + off) % cap).min(n - off);
                        assert_eq!(p.len(), contiguous);
                    }
                }
                // dequeue in two chunks split at every point
                for split in 0..=n {
                    let mut r2 = r.clone();
                    let mut out = vec![0; n];
                    assert_eq!(r2.dequeue_slice(&mut out[..split]), split);
                    assert_eq!(r2.dequeue_slice(&mut out[split..]), n - split);
                    assert_eq!(out, data);
                    assert!(r2.is_empty());
                }
                // enqueue beyond free space is clamped
                assert_eq!(r.enqueue_slice(&[1; 20]), cap - n);
                assert!(r.is_full());
            }
        }
    }

    #[test]
    fn write_unallocated_every_split_then_commit() {
        let cap = 8;
        for pos in 0..cap {
            for stored in 0..=cap {
                for off in 0..=cap {
                    for n in 0..=cap {
                        let mut r = ring_at(cap, pos);
                        let head = pattern(stored, 100);
                        r.enqueue_slice(&head);
                        let fill = pattern(off, 50);
                        let data = pattern(n, 200);
                        let w = r.write_unallocated(off, &data);
                        let free = cap - stored;
                        let expect = if off >= free { 0 } else { n.min(free - off) };
                        assert_eq!(w, expect, "pos {pos} stored {stored} off {off} n {n}");
                        assert_eq!(r.len(), stored);
                        // fill the gap afterwards (out of order arrival)
                        let g = r.write_unallocated(0, &fill);
                        assert_eq!(g, off.min(free));
                        let c = r.commit_unallocated(off + w);
                        assert_eq!(c, (off + w).min(free));
                        let mut want = head.clone();
                        want.extend_from_slice(&fill[..g]);
                        want.extend_from_slice(&data[..w]);
                        want.truncate(stored + c);
                        let mut out = vec![0; cap];
                        let got = r.dequeue_slice(&mut out);
                        assert_eq!(&out[..got], &want[..]);
                    }
                }
            }
        }
    }

    #[test]
    fn write_unallocated_sum_every_split() {
        use crate::wire::checksum::{fold, ones_complement_sum};
        let cap = 9;
        for pos in 0..cap {
            for stored in 0..=cap {
                for n in 0..=cap + 1 {
                    let mut r = ring_at(cap, pos);
                    let head = pattern(stored, 100);
                    r.enqueue_slice(&head);
                    let data: Vec<u8> = pattern(n, 200).iter().map(|b| b ^ 0xa5).collect();
                    let got = r.write_unallocated_sum(&data, 0x1234);
                    assert_eq!(r.len(), stored, "pos {pos} stored {stored} n {n}");
                    if n > cap - stored {
                        assert_eq!(got, None);
                        continue;
                    }
                    let sum = got.expect("fits");
                    assert_eq!(fold(sum), fold(ones_complement_sum(&data, 0x1234)));
                    assert_eq!(r.commit_unallocated(n), n);
                    let mut want = head.clone();
                    want.extend_from_slice(&data);
                    let mut out = vec![0; cap];
                    let k = r.dequeue_slice(&mut out);
                    assert_eq!(&out[..k], &want[..]);
                }
            }
        }
    }

    #[test]
    fn unallocated_survives_empty_buffer() {
        // Out-of-order data written while empty must stay put across
        // consume/dequeue that empty the buffer.
        let mut r = RingBuffer::new([0u8; 8]);
        r.enqueue_slice(b"abc");
        assert_eq!(r.write_unallocated(2, b"XY"), 2);
        let mut out = [0; 3];
        assert_eq!(r.dequeue_slice(&mut out), 3);
        assert!(r.is_empty());
        assert_eq!(r.write_unallocated(0, b"de"), 2);
        assert_eq!(r.commit_unallocated(4), 4);
        let mut out = [0; 8];
        assert_eq!(r.dequeue_slice(&mut out), 4);
        assert_eq!(&out[..4], b"deXY");
    }

    #[test]
    fn unallocated_contiguous_mut_matches_write() {
        let mut r = ring_at(8, 6);
        r.enqueue_slice(b"ab"); // occupies 6,7; free space starts at 0
        let s = r.unallocated_contiguous_mut(1, 100);
        assert_eq!(s.len(), 5);
        s.copy_from_slice(b"12345");
        r.write_unallocated(0, b"0");
        assert_eq!(r.commit_unallocated(6), 6);
        let mut out = [0; 8];
        assert_eq!(r.dequeue_slice(&mut out), 8);
        assert_eq!(&out, b"ab012345");
        assert!(r.unallocated_contiguous_mut(0, 1).len() == 1);
        let mut full = RingBuffer::new([0u8; 2]);
        full.enqueue_slice(b"zz");
        assert!(full.unallocated_contiguous_mut(0, 5).is_empty());
    }

    #[test]
    fn consume_clamps_and_wraps() {
        let mut r = ring_at(5, 3);
        r.enqueue_slice(b"hello");
        assert_eq!(r.peek_contiguous(0, 10), b"he"); // cut by the wrap
        assert_eq!(r.peek_contiguous(1, 10), b"e");
        assert_eq!(r.peek_contiguous(2, 10), b"llo");
        assert_eq!(r.consume(2), 2);
        assert_eq!(r.peek_contiguous(0, 10), b"llo"); // front wrapped to index 0
        assert_eq!(r.peek_contiguous(1, 1), b"l");
        let mut out = [0; 3];
        assert_eq!(r.read_at(0, &mut out), 3);
        assert_eq!(&out, b"llo");
        assert_eq!(r.consume(usize::MAX), 3);
        assert_eq!(r.consume(1), 0);
        assert!(r.is_empty());
        assert!(r.rewind_if_empty());
        r.enqueue_slice(b"abcde");
        assert_eq!(r.peek_contiguous(0, 10), b"abcde");
        assert!(!r.rewind_if_empty());
        r.clear();
        assert!(r.is_empty());
        assert_eq!(r.free(), 5);
    }

    fn hammer<B: AsRef<[u8]> + AsMut<[u8]>>(r: &mut RingBuffer<B>) {
        let big = [7u8; 4];
        let mut out = [0u8; 4];
        for &x in &[0, 1, 2, usize::MAX / 2, usize::MAX - 1, usize::MAX] {
            r.enqueue_slice(&big);
            let _ = r.read_at(x, &mut out);
            let _ = r.peek_contiguous(x, x);
            let _ = r.peek_contiguous(0, x);
            let _ = r.write_unallocated(x, &big);
            let _ = r.unallocated_contiguous_mut(x, x).len();
            let _ = r.unallocated_contiguous_mut(0, x).len();
            let _ = r.commit_unallocated(x);
            let _ = r.consume(x);
            let _ = r.commit_unallocated(x);
            let _ = r.dequeue_slice(&mut out);
            let _ = r.dequeue_slice(&mut []);
            assert!(r.len() <= r.capacity());
            assert_eq!(r.free() + r.len(), r.capacity());
        }
    }

    #[test]
    fn capacity_zero_and_one_never_panic() {
        let mut r0 = RingBuffer::new([0u8; 0]);
        assert_eq!(r0.capacity(), 0);
        assert!(r0.is_empty() && r0.is_full());
        assert_eq!(r0.enqueue_slice(b"x"), 0);
        assert_eq!(r0.write_unallocated(0, b"x"), 0);
        assert_eq!(r0.commit_unallocated(1), 0);
        assert_eq!(r0.peek_contiguous(0, 1), b"");
        hammer(&mut r0);
        let mut empty: [u8; 0] = [];
        hammer(&mut RingBuffer::new(&mut empty[..]));

        let mut r1 = RingBuffer::new(vec![0u8; 1]);
        for i in 0..5u8 {
            assert_eq!(r1.enqueue_slice(&[i, 9]), 1);
            assert!(r1.is_full());
            assert_eq!(r1.peek_contiguous(0, 5), &[i]);
            let mut o = [0; 2];
            assert_eq!(r1.dequeue_slice(&mut o), 1);
            assert_eq!(o[0], i);
            assert_eq!(r1.write_unallocated(0, &[i, 1]), 1);
            assert_eq!(r1.write_unallocated(1, &[i]), 0);
            assert_eq!(r1.commit_unallocated(3), 1);
            assert_eq!(r1.consume(3), 1);
        }
        hammer(&mut r1);
        hammer(&mut RingBuffer::new(std::boxed::Box::from([0u8; 3])));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Enqueue(Vec<u8>),
        Dequeue(usize),
        Consume(usize),
        ReadAt(usize, usize),
        Peek(usize, usize),
        Write(usize, Vec<u8>),
        Commit(usize),
        Rewind,
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        let bytes = proptest::collection::vec(any::<u8>(), 0..24);
        prop_oneof![
            bytes.clone().prop_map(Op::Enqueue),
            (0..24usize).prop_map(Op::Dequeue),
            (0..24usize).prop_map(Op::Consume),
            (0..24usize, 0..24usize).prop_map(|(a, b)| Op::ReadAt(a, b)),
            (0..24usize, 0..24usize).prop_map(|(a, b)| Op::Peek(a, b)),
            (0..24usize, bytes).prop_map(|(a, b)| Op::Write(a, b)),
            (0..24usize).prop_map(Op::Commit),
            Just(Op::Rewind),
            Just(Op::Clear),
        ]
    }

    proptest! {
        /// `write_unallocated_except` writes exactly the bytes of `data`
        /// that fit and that no held range covers, at any ring position.
        #[test]
        fn write_except_keeps_held_bytes(
            cap in 1..40usize,
            pos in 0..40usize,
            offset in 0..45usize,
            len in 0..45usize,
            held in proptest::collection::vec((0..45u32, 1..8u32), 0..5),
        ) {
            let pos = pos % cap;
            let mut a: Assembler = Assembler::new();
            for (s, l) in held {
                let _ = a.add(s, l);
            }
            let mut r = ring_at(cap, pos);
            let mut before = vec![0u8; cap];
            prop_assert_eq!(r.read_unallocated(0, &mut before), cap);
            let data = pattern(len, 1);
            let n = r.write_unallocated_except(offset, &data, a.ranges());
            let fit = if offset >= cap { 0 } else { len.min(cap - offset) };
            prop_assert_eq!(n, fit);
            let mut after = vec![0u8; cap];
            prop_assert_eq!(r.read_unallocated(0, &mut after), cap);
            for (k, &b) in after.iter().enumerate() {
                let written = k >= offset && k < offset + n && !a.contains(k as u32);
                let want = if written { data[k - offset] } else { before[k] };
                prop_assert_eq!(b, want, "byte {}", k);
            }
        }

        #[test]
        fn ring_matches_vecdeque(cap in 0..20usize, ops in proptest::collection::vec(op(), 0..64)) {
            let mut r = RingBuffer::new(vec![0u8; cap]);
            let mut q: VecDeque<u8> = VecDeque::new();
            // Model of the free space: after[k] is the byte at front+len+k
            // (None where unknown, after clear/rewind).
            let mut after: Vec<Option<u8>> = vec![Some(0); cap];
            for op in ops {
                match op {
                    Op::Enqueue(d) => {
                        let n = r.enqueue_slice(&d);
                        prop_assert_eq!(n, d.len().min(cap - q.len()));
                        q.extend(&d[..n]);
                        after.drain(..n);
                    }
                    Op::Dequeue(m) => {
                        let mut out = vec![0; m];
                        let n = r.dequeue_slice(&mut out);
                        prop_assert_eq!(n, m.min(q.len()));
                        let want: Vec<u8> = q.drain(..n).collect();
                        prop_assert_eq!(&out[..n], &want[..]);
                        after.extend(want.into_iter().map(Some));
                    }
                    Op::Consume(m) => {
                        let n = r.consume(m);
                        prop_assert_eq!(n, m.min(q.len()));
                        after.extend(q.drain(..n).map(Some));
                    }
                    Op::ReadAt(off, m) => {
                        let mut out = vec![0; m];
                        let n = r.read_at(off, &mut out);
                        let want: Vec<u8> = q.iter().skip(off).take(m).copied().collect();
                        prop_assert_eq!(&out[..n], &want[..]);
                    }
                    Op::Peek(off, m) => {
                        let p = r.peek_contiguous(off, m);
                        let want: Vec<u8> = q.iter().skip(off).take(p.len()).copied().collect();
                        prop_assert_eq!(p, &want[..]);
                        prop_assert!(p.len() <= m);
                        prop_assert!(!p.is_empty() || m == 0 || off >= q.len());
                    }
                    Op::Write(off, d) => {
                        let n = r.write_unallocated(off, &d);
                        let free = cap - q.len();
                        let want = if off >= free { 0 } else { d.len().min(free - off) };
                        prop_assert_eq!(n, want);
                        for (i, &b) in d[..n].iter().enumerate() {
                            after[off + i] = Some(b);
                        }
                    }
                    Op::Commit(m) => {
                        let n = r.commit_unallocated(m);
                        prop_assert_eq!(n, m.min(cap - q.len()));
                        // Check the known bytes; adopt the unknown ones.
                        let mut real = vec![0; n];
                        prop_assert_eq!(r.read_at(q.len(), &mut real), n);
                        for (b, real) in after.drain(..n).zip(real) {
                            if let Some(b) = b {
                                prop_assert_eq!(b, real);
                            }
                            q.push_back(real);
                        }
                    }
                    Op::Rewind => {
                        let did = r.rewind_if_empty();
                        prop_assert_eq!(did, q.is_empty());
                        if did {
                            after = vec![None; cap];
                        }
                    }
                    Op::Clear => {
                        r.clear();
                        q.clear();
                        after = vec![None; cap];
                    }
                }
                prop_assert_eq!(r.len(), q.len());
                prop_assert_eq!(r.free(), cap - q.len());
                prop_assert_eq!(after.len(), r.free());
                let mut all = vec![0; cap];
                let n = r.read_at(0, &mut all);
                prop_assert_eq!(&all[..n], &q.iter().copied().collect::<Vec<_>>()[..]);
            }
        }
    }

    fn rs<const N: usize>(a: &Assembler<N>) -> Vec<(u32, u32)> {
        a.ranges().collect()
    }

    #[test]
    fn assembler_merging() {
        let mut a: Assembler = Assembler::new();
        assert!(a.is_empty());
        assert_eq!(a.highest_end(), 0);
        assert_eq!(a.add(10, 0), Ok(()));
        assert!(a.is_empty());
        a.add(10, 5).unwrap();
        a.add(30, 5).unwrap();
        assert_eq!(rs(&a), [(10, 15), (30, 35)]);
        // overlap on the left
        a.add(8, 4).unwrap();
        assert_eq!(rs(&a), [(8, 15), (30, 35)]);
        // adjacency on the right
        a.add(15, 2).unwrap();
        assert_eq!(rs(&a), [(8, 17), (30, 35)]);
        // adjacency on the left
        a.add(28, 2).unwrap();
        assert_eq!(rs(&a), [(8, 17), (28, 35)]);
        // containment (new inside old)
        a.add(9, 3).unwrap();
        assert_eq!(rs(&a), [(8, 17), (28, 35)]);
        // separate range in the middle
        a.add(20, 2).unwrap();
        assert_eq!(rs(&a), [(8, 17), (20, 22), (28, 35)]);
        // bridging: covers one and touches two others
        a.add(17, 11).unwrap();
        assert_eq!(rs(&a), [(8, 35)]);
        // containment (old inside new)
        a.add(40, 1).unwrap();
        a.add(50, 1).unwrap();
        a.add(5, 100).unwrap();
        assert_eq!(rs(&a), [(5, 105)]);
        assert_eq!(a.len(), 1);
        assert_eq!(a.highest_end(), 105);
        assert!(a.contains(5) && a.contains(104) && !a.contains(105) && !a.contains(4));
        a.clear();
        assert!(a.is_empty());
    }

    #[test]
    fn assembler_too_many_ranges_leaves_state() {
        let mut a: Assembler = Assembler::new();
        assert_eq!(Assembler::<8>::MAX_RANGES, 8);
        for i in 0..8 {
            a.add(10 * i + 5, 2).unwrap();
        }
        assert_eq!(a.len(), 8);
        let before = a;
        assert_eq!(a.add(0, 1), Err(TooManyRanges));
        assert_eq!(a.add(100, 1), Err(TooManyRanges));
        assert_eq!(a.add(9, 1), Err(TooManyRanges));
        assert_eq!(a, before);
        // merging still works when full
        a.add(7, 1).unwrap();
        assert_eq!(a.len(), 8);
        a.add(7, 8).unwrap();
        assert_eq!(a.len(), 7);
        a.add(0, 1).unwrap();
        assert_eq!(a.len(), 8);

        let mut z: Assembler<0> = Assembler::new();
        assert_eq!(z.add(0, 1), Err(TooManyRanges));
        assert_eq!(z.add(0, 0), Ok(()));
        assert_eq!(z.take_front(), 0);
        assert_eq!(z.highest_end(), 0);
        assert_eq!(
            std::format!("{TooManyRanges}"),
            "too many out-of-order ranges"
        );
    }

    #[test]
    fn assembler_take_front_shifts() {
        let mut a: Assembler = Assembler::new();
        a.add(10, 5).unwrap();
        a.add(20, 5).unwrap();
        assert_eq!(a.take_front(), 0);
        // in-order data of 4 bytes: not joining
        a.add(0, 4).unwrap();
        assert_eq!(a.take_front(), 4);
        assert_eq!(rs(&a), [(6, 11), (16, 21)]);
        // in-order data that fills the gap joins the first range
        a.add(0, 6).unwrap();
        assert_eq!(a.take_front(), 11);
        assert_eq!(rs(&a), [(5, 10)]);
        assert_eq!(a.take_front(), 0);
        a.add(0, 5).unwrap();
        assert_eq!(a.take_front(), 10);
        assert!(a.is_empty());
        assert_eq!(a.take_front(), 0);
        assert_eq!(std::format!("{a:?}"), "[]");
    }

    #[test]
    fn assembler_huge_values_clamp() {
        let mut a: Assembler = Assembler::new();
        a.add(u32::MAX - 5, 100).unwrap();
        assert_eq!(rs(&a), [(u32::MAX - 5, u32::MAX)]);
        a.add(u32::MAX, u32::MAX).unwrap(); // empty after clamping
        assert_eq!(a.len(), 1);
        a.add(0, u32::MAX).unwrap();
        assert_eq!(rs(&a), [(0, u32::MAX)]);
        assert_eq!(a.take_front(), u32::MAX);
        assert!(a.is_empty());
    }

    const BITS: usize = 4096;

    fn runs(bits: &[bool]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bits.len() {
            if bits[i] {
                let s = i;
                while i < bits.len() && bits[i] {
                    i += 1;
                }
                out.push((s as u32, i as u32));
            } else {
                i += 1;
            }
        }
        out
    }

    #[derive(Debug, Clone)]
    enum AOp {
        Add(u32, u32),
        Take,
    }

    fn aop() -> impl Strategy<Value = AOp> {
        prop_oneof![
            4 => (0..4000u32, 0..96u32).prop_map(|(o, l)| AOp::Add(o, l)),
            // in-order arrivals, so take_front has something to do
            1 => (0..96u32).prop_map(|l| AOp::Add(0, l)),
            1 => Just(AOp::Take),
        ]
    }

    fn check_assembler<const N: usize>(ops: &[AOp]) -> Result<(), TestCaseError> {
        let mut a: Assembler<N> = Assembler::new();
        let mut bits = vec![false; BITS];
        for op in ops {
            match *op {
                AOp::Add(o, l) => {
                    let before = a;
                    match a.add(o, l) {
                        Ok(()) => {
                            for b in &mut bits[o as usize..(o + l) as usize] {
                                *b = true;
                            }
                        }
                        Err(TooManyRanges) => {
                            prop_assert_eq!(a, before);
                            prop_assert_eq!(a.len(), N);
                            // It really would have needed a new range.
                            let mut with = bits.clone();
                            for b in &mut with[o as usize..(o + l) as usize] {
                                *b = true;
                            }
                            prop_assert!(runs(&with).len() > N);
                        }
                    }
                }
                AOp::Take => {
                    let lead = bits.iter().take_while(|&&b| b).count();
                    prop_assert_eq!(a.take_front() as usize, lead);
                    bits.drain(..lead);
                    bits.resize(BITS, false);
                }
            }
            let want = runs(&bits);
            prop_assert_eq!(rs(&a), want.clone());
            prop_assert_eq!(a.len(), want.len());
            prop_assert_eq!(a.highest_end(), want.last().map_or(0, |r| r.1));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn assembler_matches_bitmap(ops in proptest::collection::vec(aop(), 0..100)) {
            check_assembler::<8>(&ops)?;
        }

        #[test]
        fn assembler_small_matches_bitmap(ops in proptest::collection::vec(aop(), 0..100)) {
            check_assembler::<3>(&ops)?;
        }
    }
}
