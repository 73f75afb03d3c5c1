//! The state of uncommon events, on the heap from the first one (with
//! `alloc`; inline without).
//!
//! Most connections never retransmit, never see a challenge ACK, a
//! D-SACK, urgent data, an ICMP error or a path-MTU probe; they need none
//! of this state. With `alloc` it lives in one box that the first such
//! event allocates, so the TCB keeps a pointer instead (issue 17, W3); it
//! stays until the connection is dropped (the counters in it are for the
//! connection's whole life). Reads of an absent box see the defaults: no
//! event counted, no undo or pending RST/D-SACK block (their flag bits say
//! whether one is set; `flags.rs`), no urgent pointer or PLPMTUD search
//! (their `xflags` bits, `urgent.rs`), no D-SACK round, no challenge-ACK
//! interval.

use super::counters::Rare;
use super::{Connection, Storage, Undo};
use crate::seq::SeqNum;

/// The uncommon state (200 bytes with `alloc`, as `compare`'s W3 line
/// reports it; without `alloc` the fields marked so are left out). (The
/// soft ICMP error and the count of challenge ACKs, 3 bytes, stay in the
/// TCB: there they fill padding, here they would round the box up, and
/// without `alloc` the TCB with it.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Cold {
    /// The counters of rare events.
    pub(super) rare: Rare,
    /// `undo()` when its bit is set (`flags.rs`).
    pub(super) undo: Undo,
    /// `pending_rst()` or `dsack()`, whichever bit is set (`flags.rs`):
    /// never both.
    pub(super) pend: (SeqNum, SeqNum),
    /// SND.UP (RFC 9293 §3.3.1): one past our last urgent byte
    /// (MUST-62), while it is unacknowledged (`urgent.rs`).
    pub(super) snd_up: SeqNum,
    /// The end of the PLPMTUD probe in flight (`plpmtud.rs`).
    pub(super) mtu_probe_end: SeqNum,
    /// RACK.dsack_round (RFC 8985 §6.2.4): SND.MAX when a D-SACK last
    /// grew the reordering window; the round lasts while it lies in
    /// (SND.UNA, SND.MAX]. ISS on a new open: no round (a box made
    /// later starts there too, `cold_mut`).
    pub(super) dsack_round: SeqNum,
    /// When the current challenge-ACK interval started: milliseconds,
    /// wrapping; 0 when none has (RFC 5961 §7 rate limit).
    pub(super) challenge_at_ms: u32,
    /// SND.MAX when the loss probe was sent (RFC 8985 §7.3), while
    /// `tlp_out()`.
    pub(super) tlp_high: SeqNum,
    /// `Stats::bytes_in` and `Stats::bytes_out` above 32 bits: the
    /// wraps of the TCB's low words.
    pub(super) bytes_in_hi: u32,
    pub(super) bytes_out_hi: u32,
    /// PLPMTUD (`plpmtud.rs`): the largest send MSS known to pass, and
    /// the largest still possible (0: no search has started).
    pub(super) mtu_low: u16,
    pub(super) mtu_high: u16,
    /// PLPMTUD: the send MSS the first search started from (the largest
    /// a later search goes back up to), and when the search last started
    /// or found a size that passes (whole seconds of the connection's
    /// clock, wrapping: Linux's `probe_timestamp`). With `alloc` only
    /// (without it the TCB, which holds this box inline, has no room: a
    /// search that ended is not started again, `plpmtud.rs`).
    #[cfg(feature = "alloc")]
    pub(super) mtu_max: u16,
    #[cfg(feature = "alloc")]
    pub(super) mtu_at: u32,
    /// The send MSS the path MTU allows, as an ICMP "fragmentation
    /// needed" reported it in SYN-SENT, before the peer's MSS was known
    /// (0: none; `icmp.rs`). With `alloc` only (without it the TCB, which
    /// holds this box inline, has no room: the limit waits for the next
    /// ICMP error then).
    #[cfg(feature = "alloc")]
    pub(super) pmtu_mss: u16,
    /// `Config::linux_push` with `tso_segs` above 2: the segments still
    /// to go in the current GSO packet after the last one sent
    /// (`output.rs`, `gso_push`; with 2, the `psh_owed` bit alone).
    /// With `alloc` only (without it, packets of at most 2).
    #[cfg(feature = "alloc")]
    pub(super) gso_left: u8,
    /// `Config::linux_push`: SND.UNA at the last `SendMore`; once an ACK
    /// moves it on, the data waits no more (`output.rs`, `more_holds`).
    /// With `alloc` only (without it the TCB, which holds this box
    /// inline, has no room: `SendMore` data then waits as under a cork).
    #[cfg(feature = "alloc")]
    pub(super) more_una: SeqNum,
    /// Lost retransmissions to send again (RFC 8985 §6.2, `sack.rs`):
    /// the holes in [.0, .1) (while .1 is above SND.UNA).
    /// With `alloc` only (without it the TCB, which holds this box
    /// inline, has no room: lost retransmissions are found only when
    /// data sent after the last one is SACKed, `detect_lost_retransmissions`).
    #[cfg(feature = "alloc")]
    pub(super) rtx_again: (SeqNum, SeqNum),
    /// `rcv_fin()` when its bit is set (`flags.rs`): the sequence number
    /// of a FIN received out of order.
    pub(super) rcv_fin: SeqNum,
    /// The data our Fast Open SYN carried, when its SYN,ACK acknowledged
    /// all of it (tcp_info's `delivered` counts SYN and data as one
    /// segment, as Linux's tcp_rcv_fastopen_synack does). With `alloc`
    /// only (without it the TCB, which holds this box inline, has no room).
    #[cfg(feature = "alloc")]
    pub(super) syn_data: u32,
    /// Linux's chronographs for tcp_info (`info.rs`). With `alloc` only
    /// (without it the TCB, which holds this box inline, has no room).
    #[cfg(feature = "alloc")]
    pub(super) chrono: super::info::Chrono,
    /// Reordering events (Linux's `tp->reord_seen`, `TcpInfo::reord_seen`;
    /// `sack.rs`), wrapping. With `alloc` only (without it the TCB, which
    /// holds this box inline, has no room: 0 then).
    #[cfg(feature = "alloc")]
    pub(super) reord_seen: u32,
    /// In Linux's CWR state (`Config::linux_cwr`, `prr.rs`): an ECN-Echo
    /// reduction in progress. With `alloc` only (without it the TCB,
    /// which holds this box inline, has no room: cwnd is set at once).
    #[cfg(feature = "alloc")]
    pub(super) cwr: bool,
    /// The ends of the records not yet acknowledged (`AppCall::SendEor`,
    /// `records.rs`), in sequence order.
    #[cfg(feature = "alloc")]
    pub(super) records: alloc::vec::Vec<SeqNum>,
}

