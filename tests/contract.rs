//! The application contract of the Endpoint (issue 14; DESIGN.md "The
//! application contract"): what an embedder may rely on.
//!
//! - A handle stays valid until its `Closed` event is polled (or the
//!   application calls `close`/`abort`): `recv` gives every byte before the
//!   peer's FIN and then `Ok(0)`, or the data that came before a RST and
//!   then `Err(Closed(Reset))`, never `UnknownHandle` first.
//! - Shutdown is a half-close; close with unread data resets; close
//!   without finishes as an orphan that still delivers its data and FIN.
//! - Every input has a defined answer: stale and foreign handles, configs,
//!   short buffers, time going backwards, datagrams not for us, ICMP.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcpstate::endpoint::{Event, MIN_TRANSMIT_BUF};
use tcpstate::wire::{Flags, TcpHeader, TcpOptions, checksum};
use tcpstate::{
    CallError, CloseReason, Config, Duration, Ecn, Endpoint, EndpointConfig, EndpointError, Handle,
    IcmpError, Instant, ListenOptions, SeqNum, State,
};

mod ep_net;
use ep_net::*;

// ----- issue 14, bug 1: the handle outlives the end ------------------------

/// The repro of the issue: the client shuts down, the server reads the
/// end and closes, the server's FIN reaches the client (TIME-WAIT, nothing
/// unread). Every client event is still answered for its handle: the
/// `Readable` leads to `recv` = `Ok(0)`, and `Closed` comes last.
#[test]
fn half_close_echo_client_sees_eof_then_closed() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 1);
    let (c, s, _) = open_pair(&mut net);
    let req = pattern(3000, 1);
    write_all(&mut net, 0, c, &req);
    let now = net.now;
    net.ep(0).shutdown(now, c).unwrap();
    net.run_for(Duration::from_millis(100));
    let now = net.now;
    let (got, end) = read_all(net.ep(1), now, s);
    assert_eq!(got, req);
    assert_eq!(end, Ok(0), "the server sees the client's FIN as Ok(0)");
    // Echo, then close.
    write_all(&mut net, 1, s, &got);
    let now = net.now;
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(100));
    // The client is in TIME-WAIT (the table holds the tuple), its handle
    // lives: every queued event is answered, and reading gives the echo
    // and then the end; `Closed` comes once the last byte is read.
    assert_eq!(net.ep(0).time_wait_count(), 1);
    let events = net.take_events(0);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Closed(..))),
        "{events:?}"
    );
    let now = net.now;
    let mut echo = Vec::new();
    let mut seen_eof = false;
    for e in &events {
        match e {
            Event::Readable(h) => {
                let (got, end) = read_all(net.ep(0), now, *h);
                echo.extend(got);
                if end == Ok(0) {
                    seen_eof = true;
                } else {
                    assert_eq!(end, Err(EndpointError::WouldBlock));
                }
            }
            Event::Writable(h) | Event::StateChanged(h, _) => {
                assert!(
                    net.ep(0).connection(*h).is_some(),
                    "{e:?}: handle gone early"
                );
            }
            _ => {}
        }
    }
    assert_eq!(echo, req);
    assert!(seen_eof, "recv returned Ok(0) at the end");
    assert_eq!(
        net.take_events(0),
        vec![Event::Closed(c, CloseReason::Normal)]
    );
    // After `Closed` was polled, the handle is stale.
    assert_eq!(
        net.ep(0).recv(now, c, &mut [0; 8]),
        Err(EndpointError::UnknownHandle)
    );
    assert_eq!(net.ep(0).connection_count(), 0);
}

/// Events polled before the application reads (as an async runtime does):
/// `Closed` is not queued while unread data remains, so the data and the
/// end are still there when the reader runs; the `recv` that takes the
/// last byte queues it.
#[test]
fn closed_waits_for_the_last_byte_to_be_read() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 2);
    let (c, s, _) = open_pair(&mut net);
    let data = pattern(5000, 2);
    write_all(&mut net, 1, s, &data);
    let now = net.now;
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(100));
    // The client shuts down without reading: LAST-ACK, then CLOSED.
    let now = net.now;
    net.ep(0).shutdown(now, c).unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.ep(0).connection(c).unwrap().state(), State::Closed);
    let events = net.take_events(0);
    assert!(events.contains(&Event::Readable(c)));
    assert!(!events.iter().any(|e| matches!(e, Event::Closed(..))));
    let now = net.now;
    let (got, end) = read_all(net.ep(0), now, c);
    assert_eq!((got, end), (data, Ok(0)));
    // The end again, as often as asked, until `Closed` is polled.
    assert_eq!(net.ep(0).recv(now, c, &mut [0; 8]), Ok(0));
    assert_eq!(
        net.take_events(0),
        vec![Event::Closed(c, CloseReason::Normal)]
    );
    assert_eq!(
        net.ep(0).recv(now, c, &mut [0; 8]),
        Err(EndpointError::UnknownHandle)
    );
}

/// A RST is an error, never an end of stream, and the data that came
/// before it stays readable first (as on Linux).
#[test]
fn reset_is_an_error_after_the_data() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 3);
    let (c, s, _) = open_pair(&mut net);
    let data = pattern(3000, 3);
    write_all(&mut net, 1, s, &data);
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    net.ep(1).abort(now, s).unwrap();
    net.run_for(Duration::from_millis(50));
    let events = net.take_events(0);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Closed(..))),
        "{events:?}"
    );
    let now = net.now;
    let (got, end) = read_all(net.ep(0), now, c);
    assert_eq!(got, data);
    assert_eq!(end, Err(EndpointError::Closed(CloseReason::Reset)));
    assert_eq!(
        net.ep(0).send(now, c, b"x"),
        Err(EndpointError::Closed(CloseReason::Reset))
    );
    assert_eq!(
        net.take_events(0),
        vec![Event::Closed(c, CloseReason::Reset)]
    );
    // The aborting side's handle ended with its call: no event for it.
    assert!(
        !net.take_events(1)
            .iter()
            .any(|e| matches!(e, Event::Readable(h) | Event::Closed(h, _) if *h == s))
    );
}

