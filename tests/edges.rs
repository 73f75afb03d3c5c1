//! One scripted exchange for every edge of `tcpstate::TRANSITIONS`
//! (RFC 9293 Figure 5, §3.10; checklist section 3, FSM-*).
//!
//! Each scenario starts a connection in the FROM state through the public
//! API (the fixtures in `script`), applies the event, and asserts what goes
//! on the wire, the `StateChanged` reported and the state after. It returns
//! every change it observed; `every_edge_is_taken` checks that together they
//! take every edge of the table and nothing outside it.
mod script;

use script::*;
use std::collections::BTreeSet;
use tcpstate::{
    CloseReason, Config, Duration, Event as E, IcmpError, Keepalive, SeqNum, State as S,
    StateChange, TRANSITIONS, Timer,
};

fn cfg_ut() -> Config {
    Config {
        user_timeout: Some(Duration::from_secs(10)),
        ..cfg()
    }
}

fn cfg_ka() -> Config {
    Config {
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(100),
            interval: Duration::from_secs(10),
            probes: 3,
        }),
        ..cfg()
    }
}

/// Runs timers to CLOSED: asserts the final edge, the reason and the time.
#[track_caller]
fn times_out(s: &mut Sut, from: S, event: E, reason: CloseReason, at: Duration) -> Vec<Pkt> {
    let start = s.now;
    let sent = s.run_to_closed(Duration::from_secs(3600));
    s.changed(from, event, S::Closed);
    s.closed_by(reason);
    assert_eq!(s.now - start, at, "closed after");
    sent.into_iter().map(|(_, p)| p).collect()
}

/// User timeout of 10 s with unacknowledged data from `start`.
#[track_caller]
fn user_times_out(mut s: Sut, from: S) -> Vec<StateChange> {
    let sent = times_out(
        &mut s,
        from,
        E::UserTimeout,
        CloseReason::UserTimeout,
        Duration::from_secs(10),
    );
    // Retransmissions at 1, 3 and 7 s (RTO 1, 2, 4 s), then the user timeout at 10 s.
    assert_eq!(sent.len(), 3, "{sent:#?}");
    s.silent();
    s.changes
}

/// Keep-alive: idle 100 s, then 3 probes 10 s apart, closed at 130 s.
#[track_caller]
fn keepalive_times_out(mut s: Sut, from: S) -> Vec<StateChange> {
    let sent = times_out(
        &mut s,
        from,
        E::KeepaliveTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(130),
    );
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let seq = s.c.snd_nxt().sub(1);
    for p in &sent {
        // RFC 9293 §3.8.4 SHLD-12: SEG.SEQ = SND.NXT-1, no data.
        assert_eq!((p.flags(), p.seq(), p.t.len), (ACK, seq, 0));
    }
    s.changes
}

// ----- opening ---------------------------------------------------------------

fn edge_closed_passive_open() -> Vec<StateChange> {
    let mut s = closed();
    s.app(|c, now| c.listen(now, LISTEN_ISS).unwrap());
    s.changed(S::Closed, E::PassiveOpen, S::Listen);
    s.silent();
    s.changes
}

fn edge_closed_active_open() -> Vec<StateChange> {
    let mut s = closed();
    s.app(|c, now| c.connect(now, ISS).unwrap());
    s.changed(S::Closed, E::ActiveOpen, S::SynSent);
    let p = s.expect(SYN, ISS, SeqNum(0));
    assert_eq!(p.t.options.mss, Some(1460));
    s.changes
}

fn edge_listen_close() -> Vec<StateChange> {
    let mut s = listen();
    s.close();
    s.changed(S::Listen, E::Close, S::Closed);
    s.silent();
    s.changes
}

fn edge_listen_abort() -> Vec<StateChange> {
    let mut s = listen();
    s.abort();
    s.changed(S::Listen, E::Abort, S::Closed);
    s.silent();
    s.changes
}

fn edge_listen_rcv_syn() -> Vec<StateChange> {
    let mut s = listen();
    s.peer(SYN, &[]);
    s.changed(S::Listen, E::RcvSyn, S::SynReceived);
    // ISS = M + F: the listen offset plus a 4 µs clock (MUST-8).
    let iss = LISTEN_ISS.add((T0.as_micros() / 4) as u32);
    s.expect(f(SYN, ACK), iss, PEER_ISS.add(1));
    s.changes
}

fn edge_syn_sent_rcv_syn_ack() -> Vec<StateChange> {
    let mut s = syn_sent();
    s.peer(f(SYN, ACK), &[]);
    s.changed(S::SynSent, E::RcvSynAck, S::Established);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(1));
    s.changes
}

