//! A lost retransmission found by send order (RFC 8985 §6.2, RACK: a
//! segment is lost once a segment sent after it is delivered and RACK.rtt
//! plus the reordering window, 0 in recovery until reordering is seen,
//! have passed since it was sent). Fast recovery resends holes in
//! sequence order (RFC 6675 §4 NextSeg), so a SACK of a retransmitted
//! hole shows that the retransmissions below it, still missing, were lost:
//! they go again at once, before new data, in both presets (Linux's RACK
//! does so too, `tcp_rack_detect_loss`).

mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration, SeqNum};

/// ESTABLISHED with SACK and an MSS of 1000, `n` segments sent; returns
/// the connection and SND.UNA.
fn sack_flight(linux: bool, n: u32) -> (Sut, SeqNum) {
    let mut o = TcpOptions::NONE;
    o.sack_permitted = true;
    o.mss = Some(1000);
    let cfg = Config {
        sack: true,
        ..preset(linux)
    };
    let mut s = established_with_peer(cfg, o, Duration::from_millis(10));
    s.send(&vec![9u8; 1000 * n as usize]);
    assert_eq!(s.out().len(), n as usize, "linux {linux}");
    (s, ISS.add(1))
}

#[test]
fn a_sacked_retransmission_makes_the_ones_below_it_go_again() {
    for linux in [false, true] {
        let (mut s, una) = sack_flight(linux, 8);
        let seg = |i: u32| una.add(1000 * i);
        // Segments 0-3 are lost; 4-7 arrive: recovery retransmits the
        // holes in order as the ACKs allow (here 0 and 1).
        let mut rtx = Vec::new();
        for i in 5..=8 {
            s.now += Duration::from_millis(2);
            s.ack_sack(una, &[(seg(4), seg(i))]);
            rtx.extend(s.out().into_iter().filter(|p| p.seq().before(seg(4))));
        }
        let firsts: Vec<SeqNum> = rtx.iter().map(|p| p.seq()).collect();
        assert!(
            firsts.starts_with(&[seg(0), seg(1)]),
            "linux {linux}: {firsts:?}"
        );
        // Segment 0's retransmission is lost, and segment 1's, sent after
        // it, arrives: segment 0 goes again first.
        s.now += Duration::from_millis(20);
        s.ack_sack(una, &[(seg(1), seg(2)), (seg(4), seg(8))]);
        let out = s.out();
        assert_eq!(
            out.first().map(|p| p.seq()),
            Some(seg(0)),
            "linux {linux}: {out:#?}"
        );
        // Counted once (`Stats::lost_retransmits`).
        assert_eq!(s.c.stats().lost_retransmits, 1, "linux {linux}");
        // The same ACK again delivers nothing: PRR (RFC 6937 §3) lets
        // nothing go, and the ACK does not ask for a poll.
        s.ack_sack(una, &[(seg(1), seg(2)), (seg(4), seg(8))]);
        assert!(!s.last.transmit(), "linux {linux}");
        assert!(s.out().is_empty(), "linux {linux}");
    }
}

// RFC 8985 §6.2: only a retransmission can be found lost this way. A
// partial ACK that passes HighRxt (the retransmission of the first hole
// arrived, and the next hole was never resent) SACKs only original data:
// nothing was lost again, and the next hole goes once.
#[test]
fn r8985_a_partial_ack_beyond_high_rxt_finds_no_lost_retransmission() {
    for linux in [false, true] {
        let (mut s, una) = sack_flight(linux, 8);
        let seg = |i: u32| una.add(1000 * i);
        // Segments 0 and 4 are lost; 1-3 arrive: recovery resends 0.
        s.now += Duration::from_millis(2);
        s.ack_sack(una, &[(seg(1), seg(4))]);
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert_eq!(out[0].seq(), seg(0), "linux {linux}");
        // Segment 0's retransmission arrives, and 5-7 after the hole at 4.
        s.now += Duration::from_millis(10);
        s.ack_sack(seg(4), &[(seg(5), seg(8))]);
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert_eq!(out[0].seq(), seg(4), "linux {linux}");
        assert_eq!(s.c.stats().lost_retransmits, 0, "linux {linux}");
    }
}

