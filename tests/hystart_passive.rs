//! HyStart++ (RFC 9406) on a passive open: its rounds start at the ISS the
//! SYN was accepted with, as they do for an active open. (A round end left
//! where a fresh TCB had it, 0, lies ahead of every SND.UNA of an ISS in
//! the upper half of the sequence space, and no round ever ended.)

mod script;

use script::*;
use tcpstate::wire::{Segment, TcpOptions, Timestamps};
use tcpstate::{Buffers, Config, Connection, Duration, SeqNum, State};

const MSS: u16 = 1000;

fn opts(val: u32, ecr: u32) -> TcpOptions {
    TcpOptions {
        timestamps: Some(Timestamps { val, ecr }),
        ..TcpOptions::NONE
    }
}

/// (With `Config::hystart` off, the same RTT rise ends nothing: slow
/// start goes on, RFC 9406 being an option of the sender.)
#[test]
fn hystart_rounds_end_on_a_passive_open_with_an_iss_in_the_upper_half() {
    for (base, hystart) in [
        (Config::rfc9293(), true),
        (Config::linux(), true),
        (Config::rfc9293(), false),
        (Config::linux(), false),
    ] {
        let cfg = Config {
            window_scaling: false,
            hystart,
            ..base
        };
        let iss = SeqNum(0x9000_0000);
        let syn = Segment {
            seq: PEER_ISS,
            ack: SeqNum(0),
            flags: SYN,
            window: 65535,
            urgent: 0,
            options: TcpOptions {
                mss: Some(MSS),
                ..opts(1, 0)
            },
            payload: &[],
        };
        let Ok((c, _)) =
            Connection::accept(cfg, Buffers::with_capacity(65536, 1 << 20), T0, &syn, iss)
        else {
            panic!("a SYN");
        };
        let mut s = Sut {
            c,
            now: T0,
            changes: Vec::new(),
            last: tcpstate::Actions::NONE,
            peer_nxt: PEER_ISS.add(1),
            peer_wnd: 65535,
            peer_syn_opts: TcpOptions::NONE,
        };
        let synack = s.out();
        let val = synack[0].t.options.timestamps.expect("TS").val;
        s.now += Duration::from_millis(100);
        s.seg_opts(ACK, PEER_ISS.add(1), iss.add(1), opts(2, val), &[]);
        assert_eq!(s.c.state(), State::Established);
        assert_eq!(s.send(&vec![1u8; 1 << 20]), 1 << 20);
        // Four round trips: 100, 100, 150 and 150 ms. Each segment is
        // acknowledged on its own, echoing its TSval (a sample an ACK).
        let mut flight = s.out();
        for rtt in [100, 100, 150, 150] {
            s.now += Duration::from_millis(rtt);
            let mut next = Vec::new();
            for p in &flight {
                let ecr = p.t.options.timestamps.expect("TS").val;
                let end = p.seq().add(p.payload.len() as u32);
                s.seg_opts(ACK, PEER_ISS.add(1), end, opts(3, ecr), &[]);
                next.extend(s.out());
            }
            flight = next;
        }
        // The RTT rose by more than eta (RFC 9406 §4.2) for a whole round:
        // slow start ended.
        assert_eq!(
            s.c.stats().hystart_exits,
            u64::from(hystart),
            "{:?}",
            s.c.config().congestion
        );
        assert_eq!(s.c.info(s.now).snd_ssthresh < 0x7fff_ffff, hystart);
    }
}