/// Both directions, 2 % loss: each side reads every byte the other wrote,
/// then `Ok(0)`, then (once both closed) `Closed`.
#[test]
fn eof_after_every_byte_both_ways_with_loss() {
    for seed in 1..=3 {
        let mut net = Net::new(vec![cfg(1), cfg(2)], seed);
        let (c, s, _) = open_pair(&mut net);
        net.loss = 20;
        let (a, b) = (pattern(40_000, 4), pattern(30_000, 5));
        let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
        let (mut sent_a, mut sent_b) = (0, 0);
        let (mut eof_a, mut eof_b) = (false, false);
        for _ in 0..20_000 {
            let now = net.now;
            if sent_a < a.len() {
                if let Ok(n) = net.ep(0).send(now, c, &a[sent_a..]) {
                    sent_a += n;
                    if sent_a == a.len() {
                        net.ep(0).shutdown(now, c).unwrap();
                    }
                }
            }
            if sent_b < b.len() {
                if let Ok(n) = net.ep(1).send(now, s, &b[sent_b..]) {
                    sent_b += n;
                    if sent_b == b.len() {
                        net.ep(1).shutdown(now, s).unwrap();
                    }
                }
            }
            for (i, h, got, eof) in [
                (0, c, &mut got_b, &mut eof_b),
                (1, s, &mut got_a, &mut eof_a),
            ] {
                if *eof {
                    continue;
                }
                let (bytes, end) = read_all(net.ep(i), now, h);
                got.extend(bytes);
                match end {
                    Ok(0) => *eof = true,
                    Err(EndpointError::WouldBlock) => {}
                    e => panic!("seed {seed}: {e:?}"),
                }
            }
            if eof_a && eof_b {
                break;
            }
            net.run_for(Duration::from_millis(10));
        }
        assert!(eof_a && eof_b, "seed {seed}: both ends seen");
        assert_eq!(got_a, a, "seed {seed}");
        assert_eq!(got_b, b, "seed {seed}");
        net.run_for(Duration::from_secs(5));
        for (i, h) in [(0, c), (1, s)] {
            let ev = net.take_events(i);
            assert_eq!(
                ev.iter()
                    .filter(|e| matches!(e, Event::Closed(x, _) if *x == h))
                    .count(),
                1,
                "seed {seed}: one Closed for {h}"
            );
            assert!(matches!(ev.last(), Some(Event::Closed(x, CloseReason::Normal)) if *x == h));
        }
    }
}

/// Shutdown is a half-close: after its FIN, the side reads all the peer
/// sends (here 60 KB, written only after the FIN arrived).
#[test]
fn shutdown_then_reading_goes_on() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 4);
    let (c, s, _) = open_pair(&mut net);
    let now = net.now;
    net.ep(0).shutdown(now, c).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    assert_eq!(net.ep(1).recv(now, s, &mut [0; 8]), Ok(0));
    assert_eq!(net.ep(0).connection(c).unwrap().state(), State::FinWait2);
    assert_eq!(
        net.ep(0).send(now, c, b"more"),
        Err(EndpointError::Call(CallError::Closing))
    );
    let data = pattern(60_000, 6);
    let mut got = Vec::new();
    let mut sent = 0;
    for _ in 0..10_000 {
        let now = net.now;
        if sent < data.len() {
            if let Ok(n) = net.ep(1).send(now, s, &data[sent..]) {
                sent += n;
            }
        } else if net
            .ep(1)
            .connection(s)
            .is_some_and(|k| k.state() == State::CloseWait)
        {
            net.ep(1).close(now, s).unwrap();
        }
        let (bytes, end) = read_all(net.ep(0), now, c);
        got.extend(bytes);
        if end == Ok(0) {
            break;
        }
        net.run_for(Duration::from_millis(10));
    }
    assert_eq!(got, data);
}

/// Close with unread data resets the connection (RFC 9293 §3.6.1
/// SHLD-3); the closing handle ends at once.
#[test]
fn close_with_unread_data_resets() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 5);
    let (c, s, _) = open_pair(&mut net);
    write_all(&mut net, 0, c, b"never read");
    net.run_for(Duration::from_millis(50));
    net.take_events(1);
    let now = net.now;
    net.ep(1).close(now, s).unwrap();
    assert_eq!(
        net.ep(1).recv(now, s, &mut [0; 8]),
        Err(EndpointError::UnknownHandle)
    );
    net.run_for(Duration::from_millis(50));
    assert!(
        net.take_events(1).is_empty(),
        "no event for a closed handle"
    );
    // Until it polls `Closed`, the client's application reads the reset.
    let now = net.now;
    assert_eq!(
        net.ep(0).recv(now, c, &mut [0; 8]),
        Err(EndpointError::Closed(CloseReason::Reset))
    );
    assert_eq!(
        net.take_events(0).last(),
        Some(&Event::Closed(c, CloseReason::Reset))
    );
    assert_eq!(net.ep(1).counters().out_rsts, 1);
}

/// `Endpoint::send_with` writes in place: the bytes arrive; a full buffer
/// is `WouldBlock` without calling the closure; a closure that writes
/// nothing is `WouldBlock`; after the end and for a released handle, the
/// same answers as `send`.
#[test]
fn send_with_in_place_through_the_endpoint() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 5);
    let (c, s, _) = open_pair(&mut net);
    let data = pattern(30_000, 9);
    let (mut sent, mut got) = (0, Vec::new());
    for _ in 0..10_000 {
        let now = net.now;
        if sent < data.len() {
            let mut called = false;
            match net.ep(0).send_with(now, c, |space| {
                called = true;
                let n = space.len().min(data.len() - sent);
                space[..n].copy_from_slice(&data[sent..sent + n]);
                n
            }) {
                Ok(n) => sent += n,
                Err(EndpointError::WouldBlock) => assert!(!called, "a full buffer"),
                Err(e) => panic!("send_with: {e}"),
            }
        }
        got.extend(read_all(net.ep(1), now, s).0);
        if got.len() == data.len() {
            break;
        }
        net.run_for(Duration::from_millis(5));
    }
    assert_eq!(got, data);
    let now = net.now;
    assert_eq!(
        net.ep(0).send_with(now, c, |_| 0),
        Err(EndpointError::WouldBlock)
    );
    // The peer resets: the same error as send, then the handle is let go.
    net.ep(1).abort(now, s).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    let e = net.ep(0).send(now, c, b"x").unwrap_err();
    assert_eq!(net.ep(0).send_with(now, c, |_| 1).unwrap_err(), e);
    net.ep(0).close(now, c).unwrap();
    assert_eq!(
        net.ep(0).send_with(now, c, |_| 1),
        Err(EndpointError::UnknownHandle)
    );
}

/// Close without unread data: the connection finishes as an orphan that
/// still delivers all its data and its FIN, through 3 % loss.
#[test]
fn close_without_unread_data_orphan_delivers() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 6);
    let (c, s, _) = open_pair(&mut net);
    net.loss = 30;
    let data = pattern(8192, 7);
    let now = net.now;
    // One buffer's worth, then close at once.
    assert_eq!(net.ep(1).send(now, s, &data), Ok(data.len()));
    net.ep(1).close(now, s).unwrap();
    assert_eq!(net.ep(1).counters().orphans, 1);
    let mut got = Vec::new();
    for _ in 0..10_000 {
        let now = net.now;
        let (bytes, end) = read_all(net.ep(0), now, c);
        got.extend(bytes);
        if end == Ok(0) {
            break;
        }
        net.run_for(Duration::from_millis(20));
    }
    assert_eq!(got, data);
    let now = net.now;
    net.ep(0).close(now, c).unwrap();
    net.run_for(Duration::from_secs(10));
    assert_eq!(net.ep(1).counters().orphans, 0);
    assert_eq!(net.ep(1).connection_count(), 0);
}

