//! Issue 18's recovery work: F-RTO (RFC 5682) beside Eifel, RACK's
//! reordering window adapted from D-SACK (RFC 8985 §6.2.4), and
//! packetization-layer path MTU discovery (RFC 4821) on black-holed paths.
mod common;
mod script;

use script::*;
use tcpstate::wire::{SackBlocks, TcpOptions};
use tcpstate::{Config, SeqNum};

fn sack_opts(blocks: &[(SeqNum, SeqNum)]) -> TcpOptions {
    let mut s = SackBlocks::new();
    for &(l, r) in blocks {
        s.push(l, r);
    }
    TcpOptions {
        sack: s,
        ..TcpOptions::NONE
    }
}

/// ESTABLISHED without timestamps (F-RTO alone can tell), 8000 bytes
/// queued, the initial window (10 segments of 536) sent; the RTO fired
/// and the first segment went out again. Returns the MSS.
fn after_timeout(cfg: Config) -> (Sut, u32) {
    let mut s = established_with(cfg);
    assert_eq!(s.send(&[5u8; 8000]), 8000);
    let first = s.out();
    assert_eq!(first.len(), 10);
    let mss = s.c.effective_mss() as u32;
    s.fire();
    let rtx = s.out();
    assert_eq!(rtx.len(), 1, "{rtx:#?}");
    assert_eq!(rtx[0].seq(), ISS.add(1));
    assert_eq!(s.c.stats().timeouts, 1);
    (s, mss)
}

fn cfg_frto(on: bool) -> Config {
    Config { frto: on, ..cfg() }
}

// RFC 5682 §2 steps 1, 2b and 3b: the ACKs after a timeout show that the
// original segments were only delayed: two new segments after the first
// ACK, the window restored after the second, and no go-back-N resend.
#[test]
fn r5682_spurious_timeout_detected_and_undone() {
    let (mut s, mss) = after_timeout(cfg_frto(true));
    let cwnd_before = 10 * mss;
    let una = ISS.add(1);
    let end = una.add(10 * mss);
    // The delayed ACK of the first (original) segment arrives.
    s.peer_ack(ACK, una.add(mss), &[]);
    let p = s.out();
    assert_eq!(p.len(), 2, "step 2b: two new segments {p:#?}");
    assert_eq!(p[0].seq(), end, "new data, not a retransmission");
    assert_eq!(p[1].seq(), end.add(mss));
    // The next ACK covers segments that were never retransmitted.
    s.peer_ack(ACK, una.add(3 * mss), &[]);
    assert_eq!(s.c.stats().spurious_timeouts, 1);
    assert!(s.c.cwnd() >= cwnd_before, "window restored: {}", s.c.cwnd());
    let p = s.out();
    assert!(!p.is_empty());
    for q in &p {
        assert!(!q.seq().before(end.add(2 * mss)), "no resend: {q:#?}");
    }
    assert_eq!(s.c.stats().retransmits, 1);
}

// Step 3a: a duplicate ACK after the new segments: the loss was real;
// cwnd at most three segments, the resend goes on from SND.UNA.
#[test]
fn r5682_duplicate_ack_in_step_3_means_real_loss() {
    let (mut s, mss) = after_timeout(cfg_frto(true));
    let una = ISS.add(1);
    s.peer_ack(ACK, una.add(mss), &[]);
    assert_eq!(s.out().len(), 2);
    s.peer_ack(ACK, una.add(mss), &[]);
    assert_eq!(s.c.stats().spurious_timeouts, 0);
    assert_eq!(
        s.c.cwnd(),
        3 * mss,
        "at most three segments (here exactly: the window was larger)"
    );
    let p = s.out();
    assert!(!p.is_empty());
    assert_eq!(p[0].seq(), una.add(mss), "go-back-N from SND.UNA");
}

// Step 2a: a duplicate ACK first: the conventional recovery, no new data.
#[test]
fn r5682_duplicate_ack_in_step_2_is_conventional() {
    let (mut s, mss) = after_timeout(cfg_frto(true));
    let una = ISS.add(1);
    let end = una.add(10 * mss);
    s.peer_ack(ACK, una, &[]);
    let mut p = s.out();
    s.peer_ack(ACK, una.add(mss), &[]);
    p.extend(s.out());
    assert!(!p.is_empty());
    for q in &p {
        assert!(q.seq().before(end), "retransmissions, not new data: {q:#?}");
    }
    assert_eq!(s.c.stats().spurious_timeouts, 0);
}

// Without F-RTO (and without timestamps for Eifel), the same delayed ACKs
// do not undo the timeout: the window is resent.
#[test]
fn r5682_off_the_timeout_stands() {
    let (mut s, mss) = after_timeout(cfg_frto(false));
    let una = ISS.add(1);
    s.peer_ack(ACK, una.add(mss), &[]);
    let p = s.out();
    assert!(!p.is_empty());
    assert_eq!(p[0].seq(), una.add(mss), "go-back-N");
    assert_eq!(s.c.stats().spurious_timeouts, 0);
}

// RFC 5682 §3 (SACK-enhanced): in step 3 a SACK of never-retransmitted
// data shows the timeout spurious, though SND.UNA stays.
#[test]
fn r5682_sack_enhanced_step_3_by_a_sack_block() {
    let mut c = cfg_frto(true);
    c.sack = true;
    let mut s = syn_sent_with(c);
    s.peer_syn_opts = TcpOptions {
        sack_permitted: true,
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    assert!(s.c.sack_enabled());
    assert_eq!(s.send(&[5u8; 8000]), 8000);
    assert_eq!(s.out().len(), 10);
    let mss = s.c.effective_mss() as u32;
    // A tail loss probe (the eleventh segment) comes first, then the RTO.
    s.fire();
    assert_eq!(s.c.stats().loss_probes, 1);
    let _ = s.out();
    s.fire();
    assert_eq!(s.c.stats().timeouts, 1);
    assert_eq!(s.out().len(), 1);
    let una = ISS.add(1);
    s.peer_ack(ACK, una.add(mss), &[]);
    let p = s.out();
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!(p[0].seq(), una.add(11 * mss), "{p:#?}");
    // The second segment is still missing (or its ACK is), the third and
    // fourth are SACKed: sent once, never retransmitted.
    let m = |k: u32| una.add(k * mss);
    s.seg_opts(ACK, PEER_ISS.add(1), m(1), sack_opts(&[(m(2), m(4))]), &[]);
    assert_eq!(s.c.stats().spurious_timeouts, 1);
}

/// ESTABLISHED with SACK, a 10 ms handshake round trip (SRTT and the
/// minimum RTT) and an MSS of 1000.
fn sack_10ms() -> (Sut, u32) {
    sack_10ms_with(cfg())
}

/// `sack_10ms` from another configuration (SACK on).
fn sack_10ms_with(base: Config) -> (Sut, u32) {
    let cfg = Config { sack: true, ..base };
    let opts = TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    let s = established_with_peer(cfg, opts, Duration::from_millis(10));
    let mss = s.c.effective_mss() as u32;
    (s, mss)
}

/// Sends three segments, and 10 ms later the peer SACKs the last two:
/// returns how long after the send RACK's reordering timer is due.
fn rack_wait(s: &mut Sut, mss: u32) -> Duration {
    rack_wait_after(s, mss, Duration::from_millis(10))
}

/// `rack_wait` with the SACK `delay` after the send.
fn rack_wait_after(s: &mut Sut, mss: u32, delay: Duration) -> Duration {
    rack_wait_segs(s, mss, delay, 3)
}

/// `rack_wait_after` with `n` segments sent, all but the first SACKed.
fn rack_wait_segs(s: &mut Sut, mss: u32, delay: Duration, n: u32) -> Duration {
    s.now += Duration::from_millis(1);
    let una = s.c.snd_una();
    s.send(&vec![2u8; (n * mss) as usize]);
    assert_eq!(s.out().len(), n as usize);
    let sent = s.now;
    s.now += delay;
    let m = |k: u32| una.add(mss * k);
    s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&[(m(1), m(n))]), &[]);
    let d = s.c.timer(tcpstate::Timer::Rack).expect("RACK timer armed");
    d - sent
}

use tcpstate::Duration;

// RFC 8985 §6.2.4: RACK.reo_wnd = min(reo_wnd_mult * min_RTT / 4, SRTT).
// A D-SACK (RFC 2883: the peer got a segment twice, so a retransmission
// was spurious) grows reo_wnd_mult by one, at most once per round trip.
#[test]
fn r8985_reo_wnd_grows_with_dsack_once_per_round() {
    let (mut s, mss) = sack_10ms();
    // Baseline: SRTT + min RTT / 4.
    let mut base = sack_10ms().0;
    assert_eq!(rack_wait(&mut base, mss), Duration::from_micros(12_500));
    // One segment, acknowledged, then reported again as a duplicate: a
    // D-SACK block below SEG.ACK, twice in the same round trip.
    round_trip(&mut s, mss, Duration::from_millis(10));
    let una = s.c.snd_una();
    let dup = [(una.sub(mss), una)];
    s.send(&vec![1u8; mss as usize]);
    let _ = s.out();
    s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&dup), &[]);
    s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&dup), &[]);
    s.now += Duration::from_millis(10);
    s.peer(ACK, &[]);
    // Twice the window: 10 ms + 2 * 2.5 ms (the second D-SACK was in the
    // same round and did not count).
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(15_000));
}

