//! Loss recovery, congestion control and the remaining timers (issue 6):
//! SACK (RFC 2018, RFC 2883, RFC 6675), NewReno (RFC 5681, RFC 6582),
//! tail loss probes (RFC 8985 §7), Eifel (RFC 3522), ECN (RFC 3168),
//! CUBIC (RFC 9438), IW10 (RFC 6928), restart after idle (RFC 5681 §4.1),
//! keep-alive (RFC 1122 §4.2.3.6), user timeout (RFC 5482), SWS
//! avoidance (RFC 9293 §3.8.6.2).
mod common;
mod script;

use script::*;
use tcpstate::connection::congestion::Algorithm;
use tcpstate::wire::{SackBlocks, TcpOptions};
use tcpstate::{CloseReason, Config, Duration, SeqNum, State};

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

/// ESTABLISHED (active open) with SACK negotiated, no timestamps.
fn established_sack(cfg: Config) -> Sut {
    let opts = TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    let s = established_with_peer(cfg, opts, Duration::ZERO);
    assert!(s.c.sack_enabled());
    s
}

/// ESTABLISHED (active open, no options) with the given buffer sizes.
fn established_buffers(rx: usize, tx: usize) -> Sut {
    let mut s = Sut::with_buffers(cfg(), rx, tx);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s
}

fn sack_cfg() -> Config {
    Config {
        sack: true,
        ..cfg()
    }
}

// RFC 2018 §4: the first block holds the segment that triggered the ACK;
// RFC 2883 §4: a duplicate is reported first as a D-SACK block.
#[test]
fn r2018_sack_blocks_most_recent_first_and_dsack() {
    let mut s = established_sack(sack_cfg());
    let base = PEER_ISS.add(1);
    s.seg(ACK, base.add(1000), ISS.add(1), &[1; 100]);
    let p = s.expect_ack();
    assert_eq!(
        p.t.options.sack.as_slice(),
        &[(base.add(1000), base.add(1100))]
    );
    s.seg(ACK, base.add(3000), ISS.add(1), &[2; 100]);
    let p = s.expect_ack();
    assert_eq!(
        p.t.options.sack.as_slice(),
        &[
            (base.add(3000), base.add(3100)),
            (base.add(1000), base.add(1100))
        ]
    );
    // Fill the first hole: the cumulative ACK moves, one block is left.
    s.seg(ACK, base, ISS.add(1), &[0; 1000]);
    let p = s.expect_ack();
    assert_eq!(p.t.ack, base.add(1100));
    assert_eq!(
        p.t.options.sack.as_slice(),
        &[(base.add(3000), base.add(3100))]
    );
    // A duplicate of old data: D-SACK first.
    s.seg(ACK, base, ISS.add(1), &[0; 100]);
    let p = s.expect_ack();
    assert_eq!(p.t.options.sack.as_slice()[0], (base, base.add(100)));
}

/// Sends `n` full segments from an ESTABLISHED SACK connection and returns
/// their sequence numbers.
fn send_segments(s: &mut Sut, n: usize) -> Vec<SeqNum> {
    let mss = s.c.effective_mss() as usize;
    assert_eq!(s.send(&vec![7u8; n * mss]), n * mss);
    let out = s.out();
    assert_eq!(out.len(), n, "IW allows {n} segments");
    out.iter().map(|p| p.seq()).collect()
}

// RFC 9293 §3.7.1 (MUST-16) with RFC 2018 §3: a data segment that
// carries a SACK block holds the effective MSS less the block's bytes,
// exactly: two NOPs, kind, length and 8 bytes a block.
#[test]
fn must_16_a_data_segment_with_a_sack_block_carries_12_bytes_less() {
    let mut s = established_sack(sack_cfg());
    let mss = s.c.effective_mss() as u32;
    // A segment from the peer out of order: our segments report it.
    s.seg(ACK, PEER_ISS.add(101), ISS.add(1), &[1u8; 100]);
    let _ = s.out();
    s.send(&vec![7u8; 2 * mss as usize]);
    let out = s.out();
    assert_eq!(out[0].t.options.sack.len(), 1, "{out:#?}");
    assert_eq!(out[0].payload.len() as u32, mss - 12);
}

// RFC 6675 §4 NextSeg (rule 1) with RFC 2018's byte ranges: a hole that
// ends inside a segment is resent up to the SACKed bytes, no further.
#[test]
fn r6675_a_hole_shorter_than_a_segment_is_resent_alone() {
    let mut s = established_sack(sack_cfg());
    let seqs = send_segments(&mut s, 8);
    let mss = s.c.effective_mss() as u32;
    let una = seqs[0];
    let m = |k: u32| una.add(mss * k);
    // Segment 0 and the first half of 1 are lost; the rest arrives.
    let half = m(1).add(mss / 2);
    for k in 3..=5 {
        s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&[(half, m(k))]), &[]);
    }
    let mut resent = Vec::new();
    for k in 6..=8 {
        resent.extend(s.out().iter().map(|p| (p.seq(), p.t.len as u32)));
        s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&[(half, m(k))]), &[]);
    }
    assert_eq!(resent[..2], [(una, mss), (m(1), mss / 2)], "{resent:?}");
}

// RFC 6675 §5: with the first segment lost and the rest SACKed, exactly the
// hole is retransmitted, not the SACKed data.
#[test]
fn r6675_retransmits_only_the_hole() {
    let mut s = established_sack(sack_cfg());
    let seqs = send_segments(&mut s, 8);
    let mss = s.c.effective_mss() as u32;
    let una = seqs[0];
    let peer = PEER_ISS.add(1);
    // Segments 0 and 3 are lost; the peer SACKs what arrives.
    let m = |k: u32| una.add(mss * k);
    for blocks in [
        vec![(m(1), m(2))],
        vec![(m(1), m(3))],
        vec![(m(4), m(5)), (m(1), m(3))],
    ] {
        s.seg_opts(ACK, peer, una, sack_opts(&blocks), &[]);
    }
    let out = s.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].seq(), una);
    assert_eq!(out[0].t.len as u32, mss);
    assert_eq!(s.c.stats().recoveries, 1);
    // More SACKs: the second hole is resent once, SACKed data never.
    s.seg_opts(
        ACK,
        peer,
        una,
        sack_opts(&[(m(4), m(8)), (m(1), m(3))]),
        &[],
    );
    let out = s.out();
    let resent: Vec<_> = out.iter().map(|p| p.seq()).collect();
    assert_eq!(resent, vec![m(3)], "{out:#?}");
    s.seg_opts(
        ACK,
        peer,
        una,
        sack_opts(&[(m(4), m(8)), (m(1), m(3))]),
        &[],
    );
    s.silent();
    // The cumulative ACK of everything ends recovery.
    s.seg(ACK, peer, una.add(8 * mss), &[]);
    assert_eq!(s.c.snd_una(), una.add(8 * mss));
}

// RFC 5681 §3.2 / RFC 6582: without SACK, three duplicate ACKs retransmit
// the first segment; a partial ACK retransmits the next hole.
#[test]
fn r6582_newreno_partial_ack() {
    let mut s = established_with(cfg());
    let mss = s.c.effective_mss() as usize;
    s.send(&vec![1u8; 6 * mss]);
    let out = s.out();
    assert!(out.len() >= 6);
    let una = out[0].seq();
    let peer = PEER_ISS.add(1);
    for _ in 0..3 {
        s.seg(ACK, peer, una, &[]);
    }
    let out = s.out();
    assert_eq!(out[0].seq(), una, "fast retransmit of SND.UNA");
    // As Linux's tcp_info shows it: TCP_CA_Recovery, and without SACK one
    // segment taken as lost (tcp_newreno_mark_lost marks the head).
    let i = s.c.info(s.now);
    assert_eq!((i.ca_state, i.lost), (3, 1), "TCP_CA_Recovery, lost_out 1");
    // Segments 1 and 3 were lost: the partial ACK covers segment 1..2.
    s.seg(ACK, peer, una.add(2 * mss as u32), &[]);
    let out = s.out();
    assert_eq!(
        out[0].seq(),
        una.add(2 * mss as u32),
        "partial ACK: next hole"
    );
}

// RFC 8985 §7: with SACK and an RTT sample, a tail loss is probed after
// about 2*SRTT, long before the RTO.
#[test]
fn r8985_tail_loss_probe_before_rto() {
    let mut c = sack_cfg();
    c.rto_min = Duration::from_millis(200);
    let mut s = established_sack(c);
    let mss = s.c.effective_mss() as u32;
    // One round trip of 10 ms to get SRTT.
    s.send(&[1u8; 100]);
    let p = s.out();
    assert_eq!(p.len(), 1);
    s.now += Duration::from_millis(10);
    s.peer(ACK, &[]);
    assert!(s.c.srtt().is_some());
    // Two segments, no ACK at all.
    s.send(&vec![2u8; 2 * mss as usize]);
    assert_eq!(s.out().len(), 2);
    let sent_at = s.now;
    let d = s.c.deadline().unwrap();
    assert!(
        d - sent_at < Duration::from_millis(100),
        "PTO {:?}",
        d - sent_at
    );
    s.fire();
    let out = s.out();
    assert_eq!(out.len(), 1, "one probe");
    assert_eq!(
        out[0].seq(),
        ISS.add(1 + 100 + mss),
        "the last segment again"
    );
    assert_eq!(s.c.stats().loss_probes, 1);
    assert_eq!(s.c.stats().timeouts, 0);
}