fn edge_syn_sent_rcv_syn() -> Vec<StateChange> {
    let mut s = syn_sent();
    s.peer(SYN, &[]);
    s.changed(S::SynSent, E::RcvSyn, S::SynReceived);
    s.expect(f(SYN, ACK), ISS, PEER_ISS.add(1));
    s.changes
}

fn edge_syn_sent_rcv_rst() -> Vec<StateChange> {
    let mut s = syn_sent();
    s.seg(f(RST, ACK), SeqNum(0), ISS.add(1), &[]);
    s.changed(S::SynSent, E::RcvRst, S::Closed);
    s.closed_by(CloseReason::Refused);
    s.silent();
    s.changes
}

fn edge_syn_sent_close() -> Vec<StateChange> {
    let mut s = syn_sent();
    s.close();
    s.changed(S::SynSent, E::Close, S::Closed);
    s.silent();
    assert_eq!(s.c.deadline(), None);
    s.changes
}

fn edge_syn_sent_abort() -> Vec<StateChange> {
    let mut s = syn_sent();
    s.abort();
    s.changed(S::SynSent, E::Abort, S::Closed);
    s.silent();
    s.changes
}

fn edge_syn_sent_retransmit_timeout() -> Vec<StateChange> {
    let mut s = syn_sent();
    // syn_retries 7 with RTO 1, 2, 4, ..., capped at rto_max 60 s: SYNs at
    // 1, 3, 7, 15, 31, 63, 123 s; failure at 183 s (MUST-23: at least 3 min).
    let sent = times_out(
        &mut s,
        S::SynSent,
        E::RetransmitTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(183),
    );
    assert_eq!(sent.len(), 7);
    assert!(sent.iter().all(|p| p.flags() == SYN && p.seq() == ISS));
    s.changes
}

fn edge_syn_sent_user_timeout() -> Vec<StateChange> {
    user_times_out(syn_sent_with(cfg_ut()), S::SynSent)
}

fn edge_syn_sent_icmp_hard_error() -> Vec<StateChange> {
    let mut s = syn_sent();
    // RFC 9293 §3.9.2.2 SHLD-26: port unreachable while opening aborts.
    let a = s.c.on_icmp(s.now, IcmpError::Unreachable { code: 3 }, 20);
    s.record(a);
    s.changed(S::SynSent, E::IcmpHardError, S::Closed);
    s.closed_by(CloseReason::Refused);
    s.silent();
    s.changes
}

fn edge_syn_received_passive_icmp_hard_error() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    // RFC 1122 §4.2.3.9 (SHLD-26): a hard error while opening; a passive
    // open goes back to LISTEN (as a RST would), the application is not
    // told.
    let a = s.c.on_icmp(s.now, IcmpError::Unreachable { code: 3 }, 20);
    s.record(a);
    s.changed(S::SynReceived, E::IcmpHardError, S::Listen);
    assert_eq!(s.last.closed(), None);
    s.silent();
    // A soft error there changes nothing (MUST-56).
    let mut s = syn_received_passive();
    let a = s.c.on_icmp(s.now, IcmpError::Unreachable { code: 1 }, 20);
    s.record(a);
    s.unchanged(S::SynReceived);
    let mut changes = s.changes;
    let mut s2 = syn_received_passive();
    let a = s2.c.on_icmp(s2.now, IcmpError::Unreachable { code: 2 }, 20);
    s2.record(a);
    s2.changed(S::SynReceived, E::IcmpHardError, S::Listen);
    changes.extend(s2.changes);
    changes
}

fn edge_syn_received_active_icmp_hard_error() -> Vec<StateChange> {
    let mut s = syn_received_active();
    let a = s.c.on_icmp(s.now, IcmpError::Unreachable { code: 3 }, 20);
    s.record(a);
    s.changed(S::SynReceived, E::IcmpHardError, S::Closed);
    s.closed_by(CloseReason::Refused);
    s.silent();
    s.changes
}

fn edge_syn_received_rcv_ack() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    s.peer(ACK, &[]);
    s.changed(S::SynReceived, E::RcvAck, S::Established);
    assert!(s.last.writable());
    s.silent();
    s.changes
}

fn edge_syn_received_passive_rcv_rst() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.changed(S::SynReceived, E::RcvRst, S::Listen);
    // The application is not told (note 1 of Figure 5).
    assert_eq!(s.last.closed(), None);
    s.silent();
    s.changes
}

fn edge_syn_received_active_rcv_rst() -> Vec<StateChange> {
    let mut s = syn_received_active();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.changed(S::SynReceived, E::RcvRst, S::Closed);
    s.closed_by(CloseReason::Refused);
    s.silent();
    s.changes
}

