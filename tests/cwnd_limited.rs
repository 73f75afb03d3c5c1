//! `Config::cwnd_limited` (issue 15): under `Config::linux()` cwnd grows
//! only while the flight uses it (Linux's `tcp_is_cwnd_limited`) and fast
//! recovery reduces cwnd, not the flight (RFC 9438 §4.6 with that
//! measure); under `Config::rfc9293()` every ACK of new data grows it and
//! recovery halves the flight (RFC 5681 §3.1, §3.2).
//! tests/packetdrill/cwnd-app-limited.pkt pins the Linux preset against
//! what Linux did.

mod script;

use script::*;
use tcpstate::Config;

const MSS: u32 = 536;

/// cwnd, in segments, after `n` segments sent at once (of an initial
/// window of ten) are acknowledged one at a time (RFC 3465's limit per
/// ACK plays no part).
fn cwnd_after_acking_each_of(linux: bool, n: u32) -> u32 {
    let mut s = established_with(preset(linux));
    let una = s.c.snd_nxt();
    let bytes = (n * MSS) as usize;
    assert_eq!(s.send(&vec![1; bytes]), bytes);
    assert_eq!(s.out().len(), n as usize);
    for k in 1..=n {
        s.peer_ack(ACK, una.add(k * MSS), &[]);
    }
    s.c.info(s.now).snd_cwnd
}

#[test]
fn an_application_limited_slow_start_grows_cwnd_on_rfc9293_only() {
    // Four segments: 10 is not below twice the flight of 4 (Linux); RFC
    // 5681 §3.1 grows by what each ACK covers.
    assert_eq!(cwnd_after_acking_each_of(false, 4), 14);
    assert_eq!(cwnd_after_acking_each_of(true, 4), 10);
    // Five: 10 is twice the flight, not below it.
    assert_eq!(cwnd_after_acking_each_of(false, 5), 15);
    assert_eq!(cwnd_after_acking_each_of(true, 5), 10);
}

#[test]
fn a_flight_that_fills_cwnd_grows_it_in_both_presets() {
    assert_eq!(cwnd_after_acking_each_of(false, 10), 20);
    assert_eq!(cwnd_after_acking_each_of(true, 10), 20);
}

#[test]
fn fast_recovery_reduces_cwnd_with_the_setting_and_the_flight_without() {
    for on in [false, true] {
        let mut s = established_with(Config {
            cwnd_limited: on,
            ..preset(true)
        });
        let una = s.c.snd_nxt();
        // Five segments of a cwnd of ten; three duplicate ACKs.
        assert_eq!(s.send(&[1; 5 * MSS as usize]), 5 * MSS as usize);
        assert_eq!(s.out().len(), 5);
        for _ in 0..3 {
            s.peer_ack(ACK, una, &[]);
        }
        let ssthresh = s.c.info(s.now).snd_ssthresh;
        // CUBIC's beta, 0.7: of cwnd (10 segments) with the setting, of
        // the flight (5) without (at least 2 segments).
        assert_eq!(ssthresh, if on { 7 } else { 4 }, "cwnd_limited {on}");
    }
}

/// The measure's window begins anew when data goes out with nothing in
/// flight (Linux's `tcp_cwnd_validate` starts a new window each round
/// trip): a flight that filled cwnd before an idle time says nothing of
/// the application-limited sender after it. Ten segments fill the
/// initial window and are acknowledged (cwnd 20); after an idle time
/// longer than the RTO cwnd restarts at the initial window (RFC 5681
/// §4.1, Linux `tcp_cwnd_restart`); one segment then, acknowledged,
/// does not grow cwnd (the flight did not use it: RFC 9438 §4.6, RFC
/// 7661), while RFC 5681 alone (`rfc9293`) grows it.
#[test]
fn r7661_a_flight_before_an_idle_time_does_not_grow_cwnd_after_it() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let una = s.c.snd_nxt();
        assert_eq!(s.send(&[1; 10 * MSS as usize]), 10 * MSS as usize);
        assert_eq!(s.out().len(), 10);
        for k in 1..=10 {
            s.peer_ack(ACK, una.add(k * MSS), &[]);
        }
        assert_eq!(s.c.cwnd(), 20 * MSS, "linux {linux}");
        s.run_for(tcpstate::Duration::from_secs(10));
        assert_eq!(s.send(&[2; MSS as usize]), MSS as usize);
        assert_eq!(s.out().len(), 1);
        assert_eq!(s.c.cwnd(), 10 * MSS, "restarted: linux {linux}");
        s.peer_ack(ACK, una.add(11 * MSS), &[]);
        let want = if linux { 10 } else { 11 };
        assert_eq!(s.c.cwnd(), want * MSS, "linux {linux}");
    }
}

