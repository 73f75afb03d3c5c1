//! `Config::linux_hystart` (issue 15): without timestamps Linux's CUBIC
//! takes a HyStart delay sample from every ACK of new data and ends slow
//! start once a round's ninth sample finds the round's minimum more than
//! an eighth above the connection's minimum RTT; RFC 6298 times one
//! segment a round trip, so RFC 9406's test (eight samples, against the
//! last round's minimum) under `Config::rfc9293()` has no round to judge.

mod script;

use script::*;
use tcpstate::connection::congestion::Algorithm;
use tcpstate::connection::info::TCP_INFINITE_SSTHRESH;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration, SeqNum};

/// CUBIC with HyStart, an active open with a 200 ms RTT (the minimum
/// RTT), the peer's MSS 1000, a 64 KiB send buffer.
fn opened(linux: bool) -> Sut {
    opened_rtt(linux, 200)
}

/// `opened` with a handshake of `rtt` ms.
fn opened_rtt(linux: bool, rtt: u64) -> Sut {
    let cfg = Config {
        congestion: Algorithm::Cubic,
        hystart: true,
        ..preset(linux)
    };
    let mut s = Sut::with_buffers(cfg, RX, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(rtt);
    s.peer_ack(SYN | ACK, ISS.add(1), &[]);
    let _ = s.out();
    s
}

/// An active open with a 200 ms RTT, the peer's MSS 1000; 30 000 bytes
/// queued, the first window (10 segments) acknowledged after 200 ms and
/// the next 20 sent.
fn second_round(linux: bool) -> Sut {
    second_round_rtt(linux, 200)
}

/// `second_round` with a round trip of `rtt` ms.
fn second_round_rtt(linux: bool, rtt: u64) -> Sut {
    let mut s = opened_rtt(linux, rtt);
    assert_eq!(s.send(&[1u8; 30_000]), 30_000);
    assert_eq!(s.out().len(), 10);
    s.now += Duration::from_millis(rtt);
    s.peer_ack(ACK, ISS.add(10_001), &[]);
    assert_eq!(s.out().len(), 20);
    s
}

#[test]
fn slow_start_ends_on_the_ninth_delay_sample_of_a_round_only_under_linux() {
    for linux in [false, true] {
        let mut s = second_round(linux);
        // The round's ACKs, each of two segments: 240, 241, ... ms after
        // they were sent, all more than 216 ms (200 + 200 / 8).
        s.now += Duration::from_millis(240);
        for i in 1..=9u32 {
            s.peer_ack(ACK, ISS.add(10_001 + 2000 * i), &[]);
            let info = s.c.info(s.now);
            if linux && i == 9 {
                // Linux's hystart_update: ssthresh = cwnd (36 segments).
                assert_eq!((info.snd_ssthresh, info.snd_cwnd), (36, 36));
            } else {
                assert_eq!(
                    info.snd_ssthresh, TCP_INFINITE_SSTHRESH,
                    "{i} linux {linux}"
                );
                assert_eq!(info.snd_cwnd, 20 + 2 * i, "{i} linux {linux}");
            }
            s.now += Duration::from_millis(1);
        }
    }
}

/// A round whose delays stay within an eighth of the minimum RTT does
/// not end slow start.
#[test]
fn slow_start_goes_on_when_the_delay_stays_low() {
    let mut s = second_round(true);
    s.now += Duration::from_millis(210);
    for i in 1..=10u32 {
        s.peer_ack(ACK, ISS.add(10_001 + 2000 * i), &[]);
        s.now += Duration::from_micros(500);
    }
    let info = s.c.info(s.now);
    assert_eq!(info.snd_ssthresh, TCP_INFINITE_SSTHRESH);
    assert_eq!(info.snd_cwnd, 40);
}

// PRR keeps its counts in HyStart's words while a recovery lasts (RFC
// 9937's prr_out, RecoverFS): Linux's round, which begins on an ACK past
// the round's end, must not run then, although in PRR-SSRB cwnd is below
// ssthresh. Here 20 of 40 segments are lost: cwnd 20 segments in
// recovery, ssthresh 28. The fast retransmission is not polled yet when
// an ACK of new data arrives (and gives an RTT sample): 21 segments
// delivered, none sent, so PRR-SSRB allows min(ssthresh - pipe,
// prr_delivered - prr_out + 1) = 22 segments. A HyStart round started on
// that ACK would have taken prr_out to "all sent" (2 segments).
#[test]
fn linux_hystart_leaves_prr_alone_in_recovery() {
    let cfg = Config {
        congestion: Algorithm::Cubic,
        hystart: true,
        sack: true,
        ..preset(true)
    };
    let mut s = Sut::with_buffers(cfg, RX, 1 << 20);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        sack_permitted: true,
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(100);
    s.peer_ack(SYN | ACK, ISS.add(1), &[]);
    let _ = s.out();
    let base = ISS.add(1);
    assert_eq!(s.send(&[1u8; 70_000]), 70_000);
    // Slow start, stretch ACKs: 10, then 20, then 40 segments.
    for (sent, acked) in [(10, 10_000), (20, 30_000)] {
        assert_eq!(s.out().len(), sent);
        s.now += Duration::from_millis(100);
        s.peer_ack(ACK, base.add(acked), &[]);
    }
    assert_eq!(s.out().len(), 40);
    assert_eq!(s.c.info(s.now).snd_cwnd, 40);
    // The first 20 of the 40 lost, the last 20 SACKed: recovery.
    s.now += Duration::from_millis(100);
    s.ack_sack(base.add(30_000), &[(base.add(50_000), base.add(70_000))]);
    let i = s.c.info(s.now);
    assert_eq!((i.ca_state, i.snd_ssthresh, i.snd_cwnd), (3, 28, 20));
    // The first of them arrives after all (nothing polled since).
    s.now += Duration::from_millis(1);
    s.ack_sack(base.add(31_000), &[(base.add(50_000), base.add(70_000))]);
    let i = s.c.info(s.now);
    assert_eq!((i.ca_state, i.snd_ssthresh, i.snd_cwnd), (3, 28, 22));
}

/// Linux's `hystart_low_window` (16 segments): below it no delay sample
/// counts, also when cwnd comes back below it after an idle restart
/// (RFC 5681 §4.1, `tcp_cwnd_restart`) in the middle of a round. The
/// first window's last four ACKs (at 16 segments and more) are slow
/// samples, too few for the round; then the connection idles, cwnd falls
/// back to 10, and a new window's ACKs, as slow, take it back past 16
/// without ending slow start: the samples below 16 segments do not
/// complete the old round, and the round that starts at 16 has only
/// four.
#[test]
fn no_delay_sample_below_sixteen_segments_after_an_idle_restart() {
    let mut s = opened(true);
    let mut una = ISS.add(1);
    for window in 0..2 {
        assert_eq!(s.send(&[1u8; 10_000]), 10_000);
        assert_eq!(s.out().len(), 10, "window {window}");
        // 250 ms after the send: more than 225 ms (200 + 200 / 8).
        s.now += Duration::from_millis(250);
        for _ in 0..10 {
            una = una.add(1000);
            s.peer_ack(ACK, una, &[]);
            s.now += Duration::from_millis(1);
        }
        assert!(s.out().is_empty());
        let info = s.c.info(s.now);
        assert_eq!(info.snd_ssthresh, TCP_INFINITE_SSTHRESH, "window {window}");
        assert_eq!(info.snd_cwnd, 20, "window {window}");
        // Idle for longer than the RTO: cwnd restarts at 10.
        s.now += Duration::from_secs(5);
    }
}

/// Linux's HYSTART_DELAY threshold is an eighth of the minimum RTT,
/// clamped to 4..16 ms (`HYSTART_DELAY_THRESH`): 5 ms over a 40 ms
/// minimum. A second round whose ACKs all come 50 ms after the send ends
/// slow start on its ninth sample (16 ms, the clamp's top, would not);
/// one whose ACKs come at 45 ms, not more than the threshold above the
/// minimum, does not (Linux's test is `curr_rtt > delay_min + thresh`).
#[test]
fn the_delay_threshold_is_an_eighth_of_the_minimum_rtt() {
    for (after, exit) in [(50, true), (45, false)] {
        let mut s = second_round_rtt(true, 40);
        s.now += Duration::from_millis(after);
        for i in 1..=9u32 {
            s.peer_ack(ACK, ISS.add(10_001 + 2000 * i), &[]);
        }
        let info = s.c.info(s.now);
        if exit {
            assert_eq!((info.snd_ssthresh, info.snd_cwnd), (36, 36));
        } else {
            assert_eq!(info.snd_ssthresh, TCP_INFINITE_SSTHRESH, "{after} ms");
        }
    }
}

/// Linux's `hystart_low_window` counts a sample at exactly 16 segments
/// (`tcp_snd_cwnd(tp) >= hystart_low_window`). A peer that acknowledges
/// each segment of the first window in three pieces takes cwnd to 16,000
/// bytes after its 18th ACK; every ACK is slow (240 ms over a 200 ms
/// minimum). The 19th ACK's sample, at exactly 16 segments, is the first
/// of the round's eight; the 27th ACK's is the ninth, and slow start
/// ends there with ssthresh = cwnd.
#[test]
fn a_delay_sample_at_exactly_sixteen_segments_counts() {
    let mut s = opened(true);
    assert_eq!(s.send(&[1u8; 30_000]), 30_000);
    assert_eq!(s.out().len(), 10);
    s.now += Duration::from_millis(240);
    let mut n = 0;
    let mut exit = None;
    'acks: for k in 0..10u32 {
        for end in [333u32, 666, 1000] {
            n += 1;
            s.peer_ack(ACK, ISS.add(1 + 1000 * k + end), &[]);
            if n == 18 {
                assert_eq!(s.c.cwnd(), 16_000);
            }
            if s.c.info(s.now).snd_ssthresh != TCP_INFINITE_SSTHRESH {
                exit = Some((n, s.c.cwnd()));
                break 'acks;
            }
            s.now += Duration::from_micros(100);
        }
    }
    assert_eq!(exit, Some((27, 18_666)));
}