/// Handles name one connection of one Endpoint: a handle from another
/// Endpoint (even with the same secret), or after `Closed`, is refused.
#[test]
fn stale_and_foreign_handles_are_refused() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 7);
    let (c, s, l) = open_pair(&mut net);
    let mut twin = Endpoint::new(cfg(1), [1; 16]).unwrap();
    let now = net.now;
    let t = twin.connect(now, None, sa(2, 81)).unwrap();
    // Same slot and generation in both Endpoints, yet not the same handle.
    assert_eq!(format!("{t}"), format!("{c}"));
    assert_eq!(twin.send(now, c, b"x"), Err(EndpointError::UnknownHandle));
    assert_eq!(
        net.ep(0).send(now, t, b"x"),
        Err(EndpointError::UnknownHandle)
    );
    assert_eq!(twin.accept(l), None);
    assert!(twin.connection(c).is_none());
    // Stale after the application let go of it.
    net.ep(1).abort(now, s).unwrap();
    assert_eq!(
        net.ep(1).send(now, s, b"x"),
        Err(EndpointError::UnknownHandle)
    );
    assert_eq!(net.ep(1).close(now, s), Err(EndpointError::UnknownHandle));
}

/// While the application has not polled `Closed`, the TIME-WAIT entry
/// already holds the 4-tuple; only the handle lives on.
#[test]
fn time_wait_entry_while_events_are_queued() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 8);
    let (c, s, _) = open_pair(&mut net);
    let now = net.now;
    net.ep(0).close(now, c).unwrap();
    // A second pair whose client keeps its handle through TIME-WAIT.
    let now = net.now;
    let c2 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(50));
    net.take_events(0);
    let ev = net.take_events(1);
    assert!(ev.iter().any(|e| matches!(e, Event::Incoming(_))));
    let l = ev
        .iter()
        .find_map(|e| match e {
            Event::Incoming(l) => Some(*l),
            _ => None,
        })
        .unwrap();
    let s2 = net.ep(1).accept(l).unwrap();
    let now = net.now;
    net.ep(0).shutdown(now, c2).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    net.ep(1).close(now, s2).unwrap();
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(50));
    // `Closed` for c2 waits in the Endpoint, unpolled by the application.
    assert_eq!(net.ep(0).time_wait_count(), 2, "both clients' tuples");
    let conn = net.ep(0).connection(c2).expect("the handle lives");
    assert_eq!(conn.state(), State::TimeWait);
    let now = net.now;
    assert_eq!(net.ep(0).recv(now, c2, &mut [0; 8]), Ok(0));
    // TIME-WAIT still guards the tuple after the handle goes.
    assert_eq!(
        net.take_events(0).last(),
        Some(&Event::Closed(c2, CloseReason::Normal))
    );
    assert!(net.ep(0).connection(c2).is_none());
    assert_eq!(net.ep(0).time_wait_count(), 2);
    assert_eq!(net.ep(0).connection_count(), 0);
}

/// At most one `Readable` (and one `Writable`) queued per handle, however
/// many segments arrive before the application polls.
#[test]
fn one_readable_per_handle_at_a_time() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 9);
    let (c, s, _) = open_pair(&mut net);
    for i in 0..20u8 {
        let now = net.now;
        net.ep(0).set_nodelay(now, c, true).unwrap();
        net.ep(0).send(now, c, &[i; 100]).unwrap();
        net.run_for(Duration::from_millis(20));
    }
    let ev = net.take_events(1);
    assert_eq!(
        ev.iter().filter(|e| **e == Event::Readable(s)).count(),
        1,
        "{ev:?}"
    );
    // Once polled, the next arrival queues one again.
    let now = net.now;
    let (got, _) = read_all(net.ep(1), now, s);
    assert_eq!(got.len(), 2000);
    net.ep(0).send(now, c, b"again").unwrap();
    net.run_for(Duration::from_millis(20));
    assert_eq!(net.take_events(1), vec![Event::Readable(s)]);
}

// ----- validated input ------------------------------------------------------

#[test]
fn impossible_configs_are_refused_when_built() {
    let bad = |f: fn(&mut EndpointConfig), field: &str| {
        let mut c = cfg(1);
        f(&mut c);
        let e = Endpoint::new(c, [0; 16])
            .err()
            .unwrap_or_else(|| panic!("{field} accepted"));
        assert_eq!(e.field, field, "{e}");
    };
    bad(|c| (c.port_min, c.port_max) = (0, 0), "port_min");
    bad(|c| (c.port_min, c.port_max) = (40000, 30000), "port_min");
    bad(|c| c.rx_buffer = 0, "rx_buffer");
    bad(|c| c.tx_buffer = 0, "tx_buffer");
    bad(|c| c.conn.mss = 0, "mss");
    bad(|c| c.conn.mss = 40, "mss");
    bad(
        |c| (c.conn.rto_min, c.conn.rto_max) = (Duration::from_secs(2), Duration::from_secs(1)),
        "rto_min",
    );
    bad(
        |c| c.conn.delayed_ack = Duration::from_secs(1),
        "delayed_ack",
    );
    bad(|c| c.conn.initial_window = 0, "initial_window");
    bad(|c| c.conn.max_ooo_ranges = 9, "max_ooo_ranges");
    bad(|c| c.max_connections = 0, "max_connections");
    assert!(
        EndpointConfig::linux()
            .with_local_addr(Ipv4Addr::BROADCAST)
            .is_err()
    );
    // A single port is a valid range.
    let mut c = cfg(1);
    (c.port_min, c.port_max) = (40000, 40000);
    let mut ep = Endpoint::new(c, [0; 16]).unwrap();
    let h = ep.connect(Instant::ZERO, None, sa(2, 80)).unwrap();
    assert_eq!(ep.local_addr(h).unwrap().port(), 40000);
    assert_eq!(
        ep.connect(Instant::ZERO, None, sa(2, 80)),
        Err(EndpointError::PortsExhausted)
    );
    // A bare Connection checks its config and its buffers too.
    use tcpstate::{Buffers, Connection};
    let e = Connection::new(Config::linux(), Buffers::with_capacity(0, 10)).err();
    assert_eq!(e.map(|e| e.field), Some("buffers.rx"));
    let e = Connection::new(
        Config {
            mss: 0,
            ..Config::linux()
        },
        Buffers::with_capacity(10, 10),
    )
    .err();
    assert_eq!(e.map(|e| e.field), Some("mss"));
}