/// A tail loss probed (RFC 8985 §7.3): the last segment of two, sent
/// again by the PTO. Returns the connection, cwnd before the probe, and
/// the probe's end (TLP.end_seq).
fn probed_tail() -> (Sut, u32, SeqNum) {
    let (mut s, mss) = tlp_ready(0xffff);
    s.send(&vec![2u8; 2 * mss as usize]);
    assert_eq!(s.out().len(), 2);
    let cwnd = s.c.cwnd();
    s.fire();
    let probe = s.out();
    assert_eq!(probe.len(), 1);
    let end = probe[0].seq().add(probe[0].payload.len() as u32);
    assert_eq!(end, s.c.snd_nxt(), "the last segment again");
    assert_eq!(s.c.stats().loss_probes, 1);
    (s, cwnd, end)
}

/// New data and its ACK after the probe's episode.
fn more_data_acked(s: &mut Sut, opts: TcpOptions) {
    s.now += Duration::from_millis(10);
    s.send(&[3u8; 500]);
    assert_eq!(s.out().len(), 1);
    s.now += Duration::from_millis(10);
    let ack = s.c.snd_nxt();
    s.seg_opts(ACK, s.peer_nxt, ack, opts, &[]);
}

// R8985-4 (RFC 8985 §7.4): the probe's retransmission is acknowledged and
// no D-SACK says its original arrived too: the probe repaired a real loss,
// and congestion control reduces the window once, when an ACK passes the
// probe (Linux `tcp_process_tlp_ack`: TCP_CA_CWR, cwnd = ssthresh).
#[test]
fn r8985_tlp_repaired_loss_reduces_cwnd() {
    let (mut s, cwnd, end) = probed_tail();
    s.now += Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, end, TcpOptions::NONE, &[]);
    // An ACK of exactly the probe waits for a D-SACK: slow start goes on.
    let grown = s.c.cwnd();
    assert!(grown >= cwnd, "{cwnd} -> {grown}");
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(
        s.c.cwnd() < grown,
        "reduced: {} before, {} now",
        grown,
        s.c.cwnd()
    );
    // cwnd = ssthresh, the multiplicative decrease (at most 0.7 x).
    assert!(s.c.cwnd() * 10 <= grown * 7 + 10 * s.c.effective_mss() as u32);
    let info = s.c.info(s.now);
    assert!(info.snd_cwnd <= info.snd_ssthresh, "{info:?}");
    assert_eq!(s.c.stats().recoveries, 0);
    assert_eq!(s.c.stats().timeouts, 0);
    // Once: the next ACKs grow the window again.
    let reduced = s.c.cwnd();
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(s.c.cwnd() >= reduced);
}

// R8985-4 (RFC 8985 §7.4; RFC 2883): a D-SACK of the probe says its
// original arrived too: no loss, no reduction.
#[test]
fn r8985_tlp_dsack_means_no_loss() {
    let (mut s, cwnd, end) = probed_tail();
    let mss = s.c.effective_mss() as u32;
    s.now += Duration::from_millis(10);
    let dsack = sack_opts(&[(end.sub(mss), end)]);
    s.seg_opts(ACK, s.peer_nxt, end, dsack, &[]);
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(s.c.cwnd() >= cwnd, "{} before, {} now", cwnd, s.c.cwnd());
    // The same D-SACK on a duplicate ACK after the probe's ACK: also none.
    let (mut s, cwnd, end) = probed_tail();
    s.now += Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, end, TcpOptions::NONE, &[]);
    s.seg_opts(ACK, s.peer_nxt, end, sack_opts(&[(end.sub(mss), end)]), &[]);
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(s.c.cwnd() >= cwnd, "{} before, {} now", cwnd, s.c.cwnd());
}

// R8985-4 (RFC 8985 §7.4; Linux `tcp_process_tlp_ack`): a pure duplicate
// ACK of the probe's end says as much as a D-SACK would (the probe and its
// original both arrived), from a peer that sends none: the episode ends,
// no reduction. And a D-SACK of the probe ends it on any duplicate ACK,
// one that carries data too.
#[test]
fn r8985_tlp_a_pure_duplicate_ack_means_no_loss() {
    let (mut s, cwnd, end) = probed_tail();
    s.now += Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, end, TcpOptions::NONE, &[]);
    s.seg_opts(ACK, s.peer_nxt, end, TcpOptions::NONE, &[]);
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(s.c.cwnd() >= cwnd, "{} before, {} now", cwnd, s.c.cwnd());
    let (mut s, cwnd, end) = probed_tail();
    let mss = s.c.effective_mss() as u32;
    s.now += Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, end, TcpOptions::NONE, &[]);
    let dsack = sack_opts(&[(end.sub(mss), end)]);
    s.seg_opts(ACK, s.peer_nxt, end, dsack, b"x");
    s.peer_nxt = s.peer_nxt.add(1);
    s.out();
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(s.c.cwnd() >= cwnd, "{} before, {} now", cwnd, s.c.cwnd());
}

// R8985-4 (RFC 8985 §7.4.2): only a duplicate ACK at or above the probe's
// end (TLP.end_seq) can say that the probe and its original both arrived;
// one below it (a hole before the tail) says nothing of the probe, and the
// episode goes on: the ACK that later covers the probe still reduces cwnd.
#[test]
fn r8985_tlp_a_duplicate_ack_below_the_probe_says_nothing() {
    let (mut s, _, end) = probed_tail();
    let una = s.c.snd_una();
    assert!(una.before(end));
    s.now += Duration::from_millis(10);
    s.seg_opts(ACK, s.peer_nxt, una, TcpOptions::NONE, &[]);
    s.now += Duration::from_millis(1);
    s.seg_opts(ACK, s.peer_nxt, end, TcpOptions::NONE, &[]);
    let grown = s.c.cwnd();
    more_data_acked(&mut s, TcpOptions::NONE);
    assert!(
        s.c.cwnd() < grown,
        "reduced: {} before, {} now",
        grown,
        s.c.cwnd()
    );
}

// RFC 3522: a timeout whose original segment is acknowledged (TSecr older
// than the retransmission) is undone.
#[test]
fn r3522_eifel_undoes_a_spurious_timeout() {
    let mut p = common::Pair::open(Config::linux(), 65536, 65536);
    let now = p.now;
    let _ = p.a.send(now, &[5u8; 20_000]).unwrap();
    p.run_for(Duration::from_millis(100));
    let cwnd_before = p.a.cwnd();
    // A delay spike much longer than the RTO.
    p.delay = Duration::from_secs(2);
    let now = p.now;
    let _ = p.a.send(now, &[6u8; 1000]).unwrap();
    p.run_for(Duration::from_secs(10));
    let st = p.a.stats();
    assert!(st.timeouts >= 1, "{st:?}");
    assert_eq!(st.spurious_timeouts, 1, "{st:?}");
    assert!(p.a.cwnd() >= cwnd_before.min(p.a.cwnd()), "cwnd restored");
    assert!(
        p.a.cwnd() > p.a.effective_mss() as u32,
        "not left at the loss window"
    );
}

