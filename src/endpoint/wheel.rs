//! A hierarchical timing wheel (Varghese and Lauck, "Hashed and
//! Hierarchical Timing Wheels", 1987), so that [`Endpoint::on_timer`]
//! costs O(timers due) rather than O(connections).
//!
//! Six levels of 64 slots; a tick is one millisecond; level `l` slots are
//! `64^l` ticks wide, so the wheel spans 64^6 ms (about 2,000 years).
//! An entry sits at the lowest level whose slot index is within 63 slots
//! of the current one. When the clock passes a slot's start, its entries
//! are either due (returned) or moved down to a finer level: no entry is
//! ever returned before its tick, and each entry moves at most five times.
//! Per-level occupancy bitmaps let an advance skip empty slots, so an
//! advance with nothing due costs at most 6 x 64 bit tests, whatever the
//! number of entries.
//!
//! Entries are never removed: the owner stores the tick of the entry it
//! considers current and ignores the others when they come out (lazy
//! deletion; an early `on_timer` on a connection is a no-op anyway).
//!
//! [`Endpoint::on_timer`]: super::Endpoint::on_timer

use super::store::{Seq, Store};

const BITS: u32 = 6;
const SLOTS: usize = 1 << BITS;
const LEVELS: usize = 6;
const NIL: u32 = u32::MAX;

/// One timer: who (`id`) and when (`tick`, milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: u32,
    pub(crate) tick: u64,
}

/// An entry in the pool, linked into one list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    e: Entry,
    next: u32,
}

/// A FIFO list of pool nodes.
#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

impl List {
    const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
    fn is_empty(&self) -> bool {
        self.head == NIL
    }
}

/// The wheel. Its entries live in one pool (`S::Pool`, growable or of a
/// fixed size) and each slot is a FIFO list threaded through the pool.
pub(crate) struct Wheel<S: Store> {
    /// The last tick the wheel was advanced to.
    cur: u64,
    pool: S::Pool<Node>,
    /// Free pool nodes, linked through `next`.
    free: u32,
    lists: [List; LEVELS * SLOTS],
    occupied: [u64; LEVELS],
    /// Entries already due when inserted.
    due: List,
    /// Entries `advance` found due, for `pop_fired`.
    fired: List,
    len: usize,
}

