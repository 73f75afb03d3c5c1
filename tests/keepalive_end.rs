//! Keep-alive that gives up (RFC 1122 §4.2.3.6): `Config::linux()` sends
//! a RST with ACK first, as Linux's `tcp_keepalive_timer` does
//! (`Config::rst_with_ack`); `Config::rfc9293()` ends the connection
//! silently, RFC 1122 naming no segment to send (issue 15).

mod script;

use script::*;
use tcpstate::{CloseReason, Config, Duration, Keepalive, State as S, Timer};

fn preset(linux: bool) -> Config {
    Config {
        timestamps: false,
        window_scaling: false,
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(2),
            interval: Duration::from_secs(1),
            probes: 2,
        }),
        ..if linux {
            Config::linux()
        } else {
            Config::rfc9293()
        }
    }
}

#[test]
fn keepalive_gives_up_with_a_rst_on_linux_and_silently_per_rfc() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let t0 = s.now;
        let sent = s.run_for(Duration::from_secs(10));
        assert_eq!(s.c.state(), S::Closed, "linux {linux}");
        s.closed_by(CloseReason::TimedOut);
        let at: Vec<_> = sent.iter().map(|(t, _)| *t - t0).collect();
        let probes = [Duration::from_secs(2), Duration::from_secs(3)];
        // Two probes (one below SND.NXT, RFC 1122 §4.2.3.6), then the end.
        for (i, p) in probes.iter().enumerate() {
            assert_eq!(at[i], *p, "{sent:#?}");
            assert_eq!(sent[i].1.seq(), ISS, "{sent:#?}");
            assert_eq!(sent[i].1.flags(), ACK);
        }
        if linux {
            assert_eq!(sent.len(), 3, "{sent:#?}");
            assert_eq!(at[2], Duration::from_secs(4));
            assert_eq!(sent[2].1.flags(), f(RST, ACK));
            assert_eq!(sent[2].1.seq(), ISS.add(1));
            assert_eq!(sent[2].1.ack(), PEER_ISS.add(1));
        } else {
            assert_eq!(sent.len(), 2, "{sent:#?}");
        }
    }
}

/// RFC 1122 §4.2.3.6: keep-alives are for an idle connection. A segment
/// from the peer restarts the keep-alive timer only when nothing of ours
/// is in flight: while data waits for its ACK the retransmission timer
/// watches the peer, and the keep-alive timer is off until the ACK that
/// empties the flight starts it again.
#[test]
fn the_keepalive_timer_runs_only_while_nothing_is_in_flight() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let idle = Duration::from_secs(2);
        assert_eq!(s.c.timer(Timer::Keepalive), Some(s.now + idle));
        s.now += Duration::from_millis(100);
        s.send(b"data");
        assert_eq!(s.out().len(), 1);
        // The peer's data, acknowledging none of ours.
        s.now += Duration::from_millis(100);
        s.peer_ack(f(PSH, ACK), ISS.add(1), b"x");
        assert_eq!(s.c.timer(Timer::Keepalive), None, "linux {linux}");
        assert!(s.c.timer(Timer::Retransmit).is_some());
        s.now += Duration::from_millis(100);
        s.peer(ACK, &[]);
        assert_eq!(s.c.snd_una(), ISS.add(5));
        assert_eq!(s.c.timer(Timer::Keepalive), Some(s.now + idle));
        assert_eq!(s.c.timer(Timer::Retransmit), None);
    }
}

/// RFC 1122 §4.2.3.6: keep-alives probe an idle connection. Data sent
/// after the keep-alive timer was last armed (the call that queued it saw
/// nothing in flight yet) is watched by the retransmission timer; when the
/// keep-alive timer comes first it sends no probe (as Linux's
/// `tcp_keepalive_timer` only reschedules while packets are out), and the
/// data's retransmission is the next segment.
#[test]
fn a_keepalive_timer_that_fires_with_data_in_flight_sends_no_probe() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let t0 = s.now;
        let rto = s.c.rto();
        s.now += Duration::from_millis(1900);
        s.send(b"data");
        assert_eq!(s.out().len(), 1);
        let sent = s.run_until(t0 + Duration::from_millis(1900) + rto);
        assert_eq!(sent.len(), 1, "linux {linux}: {sent:#?}");
        assert_eq!(sent[0].1.seq(), ISS.add(1), "the retransmission");
        assert_eq!(sent[0].1.payload, b"data");
        assert_eq!(s.c.state(), S::Established);
    }
}
