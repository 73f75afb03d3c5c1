//! The bind index: local port -> the connections and TIME-WAIT entries
//! bound there (Linux `inet_bind_bucket` in `tcp_hashinfo.bhash`), so
//! that the `bind(2)` conflict check of `listen` and of `connect` from an
//! explicit port looks only at what is bound to that port, not at every
//! connection and TIME-WAIT entry.
//!
//! The entries on one port form a doubly linked list through the entries
//! themselves (`Entry::bind` for a connection, `TimeWaitTable::bind` for
//! a TIME-WAIT entry); the bind table maps the port to the list's head.
//! Nothing is kept for a port without entries, and the table holds at
//! most as many values as the demux table (one per port in use), so a
//! fixed store's table, sized for the demux table, always has room.
//!
//! The index holds exactly what the demux table holds: `table_insert`
//! adds to both, `table_set` removes from (or moves between) both. That
//! is every connection that is not `dead` and every TIME-WAIT entry,
//! which is what the conflict rules look at.

use core::net::{IpAddr, SocketAddr};

use super::store::{Store, Table};
use super::time_wait::TimeWaitTable;
use super::{Endpoint, NONE, Slot, TW_BIT};

/// `prev` of an entry that is in no list.
pub(super) const UNBOUND: u32 = NONE - 1;

/// Links of an entry in no list: `[next, prev]`.
pub(super) const UNLINKED: [u32; 2] = [NONE, UNBOUND];

