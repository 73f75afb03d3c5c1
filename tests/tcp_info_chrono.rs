//! tcp_info's `busy_time` and `rwnd_limited` (issue 15): Linux's
//! chronographs (`tcp_chrono_start`, `tcp_chrono_stop`), running from the
//! first time the peer's window holds data back with nothing in flight.
//! Both presets.

mod script;

use script::*;
use tcpstate::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// (busy_time, rwnd_limited) now.
fn clocks(s: &Sut) -> (u64, u64) {
    let info = s.c.info(s.now);
    (info.busy_time, info.rwnd_limited)
}

#[test]
fn the_peer_window_holding_data_back_is_timed() {
    for linux in [false, true] {
        // The peer opens with a zero window.
        let mut s = syn_sent_with(preset(linux));
        s.peer_wnd = 0;
        s.now += ms(10);
        s.peer(SYN | ACK, &[]);
        let _ = s.out();
        assert_eq!(clocks(&s), (0, 0));
        // Data waits for the window: 100 ms rwnd-limited.
        assert_eq!(s.send(&[1u8; 500]), 500);
        s.silent();
        s.now += ms(100);
        let info = s.c.info(s.now);
        assert_eq!(
            (info.busy_time, info.rwnd_limited),
            (100_000, 100_000),
            "linux {linux}"
        );
        // The window opens: the data goes, busy (not rwnd-limited) until
        // it is acknowledged 30 ms later.
        s.peer_wnd = 2000;
        s.seg(ACK, s.peer_nxt, ISS.add(1), &[]);
        assert_eq!(s.out().len(), 1);
        s.now += ms(30);
        s.seg(ACK, s.peer_nxt, ISS.add(501), &[]);
        // Idle: neither clock runs.
        s.now += ms(50);
        let info = s.c.info(s.now);
        assert_eq!(
            (info.busy_time, info.rwnd_limited),
            (130_000, 100_000),
            "linux {linux}"
        );
        // A window too small for the next segment holds it back again.
        s.peer_wnd = 10;
        s.seg(ACK, s.peer_nxt, ISS.add(501), &[]);
        assert_eq!(s.send(&[2u8; 500]), 500);
        s.silent();
        s.now += ms(20);
        let info = s.c.info(s.now);
        assert_eq!(
            (info.busy_time, info.rwnd_limited),
            (150_000, 120_000),
            "linux {linux}"
        );
    }
}

/// A connection the window never held back keeps no clock.
#[test]
fn no_clock_without_a_window_limit() {
    let mut s = established_with(preset(true));
    assert_eq!(s.send(&[1u8; 500]), 500);
    assert_eq!(s.out().len(), 1);
    s.now += ms(30);
    s.peer(ACK, &[]);
    assert_eq!(clocks(&s), (0, 0));
}

/// Linux's `tcp_get_info` through an active open. In SYN-SENT: state
/// code 2 (`TCP_SYN_SENT`), the SYN one segment in flight, no delayed-ACK
/// timeout yet, no RTT, ssthresh "infinite", no option negotiated; a SYN
/// retransmission counts in `retransmits`, and `backoff` stays 0 until
/// the handshake ends. In ESTABLISHED (code 1): nothing in flight, the
/// delayed-ACK timeout, the path MTU (the MSS plus 40 bytes of headers)
/// and both window-scale shifts (RFC 7323 §2.2).
#[test]
fn tcp_info_through_an_active_open() {
    use tcpstate::connection::info::{TCP_INFINITE_SSTHRESH, TCPI_OPT_WSCALE};
    for linux in [false, true] {
        let cfg = tcpstate::Config {
            window_scaling: true,
            ..preset(linux)
        };
        let (mss, ato) = (u32::from(cfg.mss), cfg.delayed_ack.as_micros() as u32);
        let mut s = Sut::new(cfg);
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let syn = s.expect(SYN, ISS, tcpstate::SeqNum(0));
        let ours = syn.t.options.window_scale.expect("offered");
        let i = s.c.info(s.now);
        assert_eq!((i.state, i.unacked, i.ato), (2, 1, 0), "linux {linux}");
        assert_eq!(
            (i.rtt, i.min_rtt, i.snd_ssthresh),
            (0, 0, TCP_INFINITE_SSTHRESH)
        );
        assert_eq!(
            (i.options & TCPI_OPT_WSCALE, i.snd_wscale, i.rcv_wscale),
            (0, 0, 0)
        );
        assert_eq!(i.pmtu, mss + 40);
        s.fire();
        s.expect(SYN, ISS, tcpstate::SeqNum(0));
        let i = s.c.info(s.now);
        assert_eq!(
            (i.retransmits, i.backoff, i.unacked),
            (1, 0, 1),
            "linux {linux}"
        );
        s.peer_syn_opts = tcpstate::wire::TcpOptions {
            window_scale: Some(5),
            ..tcpstate::wire::TcpOptions::NONE
        };
        s.now += ms(100);
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        let i = s.c.info(s.now);
        assert_eq!((i.state, i.unacked, i.ato), (1, 0, ato), "linux {linux}");
        assert_ne!(i.options & TCPI_OPT_WSCALE, 0);
        assert_eq!((i.snd_wscale, i.rcv_wscale), (5, ours), "linux {linux}");
        assert_eq!(i.pmtu, mss + 40);
    }
}