/// Within a window the measure keeps the *largest* flight: eight
/// segments out (cwnd 10), a stretch ACK of five (cwnd 15, RFC 3465's
/// byte counting, no limit per ACK before a congestion event, as Linux's
/// `tcp_slow_start`) and one more segment (a flight of four) leave the
/// window's flight at eight, so in slow start the next ACK still grows
/// cwnd below twice that (Linux: "ensure cwnd grows to twice what was
/// ACKed").
#[test]
fn r7661_the_largest_flight_of_the_window_is_kept() {
    let mut s = established_with(preset(true));
    let una = s.c.snd_nxt();
    assert_eq!(s.send(&[1; 8 * MSS as usize]), 8 * MSS as usize);
    assert_eq!(s.out().len(), 8);
    s.peer_ack(ACK, una.add(5 * MSS), &[]);
    assert_eq!(s.c.cwnd(), 15 * MSS);
    assert_eq!(s.send(&[2; MSS as usize]), MSS as usize);
    assert_eq!(s.out().len(), 1);
    s.peer_ack(ACK, una.add(6 * MSS), &[]);
    assert_eq!(s.c.cwnd(), 16 * MSS);
    s.peer_ack(ACK, una.add(7 * MSS), &[]);
    assert_eq!(s.c.cwnd(), 16 * MSS, "twice the flight of eight");
}

/// A flight fills cwnd when no full segment more fits (Linux's
/// `tcp_is_cwnd_limited`: packets in flight >= cwnd): with an initial
/// window of two segments, a flight of one leaves room for one more and
/// its ACK does not grow cwnd in slow start (two is not below twice one),
/// while a flight of two fills it and each ACK grows it by a segment
/// (RFC 5681 §3.1).
#[test]
fn r5681_a_flight_one_segment_short_of_cwnd_does_not_fill_it() {
    for (n, want) in [(1, 2), (2, 4)] {
        let mut s = established_with(Config {
            initial_window: 2,
            ..preset(true)
        });
        let una = s.c.snd_nxt();
        assert_eq!(s.c.cwnd(), 2 * MSS);
        let bytes = (n * MSS) as usize;
        assert_eq!(s.send(&vec![1; bytes]), bytes);
        assert_eq!(s.out().len(), n as usize);
        for k in 1..=n {
            s.peer_ack(ACK, una.add(k * MSS), &[]);
        }
        assert_eq!(s.c.cwnd(), want * MSS, "a flight of {n}");
    }
}

/// At cwnd = ssthresh the sender is in congestion avoidance (RFC 5681
/// §3.1 lets either algorithm run there; Linux's `tcp_in_slow_start` is
/// `cwnd < ssthresh`), where only a flight that filled cwnd grows it:
/// slow start's "below twice the flight" no longer applies. After a fast
/// recovery (NewReno: ssthresh five segments) and slow start back up to
/// ssthresh, a flight of three of five is acknowledged: cwnd stays; a
/// full flight of five grows it (RFC 5681 §3.1, one segment a window).
#[test]
fn r5681_at_ssthresh_only_a_full_flight_grows_cwnd() {
    let mut s = established_with(Config {
        congestion: tcpstate::connection::congestion::Algorithm::NewReno,
        ..preset(true)
    });
    let mut una = s.c.snd_nxt();
    assert_eq!(s.send(&[1; 10 * MSS as usize]), 10 * MSS as usize);
    assert_eq!(s.out().len(), 10);
    for _ in 0..3 {
        s.peer_ack(ACK, una, &[]);
    }
    assert_eq!(s.out().len(), 1, "the fast retransmit");
    una = una.add(10 * MSS);
    s.peer_ack(ACK, una, &[]);
    assert_eq!(s.c.info(s.now).snd_ssthresh, 5);
    let mut round = |s: &mut Sut, n: u32| {
        assert_eq!(s.send(&vec![1; (n * MSS) as usize]), (n * MSS) as usize);
        assert_eq!(s.out().len(), n as usize);
        for k in 1..=n {
            s.peer_ack(ACK, una.add(k * MSS), &[]);
        }
        una = una.add(n * MSS);
        s.c.cwnd()
    };
    assert_eq!(round(&mut s, 2), 4 * MSS);
    assert_eq!(round(&mut s, 4), 5 * MSS, "slow start up to ssthresh");
    assert_eq!(round(&mut s, 3), 5 * MSS, "three of five");
    assert_eq!(round(&mut s, 5), 6 * MSS, "five of five");
}
