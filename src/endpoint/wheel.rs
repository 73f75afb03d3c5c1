//! A hierarchical timing wheel (Varghese and Lauck, "Hashed and
//! Hierarchical Timing Wheels", 1987), so that [`Endpoint::on_timer`]
//! costs O(timers due) rather than O(connections).
//!
//! Six levels of 64 slots; a tick is one millisecond; level `l` slots are
//! `64^l` ticks wide, so the wheel spans 64^6 ms (2^36 ms, about 795
//! days; a later tick waits in the top level's last slot until it comes
//! within the span).
//! An entry sits at the lowest level whose slot index is within 63 slots
//! of the current one. When the clock passes a slot's start, its entries
//! are either due (returned) or moved down to a finer level: no entry is
//! ever returned before its tick, and an entry within the span when put
//! in moves at most five times (one beyond it waits in the top level's
//! last slot and moves again each time that slot comes round, once per
//! 64^5 ms, about 12 days, until it is within the span).
//! Per-level occupancy bitmaps let an advance skip empty slots, so an
//! advance with nothing due costs at most 6 x 64 bit tests, whatever the
//! number of entries.
//!
//! Each slot is a doubly linked list, so an entry can be removed in O(1)
//! ([`Wheel::remove`]). A connection owns at most one entry: it moves it
//! when its deadline comes earlier (a later one leaves the entry to fire
//! early and be re-armed then) and removes it when it is freed. Each slot
//! also keeps the earliest tick put into it, so [`Wheel::next_tick`] is
//! the earliest entry's tick rather than the start of a coarse slot: a
//! host that sleeps until `next_deadline` is not woken for connections
//! that are gone, nor once per level an entry cascades through.
//! A TIME-WAIT entry likewise owns one node, which a restart of 2MSL
//! leaves to fire early and be put back at the new expiry.
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
    prev: u32,
    /// The list it is in: a slot (`level * SLOTS + slot`), [`DUE`],
    /// [`FIRED`], or [`NO_LIST`] (free, or between lists in `advance`).
    list: u16,
}

/// A FIFO list of pool nodes, with the earliest tick appended to it since
/// it was last empty (a lower bound once entries are removed).
#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
    min: u64,
}

impl List {
    const EMPTY: List = List {
        head: NIL,
        tail: NIL,
        min: u64::MAX,
    };
    fn is_empty(&self) -> bool {
        self.head == NIL
    }
}

const DUE: u16 = (LEVELS * SLOTS) as u16;
const FIRED: u16 = DUE + 1;
const NO_LIST: u16 = u16::MAX;

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

