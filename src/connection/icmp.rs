//! ICMP errors passed up by the host's IP layer (RFC 9293 §3.9.2.2,
//! RFC 1122 §4.2.3.9, RFC 1191 path MTU discovery, RFC 5927).

use super::{Actions, Connection, Storage};
use crate::error::CloseReason;
use crate::state::{Event, State};
use crate::time::Instant;

/// An ICMP (or ICMPv6) error about a segment of this connection, as the
/// host's IP layer decoded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum IcmpError {
    /// Destination unreachable with this ICMPv4 code (0 net, 1 host,
    /// 2 protocol, 3 port, 5 source route failed, ...). Code 4 is
    /// [`IcmpError::FragmentationNeeded`].
    Unreachable {
        /// The ICMP code.
        code: u8,
    },
    /// Fragmentation needed and DF set / ICMPv6 Packet Too Big: the path
    /// MTU is `mtu` bytes (RFC 1191, RFC 8201).
    FragmentationNeeded {
        /// Next-hop MTU (IP packet size).
        mtu: u16,
    },
    /// Time exceeded.
    TimeExceeded,
    /// Parameter problem.
    ParameterProblem,
    /// Source quench (deprecated, RFC 6633).
    SourceQuench,
}

impl<B: Storage> Connection<B> {
    /// An ICMP error for this connection (RFC 9293 §3.9.2.2, MUST-54).
    ///
    /// Soft errors (unreachable codes 0, 1 and 5, time exceeded, parameter
    /// problem) never abort the connection (MUST-56); they are kept for
    /// [`Connection::soft_error`]. Hard errors (codes 2 and 3) abort a
    /// connection still in SYN-SENT (SHLD-26) and are otherwise soft.
    /// Source quench is ignored (MUST-55). A smaller path MTU lowers the
    /// send MSS (SHLD-6); the lost segment is resent at the new size by the
    /// retransmission timer. `ip_overhead` is the IP header length the MTU
    /// must also hold (20 for IPv4 without options, 40 for IPv6).
    pub fn on_icmp(&mut self, now: Instant, e: IcmpError, ip_overhead: u16) -> Actions {
        let now = self.clock(now);
        let mut a = Actions::NONE;
        match e {
            IcmpError::SourceQuench => {}
            IcmpError::FragmentationNeeded { mtu } => {
                // RFC 1191 §6.3: no lower than the 68-byte IPv4 minimum;
                // the MSS stays within [min_peer_mss, peer's MSS].
                let mss = mtu.max(68).saturating_sub(ip_overhead + 20);
                let mss = mss.max(self.cfg.min_peer_mss);
                if mss < self.smss {
                    self.smss = mss;
                }
            }
            IcmpError::Unreachable { code: 2 | 3 } if self.state == State::SynSent => {
                self.close_with(Event::IcmpHardError, CloseReason::Refused, &mut a);
            }
            _ => self.soft_error = soft::encode(e),
        }
        self.finish(now, &mut a);
        a
    }

    /// The last soft ICMP error reported, if any (RFC 9293 §3.9.2.2:
    /// reported to the application, SHLD-25).
    pub fn soft_error(&self) -> Option<IcmpError> {
        soft::decode(self.soft_error)
    }
}

/// The soft errors `on_icmp` keeps, in 2 bytes: 0 none, `0x1cc`
/// unreachable with code `cc`, `0x200` time exceeded, `0x300` parameter
/// problem (path-MTU messages and source quench are never kept).
pub(super) mod soft {
    use super::IcmpError;

    pub(in crate::connection) const NONE: u16 = 0;

    pub(super) fn encode(e: IcmpError) -> u16 {
        match e {
            IcmpError::Unreachable { code } => 0x100 | u16::from(code),
            IcmpError::TimeExceeded => 0x200,
            IcmpError::ParameterProblem => 0x300,
            IcmpError::FragmentationNeeded { .. } | IcmpError::SourceQuench => NONE,
        }
    }

    pub(super) fn decode(v: u16) -> Option<IcmpError> {
        match v >> 8 {
            1 => Some(IcmpError::Unreachable { code: v as u8 }),
            2 => Some(IcmpError::TimeExceeded),
            3 => Some(IcmpError::ParameterProblem),
            _ => None,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn kept_errors_round_trip() {
            for e in (0..=255)
                .map(|code| IcmpError::Unreachable { code })
                .chain([IcmpError::TimeExceeded, IcmpError::ParameterProblem])
            {
                assert_eq!(decode(encode(e)), Some(e));
            }
            assert_eq!(decode(NONE), None);
        }
    }
}
