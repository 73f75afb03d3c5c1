//! Behaviours `Config::linux()` takes from Linux where RFC 9293 leaves the
//! choice open, each checked against both presets (issue 15), and the
//! `tcp_info`-shaped snapshot (`Connection::info`).

mod common;
mod script;

use common::{Pair, drain};
use tcpstate::connection::info::{TCP_INFINITE_SSTHRESH, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS};
use tcpstate::{AppCall, Config, Duration, SeqNum};

/// A connected pair, A having written `n` bytes; the segments A sends at
/// once, as (length, PSH).
fn first_flight(cfg: Config, n: usize) -> Vec<(usize, bool)> {
    let mut p = Pair::open(cfg, 1 << 20, 1 << 20);
    let now = p.now;
    let out = p.a.send(now, &vec![7u8; n]).unwrap();
    assert_eq!(out.len, n);
    drain(&mut p.a, now)
        .iter()
        .map(|s| (s.payload.len(), s.t.flags.psh()))
        .collect()
}

#[test]
fn psh_rfc9293_only_on_the_last_segment_of_the_queued_data() {
    let f = first_flight(Config::rfc9293(), 1448);
    assert_eq!(f, vec![(1448, true)]);
    // (RFC 896 Nagle holds the short tail while data is in flight.)
    let f = first_flight(Config::rfc9293(), 2500);
    assert_eq!(f, vec![(1448, false)]);
    // A window's worth of a longer write: no PSH at all.
    let f = first_flight(Config::rfc9293(), 20_000);
    assert_eq!(f.len(), 10);
    assert!(f.iter().all(|(_, psh)| !psh), "{f:?}");
}

#[test]
fn psh_linux_on_every_two_segment_gso_packet() {
    // Linux sends a burst as two-segment GSO packets, each with PSH (seen
    // on 6.18 with tcpdump on the tun device): in segments, every second
    // one of a burst, and the write's last one.
    let f = first_flight(Config::linux(), 20_000);
    let psh: Vec<bool> = f.iter().map(|x| x.1).collect();
    assert_eq!(
        psh,
        [
            false, true, false, true, false, true, false, true, false, true
        ]
    );
    let f = first_flight(Config::linux(), 2500);
    assert_eq!(f, vec![(1448, false), (1052, true)]);
}

#[test]
fn send_more_holds_and_leaves_psh_off_in_both_presets() {
    for cfg in [Config::rfc9293(), Config::linux()] {
        let mut p = Pair::open(cfg, 1 << 16, 1 << 16);
        let now = p.now;
        let o = p.a.on_app_call(now, AppCall::SendMore(&[1u8; 40])).unwrap();
        assert_eq!(o.len, 40);
        assert!(drain(&mut p.a, now).is_empty(), "MSG_MORE data waits");
        // TCP_NODELAY pushes what was held, still without PSH.
        let _ = p.a.on_app_call(now, AppCall::SetNoDelay(true)).unwrap();
        let out = drain(&mut p.a, now);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload.len(), 40);
        assert!(!out[0].t.flags.psh());
    }
}

/// A write without MSG_MORE sends what earlier MSG_MORE writes held (Linux
/// `tcp_sendmsg`: only a write flagged MSG_MORE keeps its tail back), with
/// PSH on the segment that ends it.
#[test]
fn a_send_without_more_pushes_what_send_more_held() {
    for cfg in [Config::rfc9293(), Config::linux()] {
        let mut p = Pair::open(cfg, 1 << 16, 1 << 16);
        let now = p.now;
        let _ = p.a.on_app_call(now, AppCall::SendMore(&[1u8; 40])).unwrap();
        assert!(drain(&mut p.a, now).is_empty(), "MSG_MORE data waits");
        let o = p.a.send(now, &[2u8; 40]).unwrap();
        assert_eq!(o.len, 40);
        let out = drain(&mut p.a, now);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload.len(), 80);
        assert!(out[0].t.flags.psh());
    }
}

#[test]
fn cork_holds_short_segments_until_removed() {
    let mut p = Pair::open(Config::linux(), 1 << 16, 1 << 16);
    let now = p.now;
    let _ = p.a.on_app_call(now, AppCall::SetCork(true)).unwrap();
    let _ = p.a.send(now, &[1u8; 40]).unwrap();
    let _ = p.a.send(now, &[1u8; 40]).unwrap();
    assert!(drain(&mut p.a, now).is_empty());
    let _ = p.a.on_app_call(now, AppCall::SetCork(false)).unwrap();
    let out = drain(&mut p.a, now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.len(), 80);
    assert!(out[0].t.flags.psh());
}

/// The one segment A has to send now, as (length, PSH).
#[track_caller]
fn one_segment(p: &mut Pair) -> (usize, bool) {
    let out = drain(&mut p.a, p.now);
    assert_eq!(out.len(), 1, "{out:#?}");
    (out[0].payload.len(), out[0].t.flags.psh())
}