/// A bare `Connection::accept` takes a SYN without ACK or RST (RFC 9293
/// §3.10.7.2, LISTEN's third check) and gives anything else back with its
/// buffers (`AcceptError::NotSyn`); the connection's Debug names its state
/// and sequence variables.
#[test]
fn a_bare_connection_accepts_only_a_syn() {
    use tcpstate::wire::Segment;
    use tcpstate::{AcceptError, Buffers, Connection, SeqNum};
    let seg = |flags| Segment {
        seq: SeqNum(1000),
        ack: SeqNum(77),
        flags,
        window: 65535,
        urgent: 0,
        options: TcpOptions::NONE,
        payload: &[],
    };
    let now = Instant::from_secs(1);
    for flags in [
        Flags::SYN | Flags::ACK,
        Flags::SYN | Flags::RST,
        Flags::ACK,
        Flags::RST,
        Flags::FIN,
    ] {
        let r = Connection::accept(
            Config::linux(),
            Buffers::with_capacity(100, 200),
            now,
            &seg(flags),
            SeqNum(5),
        );
        match r {
            Err(AcceptError::NotSyn(b)) => {
                assert_eq!((b.rx.len(), b.tx.len()), (100, 200), "{flags:?}")
            }
            Err(e) => panic!("{flags:?}: {e:?}"),
            Ok(_) => panic!("{flags:?} accepted"),
        }
    }
    let Ok((mut c, a)) = Connection::accept(
        Config::linux(),
        Buffers::with_capacity(100, 200),
        now,
        &seg(Flags::SYN),
        SeqNum(5),
    ) else {
        panic!("a SYN is accepted");
    };
    assert!(a.transmit());
    assert_eq!(c.state(), tcpstate::State::SynReceived);
    let d = format!("{c:?}");
    assert!(d.starts_with("Connection {"), "{d}");
    assert!(d.contains("state: SynReceived"), "{d}");
    assert!(d.contains("rcv_nxt: 1001,"), "{d}");
    // The accessors: the peer's ISS, no timestamps (the SYN offered none),
    // and the application's close.
    assert_eq!(c.irs(), SeqNum(1000));
    assert!(!c.timestamps_enabled());
    assert!(!c.is_app_closed());
    let _ = c.close(now).unwrap();
    assert!(c.is_app_closed());
}

/// Empty buffers: the same typed error on a Connection and an Endpoint
/// (an `Ok(0)` would read as the end of the stream).
#[test]
fn empty_buffers_are_an_error_everywhere() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 10);
    let (c, _, _) = open_pair(&mut net);
    let now = net.now;
    let empty = Err(EndpointError::Call(CallError::EmptyBuffer));
    assert_eq!(net.ep(0).recv(now, c, &mut []), empty);
    assert_eq!(net.ep(0).send(now, c, &[]), empty);
    let conn = net.ep(0).connection(c).unwrap();
    assert_eq!(conn.state(), State::Established);
    use tcpstate::{Buffers, Connection};
    let mut k = Connection::new(Config::linux(), Buffers::with_capacity(64, 64)).unwrap();
    let _ = k.connect(Instant::ZERO, SeqNum(1)).unwrap();
    assert_eq!(
        k.recv(Instant::ZERO, &mut []).err(),
        Some(CallError::EmptyBuffer)
    );
    assert_eq!(
        k.send(Instant::ZERO, &[]).err(),
        Some(CallError::EmptyBuffer)
    );
}

/// Close before a connection exists (LISTEN, SYN-SENT) ends it with the
/// same reason either way.
#[test]
fn close_in_listen_and_syn_sent_report_the_same_reason() {
    use tcpstate::{Buffers, Connection};
    let mut reasons = Vec::new();
    for active in [false, true] {
        let mut k = Connection::new(Config::linux(), Buffers::with_capacity(64, 64)).unwrap();
        let _ = if active {
            k.connect(Instant::ZERO, SeqNum(1)).unwrap()
        } else {
            k.listen(Instant::ZERO, SeqNum(1)).unwrap()
        };
        let a = k.close(Instant::ZERO).unwrap();
        assert_eq!(k.state(), State::Closed);
        reasons.push((a.closed(), k.close_reason()));
    }
    assert_eq!(reasons[0], reasons[1]);
    assert_eq!(reasons[0].1, Some(CloseReason::Aborted));
}

/// A buffer too short for any segment takes nothing: the SYN waits for
/// the next poll, it is not lost until the retransmission timer.
#[test]
fn a_short_transmit_buffer_loses_nothing() {
    let mut ep = Endpoint::new(cfg(1), [1; 16]).unwrap();
    let now = Instant::from_secs(1);
    ep.connect(now, None, sa(2, 80)).unwrap();
    let mut small = [0u8; 30];
    assert_eq!(ep.poll_transmit(now, &mut small), None);
    assert_eq!(ep.counters().short_buffers, 1);
    let mut buf = [0u8; MIN_TRANSMIT_BUF];
    let d = ep.poll_transmit(now, &mut buf).expect("the SYN");
    let (h, _) = TcpHeader::parse(d.segment(&buf)).unwrap();
    assert_eq!(h.flags, Flags::SYN);
}

/// `now` going backwards is clamped and counted, in every build; the same
/// `now` again (every call of one step) is not a regression.
#[test]
fn time_going_backwards_is_clamped() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 11);
    let (c, s, _) = open_pair(&mut net);
    let now = net.now;
    assert_eq!(net.ep(0).counters().clock_regressions, 0);
    let past = Instant::from_secs(1);
    net.ep(0).on_timer(past);
    assert_eq!(net.ep(0).send(past, c, b"late"), Ok(4));
    assert_eq!(net.ep(0).counters().clock_regressions, 2);
    net.run_for(Duration::from_millis(50));
    let (got, _) = read_all(net.ep(1), now, s);
    assert_eq!(got, b"late");
}

// ----- addresses ------------------------------------------------------------

fn craft(src: SocketAddr, dst: SocketAddr, seq: u32, flags: Flags) -> Vec<u8> {
    craft_acked(src, dst, (SeqNum(seq), SeqNum(0)), flags, 65535)
}

/// `craft` with the acknowledgment number and the window given.
fn craft_acked(
    src: SocketAddr,
    dst: SocketAddr,
    (seq, ack): (SeqNum, SeqNum),
    flags: Flags,
    window: u16,
) -> Vec<u8> {
    let h = TcpHeader {
        src_port: src.port(),
        dst_port: dst.port(),
        seq,
        ack,
        flags,
        window,
        urgent: 0,
        options: TcpOptions::NONE,
    };
    let mut buf = vec![0u8; h.header_len()];
    h.emit(&mut buf).unwrap();
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
        unreachable!()
    };
    checksum::fill_checksum_v4(s.octets(), d.octets(), &mut buf);
    buf
}

