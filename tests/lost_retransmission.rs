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

#[test]
fn a_sacked_retransmission_makes_the_ones_below_it_go_again() {
    for linux in [false, true] {
        let mut o = TcpOptions::NONE;
        o.sack_permitted = true;
        o.mss = Some(1000);
        let cfg = Config {
            sack: true,
            ..preset(linux)
        };
        let mut s = established_with_peer(cfg, o, Duration::from_millis(10));
        let una = ISS.add(1);
        let seg = |i: u32| una.add(1000 * i);
        s.send(&[9u8; 8000]);
        assert_eq!(s.out().len(), 8, "linux {linux}");
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
    }
}