impl Cold {
    pub(super) const NEW: Cold = Cold {
        rare: Rare::ZERO,
        undo: Undo {
            cwnd: 0,
            ssthresh: 0,
            tsval: 0,
        },
        pend: (SeqNum(0), SeqNum(0)),
        snd_up: SeqNum(0),
        mtu_probe_end: SeqNum(0),
        dsack_round: SeqNum(0),
        challenge_at_ms: 0,
        tlp_high: SeqNum(0),
        bytes_in_hi: 0,
        bytes_out_hi: 0,
        mtu_low: 0,
        mtu_high: 0,
        #[cfg(feature = "alloc")]
        mtu_max: 0,
        #[cfg(feature = "alloc")]
        mtu_at: 0,
        #[cfg(feature = "alloc")]
        pmtu_mss: 0,
        #[cfg(feature = "alloc")]
        gso_left: 0,
        #[cfg(feature = "alloc")]
        more_una: SeqNum(0),
        #[cfg(feature = "alloc")]
        rtx_again: (SeqNum(0), SeqNum(0)),
        rcv_fin: SeqNum(0),
        #[cfg(feature = "alloc")]
        syn_data: 0,
        #[cfg(feature = "alloc")]
        chrono: super::info::Chrono::OFF,
        #[cfg(feature = "alloc")]
        reord_seen: 0,
        #[cfg(feature = "alloc")]
        cwr: false,
        #[cfg(feature = "alloc")]
        records: alloc::vec::Vec::new(),
    };