fn edge_syn_received_rcv_syn() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    // A new SYN inside the window (not a retransmission of the first).
    s.seg(SYN, PEER_ISS.add(100), SeqNum(0), &[]);
    s.changed(S::SynReceived, E::RcvSyn, S::Listen);
    s.silent();
    s.changes
}

fn edge_syn_received_close() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.close();
    s.changed(S::SynReceived, E::Close, S::FinWait1);
    // RFC 9293 §3.10.4: nothing queued, so form a FIN and send it.
    s.expect(f(FIN, ACK), iss.add(1), PEER_ISS.add(1));
    // The ACK of the SYN alone does not acknowledge the FIN (step 5).
    s.peer_ack(ACK, iss.add(1), &[]);
    s.unchanged(S::FinWait1);
    s.silent();
    s.peer_ack(ACK, iss.add(2), &[]);
    s.changed(S::FinWait1, E::RcvAck, S::FinWait2);
    s.changes
}

fn edge_syn_received_close_unread() -> Vec<StateChange> {
    // Only a Fast Open child holds data in SYN-RECEIVED (RFC 7413 §4.2.2:
    // the SYN's data is the application's at once).
    let syn = tcpstate::wire::Segment {
        seq: PEER_ISS,
        ack: SeqNum(0),
        flags: SYN,
        window: 65535,
        urgent: 0,
        options: tcpstate::wire::TcpOptions::NONE,
        payload: b"unread",
    };
    let mut s = Sut::new(cfg());
    let (c, a) = tcpstate::Connection::accept_fast_open(
        cfg(),
        tcpstate::Buffers::with_capacity(RX, 8192),
        s.now,
        &syn,
        LISTEN_ISS,
    )
    .expect("accepted");
    s.c = c;
    s.record(a);
    s.expect(f(SYN, ACK), LISTEN_ISS, PEER_ISS.add(7));
    s.close();
    // SHLD-3 (RFC 9293 §3.6.1): the data would be lost: RST.
    s.changed(S::SynReceived, E::CloseWithUnreadData, S::Closed);
    s.closed_by(CloseReason::Aborted);
    s.expect(RST, LISTEN_ISS.add(1), SeqNum(0));
    s.changes
}

fn edge_syn_received_abort() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    s.abort();
    s.changed(S::SynReceived, E::Abort, S::Closed);
    s.expect(RST, iss.add(1), SeqNum(0));
    s.changes
}

fn edge_syn_received_passive_retransmit_timeout() -> Vec<StateChange> {
    let mut s = syn_received_passive();
    let iss = s.c.iss();
    let start = s.now;
    let mut sent = Vec::new();
    while s.c.state() == S::SynReceived {
        s.fire();
        sent.extend(s.out());
    }
    s.changed(S::SynReceived, E::RetransmitTimeout, S::Listen);
    // synack_retries 5: SYN,ACKs at 1, 3, 7, 15, 31 s; back to LISTEN at 63 s.
    assert_eq!(s.now - start, Duration::from_secs(63));
    assert_eq!(sent.len(), 5);
    assert!(
        sent.iter()
            .all(|p| p.flags() == f(SYN, ACK) && p.seq() == iss)
    );
    assert_eq!(s.last.closed(), None);
    s.changes
}

fn edge_syn_received_active_retransmit_timeout() -> Vec<StateChange> {
    let mut s = syn_received_active();
    let sent = times_out(
        &mut s,
        S::SynReceived,
        E::RetransmitTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(63),
    );
    assert_eq!(sent.len(), 5);
    s.changes
}

fn edge_syn_received_user_timeout() -> Vec<StateChange> {
    user_times_out(syn_received_passive_with(cfg_ut()), S::SynReceived)
}

// ----- established and closing ---------------------------------------------

fn edge_established_close() -> Vec<StateChange> {
    let mut s = established();
    s.close();
    s.changed(S::Established, E::Close, S::FinWait1);
    s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(1));
    s.changes
}

fn edge_established_close_unread() -> Vec<StateChange> {
    let mut s = established();
    s.peer(ACK, b"unread");
    s.close();
    s.changed(S::Established, E::CloseWithUnreadData, S::Closed);
    s.closed_by(CloseReason::Aborted);
    // SHLD-3: RST, not FIN, at SND.NXT.
    s.expect(RST, ISS.add(1), SeqNum(0));
    s.silent();
    s.changes
}

fn edge_established_rcv_fin() -> Vec<StateChange> {
    let mut s = established();
    s.peer(f(FIN, ACK), &[]);
    s.changed(S::Established, E::RcvFin, S::CloseWait);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(2));
    assert!(s.c.is_eof());
    s.changes
}

fn edge_established_rcv_rst() -> Vec<StateChange> {
    let mut s = established();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.changed(S::Established, E::RcvRst, S::Closed);
    s.closed_by(CloseReason::Reset);
    s.silent();
    s.changes
}

