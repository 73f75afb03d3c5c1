//! Where an [`Endpoint`](super::Endpoint) keeps its tables: [`Store`].
//!
//! Every table of the Endpoint is one of four shapes: a vector of slots
//! (connections, TIME-WAIT entries, listeners, free lists, the timer
//! wheel's node pool), a FIFO (events, the transmit queue, control
//! segments, orphans, a listener's accept queue), a table from a keyed hash to
//! a `u32` index (the demux table and the listener table), and the bytes of
//! a connection's buffers. A [`Store`] names one implementation of each:
//!
//! - [`Heap`] (with `alloc`): `Vec`, `VecDeque`, a `hashbrown` table and
//!   boxed buffers of `rx_buffer`/`tx_buffer` bytes. Everything grows;
//!   the limits are the [`EndpointConfig`](super::EndpointConfig) ones.
//! - [`Fixed<N, M, B>`] (always): `heapless` vectors and deques of `N`
//!   elements, a timer pool of `M` nodes, an open-addressing table of `M`
//!   slots, and `[u8; B]` buffers held inline in the connection. Nothing is
//!   allocated; the whole Endpoint is one value of a size known at compile
//!   time (put it in a `static` or a `Box`, as the host likes). When a
//!   table is full, the call fails with a typed error
//!   ([`EndpointError::TooManyConnections`](super::EndpointError),
//!   `NoCapacity`) or the segment is dropped and counted, as Linux does when
//!   memory runs out; it never panics.

use core::ops::{Deref, DerefMut};

use crate::connection::Buffers;

/// A vector of bounded or unbounded capacity.
pub trait Seq<T>: Default + Deref<Target = [T]> + DerefMut {
    /// Appends, or gives the value back when full.
    fn try_push(&mut self, t: T) -> Result<(), T>;
    /// Removes the last element.
    fn pop(&mut self) -> Option<T>;
    /// Keeps the elements for which `f` is true, in order.
    fn keep(&mut self, f: impl FnMut(&T) -> bool);
    /// The most elements it can hold (`usize::MAX`: it grows).
    fn cap(&self) -> usize;
}

/// A FIFO of bounded or unbounded capacity.
pub trait Fifo<T: 'static>: Default {
    /// Appends, or gives the value back when full.
    fn push(&mut self, t: T) -> Result<(), T>;
    /// Removes the oldest element.
    fn pop(&mut self) -> Option<T>;
    /// The oldest element.
    fn first(&self) -> Option<&T>;
    /// Elements held.
    fn count(&self) -> usize;
    /// Oldest first.
    fn each(&self) -> impl Iterator<Item = &T> + '_;
    /// Keeps the elements for which `f` is true, in order.
    fn keep(&mut self, f: impl FnMut(&T) -> bool);
    /// The most elements it can hold (`usize::MAX`: it grows).
    fn cap(&self) -> usize;
}

/// A set of `u32` values found by a 64-bit hash and an equality test
/// (the values are indices; the caller knows their keys).
pub trait Table: Default {
    /// The value with this hash for which `eq` holds.
    fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32>;
    /// Whether one more value fits.
    fn has_room(&self) -> bool;
    /// Adds a value whose key is not present. `rehash` gives the hash of a
    /// value already in the table.
    fn insert(&mut self, hash: u64, v: u32, rehash: impl Fn(u32) -> u64) -> Result<(), u32>;
    /// Replaces (`Some`) or removes (`None`) the value for which `eq` holds.
    fn update(
        &mut self,
        hash: u64,
        eq: impl FnMut(u32) -> bool,
        new: Option<u32>,
        rehash: impl Fn(u32) -> u64,
    );
}

/// The storage of an Endpoint (see the module docs).
pub trait Store: Sized + 'static {
    /// Vectors: connections, TIME-WAIT entries, listeners, queues.
    type Vec<T>: Seq<T>;
    /// FIFOs: events, transmit and control queues, accept queues, orphans.
    type Deque<T: 'static>: Fifo<T>;
    /// The timer wheel's node pool.
    type Pool<T>: Seq<T>;
    /// The demux and listener tables.
    type Table: Table;
    /// A connection's buffer.
    type Buf: AsRef<[u8]> + AsMut<[u8]>;
    /// Where a connection's entry lives (a `Box`, or inline).
    type Boxed<T>: Deref<Target = T> + DerefMut;
    /// Puts an entry in its place.
    fn boxed<T>(t: T) -> Self::Boxed<T>;
    /// Takes an entry out of its place.
    fn unbox<T>(b: Self::Boxed<T>) -> T;
    /// A connection's buffers of (at most) these sizes.
    fn buffers(rx: usize, tx: usize) -> Buffers<Self::Buf>;
    /// The fixed size of every buffer, if there is one.
    fn buffer_size() -> Option<usize>;
}

