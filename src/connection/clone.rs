//! Snapshots of a connection for model checking (feature `testing`).
//!
//! [`Connection`] derives `Clone` (when its storage does); this file adds
//! [`Connection::fingerprint`], a hash of everything that decides what the
//! connection does next, so that a search can tell states it has seen.

use core::hash::{Hash, Hasher};
use std::hash::DefaultHasher;

use super::{Connection, Storage};

/// Feeds `Debug` output into a hasher (for the few fields without `Hash`).
struct DebugHasher<'a>(&'a mut DefaultHasher);

impl core::fmt::Write for DebugHasher<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

impl<B: Storage> Connection<B> {
    /// A hash of the connection's behaviour-relevant state: the state, the
    /// flags, the send and receive sequence spaces, RTT and congestion
    /// variables, the timers, and the bytes held in both buffers (including
    /// out-of-order data). Two connections with the same configuration and
    /// the same fingerprint react alike to the same inputs (up to hash
    /// collisions). The configuration and the [`Stats`](super::Stats)
    /// counters are not part of it.
    ///
    /// The hash is stable within one build (it uses `DefaultHasher::new()`,
    /// which has fixed keys), not across Rust versions.
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.state.hash(&mut h);
        (
            self.passive(),
            self.app_closed(),
            self.fin_queued(),
            self.syn_acked(),
            self.fin_received(),
            self.fin_acked(),
            self.syn_retransmitted(),
            self.nagle(),
            self.ts_on(),
            self.sack_on(),
            self.ecn_on(),
            self.ece_pending(),
        )
            .hash(&mut h);
        (
            self.cwr_pending(),
            self.ack_now(),
            self.fast_rtx(),
            self.force_send(),
            self.tlp_armed(),
            self.tlp_out(),
            self.tlp_rtx(),
            self.in_recovery(),
        )
            .hash(&mut h);
        (self.probe as u8, self.snd_wscale, self.rcv_wscale).hash(&mut h);
        (
            self.dupacks,
            self.retries,
            self.zwp_probes,
            self.zwp_unanswered,
            self.ka_probes,
            self.challenge_n,
        )
            .hash(&mut h);
        (
            self.iss,
            self.snd_una,
            self.snd_nxt,
            self.snd_max,
            self.snd_wl1,
            self.snd_wl2,
            self.snd_wnd,
            self.max_snd_wnd,
            self.recover,
            self.cold().tlp_high,
        )
            .hash(&mut h);
        self.undo()
            .map(|u| (u.cwnd, u.ssthresh, u.tsval))
            .hash(&mut h);
        (
            self.irs,
            self.rcv_nxt,
            self.rcv_adv,
            self.last_ack_sent,
            self.rcv_fin(),
            self.smss,
            self.rcv_mss_est,
            self.ts_recent,
            self.ts_recent_stamp,
            self.ts_offset,
        )
            .hash(&mut h);
        (
            self.srtt,
            self.rttvar,
            self.rto,
            self.rtt_sample,
            self.unacked_since,
            self.cwnd,
            self.ssthresh,
            self.last_send,
            self.ack_pending,
            self.cold().challenge_at_ms,
            self.pending_rst(),
        )
            .hash(&mut h);
        let _ = core::fmt::write(&mut DebugHasher(&mut h), format_args!("{:?}", self.cc));
        (
            self.timers,
            self.reported_deadline,
            self.last_now,
            self.close_reason,
        )
            .hash(&mut h);
        for r in self.sacked.ranges() {
            r.hash(&mut h);
        }
        (self.high_rxt, self.asm.mark(), self.dsack(), self.nibbles).hash(&mut h);
        // The uncommon modes (urgent data, F-RTO, PLPMTUD; `urgent.rs`),
        // without the send path's burst mark: it says only which work the
        // next predicted segment may skip, never what it sends.
        let xflags = self.xflags & !super::urgent::x::BURST;
        (
            xflags,
            self.cold().snd_up,
            self.rcv_up,
            self.cold().dsack_round,
            (
                self.cold().mtu_low,
                self.cold().mtu_high,
                self.cold().mtu_probe_end,
            ),
        )
            .hash(&mut h);
        // Buffers: the stored bytes, and the out-of-order bytes the
        // assembler says are held past them.
        let mut chunk = [0u8; 256];
        for ring in [&self.tx, &self.rx] {
            ring.len().hash(&mut h);
            let mut off = 0;
            loop {
                let n = ring.read_at(off, &mut chunk);
                if n == 0 {
                    break;
                }
                h.write(&chunk[..n]);
                off += n;
            }
        }
        for (start, end) in self.asm.ranges() {
            (start, end).hash(&mut h);
            let mut off = start as usize;
            while off < end as usize {
                let want = (end as usize - off).min(chunk.len());
                let n = self.rx.read_unallocated(off, &mut chunk[..want]);
                if n == 0 {
                    break;
                }
                h.write(&chunk[..n]);
                off += n;
            }
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Buffers, Config, Connection, Instant, SeqNum};

