//! `Config::linux_icmp` (issue 15): ICMP errors while a connection opens,
//! as Linux's `tcp_v4_err` / `tcp_req_err` / `tcp_simple_retransmit` take
//! them under `Config::linux()`, and as RFC 1122 §4.2.3.9 says under
//! `Config::rfc9293()`.

mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{CloseReason, Duration, Event as E, IcmpError, State as S};

const HOST_UNREACHABLE: IcmpError = IcmpError::Unreachable { code: 1 };
const PORT_UNREACHABLE: IcmpError = IcmpError::Unreachable { code: 3 };

/// A passive SYN-RECEIVED that is no Fast Open child (Linux's request
/// socket): Linux drops it on host unreachable (`tcp_req_err`), where
/// RFC 1122 §4.2.3.9 (MUST-56) keeps it; and Linux ignores a port
/// unreachable there, which the RFC takes as a hard error (SHLD-26).
#[test]
fn a_request_goes_back_to_listen_on_host_unreachable_only_under_linux() {
    for linux in [false, true] {
        let mut s = syn_received_passive_with(preset(linux));
        let a = s.c.on_icmp(s.now, HOST_UNREACHABLE, 20);
        s.record(a);
        if linux {
            s.changed(S::SynReceived, E::IcmpHardError, S::Listen);
        } else {
            s.unchanged(S::SynReceived);
            assert_eq!(s.c.soft_error(), Some(HOST_UNREACHABLE));
        }
        s.silent();

        let mut s = syn_received_passive_with(preset(linux));
        let a = s.c.on_icmp(s.now, PORT_UNREACHABLE, 20);
        s.record(a);
        if linux {
            s.unchanged(S::SynReceived);
            assert_eq!(s.c.soft_error(), None);
        } else {
            s.changed(S::SynReceived, E::IcmpHardError, S::Listen);
        }
    }
}

/// SYN-SENT: Linux ends the connection on any unreachable (not
/// "fragmentation needed"), time exceeded or parameter problem, soft ones
/// included, with the error for the application (`tcp_v4_err`'s
/// `tcp_done`); RFC 1122 §4.2.3.9 keeps soft errors (MUST-56).
#[test]
fn a_soft_error_ends_a_connect_only_under_linux() {
    for e in [
        HOST_UNREACHABLE,
        IcmpError::Unreachable { code: 0 },
        IcmpError::TimeExceeded,
        IcmpError::ParameterProblem,
    ] {
        for linux in [false, true] {
            let mut s = syn_sent_with(preset(linux));
            let a = s.c.on_icmp(s.now, e, 20);
            s.record(a);
            assert_eq!(s.c.soft_error(), Some(e), "{e:?} linux {linux}");
            if linux {
                s.changed(S::SynSent, E::IcmpHardError, S::Closed);
                s.closed_by(CloseReason::Unreachable);
            } else {
                s.unchanged(S::SynSent);
            }
            s.silent();
        }
    }
    // A hard error is the RFC's and Linux's: refused.
    let mut s = syn_sent_with(preset(true));
    let a = s.c.on_icmp(s.now, PORT_UNREACHABLE, 20);
    s.record(a);
    s.closed_by(CloseReason::Refused);
    // Source quench and a code Linux does not know change nothing.
    for e in [IcmpError::SourceQuench, IcmpError::Unreachable { code: 16 }] {
        let mut s = syn_sent_with(preset(true));
        let a = s.c.on_icmp(s.now, e, 20);
        s.record(a);
        s.unchanged(S::SynSent);
    }
}

/// A simultaneous open's SYN-RECEIVED is a full socket in Linux: any
/// error ends it too.
#[test]
fn a_soft_error_ends_a_simultaneous_open_only_under_linux() {
    for linux in [false, true] {
        let mut s = syn_received_active_with(preset(linux));
        let a = s.c.on_icmp(s.now, HOST_UNREACHABLE, 20);
        s.record(a);
        if linux {
            s.changed(S::SynReceived, E::IcmpHardError, S::Closed);
            s.closed_by(CloseReason::Unreachable);
        } else {
            s.unchanged(S::SynReceived);
        }
    }
}

/// A Fast Open child the application holds counts as connected in Linux
/// (`tcp_v4_err`: an accepted child breaks out to the soft-error path):
/// the error is kept in both presets. (One still in an Endpoint's accept
/// queue ends under Linux: `tests/packetdrill/icmp-fastopen-child.pkt`.)
#[test]
fn an_accepted_fast_open_child_keeps_a_soft_error() {
    for linux in [false, true] {
        let mut s = fast_open_child_with(preset(linux), b"0123456789");
        let _ = s.out();
        let a = s.c.on_icmp(s.now, HOST_UNREACHABLE, 20);
        s.record(a);
        s.unchanged(S::SynReceived);
        assert_eq!(s.c.soft_error(), Some(HOST_UNREACHABLE), "linux {linux}");
    }
}