/// The data a call tried and failed to queue (the send buffer full: `len`
/// 0) changes nothing of what waits: `SendMore`'s hold is the state of the
/// last data queued (RFC 9293 §3.9.1's SEND queues data, or reports that it
/// could not), so a `Send` or `SendEor` that queued nothing does not end
/// it, and a `SendMore` that queued nothing does not start one.
#[test]
fn r9293_3_9_1_a_write_that_queues_nothing_leaves_the_hold_as_it_was() {
    for cfg in [Config::rfc9293(), Config::linux()] {
        // A send buffer of 100 bytes, filled by one SendMore: held.
        let mut p = Pair::open(cfg.clone(), 1 << 16, 100);
        let now = p.now;
        let o =
            p.a.on_app_call(now, AppCall::SendMore(&[1u8; 100]))
                .unwrap();
        assert_eq!(o.len, 100);
        assert!(drain(&mut p.a, now).is_empty(), "MSG_MORE data waits");
        assert_eq!(p.a.send(now, &[2u8; 10]).unwrap().len, 0);
        assert!(
            drain(&mut p.a, now).is_empty(),
            "a Send that queued nothing"
        );
        let o = p.a.on_app_call(now, AppCall::SendEor(&[3u8; 10])).unwrap();
        assert_eq!(o.len, 0);
        assert!(
            drain(&mut p.a, now).is_empty(),
            "a SendEor that queued nothing"
        );
        let o = p.a.send_with(now, |space| space.len()).unwrap();
        assert_eq!(o.len, 0);
        assert!(
            drain(&mut p.a, now).is_empty(),
            "a send_with that queued nothing"
        );
        // Room again: a send_with that queues data ends the hold as a
        // Send does (its data goes, PSH on the last segment).
        let mut p = Pair::open(cfg.clone(), 1 << 16, 1 << 16);
        let now = p.now;
        let o = p.a.on_app_call(now, AppCall::SendMore(&[1u8; 40])).unwrap();
        assert_eq!(o.len, 40);
        assert!(drain(&mut p.a, now).is_empty(), "MSG_MORE data waits");
        let o = p.a.send_with(now, |space| {
            space[..10].fill(2);
            10
        });
        assert_eq!(o.unwrap().len, 10);
        assert_eq!(one_segment(&mut p), (50, true));
    }
    // RFC 9293's preset (SendMore holds as a cork does, ACKs or not): 150
    // bytes out, 50 held by Nagle, the buffer of 200 full; a SendMore that
    // queues nothing leaves the 50 to go, with PSH, when the 150 are
    // acknowledged.
    let mut p = Pair::open(Config::rfc9293(), 1 << 16, 200);
    let now = p.now;
    assert_eq!(p.a.send(now, &[1u8; 150]).unwrap().len, 150);
    p.flush();
    assert_eq!(p.a.send(now, &[2u8; 50]).unwrap().len, 50);
    assert!(drain(&mut p.a, now).is_empty(), "Nagle holds the 50");
    let o = p.a.on_app_call(now, AppCall::SendMore(&[3u8; 10])).unwrap();
    assert_eq!(o.len, 0);
    p.run_for(Duration::from_secs(1));
    let mut got = Vec::new();
    common::read_all(&mut p.b, p.now, &mut got);
    assert_eq!(got.len(), 200, "the 50 went at the ACK");
    assert_eq!(p.a.send_queue(), 0);
}

/// TCP_NODELAY set, or a cork taken off, with nothing queued pushes
/// nothing later: a `SendMore` after it waits as ever (Linux pushes the
/// pending frames at the call, and there are none).
#[test]
fn a_push_with_nothing_queued_leaves_later_send_more_data_held() {
    for cfg in [Config::rfc9293(), Config::linux()] {
        for push in [AppCall::SetNoDelay(true), AppCall::SetCork(false)] {
            let mut p = Pair::open(cfg.clone(), 1 << 16, 1 << 16);
            let now = p.now;
            let what = format!("{push:?}");
            let _ = p.a.on_app_call(now, push).unwrap();
            assert!(drain(&mut p.a, now).is_empty(), "{what}");
            let o = p.a.on_app_call(now, AppCall::SendMore(&[1u8; 40])).unwrap();
            assert_eq!(o.len, 40);
            assert!(
                drain(&mut p.a, now).is_empty(),
                "{what}: MSG_MORE data waits"
            );
        }
    }
}

/// Turning Nagle on (TCP_NODELAY off) pushes nothing: the short tail
/// Nagle holds while a full segment is unacknowledged (RFC 9293 §3.7.4)
/// still waits.
#[test]
fn r9293_3_7_4_nagle_turned_on_again_pushes_nothing() {
    let mut p = Pair::open(Config::rfc9293(), 1 << 16, 1 << 16);
    let now = p.now;
    assert_eq!(p.a.send(now, &[1u8; 1448 + 40]).unwrap().len, 1488);
    assert_eq!(one_segment(&mut p), (1448, false));
    let _ = p.a.on_app_call(now, AppCall::SetNoDelay(false)).unwrap();
    assert!(drain(&mut p.a, now).is_empty(), "Nagle still holds the 40");
}

/// A cork put on holds what Nagle holds and pushes nothing; taking it off
/// sends the short tail at once, past Nagle (Linux `TCP_CORK` off pushes
/// the pending frames with TCP_NAGLE_PUSH), with PSH on it (RFC 9293
/// §3.9.1 MUST-61: the end of the queued data). RFC 9293's preset: plain
/// Nagle holds the tail behind a full segment (Linux's Minshall variant
/// would not).
#[test]
fn r9293_3_7_4_a_cork_removed_sends_the_tail_past_nagle() {
    let mut p = Pair::open(Config::rfc9293(), 1 << 16, 1 << 16);
    let now = p.now;
    assert_eq!(p.a.send(now, &[1u8; 1448 + 40]).unwrap().len, 1488);
    assert_eq!(one_segment(&mut p), (1448, false));
    let _ = p.a.on_app_call(now, AppCall::SetCork(true)).unwrap();
    assert!(drain(&mut p.a, now).is_empty(), "the cork pushes nothing");
    let _ = p.a.on_app_call(now, AppCall::SetCork(false)).unwrap();
    assert_eq!(one_segment(&mut p), (40, true));
}

/// RFC 9293's preset: `SendMore` data waits as under a cork, and taking
/// a cork off (one was on or not) ends that wait as it ends a cork's:
/// the data goes, its end with PSH (MUST-61), as after a plain `Send`.
/// (TCP_NODELAY pushes it without PSH:
/// `send_more_holds_and_leaves_psh_off_in_both_presets`.)
#[test]
fn r9293_3_9_1_uncorking_ends_send_more_with_psh() {
    let mut p = Pair::open(Config::rfc9293(), 1 << 16, 1 << 16);
    let now = p.now;
    let _ = p.a.on_app_call(now, AppCall::SendMore(&[1u8; 40])).unwrap();
    assert!(drain(&mut p.a, now).is_empty(), "MSG_MORE data waits");
    let _ = p.a.on_app_call(now, AppCall::SetCork(false)).unwrap();
    assert_eq!(one_segment(&mut p), (40, true));
}