// RFC 3168 §6.1.1: ECN is negotiated only when both sides ask; CE marks
// make the receiver echo ECE until CWR, and the sender reduces once.
#[test]
fn r3168_ecn_negotiation_and_reaction() {
    let on = Config {
        ecn: true,
        ..Config::linux()
    };
    let mut p = common::Pair::new(
        common::conn(on.clone(), 65536, 65536),
        common::conn(on.clone(), 65536, 65536),
    );
    p.app_b(|c, now| c.listen(now, SeqNum(1)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(2)).unwrap());
    p.run_for(Duration::from_millis(50));
    assert!(p.a.ecn_enabled() && p.b.ecn_enabled());
    // Off on both sides, or on one side only (§6.1.1: an ECN-setup SYN
    // and an ECN-setup SYN-ACK both needed): not negotiated.
    let mut q = common::Pair::open(Config::linux(), 4096, 4096);
    q.run_for(Duration::from_millis(10));
    assert!(!q.a.ecn_enabled());
    for a_on in [true, false] {
        let (ca, cb) = if a_on {
            (on.clone(), Config::linux())
        } else {
            (Config::linux(), on.clone())
        };
        let mut q = common::Pair::new(common::conn(ca, 4096, 4096), common::conn(cb, 4096, 4096));
        q.app_b(|c, now| c.listen(now, SeqNum(1)).unwrap());
        q.app_a(|c, now| c.connect(now, SeqNum(2)).unwrap());
        q.run_for(Duration::from_millis(50));
        assert_eq!(q.a.state(), tcpstate::State::Established);
        assert!(
            !q.a.ecn_enabled() && !q.b.ecn_enabled(),
            "on at A only: {a_on}"
        );
    }
    // Data from A is ECT; B sees CE once.
    let now = p.now;
    let _ = p.a.send(now, &[1u8; 3000]).unwrap();
    let out = common::drain(&mut p.a, now);
    assert!(out.iter().all(|x| x.t.ect), "new data is ECT(0)");
    let now = now + Duration::from_millis(5);
    let _ = p.b.on_segment_ecn(now, &out[0].seg(), true);
    let acks = common::drain(&mut p.b, now);
    assert!(
        acks.iter()
            .all(|x| x.t.flags.contains(tcpstate::Flags::ECE)),
        "{acks:#?}"
    );
    let cwnd = p.a.cwnd();
    let _ =
        p.a.on_segment(now + Duration::from_millis(5), &acks[0].seg());
    assert!(p.a.cwnd() < cwnd, "cwnd reduced on ECE");
    assert_eq!(p.a.stats().ecn_reductions, 1);
    // The next new data carries CWR, which stops B's ECE.
    let now = now + Duration::from_millis(6);
    let _ = p.a.send(now, &[2u8; 2000]).unwrap();
    let out = common::drain(&mut p.a, now);
    assert!(
        out.iter().any(|x| x.t.flags.contains(tcpstate::Flags::CWR)),
        "{out:#?}"
    );
    for x in &out {
        let _ = p.b.on_segment(now + Duration::from_millis(5), &x.seg());
    }
    let acks = common::drain(&mut p.b, now + Duration::from_millis(5));
    assert!(
        acks.iter()
            .all(|x| !x.t.flags.contains(tcpstate::Flags::ECE)),
        "{acks:#?}"
    );
}

// RFC 6928: the initial window is ten segments; RFC 9438: linux() uses CUBIC.
#[test]
fn r6928_initial_window_and_cubic_default() {
    assert_eq!(Config::linux().congestion, Algorithm::Cubic);
    assert_eq!(Config::rfc9293().congestion, Algorithm::NewReno);
    let mut s = Sut::with_buffers(sack_cfg(), 4096, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = TcpOptions {
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.send(&vec![0u8; 20 * 1000]);
    assert_eq!(s.out().len(), 10);
}

// RFC 3465 §2.2 byte counting in slow start: one stretch ACK for all ten
// segments of the initial window (a receiver that coalesces, GRO) grows
// cwnd by at most two segments with NewReno (L = 2), by all ten with CUBIC
// until the first congestion event (Linux's `tcp_slow_start`).
#[test]
fn r3465_slow_start_and_stretch_acks() {
    for (cc, grows) in [(Algorithm::NewReno, 2), (Algorithm::Cubic, 10)] {
        let mut s = Sut::with_buffers(
            Config {
                congestion: cc,
                ..cfg()
            },
            4096,
            65536,
        );
        s.app(|c, now| c.connect(now, ISS).unwrap());
        s.expect(SYN, ISS, SeqNum(0));
        s.peer_syn_opts = TcpOptions {
            mss: Some(1000),
            ..TcpOptions::NONE
        };
        s.peer(f(SYN, ACK), &[]);
        s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
        s.send(&vec![0u8; 40 * 1000]);
        assert_eq!(s.out().len(), 10);
        let before = s.c.cwnd();
        s.peer_ack(ACK, ISS.add(1 + 10 * 1000), &[]);
        assert_eq!(s.c.cwnd(), before + grows * 1000, "{cc:?}");
    }
}

// RFC 5681 §4.1: after an idle period longer than the RTO, the window
// restarts from the initial window.
#[test]
fn r5681_restart_after_idle() {
    let mut p = common::Pair::open(Config::linux(), 1 << 20, 1 << 20);
    let now = p.now;
    let _ = p.a.send(now, &vec![1u8; 500_000]).unwrap();
    p.run_for(Duration::from_secs(2));
    let grown = p.a.cwnd();
    let iw = 10 * p.a.effective_mss() as u32;
    assert!(grown > iw, "cwnd grew to {grown}");
    p.run_for(Duration::from_secs(5));
    let now = p.now;
    let _ = p.a.send(now, &vec![1u8; 100_000]).unwrap();
    let out = common::drain(&mut p.a, now);

    assert_eq!(out.len(), 10, "restart window");
}

// RFC 1122 §4.2.3.6 / RFC 9293 §3.8.4: keep-alive is off by default; when on,
// a probe (SEG.SEQ = SND.NXT-1, no data) follows the idle time; an answer
// keeps the connection; `probes` unanswered ones end it with TimedOut.
#[test]
fn r1122_keepalive() {
    let s = established();
    assert!(
        s.c.deadline().is_none(),
        "no keep-alive timer by default (MUST-25)"
    );
    let ka = tcpstate::Keepalive {
        idle: Duration::from_secs(7200),
        interval: Duration::from_secs(75),
        probes: 3,
    };
    let mut s = established_with(Config {
        keepalive: Some(ka),
        ..cfg()
    });
    let t0 = s.now;
    s.fire();
    assert_eq!(s.now - t0, Duration::from_secs(7200));
    let p = s.expect(ACK, ISS, PEER_ISS.add(1));
    assert_eq!(p.t.len, 0, "SHLD-12: no data");
    // Answered: still up, the idle timer restarts.
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1), &[]);
    s.silent();
    let t1 = s.now;
    s.fire();
    assert_eq!(s.now - t1, Duration::from_secs(7200));
    s.expect(ACK, ISS, PEER_ISS.add(1));
    // Unanswered: probes every interval, then TimedOut (MUST-29: one lost probe is not fatal).
    s.fire();
    s.expect(ACK, ISS, PEER_ISS.add(1));
    assert_eq!(s.c.state(), State::Established);
    s.fire();
    s.expect(ACK, ISS, PEER_ISS.add(1));
    s.fire();
    s.closed_by(CloseReason::TimedOut);
}

// RFC 5482 / Linux TCP_USER_TIMEOUT: unacknowledged data for longer than the
// user timeout aborts, before retries2 would.
#[test]
fn r5482_user_timeout() {
    let mut s = established_with(Config {
        user_timeout: Some(Duration::from_secs(5)),
        ..cfg()
    });
    let t0 = s.now;
    s.send(b"hello");
    assert_eq!(s.out().len(), 1);
    s.run_to_closed(Duration::from_secs(60));
    s.closed_by(CloseReason::UserTimeout);
    let took = s.now - t0;
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

// RFC 9293 §3.8.6.2.2 (MUST-39): reading a byte at a time from a full buffer
// does not open the window in tiny steps; a window update goes out once
// min(RCV.BUFF/2, MSS) is free.
#[test]
fn r9293_receiver_sws_avoidance_and_window_update() {
    let mut s = established_buffers(4096, 4096);
    // Fill the receive buffer.
    for _ in 0..4 {
        s.peer(ACK, &[9u8; 1024]);
    }
    let acks = s.out();
    let last = acks.last().unwrap();
    assert_eq!(last.t.window, 0, "zero window when full");
    // Read one byte at a time: no window update below the threshold.
    for _ in 0..100 {
        s.read(1);
        s.silent();
    }
    // Read up to the threshold: a window update.
    s.read(1500);
    let p = s.expect_ack();
    assert!(p.t.window as usize >= 1536, "window {}", p.t.window);
}

// RFC 9293 §3.8.6.2.2: the threshold is min(RCV.BUFF/2, Eff.snd.MSS): in
// a buffer smaller than two segments, half the buffer freed is enough.
#[test]
fn r9293_3_8_6_2_2_a_small_buffer_updates_at_half_of_it() {
    let mut s = established_buffers(1024, 4096);
    s.peer(ACK, &[9u8; 1024]);
    s.fire();
    assert_eq!(s.expect_ack().t.window, 0, "zero window when full");
    s.read(500);
    s.silent();
    // 600 free: past half the buffer (512), below the MSS (1460).
    s.read(100);
    let p = s.expect_ack();
    assert_eq!(p.t.window, 600);
}

// RFC 9293 §3.8.6.2.2: a read sends a window update only when it widens
// the window we can offer. Without window scaling the field says at most
// 65 535: with a 128 KiB buffer the offer is that before a read and after
// it, so reading the one segment in (its ACK delayed) sends nothing now;
// the delayed ACK says the same window.
#[test]
fn r9293_3_8_6_2_2_a_read_that_cannot_widen_the_offer_sends_nothing() {
    let mut s = established_buffers(1 << 17, 4096);
    s.peer(ACK, &[9u8; 1460]);
    s.silent();
    s.read(1460);
    s.silent();
    s.fire();
    assert_eq!(s.expect_ack().t.window, 65_535);
}

// RFC 9293 §3.8.6.2.2 with window scaling (RFC 7323 §2.3): the update is
// decided on the window the field can say, 0xffff << Rcv.Wind.Shift, not
// on 0xffff. A 128 KiB buffer (shift 2) with 100 KiB unread offers 28 KiB;
// reading 20 000 bytes more than an MSS's worth is a window update at once.
#[test]
fn r7323_2_3_a_scaled_window_update_after_a_read() {
    let cfg = Config {
        window_scaling: true,
        ..cfg()
    };
    let mut s = Sut::with_buffers(cfg, 1 << 17, 4096);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer_syn_opts = tcpstate::wire::TcpOptions {
        window_scale: Some(0),
        ..tcpstate::wire::TcpOptions::NONE
    };
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    for _ in 0..100 {
        s.peer(ACK, &[9u8; 1024]);
    }
    let acks = s.out();
    assert_eq!(acks.last().unwrap().ack(), PEER_ISS.add(1 + 102_400));
    s.read(20_000);
    let p = s.expect_ack();
    assert_eq!(u32::from(p.t.window) << 2, (1 << 17) - 102_400 + 20_000);
}

// RFC 5681 §4.1: after an idle period longer than the RTO the window
// restarts at the initial window, only with `slow_start_after_idle`
// (Linux `tcp_slow_start_after_idle`); without it the grown window is
// kept.
#[test]
fn r5681_4_1_restart_after_idle_only_when_configured() {
    for restart in [false, true] {
        let mut s = established_with(Config {
            slow_start_after_idle: restart,
            initial_window: 2,
            ..cfg()
        });
        s.send(&[1u8; 2 * 536]);
        assert_eq!(s.out().len(), 2);
        s.now += Duration::from_millis(10);
        s.peer(ACK, &[]);
        let grown = s.c.cwnd();
        assert!(grown > 2 * 536, "slow start grew cwnd: {grown}");
        s.now += Duration::from_secs(10);
        s.send(&[2u8; 10 * 536]);
        let burst = s.out().len() as u32;
        let want = if restart { 2 } else { grown / 536 };
        assert_eq!(burst, want, "restart {restart}");
    }
}

// RFC 9293 §3.8.6.2.1 (MUST-38): with Nagle on, a sub-MSS tail waits while
// data is unacknowledged, and goes out when the ACK comes.
#[test]
fn r9293_nagle_holds_small_segments() {
    let mut s = established();
    s.send(b"a");
    let p = s.out();
    assert_eq!(p.len(), 1);
    s.send(b"b");
    s.send(b"c");
    s.silent();
    s.peer(ACK, &[]);
    let p = s.out();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].payload, b"bc");
}