fn drain(ep: &mut Endpoint, now: Instant) -> Vec<(IpAddr, TcpHeader)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1600];
    while let Some(d) = ep.poll_transmit(now, &mut buf) {
        out.push((d.src, TcpHeader::parse(d.segment(&buf)).unwrap().0));
    }
    out
}

/// A SYN for an address that is not ours gets no answer, from a listener
/// on the wildcard or from a closed port, and is counted.
#[test]
fn segments_for_other_addresses_are_dropped_and_counted() {
    let mut ep = Endpoint::new(cfg(1), [1; 16]).unwrap();
    ep.listen(SocketAddr::from(([0, 0, 0, 0], 80)), 8).unwrap();
    let now = Instant::from_secs(1);
    let peer = sa(9, 5000);
    for dst in [sa(99, 80), sa(99, 81)] {
        ep.on_datagram(
            now,
            peer.ip(),
            dst.ip(),
            Ecn::NotEct,
            &craft(peer, dst, 7, Flags::SYN),
        );
    }
    assert!(drain(&mut ep, now).is_empty());
    assert_eq!(ep.counters().not_local, 2);
    // Ours: answered from our address.
    let dst = sa(1, 80);
    ep.on_datagram(
        now,
        peer.ip(),
        dst.ip(),
        Ecn::NotEct,
        &craft(peer, dst, 7, Flags::SYN),
    );
    let out = drain(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, out[0].1.flags), (ip(1), Flags::SYN | Flags::ACK));
    // Binding or connecting from another address is refused.
    assert_eq!(
        ep.listen(sa(99, 80), 8),
        Err(EndpointError::AddrNotAvailable)
    );
    assert_eq!(
        ep.connect(now, Some(sa(99, 0)), peer),
        Err(EndpointError::AddrNotAvailable)
    );
}

/// Transparent mode (tun2socks): a catch-all listener takes a SYN for
/// any address and port, answers from that address, and the accepted
/// connection reports the original destination.
#[test]
fn transparent_mode_accepts_any_destination_and_reports_it() {
    let c = EndpointConfig::linux().transparent();
    let mut ep = Endpoint::new(c, [1; 16]).unwrap();
    assert_eq!(
        ep.listen(SocketAddr::from(([0, 0, 0, 0], 0)), 8)
            .map(|_| ()),
        Ok(())
    );
    let now = Instant::from_secs(1);
    let peer = SocketAddr::from(([198, 51, 100, 7], 40000));
    let dst = SocketAddr::from(([203, 0, 113, 9], 443));
    ep.on_datagram(
        now,
        peer.ip(),
        dst.ip(),
        Ecn::NotEct,
        &craft(peer, dst, 7, Flags::SYN),
    );
    let out = drain(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].0,
        dst.ip(),
        "the SYN,ACK comes from the asked address"
    );
    let synack = out[0].1;
    assert_eq!(synack.src_port, 443);
    let ack = TcpHeader {
        src_port: peer.port(),
        dst_port: dst.port(),
        seq: SeqNum(8),
        ack: synack.seq.add(1),
        flags: Flags::ACK,
        window: 65535,
        urgent: 0,
        options: TcpOptions::NONE,
    };
    let mut buf = vec![0u8; ack.header_len()];
    ack.emit(&mut buf).unwrap();
    let (IpAddr::V4(s), IpAddr::V4(d)) = (peer.ip(), dst.ip()) else {
        unreachable!()
    };
    checksum::fill_checksum_v4(s.octets(), d.octets(), &mut buf);
    ep.on_datagram(now, peer.ip(), dst.ip(), Ecn::NotEct, &buf);
    let l = match ep.poll_event() {
        Some(Event::Incoming(l)) => l,
        e => panic!("{e:?}"),
    };
    let h = ep.accept(l).unwrap();
    assert_eq!(ep.local_addr(h), Some(dst));
    assert_eq!(ep.peer_addr(h), Some(peer));
    // A specific listener still wins over the catch-all.
    assert!(ep.is_local(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10))));
}

// ----- ICMP -------------------------------------------------------------------

/// The IPv4 header and first bytes of a TCP segment we sent, as an ICMP
/// error quotes them.
fn quote(src: SocketAddr, dst: SocketAddr, seq: SeqNum) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
        unreachable!()
    };
    let mut q = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    q.extend_from_slice(&s.octets());
    q.extend_from_slice(&d.octets());
    q.extend_from_slice(&src.port().to_be_bytes());
    q.extend_from_slice(&dst.port().to_be_bytes());
    q.extend_from_slice(&seq.0.to_be_bytes());
    q
}

/// Port unreachable for a connection still opening ends it (RFC 1122
/// §4.2.3.9): the application gets `Closed(Refused)`; the same message
/// with a sequence number outside SND.UNA..SND.NXT is ignored
/// (RFC 5927 §4.1) and counted.
#[test]
fn icmp_port_unreachable_refuses_a_connect_only_in_window() {
    let mut ep = Endpoint::new(cfg(1), [1; 16]).unwrap();
    let now = Instant::from_secs(1);
    let h = ep.connect(now, None, sa(2, 80)).unwrap();
    let out = drain(&mut ep, now);
    let iss = out[0].1.seq;
    let local = ep.local_addr(h).unwrap();
    let e = IcmpError::from_v4(3, 3, 0).unwrap();
    ep.on_icmp(now, e, &quote(local, sa(2, 80), iss.add(1000)));
    assert_eq!(ep.counters().out_of_window_icmps, 1);
    assert_eq!(ep.connection(h).unwrap().state(), State::SynSent);
    ep.on_icmp(now, e, &quote(sa(1, 1), sa(2, 80), iss));
    assert_eq!(ep.counters().icmp_no_conn, 1);
    ep.on_icmp(now, e, &[0x45, 0, 0]);
    assert_eq!(ep.counters().icmp_no_conn, 2);
    ep.on_icmp(now, e, &quote(local, sa(2, 80), iss));
    let mut ev = Vec::new();
    while let Some(e) = ep.poll_event() {
        ev.push(e);
    }
    assert_eq!(ev.last(), Some(&Event::Closed(h, CloseReason::Refused)));
    assert_eq!(ep.counters().icmp_in, 4);
}