// ----- fixed capacity -------------------------------------------------------

/// Fixed capacity, no allocation: `N` connections (and as many TIME-WAIT
/// entries, listeners, and accept-queue places per listener), `M` timers
/// and demux-table slots (take `M` at least `4 * N`: the table holds
/// connections and TIME-WAIT entries at under half load), and buffers of
/// `B` bytes each way per connection.
#[derive(Debug)]
pub struct Fixed<const N: usize, const M: usize, const B: usize>;

/// An entry held in place (the fixed store's `Boxed`).
#[derive(Debug)]
pub struct Inline<T>(T);

impl<T> Deref for Inline<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
impl<T> DerefMut for Inline<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T, const N: usize> Seq<T> for heapless::Vec<T, N> {
    fn try_push(&mut self, t: T) -> Result<(), T> {
        self.push(t)
    }
    fn pop(&mut self) -> Option<T> {
        heapless::Vec::pop(self)
    }
    fn keep(&mut self, f: impl FnMut(&T) -> bool) {
        self.retain(f);
    }
    fn cap(&self) -> usize {
        N
    }
}

impl<T: 'static, const N: usize> Fifo<T> for heapless::Deque<T, N> {
    fn push(&mut self, t: T) -> Result<(), T> {
        self.push_back(t)
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn first(&self) -> Option<&T> {
        self.front()
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn each(&self) -> impl Iterator<Item = &T> + '_ {
        self.iter()
    }
    fn keep(&mut self, mut f: impl FnMut(&T) -> bool) {
        for _ in 0..self.len() {
            if let Some(t) = self.pop_front() {
                if f(&t) {
                    // Cannot fail: one was just taken out.
                    let _ = self.push_back(t);
                }
            }
        }
    }
    fn cap(&self) -> usize {
        N
    }
}

const EMPTY: u32 = u32::MAX;

/// An open-addressing table of `M` slots with linear probing and
/// backward-shift deletion (no tombstones), keyed by the caller's hash.
#[derive(Debug)]
pub struct OpenTable<const M: usize> {
    slots: [u32; M],
    len: usize,
}

impl<const M: usize> Default for OpenTable<M> {
    fn default() -> Self {
        OpenTable {
            slots: [EMPTY; M],
            len: 0,
        }
    }
}

impl<const M: usize> OpenTable<M> {
    fn home(hash: u64) -> usize {
        (hash % M as u64) as usize
    }
    fn position(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<usize> {
        if M == 0 {
            return None;
        }
        let mut i = Self::home(hash);
        for _ in 0..M {
            let v = self.slots[i];
            if v == EMPTY {
                return None;
            }
            if eq(v) {
                return Some(i);
            }
            i = (i + 1) % M;
        }
        None
    }
}

impl<const M: usize> Table for OpenTable<M> {
    fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.position(hash, eq).map(|i| self.slots[i])
    }
    fn has_room(&self) -> bool {
        // One slot stays empty so that every probe ends.
        self.len + 1 < M
    }
    fn insert(&mut self, hash: u64, v: u32, _rehash: impl Fn(u32) -> u64) -> Result<(), u32> {
        if !self.has_room() {
            return Err(v);
        }
        let mut i = Self::home(hash);
        while self.slots[i] != EMPTY {
            i = (i + 1) % M;
        }
        self.slots[i] = v;
        self.len += 1;
        Ok(())
    }
    fn update(
        &mut self,
        hash: u64,
        eq: impl FnMut(u32) -> bool,
        new: Option<u32>,
        rehash: impl Fn(u32) -> u64,
    ) {
        let Some(mut hole) = self.position(hash, eq) else {
            return;
        };
        if let Some(v) = new {
            self.slots[hole] = v;
            return;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        // Backward shift: move up every later value of the run whose home
        // is not between the hole and itself (cyclically).
        let mut j = hole;
        loop {
            j = (j + 1) % M;
            let v = self.slots[j];
            if v == EMPTY {
                return;
            }
            let home = Self::home(rehash(v));
            let between = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !between {
                self.slots[hole] = v;
                self.slots[j] = EMPTY;
                hole = j;
            }
        }
    }
}

impl<const N: usize, const M: usize, const B: usize> Store for Fixed<N, M, B> {
    type Vec<T> = heapless::Vec<T, N>;
    type Deque<T: 'static> = heapless::Deque<T, N>;
    type Pool<T> = heapless::Vec<T, M>;
    type Table = OpenTable<M>;
    type Buf = [u8; B];
    type Boxed<T> = Inline<T>;
    fn boxed<T>(t: T) -> Inline<T> {
        Inline(t)
    }
    fn unbox<T>(b: Inline<T>) -> T {
        b.0
    }
    fn buffers(_rx: usize, _tx: usize) -> Buffers<[u8; B]> {
        Buffers {
            rx: [0; B],
            tx: [0; B],
        }
    }
    fn buffer_size() -> Option<usize> {
        Some(B)
    }
}

// ----- growable -------------------------------------------------------------

#[cfg(feature = "alloc")]
pub use heap::{Heap, HeapTable};

#[cfg(feature = "alloc")]
mod heap {
    use super::{Fifo, Seq, Store, Table};
    use crate::connection::Buffers;
    use alloc::boxed::Box;
    use alloc::collections::VecDeque;
    use alloc::vec::Vec;
    use hashbrown::HashTable;