// RFC 9293 §3.8.6.2.1 (sender SWS avoidance, MUST-38): with nothing in
// flight, a segment goes out when it fills at least half the largest
// window the peer has offered (Fs = 1/2), even below the MSS and short
// of the queue's end: a peer whose window stays below one MSS still gets
// data, a window at a time.
#[test]
fn r9293_sws_a_segment_of_half_the_max_window_goes_when_idle() {
    let mut s = syn_sent();
    s.peer_wnd = 400;
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert!(s.c.effective_mss() > 400, "a window below one MSS");
    assert_eq!(s.send(&[7u8; 3000]), 3000);
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].payload.len(), 400);
    // Acknowledged, with the window open again: the next 400 go at once.
    s.peer_ack(ACK, ISS.add(401), &[]);
    let p = s.out();
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].seq(), ISS.add(401));
    assert_eq!(p[0].payload.len(), 400);
}

// RFC 8985 §6.2 (RACK's rule, with send order told by sequence): when data
// sent after a retransmission is SACKed and the retransmitted bytes are
// still missing, the retransmission was lost: it is sent again at once,
// without waiting for the RTO.
#[test]
fn r8985_lost_retransmission_resent_without_rto() {
    let mut s = established_sack(sack_cfg());
    let seqs = send_segments(&mut s, 6);
    let mss = s.c.effective_mss() as u32;
    let una = seqs[0];
    let peer = PEER_ISS.add(1);
    let m = |k: u32| una.add(mss * k);
    for blocks in [vec![(m(1), m(2))], vec![(m(1), m(3))], vec![(m(1), m(4))]] {
        s.seg_opts(ACK, peer, una, sack_opts(&blocks), &[]);
    }
    let out = s.out();
    assert_eq!(out[0].seq(), una, "first retransmission");
    // New data goes out after the retransmission.
    s.send(&vec![8u8; mss as usize]);
    s.seg_opts(ACK, peer, una, sack_opts(&[(m(1), m(5))]), &[]);
    let out = s.out();
    assert_eq!(out.len(), 1, "{out:#?} {:?} cwnd {}", s.c, s.c.cwnd());
    assert_eq!(out[0].seq(), m(6), "new data");
    // The peer SACKs the new data (sent after the retransmission), but the
    // retransmitted first segment is still missing: it was lost too.
    s.seg_opts(ACK, peer, una, sack_opts(&[(m(1), m(7))]), &[]);
    let out = s.out();
    assert!(
        out.iter().any(|p| p.seq() == una),
        "second retransmission {out:#?}"
    );
    assert_eq!(s.c.stats().lost_retransmits, 1);
    assert_eq!(s.c.stats().timeouts, 0);
}

// RFC 9293 §3.9.2.2: soft ICMP errors never abort (MUST-56), source quench
// is ignored (MUST-55), a smaller path MTU lowers the send MSS (SHLD-6).
#[test]
fn r9293_icmp_soft_errors_and_pmtu() {
    use tcpstate::IcmpError;
    let mut s = established();
    for e in [
        IcmpError::Unreachable { code: 0 },
        IcmpError::Unreachable { code: 1 },
        IcmpError::Unreachable { code: 3 },
        IcmpError::TimeExceeded,
        IcmpError::ParameterProblem,
    ] {
        let a = s.c.on_icmp(s.now, e, 20);
        assert!(a.closed().is_none());
        assert_eq!(s.c.state(), State::Established);
        assert_eq!(s.c.soft_error(), Some(e));
    }
    let before = s.c.soft_error();
    let _ = s.c.on_icmp(s.now, IcmpError::SourceQuench, 20);
    assert_eq!(s.c.soft_error(), before);
    let mss = s.c.effective_mss();
    let _ =
        s.c.on_icmp(s.now, IcmpError::FragmentationNeeded { mtu: 1000 }, 20);
    assert_eq!(s.c.effective_mss(), 960.min(mss));
    s.send(&[1u8; 3000]);
    let out = s.out();
    assert!(out.iter().all(|p| p.t.len <= 960), "{out:#?}");
    // A bogus tiny MTU cannot push the MSS below the floor.
    let _ =
        s.c.on_icmp(s.now, IcmpError::FragmentationNeeded { mtu: 10 }, 20);
    assert!(s.c.effective_mss() >= 48);
}

// RFC 9293 §3.10.7.4 (SHLD-31) with bounded reassembly: when every
// out-of-order range slot is in use, further out-of-order segments are
// dropped, but in-order data is always taken (a full assembler once
// deadlocked a connection under heavy queue drops).
#[test]
fn bounded_reassembly_never_blocks_in_order_data() {
    let mut s = established_buffers(65536, 4096);
    let base = PEER_ISS.add(1);
    // Nine separate out-of-order segments: the ninth has no slot.
    for k in 1..=9u32 {
        s.seg(ACK, base.add(k * 200), ISS.add(1), &[k as u8; 100]);
    }
    let _ = s.out();
    assert_eq!(s.c.stats().dropped, 1, "the ninth range was dropped");
    // The in-order segment still gets in, and joins the first range.
    s.seg(ACK, base, ISS.add(1), &[0u8; 200]);
    let p = s.out();
    assert_eq!(p.last().unwrap().ack(), base.add(300));
    assert_eq!(s.c.recv_queue(), 300);
    // Filling the rest of the holes delivers everything once.
    for k in 1..=8u32 {
        s.seg(ACK, base.add(k * 200 + 100), ISS.add(1), &[0u8; 100]);
    }
    s.seg(ACK, base.add(1800), ISS.add(1), &[9u8; 100]);
    let _ = s.out();
    assert_eq!(s.c.rcv_nxt(), base.add(1900));
    let data = s.read(4096);
    assert_eq!(data.len(), 1900);
    assert_eq!(&data[200..300], &[1u8; 100]);
    assert_eq!(&data[1800..1900], &[9u8; 100]);
}

// The same with all range slots used and the in-order segment touching no
// range: it is committed directly and the ranges shift under it.
#[test]
fn in_order_data_with_a_full_assembler_and_no_adjacent_range() {
    let mut s = established_buffers(65536, 4096);
    let base = PEER_ISS.add(1);
    for k in 1..=8u32 {
        s.seg(ACK, base.add(k * 1000), ISS.add(1), &[k as u8; 100]);
    }
    s.seg(ACK, base, ISS.add(1), &[0u8; 500]);
    let p = s.out();
    assert_eq!(p.last().unwrap().ack(), base.add(500));
    s.seg(ACK, base.add(500), ISS.add(1), &[0u8; 500]);
    let _ = s.out();
    assert_eq!(s.c.rcv_nxt(), base.add(1100));
    assert_eq!(s.read(4096).len(), 1100);
}