#[test]
fn user_timeout_set_on_an_open_connection() {
    let mut p = Pair::open(Config::linux(), 1 << 16, 1 << 16);
    let now = p.now;
    let _ =
        p.a.on_app_call(now, AppCall::SetUserTimeout(Some(Duration::from_secs(3))))
            .unwrap();
    assert_eq!(p.a.config().user_timeout, Some(Duration::from_secs(3)));
    // RFC 5482 §3: the application may turn it off again; `None` and (as
    // Linux's TCP_USER_TIMEOUT 0) `Some(0)` both do.
    for off in [None, Some(Duration::ZERO)] {
        let _ =
            p.a.on_app_call(now, AppCall::SetUserTimeout(Some(Duration::from_secs(3))))
                .unwrap();
        let _ = p.a.on_app_call(now, AppCall::SetUserTimeout(off)).unwrap();
        assert_eq!(p.a.config().user_timeout, None, "{off:?}");
    }
}

#[test]
fn info_reads_like_linux_tcp_info() {
    let mut p = Pair::open(Config::linux(), 1 << 16, 1 << 16);
    let i = p.a.info(p.now);
    assert_eq!(i.state, 1, "TCP_ESTABLISHED");
    assert_eq!(i.ca_state, 0, "TCP_CA_Open");
    assert_eq!(i.snd_cwnd, 10);
    assert_eq!(i.snd_ssthresh, TCP_INFINITE_SSTHRESH);
    assert_eq!(i.snd_mss, 1448);
    assert_eq!(i.advmss, 1448);
    assert_ne!(i.options & TCPI_OPT_TIMESTAMPS, 0);
    assert_ne!(i.options & TCPI_OPT_SACK, 0);
    assert!(i.rtt > 0);
    let now = p.now;
    let _ = p.a.send(now, &[1u8; 3000]).unwrap();
    p.flush();
    let i = p.a.info(p.now);
    assert_eq!(i.unacked, 3);
    p.run_for(Duration::from_millis(100));
    let i = p.a.info(p.now);
    assert_eq!((i.unacked, i.bytes_acked), (0, 3000));
    assert_eq!(i.delivered, 1 + 3);
    let j = p.b.info(p.now);
    assert_eq!(j.bytes_received, 3000);
    assert_eq!(j.rcv_mss, 1448);
}

#[test]
fn rst_of_close_with_unread_data_per_preset() {
    for (cfg, with_ack) in [(Config::rfc9293(), false), (Config::linux(), true)] {
        let mut p = Pair::open(cfg, 1 << 16, 1 << 16);
        let now = p.now;
        let _ = p.b.send(now, &[1u8; 100]).unwrap();
        p.run_for(Duration::from_millis(50));
        assert!(p.a.recv_queue() > 0);
        let now = p.now;
        let _ = p.a.close(now).unwrap();
        let out = drain(&mut p.a, now);
        assert_eq!(out.len(), 1);
        let t = out[0].t;
        assert!(t.flags.rst());
        assert_eq!(t.flags.ack(), with_ack, "RST,ACK with linux() only");
        assert_eq!(t.options.timestamps.is_some(), with_ack);
        if with_ack {
            assert_eq!(t.ack, p.a.rcv_nxt());
        }
    }
}

#[test]
fn ts_recent_ignores_a_segment_acknowledging_unsent_data() {
    // RFC 7323 §4.3, both presets: B sends a segment with a newer TSval
    // but an ACK of data A never sent; A's next ACK still echoes the old
    // TS.Recent.
    use tcpstate::wire::{Segment, TcpHeader};
    for cfg in [Config::rfc9293(), Config::linux()] {
        let mut p = Pair::open(cfg, 1 << 16, 1 << 16);
        let now = p.now;
        let _ = p.b.send(now, &[1u8; 10]).unwrap();
        let seg = drain(&mut p.b, now).remove(0);
        let _ = p.a.on_segment(now, &seg.seg());
        let old_ecr = seg.t.options.timestamps.unwrap().val;
        // A's ACK of the data goes out (at once or when delayed), so that
        // Last.ACK.sent is RCV.NXT.
        let mut now = now;
        if drain(&mut p.a, now).is_empty() {
            now = p.a.deadline().unwrap();
            let _ = p.a.on_timer(now);
            assert_eq!(drain(&mut p.a, now).len(), 1);
        }
        let mut h: TcpHeader = seg.header();
        h.seq = seg.t.seq.add(10);
        h.ack = p.a.snd_nxt().add(1000);
        let ts = h.options.timestamps.as_mut().unwrap();
        ts.val = ts.val.wrapping_add(1000);
        let later = now + Duration::from_millis(1);
        let _ = p.a.on_segment(later, &Segment::new(&h, &[]));
        let out = drain(&mut p.a, later);
        assert!(!out.is_empty(), "an ACK for the unacceptable ACK");
        let last = out.last().unwrap();
        assert_eq!(last.t.options.timestamps.unwrap().ecr, old_ecr);
    }
}

/// SACK blocks as TCP options.
fn sack_opts(blocks: &[(tcpstate::SeqNum, tcpstate::SeqNum)]) -> tcpstate::wire::TcpOptions {
    let mut s = tcpstate::wire::SackBlocks::new();
    for &(l, r) in blocks {
        s.push(l, r);
    }
    tcpstate::wire::TcpOptions {
        sack: s,
        ..tcpstate::wire::TcpOptions::NONE
    }
}