    /// Growable storage on the heap (needs `alloc`).
    #[derive(Debug)]
    pub struct Heap;

    /// The growable table: a `hashbrown` `HashTable<u32>`.
    #[derive(Debug, Default)]
    pub struct HeapTable(HashTable<u32>);

    impl<T> Seq<T> for Vec<T> {
        fn try_push(&mut self, t: T) -> Result<(), T> {
            self.push(t);
            Ok(())
        }
        fn pop(&mut self) -> Option<T> {
            Vec::pop(self)
        }
        fn keep(&mut self, f: impl FnMut(&T) -> bool) {
            self.retain(f);
        }
        fn cap(&self) -> usize {
            usize::MAX
        }
    }

    impl<T: 'static> Fifo<T> for VecDeque<T> {
        fn push(&mut self, t: T) -> Result<(), T> {
            self.push_back(t);
            Ok(())
        }
        fn pop(&mut self) -> Option<T> {
            self.pop_front()
        }
        fn first(&self) -> Option<&T> {
            self.front()
        }
        fn count(&self) -> usize {
            self.len()
        }
        fn each(&self) -> impl Iterator<Item = &T> + '_ {
            self.iter()
        }
        fn keep(&mut self, f: impl FnMut(&T) -> bool) {
            self.retain(f);
        }
        fn cap(&self) -> usize {
            usize::MAX
        }
    }

    impl Table for HeapTable {
        fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
            self.0.find(hash, |&v| eq(v)).copied()
        }
        fn has_room(&self) -> bool {
            true
        }
        fn insert(&mut self, hash: u64, v: u32, rehash: impl Fn(u32) -> u64) -> Result<(), u32> {
            self.0.insert_unique(hash, v, |&v| rehash(v));
            Ok(())
        }
        fn update(
            &mut self,
            hash: u64,
            mut eq: impl FnMut(u32) -> bool,
            new: Option<u32>,
            _rehash: impl Fn(u32) -> u64,
        ) {
            if let Ok(mut e) = self.0.find_entry(hash, |&v| eq(v)) {
                match new {
                    Some(v) => *e.get_mut() = v,
                    None => {
                        e.remove();
                    }
                }
            }
        }
    }

    impl Store for Heap {
        type Vec<T> = Vec<T>;
        type Deque<T: 'static> = VecDeque<T>;
        type Pool<T> = Vec<T>;
        type Table = HeapTable;
        type Buf = Box<[u8]>;
        type Boxed<T> = Box<T>;
        fn boxed<T>(t: T) -> Box<T> {
            Box::new(t)
        }
        fn unbox<T>(b: Box<T>) -> T {
            *b
        }
        fn buffers(rx: usize, tx: usize) -> Buffers<Box<[u8]>> {
            Buffers {
                rx: alloc::vec![0u8; rx].into_boxed_slice(),
                tx: alloc::vec![0u8; tx].into_boxed_slice(),
            }
        }
        fn buffer_size() -> Option<usize> {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small xorshift, as the wheel's tests use.
    fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        }
    }

    /// The hash of a value in `random_operations_match_a_plain_set`: large
    /// (so that a hash taken as an index would be out of bounds) and often
    /// the same home slot for different values (`v / 4`: four values share
    /// each hash; `* 7` spreads the groups over the slots).
    fn hash(v: u32) -> u64 {
        (u64::from(v / 4) * 7) | 0xdead_0000_0000_0000
    }

    /// Random inserts, replacements, removals and lookups of a table,
    /// checked against a plain set after every step: every value present
    /// is found, none absent is, and `has_room` is what the table's
    /// capacity says (`cap` values: the fixed table keeps one slot empty).
    fn random_operations_match_a_plain_set<T: Table>(cap: usize, seed: u64) {
        let mut rnd = rng(seed);
        let mut t = T::default();
        // The values present; a value's key is itself, hash(v) its hash.
        let mut model: std::vec::Vec<u32> = std::vec::Vec::new();
        for step in 0..4000 {
            let v = rnd(64) as u32;
            let present = model.contains(&v);
            match rnd(8) {
                0..=3 if !present => {
                    let room = model.len() < cap;
                    assert_eq!(t.has_room(), room, "step {step}: has_room");
                    let r = t.insert(hash(v), v, hash);
                    if room {
                        assert_eq!(r, Ok(()), "step {step}: insert {v}");
                        model.push(v);
                    } else {
                        // A full table gives the value back.
                        assert_eq!(r, Err(v), "step {step}: insert {v} into a full table");
                    }
                }
                4 | 5 => {
                    t.update(hash(v), |x| x == v, None, hash);
                    model.retain(|&x| x != v);
                }
                6 if present => {
                    // Replace v by v + 64, which has another hash: found
                    // by the old key's hash and equality, as the demux
                    // table updates a slot's index in place; then put back.
                    t.update(hash(v), |x| x == v, Some(v + 64), hash);
                    assert_eq!(t.find(hash(v), |x| x == v + 64), Some(v + 64));
                    assert_eq!(t.find(hash(v), |x| x == v), None);
                    t.update(hash(v), |x| x == v + 64, Some(v), hash);
                }
                _ => {}
            }
            for k in 0..64u32 {
                let want = model.contains(&k).then_some(k);
                assert_eq!(t.find(hash(k), |x| x == k), want, "step {step}: find {k}");
            }
            assert_eq!(t.has_room(), model.len() < cap, "step {step}: has_room");
        }
    }

    #[test]
    fn open_tables_match_a_plain_set() {
        // Fewer slots than values (full tables), and more.
        random_operations_match_a_plain_set::<OpenTable<8>>(8 - 1, 1);
        random_operations_match_a_plain_set::<OpenTable<13>>(13 - 1, 2);
        random_operations_match_a_plain_set::<OpenTable<61>>(61 - 1, 3);
        random_operations_match_a_plain_set::<OpenTable<128>>(128 - 1, 4);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn heap_table_matches_a_plain_set() {
        random_operations_match_a_plain_set::<HeapTable>(usize::MAX, 5);
    }

    /// The demux lookup is one probe when no two keys share a home slot
    /// (`hash % M`): it tests one value, not the table's run from slot 0.
    #[test]
    fn a_lookup_without_collisions_tests_one_value() {
        let mut t = OpenTable::<16>::default();
        let h = |v: u32| u64::from(v) + (1 << 40);
        for v in [3u32, 9, 14] {
            t.insert(h(v), v, h).unwrap();
        }
        for v in [3u32, 9, 14] {
            let mut probes = 0;
            let found = t.find(h(v), |x| {
                probes += 1;
                x == v
            });
            assert_eq!((found, probes), (Some(v), 1), "value {v}");
        }
        // And one slot is where the hash says: 1 << 40 is 0 modulo 16.
        assert_eq!(t.slots[3], 3);
        assert_eq!(t.slots[9], 9);
        assert_eq!(t.slots[14], 14);
    }

    /// An open table of `M` slots holds `M - 1` values (`len + 1 < M`:
    /// one slot stays empty so that every probe ends), and a removal
    /// gives the room back.
    #[test]
    fn an_open_table_holds_m_minus_one_and_a_removal_frees_room() {
        let h = |v: u32| u64::from(v);
        let mut t = OpenTable::<6>::default();
        for v in 0..5u32 {
            assert!(t.has_room());
            t.insert(h(v), v, h).unwrap();
        }
        assert!(!t.has_room());
        assert_eq!(t.insert(h(5), 5, h), Err(5));
        for round in 0..10u32 {
            t.update(h(round % 5), |x| x == round % 5, None, h);
            assert!(t.has_room(), "round {round}");
            t.insert(h(round % 5), round % 5, h).unwrap();
            assert!(!t.has_room(), "round {round}");
        }
        let zero = OpenTable::<0>::default();
        assert!(!zero.has_room());
        assert_eq!(zero.find(0, |_| true), None);
    }

    fn fifo_keeps_order_and_capacity<Q: Fifo<u32>>(cap: usize) {
        let mut q = Q::default();
        assert_eq!(q.cap(), cap);
        assert_eq!((q.count(), q.first()), (0, None));
        assert_eq!(Fifo::pop(&mut q), None);
        let n = cap.min(6) as u32;
        for v in 0..n {
            assert_eq!(Fifo::push(&mut q, 10 + v), Ok(()));
        }
        if cap == n as usize {
            // Full: the value comes back.
            assert_eq!(Fifo::push(&mut q, 99), Err(99));
        }
        assert_eq!(q.count(), n as usize);
        assert_eq!(q.first(), Some(&10));
        let all: std::vec::Vec<u32> = q.each().copied().collect();
        assert_eq!(all, (0..n).map(|v| 10 + v).collect::<std::vec::Vec<_>>());
        // Keep the even ones, oldest first.
        q.keep(|&v| v % 2 == 0);
        let kept: std::vec::Vec<u32> = q.each().copied().collect();
        assert_eq!(
            kept,
            (0..n)
                .map(|v| 10 + v)
                .filter(|v| v % 2 == 0)
                .collect::<std::vec::Vec<_>>()
        );
        assert_eq!(q.count(), kept.len());
        assert_eq!(Fifo::pop(&mut q), Some(10));
        assert_eq!(q.first(), Some(&12));
        assert_eq!(q.count(), kept.len() - 1);
    }

    fn seq_keeps_order_and_capacity<V: Seq<u32>>(cap: usize) {
        let mut s = V::default();
        assert_eq!(s.cap(), cap);
        assert_eq!(Seq::pop(&mut s), None);
        let n = cap.min(5) as u32;
        for v in 0..n {
            assert_eq!(s.try_push(20 + v), Ok(()));
        }
        if cap == n as usize {
            assert_eq!(s.try_push(99), Err(99));
        }
        assert_eq!(
            &s[..],
            &(0..n).map(|v| 20 + v).collect::<std::vec::Vec<_>>()[..]
        );
        s.keep(|&v| v != 21);
        assert_eq!(&s[..], &[20, 22, 23, 24][..]);
        assert_eq!(Seq::pop(&mut s), Some(24));
        s[0] = 7;
        assert_eq!(&s[..], &[7, 22, 23][..]);
    }

    #[test]
    fn fixed_vectors_and_fifos_hold_n_in_order() {
        fifo_keeps_order_and_capacity::<heapless::Deque<u32, 6>>(6);
        fifo_keeps_order_and_capacity::<heapless::Deque<u32, 9>>(9);
        seq_keeps_order_and_capacity::<heapless::Vec<u32, 5>>(5);
        seq_keeps_order_and_capacity::<heapless::Vec<u32, 8>>(8);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn heap_vectors_and_fifos_grow_and_keep_order() {
        fifo_keeps_order_and_capacity::<alloc::collections::VecDeque<u32>>(usize::MAX);
        seq_keeps_order_and_capacity::<alloc::vec::Vec<u32>>(usize::MAX);
    }

    #[test]
    fn the_fixed_store_holds_entries_inline_and_buffers_of_b_bytes() {
        type F = Fixed<2, 8, 24>;
        let mut b = F::boxed((5u32, [1u8; 3]));
        assert_eq!(*b, (5, [1, 1, 1]));
        // Through DerefMut.
        b.deref_mut().0 = 6;
        assert_eq!(F::unbox(b), (6, [1, 1, 1]));
        assert_eq!(F::buffer_size(), Some(24));
        let bufs = F::buffers(1000, 10);
        assert_eq!((bufs.rx, bufs.tx), ([0u8; 24], [0u8; 24]));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn the_heap_store_boxes_entries_and_sizes_buffers_as_asked() {
        let mut b = Heap::boxed((5u32, 9u64));
        b.1 = 10;
        assert_eq!(Heap::unbox(b), (5, 10));
        assert_eq!(Heap::buffer_size(), None);
        let bufs = Heap::buffers(300, 17);
        assert_eq!((bufs.rx.len(), bufs.tx.len()), (300, 17));
        assert!(bufs.rx.iter().chain(bufs.tx.iter()).all(|&b| b == 0));
    }
}