/// SYN-RECEIVED (code 3) has its delayed-ACK timeout (Linux sets `ato`
/// when the request socket becomes a full socket, which the engine's
/// SYN-RECEIVED is) and the SYN,ACK in flight.
#[test]
fn tcp_info_in_syn_received() {
    for linux in [false, true] {
        let cfg = preset(linux);
        let ato = cfg.delayed_ack.as_micros() as u32;
        let s = syn_received_passive_with(cfg);
        let i = s.c.info(s.now);
        assert_eq!((i.state, i.unacked, i.ato), (3, 1, ato), "linux {linux}");
    }
}

/// The FIN counts in no segment (the engine counts payload bytes in
/// flight): a full segment and the FIN out are one segment in flight,
/// the FIN alone none.
#[test]
fn tcp_info_does_not_count_the_fin_in_flight() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        // One byte is one segment (the SYN is acknowledged: nothing of it
        // is taken off).
        assert_eq!(s.send(&[9]), 1);
        assert_eq!(s.out().len(), 1);
        assert_eq!(s.c.info(s.now).unacked, 1, "linux {linux}");
        s.now += ms(10);
        s.seg(ACK, PEER_ISS.add(1), ISS.add(2), &[]);
        let mss = usize::from(s.c.effective_mss());
        assert_eq!(s.send(&vec![1; mss]), mss);
        s.shutdown();
        let v = s.out();
        assert!(v.last().is_some_and(|p| p.flags().fin()), "{v:#?}");
        assert_eq!(s.c.state(), tcpstate::State::FinWait1);
        assert_eq!(s.c.info(s.now).unacked, 1, "linux {linux}");
        s.now += ms(10);
        s.seg(ACK, PEER_ISS.add(1), ISS.add(2 + mss as u32), &[]);
        let i = s.c.info(s.now);
        assert_eq!(
            (i.unacked, i.bytes_acked),
            (0, 1 + mss as u64),
            "linux {linux}"
        );
    }
}

/// Linux's `tcpi_ca_state`, `tcpi_lost` and `tcpi_retrans` without SACK
/// (RFC 5681, RFC 6582): one duplicate ACK is Disorder (1); the third
/// starts fast recovery (3), where the one segment taken as lost is the
/// first, resent; a timeout is Loss (4), every segment in flight lost,
/// until SND.UNA passes what was in flight then (RFC 6582's recover).
#[test]
fn tcp_info_ca_states_lost_and_retrans_without_sack() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let mss = u32::from(s.c.effective_mss());
        assert_eq!(s.send(&vec![1; 6 * mss as usize]), 6 * mss as usize);
        assert_eq!(s.out().len(), s.c.info(s.now).unacked as usize);
        let sent = s.c.info(s.now).unacked;
        assert!(sent >= 4, "linux {linux}: {sent} segments");
        let una = ISS.add(1);
        let peer = PEER_ISS.add(1);
        let i = s.c.info(s.now);
        assert_eq!((i.ca_state, i.lost, i.retrans), (0, 0, 0));
        s.seg(ACK, peer, una, &[]);
        assert_eq!(s.c.info(s.now).ca_state, 1, "linux {linux}: Disorder");
        s.seg(ACK, peer, una, &[]);
        s.seg(ACK, peer, una, &[]);
        let v = s.out();
        assert_eq!(v.first().map(|p| p.seq()), Some(una), "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!((i.ca_state, i.lost, i.retrans), (3, 1, 1), "linux {linux}");
        // The timeout: every segment in flight is lost.
        s.fire();
        let i = s.c.info(s.now);
        assert_eq!(
            (i.ca_state, i.lost, i.backoff),
            (4, sent, 1),
            "linux {linux}"
        );
        let v = s.out();
        assert_eq!(v.first().map(|p| p.seq()), Some(una), "linux {linux}");
        assert_eq!(s.c.info(s.now).retrans, 1, "linux {linux}");
        // Everything acknowledged: Open again.
        s.seg(ACK, peer, una.add(sent * mss), &[]);
        let i = s.c.info(s.now);
        assert_eq!((i.ca_state, i.lost, i.retrans), (0, 0, 0), "linux {linux}");
    }
}