/// Both presets with SACK (`Config::rfc9293()` has it off), as they are
/// otherwise.
fn sack_on_both() -> [Config; 2] {
    [
        Config {
            sack: true,
            ..Config::rfc9293()
        },
        Config::linux(),
    ]
}

/// Eight segments out, then the peer SACKs segment 1, then 5 above it
/// (in order, no reordering); (connection, 1st sequence number, MSS).
fn one_then_five_sacked(cfg: &Config) -> (script::Sut, tcpstate::SeqNum, u32) {
    let (mut s, una, mss) = eight_segments_out(cfg);
    let (peer, m) = (script::PEER_ISS.add(1), |k: u32| una.add(mss * k));
    let ack = script::ACK;
    s.seg_opts(ack, peer, una, sack_opts(&[(m(1), m(2))]), &[]);
    s.seg_opts(
        ack,
        peer,
        una,
        sack_opts(&[(m(5), m(6)), (m(1), m(2))]),
        &[],
    );
    (s, una, mss)
}

/// The reordering degree (`TcpInfo::reordering`, Linux's `tp->reordering`)
/// starts at 3 (`tcp_reordering`) and grows to the distance, in segments,
/// by which a segment sent once arrived after data above it: SACKed below
/// the highest SACK (`tcp_sacktag_one` and `tcp_check_sack_reordering`),
/// or acknowledged in a hole below SACKed data (`tcp_clean_rtx_queue`).
/// Segments SACKed in order, and retransmissions, say nothing. Both
/// presets track it (it is only reported).
#[test]
fn reordering_degree_grows_as_linux_tcp_check_sack_reordering() {
    use script::{ACK, PEER_ISS};
    for cfg in sack_on_both() {
        // Eight segments out; (connection, 1st sequence number, MSS).
        let open = || {
            let (s, una, mss) = eight_segments_out(&cfg);
            assert_eq!(s.c.info(s.now).reordering, 3);
            (s, una, mss)
        };
        let peer = PEER_ISS.add(1);
        // SACKs: segment 1, then 5 above it: in order, no reordering.
        let (mut s, una, mss) = one_then_five_sacked(&cfg);
        let m = |k: u32| una.add(mss * k);
        assert_eq!(s.c.info(s.now).reordering, 3);
        // Segment 2 after 5: 4 segments from 2 to the highest SACK (6).
        s.seg_opts(
            ACK,
            peer,
            una,
            sack_opts(&[(m(1), m(3)), (m(5), m(6))]),
            &[],
        );
        assert_eq!(s.c.info(s.now).reordering, 4);
        // Fast recovery resends segment 0 (RFC 6675).
        let out = s.out();
        assert_eq!(out.first().map(|p| p.seq()), Some(m(0)), "{out:#?}");
        // A shorter distance (3 to 6) leaves the degree as it is.
        s.seg_opts(
            ACK,
            peer,
            una,
            sack_opts(&[(m(1), m(4)), (m(5), m(6))]),
            &[],
        );
        assert_eq!(s.c.info(s.now).reordering, 4);

        // Segment 5 SACKed, then the cumulative ACK up to 6: segment 0,
        // sent once and never SACKed, filled its hole 6 segments below
        // the acknowledged edge.
        let (mut s, una, mss) = open();
        let m = |k: u32| una.add(mss * k);
        s.seg_opts(ACK, peer, una, sack_opts(&[(m(5), m(6))]), &[]);
        assert_eq!(s.c.info(s.now).reordering, 3);
        s.seg(ACK, peer, m(6), &[]);
        assert_eq!(s.c.info(s.now).reordering, 6);
        // An ACK with nothing SACKed before it is no reordering.
        s.seg(ACK, peer, m(8), &[]);
        assert_eq!(s.c.info(s.now).reordering, 6);
    }
}

/// SACK blocks the peer repeats (RFC 2018 §4: each ACK carries the most
/// recent blocks again) deliver nothing new: no reordering, whatever
/// lies above them (Linux's `tcp_sacktag_one` skips what is already
/// SACKed). Both presets.
#[test]
fn repeated_sack_blocks_are_no_reordering() {
    use script::{ACK, PEER_ISS};
    for cfg in sack_on_both() {
        // Segment 1, then 5 above it: in order.
        let (mut s, una, mss) = one_then_five_sacked(&cfg);
        let m = |k: u32| una.add(mss * k);
        // Both again, the lower first: nothing new.
        let blocks = sack_opts(&[(m(1), m(2)), (m(5), m(6))]);
        s.seg_opts(ACK, PEER_ISS.add(1), una, blocks, &[]);
        let i = s.c.info(s.now);
        assert_eq!((i.reordering, i.reord_seen), (3, 0));
    }
}

/// `TcpInfo::reord_seen` (Linux's `tp->reord_seen`) counts each ACK that
/// newly delivers data sent once below the highest SACKed byte
/// (`tcp_check_sack_reordering`), whether the degree grows or not; SACKs
/// in order, and a cumulative ACK with nothing SACKed, count nothing.
/// Both presets (it is only reported).
#[test]
fn reord_seen_counts_each_reordering_event_as_linux() {
    use script::{ACK, PEER_ISS};
    for cfg in sack_on_both() {
        // In order: segment 1, then 5 above it.
        let (mut s, una, mss) = one_then_five_sacked(&cfg);
        let peer = PEER_ISS.add(1);
        let m = |k: u32| una.add(mss * k);
        let seen = |s: &script::Sut| s.c.info(s.now).reord_seen;
        assert_eq!(seen(&s), 0);
        // Segment 2 after 5 (the degree grows to 4): one event.
        s.seg_opts(
            ACK,
            peer,
            una,
            sack_opts(&[(m(1), m(3)), (m(5), m(6))]),
            &[],
        );
        assert_eq!((s.c.info(s.now).reordering, seen(&s)), (4, 1));
        // Segment 3 after 5 (the degree stays): another.
        s.seg_opts(
            ACK,
            peer,
            una,
            sack_opts(&[(m(1), m(4)), (m(5), m(6))]),
            &[],
        );
        assert_eq!((s.c.info(s.now).reordering, seen(&s)), (4, 2));
        // The cumulative ACK to 6 fills the hole at 0, below SACKed 5:
        // a third (as `tcp_clean_rtx_queue`); the ACK to 8 after it none.
        s.seg(ACK, peer, m(6), &[]);
        assert_eq!(seen(&s), 3);
        s.seg(ACK, peer, m(8), &[]);
        assert_eq!(seen(&s), 3);
    }
}

