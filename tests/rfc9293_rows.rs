//! RFC 9293 requirements (Appendix B rows, and the FSM/SA rows of the
//! project's checklist) that had no test naming them: one test per row
//! (or per small group of rows), each named after it.
mod common;
mod script;

use script::*;
use tcpstate::{Action, CallError, Config, Duration, State};

// FSM-4 (RFC 9293 Figure 5, §3.10.2 SEND in LISTEN): the edge is optional,
// and RFC 9293 says "If the remote socket was not specified, then return
// 'error: remote socket unspecified'". A tcpstate listener never has one,
// so SEND in LISTEN is refused with that error and nothing changes; Linux
// refuses it too (`send` on a listening socket: EPIPE, checked on 6.18).
#[test]
fn fsm_4_send_in_listen_is_refused_remote_socket_unspecified() {
    let mut s = listen();
    assert_eq!(
        s.c.send(s.now, b"data").unwrap_err(),
        CallError::RemoteUnspecified
    );
    assert_eq!(
        s.c.send_urgent(s.now, b"!").unwrap_err(),
        CallError::RemoteUnspecified
    );
    s.silent();
    assert_eq!(s.c.state(), State::Listen);
    assert!(s.c.deadline().is_none());
    // The listener still works: a SYN opens it as usual (FSM-3).
    s.peer(SYN, &[]);
    assert_eq!(s.c.state(), State::SynReceived);
    assert_eq!(
        CallError::RemoteUnspecified.to_string(),
        "remote socket unspecified: a listener cannot send"
    );
}

fn advice_count(s: &Sut) -> usize {
    s.last
        .into_iter()
        .filter(|a| *a == Action::NegativeAdvice)
        .count()
}

/// Runs the connection's timers until CLOSED, counting the negative
/// advice it reports and the retransmissions before it.
fn advice_until_closed(s: &mut Sut) -> (usize, Vec<usize>) {
    let mut advised_after = Vec::new();
    let mut rtx = 0;
    let mut advice = 0;
    while s.c.state() != State::Closed {
        s.fire();
        rtx += s.out().len();
        if advice_count(s) > 0 {
            advice += advice_count(s);
            advised_after.push(rtx);
        }
        assert!(rtx < 100);
    }
    (advice, advised_after)
}

// MUST-20, SHLD-9, SHLD-10: after R1 (3) retransmissions of a segment
// without an answer the connection tells the host (negative advice for
// the IP layer, news for the application), once, and goes on until R2
// (`retries2`), where it times out.
#[test]
fn must_20_shld_9_negative_advice_at_r1_then_timeout_at_r2() {
    let mut s = established();
    assert_eq!(s.send(b"hello"), 5);
    assert_eq!(s.out().len(), 1);
    let (advice, after) = advice_until_closed(&mut s);
    assert_eq!(advice, 1, "once per episode");
    assert_eq!(after, vec![usize::from(Config::RETRIES1)]);
    assert_eq!(s.c.close_reason(), Some(tcpstate::CloseReason::TimedOut));
    // SHLD-10: R1 is at least 3 retransmissions; R2 comes later.
    const { assert!(Config::RETRIES1 >= 3) };
    assert!(Config::rfc9293().retries2 > Config::RETRIES1);
    assert!(Config::linux().retries2 > Config::RETRIES1);
}

// An answer ends the episode: the next run of unanswered
// retransmissions is advised again.
#[test]
fn shld_9_advice_again_after_the_peer_answered() {
    let mut s = established();
    assert_eq!(s.send(b"a"), 1);
    let _ = s.out();
    let mut advice = 0;
    for _ in 0..3 {
        s.fire();
        let _ = s.out();
        advice += advice_count(&s);
    }
    assert_eq!(advice, 1);
    s.peer(ACK, &[]);
    assert_eq!(s.send(b"b"), 1);
    let _ = s.out();
    let mut advice = 0;
    for _ in 0..3 {
        s.fire();
        let _ = s.out();
        advice += advice_count(&s);
    }
    assert_eq!(advice, 1);
}

// MUST-22: the same R1/R2 scheme for a SYN.
#[test]
fn must_22_negative_advice_for_syn_retransmissions() {
    let mut s = syn_sent_with(Config {
        syn_retries: 6,
        ..cfg()
    });
    let (advice, after) = advice_until_closed(&mut s);
    assert_eq!(advice, 1);
    assert_eq!(after, vec![usize::from(Config::RETRIES1)]);
}

mod ep_net;

// SHLD-9 through the Endpoint: `Event::NegativeAdvice(h)` for the
// application's handle (its peer address says which route).
#[test]
fn shld_9_endpoint_reports_negative_advice() {
    use ep_net::*;
    use tcpstate::endpoint::Event;
    let mut net = Net::new(vec![cfg(1), cfg(2)], 3);
    let (c, _s, _) = open_pair(&mut net);
    net.loss = 1000; // a black hole
    let now = net.now;
    assert_eq!(net.ep(0).send(now, c, b"into the void"), Ok(13));
    net.run_for(Duration::from_secs(10));
    let ev = net.take_events(0);
    assert_eq!(
        ev.iter()
            .filter(|e| **e == Event::NegativeAdvice(c))
            .count(),
        1,
        "{ev:?}"
    );
    assert_eq!(net.ep(0).peer_addr(c), Some(sa(2, 80)));
}