    /// What a new open resets (`reset_tcb`): the PLPMTUD search, the path
    /// MTU learned in SYN-SENT, the chronographs, the CWR state and the record ends (the D-SACK round:
    /// `set_iss`). The rest stays: the counters, and values that mean
    /// something only while a flag bit says so.
    fn reset(&mut self) {
        self.mtu_low = 0;
        self.mtu_high = 0;
        #[cfg(feature = "alloc")]
        {
            self.mtu_max = 0;
            self.pmtu_mss = 0;
            self.chrono = super::info::Chrono::OFF;
            self.cwr = false;
        }
        #[cfg(feature = "alloc")]
        self.records.clear();
    }
}

/// What an absent box reads as.
#[cfg(feature = "alloc")]
static NONE: Cold = Cold::NEW;

#[cfg(feature = "alloc")]
pub(super) type Slot = Option<alloc::boxed::Box<Cold>>;
#[cfg(not(feature = "alloc"))]
pub(super) type Slot = Cold;

/// A slot with nothing in it.
pub(super) const EMPTY: Slot = {
    #[cfg(feature = "alloc")]
    {
        None
    }
    #[cfg(not(feature = "alloc"))]
    {
        Cold::NEW
    }
};

impl<B: Storage> Connection<B> {
    /// The uncommon state, to read.
    #[inline]
    pub(super) fn cold(&self) -> &Cold {
        #[cfg(feature = "alloc")]
        return self.cold.as_deref().unwrap_or(&NONE);
        #[cfg(not(feature = "alloc"))]
        return &self.cold;
    }

    /// The uncommon state, to write (on the heap from the first write).
    #[inline]
    pub(super) fn cold_mut(&mut self) -> &mut Cold {
        #[cfg(feature = "alloc")]
        return self.cold.get_or_insert_with(|| {
            alloc::boxed::Box::new(Cold {
                dsack_round: self.iss,
                ..Cold::NEW
            })
        });
        #[cfg(not(feature = "alloc"))]
        return &mut self.cold;
    }

    /// A new open: the uncommon state that a new open resets (`Cold::reset`)
    /// back to its defaults, without allocating.
    pub(super) fn reset_cold(&mut self) {
        #[cfg(feature = "alloc")]
        if let Some(c) = self.cold.as_deref_mut() {
            c.reset();
        }
        #[cfg(not(feature = "alloc"))]
        self.cold.reset();
    }

    /// No D-SACK round: RACK.dsack_round at ISS (a new open), without
    /// allocating.
    pub(super) fn reset_dsack_round(&mut self, iss: SeqNum) {
        #[cfg(feature = "alloc")]
        if let Some(c) = self.cold.as_deref_mut() {
            c.dsack_round = iss;
        }
        #[cfg(not(feature = "alloc"))]
        {
            self.cold.dsack_round = iss;
        }
    }

    /// `Cold::pmtu_mss` (0 without `alloc`).
    pub(super) fn pmtu_mss(&self) -> u16 {
        #[cfg(feature = "alloc")]
        return self.cold().pmtu_mss;
        #[cfg(not(feature = "alloc"))]
        return 0;
    }

    /// Sets `Cold::pmtu_mss` (nothing without `alloc`).
    pub(super) fn set_pmtu_mss(&mut self, mss: u16) {
        #[cfg(feature = "alloc")]
        {
            self.cold_mut().pmtu_mss = mss;
        }
        #[cfg(not(feature = "alloc"))]
        let _ = mss;
    }

    /// The bytes of the box, if there is one.
    #[cfg(feature = "alloc")]
    pub(super) fn cold_heap_bytes(&self) -> usize {
        self.cold.as_ref().map_or(0, |c| {
            core::mem::size_of::<Cold>() + c.records.capacity() * core::mem::size_of::<SeqNum>()
        })
    }
}