/// `tcpi_retrans` counts retransmitted segments still in flight: after a
/// partial ACK that passes the one resend (RFC 6582 §3.2 step 5: SND.UNA
/// beyond HighRxt), none until the next hole goes, then that one. (It
/// read every segment in flight: HighRxt - SND.UNA wrapped.)
#[test]
fn tcp_info_retrans_after_a_partial_ack_past_the_resend() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let mss = u32::from(s.c.effective_mss());
        s.send(&vec![1; 6 * mss as usize]);
        let sent = s.out().len() as u32;
        assert!(sent >= 4, "linux {linux}: {sent} segments");
        let (una, peer) = (ISS.add(1), PEER_ISS.add(1));
        for _ in 0..3 {
            s.seg(ACK, peer, una, &[]);
        }
        assert_eq!(s.out().first().map(|p| p.seq()), Some(una));
        assert_eq!(s.c.info(s.now).retrans, 1, "linux {linux}");
        // The resend and the original after it are acknowledged: still in
        // recovery (RFC 6582: the rest of the flight is not).
        s.seg(ACK, peer, una.add(2 * mss), &[]);
        let i = s.c.info(s.now);
        assert_eq!((i.ca_state, i.retrans), (3, 0), "linux {linux}");
        let v = s.out();
        assert_eq!(
            v.first().map(|p| p.seq()),
            Some(una.add(2 * mss)),
            "linux {linux}"
        );
        assert_eq!(s.c.info(s.now).retrans, 1, "linux {linux}");
    }
}

/// `tcpi_probes` counts unanswered keep-alive probes too (Linux's
/// `icsk_probes_out`, RFC 9293 §3.8.4), and an answer clears it.
#[test]
fn tcp_info_counts_unanswered_keepalive_probes() {
    for linux in [false, true] {
        let cfg = tcpstate::Config {
            keepalive: Some(tcpstate::Keepalive {
                idle: Duration::from_secs(10),
                interval: Duration::from_secs(1),
                probes: 5,
            }),
            ..preset(linux)
        };
        let mut s = established_with(cfg);
        for n in 1..=3 {
            s.fire();
            let p = s.expect(ACK, ISS, PEER_ISS.add(1));
            assert!(p.payload.len() <= 1);
            assert_eq!(s.c.info(s.now).probes, n, "linux {linux}");
        }
        s.seg(ACK, PEER_ISS.add(1), ISS.add(1), &[]);
        assert_eq!(s.c.info(s.now).probes, 0, "linux {linux}");
    }
}

/// A FIN queued behind data in flight takes nothing off the data before
/// it is sent, nor after.
#[test]
fn tcp_info_counts_one_byte_before_and_after_its_fin_goes() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        assert_eq!(s.send(&[9]), 1);
        assert_eq!(s.out().len(), 1);
        s.shutdown();
        assert_eq!(s.c.info(s.now).unacked, 1, "linux {linux}: FIN queued");
        let v = s.out();
        assert!(v.len() == 1 && v[0].flags().fin(), "{v:#?}");
        assert_eq!(s.c.info(s.now).unacked, 1, "linux {linux}: FIN sent");
    }
}

/// A connection that was never opened (CLOSED) or only listens has no
/// segment in flight: `tcpi_unacked` 0 (Linux's `packets_out`, RFC 9293
/// §3.3.2: nothing sent, SND.UNA = SND.NXT).
#[test]
fn tcp_info_counts_nothing_in_flight_before_an_open() {
    for linux in [false, true] {
        let s = Sut::new(preset(linux));
        let i = s.c.info(s.now);
        assert_eq!((i.state, i.unacked), (7, 0), "linux {linux}: CLOSED");
        let s = listen_with(preset(linux));
        let i = s.c.info(s.now);
        assert_eq!((i.state, i.unacked), (10, 0), "linux {linux}: LISTEN");
    }
}