// RFC 8985 §6.2.4's RACK.dsack_round belongs to one connection: a
// Connection opened again after an abort (RFC 9293 §3.10.1, a new TCB)
// with the same ISS starts with no round open, so its first D-SACK grows
// the window exactly as the first incarnation's did, even where the old
// round's end lies in the new flight.
#[test]
fn r8985_a_new_open_starts_with_no_dsack_round() {
    let (mut s, mss) = sack_10ms();
    let dsack = |s: &mut Sut| {
        round_trip(s, mss, Duration::from_millis(10));
        let una = s.c.snd_una();
        s.send(&vec![1u8; mss as usize]);
        let _ = s.out();
        s.seg_opts(
            ACK,
            PEER_ISS.add(1),
            una,
            sack_opts(&[(una.sub(mss), una)]),
            &[],
        );
        s.now += Duration::from_millis(10);
        s.peer(ACK, &[]);
    };
    dsack(&mut s);
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(15_000));
    s.abort();
    let _ = s.out();
    assert_eq!(s.c.state(), tcpstate::State::Closed);
    // The same open again: the handshake's 10 ms round trip, then the
    // same D-SACK at the same sequence numbers.
    s.now += Duration::from_secs(1);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.now += Duration::from_millis(10);
    s.peer_nxt = PEER_ISS;
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    dsack(&mut s);
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(15_000));
}

// RFC 8985 §6.2 step 2, §6.3: the timer counts from RACK.rtt, the RTT
// of the newest delivered segment (here 20 ms), not SRTT (10 ms): 20 ms
// plus a quarter of the minimum RTT. Both presets.
#[test]
fn r8985_reo_timer_counts_from_rack_rtt() {
    for base in [cfg(), Config::linux()] {
        let (mut s, mss) = sack_10ms_with(Config {
            timestamps: false,
            window_scaling: false,
            ..base
        });
        let wait = rack_wait_after(&mut s, mss, Duration::from_millis(20));
        assert_eq!(wait, Duration::from_micros(22_500));
    }
}

// RFC 8985 §6.2.4: the window is a quarter of the *minimum* RTT, not of
// SRTT: after a slower round trip (30 ms: SRTT 12.5 ms, the minimum still
// 10 ms, RFC 6298 §2.3) the timer is due RACK.rtt (10 ms) + 2.5 ms after
// the send, not + 3.125 ms.
#[test]
fn r8985_reo_wnd_is_a_quarter_of_the_minimum_rtt() {
    let (mut s, mss) = sack_10ms();
    round_trip(&mut s, mss, Duration::from_millis(30));
    assert_eq!(s.c.srtt(), Some(Duration::from_micros(12_500)));
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(12_500));
}

// RFC 8985 §6.2 step 2: RACK.xmit_ts moves up to the send time of the
// newest segment delivered: a second flight's reordering timer counts
// from its own send, as the first one's did (a RACK.xmit_ts kept at the
// first flight's time takes none of the second as sent before what was
// delivered: no timer at all).
#[test]
fn r8985_xmit_ts_moves_to_the_newest_delivery() {
    let (mut s, mss) = sack_10ms();
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(12_500));
    // The hole filled: everything acknowledged.
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_una(), s.c.snd_nxt());
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(12_500));
}

// RFC 8985 §6.2.4 sizes the reordering window from the minimum RTT: with
// no RTT measured yet (the SYN was retransmitted, so Karn's rule, RFC 6298
// §3, took no sample from the handshake; no timestamps; a SACK that does
// not move SND.UNA gives none either) RACK marks nothing lost and arms no
// timer. After a retransmitted SYN the window is one segment (RFC 6298
// §5.7): the peer SACKs the second half of it (odd, but a SACK any peer
// may send), which leaves the first half to the other means.
#[test]
fn r8985_no_rack_before_an_rtt_is_measured() {
    let mut s = syn_sent_with(Config {
        sack: true,
        ..cfg()
    });
    s.fire();
    let _ = s.out();
    s.peer_syn_opts = TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    assert_eq!(s.c.srtt(), None, "no sample from a retransmitted SYN");
    let mss = s.c.effective_mss() as u32;
    let una = s.c.snd_una();
    s.send(&vec![2u8; mss as usize]);
    assert_eq!(s.out().len(), 1);
    s.now += Duration::from_millis(10);
    let half = una.add(mss / 2);
    s.seg_opts(
        ACK,
        PEER_ISS.add(1),
        una,
        sack_opts(&[(half, una.add(mss))]),
        &[],
    );
    assert_eq!(s.c.srtt(), None);
    assert!(s.out().is_empty(), "nothing resent");
    assert_eq!(s.c.stats().rack_losses, 0);
    assert_eq!(s.c.timer(tcpstate::Timer::Rack), None);
}

// RFC 6582 §3.2 step 2 (and RFC 6675 §5's RecoveryPoint): after a
// retransmission timeout no fast recovery starts until SND.UNA passes
// the data that was out at the timeout (`recover`): a loss RACK finds
// among that data (RFC 8985 §6.2 step 5) is resent in the timeout's own
// recovery, without a second window reduction.
#[test]
fn r8985_a_loss_found_after_a_timeout_starts_no_fast_recovery() {
    let (mut s, mss) = sack_10ms();
    s.now += Duration::from_millis(1);
    let una = s.c.snd_una();
    s.send(&vec![2u8; 4 * mss as usize]);
    assert_eq!(s.out().len(), 4);
    while s.c.stats().timeouts == 0 {
        s.fire();
        let _ = s.out();
    }
    let m = |k: u32| una.add(mss * k);
    // The first segment's resend is acknowledged, and the originals of
    // the third and fourth are SACKed: the second is missing.
    s.seg_opts(ACK, PEER_ISS.add(1), m(1), sack_opts(&[(m(2), m(4))]), &[]);
    let _ = s.out();
    // In the recovery after a timeout, with no reordering seen, RACK's
    // window is 0 (RFC 8985 §6.2.4): the second, sent with the two SACKed
    // ones and RACK.rtt ago, is lost at once, with no timer to wait for.
    assert_eq!(s.c.stats().rack_losses, 1, "{:?}", s.c.stats());
    assert_eq!(s.c.timer(tcpstate::Timer::Rack), None);
    assert_eq!(s.c.stats().recoveries, 0);
    let ssthresh = s.c.info(s.now).snd_ssthresh;
    s.fire();
    let _ = s.out();
    assert_eq!(s.c.stats().recoveries, 0);
    assert_eq!(s.c.info(s.now).snd_ssthresh, ssthresh);
}

// RFC 8985 §6.2 step 5 and §6.3: in a recovery, a segment sent *after*
// RACK's limit (the newest delivered segment's send time less RACK.rtt
// and the reordering window) is not lost yet, even when all that lies
// between the retransmission and it is SACKed: the reordering timer waits
// for it. Segments 0 to 3 go at t0, 4 at t0 + 6 ms, 5 at t0 + 8 ms; the
// SACK of 1 to 3 at t0 + 10 ms starts a recovery, and at t0 + 18 ms the
// SACK of 5 (sent at t0 + 8; RACK.rtt 10 ms) puts the limit at t0 + 5.5
// ms with the window of a quarter of the minimum RTT, so 4 waits for its
// timer, t0 + 6 ms + 10 ms + 2.5 ms. That is once the path has shown
// reordering (here 3 segments deep: DupThresh stays 3). Before, a
// recovery has no reordering window (§6.2.4, Linux's `tcp_rack_reo_wnd`):
// the limit is t0 + 8 ms and 4 is lost at once, with no timer. (RFC
// 6675's NextSeg rule 3 may resend 4 meanwhile; that is not RACK's.)
#[test]
fn r8985_a_segment_sent_after_the_limit_waits_for_its_timer() {
    for seen in [false, true] {
        let (mut s, mss) = sack_10ms();
        if seen {
            show_reordering(&mut s, mss, 3);
        }
        let t0 = s.now + Duration::from_millis(1);
        let una = s.c.snd_una();
        let m = |k: u32| una.add(mss * k);
        for (at, segs) in [(0, 4), (6, 1), (8, 1)] {
            s.now = t0 + Duration::from_millis(at);
            s.send(&vec![2u8; segs * mss as usize]);
            assert_eq!(s.out().len(), segs);
        }
        s.now = t0 + Duration::from_millis(10);
        s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&[(m(1), m(4))]), &[]);
        assert_eq!(s.out()[0].seq(), una, "the first segment resent");
        assert_eq!(s.c.stats().recoveries, 1);
        let losses = s.c.stats().rack_losses;
        s.now = t0 + Duration::from_millis(18);
        let blocks = [(m(5), m(6)), (m(1), m(4))];
        s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&blocks), &[]);
        if seen {
            assert_eq!(s.c.stats().rack_losses, losses, "the fifth is not lost yet");
            assert_eq!(
                s.c.timer(tcpstate::Timer::Rack),
                Some(t0 + Duration::from_micros(18_500))
            );
        } else {
            assert_eq!(s.c.stats().rack_losses, losses + 1, "the fifth is lost");
            assert_eq!(s.c.timer(tcpstate::Timer::Rack), None);
        }
    }
}

// The window never passes SRTT, whatever the D-SACKs.
#[test]
fn r8985_reo_wnd_is_at_most_srtt() {
    let (mut s, mss) = sack_10ms();
    for _ in 0..10 {
        grow_by_dsack(&mut s, mss);
    }
    // 10 rounds with a D-SACK: 11 quarters of 10 ms would be 27.5 ms;
    // SRTT (10 ms) caps it.
    assert_eq!(rack_wait(&mut s, mss), Duration::from_millis(20));
}

/// The peer shows reordering `n` segments deep: `n` segments, the last
/// SACKed first, then all acknowledged: the others, each sent once,
/// arrived after it (RFC 8985 §6.2 step 3, RACK.reordering_seen; Linux's
/// `tcp_check_sack_reordering` from `tcp_clean_rtx_queue`, which raises
/// the reordering degree to `n` when `n` is above 3).
fn show_reordering(s: &mut Sut, mss: u32, n: u32) {
    s.now += Duration::from_millis(1);
    let una = s.c.snd_una();
    s.send(&vec![3u8; (n * mss) as usize]);
    assert_eq!(s.out().len(), n as usize);
    s.now += Duration::from_millis(10);
    let m = |k: u32| una.add(mss * k);
    s.seg_opts(
        ACK,
        PEER_ISS.add(1),
        una,
        sack_opts(&[(m(n - 1), m(n))]),
        &[],
    );
    s.peer(ACK, &[]);
    assert_eq!(s.c.snd_una(), m(n));
    assert!(s.out().is_empty());
    let info = s.c.info(s.now);
    assert_eq!((info.reord_seen, info.reordering), (1, n.max(3)));
}