/// A Fast Open SYN with 1000 bytes of data in SYN-SENT, the SYN sent.
fn fast_open_syn_sent(linux: bool) -> Sut {
    let mut s = Sut::new(preset(linux));
    s.app(|c, now| c.connect_fast_open(now, ISS, 1400).unwrap());
    assert_eq!(s.send(&[7u8; 1000]), 1000);
    let p = s.expect(SYN, ISS, tcpstate::SeqNum(0));
    assert_eq!(p.payload.len(), 1000);
    assert_eq!(p.t.options.mss, Some(1460));
    s
}

/// "Fragmentation needed" for a Fast Open SYN with data: Linux sends the
/// SYN again at once, without the data and offering the MSS the path MTU
/// allows (`tcp_simple_retransmit` since "tcp: Add logic to check for SYN
/// w/ data in tcp_simple_retransmit"; the route's `advmss`); RFC 1191
/// leaves it to the retransmission timer, and RFC 9293 §3.7.1 offers our
/// own MSS. Either way the path's MSS caps the send MSS the SYN,ACK
/// negotiates (RFC 1191), here below the peer's 1040.
#[test]
fn fragmentation_needed_resends_a_fast_open_syn_at_once_only_under_linux() {
    for linux in [false, true] {
        let mut s = fast_open_syn_sent(linux);
        s.now += Duration::from_millis(10);
        let a =
            s.c.on_icmp(s.now, IcmpError::FragmentationNeeded { mtu: 800 }, 20);
        s.record(a);
        s.unchanged(S::SynSent);
        if linux {
            let p = s.expect(SYN, ISS, tcpstate::SeqNum(0));
            assert!(p.payload.is_empty());
            assert_eq!(p.t.options.mss, Some(760));
            assert_eq!(p.t.options.fast_open, None);
        } else {
            s.silent();
            let sent = s.run_for(Duration::from_secs(2));
            assert_eq!(sent.len(), 1, "{sent:#?}");
            assert!(sent[0].1.payload.is_empty());
            assert_eq!(sent[0].1.t.options.mss, Some(1460));
        }
        s.now += Duration::from_millis(20);
        s.peer_syn_opts = TcpOptions {
            mss: Some(1040),
            ..TcpOptions::NONE
        };
        s.peer_ack(tcpstate::wire::Flags::SYN | ACK, ISS.add(1), &[]);
        assert_eq!(s.c.state(), S::Established);
        // Karn (MUST-18): the ACK of a SYN sent twice gives no RTT sample,
        // whether the timer or the ICMP error sent it again.
        assert_eq!(s.c.info(s.now).rtt, 0, "linux {linux}");
        // The SYN's data goes again at the path's MSS: after the timer
        // found the SYN lost, one segment (RFC 5681 §3.1); after the
        // ICMP error the initial window.
        let v = s.out();
        let lens: Vec<usize> = v.iter().map(|p| p.payload.len()).collect();
        let want: &[usize] = if linux { &[760, 240] } else { &[760] };
        assert_eq!(lens, want, "linux {linux}: {v:#?}");
    }
}

/// Only a SYN that carried data is sent again at once: a plain SYN (or a
/// cookie request) fits any path MTU.
#[test]
fn fragmentation_needed_does_not_resend_a_syn_without_data() {
    let mut s = syn_sent_with(preset(true));
    let a =
        s.c.on_icmp(s.now, IcmpError::FragmentationNeeded { mtu: 800 }, 20);
    s.record(a);
    s.silent();
    // A Fast Open SYN without data (a cookie request, or no data written
    // before it went).
    let mut s = Sut::new(preset(true));
    s.app(|c, now| c.connect_fast_open(now, ISS, 1400).unwrap());
    let p = s.expect(SYN, ISS, tcpstate::SeqNum(0));
    assert!(p.payload.is_empty());
    s.now += Duration::from_millis(10);
    let a =
        s.c.on_icmp(s.now, IcmpError::FragmentationNeeded { mtu: 800 }, 20);
    s.record(a);
    s.silent();
}

/// Linux's `tcp_v4_err` takes destination-unreachable codes up to
/// NR_ICMP_UNREACH (15, precedence cutoff) and ignores any above: in
/// SYN-SENT codes 13 (administratively prohibited) and 15 end the
/// connection, 16 does not.
#[test]
fn unreachable_codes_up_to_15_end_a_connect_under_linux() {
    for (code, ends) in [
        (13, true),
        (14, true),
        (15, true),
        (16, false),
        (255, false),
    ] {
        let mut s = syn_sent_with(preset(true));
        let e = IcmpError::Unreachable { code };
        let a = s.c.on_icmp(s.now, e, 20);
        s.record(a);
        if ends {
            s.closed_by(CloseReason::Unreachable);
            assert_eq!(s.c.soft_error(), Some(e));
        } else {
            s.unchanged(S::SynSent);
            assert_eq!(s.c.soft_error(), None, "code {code}");
        }
    }
}
