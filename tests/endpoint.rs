//! Endpoints over an in-memory network: handshakes, listeners, SYN
//! cookies, TIME-WAIT, orphans, ports and ISNs.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tcpstate::Ecn;
use tcpstate::endpoint::{Event, MAX_HEADER};
use tcpstate::wire::{Flags, Segment, TcpHeader, TcpOptions, Timestamps, checksum};
use tcpstate::{
    CloseReason, Duration, Endpoint, EndpointConfig, EndpointError, Handle, Instant, SeqNum, State,
    SynCookies, TimeWaitEntry,
};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}
fn sa(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(ip(last), port)
}

fn cfg() -> EndpointConfig {
    let mut c = EndpointConfig::linux();
    c.rx_buffer = 16384;
    c.tx_buffer = 16384;
    c
}

/// `c` for a lone Endpoint that plays 192.0.2.1 and 192.0.2.2 (its peers
/// are crafted segments from other addresses).
fn local(c: EndpointConfig) -> EndpointConfig {
    c.with_local_addr(ip(1))
        .and_then(|c| c.with_local_addr(ip(2)))
        .expect("unicast")
}

type DropFn = Box<dyn FnMut(IpAddr, IpAddr, &TcpHeader) -> bool>;

/// Several Endpoints on one link with a fixed delay.
struct Net {
    eps: Vec<(IpAddr, Endpoint, Vec<Event>)>,
    now: Instant,
    delay: Duration,
    wire: VecDeque<(Instant, IpAddr, IpAddr, Vec<u8>)>,
    /// Return true to drop a segment (src, dst, header).
    drop: DropFn,
    /// Endpoints that read at once (`on_datagram_recv`), and what they read.
    read_at_once: Vec<usize>,
    got: Vec<(usize, Handle, Vec<u8>)>,
}

impl Net {
    fn new(eps: Vec<(IpAddr, EndpointConfig)>) -> Self {
        Net {
            eps: eps
                .into_iter()
                .enumerate()
                .map(|(i, (a, c))| {
                    let c = c.with_local_addr(a).expect("unicast");
                    (
                        a,
                        Endpoint::new(c, [i as u8 + 1; 16]).expect("valid config"),
                        Vec::new(),
                    )
                })
                .collect(),
            now: Instant::from_secs(100),
            delay: Duration::from_millis(5),
            wire: VecDeque::new(),
            drop: Box::new(|_, _, _| false),
            read_at_once: Vec::new(),
            got: Vec::new(),
        }
    }
    fn ep(&mut self, i: usize) -> &mut Endpoint {
        &mut self.eps[i].1
    }
    fn flush(&mut self) {
        let mut buf = vec![0u8; 1500];
        for (_, ep, evs) in self.eps.iter_mut() {
            while let Some(e) = ep.poll_event() {
                evs.push(e);
            }
            while let Some(d) = ep.poll_transmit(self.now, &mut buf) {
                let seg = d.segment(&buf).to_vec();
                let (h, _) = TcpHeader::parse(&seg).unwrap();
                if (self.drop)(d.src, d.dst, &h) {
                    continue;
                }
                self.wire
                    .push_back((self.now + self.delay, d.src, d.dst, seg));
            }
        }
    }
    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        for _ in 0..10_000_000 {
            self.flush();
            let next_pkt = self.wire.iter().map(|w| w.0).min();
            let next_tmr = self.eps.iter().filter_map(|e| e.1.next_deadline()).min();
            let next = [next_pkt, next_tmr].into_iter().flatten().min();
            let Some(next) = next.filter(|&n| n <= until) else {
                self.now = until.max(self.now);
                self.flush();
                return;
            };
            self.now = next.max(self.now);
            while let Some(i) = self.wire.iter().position(|w| w.0 <= self.now) {
                let (_, src, dst, seg) = self.wire.remove(i).unwrap();
                if let Some(i) = self.eps.iter().position(|e| e.0 == dst) {
                    let ep = &mut self.eps[i].1;
                    if self.read_at_once.contains(&i) {
                        let mut buf = [0u8; 65536];
                        if let Some((h, n)) =
                            ep.on_datagram_recv(self.now, src, dst, Ecn::NotEct, &seg, &mut buf)
                        {
                            self.got.push((i, h, buf[..n].to_vec()));
                        }
                    } else {
                        ep.on_datagram(self.now, src, dst, Ecn::NotEct, &seg);
                    }
                }
            }
            let now = self.now;
            for e in self.eps.iter_mut() {
                if e.1.next_deadline().is_some_and(|d| d <= now) {
                    e.1.on_timer(now);
                }
            }
        }
        panic!("simulation does not end");
    }
    fn events(&mut self, i: usize) -> Vec<Event> {
        self.flush();
        std::mem::take(&mut self.eps[i].2)
    }
}

/// Crafts a checksummed IPv4 TCP segment.
fn craft(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: Flags,
    options: TcpOptions,
    payload: &[u8],
) -> Vec<u8> {
    let h = TcpHeader {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 65535,
        urgent: 0,
        options,
    };
    let mut buf = vec![0u8; h.header_len()];
    h.emit(&mut buf).unwrap();
    buf.extend_from_slice(payload);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            checksum::fill_checksum_v4(s.octets(), d.octets(), &mut buf)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::fill_checksum_v6(s.octets(), d.octets(), &mut buf)
        }
        _ => unreachable!("one family"),
    }
    buf
}

fn inject(ep: &mut Endpoint, now: Instant, src: SocketAddr, dst: SocketAddr, seg: &[u8]) {
    ep.on_datagram(now, src.ip(), dst.ip(), Ecn::NotEct, seg);
}

/// Everything an Endpoint sends, parsed.
fn output(ep: &mut Endpoint, now: Instant) -> Vec<(TcpHeader, Vec<u8>)> {
    let mut buf = vec![0u8; 1500];
    let mut out = Vec::new();
    while let Some(d) = ep.poll_transmit(now, &mut buf) {
        let ok = match (d.src, d.dst) {
            (IpAddr::V4(s), IpAddr::V4(t)) => {
                checksum::verify_v4(s.octets(), t.octets(), d.segment(&buf))
            }
            (IpAddr::V6(s), IpAddr::V6(t)) => {
                checksum::verify_v6(s.octets(), t.octets(), d.segment(&buf))
            }
            _ => unreachable!("one family"),
        };
        assert!(ok, "bad checksum out");
        let (h, p) = TcpHeader::parse(d.segment(&buf)).unwrap();
        out.push((h, p.to_vec()));
    }
    out
}

fn ts(val: u32, ecr: u32) -> TcpOptions {
    let mut o = TcpOptions::NONE;
    o.timestamps = Some(Timestamps { val, ecr });
    o
}

/// A client's SYN (ISN 1000) to `server`, and the ACK of the SYN,ACK with
/// `data`; returns the SYN,ACK.
fn handshake(
    ep: &mut Endpoint,
    now: Instant,
    client: SocketAddr,
    server: SocketAddr,
    data: &[u8],
) -> TcpHeader {
    handshake_opts(ep, now, client, server, data, false)
}

/// `handshake`, the client offering timestamps (RFC 7323 §3) when
/// `with_ts`: its ACK then echoes the SYN,ACK's TSval, if there is one.
fn handshake_opts(
    ep: &mut Endpoint,
    now: Instant,
    client: SocketAddr,
    server: SocketAddr,
    data: &[u8],
    with_ts: bool,
) -> TcpHeader {
    let syn_opts = if with_ts { ts(5, 0) } else { TcpOptions::NONE };
    inject(
        ep,
        now,
        client,
        server,
        &craft(client, server, 1000, 0, Flags::SYN, syn_opts, &[]),
    );
    let synack = output(ep, now)[0].0;
    let ack_opts = match synack.options.timestamps {
        Some(t) if with_ts => ts(6, t.val),
        _ => TcpOptions::NONE,
    };
    inject(
        ep,
        now,
        client,
        server,
        &craft(
            client,
            server,
            1001,
            synack.seq.0 + 1,
            Flags::ACK,
            ack_opts,
            data,
        ),
    );
    synack
}

fn recv_all(ep: &mut Endpoint, now: Instant, h: Handle) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = ep.recv(now, h, &mut buf).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn handshake_both_ways_data_and_time_wait() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let la = net.ep(0).listen(sa(1, 80), 16).unwrap();
    let lb = net.ep(1).listen(sa(2, 80), 16).unwrap();
    let now = net.now;
    let ca = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    let cb = net.ep(1).connect(now, None, sa(1, 80)).unwrap();
    net.run_for(Duration::from_millis(100));
    assert!(net.events(0).contains(&Event::Connected(ca)));
    assert!(net.events(1).contains(&Event::Connected(cb)));
    let sb = net.ep(1).accept(lb).expect("B accepted A's connection");
    let sa_ = net.ep(0).accept(la).expect("A accepted B's connection");
    assert_eq!(net.ep(0).counters().curr_estab, 2);
    assert_eq!(net.ep(0).counters().active_opens, 1);
    assert_eq!(net.ep(0).counters().passive_opens, 1);
    // Data both ways on both connections.
    let now = net.now;
    assert_eq!(net.ep(0).send(now, ca, b"hello from a").unwrap(), 12);
    assert_eq!(net.ep(1).send(now, cb, b"hello from b").unwrap(), 12);
    net.run_for(Duration::from_millis(100));
    let now = net.now;
    assert_eq!(recv_all(net.ep(1), now, sb), b"hello from a");
    assert_eq!(recv_all(net.ep(0), now, sa_), b"hello from b");
    for line in net.ep(0).connections(now) {
        println!("{line}");
    }
    // A closes first: A ends in TIME-WAIT, compacted.
    net.ep(0).close(now, ca).unwrap();
    net.run_for(Duration::from_millis(100));
    let now = net.now;
    net.ep(1).close(now, sb).unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.ep(0).time_wait_count(), 1);
    assert_eq!(net.ep(1).time_wait_count(), 0);
    assert_eq!(net.ep(0).connection_count(), 1);
    let now = net.now;
    let lines: Vec<_> = net.ep(0).connections(now).collect();
    assert!(lines.iter().any(|l| l.state == State::TimeWait));
    for line in &lines {
        println!("{line}");
    }
    // TIME-WAIT lasts 2 MSL (60 s for linux()).
    net.run_for(Duration::from_secs(59));
    assert_eq!(net.ep(0).time_wait_count(), 1);
    net.run_for(Duration::from_secs(2));
    assert_eq!(net.ep(0).time_wait_count(), 0);
}