/// Both presets with SACK, no timestamps nor window scaling (hand-made
/// segments), and Linux's 200 ms minimum RTO as RFC 6298 bounds it (the
/// RTO is then the same in both: `rto_min_in_variance` off).
fn sack_presets() -> [Config; 2] {
    [Config::rfc9293(), Config::linux()].map(|c| Config {
        sack: true,
        timestamps: false,
        window_scaling: false,
        rto_min: Duration::from_millis(200),
        rto_min_in_variance: false,
        ..c
    })
}

/// ESTABLISHED with SACK and one 10 ms RTT sample (SRTT 10 ms, RTO 200 ms).
fn sack_with_srtt(config: Config) -> script::Sut {
    use script::*;
    let opts = tcpstate::wire::TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..tcpstate::wire::TcpOptions::NONE
    };
    let mut s = established_with_peer(config, opts, Duration::ZERO);
    s.send(&[1u8; 100]);
    assert_eq!(s.out().len(), 1);
    s.now += Duration::from_millis(10);
    s.peer(ACK, &[]);
    assert_eq!(s.c.rto(), Duration::from_millis(200));
    s
}

// RFC 8985 §7.2: a PTO that would expire after the RTO is cut to the RTO's
// expiry (Linux's tcp_schedule_loss_probe). One segment out: PTO = 2 *
// SRTT + WCDelAckT = 220 ms > RTO = 200 ms, so the probe goes at 200 ms,
// and the RTO armed after it is not backed off.
#[test]
fn r8985_7_2_pto_past_the_rto_is_cut_to_it() {
    for cfg in sack_presets() {
        let mut s = sack_with_srtt(cfg);
        let rto = s.c.rto();
        s.send(&[2u8; 1000]);
        let first = s.out();
        assert_eq!(first.len(), 1);
        let sent = s.now;
        s.fire();
        assert_eq!(s.now - sent, rto, "the probe at the RTO's time");
        let probe = s.out();
        assert_eq!(probe.len(), 1);
        assert_eq!(probe[0].seq(), first[0].seq());
        assert_eq!(s.c.stats().loss_probes, 1, "a probe, not a timeout");
        assert_eq!(s.c.stats().timeouts, 0);
        // RFC 8985 §7.3: then the RTO, from the probe, not backed off.
        let probed = s.now;
        s.fire();
        assert_eq!(s.now - probed, rto);
        assert_eq!(s.c.stats().timeouts, 1);
        assert_eq!(s.out().len(), 1);
        // The timeout itself backs off (RFC 6298 §5.5).
        let timed_out = s.now;
        s.fire();
        assert_eq!(s.now - timed_out, rto * 2);
        assert_eq!(s.c.stats().timeouts, 2);
    }
}

// RFC 8985 §7.2: with one segment out, PTO = 2 * SRTT + WCDelAckT (the
// peer's worst-case delayed ACK, 200 ms), when that comes before the RTO.
// A first sample of 300 ms: SRTT 300 ms, RTTVAR 150 ms, RTO = 300 + 4 *
// 150 = 900 ms (RFC 6298 §2.2); the probe goes at 600 + 200 = 800 ms.
#[test]
fn r8985_7_2_one_segment_out_waits_for_the_peers_delayed_ack() {
    use script::*;
    for cfg in sack_presets() {
        let opts = tcpstate::wire::TcpOptions {
            sack_permitted: true,
            mss: Some(1000),
            ..tcpstate::wire::TcpOptions::NONE
        };
        let mut s = established_with_peer(cfg, opts, Duration::from_millis(300));
        assert_eq!(s.c.srtt(), Some(Duration::from_millis(300)));
        assert_eq!(s.c.rto(), Duration::from_millis(900));
        s.send(&[1u8; 1000]);
        let first = s.out();
        assert_eq!(first.len(), 1);
        let sent = s.now;
        s.fire();
        assert_eq!(s.now - sent, Duration::from_millis(800));
        let probe = s.out();
        assert_eq!(probe.len(), 1);
        assert_eq!(probe[0].seq(), first[0].seq());
        assert_eq!(s.c.stats().loss_probes, 1);
    }
}

// RFC 8985 §7.3: the probe sends new data only if the receive window
// allows it; with the peer's window exactly full it sends the last
// segment again (the data left waits for the window).
#[test]
fn r8985_7_3_a_full_peer_window_probes_with_the_last_segment() {
    use script::*;
    for cfg in sack_presets() {
        let mut s = sack_with_srtt(cfg);
        let (peer, una) = (s.peer_nxt, s.c.snd_una());
        s.seg_wnd(ACK, peer, una, 2000, &[]);
        assert_eq!(s.c.snd_wnd(), 2000);
        s.send(&[2u8; 3000]);
        let out = s.out();
        assert_eq!(out.len(), 2, "the window takes two segments");
        s.fire();
        let probe = s.out();
        assert_eq!(s.c.stats().loss_probes, 1);
        assert_eq!(probe.len(), 1, "{probe:#?}");
        assert_eq!(probe[0].seq(), out[1].seq(), "the last segment again");
        assert_eq!(probe[0].payload.len(), 1000);
    }
}