// RFC 9293 §3.8.6 SHLD-17 / MUST-37: data in flight past a window the peer
// shut must not time the connection out while the peer answers the probes;
// a peer that falls silent longer than the maximum RTO does end it.
#[test]
fn shld_17_shut_window_with_data_in_flight_stays_up_while_answered() {
    let mut s = established();
    s.send(&[1u8; 2000]);
    let out = s.out();
    assert!(!out.is_empty());
    // The peer takes the first 1000 bytes and shuts its window.
    s.peer_wnd = 0;
    s.seg(ACK, PEER_ISS.add(1), ISS.add(1001), &[]);
    let _ = s.out();
    let end = s.now + Duration::from_secs(3 * 3600);
    let mut probes = 0;
    while s.now < end {
        s.fire();
        for p in s.out() {
            if p.t.len == 0 || p.seq().before(ISS.add(1001)) {
                probes += 1;
            }
            // Every probe or retransmission is answered: still shut.
            s.seg(ACK, PEER_ISS.add(1), ISS.add(1001), &[]);
        }
        assert_eq!(s.c.state(), State::Established, "at {:?}", s.now);
    }
    assert!(probes > 10, "probes {probes}");
    // Now the peer is silent: the connection ends, not before rto_max.
    let silent_from = s.now;
    s.run_to_closed(Duration::from_secs(3600));
    s.closed_by(CloseReason::TimedOut);
    assert!(
        s.now - silent_from >= cfg().rto_max,
        "{:?}",
        s.now - silent_from
    );
}

// RFC 8985 §6: RACK marks a segment lost once a segment sent no earlier has
// been delivered and an RTT plus the reordering window (min RTT / 4) has
// passed, without waiting for three duplicate ACKs or the RTO.
#[test]
fn r8985_rack_detects_loss_with_fewer_than_dupthresh_sacks() {
    // A handshake with a 10 ms round trip: SRTT and the minimum RTT.
    let mut s = syn_sent_with(sack_cfg());
    s.peer_syn_opts = TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(10);
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    let mss = s.c.effective_mss() as u32;
    s.now += Duration::from_millis(1);
    let una = s.c.snd_una();
    s.send(&vec![2u8; 3 * mss as usize]);
    assert_eq!(s.out().len(), 3);
    let sent = s.now;
    // 10 ms later the peer has segments 1 and 2, not 0: two SACKed
    // segments, below DupThresh.
    s.now += Duration::from_millis(10);
    let m = |k: u32| una.add(mss * k);
    s.seg_opts(ACK, PEER_ISS.add(1), una, sack_opts(&[(m(1), m(3))]), &[]);
    assert_eq!(s.c.stats().recoveries, 0, "{:?}", s.c.stats());
    s.silent();
    // The reordering timer: SRTT + min RTT / 4 after the send.
    let d = s.c.timer(tcpstate::Timer::Rack).expect("RACK timer armed");
    assert_eq!(d - sent, Duration::from_micros(12_500));
    s.fire();
    assert_eq!(
        s.now, d,
        "the RACK timer fires before the loss probe and the RTO"
    );
    let out = s.out();
    assert_eq!(out.first().map(|p| p.seq()), Some(una), "{out:#?}");
    assert_eq!(s.c.stats().rack_losses, 1);
    assert_eq!(s.c.stats().recoveries, 1);
    assert_eq!(s.c.stats().timeouts, 0);
    assert_eq!(s.c.stats().loss_probes, 0);
}

// Issue 6: the reassembly queue and the SACK scoreboard have bounds given by
// the configuration (`max_ooo_ranges`, `max_sack_ranges`).
#[test]
fn reassembly_and_scoreboard_bounds_come_from_the_config() {
    let mut s = Sut::with_buffers(
        Config {
            max_ooo_ranges: 2,
            ..cfg()
        },
        65536,
        4096,
    );
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    let base = PEER_ISS.add(1);
    for k in 1..=3u32 {
        s.seg(ACK, base.add(k * 200), ISS.add(1), &[k as u8; 100]);
    }
    let _ = s.out();
    assert_eq!(
        s.c.stats().dropped,
        1,
        "the third range is over the bound of 2"
    );
    // Growing an existing range is still fine.
    s.seg(ACK, base.add(300), ISS.add(1), &[1u8; 100]);
    let _ = s.out();
    assert_eq!(s.c.stats().dropped, 1);

    // Sender side: a scoreboard of one range forgets the others; recovery
    // then resends more but still delivers.
    let mut p = common::Pair::open(
        Config {
            max_sack_ranges: 1,
            ..Config::linux()
        },
        65536,
        65536,
    );
    let mut n = 0u64;
    p.drop = Box::new(move |to_b, pk| {
        n += 1;
        to_b && pk.t.len > 0 && n % 7 == 0
    });
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 13) as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    for _ in 0..100_000 {
        let now = p.now;
        if sent < data.len() {
            sent += p.a.send(now, &data[sent..]).unwrap().len;
        }
        common::read_all(&mut p.b, now, &mut got);
        if got.len() == data.len() {
            break;
        }
        p.run_for(Duration::from_millis(1));
    }
    assert!(got == data);
}

// Issue 7 (W3 memory): with `alloc`, the SACK scoreboard (RFC 6675) and the
// reassembly ranges (RFC 9293 §3.10.7.4) take heap memory only while a hole
// exists: one box each, freed when the hole closes. (A standalone
// connection also holds its packed config, which an Endpoint's connections
// share: `base` below; tests/endpoint.rs checks the shared case.)
#[test]
fn recovery_state_is_on_the_heap_only_while_a_hole_exists() {
    let mut s = established_sack(sack_cfg());
    let boxes = tcpstate::connection::heap_layout();
    let (scoreboard, reassembly, own_cfg) = (boxes[0].1, boxes[1].1, boxes[3].1);
    assert!(scoreboard >= std::mem::size_of::<tcpstate::Assembler>());
    assert_eq!(s.c.heap_bytes(), own_cfg);
    // Nothing rare happened (no drop, no retransmission): no counters box.
    assert_eq!(s.c.stats().dropped + s.c.stats().retransmits, 0);
    let base = PEER_ISS.add(1);
    // Receiver: an out-of-order segment opens a hole.
    s.seg(ACK, base.add(1000), ISS.add(1), &[1; 100]);
    let _ = s.expect_ack();
    assert_eq!(s.c.heap_bytes(), own_cfg + reassembly);
    // In-order data fills it: the box goes.
    s.seg(ACK, base, ISS.add(1), &[0; 1000]);
    assert_eq!(s.expect_ack().t.ack, base.add(1100));
    assert_eq!(s.c.heap_bytes(), own_cfg);
    // In-order data with no hole never allocates.
    s.seg(ACK, base.add(1100), ISS.add(1), &[2; 100]);
    assert_eq!(s.c.heap_bytes(), own_cfg);
    // Sender: SACK blocks fill the scoreboard until the cumulative ACK.
    let peer = base.add(1200);
    let seqs = send_segments(&mut s, 4);
    let mss = s.c.effective_mss() as u32;
    let m = |k: u32| seqs[0].add(mss * k);
    // (A flight sent at one instant keeps its RACK send log in the TCB:
    // the log's box is for flights that span several send times.)
    assert_eq!(s.c.heap_bytes(), own_cfg);
    s.seg_opts(ACK, peer, m(0), sack_opts(&[(m(1), m(2))]), &[]);
    assert_eq!(s.c.heap_bytes(), own_cfg + scoreboard);
    s.seg(ACK, peer, m(4), &[]);
    assert_eq!(s.c.snd_una(), m(4));
    // The scoreboard's box went. The ACK filled the hole at m(0), sent
    // once, below SACKed data: a reordering event (`TcpInfo::reord_seen`,
    // Linux's `tcp_check_sack_reordering`), counted in the uncommon
    // state's box, which stays.
    assert_eq!(s.c.info(s.now).reord_seen, 1);
    assert_eq!(s.c.heap_bytes(), own_cfg + boxes[2].1);
    // A flight sent at two times: the RACK send log's checkpoints go to
    // the heap until it is acknowledged.
    assert_eq!(
        boxes[4].0,
        "RACK send log checkpoints (while a flight spans several send times)"
    );
    send_segments(&mut s, 1);
    s.now += Duration::from_millis(1);
    send_segments(&mut s, 1);
    assert_eq!(s.c.heap_bytes(), own_cfg + boxes[2].1 + boxes[4].1);
    s.seg(ACK, peer, s.c.snd_nxt(), &[]);
    assert_eq!(s.c.heap_bytes(), own_cfg + boxes[2].1);
}

