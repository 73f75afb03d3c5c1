//! The compact TIME-WAIT table (RFC 9293 §3.10.7.4 TIME-WAIT; RFC 1337;
//! RFC 6191; Linux `inet_timewait_sock`).
//!
//! A connection that enters TIME-WAIT leaves its buffers and its TCB
//! behind; a [`TimeWaitEntry`] of 48 bytes keeps what TIME-WAIT needs:
//! the 4-tuple (the local address as an index into a small table of the
//! host's addresses), SND.NXT, RCV.NXT, the receive window last
//! advertised (Linux `tw_rcv_wnd`), TS.Recent with its age, when the last
//! ACK to an out-of-window segment went out, and the expiry. The timestamp
//! offset is not kept: the Endpoint derives it from the address pair.
//!
//! ACKs to out-of-window segments (a retransmitted FIN, an old duplicate,
//! a PAWS reject, a refused SYN) are spaced by at least
//! `challenge_ack_interval` per entry (RFC 5961 §7 ACK throttling; Linux
//! `tcp_timewait_check_oow_rate_limit` with `tcp_invalid_ratelimit`,
//! 500 ms), so a flood at a TIME-WAIT tuple cannot be reflected.
//!
//! Each entry owns exactly one node of the timer wheel, whatever arrives:
//! a segment that restarts 2MSL only moves the entry's expiry later, and
//! the node, when it fires early, is put back at the expiry (as a
//! connection's RTO is re-armed). An entry that ends early (a RST, a SYN
//! that reuses the tuple) takes its node out of the wheel. A flood at a
//! TIME-WAIT tuple therefore costs no wheel work per segment and leaves
//! nothing behind (Linux `inet_twsk_reschedule` likewise moves the one
//! timer of the `inet_timewait_sock`).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::bind::UNLINKED;
use super::store::{Seq, Store, Table};
use super::{Endpoint, TW_BIT, Tuple, tick_ceil, tick_floor};
use crate::connection::TimeWaitVars;
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{Flags, Segment, TcpOptions, Timestamps};
use crate::{Timer, Transmit};

const F_V6: u8 = 1;
const F_TS: u8 = 2;
const F_FREE: u8 = 4;
/// An out-of-window ACK was sent at `last_oow_ms`.
const F_OOW: u8 = 8;
/// The connection was bound with `reuse_addr` (Linux `tw_reuse`, copied
/// from the socket's `SO_REUSEADDR`).
const F_REUSE: u8 = 16;

/// PAWS gives up on a TS.Recent older than 24 days (RFC 7323 §5.5).
const PAWS_IDLE_S: u32 = 24 * 24 * 3600;

/// What remains of a connection in TIME-WAIT: 48 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWaitEntry {
    remote: [u8; 16],
    local_port: u16,
    remote_port: u16,
    local_idx: u8,
    flags: u8,
    /// The window field of our ACKs (scaled as the connection's were).
    window: u16,
    snd_nxt: u32,
    rcv_nxt: u32,
    ts_recent: u32,
    /// When the last out-of-window ACK went out, milliseconds, wrapping.
    last_oow_ms: u32,
    /// When TS.Recent was taken, in seconds (Linux `ts_recent_stamp`).
    ts_recent_stamp: u32,
    /// When the entry expires, milliseconds, wrapping (entries live far
    /// less than the 49 days a `u32` spans).
    expiry_ms: u32,
}

const _: () = assert!(core::mem::size_of::<TimeWaitEntry>() == 48);

fn secs(t: Instant) -> u32 {
    (t.as_micros() / 1_000_000) as u32
}

