//! `SO_REUSEADDR` and the restart of a server (issue 18): binding a local
//! address and port that connections or TIME-WAIT entries still use, as
//! Linux's `bind(2)` decides it, and RFC 9293 MUST-42.
//!
//! The verdicts below are Linux's, measured on this machine's kernel
//! (6.18) with Python sockets in a network namespace (192.0.2.1 and
//! 192.0.2.3 on `lo`), then replayed against the Endpoint:
//!
//! | what holds the port | old `SO_REUSEADDR` | new `SO_REUSEADDR` | Linux |
//! |---|---|---|---|
//! | TIME-WAIT of the old server's connection (it closed first), for any mix of 192.0.2.1 and 0.0.0.0 binds | 0 | 0 | EADDRINUSE |
//! | same | 0 | 1 | EADDRINUSE |
//! | same | 1 | 0 | EADDRINUSE |
//! | same | 1 | 1 | ok |
//! | a live ESTABLISHED child of the old (closed) listener | 0 or 1 | 0 or 1 | EADDRINUSE unless both are 1 |
//! | a listener on the same address, or either is 0.0.0.0 | any | any | EADDRINUSE |
//! | a listener on another specific address (192.0.2.1 vs 192.0.2.3) | any | any | ok |
//! | the client's own TIME-WAIT (it closed first), bind to its old port | - | 0 | EADDRINUSE |
//! | same | - | 1 | ok; the connect to the same peer then takes over the TIME-WAIT entry where `tcp_tw_reuse` allows it (Linux's default 2 allows it on loopback; there it succeeded) |
//!
//! `ListenOptions::reuse_addr` and `ConnectOptions::reuse_addr` are on by
//! default (Rust's `std` and tokio set `SO_REUSEADDR` on listeners);
//! off is the C default.

mod ep_net;
use ep_net::*;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tcpstate::endpoint::Event;
use tcpstate::{ConnectOptions, Duration, EndpointError, ListenOptions, State};

fn opts(reuse: bool) -> ListenOptions {
    ListenOptions {
        reuse_addr: reuse,
        ..ListenOptions::backlog(16)
    }
}

fn any_v4(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

/// A server (endpoint 1) bound to `old` with `old_reuse` serves one
/// client (endpoint 0) and closes first: its side of the connection is in
/// TIME-WAIT. The listener closes; a new one binds `new` with
/// `new_reuse`. Returns the new listen's result.
fn restart_after_time_wait(
    old: SocketAddr,
    old_reuse: bool,
    new: SocketAddr,
    new_reuse: bool,
) -> Result<(), EndpointError> {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 1);
    let l = net.ep(1).listen_with(old, opts(old_reuse)).unwrap();
    let now = net.now;
    let c = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(50));
    net.take_events(1);
    let s = net.ep(1).accept(l).unwrap();
    let now = net.now;
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    net.ep(0).close(now, c).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(
        net.ep(1).time_wait_count(),
        1,
        "the server's side is in TIME-WAIT"
    );
    let now = net.now;
    net.ep(1).close_listener(now, l).unwrap();
    net.ep(1).listen_with(new, opts(new_reuse)).map(|_| ())
}

#[test]
fn a_restarted_server_and_its_time_wait_entries() {
    let addrs = [sa(2, 80), any_v4(80)];
    for old_reuse in [false, true] {
        for new_reuse in [false, true] {
            for old in addrs {
                for new in addrs {
                    let linux_ok = old_reuse && new_reuse;
                    let got = restart_after_time_wait(old, old_reuse, new, new_reuse);
                    let want = if linux_ok {
                        Ok(())
                    } else {
                        Err(EndpointError::AddrInUse)
                    };
                    assert_eq!(
                        got, want,
                        "old {old} reuse {old_reuse}, new {new} reuse {new_reuse}"
                    );
                }
            }
        }
    }
}

/// A live connection of a closed listener holds the port as a TIME-WAIT
/// entry does.
#[test]
fn a_live_child_holds_the_port_too() {
    for old_reuse in [false, true] {
        for new_reuse in [false, true] {
            let mut net = Net::new(vec![cfg(1), cfg(2)], 2);
            let l = net.ep(1).listen_with(any_v4(80), opts(old_reuse)).unwrap();
            let now = net.now;
            net.ep(0).connect(now, None, sa(2, 80)).unwrap();
            net.run_for(Duration::from_millis(50));
            net.take_events(1);
            let s = net.ep(1).accept(l).unwrap();
            let now = net.now;
            net.ep(1).close_listener(now, l).unwrap();
            assert_eq!(net.ep(1).connection(s).unwrap().state(), State::Established);
            let got = net
                .ep(1)
                .listen_with(any_v4(80), opts(new_reuse))
                .map(|_| ());
            let want = if old_reuse && new_reuse {
                Ok(())
            } else {
                Err(EndpointError::AddrInUse)
            };
            assert_eq!(got, want, "old reuse {old_reuse}, new reuse {new_reuse}");
        }
    }
}

