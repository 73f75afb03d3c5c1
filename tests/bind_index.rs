//! The Endpoint's bind index (local port -> what is bound there, Linux
//! `inet_bind_bucket`): `listen` and `connect` from an explicit port give
//! the answers of the `bind(2)` rules (`tests/reuse_addr.rs`), computed
//! here from the Endpoint's own listing (`connections`, as `ss -tan`),
//! while connections open, close, go through TIME-WAIT, leave it and are
//! taken over, on a few ports, IPv4 and IPv6.
//!
//! Debug builds (as the tests run) also check, inside every conflict
//! check, the index against a scan of every connection and TIME-WAIT
//! entry and against a recount of its lists.

mod ep_net;
use ep_net::*;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tcpstate::endpoint::ConnInfo;
use tcpstate::{
    ConnectOptions, Duration, Endpoint, EndpointError, FixedEndpoint, Handle, Instant,
    ListenOptions, ListenerId, State, TwReuse,
};

const PORTS: [u16; 3] = [5000, 5001, 5002];
/// A port nothing is ever bound to.
const FREE_PORT: u16 = 5003;

fn v6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
}

/// The addresses a bind may name on endpoint 0: its two IPv4 addresses
/// (192.0.2.3 is local but not routed by the test net: connections from
/// it stay in SYN-SENT), the wildcards, and an IPv6 address.
fn bind_ips() -> [IpAddr; 5] {
    [
        ip(1),
        ip(3),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        v6(),
    ]
}

fn lopts(reuse: bool) -> ListenOptions {
    ListenOptions {
        reuse_addr: reuse,
        ..ListenOptions::backlog(64)
    }
}

fn copts(reuse: bool) -> ConnectOptions {
    ConnectOptions {
        reuse_addr: reuse,
        ..ConnectOptions::default()
    }
}

/// The test's side of endpoint 0: the `reuse_addr` each local address
/// was bound with (every binding of one address that is alive at once
/// has the same: a second one needs `reuse_addr` on both), its listeners.
struct Model {
    reuse: HashMap<SocketAddr, bool>,
    listeners: Vec<(ListenerId, SocketAddr, bool)>,
    handles: Vec<Handle>,
    peer_handles: Vec<Handle>,
}

/// What the `bind(2)` rules say of binding `addr` with `reuse`, from an
/// Endpoint's listing and the flag each local address was bound with.
fn rules(
    mut list: impl Iterator<Item = ConnInfo>,
    reuse_of: &HashMap<SocketAddr, bool>,
    addr: SocketAddr,
    reuse: bool,
) -> bool {
    let overlap = |a: IpAddr| {
        let b = addr.ip();
        a.is_ipv4() == b.is_ipv4() && (a == b || a.is_unspecified() || b.is_unspecified())
    };
    list.any(|c| {
        c.local.port() == addr.port()
            && overlap(c.local.ip())
            && (c.state == State::Listen
                || !(reuse && *reuse_of.get(&c.local).expect("bound with a known flag")))
    })
}

/// [`rules`] for endpoint 0.
fn expected(net: &mut Net, m: &Model, addr: SocketAddr, reuse: bool) -> bool {
    let now = net.now;
    rules(net.ep(0).connections(now), &m.reuse, addr, reuse)
}

/// Every address of `bind_ips` on every port, with and without
/// `reuse_addr`: `listen` refuses exactly where the rules say.
fn probe_all(net: &mut Net, m: &Model) {
    for port in PORTS.into_iter().chain([FREE_PORT]) {
        for ip in bind_ips() {
            for reuse in [false, true] {
                let addr = SocketAddr::new(ip, port);
                let want = expected(net, m, addr, reuse);
                match net.ep(0).listen_with(addr, lopts(reuse)) {
                    Ok(l) => {
                        assert!(
                            !want,
                            "listen {addr} reuse {reuse}: bound, rules say in use"
                        );
                        let now = net.now;
                        net.ep(0).close_listener(now, l).unwrap();
                    }
                    Err(e) => {
                        assert_eq!(e, EndpointError::AddrInUse);
                        assert!(want, "listen {addr} reuse {reuse}: in use, rules say free");
                    }
                }
            }
        }
    }
}

fn subject() -> tcpstate::EndpointConfig {
    let mut c = cfg(1)
        .with_local_addr(ip(3))
        .unwrap()
        .with_local_addr(v6())
        .unwrap();
    // Connections take over their own TIME-WAIT entries (these
    // addresses are not loopback).
    c.tw_reuse = TwReuse::On;
    c
}