#[test]
fn rst_for_closed_ports_and_none_for_rst() {
    let mut ep = Endpoint::new(local(cfg()), [7; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let (c, s) = (sa(9, 5555), sa(1, 81));
    // SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    inject(
        &mut ep,
        now,
        c,
        s,
        &craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let out = output(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.flags, Flags::RST | Flags::ACK);
    assert_eq!((out[0].0.seq, out[0].0.ack), (SeqNum(0), SeqNum(1001)));
    assert_eq!((out[0].0.src_port, out[0].0.dst_port), (81, 5555));
    // ACK: <SEQ=SEG.ACK><CTL=RST>.
    inject(
        &mut ep,
        now,
        c,
        s,
        &craft(c, s, 1, 777, Flags::ACK, TcpOptions::NONE, b"data"),
    );
    let out = output(&mut ep, now);
    assert_eq!(out[0].0.flags, Flags::RST);
    assert_eq!(out[0].0.seq, SeqNum(777));
    // RST: nothing.
    inject(
        &mut ep,
        now,
        c,
        s,
        &craft(c, s, 1, 0, Flags::RST, TcpOptions::NONE, &[]),
    );
    inject(
        &mut ep,
        now,
        c,
        s,
        &craft(c, s, 1, 5, Flags::RST | Flags::ACK, TcpOptions::NONE, &[]),
    );
    assert!(output(&mut ep, now).is_empty());
    assert_eq!(ep.counters().out_rsts, 2);
    // A bad checksum, broadcast and multicast addresses: dropped, no reply.
    let mut bad = craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]);
    bad[16] ^= 1;
    inject(&mut ep, now, c, s, &bad);
    // A data offset of 4 words (RFC 9293 §3.1: at least 5) under a right
    // checksum: a header error (InErrs), not a checksum error.
    let mut malformed = craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]);
    malformed[12] = 4 << 4;
    let (IpAddr::V4(cv4), IpAddr::V4(sv4)) = (c.ip(), s.ip()) else {
        unreachable!()
    };
    checksum::fill_checksum_v4(cv4.octets(), sv4.octets(), &mut malformed);
    inject(&mut ep, now, c, s, &malformed);
    let bc = SocketAddr::from(([255, 255, 255, 255], 80));
    inject(
        &mut ep,
        now,
        c,
        bc,
        &craft(c, bc, 1, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let mc = SocketAddr::from(([224, 0, 0, 1], 80));
    inject(
        &mut ep,
        now,
        mc,
        s,
        &craft(mc, s, 1, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    assert!(output(&mut ep, now).is_empty());
    let k = ep.counters();
    assert_eq!((k.in_errs, k.addr_drops, k.in_segs), (2, 2, 4));
    // The bad checksum is Linux's InCsumErrors too; the four segments
    // for the closed port are counted as such (RFC 9293 §3.10.7.1).
    assert_eq!((k.in_csum_errors, k.no_port), (1, 4));
}

/// `on_datagram_recv` reads at once only for a connection whose handle
/// the application holds, and reports a connection only when it read
/// something: data for a connection still in the accept queue waits for
/// `accept` and `recv`, and a segment without data reads nothing.
#[test]
fn reading_at_once_needs_an_accepted_handle_and_some_data() {
    let mut ep = Endpoint::new(local(cfg()), [7; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let (c, s) = (sa(9, 5555), sa(1, 80));
    let l = ep.listen(s, 4).unwrap();
    let synack = handshake(&mut ep, now, c, s, &[]);
    let ack = synack.seq.0 + 1;
    let mut buf = [0u8; 64];
    let recv_at_once = |ep: &mut Endpoint, seq: u32, data: &[u8], buf: &mut [u8]| {
        let seg = craft(
            c,
            s,
            seq,
            ack,
            Flags::ACK | Flags::PSH,
            TcpOptions::NONE,
            data,
        );
        ep.on_datagram_recv(now, c.ip(), s.ip(), Ecn::NotEct, &seg, buf)
    };
    assert_eq!(recv_at_once(&mut ep, 1001, b"early", &mut buf), None);
    let h = ep.accept(l).expect("accepted");
    assert_eq!(recv_all(&mut ep, now, h), b"early");
    assert_eq!(recv_at_once(&mut ep, 1006, b"", &mut buf), None);
    assert_eq!(recv_at_once(&mut ep, 1006, b"late", &mut buf), Some((h, 4)));
    assert_eq!(&buf[..4], b"late");
}

/// What arrived while a connection sat in the accept queue is announced
/// at `accept`: data (no FIN), or the peer's FIN alone (the end of the
/// stream, a `recv` of 0, RFC 9293 §3.10.7.4's "connection closing"),
/// each queues a `Readable` for the new handle; a connection with
/// neither gets none (epoll's EPOLLIN on an accepted socket).
#[test]
fn accept_announces_data_or_a_fin_that_came_before_it() {
    let mut ep = Endpoint::new(local(cfg()), [8; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let s = sa(1, 80);
    let l = ep.listen(s, 4).unwrap();
    let (data, fin, none) = (sa(9, 40001), sa(9, 40002), sa(9, 40003));
    handshake(&mut ep, now, data, s, b"early");
    let _ = output(&mut ep, now);
    let synack = handshake(&mut ep, now, fin, s, &[]);
    let fin_seg = craft(
        fin,
        s,
        1001,
        synack.seq.0 + 1,
        Flags::FIN | Flags::ACK,
        TcpOptions::NONE,
        &[],
    );
    inject(&mut ep, now, fin, s, &fin_seg);
    let _ = output(&mut ep, now);
    handshake(&mut ep, now, none, s, &[]);
    let _ = output(&mut ep, now);
    while ep.poll_event().is_some() {}
    let mut readable = Vec::new();
    for _ in 0..3 {
        let h = ep.accept(l).expect("in the accept queue");
        let remote = ep.peer_addr(h).expect("live");
        let evs: Vec<Event> = std::iter::from_fn(|| ep.poll_event()).collect();
        readable.push((remote, evs.contains(&Event::Readable(h))));
    }
    assert_eq!(readable, [(data, true), (fin, true), (none, false)]);
}

/// The `Readable` that `accept` queues for data already there is the
/// handle's one `Readable` until it is polled: more data arriving before
/// then queues no second one (at most one per handle, `Event::Readable`).
#[test]
fn a_readable_queued_at_accept_is_not_queued_again() {
    let mut ep = Endpoint::new(local(cfg()), [9; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let (c, s) = (sa(9, 40004), sa(1, 80));
    let l = ep.listen(s, 4).unwrap();
    let synack = handshake(&mut ep, now, c, s, b"early");
    let _ = output(&mut ep, now);
    while ep.poll_event().is_some() {}
    let h = ep.accept(l).expect("in the accept queue");
    let more = craft(
        c,
        s,
        1006,
        synack.seq.0 + 1,
        Flags::ACK | Flags::PSH,
        TcpOptions::NONE,
        b"more",
    );
    inject(&mut ep, now, c, s, &more);
    let evs: Vec<Event> = std::iter::from_fn(|| ep.poll_event()).collect();
    assert_eq!(evs, [Event::Readable(h)]);
    assert_eq!(recv_all(&mut ep, now, h), b"earlymore");
}

#[test]
fn backlog_overflow_drops_the_final_ack_until_the_app_accepts() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 1).unwrap();
    let now = net.now;
    // Each client sends its request at once (queued in SYN-SENT), as an
    // HTTP client would: its retransmissions carry the handshake's ACK.
    let _clients: Vec<_> = (0..3u8)
        .map(|i| {
            let h = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
            net.ep(0).send(now, h, &[i; 100]).unwrap();
            h
        })
        .collect();
    net.run_for(Duration::from_millis(500));
    // One fits in the accept queue; the others wait.
    assert_eq!(net.ep(1).queue_lengths(l), Some((1, 1)));
    let k = net.ep(1).counters();
    assert!(k.listen_overflows > 0, "{k:?}");
    assert!(k.listen_drops >= k.listen_overflows);
    // The app accepts one at a time; retransmissions get the others in.
    let mut accepted = Vec::new();
    for _ in 0..200 {
        if let Some(h) = net.ep(1).accept(l) {
            accepted.push(h);
        }
        if accepted.len() == 3 {
            break;
        }
        net.run_for(Duration::from_millis(500));
    }
    assert_eq!(accepted.len(), 3, "{:?}", net.ep(1).counters());
    net.run_for(Duration::from_millis(200));
    let now = net.now;
    let mut got: Vec<Vec<u8>> = accepted
        .iter()
        .map(|&h| recv_all(net.ep(1), now, h))
        .collect();
    got.sort();
    assert_eq!(got, (0..3u8).map(|i| vec![i; 100]).collect::<Vec<_>>());
}

/// Linux's ListenOverflows and ListenDrops, one each for every segment a
/// full accept queue makes the listener drop: the final ACK of a
/// handshake (the connection stays in SYN-RECEIVED) and a new SYN.
#[test]
fn a_full_accept_queue_counts_each_dropped_ack_and_syn() {
    let mut ep = Endpoint::new(local(cfg()), [7; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let s = sa(1, 80);
    let l = ep.listen(s, 2).unwrap();
    let counts = |ep: &Endpoint| {
        let k = ep.counters();
        (k.listen_overflows, k.listen_drops)
    };
    let syn = |ep: &mut Endpoint, c: SocketAddr| {
        inject(
            ep,
            now,
            c,
            s,
            &craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]),
        );
        output(ep, now).first().map(|(h, _)| h.seq.0)
    };
    let ack = |ep: &mut Endpoint, c: SocketAddr, iss: u32| {
        inject(
            ep,
            now,
            c,
            s,
            &craft(c, s, 1001, iss + 1, Flags::ACK, TcpOptions::NONE, &[]),
        );
    };
    let c: Vec<SocketAddr> = (0..4).map(|i| sa(9, 5000 + i)).collect();
    let i0 = syn(&mut ep, c[0]).unwrap();
    let i1 = syn(&mut ep, c[1]).unwrap();
    ack(&mut ep, c[0], i0);
    let i2 = syn(&mut ep, c[2]).unwrap();
    ack(&mut ep, c[1], i1);
    assert_eq!(ep.queue_lengths(l), Some((2, 1)));
    assert_eq!(counts(&ep), (0, 0));
    // The accept queue is full: the third final ACK is dropped.
    ack(&mut ep, c[2], i2);
    assert_eq!(ep.queue_lengths(l), Some((2, 1)));
    assert_eq!(counts(&ep), (1, 1));
    // And so is a new SYN.
    assert_eq!(syn(&mut ep, c[3]), None);
    assert_eq!(counts(&ep), (2, 2));
}

/// The same for the ACK that returns a valid SYN cookie (RFC 4987):
/// with the accept queue full it is dropped and counted once each.
#[test]
fn a_full_accept_queue_counts_a_dropped_cookie_ack() {
    let mut c = cfg();
    c.syncookies = SynCookies::Always;
    let mut ep = Endpoint::new(local(c), [7; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let s = sa(1, 80);
    let l = ep.listen(s, 1).unwrap();
    let (c0, c1) = (sa(9, 5000), sa(9, 5001));
    let mut isn = Vec::new();
    for c in [c0, c1] {
        inject(
            &mut ep,
            now,
            c,
            s,
            &craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]),
        );
        isn.push(output(&mut ep, now)[0].0.seq.0);
    }
    for (c, iss) in [c0, c1].into_iter().zip(isn) {
        inject(
            &mut ep,
            now,
            c,
            s,
            &craft(c, s, 1001, iss + 1, Flags::ACK, TcpOptions::NONE, &[]),
        );
    }
    assert_eq!(ep.queue_lengths(l), Some((1, 0)));
    let k = ep.counters();
    assert_eq!(
        (k.syncookies_recv, k.listen_overflows, k.listen_drops),
        (1, 1, 1)
    );
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn syn_flood_with_cookies_lets_legitimate_clients_in() {
    let mut c = cfg();
    c.rx_buffer = 262_144;
    let mut net = Net::new(vec![(ip(1), c.clone()), (ip(2), c)]);
    let l = net.ep(1).listen(sa(2, 80), 128).unwrap();
    let server = sa(2, 80);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut clients = Vec::new();
    let mut accepted = Vec::new();
    for round in 0..20 {
        // 500 spoofed SYNs from random sources that never answer.
        let now = net.now;
        for _ in 0..500 {
            let r = rng.next();
            let src = SocketAddr::from((
                [198, 51, 100, (r >> 24) as u8 | 1],
                1024 + (r >> 32) as u16 % 60000,
            ));
            let mut o = TcpOptions::NONE;
            o.mss = Some(1460);
            let seg = craft(src, server, (r >> 40) as u32, 0, Flags::SYN, o, &[]);
            inject(net.ep(1), now, src, server, &seg);
        }
        // A legitimate client every round.
        clients.push(net.ep(0).connect(now, None, server).unwrap());
        net.run_for(Duration::from_millis(50));
        while let Some(h) = net.ep(1).accept(l) {
            accepted.push(h);
        }
        assert!(
            net.ep(1).connection_count() <= 128 + accepted.len(),
            "round {round}"
        );
    }
    net.run_for(Duration::from_millis(200));
    while let Some(h) = net.ep(1).accept(l) {
        accepted.push(h);
    }
    let k = net.ep(1).counters();
    println!("{k:?}");
    assert!(k.syncookies_sent > 9000, "{k:?}");
    assert_eq!(accepted.len(), 20, "{k:?}");
    assert!(k.syncookies_recv >= 19, "{k:?}");
    // Data through cookie-born connections, both ways.
    let now = net.now;
    let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    for &c in &clients {
        assert_eq!(net.ep(0).send(now, c, &data).unwrap(), data.len());
    }
    for &h in &accepted {
        net.ep(1).send(now, h, b"pong").unwrap();
    }
    net.run_for(Duration::from_millis(500));
    let now = net.now;
    for &h in &accepted {
        assert_eq!(recv_all(net.ep(1), now, h), data);
    }
    for &c in &clients {
        assert_eq!(recv_all(net.ep(0), now, c), b"pong");
    }
    // Cookie connections negotiated window scaling and timestamps.
    let c = net.ep(1).connection(accepted[5]).unwrap();
    assert!(c.timestamps_enabled());
    assert!(c.window_scale().is_some());
}

/// A raw client against a server Endpoint: handshake, the server closes
/// first, and the server's end is left in TIME-WAIT.
struct TwFixture {
    ep: Endpoint,
    now: Instant,
    client: SocketAddr,
    server: SocketAddr,
    /// The client's next sequence number (the server's old RCV.NXT).
    rcv_nxt: u32,
    /// The server's SND.NXT.
    snd_nxt: u32,
    /// The server's last TSval.
    server_ts: u32,
}

fn tw_fixture(with_ts: bool) -> TwFixture {
    let mut c = cfg();
    c.conn.timestamps = true;
    tw_fixture_with(c, with_ts)
}

fn tw_fixture_with(c: EndpointConfig, with_ts: bool) -> TwFixture {
    let mut ep = Endpoint::new(local(c), [3; 16]).expect("valid config");
    let (client, server) = (sa(9, 40000), sa(1, 80));
    let l = ep.listen(server, 8).unwrap();
    let now = Instant::from_secs(10);
    let (now, snd_nxt, server_ts) = close_into_time_wait(&mut ep, l, now, client, server, with_ts);
    assert_eq!(ep.time_wait_count(), 1);
    TwFixture {
        ep,
        now,
        client,
        server,
        rcv_nxt: 1002,
        snd_nxt,
        server_ts,
    }
}

/// `client` (ISN 1000; TSvals 100, 110, 120 when `with_ts`) connects to
/// `server`, the Endpoint's listener `l`; the server closes first, the
/// client ACKs its FIN with its own, which the server ACKs: its end is
/// left in TIME-WAIT (RCV.NXT 1002), or closed if the TIME-WAIT table is
/// full. Returns the time then, the server's SND.NXT and its last TSval.
fn close_into_time_wait(
    ep: &mut Endpoint,
    l: tcpstate::ListenerId,
    mut now: Instant,
    client: SocketAddr,
    server: SocketAddr,
    with_ts: bool,
) -> (Instant, u32, u32) {
    let conns = ep.connection_count();
    let opt = |v: u32, e: u32| if with_ts { ts(v, e) } else { TcpOptions::NONE };
    inject(
        ep,
        now,
        client,
        server,
        &craft(client, server, 1000, 0, Flags::SYN, opt(100, 0), &[]),
    );
    let out = output(ep, now);
    let synack = out[0].0;
    assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
    let sts = synack.options.timestamps.map_or(0, |t| t.val);
    let mut snd = synack.seq.0.wrapping_add(1);
    now += Duration::from_millis(10);
    inject(
        ep,
        now,
        client,
        server,
        &craft(client, server, 1001, snd, Flags::ACK, opt(110, sts), &[]),
    );
    let h = ep.accept(l).unwrap();
    ep.close(now, h).unwrap();
    let fin = output(ep, now);
    assert!(fin[0].0.flags.fin());
    snd = snd.wrapping_add(1);
    now += Duration::from_millis(10);
    // The client ACKs the FIN and sends its own.
    inject(
        ep,
        now,
        client,
        server,
        &craft(
            client,
            server,
            1001,
            snd,
            Flags::ACK | Flags::FIN,
            opt(120, sts),
            &[],
        ),
    );
    let ack = output(ep, now);
    assert_eq!(ack.len(), 1, "{ack:?}");
    assert_eq!(ack[0].0.flags, Flags::ACK);
    assert_eq!(ack[0].0.ack, SeqNum(1002));
    assert_eq!(ep.connection_count(), conns);
    let server_ts = ack[0].0.options.timestamps.map_or(0, |t| t.val);
    (now, snd, server_ts)
}

#[test]
fn time_wait_acks_a_retransmitted_fin_and_restarts() {
    let mut f = tw_fixture(false);
    f.now += Duration::from_secs(30);
    let (c, s) = (f.client, f.server);
    inject(
        &mut f.ep,
        f.now,
        c,
        s,
        &craft(
            c,
            s,
            1001,
            f.snd_nxt,
            Flags::ACK | Flags::FIN,
            TcpOptions::NONE,
            &[],
        ),
    );
    let out = output(&mut f.ep, f.now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].0.flags, out[0].0.seq, out[0].0.ack),
        (Flags::ACK, SeqNum(f.snd_nxt), SeqNum(1002))
    );
    // The 2MSL timer restarted: still there 59 s later, gone after 61.
    f.ep.on_timer(f.now + Duration::from_secs(59));
    assert_eq!(f.ep.time_wait_count(), 1);
    f.ep.on_timer(f.now + Duration::from_secs(61));
    assert_eq!(f.ep.time_wait_count(), 0);
}

#[test]
fn time_wait_reuse_with_a_higher_sequence_number() {
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    f.now += Duration::from_secs(1);
    // Lower (old) sequence number: refused, answered with an ACK.
    inject(
        &mut f.ep,
        f.now,
        c,
        s,
        &craft(c, s, 500, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let out = output(&mut f.ep, f.now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.flags, Flags::ACK);
    assert_eq!(f.ep.time_wait_count(), 1);
    assert_eq!(f.ep.counters().time_wait_syn_refused, 1);
    // Higher: a new incarnation, ISS = old SND.NXT + 65537 (Linux).
    inject(
        &mut f.ep,
        f.now,
        c,
        s,
        &craft(
            c,
            s,
            f.rcv_nxt + 100_000,
            0,
            Flags::SYN,
            TcpOptions::NONE,
            &[],
        ),
    );
    let out = output(&mut f.ep, f.now);
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    assert_eq!(out[0].0.seq, SeqNum(f.snd_nxt.wrapping_add(65537)));
    assert_eq!(out[0].0.ack, SeqNum(f.rcv_nxt + 100_001));
    assert_eq!(f.ep.time_wait_count(), 0);
    assert_eq!(f.ep.connection_count(), 1);
    // The entry took its 2MSL timer out of the wheel: the one timer left
    // is the new connection's SYN,ACK retransmission (RFC 6298 §2.1: 1 s),
    // nothing is due at the old entry's expiry.
    assert_eq!(f.ep.timer_count(), 1);
    assert_eq!(f.ep.next_deadline(), Some(f.now + Duration::from_secs(1)));
}

#[test]
fn time_wait_reuse_with_timestamps() {
    let mut f = tw_fixture(true);
    let (c, s) = (f.client, f.server);
    f.now += Duration::from_secs(1);
    // Older TSval (PAWS): refused even with a higher sequence number.
    inject(
        &mut f.ep,
        f.now,
        c,
        s,
        &craft(c, s, f.rcv_nxt + 100_000, 0, Flags::SYN, ts(50, 0), &[]),
    );
    let out = output(&mut f.ep, f.now);
    assert_eq!(out[0].0.flags, Flags::ACK);
    assert_eq!(f.ep.time_wait_count(), 1);
    assert_eq!(f.ep.counters().paws_rejected, 1);
    // Newer TSval, lower sequence number: accepted (RFC 6191).
    inject(
        &mut f.ep,
        f.now,
        c,
        s,
        &craft(c, s, 10, 0, Flags::SYN, ts(5000, 0), &[]),
    );
    let out = output(&mut f.ep, f.now);
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    let t = out[0].0.options.timestamps.unwrap();
    assert_eq!(t.ecr, 5000);
    // The server's TS clock keeps growing across incarnations (per-pair offset).
    assert!(t.val.wrapping_sub(f.server_ts) as i32 > 0);
    assert_eq!(f.ep.time_wait_count(), 0);
}

#[test]
fn rst_in_time_wait_follows_rfc1337_setting() {
    // linux(): tcp_rfc1337 = 0, an in-window RST ends TIME-WAIT.
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    inject(
        &mut f.ep,
        f.now,
        c,
        s,
        &craft(c, s, f.rcv_nxt, 0, Flags::RST, TcpOptions::NONE, &[]),
    );
    assert_eq!(f.ep.time_wait_count(), 0);
    assert!(output(&mut f.ep, f.now).is_empty());
    // Its 2MSL timer went with it: nothing is left in the wheel.
    assert_eq!(f.ep.timer_count(), 0);
    assert_eq!(f.ep.next_deadline(), None);
}

/// Two TIME-WAIT entries, each ended early by an in-window RST (linux():
/// tcp_rfc1337 = 0): each takes its own timer out of the wheel, whichever
/// node it has, and the other's timer stays (it still expires at 2MSL).
#[test]
fn time_wait_entries_ended_early_take_their_own_timers() {
    let mut ep = Endpoint::new(local(cfg()), [3; 16]).expect("valid config");
    let server = sa(1, 80);
    let l = ep.listen(server, 8).unwrap();
    let (a, b) = (sa(9, 40000), sa(9, 40001));
    let (now, _, _) = close_into_time_wait(&mut ep, l, Instant::from_secs(10), a, server, false);
    let (now, _, _) = close_into_time_wait(&mut ep, l, now, b, server, false);
    assert_eq!((ep.time_wait_count(), ep.timer_count()), (2, 2));
    for (left, c) in [(1, a), (0, b)] {
        inject(
            &mut ep,
            now,
            c,
            server,
            &craft(c, server, 1002, 0, Flags::RST, TcpOptions::NONE, &[]),
        );
        assert_eq!(ep.time_wait_count(), left, "{c}");
        assert_eq!(ep.timer_count(), left, "{c}: a timer left behind");
    }
    assert_eq!(ep.next_deadline(), None);
}

/// An in-window bare ACK (SEG.SEQ = RCV.NXT) restarts the 2MSL timer and
/// is not answered (Linux `tcp_timewait_state_process`: "in window
/// segment, it may be only reset or bare ack").
#[test]
fn time_wait_in_window_ack_restarts_2msl() {
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    let t = f.now + Duration::from_secs(30);
    let ack = craft(
        c,
        s,
        f.rcv_nxt,
        f.snd_nxt,
        Flags::ACK,
        TcpOptions::NONE,
        &[],
    );
    inject(&mut f.ep, t, c, s, &ack);
    assert!(output(&mut f.ep, t).is_empty());
    f.ep.on_timer(t + Duration::from_secs(59));
    assert_eq!(f.ep.time_wait_count(), 1, "2MSL restarted at the ACK");
    f.ep.on_timer(t + Duration::from_secs(61));
    assert_eq!(f.ep.time_wait_count(), 0);
}

/// An out-of-window ACK gets `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>` (RFC
/// 9293 §3.10.7.4, first check: an unacceptable segment is answered with
/// an ACK unless it is a RST).
#[test]
fn time_wait_acks_an_out_of_window_ack() {
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    let ack = craft(
        c,
        s,
        f.rcv_nxt + 5000,
        f.snd_nxt,
        Flags::ACK,
        TcpOptions::NONE,
        &[],
    );
    inject(&mut f.ep, f.now, c, s, &ack);
    let out = output(&mut f.ep, f.now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].0.flags, out[0].0.seq, out[0].0.ack),
        (Flags::ACK, SeqNum(f.snd_nxt), SeqNum(f.rcv_nxt))
    );
}

/// With `rfc1337` (RFC 1337 TIME-WAIT assassination hazards, R1337-1) an
/// in-window RST is ignored and counted; the entry lives on.
#[test]
fn rst_in_time_wait_is_ignored_with_rfc1337() {
    let mut c = cfg();
    c.conn.timestamps = true;
    c.conn.rfc1337 = true;
    let mut f = tw_fixture_with(c, false);
    let (c, s) = (f.client, f.server);
    let rst = craft(c, s, f.rcv_nxt, 0, Flags::RST, TcpOptions::NONE, &[]);
    inject(&mut f.ep, f.now, c, s, &rst);
    assert_eq!(f.ep.time_wait_count(), 1);
    assert_eq!(f.ep.counters().rst_in_time_wait_ignored, 1);
    assert!(output(&mut f.ep, f.now).is_empty());
}

/// A SYN reopens a TIME-WAIT 4-tuple with a sequence number above RCV.NXT
/// or, when the old connection used timestamps, a TSval newer than
/// TS.Recent (RFC 6191 §2). A TSval equal to TS.Recent is not newer, and
/// a timestamp on a SYN to an entry that had none proves nothing.
#[test]
fn time_wait_syn_needs_a_newer_timestamp_or_a_higher_sequence_number() {
    // The old connection had no timestamps.
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    let syn = craft(c, s, 500, 0, Flags::SYN, ts(5000, 0), &[]);
    inject(&mut f.ep, f.now, c, s, &syn);
    let out = output(&mut f.ep, f.now);
    assert_eq!(out[0].0.flags, Flags::ACK);
    assert_eq!(f.ep.counters().time_wait_syn_refused, 1);
    assert_eq!(f.ep.time_wait_count(), 1);
    // It had: TS.Recent is 120.
    let mut f = tw_fixture(true);
    let (c, s) = (f.client, f.server);
    f.now += Duration::from_secs(1);
    let syn = craft(c, s, 10, 0, Flags::SYN, ts(120, 0), &[]);
    inject(&mut f.ep, f.now, c, s, &syn);
    let out = output(&mut f.ep, f.now);
    assert_eq!(out[0].0.flags, Flags::ACK, "an equal TSval is not newer");
    assert_eq!(f.ep.counters().time_wait_syn_refused, 1);
    let syn = craft(c, s, 10, 0, Flags::SYN, ts(121, 0), &[]);
    inject(&mut f.ep, f.now, c, s, &syn);
    let out = output(&mut f.ep, f.now);
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    assert_eq!(f.ep.counters().time_wait_syn_accepted, 1);
    assert_eq!(f.ep.time_wait_count(), 0);
}

/// The ACKs of out-of-window segments are spaced by
/// `challenge_ack_interval` (500 ms): one exactly 500 ms after the last
/// goes out (Linux `tcp_oow_rate_limited`: limited while the time elapsed
/// is below the interval). The first one of an entry always goes out,
/// whatever the millisecond clock reads (here it starts at zero).
#[test]
fn time_wait_ack_rate_limit_boundaries() {
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    let fin = craft(
        c,
        s,
        1001,
        f.snd_nxt,
        Flags::ACK | Flags::FIN,
        TcpOptions::NONE,
        &[],
    );
    let mut acks = Vec::new();
    for ms in [1000, 1499, 1500, 1999, 2000] {
        let t = f.now + Duration::from_millis(ms);
        inject(&mut f.ep, t, c, s, &fin);
        acks.push(output(&mut f.ep, t).len());
    }
    assert_eq!(acks, [1, 0, 1, 0, 1]);
    // An Endpoint whose clock starts at zero.
    let mut ep = Endpoint::new(local(cfg()), [3; 16]).expect("valid config");
    let l = ep.listen(s, 8).unwrap();
    let (now, snd_nxt, _) = close_into_time_wait(&mut ep, l, Instant::from_millis(0), c, s, false);
    assert!(now < Instant::from_millis(100));
    let fin = craft(
        c,
        s,
        1001,
        snd_nxt,
        Flags::ACK | Flags::FIN,
        TcpOptions::NONE,
        &[],
    );
    let t = Instant::from_millis(100);
    inject(&mut ep, t, c, s, &fin);
    assert_eq!(output(&mut ep, t).len(), 1);
    assert_eq!(ep.counters().tw_acks_skipped, 0);
}

/// The TIME-WAIT table keeps each entry's local address (as an index
/// into the host's addresses): entries of a host with two addresses are
/// listed, matched and removed under their own 4-tuple.
#[test]
fn time_wait_entries_on_two_local_addresses() {
    let mut ep = Endpoint::new(local(cfg()), [3; 16]).expect("valid config");
    let (s1, s2) = (sa(1, 80), sa(2, 80));
    let (l1, l2) = (ep.listen(s1, 8).unwrap(), ep.listen(s2, 8).unwrap());
    let now = Instant::from_secs(10);
    let (c1, c2, c3) = (sa(9, 40000), sa(9, 40001), sa(8, 40000));
    let (now, ..) = close_into_time_wait(&mut ep, l1, now, c1, s1, false);
    let (now, ..) = close_into_time_wait(&mut ep, l2, now, c2, s2, false);
    let (now, ..) = close_into_time_wait(&mut ep, l1, now, c3, s1, false);
    let mut tw: Vec<_> = ep
        .connections(now)
        .filter(|l| l.state == State::TimeWait)
        .map(|l| (l.local, l.remote))
        .collect();
    tw.sort();
    let mut want = vec![(s1, c1), (s2, c2), (s1, c3)];
    want.sort();
    assert_eq!(tw, want);
    // An old duplicate SYN (below RCV.NXT) to the second address is
    // answered by its TIME-WAIT entry with the entry's ACK.
    inject(
        &mut ep,
        now,
        c2,
        s2,
        &craft(c2, s2, 500, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let out = output(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0.flags, out[0].0.ack), (Flags::ACK, SeqNum(1002)));
    assert_eq!(ep.counters().time_wait_syn_refused, 1);
    // After 2MSL every entry is gone, and its 4-tuple with it: the same SYN
    // now opens a connection.
    let later = now + Duration::from_secs(61);
    ep.on_timer(later);
    assert_eq!(ep.time_wait_count(), 0);
    inject(
        &mut ep,
        later,
        c2,
        s2,
        &craft(c2, s2, 500, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let out = output(&mut ep, later);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    assert_eq!(out[0].0.ack, SeqNum(501));
}

/// Past `max_time_wait` entries (Linux `tcp_max_tw_buckets`) a connection
/// skips TIME-WAIT: it still ACKs the peer's FIN, is counted
/// (`TCPTimeWaitOverflow`), and its 4-tuple is forgotten, so a
/// retransmitted FIN then meets the listener and gets a RST.
#[test]
fn time_wait_overflow_past_max_time_wait() {
    let mut c = cfg();
    c.max_time_wait = 2;
    let mut ep = Endpoint::new(local(c), [3; 16]).expect("valid config");
    let s = sa(1, 80);
    let l = ep.listen(s, 8).unwrap();
    let mut now = Instant::from_secs(10);
    let mut snd_nxt = 0;
    for port in [40000, 40001, 40002] {
        (now, snd_nxt, _) = close_into_time_wait(&mut ep, l, now, sa(9, port), s, false);
    }
    assert_eq!(ep.time_wait_count(), 2);
    assert_eq!(ep.counters().time_wait_entered, 2);
    assert_eq!(ep.counters().time_wait_overflow, 1);
    let c3 = sa(9, 40002);
    let fin = craft(
        c3,
        s,
        1001,
        snd_nxt,
        Flags::ACK | Flags::FIN,
        TcpOptions::NONE,
        &[],
    );
    inject(&mut ep, now, c3, s, &fin);
    let out = output(&mut ep, now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].0.flags, out[0].0.seq),
        (Flags::RST, SeqNum(snd_nxt))
    );
}

/// `ss -o` shows a TIME-WAIT entry's timer as `timewait` with the time
/// left of its 2MSL (RFC 9293 §3.10.8); an entry whose timer is due but
/// not yet run shows zero.
#[test]
fn time_wait_listing_shows_the_time_left() {
    let f = tw_fixture(false);
    let timer = |now: Instant| {
        let lines: Vec<_> =
            f.ep.connections(now)
                .filter(|l| l.state != State::Listen)
                .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].state, State::TimeWait);
        assert_eq!((lines[0].local, lines[0].remote), (f.server, f.client));
        lines[0].timer
    };
    // linux(): MSL 30 s, TIME-WAIT 60 s.
    assert_eq!(timer(f.now), Some(("timewait", Duration::from_secs(60))));
    assert_eq!(
        timer(f.now + Duration::from_millis(10_250)),
        Some(("timewait", Duration::from_millis(49_750)))
    );
    assert_eq!(
        timer(f.now + Duration::from_secs(60)),
        Some(("timewait", Duration::ZERO))
    );
    assert_eq!(
        timer(f.now + Duration::from_secs(75)),
        Some(("timewait", Duration::ZERO))
    );
}

/// PAWS gives up on a TS.Recent older than 24 days (RFC 7323 §5.5; Linux
/// `TCP_PAWS_24DAYS`): a TIME-WAIT entry (here with a 26-day 2MSL) rejects
/// an old timestamp until 24 days after TS.Recent was taken, and from
/// then on takes the segment as the in-window ACK it is.
#[test]
fn time_wait_paws_forgets_ts_recent_after_24_days() {
    const DAYS_24: u64 = 24 * 24 * 3600;
    let mut c = cfg();
    c.conn.timestamps = true;
    c.conn.msl = Duration::from_secs(13 * 24 * 3600);
    let mut f = tw_fixture_with(c, true);
    let (c, s) = (f.client, f.server);
    // TS.Recent is 120, taken at second 10 (f.now is 10.02 s).
    assert_eq!(f.now.as_millis() / 1000, 10);
    // A TSval equal to TS.Recent passes PAWS (RFC 7323 §5.3: only
    // SEG.TSval < TS.Recent fails): an in-window ACK, nothing to answer.
    let same = craft(c, s, f.rcv_nxt, f.snd_nxt, Flags::ACK, ts(120, 0), &[]);
    inject(&mut f.ep, f.now, c, s, &same);
    assert_eq!(f.ep.counters().paws_rejected, 0);
    assert!(output(&mut f.ep, f.now).is_empty());
    let old = craft(c, s, f.rcv_nxt, f.snd_nxt, Flags::ACK, ts(100, 0), &[]);
    let day_23 = Instant::from_secs(10 + DAYS_24 - 1);
    inject(&mut f.ep, day_23, c, s, &old);
    assert_eq!(f.ep.counters().paws_rejected, 1);
    let out = output(&mut f.ep, day_23);
    assert_eq!(out.len(), 1, "a PAWS reject is ACKed");
    assert_eq!(out[0].0.flags, Flags::ACK);
    let day_24 = Instant::from_secs(10 + DAYS_24);
    inject(&mut f.ep, day_24, c, s, &old);
    assert_eq!(f.ep.counters().paws_rejected, 1, "TS.Recent expired");
    assert!(output(&mut f.ep, day_24).is_empty());
    assert_eq!(f.ep.time_wait_count(), 1);
}

/// RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB: the connection
/// is gone at once, nothing is left for the Endpoint to finish (no
/// orphan, none reset at a cap of 0).
#[test]
fn closing_a_syn_sent_connection_leaves_no_orphan() {
    let mut c = local(cfg());
    c.max_orphans = 0;
    let mut ep = Endpoint::new(c, [10; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let h = ep.connect(now, None, sa(9, 80)).unwrap();
    let _ = output(&mut ep, now);
    ep.close(now, h).unwrap();
    let k = ep.counters();
    assert_eq!((k.orphans, k.orphan_resets), (0, 0), "{k:?}");
    assert_eq!(ep.connection_count(), 0);
    assert!(output(&mut ep, now).is_empty(), "nothing to send");
}

#[test]
fn orphans_past_the_cap_are_reset_oldest_first() {
    let mut c = cfg();
    c.max_orphans = 2;
    let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
    net.ep(1).listen(sa(2, 80), 16).unwrap();
    let now = net.now;
    let hs: Vec<_> = (0..4)
        .map(|_| net.ep(0).connect(now, None, sa(2, 80)).unwrap())
        .collect();
    net.run_for(Duration::from_millis(100));
    // The peer goes silent: the closes cannot finish.
    net.drop = Box::new(|_, _, _| true);
    for &h in &hs {
        let now = net.now;
        net.ep(0).close(now, h).unwrap();
        net.run_for(Duration::from_millis(10));
    }
    let k = net.ep(0).counters();
    assert_eq!(k.orphans, 2, "{k:?}");
    assert_eq!(k.orphan_resets, 2, "{k:?}");
    let now = net.now;
    let states: Vec<_> = net.ep(0).connections(now).map(|l| l.state).collect();
    assert_eq!(states, vec![State::FinWait1, State::FinWait1]);
    // The handles are stale after close.
    assert_eq!(
        net.ep(0).send(now, hs[3], b"x"),
        Err(EndpointError::UnknownHandle)
    );
}

#[test]
fn ephemeral_ports_run_out_with_a_typed_error() {
    let mut c = cfg();
    c.port_min = 40000;
    c.port_max = 40003;
    c = c
        .with_local_addr(Ipv4Addr::new(192, 0, 2, 1))
        .expect("unicast");
    let mut ep = Endpoint::new(c, [1; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let mut ports = Vec::new();
    for _ in 0..4 {
        let h = ep.connect(now, None, sa(2, 80)).unwrap();
        let line = ep.connections(now).find(|l| l.handle == Some(h)).unwrap();
        ports.push(line.local.port());
    }
    ports.sort();
    assert_eq!(ports, vec![40000, 40001, 40002, 40003]);
    assert_eq!(
        ep.connect(now, None, sa(2, 80)),
        Err(EndpointError::PortsExhausted)
    );
    // Another destination has its own tuples.
    assert!(ep.connect(now, None, sa(2, 81)).is_ok());
    // An explicit local port already in use.
    assert_eq!(
        ep.connect(now, Some(sa(1, 40000)), sa(2, 80)),
        Err(EndpointError::AddrInUse)
    );
    // Invalid addresses.
    let bc = SocketAddr::from(([255, 255, 255, 255], 80));
    assert_eq!(
        ep.connect(now, None, bc),
        Err(EndpointError::InvalidAddress)
    );
}

/// `max_connections` (full connections, a memory bound) counts every
/// connection however it was opened: one below the limit a SYN still gets
/// its SYN,ACK; at the limit `connect` fails with `TooManyConnections` and
/// a SYN is dropped silently (EP-3, no SYN cookies as the SYN queue is not
/// full), counted in `listen_drops`.
#[test]
fn max_connections_bounds_active_and_passive_opens_alike() {
    let mut c = local(cfg());
    c.max_connections = 3;
    let mut ep = Endpoint::new(c, [1; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    ep.listen(sa(1, 80), 16).unwrap();
    for port in [80, 81] {
        ep.connect(now, None, sa(9, port)).unwrap();
    }
    assert_eq!(output(&mut ep, now).len(), 2, "two SYNs");
    // Two of three: a SYN makes the third.
    let syn = |port| {
        craft(
            sa(10, port),
            sa(1, 80),
            1000,
            0,
            Flags::SYN,
            TcpOptions::NONE,
            &[],
        )
    };
    inject(&mut ep, now, sa(10, 1111), sa(1, 80), &syn(1111));
    let out = output(&mut ep, now);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    assert_eq!(ep.connection_count(), 3);
    assert_eq!(ep.counters().listen_drops, 0);
    // At the limit: neither a fourth `connect` nor a SYN.
    assert_eq!(
        ep.connect(now, None, sa(9, 82)),
        Err(EndpointError::TooManyConnections)
    );
    inject(&mut ep, now, sa(10, 2222), sa(1, 80), &syn(2222));
    assert!(
        output(&mut ep, now).is_empty(),
        "a SYN past the limit answered"
    );
    assert_eq!(ep.counters().listen_drops, 1);
    assert_eq!(ep.connection_count(), 3);
}

/// RFC 4022's `tcpAttemptFails` (a direct move to CLOSED from SYN-SENT
/// or SYN-RECEIVED, or to LISTEN from SYN-RECEIVED), `tcpEstabResets` (to
/// CLOSED from ESTABLISHED or CLOSE-WAIT) and `tcpCurrEstab` (connections
/// in ESTABLISHED or CLOSE-WAIT now), Linux's `AttemptFails`,
/// `EstabResets` and `CurrEstab`; an end through LAST-ACK counts in
/// neither of the first two.
#[test]
fn attempt_fails_estab_resets_and_curr_estab_follow_rfc4022() {
    let mut ep = Endpoint::new(local(cfg()), [1; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let l = ep.listen(sa(1, 80), 16).unwrap();
    let server = sa(1, 80);
    let counts = |ep: &Endpoint| {
        let k = ep.counters();
        (k.attempt_fails, k.estab_resets, k.curr_estab)
    };
    let seg = |ep: &mut Endpoint, from: SocketAddr, to: SocketAddr, seq: u32, ack: u32, f| {
        inject(
            ep,
            now,
            from,
            to,
            &craft(from, to, seq, ack, f, TcpOptions::NONE, &[]),
        );
    };
    // A handshake from `c`, then its FIN: the connection in CLOSE-WAIT.
    let close_wait = |ep: &mut Endpoint, c: SocketAddr| {
        let synack = handshake(ep, now, c, server, &[]);
        seg(
            ep,
            c,
            server,
            1001,
            synack.seq.0.wrapping_add(1),
            Flags::FIN | Flags::ACK,
        );
    };
    // SYN-SENT -> CLOSED: a connect refused.
    let h = ep.connect(now, None, sa(9, 80)).unwrap();
    let me = ep.local_addr(h).unwrap();
    let syn = output(&mut ep, now)[0].0;
    seg(
        &mut ep,
        sa(9, 80),
        me,
        0,
        syn.seq.0.wrapping_add(1),
        Flags::RST | Flags::ACK,
    );
    assert_eq!(counts(&ep), (1, 0, 0));
    // SYN-RECEIVED -> LISTEN: a passive open reset before the final ACK.
    let c = sa(10, 1000);
    seg(&mut ep, c, server, 1000, 0, Flags::SYN);
    assert_eq!(output(&mut ep, now).len(), 1, "SYN,ACK");
    seg(&mut ep, c, server, 1001, 0, Flags::RST);
    assert_eq!(counts(&ep), (2, 0, 0));
    // ESTABLISHED -> CLOSED.
    let c = sa(11, 1000);
    handshake(&mut ep, now, c, server, &[]);
    assert_eq!(counts(&ep), (2, 0, 1));
    seg(&mut ep, c, server, 1001, 0, Flags::RST);
    assert_eq!(counts(&ep), (2, 1, 0));
    // CLOSE-WAIT -> CLOSED.
    let c = sa(12, 1000);
    close_wait(&mut ep, c);
    assert_eq!(counts(&ep), (2, 1, 1));
    seg(&mut ep, c, server, 1002, 0, Flags::RST);
    assert_eq!(counts(&ep), (2, 2, 0));
    // CLOSE-WAIT -> LAST-ACK -> CLOSED: a normal end.
    while ep.accept(l).is_some() {}
    let c = sa(13, 1000);
    close_wait(&mut ep, c);
    let h = ep.accept(l).expect("accepted");
    assert_eq!(ep.connection(h).unwrap().state(), State::CloseWait);
    let open = ep.connection_count();
    ep.close(now, h).unwrap();
    assert_eq!(counts(&ep), (2, 2, 0), "LAST-ACK");
    let ours = output(&mut ep, now);
    let our_fin = ours.iter().find(|(t, _)| t.flags.fin()).expect("our FIN").0;
    seg(
        &mut ep,
        c,
        server,
        1002,
        our_fin.seq.0.wrapping_add(1),
        Flags::ACK,
    );
    assert_eq!(ep.connection_count(), open - 1, "LAST-ACK -> CLOSED");
    assert_eq!(counts(&ep), (2, 2, 0));
}

/// RFC 7323 §5.4 (Linux's `tcp_timestamps=1`): each address pair's TSval
/// clock starts at its own keyed offset, so SYNs sent at one instant to
/// two hosts carry different TSvals, neither of them the bare clock.
#[test]
fn syn_tsvals_to_two_hosts_start_at_their_own_offsets() {
    let mut ep = Endpoint::new(local(cfg()), [1; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    for host in [9, 10] {
        ep.connect(now, None, sa(host, 80)).unwrap();
    }
    let tsvals: Vec<u32> = output(&mut ep, now)
        .iter()
        .map(|(h, _)| h.options.timestamps.expect("timestamps offered").val)
        .collect();
    assert_eq!(tsvals.len(), 2);
    assert_ne!(tsvals[0], tsvals[1], "one offset for both hosts");
}

#[test]
fn isn_is_monotonic_per_tuple_and_unpredictable_across_tuples() {
    let mut c = cfg();
    c = c
        .with_local_addr(Ipv4Addr::new(192, 0, 2, 1))
        .expect("unicast");
    let mut ep = Endpoint::new(c, [42; 16]).expect("valid config");
    let iss = |ep: &mut Endpoint, now: Instant, port: u16| {
        let h = ep.connect(now, Some(sa(1, port)), sa(2, 80)).unwrap();
        let i = ep.connection(h).unwrap().iss().0;
        ep.abort(now, h).unwrap();
        i
    };
    // Same tuple over time: grows with a 4 µs clock.
    let mut prev = iss(&mut ep, Instant::from_secs(1), 5000);
    for k in 1..50u64 {
        let t = Instant::from_secs(1) + Duration::from_millis(37 * k);
        let i = iss(&mut ep, t, 5000);
        assert_eq!(i.wrapping_sub(prev), 37_000 / 4, "step {k}");
        prev = i;
    }
    // Different tuples at the same time: no visible relation.
    let now = Instant::from_secs(9);
    let v: Vec<u32> = (6000..7000).map(|p| iss(&mut ep, now, p)).collect();
    let mut sorted = v.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), v.len());
    let diffs: std::collections::HashSet<u32> =
        v.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    assert!(diffs.len() > 990);
    // Each bit is set about half the time.
    for bit in 0..32 {
        let ones = v.iter().filter(|&&x| x >> bit & 1 == 1).count();
        assert!((400..600).contains(&ones), "bit {bit}: {ones}");
    }
    // Another secret gives other ISNs for the same tuple and time.
    let mut c2 = cfg();
    c2 = c2
        .with_local_addr(Ipv4Addr::new(192, 0, 2, 1))
        .expect("unicast");
    let mut other = Endpoint::new(c2, [43; 16]).expect("valid config");
    assert_ne!(iss(&mut other, now, 6000), v[0]);
}

/// A passive open's ISN is chosen as an active one's (RFC 9293 §3.4.1,
/// RFC 6528 §3): the SYN,ACK of the same 4-tuple later starts as far
/// ahead as the 4 µs clock moved, and those of other 4-tuples at the same
/// time share no visible relation.
#[test]
fn passive_isns_follow_the_clock_per_tuple_and_differ_across_tuples() {
    let mut ep = Endpoint::new(local(cfg()), [42; 16]).expect("valid config");
    let s = sa(1, 80);
    ep.listen(s, 128).unwrap();
    let isn = |ep: &mut Endpoint, now: Instant, c: SocketAddr| {
        let syn = craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]);
        inject(ep, now, c, s, &syn);
        let synack = output(ep, now)[0].0;
        assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
        // The peer resets the embryonic connection (RFC 9293 §3.10.7.4:
        // back to LISTEN), which frees the 4-tuple.
        inject(
            ep,
            now,
            c,
            s,
            &craft(c, s, 1001, 0, Flags::RST, TcpOptions::NONE, &[]),
        );
        synack.seq.0
    };
    let t0 = Instant::from_secs(1);
    let first = isn(&mut ep, t0, sa(9, 5000));
    let t1 = t0 + Duration::from_millis(37);
    let later = isn(&mut ep, t1, sa(9, 5000));
    assert_eq!(later.wrapping_sub(first), 37_000 / 4);
    let v: std::collections::HashSet<u32> =
        (6000..6032).map(|p| isn(&mut ep, t1, sa(9, p))).collect();
    assert_eq!(v.len(), 32, "{v:?}");
    assert_eq!(ep.connection_count(), 0);
}

/// Endpoint 0 connects from `local` to endpoint 1's new listener on
/// `server`, closes first, then endpoint 1 closes: endpoint 0's end goes
/// to TIME-WAIT (50 ms after its own close).
fn client_into_time_wait(net: &mut Net, local: SocketAddr, server: SocketAddr) {
    let l = net.ep(1).listen(server, 16).unwrap();
    let now = net.now;
    let h = net.ep(0).connect(now, Some(local), server).unwrap();
    net.run_for(Duration::from_millis(50));
    let s = net.ep(1).accept(l).unwrap();
    let now = net.now;
    net.ep(0).close(now, h).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    net.ep(1).close(now, s).unwrap();
}

#[test]
fn tw_reuse_on_connect() {
    let mut c = cfg();
    c.tw_reuse = tcpstate::TwReuse::On;
    let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
    client_into_time_wait(&mut net, sa(1, 45000), sa(2, 80));
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.ep(0).time_wait_count(), 1);
    assert_eq!(net.ep(1).time_wait_count(), 0);
    // Within a second: the tuple is taken.
    let now = net.now;
    assert_eq!(
        net.ep(0).connect(now, Some(sa(1, 45000)), sa(2, 80)),
        Err(EndpointError::AddrInUse)
    );
    net.run_for(Duration::from_secs(3));
    let now = net.now;
    let h2 = net
        .ep(0)
        .connect(now, Some(sa(1, 45000)), sa(2, 80))
        .unwrap();
    assert_eq!(net.ep(0).counters().tw_reused, 1);
    net.run_for(Duration::from_millis(50));
    assert_eq!(
        net.ep(0).connection(h2).unwrap().state(),
        State::Established
    );
}

/// `connect` takes over a TIME-WAIT 4-tuple (RFC 6191 §2, Linux
/// `tcp_twsk_unique`), never a live connection's: to the 4-tuple of an
/// established connection it is `AddrInUse`, though a reusable TIME-WAIT
/// entry (of another 4-tuple) has the index the live connection's slot
/// has.
#[test]
fn connect_never_takes_over_a_live_connections_tuple() {
    let mut c = cfg();
    c.tw_reuse = tcpstate::TwReuse::On;
    let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
    client_into_time_wait(&mut net, sa(1, 45000), sa(2, 80));
    net.run_for(Duration::from_secs(3));
    assert_eq!(net.ep(0).time_wait_count(), 1, "reusable by now");
    let now = net.now;
    let live = net
        .ep(0)
        .connect(now, Some(sa(1, 46000)), sa(2, 80))
        .unwrap();
    net.run_for(Duration::from_millis(50));
    let state = net.ep(0).connection(live).unwrap().state();
    assert_eq!(state, State::Established);
    let now = net.now;
    assert_eq!(
        net.ep(0).connect(now, Some(sa(1, 46000)), sa(2, 80)),
        Err(EndpointError::AddrInUse)
    );
    assert_eq!(net.ep(0).time_wait_count(), 1);
    assert_eq!(net.ep(0).counters().tw_reused, 0);
}

/// `connect` takes over a TIME-WAIT 4-tuple only when the whole second
/// of the clock is more than one past the second TS.Recent was taken in,
/// and the new incarnation's ISS is the old SND.NXT + 65537, above
/// anything the old one sent (RFC 6191 §2; Linux `tcp_twsk_unique`, which
/// compares whole seconds too). The TCB keeps when TS.Recent was taken in
/// units of 2^20 us (`ts_recent_stamp`), rounded down: a timestamp that
/// arrived at 100.105 s counts as taken at 95 * 2^20 us = 99.61 s, second
/// 99, so the tuple is taken until 100.999 s and free from 101.000 s.
#[test]
fn tw_reuse_on_connect_waits_a_second_and_starts_above_snd_nxt() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut c = cfg();
    c.tw_reuse = tcpstate::TwReuse::On;
    let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
    let sent: Rc<RefCell<Vec<TcpHeader>>> = Rc::default();
    let log = Rc::clone(&sent);
    net.drop = Box::new(move |src, _, h| {
        if src == ip(1) {
            log.borrow_mut().push(*h);
        }
        false
    });
    let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
    let (local, remote) = (sa(1, 45000), sa(2, 80));
    let now = net.now;
    assert_eq!(now, Instant::from_secs(100));
    let h = net.ep(0).connect(now, Some(local), remote).unwrap();
    net.run_for(Duration::from_millis(50));
    let s = net.ep(1).accept(l).unwrap();
    let now = net.now;
    net.ep(0).close(now, h).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    // The peer's FIN (and its timestamp) arrives at 100.105 s.
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.ep(0).time_wait_count(), 1);
    let old_snd_nxt = {
        let sent = sent.borrow();
        let fin = sent.iter().find(|h| h.flags.fin()).expect("our FIN");
        fin.seq.0.wrapping_add(1)
    };
    // Second 100: TS.Recent (second 99) is one second old, not more:
    // still taken.
    net.run_for(Duration::from_millis(799));
    assert_eq!(net.now, Instant::from_millis(100_999));
    let now = net.now;
    assert_eq!(
        net.ep(0).connect(now, Some(local), remote),
        Err(EndpointError::AddrInUse)
    );
    net.run_for(Duration::from_millis(1));
    let now = net.now;
    sent.borrow_mut().clear();
    let h2 = net.ep(0).connect(now, Some(local), remote).unwrap();
    assert_eq!(net.ep(0).counters().tw_reused, 1);
    net.run_for(Duration::from_millis(50));
    let syn = sent.borrow()[0];
    assert_eq!(syn.flags, Flags::SYN);
    assert_eq!(syn.seq, SeqNum(old_snd_nxt.wrapping_add(65537)));
    assert_eq!(
        net.ep(0).connection(h2).unwrap().state(),
        State::Established
    );
}

#[test]
fn memory_of_the_compact_states() {
    let tw = std::mem::size_of::<TimeWaitEntry>();
    let conn = std::mem::size_of::<tcpstate::endpoint::Conn>();
    println!("TIME-WAIT entry: {tw} bytes; Connection<Box<[u8]>>: {conn} bytes");
    assert!(tw <= 48);
}

#[test]
fn max_header_fits_every_segment() {
    assert_eq!(MAX_HEADER, 60);
    let _ = SynCookies::Always;
    let _ = Segment::new;
}

#[test]
fn close_listener_resets_embryonic_and_unaccepted_connections() {
    let mut ep = Endpoint::new(local(cfg()), [5; 16]).expect("valid config");
    let server = sa(1, 80);
    let l = ep.listen(server, 8).unwrap();
    let now = Instant::from_secs(5);
    // Client A completes the handshake (accept queue); B only sends its SYN.
    let (a, b) = (sa(9, 40001), sa(9, 40002));
    let synack = handshake(&mut ep, now, a, server, &[]);
    inject(
        &mut ep,
        now,
        b,
        server,
        &craft(b, server, 5000, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let synack_b = output(&mut ep, now)[0].0;
    assert_eq!(ep.queue_lengths(l), Some((1, 1)));
    ep.close_listener(now, l).unwrap();
    let out = output(&mut ep, now);
    let rsts: Vec<_> = out.iter().filter(|(h, _)| h.flags.rst()).collect();
    assert_eq!(rsts.len(), 2, "{out:?}");
    let to_a = rsts.iter().find(|(h, _)| h.dst_port == 40001).unwrap();
    let to_b = rsts.iter().find(|(h, _)| h.dst_port == 40002).unwrap();
    assert_eq!(to_a.0.seq, SeqNum(synack.seq.0 + 1));
    assert_eq!(to_b.0.seq, SeqNum(synack_b.seq.0 + 1));
    assert_eq!(ep.connection_count(), 0);
    assert_eq!(ep.queue_lengths(l), None);
    assert_eq!(ep.accept(l), None);
    assert_eq!(ep.close_listener(now, l), Err(EndpointError::UnknownHandle));
    // The port is closed now: a new SYN gets RST,ACK.
    inject(
        &mut ep,
        now,
        a,
        server,
        &craft(a, server, 9000, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    assert_eq!(output(&mut ep, now)[0].0.flags, Flags::RST | Flags::ACK);
    // And it can listen again.
    ep.listen(server, 8).unwrap();
}

/// A child that ends before the application accepts it stays in the
/// accept queue, as Linux leaves it there in TCP_CLOSE (`tcp_done` does
/// not unlink it; google/packetdrill's fastopen/server/reset-non-tfo-socket
/// and reset-before-accept): `accept` returns it with the data it received
/// and then the error. One never accepted is freed with its listener.
#[test]
fn a_child_reset_in_the_accept_queue_is_accepted_with_its_data_then_the_error() {
    let mut ep = Endpoint::new(local(cfg()), [5; 16]).expect("valid config");
    let server = sa(1, 80);
    let l = ep.listen(server, 8).unwrap();
    let now = Instant::from_secs(5);
    // Three clients complete the handshake; A sends 10 bytes; each resets.
    let clients = [sa(9, 40001), sa(9, 40002), sa(9, 40003)];
    for (i, &c) in clients.iter().enumerate() {
        let data: &[u8] = if i == 0 { b"0123456789" } else { b"" };
        handshake(&mut ep, now, c, server, data);
        let _ = output(&mut ep, now);
        let seq = 1001 + data.len() as u32;
        inject(
            &mut ep,
            now,
            c,
            server,
            &craft(c, server, seq, 0, Flags::RST, TcpOptions::NONE, &[]),
        );
    }
    assert!(output(&mut ep, now).is_empty(), "no answer to the resets");
    assert_eq!(ep.queue_lengths(l), Some((3, 0)));
    assert_eq!(ep.connection_count(), 3);
    // A: its data, then the reset.
    let h = ep.accept(l).expect("the reset child is accepted");
    assert_eq!(ep.connection(h).map(|c| c.state()), Some(State::Closed));
    let mut buf = [0u8; 64];
    assert_eq!(ep.recv(now, h, &mut buf), Ok(10));
    assert_eq!(&buf[..10], b"0123456789");
    assert_eq!(
        ep.recv(now, h, &mut buf),
        Err(EndpointError::Closed(tcpstate::CloseReason::Reset))
    );
    // B: nothing to read: its Closed event comes with the accept.
    let hb = ep.accept(l).expect("the reset child is accepted");
    let mut closed = false;
    while let Some(e) = ep.poll_event() {
        closed |= e == Event::Closed(hb, tcpstate::CloseReason::Reset);
    }
    assert!(closed);
    // (Polling `Closed` let go of the handle.)
    assert_eq!(
        ep.recv(now, hb, &mut buf),
        Err(EndpointError::UnknownHandle)
    );
    // C is never accepted: closing the listener frees it (no RST: it
    // ended), and the handles of A and B go with their Closed events.
    ep.close_listener(now, l).unwrap();
    assert!(output(&mut ep, now).is_empty());
    while ep.poll_event().is_some() {}
    assert_eq!(ep.connection_count(), 0);
}

#[test]
fn ipv6_handshake_data_and_close_between_two_endpoints() {
    let (a6, b6): (IpAddr, IpAddr) = (
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    );
    let mut net = Net::new(vec![(a6, cfg()), (b6, cfg())]);
    let l = net.ep(1).listen(SocketAddr::new(b6, 443), 4).unwrap();
    let now = net.now;
    // No IPv4 address of its own: a typed error; an IPv6 source is
    // taken from the list, or given.
    assert_eq!(
        net.ep(0).connect(now, None, sa(2, 443)),
        Err(EndpointError::NoLocalAddress)
    );
    let c = net
        .ep(0)
        .connect(now, Some(SocketAddr::new(a6, 0)), SocketAddr::new(b6, 443))
        .unwrap();
    net.run_for(Duration::from_millis(50));
    assert!(net.events(0).contains(&Event::Connected(c)));
    let s = net.ep(1).accept(l).unwrap();
    let now = net.now;
    net.ep(0).send(now, c, b"over IPv6").unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    assert_eq!(recv_all(net.ep(1), now, s), b"over IPv6");
    let info: Vec<_> = net.ep(1).connections(now).collect();
    assert!(info.iter().any(|i| i.state == State::Established
        && i.local == SocketAddr::new(b6, 443)
        && i.remote.ip() == a6));
    net.ep(0).close(now, c).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    net.ep(1).close(now, s).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(net.ep(0).time_wait_count(), 1);
    assert_eq!(net.ep(1).connection_count(), 0);
    let now = net.now;
    let tw: Vec<_> = net.ep(0).connections(now).collect();
    assert_eq!(tw[0].remote, SocketAddr::new(b6, 443));
}

/// A listener that answers every SYN with a cookie; returns the cookie.
fn cookie_for(ep: &mut Endpoint, now: Instant, c: SocketAddr, s: SocketAddr, isn: u32) -> u32 {
    let mut o = TcpOptions::NONE;
    o.mss = Some(1460);
    inject(ep, now, c, s, &craft(c, s, isn, 0, Flags::SYN, o, &[]));
    let out = output(ep, now);
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    out[0].0.seq.0
}

/// A connection opened by a SYN cookie keeps what the SYN offered, from
/// the low 6 bits of the SYN,ACK's TSval that the ACK echoes (Linux's
/// `cookie_init_timestamp` layout: the peer's window-scale shift, 15 for
/// none, and SACK in bit 4): the peer's shift (at most 14) or no window
/// scaling, and SACK or not. That TSval is the latest at or below the
/// timestamp clock with those bits, so the clock never runs backwards.
#[test]
fn syn_cookie_connections_keep_the_peers_window_scale_and_sack() {
    let mut c = cfg();
    c.syncookies = SynCookies::Always;
    let mut ep = Endpoint::new(local(c), [12; 16]).expect("valid config");
    let s = sa(1, 80);
    let l = ep.listen(s, 8).unwrap();
    // The timestamp clock of this address pair less the time in ms, once
    // learnt from a connection's data segment.
    let mut clock: Option<u32> = None;
    let cases = [
        (Some(7), true),
        (Some(0), false),
        (None, true),
        (Some(14), true),
        (Some(15), false),
        (None, false),
        (Some(3), true),
    ];
    for (i, (ws, sack)) in cases.into_iter().enumerate() {
        let bits = u32::from(ws.map_or(15, |w: u8| w.min(14))) | (u32::from(sack) << 4);
        let mut t = Instant::from_secs(1000 + 10 * i as u64);
        if let Some(off) = clock {
            // A time at which the clock's low 6 bits are the options'.
            let ms = (t.as_millis() as u32).wrapping_add(off);
            t += Duration::from_millis(u64::from(bits.wrapping_sub(ms) & 63));
        }
        let cl = sa(9, 42000 + i as u16);
        let isn = 9000 * (i as u32 + 1);
        let mut o = TcpOptions::NONE;
        o.mss = Some(1460);
        o.window_scale = ws;
        o.sack_permitted = sack;
        o.timestamps = Some(Timestamps { val: 777, ecr: 0 });
        inject(&mut ep, t, cl, s, &craft(cl, s, isn, 0, Flags::SYN, o, &[]));
        let out = output(&mut ep, t);
        let syn_ack = &out[0].0;
        assert_eq!(syn_ack.flags, Flags::SYN | Flags::ACK, "{ws:?} {sack}");
        assert_eq!(ep.connection_count(), 0, "no state kept for a cookie");
        assert_eq!(syn_ack.options.window_scale.is_some(), ws.is_some());
        assert_eq!(syn_ack.options.sack_permitted, sack);
        let tsval = syn_ack.options.timestamps.expect("timestamps").val;
        assert_eq!(tsval & 63, bits, "{ws:?} {sack}: TSval {tsval:#x}");
        if let Some(off) = clock {
            assert_eq!(
                tsval,
                (t.as_millis() as u32).wrapping_add(off),
                "{ws:?} {sack}"
            );
        }
        let mut o = TcpOptions::NONE;
        o.timestamps = Some(Timestamps {
            val: 778,
            ecr: tsval,
        });
        let ack = syn_ack.seq.0.wrapping_add(1);
        inject(
            &mut ep,
            t,
            cl,
            s,
            &craft(cl, s, isn + 1, ack, Flags::ACK, o, &[]),
        );
        let h = ep.accept(l).expect("the cookie opens the connection");
        let conn = ep.connection(h).unwrap();
        assert_eq!(conn.state(), State::Established);
        assert!(conn.timestamps_enabled());
        assert_eq!(
            conn.window_scale().map(|(_, peer)| peer),
            ws.map(|w| w.min(14)),
            "{ws:?} {sack}"
        );
        assert_eq!(conn.sack_enabled(), sack, "{ws:?} {sack}");
        // The shift the cookie's SYN,ACK offered is the one the
        // connection receives with (RFC 7323 §2.2), as a SYN,ACK with
        // state would have offered.
        let ours = conn.window_scale().map(|(ours, _)| ours);
        assert_eq!(syn_ack.options.window_scale, ours, "{ws:?} {sack}");
        // The clock, from the TSval of a data segment sent now; the
        // SYN,ACK's was at most 63 below it.
        ep.send(t, h, b"x").unwrap();
        let data = output(&mut ep, t);
        let now_ts = data[0].0.options.timestamps.expect("timestamps").val;
        assert!(
            now_ts.wrapping_sub(tsval) < 64,
            "{tsval:#x} vs clock {now_ts:#x}"
        );
        clock = Some(now_ts.wrapping_sub(t.as_millis() as u32));
        ep.abort(t, h).unwrap();
        output(&mut ep, t);
    }
}

/// The shift a cookie's SYN,ACK offers is the one a SYN,ACK with state
/// offers and the connection the cookie opens receives with: halve the
/// window space (the larger of `rx_buffer` and `wscale_buffer`) until it
/// fits 16 bits, at most 14 times (RFC 7323 §2.3, Linux
/// `tcp_select_initial_window`), and no further than leaves two units in
/// the receive buffer (the Connection's rule: the window is rounded down
/// to whole units, RFC 7323 §2.4). A cookie that offered more than the
/// connection uses would let the peer send past our buffer.
#[test]
fn syn_cookie_window_scale_is_the_one_a_syn_ack_with_state_offers() {
    let s = sa(1, 80);
    let cl = sa(9, 42000);
    let cases = [
        (16384, 6 << 20, 7u8),
        (16384, 0xffff << 3, 3),
        (16384, 1 << 19, 4),
        // Two units of 2^13 in 16 KiB, not of 2^14.
        (16384, 1 << 40, 13),
        // Room for 2^15 in 64 KiB, but RFC 7323 §2.3 caps the shift at 14.
        (65536, 1 << 40, 14),
        // Linux's 6 MiB with a 128-byte buffer: 2^6, not 2^7.
        (128, 6 << 20, 6),
    ];
    for (rx, space, shift) in cases {
        let mut c = cfg();
        c.syncookies = SynCookies::Always;
        c.rx_buffer = rx;
        c.conn.wscale_buffer = Some(space);
        let mut ep = Endpoint::new(local(c), [12; 16]).expect("valid config");
        let l = ep.listen(s, 8).unwrap();
        let t = Instant::from_secs(1000);
        let mut o = TcpOptions::NONE;
        o.window_scale = Some(2);
        o.timestamps = Some(Timestamps { val: 777, ecr: 0 });
        inject(
            &mut ep,
            t,
            cl,
            s,
            &craft(cl, s, 9000, 0, Flags::SYN, o, &[]),
        );
        let syn_ack = output(&mut ep, t)[0].0;
        let case = format!("rx {rx}, space {space:#x}");
        assert_eq!(syn_ack.options.window_scale, Some(shift), "{case}");
        let ecr = syn_ack.options.timestamps.expect("timestamps").val;
        let o = ts(778, ecr);
        let ack = syn_ack.seq.0.wrapping_add(1);
        inject(
            &mut ep,
            t,
            cl,
            s,
            &craft(cl, s, 9001, ack, Flags::ACK, o, &[]),
        );
        let h = ep.accept(l).expect("the cookie opens the connection");
        let conn = ep.connection(h).unwrap();
        assert_eq!(conn.window_scale(), Some((shift, 2)), "{case}");
    }
}

/// A SYN cookie keeps the peer's MSS as an index into a table of four
/// (Linux `msstab`: 536, 1300, 1440, 1460): the connection the cookie
/// opens sends segments of the largest of them at or below the MSS the
/// SYN offered (RFC 4987 §3.6: the cookie encodes "an approximation of
/// the MSS"; never more than the peer can take, RFC 9293 §3.7.1), 536
/// below the table.
#[test]
fn syn_cookie_connections_send_the_largest_table_mss_the_peer_takes() {
    let cases = [
        (1460, 1460),
        (1459, 1440),
        (1440, 1440),
        (1400, 1300),
        (1300, 1300),
        (1299, 536),
        (536, 536),
    ];
    cookie_mss_cases(ip(1), ip(9), &cases);
}

/// Over IPv6 the table is Linux's IPv6 `msstab`: the MSS of MTUs of 1280
/// (the IPv6 minimum, RFC 8200 §5), 1480, 1500 and 9000 less 60 bytes of
/// headers: 1220, 1420, 1440, 8940 (the IPv4 table would cut a 1280-byte
/// path to 536 and a jumbo one to 1460). Below the table, 1220: no IPv6
/// link is smaller (as Linux's `cookie_v6_init_sequence`). The jumbo MSS
/// stays within the MSS this end takes itself (`Config::mss`, here 9000).
#[test]
fn syn_cookie_connections_over_ipv6_use_the_ipv6_table() {
    let cases = [
        (9000, 8940),
        (8940, 8940),
        (8939, 1440),
        (1460, 1440),
        (1440, 1440),
        (1439, 1420),
        (1420, 1420),
        (1419, 1220),
        (1220, 1220),
    ];
    let v6 = |last: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last));
    cookie_mss_cases(v6(1), v6(9), &cases);
}

/// For each (offered, sent): a SYN from `peer` offering an MSS to an
/// Endpoint at `me` that answers with cookies, the cookie's ACK, and the
/// send MSS of the connection it opens.
fn cookie_mss_cases(me: IpAddr, peer: IpAddr, cases: &[(u16, u16)]) {
    let mut c = cfg();
    c.syncookies = SynCookies::Always;
    c.conn.timestamps = false;
    c.conn.mss = 9000;
    let c = c.with_local_addr(me).expect("unicast");
    let mut ep = Endpoint::new(c, [13; 16]).expect("valid config");
    let s = SocketAddr::new(me, 80);
    let l = ep.listen(s, 64).unwrap();
    let t = Instant::from_secs(1000);
    for (i, &(offered, mss)) in cases.iter().enumerate() {
        let cl = SocketAddr::new(peer, 43000 + i as u16);
        let mut o = TcpOptions::NONE;
        o.mss = Some(offered);
        inject(&mut ep, t, cl, s, &craft(cl, s, 100, 0, Flags::SYN, o, &[]));
        let out = output(&mut ep, t);
        assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
        let ack = out[0].0.seq.0.wrapping_add(1);
        inject(
            &mut ep,
            t,
            cl,
            s,
            &craft(cl, s, 101, ack, Flags::ACK, TcpOptions::NONE, &[]),
        );
        let h = ep.accept(l).expect("the cookie opens the connection");
        let conn = ep.connection(h).unwrap();
        assert_eq!(conn.effective_mss(), mss, "the SYN offered {offered}");
    }
}

#[test]
fn forged_and_stale_cookies_are_refused_and_counted() {
    let mut c = cfg();
    c.syncookies = SynCookies::Always;
    c.conn.timestamps = false;
    let mut ep = Endpoint::new(local(c), [11; 16]).expect("valid config");
    let s = sa(1, 80);
    let l = ep.listen(s, 8).unwrap();
    let t0 = Instant::from_secs(1000);
    let cl = sa(9, 41000);
    let cookie = cookie_for(&mut ep, t0, cl, s, 7000);
    assert_eq!(ep.connection_count(), 0, "no state kept for a cookie");
    // A forged ACK: one bit of the MAC wrong -> RST <SEQ=SEG.ACK>, counted.
    let forged = (cookie ^ 1).wrapping_add(1);
    inject(
        &mut ep,
        t0,
        cl,
        s,
        &craft(cl, s, 7001, forged, Flags::ACK, TcpOptions::NONE, &[]),
    );
    let out = output(&mut ep, t0);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0.flags, out[0].0.seq), (Flags::RST, SeqNum(forged)));
    assert_eq!(ep.counters().syncookies_failed, 1);
    assert_eq!(ep.connection_count(), 0);
    // The wrong peer ISN (a blind attacker's guess) fails too.
    inject(
        &mut ep,
        t0,
        cl,
        s,
        &craft(
            cl,
            s,
            7002,
            cookie.wrapping_add(1),
            Flags::ACK,
            TcpOptions::NONE,
            &[],
        ),
    );
    assert_eq!(output(&mut ep, t0)[0].0.flags, Flags::RST);
    assert_eq!(ep.counters().syncookies_failed, 2);
    // A stale cookie: two 64-second periods later (the listener keeps
    // sending cookies, so it still checks them) -> refused.
    let t1 = t0 + Duration::from_secs(130);
    cookie_for(&mut ep, t1, sa(9, 41001), s, 1);
    inject(
        &mut ep,
        t1,
        cl,
        s,
        &craft(
            cl,
            s,
            7001,
            cookie.wrapping_add(1),
            Flags::ACK,
            TcpOptions::NONE,
            &[],
        ),
    );
    assert_eq!(output(&mut ep, t1)[0].0.flags, Flags::RST);
    assert_eq!(ep.counters().syncookies_failed, 3);
    assert_eq!(ep.counters().syncookies_recv, 0);
    // A fresh cookie within its window opens the connection.
    let fresh = cookie_for(&mut ep, t1, cl, s, 8000);
    let t2 = t1 + Duration::from_secs(60);
    inject(
        &mut ep,
        t2,
        cl,
        s,
        &craft(
            cl,
            s,
            8001,
            fresh.wrapping_add(1),
            Flags::ACK,
            TcpOptions::NONE,
            b"hi",
        ),
    );
    assert_eq!(ep.counters().syncookies_recv, 1);
    let h = ep.accept(l).expect("a valid cookie opens the connection");
    assert_eq!(recv_all(&mut ep, t2, h), b"hi");
}

#[test]
fn no_rst_ever_answers_a_rst() {
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    let closed = sa(1, 9);
    let mut ep2 = Endpoint::new(local(cfg()), [9; 16]).expect("valid config");
    ep2.listen(s, 4).unwrap();
    // Every flag combination with RST, at a closed port, a listener and a
    // TIME-WAIT entry, in and out of window: no RST comes back.
    for bits in 0u8..64 {
        let flags = Flags(bits) | Flags::RST;
        for seq in [0u32, f.rcv_nxt, f.rcv_nxt.wrapping_add(100_000)] {
            let seg = craft(c, s, seq, f.snd_nxt, flags, TcpOptions::NONE, b"x");
            inject(&mut f.ep, f.now, c, s, &seg);
            inject(&mut ep2, f.now, c, s, &seg);
            let to_closed = craft(c, closed, seq, 1, flags, TcpOptions::NONE, &[]);
            inject(&mut f.ep, f.now, c, closed, &to_closed);
        }
    }
    assert!(output(&mut f.ep, f.now).iter().all(|(h, _)| !h.flags.rst()));
    assert!(output(&mut ep2, f.now).is_empty());
    assert_eq!(f.ep.counters().out_rsts, 0);
    assert_eq!(ep2.counters().out_rsts, 0);
}

#[test]
fn time_wait_acks_carry_a_window_and_are_rate_limited() {
    let mut f = tw_fixture(false);
    let (c, s) = (f.client, f.server);
    let fin = craft(
        c,
        s,
        1001,
        f.snd_nxt,
        Flags::ACK | Flags::FIN,
        TcpOptions::NONE,
        &[],
    );
    f.now += Duration::from_secs(1);
    inject(&mut f.ep, f.now, c, s, &fin);
    let out = output(&mut f.ep, f.now);
    assert_eq!(out.len(), 1);
    assert!(out[0].0.window > 0, "window {}", out[0].0.window);
    // A burst of old duplicates within 500 ms: no more ACKs.
    for k in 1..=10u64 {
        inject(&mut f.ep, f.now + Duration::from_millis(k * 40), c, s, &fin);
    }
    assert!(output(&mut f.ep, f.now + Duration::from_millis(400)).is_empty());
    assert_eq!(f.ep.counters().tw_acks_skipped, 10);
    // After the interval, the next retransmitted FIN is ACKed again.
    f.now += Duration::from_millis(600);
    inject(&mut f.ep, f.now, c, s, &fin);
    let out = output(&mut f.ep, f.now);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.ack, SeqNum(1002));
}

/// Found against Linux (tests/linux_interop.rs): the SYN of an active open
/// carried the Endpoint's TSval clock and the segments after the SYN,ACK
/// another one. TSvals must come from one monotonic clock (RFC 7323 §5.4);
/// a peer doing PAWS would drop everything if the jump went backwards.
#[test]
fn active_open_keeps_one_timestamp_clock() {
    let mut ep = Endpoint::new(local(cfg()), [9; 16]).expect("valid config");
    let now = Instant::from_secs(100);
    let h = ep.connect(now, Some(sa(1, 40000)), sa(2, 80)).unwrap();
    let out = output(&mut ep, now);
    let (syn, _) = &out[0];
    let syn_ts = syn.options.timestamps.unwrap().val;
    let mut o = ts(5000, syn_ts);
    o.mss = Some(1460);
    o.window_scale = Some(7);
    o.sack_permitted = true;
    let synack = craft(
        sa(2, 80),
        sa(1, 40000),
        777,
        syn.seq.0.wrapping_add(1),
        Flags::SYN | Flags::ACK,
        o,
        b"",
    );
    let later = now + Duration::from_millis(10);
    inject(&mut ep, later, sa(2, 80), sa(1, 40000), &synack);
    ep.send(later, h, b"data").unwrap();
    let out = output(&mut ep, later);
    assert!(!out.is_empty());
    for (hdr, _) in &out {
        let val = hdr.options.timestamps.unwrap().val;
        assert_eq!(
            val.wrapping_sub(syn_ts),
            10,
            "TSval jumped: {syn_ts} -> {val}"
        );
    }
}

/// A connection that ends leaves no timer behind: after a short exchange
/// and both closes, the wheel holds the TIME-WAIT entry's timer only, and
/// `next_deadline` is its expiry itself (no early wake-up for the timers
/// of connections that are gone, nor for a coarse wheel slot).
/// Endpoint 0 connects to endpoint 1's listener `l` (on 192.0.2.2:80);
/// gives the client's and the server's handles once established.
fn open_pair(net: &mut Net, l: tcpstate::ListenerId) -> (Handle, Handle) {
    let now = net.now;
    let c = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(20));
    let s = net.ep(1).accept(l).expect("accepted");
    (c, s)
}

#[test]
fn freed_connections_leave_no_timers_and_next_deadline_is_exact() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
    for round in 0..3u64 {
        let (c, s) = open_pair(&mut net, l);
        let now = net.now;
        net.ep(0).send(now, c, b"ping").unwrap();
        net.run_for(Duration::from_millis(20));
        let now = net.now;
        assert_eq!(recv_all(net.ep(1), now, s), b"ping");
        net.ep(1).send(now, s, b"pong").unwrap();
        net.run_for(Duration::from_millis(20));
        let now = net.now;
        assert_eq!(recv_all(net.ep(0), now, c), b"pong");
        net.ep(0).close(now, c).unwrap();
        net.run_for(Duration::from_millis(20));
        let now = net.now;
        net.ep(1).close(now, s).unwrap();
        let closed = net.now;
        net.run_for(Duration::from_millis(20));
        assert_eq!(net.ep(1).connection_count(), 0);
        assert_eq!(net.ep(1).timer_count(), 0, "round {round}");
        assert_eq!(net.ep(1).next_deadline(), None);
        assert_eq!(net.ep(0).time_wait_count(), 1);
        assert_eq!(net.ep(0).timer_count(), 1, "round {round}");
        // The client's TIME-WAIT entry went in when the server's FIN came,
        // 5 ms after the server closed; 2 MSL is 60 s for linux().
        let expiry = closed + Duration::from_millis(5) + Duration::from_secs(60);
        assert_eq!(net.ep(0).next_deadline(), Some(expiry), "round {round}");
        net.run_for(Duration::from_secs(61));
        assert_eq!(net.ep(0).time_wait_count(), 0);
        assert_eq!(net.ep(0).timer_count(), 0);
        assert_eq!(net.ep(0).next_deadline(), None);
    }
}

/// A freed connection's slot keeps its storage for the next connection
/// (growable store): the next one starts clean. Nothing of the old
/// connection (unread data, counters, state, timers, queue membership)
/// shows through, and the old handle stays stale.
#[test]
fn a_recycled_connection_starts_clean() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
    let (c1, s1) = open_pair(&mut net, l);
    let now = net.now;
    net.ep(0).send(now, c1, b"left unread").unwrap();
    net.ep(1).send(now, s1, b"also unread").unwrap();
    net.run_for(Duration::from_millis(20));
    assert_eq!(net.ep(1).connection(s1).unwrap().recv_queue(), 11);
    assert!(net.ep(1).connection(s1).unwrap().stats().bytes_in > 0);
    // The server aborts with data unread; the client gets the RST.
    let now = net.now;
    net.ep(1).abort(now, s1).unwrap();
    net.run_for(Duration::from_millis(20));
    // The client's handle lives until its `Closed` is polled (the unread
    // data stays readable until then).
    assert_eq!(net.ep(0).connection_count(), 1);
    let now = net.now;
    assert_eq!(net.ep(0).recv(now, c1, &mut [0; 64]), Ok(11));
    assert!(
        net.events(0)
            .contains(&Event::Closed(c1, tcpstate::CloseReason::Reset))
    );
    net.events(1);
    assert_eq!(net.ep(0).connection_count(), 0);
    assert_eq!(net.ep(1).connection_count(), 0);
    // The next connection on each side takes the same slot.
    let (c2, s2) = open_pair(&mut net, l);
    let slot = |h: Handle| h.to_string().split('.').next().map(str::to_owned);
    assert_eq!(slot(c2), slot(c1));
    assert_ne!(c2, c1);
    assert_eq!(slot(s2), slot(s1));
    assert_ne!(s2, s1);
    for (i, h) in [(0, c2), (1, s2)] {
        let k = net.ep(i).connection(h).expect("live");
        assert_eq!(k.state(), State::Established);
        assert_eq!((k.recv_queue(), k.send_queue()), (0, 0));
        assert_eq!(k.stats().bytes_in, 0);
        assert!(k.stats().segs_in <= 2, "{:?}", k.stats());
        let evs = net.events(i);
        assert!(!evs.contains(&Event::Readable(h)), "{evs:?}");
        assert!(
            !evs.iter().any(|e| matches!(e, Event::Closed(..))),
            "{evs:?}"
        );
    }
    let now = net.now;
    assert_eq!(
        net.ep(1).send(now, s1, b"x"),
        Err(EndpointError::UnknownHandle)
    );
    assert_eq!(
        net.ep(0).recv(now, c1, &mut [0; 8]),
        Err(EndpointError::UnknownHandle)
    );
    // Only the new bytes arrive, both ways; the connections close cleanly.
    net.ep(0).send(now, c2, b"fresh").unwrap();
    net.ep(1).send(now, s2, b"start").unwrap();
    net.run_for(Duration::from_millis(20));
    let now = net.now;
    assert_eq!(recv_all(net.ep(1), now, s2), b"fresh");
    assert_eq!(recv_all(net.ep(0), now, c2), b"start");
    net.ep(0).close(now, c2).unwrap();
    net.ep(1).close(now, s2).unwrap();
    net.run_for(Duration::from_secs(61));
    assert_eq!(net.ep(0).connection_count(), 0);
    assert_eq!(net.ep(1).connection_count(), 0);
    assert_eq!(net.ep(0).time_wait_count() + net.ep(1).time_wait_count(), 0);
    assert_eq!(net.ep(0).timer_count() + net.ep(1).timer_count(), 0);
}

/// A control segment (here the RST for a closed port) is written into a
/// buffer of `MIN_TRANSMIT_BUF` bytes; a shorter buffer takes nothing and
/// the segment stays queued (it is never lost).
#[test]
fn a_control_segment_fits_the_smallest_buffer() {
    let mut ep = Endpoint::new(local(cfg()), [7; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let (c, s) = (sa(9, 5555), sa(1, 81));
    let mut short = [0xffu8; tcpstate::endpoint::MIN_TRANSMIT_BUF - 1];
    // Nothing queued: a short buffer is no shortage.
    assert_eq!(ep.poll_transmit(now, &mut short), None);
    assert_eq!(ep.counters().short_buffers, 0);
    let syn = craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]);
    inject(&mut ep, now, c, s, &syn);
    assert_eq!(ep.poll_transmit(now, &mut short), None);
    assert_eq!(ep.counters().short_buffers, 1);
    let mut buf = [0xffu8; tcpstate::endpoint::MIN_TRANSMIT_BUF];
    let d = ep.poll_transmit(now, &mut buf).expect("the RST");
    assert_eq!(d.len(), 20);
    let seg = d.segment(&buf);
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (d.src, d.dst) else {
        unreachable!()
    };
    assert!(checksum::verify_v4(src.octets(), dst.octets(), seg));
    let (h, payload) = TcpHeader::parse(seg).unwrap();
    assert_eq!(h.flags, Flags::RST | Flags::ACK);
    assert_eq!((h.seq, h.ack), (SeqNum(0), SeqNum(1001)));
    assert!(payload.is_empty());
    assert_eq!(ep.poll_transmit(now, &mut buf), None);
}

/// Loss in the middle of a flight: SACK recovery retransmits the holes
/// (the transmit queue keeps polling a connection in recovery, whose
/// retransmissions `wants_output` does not predict) and everything
/// arrives, in order, without waiting for a retransmission timeout.
#[test]
fn sack_recovery_through_the_endpoint_delivers_everything() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
    let (c, s) = open_pair(&mut net, l);
    // Drop the 3rd and 5th data segments from the client, once each.
    let mut seen = 0u32;
    net.drop = Box::new(move |src, _, h: &TcpHeader| {
        if src != ip(1) || h.flags.syn() || h.flags.fin() {
            return false;
        }
        seen += 1;
        seen == 3 || seen == 5
    });
    let data: Vec<u8> = (0..12_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let now = net.now;
    assert_eq!(net.ep(0).send(now, c, &data).unwrap(), data.len());
    let mut got = Vec::new();
    for _ in 0..100 {
        net.run_for(Duration::from_millis(10));
        let now = net.now;
        got.extend(recv_all(net.ep(1), now, s));
        if got.len() == data.len() {
            break;
        }
    }
    assert_eq!(got, data);
    let st = net.ep(0).connection(c).unwrap().stats();
    assert!(st.retransmits >= 2, "{st:?}");
    assert_eq!(st.timeouts, 0, "{st:?}");
}

/// The TSval clock offset is per address pair (RFC 7323 §5.4, as Linux's
/// `secure_tcp_ts_off`), for connections built in their slot on either
/// side: two active opens to one peer offer the same TSval at the same
/// time, and so do the SYN,ACKs of two passive opens from one peer, even
/// though each connection seeds its own offset from its ISN first. With
/// `timestamps` off, no segment carries the option.
#[test]
fn new_connections_take_the_pair_timestamp_offset() {
    let now = Instant::from_secs(50);
    let mut ep = Endpoint::new(local(cfg()), [4; 16]).expect("valid config");
    let mut vals = Vec::new();
    for port in [40001, 40002] {
        ep.connect(now, Some(sa(1, port)), sa(2, 80)).unwrap();
        let out = output(&mut ep, now);
        assert!(out[0].0.flags.syn());
        vals.push(out[0].0.options.timestamps.unwrap().val);
    }
    assert_eq!(vals[0], vals[1], "active opens: one clock per pair");
    let mut srv = Endpoint::new(local(cfg()), [5; 16]).expect("valid config");
    srv.listen(sa(2, 80), 8).unwrap();
    let mut vals = Vec::new();
    for (port, isn) in [(40001, 1000), (40002, 90_000)] {
        let syn = craft(sa(1, port), sa(2, 80), isn, 0, Flags::SYN, ts(7, 0), &[]);
        inject(&mut srv, now, sa(1, port), sa(2, 80), &syn);
        let out = output(&mut srv, now);
        assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
        vals.push(out[0].0.options.timestamps.unwrap().val);
    }
    assert_eq!(vals[0], vals[1], "passive opens: one clock per pair");
    let mut c = cfg();
    c.conn.timestamps = false;
    let mut ep = Endpoint::new(local(c.clone()), [6; 16]).expect("valid config");
    ep.connect(now, Some(sa(1, 40003)), sa(2, 80)).unwrap();
    let out = output(&mut ep, now);
    assert!(out[0].0.options.timestamps.is_none());
    let mut srv = Endpoint::new(local(c), [7; 16]).expect("valid config");
    srv.listen(sa(2, 80), 8).unwrap();
    let syn = craft(sa(1, 40003), sa(2, 80), 5, 0, Flags::SYN, ts(7, 0), &[]);
    inject(&mut srv, now, sa(1, 40003), sa(2, 80), &syn);
    let out = output(&mut srv, now);
    assert_eq!(out[0].0.flags, Flags::SYN | Flags::ACK);
    assert!(out[0].0.options.timestamps.is_none());
}

#[test]
fn reading_at_once_gets_every_byte_in_order() {
    // A bulk transfer to a server that reads as segments arrive
    // (`on_datagram_recv`), without loss and with every 13th data segment
    // lost (out-of-order text then waits in the receive buffer and comes
    // out with the segment that fills the hole).
    for lossy in [false, true] {
        let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
        net.read_at_once = vec![1];
        if lossy {
            let mut n = 0u32;
            net.drop = Box::new(move |_, _, h: &TcpHeader| {
                n += 1;
                h.dst_port == 80 && n % 13 == 0 && !h.flags.syn()
            });
        }
        let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
        let (c, s) = open_pair(&mut net, l);
        net.events(1);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        for _ in 0..10_000 {
            if sent == data.len() && got.len() == data.len() {
                break;
            }
            let now = net.now;
            if sent < data.len() {
                match net.ep(0).send(now, c, &data[sent..]) {
                    Ok(n) => sent += n,
                    Err(EndpointError::WouldBlock) => {}
                    Err(e) => panic!("send: {e}"),
                }
            }
            net.run_for(Duration::from_millis(10));
            for (i, h, bytes) in std::mem::take(&mut net.got) {
                assert_eq!((i, h), (1, s));
                got.extend_from_slice(&bytes);
            }
            let now = net.now;
            got.extend(recv_all(net.ep(1), now, s));
        }
        assert_eq!(got.len(), data.len(), "lossy {lossy}");
        assert!(got == data, "lossy {lossy}: bytes differ");
        let readable = net
            .events(1)
            .iter()
            .filter(|e| matches!(e, Event::Readable(_)))
            .count();
        if lossy {
            // RetransSegs (RFC 4022 tcpRetransSegs): every segment the
            // connection retransmitted, counted once, as it goes out.
            let k = net.ep(0).counters();
            assert!(k.retrans_segs > 0, "nothing was lost: {k:?}");
            let conn = net.ep(0).connection(c).unwrap().stats();
            assert_eq!(k.retrans_segs, conn.retransmits, "{k:?}");
        } else {
            // Everything was read at once: nothing ever waited.
            assert_eq!(readable, 0);
        }
    }
}

/// `EndpointConfig::rfc9293()`: `linux()`'s limits around
/// `Config::rfc9293()`, no TIME-WAIT reuse, the IANA ephemeral range
/// 49152..=65535 (RFC 6056 §2.1) and no Fast Open; everything else as
/// `linux()`.
#[test]
fn endpoint_config_rfc9293_is_linux_with_the_rfc_defaults() {
    use tcpstate::endpoint::FastOpenConfig;
    let r = EndpointConfig::rfc9293();
    assert_eq!(r.conn, tcpstate::Config::rfc9293());
    assert_eq!(r.tw_reuse, tcpstate::TwReuse::Off);
    assert_eq!((r.port_min, r.port_max), (49152, 65535));
    assert_eq!(r.fast_open, FastOpenConfig::OFF);
    let l = EndpointConfig::linux();
    assert_ne!(l.tw_reuse, r.tw_reuse);
    assert_ne!((l.port_min, l.port_max), (r.port_min, r.port_max));
    assert_ne!(l.fast_open, r.fast_open);
    assert_eq!(
        EndpointConfig {
            conn: l.conn.clone(),
            tw_reuse: l.tw_reuse,
            port_min: l.port_min,
            port_max: l.port_max,
            fast_open: l.fast_open,
            ..r.clone()
        },
        l
    );
    assert!(r.validate().is_ok());
}

/// ICMPv6 Packet Too Big (RFC 8201 §4, RFC 4443 §3.2) through
/// `Endpoint::on_icmp`: the quoted IPv6 header (40 bytes, next header 6)
/// and the first 8 bytes of TCP name the connection, whose sequence
/// number in flight (RFC 5927 §4.1) lets the MTU through: the MSS becomes
/// 1280 less 40 (IPv6), 20 (TCP) and 12 (timestamps) bytes.
#[test]
fn icmpv6_packet_too_big_lowers_the_mss() {
    let (a6, b6): (IpAddr, IpAddr) = (
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    );
    let mut net = Net::new(vec![(a6, cfg()), (b6, cfg())]);
    let remote = SocketAddr::new(b6, 443);
    let l = net.ep(1).listen(remote, 4).unwrap();
    let now = net.now;
    let c = net
        .ep(0)
        .connect(now, Some(SocketAddr::new(a6, 0)), remote)
        .unwrap();
    net.run_for(Duration::from_millis(50));
    net.ep(1).accept(l).unwrap();
    let before = net.ep(0).connection(c).unwrap().effective_mss();
    assert!(before > 1208, "{before}");
    // Data in flight, lost.
    net.drop = Box::new(move |src, _, _| src == a6);
    let now = net.now;
    net.ep(0).send(now, c, &[7u8; 3000]).unwrap();
    net.run_for(Duration::from_millis(1));
    let una = net.ep(0).connection(c).unwrap().snd_una();
    let local = net.ep(0).local_addr(c).unwrap();
    let (IpAddr::V6(s), IpAddr::V6(d)) = (local.ip(), remote.ip()) else {
        unreachable!()
    };
    // Version 6, payload length 40, next header TCP, hop limit 64.
    let mut q = vec![0x60, 0, 0, 0, 0, 40, 6, 64];
    q.extend_from_slice(&s.octets());
    q.extend_from_slice(&d.octets());
    q.extend_from_slice(&local.port().to_be_bytes());
    q.extend_from_slice(&remote.port().to_be_bytes());
    q.extend_from_slice(&una.0.to_be_bytes());
    let now = net.now;
    let ptb = tcpstate::IcmpError::from_v6(2, 0, 1280).unwrap();
    // Quotes cut short (less than the IPv6 header and 8 bytes of TCP)
    // name nothing, and are never read past their end.
    for n in 0..q.len() {
        net.ep(0).on_icmp(now, ptb, &q[..n]);
    }
    let k = net.ep(0).counters();
    assert_eq!((k.icmp_in, k.icmp_no_conn), (48, 48));
    assert_eq!(net.ep(0).connection(c).unwrap().effective_mss(), before);
    net.ep(0).on_icmp(now, ptb, &q);
    let k = net.ep(0).counters();
    assert_eq!(
        (k.icmp_in, k.icmp_no_conn, k.out_of_window_icmps),
        (49, 48, 0)
    );
    assert_eq!(net.ep(0).connection(c).unwrap().effective_mss(), 1208);
}

/// ICMP "fragmentation needed" (RFC 1191) quoting an IPv4 header with
/// options: the quoted TCP header starts at IHL * 4 bytes (RFC 791), not
/// at 20; an IHL below 5 names nothing.
#[test]
fn icmp_quote_with_ipv4_options_reaches_the_connection() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 4).unwrap();
    let (c, _) = open_pair(&mut net, l);
    net.drop = Box::new(|src, _, _| src == ip(1));
    let now = net.now;
    net.ep(0).send(now, c, &[7u8; 3000]).unwrap();
    net.run_for(Duration::from_millis(1));
    let una = net.ep(0).connection(c).unwrap().snd_una();
    let (local, remote) = (net.ep(0).local_addr(c).unwrap(), sa(2, 80));
    let (IpAddr::V4(s), IpAddr::V4(d)) = (local.ip(), remote.ip()) else {
        unreachable!()
    };
    let quote = |ihl: u8| {
        let mut q = vec![0x40 | ihl, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0];
        q.extend_from_slice(&s.octets());
        q.extend_from_slice(&d.octets());
        q.resize(usize::from(ihl).max(5) * 4, 1); // NOP options
        q.extend_from_slice(&local.port().to_be_bytes());
        q.extend_from_slice(&remote.port().to_be_bytes());
        q.extend_from_slice(&una.0.to_be_bytes());
        q
    };
    let e = tcpstate::IcmpError::from_v4(3, 4, 576).unwrap();
    let before = net.ep(0).connection(c).unwrap().effective_mss();
    net.ep(0).on_icmp(now, e, &quote(4));
    assert_eq!(net.ep(0).counters().icmp_no_conn, 1);
    assert_eq!(net.ep(0).connection(c).unwrap().effective_mss(), before);
    net.ep(0).on_icmp(now, e, &quote(6));
    assert_eq!(net.ep(0).counters().icmp_no_conn, 1);
    // 576 - 20 (IP) - 20 (TCP) = 536, less 12 bytes of timestamps.
    assert_eq!(net.ep(0).connection(c).unwrap().effective_mss(), 524);
}

/// The listing as `ss -tano` shows it: an established connection with
/// data in flight has its retransmission timer named `on`, and a line
/// `State Recv-Q Send-Q Local:Port Peer:Port timer:(name,left)`.
#[test]
fn listing_names_the_retransmission_timer_on() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 4).unwrap();
    let (c, _) = open_pair(&mut net, l);
    net.drop = Box::new(|src, _, _| src == ip(1));
    let now = net.now;
    net.ep(0).send(now, c, &[7u8; 100]).unwrap();
    net.run_for(Duration::from_millis(1));
    let now = net.now;
    let lines: Vec<_> = net.ep(0).connections(now).collect();
    assert_eq!(lines.len(), 1);
    let (name, left) = lines[0].timer.expect("a timer");
    assert_eq!(name, "on");
    assert!(
        left > Duration::ZERO && left <= Duration::from_secs(1),
        "{left:?}"
    );
    let text = lines[0].to_string();
    assert!(text.starts_with("ESTAB"), "{text}");
    assert!(text.contains(&format!("{}", lines[0].local)), "{text}");
    assert!(text.contains(&format!("{}", sa(2, 80))), "{text}");
    assert!(
        text.ends_with(&format!(" timer:(on,{}ms)", left.as_millis())),
        "{text}"
    );
}