// Issue 17 (W3): a Fast Open cookie request (a SYN without data, RFC
// 7413 §4.1.2) answered by a SYN,ACK puts nothing on the heap either:
// there is no SYN data to count as delivered. (Its SYN with data, all
// acknowledged, does: `Cold::syn_data`.)
#[test]
fn a_fast_open_cookie_request_puts_nothing_on_the_heap() {
    let boxes = tcpstate::connection::heap_layout();
    let (rare, own_cfg) = (boxes[2].1, boxes[3].1);
    for (data, linux) in [(0usize, false), (500, false), (0, true), (500, true)] {
        let mut s = Sut::new(script::preset(linux));
        s.app(|c, now| c.connect_fast_open(now, ISS, 1000).unwrap());
        if data > 0 {
            assert_eq!(s.send(&vec![1u8; data]), data);
        }
        let syn = s.expect(SYN, ISS, SeqNum(0));
        assert_eq!(syn.payload.len(), data);
        s.now += Duration::from_millis(10);
        s.peer(f(SYN, ACK), &[]);
        let _ = s.out();
        assert_eq!(s.c.state(), State::Established);
        let want = if data == 0 { own_cfg } else { own_cfg + rare };
        assert_eq!(
            s.c.heap_bytes(),
            want,
            "{data} bytes on the SYN, linux {linux}"
        );
    }
}

// Issue 17 (W3): the counters of rare events (drops, retransmissions,
// timeouts ...) go to the heap at the first such event, and stay.
#[test]
fn rare_event_counters_are_on_the_heap_only_after_a_rare_event() {
    let mut s = established_sack(sack_cfg());
    let boxes = tcpstate::connection::heap_layout();
    let (rare, own_cfg) = (boxes[2].1, boxes[3].1);
    assert_eq!(boxes[2].0, "uncommon state and rare event counters");
    assert_eq!(s.c.heap_bytes(), own_cfg);
    let base = PEER_ISS.add(1);
    // In-order data and its ACK: counted inline.
    s.seg(ACK, base, ISS.add(1), &[0; 100]);
    let segs_in = s.c.stats().segs_in;
    assert!(segs_in > 0);
    assert_eq!(s.c.heap_bytes(), own_cfg);
    // A segment wholly left of the window is dropped (RFC 9293
    // §3.10.7.4, after its ACK): the first rare event.
    s.seg(ACK, base.sub(5000), ISS.add(1), &[9; 10]);
    assert_eq!(s.c.stats().dropped, 1);
    assert_eq!(s.c.heap_bytes(), own_cfg + rare);
    assert_eq!(s.c.stats().segs_in, segs_in + 1);
}

/// Ten segments in flight (IW10), the first lost; the peer's duplicate
/// ACKs (SACKing the rest when `sack`) are fed one at a time, as they
/// arrive. Returns the data segments sent after each duplicate ACK, the
/// final cwnd and the MSS.
fn prr_episode(sack: bool, cc: Algorithm) -> (Vec<usize>, u32, u32) {
    let (mut s, una) = ten_segments_out(sack, cc);
    let mss = s.c.effective_mss() as u32;
    // More data waits: what goes out is up to cwnd alone.
    assert_eq!(s.send(&[8u8; 20_000]), 20_000);
    assert!(s.out().is_empty());
    let peer = PEER_ISS.add(1);
    let mut per_ack = Vec::new();
    for k in 2..=10u32 {
        let opts = if sack {
            sack_opts(&[(una.add(mss), una.add(k * mss))])
        } else {
            TcpOptions::NONE
        };
        s.seg_opts(ACK, peer, una, opts, &[]);
        per_ack.push(s.out().iter().filter(|p| p.t.len > 0).count());
    }
    (per_ack, s.c.cwnd(), mss)
}

// RFC 6937 (PRR, with RFC 6937bis's SafeACK, as Linux's
// tcp_cwnd_reduction): fast recovery starts with the fast retransmit
// alone, not a burst, and then sends about one segment per segment
// delivered, in proportion ssthresh / RecoverFS, with and without SACK.
#[test]
fn r6937_prr_one_segment_at_a_time() {
    for sack in [true, false] {
        for cc in [Algorithm::NewReno, Algorithm::Cubic] {
            let (per_ack, cwnd, mss) = prr_episode(sack, cc);
            let what = format!("sack {sack}, {cc:?}: {per_ack:?}");
            // Duplicate ACKs 1 and 2: limited transmit (RFC 3042), one
            // new segment each.
            assert_eq!(per_ack[..2], [1, 1], "{what}");
            // The third: the fast retransmit alone.
            assert_eq!(per_ack[2], 1, "{what}");
            // Then never more than one segment per ACK ...
            assert!(per_ack.iter().all(|&n| n <= 1), "{what}");
            // ... and in proportion to what was delivered since the
            // entry: RecoverFS is pipe at the entry (RFC 9937: 8 of the 12
            // in flight, 3 being SACKed and 1 lost), ssthresh beta times
            // cwnd (NewReno 1/2, CUBIC 0.7 of 10), and pipe falls to
            // ssthresh as the recovery ends. In bytes (MSS 1000), each ACK
            // delivering 1000, prr_delivered counting from the entry's
            // 1000: while pipe > ssthresh, sndcnt = CEIL(prr_delivered *
            // ssthresh / RecoverFS) - prr_out (RFC 6937 §3). NewReno
            // (ssthresh 5000): 1250 - 1000 and 1875 - 1000 leave no room
            // for a segment, 2500 - 1000 and 3125 - 2000 one each, 3750 -
            // 3000 none, then pipe is at ssthresh. CUBIC (7000): 1750 -
            // 1000 none; then pipe is at or below ssthresh and PRR-SSRB
            // sends one segment per segment delivered, up to ssthresh.
            let expect = match cc {
                Algorithm::NewReno => [0, 0, 1, 1, 0, 0],
                Algorithm::Cubic => [0, 0, 1, 1, 1, 1],
            };
            assert_eq!(per_ack[3..], expect, "{what}");
            // cwnd never grows in recovery, and ends at ssthresh.
            let ssthresh = match cc {
                Algorithm::NewReno => 5 * mss,
                Algorithm::Cubic => 7 * mss,
            };
            assert_eq!(cwnd, ssthresh, "{what}");
        }
    }
}

// RFC 6675 §5 step 4 with RFC 6937: in recovery, each ACK that lets cwnd
// open (PRR) sends the next hole at once, also when every byte queued has
// been sent once already (nothing new waits). Four segments lost of ten,
// the other six SACKed one by one: the four holes go out one per ACK,
// with no retransmission timeout.
#[test]
fn r6937_holes_go_out_with_no_new_data_queued() {
    let (mut s, una) = ten_segments_out(true, Algorithm::Cubic);
    let mss = s.c.effective_mss() as u32;
    let peer = PEER_ISS.add(1);
    let mut resent = Vec::new();
    for k in 5..=10u32 {
        let blocks = [(una.add(4 * mss), una.add(k * mss))];
        s.seg_opts(ACK, peer, una, sack_opts(&blocks), &[]);
        // The host polls only when told to (Action::Transmit).
        if s.last.transmit() {
            resent.extend(s.out().iter().filter(|p| p.t.len > 0).map(|p| p.seq()));
        }
    }
    let holes: Vec<_> = (0..4).map(|k| una.add(k * mss)).collect();
    assert_eq!(resent, holes);
    assert_eq!(s.c.stats().timeouts, 0);
}

/// A sender (Nagle off) sends 100 bytes (A), `gap` later 100 more (B),
/// and `then` after B gets the ACK of A alone. With SRTT before A.
fn ack_of_the_first_of_two(gap: Duration, then: Duration) -> (Sut, Option<Duration>) {
    let mut c = cfg();
    c.nagle = false;
    let mut s = established_with(c);
    let before = s.c.srtt();
    for (byte, wait) in [(1u8, gap), (2, then)] {
        s.send(&[byte; 100]);
        assert_eq!(s.out().len(), 1);
        s.now += wait;
    }
    let a_end = s.c.snd_una().add(100);
    s.seg(ACK, s.peer_nxt, a_end, &[]);
    (s, before)
}

// RFC 6298 §3 (one segment timed at a time): an ACK of new data that
// does not cover the timed segment leaves it timed; the ACK that covers it
// gives the sample.
#[test]
fn r6298_an_ack_below_the_timed_segment_leaves_it_timed() {
    // A is timed, B is not; A's ACK gives a 10 ms sample.
    let (mut s, _) = ack_of_the_first_of_two(Duration::from_millis(1), Duration::from_millis(9));
    let first = s.c.srtt().unwrap();
    // C is timed; B's ACK (below C) comes, then, 300 ms after C went
    // out, C's.
    let b_end = s.c.snd_una().add(100);
    s.send(&[3u8; 100]);
    assert_eq!(s.out().len(), 1);
    s.now += Duration::from_millis(5);
    s.seg(ACK, s.peer_nxt, b_end, &[]);
    s.now += Duration::from_millis(295);
    s.peer(ACK, &[]);
    // SRTT = 7/8 SRTT + 1/8 R (RFC 6298 §2.3): R = 300 ms moved it.
    let srtt = s.c.srtt().unwrap();
    assert!(
        srtt > first + Duration::from_millis(30),
        "{first:?} -> {srtt:?}"
    );
}