/// An entry `pop_fired` gives, with the node it was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fired {
    pub(crate) node: u32,
    pub(crate) e: Entry,
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

    fn append(pool: &mut [Node], list: &mut List, id: u16, n: u32) {
        let node = &mut pool[n as usize];
        node.next = NIL;
        node.prev = list.tail;
        node.list = id;
        list.min = list.min.min(node.e.tick);
        if list.tail == NIL {
            list.head = n;
        } else {
            pool[list.tail as usize].next = n;
        }
        list.tail = n;
    }

    /// Appends all of `from` to `to` (whose id is `to_id`).
    fn splice(pool: &mut [Node], to: &mut List, to_id: u16, from: &mut List) {
        if from.is_empty() {
            return;
        }
        let mut n = from.head;
        while n != NIL {
            pool[n as usize].list = to_id;
            n = pool[n as usize].next;
        }
        if to.tail == NIL {
            to.head = from.head;
        } else {
            pool[to.tail as usize].next = from.head;
            pool[from.head as usize].prev = to.tail;
        }
        to.tail = from.tail;
        to.min = to.min.min(from.min);
        *from = List::EMPTY;
    }

    /// Schedules `id` at `tick` and gives the entry's node (for
    /// [`remove`](Self::remove)); fails only when a fixed pool is full.
    pub(crate) fn insert(&mut self, id: u32, tick: u64) -> Result<u32, Full> {
        let node = Node {
            e: Entry { id, tick },
            next: NIL,
            prev: NIL,
            list: NO_LIST,
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
        Ok(n)
    }

    /// The entry of a node [`insert`](Self::insert) gave, while it is
    /// waiting (neither fired nor removed).
    #[cfg(test)]
    pub(crate) fn get(&self, n: u32) -> Option<Entry> {
        self.pool
            .get(n as usize)
            .filter(|node| node.list != NO_LIST)
            .map(|node| node.e)
    }

    /// Takes a waiting entry out (O(1)); a node that is not waiting is
    /// left alone.
    pub(crate) fn remove(&mut self, n: u32) {
        if self.unlink(n) {
            let node = &mut self.pool[n as usize];
            node.next = self.free;
            self.free = n;
            self.len -= 1;
        }
    }

    /// Moves a waiting entry to `tick`, on the node it has (O(1)): what
    /// [`remove`](Self::remove) and then [`insert`](Self::insert) of the
    /// same id do (the insert takes the node the remove freed, and appends
    /// it to its new list), without the trip through the free list.
    /// False, and nothing changed, when the node is not waiting.
    pub(crate) fn relocate(&mut self, n: u32, tick: u64) -> bool {
        if !self.unlink(n) {
            return false;
        }
        self.pool[n as usize].e.tick = tick;
        self.place(n);
        true
    }

    /// Takes a waiting node out of its list (its `list` becomes
    /// `NO_LIST`); false when it is not waiting.
    #[inline(always)]
    fn unlink(&mut self, n: u32) -> bool {
        let Some(&Node {
            next, prev, list, ..
        }) = self.pool.get(n as usize)
        else {
            return false;
        };
        let l = match list {
            FIRED => &mut self.fired,
            DUE => &mut self.due,
            NO_LIST => return false,
            i => &mut self.lists[usize::from(i)],
        };
        if prev == NIL {
            l.head = next;
        } else {
            self.pool[prev as usize].next = next;
        }
        if next == NIL {
            l.tail = prev;
        } else {
            self.pool[next as usize].prev = prev;
        }
        if l.is_empty() {
            l.min = u64::MAX;
            if list < DUE {
                let (level, s) = (usize::from(list) / SLOTS, usize::from(list) % SLOTS);
                self.occupied[level] &= !(1 << s);
            }
        }
        self.pool[n as usize].list = NO_LIST;
        true
    }

    #[inline(always)]
    fn place(&mut self, n: u32) {
        let e = self.pool[n as usize].e;
        if e.tick <= self.cur {
            Self::append(&mut self.pool, &mut self.due, DUE, n);
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
                let i = level * SLOTS + s;
                Self::append(&mut self.pool, &mut self.lists[i], i as u16, n);
                self.occupied[level] |= 1 << s;
                return;
            }
        }
    }

    /// Advances to `now_tick`; every entry whose tick is at or before it
    /// is then given by [`pop_fired`](Self::pop_fired), in order.
    pub(crate) fn advance(&mut self, now_tick: u64) {
        Self::splice(&mut self.pool, &mut self.fired, FIRED, &mut self.due);
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
                        Self::append(&mut self.pool, &mut self.fired, FIRED, n);
                    } else {
                        Self::append(&mut self.pool, &mut moved, NO_LIST, n);
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
    pub(crate) fn pop_fired(&mut self) -> Option<Fired> {
        let n = self.fired.head;
        if n == NIL {
            return None;
        }
        let e = self.pool[n as usize].e;
        self.remove(n);
        Some(Fired { node: n, e })
    }

    /// Drops every waiting entry (not yet fired) for which `live` (given
    /// the node and the entry) is false: the stale entries of lazy
    /// deletion, when a fixed pool is full.
    pub(crate) fn purge(&mut self, mut live: impl FnMut(u32, &Entry) -> bool) {
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
                if live(n, &self.pool[n as usize].e) {
                    // The due list comes last, at index LEVELS * SLOTS: DUE.
                    Self::append(&mut self.pool, &mut kept, i as u16, n);
                } else {
                    let node = &mut self.pool[n as usize];
                    node.list = NO_LIST;
                    node.next = self.free;
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

    /// The earliest entry's tick (earlier only after removals from its
    /// slot), or `None` when the wheel is empty.
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
            // The occupied slots after the current one, in wheel order: the
            // first holds the level's earliest entry, but at the top level,
            // where ticks beyond the span wait in the last slot of the span
            // as it was when they came in, a later slot may hold an earlier
            // tick, so every slot there is looked at.
            let cs = (ic as usize) & (SLOTS - 1);
            let mut rot = occ.rotate_right(((cs + 1) & (SLOTS - 1)) as u32);
            while rot != 0 {
                let s = (cs + 1 + rot.trailing_zeros() as usize) & (SLOTS - 1);
                // A slot's entries (and those removed from it) all have
                // ticks at or after its start: ticks beyond the span too,
                // as the slot they wait in is within it.
                let t = self.lists[level * SLOTS + s].min;
                best = Some(best.map_or(t, |b: u64| b.min(t)));
                if level < LEVELS - 1 {
                    break;
                }
                rot &= rot - 1;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::Fixed;
    use super::*;

    type W = Wheel<Fixed<1, 16384, 0>>;

    /// `Endpoint::wheel_move` compares a deadline's microseconds with
    /// `wheel_from(tick)` instead of rounding it up to a tick: the two
    /// tests agree on either side of every boundary, at tick 0, near the
    /// end of time, and for "no entry" (`u64::MAX`, which only "no
    /// deadline", `Instant::MAX`, reaches).
    #[test]
    fn a_deadline_needs_a_move_exactly_when_its_tick_is_earlier() {
        use super::super::{tick_ceil, wheel_from};
        use crate::time::Instant;
        let ticks = [
            0,
            1,
            2,
            999,
            1000,
            1001,
            123_456,
            u64::MAX / 1000 - 1,
            u64::MAX / 1000,
        ];
        for &t in &ticks {
            let lim = wheel_from(t);
            for base in [
                t.saturating_mul(1000),
                t.saturating_sub(1).saturating_mul(1000),
            ] {
                for d in base.saturating_sub(2)..=base.saturating_add(2) {
                    let d = Instant::from_micros(d);
                    assert_eq!(tick_ceil(d) >= t, d.as_micros() >= lim, "tick {t}, {d:?}");
                }
            }
        }
        // No entry (`u64::MAX`): every deadline moves one in; "none",
        // `Instant::MAX`, is the one time that does not.
        assert_eq!(Instant::MAX.as_micros(), u64::MAX);
    }

    fn fire<S: Store>(w: &mut Wheel<S>, now: u64) -> std::vec::Vec<Entry> {
        w.advance(now);
        core::iter::from_fn(|| w.pop_fired().map(|f| f.e)).collect()
    }

    /// `relocate` leaves the wheel as `remove` and `insert` of the same
    /// id would: the same node, the same free list and length, the same
    /// entries firing in the same order; a node that is not waiting is
    /// refused and left alone.
    #[test]
    fn relocating_an_entry_is_removing_and_inserting_it() {
        let (mut a, mut b) = (W::new(1000), W::new(1000));
        for w in [&mut a, &mut b] {
            for (i, t) in [1500u64, 1200, 9000, 1200, 70_000].into_iter().enumerate() {
                w.insert(i as u32, t).unwrap();
            }
            // A freed node on the free list, for the inserts to find.
            w.remove(3);
        }
        for (n, tick) in [(2u32, 1100u64), (0, 1200), (4, 1000), (1, 50_000)] {
            let id = a.get(n).unwrap().id;
            assert!(a.relocate(n, tick));
            b.remove(n);
            assert_eq!(b.insert(id, tick), Ok(n));
            assert_eq!(a.get(n), b.get(n));
            assert_eq!(
                (a.free, a.len(), a.next_tick()),
                (b.free, b.len(), b.next_tick())
            );
        }
        assert!(!a.relocate(3, 1100), "a freed node is not waiting");
        assert_eq!(a.get(3), None);
        for now in [1000, 1100, 1200, 9000, 50_000, 70_000] {
            assert_eq!(fire(&mut a, now), fire(&mut b, now), "at {now}");
        }
        assert_eq!(a.len(), b.len());
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
    fn next_tick_is_the_earliest_entry_at_every_level() {
        for tick in [1001u64, 1063, 1100, 5000, 70_000, 1_000_000, 300_000_000] {
            let mut w = W::new(1000);
            let far = w.insert(1, tick + 7).unwrap();
            w.insert(2, tick).unwrap();
            assert_eq!(w.next_tick(), Some(tick));
            // Sleeping until next_tick fires the entry: no early wake-up.
            assert_eq!(fire(&mut w, tick), [Entry { id: 2, tick }]);
            assert_eq!(w.next_tick(), Some(tick + 7));
            assert_eq!(
                w.get(far),
                Some(Entry {
                    id: 1,
                    tick: tick + 7
                })
            );
        }
    }

    #[test]
    fn removed_entries_never_fire_and_free_their_slot() {
        let mut w = W::new(0);
        let nodes: std::vec::Vec<u32> = (0..200u32)
            .map(|i| w.insert(i, 10 + u64::from(i) * 997).unwrap())
            .collect();
        // Remove the odd ones, some from the middle of a slot's list.
        for (i, &n) in nodes.iter().enumerate() {
            if i % 2 == 1 {
                w.remove(n);
                assert_eq!(w.get(n), None);
                w.remove(n); // twice is harmless
            }
        }
        assert_eq!(w.len(), 100);
        let mut now = 0;
        let (mut ids, mut idle) = (std::vec::Vec::new(), 0);
        while let Some(t) = w.next_tick() {
            assert!(t >= now);
            now = t;
            let got = fire(&mut w, now);
            // A removed entry may leave its slot's earliest tick behind
            // (a lower bound): at most one early wake-up per removal.
            idle += usize::from(got.is_empty());
            ids.extend(got.iter().map(|e| e.id));
        }
        assert!(idle <= 100, "{idle} wake-ups for nothing");
        assert_eq!(ids, (0..200).step_by(2).collect::<std::vec::Vec<u32>>());
        assert_eq!(w.len(), 0);
        assert_eq!(w.occupied, [0; LEVELS]);
    }

    #[test]
    fn removing_a_fired_or_due_entry_before_it_is_popped() {
        let mut w = W::new(100);
        let a = w.insert(1, 50).unwrap(); // already due
        let b = w.insert(2, 150).unwrap();
        let c = w.insert(3, 150).unwrap();
        w.remove(a);
        w.advance(200);
        w.remove(b); // fired, not yet popped
        assert_eq!(w.pop_fired().map(|f| (f.node, f.e.id)), Some((c, 3)));
        assert_eq!(w.pop_fired(), None);
        assert_eq!(w.len(), 0);
        // Freed nodes are used again.
        let d = w.insert(4, 300).unwrap();
        assert!([a, b, c].contains(&d));
    }

    /// A purge drops the entries it is told to at every level (and among
    /// those already due), keeps the others where they fire, and frees the
    /// slots it empties: `next_tick` is then the earliest entry kept, and
    /// `None` once none is.
    #[test]
    fn purge_keeps_the_live_entries_and_frees_the_slots_it_empties() {
        let ticks = [
            50u64,
            101,
            190,
            5_000,
            300_000,
            20_000_000,
            2_000_000_000,
            1 << 40,
        ];
        let mut w = W::new(100);
        let nodes: std::vec::Vec<u32> = ticks
            .iter()
            .enumerate()
            .map(|(i, &t)| w.insert(i as u32, t).unwrap())
            .collect();
        // A second entry in each of four slots, dropped by the purge.
        for (i, &t) in ticks[3..7].iter().enumerate() {
            w.insert(100 + i as u32, t + 1).unwrap();
        }
        let mut kept = std::vec::Vec::new();
        for drop in 0..ticks.len() as u32 {
            // Drop one more entry each time, from the earliest on.
            w.purge(|_, e| e.id > drop && e.id < 100);
            kept.clear();
            kept.extend(((drop + 1) as usize..ticks.len()).map(|i| ticks[i]));
            assert_eq!(w.len(), kept.len(), "after dropping {drop}");
            assert_eq!(
                w.next_tick(),
                kept.first().copied(),
                "after dropping {drop}"
            );
            if let Some(&i) = nodes.get(drop as usize + 1) {
                let id = drop + 1;
                assert_eq!(
                    w.get(i),
                    Some(Entry {
                        id,
                        tick: ticks[id as usize]
                    })
                );
            }
        }
        assert_eq!(fire(&mut w, u64::MAX), []);
        // Entries kept in a slot are its entries still: removing one leaves
        // the others, which fire at their tick.
        let mut w = W::new(0);
        let a = w.insert(1, 70_000).unwrap();
        w.insert(2, 70_001).unwrap();
        w.insert(3, 70_002).unwrap();
        w.insert(4, 7).unwrap();
        w.purge(|_, e| e.id != 2);
        w.remove(a);
        assert_eq!(w.len(), 2);
        assert_eq!(fire(&mut w, 70_001), [Entry { id: 4, tick: 7 }]);
        assert_eq!(w.next_tick(), Some(70_002));
        assert_eq!(
            fire(&mut w, 70_002),
            [Entry {
                id: 3,
                tick: 70_002
            }]
        );
        assert_eq!((w.len(), w.next_tick()), (0, None));
    }

    /// The top level's last slot (level 5, slot 63: where an entry about
    /// two years ahead goes, and where a tick beyond the wheel's span is
    /// clamped) is a slot like the others: another entry firing and being
    /// popped leaves it waiting, and it fires at its tick.
    #[test]
    fn an_entry_in_the_last_top_level_slot_outlives_others_firing() {
        let far = 63u64 << 30;
        let mut w = W::new(0);
        let n = w.insert(1, far).unwrap();
        w.insert(2, 5).unwrap();
        assert_eq!(fire(&mut w, 5), [Entry { id: 2, tick: 5 }]);
        assert_eq!(w.get(n), Some(Entry { id: 1, tick: far }));
        assert_eq!(w.next_tick(), Some(far));
        assert_eq!(fire(&mut w, far - 1), []);
        assert_eq!(fire(&mut w, far), [Entry { id: 1, tick: far }]);
        assert_eq!((w.len(), w.next_tick()), (0, None));
    }

    /// A tick beyond the wheel's span (64^6 ms, about 795 days ahead) is
    /// held in the top level until it comes within the span, and fires at
    /// its tick, neither lost nor early.
    #[test]
    fn entries_beyond_the_span_fire_at_their_tick() {
        let span = 1u64 << 36;
        for (cur, tick) in [
            (0, span),
            (0, 1 << 40),
            (5 << 30, (5 << 30) + 3 * span + 17),
        ] {
            let mut w = W::new(cur);
            let n = w.insert(1, tick).unwrap();
            assert_eq!(w.get(n), Some(Entry { id: 1, tick }));
            assert_eq!(w.next_tick(), Some(tick), "from {cur}");
            let mut now = cur;
            while now < tick - 1 {
                now = (now + span / 3).min(tick - 1);
                assert_eq!(fire(&mut w, now), [], "{tick} at {now}");
                assert_eq!(w.next_tick(), Some(tick), "{tick} at {now}");
            }
            assert_eq!(fire(&mut w, tick), [Entry { id: 1, tick }]);
            assert_eq!(w.len(), 0);
        }
    }

    /// Two ticks beyond the span, put in at different times, wait in
    /// different top-level slots (each in the last slot of the span as it
    /// was then), and the earlier tick may sit in the slot the clock
    /// reaches later: `next_tick` is still the earlier tick, so that a host
    /// sleeping until it does not oversleep the earlier entry.
    #[test]
    fn next_tick_is_the_earliest_of_ticks_beyond_the_span_put_in_at_different_times() {
        let mut w = W::new(0);
        w.insert(1, 1 << 40).unwrap();
        w.advance(1 << 30);
        let early = (1 << 30) + (1 << 37);
        w.insert(2, early).unwrap();
        assert_eq!(w.next_tick(), Some(early));
        assert_eq!(fire(&mut w, early - 1), []);
        assert_eq!(fire(&mut w, early), [Entry { id: 2, tick: early }]);
        assert_eq!(w.next_tick(), Some(1 << 40));
    }

    /// The wheel against a plain list of (node, id, tick): random inserts
    /// at every level's distance (beyond the span too), removals, purges
    /// and advances by steps of every size. Each advance gives exactly the
    /// entries due, `len` is the list's, and `next_tick` is the earliest
    /// tick (a lower bound of it once entries were removed, until a purge
    /// or the wheel empties).
    #[test]
    fn random_operations_match_a_plain_list() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for (case, removals) in [(0, false), (1, true), (2, false), (3, true)] {
            let start = [0, 1_000, 63 << 30, (1 << 36) - 5][case];
            let mut w = Wheel::<Fixed<1, 4096, 0>>::new(start);
            let mut model: std::vec::Vec<(u32, u32, u64)> = std::vec::Vec::new();
            let (mut now, mut id, mut exact) = (start, 0u32, true);
            for step in 0..3000 {
                match rnd(10) {
                    0..=4 if model.len() < 4000 => {
                        // A distance within level 0 .. 5, or beyond the span.
                        let scale = [64u64, 1 << 12, 1 << 18, 1 << 24, 1 << 30, 1 << 36, 1 << 40];
                        let i = rnd(7) as usize;
                        let d = rnd(scale[i]);
                        // Now and then an entry already due.
                        let tick = if rnd(20) == 0 {
                            now - now.min(d)
                        } else {
                            now + d
                        };
                        let n = w.insert(id, tick).unwrap();
                        model.push((n, id, tick));
                        id += 1;
                    }
                    5 if removals && !model.is_empty() => {
                        let (n, ..) = model.swap_remove(rnd(model.len() as u64) as usize);
                        w.remove(n);
                        exact = false;
                    }
                    6 if removals && step % 50 == 0 => {
                        let k = rnd(3) as u32;
                        w.purge(|_, e| e.id % 3 != k);
                        model.retain(|&(_, i, _)| i % 3 != k);
                        // The lists are rebuilt: no removed tick is left
                        // in their earliest ticks.
                        exact = true;
                    }
                    _ => {
                        let scale = [1u64, 64, 1 << 12, 1 << 18, 1 << 24, 1 << 30, 1 << 37];
                        let i = rnd(7) as usize;
                        now += rnd(scale[i]);
                        w.advance(now);
                        let mut got: std::vec::Vec<(u32, u32, u64)> = core::iter::from_fn(|| {
                            w.pop_fired().map(|f| (f.node, f.e.id, f.e.tick))
                        })
                        .collect();
                        let mut want: std::vec::Vec<(u32, u32, u64)> =
                            model.iter().copied().filter(|e| e.2 <= now).collect();
                        model.retain(|e| e.2 > now);
                        got.sort_unstable();
                        want.sort_unstable();
                        assert_eq!(got, want, "case {case} step {step}: due at {now}");
                        if model.is_empty() {
                            exact = true;
                        }
                    }
                }
                assert_eq!(w.len(), model.len(), "case {case} step {step}");
                let earliest = model.iter().map(|e| e.2.max(now)).min();
                match (w.next_tick(), earliest) {
                    (t, e) if exact => assert_eq!(t, e, "case {case} step {step}"),
                    (Some(t), Some(e)) => assert!(t <= e, "case {case} step {step}: {t} > {e}"),
                    (t, e) => assert_eq!(t.is_some(), e.is_some(), "case {case} step {step}"),
                }
            }
        }
    }

    /// The wheel's `Debug` (for debugging; the Endpoint's own does not
    /// show it): the clock and the number of entries.
    #[test]
    fn debug_shows_the_clock_and_the_number_of_entries() {
        let mut w = W::new(7);
        w.insert(1, 9).unwrap();
        w.insert(2, 70).unwrap();
        assert_eq!(std::format!("{w:?}"), "Wheel { cur: 7, len: 2, .. }");
    }

    #[test]
    fn a_full_pool_fails_and_purge_makes_room() {
        let mut w = Wheel::<Fixed<1, 4, 0>>::new(0);
        for i in 0..4 {
            w.insert(i, 10 + u64::from(i)).unwrap();
        }
        assert_eq!(w.insert(9, 5), Err(Full));
        w.purge(|_, e| e.id % 2 == 0);
        assert_eq!(w.len(), 2);
        w.insert(9, 5).unwrap();
        let ids: std::vec::Vec<u32> = fire(&mut w, 100).iter().map(|e| e.id).collect();
        assert_eq!(ids, [9, 0, 2]);
    }
}