/// ESTABLISHED with SACK negotiated (RFC 2018) and an MSS of 1000.
fn established_sack(linux: bool) -> Sut {
    let cfg = tcpstate::Config {
        sack: true,
        ..preset(linux)
    };
    let mut s = Sut::with_buffers(cfg, RX, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let _ = s.out();
    s.peer_syn_opts = tcpstate::wire::TcpOptions {
        mss: Some(1000),
        sack_permitted: true,
        ..tcpstate::wire::TcpOptions::NONE
    };
    s.now += ms(100);
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.effective_mss(), 1000);
    s
}

/// SACKed data with no duplicate ACK is Disorder (Linux's
/// `tcp_try_to_open`: `TCP_CA_Disorder` while any segment is SACKed): an
/// ACK that advances SND.UNA past the first segment (not a duplicate, RFC
/// 5681 §2) and SACKs the third (RFC 2018 §4), the second missing.
#[test]
fn tcp_info_sacked_data_alone_is_disorder() {
    for linux in [false, true] {
        let mut s = established_sack(linux);
        assert_eq!(s.send(&[1; 6000]), 6000);
        assert_eq!(s.out().len(), 6, "linux {linux}");
        s.now += ms(100);
        let una = ISS.add(1);
        s.ack_sack(una.add(1000), &[(una.add(2000), una.add(3000))]);
        let i = s.c.info(s.now);
        assert_eq!((i.ca_state, i.sacked), (1, 1), "linux {linux}: Disorder");
    }
}

/// In SACK recovery `tcpi_lost` counts the holes below the highest SACKed
/// byte (RFC 6675 §4 IsLost: three segments SACKed above each of them):
/// the first two segments missing, the next three SACKed, is two lost.
#[test]
fn tcp_info_counts_every_hole_below_the_highest_sack_as_lost() {
    let mut s = established_sack(false);
    assert_eq!(s.send(&[1; 8000]), 8000);
    assert_eq!(s.out().len(), 8);
    s.now += ms(100);
    let una = ISS.add(1);
    for n in 1..=3 {
        s.ack_sack(una, &[(una.add(2000), una.add(2000 + 1000 * n))]);
    }
    let i = s.c.info(s.now);
    assert_eq!((i.ca_state, i.sacked, i.lost), (3, 3, 2), "TCP_CA_Recovery");
}

/// ESTABLISHED with ECN negotiated (RFC 3168 §6.1.1).
fn established_ecn(linux: bool) -> Sut {
    let cfg = tcpstate::Config {
        ecn: true,
        ..preset(linux)
    };
    let mut s = Sut::new(cfg);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let _ = s.out();
    s.now += ms(100);
    s.peer(f(f(SYN, ACK), tcpstate::Flags::ECE), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert!(s.c.ecn_enabled());
    s
}

/// ECN negotiated shows in `tcpi_options` (`TCPI_OPT_ECN`). Without
/// `Config::linux_cwr` (RFC 3168 §6.1.2: the window is halved at once)
/// the state reads CWR (2) from the ECN-Echo (here on the ACK of three
/// of four segments, so that the halved window lets the next one go) until
/// the CWR flag goes out on new data, then Open again.
#[test]
fn tcp_info_ecn_option_and_cwr_until_the_cwr_flag_goes() {
    use tcpstate::connection::info::TCPI_OPT_ECN;
    let mut s = established_ecn(false);
    let i = s.c.info(s.now);
    assert_eq!((i.options & TCPI_OPT_ECN, i.ca_state), (TCPI_OPT_ECN, 0));
    let mss = usize::from(s.c.effective_mss());
    assert_eq!(s.send(&vec![1; 4 * mss]), 4 * mss);
    assert_eq!(s.out().len(), 4);
    s.now += ms(100);
    let una = ISS.add(1);
    let three = una.add(3 * mss as u32);
    s.seg(f(ACK, tcpstate::Flags::ECE), PEER_ISS.add(1), three, &[]);
    assert_eq!(s.c.info(s.now).ca_state, 2, "TCP_CA_CWR");
    assert_eq!(s.send(&vec![2; mss]), mss);
    let v = s.out();
    assert!(
        v.iter().any(|p| p.flags().contains(tcpstate::Flags::CWR)),
        "{v:#?}"
    );
    assert_eq!(s.c.info(s.now).ca_state, 0, "TCP_CA_Open");
}

/// Data a cork holds back (the persist condition without a window limit:
/// nothing in flight, data waiting, nothing to send) starts no clock:
/// Linux starts the rwnd-limited chronograph only when the peer's window
/// fails `tcp_snd_wnd_test`, not when `tcp_nagle_test` holds a corked
/// segment. The window is open (65535).
#[test]
fn a_cork_holding_data_back_starts_no_clock() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        s.app(|c, now| {
            c.on_app_call(now, tcpstate::AppCall::SetCork(true))
                .unwrap()
                .actions
        });
        assert_eq!(s.send(&[1u8; 100]), 100);
        s.silent();
        s.now += ms(100);
        assert_eq!(clocks(&s), (0, 0), "linux {linux}");
    }
}