use tcpstate::wire::{Flags, Segment, TcpOptions, Timestamps};
use tcpstate::{Instant, SeqNum};

// SHLD-27 (RFC 9293 §3.9.1): successive pushed SENDs that wait (Nagle,
// data in flight) collapse into one segment with PSH on it once.
#[test]
fn shld_27_pushed_sends_collapse_into_one_segment() {
    let mut s = established();
    assert_eq!(s.send(b"a"), 1);
    assert_eq!(s.out().len(), 1);
    for b in [b"b", b"c", b"d"] {
        assert_eq!(s.send(b), 1);
    }
    s.silent();
    s.peer(ACK, &[]);
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].payload, b"bcd");
    assert!(p[0].flags().contains(PSH));
}

// MUST-60: SEND has no PUSH flag here (every SEND is pushed, MAY-15: the
// no-push form is `AppCall::SendMore`), so a lone small SEND must not wait
// indefinitely: with nothing in flight it goes at once, Nagle or not.
#[test]
fn must_60_may_15_a_lone_small_send_goes_at_once() {
    let mut s = established();
    assert_eq!(s.send(b"x"), 1);
    let p = s.out();
    assert_eq!(p.len(), 1);
    assert!(
        p[0].flags().contains(PSH),
        "MUST-61: PSH on the last segment"
    );
}

// MAY-17 (not offered, and not needed): the receiver makes every in-order
// byte readable at once, pushed or not; PSH adds nothing to tell.
#[test]
fn may_17_unpushed_data_is_readable_at_once() {
    let mut s = established();
    s.peer(ACK, b"no push here");
    assert!(s.last.readable());
    assert_eq!(s.read(100), b"no push here");
}

// SHLD-28: bulk data goes in full-sized segments, all but the last.
#[test]
fn shld_28_bulk_data_in_full_sized_segments() {
    let mut s = established();
    assert_eq!(s.send(&[1u8; 5000]), 5000);
    let p = s.out();
    let mss = s.c.effective_mss() as usize;
    assert!(p.len() > 1);
    for q in &p[..p.len() - 1] {
        assert_eq!(q.t.len, mss);
    }
}

// MUST-1: the window field is unsigned: 0xFFFF is 65535.
#[test]
fn must_1_window_field_is_unsigned() {
    let mut s = established();
    s.peer_wnd = 0xffff;
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_wnd(), 65535);
}

// R7323-3 (RFC 7323 §2.2-2.3) on a passive open: the window of the
// peer's SYN is never scaled, the window of the ACK that completes the
// handshake (SYN-RECEIVED, RFC 9293 §3.10.7.4 fifth) is.
#[test]
fn r7323_3_the_ack_of_our_syn_ack_has_a_scaled_window() {
    let c = Config {
        window_scaling: true,
        ..cfg()
    };
    let mut s = listen_with(c);
    s.peer_syn_opts = TcpOptions {
        window_scale: Some(3),
        ..TcpOptions::NONE
    };
    s.peer_wnd = 1000;
    s.peer(SYN, &[]);
    assert_eq!(s.c.snd_wnd(), 1000, "the SYN's window unscaled");
    let _ = s.out();
    s.peer(ACK, &[]);
    assert_eq!(s.c.state(), State::Established);
    assert_eq!(s.c.snd_wnd(), 1000 << 3, "the ACK's window scaled");
}

// RFC 7323 §2.4: the window we advertise is rounded down to
// whole units of our shift, and with nothing received or read since, the
// next segment repeats it: an almost full receive buffer (2 units left)
// advertises 2, on the ACK and on the data segment after it.
#[test]
fn an_unchanged_scaled_window_is_advertised_again() {
    let c = Config {
        window_scaling: true,
        wscale_buffer: Some(6 << 20),
        ..cfg()
    };
    let mut s = Sut::with_buffers(c, 16384, 8192);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let syn = s.expect(SYN, ISS, tcpstate::SeqNum(0));
    assert_eq!(syn.t.options.window_scale, Some(7));
    s.peer_syn_opts = tcpstate::wire::TcpOptions {
        window_scale: Some(0),
        ..tcpstate::wire::TcpOptions::NONE
    };
    s.now += Duration::from_millis(10);
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    // The peer fills all but 256 bytes of the 16384-byte buffer.
    let mut left = 16384 - 256;
    while left > 0 {
        let n = left.min(1460);
        s.peer(ACK, &vec![9u8; n]);
        left -= n;
    }
    let acks = s.run_for(Duration::from_millis(300));
    let last = acks.last().expect("the data is acknowledged").1.clone();
    assert_eq!(last.ack(), s.peer_nxt);
    assert_eq!(last.t.window, 2, "256 bytes: two units of 128");
    assert_eq!(s.send(&[1u8; 10]), 10);
    let p = s.out();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].payload.len(), 10);
    assert_eq!(p[0].t.window, 2, "nothing read or received since");
}

