//! ICMP errors for the whole host (RFC 9293 §3.9.2.2, RFC 1122 §4.2.3.9,
//! RFC 5927 §4.1 for the sequence-number check, RFC 1191 and RFC 8201 for
//! path MTU discovery).
//!
//! The host hands [`Endpoint::on_icmp`] an ICMP or ICMPv6 error and the
//! datagram it quotes (the IP header we sent and at least the first 8
//! bytes of our TCP header). The quoted 4-tuple names the connection; the
//! quoted sequence number must lie in SND.UNA..SND.NXT or the message is
//! ignored (a blind attacker cannot guess it: RFC 5927 §4.1, Linux's
//! `OutOfWindowIcmps`). TIME-WAIT entries and listeners take no ICMP.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::store::Store;
use super::{Endpoint, TW_BIT, Tuple};
use crate::connection::IcmpError;
use crate::seq::SeqNum;
use crate::time::Instant;

/// What an ICMP error quotes of a TCP segment we sent: its 4-tuple (as
/// ours: local is the quoted source) and its sequence number.
fn quoted_tcp(quoted: &[u8]) -> Option<(Tuple, SeqNum, u16)> {
    let version = quoted.first()? >> 4;
    let (src, dst, proto, hlen, ip_overhead) = match version {
        4 => {
            let ihl = usize::from(quoted[0] & 0x0f) * 4;
            if ihl < 20 || quoted.len() < ihl {
                return None;
            }
            let a =
                |i: usize| Ipv4Addr::new(quoted[i], quoted[i + 1], quoted[i + 2], quoted[i + 3]);
            (IpAddr::V4(a(12)), IpAddr::V4(a(16)), quoted[9], ihl, 20)
        }
        6 => {
            if quoted.len() < 40 {
                return None;
            }
            let a = |i: usize| {
                let mut b = [0u8; 16];
                b.copy_from_slice(&quoted[i..i + 16]);
                Ipv6Addr::from(b)
            };
            // Extension headers are not walked: the Endpoint sends none.
            (IpAddr::V6(a(8)), IpAddr::V6(a(24)), quoted[6], 40, 40)
        }
        _ => return None,
    };
    if proto != 6 {
        return None;
    }
    // RFC 792 / RFC 4443: at least 8 bytes of the transport header.
    let tcp = quoted.get(hlen..hlen + 8)?;
    let tuple = Tuple {
        local_ip: src,
        remote_ip: dst,
        local_port: u16::from_be_bytes([tcp[0], tcp[1]]),
        remote_port: u16::from_be_bytes([tcp[2], tcp[3]]),
    };
    let seq = SeqNum(u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]));
    Some((tuple, seq, ip_overhead))
}

impl<S: Store> Endpoint<S> {
    /// An ICMP or ICMPv6 error arrived (build `e` with
    /// [`IcmpError::from_v4`] or [`IcmpError::from_v6`] from the message's
    /// type, code and MTU field). `quoted` is the message's payload: the
    /// datagram it is about, from its IP header on, with at least 8 bytes
    /// of TCP.
    ///
    /// The error goes to the connection the quoted 4-tuple names, if the
    /// quoted sequence number lies in SND.UNA..SND.NXT (RFC 5927 §4.1;
    /// otherwise counted in [`Counters::out_of_window_icmps`](super::Counters::out_of_window_icmps)).
    /// There, [`Connection::on_icmp`](crate::Connection::on_icmp) applies
    /// it: a hard error (protocol or port unreachable) ends a connection
    /// still opening (RFC 1122 §4.2.3.9), "fragmentation needed" / "packet
    /// too big" lowers the MSS (RFC 1191, RFC 8201), the rest is kept as
    /// the connection's soft error (MUST-56: never an abort), unless
    /// [`Config::linux_icmp`](crate::Config::linux_icmp) says otherwise.
    pub fn on_icmp(&mut self, now: Instant, e: IcmpError, quoted: &[u8]) {
        let now = self.clock(now);
        self.counters.icmp_in += 1;
        let Some((tuple, seq, ip_overhead)) = quoted_tcp(quoted) else {
            self.counters.icmp_no_conn += 1;
            return;
        };
        let idx = match self.lookup(&tuple) {
            Some(v) if v & TW_BIT == 0 => v,
            _ => {
                self.counters.icmp_no_conn += 1;
                return;
            }
        };
        let Some(entry) = self.entry_mut(idx) else {
            self.counters.icmp_no_conn += 1;
            return;
        };
        if entry.dead {
            self.counters.icmp_no_conn += 1;
            return;
        }
        if !entry.conn.icmp_seq_in_flight(seq) {
            self.counters.out_of_window_icmps += 1;
            return;
        }
        // A Fast Open child not yet accepted is what Linux's `tcp_v4_err`
        // ends on any error (Config::linux_icmp); an accepted one is
        // connected.
        let queued = entry.queue == super::Queue::Accept;
        let a = entry.conn.icmp(now, e, ip_overhead, queued);
        self.after(idx, a, now);
    }
}