impl TimeWaitEntry {
    pub(crate) fn local_port(&self) -> u16 {
        self.local_port
    }
    pub(crate) fn snd_nxt(&self) -> SeqNum {
        SeqNum(self.snd_nxt)
    }
    fn ts_on(&self) -> bool {
        self.flags & F_TS != 0
    }
    /// Whether its connection was bound with `reuse_addr`.
    pub(crate) fn reuse_addr(&self) -> bool {
        self.flags & F_REUSE != 0
    }
    /// Linux `tcp_twsk_unique`: timestamps on and TS.Recent more than one
    /// second old.
    pub(crate) fn reusable(&self, now: Instant) -> bool {
        self.ts_on() && secs(now).wrapping_sub(self.ts_recent_stamp) > 1
    }
    /// Remaining lifetime at `now`.
    pub(crate) fn remaining(&self, now: Instant) -> crate::time::Duration {
        let now_ms = now.as_millis() as u32;
        let left = self.expiry_ms.wrapping_sub(now_ms);
        // expiry_ms is a wheel tick: milliseconds, rounded up.
        crate::time::Duration::from_millis(if (left as i32) < 0 {
            0
        } else {
            u64::from(left)
        })
    }
    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, with timestamps when on.
    fn ack(&self, now: Instant, ts_offset: u32) -> Transmit {
        let mut options = TcpOptions::NONE;
        if self.ts_on() {
            options.timestamps = Some(Timestamps {
                val: (now.as_millis() as u32).wrapping_add(ts_offset),
                ecr: self.ts_recent,
            });
        }
        Transmit {
            seq: SeqNum(self.snd_nxt),
            ack: SeqNum(self.rcv_nxt),
            flags: Flags::ACK,
            window: self.window,
            urgent: 0,
            ect: false,
            options,
            len: 0,
        }
    }
}

/// No wheel node.
const NO_NODE: u32 = u32::MAX;

/// The entries, their wheel nodes, their free list, and the
/// local-address table.
pub(crate) struct TimeWaitTable<S: Store> {
    entries: S::Vec<TimeWaitEntry>,
    /// `nodes[i]`: entry `i`'s one node in the timer wheel (`NO_NODE`
    /// while it has none), beside the entries so that an entry stays 48
    /// bytes.
    nodes: S::Vec<u32>,
    /// `bind[i]`: entry `i`'s `[next, prev]` in its port's list of the
    /// bind index (`super::bind`), beside the entries as `nodes` is.
    bind: S::Vec<[u32; 2]>,
    free: S::Vec<u32>,
    len: usize,
    locals: S::Vec<IpAddr>,
}

impl<S: Store> Default for TimeWaitTable<S> {
    fn default() -> Self {
        TimeWaitTable {
            entries: Default::default(),
            nodes: Default::default(),
            bind: Default::default(),
            free: Default::default(),
            len: 0,
            locals: Default::default(),
        }
    }
}

