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

/// ESTABLISHED with SACK and the peer's MSS of 1000 bytes, after a
/// 100 ms handshake.
fn established_with_sack(linux: bool) -> Sut {
    let cfg = Config {
        sack: true,
        ..preset(linux)
    };
    let opts = TcpOptions {
        sack_permitted: true,
        mss: Some(1000),
        ..TcpOptions::NONE
    };
    established_with_peer(cfg, opts, Duration::from_millis(100))
}

/// A SACK-based retransmission in recovery that could not leave stays
/// lost and unsent (Linux's `tcp_xmit_retransmit_queue` when
/// `tcp_retransmit_skb` fails): not in `TcpInfo::retrans` (the attempt
/// stays in `total_retrans`, as Linux counts it), no retry until the next
/// ACK, which sends it.
#[test]
fn a_sack_retransmission_that_could_not_leave_waits_for_the_next_ack() {
    for linux in [false, true] {
        let mut s = established_with_sack(linux);
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

/// Not covered: the data a Fast Open child sends in SYN-RECEIVED, before
/// the peer has acknowledged its SYN,ACK (RFC 7413 §4.2.2), stays sent
/// and lost, as a SYN,ACK does: only data after the handshake is taken
/// back.
#[test]
fn a_fast_open_childs_data_before_its_syn_ack_is_acked_stays_sent() {
    for linux in [false, true] {
        let mut s = fast_open_child_with(preset(linux), b"request");
        let v = s.out();
        assert!(v.len() == 1 && v[0].flags().syn(), "{v:#?}");
        assert_eq!(s.send(b"response"), 8);
        let start = s.c.snd_nxt();
        let t = poll_and_fail(&mut s);
        assert_eq!((t.seq, t.len), (start, 8), "linux {linux}");
        assert_eq!(s.c.state(), State::SynReceived);
        assert_eq!(s.c.snd_nxt(), start.add(8), "linux {linux}");
        assert_eq!(s.c.info(s.now).notsent_bytes, 0, "linux {linux}");
        s.silent();
    }
}

/// New data with the FIN on it is taken back whole (Linux keeps the skb,
/// its FIN included, in the write queue): SND.NXT returns to its first
/// byte, and the probe timer sends data and FIN again.
#[test]
fn new_data_with_its_fin_is_taken_back_whole() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        s.shutdown();
        let t = poll_and_fail(&mut s);
        assert!(t.flags.fin(), "{t:?}");
        assert_eq!((t.seq, t.len), (ISS.add(101), 100));
        assert_eq!(s.c.snd_nxt(), ISS.add(101), "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!((i.unacked, i.notsent_bytes), (0, 100), "linux {linux}");
        s.silent();
        s.fire();
        let p = s.expect(f(FIN, f(ACK, PSH)), ISS.add(101), PEER_ISS.add(1));
        assert_eq!(p.payload, vec![2; 100]);
        assert_eq!(s.c.snd_nxt(), ISS.add(202));
    }
}

/// A failure reported late, after the peer acknowledged the segment
/// (the call is meant right after the poll), changes nothing: the bytes
/// left the send buffer with their ACK and are not sent again.
#[test]
fn a_failure_reported_after_the_segments_ack_changes_nothing() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        let mut buf = vec![0u8; 2048];
        let t = s.c.poll_transmit(s.now, &mut buf).expect("the 100 bytes");
        assert_eq!((t.seq, t.len), (ISS.add(101), 100));
        s.now += Duration::from_millis(100);
        s.seg(ACK, PEER_ISS.add(1), ISS.add(201), &[]);
        let a = s.c.on_transmit_failed(s.now, &t);
        s.record(a);
        assert_eq!(s.c.snd_nxt(), ISS.add(201), "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!((i.unacked, i.notsent_bytes, i.probes), (0, 0, 0));
        assert_eq!(s.c.deadline(), None, "linux {linux}");
        s.silent();
    }
}

/// Without a user timeout, the connection times out after `retries2`
/// failed probes (Linux's `tcp_probe_timer`: `icsk_probes_out` reaching
/// `tcp_retries2`), each 500 ms after the last.
#[test]
fn retries2_failed_probes_time_the_connection_out() {
    for linux in [false, true] {
        let cfg = preset(linux);
        let retries2 = cfg.retries2;
        let mut s = after_one_exchange(cfg);
        poll_and_fail(&mut s);
        s.fire();
        let first_probe = s.now;
        let mut probes = 0;
        loop {
            poll_and_fail(&mut s);
            probes += 1;
            assert_eq!(s.c.info(s.now).probes, probes, "linux {linux}");
            s.fire();
            if s.c.state() == State::Closed {
                break;
            }
            assert!(probes < 100, "linux {linux}: no end");
        }
        s.closed_by(CloseReason::TimedOut);
        assert_eq!(probes, retries2, "linux {linux}");
        assert_eq!(
            s.now,
            first_probe + Duration::from_millis(500) * u32::from(retries2)
        );
    }
}

