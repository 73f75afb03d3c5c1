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

/// Ten segments out of fifteen queued; two duplicate ACKs (SACKing the
/// second and third segments, or plain) each let one more go (limited
/// transmit); then the ACK of the first three. Returns how many segments
/// that ACK lets go.
fn after_reordering(cfg: Config, sack: bool) -> usize {
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
    s.send(&[4u8; 15_000]);
    assert_eq!(s.out().len(), 10);
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