fn edge_established_abort() -> Vec<StateChange> {
    let mut s = established();
    s.abort();
    s.changed(S::Established, E::Abort, S::Closed);
    s.closed_by(CloseReason::Aborted);
    s.expect(RST, ISS.add(1), SeqNum(0));
    s.changes
}

fn edge_established_retransmit_timeout() -> Vec<StateChange> {
    let mut s = established();
    s.send(b"x");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    // retries2 10: RTO 1, 2, 4, ..., 32, then 60 s capped: 10 retransmissions
    // at 1..303 s, failure 60 s after the last.
    let sent = times_out(
        &mut s,
        S::Established,
        E::RetransmitTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(363),
    );
    assert_eq!(sent.len(), 10);
    assert!(
        sent.iter()
            .all(|p| p.seq() == ISS.add(1) && p.payload == b"x")
    );
    s.changes
}

fn edge_established_user_timeout() -> Vec<StateChange> {
    let mut s = established_with(cfg_ut());
    s.send(b"x");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(1));
    user_times_out(s, S::Established)
}

fn edge_established_keepalive_timeout() -> Vec<StateChange> {
    keepalive_times_out(established_with(cfg_ka()), S::Established)
}

fn edge_fin_wait_1_rcv_ack() -> Vec<StateChange> {
    let mut s = fin_wait_1();
    s.peer(ACK, &[]);
    s.changed(S::FinWait1, E::RcvAck, S::FinWait2);
    s.silent();
    s.changes
}

fn edge_fin_wait_1_rcv_fin() -> Vec<StateChange> {
    let mut s = fin_wait_1();
    s.peer_ack(f(FIN, ACK), ISS.add(1), &[]);
    s.changed(S::FinWait1, E::RcvFin, S::Closing);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    s.changes
}

fn edge_fin_wait_1_rcv_fin_ack() -> Vec<StateChange> {
    let mut s = fin_wait_1();
    s.peer(f(FIN, ACK), &[]);
    s.changed(S::FinWait1, E::RcvFinAck, S::TimeWait);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    assert_eq!(s.c.deadline(), Some(s.now + Duration::from_secs(240)));
    s.changes
}

fn edge_fin_wait_1_rcv_rst() -> Vec<StateChange> {
    let mut s = fin_wait_1();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.changed(S::FinWait1, E::RcvRst, S::Closed);
    s.closed_by(CloseReason::Reset);
    s.silent();
    s.changes
}

fn edge_fin_wait_1_data_after_close() -> Vec<StateChange> {
    let mut s = fin_wait_1();
    s.peer_ack(ACK, ISS.add(1), b"abc");
    s.changed(S::FinWait1, E::RcvDataAfterClose, S::Closed);
    s.closed_by(CloseReason::Aborted);
    // RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>, as to a closed port.
    s.expect(RST, ISS.add(1), SeqNum(0));
    s.changes
}

fn edge_fin_wait_1_abort() -> Vec<StateChange> {
    let mut s = fin_wait_1();
    s.abort();
    s.changed(S::FinWait1, E::Abort, S::Closed);
    s.expect(RST, ISS.add(2), SeqNum(0));
    s.changes
}

fn edge_fin_wait_1_retransmit_timeout() -> Vec<StateChange> {
    // Not an orphan (shutdown): retries2 applies.
    let mut s = fin_wait_1_with(cfg(), false);
    let sent = times_out(
        &mut s,
        S::FinWait1,
        E::RetransmitTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(363),
    );
    assert_eq!(sent.len(), 10);
    assert!(
        sent.iter()
            .all(|p| p.flags() == f(FIN, ACK) && p.seq() == ISS.add(1))
    );
    s.changes
}

fn edge_fin_wait_1_user_timeout() -> Vec<StateChange> {
    user_times_out(fin_wait_1_with(cfg_ut(), true), S::FinWait1)
}

fn edge_fin_wait_2_rcv_fin() -> Vec<StateChange> {
    let mut s = fin_wait_2();
    s.peer(f(FIN, ACK), &[]);
    s.changed(S::FinWait2, E::RcvFin, S::TimeWait);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    assert_eq!(s.c.deadline(), Some(s.now + Duration::from_secs(240)));
    s.changes
}

fn edge_fin_wait_2_rcv_rst() -> Vec<StateChange> {
    let mut s = fin_wait_2();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    s.changed(S::FinWait2, E::RcvRst, S::Closed);
    s.closed_by(CloseReason::Reset);
    s.silent();
    s.changes
}

