//! tcp_info's `busy_time` and `rwnd_limited` (issue 15): Linux's
//! chronographs (`tcp_chrono_start`, `tcp_chrono_stop`), running from the
//! first time the peer's window holds data back with nothing in flight.
//! Both presets.

mod script;

use script::*;
use tcpstate::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// (busy_time, rwnd_limited) now.
fn clocks(s: &Sut) -> (u64, u64) {
    let info = s.c.info(s.now);
    (info.busy_time, info.rwnd_limited)
}

#[test]
fn the_peer_window_holding_data_back_is_timed() {
    for linux in [false, true] {
        // The peer opens with a zero window.
        let mut s = syn_sent_with(preset(linux));
        s.peer_wnd = 0;
        s.now += ms(10);
        s.peer(SYN | ACK, &[]);
        let _ = s.out();
        assert_eq!(clocks(&s), (0, 0));
        // Data waits for the window: 100 ms rwnd-limited.
        assert_eq!(s.send(&[1u8; 500]), 500);
        s.silent();
        s.now += ms(100);
        let info = s.c.info(s.now);
        assert_eq!(
            (info.busy_time, info.rwnd_limited),
            (100_000, 100_000),
            "linux {linux}"
        );
        // The window opens: the data goes, busy (not rwnd-limited) until
        // it is acknowledged 30 ms later.
        s.peer_wnd = 2000;
        s.seg(ACK, s.peer_nxt, ISS.add(1), &[]);
        assert_eq!(s.out().len(), 1);
        s.now += ms(30);
        s.seg(ACK, s.peer_nxt, ISS.add(501), &[]);
        // Idle: neither clock runs.
        s.now += ms(50);
        let info = s.c.info(s.now);
        assert_eq!(
            (info.busy_time, info.rwnd_limited),
            (130_000, 100_000),
            "linux {linux}"
        );
        // A window too small for the next segment holds it back again.
        s.peer_wnd = 10;
        s.seg(ACK, s.peer_nxt, ISS.add(501), &[]);
        assert_eq!(s.send(&[2u8; 500]), 500);
        s.silent();
        s.now += ms(20);
        let info = s.c.info(s.now);
        assert_eq!(
            (info.busy_time, info.rwnd_limited),
            (150_000, 120_000),
            "linux {linux}"
        );
    }
}

/// A connection the window never held back keeps no clock.
#[test]
fn no_clock_without_a_window_limit() {
    let mut s = established_with(preset(true));
    assert_eq!(s.send(&[1u8; 500]), 500);
    assert_eq!(s.out().len(), 1);
    s.now += ms(30);
    s.peer(ACK, &[]);
    assert_eq!(clocks(&s), (0, 0));
}

/// `tcpi_probes` counts unanswered keep-alive probes too (Linux's
/// `icsk_probes_out`, RFC 9293 §3.8.4), and an answer clears it.
#[test]
fn tcp_info_counts_unanswered_keepalive_probes() {
    for linux in [false, true] {
        let cfg = tcpstate::Config {
            keepalive: Some(tcpstate::Keepalive {
                idle: Duration::from_secs(10),
                interval: Duration::from_secs(1),
                probes: 5,
            }),
            ..preset(linux)
        };
        let mut s = established_with(cfg);
        for n in 1..=3 {
            s.fire();
            let p = s.expect(ACK, ISS, PEER_ISS.add(1));
            assert!(p.payload.len() <= 1);
            assert_eq!(s.c.info(s.now).probes, n, "linux {linux}");
        }
        s.seg(ACK, PEER_ISS.add(1), ISS.add(1), &[]);
        assert_eq!(s.c.info(s.now).probes, 0, "linux {linux}");
    }
}
