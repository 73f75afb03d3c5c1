//! A server with several clients, all through `Endpoint`s.
//!
//! One Endpoint listens on 192.0.2.80:80; four client Endpoints
//! (198.51.100.11 to .14) connect at once over an in-memory link with a
//! 5 ms one-way delay, send a request, read a reply, and close in
//! different orders: client 1 closes first, the server closes first for
//! client 2, client 3 and the server close at the same moment, and
//! client 4 aborts. The server's `ss -tan`-like table is printed at a busy
//! moment, then again at the end with the counters.
//!
//! Run with `cargo run --example server`; it exits non-zero when the run
//! does not end as expected.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcpstate::endpoint::Event;
use tcpstate::{Duration, Ecn, Endpoint, EndpointConfig, Handle, Instant, State};

const DELAY: Duration = Duration::from_millis(5);

struct Net {
    hosts: Vec<(IpAddr, Endpoint)>,
    wire: VecDeque<(Instant, IpAddr, IpAddr, Ecn, Vec<u8>)>,
    now: Instant,
}

impl Net {
    fn ep(&mut self, i: usize) -> &mut Endpoint {
        &mut self.hosts[i].1
    }
    /// Sends what every Endpoint has to send; returns the events seen.
    fn flush(&mut self) -> Vec<(usize, Event)> {
        let mut events = Vec::new();
        let mut buf = [0u8; 1600];
        for (i, (_, ep)) in self.hosts.iter_mut().enumerate() {
            while let Some(e) = ep.poll_event() {
                events.push((i, e));
            }
            while let Some(d) = ep.poll_transmit(self.now, &mut buf) {
                let seg = d.segment(&buf).to_vec();
                self.wire
                    .push_back((self.now + DELAY, d.src, d.dst, d.ecn, seg));
            }
        }
        events
    }
    /// Runs the link and the timers until `until`.
    fn run_until(&mut self, until: Instant) -> Vec<(usize, Event)> {
        let mut events = self.flush();
        loop {
            let next_pkt = self.wire.iter().map(|w| w.0).min();
            let next_tmr = self.hosts.iter().filter_map(|h| h.1.next_deadline()).min();
            let Some(next) = [next_pkt, next_tmr].into_iter().flatten().min() else {
                break;
            };
            if next > until {
                break;
            }
            self.now = next.max(self.now);
            while let Some(i) = self.wire.iter().position(|w| w.0 <= self.now) {
                let (_, src, dst, ecn, seg) = self.wire.remove(i).expect("present");
                if let Some(h) = self.hosts.iter_mut().find(|h| h.0 == dst) {
                    h.1.on_datagram(self.now, src, dst, ecn, &seg);
                }
            }
            let now = self.now;
            for h in self.hosts.iter_mut() {
                if h.1.next_deadline().is_some_and(|d| d <= now) {
                    h.1.on_timer(now);
                }
            }
            events.extend(self.flush());
        }
        self.now = until.max(self.now);
        events
    }
}

