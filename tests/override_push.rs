//! Data held back by `SendMore` (or a cork) with nothing in flight goes
//! when the override timeout expires (RFC 9293 §3.8.6.2.1). Under
//! `Config::linux()` (`linux_push`) that segment carries PSH, as Linux's
//! `tcp_write_wakeup` sends it; under `Config::rfc9293()` data sent with
//! `SendMore` keeps no PSH (issue 15).

mod script;

use script::*;
use tcpstate::{AppCall, Duration};

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