impl<S: Store> core::fmt::Debug for Wheel<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Wheel")
            .field("cur", &self.cur)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The pool is full (fixed capacity only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Full;

impl<S: Store> Wheel<S> {
    pub(crate) fn new(now_tick: u64) -> Self {
        Wheel {
            cur: now_tick,
            pool: Default::default(),
            free: NIL,
            lists: [List::EMPTY; LEVELS * SLOTS],
            occupied: [0; LEVELS],
            due: List::EMPTY,
            fired: List::EMPTY,
            len: 0,
        }
    }

    /// Entries held (stale ones included).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn append(pool: &mut [Node], list: &mut List, n: u32) {
        pool[n as usize].next = NIL;
        if list.tail == NIL {
            list.head = n;
        } else {
            pool[list.tail as usize].next = n;
        }
        list.tail = n;
    }

    /// Appends all of `from` to `to`.
    fn splice(pool: &mut [Node], to: &mut List, from: &mut List) {
        if from.is_empty() {
            return;
        }
        if to.tail == NIL {
            to.head = from.head;
        } else {
            pool[to.tail as usize].next = from.head;
        }
        to.tail = from.tail;
        *from = List::EMPTY;
    }

    /// Schedules `id` at `tick`; fails only when a fixed pool is full.
    pub(crate) fn insert(&mut self, id: u32, tick: u64) -> Result<(), Full> {
        let node = Node {
            e: Entry { id, tick },
            next: NIL,
        };
        let n = if self.free != NIL {
            let n = self.free;
            self.free = self.pool[n as usize].next;
            self.pool[n as usize] = node;
            n
        } else {
            self.pool.try_push(node).map_err(|_| Full)?;
            (self.pool.len() - 1) as u32
        };
        self.len += 1;
        self.place(n);
        Ok(())
    }

    fn place(&mut self, n: u32) {
        let e = self.pool[n as usize].e;
        if e.tick <= self.cur {
            Self::append(&mut self.pool, &mut self.due, n);
            return;
        }
        for level in 0..LEVELS {
            let shift = BITS * level as u32;
            let (ie, ic) = (e.tick >> shift, self.cur >> shift);
            if ie - ic < SLOTS as u64 || level == LEVELS - 1 {
                // At the top level, a tick beyond the span is clamped.
                let ie = if ie - ic >= SLOTS as u64 {
                    ic + SLOTS as u64 - 1
                } else {
                    ie
                };
                let s = (ie as usize) & (SLOTS - 1);
                Self::append(&mut self.pool, &mut self.lists[level * SLOTS + s], n);
                self.occupied[level] |= 1 << s;
                return;
            }
        }
    }

    /// Advances to `now_tick`; every entry whose tick is at or before it
    /// is then given by [`pop_fired`](Self::pop_fired), in order.
    pub(crate) fn advance(&mut self, now_tick: u64) {
        Self::splice(&mut self.pool, &mut self.fired, &mut self.due);
        if now_tick <= self.cur {
            return;
        }
        let old = self.cur;
        self.cur = now_tick;
        let mut moved = List::EMPTY;
        for level in 0..LEVELS {
            let shift = BITS * level as u32;
            let (io, inew) = (old >> shift, now_tick >> shift);
            if io == inew {
                break; // higher levels did not move either
            }
            let crossed = inew - io;
            let mask = if crossed >= SLOTS as u64 {
                u64::MAX
            } else {
                // Slots io+1 ..= inew, modulo 64: `crossed` (< 64) bits
                // from slot io+1 on, wrapping around.
                let first = ((io + 1) as u32) & (SLOTS as u32 - 1);
                ((1u64 << crossed) - 1).rotate_left(first)
            };
            let mut hit = self.occupied[level] & mask;
            while hit != 0 {
                let s = hit.trailing_zeros() as usize;
                hit &= hit - 1;
                self.occupied[level] &= !(1 << s);
                let list = core::mem::replace(&mut self.lists[level * SLOTS + s], List::EMPTY);
                let mut n = list.head;
                while n != NIL {
                    let next = self.pool[n as usize].next;
                    if self.pool[n as usize].e.tick <= now_tick {
                        Self::append(&mut self.pool, &mut self.fired, n);
                    } else {
                        Self::append(&mut self.pool, &mut moved, n);
                    }
                    n = next;
                }
            }
        }
        let mut n = moved.head;
        while n != NIL {
            let next = self.pool[n as usize].next;
            self.place(n);
            n = next;
        }
    }

    /// The next entry `advance` found due.
    pub(crate) fn pop_fired(&mut self) -> Option<Entry> {
        let n = self.fired.head;
        if n == NIL {
            return None;
        }
        let node = self.pool[n as usize];
        self.fired.head = node.next;
        if node.next == NIL {
            self.fired.tail = NIL;
        }
        self.pool[n as usize].next = self.free;
        self.free = n;
        self.len -= 1;
        Some(node.e)
    }

    /// Drops every waiting entry (not yet fired) for which `live` is false:
    /// the stale entries of lazy deletion, when a fixed pool is full.
    pub(crate) fn purge(&mut self, mut live: impl FnMut(&Entry) -> bool) {
        let mut lists = core::mem::replace(&mut self.lists, [List::EMPTY; LEVELS * SLOTS]);
        for (i, list) in lists
            .iter_mut()
            .chain(core::iter::once(&mut self.due))
            .enumerate()
        {
            let mut kept = List::EMPTY;
            let mut n = list.head;
            while n != NIL {
                let next = self.pool[n as usize].next;
                if live(&self.pool[n as usize].e) {
                    Self::append(&mut self.pool, &mut kept, n);
                } else {
                    self.pool[n as usize].next = self.free;
                    self.free = n;
                    self.len -= 1;
                }
                n = next;
            }
            *list = kept;
            if i < LEVELS * SLOTS && kept.is_empty() {
                self.occupied[i / SLOTS] &= !(1 << (i % SLOTS));
            }
        }
        self.lists = lists;
    }

    /// A time at or before the earliest entry (exact for entries less than
    /// 64 ms away), or `None` when the wheel is empty.
    pub(crate) fn next_tick(&self) -> Option<u64> {
        if !self.due.is_empty() || !self.fired.is_empty() {
            return Some(self.cur);
        }
        let mut best: Option<u64> = None;
        for level in 0..LEVELS {
            let occ = self.occupied[level];
            if occ == 0 {
                continue;
            }
            let shift = BITS * level as u32;
            let ic = self.cur >> shift;
            // The first occupied slot after the current one, in wheel order.
            let cs = (ic as usize) & (SLOTS - 1);
            let rot = occ.rotate_right(((cs + 1) & (SLOTS - 1)) as u32);
            let k = u64::from(rot.trailing_zeros()) + 1;
            let t = if level == 0 {
                ic + k
            } else {
                (ic + k) << shift
            };
            best = Some(best.map_or(t, |b: u64| b.min(t)));
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::Fixed;
    use super::*;

    type W = Wheel<Fixed<1, 16384, 0>>;

    fn fire<S: Store>(w: &mut Wheel<S>, now: u64) -> std::vec::Vec<Entry> {
        w.advance(now);
        core::iter::from_fn(|| w.pop_fired()).collect()
    }

    #[test]
    fn entries_fire_at_their_tick_never_before() {
        let mut w = W::new(1000);
        let ticks = [
            1000u64,
            1001,
            1063,
            1064,
            1065,
            5000,
            70_000,
            1_000_000,
            300_000_000,
        ];
        for (i, t) in ticks.iter().enumerate() {
            w.insert(i as u32, *t).unwrap();
        }
        let mut fired = std::vec::Vec::new();
        let mut now = 1000;
        while fired.len() < ticks.len() {
            let next = w.next_tick().unwrap();
            assert!(next >= now || next == w.cur);
            now = next.max(now);
            for e in fire(&mut w, now) {
                assert!(e.tick <= now, "{e:?} fired early at {now}");
                fired.push((e.id, now));
            }
            now += 1;
        }
        for (id, at) in fired {
            assert_eq!(at, ticks[id as usize].max(1000), "entry {id}");
        }
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn big_jumps_return_everything_due() {
        let mut w = W::new(0);
        for i in 0..10_000u32 {
            w.insert(i, u64::from(i) * 37 + 1).unwrap();
        }
        let out = fire(&mut w, 200_000);
        assert_eq!(out.len(), 5406);
        assert!(out.iter().all(|e| e.tick <= 200_000));
        assert_eq!(fire(&mut w, 10_000_000).len(), 10_000 - 5406);
    }

    #[test]
    fn a_full_pool_fails_and_purge_makes_room() {
        let mut w = Wheel::<Fixed<1, 4, 0>>::new(0);
        for i in 0..4 {
            w.insert(i, 10 + u64::from(i)).unwrap();
        }
        assert_eq!(w.insert(9, 5), Err(Full));
        w.purge(|e| e.id % 2 == 0);
        assert_eq!(w.len(), 2);
        w.insert(9, 5).unwrap();
        let ids: std::vec::Vec<u32> = fire(&mut w, 100).iter().map(|e| e.id).collect();
        assert_eq!(ids, [9, 0, 2]);
    }
}