fn read_all(ep: &mut Endpoint, now: Instant, h: Handle) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = ep.recv(now, h, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn table(ep: &Endpoint, now: Instant) {
    println!(
        "{:<11} {:>6} {:>6} {:<24} {:<24} Timer",
        "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    );
    for line in ep.connections(now) {
        println!("{line}");
    }
}

pub(crate) fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server_ip = Ipv4Addr::new(192, 0, 2, 80);
    let client_ip = |i: u8| Ipv4Addr::new(198, 51, 100, 11 + i);
    let mut hosts = Vec::new();
    let mut c = EndpointConfig::linux();
    c.rx_buffer = 16 * 1024;
    c.tx_buffer = 16 * 1024;
    let server = Endpoint::new(c.clone().with_local_addr(server_ip)?, [80; 16])?;
    hosts.push((IpAddr::V4(server_ip), server));
    for i in 0..4u8 {
        let client = Endpoint::new(c.clone().with_local_addr(client_ip(i))?, [i + 1; 16])?;
        hosts.push((IpAddr::V4(client_ip(i)), client));
    }
    let mut net = Net {
        hosts,
        wire: VecDeque::new(),
        now: Instant::from_secs(1),
    };
    let http = SocketAddr::new(IpAddr::V4(server_ip), 80);
    let listener = net.ep(0).listen(http, 8).expect("listen");
    net.ep(0)
        .listen(SocketAddr::new(IpAddr::V4(server_ip), 22), 8)
        .expect("listen");

    // Four clients connect at once, each with its request queued.
    let now = net.now;
    let clients: Vec<Handle> = (1..=4)
        .map(|i| {
            let h = net.ep(i).connect(now, None, http).expect("connect");
            net.ep(i)
                .send(now, h, format!("GET /{i}").as_bytes())
                .expect("send");
            h
        })
        .collect();
    net.run_until(now + Duration::from_millis(30));

    // The server accepts them all, reads the requests, answers 12 KB each.
    let mut conns = Vec::new();
    while let Some(h) = net.ep(0).accept(listener) {
        conns.push(h);
    }
    assert_eq!(conns.len(), 4, "all four accepted");
    let now = net.now;
    let mut by_client = [None; 4];
    for &h in &conns {
        let req = read_all(net.ep(0), now, h);
        let i = usize::from(req[req.len() - 1] - b'1');
        by_client[i] = Some(h);
        net.ep(0)
            .send(now, h, &[b'a' + i as u8; 12_000])
            .expect("send");
    }
    let srv: Vec<Handle> = by_client.iter().map(|h| h.expect("each client")).collect();
    // Client 4 aborts at once; the others let the replies come in.
    net.ep(4).abort(now, clients[3]).expect("abort");
    net.run_until(now + Duration::from_millis(7));
    println!(
        "A busy moment on the server (t = {} ms):\n",
        net.now.as_millis()
    );
    table(&net.hosts[0].1, net.now);

    net.run_until(now + Duration::from_millis(60));
    let now = net.now;
    for (i, &c) in clients.iter().take(3).enumerate() {
        let got = read_all(net.ep(i + 1), now, c);
        assert_eq!(got.len(), 12_000, "client {} got the reply", i + 1);
    }
    // Closes in different orders.
    net.ep(1).close(now, clients[0]).expect("close"); // client 1 first
    net.ep(0).close(now, srv[1]).expect("close"); // server first for client 2
    net.ep(3).close(now, clients[2]).expect("close"); // client 3 and server
    net.ep(0).close(now, srv[2]).expect("close"); // at the same moment
    net.run_until(now + Duration::from_millis(40));
    let now = net.now;
    net.ep(0).close(now, srv[0]).expect("close");
    net.ep(2).close(now, clients[1]).expect("close");
    let events = net.run_until(now + Duration::from_millis(100));
    let closed = events
        .iter()
        .filter(|(i, e)| *i == 0 && matches!(e, Event::Closed(..)))
        .count();
    println!("\nAt the end (t = {} ms):\n", net.now.as_millis());
    table(&net.hosts[0].1, net.now);
    let k = net.hosts[0].1.counters();
    println!("\n{k}");
    let mut ok = true;
    let srv_ep = &net.hosts[0].1;
    ok &= srv_ep.connection_count() == 0;
    ok &= k.passive_opens == 4 && k.estab_resets == 1 && k.curr_estab == 0;
    ok &= srv_ep.time_wait_count() == 2; // client 2's, and client 3's simultaneous close
    ok &= closed == 0; // closed by the app: no Closed events for its handles
    ok &= net.hosts[1].1.time_wait_count() == 1 && net.hosts[3].1.time_wait_count() == 1;
    ok &= srv_ep
        .connections(net.now)
        .all(|c| matches!(c.state, State::Listen | State::TimeWait));
    if !ok {
        eprintln!("the run did not end as expected");
        std::process::exit(1);
    }
    restart(&mut net, listener, http)
}

/// The server restarts while the connections of its previous run sit in
/// TIME-WAIT (its side closed first for clients 2 and 3): without
/// `SO_REUSEADDR` the port is refused, as Linux's `bind(2)` refuses it;
/// with it the new listener serves a new client, while the old 4-tuples'
/// TIME-WAIT entries still guard the old incarnations.
fn restart(
    net: &mut Net,
    listener: tcpstate::ListenerId,
    http: SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    use tcpstate::{EndpointError, ListenOptions, SeqNum, TcpHeader, TcpOptions, wire};
    println!("\nThe server restarts (its listener closes; TIME-WAIT entries stay):\n");
    let now = net.now;
    net.ep(0).close_listener(now, listener)?;
    let without = ListenOptions {
        reuse_addr: false,
        ..ListenOptions::backlog(8)
    };
    let refused = net.ep(0).listen_with(http, without);
    println!("  listen {http} without SO_REUSEADDR: {refused:?}");
    let l = net.ep(0).listen_with(http, ListenOptions::backlog(8))?;
    println!("  listen {http} with SO_REUSEADDR:    Ok");
    // A stale segment of the old connection with client 2 (old sequence
    // numbers, its old port) reaches the server: its TIME-WAIT entry
    // answers it (an ACK of what it had), the new listener never sees it.
    let old = net.hosts[0]
        .1
        .connections(net.now)
        .find(|c| {
            c.state == State::TimeWait
                && c.remote.ip() == IpAddr::V4(Ipv4Addr::new(198, 51, 100, 12))
        })
        .expect("the old connection's TIME-WAIT entry");
    let stale = TcpHeader {
        src_port: old.remote.port(),
        dst_port: 80,
        seq: SeqNum(1),
        ack: SeqNum(1),
        flags: wire::Flags::ACK,
        window: 1000,
        urgent: 0,
        options: TcpOptions::NONE,
    };
    let mut seg = vec![0u8; stale.header_len() + 3];
    stale.emit(&mut seg)?;
    seg[stale.header_len()..].copy_from_slice(b"old");
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (old.remote.ip(), old.local.ip()) else {
        unreachable!("IPv4")
    };
    wire::checksum::fill_checksum_v4(src.octets(), dst.octets(), &mut seg);
    let now = net.now;
    let before = net.hosts[0].1.counters();
    net.ep(0)
        .on_datagram(now, old.remote.ip(), old.local.ip(), Ecn::NotEct, &seg);
    let after = net.hosts[0].1.counters();
    let guarded = net.hosts[0].1.time_wait_count() == 2;
    println!(
        "  a stale segment for {} -> {}: taken by its TIME-WAIT entry, which ACKs it \
         ({} passive opens before, {} after)",
        old.remote, old.local, before.passive_opens, after.passive_opens
    );
    println!(
        "  (client 2's host has no connection left and answers that ACK with a RST: with \
         Linux's tcp_rfc1337=0 the RST ends the entry, RFC 1337's TIME-WAIT assassination;\n   \
         Config::rfc9293() ignores it)"
    );
    // A new client (client 1 again, from a new port) is served.
    let now = net.now;
    let c = net.ep(1).connect(now, None, http)?;
    net.ep(1).send(now, c, b"GET /again")?;
    net.run_until(now + Duration::from_millis(30));
    let s = net.ep(0).accept(l).ok_or("the new listener accepted")?;
    let now = net.now;
    let req = read_all(net.ep(0), now, s);
    net.ep(0).send(now, s, b"served after the restart")?;
    net.run_until(now + Duration::from_millis(30));
    let now = net.now;
    let reply = read_all(net.ep(1), now, c);
    println!(
        "  a new client: {:?} -> {:?}\n",
        String::from_utf8_lossy(&req),
        String::from_utf8_lossy(&reply)
    );
    table(&net.hosts[0].1, net.now);
    let ok = refused == Err(EndpointError::AddrInUse)
        && guarded
        && after.passive_opens == before.passive_opens
        && net.hosts[0].1.time_wait_count() == 1
        && reply == b"served after the restart";
    if !ok {
        eprintln!("the restart did not go as expected");
        std::process::exit(1);
    }
    Ok(())
}
