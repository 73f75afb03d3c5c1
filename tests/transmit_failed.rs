//! `Connection::on_transmit_failed` (issue 15): a segment the host could
//! not send (a full device queue, ENOBUFS, a qdisc that drops), as Linux
//! takes its qdisc's drop: new data stays unsent and the probe timer
//! (`tcp_probe_timer`) tries it again, first after the RTO, then every
//! 500 ms (`TCP_RESOURCE_PROBE_INTERVAL`), each failure a probe in
//! `tcpi_probes`, the backoff untouched, the user timeout counted from
//! the first probe. Both presets: the rule is the same.

mod script;

use script::*;
use tcpstate::wire::TcpOptions;
use tcpstate::{CloseReason, Config, Duration, State, Transmit};

/// ESTABLISHED after a 100 ms handshake, with `data` sent and ACKed 100
/// ms later (two RTT samples of 100 ms), then 100 more bytes queued.
fn after_one_exchange(cfg: Config) -> Sut {
    let mut s = established_with_peer(cfg, TcpOptions::NONE, Duration::from_millis(100));
    assert_eq!(s.send(&[1; 100]), 100);
    let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    assert_eq!(p.payload.len(), 100);
    s.now += Duration::from_millis(100);
    s.seg(ACK, PEER_ISS.add(1), ISS.add(101), &[]);
    s.silent();
    assert_eq!(s.send(&[2; 100]), 100);
    s
}

/// One poll: the segment the connection sends now, which the host then
/// fails to send.
#[track_caller]
fn poll_and_fail(s: &mut Sut) -> Transmit {
    let mut buf = vec![0u8; 2048];
    let t = s.c.poll_transmit(s.now, &mut buf).expect("a segment");
    let a = s.c.on_transmit_failed(s.now, &t);
    s.record(a);
    t
}

#[test]
fn new_data_that_could_not_leave_waits_for_the_probe_timer_as_linux() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        let rto = Duration::from_micros(u64::from(s.c.info(s.now).rto));
        let t = poll_and_fail(&mut s);
        assert_eq!((t.seq, t.len), (ISS.add(101), 100));
        // Taken back: nothing in flight, all 100 bytes unsent; no retry
        // before the probe timer.
        let i = s.c.info(s.now);
        assert_eq!((i.unacked, i.notsent_bytes, i.probes), (0, 100, 0));
        assert_eq!(s.c.snd_nxt(), ISS.add(101));
        s.silent();
        let start = s.now;
        assert_eq!(s.c.deadline(), Some(start + rto), "linux {linux}");
        // The probe timer's first try fails too: one probe, and the next
        // try 500 ms later.
        s.fire();
        let again = poll_and_fail(&mut s);
        assert_eq!((again.seq, again.len), (t.seq, 100));
        let i = s.c.info(s.now);
        assert_eq!((i.probes, i.backoff, i.unacked), (1, 0, 0));
        assert_eq!(
            s.c.deadline(),
            Some(start + rto + Duration::from_millis(500))
        );
        s.fire();
        poll_and_fail(&mut s);
        assert_eq!(s.c.info(s.now).probes, 2);
        assert_eq!(
            s.c.deadline(),
            Some(start + rto + Duration::from_millis(1000))
        );
        // The queue has room again: the next try goes out, and a probe
        // that went out clears the count.
        s.fire();
        let p = s.expect(f(ACK, PSH), ISS.add(101), PEER_ISS.add(1));
        assert_eq!(p.payload, vec![2; 100]);
        let i = s.c.info(s.now);
        assert_eq!((i.probes, i.unacked), (0, 1));
        s.now += Duration::from_millis(100);
        s.seg(ACK, PEER_ISS.add(1), ISS.add(201), &[]);
        assert_eq!(s.c.info(s.now).unacked, 0);
        assert_eq!(s.c.state(), State::Established);
    }
}

/// Linux's `tcp_probe_timer`: with a user timeout, the connection times
/// out at the probe timer once the user timeout has passed since the
/// first probe (`icsk_probes_tstamp`); the probes before it are spaced
/// 500 ms, the last clamped to what is left (`tcp_clamp_probe0_to_user_timeout`).
#[test]
fn the_user_timeout_counts_from_the_first_probe() {
    for (linux, ut_ms, probes) in [(false, 3000, 6), (true, 3000, 6), (true, 2800, 6)] {
        let cfg = Config {
            user_timeout: Some(Duration::from_millis(ut_ms)),
            ..preset(linux)
        };
        let mut s = after_one_exchange(cfg);
        poll_and_fail(&mut s);
        s.fire();
        let first_probe = s.now;
        poll_and_fail(&mut s);
        while s.c.state() != State::Closed {
            s.fire();
            if s.c.state() == State::Closed {
                break;
            }
            poll_and_fail(&mut s);
            assert!(s.now < first_probe + Duration::from_secs(10));
        }
        assert_eq!(s.now, first_probe + Duration::from_millis(ut_ms));
        s.closed_by(CloseReason::UserTimeout);
        assert_eq!(s.c.info(s.now).probes, probes, "linux {linux}, {ut_ms} ms");
    }
}

