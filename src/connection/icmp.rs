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

impl IcmpError {
    /// The error an ICMPv4 message of this type and code reports
    /// (RFC 792, RFC 1191 for the next-hop MTU of "fragmentation needed"),
    /// or `None` for a message that is not an error about a datagram we
    /// sent.
    pub fn from_v4(icmp_type: u8, code: u8, next_hop_mtu: u16) -> Option<IcmpError> {
        match (icmp_type, code) {
            (3, 4) => Some(IcmpError::FragmentationNeeded { mtu: next_hop_mtu }),
            (3, code) => Some(IcmpError::Unreachable { code }),
            (4, _) => Some(IcmpError::SourceQuench),
            (11, _) => Some(IcmpError::TimeExceeded),
            (12, _) => Some(IcmpError::ParameterProblem),
            _ => None,
        }
    }

    /// The error an ICMPv6 message of this type and code reports
    /// (RFC 4443 §3), with ICMPv6 destination-unreachable codes given as
    /// their ICMPv4 counterparts: port unreachable (4) as 3, a hard error
    /// as RFC 1122 §4.2.3.9 counts it, and the others as soft ones. A
    /// Packet Too Big MTU below the IPv6 minimum of 1280 is taken as 1280
    /// (RFC 8201 §4).
    pub fn from_v6(icmp_type: u8, code: u8, mtu: u32) -> Option<IcmpError> {
        match (icmp_type, code) {
            // No route, beyond the scope of the source: network unreachable.
            (1, 0 | 2) => Some(IcmpError::Unreachable { code: 0 }),
            // Administratively prohibited, failed policy, reject route.
            (1, 1 | 5 | 6) => Some(IcmpError::Unreachable { code: 13 }),
            (1, 4) => Some(IcmpError::Unreachable { code: 3 }),
            // Address unreachable (3), and any other code: host
            // unreachable.
            (1, _) => Some(IcmpError::Unreachable { code: 1 }),
            (2, _) => Some(IcmpError::FragmentationNeeded {
                mtu: mtu.clamp(1280, u32::from(u16::MAX)) as u16,
            }),
            (3, _) => Some(IcmpError::TimeExceeded),
            (4, _) => Some(IcmpError::ParameterProblem),
            _ => None,
        }
    }

    /// Whether it is a hard error (RFC 1122 §4.2.3.9: protocol or port
    /// unreachable), which ends a connection still opening.
    pub fn is_hard(self) -> bool {
        matches!(self, IcmpError::Unreachable { code: 2 | 3 })
    }
}

impl<B: Storage> Connection<B> {
    /// An ICMP error for this connection (RFC 9293 §3.9.2.2, MUST-54).
    ///
    /// Soft errors (unreachable codes 0, 1 and 5, time exceeded, parameter
    /// problem) never abort the connection (MUST-56); they are kept for
    /// [`Connection::soft_error`]. Hard errors (codes 2 and 3) abort a
    /// connection still opening, in SYN-SENT or SYN-RECEIVED (SHLD-26;
    /// a passive one returns to LISTEN), and are otherwise soft.
    /// Source quench is ignored (MUST-55). A smaller path MTU lowers the
    /// send MSS (SHLD-6); the lost segment is resent at the new size by the
    /// retransmission timer. `ip_overhead` is the IP header length the MTU
    /// must also hold (20 for IPv4 without options, 40 for IPv6).
    /// [`Config::linux_icmp`](crate::Config::linux_icmp) changes this as
    /// Linux does (a Fast Open child here counts as accepted).
    pub fn on_icmp(&mut self, now: Instant, e: IcmpError, ip_overhead: u16) -> Actions {
        self.icmp(now, e, ip_overhead, false)
    }