impl<S: Store> TimeWaitTable<S> {
    /// Whether the wheel entry (`i`, `tick`) is the live timer of entry
    /// `i`: every TIME-WAIT node in the wheel is (an entry removes its
    /// node when it ends), so this is whether entry `i` is live.
    pub(crate) fn timer_live(&self, i: u32, tick: u64) -> bool {
        let _ = tick;
        self.is_live(i)
    }
    /// Entry `i`'s wheel node, which the caller takes out of the wheel.
    fn take_node(&mut self, i: u32) -> u32 {
        self.nodes
            .get_mut(i as usize)
            .map_or(NO_NODE, |n| core::mem::replace(n, NO_NODE))
    }
    fn set_node(&mut self, i: u32, node: u32) {
        if let Some(n) = self.nodes.get_mut(i as usize) {
            *n = node;
        }
    }
    pub(super) fn bind_links(&self, i: u32) -> [u32; 2] {
        self.bind.get(i as usize).copied().unwrap_or(UNLINKED)
    }
    pub(super) fn set_bind_links(&mut self, i: u32, l: [u32; 2]) {
        if let Some(b) = self.bind.get_mut(i as usize) {
            *b = l;
        }
    }
    /// Entry `i`'s local address.
    pub(super) fn local_ip(&self, i: u32) -> IpAddr {
        self.locals[usize::from(self.entries[i as usize].local_idx)]
    }
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    pub(crate) fn get(&self, i: u32) -> &TimeWaitEntry {
        &self.entries[i as usize]
    }
    pub(crate) fn is_live(&self, i: u32) -> bool {
        self.entries
            .get(i as usize)
            .is_some_and(|e| e.flags & F_FREE == 0)
    }
    pub(crate) fn tuple(&self, i: u32) -> Tuple {
        let e = &self.entries[i as usize];
        let remote_ip = if e.flags & F_V6 != 0 {
            IpAddr::V6(Ipv6Addr::from(e.remote))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                e.remote[0],
                e.remote[1],
                e.remote[2],
                e.remote[3],
            ))
        };
        Tuple {
            local_ip: self.locals[usize::from(e.local_idx)],
            remote_ip,
            local_port: e.local_port,
            remote_port: e.remote_port,
        }
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &TimeWaitEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.flags & F_FREE == 0)
            .map(|(i, e)| (i as u32, e))
    }

    fn local_index(&mut self, ip: IpAddr) -> Option<u8> {
        if let Some(i) = self.locals.iter().position(|&a| a == ip) {
            return Some(i as u8);
        }
        if self.locals.len() >= usize::from(u8::MAX) {
            return None;
        }
        self.locals.try_push(ip).ok()?;
        Some((self.locals.len() - 1) as u8)
    }

    fn insert(&mut self, t: &Tuple, v: &TimeWaitVars, expiry: Instant, reuse: bool) -> Option<u32> {
        if self.free.is_empty() && self.entries.len() >= self.entries.cap() {
            return None;
        }
        let local_idx = self.local_index(t.local_ip)?;
        let (remote, v6) = match t.remote_ip {
            IpAddr::V4(a) => {
                let mut r = [0u8; 16];
                r[..4].copy_from_slice(&a.octets());
                (r, false)
            }
            IpAddr::V6(a) => (a.octets(), true),
        };
        let e = TimeWaitEntry {
            remote,
            local_idx,
            local_port: t.local_port,
            remote_port: t.remote_port,
            flags: if v6 { F_V6 } else { 0 }
                | if v.ts_on { F_TS } else { 0 }
                | if reuse { F_REUSE } else { 0 },
            window: v.window,
            snd_nxt: v.snd_nxt.0,
            rcv_nxt: v.rcv_nxt.0,
            ts_recent: v.ts_recent,
            last_oow_ms: 0,
            ts_recent_stamp: secs(v.ts_recent_age),
            expiry_ms: tick_ceil(expiry) as u32,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = e;
                self.nodes[i as usize] = NO_NODE;
                self.bind[i as usize] = UNLINKED;
                i
            }
            None => {
                // All three have the capacity of `S::Vec`; the side
                // vectors first, so that a failure leaves the three the
                // same length.
                self.nodes.try_push(NO_NODE).ok()?;
                if self.bind.try_push(UNLINKED).is_err() {
                    self.nodes.pop();
                    return None;
                }
                if self.entries.try_push(e).is_err() {
                    self.nodes.pop();
                    self.bind.pop();
                    return None;
                }
                (self.entries.len() - 1) as u32
            }
        };
        self.len += 1;
        Some(i)
    }

    fn remove(&mut self, i: u32) {
        if self.is_live(i) {
            self.entries[i as usize].flags = F_FREE;
            // Cannot fail: no more free indices than entries.
            let _ = self.free.try_push(i);
            self.len -= 1;
        }
    }
}

/// What a segment to a TIME-WAIT entry leads to.
pub(crate) enum TwVerdict {
    /// Nothing (dropped, or answered already).
    Done,
    /// A new SYN that may reuse the tuple: hand it to the listener with
    /// this ISS.
    Reuse(SeqNum),
}

