//! `Config::rto_min_in_variance` (issue 15): under `Config::linux()` the
//! RTO is SRTT + max(4 RTTVAR, RTO.min), as Linux's `tcp_rtt_estimator`
//! keeps its variance term; without it RFC 6298's max(SRTT + 4 RTTVAR,
//! RTO.min). tests/packetdrill/rto-min-variance.pkt pins the Linux preset
//! against what Linux did.

mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration};

/// The RTO, microseconds, after six round trips of 100 ms.
fn rto_after_steady_rtt(cfg: Config) -> u32 {
    // The handshake's sample is 100 ms too.
    let mut s = established_with_peer(cfg, TcpOptions::NONE, Duration::from_millis(100));
    for _ in 0..5 {
        let una = s.c.snd_nxt();
        assert_eq!(s.send(&[1; 100]), 100);
        assert_eq!(s.out().len(), 1);
        s.now += Duration::from_millis(100);
        s.peer_ack(ACK, una.add(100), &[]);
    }
    s.c.info(s.now).rto
}

#[test]
fn the_rto_adds_rto_min_to_srtt_on_linux_only() {
    assert_eq!(rto_after_steady_rtt(preset(true)), 300_000);
    let off = Config {
        rto_min_in_variance: false,
        ..preset(true)
    };
    // SRTT 100 ms + 4 RTTVAR (decaying) is below RTO.min, 200 ms.
    assert_eq!(rto_after_steady_rtt(off), 200_000);
    // RFC 6298's RTO.min, 1 s.
    assert_eq!(rto_after_steady_rtt(preset(false)), 1_000_000);
}
