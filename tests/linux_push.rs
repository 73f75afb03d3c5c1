//! PSH as Linux sets it on new data (`Config::linux_push`, issue 15):
//! Linux's `tcp_write_xmit` sends the data of one moment as GSO packets of
//! at most `Config::tso_segs` segments (`tcp_min_tso_segs`, 2) and at most
//! half the congestion window (`tcp_cwnd_test`), and every packet of two
//! segments or more carries PSH (seen on Linux 6.18; packetdrill matches a
//! line made of several packets by the flags of the last). `SendMore`
//! data waits only until the next ACK (Linux corks only the push of the
//! `MSG_MORE` write itself). `Config::rfc9293()` keeps RFC 9293 §3.9.1:
//! PSH only where the application's data ends (MUST-61), and `SendMore`
//! data held as under a cork.

mod script;

use script::*;
use tcpstate::{AppCall, Config};

/// ESTABLISHED with `cfg` and no Nagle: the peer's MSS is the default 536.
fn sut(cfg: Config) -> Sut {
    let mut s = established_with(cfg);
    s.app(|c, now| {
        c.on_app_call(now, AppCall::SetNoDelay(true))
            .unwrap()
            .actions
    });
    s
}

/// Which segments of what goes out now carry PSH (1-based).
fn psh_at(s: &mut Sut) -> (usize, Vec<usize>) {
    let out = s.out();
    let psh = out
        .iter()
        .enumerate()
        .filter(|(_, p)| p.flags().psh())
        .map(|(i, _)| i + 1)
        .collect();
    (out.len(), psh)
}

#[test]
fn each_two_segment_packet_of_a_burst_ends_with_psh_on_linux_only() {
    for linux in [false, true] {
        let mut s = sut(preset(linux));
        // Twelve segments queued; the initial window (10) lets ten go.
        s.send(&[1u8; 536 * 12]);
        let (n, psh) = psh_at(&mut s);
        assert_eq!(n, 10, "linux {linux}");
        let want: Vec<usize> = if linux { vec![2, 4, 6, 8, 10] } else { vec![] };
        assert_eq!(psh, want, "linux {linux}");
    }
}

#[test]
fn a_congestion_window_below_four_segments_sends_single_segments_without_psh() {
    // tcp_cwnd_test: a packet is at most half the window, so with three
    // segments of cwnd each goes alone, and none ends a packet of two.
    for (iw, want) in [(3u16, vec![]), (4, vec![2, 4])] {
        let mut s = sut(Config {
            initial_window: iw,
            ..preset(true)
        });
        s.send(&[1u8; 536 * 12]);
        let (n, psh) = psh_at(&mut s);
        assert_eq!((n, psh), (usize::from(iw), want), "iw {iw}");
    }
}

#[test]
fn tso_segs_sets_the_packet_size() {
    // tcp_min_tso_segs 5: packets of five segments, at most half of cwnd.
    let mut s = sut(Config {
        tso_segs: 5,
        ..preset(true)
    });
    s.send(&[1u8; 536 * 12]);
    assert_eq!(psh_at(&mut s), (10, vec![5, 10]));
}

#[test]
fn a_retransmission_and_the_end_of_the_data_keep_their_rules() {
    // The last segment of the queued data carries PSH in both presets
    // (MUST-61); the burst before it is cut in packets only on Linux.
    for linux in [false, true] {
        let mut s = sut(preset(linux));
        s.send(&[1u8; 536 * 3]);
        let (n, psh) = psh_at(&mut s);
        assert_eq!(n, 3);
        assert_eq!(
            psh,
            if linux { vec![2, 3] } else { vec![3] },
            "linux {linux}"
        );
    }
}

#[test]
fn send_more_data_goes_at_the_next_ack_on_linux_only() {
    for linux in [false, true] {
        let mut s = sut(preset(linux));
        // One full segment and 100 bytes more, with more to come.
        s.app(|c, now| {
            c.on_app_call(now, AppCall::SendMore(&[2u8; 636]))
                .unwrap()
                .actions
        });
        let first = s.out();
        assert_eq!(first.len(), 1, "linux {linux}");
        assert_eq!(first[0].payload.len(), 536);
        assert!(!first[0].flags().psh(), "linux {linux}");
        // The ACK of the full segment: Linux pushes the rest (the socket
        // has no Nagle), without PSH; RFC 9293's cork holds it.
        s.now += tcpstate::Duration::from_millis(10);
        s.peer(ACK, &[]);
        let rest = s.out();
        if linux {
            assert_eq!(rest.len(), 1);
            assert_eq!(rest[0].payload.len(), 100);
            assert_eq!(rest[0].flags(), ACK);
        } else {
            assert!(rest.iter().all(|p| p.payload.is_empty()), "{rest:#?}");
        }
    }
}

/// Packets of two segments (`tso_segs` 2, Linux's `tcp_min_tso_segs`) need
/// no count of the segments left: the second ends the packet. A burst of
/// them leaves the connection's heap as it was (no uncommon-state box for
/// the count); only a larger `tso_segs` keeps one.
#[test]
fn two_segment_packets_keep_no_count_on_the_heap() {
    let mut s = sut(preset(true));
    let before = s.c.heap_bytes();
    s.send(&[1u8; 536 * 6]);
    let (n, psh) = psh_at(&mut s);
    assert_eq!((n, psh), (6, vec![2, 4, 6]));
    s.peer_ack(tcpstate::wire::Flags::ACK, s.c.snd_nxt(), &[]);
    assert_eq!(s.c.send_queue(), 0);
    assert_eq!(s.c.heap_bytes(), before);
}