/// Soft errors never end a connection (MUST-56); "fragmentation needed"
/// lowers the MSS of a connection (RFC 1191) and what it sends next fits.
#[test]
fn icmp_soft_errors_and_path_mtu() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 12);
    let (c, s, _) = open_pair(&mut net);
    let (local, remote) = (net.ep(0).local_addr(c).unwrap(), sa(2, 80));
    let una = net.ep(0).connection(c).unwrap().snd_una();
    let now = net.now;
    // Nothing in flight: SND.UNA == SND.NXT, so no sequence number fits.
    net.ep(0).on_icmp(
        now,
        IcmpError::from_v4(11, 0, 0).unwrap(),
        &quote(local, remote, una),
    );
    assert_eq!(net.ep(0).counters().out_of_window_icmps, 1);
    net.loss = 1000; // hold data in flight
    net.ep(0).send(now, c, &pattern(4000, 9)).unwrap();
    net.flush();
    net.loss = 0;
    net.ep(0).on_icmp(
        now,
        IcmpError::from_v4(11, 0, 0).unwrap(),
        &quote(local, remote, una),
    );
    assert_eq!(
        net.ep(0).connection(c).unwrap().soft_error(),
        Some(IcmpError::TimeExceeded)
    );
    assert_eq!(net.ep(0).connection(c).unwrap().state(), State::Established);
    net.ep(0).on_icmp(
        now,
        IcmpError::from_v4(3, 4, 576).unwrap(),
        &quote(local, remote, una),
    );
    // 576 - 20 (IP) - 20 (TCP) = 536, less 12 bytes of timestamps.
    assert_eq!(net.ep(0).connection(c).unwrap().effective_mss(), 524);
    // The retransmissions and what follows are at most that.
    let mut got = Vec::new();
    for _ in 0..200 {
        net.run_for(Duration::from_millis(50));
        let now = net.now;
        got.extend(read_all(net.ep(1), now, s).0);
        if got.len() == 4000 {
            break;
        }
    }
    assert_eq!(got, pattern(4000, 9));
    assert!(net.ep(0).connection(c).unwrap().stats().segs_out > 4000 / 1448 + 3);
    // ICMPv6 packet too big below the IPv6 minimum is taken as 1280.
    assert_eq!(
        IcmpError::from_v6(2, 0, 1000),
        Some(IcmpError::FragmentationNeeded { mtu: 1280 })
    );
    assert_eq!(
        IcmpError::from_v6(1, 4, 0),
        Some(IcmpError::Unreachable { code: 3 })
    );
    assert_eq!(IcmpError::from_v4(0, 0, 0), None);
}

// ----- ECN --------------------------------------------------------------------

/// ECN through the Endpoint (RFC 3168): the connections negotiate it,
/// data goes out ECT(0), a CE mark on the way reaches the receiver, which
/// echoes it, and the sender reduces its window once per window of data.
#[test]
fn ecn_end_to_end_through_the_endpoint() {
    let mut a = cfg(1);
    a.conn.ecn = true;
    let mut b = cfg(2);
    b.conn.ecn = true;
    let mut net = Net::new(vec![a, b], 13);
    let (c, s, _) = open_pair(&mut net);
    assert!(net.ep(0).connection(c).unwrap().ecn_enabled());
    assert!(net.ep(1).connection(s).unwrap().ecn_enabled());
    net.loss = 50;
    net.ce_mark = true;
    let data = pattern(200_000, 10);
    let mut sent = 0;
    let mut got = Vec::new();
    for _ in 0..20_000 {
        let now = net.now;
        if sent < data.len() {
            if let Ok(n) = net.ep(0).send(now, c, &data[sent..]) {
                sent += n;
            }
        }
        got.extend(read_all(net.ep(1), now, s).0);
        if got.len() == data.len() {
            break;
        }
        net.run_for(Duration::from_millis(5));
    }
    assert_eq!(got, data);
    let k = net.ep(0).connection(c).unwrap().stats();
    assert!(k.ecn_reductions > 0, "{k:?}");
    assert_eq!(k.retransmits, 0, "CE marks, not losses");
}

// ----- SYN filtering ------------------------------------------------------------

/// A filtering listener holds each SYN until the application decides:
/// nothing goes out before; admit completes the handshake, refuse sends
/// a RST (the connect fails as refused), ignore drops it (the client
/// retransmits and a new verdict is asked).
#[test]
fn syn_filter_admit_refuse_ignore() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 14);
    let l = net
        .ep(1)
        .listen_with(
            sa(2, 80),
            ListenOptions {
                filter_syn: true,
                ..ListenOptions::backlog(8)
            },
        )
        .unwrap();
    let now = net.now;
    let c1 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    let c2 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    let c3 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(50));
    let pending: Vec<_> = net
        .take_events(1)
        .into_iter()
        .filter_map(|e| match e {
            Event::SynPending(x, p) if x == l => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pending.len(), 3);
    assert_eq!(
        net.ep(1).counters().out_segs,
        0,
        "no SYN,ACK before a verdict"
    );
    let by_port = |net: &mut Net, h: Handle| {
        let port = net.ep(0).local_addr(h).unwrap().port();
        *pending
            .iter()
            .find(|p| net.ep(1).pending_syn(**p).unwrap().1.port() == port)
            .unwrap()
    };
    let (p1, p2, p3) = (
        by_port(&mut net, c1),
        by_port(&mut net, c2),
        by_port(&mut net, c3),
    );
    let now = net.now;
    net.ep(1).admit(now, p1).unwrap();
    // A verdict is given once: the admitted SYN is no longer pending
    // (its connection lives on, out of the application's reach until
    // `accept`).
    assert_eq!(net.ep(1).pending_syn(p1), None);
    assert_eq!(net.ep(1).refuse(now, p1), Err(EndpointError::UnknownHandle));
    net.ep(1).refuse(now, p2).unwrap();
    net.ep(1).ignore(p3).unwrap();
    assert_eq!(net.ep(1).admit(now, p3), Err(EndpointError::UnknownHandle));
    net.run_for(Duration::from_millis(50));
    let ev = net.take_events(0);
    assert!(ev.contains(&Event::Connected(c1)));
    assert!(ev.contains(&Event::Closed(c2, CloseReason::Refused)));
    assert!(
        !ev.iter()
            .any(|e| matches!(e, Event::Connected(h) | Event::Closed(h, _) if *h == c3))
    );
    // The ignored client's SYN comes again (RTO 1 s): a new verdict.
    net.run_for(Duration::from_millis(1500));
    let again: Vec<_> = net
        .take_events(1)
        .into_iter()
        .filter(|e| matches!(e, Event::SynPending(..)))
        .collect();
    assert_eq!(again.len(), 1);
    let Event::SynPending(_, p) = again[0] else {
        unreachable!()
    };
    let now = net.now;
    net.ep(1).admit(now, p).unwrap();
    net.run_for(Duration::from_millis(50));
    assert!(net.take_events(0).contains(&Event::Connected(c3)));
    assert_eq!(net.ep(1).counters().syn_refused, 1);
    assert_eq!(net.ep(1).counters().syn_ignored, 1);
}