/// A TIME-WAIT entry's ACKs advertise the window as the connection's last
/// ACK did, scaled by the window scale the peer was told (RFC 7323 §2.3):
/// with a shift of 7, the re-ACK of a retransmitted FIN carries the same
/// 16-bit field as the ACK that entered TIME-WAIT, not a saturated one.
#[test]
fn time_wait_acks_carry_the_scaled_window() {
    let mut ep = Endpoint::new(local(cfg()), [3; 16]).expect("valid config");
    let (client, server) = (sa(9, 40000), sa(1, 80));
    let l = ep.listen(server, 8).unwrap();
    let mut now = Instant::from_secs(10);
    let mut syn_opts = TcpOptions::NONE;
    syn_opts.window_scale = Some(7);
    inject(
        &mut ep,
        now,
        client,
        server,
        &craft(client, server, 1000, 0, Flags::SYN, syn_opts, &[]),
    );
    let out = output(&mut ep, now);
    let synack = out[0].0;
    let shift = synack.options.window_scale.expect("window scaling agreed");
    assert!(shift > 0, "the server scales its window (shift {shift})");
    let mut snd = synack.seq.0.wrapping_add(1);
    now += Duration::from_millis(10);
    inject(
        &mut ep,
        now,
        client,
        server,
        &craft(client, server, 1001, snd, Flags::ACK, TcpOptions::NONE, &[]),
    );
    let h = ep.accept(l).unwrap();
    ep.close(now, h).unwrap();
    assert!(output(&mut ep, now)[0].0.flags.fin());
    snd = snd.wrapping_add(1);
    now += Duration::from_millis(10);
    let fin = craft(
        client,
        server,
        1001,
        snd,
        Flags::ACK | Flags::FIN,
        TcpOptions::NONE,
        &[],
    );
    inject(&mut ep, now, client, server, &fin);
    let last = output(&mut ep, now);
    assert_eq!((last.len(), last[0].0.ack), (1, SeqNum(1002)));
    assert_eq!(ep.time_wait_count(), 1);
    let window = last[0].0.window;
    assert!(
        window > 0 && window < u16::MAX,
        "the last ACK's window {window}"
    );
    // The FIN again, later: the TIME-WAIT entry answers with that window.
    now += Duration::from_secs(1);
    inject(&mut ep, now, client, server, &fin);
    let again = output(&mut ep, now);
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].0.ack, again[0].0.window), (SeqNum(1002), window));
}

