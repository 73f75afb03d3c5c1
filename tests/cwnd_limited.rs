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