// RFC 9293 §3.9.1: a loss probe that sends the last segment again sends
// it as it was, with the PSH that ended the pushed data (Linux's
// tcp_send_loss_probe resends the skb with its flags).
#[test]
fn r9293_3_9_1_a_loss_probe_keeps_the_segments_psh() {
    for cfg in sack_presets() {
        let mut s = sack_with_srtt(cfg);
        let mss = usize::from(s.c.effective_mss());
        // Two segments: PTO = 2 * SRTT, well before the RTO.
        s.send(&vec![2u8; 2 * mss]);
        let out = s.out();
        assert_eq!(out.len(), 2);
        assert!(out[1].flags().psh());
        s.fire();
        let probe = s.out();
        assert_eq!(s.c.stats().loss_probes, 1);
        assert_eq!(probe.len(), 1);
        assert_eq!(probe[0].seq(), out[1].seq(), "the last segment again");
        assert!(probe[0].flags().psh(), "{probe:#?}");
    }
}

// RFC 8985 §7.2: an ACK of new data that leaves data in flight schedules
// the loss probe again, from the ACK (Linux's tcp_ack -> tcp_set_xmit_timer
// -> tcp_schedule_loss_probe): with two segments still out, PTO = 2 *
// SRTT (at least 10 ms), long before the RTO, and its expiry sends a
// probe, not a timeout.
#[test]
fn r8985_7_2_a_partial_ack_schedules_the_probe_again() {
    use script::*;
    for cfg in sack_presets() {
        let mut s = sack_with_srtt(cfg);
        let mss = u32::from(s.c.effective_mss());
        s.send(&vec![2u8; 3 * mss as usize]);
        assert_eq!(s.out().len(), 3);
        s.now += Duration::from_millis(10);
        let (peer, una) = (s.peer_nxt, s.c.snd_una());
        s.seg(ACK, peer, una.add(mss), &[]);
        s.silent();
        let acked = s.now;
        // (2 * SRTT, at least 10 ms: `arm_rtx_timer_mss`.)
        let pto = (s.c.srtt().expect("an RTT sample") * 2).max(Duration::from_millis(10));
        assert!(pto < s.c.rto(), "{pto:?}");
        s.fire();
        assert_eq!(s.now - acked, pto, "the PTO from the ACK");
        assert_eq!(s.c.stats().loss_probes, 1);
        assert_eq!(s.c.stats().timeouts, 0);
        assert_eq!(s.out().len(), 1, "one probe");
    }
}

// RFC 9293 §3.6.1 (SHLD-3, FSM-49): data after a CLOSE ends the connection
// with a RST. The RST answers the segment as a closed connection does
// (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>), as Linux
// (tcp_rcv_state_process, tcp_v4_send_reset) and the BSDs
// (tcp_dropwithreset) send it: in FIN-WAIT-1, data that does not ack our
// FIN gets SEQ = SEG.ACK, below SND.NXT, and no ACK bit.
#[test]
fn r9293_3_10_7_1_data_after_close_gets_the_rst_of_a_closed_connection() {
    use script::*;
    for cfg in [cfg(), preset(true)] {
        let mut s = fin_wait_1_with(cfg, true);
        s.peer_ack(ACK, ISS.add(1), b"late data");
        s.expect(RST, ISS.add(1), SeqNum(0));
        s.closed_by(tcpstate::CloseReason::Aborted);
    }
}

/// The TCB keeps its past times in 32 bits (issue 17, W3; `Stamp`): exact
/// while recent, to the millisecond once older than about 18 minutes.
/// `tcp_info`'s ages stay exact across hours of idle, as Linux's do (in
/// ms), whether the host called the connection meanwhile or not.
#[test]
fn info_ages_stay_exact_across_hours_of_idle() {
    let mut p = Pair::open(Config::linux(), 1 << 16, 1 << 16);
    let _ = p.a.send(p.now, &[1u8; 100]).unwrap();
    p.run_for(Duration::from_secs(1));
    let i = p.a.info(p.now);
    let (sent, acked) = (i.last_data_sent, i.last_ack_recv);
    assert!(sent >= 1000 && acked < sent, "{sent} {acked}");
    // Three hours without a call, then B writes: A takes it at once.
    let three_hours = 3 * 3_600_000;
    p.run_for(Duration::from_millis(u64::from(three_hours)));
    let now = p.now;
    // Before A is called again: read against the old latest time.
    let i = p.a.info(now);
    assert_eq!(i.last_data_sent, sent + three_hours);
    assert_eq!(i.last_ack_recv, acked + three_hours);
    let _ = p.b.send(now, &[2u8; 10]).unwrap();
    p.run_for(Duration::from_millis(5));
    // A took B's segment five milliseconds later (its times renewed).
    let i = p.a.info(p.now);
    assert_eq!(i.last_data_sent, sent + three_hours + 5);
    assert_eq!(i.last_data_recv, 0);
    assert_eq!(i.last_ack_recv, 0);
    // Twenty days later: ages read at most 2^30 ms (about 12.4 days).
    p.run_for(Duration::from_secs(20 * 86_400));
    let _ = p.a.on_timer(p.now);
    let i = p.a.info(p.now);
    assert_eq!(i.last_data_sent, 1 << 30);
    assert_eq!(i.last_data_recv, 1 << 30);
}