    /// [`on_icmp`](Self::on_icmp); `queued`: the connection is a Fast Open
    /// child still in its listener's accept queue (the Endpoint knows).
    pub(crate) fn icmp(
        &mut self,
        now: Instant,
        e: IcmpError,
        ip_overhead: u16,
        queued: bool,
    ) -> Actions {
        let now = self.clock(now);
        let mut a = Actions::NONE;
        if self.cfg.linux_icmp() && self.icmp_linux(e, queued, &mut a) {
            self.finish(now, &mut a);
            return a;
        }
        match e {
            IcmpError::SourceQuench => {}
            IcmpError::FragmentationNeeded { mtu } => {
                // RFC 1191 §6.3 allows down to the 68-byte IPv4 minimum;
                // as Linux (`ip_rt_min_pmtu`, 552) no path MTU below 552 is
                // taken for IPv4 (1280 for IPv6, RFC 8201), so that one
                // forged message cannot pin a connection to tiny
                // segments; the MSS stays within [min_peer_mss, peer's MSS].
                let floor = if ip_overhead >= 40 { 1280 } else { 552 };
                let mss = mtu.max(floor).saturating_sub(ip_overhead + 20);
                let mss = mss.max(self.cfg.min_peer_mss);
                if mss < self.smss {
                    self.smss = mss;
                }
                self.mtu_icmp(mss);
                if self.state == State::SynSent {
                    // The peer's MSS is not known yet: the path's limit
                    // waits for it (`negotiate`), and under
                    // Config::linux_icmp our SYN offers it (`syn_mss`).
                    self.set_pmtu_mss(mss);
                    if self.cfg.linux_icmp() && self.fast_open() && self.snd_max.dist(self.iss) > 1
                    {
                        self.resend_syn_now(now);
                    }
                }
            }
            // RFC 1122 §4.2.3.9 (SHLD-26): a hard error ends a connection
            // still opening; a passive one goes back to LISTEN (Linux
            // drops the request: `tcp_req_err`).
            e if e.is_hard() && self.state == State::SynSent => {
                self.close_with(Event::IcmpHardError, CloseReason::Refused, &mut a);
            }
            e if e.is_hard() && self.state == State::SynReceived => {
                // A Fast Open child is the application's (RFC 7413
                // §4.2.2): it ends rather than going back to LISTEN.
                if self.passive() && !self.fast_open() {
                    self.back_to_listen(Event::IcmpHardError, &mut a);
                } else {
                    self.close_with(Event::IcmpHardError, CloseReason::Refused, &mut a);
                }
            }
            _ => self.soft_error = soft::encode(e),
        }
        self.finish(now, &mut a);
        a
    }

    /// Config::linux_icmp: what Linux's `tcp_v4_err` does where RFC 1122
    /// §4.2.3.9 says otherwise; false for what it does as the RFC does
    /// (the caller goes on).
    fn icmp_linux(&mut self, e: IcmpError, queued: bool, a: &mut Actions) -> bool {
        let syn_received = self.state == State::SynReceived;
        if syn_received && self.passive() && !self.fast_open() {
            // Linux's request socket (`tcp_req_err`): dropped on network
            // or host unreachable, time exceeded and parameter problem;
            // any other error is ignored, port unreachable included.
            if matches!(
                e,
                IcmpError::Unreachable { code: 0 | 1 }
                    | IcmpError::TimeExceeded
                    | IcmpError::ParameterProblem
            ) {
                self.back_to_listen(Event::IcmpHardError, a);
            }
            return true;
        }
        match e {
            IcmpError::SourceQuench | IcmpError::FragmentationNeeded { .. } => false,
            // `tcp_v4_err` takes no code above NR_ICMP_UNREACH (15).
            IcmpError::Unreachable { code } if code > 15 => true,
            // SYN-SENT, or SYN-RECEIVED of a simultaneous open or of a
            // Fast Open child not yet accepted (an accepted one counts as
            // connected): the error ends the connection (`tcp_done`,
            // with the error for the application).
            _ if self.state == State::SynSent
                || (syn_received && (!self.fast_open_child() || queued)) =>
            {
                self.soft_error = soft::encode(e);
                let reason = if e.is_hard() {
                    CloseReason::Refused
                } else {
                    CloseReason::Unreachable
                };
                self.close_with(Event::IcmpHardError, reason, a);
                true
            }
            _ => false,
        }
    }

    /// Linux's `tcp_simple_retransmit` of a Fast Open SYN that carried
    /// data, after "fragmentation needed" (Config::linux_icmp): the SYN
    /// goes again now, alone (a retransmitted SYN carries no data and no
    /// Fast Open option, `fastopen.rs`), and gives no RTT sample (Karn,
    /// MUST-18). No timeout happened and the SYN was not lost for
    /// congestion: the timer restarts at the RTO, not backed off, and the
    /// handshake's end keeps the initial window and RTO (RFC 5681 §3.1's
    /// one segment and RFC 6298 §5.7's 3 s follow a SYN the timer found
    /// lost: `syn_retransmitted` stays clear).
    fn resend_syn_now(&mut self, now: Instant) {
        self.snd_nxt = self.iss;
        self.rtt_sample = super::timers::RttSample::NONE;
        self.set_timer(crate::Timer::Retransmit, now + self.rto_duration());
    }

