//! A passive Fast Open connection (RFC 7413 §4.2.2) in SYN-RECEIVED is
//! the application's, with the SYN's data (issue 15): a RST resets it
//! (not back to LISTEN, RFC 9293 §3.10.7.4's answer for a child no one
//! holds) and the data stays readable; a close with that data unread
//! sends a RST (RFC 9293 §3.6.1 SHLD-3). Both presets.

mod script;

use script::*;
use tcpstate::{CallError, CloseReason, Duration, State as S};

/// A Fast Open child with 10 bytes of SYN data, its SYN,ACK sent.
fn child(linux: bool) -> Sut {
    let mut s = child_of(linux, b"0123456789");
    s.peer_nxt = PEER_ISS.add(11);
    s.now += Duration::from_millis(100);
    s
}

/// A Fast Open child of a SYN with `payload`, its SYN,ACK checked.
fn child_of(linux: bool, payload: &[u8]) -> Sut {
    let mut s = fast_open_child_with(preset(linux), payload);
    s.expect(
        f(SYN, ACK),
        LISTEN_ISS,
        PEER_ISS.add(1 + payload.len() as u32),
    );
    s
}

#[test]
fn a_rst_resets_a_fast_open_child_and_its_data_stays_readable() {
    for linux in [false, true] {
        let mut s = child(linux);
        s.peer(RST, &[]);
        s.closed_by(CloseReason::Reset);
        s.silent();
        assert_eq!(s.read(100), b"0123456789", "linux {linux}");
        let mut buf = [0u8; 16];
        assert_eq!(
            s.c.recv(s.now, &mut buf).err(),
            Some(CallError::Ended(CloseReason::Reset))
        );
    }
}

#[test]
fn a_rst_takes_a_plain_syn_received_child_back_to_listen() {
    for linux in [false, true] {
        let mut s = syn_received_passive_with(preset(linux));
        s.peer(RST, &[]);
        assert_eq!(s.c.state(), S::Listen, "linux {linux}");
    }
}

#[test]
fn closing_a_fast_open_child_with_the_syn_data_unread_sends_a_rst() {
    for linux in [false, true] {
        let mut s = child(linux);
        s.close();
        s.closed_by(CloseReason::Aborted);
        let v = s.out();
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].seq(), LISTEN_ISS.add(1));
        if linux {
            // Linux's RST carries ACK and RCV.NXT (Config::rst_with_ack).
            assert_eq!(v[0].flags(), f(RST, ACK));
            assert_eq!(v[0].ack(), PEER_ISS.add(11));
        } else {
            assert_eq!(v[0].flags(), RST);
        }
    }
    // Read first: a FIN, as RFC 9293 §3.10.4 says for SYN-RECEIVED.
    let mut s = child(true);
    assert_eq!(s.read(100), b"0123456789");
    s.close();
    assert_eq!(s.c.state(), S::FinWait1);
}

/// RFC 7413 §4.2.2: the server may send data before the handshake
/// completes; Linux's Fast Open child is writable in SYN_RECV and sends at
/// once (`tcp_passive_fastopen` in `sk_stream_wait_connect`). The final
/// ACK that covers the data frees it and completes the handshake.
#[test]
fn a_fast_open_child_sends_before_the_final_ack() {
    for linux in [false, true] {
        let mut s = child(linux);
        assert!(s.c.fast_open_child(), "linux {linux}");
        assert_eq!(s.send(&[5u8; 100]), 100);
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert_eq!(out[0].seq(), LISTEN_ISS.add(1));
        assert_eq!(out[0].ack(), PEER_ISS.add(11));
        assert_eq!(out[0].flags(), f(ACK, PSH));
        assert_eq!(out[0].payload, [5u8; 100]);
        assert_eq!(s.c.state(), S::SynReceived);
        s.seg(ACK, PEER_ISS.add(11), LISTEN_ISS.add(101), &[]);
        assert_eq!(s.c.state(), S::Established);
        assert!(!s.c.fast_open_child());
        assert_eq!(s.c.send_queue(), 0, "the final ACK took the data");
        assert_eq!(s.c.snd_una(), LISTEN_ISS.add(101));
        s.silent();
    }
}

/// A final ACK of the SYN,ACK alone completes the handshake and leaves
/// the data in flight; a timeout in SYN-RECEIVED sends the SYN,ACK again
/// and the data only once the handshake completes (Linux's
/// `tcp_fastopen_synack_timer` resends the SYN,ACK only).
#[test]
fn a_fast_open_child_resends_its_data_after_the_handshake() {
    for linux in [false, true] {
        let mut s = child(linux);
        assert_eq!(s.send(&[5u8; 100]), 100);
        assert_eq!(s.out().len(), 1);
        // No answer: the timer sends the SYN,ACK again, without the data.
        s.fire();
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert_eq!(out[0].flags(), f(SYN, ACK));
        assert_eq!(out[0].seq(), LISTEN_ISS);
        s.silent();
        // The ACK of the SYN,ACK: ESTABLISHED, and the data goes again.
        s.seg(ACK, PEER_ISS.add(11), LISTEN_ISS.add(1), &[]);
        assert_eq!(s.c.state(), S::Established);
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert_eq!(out[0].seq(), LISTEN_ISS.add(1));
        assert_eq!(out[0].payload.len(), 100);
        assert_eq!(s.c.send_queue(), 100);
        s.seg(ACK, PEER_ISS.add(11), LISTEN_ISS.add(101), &[]);
        assert_eq!(s.c.send_queue(), 0);
    }
}