    #[test]
    fn clone_is_deep_and_fingerprint_tracks_changes() {
        let mut a = Connection::new(Config::rfc9293(), Buffers::with_capacity(64, 64)).unwrap();
        let f0 = a.fingerprint();
        let _ = a.connect(Instant::from_secs(1), SeqNum(7)).unwrap();
        let f1 = a.fingerprint();
        assert_ne!(f0, f1);
        let b = a.clone();
        assert_eq!(b.fingerprint(), f1);
        let mut buf = [0u8; 1500];
        let _ = a.poll_transmit(Instant::from_secs(1), &mut buf).unwrap();
        assert_eq!(
            b.fingerprint(),
            f1,
            "the clone did not change with the original"
        );
    }

    /// The out-of-order bytes held past a hole are part of the
    /// fingerprint, every one of them (the model checker tells states
    /// apart by it): two connections that hold the same range, more than
    /// one 256-byte chunk long (and within the 536-byte MSS the peer
    /// offered none for), with another byte at its start or at its end
    /// differ.
    #[test]
    fn fingerprint_covers_every_out_of_order_byte() {
        use crate::wire::{Flags, Segment, TcpOptions};
        let now = Instant::from_secs(1);
        let mut a = Connection::new(Config::rfc9293(), Buffers::with_capacity(4096, 64)).unwrap();
        let _ = a.connect(now, SeqNum(7)).unwrap();
        let mut buf = [0u8; 1500];
        let _ = a.poll_transmit(now, &mut buf).unwrap();
        let seg = |seq: u32, flags: Flags, payload: &'static [u8]| Segment {
            seq: SeqNum(seq),
            ack: SeqNum(8),
            flags,
            window: 4096,
            urgent: 0,
            options: TcpOptions::NONE,
            payload,
        };
        let _ = a.on_segment(now, &seg(1000, Flags::SYN | Flags::ACK, &[]));
        assert_eq!(a.rcv_nxt(), SeqNum(1001));
        let _ = a.poll_transmit(now, &mut buf);
        static DATA: [u8; 500] = [5; 500];
        static FIRST: [u8; 500] = {
            let mut d = [5; 500];
            d[0] = 6;
            d
        };
        static LAST: [u8; 500] = {
            let mut d = [5; 500];
            d[499] = 6;
            d
        };
        // 500 bytes 100 past RCV.NXT: held out of order.
        let held = |data: &'static [u8]| {
            let mut c = a.clone();
            let _ = c.on_segment(now, &seg(1101, Flags::ACK, data));
            assert_eq!(c.rcv_nxt(), SeqNum(1001));
            assert_eq!(c.asm.ranges().count(), 1);
            c.fingerprint()
        };
        let f = held(&DATA);
        assert_ne!(f, a.fingerprint());
        assert_eq!(f, held(&DATA));
        assert_ne!(f, held(&FIRST), "the first byte");
        assert_ne!(f, held(&LAST), "the last byte");
    }

    /// The congestion controller's own state (CUBIC's W_max and epoch,
    /// hashed through its `Debug` form) is part of the fingerprint: two
    /// connections that differ only there react differently to the next
    /// ACK.
    #[test]
    fn fingerprint_covers_the_congestion_controller() {
        use crate::connection::congestion::CongestionControl;
        let mut a = Connection::new(Config::linux(), Buffers::with_capacity(64, 64)).unwrap();
        let now = Instant::from_secs(1);
        let _ = a.connect(now, SeqNum(7)).unwrap();
        let mut b = a.clone();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let w = b.window();
        let _ = CongestionControl::on_congestion(&mut b.cc, w, now);
        assert_ne!(
            format!("{:?}", a.cc),
            format!("{:?}", b.cc),
            "the controller's state changed"
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