/// Linux's round (`hystart_update`'s `bictcp_hystart_reset`) starts only
/// once cwnd reaches `hystart_low_window`: `bictcp_acked` calls
/// `hystart_update` from 16 segments on. A peer acknowledges every
/// segment 240 ms after it left (200 ms minimum) and each ACK is
/// answered at once: the first flight's ACKs take cwnd to 16 segments at
/// the 7th, which starts the round (its end: the 22 segments sent by
/// then); its 8 samples are the ACKs 7 to 14 and the 15th ends slow
/// start. A round started earlier (at the first ACK, ending with the
/// first flight) would have reset the count at the 11th ACK, and slow
/// start would have ended at the 19th.
#[test]
fn the_linux_round_starts_at_sixteen_segments() {
    let mut s = opened(true);
    assert_eq!(s.send(&[1u8; 60_000]), 60_000);
    // The send time of each segment, by its index from 1.
    let mut sent = vec![s.now; 11];
    assert_eq!(s.out().len(), 10);
    let mut exit = None;
    for k in 1..=30u32 {
        s.now = s.now.max(sent[k as usize] + Duration::from_millis(240));
        s.peer_ack(ACK, ISS.add(1 + 1000 * k), &[]);
        for p in s.out().into_iter().filter(|p| !p.payload.is_empty()) {
            let end = p.seq().add(p.payload.len() as u32).dist(ISS.add(1)) / 1000;
            assert_eq!(
                end as usize,
                sent.len(),
                "one segment of 1000 bytes after another"
            );
            sent.push(s.now);
        }
        let info = s.c.info(s.now);
        if info.snd_ssthresh != TCP_INFINITE_SSTHRESH {
            exit = Some((k, info.snd_ssthresh));
            break;
        }
    }
    assert_eq!(exit, Some((15, 24)));
}