fn edge_fin_wait_2_data_after_close() -> Vec<StateChange> {
    let mut s = fin_wait_2();
    s.peer(ACK, b"abc");
    s.changed(S::FinWait2, E::RcvDataAfterClose, S::Closed);
    s.closed_by(CloseReason::Aborted);
    s.expect(RST, ISS.add(2), SeqNum(0));
    s.changes
}

fn edge_fin_wait_2_abort() -> Vec<StateChange> {
    let mut s = fin_wait_2();
    s.abort();
    s.changed(S::FinWait2, E::Abort, S::Closed);
    s.expect(RST, ISS.add(2), SeqNum(0));
    s.changes
}

fn edge_fin_wait_2_timeout() -> Vec<StateChange> {
    let mut s = fin_wait_2();
    let sent = times_out(
        &mut s,
        S::FinWait2,
        E::FinWait2Timeout,
        CloseReason::FinTimeout,
        Duration::from_secs(60),
    );
    assert!(sent.is_empty());
    s.changes
}

fn edge_fin_wait_2_keepalive_timeout() -> Vec<StateChange> {
    keepalive_times_out(fin_wait_2_with(cfg_ka(), false), S::FinWait2)
}

fn edge_close_wait_close() -> Vec<StateChange> {
    let mut s = close_wait();
    s.close();
    s.changed(S::CloseWait, E::Close, S::LastAck);
    s.expect(f(FIN, ACK), ISS.add(1), PEER_ISS.add(2));
    s.changes
}

fn edge_close_wait_close_unread() -> Vec<StateChange> {
    let mut s = established();
    s.peer(ACK, b"unread");
    s.peer(f(FIN, ACK), &[]);
    s.expect(ACK, ISS.add(1), PEER_ISS.add(8));
    assert_eq!(s.c.state(), S::CloseWait);
    s.close();
    s.changed(S::CloseWait, E::CloseWithUnreadData, S::Closed);
    s.expect(RST, ISS.add(1), SeqNum(0));
    s.changes
}

fn edge_close_wait_rcv_rst() -> Vec<StateChange> {
    let mut s = close_wait();
    s.seg(RST, PEER_ISS.add(2), SeqNum(0), &[]);
    s.changed(S::CloseWait, E::RcvRst, S::Closed);
    s.closed_by(CloseReason::Reset);
    s.silent();
    s.changes
}

fn edge_close_wait_abort() -> Vec<StateChange> {
    let mut s = close_wait();
    s.abort();
    s.changed(S::CloseWait, E::Abort, S::Closed);
    s.expect(RST, ISS.add(1), SeqNum(0));
    s.changes
}

fn edge_close_wait_retransmit_timeout() -> Vec<StateChange> {
    let mut s = close_wait();
    s.send(b"x");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(2));
    let sent = times_out(
        &mut s,
        S::CloseWait,
        E::RetransmitTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(363),
    );
    assert_eq!(sent.len(), 10);
    s.changes
}

fn edge_close_wait_user_timeout() -> Vec<StateChange> {
    let mut s = close_wait_with(cfg_ut());
    s.send(b"x");
    s.expect(f(ACK, PSH), ISS.add(1), PEER_ISS.add(2));
    user_times_out(s, S::CloseWait)
}

fn edge_close_wait_keepalive_timeout() -> Vec<StateChange> {
    keepalive_times_out(close_wait_with(cfg_ka()), S::CloseWait)
}

fn edge_closing_rcv_ack() -> Vec<StateChange> {
    let mut s = closing();
    s.peer(ACK, &[]);
    s.changed(S::Closing, E::RcvAck, S::TimeWait);
    s.silent();
    assert_eq!(
        s.c.timer(Timer::TimeWait),
        Some(s.now + Duration::from_secs(240))
    );
    s.changes
}

fn edge_closing_rcv_rst() -> Vec<StateChange> {
    let mut s = closing();
    s.seg(RST, PEER_ISS.add(2), SeqNum(0), &[]);
    s.changed(S::Closing, E::RcvRst, S::Closed);
    s.silent();
    s.changes
}

fn edge_closing_abort() -> Vec<StateChange> {
    let mut s = closing();
    s.abort();
    s.changed(S::Closing, E::Abort, S::Closed);
    s.silent();
    s.changes
}

/// Our FIN goes unacknowledged: eight retransmissions of it (the orphan
/// limit; RTO capped at 60 s), then CLOSED with TimedOut at 243 s.
fn fin_retries_run_out(s: &mut Sut, state: S) -> Vec<StateChange> {
    let sent = times_out(
        s,
        state,
        E::RetransmitTimeout,
        CloseReason::TimedOut,
        Duration::from_secs(243),
    );
    assert_eq!(sent.len(), 8);
    assert!(
        sent.iter()
            .all(|p| p.flags() == f(FIN, ACK) && p.seq() == ISS.add(1))
    );
    s.changes.clone()
}