/// An acceptable ACK releases held data at once (Linux's `tcp_ack` ->
/// `tcp_ack_probe`, then `tcp_data_snd_check`) and clears the probes.
#[test]
fn an_ack_releases_held_data() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        poll_and_fail(&mut s);
        s.fire();
        poll_and_fail(&mut s);
        assert_eq!(s.c.info(s.now).probes, 1);
        // A window update from the peer.
        s.now += Duration::from_millis(10);
        s.seg_wnd(ACK, PEER_ISS.add(1), ISS.add(101), 65000, &[]);
        assert_eq!(s.c.info(s.now).probes, 0);
        let p = s.expect(f(ACK, PSH), ISS.add(101), PEER_ISS.add(1));
        assert_eq!(p.payload.len(), 100);
    }
}

/// Not covered: a retransmission that could not leave stays sent (and
/// lost): the retransmission timer recovers it, as before.
#[test]
fn a_retransmission_is_left_to_the_retransmission_timer() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        let p = s.expect(f(ACK, PSH), ISS.add(101), PEER_ISS.add(1));
        assert_eq!(p.payload.len(), 100);
        // The RTO resends it; that resend fails.
        s.fire();
        let t = poll_and_fail(&mut s);
        assert_eq!(t.seq, ISS.add(101));
        assert_eq!(s.c.snd_nxt(), ISS.add(201));
        assert_eq!(s.c.info(s.now).unacked, 1);
        s.silent();
        // The next timeout resends it again.
        s.fire();
        let p = s.expect(f(ACK, PSH), ISS.add(101), PEER_ISS.add(1));
        assert_eq!(p.payload.len(), 100);
    }
}

/// SACK blocks as TCP options.
fn sacks(blocks: &[(tcpstate::SeqNum, tcpstate::SeqNum)]) -> TcpOptions {
    let mut s = tcpstate::wire::SackBlocks::new();
    for &(l, r) in blocks {
        s.push(l, r);
    }
    TcpOptions {
        sack: s,
        ..TcpOptions::NONE
    }
}

/// A SACK-based retransmission in recovery that could not leave stays
/// lost and unsent (Linux's `tcp_xmit_retransmit_queue` when
/// `tcp_retransmit_skb` fails): not in `TcpInfo::retrans` (the attempt
/// stays in `total_retrans`, as Linux counts it), no retry until the next
/// ACK, which sends it.
#[test]
fn a_sack_retransmission_that_could_not_leave_waits_for_the_next_ack() {
    for linux in [false, true] {
        let cfg = Config {
            sack: true,
            ..preset(linux)
        };
        let opts = TcpOptions {
            sack_permitted: true,
            mss: Some(1000),
            ..TcpOptions::NONE
        };
        let mut s = established_with_peer(cfg, opts, Duration::from_millis(100));
        let mss = u32::from(s.c.effective_mss());
        assert_eq!(s.send(&vec![3u8; 5 * mss as usize]), 5 * mss as usize);
        assert_eq!(s.out().len(), 5);
        let una = ISS.add(1);
        let m = |k: u32| una.add(mss * k);
        let peer = PEER_ISS.add(1);
        s.now += Duration::from_millis(100);
        s.seg_opts(ACK, peer, una, sacks(&[(m(1), m(4))]), &[]);
        let t = poll_and_fail(&mut s);
        assert_eq!((t.seq, t.len), (una, mss as usize), "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!((i.retrans, i.total_retrans), (0, 1), "linux {linux}");
        s.silent();
        s.now += Duration::from_millis(10);
        s.seg_opts(ACK, peer, una, sacks(&[(m(1), m(5))]), &[]);
        let v = s.out();
        assert_eq!(
            v.first().map(|p| (p.seq(), p.payload.len())),
            Some((una, mss as usize))
        );
        let i = s.c.info(s.now);
        assert_eq!((i.retrans, i.total_retrans), (1, 2), "linux {linux}");
    }
}

/// Not covered: a FIN alone (no data to probe with) stays sent and lost;
/// the retransmission timer resends it.
#[test]
fn a_fin_alone_is_left_to_the_retransmission_timer() {
    for linux in [false, true] {
        let mut s = established_with(preset(linux));
        s.shutdown();
        let t = poll_and_fail(&mut s);
        assert!(t.flags.fin() && t.len == 0, "{t:?}");
        assert_eq!(s.c.snd_nxt(), ISS.add(2));
        s.silent();
        s.fire();
        s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(1));
    }
}