/// A plain SYN-RECEIVED connection (no Fast Open) still waits for the
/// handshake before it sends data (RFC 9293 §3.10.2: queued until
/// ESTABLISHED).
#[test]
fn a_plain_syn_received_connection_sends_no_data() {
    for linux in [false, true] {
        let mut s = syn_received_passive_with(preset(linux));
        assert!(!s.c.fast_open_child());
        let _ = s.c.send(s.now, &[5u8; 100]);
        s.silent();
    }
}

/// Linux's `TCPI_OPT_SYN_DATA` for a server: set only when the SYN's data
/// was taken (`tcp_fastopen_add_skb` sets `syn_data_acked` only then); a
/// Fast Open SYN without data still makes a Fast Open child, which the
/// application gets at once and which may write before the final ACK.
#[test]
fn syn_data_is_reported_only_when_the_syn_carried_data() {
    for linux in [false, true] {
        let s = child(linux);
        assert!(s.c.syn_data_acked(), "linux {linux}");
        let mut s = child_of(linux, b"");
        assert!(!s.c.syn_data_acked(), "linux {linux}");
        assert_eq!(
            s.c.info(s.now).options & tcpstate::connection::info::TCPI_OPT_SYN_DATA,
            0
        );
        assert!(s.c.fast_open_child());
        assert_eq!(s.send(&[5u8; 100]), 100);
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert_eq!(out[0].seq(), LISTEN_ISS.add(1));
        s.seg(ACK, PEER_ISS.add(1), LISTEN_ISS.add(101), &[]);
        assert_eq!(s.c.state(), S::Established);
        assert!(!s.c.syn_data_acked());
    }
}

/// Linux's `tcp_fastopen_synack_timer` gives a Fast Open child one
/// SYN,ACK retry more than `tcp_synack_retries`, then ends it with
/// ETIMEDOUT (`tcp_write_err`): the application holds it (RFC 7413
/// §4.2.2), so it is not taken back to LISTEN as a plain SYN-RECEIVED
/// connection is (RFC 9293 §3.8.3), and the SYN's data stays readable.
#[test]
fn a_fast_open_child_times_out_after_one_synack_retry_more_its_data_readable() {
    for linux in [false, true] {
        let retries = usize::from(preset(linux).synack_retries);
        let mut s = child(linux);
        let sent = s.run_to_closed(Duration::from_secs(600));
        let synacks = sent
            .iter()
            .filter(|(_, p)| p.flags() == f(SYN, ACK))
            .count();
        assert_eq!(synacks, retries + 1, "linux {linux}: {sent:#?}");
        assert_eq!(sent.len(), synacks, "linux {linux}: only SYN,ACKs");
        s.closed_by(CloseReason::TimedOut);
        assert_eq!(s.read(100), b"0123456789", "linux {linux}");
        let mut buf = [0u8; 16];
        assert_eq!(
            s.c.recv(s.now, &mut buf).err(),
            Some(CallError::Ended(CloseReason::TimedOut))
        );
        // A plain SYN-RECEIVED connection: `synack_retries` retries, then LISTEN.
        let mut s = syn_received_passive_with(preset(linux));
        let mut synacks = 0;
        while s.c.state() == S::SynReceived {
            s.fire();
            synacks += s.out().iter().filter(|p| p.flags() == f(SYN, ACK)).count();
        }
        assert_eq!(s.c.state(), S::Listen, "linux {linux}");
        assert_eq!(synacks, retries, "linux {linux}");
    }
}

/// A SYN in the window of a Fast Open child gets a challenge ACK (RFC 5961
/// §4.2, RFC 9293 §3.10.7.4 step 4 for synchronized connections), as
/// Linux's full child socket answers it (`tcp_validate_incoming`): the
/// child keeps its state and the SYN's data, where a plain SYN-RECEIVED
/// connection goes back to LISTEN.
#[test]
fn a_syn_in_a_fast_open_childs_window_gets_a_challenge_ack() {
    for linux in [false, true] {
        let mut s = child(linux);
        s.seg(SYN, PEER_ISS.add(20), tcpstate::SeqNum(0), &[]);
        assert_eq!(s.c.state(), S::SynReceived, "linux {linux}");
        let p = s.expect(ACK, LISTEN_ISS.add(1), PEER_ISS.add(11));
        assert!(p.payload.is_empty());
        s.silent();
        assert_eq!(s.read(100), b"0123456789", "linux {linux}");
        // The handshake still completes.
        s.seg(ACK, PEER_ISS.add(11), LISTEN_ISS.add(1), &[]);
        assert_eq!(s.c.state(), S::Established, "linux {linux}");
    }
    let mut s = syn_received_passive();
    s.seg(SYN, PEER_ISS.add(20), tcpstate::SeqNum(0), &[]);
    assert_eq!(s.c.state(), S::Listen);
}

/// RFC 1122 §4.2.3.9 (SHLD-26): a hard ICMP error ends a connection still
/// opening. A plain passive SYN-RECEIVED connection goes back to LISTEN;
/// a Fast Open child, which the application holds, ends (refused) with
/// the SYN's data readable.
#[test]
fn a_hard_icmp_error_ends_a_fast_open_child_its_data_readable() {
    let port_unreachable = tcpstate::IcmpError::Unreachable { code: 3 };
    let mut s = child(false);
    let a = s.c.on_icmp(s.now, port_unreachable, 20);
    s.record(a);
    s.closed_by(CloseReason::Refused);
    assert_eq!(s.read(100), b"0123456789");
    let mut s = syn_received_passive();
    let a = s.c.on_icmp(s.now, port_unreachable, 20);
    s.record(a);
    assert_eq!(s.c.state(), S::Listen);
}
