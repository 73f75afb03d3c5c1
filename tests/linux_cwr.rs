//! Linux's CWR state (`Config::linux_cwr`, on in `Config::linux()`): an
//! ECN-Echo sets ssthresh at once but brings cwnd down to it by
//! Proportional Rate Reduction (RFC 9937) over the round trip that
//! follows, one ACK at a time, as Linux's `tcp_enter_cwr` and
//! `tcp_cwnd_reduction` do; `Config::rfc9293()` halves cwnd at once (RFC
//! 3168 §6.1.2). The numbers are those of
//! tests/packetdrill/ecn-cwr-prr.pkt, which Linux 6.18 passes.
mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{Config, Duration, Flags, SeqNum};

const MSS: u32 = 1000;
/// `tcpi_ca_state`: TCP_CA_Open, TCP_CA_CWR, TCP_CA_Recovery, TCP_CA_Loss.
const OPEN: u8 = 0;
const CWR: u8 = 2;
const RECOVERY: u8 = 3;
const LOSS: u8 = 4;

/// ESTABLISHED by an active open with ECN negotiated (RFC 3168 §6.1.1),
/// SACK on, the peer's MSS 1000, an RTT of 100 ms.
fn established_ecn(cfg: Config) -> Sut {
    let cfg = Config {
        ecn: true,
        sack: true,
        ..cfg
    };
    let mut s = Sut::with_buffers(cfg, 65536, 65536);
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let syn = s.out();
    assert!(syn[0].flags().contains(f(SYN, f(Flags::ECE, Flags::CWR))));
    s.peer_syn_opts = TcpOptions {
        mss: Some(MSS as u16),
        sack_permitted: true,
        ..TcpOptions::NONE
    };
    s.now += Duration::from_millis(100);
    s.peer(f(f(SYN, ACK), Flags::ECE), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert!(s.c.ecn_enabled());
    s
}

fn linux() -> Config {
    preset(true)
}

/// Ten segments in flight (the initial window), nothing more to send.
fn ten_in_flight(s: &mut Sut) {
    assert_eq!(s.c.cwnd(), 10 * MSS);
    assert_eq!(s.send(&[7; 10_000]), 10_000);
    assert_eq!(s.out().len(), 10);
    s.now += Duration::from_millis(100);
}

/// The peer acknowledges up to `n` bytes of data, with ECE or without.
fn ack(s: &mut Sut, n: u32, ece: bool) {
    let flags = if ece { f(ACK, Flags::ECE) } else { ACK };
    let seq = s.peer_nxt;
    s.seg(flags, seq, ISS.add(1 + n), &[]);
}

/// (cwnd in segments, ssthresh in segments, tcpi_ca_state)
fn window(s: &Sut) -> (u32, u32, u8) {
    let i = s.c.info(s.now);
    (i.snd_cwnd, i.snd_ssthresh, i.ca_state)
}

// Config::linux_cwr, RFC 9937 applied to an ECN reduction: cwnd follows
// in_flight + sndcnt, ACK after ACK, and ends at ssthresh once SND.UNA is
// past SND.MAX as it was at the ECE.
#[test]
fn linux_cwr_brings_cwnd_down_by_prr_over_a_round_trip() {
    let mut s = established_ecn(linux());
    ten_in_flight(&mut s);
    // ECE with two segments delivered: ssthresh 7 (CUBIC's 0.7), in flight
    // 8 > 7: sndcnt = ceil(7 * 2 / 10) = 2, cwnd 8 + 2.
    ack(&mut s, 2000, true);
    assert_eq!(window(&s), (10, 7, CWR));
    assert_eq!(s.c.stats().ecn_reductions, 1);
    // A second ECE in the state reduces nothing more; in flight 6 <= 7:
    // sndcnt = min(7 - 6, max(4 - 0, 2) + 1) = 1.
    ack(&mut s, 4000, true);
    assert_eq!(window(&s), (7, 7, CWR));
    assert_eq!(s.c.stats().ecn_reductions, 1);
    ack(&mut s, 6000, false);
    assert_eq!(window(&s), (7, 7, CWR));
    // SND.UNA at SND.MAX of the ECE, not past it: still CWR, and cwnd did
    // not grow on these ACKs of new data.
    ack(&mut s, 10_000, false);
    assert_eq!(window(&s), (7, 7, CWR));
    // The next data carries CWR (RFC 3168 §6.1.2); seven segments may go.
    assert_eq!(s.send(&[8; 10_000]), 10_000);
    let out = s.out();
    assert_eq!(out.len(), 7, "cwnd 7, nothing in flight");
    assert!(out[0].flags().contains(Flags::CWR));
    assert!(out[1..].iter().all(|p| !p.flags().contains(Flags::CWR)));
    // An ACK above it ends the state: cwnd = ssthresh.
    s.now += Duration::from_millis(100);
    ack(&mut s, 12_000, false);
    assert_eq!(window(&s), (7, 7, OPEN));
}

// RFC 3168 §6.1.2 (`Config::rfc9293()`): cwnd is halved at once, and the
// state of Linux is not entered.
#[test]
fn r3168_rfc9293_halves_cwnd_at_once() {
    let mut s = established_ecn(preset(false));
    assert!(!Config::rfc9293().linux_cwr && Config::linux().linux_cwr);
    ten_in_flight(&mut s);
    ack(&mut s, 2000, true);
    // NewReno: ssthresh = FlightSize / 2 (RFC 5681 §3.1), cwnd with it.
    // tcp_info calls it CWR until the CWR flag is sent.
    assert_eq!(window(&s), (5, 5, CWR));
    assert_eq!(s.c.stats().ecn_reductions, 1);
    ack(&mut s, 4000, true);
    assert_eq!(s.c.stats().ecn_reductions, 1, "once per window");
    ack(&mut s, 10_000, false);
    assert_eq!(window(&s).2, CWR);
    assert_eq!(s.send(&[8; 1000]), 1000);
    assert!(s.out()[0].flags().contains(Flags::CWR));
    assert_eq!(window(&s).2, OPEN);
}

// Without the flag, linux() behaves as rfc9293() does on an ECE: the cut is
// at once (the flag alone decides).
#[test]
fn linux_cwr_off_cuts_at_once() {
    let mut s = established_ecn(Config {
        linux_cwr: false,
        ..linux()
    });
    ten_in_flight(&mut s);
    ack(&mut s, 2000, true);
    let (cwnd, ssthresh, _) = window(&s);
    assert_eq!((cwnd, ssthresh), (7, 7));
}

// While the state lasts, the SACK scoreboard counts for pipe: what the peer
// SACKed has left the network (Linux's tcp_packets_in_flight).
#[test]
fn linux_cwr_counts_sacked_data_out_of_pipe() {
    let mut s = established_ecn(linux());
    ten_in_flight(&mut s);
    ack(&mut s, 2000, true);
    assert_eq!(window(&s), (10, 7, CWR));
    // One segment SACKed above a gap, no new ACK: pipe 8 - 1 = 7 <= 7,
    // delivered 1: sndcnt = min(7 - 7, ...) = 0, but one segment may go
    // while none has since the ECE (Linux: `max(sndcnt, prr_out ? 0 :
    // 1)`): cwnd = pipe + 1 = 8. Counted from the flight, it would be 9.
    let base = ISS.add(1);
    s.ack_sack(base.add(2000), &[(base.add(3000), base.add(4000))]);
    assert_eq!(window(&s), (8, 7, CWR));
    // That segment goes: PRR counts it, and the next SACK (delivered 1,
    // pipe 8 - 1 = 7) allows nothing more: cwnd = pipe.
    assert_eq!(s.send(&[9; 1000]), 1000);
    assert_eq!(s.out().len(), 1);
    s.ack_sack(base.add(2000), &[(base.add(3000), base.add(5000))]);
    assert_eq!(window(&s), (7, 7, CWR));
}

// A fast recovery that starts during the state takes it over: no second
// reduction of ssthresh (Linux's tcp_enter_recovery while
// tcp_in_cwnd_reduction), and the state is Recovery.
#[test]
fn linux_cwr_then_loss_does_not_reduce_twice() {
    let mut s = established_ecn(linux());
    ten_in_flight(&mut s);
    ack(&mut s, 2000, true);
    ack(&mut s, 10_000, false);
    assert_eq!(window(&s), (7, 7, CWR));
    assert_eq!(s.send(&[8; 7000]), 7000);
    assert_eq!(s.out().len(), 7);
    // SND.UNA at SND.MAX of the ECE (10000): the segment after it is lost,
    // and three SACKed segments above make it lost (RFC 6675 §5).
    let base = ISS.add(1);
    s.now += Duration::from_millis(100);
    s.ack_sack(base.add(10_000), &[(base.add(11_000), base.add(14_000))]);
    let (_, ssthresh, ca) = window(&s);
    assert_eq!((ssthresh, ca), (7, RECOVERY));
    let rtx = s.out();
    assert_eq!(rtx[0].seq(), base.add(10_000), "the fast retransmit");
}

// A timeout ends the state (Linux's tcp_enter_loss): the loss window, and
// the ACKs after it grow cwnd again.
#[test]
fn linux_cwr_ends_at_a_timeout() {
    let mut s = established_ecn(linux());
    ten_in_flight(&mut s);
    ack(&mut s, 2000, true);
    assert_eq!(window(&s).2, CWR);
    // A loss probe first (RFC 8985 §7; Linux probes in CWR too), then the
    // retransmission timeout.
    s.fire();
    assert_eq!(window(&s).2, CWR);
    let _ = s.out();
    s.fire();
    let (cwnd, _, ca) = window(&s);
    assert_eq!((cwnd, ca), (1, LOSS));
    let rtx = s.out();
    assert_eq!(rtx[0].seq(), ISS.add(1 + 2000));
    // Everything acknowledged: out of loss, not back in CWR.
    s.now += Duration::from_millis(100);
    ack(&mut s, 10_000, false);
    let (cwnd, _, ca) = window(&s);
    assert_eq!(ca, OPEN);
    assert!(cwnd >= 2, "cwnd grows after the timeout: {cwnd}");
    let _ = SeqNum(0);
}

// A new open on the same Connection starts outside the state, whatever the
// last connection left (`reset_tcb`): here urgent data, which turns the
// general paths on, finds no reduction in progress.
#[test]
fn linux_cwr_does_not_outlive_its_connection() {
    let mut s = established_ecn(linux());
    ten_in_flight(&mut s);
    ack(&mut s, 2000, true);
    assert_eq!(window(&s).2, CWR);
    s.abort();
    s.app(|c, now| c.connect(now, ISS).unwrap());
    let _ = s.out();
    s.now += Duration::from_millis(100);
    s.peer_nxt = PEER_ISS;
    s.peer(f(f(SYN, ACK), Flags::ECE), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    assert!(s.c.ecn_enabled());
    let now = s.now;
    let o = s.c.send_urgent(now, b"!").unwrap();
    s.record(o.actions);
    assert_eq!(window(&s).2, OPEN);
    let out = s.out();
    assert!(out[0].flags().contains(Flags::URG), "{out:?}");
}

// An ECE with nothing of ours in flight reduces nothing, in both presets
// (Linux's tcp_ack skips its congestion response without packets out,
// `no_queue`): a peer still echoing ECE on its own data after all ours
// was acknowledged does not cut a window no data of ours was marked in.
#[test]
fn an_ece_with_nothing_in_flight_reduces_nothing() {
    for linux in [false, true] {
        let mut s = established_ecn(preset(linux));
        ten_in_flight(&mut s);
        ack(&mut s, 10_000, false);
        let before = window(&s);
        let seq = s.peer_nxt;
        s.seg(f(ACK, Flags::ECE), seq, ISS.add(10_001), &[]);
        assert_eq!(window(&s), before, "linux {linux}");
        assert_eq!(s.c.stats().ecn_reductions, 0, "linux {linux}");
    }
}

// RFC 3168 §6.1.2 and §6.1.5: CWR goes on the first new data after a
// reduction, and only data is ECN-capable: a FIN alone after an ECN-Echo
// carries neither CWR nor ECT (Linux's `tcp_ecn_send` marks segments with
// data only). Both presets.
#[test]
fn a_fin_alone_after_an_ecn_echo_is_not_ect_and_carries_no_cwr() {
    for linux in [false, true] {
        let mut s = established_ecn(preset(linux));
        assert_eq!(s.send(&[7; 3000]), 3000);
        let out = s.out();
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|p| p.t.ect), "linux {linux}: data is ECT");
        s.now += Duration::from_millis(100);
        ack(&mut s, 3000, true);
        s.close();
        let out = s.out();
        assert_eq!(out.len(), 1, "linux {linux}: {out:#?}");
        assert!(out[0].flags().contains(FIN) && out[0].payload.is_empty());
        assert!(!out[0].t.ect, "linux {linux}");
        assert!(!out[0].flags().contains(Flags::CWR), "linux {linux}");
    }
}