/// Every segment acknowledged on its own, `delay(k)` ms after segment `k`
/// left, each ACK answered at once (echoing the segment's TSval when
/// `ts`), under `Config::rfc9293()` with CUBIC and HyStart++ and a 200 ms
/// handshake: the ACK (by its number) at which slow start ended, with
/// ssthresh in segments, within 60 ACKs.
fn rfc_exit(ts: bool, delay: impl Fn(u32) -> u64) -> Option<(u32, u32)> {
    let cfg = Config {
        congestion: Algorithm::Cubic,
        hystart: true,
        timestamps: ts,
        ..preset(false)
    };
    let mut s = Sut::with_buffers(cfg, RX, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let syn = s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        timestamps: ts.then(|| tcpstate::wire::Timestamps {
            val: 1,
            ecr: syn.t.options.timestamps.expect("TS on our SYN").val,
        }),
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(200);
    s.peer_ack(SYN | ACK, ISS.add(1), &[]);
    let _ = s.out();
    assert_eq!(s.send(&[1u8; 65536]), 65536);
    // 1000 bytes a segment, or 988 with timestamps.
    let mss = u32::from(s.c.effective_mss());
    // Each segment's send time and TSval, by its index from 1.
    let mut sent = vec![(s.now, 0u32)];
    let take = |s: &mut Sut, sent: &mut Vec<(tcpstate::Instant, u32)>| {
        for p in s.out().into_iter().filter(|p| !p.payload.is_empty()) {
            let end = p.seq().add(p.payload.len() as u32).dist(ISS.add(1));
            assert_eq!(
                end,
                mss * sent.len() as u32,
                "one full segment after another"
            );
            sent.push((s.now, p.t.options.timestamps.map_or(0, |t| t.val)));
        }
    };
    take(&mut s, &mut sent);
    assert_eq!(sent.len(), 11);
    for k in 1..=60u32 {
        let (at, tsval) = sent[k as usize];
        s.now = s.now.max(at + Duration::from_millis(delay(k)));
        let o = TcpOptions {
            timestamps: ts.then_some(tcpstate::wire::Timestamps { val: 2, ecr: tsval }),
            ..TcpOptions::NONE
        };
        s.seg_opts(ACK, s.peer_nxt, ISS.add(1 + mss * k), o, &[]);
        take(&mut s, &mut sent);
        let info = s.c.info(s.now);
        if info.snd_ssthresh != TCP_INFINITE_SSTHRESH {
            return Some((k, info.snd_ssthresh));
        }
    }
    None
}

/// RFC 9406 judges a round by eight RTT samples. With timestamps every
/// ACK gives one (RFC 7323 §4.1); without them RFC 6298 times one
/// segment a round trip, and `Config::rfc9293()` takes no other delay
/// sample (unlike `linux_hystart`, which dates every ACK from the send
/// log): the same rounds, the third 40 ms slower than the first two,
/// end slow start with timestamps (on the third round's eighth sample)
/// and not without.
#[test]
fn rfc9406_rounds_without_timestamps_have_no_delay_samples_to_judge() {
    // A round ends with the ACK of SND.MAX at its start: the first with
    // the 10th segment's, the second with the 28th's (10 + 2 x 9, sent
    // when the 10th ACK came).
    let delay = |k: u32| if k > 28 { 240 } else { 200 };
    assert_eq!(rfc_exit(true, delay), Some((36, 45)));
    assert_eq!(rfc_exit(false, delay), None);
}

/// Karn (RFC 6298 §3, MUST-18) for Linux's delay samples: after a
/// timeout the go-back-N resend covers the segments sent before it, and
/// the ACK of a resent segment dates nothing (Linux's
/// `tcp_clean_rtx_queue` takes `ca_rtt_us` only from segments never
/// retransmitted). Here slow start runs without delay to 50 segments,
/// everything after the 40th segment is lost and the timeout resends
/// from there; the peer acknowledges each resent segment 200 ms after it
/// left, so the slow start after the timeout (to ssthresh, 35 segments)
/// meets no delay: it must not end early. Dated from their first
/// transmission, these ACKs would look a second slower than the path.
#[test]
fn no_delay_sample_from_data_resent_after_a_timeout() {
    let cfg = Config {
        congestion: Algorithm::Cubic,
        hystart: true,
        frto: false,
        ..preset(true)
    };
    let mut s = Sut::with_buffers(cfg, RX, 200_000);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(200);
    s.peer_ack(SYN | ACK, ISS.add(1), &[]);
    let _ = s.out();
    assert_eq!(s.send(&[1u8; 200_000]), 200_000);
    // The last send time of each segment, by its index from 1.
    let mut sent = vec![s.now];
    let take = |s: &mut Sut, sent: &mut Vec<tcpstate::Instant>| {
        for p in s.out().into_iter().filter(|p| !p.payload.is_empty()) {
            let end = (p.seq().add(p.payload.len() as u32).dist(ISS.add(1)) / 1000) as usize;
            if end == sent.len() {
                sent.push(s.now);
            } else {
                sent[end] = s.now;
            }
        }
    };
    take(&mut s, &mut sent);
    for k in 1..=40u32 {
        s.now = s.now.max(sent[k as usize] + Duration::from_millis(200));
        s.peer_ack(ACK, ISS.add(1 + 1000 * k), &[]);
        take(&mut s, &mut sent);
    }
    let info = s.c.info(s.now);
    assert_eq!(
        (info.snd_cwnd, info.snd_ssthresh),
        (50, TCP_INFINITE_SSTHRESH)
    );
    assert_eq!(sent.len(), 91, "90 segments sent");
    // Segments 41 to 90 are lost: a loss probe (the 90th again), then
    // the timeout, which resends the 41st.
    while s.c.stats().timeouts == 0 {
        s.fire();
        take(&mut s, &mut sent);
    }
    let info = s.c.info(s.now);
    assert_eq!((info.snd_cwnd, info.snd_ssthresh), (1, 35));
    for k in 41..=75u32 {
        s.now = s.now.max(sent[k as usize] + Duration::from_millis(200));
        s.peer_ack(ACK, ISS.add(1 + 1000 * k), &[]);
        take(&mut s, &mut sent);
        let info = s.c.info(s.now);
        assert_eq!(
            info.snd_ssthresh, 35,
            "ACK of segment {k}, cwnd {}",
            info.snd_cwnd
        );
    }
    assert_eq!(s.c.stats().hystart_exits, 0);
}