// R7323-2 (RFC 7323 §2.3): the shift our SYN offers is the smallest that
// lets the window field cover the window space (the receive buffer, or
// `Config::wscale_buffer` when larger), at most 14, and no larger than
// leaves two units in the receive buffer (the window is rounded down to
// whole units, §2.4). The cases of the Endpoint's syn-cookie test
// (`syn_cookie_window_scale_is_the_one_a_syn_ack_with_state_offers`),
// for the Connection alone.
#[test]
fn r7323_2_the_shift_we_offer() {
    let cases = [
        (4096, None, 0u8),
        // 65535 fits the field: no scaling needed.
        (4096, Some(0xffff), 0),
        (4096, Some(0x10000), 1),
        (16384, Some(6 << 20), 7),
        // Two units of 2^11 in 4 KiB, not more.
        (4096, Some(1 << 31), 11),
        // Room for 2^15 in 64 KiB, but the shift stops at 14.
        (65536, Some(1 << 31), 14),
    ];
    for (rx, space, shift) in cases {
        let c = Config {
            window_scaling: true,
            wscale_buffer: space,
            ..cfg()
        };
        let mut s = Sut::with_buffers(c, rx, 8192);
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let syn = s.expect(SYN, ISS, tcpstate::SeqNum(0));
        assert_eq!(
            syn.t.options.window_scale,
            Some(shift),
            "rx {rx}, space {space:?}"
        );
    }
}

// REC-1 (RFC 9293 §3.8.6, RFC 7323 §2): windows are 32-bit once scaled;
// R7323-1, R7323-2, R7323-3: scaling needs the option on both SYNs, a
// shift above 14 is taken as 14, and a SYN's window is never scaled.
#[test]
fn rec_1_r7323_1_2_3_window_scaling() {
    let c = Config {
        window_scaling: true,
        ..cfg()
    };
    // The peer offers 15: taken as 14.
    let mut s = syn_sent_with(c.clone());
    s.peer_syn_opts = TcpOptions {
        window_scale: Some(15),
        ..TcpOptions::NONE
    };
    s.peer_wnd = 1000;
    s.peer(f(SYN, ACK), &[]);
    assert_eq!(s.c.snd_wnd(), 1000, "R7323-3: the SYN's window unscaled");
    assert_eq!(s.c.window_scale().map(|w| w.1), Some(14));
    s.peer_wnd = 0xffff;
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_wnd(), 0xffff << 14, "REC-1: 32 bits");
    // The peer offers none: no scaling either way.
    let mut s = syn_sent_with(c);
    s.peer(f(SYN, ACK), &[]);
    assert_eq!(s.c.window_scale(), None);
}

// SHLD-15, SHLD-16, MUST-34: the peer shrinks its window (moves the right
// edge left); no new data goes past the new edge, the data in flight is
// still retransmitted, and nothing breaks.
#[test]
fn shld_15_16_must_34_a_shrunk_window() {
    let mut s = established();
    assert_eq!(s.send(&[3u8; 8000]), 8000);
    let first = s.out();
    let sent: u32 = first.iter().map(|p| p.t.len as u32).sum();
    assert!(sent >= 4000);
    // The peer acknowledges nothing and shrinks its window to 1000.
    s.peer_wnd = 1000;
    s.peer_ack(ACK, ISS.add(1), &[]);
    s.silent();
    let edge = ISS.add(1 + 1000);
    // The RTO resends from SND.UNA, within the shrunk window.
    let rtx = s.run_for(Duration::from_secs(2));
    assert!(!rtx.is_empty());
    assert_eq!(rtx[0].1.seq(), ISS.add(1));
    for (_, p) in &rtx {
        assert!(
            !p.seq().add(p.t.len as u32).after(ISS.add(1 + sent)),
            "{p:#?}"
        );
    }
    // It is acknowledged; what follows stays within the new edge.
    s.peer_ack(ACK, ISS.add(501), &[]);
    for p in s.out() {
        assert!(!p.seq().add(p.t.len as u32).after(edge.add(500)), "{p:#?}");
    }
    // MUST-34: random shrinking windows break nothing.
    for w in [0u16, 7, 65535, 1, 300, 0, 5000] {
        s.peer_wnd = w;
        s.peer_ack(ACK, s.c.snd_una(), &[]);
        let _ = s.run_for(Duration::from_millis(300));
        assert_eq!(s.c.state(), State::Established);
    }
}

// MAY-7 (not taken): nothing beyond a shut window is retransmitted; the
// timeout sends a window probe instead (MUST-36).
#[test]
fn may_7_no_retransmission_beyond_a_shut_window() {
    let mut s = established();
    assert_eq!(s.send(&[3u8; 1000]), 1000);
    let _ = s.out();
    s.peer_wnd = 0;
    s.peer_ack(ACK, ISS.add(1), &[]);
    let out = s.run_for(Duration::from_secs(3));
    assert!(!out.is_empty());
    for (_, p) in &out {
        assert_eq!(p.t.len, 0, "a probe, not data: {p:#?}");
    }
}