/// Accepts what endpoint 0's listeners have queued; endpoint 1 accepts
/// too, and closes each connection its peer closed (CLOSE-WAIT), so that
/// a connection endpoint 0 closed first goes to TIME-WAIT there.
fn serve(net: &mut Net, m: &mut Model, peer_listeners: &[ListenerId]) {
    net.take_events(0);
    for i in 0..m.listeners.len() {
        let l = m.listeners[i].0;
        while let Some(h) = net.ep(0).accept(l) {
            m.handles.push(h);
        }
    }
    net.take_events(1);
    for &l in peer_listeners {
        while let Some(h) = net.ep(1).accept(l) {
            m.peer_handles.push(h);
        }
    }
    let now = net.now;
    let mut keep = Vec::new();
    for h in std::mem::take(&mut m.peer_handles) {
        match net.ep(1).connection(h).map(|c| c.state()) {
            Some(State::CloseWait) => {
                let _ = net.ep(1).close(now, h);
            }
            Some(_) => keep.push(h),
            None => {}
        }
    }
    m.peer_handles = keep;
    m.handles.retain(|&h| net.eps[0].1.connection(h).is_some());
}

fn new_net(seed: u64) -> (Net, Model, Vec<ListenerId>) {
    let mut net = Net::new(vec![subject(), cfg(2)], seed);
    let peer_listeners = (80..90)
        .map(|p| net.ep(1).listen_with(sa(2, p), lopts(true)).unwrap())
        .collect();
    let m = Model {
        reuse: HashMap::new(),
        listeners: Vec::new(),
        handles: Vec::new(),
        peer_handles: Vec::new(),
    };
    (net, m, peer_listeners)
}

/// Many connections and TIME-WAIT entries on a few ports, then every
/// combination of address, port and `reuse_addr`.
#[test]
fn many_connections_and_time_wait_entries_on_a_few_ports() {
    let (mut net, mut m, pl) = new_net(7);
    // 5000: ten connections with reuse_addr from 192.0.2.1; 5001: one
    // without, from 192.0.2.1; 5002: ten from 192.0.2.3 with reuse_addr
    // (SYN-SENT: the test net does not route 192.0.2.3).
    for (local, reuse, n) in [
        (sa(1, 5000), true, 10),
        (sa(1, 5001), false, 1),
        (sa(3, 5002), true, 10),
    ] {
        for k in 0..n {
            let now = net.now;
            let h = net
                .ep(0)
                .connect_with(now, Some(local), sa(2, 80 + k), copts(reuse))
                .unwrap();
            m.reuse.insert(local, reuse);
            m.handles.push(h);
        }
    }
    net.run_for(Duration::from_millis(50));
    serve(&mut net, &mut m, &pl);
    probe_all(&mut net, &m);
    // Port 5000's and 5001's connections close first: TIME-WAIT, six of
    // them now, the other five later.
    for (k, tw) in [(6, 6), (5, 11)] {
        for h in m.handles.clone().into_iter().take(k) {
            let now = net.now;
            net.ep(0).close(now, h).unwrap();
        }
        net.run_for(Duration::from_millis(50));
        serve(&mut net, &mut m, &pl);
        net.run_for(Duration::from_millis(50));
        assert_eq!(net.ep(0).time_wait_count(), tw);
        probe_all(&mut net, &m);
    }
    // A connection takes over one of port 5000's TIME-WAIT entries (its
    // TS.Recent more than a second old, Linux `tcp_twsk_unique`).
    net.run_for(Duration::from_secs(2));
    let now = net.now;
    let h = net
        .ep(0)
        .connect_with(now, Some(sa(1, 5000)), sa(2, 80), copts(true))
        .unwrap();
    m.handles.push(h);
    net.run_for(Duration::from_millis(50));
    assert_eq!(net.ep(0).time_wait_count(), 10, "taken over");
    serve(&mut net, &mut m, &pl);
    probe_all(&mut net, &m);
    // A listener on 192.0.2.3:5001 (nothing of 192.0.2.1's conflicts),
    // and the peer connects to it... not routed; it only binds.
    let l = net
        .ep(0)
        .listen_with(sa(3, 5001), lopts(false))
        .expect("another address");
    m.listeners.push((l, sa(3, 5001), false));
    probe_all(&mut net, &m);
    // Everything expires (2MSL, and the SYN-SENT ones time out).
    net.run_for(Duration::from_secs(200));
    serve(&mut net, &mut m, &pl);
    assert_eq!(net.ep(0).time_wait_count(), 0);
    probe_all(&mut net, &m);
}