/// tcp_info's `last_data_sent`: a SYN is no data (Linux's `lsndtime`
/// moves with data, `tcp_event_data_sent`), and the handshake dates it as
/// Linux does ("prevent spurious tcp_cwnd_restart() on first data
/// packet": `tcp_finish_connect`, and SYN_RECV in `tcp_rcv_state_process`),
/// on both opens and both presets.
#[test]
fn last_data_sent_counts_from_the_handshake() {
    let since_zero = |s: &Sut| (s.now.as_micros() / 1000) as u32;
    for linux in [false, true] {
        let mut s = Sut::new(preset(linux));
        s.app(|c, now| c.connect(now, ISS).unwrap());
        s.expect(SYN, ISS, tcpstate::SeqNum(0));
        s.now += ms(100);
        // No data yet: counted from time zero, as Linux counts from 0.
        assert_eq!(
            s.c.info(s.now).last_data_sent,
            since_zero(&s),
            "linux {linux}"
        );
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        assert_eq!(s.c.info(s.now).last_data_sent, 0, "linux {linux}");
        s.now += ms(250);
        assert_eq!(s.c.info(s.now).last_data_sent, 250, "linux {linux}");

        let mut s = syn_received_passive_with(preset(linux));
        s.now += ms(40);
        assert_eq!(s.c.info(s.now).last_data_sent, since_zero(&s));
        s.peer(ACK, &[]);
        assert_eq!(s.c.state(), tcpstate::State::Established);
        s.now += ms(70);
        assert_eq!(s.c.info(s.now).last_data_sent, 70, "linux {linux}");
    }
}

/// A Connection opened again after a Fast Open connection whose SYN data
/// was acknowledged: the new, plain connection's `delivered` counts its
/// own segments, as a fresh connection's does (the Fast Open SYN's data,
/// which Linux counts with the SYN as one segment, belongs to the old one).
#[test]
fn delivered_after_a_fast_open_connection_opened_again() {
    let plain_open = |s: &mut Sut| {
        s.app(|c, now| c.connect(now, ISS).unwrap());
        s.expect(SYN, ISS, tcpstate::SeqNum(0));
        s.now += ms(10);
        s.peer_nxt = PEER_ISS;
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        assert_eq!(s.send(&[5u8; 3000]), 3000);
        let _ = s.out();
        s.now += ms(10);
        s.peer(ACK, &[]);
        let _ = s.out();
        s.c.info(s.now).delivered
    };
    for linux in [false, true] {
        let mut fresh = Sut::new(preset(linux));
        let want = plain_open(&mut fresh);

        let mut s = Sut::new(preset(linux));
        s.app(|c, now| c.connect_fast_open(now, ISS, 1400).unwrap());
        assert_eq!(s.send(&[7u8; 1000]), 1000);
        let syn = s.expect(SYN, ISS, tcpstate::SeqNum(0));
        assert_eq!(syn.payload.len(), 1000);
        s.now += ms(10);
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        assert_eq!(s.c.info(s.now).delivered, 1, "the SYN and its data");
        s.abort();
        let _ = s.out();
        assert_eq!(s.c.state(), tcpstate::State::Closed);
        s.now += Duration::from_secs(1);
        assert_eq!(plain_open(&mut s), want, "linux {linux}");
    }
}