// RFC 6298 §3 (Karn, MUST-18): one segment is timed at a time; a segment
// sent while another is timed does not take its place, so the first one's
// ACK gives a sample (of its own round trip).
#[test]
fn r6298_the_first_timed_segment_stays_timed_while_more_go_out() {
    let (s, before) =
        ack_of_the_first_of_two(Duration::from_millis(100), Duration::from_millis(50));
    let after = s.c.srtt();
    assert_ne!(after, before, "a sample of 150 ms at the first ACK");
    assert!(after.unwrap() > Duration::from_millis(10), "{after:?}");
}

// RFC 5681 §4.1: the restart window applies only after the connection was
// idle *longer* than the RTO. Sending right after a flight drained keeps
// the window, and so does an idle time of exactly the RTO.
#[test]
fn r5681_no_restart_without_an_idle_time_longer_than_the_rto() {
    // Sends what `idle` after the last send lets out of 40 queued segments.
    fn burst_after(idle: impl Fn(Duration) -> Duration) -> usize {
        let mut c = cfg();
        c.nagle = false;
        let mut s = established_with(c);
        let mss = s.c.effective_mss() as usize;
        s.send(&vec![1u8; 10 * mss]);
        assert_eq!(s.out().len(), 10, "the initial window");
        let sent = s.now;
        s.now += Duration::from_millis(10);
        s.peer(ACK, &[]);
        assert!(s.c.cwnd() as usize > 10 * mss, "slow start grew it");
        let rto = Duration::from_micros(u64::from(s.c.info(s.now).rto));
        s.now = sent + idle(rto);
        s.send(&vec![2u8; 40 * mss]);
        s.out().len()
    }
    assert!(burst_after(|_| Duration::from_millis(11)) > 10);
    assert!(burst_after(|rto| rto) > 10);
    assert_eq!(
        burst_after(|rto| rto + Duration::from_micros(1)),
        10,
        "restart window"
    );
}