/// Two listeners on one port conflict whenever their addresses overlap,
/// with `SO_REUSEADDR` or without; different specific addresses do not.
#[test]
fn two_listeners_on_one_port() {
    let mut c = cfg(1);
    c = c.with_local_addr(ip(3)).unwrap();
    for (first, second, linux_ok) in [
        (any_v4(80), any_v4(80), false),
        (any_v4(80), sa(1, 80), false),
        (any_v4(80), sa(3, 80), false),
        (sa(1, 80), any_v4(80), false),
        (sa(1, 80), sa(1, 80), false),
        (sa(1, 80), sa(3, 80), true),
    ] {
        for reuse in [false, true] {
            let mut ep = tcpstate::Endpoint::new(c.clone(), [1; 16]).unwrap();
            ep.listen_with(first, opts(reuse)).unwrap();
            let got = ep.listen_with(second, opts(reuse)).map(|_| ());
            let want = if linux_ok {
                Ok(())
            } else {
                Err(EndpointError::AddrInUse)
            };
            assert_eq!(got, want, "{first} then {second}, reuse {reuse}");
        }
    }
}

/// A client that closed first and binds its old port again: refused
/// without `SO_REUSEADDR`; with it the bind succeeds, and the connect to
/// the same peer takes over the TIME-WAIT entry (RFC 6191: the new
/// incarnation starts above the old one's sequence numbers).
#[test]
fn a_client_binding_its_time_wait_port() {
    for reuse in [false, true] {
        // `tcp_tw_reuse=1`: these addresses are not loopback.
        let mut c = cfg(1);
        c.tw_reuse = tcpstate::TwReuse::On;
        let mut net = Net::new(vec![c, cfg(2)], 3);
        let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
        let now = net.now;
        let local = sa(1, 40000);
        let o = ConnectOptions {
            reuse_addr: reuse,
            ..ConnectOptions::default()
        };
        let c = net
            .ep(0)
            .connect_with(now, Some(local), sa(2, 80), o)
            .unwrap();
        net.run_for(Duration::from_millis(50));
        net.take_events(1);
        let s = net.ep(1).accept(l).unwrap();
        let now = net.now;
        net.ep(0).close(now, c).unwrap();
        net.run_for(Duration::from_millis(50));
        let now = net.now;
        net.ep(1).close(now, s).unwrap();
        net.run_for(Duration::from_millis(2000));
        assert_eq!(net.ep(0).time_wait_count(), 1);
        let now = net.now;
        let got = net.ep(0).connect_with(now, Some(local), sa(2, 80), o);
        if reuse {
            let c2 = got.expect("bind and connect succeed with SO_REUSEADDR");
            net.run_for(Duration::from_millis(50));
            assert!(net.take_events(0).contains(&Event::Connected(c2)));
            assert_eq!(net.ep(0).time_wait_count(), 0, "the entry was taken over");
        } else {
            assert_eq!(got, Err(EndpointError::AddrInUse));
        }
    }
}

/// RFC 9293 §3.9.1 MUST-42: a LISTEN on a port while another TCB with the
/// same local port is in SYN-SENT; the demux then picks the exact 4-tuple
/// before the listener (EP-1).
#[test]
fn must_42_listen_beside_an_active_open_on_the_same_port() {
    let mut net = Net::new(vec![cfg(1), cfg(2)], 4);
    let now = net.now;
    // The peer is not listening yet: the SYN goes unanswered for now.
    let c = net
        .ep(0)
        .connect(now, Some(sa(1, 5000)), sa(2, 6000))
        .unwrap();
    assert_eq!(net.ep(0).connection(c).unwrap().state(), State::SynSent);
    let l = net.ep(0).listen(sa(1, 5000), 8).expect("MUST-42");
    // The peer listens, and a third party connects to our listener.
    net.ep(1).listen(sa(2, 6000), 8).unwrap();
    net.run_for(Duration::from_millis(1500));
    assert!(net.take_events(0).contains(&Event::Connected(c)));
    let now = net.now;
    let other = net.ep(1).connect(now, None, sa(1, 5000)).unwrap();
    net.run_for(Duration::from_millis(50));
    assert!(net.take_events(1).contains(&Event::Connected(other)));
    assert!(net.take_events(0).contains(&Event::Incoming(l)));
    let s = net.ep(0).accept(l).unwrap();
    assert_ne!(s, c);
    assert_eq!(net.ep(0).local_addr(s), Some(sa(1, 5000)));
    assert_eq!(net.ep(0).local_addr(c), Some(sa(1, 5000)));
}