/// Five segments; 10 ms later three ACKs SACK the second, then the
/// second and third, then the second to fourth: three duplicate ACKs
/// and three segments SACKed (DupThresh both ways), the first missing.
/// Returns the time of the send.
fn dupthresh_sacks(s: &mut Sut, mss: u32) -> tcpstate::Instant {
    s.now += Duration::from_millis(1);
    let una = s.c.snd_una();
    s.send(&vec![4u8; 5 * mss as usize]);
    assert_eq!(s.out().len(), 5);
    let sent = s.now;
    s.now += Duration::from_millis(10);
    let m = |k: u32| una.add(mss * k);
    for k in 2..=4 {
        s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&[(m(1), m(k))]), &[]);
    }
    sent
}

// DupThresh (RFC 5681 §3.2, RFC 6675 §5) is three segments until the path
// shows reordering deeper than that; then it is the reordering degree
// (Linux's `tp->reordering`, RFC 4653's idea), and RACK (RFC 8985 §6.2,
// its window a quarter of the minimum RTT once reordering is seen,
// §6.2.4) finds the loss: three ACKs SACKing three segments start a fast
// recovery at once on a path that reordered 3 segments deep; on one that
// reordered 6 deep the recovery starts when RACK's timer fires, RACK.rtt
// (10 ms) plus 2.5 ms after the send.
#[test]
fn r8985_dupthresh_is_the_reordering_degree_seen() {
    for depth in [0, 3, 6] {
        let (mut s, mss) = sack_10ms();
        if depth > 0 {
            show_reordering(&mut s, mss, depth);
        }
        let una = s.c.snd_una();
        let sent = dupthresh_sacks(&mut s, mss);
        let p = s.out();
        if depth <= 3 {
            assert_eq!(s.c.stats().recoveries, 1, "depth {depth}");
            assert_eq!(p.first().map(|q| q.seq()), Some(una), "{p:#?}");
            continue;
        }
        assert_eq!(s.c.stats().recoveries, 0, "no recovery at 3 segments");
        assert!(p.is_empty(), "nothing resent yet: {p:#?}");
        let due = s.c.timer(tcpstate::Timer::Rack).expect("RACK timer armed");
        assert_eq!(due - sent, Duration::from_micros(12_500));
        s.fire();
        assert_eq!(s.now, due);
        assert_eq!(s.c.stats().recoveries, 1);
        let p = s.out();
        assert_eq!(p.first().map(|q| q.seq()), Some(una), "{p:#?}");
    }
}

// Without SACK, three duplicate ACKs are DupThresh whatever came before
// (reordering is told from SACK blocks only).
#[test]
fn r5681_three_duplicate_acks_without_sack() {
    let mut s = established_with(cfg());
    let mss = s.c.effective_mss() as u32;
    let una = s.c.snd_una();
    s.send(&vec![4u8; 5 * mss as usize]);
    assert_eq!(s.out().len(), 5);
    for k in 1..=3 {
        s.peer_ack(ACK, una, &[]);
        assert_eq!(s.c.stats().recoveries, u64::from(k == 3));
    }
    assert_eq!(s.out().first().map(|q| q.seq()), Some(una));
}

/// One segment, 1 ms later.
fn send_one(s: &mut Sut, mss: u32) {
    s.now += Duration::from_millis(1);
    s.send(&vec![1u8; mss as usize]);
    let _ = s.out();
}

/// One segment, acknowledged `rtt` later (an RTT sample).
fn round_trip(s: &mut Sut, mss: u32, rtt: Duration) {
    send_one(s, mss);
    s.now += rtt;
    s.peer(ACK, &[]);
}

/// A D-SACK in a new round trip: RACK's reordering window grows by a
/// quarter of the minimum RTT (RFC 8985 §6.2.4).
fn grow_by_dsack(s: &mut Sut, mss: u32) {
    round_trip(s, mss, Duration::from_millis(10));
    dsack_last(s, mss);
}

/// The peer reports the last segment below SND.UNA again: a D-SACK (RFC
/// 2883 §4).
fn dsack_last(s: &mut Sut, mss: u32) {
    let una = s.c.snd_una();
    s.seg_opts(
        ACK,
        PEER_ISS.add(1),
        una,
        sack_opts(&[(una.sub(mss), una)]),
        &[],
    );
}

/// `n` recoveries after a timeout, each after a clean round trip (an RTT
/// sample: the timeout's backoff ends) and of one segment.
fn timeout_recoveries(s: &mut Sut, mss: u32, n: u32) {
    for _ in 0..n {
        round_trip(s, mss, Duration::from_millis(10));
        s.send(&vec![1u8; mss as usize]);
        let _ = s.out();
        let t = s.c.stats().timeouts;
        while s.c.stats().timeouts == t {
            s.fire();
            let _ = s.out();
        }
        s.peer(ACK, &[]);
        assert_eq!(s.c.snd_una(), s.c.snd_nxt());
    }
    assert_eq!(s.c.stats().recoveries, 0, "no fast recovery");
}

// RFC 8985 §6.2.4: RACK.reo_wnd_persist counts the recoveries after a
// timeout as it counts fast ones: the window grown by a D-SACK stays
// through fifteen of them, and after sixteen is back to a quarter of the
// minimum RTT.
#[test]
fn r8985_reo_wnd_persist_counts_timeout_recoveries() {
    for (n, wait) in [(15, 15_000), (16, 12_500)] {
        let (mut s, mss) = sack_10ms();
        grow_by_dsack(&mut s, mss);
        timeout_recoveries(&mut s, mss, n);
        assert_eq!(s.c.stats().timeouts, u64::from(n));
        // (Two segments: the timeouts left cwnd small.)
        let w = rack_wait_segs(&mut s, mss, Duration::from_millis(10), 2);
        assert_eq!(w, Duration::from_micros(wait), "{n} timeouts");
    }
}

use tcpstate::sim::{LinkConfig, Script, Sim};

/// A 1 MB transfer over a path whose MTU is 1280 bytes and that drops
/// larger packets without an ICMP error (an MTU black hole, RFC 2923
/// §2.1), with Linux's settings (MSS 1460, timestamps: 1500-byte packets).
fn black_hole(mtu_probing: bool) -> (Sim, tcpstate::sim::Report) {
    black_hole_mtu(mtu_probing, 1280)
}

/// [`black_hole`] with a path MTU of `mtu` bytes.
fn black_hole_mtu(mtu_probing: bool, mtu: usize) -> (Sim, tcpstate::sim::Report) {
    let mut link = LinkConfig::ideal(Duration::from_millis(10)).with_bandwidth(2_000_000, 64_000);
    link.mtu = Some(mtu);
    let cfg = Config {
        mtu_probing,
        ..Config::linux()
    };
    let mut sim = Sim::pair(
        7,
        cfg,
        link,
        Script::send_then_close(1_000_000),
        Script::send_then_close(0),
    );
    let r = sim.run();
    (sim, r)
}

// RFC 4821 §7.7 black-hole detection and §7 probing (Linux
// `tcp_mtu_probing=1`): without it nothing larger than the path MTU gets
// through and the connection times out; with it the MSS falls to 1024
// after R1 retransmissions, and the search over probe sizes converges
// within 8 bytes below the largest size the path carries.
#[test]
fn r4821_plpmtud_finds_the_mtu_of_a_black_hole() {
    let (_, r) = black_hole(false);
    assert_eq!(r.flows[0].bytes_delivered, 0, "{r:#?}");
    assert_eq!(r.close_reasons[0], Some(tcpstate::CloseReason::TimedOut));

    let (sim, r) = black_hole(true);
    assert_eq!(r.flows[0].bytes_delivered, 1_000_000, "{r:#?}");
    assert_eq!(r.close_reasons[0], Some(tcpstate::CloseReason::Normal));
    assert!(r.counters.too_big > 0);
    assert!(sim.trace.check_complete().is_empty());
    // The largest payload that fits: 1280 - 20 (IP) - 32 (TCP with the
    // timestamp option) = 1228 bytes; the search ends within 8 of it.
    let mss = sim.hosts[0].conn.effective_mss();
    assert!((1220..=1228).contains(&mss), "effective MSS {mss}");
}

// RFC 4821 §7.7 again: when the first fallback (1024 bytes) is still too
// large, the next black-hole detection halves the size last tried (Linux
// `tcp_mtu_probing` halves `search_low`), and the transfer completes over
// a 600-byte path: 548 bytes of payload at most.
#[test]
fn r4821_plpmtud_halves_again_below_the_base() {
    let (sim, r) = black_hole_mtu(true, 600);
    assert_eq!(r.flows[0].bytes_delivered, 1_000_000, "{r:#?}");
    assert_eq!(r.close_reasons[0], Some(tcpstate::CloseReason::Normal));
    let mss = sim.hosts[0].conn.effective_mss();
    assert!(mss <= 600 - 52, "effective MSS {mss}");
}

/// ESTABLISHED with PLPMTUD on and the peer's MSS 1460.
fn plpmtud_1460() -> Sut {
    let cfg = Config {
        mtu_probing: true,
        ..cfg()
    };
    let opts = TcpOptions {
        mss: Some(1460),
        ..TcpOptions::NONE
    };
    established_with_peer(cfg, opts, Duration::ZERO)
}