/// An established connection (MSS 1000, HyStart off, SACK when `sack`,
/// congestion control `cc`) with ten segments sent (IW10); and the first
/// one's sequence number.
fn ten_segments_out(sack: bool, cc: Algorithm) -> (Sut, SeqNum) {
    let cfg = Config {
        congestion: cc,
        hystart: false,
        ..if sack { sack_cfg() } else { cfg() }
    };
    let mut s = Sut::with_buffers(cfg, 65536, 65536);
    s.peer_syn_opts = TcpOptions {
        sack_permitted: sack,
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.expect(SYN, ISS, SeqNum(0));
    s.peer(f(SYN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert_eq!(s.c.sack_enabled(), sack);
    let seqs = send_segments(&mut s, 10);
    (s, seqs[0])
}

/// The data segments `s` sends now, as segment numbers from `una`.
fn sent_from(s: &mut Sut, una: SeqNum) -> Vec<u32> {
    let out = s.out();
    out.iter()
        .filter(|p| p.t.len > 0)
        .map(|p| p.t.seq.dist(una) / 1000)
        .collect()
}

// RFC 6582 §3.2 step 5, without SACK: a partial ACK retransmits the next
// hole, and the duplicate ACKs it covers are used up (Linux
// `tcp_remove_reno_sacks`: what they stood for is now acknowledged).
// Ten segments out, the first lost, more data queued; nine duplicate
// ACKs (segments 2 to 10 arrived): limited transmit sends 10 and 11, the
// fast retransmit 0, PRR 12 and 13. The ACK of the ten first segments
// leaves 10 to 13 out, 10 lost: pipe 3 of ssthresh 5, so PRR-SSRB sends
// the hole and one new segment (a flight of ssthresh), not a burst.
#[test]
fn r6582_a_partial_ack_uses_up_the_duplicate_acks_it_covers() {
    let (mut s, una) = ten_segments_out(false, Algorithm::NewReno);
    assert_eq!(s.send(&[8u8; 20_000]), 20_000);
    let peer = PEER_ISS.add(1);
    let mut per_ack = Vec::new();
    for _ in 2..=10 {
        s.seg_opts(ACK, peer, una, TcpOptions::NONE, &[]);
        per_ack.extend(sent_from(&mut s, una));
    }
    assert_eq!(per_ack, [10, 11, 0, 12, 13]);
    s.seg_opts(ACK, peer, una.add(10_000), TcpOptions::NONE, &[]);
    assert_eq!(sent_from(&mut s, una), [10, 14]);
    assert_eq!(s.c.info(s.now).unacked, 5);
    // Each duplicate ACK from then on: one segment.
    s.seg_opts(ACK, peer, una.add(10_000), TcpOptions::NONE, &[]);
    assert_eq!(sent_from(&mut s, una), [15]);
}

// A duplicate ACK beyond what the flight can account for counts for
// nothing (Savage et al. 1999, "TCP congestion control with a
// misbehaving receiver"; Linux `tcp_limit_reno_sacked`): ten segments
// out, the first lost, nothing more queued; nineteen duplicate ACKs (ten
// more than segments 2 to 10 can have caused). The ACK of the five
// first segments leaves 5 to 9 out, 5 a hole (resent): the peer holds
// at most the four others, whatever the duplicate ACKs said (Linux's
// `tcp_remove_reno_sacks` caps them by the flight at a partial ACK).
// Queued data then goes out up to a pipe of ssthresh, 1 + 4 segments
// (10 to 13), not as though the spoofed ACKs had emptied the network.
#[test]
fn r6582_duplicate_acks_beyond_the_flight_count_for_nothing() {
    let (mut s, una) = ten_segments_out(false, Algorithm::NewReno);
    let peer = PEER_ISS.add(1);
    let mut sent = Vec::new();
    for _ in 0..19 {
        s.seg_opts(ACK, peer, una, TcpOptions::NONE, &[]);
        sent.extend(sent_from(&mut s, una));
    }
    assert_eq!(sent, [0], "the fast retransmit only");
    s.seg_opts(ACK, peer, una.add(5_000), TcpOptions::NONE, &[]);
    assert_eq!(sent_from(&mut s, una), [5], "the next hole");
    assert_eq!(s.send(&[8u8; 20_000]), 20_000);
    assert_eq!(sent_from(&mut s, una), [10, 11, 12, 13]);
}

// RFC 5681 §3.2: the third duplicate ACK starts fast retransmit, however
// small the segments above the hole are. Without SACK, the count of
// duplicate ACKs is capped by the flight only in recovery (`reno_cap`,
// after Linux's `tcp_limit_reno_sacked`): a flight of two full segments
// and two quarter segments (2.5 segments of bytes; Nagle off) whose first
// is lost draws three duplicate ACKs, one per segment that arrived, and
// the third one retransmits the hole.
#[test]
fn r5681_three_duplicate_acks_retransmit_above_a_short_last_segment() {
    let mut s = established_with(Config {
        nagle: false,
        ..cfg()
    });
    let mss = s.c.effective_mss() as usize;
    s.send(&vec![1u8; 2 * mss]);
    let mut out = s.out();
    for _ in 0..2 {
        s.send(&vec![2u8; mss / 4]);
        out.extend(s.out());
    }
    assert_eq!(out.len(), 4);
    let una = out[0].seq();
    let peer = PEER_ISS.add(1);
    for i in 0..3 {
        s.seg(ACK, peer, una, &[]);
        let out = s.out();
        if i < 2 {
            assert!(out.iter().all(|p| p.seq() != una), "dupack {i}: {out:#?}");
        } else {
            assert_eq!(out.first().map(|p| p.seq()), Some(una), "fast retransmit");
        }
    }
}

// In recovery without SACK, a duplicate ACK beyond what the flight can
// account for counts for nothing as it arrives (`reno_cap`), not only at
// the next partial ACK: ten segments out, the first lost, nothing queued;
// nineteen duplicate ACKs (ten more than segments 2 to 10 can have
// caused). Data queued then goes out as PRR allows for the nine real
// ones, not as though nineteen segments had left the network.
#[test]
fn r6582_spoofed_duplicate_acks_give_prr_nothing_to_send() {
    let (mut s, una) = ten_segments_out(false, Algorithm::NewReno);
    let peer = PEER_ISS.add(1);
    for _ in 0..19 {
        s.seg_opts(ACK, peer, una, TcpOptions::NONE, &[]);
        let _ = s.out();
    }
    assert_eq!(s.send(&[8u8; 40_000]), 40_000);
    assert_eq!(sent_from(&mut s, una), [10, 11, 12, 13]);
    s.seg_opts(ACK, peer, una, TcpOptions::NONE, &[]);
    assert_eq!(sent_from(&mut s, una), [14], "one more ACK, one segment");
}

// RFC 5681 §3.1: a timeout sets ssthresh from the flight when the segment
// has not been resent by the timer yet; when it times out again, ssthresh
// is "held constant" (Linux's tcp_enter_loss reduces only without
// retransmits out in TCP_CA_Loss). An ACK of new data ends the episode:
// the next timeout reduces again. NewReno (rfc9293) and CUBIC (linux).
#[test]
fn r5681_ssthresh_held_constant_on_repeated_timeouts() {
    for linux in [false, true] {
        let cfg = Config {
            sack: true,
            frto: false,
            ..script::preset(linux)
        };
        let mut s = established_sack(cfg);
        assert_eq!(s.send(&[1u8; 8000]), 8000);
        assert_eq!(s.out().len(), 8);
        let info = |s: &Sut| {
            let i = s.c.info(s.now);
            (i.snd_ssthresh, i.snd_cwnd)
        };
        // A loss probe first (RFC 8985 §7), then the timeout.
        s.fire();
        let _ = s.out();
        assert_eq!(info(&s).1, 10, "linux {linux}: the probe");
        s.fire();
        let _ = s.out();
        // NewReno: FlightSize / 2 = 4 segments; CUBIC: 0.7 x cwnd 10.
        let first = if linux { 7 } else { 4 };
        assert_eq!(info(&s), (first, 1), "linux {linux}");
        for _ in 0..3 {
            s.fire();
            let _ = s.out();
            assert_eq!(info(&s), (first, 1), "linux {linux}: held constant");
        }
        // The first segment's ACK ends the episode; the next timeout of
        // the second segment reduces from the flight of now.
        s.peer_ack(ACK, ISS.add(1 + 5000), &[]);
        let _ = s.out();
        // No loss probe while the recovery after the timeout lasts (SND.UNA
        // below `recover`, RFC 8985 §7.2): the next timer is a timeout.
        // NewReno: a flight of 3 segments: 2 (2 SMSS at least); CUBIC, 0.7
        // x the cwnd of then (the loss window grown by that ACK as far as
        // `Config::cwnd_limited` lets a flight of 2 segments grow it): 3,
        // below the 7 held before.
        let (probes, timeouts) = (s.c.stats().loss_probes, s.c.stats().timeouts);
        s.fire();
        let _ = s.out();
        assert_eq!(s.c.stats().loss_probes, probes, "linux {linux}");
        assert_eq!(s.c.stats().timeouts, timeouts + 1, "linux {linux}");
        let again = if linux { 3 } else { 2 };
        assert_eq!(info(&s), (again, 1), "linux {linux}: reduced again");
        s.fire();
        let _ = s.out();
        assert_eq!(info(&s), (again, 1), "linux {linux}: held constant");
    }
}

/// SACK on, an RTO of at least 200 ms and an SRTT of 10 ms (one round
/// trip of 100 bytes), the peer's window now `wnd`: ready for a loss
/// probe (RFC 8985 §7) of what is sent next. Returns the MSS too.
fn tlp_ready(wnd: u16) -> (Sut, u32) {
    let mut c = sack_cfg();
    c.rto_min = Duration::from_millis(200);
    let mut s = established_sack(c);
    let mss = s.c.effective_mss() as u32;
    s.send(&[1u8; 100]);
    s.out();
    s.now += Duration::from_millis(10);
    s.peer_wnd = wnd;
    s.peer(ACK, &[]);
    (s, mss)
}

// RFC 8985 §7.3 with a FIN out: the loss probe is the last MSS of data
// and the FIN, from where the data ends (a FIN takes no byte of the send
// buffer), and it counts as a retransmission (`Stats::retransmits`).
#[test]
fn r8985_a_loss_probe_with_the_fin_resends_the_last_segment_of_data() {
    let (mut s, mss) = tlp_ready(0xffff);
    let una = s.c.snd_una();
    s.send(&vec![2u8; (2 * mss + 80) as usize]);
    s.close();
    let out = s.out();
    assert_eq!(out.len(), 3);
    assert!(out[2].flags().contains(FIN));
    assert_eq!(s.c.stats().retransmits, 0);
    s.fire();
    let probe = s.out();
    assert_eq!(probe.len(), 1, "{probe:#?}");
    assert_eq!(probe[0].seq(), una.add(mss + 80));
    assert_eq!(probe[0].payload.len() as u32, mss);
    assert!(probe[0].flags().contains(FIN));
    assert_eq!(s.c.stats().loss_probes, 1);
    assert_eq!(s.c.stats().retransmits, 1);
}

// RFC 8985 §7.3: a loss probe that resends the last segment sent while
// more data waits behind the peer's window is not the end of what the
// application wrote: no PSH (RFC 9293 §3.9.1), as the segment it resends
// had none; nor the FIN queued behind that data.
#[test]
fn r8985_a_loss_probe_below_unsent_data_carries_no_psh() {
    let (mut s, mss) = tlp_ready(2000);
    assert_eq!(mss, 1000);
    s.send(&vec![2u8; (4 * mss) as usize]);
    s.close();
    let out = s.out();
    assert_eq!(out.len(), 2, "the peer's window: two segments");
    assert!(out.iter().all(|p| !p.flags().contains(PSH)), "{out:#?}");
    s.fire();
    let probe = s.out();
    assert_eq!(probe.len(), 1, "{probe:#?}");
    assert_eq!(probe[0].seq(), out[1].seq());
    assert_eq!(probe[0].payload.len() as u32, mss);
    assert!(!probe[0].flags().contains(PSH), "{probe:#?}");
    assert!(!probe[0].flags().contains(FIN), "{probe:#?}");
    assert_eq!(s.c.stats().loss_probes, 1);
}

// RFC 5681 §3.2 with a FIN out: the fast retransmit resends the first
// segment alone; the FIN rides only on a segment that ends the data.
#[test]
fn r5681_the_fast_retransmit_of_the_first_segment_carries_no_fin() {
    let mut s = established_with(cfg());
    let mss = s.c.effective_mss() as usize;
    s.send(&vec![1u8; 3 * mss + 100]);
    s.close();
    let out = s.out();
    assert_eq!(out.len(), 4);
    assert!(out[3].flags().contains(FIN));
    let una = out[0].seq();
    let peer = PEER_ISS.add(1);
    for _ in 0..3 {
        s.seg(ACK, peer, una, &[]);
    }
    let out = s.out();
    assert_eq!(out[0].seq(), una, "fast retransmit");
    assert_eq!(out[0].payload.len(), mss);
    assert!(!out[0].flags().contains(FIN), "{:#?}", out[0]);
}

// The same with the data's last segment first: the fast retransmit
// resends what the send buffer holds, and the FIN that went with it
// (RFC 9293 §3.10.4: the FIN is in sequence after the data), and a FIN
// alone goes again alone.
#[test]
fn r5681_the_fast_retransmit_of_the_last_segment_carries_the_fin() {
    for len in [100usize, 0] {
        let mut s = established_with(cfg());
        if len > 0 {
            s.send(&vec![1u8; len]);
        }
        s.close();
        let out = s.out();
        assert_eq!(out.len(), 1);
        assert!(out[0].flags().contains(FIN));
        let una = out[0].seq();
        for _ in 0..3 {
            s.seg(ACK, PEER_ISS.add(1), una, &[]);
        }
        let out = s.out();
        assert_eq!(s.c.stats().recoveries, 1, "len {len}");
        assert_eq!((out[0].seq(), out[0].payload.len()), (una, len));
        assert!(out[0].flags().contains(FIN), "len {len}: {:#?}", out[0]);
    }
}

/// Nagle's algorithm (RFC 9293 §3.7.4) holds back new small segments
/// while data is in flight; a resend is no new data. A flight of two and
/// a half segments (a short one first, which went alone, then two full)
/// is lost; the go-back-N resend after the timeout cuts it into full
/// segments from SND.UNA, which leaves a short one at the tail. It goes
/// as soon as cwnd has room for it (with the second full one, on the
/// first ACK), not a round trip later behind the rest.
#[test]
fn r5681_a_short_segment_resent_after_a_timeout_waits_for_no_ack() {
    let mut s = established();
    let mss = usize::from(s.c.effective_mss());
    let una = s.c.snd_una();
    assert_eq!(s.send(&vec![1u8; mss / 2]), mss / 2);
    assert_eq!(s.out().len(), 1);
    assert_eq!(s.send(&vec![1u8; 2 * mss]), 2 * mss);
    assert_eq!(s.out().len(), 2);
    // All three lost: the timeout resends from SND.UNA (a loss probe of
    // the last may come before).
    let mut resent = Vec::new();
    while s.c.stats().timeouts == 0 {
        s.fire();
        resent = s.out();
    }
    assert_eq!(resent.len(), 1);
    assert_eq!((resent[0].seq(), resent[0].payload.len()), (una, mss));
    s.now += Duration::from_millis(10);
    s.peer_ack(ACK, una.add(mss as u32), &[]);
    let next: Vec<(u32, usize)> = s
        .out()
        .iter()
        .map(|p| (p.seq().dist(una), p.payload.len()))
        .collect();
    assert_eq!(next, [(mss as u32, mss), (2 * mss as u32, mss / 2)]);
}