fn edge_closing_retransmit_timeout() -> Vec<StateChange> {
    // An orphan: orphan_retries 8 (at 1, 3, 7, 15, 31, 63, 123, 183 s; RTO
    // capped at 60 s), failure at 243 s.
    let mut s = closing();
    fin_retries_run_out(&mut s, S::Closing)
}

fn edge_closing_user_timeout() -> Vec<StateChange> {
    user_times_out(closing_with(cfg_ut()), S::Closing)
}

fn edge_last_ack_rcv_ack() -> Vec<StateChange> {
    let mut s = last_ack();
    s.peer(ACK, &[]);
    s.changed(S::LastAck, E::RcvAck, S::Closed);
    s.closed_by(CloseReason::Normal);
    s.silent();
    s.changes
}

fn edge_last_ack_rcv_rst() -> Vec<StateChange> {
    let mut s = last_ack();
    s.seg(RST, PEER_ISS.add(2), SeqNum(0), &[]);
    s.changed(S::LastAck, E::RcvRst, S::Closed);
    s.silent();
    s.changes
}

fn edge_last_ack_abort() -> Vec<StateChange> {
    let mut s = last_ack();
    s.abort();
    s.changed(S::LastAck, E::Abort, S::Closed);
    s.silent();
    s.changes
}

fn edge_last_ack_retransmit_timeout() -> Vec<StateChange> {
    let mut s = last_ack();
    fin_retries_run_out(&mut s, S::LastAck)
}

fn edge_last_ack_user_timeout() -> Vec<StateChange> {
    user_times_out(last_ack_with(cfg_ut()), S::LastAck)
}

fn edge_time_wait_rcv_fin() -> Vec<StateChange> {
    let mut s = time_wait();
    s.now += Duration::from_secs(100);
    // The peer lost our ACK and retransmits its FIN.
    s.seg(f(FIN, ACK), PEER_ISS.add(1), ISS.add(2), &[]);
    s.changed(S::TimeWait, E::RcvFin, S::TimeWait);
    s.expect(ACK, ISS.add(2), PEER_ISS.add(2));
    // 2MSL restarts from now.
    assert_eq!(
        s.c.timer(Timer::TimeWait),
        Some(s.now + Duration::from_secs(240))
    );
    s.changes
}

fn edge_time_wait_rcv_rst() -> Vec<StateChange> {
    // Without RFC 1337 protection (as Linux's tcp_rfc1337=0).
    let mut s = time_wait_with(Config {
        rfc1337: false,
        ..cfg()
    });
    s.seg(RST, PEER_ISS.add(2), SeqNum(0), &[]);
    s.changed(S::TimeWait, E::RcvRst, S::Closed);
    s.silent();
    s.changes
}

fn edge_time_wait_abort() -> Vec<StateChange> {
    let mut s = time_wait();
    s.abort();
    s.changed(S::TimeWait, E::Abort, S::Closed);
    s.silent();
    s.changes
}

fn edge_time_wait_timeout() -> Vec<StateChange> {
    let mut s = time_wait();
    let sent = times_out(
        &mut s,
        S::TimeWait,
        E::TimeWaitTimeout,
        CloseReason::Normal,
        Duration::from_secs(240),
    );
    assert!(sent.is_empty());
    s.changes
}

macro_rules! scenarios {
    ($($test:ident => $edge:ident,)*) => {
        const SCENARIOS: &[(&str, fn() -> Vec<StateChange>)] = &[$((stringify!($edge), $edge),)*];
        $(
            #[test]
            fn $test() {
                let seen = $edge();
                assert!(!seen.is_empty());
            }
        )*
    };
}