// MUST-14, SHLD-5, MAY-3, MUST-67: the SYN always carries our MSS (1460:
// a 1500-byte MTU less 40), and the peer's MSS bounds what we send.
#[test]
fn must_14_shld_5_may_3_must_67_the_mss_option() {
    for c in [Config::rfc9293(), Config::linux()] {
        assert_eq!(c.mss, 1500 - 40);
        let mut s = Sut::new(Config {
            timestamps: false,
            ..c
        });
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let syn = s.expect(SYN, ISS, SeqNum(0));
        assert_eq!(syn.t.options.mss, Some(1460));
        s.peer_syn_opts = TcpOptions {
            mss: Some(700),
            ..TcpOptions::NONE
        };
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        assert_eq!(s.c.effective_mss(), 700);
        assert_eq!(s.send(&[0u8; 3000]), 3000);
        assert!(s.out().iter().all(|p| p.t.len <= 700));
    }
}

// MUST-58, MUST-59, SA-SEQ-8: segments that arrive together are all
// processed before the one ACK that answers them (a sans-IO host drains
// `poll_transmit` after feeding the batch).
#[test]
fn must_58_59_sa_seq_8_one_ack_for_a_batch() {
    let mut s = established();
    let base = PEER_ISS.add(1);
    s.seg(ACK, base.add(100), ISS.add(1), &[2; 100]);
    s.seg(ACK, base.add(200), ISS.add(1), &[3; 100]);
    s.seg(ACK, base, ISS.add(1), &[1; 100]);
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].ack(), base.add(300));
}

// SHLD-11: R2 for data is at least 100 s in both presets.
#[test]
fn shld_11_r2_is_at_least_100_seconds() {
    for c in [
        cfg(),
        Config {
            timestamps: false,
            window_scaling: false,
            ..Config::linux()
        },
    ] {
        let mut s = established_with(c);
        assert_eq!(s.send(b"x"), 1);
        let _ = s.out();
        let start = s.now;
        let _ = s.run_to_closed(Duration::from_secs(3600));
        assert!(
            s.now - start >= Duration::from_secs(100),
            "{:?}",
            s.now - start
        );
    }
}

// MUST-24, MUST-27: keep-alive on and off per connection, with its
// interval, by an application call (off by default, MUST-25).
#[test]
fn must_24_27_keepalive_per_connection() {
    let mut s = established();
    assert!(s.c.config().keepalive.is_none());
    let k = tcpstate::Keepalive {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(2),
        probes: 3,
    };
    let o =
        s.c.on_app_call(s.now, tcpstate::AppCall::SetKeepalive(Some(k)))
            .unwrap();
    s.record(o.actions);
    assert_eq!(s.c.config().keepalive, Some(k));
    let t0 = s.now;
    let sent = s.run_for(Duration::from_secs(15));
    let times: Vec<_> = sent.iter().map(|(t, _)| *t - t0).collect();
    assert_eq!(
        times,
        vec![
            Duration::from_secs(10),
            Duration::from_secs(12),
            Duration::from_secs(14)
        ]
    );
    let o =
        s.c.on_app_call(s.now, tcpstate::AppCall::SetKeepalive(None))
            .unwrap();
    s.record(o.actions);
    assert!(s.run_for(Duration::from_secs(3600)).is_empty());
    assert_eq!(s.c.state(), State::Established);
    // No probe, a zero idle time or a zero interval: each alone refused.
    for bad in [
        tcpstate::Keepalive { probes: 0, ..k },
        tcpstate::Keepalive {
            idle: Duration::ZERO,
            ..k
        },
        tcpstate::Keepalive {
            interval: Duration::ZERO,
            ..k
        },
    ] {
        assert_eq!(
            s.c.on_app_call(s.now, tcpstate::AppCall::SetKeepalive(Some(bad)))
                .unwrap_err(),
            CallError::InvalidKeepalive,
            "{bad:?}"
        );
    }
    assert!(
        s.c.config().keepalive.is_none(),
        "a refused call changes nothing"
    );
}

// RFC 9293 §3.10.1 OPEN: on a connection that is not CLOSED, "return
// 'error: connection already exists'": an active or passive OPEN of a
// listening, opening or open connection is refused (`InUse`) and changes
// nothing.
#[test]
fn r9293_3_10_1_open_of_a_connection_in_use_is_refused() {
    for mut s in [listen(), syn_sent(), established(), close_wait()] {
        let st = s.c.state();
        let (una, nxt) = (s.c.snd_una(), s.c.snd_nxt());
        assert_eq!(
            s.c.connect(s.now, SeqNum(77)).unwrap_err(),
            CallError::InUse(st)
        );
        assert_eq!(
            s.c.listen(s.now, SeqNum(77)).unwrap_err(),
            CallError::InUse(st)
        );
        assert_eq!(s.c.state(), st);
        assert_eq!((s.c.snd_una(), s.c.snd_nxt()), (una, nxt), "{st}");
        s.silent();
    }
}

