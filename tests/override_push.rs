//! Data held back by `SendMore` (or a cork) with nothing in flight goes
//! when the override timeout expires (RFC 9293 §3.8.6.2.1). Under
//! `Config::linux()` (`linux_push`) that segment carries PSH, as Linux's
//! `tcp_write_wakeup` sends it; under `Config::rfc9293()` data sent with
//! `SendMore` keeps no PSH (issue 15).

mod script;

use script::*;
use tcpstate::{AppCall, Duration, Timer};

#[test]
fn the_override_timeout_sends_held_data_with_psh_on_linux_only() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        s.app(|c, now| {
            c.on_app_call(now, AppCall::SendMore(&[7u8; 40]))
                .unwrap()
                .actions
        });
        s.silent();
        let t0 = s.now;
        // (Not acknowledged: the first of what follows is the one.)
        let sent = s.run_for(Duration::from_secs(2));
        let (at, p) = sent
            .iter()
            .find(|(_, p)| !p.payload.is_empty())
            .expect("the held data goes");
        // One RTO later (the persist timer: the timing is pinned by
        // tests/packetdrill/more-override.pkt).
        assert!(*at > t0, "linux {linux}");
        assert_eq!(p.payload.len(), 40);
        assert_eq!(
            p.flags(),
            if linux { f(PSH, ACK) } else { ACK },
            "linux {linux}"
        );
    }
}

/// RFC 9293 §3.8.6.2.1: the override timeout runs from when data is
/// held with nothing in flight. Held data that a later write pushes out
/// ends that timeout (the persist timer is off while data is in flight),
/// so the next hold gets a whole timeout of its own: its data goes one
/// RTO after it began, not when the earlier hold's timer would have run
/// out.
#[test]
fn each_hold_gets_a_whole_override_timeout() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        let more = |s: &mut Sut, data: &[u8]| {
            s.app(|c, now| c.on_app_call(now, AppCall::SendMore(data)).unwrap().actions);
        };
        more(&mut s, &[1u8; 40]);
        s.silent();
        assert_eq!(s.c.timer(Timer::Persist), Some(s.now + s.c.rto()));
        // A write without SendMore pushes the held data out at once.
        s.now += Duration::from_millis(100);
        s.send(&[2u8; 10]);
        let out = s.out();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload.len(), 50);
        assert_eq!(s.c.timer(Timer::Persist), None, "linux {linux}");
        s.now += Duration::from_millis(100);
        s.peer(ACK, &[]);
        // A second hold, 200 ms after the first began.
        s.now += Duration::from_millis(100);
        more(&mut s, &[3u8; 40]);
        s.silent();
        let (held, rto) = (s.now, s.c.rto());
        let sent = s.run_for(Duration::from_secs(3));
        let (at, p) = sent.first().expect("the held data goes");
        assert_eq!(p.payload, [3u8; 40]);
        assert_eq!(*at, held + rto, "linux {linux}");
    }
}