/// Not covered: the resend of a Fast Open SYN's data the SYN,ACK did not
/// acknowledge (RFC 7413 §4.1.3) is a retransmission, left as sent even
/// when the segment that failed is the last polled: the data after it
/// stays sent too. In one segment (the peer's MSS 1460), or two (600).
#[test]
fn the_resend_of_fast_open_syn_data_is_left_as_sent() {
    for (linux, peer_mss) in [(false, 600), (true, 600), (false, 1460), (true, 1460)] {
        let mut s = Sut::new(preset(linux));
        s.app(|c, now| c.connect_fast_open(now, ISS, 1400).unwrap());
        assert_eq!(s.send(&[7u8; 1000]), 1000);
        let p = s.expect(SYN, ISS, tcpstate::SeqNum(0));
        assert_eq!(p.payload.len(), 1000);
        s.now += Duration::from_millis(100);
        s.peer_syn_opts = TcpOptions {
            mss: Some(peer_mss),
            ..TcpOptions::NONE
        };
        // The peer took the SYN, not its data.
        s.peer_ack(f(SYN, ACK), ISS.add(1), &[]);
        assert_eq!(s.c.state(), State::Established);
        let t = poll_and_fail(&mut s);
        let first = usize::from(peer_mss).min(1000);
        assert_eq!((t.seq, t.len), (ISS.add(1), first), "linux {linux}");
        assert_eq!(s.c.snd_nxt(), ISS.add(1 + first as u32), "linux {linux}");
        assert_eq!(s.c.info(s.now).notsent_bytes, 0, "linux {linux}");
    }
}

/// Not covered: a loss probe (RFC 8985 §7.3) that resent the last
/// segment and could not leave stays sent; the retransmission timer
/// recovers it.
#[test]
fn a_loss_probe_that_could_not_leave_stays_sent() {
    for linux in [false, true] {
        let mut s = established_with_sack(linux);
        assert_eq!(s.send(&[5; 100]), 100);
        let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
        assert_eq!(p.payload.len(), 100);
        s.fire();
        let t = poll_and_fail(&mut s);
        assert_eq!((t.seq, t.len), (ISS.add(1), 100), "linux {linux}");
        assert_eq!(s.c.info(s.now).backoff, 0, "a loss probe, not a timeout");
        assert_eq!(s.c.snd_nxt(), ISS.add(101), "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!((i.unacked, i.notsent_bytes), (1, 0), "linux {linux}");
    }
}

/// Not covered: the last segment of a go-back-N resend after a timeout
/// (RFC 5681 §3.1; RFC 6582's recovery point at SND.MAX) stays sent when
/// it could not leave, though it ends at SND.MAX.
#[test]
fn the_last_segment_of_a_go_back_n_resend_stays_sent() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        // Two full segments in flight (the 100 bytes queued and more).
        let mss = u32::from(s.c.effective_mss());
        let more = 2 * mss as usize - 100;
        assert_eq!(s.send(&vec![3; more]), more);
        let start = ISS.add(101);
        let end = start.add(2 * mss);
        let v = s.out();
        let sent: Vec<_> = v.iter().map(|p| (p.seq(), p.payload.len())).collect();
        assert_eq!(
            sent,
            [(start, mss as usize), (start.add(mss), mss as usize)]
        );
        // The timeout resends the first segment; its ACK lets the second
        // go again, the last of the resend.
        s.fire();
        assert_eq!(s.c.info(s.now).backoff, 1, "linux {linux}");
        s.expect(ACK, start, PEER_ISS.add(1));
        s.now += Duration::from_millis(100);
        s.seg(ACK, PEER_ISS.add(1), start.add(mss), &[]);
        let t = poll_and_fail(&mut s);
        assert_eq!(
            (t.seq, t.len),
            (start.add(mss), mss as usize),
            "linux {linux}"
        );
        assert_eq!(s.c.snd_nxt(), end, "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!((i.unacked, i.notsent_bytes), (1, 0), "linux {linux}");
    }
}