/// Random opens (both ways), closes (either side first), aborts,
/// listeners, TIME-WAIT entries, their expiry and takeover, on three
/// ports: after every step, every combination is probed.
#[test]
fn random_binds_agree_with_the_rules() {
    let (mut tw_seen, mut taken_over, mut syn_reused) = (0, 0, 0);
    for seed in 1..=6u64 {
        let (mut net, mut m, pl) = new_net(seed);
        let mut rng = Rng(seed * 0x9e37_79b9 + 1);
        for step in 0..300 {
            let r = rng.below(100);
            let now = net.now;
            let port = PORTS[rng.below(3) as usize];
            let reuse = rng.below(3) != 0;
            if r < 35 {
                // connect from an explicit address.
                let local = SocketAddr::new(if rng.below(4) == 0 { ip(3) } else { ip(1) }, port);
                let remote = sa(2, 80 + rng.below(3) as u16);
                let want = expected(&mut net, &m, local, reuse);
                match net
                    .ep(0)
                    .connect_with(now, Some(local), remote, copts(reuse))
                {
                    Ok(h) => {
                        assert!(!want, "step {step}: connect {local} reuse {reuse}");
                        m.reuse.insert(local, reuse);
                        m.handles.push(h);
                    }
                    Err(e) => {
                        assert_eq!(e, EndpointError::AddrInUse);
                        // Free by the rules, but the 4-tuple is taken (a
                        // live connection, or a TIME-WAIT entry not to be
                        // taken over yet).
                        let taken = net
                            .ep(0)
                            .connections(now)
                            .any(|c| c.local == local && c.remote == remote);
                        assert!(want || taken, "step {step}: connect {local} reuse {reuse}");
                    }
                }
            } else if r < 45 {
                // listen, kept.
                let ips = bind_ips();
                let addr = SocketAddr::new(ips[rng.below(3) as usize], port);
                let want = expected(&mut net, &m, addr, reuse);
                match net.ep(0).listen_with(addr, lopts(reuse)) {
                    Ok(l) => {
                        assert!(!want, "step {step}: listen {addr} reuse {reuse}");
                        m.listeners.push((l, addr, reuse));
                        // Its children are bound to 192.0.2.1 (the only
                        // address the peer reaches) with its flag; the
                        // bind shows nothing else is bound there, or all
                        // with the same flag.
                        if addr.ip() == ip(1) || addr.ip().is_unspecified() {
                            m.reuse.insert(SocketAddr::new(ip(1), port), reuse);
                        }
                    }
                    Err(e) => {
                        assert_eq!(e, EndpointError::AddrInUse);
                        assert!(want, "step {step}: listen {addr} reuse {reuse}");
                    }
                }
            } else if r < 55 && !m.listeners.is_empty() {
                // The peer connects to one of our listeners, from an
                // explicit port (its SYN may find a TIME-WAIT entry).
                let (_, addr, _) = m.listeners[rng.below(m.listeners.len() as u64) as usize];
                let from = sa(2, 7000 + rng.below(2) as u16);
                let h = net
                    .ep(1)
                    .connect_with(now, Some(from), sa(1, addr.port()), copts(true));
                if let Ok(h) = h {
                    m.peer_handles.push(h);
                }
            } else if r < 70 && !m.handles.is_empty() {
                // We close first (TIME-WAIT here once the peer closes).
                let h = m
                    .handles
                    .swap_remove(rng.below(m.handles.len() as u64) as usize);
                let _ = net.ep(0).close(now, h);
            } else if r < 75 && !m.handles.is_empty() {
                let h = m
                    .handles
                    .swap_remove(rng.below(m.handles.len() as u64) as usize);
                let _ = net.ep(0).abort(now, h);
            } else if r < 82 && !m.peer_handles.is_empty() {
                // The peer closes first (no TIME-WAIT here).
                let i = rng.below(m.peer_handles.len() as u64) as usize;
                let h = m.peer_handles[i];
                let _ = net.ep(1).close(now, h);
            } else if r < 87 && !m.listeners.is_empty() {
                let i = rng.below(m.listeners.len() as u64) as usize;
                let (l, _, _) = m.listeners.swap_remove(i);
                net.ep(0).close_listener(now, l).unwrap();
            } else {
                let d = [10, 50, 1_000, 30_000, 70_000][rng.below(5) as usize];
                net.run_for(Duration::from_millis(d));
            }
            net.run_for(Duration::from_millis(20));
            serve(&mut net, &mut m, &pl);
            // Connections we closed that the peer answered: close ours
            // when the peer closed first.
            let now = net.now;
            for &h in &m.handles {
                if net.eps[0].1.connection(h).map(|c| c.state()) == Some(State::CloseWait) {
                    let _ = net.eps[0].1.close(now, h);
                }
            }
            probe_all(&mut net, &m);
            tw_seen = net.ep(0).time_wait_count().max(tw_seen);
        }
        taken_over += net.ep(0).counters().tw_reused;
        syn_reused += net.ep(0).counters().time_wait_syn_accepted;
    }
    // Not vacuous: TIME-WAIT entries, taken over by a connect and by a SYN.
    assert!(
        tw_seen >= 2 && taken_over > 0 && syn_reused > 0,
        "{tw_seen} {taken_over} {syn_reused}"
    );
}