// RFC 8985 §6.2: RACK's reordering window is 0 in recovery only until
// reordering was seen (Linux's `tcp_rack_reo_wnd`); once the peer has
// shown reordering beyond DupThresh, a SACKed retransmission no longer
// makes the ones below it lost at once. `Config::linux()`, whose window
// after the first recovery still sends enough for the scene.
#[test]
fn r8985_after_reordering_a_sacked_retransmission_condemns_none_below_it() {
    let (mut s, una) = sack_flight(true, 8);
    let seg = |i: u32| una.add(1000 * i);
    // Segments 1-5 arrive after 6: a reordering of six segments.
    s.now += Duration::from_millis(2);
    s.ack_sack(una, &[(seg(6), seg(7))]);
    s.ack_sack(una, &[(seg(1), seg(7))]);
    let _ = s.out();
    s.now += Duration::from_millis(2);
    s.ack_sack(seg(8), &[]);
    let _ = s.out();
    assert_eq!(s.c.info(s.now).reordering, 6);
    // The lost-retransmission scene above, on the next flight.
    let una = seg(8);
    let seg = |i: u32| una.add(1000 * i);
    s.now += Duration::from_millis(20);
    s.send(&[9u8; 8000]);
    assert_eq!(s.out().len(), 7);
    let mut rtx = Vec::new();
    let below_4 = |s: &mut Sut| -> Vec<SeqNum> {
        let out = s.out().into_iter().map(|p| p.seq());
        out.filter(|q| q.before(seg(4))).collect()
    };
    for i in 5..=8 {
        s.now += Duration::from_millis(2);
        s.ack_sack(una, &[(seg(4), seg(i))]);
        rtx.extend(below_4(&mut s));
        if i == 6 {
            // DupThresh is the reordering degree now (6): SACKed
            // segments start no recovery; RACK's timer does (RFC 8985
            // §6.2.4), and resends the first.
            assert_eq!((rtx.len(), s.c.stats().recoveries), (0, 1));
            let rack = s.c.timer(tcpstate::Timer::Rack).expect("RACK timer");
            s.fire();
            assert_eq!((s.now, s.c.stats().recoveries), (rack, 2));
            rtx.extend(below_4(&mut s));
        }
    }
    assert_eq!(rtx, [seg(0), seg(1), seg(2)]);
    s.now += Duration::from_millis(20);
    s.ack_sack(una, &[(seg(1), seg(2)), (seg(4), seg(8))]);
    let out = s.out();
    assert!(out.iter().all(|p| p.seq() != seg(0)), "{out:#?}");
    assert_eq!(s.c.stats().lost_retransmits, 0);
}