/// `set_linger(Some(0))`: close resets (what tokio's `set_linger(Some(0))`
/// asks); a non-zero linger time is refused.
#[test]
fn linger_zero_close_resets() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 15);
    let (c, s, _) = open_pair(&mut net);
    assert_eq!(
        net.ep(1).set_linger(s, Some(Duration::from_secs(1))),
        Err(EndpointError::Unsupported)
    );
    net.ep(1).set_linger(s, Some(Duration::ZERO)).unwrap();
    let now = net.now;
    net.ep(1).send(now, s, b"dropped").unwrap();
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    let (_, end) = read_all(net.ep(0), now, c);
    assert_eq!(end, Err(EndpointError::Closed(CloseReason::Reset)));
    assert_eq!(
        net.take_events(0).last(),
        Some(&Event::Closed(c, CloseReason::Reset))
    );
}

// ----- the property -------------------------------------------------------------

/// One application of the property test: writes `out`, shuts down, reads
/// to the end; what it saw.
#[derive(Debug, Default)]
struct App {
    out: Vec<u8>,
    sent: usize,
    shut: bool,
    got: Vec<u8>,
    /// Every end `recv` reported: `Ok(0)` or an error.
    ends: Vec<Result<usize, EndpointError>>,
    /// The application let go of the handle (`close` or `abort`).
    released: bool,
    aborted: bool,
    closed_event: Option<CloseReason>,
    events_after_closed: usize,
}

fn drive(net: &mut Net, i: usize, h: Handle, app: &mut App, may_shut: bool, close_after_end: bool) {
    let now = net.now;
    for e in net.take_events(i) {
        let eh = match e {
            Event::Readable(h) | Event::Writable(h) | Event::Connected(h) => h,
            Event::StateChanged(h, _) => h,
            Event::Closed(x, r) => {
                assert_eq!(x, h);
                if app.closed_event.is_some() {
                    app.events_after_closed += 1;
                }
                app.closed_event = Some(r);
                continue;
            }
            _ => continue,
        };
        assert_eq!(eh, h);
        if app.closed_event.is_some() {
            app.events_after_closed += 1;
        }
    }
    if app.released || app.closed_event.is_some() {
        return;
    }
    if app.sent < app.out.len() {
        match net.ep(i).send(now, h, &app.out[app.sent..]) {
            Ok(n) => app.sent += n,
            Err(EndpointError::WouldBlock) => {}
            Err(EndpointError::Closed(_)) => {}
            Err(e) => panic!("send: {e}"),
        }
    }
    if app.sent == app.out.len() && !app.shut && may_shut && net.ep(i).shutdown(now, h).is_ok() {
        app.shut = true;
    }
    if app.ends.is_empty() {
        let (bytes, end) = read_all(net.ep(i), now, h);
        app.got.extend(bytes);
        match end {
            Err(EndpointError::WouldBlock) => {}
            e => app.ends.push(e),
        }
    }
    if close_after_end && app.shut && !app.ends.is_empty() {
        net.ep(i).close(now, h).unwrap();
        app.released = true;
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Over random lossy runs with random close orders, every application
    /// sees exactly its peer's bytes followed by exactly one end (EOF, or
    /// a reset when the peer aborted, after a prefix of its bytes), and
    /// every handle the application kept ends with `Closed`, after which
    /// nothing more comes for it.
    #[test]
    fn every_application_sees_its_peers_bytes_then_one_end(
        seed in 1u64..u64::MAX,
        loss in 0u64..60,
        a_len in 0usize..40_000,
        b_len in 0usize..40_000,
        client_first in proptest::bool::ANY,
        abort_client in proptest::bool::weighted(0.15),
        close_after_end in proptest::bool::ANY,
    ) {
        let mut net = Net::new(vec![cfg(1), cfg(2)], seed);
        let (c, s, _) = open_pair(&mut net);
        net.loss = loss;
        let mut apps = [
            App { out: pattern(a_len, 1), ..App::default() },
            App { out: pattern(b_len, 2), ..App::default() },
        ];
        let abort_at = (seed % 5000) as usize;
        for _ in 0..30_000 {
            let [a, b] = &mut apps;
            // The first to shut down may do so at once; the other only
            // after it has seen the end.
            let (a_may, b_may) = if client_first {
                (true, !b.ends.is_empty())
            } else {
                (!a.ends.is_empty(), true)
            };
            drive(&mut net, 0, c, a, a_may, close_after_end);
            drive(&mut net, 1, s, b, b_may, close_after_end);
            if abort_client && !a.released && a.sent >= abort_at.min(a_len) {
                let now = net.now;
                if net.ep(0).abort(now, c).is_ok() {
                    a.released = true;
                    a.aborted = true;
                }
            }
            let done = |x: &App| x.released || x.closed_event.is_some();
            if done(a) && done(b) {
                break;
            }
            net.run_for(Duration::from_millis(20));
        }
        let [a, b] = &apps;
        // The one end each application saw: what `recv` said, or else its
        // `Closed` event (polled before it read the end: nothing was left
        // to read, the event's reason is the end); the two agree.
        let end = |x: &App| -> Vec<Result<usize, EndpointError>> {
            match (x.ends.first(), x.closed_event) {
                (Some(e), Some(r)) => {
                    let agree = match e {
                        Ok(0) => r == CloseReason::Normal,
                        Err(EndpointError::Closed(q)) => *q == r,
                        _ => false,
                    };
                    assert!(agree, "recv said {e:?}, Closed said {r:?}");
                    x.ends.clone()
                }
                (Some(_), None) => x.ends.clone(),
                (None, Some(CloseReason::Normal)) => vec![Ok(0)],
                (None, Some(r)) => vec![Err(EndpointError::Closed(r))],
                (None, None) => vec![],
            }
        };
        let (a_end, b_end) = (end(a), end(b));
        // The server's view of the client's bytes.
        if a.aborted {
            // A prefix of the client's bytes, then one end: the reset (or
            // the FIN, when the abort came after it).
            proptest::prop_assert!(a.out.starts_with(&b.got));
            proptest::prop_assert_eq!(b_end.len(), 1);
            proptest::prop_assert!(
                b_end[0] == Err(EndpointError::Closed(CloseReason::Reset)) || b_end[0] == Ok(0),
                "{:?}", b_end
            );
            if b_end[0] == Ok(0) {
                proptest::prop_assert_eq!(&b.got, &a.out);
            }
        } else {
            proptest::prop_assert_eq!(&b.got, &a.out);
            proptest::prop_assert_eq!(&b_end, &vec![Ok(0)]);
            proptest::prop_assert_eq!(&a.got, &b.out);
            proptest::prop_assert_eq!(&a_end, &vec![Ok(0)]);
        }
        for x in [a, b] {
            proptest::prop_assert_eq!(x.events_after_closed, 0);
            if !x.released {
                proptest::prop_assert!(x.closed_event.is_some(), "a kept handle ends with Closed");
            }
        }
    }
}

/// Counters of several Endpoints add up (a host sharded over Endpoints),
/// and print as `nstat` would.
#[test]
fn counters_sum_and_display() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 16);
    open_pair(&mut net);
    let total: tcpstate::Counters = net.eps.iter().map(|e| e.1.counters()).sum();
    assert_eq!(total.active_opens + total.passive_opens, 2);
    assert_eq!(
        total.in_segs,
        net.eps[0].1.counters().in_segs + net.eps[1].1.counters().in_segs
    );
    let text = total.to_string();
    assert!(
        text.starts_with("Tcp: ActiveOpens 1 PassiveOpens 1 "),
        "{text}"
    );
    assert!(text.contains("\nTcpExt: ListenOverflows 0 "), "{text}");
}

