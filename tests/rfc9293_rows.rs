//! RFC 9293 requirements (Appendix B rows, and the FSM/SA rows of the
//! project's checklist) that had no test naming them: one test per row
//! (or per small group of rows), each named after it.
mod common;
mod script;

use script::*;
use tcpstate::{Action, CallError, Config, Duration, State};

// FSM-4 (RFC 9293 Figure 5, §3.10.2 SEND in LISTEN): the edge is optional,
// and RFC 9293 says "If the remote socket was not specified, then return
// 'error: remote socket unspecified'". A tcpstate listener never has one,
// so SEND in LISTEN is refused with that error and nothing changes; Linux
// refuses it too (`send` on a listening socket: EPIPE, checked on 6.18).
#[test]
fn fsm_4_send_in_listen_is_refused_remote_socket_unspecified() {
    let mut s = listen();
    assert_eq!(
        s.c.send(s.now, b"data").unwrap_err(),
        CallError::RemoteUnspecified
    );
    assert_eq!(
        s.c.send_urgent(s.now, b"!").unwrap_err(),
        CallError::RemoteUnspecified
    );
    s.silent();
    assert_eq!(s.c.state(), State::Listen);
    assert!(s.c.deadline().is_none());
    // The listener still works: a SYN opens it as usual (FSM-3).
    s.peer(SYN, &[]);
    assert_eq!(s.c.state(), State::SynReceived);
    assert_eq!(
        CallError::RemoteUnspecified.to_string(),
        "remote socket unspecified: a listener cannot send"
    );
}

fn advice_count(s: &Sut) -> usize {
    s.last
        .into_iter()
        .filter(|a| *a == Action::NegativeAdvice)
        .count()
}

/// Runs the connection's timers until CLOSED, counting the negative
/// advice it reports and the retransmissions before it.
fn advice_until_closed(s: &mut Sut) -> (usize, Vec<usize>) {
    let mut advised_after = Vec::new();
    let mut rtx = 0;
    let mut advice = 0;
    while s.c.state() != State::Closed {
        s.fire();
        rtx += s.out().len();
        if advice_count(s) > 0 {
            advice += advice_count(s);
            advised_after.push(rtx);
        }
        assert!(rtx < 100);
    }
    (advice, advised_after)
}

// MUST-20, SHLD-9, SHLD-10: after R1 (3) retransmissions of a segment
// without an answer the connection tells the host (negative advice for
// the IP layer, news for the application), once, and goes on until R2
// (`retries2`), where it times out.
#[test]
fn must_20_shld_9_negative_advice_at_r1_then_timeout_at_r2() {
    let mut s = established();
    assert_eq!(s.send(b"hello"), 5);
    assert_eq!(s.out().len(), 1);
    let (advice, after) = advice_until_closed(&mut s);
    assert_eq!(advice, 1, "once per episode");
    assert_eq!(after, vec![usize::from(Config::RETRIES1)]);
    assert_eq!(s.c.close_reason(), Some(tcpstate::CloseReason::TimedOut));
    // SHLD-10: R1 is at least 3 retransmissions; R2 comes later.
    const { assert!(Config::RETRIES1 >= 3) };
    assert!(Config::rfc9293().retries2 > Config::RETRIES1);
    assert!(Config::linux().retries2 > Config::RETRIES1);
}

// An answer ends the episode: the next run of unanswered
// retransmissions is advised again.
#[test]
fn shld_9_advice_again_after_the_peer_answered() {
    let mut s = established();
    assert_eq!(s.send(b"a"), 1);
    let _ = s.out();
    let mut advice = 0;
    for _ in 0..3 {
        s.fire();
        let _ = s.out();
        advice += advice_count(&s);
    }
    assert_eq!(advice, 1);
    s.peer(ACK, &[]);
    assert_eq!(s.send(b"b"), 1);
    let _ = s.out();
    let mut advice = 0;
    for _ in 0..3 {
        s.fire();
        let _ = s.out();
        advice += advice_count(&s);
    }
    assert_eq!(advice, 1);
}

// MUST-22: the same R1/R2 scheme for a SYN.
#[test]
fn must_22_negative_advice_for_syn_retransmissions() {
    let mut s = syn_sent_with(Config {
        syn_retries: 6,
        ..cfg()
    });
    let (advice, after) = advice_until_closed(&mut s);
    assert_eq!(advice, 1);
    assert_eq!(after, vec![usize::from(Config::RETRIES1)]);
}

mod ep_net;

// SHLD-9 through the Endpoint: `Event::NegativeAdvice(h)` for the
// application's handle (its peer address says which route).
#[test]
fn shld_9_endpoint_reports_negative_advice() {
    use ep_net::*;
    use tcpstate::endpoint::Event;
    let mut net = Net::new(vec![cfg(1), cfg(2)], 3);
    let (c, _s, _) = open_pair(&mut net);
    net.loss = 1000; // a black hole
    let now = net.now;
    assert_eq!(net.ep(0).send(now, c, b"into the void"), Ok(13));
    net.run_for(Duration::from_secs(10));
    let ev = net.take_events(0);
    assert_eq!(
        ev.iter()
            .filter(|e| **e == Event::NegativeAdvice(c))
            .count(),
        1,
        "{ev:?}"
    );
    assert_eq!(net.ep(0).peer_addr(c), Some(sa(2, 80)));
}