// RFC 4821 §7.7 step by step: the MSS stays through R1 - 1 timeouts, falls
// to the base (1024) at the R1-th (RFC 9293 §3.8.3's R1, 3), and halves at
// each timeout after it (Linux's `tcp_mtu_probing` at every timeout past
// `tcp_retries1`).
#[test]
fn r4821_plpmtud_black_hole_at_r1_then_halving() {
    let mut s = plpmtud_1460();
    assert_eq!(s.c.effective_mss(), 1460);
    s.send(&[1u8; 1460]);
    assert_eq!(s.out().len(), 1);
    let mut seen = Vec::new();
    for _ in 0..5 {
        s.fire();
        let _ = s.out();
        seen.push(s.c.effective_mss());
    }
    assert_eq!(seen, vec![1460, 1460, 1024, 512, 256], "after each timeout");
}

// Off by default, in both presets (Linux `tcp_mtu_probing=0`).
#[test]
fn r4821_plpmtud_is_off_by_default() {
    assert!(!Config::linux().mtu_probing);
    assert!(!Config::rfc9293().mtu_probing);
}

// The duplicate of a tail loss probe (its original arrived) is not
// reordering: the window stays (as Linux's `tcp_dsack_seen`).
#[test]
fn r8985_a_dsacked_loss_probe_leaves_the_window() {
    let (mut s, mss) = sack_10ms();
    send_one(&mut s, mss);
    s.fire();
    assert_eq!(s.c.stats().loss_probes, 1);
    let probe = s.out();
    assert_eq!(probe.len(), 1);
    s.peer(ACK, &[]);
    dsack_last(&mut s, mss);
    assert_eq!(rack_wait(&mut s, mss), Duration::from_micros(12_500));
}

use tcpstate::connection::congestion::{CongestionControl, Cubic, NewReno, Window};

// R5681-4 (RFC 5681 §3.1, RFC 3465 byte counting): in congestion avoidance
// cwnd grows by one MSS per cwnd of acknowledged bytes.
#[test]
fn r5681_4_congestion_avoidance_one_mss_per_window() {
    let mss = 1000;
    let mut r = NewReno::default();
    let mut w = Window {
        cwnd: 10 * mss,
        ssthresh: 5 * mss,
        mss,
    };
    let now = tcpstate::Instant::from_secs(1);
    for k in 1..=30 {
        w.cwnd = r.on_ack_ca(w, mss, now, 10_000);
        // 10 MSS acked per growth at 10 segments, 11 at 11, ...
        let expect = match k {
            0..10 => 10,
            10..21 => 11,
            _ => 12,
        };
        assert_eq!(w.cwnd, expect * mss, "ack {k}");
    }
}

// R9438-3 (RFC 9438 §4.3): just after a reduction, where W_cubic is
// still at cwnd, CUBIC grows as Reno would with alpha = 3(1-b)/(1+b) =
// 9/17 of an MSS per window acknowledged (the Reno-friendly region).
// R9438-5 (§4.4): far into the convex region, the growth target is at
// most 1.5 cwnd per RTT.
#[test]
fn r9438_3_5_reno_friendly_region_and_growth_cap() {
    let mss = 1000;
    let now = tcpstate::Instant::from_secs(100);
    let mut c = Cubic::default();
    let w = Window {
        cwnd: 100 * mss,
        ssthresh: u32::MAX,
        mss,
    };
    let ssthresh = c.on_congestion(w, now);
    assert_eq!(ssthresh, 70 * mss, "beta 0.7");
    let mut w = Window {
        cwnd: ssthresh,
        ssthresh,
        mss,
    };
    for _ in 0..70 {
        w.cwnd = c.on_ack_ca(w, mss, now, 10_000);
    }
    // 9/17 of 1000 is 529; each ACK's step is rounded down (7 bytes of
    // 7.56 here), so 490.
    let grown = w.cwnd - ssthresh;
    assert!(
        (480..=530).contains(&grown),
        "about 9/17 MSS for a window acknowledged: {grown}"
    );
    // 1000 s later W_cubic is far above: a window of ACKs takes cwnd to
    // at most 1.5 cwnd.
    let later = now + Duration::from_secs(1000);
    let before = w.cwnd;
    w.cwnd = c.on_ack_ca(w, before, later, 10_000);
    assert!(w.cwnd > before);
    assert!(w.cwnd <= before + before / 2, "{} > 1.5 * {before}", w.cwnd);
}

/// The time from a write-write-read request's first write until the
/// server has both parts (RFC 9293 defaults: Nagle, 200 ms delayed ACKs,
/// no quick ACKs), one-way delay 5 ms.
fn request_time(nodelay: bool) -> Duration {
    let c = Config {
        timestamps: false,
        window_scaling: false,
        ..Config::rfc9293()
    };
    let mut p = common::Pair::open(c, 8192, 8192);
    if nodelay {
        p.app_a(|c, now| {
            c.on_app_call(now, tcpstate::AppCall::SetNoDelay(true))
                .unwrap()
                .actions
        });
    }
    let t0 = p.now;
    p.app_a(|c, now| c.send(now, b"GET ").unwrap().actions);
    // The first write leaves at once (nothing is in flight).
    p.flush();
    p.app_a(|c, now| c.send(now, b"/index\n").unwrap().actions);
    let mut got = Vec::new();
    while got.len() < 11 {
        p.run_for(Duration::from_millis(1));
        let now = p.now;
        common::read_all(&mut p.b, now, &mut got);
        assert!(p.now - t0 < Duration::from_secs(2));
    }
    p.now - t0
}

// R9293-NAGLE-2 (RFC 9293 §3.7.4, RFC 1122 §4.2.3.4): the write-write-read
// stall. Nagle holds the second small write until the first is
// acknowledged, and the peer delays that ACK (200 ms here, 40 ms with
// Linux's settings): the request waits for the delayed-ACK timer. With
// TCP_NODELAY (MUST-17) both parts arrive after one trip.
#[test]
fn r9293_nagle_2_the_write_write_read_stall() {
    let stalled = request_time(false);
    let quick = request_time(true);
    assert!(stalled >= Duration::from_millis(200), "{stalled:?}");
    assert!(quick <= Duration::from_millis(10), "{quick:?}");
}

/// Slow start with HyStart++ (RFC 9406) on, an initial window of `iw`
/// segments, ACK-clocked rounds of `rtt(round)` ms (timestamps on, so
/// every ACK is an RTT sample): the round and the ACK (from 1) at which
/// slow start ended, with ssthresh = cwnd then; `None` if it had not
/// after 8 rounds.
fn hystart_exit(iw: u16, rtt: impl Fn(u32) -> u64) -> Option<(u32, usize)> {
    hystart_exit_split(iw, 1, rtt)
}

