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
