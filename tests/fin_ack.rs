//! The ACK of the peer's FIN (issue 15): `Config::linux()` delays it after
//! data as Linux does, `Config::rfc9293()` sends it at once; a repeated
//! FIN is D-SACKed in both presets (RFC 2883 §4), and so is the repeated
//! SYN of a simultaneous open.

mod script;

use script::*;
use tcpstate::wire::{Segment, TcpOptions};
use tcpstate::{Buffers, Config, Connection, Duration, State as S};

#[test]
fn fin_after_data_acked_at_once_rfc9293() {
    let mut s = established_with(preset(false));
    s.peer(f(FIN, ACK), b"0123456789");
    s.expect_ack();
    assert_eq!(s.c.state(), S::CloseWait);
    assert_eq!(s.c.rcv_nxt(), PEER_ISS.add(12));
}

#[test]
fn fin_after_data_acked_after_the_delayed_ack_time_linux() {
    let mut s = established_with(preset(true));
    // Data, then FIN (quick-ACK mode: the data is ACKed at once) ...
    s.peer(f(PSH, ACK), b"0123456789");
    s.expect_ack();
    s.now += Duration::from_millis(100);
    s.peer(f(FIN, ACK), &[]);
    assert_eq!(s.c.state(), S::CloseWait);
    // ... its ACK waits 40 ms (Linux's tcp_fin: pingpong mode).
    s.silent();
    let t0 = s.now;
    let sent = s.run_for(Duration::from_millis(100));
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].0 - t0, Duration::from_millis(40));
    assert_eq!(sent[0].1.ack(), PEER_ISS.add(12));
    // Data and FIN in one segment: the same.
    let mut s = established_with(preset(true));
    s.peer(f(FIN, f(PSH, ACK)), b"0123456789");
    s.silent();
    // Something we send first carries the ACK.
    s.send(b"abc");
    let p = s.expect(f(PSH, ACK), ISS.add(1), PEER_ISS.add(12));
    assert_eq!(p.payload, b"abc");
}

/// A FIN that arrives while the ACK of earlier data is still due (the
/// host fed both segments before it polled output): that ACK goes at
/// once and covers the FIN. Linux sends the data's quick ACK as the data
/// arrives (`__tcp_ack_snd_check`), before the FIN; the FIN's delay
/// (`fin_ack_delayed`) must not hold back an ACK already due.
#[test]
fn fin_behind_an_ack_already_due_does_not_hold_it_back_linux() {
    let mut s = established_with(preset(true));
    s.peer(f(PSH, ACK), b"0123456789");
    s.peer(f(FIN, ACK), &[]);
    assert_eq!(s.c.state(), S::CloseWait);
    let p = s.expect_ack();
    assert_eq!(p.ack(), PEER_ISS.add(12));
}

#[test]
fn fin_acked_at_once_linux_without_data_or_with_a_full_segment() {
    // No data before the FIN (Linux: a delayed-ACK timer of ato = 0).
    let mut s = established_with(preset(true));
    s.peer(f(FIN, ACK), &[]);
    s.expect_ack();
    // More than one full segment unacknowledged with the FIN.
    let mut s = established_with(preset(true));
    s.peer(f(PSH, ACK), b"0123456789");
    s.expect_ack();
    s.peer(f(FIN, ACK), &[0u8; 1460]);
    s.expect_ack();
}

#[test]
fn fin_after_fast_open_syn_data_only_acked_at_once_linux() {
    // Data on the SYN (RFC 7413) does not start Linux's delayed-ACK clock
    // (tcp_fastopen_add_skb): a FIN after it alone is ACKed at once ...
    let syn = Segment {
        seq: PEER_ISS,
        ack: tcpstate::SeqNum(0),
        flags: SYN,
        window: 65535,
        urgent: 0,
        options: TcpOptions::NONE,
        payload: b"0123456789",
    };
    let fast_open = |s: &mut Sut| {
        let (c, a) = Connection::accept_fast_open(
            preset(true),
            Buffers::with_capacity(RX, 8192),
            s.now,
            &syn,
            LISTEN_ISS,
        )
        .expect("accepted");
        s.c = c;
        s.record(a);
        s.expect(f(SYN, ACK), LISTEN_ISS, PEER_ISS.add(11));
        s.peer_nxt = PEER_ISS.add(11);
        s.now += Duration::from_millis(100);
    };
    let mut s = Sut::new(preset(true));
    fast_open(&mut s);
    s.peer(f(FIN, ACK), &[]);
    s.expect(ACK, LISTEN_ISS.add(1), PEER_ISS.add(12));
    assert_eq!(s.c.state(), S::CloseWait);
    // ... and data after the SYN starts it: that FIN's ACK waits.
    let mut s = Sut::new(preset(true));
    fast_open(&mut s);
    s.peer(f(PSH, ACK), b"abc");
    s.expect(ACK, LISTEN_ISS.add(1), PEER_ISS.add(14));
    s.peer(f(FIN, ACK), &[]);
    s.silent();
    let t0 = s.now;
    let sent = s.run_for(Duration::from_millis(100));
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].0 - t0, Duration::from_millis(40));
    assert_eq!(sent[0].1.ack(), PEER_ISS.add(15));
}

#[test]
fn repeated_fin_is_dsacked_in_both_presets() {
    for linux in [false, true] {
        let mut s = Sut::new(preset(linux));
        s.peer_syn_opts = TcpOptions {
            sack_permitted: true,
            ..TcpOptions::NONE
        };
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let _ = s.out();
        s.peer(f(SYN, ACK), &[]);
        s.expect_ack();
        s.peer(f(FIN, f(PSH, ACK)), b"0123456789");
        let _ = s.run_for(Duration::from_millis(300));
        assert_eq!(s.c.state(), S::CloseWait);
        let fin = PEER_ISS.add(11);
        // The FIN alone again: one block, the FIN's sequence number.
        s.seg(f(FIN, ACK), fin, ISS.add(1), &[]);
        let p = s.expect_ack();
        assert_eq!(p.t.options.sack.as_slice(), &[(fin, fin.add(1))]);
        // The data and the FIN again: the block covers both.
        s.seg(f(FIN, ACK), PEER_ISS.add(1), ISS.add(1), b"0123456789");
        let p = s.expect_ack();
        assert_eq!(
            p.t.options.sack.as_slice(),
            &[(PEER_ISS.add(1), fin.add(1))],
            "linux {linux}"
        );
    }
}

#[test]
fn the_repeated_syn_of_a_simultaneous_open_is_acked_and_dsacked() {
    for linux in [false, true] {
        let cfg = Config {
            sack: true,
            ..preset(linux)
        };
        let mut s = Sut::new(cfg);
        s.peer_syn_opts = TcpOptions {
            sack_permitted: true,
            ..TcpOptions::NONE
        };
        s.app(|c, now| c.connect(now, ISS).unwrap());
        s.expect(SYN, ISS, tcpstate::SeqNum(0));
        s.peer(SYN, &[]);
        s.expect(f(SYN, ACK), ISS, PEER_ISS.add(1));
        assert_eq!(s.c.state(), S::SynReceived);
        // The peer's SYN,ACK: its SYN again, and the ACK of ours.
        s.seg(f(SYN, ACK), PEER_ISS, ISS.add(1), &[]);
        assert_eq!(s.c.state(), S::Established, "linux {linux}");
        // Taken (its ACK), not dropped.
        assert_eq!(s.c.stats().dropped, 0, "linux {linux}");
        let p = s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
        assert_eq!(p.t.options.sack.as_slice(), &[(PEER_ISS, PEER_ISS.add(1))]);
    }
}