// FSM-61, FSM-62: CLOSE in CLOSING, LAST-ACK or TIME-WAIT, and SEND after
// CLOSE, are "connection closing" errors; nothing is sent.
#[test]
fn fsm_61_62_close_and_send_while_closing() {
    for mut s in [
        closing(),
        last_ack(),
        time_wait(),
        fin_wait_1(),
        fin_wait_2(),
    ] {
        let st = s.c.state();
        assert_eq!(
            s.c.send(s.now, b"x").unwrap_err(),
            CallError::Closing,
            "{st}"
        );
        if matches!(st, State::Closing | State::LastAck | State::TimeWait) {
            assert_eq!(s.c.close(s.now).unwrap_err(), CallError::Closing, "{st}");
        }
        s.silent();
        assert_eq!(s.c.state(), st);
    }
}

/// Feeds a connection's output back into itself until it is silent.
fn loop_back(c: &mut tcpstate::Connection<Vec<u8>>, now: Instant) {
    let mut buf = vec![0u8; 65536];
    for _ in 0..50 {
        let Some(t) = c.poll_transmit(now, &mut buf) else {
            return;
        };
        let payload = buf[..t.len].to_vec();
        let seg = Segment {
            seq: t.seq,
            ack: t.ack,
            flags: t.flags,
            window: t.window,
            urgent: t.urgent,
            options: t.options,
            payload: &payload,
        };
        let _ = c.on_segment(now, &seg);
    }
}

// SA-SEQ-10 (RFC 9293 Appendix A.2): a connection to itself (its own
// segments come back to it) opens by simultaneous open and carries data.
#[test]
fn sa_seq_10_self_connect() {
    let now = Instant::from_secs(1);
    for c in [cfg(), Config::linux()] {
        let mut c = common::conn(c, 4096, 4096);
        let _ = c.connect(now, SeqNum(777)).unwrap();
        loop_back(&mut c, now);
        assert_eq!(c.state(), State::Established);
        let _ = c.send(now, b"echo").unwrap();
        loop_back(&mut c, now);
        let mut b = [0u8; 10];
        assert_eq!(c.recv(now, &mut b).unwrap().len, 4);
        assert_eq!(&b[..4], b"echo");
    }
}