/// New data sent while a loss probe's retransmission is out (RFC 8985
/// §7.3) is new data all the same: taken back when it could not leave,
/// the probe left as it is.
#[test]
fn new_data_after_a_loss_probe_is_taken_back() {
    for linux in [false, true] {
        let mut s = established_with_sack(linux);
        assert_eq!(s.send(&[5; 100]), 100);
        s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
        s.fire();
        let p = s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
        assert_eq!(p.payload.len(), 100, "the probe resends the last segment");
        // A full segment (Nagle holds a short one back).
        let mss = usize::from(s.c.effective_mss());
        assert_eq!(s.send(&vec![6; mss]), mss);
        let t = poll_and_fail(&mut s);
        assert_eq!((t.seq, t.len), (ISS.add(101), mss), "linux {linux}");
        assert_eq!(s.c.snd_nxt(), ISS.add(101), "linux {linux}");
        let i = s.c.info(s.now);
        assert_eq!(
            (i.unacked, i.notsent_bytes),
            (1, mss as u32),
            "linux {linux}"
        );
    }
}

/// New data sent in SACK recovery (RFC 6675 §5 NextSeg's rule 2, once
/// the holes are resent) is taken back when it could not leave: the
/// recovery's retransmission is left as it is.
#[test]
fn new_data_in_sack_recovery_is_taken_back() {
    for linux in [false, true] {
        let mut s = established_with_sack(linux);
        let mss = u32::from(s.c.effective_mss());
        assert_eq!(s.send(&vec![3u8; 5 * mss as usize]), 5 * mss as usize);
        assert_eq!(s.out().len(), 5);
        let una = ISS.add(1);
        let m = |k: u32| una.add(mss * k);
        let peer = PEER_ISS.add(1);
        s.now += Duration::from_millis(100);
        s.seg_opts(ACK, peer, una, sacks(&[(m(1), m(4))]), &[]);
        let v = s.out();
        assert_eq!(v.first().map(|p| p.seq()), Some(una), "linux {linux}");
        assert_eq!(s.send(&vec![4u8; mss as usize]), mss as usize);
        s.now += Duration::from_millis(10);
        s.seg_opts(ACK, peer, una, sacks(&[(m(1), m(5))]), &[]);
        let t = poll_and_fail(&mut s);
        assert_eq!((t.seq, t.len), (m(5), mss as usize), "linux {linux}");
        assert_eq!(s.c.snd_nxt(), m(5), "linux {linux}");
        assert_eq!(s.c.info(s.now).notsent_bytes, mss, "linux {linux}");
    }
}

/// Karn's rule (RFC 6298 §3, MUST-18) as Linux keeps it for an skb its
/// qdisc refused: the failed attempt is not timed, so the sample comes
/// from the send that went, 100 ms before its ACK, not from the attempt
/// an RTO earlier (SRTT stays 100 ms).
#[test]
fn r6298_a_send_that_failed_is_not_timed() {
    for linux in [false, true] {
        let mut s = after_one_exchange(preset(linux));
        assert_eq!(s.c.info(s.now).rtt, 100_000);
        poll_and_fail(&mut s);
        s.fire();
        let p = s.expect(f(ACK, PSH), ISS.add(101), PEER_ISS.add(1));
        assert_eq!(p.payload.len(), 100);
        s.now += Duration::from_millis(100);
        s.seg(ACK, PEER_ISS.add(1), ISS.add(201), &[]);
        let i = s.c.info(s.now);
        assert_eq!((i.unacked, i.rtt), (0, 100_000), "linux {linux}");
    }
}

/// With data in flight, new data that could not leave waits for the
/// flight's ACK, and the loss probe armed for the flight stays armed
/// (RFC 8985 §7.2): the timer that fires next is the probe's, no
/// timeout, and the probe is the held data (§7.3: new data first).
#[test]
fn r8985_a_failure_behind_a_flight_leaves_its_loss_probe_armed() {
    for linux in [false, true] {
        let mut s = established_with_sack(linux);
        let mss = s.c.effective_mss() as usize;
        assert_eq!(s.send(&vec![1; mss]), mss);
        s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
        s.now += Duration::from_millis(10);
        assert_eq!(s.send(&vec![2; mss]), mss);
        let t = poll_and_fail(&mut s);
        assert_eq!(t.seq, ISS.add(1 + mss as u32));
        s.fire();
        let i = s.c.info(s.now);
        assert_eq!((i.backoff, i.retransmits), (0, 0), "linux {linux}");
        let p = s.expect(f(ACK, PSH), t.seq, PEER_ISS.add(1));
        assert_eq!(p.payload, vec![2; mss], "linux {linux}");
        // Nothing waits any more: the next timer is the retransmission
        // timer, an RTO from the probe (RFC 8985 §7.3), no probe timer.
        let rto = Duration::from_micros(u64::from(s.c.info(s.now).rto));
        assert_eq!(s.c.deadline(), Some(s.now + rto), "linux {linux}");
    }
}
