//! `Config::synack_tsecr_check` (issue 15): under `Config::linux()` a
//! SYN,ACK whose TSecr echoes a TSval not yet sent is reset and dropped,
//! and SYN-SENT goes on (Linux's active-side PAWS check); under
//! `Config::rfc9293()` it completes the handshake (RFC 7323 §5.3 applies
//! PAWS to synchronized connections only).
//! tests/packetdrill/synack-tsecr-unsent.pkt pins the Linux preset against
//! what Linux did.

mod script;

use script::*;
use tcpstate::wire::{TcpOptions, Timestamps};
use tcpstate::{Config, SeqNum, State};

fn synack(s: &mut Sut, ecr: u32) {
    let options = TcpOptions {
        mss: Some(1460),
        sack_permitted: true,
        timestamps: Some(Timestamps { val: 700, ecr }),
        ..TcpOptions::NONE
    };
    s.seg_opts(f(SYN, ACK), PEER_ISS, ISS.add(1), options, &[]);
}

#[test]
fn a_synack_echoing_an_unsent_tsval_is_reset_on_linux_only() {
    for linux in [false, true] {
        let mut s = Sut::new(Config {
            window_scaling: false,
            ..if linux {
                Config::linux()
            } else {
                Config::rfc9293()
            }
        });
        s.app(|c, now| c.connect(now, ISS).unwrap());
        let syn = s.expect(SYN, ISS, SeqNum(0));
        let val = syn.t.options.timestamps.expect("TS on the SYN").val;
        s.now += tcpstate::Duration::from_millis(100);
        // 5 s ahead of our clock: echoes nothing we sent.
        synack(&mut s, val.wrapping_add(5_100));
        if linux {
            s.expect(RST, ISS.add(1), SeqNum(0));
            assert_eq!(s.c.state(), State::SynSent);
            assert_eq!(s.c.stats().dropped, 1, "counted as dropped");
            // A valid one completes the handshake.
            synack(&mut s, val);
            assert_eq!(s.c.state(), State::Established);
        } else {
            assert_eq!(s.c.state(), State::Established, "rfc9293");
        }
    }
}