// RFC 8985 §6.2 with RFC 2018's byte ranges (`Config::rfc9293()`, which
// SACKs what a block covers, whole segments or not): the lost
// retransmissions go again hole by hole, each only what is still
// missing, and then the next hole never resent (RFC 6675 §4 NextSeg)
// follows as cwnd allows.
#[test]
fn r8985_lost_retransmissions_go_again_hole_by_hole_then_the_next_hole() {
    let (mut s, una) = sack_flight(false, 8);
    let seg = |i: u32| una.add(1000 * i);
    let sent = |s: &mut Sut| {
        let out = s.out();
        out.iter()
            .map(|p| (p.seq(), p.payload.len()))
            .collect::<Vec<_>>()
    };
    // Segments 0-2 are lost, 3-6 arrive: 0 and 1 are resent.
    let mut rtx = Vec::new();
    for i in 5..=7 {
        s.now += Duration::from_millis(2);
        s.ack_sack(una, &[(seg(3), seg(i))]);
        rtx.extend(sent(&mut s));
    }
    assert_eq!(rtx, [(seg(0), 1000), (seg(1), 1000)]);
    // The second halves of both retransmissions arrive, the first halves
    // are lost: both go again, 500 bytes each.
    s.now += Duration::from_millis(20);
    let halves = [(seg(1).add(500), seg(2)), (seg(0).add(500), seg(1))];
    s.ack_sack(una, &[halves[0], halves[1], (seg(3), seg(7))]);
    assert_eq!(sent(&mut s), [(seg(0), 500), (seg(1), 500)]);
    // PRR (RFC 6937 §3) set cwnd to pipe + sndcnt; pipe (RFC 6675 §4)
    // leaves out the lost halves not yet sent again as well as the hole
    // at 2: 8000 in flight less 5000 SACKed less 2000 lost, 1000.
    assert_eq!(s.c.cwnd(), 2000);
    // Segment 7 arrives: the hole at 2, never resent, goes.
    s.now += Duration::from_millis(2);
    s.ack_sack(una, &[(seg(3), seg(8)), halves[0], halves[1]]);
    assert_eq!(sent(&mut s), [(seg(2), 1000)]);
}

// RFC 8985 §6.2 in fast recovery only (`Stats::lost_retransmits`): after
// a retransmission timeout ends the recovery (RFC 6298 §5.4 to 5.6:
// go back to SND.UNA, cwnd one segment), a SACK of data first sent after
// a hole's retransmission finds no lost retransmission: the timeout
// already resends from SND.UNA.
#[test]
fn r8985_after_a_timeout_a_sack_finds_no_lost_retransmission() {
    for linux in [false, true] {
        let (mut s, una) = sack_flight(linux, 6);
        let seg = |i: u32| una.add(1000 * i);
        // Segment 0 is lost; 1-5 arrive. Recovery resends 0, then sends
        // new data (6 and 7) as the ACKs allow.
        let mut sent = Vec::new();
        for i in 2..=6 {
            s.now += Duration::from_millis(2);
            if i == 5 {
                s.send(&[1u8; 2000]);
            }
            s.ack_sack(una, &[(seg(1), seg(i))]);
            sent.extend(s.out().into_iter().map(|p| p.seq()));
        }
        assert_eq!(sent, [seg(0), seg(6), seg(7)], "linux {linux}");
        // The retransmission of 0 is lost: the timeout fires.
        while s.c.stats().timeouts == 0 {
            s.fire();
        }
        let _ = s.out();
        // 6 and 7 arrive.
        s.ack_sack(una, &[(seg(1), seg(8))]);
        assert_eq!(s.c.stats().lost_retransmits, 0, "linux {linux}");
    }
}

// RFC 8985 §6.2 when the peer reneges (RFC 2018 §8): an ACK that stops
// at a byte it had SACKed means the scoreboard at SND.UNA no longer
// shows what the peer holds, but a hole above it was retransmitted and
// is still missing while newer data is SACKed: that retransmission is
// lost and goes again; SACKed, nothing is lost. `Config::linux()` (whose
// window sends both new segments before the last ACK).
#[test]
fn r8985_a_lost_retransmission_above_reneged_data_goes_again() {
    for two_arrives in [false, true] {
        let (mut s, una) = sack_flight(true, 6);
        let seg = |i: u32| una.add(1000 * i);
        let sent = |s: &mut Sut| {
            let out = s.out();
            out.iter().map(|p| p.seq()).collect::<Vec<_>>()
        };
        // Segments 0 and 2 are lost: both resent, then new data (6, 7).
        s.now += Duration::from_millis(2);
        s.ack_sack(una, &[(seg(3), seg(5)), (seg(1), seg(2))]);
        assert_eq!(sent(&mut s), [seg(0), seg(2)]);
        s.send(&[1u8; 2000]);
        s.now += Duration::from_millis(2);
        s.ack_sack(una, &[(seg(3), seg(6)), (seg(1), seg(2))]);
        assert_eq!(sent(&mut s), [seg(6), seg(7)]);
        // 0's retransmission arrives, the peer drops 1 (the ACK stops
        // there), 6 and 7 arrive; 2's retransmission, sent before them,
        // is lost, or SACKed too.
        s.now += Duration::from_millis(2);
        let from = if two_arrives { seg(2) } else { seg(3) };
        s.ack_sack(seg(1), &[(from, seg(8))]);
        let (again, lost) = if two_arrives {
            (vec![], 0)
        } else {
            (vec![seg(2)], 1)
        };
        assert_eq!(sent(&mut s), again, "2 arrives {two_arrives}");
        assert_eq!(
            s.c.stats().lost_retransmits,
            lost,
            "2 arrives {two_arrives}"
        );
    }
}

