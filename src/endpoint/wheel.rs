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

use alloc::vec::Vec;

const BITS: u32 = 6;
const SLOTS: usize = 1 << BITS;
const LEVELS: usize = 6;

/// One timer: who (`id`) and when (`tick`, milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: u32,
    pub(crate) tick: u64,
}

/// The wheel.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// The last tick the wheel was advanced to.
    cur: u64,
    slots: Vec<Vec<Entry>>,
    occupied: [u64; LEVELS],
    /// Entries already due when inserted.
    due: Vec<Entry>,
    len: usize,
}

impl Wheel {
    pub(crate) fn new(now_tick: u64) -> Self {
        Wheel {
            cur: now_tick,
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            due: Vec::new(),
            len: 0,
        }
    }

    /// Entries held (stale ones included).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Schedules `id` at `tick`.
    pub(crate) fn insert(&mut self, id: u32, tick: u64) {
        self.len += 1;
        self.place(Entry { id, tick });
    }

    fn place(&mut self, e: Entry) {
        if e.tick <= self.cur {
            self.due.push(e);
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
                self.slots[level * SLOTS + s].push(e);
                self.occupied[level] |= 1 << s;
                return;
            }
        }
    }

    /// Advances to `now_tick` and appends every entry whose tick is at or
    /// before it to `out`.
    pub(crate) fn advance(&mut self, now_tick: u64, out: &mut Vec<Entry>) {
        let start = out.len();
        out.append(&mut self.due);
        if now_tick > self.cur {
            let old = self.cur;
            self.cur = now_tick;
            let mut moved: Vec<Entry> = Vec::new();
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
                    // Slots io+1 ..= inew, modulo 64.
                    let mut m = 0u64;
                    let first = ((io + 1) as usize) & (SLOTS - 1);
                    for k in 0..crossed as usize {
                        m |= 1 << ((first + k) & (SLOTS - 1));
                    }
                    m
                };
                let mut hit = self.occupied[level] & mask;
                while hit != 0 {
                    let s = hit.trailing_zeros() as usize;
                    hit &= hit - 1;
                    self.occupied[level] &= !(1 << s);
                    let slot = &mut self.slots[level * SLOTS + s];
                    for e in slot.drain(..) {
                        if e.tick <= now_tick {
                            out.push(e);
                        } else {
                            moved.push(e);
                        }
                    }
                }
            }
            for e in moved {
                self.place(e);
            }
        }
        self.len -= out.len() - start;
    }

    /// A time at or before the earliest entry (exact for entries less than
    /// 64 ms away), or `None` when the wheel is empty.
    pub(crate) fn next_tick(&self) -> Option<u64> {
        if !self.due.is_empty() {
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
    use super::*;

    #[test]
    fn entries_fire_at_their_tick_never_before() {
        let mut w = Wheel::new(1000);
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
            w.insert(i as u32, *t);
        }
        let mut fired = Vec::new();
        let mut now = 1000;
        while fired.len() < ticks.len() {
            let next = w.next_tick().unwrap();
            assert!(next >= now || next == w.cur);
            now = next.max(now);
            let mut out = Vec::new();
            w.advance(now, &mut out);
            for e in out {
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
        let mut w = Wheel::new(0);
        for i in 0..10_000u32 {
            w.insert(i, u64::from(i) * 37 + 1);
        }
        let mut out = Vec::new();
        w.advance(200_000, &mut out);
        assert_eq!(out.len(), 5406);
        assert!(out.iter().all(|e| e.tick <= 200_000));
        out.clear();
        w.advance(10_000_000, &mut out);
        assert_eq!(out.len(), 10_000 - 5406);
    }
}