// A changed setting (as a Linux sysctl changed while sockets are open)
// applies to what opens after it; open connections keep the copy they were
// made with; settings `validate` refuses change nothing.
#[test]
fn set_connection_config_applies_to_connections_opened_after_it() {
    let mut ep = Endpoint::new(local(cfg()), [12; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let ts = |out: &[(TcpHeader, Vec<u8>)]| out[0].0.options.timestamps.is_some();
    let first = ep.connect(now, None, sa(9, 80)).unwrap();
    assert!(ts(&output(&mut ep, now)), "timestamps on");
    let mut conn = ep.config().conn.clone();
    conn.timestamps = false;
    ep.set_connection_config(conn).unwrap();
    assert!(!ep.config().conn.timestamps);
    let _second = ep.connect(now, None, sa(9, 81)).unwrap();
    assert!(!ts(&output(&mut ep, now)), "the new one: off");
    // The first SYN again (its timeout): still with timestamps.
    let later = ep.connection(first).unwrap().deadline().unwrap();
    ep.on_timer(later);
    let again = output(&mut ep, later);
    assert_eq!(again.len(), 2, "both SYNs again");
    let first_again = again.iter().find(|(h, _)| h.dst_port == 80).unwrap();
    assert!(first_again.0.options.timestamps.is_some());
    // Refused settings change nothing.
    let mut bad = ep.config().conn.clone();
    bad.mss = 0;
    assert!(ep.set_connection_config(bad).is_err());
    assert!(ep.config().conn.mss > 0);
}

// Issue 17 (W3): an Endpoint's connections share one packed config (no
// heap per connection for it); a socket option set on one connection
// gives that one its own copy and leaves the others as they were.
#[test]
fn connections_share_the_endpoint_config_until_one_changes_its_own() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let lb = net.ep(1).listen(sa(2, 80), 16).unwrap();
    let now = net.now;
    let c1 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    let c2 = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(100));
    let s1 = net.ep(1).accept(lb).expect("accepted");
    let heap = |ep: &mut Endpoint, h| ep.connection(h).unwrap().heap_bytes();
    for h in [c1, c2] {
        assert_eq!(heap(net.ep(0), h), 0, "active open {h:?}");
    }
    assert_eq!(heap(net.ep(1), s1), 0, "passive open");
    let own_cfg = tcpstate::connection::heap_layout()[3].1;
    let now = net.now;
    let ka = tcpstate::Keepalive {
        idle: Duration::from_secs(5),
        interval: Duration::from_secs(1),
        probes: 2,
    };
    let set = net
        .ep(0)
        .on_app_call(now, c1, tcpstate::AppCall::SetKeepalive(Some(ka)));
    assert_eq!(set.unwrap().len, 0);
    assert_eq!(heap(net.ep(0), c1), own_cfg);
    assert_eq!(heap(net.ep(0), c2), 0);
    // The option took effect on c1 alone: after 5 s idle c1 probes, c2
    // (keep-alive off in `linux()`) sends nothing.
    let before = net.ep(0).connection(c2).unwrap().stats().segs_out;
    let probes_before = net.ep(0).connection(c1).unwrap().stats().segs_out;
    net.run_for(Duration::from_secs(6));
    assert!(net.ep(0).connection(c1).unwrap().stats().segs_out > probes_before);
    assert_eq!(net.ep(0).connection(c2).unwrap().stats().segs_out, before);
}