/// RFC 6298 §3 times one segment a round trip; its send time is a 32-bit
/// `Stamp` like the others, renewed with them: a round trip longer than
/// the 36 minutes a recent stamp covers (the RTO may be up to an hour,
/// `Config::MAX_RTO`) is measured to the millisecond, not modulo 2^31 µs
/// (which would read 2 500 s as 352.5 s).
#[test]
fn a_round_trip_longer_than_36_minutes_is_measured_whole() {
    use script::*;
    let hour = Duration::from_secs(3600);
    let mut c = cfg();
    (c.rto_initial, c.rto_min, c.rto_max) = (hour, hour, hour);
    // The SYN,ACK comes at once: the SYN's sample is 1 µs.
    let mut s = established_with(c);
    assert_eq!(s.c.srtt(), Some(Duration::from_micros(1)));
    s.send(b"timed");
    assert_eq!(s.out().len(), 1);
    // Acknowledged 2 500 s later, before the hour's RTO: RFC 6298 §2.3,
    // SRTT = 7/8 * 1 µs + 1/8 * 2 500 s (7/8 of 1 µs rounds to 1 µs).
    s.now += Duration::from_secs(2500);
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_una(), ISS.add(6));
    assert_eq!(
        s.c.srtt(),
        Some(Duration::from_micros(1 + 2_500_000_000 / 8))
    );
}

/// RFC 5482's user timeout runs from the oldest unacknowledged data, to
/// the millisecond, also when it is longer than the 18 minutes a
/// recent `Stamp` covers: an hour of silence after a write closes the
/// connection at that write's time plus one hour.
#[test]
fn an_hour_long_user_timeout_ends_an_hour_after_the_unacknowledged_write() {
    let mut cfg = Config::linux();
    cfg.retries2 = u8::MAX;
    cfg.user_timeout = Some(Duration::from_secs(3600));
    let mut p = Pair::open(cfg, 1 << 16, 1 << 16);
    p.drop = Box::new(|to_b, _| to_b);
    p.run_for(Duration::from_millis(3));
    let wrote = p.now;
    let _ = p.a.send(wrote, &[1u8; 100]).unwrap();
    let until = wrote + Duration::from_secs(3600);
    p.run_until(wrote + Duration::from_micros(3_599_999_999));
    assert_eq!(p.a.state(), tcpstate::State::Established);
    assert!(p.a.stats().retransmits > 20, "{:?}", p.a.stats());
    p.run_until(until);
    assert_eq!(p.a.state(), tcpstate::State::Closed);
    assert_eq!(p.a.close_reason(), Some(tcpstate::CloseReason::UserTimeout));
}

/// RFC 5482: the user timeout bounds how long *sent* data stays
/// unacknowledged. Data the host has not polled out yet is not
/// unacknowledged: a user timeout shorter than the RTO that expires
/// before the first poll leaves the connection open, and the data goes
/// out at the next poll.
#[test]
fn a_user_timeout_does_not_count_data_never_sent() {
    use script::*;
    let mut c = cfg();
    c.user_timeout = Some(Duration::from_millis(100));
    let mut s = established_with(c);
    let _ = s.c.send(s.now, &[1u8; 100]).unwrap();
    let d = s.c.deadline().expect("a retransmission deadline");
    s.now = d;
    let _ = s.c.on_timer(d);
    assert_eq!(s.c.state(), tcpstate::State::Established);
    let out = s.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.len(), 100);
}

/// Quick-ACK mode comes back after the peer was idle longer than the RTO
/// (Linux `tcp_event_data_recv`: `tcp_incr_quickack` when the gap since
/// the last data exceeds the RTO): the first segment after the pause is
/// acknowledged at once, where one shortly after the last is not.
#[test]
fn quick_acks_return_after_the_peer_was_idle_longer_than_the_rto() {
    use script::*;
    let mut c = preset(true);
    c.quickack = 1;
    let mut s = established_with(c);
    s.peer(f(PSH, ACK), b"0123456789");
    s.expect_ack();
    // Quick ACKs used up: the next segment's ACK is delayed.
    s.now += Duration::from_millis(1);
    let t1 = s.now;
    s.peer(f(PSH, ACK), b"0123456789");
    s.silent();
    let sent = s.run_for(Duration::from_millis(50));
    assert_eq!(sent.len(), 1, "the delayed ACK");
    // A pause of exactly the RTO is not longer than it (Linux: `m >
    // icsk_rto`): still delayed.
    let rto = Duration::from_micros(u64::from(s.c.info(s.now).rto));
    assert!(rto > Duration::from_millis(50), "{rto:?}");
    s.now = t1 + rto;
    s.peer(f(PSH, ACK), b"0123456789");
    s.silent();
    let sent = s.run_for(Duration::from_millis(50));
    assert_eq!(sent.len(), 1, "the delayed ACK");
    // A pause longer than the RTO: acknowledged at once again.
    s.now += Duration::from_secs(3);
    s.peer(f(PSH, ACK), b"0123456789");
    s.expect_ack();
}

/// A host whose clock is far from its epoch (uptime of days): a new
/// connection's first call renews its 32-bit stamps from the epoch
/// (`Stamp::epoch`), and a time it never saw stays absent: after the
/// handshake, with no data received yet, `last_data_recv` dates from the
/// SYN,ACK (as Linux's `tcp_finish_connect` does), not from the epoch.
#[test]
fn a_connection_opened_days_after_the_epoch_reads_its_times_right() {
    let cfg = Config::linux();
    let mut p = Pair::new(
        common::conn(cfg.clone(), 1 << 16, 1 << 16),
        common::conn(cfg, 1 << 16, 1 << 16),
    );
    p.now = tcpstate::Instant::from_secs(5 * 86_400);
    p.app_b(|c, now| c.listen(now, SeqNum(5000)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(1000)).unwrap());
    // In SYN-SENT nothing was received: the last receive is the host's
    // epoch, five days ago (not a time within the last 36 minutes, which
    // a stamp left unrenewed would read).
    let i = p.a.info(p.now);
    assert_eq!(i.last_ack_recv, 5 * 86_400_000);
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.a.state(), tcpstate::State::Established);
    let i = p.a.info(p.now);
    assert!(i.last_data_recv < 100, "{}", i.last_data_recv);
    assert!(i.last_ack_recv < 100, "{}", i.last_ack_recv);
    // And the first data exchanged an hour later reads right too.
    p.run_for(Duration::from_secs(3600));
    let now = p.now;
    let _ = p.b.send(now, &[1u8; 10]).unwrap();
    p.run_for(Duration::from_millis(20));
    let i = p.a.info(p.now);
    assert_eq!(
        i.last_data_recv, 15,
        "one-way delay 5 ms, read 20 ms after the send"
    );
}