/// [`run_pair`] for `step`.
fn pump<S: tcpstate::endpoint::store::Store>(
    a: &mut Endpoint<S>,
    b: &mut Endpoint,
    now: &mut Instant,
    step: Duration,
) {
    let until = *now + step;
    run_pair(a, b, now, until);
}

/// The same rules through a fixed store (no allocation: the bind table
/// is an open-addressing table, the links sit in the inline entries),
/// with its TIME-WAIT table filled up.
#[test]
fn a_fixed_store_keeps_the_index_too() {
    let mut a = FixedEndpoint::<8, 32, 1024>::with_store(subject(), [3; 16]).unwrap();
    let mut b = Endpoint::new(cfg(2), [4; 16]).unwrap();
    let peer_listeners: Vec<ListenerId> = (80..84)
        .map(|p| b.listen_with(sa(2, p), lopts(true)).unwrap())
        .collect();
    let mut reuse_of = HashMap::new();
    let (mut handles, mut peer_handles): (Vec<Handle>, Vec<Handle>) = (Vec::new(), Vec::new());
    let mut now = Instant::from_secs(100);
    let mut rng = Rng(11);
    let mut tw_seen = 0;
    for step in 0..400 {
        let port = PORTS[rng.below(3) as usize];
        let reuse = rng.below(3) != 0;
        match rng.below(10) {
            0..=4 => {
                let local = sa(1, port);
                let remote = sa(2, 80 + rng.below(4) as u16);
                let want = rules(a.connections(now), &reuse_of, local, reuse);
                match a.connect_with(now, Some(local), remote, copts(reuse)) {
                    Ok(h) => {
                        assert!(!want, "step {step}: connect {local} reuse {reuse}");
                        reuse_of.insert(local, reuse);
                        handles.push(h);
                    }
                    Err(EndpointError::TooManyConnections) => {}
                    Err(e) => {
                        assert_eq!(e, EndpointError::AddrInUse);
                        let taken = a
                            .connections(now)
                            .any(|c| c.local == local && c.remote == remote);
                        assert!(want || taken, "step {step}: connect {local} reuse {reuse}");
                    }
                }
            }
            5..=7 if !handles.is_empty() => {
                let h = handles.swap_remove(rng.below(handles.len() as u64) as usize);
                let _ = a.close(now, h);
            }
            _ => {
                let ms = [10, 1_000, 70_000][rng.below(3) as usize];
                pump(&mut a, &mut b, &mut now, Duration::from_millis(ms));
            }
        }
        pump(&mut a, &mut b, &mut now, Duration::from_millis(5));
        while b.poll_event().is_some() {}
        while a.poll_event().is_some() {}
        for &l in &peer_listeners {
            while let Some(h) = b.accept(l) {
                peer_handles.push(h);
            }
        }
        peer_handles.retain(|&h| match b.connection(h).map(|c| c.state()) {
            Some(State::CloseWait) => b.close(now, h).is_err(),
            Some(_) => true,
            None => false,
        });
        handles.retain(|&h| a.connection(h).is_some());
        pump(&mut a, &mut b, &mut now, Duration::from_millis(5));
        tw_seen = tw_seen.max(a.time_wait_count());
        for port in PORTS.into_iter().chain([FREE_PORT]) {
            for ip in [ip(1), IpAddr::V4(Ipv4Addr::UNSPECIFIED), v6()] {
                for reuse in [false, true] {
                    let addr = SocketAddr::new(ip, port);
                    let want = rules(a.connections(now), &reuse_of, addr, reuse);
                    match a.listen_with(addr, lopts(reuse)) {
                        Ok(l) => {
                            assert!(!want, "step {step}: listen {addr} reuse {reuse}");
                            a.close_listener(now, l).unwrap();
                        }
                        Err(e) => {
                            assert_eq!(e, EndpointError::AddrInUse);
                            assert!(want, "step {step}: listen {addr} reuse {reuse}");
                        }
                    }
                }
            }
        }
    }
    // Not vacuous: the TIME-WAIT table filled up (8 entries).
    assert_eq!(tw_seen, 8);
}
