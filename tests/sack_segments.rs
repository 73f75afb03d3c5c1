//! SACK blocks in whole segments (`Config::sack_segments`, issue 15):
//! Linux's `tcp_match_skb_to_sack` splits a sent buffer only at an MSS
//! boundary and SACKs a piece only when a block covers it whole, so a
//! block that covers part of one segment SACKs nothing. `Config::rfc9293()`
//! records every byte a block covers (RFC 2018 §3, RFC 6675 §2).

mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration};

/// ESTABLISHED with SACK; returns the MSS.
fn with_sack(cfg: Config) -> (Sut, u32) {
    let mut o = TcpOptions::NONE;
    o.sack_permitted = true;
    let s = established_with_peer(Config { sack: true, ..cfg }, o, Duration::from_millis(100));
    let mss = s.c.effective_mss() as u32;
    (s, mss)
}

/// ESTABLISHED with SACK, four full segments sent; returns the MSS.
fn four_out(cfg: Config) -> (Sut, u32) {
    let (mut s, mss) = with_sack(cfg);
    s.send(&vec![3u8; 4 * mss as usize]);
    assert_eq!(s.out().len(), 4);
    (s, mss)
}

#[test]
fn a_block_inside_one_segment_sacks_nothing_on_linux_only() {
    for linux in [false, true] {
        let (mut s, mss) = four_out(preset(linux));
        let end = ISS.add(1 + 4 * mss);
        // Only the last byte of the fourth segment.
        s.ack_sack(ISS.add(1), &[(end.sub(1), end)]);
        let sacked = s.c.info(s.now).sacked;
        assert_eq!(sacked, if linux { 0 } else { 1 }, "linux {linux}");
    }
}

#[test]
fn a_block_takes_the_whole_segments_it_covers() {
    let (mut s, mss) = four_out(preset(true));
    let una = ISS.add(1);
    // From the middle of the second segment to the middle of the fourth:
    // only the third is covered whole.
    s.ack_sack(una, &[(una.add(mss + mss / 2), una.add(3 * mss + mss / 2))]);
    assert_eq!(s.c.info(s.now).sacked, 1);
    // A block to the end of what was sent takes the fourth too.
    s.ack_sack(una, &[(una.add(2 * mss + 1), una.add(4 * mss))]);
    assert_eq!(s.c.info(s.now).sacked, 2);
}

// The last segment sent may be short: a block that reaches the end of
// what was sent takes it whole (Linux SACKs the short tail buffer the
// block covers).
#[test]
fn a_block_to_the_end_of_the_flight_takes_a_short_last_segment() {
    let (mut s, mss) = with_sack(preset(true));
    let una = ISS.add(1);
    s.send(&vec![3u8; (3 * mss + mss / 2) as usize]);
    assert_eq!(s.out().len(), 4);
    // From the middle of the second segment to the end: the third and
    // the short fourth.
    s.ack_sack(una, &[(una.add(mss + mss / 2), una.add(3 * mss + mss / 2))]);
    assert_eq!(s.c.info(s.now).sacked, 2);
}

// Segments are counted from each record end (`send_eor`: no segment
// spans one, as no Linux buffer spans an `eor` mark), so a block's right
// edge rounds down to the grid that starts at the record end.
#[test]
fn after_a_record_end_a_block_rounds_to_the_segments_that_follow_it() {
    let (mut s, mss) = with_sack(preset(true));
    let una = ISS.add(1);
    let eor = mss + mss / 2;
    s.app(|c, now| c.send_eor(now, &vec![2u8; eor as usize]).unwrap().actions);
    s.send(&vec![3u8; 2 * mss as usize]);
    let sent: Vec<u32> = s.out().iter().map(|p| p.seq().dist(una)).collect();
    assert_eq!(sent, [0, mss, eor, eor + mss]);
    // From the record end to 0.7 segment into the second one after it:
    // only the first after the record end is covered whole.
    s.ack_sack(una, &[(una.add(eor), una.add(eor + mss + 7 * mss / 10))]);
    assert_eq!(s.c.info(s.now).sacked, 1);
}