impl<S: Store> Endpoint<S> {
    /// Replaces connection `idx`, in TIME-WAIT, by a compact entry. Over
    /// `max_time_wait` the connection skips TIME-WAIT (Linux's overflow
    /// policy for `tcp_max_tw_buckets`).
    pub(super) fn enter_time_wait(&mut self, idx: u32, now: Instant) {
        let Some(e) = self.slots[idx as usize].get_mut() else {
            return;
        };
        let vars = e.conn.time_wait_vars();
        // The connection's 2MSL timer (RFC 9293 §3.10.7.4), always armed
        // in TIME-WAIT; the fallback's `Duration` arithmetic only when not.
        let expiry = e
            .conn
            .timer(Timer::TimeWait)
            .unwrap_or_else(|| now + self.cfg.conn.time_wait());
        let ack = e.conn.wants_output();
        let tuple = e.tuple;
        let reuse = e.reuse;
        e.dead = true;
        // The handle (if the application holds it) lives on with what is
        // left to read; the 4-tuple moves to the table below.
        self.ended(idx, crate::CloseReason::Normal);
        // Flush the ACK of the peer's FIN through the entry below.
        let ti = if self.tw.len() < self.cfg.max_time_wait && self.table.has_room() {
            self.tw.insert(&tuple, &vars, expiry, reuse)
        } else {
            None
        };
        // The 4-tuple now names the TIME-WAIT entry (or nothing).
        self.detach(idx, ti.map(|ti| TW_BIT | ti));
        // In the transmit queue, the slot is freed when the queue reaches
        // it; the ACK goes out through the entry below.
        self.maybe_free(idx);
        match ti {
            Some(ti) => {
                self.counters.time_wait_entered += 1;
                self.arm_time_wait(ti, tick_ceil(expiry));
                if ack {
                    let t = self.tw.get(ti).ack(now, vars.ts_offset);
                    self.push_ctrl(tuple, t);
                }
            }
            None => {
                self.counters.time_wait_overflow += 1;
                if ack {
                    // Still ACK the FIN: the peer should not have to retransmit.
                    let v = TimeWaitEntry {
                        remote: [0; 16],
                        local_idx: 0,
                        local_port: 0,
                        remote_port: 0,
                        flags: if vars.ts_on { F_TS } else { 0 },
                        window: vars.window,
                        snd_nxt: vars.snd_nxt.0,
                        rcv_nxt: vars.rcv_nxt.0,
                        ts_recent: vars.ts_recent,
                        last_oow_ms: 0,
                        ts_recent_stamp: 0,
                        expiry_ms: 0,
                    };
                    self.push_ctrl(tuple, v.ack(now, vars.ts_offset));
                }
            }
        }
    }

    pub(super) fn remove_time_wait(&mut self, ti: u32, t: &Tuple) {
        self.table_set(self.keys.table_hash(t), TW_BIT | ti, None);
        // Its timer goes with it: nothing stale is left in the wheel.
        let n = self.tw.take_node(ti);
        self.wheel.remove(n);
        self.tw.remove(ti);
    }

    /// Puts entry `ti`'s one wheel node at `tick`.
    fn arm_time_wait(&mut self, ti: u32, tick: u64) {
        let n = self.wheel_insert(TW_BIT | ti, tick).unwrap_or(NO_NODE);
        self.tw.set_node(ti, n);
    }

    /// Entry `ti`'s node fired at `tick` (`on_timer` took it out of the
    /// wheel): the entry has expired, or 2MSL was restarted since the
    /// node was placed and it goes back in at the new expiry.
    pub(super) fn time_wait_timer(&mut self, ti: u32, tick: u64) {
        if !self.tw.is_live(ti) {
            return;
        }
        let _ = self.tw.take_node(ti);
        // Expiries are wrapping milliseconds, within 2^31 of `tick`.
        let ahead = self.tw.get(ti).expiry_ms.wrapping_sub(tick as u32) as i32;
        let expiry = tick.saturating_add(ahead.max(0) as u64);
        // Still ahead of the clock (the node may fire long after its tick):
        // back in the wheel; else the entry has expired now.
        if expiry > tick_floor(self.last_now) {
            self.arm_time_wait(ti, expiry);
            return;
        }
        let t = self.tw.tuple(ti);
        self.remove_time_wait(ti, &t);
    }