/// Linux's interactive-reply test (pingpong, `tcp_event_data_sent`) counts
/// data only: a FIN alone sent soon after data arrived is no reply, and
/// the peer's data after it is still acknowledged at once (quick ACKs).
#[test]
fn a_fin_alone_soon_after_data_is_not_an_interactive_reply() {
    use script::*;
    let mut s = established_with(preset(true));
    s.peer(f(PSH, ACK), b"0123456789");
    s.expect_ack();
    s.now += Duration::from_millis(1);
    let _ = s.read(100);
    s.shutdown();
    let fin = s.out();
    assert_eq!(fin.len(), 1);
    assert!(fin[0].flags().fin() && fin[0].payload.is_empty());
    s.now += Duration::from_millis(1);
    s.peer(f(PSH, ACK), b"more");
    s.expect_ack();
}

/// Linux's interactive-reply test (`tcp_event_data_sent`: data sent less
/// than `ato` after data arrived) is strict: a reply exactly the
/// delayed-ACK time after the peer's data is no reply, and the peer's next
/// data is still acknowledged at once; a reply a millisecond sooner makes
/// the connection interactive, and the next data waits for the timer.
#[test]
fn an_interactive_reply_comes_sooner_than_the_delayed_ack_time() {
    use script::*;
    let cfg = preset(true);
    let ato = cfg.delayed_ack;
    for (after, interactive) in [(ato, false), (ato - Duration::from_millis(1), true)] {
        let mut s = established_with(cfg.clone());
        s.peer(f(PSH, ACK), b"request");
        s.expect_ack();
        s.now += after;
        assert_eq!(s.send(b"reply"), 5);
        let out = s.out();
        assert_eq!(out.len(), 1, "{out:#?}");
        s.now += Duration::from_millis(1);
        s.peer(f(PSH, ACK), b"next");
        if interactive {
            s.silent();
            assert!(s.c.timer(tcpstate::Timer::DelayedAck).is_some());
        } else {
            s.expect_ack();
        }
    }
}

/// ESTABLISHED with SACK and a 1000-byte MSS on a 10 ms path, eight full
/// segments sent: the connection, the first one's sequence number, the MSS.
fn eight_segments_out(cfg: &Config) -> (script::Sut, tcpstate::SeqNum, u32) {
    let opts = tcpstate::wire::TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..tcpstate::wire::TcpOptions::NONE
    };
    let mut s = script::established_with_peer(cfg.clone(), opts, Duration::from_millis(10));
    let mss = u32::from(s.c.effective_mss());
    assert_eq!(s.send(&vec![7u8; 8 * mss as usize]), 8 * mss as usize);
    let out = s.out();
    assert_eq!(out.len(), 8);
    (s, out[0].seq(), mss)
}

/// A write queued in SYN-SENT goes with the ACK of the SYN,ACK, and the
/// connection is interactive from then on (`Config::quickack`, Linux's
/// write-pending case of `tcp_rcv_synsent_state_process`): the peer's
/// reply is acknowledged by the delayed-ACK timer, not at once. With
/// nothing queued the connection starts in quick-ACK mode and acknowledges
/// the peer's first data at once (RFC 9293 §3.10.7.3 leaves both to the
/// delayed-ACK rules of RFC 1122 §4.2.3.2).
#[test]
fn a_write_queued_in_syn_sent_makes_the_connection_interactive() {
    use script::*;
    for queued in [true, false] {
        let mut s = syn_sent_with(preset(true));
        if queued {
            assert_eq!(s.send(b"request"), 7);
            s.silent();
        }
        s.now += Duration::from_millis(10);
        s.peer(f(SYN, ACK), &[]);
        let out = s.out();
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].payload.len(), if queued { 7 } else { 0 });
        s.now += Duration::from_millis(10);
        s.peer(f(PSH, ACK), b"reply");
        if queued {
            s.silent();
            let d = s.c.deadline().expect("the delayed-ACK timer");
            assert_eq!(s.c.timer(tcpstate::Timer::DelayedAck), Some(d));
            s.fire();
            s.expect_ack();
        } else {
            s.expect_ack();
        }
    }
}

/// An old ACK (below SND.UNA, within MAX.SND.WND: RFC 9293 §3.10.7.4's
/// duplicate, ignored) fills no hole: with SACKed data above a hole it
/// counts no reordering (`TcpInfo::reord_seen`), as Linux's
/// `tcp_clean_rtx_queue` looks only at what an ACK newly acknowledges.
#[test]
fn an_old_ack_counts_no_reordering() {
    use script::{ACK, PEER_ISS};
    for cfg in sack_on_both() {
        let (mut s, una, mss) = one_then_five_sacked(&cfg);
        let peer = PEER_ISS.add(1);
        let m = |k: u32| una.add(mss * k);
        let seen = |s: &script::Sut| s.c.info(s.now).reord_seen;
        // The cumulative ACK to 2 fills the hole at 0 below SACKed 5: one
        // event; the hole from 2 to 5 stays, below SACKed 5.
        s.seg_opts(ACK, peer, m(2), sack_opts(&[(m(5), m(6))]), &[]);
        assert_eq!(seen(&s), 1);
        assert_eq!(s.c.snd_una(), m(2));
        // The first ACK again, late: nothing new.
        s.seg(ACK, peer, una, &[]);
        assert_eq!(s.c.snd_una(), m(2));
        assert_eq!(seen(&s), 1, "an old ACK counted a reordering");
    }
}