/// [`hystart_exit`] with a peer that acknowledges each segment in
/// `split` pieces (ACK division: each piece an ACK of new data, an RTT
/// sample, and cwnd growth by the bytes it covers).
fn hystart_exit_split(iw: u16, split: u32, rtt: impl Fn(u32) -> u64) -> Option<(u32, usize)> {
    let mut o = TcpOptions::NONE;
    o.sack_permitted = true;
    o.timestamps = Some(tcpstate::wire::Timestamps { val: 1, ecr: 0 });
    let cfg = Config {
        hystart: true,
        timestamps: true,
        sack: true,
        initial_window: iw,
        ..script::cfg()
    };
    // A send buffer large enough for a flight of more than 16 segments.
    let mut s = Sut::with_buffers(cfg, RX, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = o;
    s.now += tcpstate::Duration::from_millis(rtt(0));
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    let mut peer_ts = 2u32;
    // ACK-clocked: each ACK releases the next round's segments.
    s.send(&[7u8; 60_000]);
    let mut flight = s.out();
    for round in 0..8 {
        while s.c.send_queue() < 60_000 {
            s.send(&[7u8; 1000]);
        }
        s.now += tcpstate::Duration::from_millis(rtt(round));
        let mut next = Vec::new();
        let mut acks = 0;
        for p in &flight {
            let ts = p.t.options.timestamps.expect("timestamps on");
            let len = p.payload.len() as u32;
            for piece in 1..=split {
                peer_ts += 1;
                let opts = TcpOptions {
                    timestamps: Some(tcpstate::wire::Timestamps {
                        val: peer_ts,
                        ecr: ts.val,
                    }),
                    ..TcpOptions::NONE
                };
                let end = p.seq().add(len * piece / split);
                let before = s.c.stats().hystart_exits;
                s.seg_opts(ACK, s.peer_nxt, end, opts, &[]);
                acks += 1;
                if s.c.stats().hystart_exits != before {
                    // ssthresh = cwnd at the exit (the ACK's growth after
                    // it, in congestion avoidance, is under a segment).
                    let info = s.c.info(s.now);
                    assert!(
                        info.snd_cwnd.abs_diff(info.snd_ssthresh) <= u32::from(split > 1),
                        "ssthresh {} cwnd {}",
                        info.snd_ssthresh,
                        info.snd_cwnd
                    );
                    return Some((round, acks));
                }
                next.extend(s.out());
            }
        }
        flight = next;
    }
    None
}

/// HyStart++ (RFC 9406 §4.2): in slow start, once cwnd is at least 16
/// segments, a round whose minimum RTT is at least eta (RTT/8, clamped to
/// 4..16 ms) above the last round's ends slow start (ssthresh = cwnd),
/// but only after 8 RTT samples in the round (N_RTT_SAMPLE): the 7th ACK
/// of a slower round leaves slow start on, the 8th ends it.
#[test]
fn r9406_hystart_exits_after_eight_samples_of_a_slower_round() {
    // Rounds of 10 ms, then of 40 ms from the fifth on. The engine's
    // rounds end when SND.UNA passes the SND.MAX recorded at the last
    // round's end (RFC 9406 §4.2): the first round that is all slower is
    // the second slower flight, and its 8th sample ends slow start.
    let exit = hystart_exit(10, |round| if round >= 4 { 40 } else { 10 });
    assert_eq!(exit, Some((5, 8)));
}

// RFC 9406 §4.2's eta, RTT/8 clamped to 4..16 ms: a round 6 ms slower
// than rounds of 10 ms (eta 4 ms) ends slow start; the same 6 ms over
// rounds of 80 ms (eta 10 ms) does not, nor does a round 3 ms slower
// than rounds of 10 ms.
#[test]
fn r9406_eta_is_an_eighth_of_the_rtt_clamped_to_4_to_16_ms() {
    let slower = |base: u64, by: u64| move |round: u32| if round >= 4 { base + by } else { base };
    assert_eq!(hystart_exit(10, slower(10, 6)), Some((5, 8)));
    assert_eq!(hystart_exit(10, slower(80, 6)), None);
    assert_eq!(hystart_exit(10, slower(10, 3)), None);
}

/// ESTABLISHED with SACK and timestamps, a first flight of 4000 bytes
/// sent (returned, with SND.MAX after it), every ACK lost: a loss probe,
/// then the timeout that resends SND.UNA (returned last).
fn flight_then_timeout() -> (Sut, Vec<Pkt>, SeqNum, Pkt) {
    let cfg = tcpstate::Config {
        timestamps: true,
        sack: true,
        ..script::cfg()
    };
    let mut o = TcpOptions::NONE;
    o.sack_permitted = true;
    o.timestamps = Some(tcpstate::wire::Timestamps { val: 1, ecr: 0 });
    let mut s = established_with_peer(cfg, o, tcpstate::Duration::from_millis(10));
    let una0 = s.c.snd_una();
    s.send(&[1u8; 4000]);
    let first = s.out();
    let snd_max = s.c.snd_nxt();
    for _ in 0..3 {
        s.fire();
        if let Some(rtx) = s.out().into_iter().find(|p| p.seq() == una0) {
            assert_eq!(s.c.stats().timeouts, 1, "the timeout fired");
            return (s, first, snd_max, rtx);
        }
    }
    panic!("no timeout resent SND.UNA");
}

/// The peer's timestamp option (TSval 10) echoing `ecr`.
fn peer_echo(ecr: u32) -> TcpOptions {
    TcpOptions {
        timestamps: Some(tcpstate::wire::Timestamps { val: 10, ecr }),
        ..TcpOptions::NONE
    }
}

/// RFC 3522 §3.2: an ACK whose TSecr is not older than the
/// retransmission's TSval (here it echoes the retransmission itself) says
/// the retransmission arrived: the timeout was not spurious, and it stands
/// (no undo; Linux's `tcp_try_undo_loss` asks `tcp_packet_delayed`, whose
/// `rcv_tsecr < retrans_stamp` fails the same way).
#[test]
fn r3522_an_ack_echoing_the_retransmission_keeps_the_timeout() {
    let (mut s, _, _, rtx) = flight_then_timeout();
    let mss = u32::from(s.c.effective_mss());
    assert_eq!(s.c.cwnd(), mss, "the loss window");
    let rtx_ts = rtx.t.options.timestamps.expect("timestamps").val;
    let ts = peer_echo(rtx_ts);
    s.now += tcpstate::Duration::from_millis(10);
    let acked = rtx.seq().add(rtx.payload.len() as u32);
    s.seg_opts(ACK, s.peer_nxt, acked, ts, &[]);
    assert_eq!(s.c.snd_una(), acked);
    assert_eq!(s.c.stats().spurious_timeouts, 0, "Eifel: genuine");
    assert!(s.c.cwnd() <= 2 * mss, "cwnd {}", s.c.cwnd());
}

/// Eifel after two timeouts (RFC 3522 §3.2, RFC 4015 §4): the window to
/// restore is the one before the *first* timeout of the episode, saved
/// then and kept through the backed-off ones (as Linux's `tcp_try_undo_loss`
/// undoes to `prior_cwnd` and `prior_ssthresh`). An ACK that echoes the
/// original's timestamp undoes both: ssthresh infinite again, cwnd the
/// initial window (plus this ACK's growth), not the one segment the
/// second timeout found.
#[test]
fn r3522_eifel_after_two_timeouts_restores_the_window_before_the_first() {
    let (mut s, first, snd_max, _) = flight_then_timeout();
    let mss = u32::from(s.c.effective_mss());
    let iw = u32::from(Config::rfc9293().initial_window) * mss;
    s.out();
    s.fire();
    assert!(!s.out().is_empty());
    assert_eq!(s.c.stats().timeouts, 2);
    assert_eq!(s.c.cwnd(), mss);
    let first_ts = first[0].t.options.timestamps.expect("timestamps").val;
    let ts = peer_echo(first_ts);
    s.now += tcpstate::Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, snd_max, ts, &[]);
    assert_eq!(s.c.stats().spurious_timeouts, 1, "Eifel: spurious");
    let info = s.c.info(s.now);
    assert_eq!(
        info.snd_ssthresh,
        tcpstate::connection::info::TCP_INFINITE_SSTHRESH
    );
    assert!(s.c.cwnd() >= iw, "cwnd {} < IW {iw}", s.c.cwnd());
}

/// A timeout that Eifel finds spurious (RFC 3522: the ACK echoes the
/// original's timestamp) is undone (RFC 4015), and with it the recovery
/// point the timeout set: a later loss is repaired by fast retransmit at
/// its third duplicate ACK (RFC 6675), not held back by RFC 6582's test
/// of SND.UNA against a "recover" the undone timeout left. Linux alike:
/// after `tcp_try_undo_loss` the state is Open and SACK starts recovery.
#[test]
fn r4015_a_loss_after_an_undone_timeout_is_fast_retransmitted() {
    let (mut s, first, snd_max, _) = flight_then_timeout();
    let first_ts = first[0].t.options.timestamps.expect("timestamps").val;
    // The original arrived after all: its ACK echoes the original's TSval.
    let mut peer_ts = 10u32;
    let ts = |val: u32, ecr: u32| TcpOptions {
        timestamps: Some(tcpstate::wire::Timestamps { val, ecr }),
        ..TcpOptions::NONE
    };
    s.now += tcpstate::Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, snd_max, ts(peer_ts, first_ts), &[]);
    assert_eq!(s.c.stats().spurious_timeouts, 1, "Eifel: spurious");
    // New data; its first segment is lost, the next three arrive.
    s.send(&[2u8; 4000]);
    let new = s.out();
    assert!(new.len() >= 4, "{} new segments", new.len());
    let lost = new[0].seq();
    s.now += tcpstate::Duration::from_millis(10);
    let mut out = Vec::new();
    for k in 1..=3 {
        peer_ts += 1;
        let mut opts = ts(peer_ts, new[k].t.options.timestamps.unwrap().val);
        opts.sack
            .push(new[1].seq(), new[k].seq().add(new[k].payload.len() as u32));
        s.seg_opts(ACK, s.peer_nxt, lost, opts, &[]);
        out.extend(s.out());
    }
    assert!(
        out.iter().any(|p| p.seq() == lost),
        "the lost segment {lost:?} is retransmitted at the third duplicate ACK: {:?}",
        out.iter()
            .map(|p| (p.seq(), p.payload.len()))
            .collect::<Vec<_>>()
    );
}

/// The same, with the loss among the segments sent before the timeout:
/// the ACK that shows the timeout spurious (it echoes the original's
/// timestamp) acknowledges the first three segments and SACKs the rest
/// but the fourth. The fourth was lost; it is retransmitted as soon as
/// duplicate ACKs say so, not at the next timeout.
#[test]
fn r4015_a_loss_before_an_undone_timeout_is_fast_retransmitted() {
    let (mut s, first, snd_max, _) = flight_then_timeout();
    assert!(first.len() >= 6);
    let first_ts = first[0].t.options.timestamps.expect("timestamps").val;
    let ts = |val: u32, ecr: u32| TcpOptions {
        timestamps: Some(tcpstate::wire::Timestamps { val, ecr }),
        ..TcpOptions::NONE
    };
    let lost = first[3].seq();
    let after = first[4].seq();
    s.now += tcpstate::Duration::from_millis(10);
    let mut out = Vec::new();
    for k in 0..4u32 {
        let mut opts = ts(10 + k, first_ts);
        opts.sack.push(after, snd_max);
        s.seg_opts(ACK, s.peer_nxt, lost, opts, &[]);
        out.extend(s.out());
        if k == 0 {
            assert_eq!(s.c.stats().spurious_timeouts, 1, "Eifel: spurious");
        }
    }
    let dup_acks_at = s.now;
    let mut sent = out.into_iter().map(|p| (s.now, p)).collect::<Vec<_>>();
    sent.extend(s.run_for(tcpstate::Duration::from_millis(100)));
    let at = sent.iter().find(|(_, p)| p.seq() == lost).map(|(t, _)| *t);
    assert!(
        at.is_some_and(|t| t <= dup_acks_at + tcpstate::Duration::from_millis(10)),
        "the lost segment {lost:?} is retransmitted at once, not later: {:?}",
        sent.iter()
            .map(|(t, p)| (*t, p.seq(), p.payload.len()))
            .collect::<Vec<_>>()
    );
}

// RFC 5682 §2 step 2b needs new data to send: with everything already
// sent, the first ACK after the timeout continues the conventional
// recovery (2a) and the next segment is the go-back-N resend.
#[test]
fn r5682_step_2_without_new_data_is_conventional() {
    let mut s = established_with(cfg_frto(true));
    let mss = s.c.effective_mss() as u32;
    let all = 10 * mss as usize;
    assert_eq!(s.send(&vec![5u8; all]), all);
    assert_eq!(s.out().len(), 10);
    assert_eq!(s.c.send_queue(), all, "all sent, none acknowledged");
    s.fire();
    assert_eq!(s.out().len(), 1);
    assert_eq!(s.c.stats().timeouts, 1);
    let una = ISS.add(1);
    s.peer_ack(ACK, una.add(mss), &[]);
    let p = s.out();
    assert!(
        !p.is_empty(),
        "the resend goes on (SND.NXT {:?}, next timer {:?})",
        s.c.snd_nxt(),
        s.c.deadline()
    );
    assert_eq!(p[0].seq(), una.add(mss), "go-back-N from SND.UNA");
}