// RFC 6675 §5.1 (and RFC 2018 §8): after a retransmission timeout the
// sender goes back to SND.UNA but does not resend what the peer SACKed
// (the scoreboard does not cover SND.UNA, so the peer has not reneged);
// with RFC 2018's byte ranges (`Config::rfc9293()`) a segment stops
// where a SACKed range starts.
#[test]
fn r6675_after_a_timeout_sacked_data_is_not_resent() {
    let (mut s, una) = sack_flight(false, 6);
    let seg = |i: u32| una.add(1000 * i);
    // 0 and the first half of 1 are lost; the rest of 1 to 3 arrives
    // (2.5 segments: no fast recovery).
    s.ack_sack(una, &[(seg(1).add(500), seg(4))]);
    let sacked = s.c.info(s.now).sacked;
    assert!(sacked > 0);
    // The timeout (after a loss probe or RACK's retransmission of 0).
    while s.c.stats().timeouts == 0 {
        let _ = s.out();
        s.fire();
    }
    // The scoreboard is kept through the timeout (Linux's tcp_enter_loss
    // clears the SACKed marks only when the peer reneged): tcpi_sacked
    // as before it, ahead of any ACK that would report the blocks again.
    assert_eq!(s.c.info(s.now).sacked, sacked);
    let mut resent: Vec<(u32, usize)> = Vec::new();
    let mut ack = una;
    for _ in 0..4 {
        let out = s.out();
        resent.extend(out.iter().map(|p| (p.seq().dist(una), p.payload.len())));
        if let Some(p) = out.last() {
            ack = p.seq().add(p.payload.len() as u32);
        }
        s.now += Duration::from_millis(10);
        s.ack_sack(ack, &[(seg(1).add(500), seg(4))]);
    }
    assert_eq!(
        resent[..3],
        [(0, 1000), (1000, 500), (4000, 1000)],
        "{resent:?}"
    );
}

// The same after a timeout, with a hole longer than a segment below the
// SACKed range (RFC 6675 §5.1, Linux's tcp_enter_loss keeping the SACKed
// marks): the first ACK lets two segments go, a full one from SND.UNA and
// the 500 bytes left before the range, which the second stops at.
#[test]
fn r6675_after_a_timeout_the_second_segment_stops_at_the_sacked_range() {
    let (mut s, una) = sack_flight(false, 6);
    let at = |b: u32| una.add(b);
    s.ack_sack(una, &[(at(2500), at(4000))]);
    while s.c.stats().timeouts == 0 {
        let _ = s.out();
        s.fire();
    }
    let first: Vec<_> = s
        .out()
        .iter()
        .map(|p| (p.seq().dist(una), p.payload.len()))
        .collect();
    assert_eq!(first, [(0, 1000)]);
    s.now += Duration::from_millis(10);
    s.ack_sack(at(1000), &[(at(2500), at(4000))]);
    let next: Vec<_> = s
        .out()
        .iter()
        .map(|p| (p.seq().dist(una), p.payload.len()))
        .collect();
    assert_eq!(next, [(1000, 1000), (2000, 500)]);
}