scenarios! {
    fsm_1_closed_listen => edge_closed_passive_open,
    fsm_2_closed_connect_to_syn_sent => edge_closed_active_open,
    fsm_5_listen_close_to_closed => edge_listen_close,
    fsm_41_listen_abort_to_closed => edge_listen_abort,
    fsm_3_listen_rcv_syn_to_syn_received => edge_listen_rcv_syn,
    fsm_6_syn_sent_rcv_syn_ack_to_established => edge_syn_sent_rcv_syn_ack,
    fsm_7_syn_sent_rcv_syn_to_syn_received => edge_syn_sent_rcv_syn,
    fsm_9_syn_sent_rcv_rst_to_closed => edge_syn_sent_rcv_rst,
    fsm_8_syn_sent_close_to_closed => edge_syn_sent_close,
    fsm_41_syn_sent_abort_to_closed => edge_syn_sent_abort,
    fsm_10_syn_sent_retries_to_closed => edge_syn_sent_retransmit_timeout,
    fsm_10_syn_sent_user_timeout_to_closed => edge_syn_sent_user_timeout,
    shld_26_syn_sent_icmp_port_unreachable_to_closed => edge_syn_sent_icmp_hard_error,
    shld_26_syn_received_passive_icmp_hard_error_to_listen => edge_syn_received_passive_icmp_hard_error,
    shld_26_syn_received_active_icmp_hard_error_to_closed => edge_syn_received_active_icmp_hard_error,
    fsm_11_syn_received_rcv_ack_to_established => edge_syn_received_rcv_ack,
    fsm_12_syn_received_passive_rcv_rst_to_listen => edge_syn_received_passive_rcv_rst,
    fsm_13_syn_received_active_rcv_rst_to_closed => edge_syn_received_active_rcv_rst,
    fsm_14_syn_received_rcv_syn_to_listen => edge_syn_received_rcv_syn,
    fsm_16_syn_received_close_to_fin_wait_1 => edge_syn_received_close,
    fsm_40_syn_received_abort_to_closed => edge_syn_received_abort,
    fsm_18_syn_received_passive_retries_to_listen => edge_syn_received_passive_retransmit_timeout,
    fsm_18_syn_received_active_retries_to_closed => edge_syn_received_active_retransmit_timeout,
    fsm_47_syn_received_user_timeout_to_closed => edge_syn_received_user_timeout,
    fsm_20_established_close_to_fin_wait_1 => edge_established_close,
    fsm_48_established_close_unread_to_closed => edge_established_close_unread,
    fsm_48_syn_received_close_unread_to_closed => edge_syn_received_close_unread,
    fsm_21_established_rcv_fin_to_close_wait => edge_established_rcv_fin,
    fsm_43_established_rcv_rst_to_closed => edge_established_rcv_rst,
    fsm_40_established_abort_to_closed => edge_established_abort,
    fsm_46_established_retries_to_closed => edge_established_retransmit_timeout,
    fsm_47_established_user_timeout_to_closed => edge_established_user_timeout,
    fsm_50_established_keepalive_to_closed => edge_established_keepalive_timeout,
    fsm_22_fin_wait_1_rcv_ack_to_fin_wait_2 => edge_fin_wait_1_rcv_ack,
    fsm_23_fin_wait_1_rcv_fin_to_closing => edge_fin_wait_1_rcv_fin,
    fsm_24_fin_wait_1_fin_ack_to_time_wait => edge_fin_wait_1_rcv_fin_ack,
    fsm_43_fin_wait_1_rcv_rst_to_closed => edge_fin_wait_1_rcv_rst,
    fsm_49_fin_wait_1_data_after_close_to_closed => edge_fin_wait_1_data_after_close,
    fsm_40_fin_wait_1_abort_to_closed => edge_fin_wait_1_abort,
    fsm_33_fin_wait_1_retries_to_closed => edge_fin_wait_1_retransmit_timeout,
    fsm_47_fin_wait_1_user_timeout_to_closed => edge_fin_wait_1_user_timeout,
    fsm_25_fin_wait_2_rcv_fin_to_time_wait => edge_fin_wait_2_rcv_fin,
    fsm_43_fin_wait_2_rcv_rst_to_closed => edge_fin_wait_2_rcv_rst,
    fsm_49_fin_wait_2_data_after_close_to_closed => edge_fin_wait_2_data_after_close,
    fsm_40_fin_wait_2_abort_to_closed => edge_fin_wait_2_abort,
    fsm_32_fin_wait_2_orphan_timeout_to_closed => edge_fin_wait_2_timeout,
    fsm_50_fin_wait_2_keepalive_to_closed => edge_fin_wait_2_keepalive_timeout,
    fsm_27_close_wait_close_to_last_ack => edge_close_wait_close,
    fsm_48_close_wait_close_unread_to_closed => edge_close_wait_close_unread,
    fsm_43_close_wait_rcv_rst_to_closed => edge_close_wait_rcv_rst,
    fsm_40_close_wait_abort_to_closed => edge_close_wait_abort,
    fsm_46_close_wait_retries_to_closed => edge_close_wait_retransmit_timeout,
    fsm_47_close_wait_user_timeout_to_closed => edge_close_wait_user_timeout,
    fsm_50_close_wait_keepalive_to_closed => edge_close_wait_keepalive_timeout,
    fsm_26_closing_rcv_ack_to_time_wait => edge_closing_rcv_ack,
    fsm_44_closing_rcv_rst_to_closed => edge_closing_rcv_rst,
    fsm_42_closing_abort_to_closed => edge_closing_abort,
    fsm_33_closing_retries_to_closed => edge_closing_retransmit_timeout,
    fsm_47_closing_user_timeout_to_closed => edge_closing_user_timeout,
    fsm_28_last_ack_rcv_ack_to_closed => edge_last_ack_rcv_ack,
    fsm_44_last_ack_rcv_rst_to_closed => edge_last_ack_rcv_rst,
    fsm_42_last_ack_abort_to_closed => edge_last_ack_abort,
    fsm_33_last_ack_retries_to_closed => edge_last_ack_retransmit_timeout,
    fsm_47_last_ack_user_timeout_to_closed => edge_last_ack_user_timeout,
    fsm_30_time_wait_rcv_fin_restarts_2msl => edge_time_wait_rcv_fin,
    fsm_45_time_wait_rcv_rst_without_rfc1337_to_closed => edge_time_wait_rcv_rst,
    fsm_42_time_wait_abort_to_closed => edge_time_wait_abort,
    fsm_29_time_wait_2msl_to_closed => edge_time_wait_timeout,
}