/// The bind table's hash of a port. Local ports are the host's own
/// choice, not an attacker's, so no key is needed; the multiplication
/// spreads them over both ends of the hash (a `hashbrown` table uses
/// the top bits, an open-addressing one the remainder).
fn port_hash(port: u16) -> u64 {
    u64::from(port).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// `[next, prev]` of value `v` (a slot index or `TW_BIT | tw index`).
fn links<S: Store>(slots: &[Slot<S>], tw: &TimeWaitTable<S>, v: u32) -> [u32; 2] {
    if v & TW_BIT != 0 {
        tw.bind_links(v & !TW_BIT)
    } else {
        slots[v as usize].get().map_or(UNLINKED, |e| e.bind)
    }
}

fn set_links<S: Store>(slots: &mut [Slot<S>], tw: &mut TimeWaitTable<S>, v: u32, l: [u32; 2]) {
    if v & TW_BIT != 0 {
        tw.set_bind_links(v & !TW_BIT, l);
    } else if let Some(e) = slots[v as usize].get_mut() {
        e.bind = l;
    }
}

/// The local port of value `v`.
fn port_of<S: Store>(slots: &[Slot<S>], tw: &TimeWaitTable<S>, v: u32) -> u16 {
    if v & TW_BIT != 0 {
        tw.get(v & !TW_BIT).local_port()
    } else {
        slots[v as usize]
            .get()
            .map(|e| e.tuple.local_port)
            .expect("bind list names a live slot")
    }
}

/// The local address and `reuse_addr` of value `v`.
fn binding<S: Store>(slots: &[Slot<S>], tw: &TimeWaitTable<S>, v: u32) -> (IpAddr, bool) {
    if v & TW_BIT != 0 {
        let ti = v & !TW_BIT;
        (tw.local_ip(ti), tw.get(ti).reuse_addr())
    } else {
        slots[v as usize]
            .get()
            .map(|e| (e.tuple.local_ip, e.reuse))
            .expect("bind list names a live slot")
    }
}

/// Two local addresses overlap when they are equal or either is the
/// unspecified address of the same family (Linux `inet_bind_conflict`).
fn overlap(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4() && (a == b || a.is_unspecified() || b.is_unspecified())
}

impl<S: Store> Endpoint<S> {
    /// The head of the list of what is bound to `port`.
    fn bind_head(&self, port: u16) -> Option<u32> {
        self.bind_table.find(port_hash(port), |v| {
            port_of(&self.slots, &self.tw, v) == port
        })
    }

    /// Adds value `v`, just put in the demux table, to its port's list:
    /// after the head (the table keeps its value), or as the head.
    pub(super) fn bind_add(&mut self, v: u32) {
        let port = port_of(&self.slots, &self.tw, v);
        debug_assert_eq!(links(&self.slots, &self.tw, v), UNLINKED);
        match self.bind_head(port) {
            Some(head) => {
                let Endpoint { slots, tw, .. } = self;
                let [next, _] = links(slots, tw, head);
                set_links(slots, tw, v, [next, head]);
                set_links(slots, tw, head, [v, NONE]);
                if next != NONE {
                    let [nn, _] = links(slots, tw, next);
                    set_links(slots, tw, next, [nn, v]);
                }
            }
            None => {
                let Endpoint {
                    bind_table,
                    slots,
                    tw,
                    ..
                } = self;
                set_links(slots, tw, v, [NONE, NONE]);
                let r = bind_table.insert(port_hash(port), v, |v| port_hash(port_of(slots, tw, v)));
                // It holds at most as many values as the demux table,
                // which had room.
                debug_assert!(r.is_ok(), "bind table full");
            }
        }
    }

    /// Takes value `old` out of its port's list (nothing if it is in
    /// none); `new`, if given, takes its place: a connection that enters
    /// TIME-WAIT hands its place to its entry (same tuple, same port)
    /// without leaving the list and coming back.
    pub(super) fn bind_remove(&mut self, old: u32, new: Option<u32>) {
        let Endpoint {
            bind_table,
            slots,
            tw,
            ..
        } = self;
        let [next, prev] = links(slots, tw, old);
        if prev == UNBOUND {
            return;
        }
        let port = port_of(slots, tw, old);
        set_links(slots, tw, old, UNLINKED);
        // What `prev`'s next and `next`'s prev become.
        let (after_prev, before_next) = match new {
            Some(n) => {
                debug_assert_eq!(links(slots, tw, n), UNLINKED);
                debug_assert_eq!(port, port_of(slots, tw, n));
                set_links(slots, tw, n, [next, prev]);
                (n, n)
            }
            None => (next, prev),
        };
        if next != NONE {
            let [nn, _] = links(slots, tw, next);
            set_links(slots, tw, next, [nn, before_next]);
        }
        if prev != NONE {
            let [_, pp] = links(slots, tw, prev);
            set_links(slots, tw, prev, [after_prev, pp]);
        } else {
            // The head: the table names the one after it, or the port has
            // nothing bound any more.
            bind_table.update(
                port_hash(port),
                |x| x == old,
                (after_prev != NONE).then_some(after_prev),
                |x| port_hash(port_of(slots, tw, x)),
            );
        }
    }

    /// Linux's `bind(2)` conflict rules for a local address and port
    /// (`inet_bind_conflict`, checked against Linux 6.18 in a network
    /// namespace; `tests/reuse_addr.rs` holds the table):
    ///
    /// - two addresses overlap when they are equal or either is the
    ///   unspecified address (of the same family);
    /// - a listener on an overlapping address and the same port always
    ///   conflicts, with `SO_REUSEADDR` or without (Linux needs
    ///   `SO_REUSEPORT` for that, which the Endpoint does not model);
    /// - a connection in any state, TIME-WAIT entries included, whose
    ///   local address overlaps and whose local port is the same,
    ///   conflicts unless both it and the new binding have
    ///   `SO_REUSEADDR`.
    ///
    /// Listeners are few and scanned; connections and TIME-WAIT entries
    /// are looked up in the bind index, by port, as Linux walks the
    /// owners of one `inet_bind_bucket`.
    pub(super) fn bind_conflict(&self, addr: SocketAddr, reuse: bool) -> bool {
        let (ip, port) = (addr.ip(), addr.port());
        let listener = self
            .listeners
            .iter()
            .flatten()
            .any(|l| l.addr.port() == port && overlap(l.addr.ip(), ip));
        if listener {
            return true;
        }
        let r = self.bound_conflict(ip, port, reuse);
        #[cfg(debug_assertions)]
        {
            self.check_bind_index();
            debug_assert_eq!(r, self.bound_conflict_scan(ip, port, reuse), "bind index");
        }
        r
    }

    /// Whether a connection or TIME-WAIT entry on `port` conflicts: its
    /// port's list walked until one does.
    fn bound_conflict(&self, ip: IpAddr, port: u16, reuse: bool) -> bool {
        let mut v = self.bind_head(port).unwrap_or(NONE);
        while v != NONE {
            let (a, r) = binding(&self.slots, &self.tw, v);
            if overlap(a, ip) && !(reuse && r) {
                return true;
            }
            v = links(&self.slots, &self.tw, v)[0];
        }
        false
    }

    /// [`bound_conflict`](Self::bound_conflict) without the index: every
    /// connection and TIME-WAIT entry scanned (debug builds check the
    /// index against it).
    #[cfg(debug_assertions)]
    fn bound_conflict_scan(&self, ip: IpAddr, port: u16, reuse: bool) -> bool {
        let overlap = |a: IpAddr| overlap(a, ip);
        let conn = self.slots.iter().filter_map(|s| s.get()).any(|e| {
            !e.dead
                && e.tuple.local_port == port
                && overlap(e.tuple.local_ip)
                && !(reuse && e.reuse)
        });
        if conn {
            return true;
        }
        self.tw.iter().any(|(i, e)| {
            let t = self.tw.tuple(i);
            t.local_port == port && overlap(t.local_ip) && !(reuse && e.reuse_addr())
        })
    }

    /// Checks the index against a recount: every connection that is not
    /// dead and every TIME-WAIT entry is in exactly one list, its port's,
    /// whose head the table names; the links agree both ways; nothing
    /// else is in a list.
    #[cfg(debug_assertions)]
    pub(super) fn check_bind_index(&self) {
        let (slots, tw) = (&self.slots[..], &self.tw);
        let mut members = 0usize;
        let mut heads_walked = 0usize;
        let mut check = |v: u32, port: u16| {
            let [next, prev] = links(slots, tw, v);
            assert_ne!(prev, UNBOUND, "bound entry {v:#x} not in the index");
            members += 1;
            if next != NONE {
                assert_eq!(links(slots, tw, next)[1], v, "next.prev");
                assert_eq!(port_of(slots, tw, next), port, "next on the port");
            }
            if prev == NONE {
                assert_eq!(self.bind_head(port), Some(v), "head in the table");
                // Walk the list once from its head.
                let mut x = v;
                while x != NONE {
                    heads_walked += 1;
                    x = links(slots, tw, x)[0];
                }
            } else {
                assert_eq!(links(slots, tw, prev)[0], v, "prev.next");
                assert_eq!(port_of(slots, tw, prev), port, "prev on the port");
            }
        };
        for (i, s) in slots.iter().enumerate() {
            match s.get() {
                Some(e) if !e.dead => check(i as u32, e.tuple.local_port),
                Some(e) => assert_eq!(e.bind, UNLINKED, "dead connection {i} in the index"),
                None => {}
            }
        }
        for (i, _) in tw.iter() {
            check(TW_BIT | i, tw.get(i).local_port());
        }
        // No ring detached from every head: each member is reached from
        // its head exactly once.
        assert_eq!(members, heads_walked, "bind lists reach every member");
    }
}