    /// A segment for a 4-tuple in TIME-WAIT (Linux
    /// `tcp_timewait_state_process`, which follows RFC 9293 §3.10.7.4 with
    /// RFC 1337, RFC 6191 and RFC 7323 PAWS).
    pub(super) fn time_wait_input(
        &mut self,
        ti: u32,
        tuple: &Tuple,
        seg: &Segment<'_>,
        now: Instant,
    ) -> TwVerdict {
        let rfc1337 = self.cfg.conn.rfc1337;
        let restart = self.cfg.conn.time_wait();
        let e = &mut self.tw.entries[ti as usize];
        let f = seg.flags;
        let rcv_nxt = SeqNum(e.rcv_nxt);
        let ts = seg.options.timestamps;
        // RFC 7323 §5.3 PAWS.
        let paws_reject = e.ts_on()
            && !f.rst()
            && ts.is_some_and(|ts| (ts.val.wrapping_sub(e.ts_recent) as i32) < 0)
            && secs(now).wrapping_sub(e.ts_recent_stamp) < PAWS_IDLE_S;
        if !paws_reject && seg.seq == rcv_nxt && (seg.seg_len() == 0 || f.rst()) {
            // In window: only a RST or a bare ACK can be.
            if f.rst() {
                if rfc1337 {
                    // RFC 1337: ignore RST in TIME-WAIT (R1337-1).
                    self.counters.rst_in_time_wait_ignored += 1;
                } else {
                    // Linux's tcp_rfc1337=0: the RST ends TIME-WAIT.
                    self.remove_time_wait(ti, tuple);
                }
                return TwVerdict::Done;
            }
            // Restart 2MSL: the entry's node fires early and is put back
            // at the new expiry (`time_wait_timer`): no wheel work here.
            e.expiry_ms = tick_ceil(now + restart) as u32;
            if let (true, Some(ts)) = (e.ts_on(), ts) {
                e.ts_recent = ts.val;
                e.ts_recent_stamp = secs(now);
            }
            return TwVerdict::Done;
        }
        // RFC 9293 §3.6.1 (MAY-2) and RFC 6191: a SYN may open a new
        // incarnation if its sequence number is above the old RCV.NXT, or
        // its timestamp is newer than TS.Recent; PAWS must pass.
        if f.syn() && !f.rst() && !f.ack() && !paws_reject {
            let newer_ts =
                e.ts_on() && ts.is_some_and(|ts| (e.ts_recent.wrapping_sub(ts.val) as i32) < 0);
            if seg.seq.after(rcv_nxt) || newer_ts {
                // The new ISS starts above anything the old incarnation sent
                // (Linux: tw_snd_nxt + 65535 + 2; R6191-3).
                let iss = SeqNum(e.snd_nxt).add(65537);
                self.remove_time_wait(ti, tuple);
                self.counters.time_wait_syn_accepted += 1;
                return TwVerdict::Reuse(iss);
            }
            self.counters.time_wait_syn_refused += 1;
        }
        if paws_reject {
            self.counters.paws_rejected += 1;
        }
        if f.rst() {
            return TwVerdict::Done;
        }
        // Out of window: ACK (a retransmitted FIN gets its ACK here) and, for
        // segments with ACK or rejected by PAWS, restart 2MSL.
        if paws_reject || f.ack() {
            e.expiry_ms = tick_ceil(now + restart) as u32;
        }
        // RFC 5961 §7: at most one such ACK per interval (Linux
        // `tcp_timewait_check_oow_rate_limit`).
        let now_ms = now.as_millis() as u32;
        let gap = self.cfg.conn.challenge_ack_interval.as_millis() as u32;
        let e = &mut self.tw.entries[ti as usize];
        if e.flags & F_OOW != 0 && now_ms.wrapping_sub(e.last_oow_ms) < gap {
            self.counters.tw_acks_skipped += 1;
            return TwVerdict::Done;
        }
        e.flags |= F_OOW;
        e.last_oow_ms = now_ms;
        let t = e.ack(now, self.keys.ts_offset(tuple.local_ip, tuple.remote_ip));
        self.push_ctrl(*tuple, t);
        TwVerdict::Done
    }
}
