//! The connection's yes/no state, one bit each in a `u32` (4 bytes
//! instead of 22), read and written through one getter and one setter per
//! flag.

use super::{Connection, Storage};

macro_rules! flags {
    ($($(#[$doc:meta])* $bit:literal $get:ident $set:ident;)*) => {
        impl<B: Storage> Connection<B> {
            $(
                $(#[$doc])*
                #[inline]
                pub(super) fn $get(&self) -> bool {
                    self.flags & (1 << $bit) != 0
                }
                #[inline]
                pub(super) fn $set(&mut self, on: bool) {
                    if on {
                        self.flags |= 1 << $bit;
                    } else {
                        self.flags &= !(1 << $bit);
                    }
                }
            )*
        }
    };
}

flags! {
    /// Opened by a passive OPEN (RFC 9293 §3.5 MUST-11).
    0 passive set_passive;
    /// The application called CLOSE: it reads no more (an orphan once the
    /// host drops its handle).
    1 app_closed set_app_closed;
    /// A FIN is to follow the data in `tx` (Shutdown or Close).
    2 fin_queued set_fin_queued;
    /// Our SYN has been acknowledged.
    3 syn_acked set_syn_acked;
    /// The peer's FIN has been received (in order).
    4 fin_received set_fin_received;
    /// Our FIN has been acknowledged.
    5 fin_acked set_fin_acked;
    /// The SYN was retransmitted (RFC 6298 §5.7).
    6 syn_retransmitted set_syn_retransmitted;
    /// Nagle's algorithm is on (RFC 9293 §3.7.4).
    7 nagle set_nagle;
    /// Timestamps negotiated (RFC 7323 §3).
    8 ts_on set_ts_on;
    /// SACK negotiated (RFC 2018).
    9 sack_on set_sack_on;
    /// ECN negotiated (RFC 3168 §6.1.1).
    10 ecn_on set_ecn_on;
    /// Echo ECE on our ACKs until the peer's CWR (RFC 3168 §6.1.3).
    11 ece_pending set_ece_pending;
    /// Set CWR on the next new data segment (RFC 3168 §6.1.2).
    12 cwr_pending set_cwr_pending;
    /// Window scaling negotiated (both SYNs carried the option, RFC 7323 §2).
    13 ws_on set_ws_on;
    /// Send a pure ACK now.
    14 ack_now set_ack_now;
    /// Retransmit the first unacknowledged segment now (fast retransmit).
    15 fast_rtx set_fast_rtx;
    /// Send what the window allows even if below the SWS threshold.
    16 force_send set_force_send;
    /// The retransmission timer is a tail-loss-probe timer (RFC 8985 §7).
    17 tlp_armed set_tlp_armed;
    /// A loss probe is outstanding (until SND.UNA passes `tlp_high`).
    18 tlp_out set_tlp_out;
    /// Retransmit the last segment as a loss probe now.
    19 tlp_rtx set_tlp_rtx;
    /// In fast recovery (RFC 5681 §3.2, RFC 6675).
    20 in_recovery set_in_recovery;
    /// Interactive: delayed ACKs even in quick-ACK mode (Linux pingpong).
    21 pingpong set_pingpong;
}
