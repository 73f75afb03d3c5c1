//! The fixed-capacity Endpoint (no allocation inside): a whole connection
//! through it, and typed errors when its tables are full.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

mod ep_net;
use ep_net::run_pair as run;

use tcpstate::endpoint::{Event, Fixed};
use tcpstate::{Duration, Endpoint, EndpointConfig, EndpointError, FixedEndpoint, Instant, State};

type Small = Fixed<4, 16, 2048>;

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), port)
}

fn cfg(local: u8) -> EndpointConfig {
    let mut c = EndpointConfig::linux();
    c = c
        .with_local_addr(Ipv4Addr::new(192, 0, 2, local))
        .expect("unicast");
    c
}

/// The server's own active open (to the peer's listener on port 90)
/// fills its event queue, left unpolled: four events, none dropped.
fn fill_events_by_connecting(
    server: &mut Endpoint<Small>,
    peer: &mut Endpoint<Small>,
    now: &mut Instant,
) -> tcpstate::Handle {
    let c = server.connect(*now, None, addr(1, 90)).unwrap();
    let until = *now + Duration::from_millis(50);
    run(server, peer, now, until);
    assert_eq!(server.connection(c).unwrap().state(), State::Established);
    assert_eq!(server.counters().events_dropped, 0);
    c
}

/// A server connected to a peer's listener by its own open, which
/// fills its event queue (`fill_events_by_connecting`), the peer's end
/// accepted: (server, peer, now, the server's handle, the peer's).
fn connected_with_full_events() -> (
    Endpoint<Small>,
    Endpoint<Small>,
    Instant,
    tcpstate::Handle,
    tcpstate::Handle,
) {
    let mut server = Endpoint::<Small>::with_store(cfg(80), [1; 16]).expect("valid config");
    let mut peer = Endpoint::<Small>::with_store(cfg(1), [2; 16]).expect("valid config");
    let l = peer.listen(addr(1, 90), 4).unwrap();
    let mut now = Instant::from_secs(1);
    let c = fill_events_by_connecting(&mut server, &mut peer, &mut now);
    let p = peer.accept(l).unwrap();
    (server, peer, now, c, p)
}