/// `connect` with an explicit local port takes over a TIME-WAIT 4-tuple
/// (its timestamps more than a second old) as Linux's `tcp_tw_reuse`
/// allows it: never with 0 (`Off`), anywhere with 1 (`On`), and with 2
/// (`LoopbackOnly`, Linux's default) only when the old connection's
/// source or destination is a loopback address, IPv4-mapped ones too
/// (`tcp_twsk_unique`: "we require a loopback src or dst address").
/// Otherwise the
/// tuple stays taken: `AddrInUse` (RFC 9293 §3.6.1: TIME-WAIT holds the
/// connection's identity for 2 MSL).
#[test]
fn tw_reuse_modes_follow_linux_tcp_tw_reuse() {
    use tcpstate::TwReuse;
    let lo = |n: u8| IpAddr::V4(Ipv4Addr::new(127, 0, 0, n));
    let lo6 = |n: u8| IpAddr::V6(Ipv4Addr::new(127, 0, 0, n).to_ipv6_mapped());
    let v6 = |n: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n));
    // Which ends of the old connection are loopback addresses.
    let ends = |loopback: &str| match loopback {
        "none" => (ip(1), ip(2)),
        "both" => (lo(1), lo(2)),
        "local" => (lo(1), ip(2)),
        "remote" => (ip(1), lo(2)),
        "mapped" => (v6(1), lo6(2)),
        _ => (v6(1), v6(2)),
    };
    for (mode, loopback, reused) in [
        (TwReuse::Off, "none", false),
        (TwReuse::Off, "both", false),
        (TwReuse::On, "none", true),
        (TwReuse::On, "both", true),
        (TwReuse::LoopbackOnly, "none", false),
        (TwReuse::LoopbackOnly, "v6", false),
        (TwReuse::LoopbackOnly, "both", true),
        (TwReuse::LoopbackOnly, "local", true),
        (TwReuse::LoopbackOnly, "remote", true),
        (TwReuse::LoopbackOnly, "mapped", true),
    ] {
        let (a, b) = ends(loopback);
        let mut c = cfg();
        c.tw_reuse = mode;
        let mut net = Net::new(vec![(a, c), (b, cfg())]);
        let (local, server) = (SocketAddr::new(a, 45000), SocketAddr::new(b, 80));
        client_into_time_wait(&mut net, local, server);
        net.run_for(Duration::from_secs(3));
        assert_eq!(net.ep(0).time_wait_count(), 1, "{mode:?} {loopback}");
        let now = net.now;
        let r = net.ep(0).connect(now, Some(local), server);
        let k = net.ep(0).counters().tw_reused;
        if reused {
            assert!(r.is_ok(), "{mode:?} {loopback}: {r:?}");
            assert_eq!((k, net.ep(0).time_wait_count()), (1, 0), "{mode:?}");
            net.run_for(Duration::from_millis(50));
            let st = net.ep(0).connection(r.unwrap()).unwrap().state();
            assert_eq!(st, State::Established, "{mode:?} {loopback}");
        } else {
            assert_eq!(r, Err(EndpointError::AddrInUse), "{mode:?} {loopback}");
            assert_eq!((k, net.ep(0).time_wait_count()), (0, 1), "{mode:?}");
        }
    }
}