    /// The MSS option of our SYN: `Config::mss`, or under
    /// Config::linux_icmp no more than the path MTU an ICMP error reported
    /// in SYN-SENT allows (Linux offers its route's `advmss`, which a
    /// path-MTU exception lowers; RFC 9293 §3.7.1 bases it on our own MTU).
    pub(super) fn syn_mss(&self) -> u16 {
        let p = self.pmtu_mss();
        if p != 0 && self.cfg.linux_icmp() {
            self.cfg.mss.min(p)
        } else {
            self.cfg.mss
        }
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

#[cfg(test)]
mod tests {
    use super::IcmpError::{self, *};

    /// RFC 792: destination unreachable (type 3) with its code, code 4
    /// being "fragmentation needed and DF set" with the next-hop MTU of
    /// RFC 1191 §4; source quench (4), time exceeded (11) and parameter
    /// problem (12) whatever their code; any other type is no error about
    /// a datagram we sent.
    #[test]
    fn r792_icmpv4_types_and_codes() {
        assert_eq!(
            IcmpError::from_v4(3, 4, 576),
            Some(FragmentationNeeded { mtu: 576 })
        );
        for code in [0, 1, 2, 3, 5, 13, 15, 16, 255] {
            assert_eq!(IcmpError::from_v4(3, code, 576), Some(Unreachable { code }));
        }
        assert_eq!(IcmpError::from_v4(4, 0, 0), Some(SourceQuench));
        for code in [0, 1] {
            assert_eq!(IcmpError::from_v4(11, code, 0), Some(TimeExceeded));
        }
        for code in [0, 1, 2] {
            assert_eq!(IcmpError::from_v4(12, code, 0), Some(ParameterProblem));
        }
        // Echo reply, redirect, echo request, router advertisement.
        for t in [0, 5, 8, 9] {
            assert_eq!(IcmpError::from_v4(t, 0, 576), None, "type {t}");
        }
    }

    /// RFC 4443 §3: destination unreachable (1) with its codes mapped to
    /// ICMPv4's (no route and beyond scope as network unreachable,
    /// administratively prohibited, failed policy and reject route as 13,
    /// address unreachable as host unreachable, port unreachable as 3,
    /// unknown codes as host unreachable), packet too big (2) with its MTU
    /// no lower than IPv6's 1280 (RFC 8201 §4), time exceeded (3),
    /// parameter problem (4); informational messages are none.
    #[test]
    fn r4443_icmpv6_types_and_codes() {
        for (code, v4) in [
            (0, 0),
            (1, 13),
            (2, 0),
            (3, 1),
            (4, 3),
            (5, 13),
            (6, 13),
            (7, 1),
        ] {
            assert_eq!(
                IcmpError::from_v6(1, code, 0),
                Some(Unreachable { code: v4 }),
                "code {code}"
            );
        }
        for (mtu, taken) in [(1500, 1500), (1280, 1280), (1000, 1280), (70_000, 65_535)] {
            assert_eq!(
                IcmpError::from_v6(2, 0, mtu),
                Some(FragmentationNeeded { mtu: taken })
            );
        }
        for code in [0, 1] {
            assert_eq!(IcmpError::from_v6(3, code, 0), Some(TimeExceeded));
        }
        for code in [0, 1, 2] {
            assert_eq!(IcmpError::from_v6(4, code, 0), Some(ParameterProblem));
        }
        // Echo request and reply, and a type no error has.
        for t in [128, 129, 0, 5] {
            assert_eq!(IcmpError::from_v6(t, 0, 1500), None, "type {t}");
        }
    }

    /// RFC 1122 §4.2.3.9: only protocol (2) and port (3) unreachable are
    /// hard errors.
    #[test]
    fn r1122_hard_errors_are_protocol_and_port_unreachable() {
        for code in 0..=255u8 {
            assert_eq!(
                Unreachable { code }.is_hard(),
                code == 2 || code == 3,
                "code {code}"
            );
        }
        for e in [
            FragmentationNeeded { mtu: 576 },
            TimeExceeded,
            ParameterProblem,
            SourceQuench,
        ] {
            assert!(!e.is_hard(), "{e:?}");
        }
    }
}