// R7323-5, R7323-12: once negotiated, timestamps on every segment but a
// RST (the RFC 9293 preset's RST is bare; Linux's own RST carries them,
// `Config::rst_with_ack`).
#[test]
fn r7323_5_12_timestamps_on_every_segment_but_rst() {
    let mut s = syn_sent_with(Config::rfc9293());
    s.peer_syn_opts = TcpOptions {
        timestamps: Some(Timestamps { val: 5, ecr: 0 }),
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    let mut all = s.out();
    assert_eq!(s.send(&[1u8; 3000]), 3000);
    all.extend(s.out());
    all.extend(s.run_for(Duration::from_secs(2)).into_iter().map(|x| x.1));
    assert!(all.len() > 3);
    assert!(
        all.iter().all(|p| p.t.options.timestamps.is_some()),
        "{all:#?}"
    );
    s.abort();
    let rst = s.out();
    assert!(rst[0].flags().rst());
    assert!(rst[0].t.options.timestamps.is_none());
}

// R7323-6 (SHOULD drop; not taken) and LNX-7: a non-RST segment without
// timestamps after they were negotiated is accepted, as Linux does.
#[test]
fn r7323_6_lnx_7_segment_without_timestamps_accepted() {
    let mut s = syn_sent_with(Config::rfc9293());
    s.peer_syn_opts = TcpOptions {
        timestamps: Some(Timestamps { val: 5, ecr: 0 }),
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    assert!(s.c.timestamps_enabled());
    s.peer(ACK, b"no ts");
    assert_eq!(s.read(10), b"no ts");
}

// R7323-10 (RFC 7323 §5.5): PAWS gives up on a TS.Recent idle for more
// than 24 days: an older TSval is accepted then, not before.
#[test]
fn r7323_10_paws_gives_up_after_24_days() {
    let ts = |val| TcpOptions {
        timestamps: Some(Timestamps { val, ecr: 0 }),
        ..TcpOptions::NONE
    };
    for (idle_days, accepted) in [(23, false), (25, true)] {
        let mut s = syn_sent_with(Config::rfc9293());
        s.peer_syn_opts = ts(1_000_000);
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        s.now += Duration::from_secs(idle_days * 86_400);
        let seq = s.c.rcv_nxt();
        s.seg_opts(ACK, seq, s.c.snd_nxt(), ts(10), b"old");
        assert_eq!(s.c.recv_queue() == 3, accepted, "{idle_days} days");
    }
}

// R7323-10 at its edge: the connection counts TS.Recent's age in units of
// 2^20 µs (about a second; `input.rs`'s PAWS_IDLE, 24 days rounded down
// to 1 977 539 units). PAWS still holds a microsecond before that many
// units since TS.Recent was taken, and gives up at them.
#[test]
fn r7323_10_paws_gives_up_at_24_days_to_the_unit() {
    const UNIT_US: u64 = 1 << 20;
    const IDLE_UNITS: u64 = 24 * 86_400 * 1_000_000 / UNIT_US;
    let ts = |val| TcpOptions {
        timestamps: Some(Timestamps { val, ecr: 0 }),
        ..TcpOptions::NONE
    };
    assert!(T0.as_micros() < UNIT_US, "TS.Recent taken in unit 0");
    for (at, accepted) in [
        (IDLE_UNITS * UNIT_US - 1, false),
        (IDLE_UNITS * UNIT_US, true),
    ] {
        let mut s = syn_sent_with(Config::rfc9293());
        s.peer_syn_opts = ts(1_000_000);
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        s.now = tcpstate::Instant::from_micros(at);
        let seq = s.c.rcv_nxt();
        s.seg_opts(ACK, seq, s.c.snd_nxt(), ts(10), b"old");
        assert_eq!(s.c.recv_queue() == 3, accepted, "at {at} µs");
        // RFC 7323 §5.3 R1: a segment PAWS rejects is dropped (counted).
        assert_eq!(s.c.stats().dropped, u64::from(!accepted), "at {at} µs");
    }
}

// R6298-2, R6298-3: the RTO from the first RTT sample (SRTT = R, RTTVAR =
// R/2) and the next (RTTVAR first, then SRTT), with Linux's 200 ms floor.
#[test]
fn r6298_2_3_rto_from_samples() {
    let c = Config {
        timestamps: false,
        window_scaling: false,
        ..Config::linux()
    };
    let mut s = syn_sent_with(c);
    s.now += Duration::from_millis(100);
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    // R = 100 ms: RTO = 100 + 4 * 50 = 300 ms.
    assert_eq!(s.c.srtt(), Some(Duration::from_millis(100)));
    assert_eq!(s.c.rto(), Duration::from_millis(300));
    assert_eq!(s.send(b"x"), 1);
    let _ = s.out();
    s.now += Duration::from_millis(200);
    s.peer(ACK, &[]);
    // R' = 200: RTTVAR = 3/4 * 50 + 1/4 * 100 = 62.5, SRTT = 7/8 * 100 +
    // 1/8 * 200 = 112.5; RTO = 112.5 + 250 = 362.5 ms.
    assert_eq!(s.c.srtt(), Some(Duration::from_micros(112_500)));
    assert_eq!(s.c.rto(), Duration::from_micros(362_500));
}

// R5681-5 (RFC 5681 §3.1): a timeout leaves one segment of window and
// ssthresh at half the flight, at least two segments.
#[test]
fn r5681_5_loss_window_after_a_timeout() {
    let mut s = established_with(Config {
        frto: false,
        ..cfg()
    });
    assert_eq!(s.send(&[1u8; 4000]), 4000);
    let _ = s.out();
    let mss = s.c.effective_mss() as u32;
    s.fire();
    assert_eq!(s.c.stats().timeouts, 1);
    assert_eq!(s.c.cwnd(), mss);
}

// R5681-6: an ACK that only updates the window is not a duplicate ACK.
#[test]
fn r5681_6_a_window_update_is_not_a_duplicate_ack() {
    let mut s = established();
    assert_eq!(s.send(&[1u8; 5000]), 5000);
    let _ = s.out();
    for w in [60000u16, 50000, 40000, 30000] {
        s.peer_wnd = w;
        s.peer_ack(ACK, ISS.add(1), &[]);
    }
    assert_eq!(s.c.stats().recoveries, 0);
    assert_eq!(s.c.stats().retransmits, 0);
    // Three true duplicates do start recovery.
    for _ in 0..3 {
        s.peer_ack(ACK, ISS.add(1), &[]);
    }
    assert_eq!(s.c.stats().recoveries, 1);
}

/// A SYN from `src` to `dst` (IPv4), checksummed.
fn syn_bytes(src: std::net::SocketAddr, dst: std::net::SocketAddr) -> Vec<u8> {
    use tcpstate::wire::{TcpHeader, checksum};
    let h = TcpHeader {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNum(100),
        ack: SeqNum(0),
        flags: Flags::SYN,
        window: 65535,
        urgent: 0,
        options: TcpOptions::NONE,
    };
    let mut buf = vec![0u8; h.header_len()];
    h.emit(&mut buf).unwrap();
    let (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
        unreachable!()
    };
    checksum::fill_checksum_v4(s.octets(), d.octets(), &mut buf);
    buf
}

// MUST-57, MUST-63, EP-9 (RFC 9293 §3.9.2): a SYN to a broadcast or
// multicast address, or from one (or from the unspecified address), is
// dropped silently: no SYN,ACK, no RST, no TCB. MUST-46: an OPEN to such
// a remote address is refused.
#[test]
fn must_46_57_63_ep_9_no_broadcast_or_multicast() {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let mut ep = tcpstate::Endpoint::new(ep_net::cfg(2), [7; 16]).unwrap();
    let me = ep_net::sa(2, 80);
    ep.listen(me, 16).unwrap();
    let now = Instant::from_secs(1);
    let v4 = |a, b, c, d, port| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port);
    let bad_src = [
        v4(224, 0, 0, 1, 999),
        v4(255, 255, 255, 255, 999),
        v4(0, 0, 0, 0, 999),
    ];
    for src in bad_src {
        ep.on_datagram(
            now,
            src.ip(),
            me.ip(),
            tcpstate::Ecn::NotEct,
            &syn_bytes(src, me),
        );
    }
    for dst in [v4(224, 0, 0, 1, 80), v4(255, 255, 255, 255, 80)] {
        let src = ep_net::sa(9, 999);
        ep.on_datagram(
            now,
            src.ip(),
            dst.ip(),
            tcpstate::Ecn::NotEct,
            &syn_bytes(src, dst),
        );
    }
    let mut buf = [0u8; 1500];
    assert!(ep.poll_transmit(now, &mut buf).is_none(), "no reply");
    assert_eq!(ep.connection_count(), 0);
    assert!(ep.counters().addr_drops >= 5, "{:?}", ep.counters());
    // A good SYN is answered.
    let src = ep_net::sa(9, 999);
    ep.on_datagram(
        now,
        src.ip(),
        me.ip(),
        tcpstate::Ecn::NotEct,
        &syn_bytes(src, me),
    );
    assert!(ep.poll_transmit(now, &mut buf).is_some());
    // MUST-46: no OPEN to a multicast or broadcast remote.
    for to in [
        v4(224, 0, 0, 1, 80),
        v4(255, 255, 255, 255, 80),
        v4(0, 0, 0, 0, 80),
    ] {
        assert_eq!(
            ep.connect(now, None, to).unwrap_err(),
            tcpstate::EndpointError::InvalidAddress
        );
    }
}

// MUST-43, MUST-44, MUST-45: OPEN takes an optional local address; without
// one the host's (the Endpoint's first of the family) is used; every
// segment of the connection carries its local address.
#[test]
fn must_43_44_45_local_addresses() {
    use std::net::{IpAddr, Ipv4Addr};
    let second = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
    let c1 = ep_net::cfg(1).with_local_addr(second).unwrap();
    let mut net = ep_net::Net::new(vec![c1, ep_net::cfg(2)], 5);
    net.ep(1).listen(ep_net::sa(2, 80), 16).unwrap();
    let now = net.now;
    let a = net.ep(0).connect(now, None, ep_net::sa(2, 80)).unwrap();
    let b = net
        .ep(0)
        .connect(
            now,
            Some(std::net::SocketAddr::new(second, 0)),
            ep_net::sa(2, 80),
        )
        .unwrap();
    assert_eq!(net.ep(0).local_addr(a).unwrap().ip(), ep_net::ip(1));
    assert_eq!(net.ep(0).local_addr(b).unwrap().ip(), second);
    // Every datagram either connection sends comes from its own address.
    let mut buf = vec![0u8; 1600];
    let mut srcs = Vec::new();
    while let Some(d) = net.ep(0).poll_transmit(now, &mut buf) {
        srcs.push(d.src);
    }
    srcs.sort();
    assert_eq!(srcs, vec![ep_net::ip(1), second]);
}

// MUST-9, EP-8, SHLD-1: the ISN function's key is the Endpoint's secret:
// the same 4-tuple at the same time gets unrelated ISNs under two secrets.
#[test]
fn must_9_ep_8_isn_keyed_by_the_secret() {
    let isn = |secret: [u8; 16]| {
        let mut ep = tcpstate::Endpoint::new(ep_net::cfg(1), secret).unwrap();
        let now = Instant::from_secs(1);
        let _ = ep
            .connect(now, Some(ep_net::sa(1, 40000)), ep_net::sa(2, 80))
            .unwrap();
        let mut buf = [0u8; 1500];
        let d = ep.poll_transmit(now, &mut buf).unwrap();
        let (h, _) = tcpstate::wire::TcpHeader::parse(d.segment(&buf)).unwrap();
        h.seq
    };
    assert_eq!(isn([1; 16]), isn([1; 16]), "deterministic for tests");
    assert_ne!(isn([1; 16]), isn([2; 16]));
}

// R6298-9 (RFC 6298 §5.7): the SYN was retransmitted and no RTT sample
// came of it: the RTO is 3 s once data flows.
#[test]
fn r6298_9_rto_of_3_s_after_a_lost_syn() {
    let mut s = syn_sent();
    s.fire();
    let _ = s.out();
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    assert_eq!(s.c.rto(), Duration::from_secs(3));
}

// R5681-3 (RFC 5681 §3.1 with RFC 3465 L=2): in slow start each ACK grows
// cwnd by the bytes it acknowledges, at most two segments.
#[test]
fn r5681_3_slow_start_grows_by_what_is_acked_at_most_two_segments() {
    let mut s = established();
    let mss = s.c.effective_mss() as u32;
    assert_eq!(s.send(&[1u8; 8000]), 8000);
    let _ = s.out();
    let w0 = s.c.cwnd();
    s.peer_ack(ACK, ISS.add(1 + mss), &[]);
    assert_eq!(s.c.cwnd(), w0 + mss);
    s.peer_ack(ACK, ISS.add(1 + 5 * mss), &[]);
    assert_eq!(s.c.cwnd(), w0 + mss + 2 * mss, "L = 2");
}

/// RECEIVE's answer (`Ok(n)` or the error) with an empty buffer and with
/// a buffer of 16 bytes.
fn receive(s: &mut Sut) -> [Result<usize, CallError>; 2] {
    let now = s.now;
    let mut buf = [0u8; 16];
    [
        s.c.recv(now, &mut []).map(|o| o.len),
        s.c.recv(now, &mut buf).map(|o| o.len),
    ]
}

// RFC 9293 §3.10.3 RECEIVE, with nothing to read: CLOSED "error:
// connection does not exist" (`NotConnected` before any connection, the
// reason it ended once one did), LISTEN the same (a listener has no
// stream: the application reads from the connections it accepts), an open
// connection nothing yet (`Ok(0)`), and after a normal close the end of the
// stream (`Ok(0)`, as a socket's read). An empty buffer is refused
// (`EmptyBuffer`: an `Ok(0)` would read as the end of the stream) wherever
// a read could return data.
#[test]
fn r9293_3_10_3_receive_with_nothing_to_read_by_state() {
    use CallError::{EmptyBuffer, Ended, NotConnected};
    use tcpstate::CloseReason::{Normal, Reset};
    let mut s = closed();
    assert_eq!(receive(&mut s), [Err(NotConnected), Err(NotConnected)]);
    let mut s = listen();
    assert_eq!(receive(&mut s), [Err(NotConnected), Err(NotConnected)]);
    let mut s = established();
    assert_eq!(receive(&mut s), [Err(EmptyBuffer), Ok(0)]);
    s.silent();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.closed_by(Reset);
    assert_eq!(receive(&mut s), [Err(Ended(Reset)), Err(Ended(Reset))]);
    let mut s = last_ack();
    s.peer(ACK, &[]);
    s.closed_by(Normal);
    assert_eq!(receive(&mut s), [Err(EmptyBuffer), Ok(0)]);
}

// RFC 9293 §3.10.4 CLOSE in CLOSED: "error: connection does not exist".
// CLOSE and a half-close (`Shutdown`) of a connection that never opened
// or has ended say so as RECEIVE does: `NotConnected`, or the reason it
// ended (not `Closing`, which is for a connection still closing), and
// change nothing (the application has not closed it: `is_app_closed`).
#[test]
fn r9293_3_10_4_close_and_shutdown_of_a_closed_connection() {
    use tcpstate::CloseReason::Reset;
    let mut s = closed();
    assert_eq!(s.c.close(s.now).unwrap_err(), CallError::NotConnected);
    assert_eq!(s.c.shutdown(s.now).unwrap_err(), CallError::NotConnected);
    assert!(!s.c.is_app_closed());
    let mut s = established();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.closed_by(Reset);
    assert_eq!(s.c.close(s.now).unwrap_err(), CallError::Ended(Reset));
    assert_eq!(s.c.shutdown(s.now).unwrap_err(), CallError::Ended(Reset));
    assert!(!s.c.is_app_closed());
    s.silent();
}

// RFC 7323 §2.2, RFC 2018 §2: window scaling and SACK are options a host
// may leave off: with `window_scaling` or `sack` off the SYN carries no
// Window Scale, resp. SACK-permitted option (`cfg()` has timestamps and
// window scaling off).
#[test]
fn r7323_2_2_r2018_2_options_left_off_are_not_offered() {
    for (ws, sack) in [(false, false), (true, false), (false, true)] {
        let mut s = Sut::new(Config {
            window_scaling: ws,
            sack,
            ..cfg()
        });
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let syn = s.expect(SYN, ISS, SeqNum(0));
        assert_eq!(syn.t.options.window_scale.is_some(), ws, "ws {ws}");
        assert_eq!(syn.t.options.sack_permitted, sack, "sack {sack}");
    }
}

// FSM-49 / RFC 9293 §3.6.1 SHLD-3 are taken with
// `rst_on_data_after_close` (Linux's behaviour); without it data after
// CLOSE is processed as in FIN-WAIT-1 (RFC 9293 §3.10.7.4 step 7:
// acknowledged), and the connection goes on closing.
#[test]
fn fsm_49_data_after_close_without_rst_on_data_after_close() {
    let mut s = fin_wait_1_with(
        Config {
            rst_on_data_after_close: false,
            ..cfg()
        },
        true,
    );
    s.peer_ack(ACK, ISS.add(1), b"abc");
    assert_eq!(s.c.state(), State::FinWait1);
    let out = s.out();
    assert!(out.iter().all(|p| !p.flags().rst()), "{out:#?}");
}