/// `connect`'s explicit local address must be a unicast address of the
/// remote's family (RFC 9293 MUST-57: a connection's addresses are
/// unicast; an IPv4 remote needs an IPv4 source) and one of the
/// Endpoint's own; the remote must be unicast with a port.
#[test]
fn connect_checks_the_local_and_remote_addresses() {
    let mut ep = Endpoint::new(local(cfg()), [4; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let remote = sa(9, 80);
    let v6: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
    for (l, r, want) in [
        (Some(v6), remote, EndpointError::InvalidAddress),
        (
            Some("0.0.0.0:4000".parse().unwrap()),
            remote,
            EndpointError::InvalidAddress,
        ),
        (
            Some("255.255.255.255:4000".parse().unwrap()),
            remote,
            EndpointError::InvalidAddress,
        ),
        (
            Some("224.0.0.1:4000".parse().unwrap()),
            remote,
            EndpointError::InvalidAddress,
        ),
        (Some(sa(7, 4000)), remote, EndpointError::AddrNotAvailable),
        (
            None,
            "224.0.0.1:80".parse().unwrap(),
            EndpointError::InvalidAddress,
        ),
        (None, sa(9, 0), EndpointError::InvalidAddress),
        (
            None,
            "[ff02::1]:80".parse().unwrap(),
            EndpointError::InvalidAddress,
        ),
        (
            None,
            "[::]:80".parse().unwrap(),
            EndpointError::InvalidAddress,
        ),
    ] {
        assert_eq!(ep.connect(now, l, r), Err(want), "{l:?} -> {r}");
    }
    assert_eq!(ep.connection_count(), 0);
    // The same address family and one of ours: accepted.
    let h = ep.connect(now, Some(sa(2, 4000)), remote).unwrap();
    assert!(ep.connect(now, Some(sa(1, 0)), remote).is_ok());
    assert_eq!(ep.connection_count(), 2);
    // A handle prints as `#slot.generation`; the Endpoint's Debug shows
    // its counts.
    assert!(
        h.to_string().starts_with('#') && h.to_string().contains('.'),
        "{h}"
    );
    let dbg = format!("{ep:?}");
    assert!(
        dbg.starts_with("Endpoint") && dbg.contains("connections: 2"),
        "{dbg}"
    );
}

/// `listen` takes a unicast address of ours or the unspecified one, with
/// a port: broadcast and multicast addresses name no TCP endpoint
/// (RFC 9293 MUST-57; RFC 1122 §4.2.3.10), and port 0 only makes sense
/// for a transparent Endpoint's catch-all.
#[test]
fn listen_refuses_broadcast_multicast_and_port_zero() {
    let mut ep = Endpoint::new(local(cfg()), [5; 16]).expect("valid config");
    for a in [
        "255.255.255.255:80",
        "224.0.0.1:80",
        "[ff02::1]:80",
        "192.0.2.1:0",
        "0.0.0.0:0",
    ] {
        let a: SocketAddr = a.parse().unwrap();
        assert_eq!(ep.listen(a, 8), Err(EndpointError::InvalidAddress), "{a}");
    }
    assert_eq!(
        ep.listen(sa(7, 80), 8),
        Err(EndpointError::AddrNotAvailable)
    );
    assert!(ep.listen(sa(1, 80), 8).is_ok());
    assert!(ep.listen("0.0.0.0:81".parse().unwrap(), 8).is_ok());
    let mut t = local(cfg());
    t.transparent = true;
    let mut ep = Endpoint::new(t, [5; 16]).expect("valid config");
    assert!(ep.listen("0.0.0.0:0".parse().unwrap(), 8).is_ok());
}

/// With transmit checksum offload, an IPv6 segment's checksum field holds
/// the folded pseudo-header sum (RFC 8200 §8.1) over the segment's
/// length, for the device to complete; completed in software the segment
/// verifies.
#[test]
fn ipv6_transmit_checksum_offload_leaves_the_pseudo_header_sum() {
    let (a6, b6): (Ipv6Addr, Ipv6Addr) = (
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    );
    let mut c = cfg().with_local_addr(a6).unwrap();
    c.tx_checksum_offload = true;
    let mut ep = Endpoint::new(c, [6; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    ep.connect(now, None, SocketAddr::new(b6.into(), 80))
        .unwrap();
    let mut buf = vec![0u8; 1500];
    let d = ep.poll_transmit(now, &mut buf).expect("the SYN");
    assert_eq!((d.src, d.dst), (IpAddr::V6(a6), IpAddr::V6(b6)));
    let seg = d.segment_mut(&mut buf);
    let sum = checksum::pseudo_header_v6(a6.octets(), b6.octets(), d.len() as u32);
    assert_eq!(seg[16..18], checksum::fold(sum).to_be_bytes());
    assert!(!checksum::verify_v6(a6.octets(), b6.octets(), seg));
    checksum::fill_checksum_v6(a6.octets(), b6.octets(), seg);
    assert!(checksum::verify_v6(a6.octets(), b6.octets(), seg));
    let (h, _) = TcpHeader::parse(seg).unwrap();
    assert_eq!(h.flags, Flags::SYN);
}

/// The RSTs (and other replies to no connection) waiting for
/// `poll_transmit` are bounded: past 65,536 unpolled ones, each further
/// reply is dropped and counted in `ctrl_dropped` (RFC 9293 §3.10.7.1
/// makes them a reply to each segment, not a duty to queue without
/// limit: a peer may resend, and memory stays bounded under a flood).
#[test]
fn replies_to_no_connection_are_bounded_and_counted() {
    let mut ep = Endpoint::new(local(cfg()), [8; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let server = sa(1, 9);
    let n = 65_536 + 3;
    for i in 0..n {
        let client = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, (i % 200) as u8 + 1)),
            1024 + (i / 200) as u16,
        );
        let syn = craft(client, server, 7, 0, Flags::SYN, TcpOptions::NONE, &[]);
        inject(&mut ep, now, client, server, &syn);
    }
    assert_eq!(ep.counters().ctrl_dropped, 3);
    let mut buf = vec![0u8; 100];
    let mut rsts = 0;
    while let Some(d) = ep.poll_transmit(now, &mut buf) {
        let (h, _) = TcpHeader::parse(d.segment(&buf)).unwrap();
        assert_eq!(h.flags, Flags::RST | Flags::ACK);
        rsts += 1;
    }
    assert_eq!(rsts, 65_536);
    // Polled, the queue takes replies again.
    let client = sa(9, 5000);
    let syn = craft(client, server, 7, 0, Flags::SYN, TcpOptions::NONE, &[]);
    inject(&mut ep, now, client, server, &syn);
    assert_eq!(output(&mut ep, now).len(), 1);
    assert_eq!(ep.counters().ctrl_dropped, 3);
}

/// Picking an ephemeral port (RFC 6056), `connect` skips a port a
/// listener is bound to on that address, as Linux's
/// `__inet_hash_connect` skips every port with a bind bucket.
#[test]
fn ephemeral_ports_skip_a_port_a_listener_holds() {
    let mut c = local(cfg());
    c.port_min = 40000;
    c.port_max = 40001;
    let mut ep = Endpoint::new(c, [1; 16]).expect("valid config");
    ep.listen(sa(1, 40000), 8).unwrap();
    let now = Instant::from_secs(1);
    for dst in [sa(9, 80), sa(9, 81), sa(8, 80)] {
        let h = ep.connect(now, Some(sa(1, 0)), dst).unwrap();
        assert_eq!(ep.local_addr(h), Some(sa(1, 40001)), "{dst}");
    }
    assert_eq!(
        ep.connect(now, Some(sa(1, 0)), sa(9, 80)),
        Err(EndpointError::PortsExhausted)
    );
    // The other address of the Endpoint has no listener on 40000.
    let h = ep.connect(now, Some(sa(2, 0)), sa(9, 80)).unwrap();
    let p = ep.local_addr(h).unwrap().port();
    assert!(p == 40000 || p == 40001, "{p}");
    let h = ep.connect(now, Some(sa(2, 0)), sa(9, 80)).unwrap();
    assert_ne!(ep.local_addr(h).unwrap().port(), p);
}

/// With every ephemeral port's tuple in TIME-WAIT, `connect` takes over
/// a TIME-WAIT tuple when `tw_reuse` allows it (its timestamps more than
/// a second old, Linux `tcp_twsk_unique`), and runs out of ports when it
/// does not.
#[test]
fn an_ephemeral_port_takes_over_a_time_wait_tuple_when_allowed() {
    use tcpstate::TwReuse;
    for (mode, reused) in [(TwReuse::On, true), (TwReuse::Off, false)] {
        let mut c = cfg();
        c.tw_reuse = mode;
        c.port_min = 40000;
        c.port_max = 40000;
        let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
        client_into_time_wait(&mut net, sa(1, 40000), sa(2, 80));
        net.run_for(Duration::from_secs(3));
        assert_eq!(net.ep(0).time_wait_count(), 1, "{mode:?}");
        let now = net.now;
        let r = net.ep(0).connect(now, None, sa(2, 80));
        if reused {
            let h = r.unwrap();
            assert_eq!(net.ep(0).local_addr(h), Some(sa(1, 40000)));
            assert_eq!(net.ep(0).counters().tw_reused, 1);
            net.run_for(Duration::from_millis(50));
            let st = net.ep(0).connection(h).unwrap().state();
            assert_eq!(st, State::Established);
        } else {
            assert_eq!(r, Err(EndpointError::PortsExhausted), "{mode:?}");
        }
    }
}

/// `poll_event` skips what became moot before it was polled: the
/// `Incoming` of a listener the application closed since, and the
/// `SynPending` of a SYN that is no longer held (its listener closed).
/// Nothing of them reaches the application, and later events still do.
#[test]
fn events_of_a_closed_listener_are_skipped() {
    use tcpstate::endpoint::ListenOptions;
    let mut ep = Endpoint::new(local(cfg()), [9; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let l = ep.listen(sa(1, 80), 8).unwrap();
    let f = ep
        .listen_with(
            sa(1, 81),
            ListenOptions {
                filter_syn: true,
                ..ListenOptions::backlog(8)
            },
        )
        .unwrap();
    handshake(&mut ep, now, sa(9, 4000), sa(1, 80), b"");
    let (c, s) = (sa(9, 4001), sa(1, 81));
    inject(
        &mut ep,
        now,
        c,
        s,
        &craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    ep.close_listener(now, l).unwrap();
    ep.close_listener(now, f).unwrap();
    // The closed listener's child is reset.
    let rsts = output(&mut ep, now);
    assert!(rsts.iter().all(|(h, _)| h.flags.rst()), "{rsts:?}");
    // A third listener's Incoming, queued after them, still arrives.
    let m = ep.listen(sa(1, 82), 8).unwrap();
    handshake(&mut ep, now, sa(9, 4002), sa(1, 82), b"");
    let evs: Vec<Event> = std::iter::from_fn(|| ep.poll_event()).collect();
    assert_eq!(evs, vec![Event::Incoming(m)]);
    assert!(ep.accept(m).is_some());
}

/// EP-3 with SYN cookies off (Linux `tcp_syncookies=0`): a SYN that finds
/// its listener's SYN queue full is dropped without a reply and counted
/// (`listen_drops`, Linux `ListenDrops`); once a half-open connection
/// completes and leaves the SYN queue, a new SYN is answered again.
#[test]
fn without_syn_cookies_a_full_syn_queue_drops_new_syns() {
    let mut c = local(cfg());
    c.syncookies = SynCookies::Off;
    let mut ep = Endpoint::new(c, [10; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let server = sa(1, 80);
    let l = ep.listen(server, 2).unwrap();
    let syn = |ep: &mut Endpoint, port: u16| {
        let c = sa(9, port);
        inject(
            ep,
            now,
            c,
            server,
            &craft(c, server, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]),
        );
        output(ep, now)
    };
    let first = syn(&mut ep, 5000);
    assert_eq!(first.len(), 1);
    assert_eq!(syn(&mut ep, 5001).len(), 1);
    assert_eq!(ep.queue_lengths(l), Some((0, 2)));
    assert!(syn(&mut ep, 5002).is_empty(), "no SYN,ACK, no cookie");
    assert_eq!(ep.counters().listen_drops, 1);
    assert_eq!(ep.queue_lengths(l), Some((0, 2)));
    // The first client completes its handshake.
    let c = sa(9, 5000);
    let ack = craft(
        c,
        server,
        1001,
        first[0].0.seq.0 + 1,
        Flags::ACK,
        TcpOptions::NONE,
        &[],
    );
    inject(&mut ep, now, c, server, &ack);
    assert_eq!(ep.queue_lengths(l), Some((1, 1)));
    assert_eq!(syn(&mut ep, 5003).len(), 1);
    assert_eq!(ep.counters().listen_drops, 1);
}

/// The listing names the other timers as `ss -tano` does: `keepalive`
/// on an idle connection with keep-alives (RFC 9293 §3.8.4), `persist`
/// on a sender facing a zero window (RFC 9293 §3.8.6.1), and `timewait`
/// on an orphan in FIN-WAIT-2 (Linux shows the `tcp_fin_timeout` timer
/// so), each with the time left.
#[test]
fn listing_names_the_keepalive_persist_and_fin_wait_2_timers() {
    let mut ka = cfg();
    ka.conn.keepalive = Some(tcpstate::Keepalive {
        idle: Duration::from_secs(7200),
        interval: Duration::from_secs(75),
        probes: 9,
    });
    let mut small = cfg();
    small.rx_buffer = 4096;
    let mut net = Net::new(vec![(ip(1), ka), (ip(2), small)]);
    let l = net.ep(1).listen(sa(2, 80), 4).unwrap();
    let (c, s) = open_pair(&mut net, l);
    let timer = |net: &mut Net, i: usize, h: Handle| {
        let now = net.now;
        let line = net.ep(i).connections(now).find(|l| l.handle == Some(h));
        line.expect("listed").timer.expect("a timer")
    };
    let (name, left) = timer(&mut net, 0, c);
    assert_eq!(name, "keepalive");
    assert!(left > Duration::from_secs(7100) && left <= Duration::from_secs(7200));
    // The server reads nothing: the client's data fills the server's
    // 4096-byte window, and the rest waits behind a zero window.
    let now = net.now;
    let n = net.ep(0).send(now, c, &[1u8; 12000]).unwrap();
    assert_eq!(n, 12000);
    net.run_for(Duration::from_millis(100));
    // RFC 9293 §3.8.6.2.1: less than a segment fits; the sender waits on
    // the persist timer (as for a zero window, the override timeout).
    assert!(net.ep(0).connection(c).unwrap().snd_wnd() < 1448);
    let (name, left) = timer(&mut net, 0, c);
    assert_eq!(name, "persist");
    assert!(
        left > Duration::ZERO && left <= Duration::from_secs(2),
        "{left:?}"
    );
    // The server reads everything and the client closes; the server does
    // not: the client's orphan waits in FIN-WAIT-2.
    let mut got = 0;
    for _ in 0..100 {
        let now = net.now;
        got += recv_all(net.ep(1), now, s).len();
        net.run_for(Duration::from_millis(20));
    }
    assert_eq!(got, 12000);
    let now = net.now;
    net.ep(0).close(now, c).unwrap();
    net.run_for(Duration::from_millis(100));
    let now = net.now;
    let line = net
        .ep(0)
        .connections(now)
        .find(|l| l.state == State::FinWait2)
        .expect("the orphan is listed");
    let (name, left) = line.timer.expect("a timer");
    assert_eq!(name, "timewait");
    assert!(
        left > Duration::from_secs(59) && left <= Duration::from_secs(60),
        "{left:?}"
    );
    assert!(line.to_string().contains(" timer:(timewait,"), "{line}");
}

/// Two hundred listeners (the listener table grows and rehashes as they
/// come): each takes the SYNs to its own port; with every other one
/// closed, a SYN to a closed port is refused with a RST (RFC 9293
/// §3.10.7.1) and the others still answer.
#[test]
fn many_listeners_each_take_their_own_syns() {
    let mut ep = Endpoint::new(local(cfg()), [11; 16]).expect("valid config");
    let now = Instant::from_secs(1);
    let ports = 1000..1200u16;
    let ids: Vec<_> = ports
        .clone()
        .map(|p| ep.listen(sa(1, p), 4).unwrap())
        .collect();
    // A SYN from client `c` to port `p`, and the flags of the one reply.
    let answer = |ep: &mut Endpoint, c: SocketAddr, p: u16| {
        let s = sa(1, p);
        inject(
            ep,
            now,
            c,
            s,
            &craft(c, s, 1000, 0, Flags::SYN, TcpOptions::NONE, &[]),
        );
        let out = output(ep, now);
        assert_eq!(out.len(), 1, "port {p}");
        assert_eq!(out[0].0.src_port, p);
        out[0].0.flags
    };
    for p in ports.clone() {
        let f = answer(&mut ep, sa(9, p + 10000), p);
        assert_eq!(f, Flags::SYN | Flags::ACK, "port {p}");
    }
    for (p, id) in ports.clone().zip(&ids) {
        if p % 2 == 0 {
            ep.close_listener(now, *id).unwrap();
            // Its half-open child is reset.
            assert_eq!(output(&mut ep, now).len(), 1);
        }
    }
    for p in ports {
        // A SYN from another client: refused, or a new child.
        let want = if p % 2 == 0 {
            Flags::RST | Flags::ACK
        } else {
            Flags::SYN | Flags::ACK
        };
        assert_eq!(answer(&mut ep, sa(8, p + 20000), p), want, "port {p}");
    }
}

/// The orphan cap (Linux `tcp_max_orphans`) counts live orphans only: an
/// orphan that finished its close (its handle still in the Endpoint's
/// list of orphans) is skipped, not counted or reset a second time, and
/// the oldest *live* orphan is the one reset; a slot reused by a new
/// connection since is not mistaken for the old orphan.
#[test]
fn the_orphan_cap_skips_orphans_that_already_ended() {
    let mut c = cfg();
    c.max_orphans = 2;
    let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
    let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
    // An orphan that ends: the peer closes first, then our close finishes
    // at once (LAST-ACK, then CLOSED).
    let (a, sa_) = open_pair(&mut net, l);
    let now = net.now;
    net.ep(1).close(now, sa_).unwrap();
    net.run_for(Duration::from_millis(50));
    let now = net.now;
    net.ep(0).close(now, a).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(net.ep(0).counters().orphans, 0);
    assert_eq!(net.ep(0).connection_count(), 0);
    // Three more: `x` first (it takes the ended orphan's slot), then two.
    // With the peer silent, they are closed in the order hs[0], hs[1], x:
    // the list of orphans holds the ended one's handle, then those three,
    // and the cap resets hs[0], the oldest live one.
    let now = net.now;
    let x = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    let hs: Vec<_> = (0..2)
        .map(|_| net.ep(0).connect(now, None, sa(2, 80)).unwrap())
        .collect();
    net.run_for(Duration::from_millis(100));
    let port = |net: &mut Net, h: Handle| net.ep(0).local_addr(h).unwrap().port();
    let mut want = vec![port(&mut net, hs[1]), port(&mut net, x)];
    want.sort();
    net.drop = Box::new(|_, _, _| true);
    for &h in [hs[0], hs[1], x].iter() {
        let now = net.now;
        net.ep(0).close(now, h).unwrap();
        net.run_for(Duration::from_millis(10));
    }
    let k = net.ep(0).counters();
    assert_eq!((k.orphans, k.orphan_resets), (2, 1), "{k:?}");
    let now = net.now;
    let mut left: Vec<u16> = net.ep(0).connections(now).map(|l| l.local.port()).collect();
    left.sort();
    assert_eq!(left, want, "the oldest live orphan went");
}

/// `poll_transmit` writes the payload once, at `buf[MAX_HEADER..]`, and
/// the header right in front of it: the datagram is `buf[start..end]`,
/// `end` is `MAX_HEADER` plus the payload, `start` is `MAX_HEADER` less
/// the header (32 bytes with timestamps, RFC 7323 §3; 20 without), and
/// the `start` bytes before it are left as the host put them (room for
/// its own IP header).
#[test]
fn a_datagram_is_written_in_place_after_the_hosts_room() {
    use tcpstate::endpoint::MAX_HEADER;
    for with_ts in [false, true] {
        let (client, server) = (sa(9, 5000), sa(1, 80));
        let mut ep = Endpoint::new(local(cfg()), [3; 16]).unwrap();
        let l = ep.listen(server, 4).unwrap();
        let now = Instant::ZERO;
        let synack = handshake_opts(&mut ep, now, client, server, &[], with_ts);
        assert_eq!(synack.options.timestamps.is_some(), with_ts);
        let h = ep.accept(l).expect("accepted");
        // 500 bytes: below the 536-byte default MSS (no MSS option sent).
        let data: Vec<u8> = (0..500u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(ep.send(now, h, &data), Ok(500));
        let mut buf = vec![0xEEu8; MAX_HEADER + 1460];
        let d = ep.poll_transmit(now, &mut buf).expect("a data segment");
        let hlen = if with_ts { 32 } else { 20 };
        assert_eq!((d.start, d.end), (MAX_HEADER - hlen, MAX_HEADER + 500));
        assert_eq!(d.len(), hlen + 500);
        assert_eq!(d.range(), d.start..d.end);
        assert!(
            buf[..d.start].iter().all(|&b| b == 0xEE),
            "the host's room was written"
        );
        let IpAddr::V4(s) = d.src else { unreachable!() };
        let IpAddr::V4(t) = d.dst else { unreachable!() };
        assert!(checksum::verify_v4(s.octets(), t.octets(), d.segment(&buf)));
        let (hdr, payload) = TcpHeader::parse(d.segment(&buf)).unwrap();
        assert_eq!(payload, &data[..]);
        assert_eq!(hdr.header_len(), hlen);
        assert_eq!(d.segment_mut(&mut buf).len(), hlen + 500);
        // A buffer shorter than the datagram names gives an empty slice.
        assert!(d.segment(&buf[..d.end - 1]).is_empty());
        assert!(!d.is_empty());
        let none = tcpstate::Datagram {
            start: 30,
            end: 30,
            ..d
        };
        assert!(none.is_empty() && none.segment(&buf).is_empty());
        assert_eq!(none.len(), 0);
    }
}

/// A simultaneous open (RFC 9293 §3.5, figure 8: each SYN crosses the
/// other, SYN-SENT -> SYN-RECEIVED -> ESTABLISHED) is an active open that
/// completes: each application gets `Connected`, as Linux's `connect`
/// returns, and no refused connection gets one.
#[test]
fn a_simultaneous_open_is_connected_on_both_sides() {
    let mut net = Net::new(vec![(ip(1), cfg()), (ip(2), cfg())]);
    let now = net.now;
    let a = net
        .ep(0)
        .connect(now, Some(sa(1, 5000)), sa(2, 6000))
        .unwrap();
    let b = net
        .ep(1)
        .connect(now, Some(sa(2, 6000)), sa(1, 5000))
        .unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.ep(0).connection(a).unwrap().state(), State::Established);
    assert_eq!(net.ep(1).connection(b).unwrap().state(), State::Established);
    let (ea, eb) = (net.events(0), net.events(1));
    assert!(ea.contains(&Event::Connected(a)), "{ea:?}");
    assert!(eb.contains(&Event::Connected(b)), "{eb:?}");
    // A connect refused (no listener on port 80) is never connected.
    let now = net.now;
    let c = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(100));
    let ea = net.events(0);
    assert!(
        ea.contains(&Event::Closed(c, CloseReason::Refused)),
        "{ea:?}"
    );
    assert!(!ea.contains(&Event::Connected(c)), "{ea:?}");
}

/// RFC 6056 §3.3.3 (Algorithm 3): the counter moves on past the port each
/// connect takes, so a second connect to the same destination gets the
/// next port even when the first one's 4-tuple is free again (aborted in
/// SYN-SENT: no TIME-WAIT entry holds it).
#[test]
fn the_next_connect_to_a_destination_takes_the_next_port() {
    let mut ep = Endpoint::new(local(cfg()), [5; 16]).unwrap();
    let now = Instant::ZERO;
    let dst = sa(9, 80);
    let mut ports = Vec::new();
    for _ in 0..3 {
        let h = ep.connect(now, None, dst).unwrap();
        ports.push(ep.local_addr(h).unwrap().port());
        ep.abort(now, h).unwrap();
        output(&mut ep, now);
        while ep.poll_event().is_some() {}
        assert_eq!(ep.connection_count(), 0, "the aborted connection is gone");
    }
    let (min, max) = (cfg().port_min, cfg().port_max);
    let next = |p: u16| if p == max { min } else { p + 1 };
    assert_eq!(ports[1], next(ports[0]), "{ports:?}");
    assert_eq!(ports[2], next(ports[1]), "{ports:?}");
}

/// An ephemeral `connect` never takes over a live connection's 4-tuple
/// either, even when a reusable TIME-WAIT entry (of another 4-tuple) has
/// the index the live connection's slot has: with one ephemeral port,
/// held by a live connection to the same destination, the ports run out
/// (RFC 6056 §3.3; Linux's `__inet_hash_connect` skips a port whose
/// 4-tuple is established).
#[test]
fn an_ephemeral_connect_never_takes_over_a_live_connections_tuple() {
    let mut c = cfg();
    c.tw_reuse = tcpstate::TwReuse::On;
    (c.port_min, c.port_max) = (46000, 46000);
    let mut net = Net::new(vec![(ip(1), c), (ip(2), cfg())]);
    client_into_time_wait(&mut net, sa(1, 45000), sa(2, 80));
    net.run_for(Duration::from_secs(3));
    assert_eq!(net.ep(0).time_wait_count(), 1, "reusable by now");
    let now = net.now;
    let live = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    assert_eq!(net.ep(0).local_addr(live), Some(sa(1, 46000)));
    net.run_for(Duration::from_millis(50));
    let state = net.ep(0).connection(live).unwrap().state();
    assert_eq!(state, State::Established);
    let now = net.now;
    assert_eq!(
        net.ep(0).connect(now, None, sa(2, 80)),
        Err(EndpointError::PortsExhausted)
    );
    assert_eq!(net.ep(0).time_wait_count(), 1);
    assert_eq!(net.ep(0).counters().tw_reused, 0);
}

/// A receiver with more out-of-order ranges than one option holds reports
/// as many as fit in the 40 bytes of options: 4 SACK blocks, or 3 beside
/// the timestamps option (RFC 2018 §3; Linux's `tcp_established_options`),
/// the most recent first. The Endpoint writes the segment with every
/// block the connection gave it.
#[test]
fn an_ack_carries_as_many_sack_blocks_as_fit_in_the_options() {
    for with_ts in [true, false] {
        let now = Instant::from_secs(10);
        let mut ep = Endpoint::new(local(cfg()), [7; 16]).expect("valid config");
        let (c, s) = (sa(9, 40000), sa(1, 80));
        ep.listen(s, 8).unwrap();
        let mut o = if with_ts { ts(5, 0) } else { TcpOptions::NONE };
        o.sack_permitted = true;
        inject(
            &mut ep,
            now,
            c,
            s,
            &craft(c, s, 1000, 0, Flags::SYN, o, &[]),
        );
        let synack = output(&mut ep, now)[0].0;
        assert!(synack.options.sack_permitted);
        let ecr = synack.options.timestamps.map_or(0, |t| t.val);
        let opts = |val| {
            if with_ts {
                ts(val, ecr)
            } else {
                TcpOptions::NONE
            }
        };
        let ack = synack.seq.0 + 1;
        inject(
            &mut ep,
            now,
            c,
            s,
            &craft(c, s, 1001, ack, Flags::ACK, opts(6), &[]),
        );
        // Five ranges of 10 bytes, each after a hole of 10.
        let mut last = None;
        for k in 0..5u32 {
            let seq = 1001 + 10 + 20 * k;
            let seg = craft(c, s, seq, ack, Flags::ACK, opts(7 + k), &[b'x'; 10]);
            inject(&mut ep, now, c, s, &seg);
            last = output(&mut ep, now).pop();
        }
        let (h, _) = last.expect("a duplicate ACK for out-of-order data (RFC 5681 §4.2)");
        assert_eq!(h.ack, SeqNum(1001));
        let blocks = h.options.sack.as_slice();
        assert_eq!(
            blocks.len(),
            if with_ts { 3 } else { 4 },
            "timestamps {with_ts}"
        );
        assert_eq!(blocks[0], (SeqNum(1091), SeqNum(1101)), "the newest first");
    }
}

/// `OutSegs` (RFC 4022's tcpOutSegs, Linux's `TCP_MIB_OUTSEGS`) counts
/// the segments sent, none of them a retransmission here: a connection's
/// (its SYN,ACK and ACK), and the Endpoint's own replies (a RST for a
/// closed port, RFC 9293 §3.10.7.1).
#[test]
fn out_segs_counts_a_connections_segments_and_the_replies() {
    let now = Instant::from_secs(10);
    let mut ep = Endpoint::new(local(cfg()), [7; 16]).expect("valid config");
    let (c, s) = (sa(9, 40000), sa(1, 80));
    ep.listen(s, 8).unwrap();
    let synack = handshake(&mut ep, now, c, s, b"hello");
    let mut sent = 1 + output(&mut ep, now).len();
    let closed = sa(1, 81);
    inject(
        &mut ep,
        now,
        c,
        closed,
        &craft(c, closed, 5, 0, Flags::SYN, TcpOptions::NONE, &[]),
    );
    let rst = output(&mut ep, now);
    assert!(rst[0].0.flags.rst());
    sent += rst.len();
    assert!(sent >= 2);
    assert_eq!(ep.counters().out_segs, sent as u64, "SYN,ACK {synack:?}");
    assert_eq!(ep.counters().out_rsts, 1);
}

/// Every datagram `a` and `b` send each other at `now`, delivered at
/// once, until both are quiet; the segments' bytes, in order.
fn pump(a: &mut Endpoint, b: &mut Endpoint, now: Instant) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 2048];
    let mut seen = Vec::new();
    loop {
        let mut quiet = true;
        for turn in 0..2 {
            let (from, to) = if turn == 0 {
                (&mut *a, &mut *b)
            } else {
                (&mut *b, &mut *a)
            };
            while let Some(d) = from.poll_transmit(now, &mut buf) {
                let seg = d.segment(&buf).to_vec();
                to.on_datagram(now, d.src, d.dst, d.ecn, &seg);
                seen.push(seg);
                quiet = false;
            }
        }
        if quiet {
            return seen;
        }
    }
}

/// What a connection shows: its `tcp_info`, counters, settings, state,
/// sequence variables and deadlines.
fn snapshot(ep: &Endpoint, h: Handle, now: Instant) -> String {
    let c = ep.connection(h).expect("live handle");
    format!(
        "{:?} {:?} {:?} {:?} iss {:?} irs {:?} una {:?} nxt {:?} wnd {} rwnd {} mss {} ws {:?} sack {} ts {} dl {:?}",
        c.info(now),
        c.stats(),
        c.config(),
        c.state(),
        c.iss(),
        c.irs(),
        c.snd_una(),
        c.snd_nxt(),
        c.snd_wnd(),
        c.rcv_wnd(),
        c.effective_mss(),
        c.window_scale(),
        c.sack_enabled(),
        c.timestamps_enabled(),
        c.deadline(),
    )
}

/// A connection's slot, reused, holds nothing of the connection before:
/// after one opened with other settings (SACK off, window scaling,
/// timestamps, a small MSS), used with TCP_NODELAY and ended by a linger
/// of zero (a RST), the next connection in the same client and server
/// slots sends the same segments and shows the same state, step by step,
/// as the same connection between two new Endpoints.
#[test]
fn a_reused_slot_starts_as_a_new_connection() {
    let mut normal = cfg();
    normal.conn.timestamps = false;
    normal.conn.window_scaling = false;
    let mut odd = normal.conn.clone();
    odd.sack = false;
    odd.window_scaling = true;
    odd.timestamps = true;
    odd.mss = 536;
    let new_pair = || {
        let a = Endpoint::new(normal.clone().with_local_addr(ip(1)).unwrap(), [1; 16]).unwrap();
        let mut b = Endpoint::new(normal.clone().with_local_addr(ip(2)).unwrap(), [2; 16]).unwrap();
        let l = b.listen(sa(2, 80), 8).unwrap();
        (a, b, l)
    };
    // The first connection, in the endpoints that are reused.
    let (mut a, mut b, l) = new_pair();
    a.set_connection_config(odd.clone()).unwrap();
    b.set_connection_config(odd).unwrap();
    let t0 = Instant::from_secs(5000);
    let c1 = a.connect(t0, Some(sa(1, 40000)), sa(2, 80)).unwrap();
    pump(&mut a, &mut b, t0);
    let s1 = b.accept(l).expect("accepted");
    assert!(a.connection(c1).unwrap().timestamps_enabled());
    a.set_nodelay(t0, c1, true).unwrap();
    b.set_nodelay(t0, s1, true).unwrap();
    let t = t0 + Duration::from_millis(3);
    a.send(t, c1, &[7; 3000]).unwrap();
    pump(&mut a, &mut b, t);
    b.send(t, s1, b"reply").unwrap();
    pump(&mut a, &mut b, t);
    assert_eq!(recv_all(&mut b, t, s1).len(), 3000);
    assert_eq!(recv_all(&mut a, t, c1), b"reply");
    a.set_linger(c1, Some(Duration::ZERO)).unwrap();
    a.close(t, c1).unwrap();
    pump(&mut a, &mut b, t);
    b.close(t, s1).unwrap();
    while a.poll_event().is_some() || b.poll_event().is_some() {}
    assert_eq!((a.connection_count(), b.connection_count()), (0, 0));
    assert_eq!((a.time_wait_count(), b.time_wait_count()), (0, 0));
    a.set_connection_config(normal.conn.clone()).unwrap();
    b.set_connection_config(normal.conn.clone()).unwrap();
    // The second, in the same slots, and the same between new Endpoints.
    let (mut a2, mut b2, l2) = new_pair();
    let t1 = t + Duration::from_secs(7);
    let c2 = a.connect(t1, Some(sa(1, 40001)), sa(2, 80)).unwrap();
    let n2 = a2.connect(t1, Some(sa(1, 40001)), sa(2, 80)).unwrap();
    let slot = |h: Handle| format!("{h:?}").split(',').next().map(str::to_owned);
    assert_eq!(slot(c2), slot(c1), "the client's slot is reused");
    assert_eq!(snapshot(&a, c2, t1), snapshot(&a2, n2, t1));
    assert_eq!(pump(&mut a, &mut b, t1), pump(&mut a2, &mut b2, t1));
    let s2 = b.accept(l).expect("accepted");
    let m2 = b2.accept(l2).expect("accepted");
    assert_eq!(slot(s2), slot(s1), "the server's slot is reused");
    assert_eq!(snapshot(&a, c2, t1), snapshot(&a2, n2, t1));
    assert_eq!(snapshot(&b, s2, t1), snapshot(&b2, m2, t1));
    let t2 = t1 + Duration::from_millis(5);
    for (x, y, h, g) in [(&mut a, &mut b, c2, s2), (&mut a2, &mut b2, n2, m2)] {
        x.send(t2, h, b"request").unwrap();
        y.send(t2, g, b"response").unwrap();
    }
    assert_eq!(pump(&mut a, &mut b, t2), pump(&mut a2, &mut b2, t2));
    assert_eq!(snapshot(&a, c2, t2), snapshot(&a2, n2, t2));
    assert_eq!(snapshot(&b, s2, t2), snapshot(&b2, m2, t2));
    assert!(!a.connection(c2).unwrap().timestamps_enabled());
    // Closed without a linger: FINs, not the first connection's RST.
    let t3 = t2 + Duration::from_millis(5);
    for (x, y, h, g) in [(&mut a, &mut b, c2, s2), (&mut a2, &mut b2, n2, m2)] {
        assert_eq!(recv_all(y, t3, g), b"request");
        assert_eq!(recv_all(x, t3, h), b"response");
        x.close(t3, h).unwrap();
        y.close(t3, g).unwrap();
    }
    assert_eq!(pump(&mut a, &mut b, t3), pump(&mut a2, &mut b2, t3));
    assert_eq!(a.time_wait_count(), 1);
}