// Step 2 judges an ACK that moved SND.UNA: a duplicate ACK that arrives
// after the timeout and before its retransmission was polled (SND.NXT is
// still at SND.UNA) is step 2a, conventional; the next segment is the
// retransmission of SND.UNA, not new data.
#[test]
fn r5682_a_duplicate_ack_before_the_resend_is_polled_is_conventional() {
    let mut s = established_with(cfg_frto(true));
    assert_eq!(s.send(&[5u8; 8000]), 8000);
    assert_eq!(s.out().len(), 10);
    s.fire();
    assert_eq!(s.c.stats().timeouts, 1);
    let una = ISS.add(1);
    assert_eq!(s.c.snd_nxt(), una, "rewound, not polled yet");
    s.peer_ack(ACK, una, &[]);
    let p = s.out();
    assert!(!p.is_empty());
    assert_eq!(p[0].seq(), una, "the retransmission, not new data");
}

// RFC 4821 §7 with RFC 1191 §6.3: an ICMP "fragmentation needed" whose MTU
// is the top of the PLPMTUD search (the MSS the search started from) says
// nothing new: a probe in flight stays a probe and, acknowledged, raises
// the MSS (Linux: `tcp_sync_mss` leaves `search_high` as it is when the
// MTU does not shrink it). Only a smaller MTU lowers the search.
#[test]
fn r4821_icmp_at_the_top_of_the_search_leaves_the_probe() {
    let mut s = plpmtud_fallen_back();
    let peer = PEER_ISS.add(1);
    let probe_end = until_probe(&mut s).expect("a probe went out");
    let _ = s.c.on_icmp(
        s.now,
        tcpstate::IcmpError::FragmentationNeeded { mtu: 1500 },
        20,
    );
    s.seg(ACK, peer, probe_end, &[]);
    assert!(
        s.c.effective_mss() > 1024,
        "the probe passed: MSS {}",
        s.c.effective_mss()
    );
}

/// `plpmtud_1460` after three timeouts (RFC 4821 §7.7: the black hole's
/// fallback, MSS 1024, a search between 1024 and 1460), everything
/// acknowledged.
fn plpmtud_fallen_back() -> Sut {
    let mut s = plpmtud_1460();
    s.send(&[1u8; 1460]);
    let _ = s.out();
    for _ in 0..3 {
        s.fire();
        let _ = s.out();
    }
    assert_eq!(s.c.effective_mss(), 1024, "the black hole's fallback");
    let nxt = s.c.snd_nxt();
    s.seg(ACK, PEER_ISS.add(1), nxt, &[]);
    s
}

/// The peer's ACK of everything `out` (a flight, not empty) sent.
fn ack_flight(s: &mut Sut, out: &[Pkt]) {
    let last = out.last().expect("a flight");
    s.seg(
        ACK,
        PEER_ISS.add(1),
        last.seq().add(last.payload.len() as u32),
        &[],
    );
}

/// One ACK per flight, the send buffer kept full, until the window allows
/// a probe (11 segments, as Linux's `tcp_mtu_probe`): a segment longer
/// than the MSS, sent but not acknowledged; returns its end. `None` if
/// 100 flights go without one.
fn until_probe(s: &mut Sut) -> Option<SeqNum> {
    for _ in 0..100 {
        let mss = s.c.effective_mss();
        s.send(&[2u8; 20_000]);
        let out = s.out();
        if let Some(p) = out.iter().find(|p| p.payload.len() > usize::from(mss)) {
            return Some(p.seq().add(p.payload.len() as u32));
        }
        ack_flight(s, &out);
    }
    None
}

/// Probes acknowledged one after the other until no more goes out (the
/// search is over); returns the send MSS after each.
fn search_sizes(s: &mut Sut) -> Vec<u16> {
    let peer = PEER_ISS.add(1);
    let mut sizes = Vec::new();
    while let Some(end) = until_probe(s) {
        s.seg(ACK, peer, s.c.snd_nxt(), &[]);
        assert!(!s.c.snd_una().before(end));
        sizes.push(s.c.effective_mss());
        assert!(sizes.len() < 20, "{sizes:?}");
    }
    sizes
}

// RFC 4821 §7: a probe is a segment of new data. Once the application
// has closed (a FIN queued) no probe goes out: the rest of the data goes
// in segments of the send MSS, the FIN on the last (RFC 9293 §3.10.4).
#[test]
fn r4821_no_probe_once_the_fin_is_queued() {
    let mut s = plpmtud_fallen_back();
    // Flights of ordinary segments, no probe, until the window would allow
    // one (11 segments, as Linux's `tcp_mtu_probe`; `until_probe` sends
    // one at this point).
    while s.c.cwnd() < 11 * 1024 {
        s.send(&[2u8; 20_000]);
        let out = s.out();
        assert!(out.iter().all(|p| p.payload.len() <= 1024));
        ack_flight(&mut s, &out);
    }
    s.send(&[3u8; 20_000]);
    s.close();
    let out = s.out();
    assert!(!out.is_empty());
    for p in &out {
        assert!(p.payload.len() <= 1024, "a probe: {p:?}");
    }
}

// RFC 4821 §7: no probe goes out while record ends (`send_eor`, Linux's
// MSG_EOR) are pending, as a probe would join bytes of two records; once
// the last one is acknowledged the search goes on with plain data.
#[test]
fn r4821_probes_come_back_once_the_record_ends_are_acknowledged() {
    let mut s = plpmtud_fallen_back();
    s.app(|c, now| c.send_eor(now, &[4u8; 100]).unwrap().actions);
    let out = s.out();
    assert_eq!(out.len(), 1);
    s.seg(ACK, PEER_ISS.add(1), s.c.snd_nxt(), &[]);
    assert!(until_probe(&mut s).is_some(), "a probe after the record");
}

// RFC 4821 §7 / RFC 8899 §5.3: the search ends once the largest size
// known to pass and the smallest known not to (here the MSS negotiated,
// 1460) are less than MTU_PROBE_THRESHOLD (8) apart; no probe goes out
// after it. On a path that carries everything each probe passes: 1242,
// 1351, 1405, 1432, 1446, 1453, and there it stops (1460 - 1453 < 8).
#[test]
fn r4821_the_search_ends_within_the_threshold_and_probes_no_more() {
    let mut s = plpmtud_fallen_back();
    let peer = PEER_ISS.add(1);
    let sizes = search_sizes(&mut s);
    assert_eq!(sizes, vec![1242, 1351, 1405, 1432, 1446, 1453]);
    // Not even while another uncommon mode is on (the peer's urgent data,
    // RFC 9293 §3.8.5, whose mark lies ahead: the output path then asks
    // PLPMTUD whether a probe is due).
    let urgent = tcpstate::Segment {
        seq: peer,
        ack: s.c.snd_nxt(),
        flags: ACK | tcpstate::wire::Flags::URG,
        window: s.peer_wnd,
        urgent: 0xfffe,
        options: TcpOptions::NONE,
        payload: &[],
    };
    let a = s.c.on_segment(s.now, &urgent);
    s.record(a);
    assert!(s.last.urgent());
    assert_eq!(until_probe(&mut s), None);
    assert_eq!(s.c.effective_mss(), 1453);
}

// RFC 4821 §7 with RFC 1191 §6.3: an ICMP "fragmentation needed" whose MTU
// lies inside the PLPMTUD search (here 1340: an MSS of 1300, between the
// fallback's 1024 and the top, 1460) lowers the search's top to it
// (Linux's `tcp_sync_mss` takes `search_high` down): no probe is larger,
// and the search ends below it.
#[test]
fn r4821_icmp_inside_the_search_lowers_its_top() {
    let mut s = plpmtud_fallen_back();
    let _ = s.c.on_icmp(
        s.now,
        tcpstate::IcmpError::FragmentationNeeded { mtu: 1340 },
        20,
    );
    assert_eq!(s.c.effective_mss(), 1024, "not below the MSS in use");
    let sizes = search_sizes(&mut s);
    assert!(!sizes.is_empty(), "the search went on below 1300");
    assert!(sizes.iter().all(|&m| m <= 1300), "{sizes:?}");
    assert!(s.c.effective_mss() > 1200, "{sizes:?}");
}

// RFC 4821 §7.5 (Linux: `tcp_enter_loss` ends the probe): a timeout while
// a probe is out counts as the probe's loss. Its late ACK then raises
// nothing, and the search goes on below the probe's size.
#[test]
fn r4821_a_timeout_with_a_probe_out_fails_it() {
    let mut s = plpmtud_fallen_back();
    let peer = PEER_ISS.add(1);
    let probe_end = until_probe(&mut s).expect("a probe went out");
    let timeouts = s.c.stats().timeouts;
    for _ in 0..3 {
        if s.c.stats().timeouts > timeouts {
            break;
        }
        s.fire();
        let _ = s.out();
    }
    assert_eq!(s.c.stats().timeouts, timeouts + 1);
    s.seg(ACK, peer, probe_end, &[]);
    assert_eq!(s.c.effective_mss(), 1024, "the probe's ACK came too late");
    let sizes = search_sizes(&mut s);
    assert!(
        !sizes.is_empty() && sizes.iter().all(|&m| m < 1242),
        "{sizes:?}"
    );
}

