//! cwnd grows by what an ACK delivers (`Config::cwnd_delivered`, issue
//! 15): Linux's slow start counts `acked_sacked`, so a cumulative ACK of
//! segments the peer had already SACKed (or, without SACK, counted with
//! duplicate ACKs) grows cwnd only by the segments it newly delivers.
//! `Config::rfc9293()` grows by the bytes newly acknowledged (RFC 5681
//! §3.1 with RFC 3465 byte counting).

mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration};

/// An active open with the peer's MSS 1000 (and SACK if `sack`), then
/// `n` bytes written: the initial window's ten segments go.
fn ten_sent(cfg: Config, sack: bool, n: usize) -> Sut {
    let mut o = TcpOptions::NONE;
    o.sack_permitted = sack;
    o.mss = Some(1000);
    let cfg = Config { sack, ..cfg };
    let mut s = Sut::with_buffers(cfg, RX, 16_000);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let _ = s.out();
    s.peer_syn_opts = o;
    s.now += Duration::from_millis(100);
    s.peer(f(SYN, ACK), &[]);
    let _ = s.out();
    s.send(&vec![4u8; n]);
    assert_eq!(s.out().len(), 10);
    s
}

/// Ten segments out of fifteen queued; two duplicate ACKs (SACKing the
/// second and third segments, or plain) each let one more go (limited
/// transmit); then the ACK of the first three. Returns how many segments
/// that ACK lets go.
fn after_reordering(cfg: Config, sack: bool) -> usize {
    let mut s = ten_sent(cfg, sack, 15_000);
    let una = ISS.add(1);
    for i in 2..=3 {
        s.now += Duration::from_millis(10);
        if sack {
            s.ack_sack(una, &[(una.add(1000), una.add(1000 * i))]);
        } else {
            s.peer_ack(ACK, una, &[]);
        }
        assert_eq!(s.out().len(), 1, "limited transmit");
    }
    s.now += Duration::from_millis(10);
    s.peer_ack(ACK, una.add(3000), &[]);
    s.out().len()
}

#[test]
fn an_ack_of_sacked_data_grows_cwnd_by_what_it_delivers_on_linux_only() {
    for sack in [true, false] {
        // Linux: cwnd 10 + 1 with 9 in flight: two segments go.
        assert_eq!(after_reordering(preset(true), sack), 2, "sack {sack}");
        // RFC 5681/3465: cwnd grows by the bytes acknowledged (at most
        // two segments, L = 2): 12 with 9 in flight, three go.
        assert_eq!(after_reordering(preset(false), sack), 3, "sack {sack}");
    }
}

/// Ten segments sent, all the application wrote; the peer SACKs the
/// tenth, then the fourth (reordering of seven segments), then
/// acknowledges all. Returns cwnd in segments after each ACK and the
/// reordering degree after the second.
fn sack_reordering(cfg: Config) -> ([u32; 3], u32) {
    let mut s = ten_sent(cfg, true, 10_000);
    let una = ISS.add(1);
    let last = (una.add(9000), una.add(10_000));
    let mut cwnd = [0; 3];
    s.now += Duration::from_millis(20);
    s.ack_sack(una, &[last]);
    cwnd[0] = s.c.info(s.now).snd_cwnd;
    s.ack_sack(una, &[(una.add(3000), una.add(4000)), last]);
    cwnd[1] = s.c.info(s.now).snd_cwnd;
    let reordering = s.c.info(s.now).reordering;
    s.peer_ack(ACK, una.add(10_000), &[]);
    cwnd[2] = s.c.info(s.now).snd_cwnd;
    (cwnd, reordering)
}

#[test]
fn a_sack_grows_cwnd_once_reordering_was_seen_on_linux_only() {
    // Linux (google/packetdrill's cubic-rack-reo-timeout-retrans-failed-
    // incoming-data): the first SACK is out of order but shows no
    // reordering, no growth; the second shows reordering of 7 segments,
    // more than DupThresh, so what it SACKed grows cwnd
    // (`tcp_may_raise_cwnd`); the cumulative ACK then delivers the
    // other eight: 10 + 1 + 8 = 19.
    assert_eq!(sack_reordering(preset(true)), ([10, 11, 19], 7));
    // RFC 5681 §3.1: cwnd grows on ACKs of new data only.
    let (cwnd, reordering) = sack_reordering(preset(false));
    assert_eq!((cwnd[0], cwnd[1], reordering), (10, 10, 7));
}

/// An old ACK (below SND.UNA) that SACKs new data grows nothing, however
/// much reordering was seen: Linux's `tcp_ack` takes its SACK blocks
/// (the `old_ack` path: `tcp_sacktag_write_queue`) but never calls
/// `tcp_cong_control` for it; RFC 9293 §3.10.7.4 ignores such an ACK.
#[test]
fn an_old_ack_that_sacks_new_data_grows_no_cwnd() {
    let mut s = ten_sent(preset(true), true, 10_000);
    let una = ISS.add(1);
    let last = (una.add(9000), una.add(10_000));
    s.now += Duration::from_millis(20);
    s.ack_sack(una, &[last]);
    s.ack_sack(una, &[(una.add(3000), una.add(4000)), last]);
    assert_eq!(s.c.info(s.now).reordering, 7);
    s.ack_sack(una.add(1000), &[(una.add(3000), una.add(4000)), last]);
    let before = s.c.info(s.now);
    assert_eq!(before.snd_cwnd, 12, "the ACK of one more segment");
    // Reordered behind the ACK above: SND.UNA's old value, with a SACK
    // of the fifth segment, new.
    s.ack_sack(
        una,
        &[
            (una.add(4000), una.add(5000)),
            (una.add(3000), una.add(4000)),
        ],
    );
    let after = s.c.info(s.now);
    assert!(
        after.sacked > before.sacked,
        "the SACK was taken: {} {}",
        before.sacked,
        after.sacked
    );
    assert_eq!(after.snd_cwnd, 12);
}