#[test]
fn handshake_data_and_close_through_a_fixed_endpoint() {
    let mut server =
        FixedEndpoint::<4, 16, 2048>::with_store(cfg(80), [1; 16]).expect("valid config");
    let mut client = Endpoint::<Small>::with_store(cfg(1), [2; 16]).expect("valid config");
    assert_eq!(server.config().rx_buffer, 2048);
    let l = server.listen(addr(80, 80), 4).unwrap();
    let mut now = Instant::from_secs(1);
    let c = client.connect(now, None, addr(80, 80)).unwrap();
    run(&mut client, &mut server, &mut now, Instant::from_secs(2));
    assert!(core::iter::from_fn(|| client.poll_event()).any(|e| e == Event::Connected(c)));
    let s = server.accept(l).expect("accepted");
    // More data than one buffer: it flows as the reader drains.
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    let mut rbuf = [0u8; 700];
    while got.len() < data.len() {
        match client.send(now, c, &data[sent..]) {
            Ok(n) => sent += n,
            Err(EndpointError::WouldBlock) => {}
            Err(e) => panic!("send: {e}"),
        }
        let until = now + Duration::from_millis(50);
        run(&mut client, &mut server, &mut now, until);
        loop {
            match server.recv(now, s, &mut rbuf) {
                Ok(0) => panic!("end of stream before the data"),
                Ok(n) => got.extend_from_slice(&rbuf[..n]),
                Err(EndpointError::WouldBlock) => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
    assert_eq!(got, data);
    server.send(now, s, b"bye").unwrap();
    let until = now + Duration::from_millis(100);
    run(&mut client, &mut server, &mut now, until);
    assert_eq!(client.recv(now, c, &mut rbuf).unwrap(), 3);
    // The server closes first and keeps the TIME-WAIT entry.
    server.close(now, s).unwrap();
    let until = now + Duration::from_millis(100);
    run(&mut client, &mut server, &mut now, until);
    assert_eq!(client.connection(c).unwrap().state(), State::CloseWait);
    assert_eq!(client.recv(now, c, &mut rbuf), Ok(0), "end of stream");
    client.close(now, c).unwrap();
    let until = now + Duration::from_millis(100);
    run(&mut client, &mut server, &mut now, until);
    assert_eq!(server.time_wait_count(), 1);
    assert_eq!(client.connection_count(), 0);
    assert_eq!(server.connection_count(), 0);
    for line in server.connections(now) {
        println!("{line}");
    }
    let until = now + Duration::from_secs(61);
    run(&mut client, &mut server, &mut now, until);
    assert_eq!(server.time_wait_count(), 0);
    let k = server.counters();
    assert_eq!(
        (k.passive_opens, k.events_dropped, k.timers_dropped),
        (1, 0, 0)
    );
}

#[test]
fn a_full_fixed_endpoint_gives_typed_errors_not_panics() {
    let mut client = Endpoint::<Small>::with_store(cfg(1), [3; 16]).expect("valid config");
    let mut server = Endpoint::<Small>::with_store(cfg(80), [4; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    // Four connection slots: the fifth connect fails with a typed error.
    for i in 0..4 {
        client.connect(now, None, addr(80, 8000 + i)).unwrap();
    }
    assert_eq!(
        client.connect(now, None, addr(80, 9000)),
        Err(EndpointError::TooManyConnections)
    );
    // Four listeners at most.
    for p in 1..=4 {
        server.listen(addr(80, p), 4).unwrap();
    }
    assert_eq!(
        server.listen(addr(80, 5), 4),
        Err(EndpointError::NoCapacity)
    );
    // SYNs past the server's capacity are dropped and counted (or answered
    // with a cookie, which keeps no state), never a panic.
    let mut other =
        Endpoint::<Fixed<8, 32, 1024>>::with_store(cfg(2), [5; 16]).expect("valid config");
    let mut buf = [0u8; 1600];
    for i in 0..8 {
        other.connect(now, None, addr(80, 1 + (i % 4))).unwrap();
    }
    while let Some(d) = other.poll_transmit(now, &mut buf) {
        server.on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
    }
    assert!(server.connection_count() <= 4);
    let k = server.counters();
    assert_eq!(k.passive_opens, 4);
    assert_eq!(k.listen_drops + k.syncookies_sent, 4, "{k:?}");
}

/// The fixed store's demux table (`M` slots, one always empty) gives its
/// slot back whenever a connection or a TIME-WAIT entry ends: a fixed
/// Endpoint serves many more connections over its life than its table has
/// slots, each found by its 4-tuple after the others came and went.
#[test]
fn a_fixed_endpoint_serves_more_connections_than_its_table_has_slots() {
    let mut server = Endpoint::<Small>::with_store(cfg(80), [1; 16]).expect("valid config");
    let mut client = Endpoint::<Small>::with_store(cfg(1), [2; 16]).expect("valid config");
    let l = server.listen(addr(80, 80), 4).unwrap();
    let mut now = Instant::from_secs(1);
    let mut rbuf = [0u8; 16];
    // 40 connections one after another, each in both tables (16 slots).
    for round in 0..40u8 {
        let c = client
            .connect(now, None, addr(80, 80))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let until = now + Duration::from_millis(50);
        run(&mut client, &mut server, &mut now, until);
        let s = server.accept(l).expect("accepted");
        client.send(now, c, &[round]).unwrap();
        let until = now + Duration::from_millis(50);
        run(&mut client, &mut server, &mut now, until);
        assert_eq!(server.recv(now, s, &mut rbuf), Ok(1), "round {round}");
        assert_eq!(rbuf[0], round);
        if round % 2 == 0 {
            // A RST: no TIME-WAIT on either side.
            client.abort(now, c).unwrap();
        } else {
            // The client closes first and keeps TIME-WAIT for a minute.
            client.close(now, c).unwrap();
            let until = now + Duration::from_millis(50);
            run(&mut client, &mut server, &mut now, until);
            assert_eq!(server.recv(now, s, &mut rbuf), Ok(0), "round {round}");
            server.close(now, s).unwrap();
            let until = now + Duration::from_millis(50);
            run(&mut client, &mut server, &mut now, until);
            assert_eq!(client.time_wait_count(), 1, "round {round}");
        }
        let until = now + Duration::from_secs(61);
        run(&mut client, &mut server, &mut now, until);
        while client.poll_event().is_some() {}
        let counts = (
            client.connection_count(),
            server.connection_count(),
            client.time_wait_count(),
        );
        assert_eq!(counts, (0, 0, 0), "round {round}");
    }
}

/// A fixed Endpoint's event queue holds `N` events. A SYN for a filtering
/// listener whose `SynPending` finds the queue full could never get a
/// verdict: it is dropped (not held for ever, no SYN,ACK) and counted in
/// `events_dropped`; the peer's retransmission is held once there is room.
#[test]
fn a_held_syn_without_room_for_its_event_is_dropped_and_counted() {
    use tcpstate::endpoint::ListenOptions;
    let mut server = Endpoint::<Small>::with_store(cfg(80), [1; 16]).expect("valid config");
    let mut peer = Endpoint::<Small>::with_store(cfg(1), [2; 16]).expect("valid config");
    let fid = server
        .listen_with(
            addr(80, 81),
            ListenOptions {
                filter_syn: true,
                ..ListenOptions::backlog(4)
            },
        )
        .unwrap();
    peer.listen(addr(1, 90), 4).unwrap();
    let mut now = Instant::from_secs(1);
    let c = fill_events_by_connecting(&mut server, &mut peer, &mut now);
    // Four events: the queue is full. The peer's SYN to the filtering
    // listener finds no room for its SynPending.
    let p = peer.connect(now, None, addr(80, 81)).unwrap();
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    let k = server.counters();
    assert_eq!(k.events_dropped, 1, "{k:?}");
    assert_eq!(server.connection_count(), 1, "the held SYN is dropped");
    assert_eq!(peer.connection(p).unwrap().state(), State::SynSent);
    // With the queue read, the retransmitted SYN is held for a verdict.
    let evs: Vec<Event> = core::iter::from_fn(|| server.poll_event()).collect();
    assert_eq!(evs.len(), 4, "{evs:?}");
    assert!(evs.contains(&Event::Connected(c)), "{evs:?}");
    let until = now + Duration::from_millis(1100);
    let mut buf = [0u8; 1600];
    while now < until {
        now += Duration::from_millis(10);
        peer.on_timer(now);
        while let Some(d) = peer.poll_transmit(now, &mut buf) {
            server.on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
        }
    }
    let evs: Vec<Event> = core::iter::from_fn(|| server.poll_event()).collect();
    assert!(
        matches!(evs[..], [Event::SynPending(id, _)] if id == fid),
        "{evs:?}"
    );
}

/// A Fast Open connection goes to its listener's accept queue at its SYN
/// (RFC 7413 §4.2.2); when a fixed Endpoint's event queue is full its
/// `Incoming` is dropped and counted, and the connection is in the accept
/// queue all the same, the SYN's data readable (the `Readable` that
/// `accept` queues for it dropped and counted as well).
#[test]
fn a_fast_open_child_without_room_for_its_event_is_counted_and_accepted() {
    use tcpstate::endpoint::{ConnectOptions, FastOpenConfig, ListenOptions};
    let mut scfg = cfg(80);
    scfg.fast_open = FastOpenConfig {
        server: true,
        ..FastOpenConfig::CLIENT
    };
    let mut server = Endpoint::<Small>::with_store(scfg, [1; 16]).expect("valid config");
    let mut peer = Endpoint::<Small>::with_store(cfg(1), [2; 16]).expect("valid config");
    let l = server
        .listen_with(
            addr(80, 80),
            ListenOptions {
                fast_open: 4,
                ..ListenOptions::backlog(4)
            },
        )
        .unwrap();
    peer.listen(addr(1, 90), 4).unwrap();
    let mut now = Instant::from_secs(1);
    // A cookie request fills the peer's cache.
    let fo = |peer: &mut Endpoint<Small>, now, data: &[u8]| {
        peer.connect_with_data(now, None, addr(80, 80), ConnectOptions::default(), data)
            .unwrap()
    };
    let (h, _) = fo(&mut peer, now, b"");
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    peer.abort(now, h).unwrap();
    let s = server.accept(l).expect("accepted");
    server.abort(now, s).unwrap();
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    while server.poll_event().is_some() {}
    assert_eq!(server.connection_count(), 0);
    fill_events_by_connecting(&mut server, &mut peer, &mut now);
    // Data on the SYN with the cookie.
    let (_, n) = fo(&mut peer, now, b"hello");
    assert_eq!(n, 5);
    let mut buf = [0u8; 1600];
    while let Some(d) = peer.poll_transmit(now, &mut buf) {
        server.on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
    }
    assert_eq!(server.counters().events_dropped, 1);
    let s = server.accept(l).expect("in the accept queue");
    assert_eq!(server.connection(s).unwrap().state(), State::SynReceived);
    // The data is there at `accept`: its Readable, dropped too.
    assert_eq!(server.counters().events_dropped, 2);
    assert_eq!(server.recv(now, s, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
}

/// With a fixed Endpoint's event queue full (its `N` = 4 events
/// unpolled), the `Readable` of new data, the `Readable` of a reset that
/// leaves data to read and the `Closed` once it is read are each dropped
/// and counted in `events_dropped`; the application loses nothing but the
/// wake-ups: `recv` returns the data, then the reset, and `close` frees
/// the handle.
#[test]
fn a_full_event_queue_drops_readable_and_closed_but_recv_still_reports_them() {
    use tcpstate::CloseReason;
    let (mut server, mut peer, mut now, c, p) = connected_with_full_events();
    peer.send(now, p, b"hi").unwrap();
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    assert_eq!(server.counters().events_dropped, 1, "Readable");
    peer.abort(now, p).unwrap();
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    assert_eq!(server.connection_count(), 1, "the handle lives on");
    // The RST's three: StateChanged(Established -> Closed), and Readable
    // twice, for the RST and for the end of the connection (neither got
    // in, so neither is marked queued). Writable was queued before: no
    // second one.
    assert_eq!(server.counters().events_dropped, 4, "the RST's events");
    let mut buf = [0u8; 16];
    assert_eq!(server.recv(now, c, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"hi");
    assert_eq!(server.counters().events_dropped, 5, "Closed");
    assert_eq!(
        server.recv(now, c, &mut buf),
        Err(EndpointError::Closed(CloseReason::Reset))
    );
    assert_eq!(server.counters().events_dropped, 5, "Closed only once");
    let evs: Vec<Event> = core::iter::from_fn(|| server.poll_event()).collect();
    assert_eq!(evs.len(), 4, "{evs:?}");
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Event::Readable(_) | Event::Closed(..))),
        "{evs:?}"
    );
    server.close(now, c).unwrap();
    assert_eq!(server.connection_count(), 0);
    assert!(server.connection(c).is_none());
}

/// A full fixed event queue also drops a connection's `Writable` (its
/// send buffer drained by the peer's ACKs) and `Urgent` (the peer's
/// urgent data, RFC 9293 §3.8.5), each counted in `events_dropped`.
#[test]
fn a_full_event_queue_drops_writable_and_urgent_and_counts_them() {
    let (mut server, mut peer, mut now, c, p) = connected_with_full_events();
    // The first connection's events read; a second's fill the queue.
    while server.poll_event().is_some() {}
    fill_events_by_connecting(&mut server, &mut peer, &mut now);
    // A full send buffer, drained by the ACKs: Writable, dropped.
    let data = [7u8; 4096];
    let sent = server.send(now, c, &data).unwrap();
    assert_eq!(sent, 2048, "the send buffer is full");
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    let mut buf = [0u8; 4096];
    assert_eq!(peer.recv(now, p, &mut buf), Ok(2048));
    assert_eq!(server.counters().events_dropped, 1, "Writable");
    // Urgent data from the peer: Readable and Urgent, both dropped.
    peer.send_urgent(now, p, b"!").unwrap();
    let until = now + Duration::from_millis(50);
    run(&mut server, &mut peer, &mut now, until);
    assert_eq!(server.counters().events_dropped, 3, "Readable and Urgent");
}

/// A fixed Endpoint's list of orphans holds `N` handles; an orphan that
/// has ended leaves its handle behind until the list is full, when the
/// ended ones are dropped to make room. Many orphans in turn (each closed
/// by the application, each finishing its close in the engine, RFC 9293
/// §3.10.4) are all tracked: none counted in `orphans_untracked`, so the
/// `max_orphans` cap (Linux `tcp_max_orphans`) sees every one.
#[test]
fn orphans_in_turn_reuse_the_fixed_orphan_list() {
    let mut client = Endpoint::<Small>::with_store(cfg(1), [1; 16]).expect("valid config");
    let mut server = Endpoint::new(cfg(80), [2; 16]).expect("valid config");
    let l = server.listen(addr(80, 80), 4).unwrap();
    let mut now = Instant::from_secs(1);
    for round in 0..10 {
        let c = client.connect(now, None, addr(80, 80)).unwrap();
        let until = now + Duration::from_millis(50);
        run(&mut client, &mut server, &mut now, until);
        let s = server.accept(l).expect("accepted");
        client.close(now, c).unwrap();
        assert_eq!(client.counters().orphans, 1, "round {round}");
        let until = now + Duration::from_millis(50);
        run(&mut client, &mut server, &mut now, until);
        server.close(now, s).unwrap();
        let until = now + Duration::from_millis(50);
        run(&mut client, &mut server, &mut now, until);
        let k = client.counters();
        assert_eq!((k.orphans, k.orphans_untracked), (0, 0), "round {round}");
        assert_eq!(client.connection_count(), 0, "round {round}");
    }
}

/// A fixed Endpoint's listener table (open addressing, `M` slots) with
/// every listener slot in use: one more `listen` is `NoCapacity`; closing
/// listeners takes them out of the table without losing the others (a
/// removal moves displaced entries back, rehashing them), and their
/// ports refuse SYNs until listened on again. Under several secrets, so
/// that the listeners' hashes collide in different ways.
#[test]
fn a_full_fixed_listener_table_loses_no_listener_when_some_close() {
    type Mid = Fixed<16, 64, 512>;
    for seed in 0..8u8 {
        let mut server = Endpoint::<Mid>::with_store(cfg(80), [seed; 16]).expect("valid config");
        let mut peer = Endpoint::new(cfg(1), [99; 16]).expect("valid config");
        let ports: Vec<u16> = (100..116).collect();
        let ids: Vec<_> = ports
            .iter()
            .map(|&p| server.listen(addr(80, p), 4).unwrap())
            .collect();
        assert_eq!(
            server.listen(addr(80, 999), 4),
            Err(EndpointError::NoCapacity)
        );
        for (i, id) in ids.iter().enumerate() {
            if i % 2 == 0 {
                server.close_listener(Instant::from_secs(1), *id).unwrap();
            }
        }
        let mut now = Instant::from_secs(1);
        let hs: Vec<_> = ports
            .iter()
            .map(|&p| peer.connect(now, None, addr(80, p)).unwrap())
            .collect();
        let until = now + Duration::from_millis(50);
        run(&mut peer, &mut server, &mut now, until);
        for (i, h) in hs.iter().enumerate() {
            let want = if i % 2 == 0 {
                State::Closed
            } else {
                State::Established
            };
            let got = peer.connection(*h).map(|c| c.state());
            assert_eq!(got, Some(want), "seed {seed} port {}", ports[i]);
        }
        for (i, &p) in ports.iter().enumerate() {
            if i % 2 == 0 {
                server.listen(addr(80, p), 4).unwrap();
            }
        }
        assert_eq!(server.connections(now).count(), 16 + 8, "seed {seed}");
    }
}

/// A fixed store below the documented `M >= 4 * N` can run out of timer
/// nodes: here `M` = 4 nodes (and a demux table of 3) for `N` = 8
/// connections, with a TIME-WAIT entry and two refused connections whose
/// `Closed` the application has not polled (out of the table, their
/// slots and timers kept). The wheel's purge when the pool is full takes
/// out stale nodes only: every node is a live timer, so the new
/// connection's timer is the one dropped and counted (`timers_dropped`),
/// and the TIME-WAIT entry still ends at 2MSL.
#[test]
fn an_undersized_timer_pool_drops_the_new_timer_never_a_live_one() {
    let mut client =
        FixedEndpoint::<8, 4, 2048>::with_store(cfg(2), [2; 16]).expect("valid config");
    let mut server = Endpoint::new(cfg(1), [1; 16]).expect("valid config");
    let l = server.listen(addr(1, 90), 4).unwrap();
    let mut now = Instant::from_secs(1);
    // A TIME-WAIT entry: the client closes first.
    let t = client.connect(now, None, addr(1, 90)).unwrap();
    run(&mut client, &mut server, &mut now, Instant::from_secs(2));
    let s = server.accept(l).expect("accepted");
    client.close(now, t).unwrap();
    server.close(now, s).unwrap();
    run(&mut client, &mut server, &mut now, Instant::from_secs(3));
    assert_eq!(client.time_wait_count(), 1);
    // Two connections refused (no listener on 91), their ends not polled.
    for _ in 0..2 {
        client.connect(now, None, addr(1, 91)).unwrap();
        let until = now + Duration::from_millis(10);
        run(&mut client, &mut server, &mut now, until);
    }
    assert_eq!(client.counters().timers_dropped, 0);
    // SYNs to no one: the first takes the last node, the second finds none.
    for port in [80, 81] {
        client.connect(now, None, addr(9, port)).unwrap();
    }
    assert_eq!(client.counters().timers_dropped, 1);
    let tw_ends = now + Duration::from_secs(61);
    run(&mut client, &mut server, &mut now, tw_ends);
    assert_eq!(client.time_wait_count(), 0, "the TIME-WAIT timer was lost");
}

/// A fixed store below the documented `M >= 4 * N`: its listener table
/// (`M` slots, one always empty) can fill before its `N` listener slots
/// do. Here `M` = 4 (three listeners in the table) for `N` = 8: the
/// fourth `listen` is `NoCapacity` (a typed error, never a listener that
/// SYNs cannot find), the three others still take connections, and
/// closing one gives its place in the table back.
#[test]
fn a_full_undersized_listener_table_refuses_the_next_listen() {
    let mut server =
        FixedEndpoint::<8, 4, 2048>::with_store(cfg(80), [6; 16]).expect("valid config");
    let mut peer = Endpoint::new(cfg(1), [7; 16]).expect("valid config");
    let ids: Vec<_> = (1..=3)
        .map(|p| server.listen(addr(80, p), 4).unwrap())
        .collect();
    assert_eq!(
        server.listen(addr(80, 4), 4),
        Err(EndpointError::NoCapacity)
    );
    let mut now = Instant::from_secs(1);
    let hs: Vec<_> = (1..=4)
        .map(|p| peer.connect(now, None, addr(80, p)).unwrap())
        .collect();
    let until = now + Duration::from_millis(50);
    run(&mut peer, &mut server, &mut now, until);
    let states: Vec<_> = hs
        .iter()
        .map(|h| peer.connection(*h).map(|c| c.state()))
        .collect();
    let (est, closed) = (Some(State::Established), Some(State::Closed));
    assert_eq!(states, [est, est, est, closed], "port 4 has no listener");
    server.close_listener(now, ids[0]).unwrap();
    server.listen(addr(80, 4), 4).unwrap();
}