// RFC 4821 §7.5 (Linux's `tcp_mtup_probe_failed` only with SND.UNA at the
// probe): a fast recovery for a segment sent before the probe is not the
// probe's loss. The probe, acknowledged after the recovery, raises the MSS.
#[test]
fn r4821_a_loss_below_the_probe_is_not_the_probe() {
    let mut s = plpmtud_fallen_back();
    let peer = PEER_ISS.add(1);
    // Flights acknowledged but for their last segment, until the probe
    // goes behind one.
    let mut probe = None;
    for _ in 0..100 {
        let mss = s.c.effective_mss();
        s.send(&[2u8; 20_000]);
        let out = s.out();
        if let Some(p) = out.iter().find(|p| p.payload.len() > usize::from(mss)) {
            probe = Some(p.seq());
            break;
        }
        let last = out.last().expect("a flight");
        s.seg(ACK, peer, last.seq(), &[]);
    }
    let probe = probe.expect("a probe went out");
    let una = s.c.snd_una();
    assert!(una.before(probe), "a segment before the probe is out");
    // Three duplicate ACKs: that segment is lost (RFC 5681 §3.2).
    let recoveries = s.c.stats().recoveries;
    for _ in 0..3 {
        s.seg(ACK, peer, una, &[]);
    }
    assert_eq!(s.c.stats().recoveries, recoveries + 1);
    let _ = s.out();
    let max = s.c.snd_nxt().max(probe);
    s.seg(ACK, peer, max, &[]);
    assert!(
        s.c.effective_mss() > 1024,
        "the probe passed: MSS {}",
        s.c.effective_mss()
    );
}

/// RFC 8985 §6.2.4: a D-SACK grows RACK's reordering window once per
/// round trip (RACK.dsack_round). Before any round was started there is
/// none open, wherever the sequence numbers lie: with an ISS just below
/// 2^32, sequence number 0 is in flight when the first D-SACK comes, and
/// the window grows all the same, whether the uncommon state's box exists
/// yet (`with_box`: a segment left of the window was dropped first) or
/// not. (Without the box a round read as open at 0.)
#[test]
fn r8985_the_first_dsack_grows_the_window_across_sequence_zero() {
    use tcpstate::wire::{Flags, Segment};
    use tcpstate::{Buffers, Connection, Instant, Timer};
    for with_box in [false, true] {
        let cfg = Config {
            sack: true,
            ..cfg()
        };
        let mut c = Connection::new(cfg, Buffers::with_capacity(65536, 65536)).unwrap();
        let iss = SeqNum(0xFFFF_F800);
        let peer = SeqNum(7000);
        let mut now = Instant::from_secs(1);
        let mut buf = [0u8; 2048];
        let mut drain = |c: &mut tcpstate::Connection<Vec<u8>>, now: Instant| {
            let mut n = 0;
            while c.poll_transmit(now, &mut buf).is_some() {
                n += 1;
            }
            n
        };
        let _ = c.connect(now, iss).unwrap();
        assert_eq!(drain(&mut c, now), 1);
        now += Duration::from_millis(10);
        let mut syn = TcpOptions::NONE;
        syn.sack_permitted = true;
        syn.mss = Some(1000);
        let seg = |seq: SeqNum, ack: SeqNum, flags: Flags, options: TcpOptions| Segment {
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            options,
            payload: &[],
        };
        let _ = c.on_segment(now, &seg(peer, iss.add(1), Flags::SYN | Flags::ACK, syn));
        assert_eq!(drain(&mut c, now), 1);
        let peer = peer.add(1);
        if with_box {
            let _ = c.on_segment(
                now,
                &seg(peer.sub(5000), iss.add(1), Flags::ACK, TcpOptions::NONE),
            );
            assert_eq!(c.stats().dropped, 1);
            drain(&mut c, now);
        }
        // Four segments, across sequence number 0.
        now += Duration::from_millis(1);
        let m = |k: u32| iss.add(1 + 1000 * k);
        assert_eq!(c.send(now, &[1u8; 4000]).unwrap().len, 4000);
        assert_eq!(drain(&mut c, now), 4);
        assert!(m(1).before(SeqNum(0)) && m(4).after(SeqNum(0)));
        let sent = now;
        now += Duration::from_millis(10);
        // The first acknowledged and reported again (a D-SACK), then the
        // third SACKed: RACK's timer for the second is due RACK.rtt
        // (10 ms) plus the window: two quarters of the minimum RTT (10 ms)
        // after the D-SACK, one without it.
        let _ = c.on_segment(
            now,
            &seg(peer, m(1), Flags::ACK, sack_opts(&[(m(0), m(1))])),
        );
        let _ = c.on_segment(
            now,
            &seg(peer, m(1), Flags::ACK, sack_opts(&[(m(2), m(3))])),
        );
        let due = c.timer(Timer::Rack).expect("RACK timer");
        assert_eq!(due - sent, Duration::from_millis(15), "box {with_box}");
    }
}

// RFC 4821 §7.3 (every 10 minutes; RFC 8899 §5.1.1's PMTU_RAISE_TIMER):
// a search that ended is trusted for `Config::MTU_PROBE_INTERVAL` (Linux
// `tcp_probe_interval`, 600 s) after it last found a size that passes;
// then the next flight probes upwards again, from the send MSS to the MSS
// the first search started from (Linux `tcp_mtu_check_reprobe`), so a
// path whose MTU grew back is used in full again. Here an ICMP error
// (RFC 1191) holds the first search below 1160 bytes of payload.
#[test]
fn r4821_a_search_that_ended_probes_upwards_again_after_ten_minutes() {
    assert_eq!(Config::MTU_PROBE_INTERVAL, Duration::from_secs(600));
    let mut s = plpmtud_fallen_back();
    let _ = s.c.on_icmp(
        s.now,
        tcpstate::IcmpError::FragmentationNeeded { mtu: 1200 },
        20,
    );
    // The interval does not restart a search still going on: ten minutes
    // after the black hole, the first probe is still below 1160.
    s.now += Duration::from_secs(600);
    let sizes = search_sizes(&mut s);
    assert_eq!(sizes, vec![1092, 1126, 1143, 1151, 1155]);
    // Not before the interval is over.
    s.now += Duration::from_secs(598);
    assert_eq!(until_probe(&mut s), None, "a probe before 600 s");
    assert_eq!(s.c.effective_mss(), 1155);
    // Then a new search from 1155 up to 1460, every probe passing.
    s.now += Duration::from_secs(2);
    let sizes = search_sizes(&mut s);
    assert_eq!(sizes, vec![1307, 1383, 1421, 1440, 1450, 1455]);
    // And it ended again: no probe until the next interval.
    s.now += Duration::from_secs(599);
    assert_eq!(until_probe(&mut s), None);
    s.now += Duration::from_secs(1);
    assert!(until_probe(&mut s).is_none(), "1455 is within 8 of 1460");
}

/// PLPMTUD on (`frto` as given, SACK if `sack`), peer MSS 1460, a 64 KiB send buffer: a
/// black hole, then a search held below 1160 bytes by an ICMP error (so
/// that the next has room, as in the test above), then cwnd grown past `n`
/// segments, a flight of `n` segments out with 10,000 bytes queued behind
/// it, and ten minutes gone: the search restarts at the next output.
/// Returns the send MSS.
fn reprobe_due_over_a_flight(frto: bool, sack: bool, n: u32) -> (Sut, u32) {
    let cfg = Config {
        mtu_probing: true,
        frto,
        sack,
        ..cfg()
    };
    let mut s = Sut::with_buffers(cfg, RX, 65_536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1460),
        sack_permitted: sack,
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.send(&[1u8; 1460]);
    let _ = s.out();
    // Three timeouts (RFC 4821 §7.7's black hole; with SACK a loss probe
    // comes before the first).
    while s.c.stats().timeouts < 3 {
        s.fire();
        let _ = s.out();
    }
    assert_eq!(s.c.effective_mss(), 1024);
    s.seg(ACK, PEER_ISS.add(1), s.c.snd_nxt(), &[]);
    let _ = s.c.on_icmp(
        s.now,
        tcpstate::IcmpError::FragmentationNeeded { mtu: 1200 },
        20,
    );
    assert_eq!(search_sizes(&mut s).last(), Some(&1155));
    let mss = u32::from(s.c.effective_mss());
    // cwnd grows past n segments, no probe meanwhile (the search ended).
    while s.c.cwnd() < n * mss {
        s.now += Duration::from_millis(20);
        s.send(&[2u8; 65_536]);
        let out = s.out();
        assert!(out.iter().all(|p| p.payload.len() <= mss as usize));
        ack_flight(&mut s, &out);
    }
    // What is queued goes and is acknowledged.
    while s.c.info(s.now).notsent_bytes > 0 || s.c.snd_una() != s.c.snd_nxt() {
        s.now += Duration::from_millis(20);
        let _ = s.out();
        s.seg(ACK, PEER_ISS.add(1), s.c.snd_nxt(), &[]);
    }
    s.send(&vec![3u8; (n * mss) as usize]);
    assert_eq!(s.out().len(), n as usize);
    s.send(&[4u8; 10_000]);
    s.now += Config::MTU_PROBE_INTERVAL;
    (s, mss)
}

