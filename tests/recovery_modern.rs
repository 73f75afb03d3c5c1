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
    assert!(s.c.cwnd() <= 3 * mss, "{}", s.c.cwnd());
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