/// A buffer of exactly `MIN_TRANSMIT_BUF` bytes has room for a header and
/// no payload: queued data waits for the next poll with room, the
/// connection stays in the transmit queue and the short buffer is
/// counted. (It used to leave the queue, and the data waited for an
/// unrelated timer or the next application call.)
#[test]
fn data_polled_with_a_header_only_buffer_goes_at_the_next_poll() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 3);
    let (c, s, _) = open_pair(&mut net);
    let now = net.now;
    assert_eq!(net.ep(0).send(now, c, b"hello"), Ok(5));
    let mut small = [0u8; MIN_TRANSMIT_BUF];
    assert_eq!(net.ep(0).poll_transmit(now, &mut small), None);
    assert_eq!(net.ep(0).counters().short_buffers, 1);
    // The next poll with room sends the data at once (no time passes).
    let mut buf = [0u8; 1600];
    let d = net.ep(0).poll_transmit(now, &mut buf).expect("the data");
    let (h, payload) = TcpHeader::parse(d.segment(&buf)).unwrap();
    assert_eq!(payload, b"hello");
    assert!(h.flags.ack());
    assert_eq!(net.ep(0).poll_transmit(now, &mut buf), None);
    net.ep(1)
        .on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
    let (got, _) = read_all(net.ep(1), now, s);
    assert_eq!(got, b"hello");
}

/// A buffer with room for a full segment is never counted short: the
/// transmit queue moves on from a connection that has nothing to send
/// now (Nagle holding a small segment, a shut window) to the next one.
/// Two connections share the client; the first one's small writes wait
/// behind unacknowledged data and a full receive window while the second
/// one's bulk data keeps flowing.
#[test]
fn a_full_buffer_is_never_short() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 5);
    let (c1, s1, l) = open_pair(&mut net);
    let now = net.now;
    let c2 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(50));
    let s2 = net.ep(1).accept(l).expect("accepted");
    let bulk = pattern(200_000, 9);
    let mut sent = 0;
    let mut got1 = Vec::new();
    let mut got2 = Vec::new();
    for round in 0..2_000 {
        let now = net.now;
        // Small writes on the first connection (Nagle holds them while
        // one is unacknowledged); the server reads it only now and then,
        // so its window shuts.
        let _ = net.ep(0).send(now, c1, &[round as u8; 7]);
        if sent < bulk.len()
            && let Ok(n) = net.ep(0).send(now, c2, &bulk[sent..])
        {
            sent += n;
        }
        if round % 50 == 49 {
            got1.extend(read_all(net.ep(1), now, s1).0);
        }
        got2.extend(read_all(net.ep(1), now, s2).0);
        net.run_for(Duration::from_millis(1));
    }
    net.run_for(Duration::from_secs(2));
    let now = net.now;
    got1.extend(read_all(net.ep(1), now, s1).0);
    got2.extend(read_all(net.ep(1), now, s2).0);
    assert_eq!(got2, bulk);
    assert!(got1.len() >= 7 * 1_000, "{}", got1.len());
    assert_eq!(net.ep(0).counters().short_buffers, 0);
    assert_eq!(net.ep(1).counters().short_buffers, 0);
}

/// A header-only buffer is counted short only when the connection still
/// has something to send: data queued behind a window the peer has just
/// shut (RFC 9293 §3.8.6.1: it waits for the persist timer) is nothing
/// to send now, so the connection leaves the transmit queue uncounted.
#[test]
fn a_header_only_buffer_is_not_short_for_a_shut_window() {
    let mut ep = Endpoint::new(cfg(1), [1; 16]).unwrap();
    let now = Instant::ZERO;
    let peer = sa(2, 80);
    let c = ep.connect(now, None, peer).unwrap();
    let mut buf = [0u8; 1600];
    let d = ep.poll_transmit(now, &mut buf).expect("the SYN");
    let (syn, _) = TcpHeader::parse(d.segment(&buf)).unwrap();
    assert!(syn.flags.syn());
    let me = SocketAddr::new(d.src, syn.src_port);
    // The peer's segments, written by hand: SYN,ACK, then an ACK that
    // acknowledges nothing new and shuts the window.
    let from_peer = |seq: u32, flags: Flags, window: u16| {
        craft_acked(peer, me, (SeqNum(seq), syn.seq.add(1)), flags, window)
    };
    let synack = from_peer(1000, Flags::SYN | Flags::ACK, 65535);
    ep.on_datagram(now, peer.ip(), me.ip(), Ecn::NotEct, &synack);
    assert!(
        ep.poll_transmit(now, &mut buf).is_some(),
        "the handshake's ACK"
    );
    assert_eq!(ep.poll_transmit(now, &mut buf), None);
    assert_eq!(ep.send(now, c, b"hello"), Ok(5));
    // Queued with data, then the window shuts before the poll.
    let shut = from_peer(1001, Flags::ACK, 0);
    ep.on_datagram(now, peer.ip(), me.ip(), Ecn::NotEct, &shut);
    let mut small = [0u8; MIN_TRANSMIT_BUF];
    assert_eq!(ep.poll_transmit(now, &mut small), None);
    assert_eq!(ep.counters().short_buffers, 0);
    assert_eq!(ep.poll_transmit(now, &mut buf), None);
    assert_eq!(ep.counters().short_buffers, 0);
    // The persist timer sends a window probe (Linux's: the sequence
    // number before SND.UNA, no data) and the data stays queued.
    let t = ep.next_deadline().expect("the persist timer");
    ep.on_timer(t);
    let d = ep.poll_transmit(t, &mut buf).expect("a probe");
    let (probe, payload) = TcpHeader::parse(d.segment(&buf)).unwrap();
    assert_eq!((probe.seq, payload.len()), (syn.seq, 0));
    assert_eq!(ep.counters().short_buffers, 0);
}