// RFC 4821 §7.1 sends a probe only while nothing else is being
// recovered, as Linux's `tcp_mtu_probe` (only in TCP_CA_Open): not in
// F-RTO's step 2b (RFC 5682 §2.1), where cwnd is the flight plus two
// segments and two new segments of the send MSS test whether the
// timeout was spurious. A search restarts (the 10-minute reprobe, RFC
// 4821 §7.3) as a timeout strikes a flight of 20 segments with more data
// queued: the two segments of step 2b are ordinary ones, the probe waits.
#[test]
fn r4821_no_probe_in_frto_step_2b() {
    let (mut s, mss) = reprobe_due_over_a_flight(true, false, 20);
    // The flight times out: F-RTO resends its first segment, whose ACK
    // (the original arrived, the rest did not) leads to step 2b.
    let timeouts = s.c.stats().timeouts;
    let a = s.c.on_timer(s.now);
    s.record(a);
    assert_eq!(s.c.stats().timeouts, timeouts + 1);
    let rtx = s.out();
    assert_eq!(rtx.len(), 1, "{rtx:#?}");
    s.now += Duration::from_millis(20);
    s.seg(ACK, PEER_ISS.add(1), rtx[0].seq().add(mss), &[]);
    let step_2b = s.out();
    assert_eq!(step_2b.len(), 2, "{step_2b:#?}");
    assert!(
        step_2b.iter().all(|p| p.payload.len() == mss as usize),
        "{step_2b:#?}"
    );
    // The search did restart: once the timeout's episode is over, a
    // probe goes.
    s.now += Duration::from_millis(20);
    s.seg(ACK, PEER_ISS.add(1), s.c.snd_nxt(), &[]);
    assert!(until_probe(&mut s).is_some());
}

// The same without F-RTO, over a flight of 40: after the timeout the
// flight goes again from SND.UNA (RFC 5681 §3.1's loss window, slow start
// up to ssthresh, 20 segments), and no probe goes while SND.NXT is below
// SND.MAX, although cwnd passes 11 segments meanwhile. (Linux waits
// longer, in TCP_CA_Loss until SND.UNA reaches the recovery point; here
// the probe may go as soon as the resend is done.)
#[test]
fn r4821_no_probe_while_a_timeout_resends_the_flight() {
    let (mut s, mss) = reprobe_due_over_a_flight(false, false, 40);
    let max = s.c.snd_nxt();
    let a = s.c.on_timer(s.now);
    s.record(a);
    let (mut resent, mut big) = (0, false);
    while s.c.snd_nxt().before(max) || resent == 0 {
        let out = s.out();
        assert!(!out.is_empty(), "stalled after {resent}");
        for p in out.iter().filter(|p| p.seq().before(max)) {
            assert!(
                p.payload.len() <= mss as usize,
                "a probe while resending: {:?}",
                p.t
            );
        }
        resent += out.len();
        s.now += Duration::from_millis(20);
        ack_flight(&mut s, &out);
        assert!(resent < 100);
        big |= s.c.snd_nxt().before(max) && s.c.cwnd() >= 11 * mss;
    }
    assert!(big, "cwnd never reached 11 segments during the resend");
}

/// RFC 3522 §3.2: Eifel judges only the first ACK after a timeout. A
/// connection whose timestamp clock is past 2^31 (its TSval offset comes
/// from the ISS) takes the ACKs of its data as any other: no spurious
/// timeout counted, nothing restored.
#[test]
fn r3522_no_eifel_verdict_without_a_timeout_whatever_the_timestamps() {
    let cfg = Config {
        timestamps: true,
        ..script::cfg()
    };
    let mut s = Sut::new(cfg);
    // The TSval offset is the ISS rotated left by 13: 2^31 here.
    let iss = tcpstate::SeqNum(0x0004_0000);
    s.app(|c, now| c.connect(now, iss).unwrap());
    let syn = s.out();
    let tsv = syn[0].t.options.timestamps.expect("offered").val;
    assert!(tsv >= 1 << 31, "{tsv:#x}");
    s.peer_syn_opts = peer_echo(tsv);
    s.now += tcpstate::Duration::from_millis(10);
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    assert!(s.c.timestamps_enabled());
    for _ in 0..3 {
        assert_eq!(s.send(&[1; 1000]), 1000);
        let p = s.out();
        let ts = p
            .last()
            .expect("sent")
            .t
            .options
            .timestamps
            .expect("ts")
            .val;
        s.now += tcpstate::Duration::from_millis(10);
        s.seg_opts(ACK, s.peer_nxt, s.c.snd_nxt(), peer_echo(ts), &[]);
    }
    assert_eq!(s.c.snd_una(), s.c.snd_nxt());
    assert_eq!(s.c.stats().spurious_timeouts, 0);
}

/// RFC 9406 §4.2's LOW_CWND: no exit while cwnd is below 16 segments. A
/// peer that acknowledges each segment in four pieces gives a round of 8
/// RTT samples with cwnd well under 16 segments (an initial window of 2):
/// rounds 6 ms slower from the second on leave slow start on, as the
/// increase came below LOW_CWND and later rounds are no slower than it.
/// The same peer later, above 16 segments: the exit as usual.
#[test]
fn r9406_no_exit_below_sixteen_segments_even_with_eight_samples() {
    assert_eq!(
        hystart_exit_split(2, 4, |round| if round >= 1 { 16 } else { 10 }),
        None
    );
    assert_eq!(
        hystart_exit_split(4, 4, |round| if round >= 3 { 16 } else { 10 }),
        Some((3, 108))
    );
}

/// RFC 7323 §4.1 takes an RTT sample from the TSecr of every ACK of new
/// data; `rtt_on_ack` bounds the age of the echo at an hour, so that an
/// echo of a TSval from long ago (a peer that keeps a stale TS.Recent)
/// cannot set an RTO of hours (Linux's own bound, in `tcp_rtt_tsopt_us`,
/// is about 24 days). After an hour of idleness, an ACK 10 ms after the
/// data that echoes a TSval exactly 3,600,000 ms old gives no sample;
/// one 3,599,999 ms old gives one (the first: SRTT is that age).
#[test]
fn r7323_an_echo_an_hour_old_gives_no_rtt_sample() {
    for (age_ms, sampled) in [(3_600_000u32, false), (3_599_999, true)] {
        let cfg = tcpstate::Config {
            timestamps: true,
            ..script::cfg()
        };
        let mut o = TcpOptions::NONE;
        // A SYN,ACK that echoes nothing: no sample from the handshake.
        o.timestamps = Some(tcpstate::wire::Timestamps { val: 1, ecr: 0 });
        let mut s = established_with_peer(cfg, o, tcpstate::Duration::from_millis(10));
        assert_eq!(s.c.srtt(), None);
        s.now += tcpstate::Duration::from_secs(3_600);
        assert_eq!(s.send(&[1u8; 1000]), 1000);
        let p = s.out();
        assert_eq!(p.len(), 1);
        let tsval = p[0].t.options.timestamps.expect("timestamps").val;
        s.now += tcpstate::Duration::from_millis(10);
        // The echo's age at this ACK: 10 ms since the data, and more.
        let ecr = tsval.wrapping_sub(age_ms - 10);
        let acked = s.c.snd_nxt();
        s.seg_opts(ACK, s.peer_nxt, acked, peer_echo(ecr), &[]);
        assert_eq!(s.c.snd_una(), acked);
        let srtt = s.c.srtt().map(|d| d.as_millis());
        let want = sampled.then_some(u128::from(age_ms));
        assert_eq!(srtt, want, "age {age_ms}");
    }
}

// RFC 4821 §7.1, as Linux's `tcp_mtu_probe` (TCP_CA_Open only): no probe
// out of the Open state. A search restarts (the 10-minute reprobe) as a
// flight of 40 segments meets trouble; in each case cwnd is well above
// what is in flight, so that only the state holds the probe back, and
// the probe goes once the trouble is over.

/// Three ACKs above the lost first segment of the flight, each SACKing
/// one more (`sack`) or duplicate (not): what they send.
fn three_duplicate_acks(s: &mut Sut, mss: u32, sack: bool) -> Vec<Pkt> {
    let una = s.c.snd_una();
    let mut sent = Vec::new();
    for k in 1..=3 {
        s.now += Duration::from_millis(1);
        if sack {
            s.ack_sack(una, &[(una.add(mss), una.add((k + 1) * mss))]);
        } else {
            s.seg(ACK, PEER_ISS.add(1), una, &[]);
        }
        sent.extend(s.out());
    }
    sent
}

fn assert_no_probe(s: &Sut, mss: u32, sent: &[Pkt]) {
    let flight = s.c.snd_nxt().dist(s.c.snd_una());
    assert!(
        s.c.cwnd() >= flight + 2 * mss,
        "cwnd {} for a flight of {flight}",
        s.c.cwnd()
    );
    let lens: Vec<usize> = sent.iter().map(|p| p.payload.len()).collect();
    assert!(lens.iter().all(|&l| l <= mss as usize), "a probe: {lens:?}");
}

/// A flight of 40 (SACK as given), the first segment lost: three ACKs
/// start a recovery, a partial ACK (RFC 6582) for all but the last four
/// segments leaves PRR a cwnd far above the flight, and no probe goes
/// until the recovery point is acknowledged; then it does.
fn no_probe_until_the_recovery_ends(sack: bool) {
    let (mut s, mss) = reprobe_due_over_a_flight(false, sack, 40);
    let una = s.c.snd_una();
    let mut sent = three_duplicate_acks(&mut s, mss, sack);
    assert_eq!(s.c.stats().recoveries, 1, "three ACKs, sack {sack}");
    let recover = s.c.snd_nxt();
    s.now += Duration::from_millis(20);
    s.seg(ACK, PEER_ISS.add(1), una.add(36 * mss), &[]);
    sent.extend(s.out());
    assert_no_probe(&s, mss, &sent);
    s.now += Duration::from_millis(20);
    s.seg(ACK, PEER_ISS.add(1), recover, &[]);
    assert!(
        until_probe(&mut s).is_some(),
        "the probe once the recovery is over"
    );
}

/// Disorder: the duplicate ACKs before the third send new segments
/// (limited transmit, RFC 3042), of the send MSS; then NewReno's
/// recovery.
#[test]
fn r4821_no_probe_in_limited_transmit_or_newreno_recovery() {
    no_probe_until_the_recovery_ends(false);
}

/// With SACK: the partial ACK covers all the SACKed data, so after it
/// nothing is SACKed and no duplicate ACK is counted: only the recovery
/// holds the probe back.
#[test]
fn r4821_no_probe_in_sack_recovery() {
    no_probe_until_the_recovery_ends(true);
}