#[test]
fn every_edge_is_taken() {
    let mut seen = BTreeSet::new();
    for (_, scenario) in SCENARIOS {
        for c in scenario() {
            seen.insert((c.from, c.event, c.to));
        }
    }
    let outside: Vec<_> = seen
        .iter()
        .filter(|(from, event, to)| !tcpstate::state::is_allowed(*from, *event, *to))
        .collect();
    assert!(
        outside.is_empty(),
        "changes not in TRANSITIONS: {outside:#?}"
    );
    let missing: Vec<_> = TRANSITIONS
        .iter()
        .filter(|t| !seen.contains(&(t.from, t.event, t.to)))
        .map(|t| format!("{} --{:?}--> {} ({})", t.from, t.event, t.to, t.rule))
        .collect();
    assert!(
        missing.is_empty(),
        "edges no scenario takes:\n{}",
        missing.join("\n")
    );
}

/// A passive OPEN creates no segment (RFC 9293 §3.10.1: LISTEN waits for
/// a SYN), so the call asks for no output, and a RST that takes a
/// SYN-RECEIVED connection back to LISTEN (§3.10.7.4) leaves it quiet too.
#[test]
fn a_listening_connection_asks_for_no_output() {
    let s = listen();
    assert!(!s.last.transmit(), "{:?}", s.last);
    let mut s = syn_received_passive();
    s.seg(RST, PEER_ISS.add(1), SeqNum(0), &[]);
    assert_eq!(s.c.state(), S::Listen);
    assert!(!s.last.transmit(), "{:?}", s.last);
    s.silent();
}

/// CLOSE in SYN-RECEIVED with nothing queued sends the FIN at once,
/// before our SYN is acknowledged (RFC 9293 §3.10.4): the call asks for
/// output, the FIN follows the SYN,ACK, and then nothing is left to send.
#[test]
fn close_in_syn_received_asks_to_send_the_fin() {
    let mut s = syn_received_passive();
    s.close();
    assert_eq!(s.c.state(), S::FinWait1);
    assert!(s.last.transmit(), "{:?}", s.last);
    let out = s.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].flags().fin());
    // Sent: nothing more to ask for until an ACK or the timer (an early
    // `on_timer` changes nothing).
    s.app(|c, now| c.on_timer(now));
    assert!(!s.last.transmit(), "{:?}", s.last);
    s.silent();
}

/// RFC 9293 §3.10.2: SEND in SYN-RECEIVED queues the data "for
/// transmission after entering ESTABLISHED state", full-sized segments
/// too: the call asks for no output and nothing goes out (a Fast Open
/// child may send at once: tests/fastopen_child.rs).
#[test]
fn send_in_syn_received_queues_without_asking_for_output() {
    let mut s = syn_received_passive();
    assert_eq!(s.send(&[5u8; 3000]), 3000);
    assert!(!s.last.transmit(), "{:?}", s.last);
    s.silent();
    assert_eq!(s.c.send_queue(), 3000);
}

/// Nagle's test (RFC 9293 §3.7.4) in a Fast Open child (RFC 7413 §4.2.2:
/// it may send before the final ACK): its SYN,ACK is no data in flight,
/// so a first small write goes at once; the second waits while the first
/// is unacknowledged.
#[test]
fn nagle_holds_a_fast_open_childs_second_small_write() {
    let mut s = fast_open_child_with(cfg(), b"0123456789");
    s.expect(f(SYN, ACK), LISTEN_ISS, PEER_ISS.add(11));
    assert_eq!(s.send(&[5u8; 100]), 100);
    assert_eq!(s.out().len(), 1);
    assert_eq!(s.send(&[6u8; 100]), 100);
    s.silent();
    assert_eq!(s.c.state(), S::SynReceived);
}
