//! The standing adversarial suite (issue 20): one test per class of attack
//! taken from real TCP CVEs and papers, each written against the public API
//! only and each asserting a bound that could fail: memory per connection
//! and per Endpoint, timer entries, replies per attack segment (at most
//! one), and cost per segment that stays flat as the attack grows
//! (compared as counts and ratios, never as wall time).
//!
//! The attacker is the test: it crafts every segment itself, as a peer that
//! owns the other end of the 4-tuple (or only knows the 4-tuple) would.

use std::net::{IpAddr, SocketAddr};
use tcpstate::wire::{Flags, Segment, TcpHeader, TcpOptions, Timestamps, checksum};
use tcpstate::{
    Buffers, Config, Connection, Duration, Endpoint, EndpointConfig, Instant, SeqNum, State,
    Transmit,
};

mod common;

use common::Pair;
use proptest::prelude::{TestCaseError, any};
use tcpstate::wire::SackBlocks;

type Conn = Connection<Vec<u8>>;

/// One segment a connection sent.
#[derive(Clone, Debug)]
struct Out {
    t: Transmit,
}

/// Everything `c` has to send now.
fn drain(c: &mut Conn, now: Instant) -> Vec<Out> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Some(t) = c.poll_transmit(now, &mut buf) {
        out.push(Out { t });
        assert!(out.len() < 100_000, "poll_transmit does not end");
    }
    out
}

/// The attacker: the other end of one connection under test, which it
/// opened (the connection under test listens), with every segment crafted.
struct Peer {
    c: Conn,
    now: Instant,
    /// The peer's next sequence number.
    seq: SeqNum,
    /// The peer's TSval clock, when timestamps are on.
    ts: Option<u32>,
    /// The connection's last TSval (echoed).
    ts_recent: u32,
}

impl Peer {
    /// A connection under test with `cfg` and buffers `rx`/`tx`, opened by
    /// the peer with window scaling `shift` (if any), SACK and timestamps
    /// as asked.
    fn open(cfg: Config, rx: usize, tx: usize, shift: Option<u8>, sack: bool, ts: bool) -> Peer {
        let mut o = TcpOptions::NONE;
        o.mss = Some(1460);
        o.window_scale = shift;
        o.sack_permitted = sack;
        if ts {
            o.timestamps = Some(Timestamps { val: 1, ecr: 0 });
        }
        Peer::open_with(cfg, rx, tx, o)
    }

    /// [`Peer::open`] with the peer's SYN options as given.
    fn open_with(cfg: Config, rx: usize, tx: usize, o: TcpOptions) -> Peer {
        let mut c = Connection::new(cfg, Buffers::with_capacity(rx, tx)).unwrap();
        let now = Instant::from_secs(1);
        let _ = c.listen(now, SeqNum(7_000)).unwrap();
        let syn = Segment {
            seq: SeqNum(1_000),
            ack: SeqNum(0),
            flags: Flags::SYN,
            window: 65535,
            urgent: 0,
            options: o,
            payload: &[],
        };
        let _ = c.on_segment(now, &syn);
        let synack = drain(&mut c, now);
        assert_eq!(synack.len(), 1);
        assert_eq!(synack[0].t.flags, Flags::SYN | Flags::ACK);
        let mut p = Peer {
            c,
            now,
            seq: SeqNum(1_001),
            ts: o.timestamps.map(|_| 2),
            ts_recent: synack[0].t.options.timestamps.map_or(0, |t| t.val),
        };
        let ack = p.c.snd_nxt();
        let out = p.send(Flags::ACK, p.seq, ack, 65535, &[]);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(p.c.state(), State::Established);
        p
    }

    /// Options on a non-SYN segment from the peer.
    fn options(&mut self) -> TcpOptions {
        let mut o = TcpOptions::NONE;
        if let Some(v) = self.ts.as_mut() {
            *v += 1;
            o.timestamps = Some(Timestamps {
                val: *v,
                ecr: self.ts_recent,
            });
        }
        o
    }

    /// Feeds a segment and returns what the connection sent after it.
    fn send(
        &mut self,
        flags: Flags,
        seq: SeqNum,
        ack: SeqNum,
        window: u16,
        data: &[u8],
    ) -> Vec<Out> {
        let o = self.options();
        self.send_opts(flags, seq, ack, window, o, data)
    }

    fn send_opts(
        &mut self,
        flags: Flags,
        seq: SeqNum,
        ack: SeqNum,
        window: u16,
        options: TcpOptions,
        data: &[u8],
    ) -> Vec<Out> {
        let seg = Segment {
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload: data,
        };
        let _ = self.c.on_segment(self.now, &seg);
        self.out()
    }

    /// What the connection sends now (and the TSval it carries).
    fn out(&mut self) -> Vec<Out> {
        let out = drain(&mut self.c, self.now);
        if let Some(t) = out.iter().rev().find_map(|o| o.t.options.timestamps) {
            self.ts_recent = t.val;
        }
        out
    }

    /// Runs the connection's timers until `limit` (or until it closes),
    /// calling `answer` with every segment it sends.
    fn run_until(&mut self, limit: Instant, mut answer: impl FnMut(&mut Peer, &Out)) {
        while self.c.state() != State::Closed {
            let Some(d) = self.c.deadline() else { return };
            if d > limit {
                return;
            }
            self.now = self.now.max(d);
            let _ = self.c.on_timer(self.now);
            for o in self.out() {
                answer(self, &o);
            }
        }
    }
}

/// The Endpoint calls, in one place: issue 14 changes `Endpoint::new`
/// (a `Result`) and `on_datagram` (an ECN argument).
mod ep {
    use std::net::{IpAddr, SocketAddr};
    use tcpstate::{Ecn, Endpoint, EndpointConfig, Instant};

    /// The attacked host's address.
    pub const SERVER_IP: [u8; 4] = [192, 0, 2, 1];

    pub fn new(cfg: EndpointConfig, secret: u8) -> Endpoint {
        let cfg = cfg.with_local_addr(IpAddr::from(SERVER_IP)).unwrap();
        Endpoint::new(cfg, [secret; 16]).unwrap()
    }

    pub fn datagram(e: &mut Endpoint, now: Instant, src: SocketAddr, dst: SocketAddr, b: &[u8]) {
        e.on_datagram(now, src.ip(), dst.ip(), Ecn::NotEct, b);
    }
}

/// The attacker against a whole Endpoint: crafts IPv4 datagrams from
/// `SocketAddr`s it chooses and reads everything the Endpoint sends.
struct Net {
    ep: Endpoint,
    now: Instant,
}

/// A segment the Endpoint sent: (from, to, header, payload).
type Sent = (SocketAddr, SocketAddr, TcpHeader, Vec<u8>);

impl Net {
    fn new(cfg: EndpointConfig) -> Net {
        Net {
            ep: ep::new(cfg, 9),
            now: Instant::from_secs(1),
        }
    }

    /// An Endpoint with `cfg` listening on port 80 of the attacked host
    /// with `backlog`: (the attacker's view, the listening address, the
    /// listener).
    fn listening(cfg: EndpointConfig, backlog: u32) -> (Net, SocketAddr, tcpstate::ListenerId) {
        let mut n = Net::new(cfg);
        let server = SocketAddr::from((ep::SERVER_IP, 80));
        let l = n.ep.listen(server, backlog).unwrap();
        (n, server, l)
    }

    /// Sends one crafted segment to the Endpoint and returns its answers.
    #[allow(clippy::too_many_arguments)]
    fn inject(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seq: SeqNum,
        ack: SeqNum,
        flags: Flags,
        window: u16,
        options: TcpOptions,
        payload: &[u8],
    ) -> Vec<Sent> {
        let h = TcpHeader {
            src_port: src.port(),
            dst_port: dst.port(),
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
        };
        let mut buf = vec![0u8; h.header_len()];
        h.emit(&mut buf).unwrap();
        buf.extend_from_slice(payload);
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
            unreachable!("IPv4 only")
        };
        checksum::fill_checksum_v4(s.octets(), d.octets(), &mut buf);
        ep::datagram(&mut self.ep, self.now, src, dst, &buf);
        self.output()
    }

    /// Everything the Endpoint has to send now, parsed and checked.
    fn output(&mut self) -> Vec<Sent> {
        let mut buf = vec![0u8; 65536];
        let mut out = Vec::new();
        while let Some(d) = self.ep.poll_transmit(self.now, &mut buf) {
            let (IpAddr::V4(s), IpAddr::V4(t)) = (d.src, d.dst) else {
                unreachable!("IPv4 only")
            };
            assert!(checksum::verify_v4(s.octets(), t.octets(), &buf[..d.len]));
            let (h, p) = TcpHeader::parse(&buf[..d.len]).unwrap();
            out.push((
                SocketAddr::new(d.src, h.src_port),
                SocketAddr::new(d.dst, h.dst_port),
                h,
                p.to_vec(),
            ));
            assert!(out.len() < 100_000, "poll_transmit does not end");
        }
        out
    }

    /// An orphan with a shut window: `client` connects to the listener
    /// `l` at `server`, the application accepts, writes `len` bytes and
    /// closes; the client acknowledges the first flight with a zero
    /// window. Returns the client's next sequence number, the end of that
    /// flight, and the ports every RST the Endpoint sent on the way went to.
    fn orphan(
        &mut self,
        l: tcpstate::ListenerId,
        client: SocketAddr,
        server: SocketAddr,
        len: usize,
    ) -> (SeqNum, SeqNum, Vec<u16>) {
        let (c, _) = self.handshake(client, server, 65535);
        let h = self.ep.accept(l).unwrap();
        let now = self.now;
        assert!(self.ep.send(now, h, &vec![5u8; len]).unwrap() > 0);
        self.ep.close(now, h).unwrap();
        let mut end = None;
        let mut rsts = Vec::new();
        for (_, to, h, p) in self.output() {
            if h.flags.rst() {
                rsts.push(to.port());
            } else if to == client {
                let e = h.seq.add(p.len() as u32);
                end = Some(end.map_or(e, |x: SeqNum| if e.after(x) { e } else { x }));
            }
        }
        let end = end.expect("a first flight");
        let out = self.inject(client, server, c, end, Flags::ACK, 0, TcpOptions::NONE, &[]);
        assert!(out.is_empty(), "{out:?}");
        (c, end, rsts)
    }

    /// A client at `client` completes a handshake with a listener at
    /// `server`; returns (the client's next sequence number, the server's).
    fn handshake(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        window: u16,
    ) -> (SeqNum, SeqNum) {
        let isn = SeqNum(u32::from(client.port()).wrapping_mul(100_000));
        let mut o = TcpOptions::NONE;
        o.mss = Some(1460);
        let out = self.inject(client, server, isn, SeqNum(0), Flags::SYN, 65535, o, &[]);
        assert_eq!(out.len(), 1, "{out:?}");
        let synack = out[0].2;
        assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
        let (c, s) = (isn.add(1), synack.seq.add(1));
        let out = self.inject(
            client,
            server,
            c,
            s,
            Flags::ACK,
            window,
            TcpOptions::NONE,
            &[],
        );
        assert!(out.is_empty(), "{out:?}");
        (c, s)
    }
}

/// The right edge a segment advertises: SEG.ACK + SEG.WND << shift.
fn edge(t: &Transmit, shift: u8) -> SeqNum {
    t.ack.add(u32::from(t.window) << shift)
}

// ---------------------------------------------------------------------------
// 1. Receive window with window scaling (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4)
// ---------------------------------------------------------------------------

/// A peer that fills the receive buffer with tiny segments, each inside the
/// window advertised: with window scaling on (`Config::linux`, shift 7) the
/// window must close to 0 when the buffer is full, the advertised right
/// edge must never pass what the buffer can hold, and no segment inside an
/// advertised window may be dropped for lack of room.
#[test]
fn scaled_window_closes_when_the_buffer_fills() {
    for len in [1usize, 7, 100, 1000] {
        let rx = 4096;
        let mut p = Peer::open(Config::linux(), rx, 4096, Some(7), true, true);
        let shift = p.c.window_scale().expect("window scaling on").0;
        assert_eq!(shift, 7);
        let ack = p.c.snd_nxt();
        let mut adv = p.c.rcv_nxt().add(p.c.rcv_wnd());
        let mut sent = 0usize;
        let mut closed = false;
        for i in 0..10_000 {
            // Everything up to the edge advertised is sent, in order.
            let room = adv.dist(p.seq) as usize;
            if room == 0 {
                closed = true;
                break;
            }
            let n = len.min(room);
            let data = vec![i as u8; n];
            let dropped = p.c.stats().dropped;
            let seq = p.seq;
            let out = p.send(Flags::ACK, seq, ack, 65535, &data);
            assert_eq!(
                p.c.stats().dropped,
                dropped,
                "len {len}: {n} bytes at {seq} inside the advertised edge {adv} dropped"
            );
            p.seq = p.seq.add(n as u32);
            sent += n;
            // Delayed ACKs: let them out.
            let out = if out.is_empty() {
                p.now += Duration::from_millis(300);
                let _ = p.c.on_timer(p.now);
                p.out()
            } else {
                out
            };
            for o in &out {
                let e = edge(&o.t, shift);
                // The right edge never passes what the buffer can hold.
                let limit = p.c.rcv_nxt().add(p.c.rcv_wnd());
                assert!(
                    !e.after(limit),
                    "len {len}: edge {e} beyond the buffer's {limit} (window {} << {shift}, {} free)",
                    o.t.window,
                    p.c.rcv_wnd()
                );
                if e.after(adv) {
                    adv = e;
                }
            }
        }
        assert!(closed, "len {len}: the window never closed");
        assert_eq!(sent, rx, "len {len}: the whole buffer is taken");
        assert_eq!(p.c.recv_queue(), rx);
        // A probe now is answered with a zero window.
        let out = p.send(Flags::ACK, p.seq.sub(1), ack, 65535, &[]);
        assert_eq!(out.len(), 1, "len {len}");
        assert_eq!(out[0].t.window, 0, "len {len}");
    }
}

/// A tcpstate sender facing a tcpstate receiver that stops reading
/// (`Config::linux`, window scaling on): the receiver's window closes, the
/// sender probes it for as long as the probes are answered, stays
/// ESTABLISHED (RFC 9293 §3.8.6.1, MUST-35/36; RFC 1122 §4.2.2.17), and
/// sends again within one round trip of the window opening.
#[test]
fn sender_persists_while_a_receiver_that_stopped_reading_answers() {
    let mut p = Pair::open(Config::linux(), 65536, 65536);
    let data = vec![0x5a; 1 << 20];
    let mut queued = 0;
    let mut next_write = p.now;
    let until = p.now + Duration::from_secs(4 * 3600);
    while p.now < until {
        if p.now >= next_write {
            let now = p.now;
            queued +=
                p.a.send(now, &data[queued % data.len()..])
                    .map_or(0, |o| o.len);
            next_write = now + Duration::from_secs(60);
        }
        p.run_for(Duration::from_secs(60));
        assert_eq!(
            p.a.state(),
            State::Established,
            "sender gave up at {:?}",
            p.now
        );
    }
    // The receiver's buffer is full and it said so: the sender sits at a
    // zero window with its data queued, having probed all along.
    // (Within 2^7 bytes: a scaled window offers whole units only.)
    assert!(p.b.recv_queue() > 65536 - 128, "{}", p.b.recv_queue());
    assert_eq!(p.a.snd_wnd(), 0);
    assert!(p.a.send_queue() > 0);
    assert_eq!(
        p.a.stats().retransmits,
        0,
        "nothing was dropped to retransmit"
    );
    // The receiver reads: the window opens and data flows at once.
    let before = p.b.stats().bytes_in;
    let mut got = Vec::new();
    p.app_b(|c, now| {
        let mut buf = vec![0u8; 65536];
        let o = c.recv(now, &mut buf).unwrap();
        got.extend_from_slice(&buf[..o.len]);
        o.actions
    });
    assert_eq!(got.len(), p.b.stats().bytes_in as usize);
    p.run_for(Duration::from_millis(30));
    assert!(
        p.b.stats().bytes_in > before,
        "no new data within 30 ms (3 one-way delays) of the window opening"
    );
}

// ---------------------------------------------------------------------------
// 2. Orphans in zero-window persist (Sockstress, Outpost24 2008)
// ---------------------------------------------------------------------------

/// An application writes, closes and leaves; the peer takes the first
/// flight, shuts its window and acknowledges every zero-window probe. The
/// orphan's probes count toward `orphan_retries` even though answered (as
/// Linux's `tcp_probe_timer` counts them for a dead socket), so it dies
/// within minutes instead of living for ever.
#[test]
fn sockstress_orphan_dies_although_its_probes_are_answered() {
    for (name, cfg) in [("linux", Config::linux()), ("rfc9293", Config::rfc9293())] {
        let mut p = Peer::open(cfg.clone(), 4096, 65536, Some(7), true, true);
        let now = p.now;
        assert_eq!(p.c.send(now, &vec![7u8; 65536]).unwrap().len, 65536);
        let _ = p.c.close(now).unwrap();
        assert!(!p.out().is_empty());
        let end = p.c.snd_nxt();
        let seq = p.seq;
        let out = p.send(Flags::ACK, seq, end, 0, &[]);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(p.c.state(), State::FinWait1);
        let mut probes = 0;
        let start = p.now;
        p.run_until(start + Duration::from_secs(4 * 3600), |p, o| {
            // Every probe is answered at once: a zero window, all acked.
            assert_eq!(o.t.len, 0, "{name}: data into a zero window");
            probes += 1;
            let seq = p.seq;
            let _ = p.send(Flags::ACK, seq, end, 0, &[]);
        });
        assert_eq!(
            p.c.state(),
            State::Closed,
            "{name}: still {} after 4 h",
            p.c.state()
        );
        let lived = p.now.saturating_duration_since(start);
        assert_eq!(
            p.c.close_reason(),
            Some(tcpstate::CloseReason::TimedOut),
            "{name}"
        );
        // orphan_retries (8) probes, backed off from the RTO up to rto_max.
        assert_eq!(probes, usize::from(cfg.orphan_retries), "{name}");
        assert!(
            lived < Duration::from_secs(300),
            "{name}: the orphan lived {lived:?}"
        );
        assert_eq!(p.c.send_queue(), 0, "{name}: its send buffer is released");
    }
}

/// A peer that keeps an orphan alive by opening its window one byte at a
/// time (each probe answered with progress, which resets the probe count
/// as RFC 9293 §3.8.6.1 says it must): the orphan's total lifetime
/// (`Config::orphan_lifetime`) ends it, with a RST to the peer.
#[test]
fn a_trickling_peer_cannot_outlast_the_orphan_lifetime() {
    let cfg = Config::linux();
    let life = cfg.orphan_lifetime.expect("a lifetime by default");
    let mut p = Peer::open(cfg, 4096, 65536, Some(0), true, true);
    let now = p.now;
    assert_eq!(p.c.send(now, &vec![7u8; 65536]).unwrap().len, 65536);
    let _ = p.c.close(now).unwrap();
    assert!(!p.out().is_empty());
    let mut acked = p.c.snd_nxt();
    let seq = p.seq;
    let _ = p.send(Flags::ACK, seq, acked, 0, &[]);
    let start = p.now;
    let mut rst = 0;
    p.run_until(start + Duration::from_secs(4 * 3600), |p, o| {
        if o.t.flags.rst() {
            rst += 1;
            return;
        }
        // Take whatever came, then offer one more byte.
        let end = o.t.seq.add(o.t.len as u32);
        if o.t.len > 0 && end.after(acked) {
            acked = end;
        }
        let seq = p.seq;
        let _ = p.send(Flags::ACK, seq, acked, 1, &[]);
    });
    assert_eq!(p.c.state(), State::Closed);
    assert_eq!(p.c.close_reason(), Some(tcpstate::CloseReason::Aborted));
    assert_eq!(rst, 1, "the peer is told");
    let lived = p.now.saturating_duration_since(start);
    assert!(lived <= life + Duration::from_millis(1), "lived {lived:?}");
    assert!(lived >= life - Duration::from_secs(1), "lived {lived:?}");
}

/// A zero orphan lifetime would turn every close into an abort: refused.
#[test]
fn orphan_lifetime_must_be_above_zero() {
    let mut cfg = Config::linux();
    cfg.orphan_lifetime = Some(Duration::ZERO);
    assert!(Connection::new(cfg.clone(), Buffers::with_capacity(64, 64)).is_err());
    cfg.orphan_lifetime = None;
    assert!(Connection::new(cfg, Buffers::with_capacity(64, 64)).is_ok());
}

/// Sockstress through a whole Endpoint: the applications write, close and
/// leave; an attacker holding each connection's window shut and answering
/// every probe cannot keep the orphans: they are gone within minutes, with
/// their buffers and timers.
#[test]
fn sockstress_orphans_leave_the_endpoint() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 64);
    let mut peers = Vec::new();
    for i in 0..20u16 {
        let client = SocketAddr::from(([198, 51, 100, 7], 40_000 + i));
        let (c, end, _) = n.orphan(l, client, server, 16384);
        peers.push((client, c, end));
    }
    assert_eq!(n.ep.counters().orphans, 20);
    assert_eq!(n.ep.connection_count(), 20);
    // Every probe is answered at once with a zero window.
    let limit = n.now + Duration::from_secs(4 * 3600);
    let mut probes = 0;
    while n.ep.connection_count() > 0 {
        let Some(d) = n.ep.next_deadline() else { break };
        assert!(d <= limit, "orphans still alive after 4 h");
        n.now = n.now.max(d);
        n.ep.on_timer(n.now);
        for (_, to, h, p) in n.output() {
            assert!(p.is_empty(), "data into a zero window");
            if h.flags.rst() {
                continue;
            }
            probes += 1;
            let &(client, c, end) = peers.iter().find(|(a, ..)| *a == to).unwrap();
            let _ = n.inject(client, server, c, end, Flags::ACK, 0, TcpOptions::NONE, &[]);
        }
    }
    let lived = n.now.saturating_duration_since(Instant::from_secs(1));
    assert!(
        lived < Duration::from_secs(300),
        "the orphans lived {lived:?}"
    );
    let k = n.ep.counters();
    assert_eq!((k.orphans, n.ep.connection_count()), (0, 0), "{k:?}");
    assert!(probes >= 20 * 8, "{probes} probes");
    assert_eq!(n.ep.timer_count(), 0, "timers left behind");
}

/// `max_orphans` reached: the oldest orphan is reset first, so that the
/// orphans an attacker pins with shut windows make room for new ones
/// (Linux instead resets the orphan being closed or timed, whichever it
/// is: `tcp_too_many_orphans`). The newest `max_orphans` stay.
#[test]
fn max_orphans_resets_the_oldest_first() {
    let mut cfg = EndpointConfig::linux();
    cfg.max_orphans = 3;
    let (mut n, server, l) = Net::listening(cfg, 64);
    let mut rsts = Vec::new();
    for i in 0..7u16 {
        let client = SocketAddr::from(([198, 51, 100, 7], 40_000 + i));
        let (_, _, r) = n.orphan(l, client, server, 4096);
        rsts.extend(r);
        n.now += Duration::from_millis(10);
        // One reset per close past the cap, never more.
        assert_eq!(n.ep.counters().orphans, u64::from(i + 1).min(3));
    }
    assert_eq!(n.ep.counters().orphan_resets, 4);
    assert_eq!(rsts, [40_000, 40_001, 40_002, 40_003], "oldest first");
    let now = n.now;
    let mut left: Vec<u16> =
        n.ep.connections(now)
            .filter(|c| c.state != State::Listen)
            .map(|c| c.remote.port())
            .collect();
    left.sort();
    assert_eq!(left, [40_004, 40_005, 40_006]);
}

// ---------------------------------------------------------------------------
// 3. TIME-WAIT flood (RFC 9293 §3.10.7.4 TIME-WAIT, RFC 5961 §7)
// ---------------------------------------------------------------------------

/// The server closes first and holds the 4-tuple in TIME-WAIT; an attacker
/// that knows only the 4-tuple sends a million segments to it: in-window
/// ACKs, old duplicates and retransmitted FINs, each of which restarts the
/// 2MSL timer. The entry keeps one timer entry whatever arrives (re-arming
/// replaces it), replies stay within the RFC 5961 §7 rate, and the entry
/// and its timer are gone 2MSL after the last segment.
#[test]
fn time_wait_flood_keeps_one_timer_entry() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 8);
    let client = SocketAddr::from(([198, 51, 100, 7], 40_000));
    let (c, s) = n.handshake(client, server, 65535);
    let h = n.ep.accept(l).unwrap();
    let now = n.now;
    n.ep.close(now, h).unwrap();
    let fin = n.output();
    assert_eq!(fin.len(), 1);
    assert!(fin[0].2.flags.fin());
    let out = n.inject(
        client,
        server,
        c,
        s.add(1),
        Flags::ACK | Flags::FIN,
        65535,
        TcpOptions::NONE,
        &[],
    );
    assert_eq!(out.len(), 1, "the FIN is acknowledged");
    assert_eq!(n.ep.time_wait_count(), 1);
    assert_eq!(n.ep.connection_count(), 0);
    let timers = n.ep.timer_count();
    assert_eq!(timers, 1, "one timer entry for the TIME-WAIT entry");
    let craft = |seq: SeqNum, flags: Flags| {
        let hd = TcpHeader {
            src_port: client.port(),
            dst_port: server.port(),
            seq,
            ack: s.add(1),
            flags,
            window: 65535,
            urgent: 0,
            options: TcpOptions::NONE,
        };
        let mut b = vec![0u8; hd.header_len()];
        hd.emit(&mut b).unwrap();
        let (IpAddr::V4(a), IpAddr::V4(d)) = (client.ip(), server.ip()) else {
            unreachable!()
        };
        checksum::fill_checksum_v4(a.octets(), d.octets(), &mut b);
        b
    };
    let attack = [
        craft(c.add(1), Flags::ACK),       // in window
        craft(c.sub(5000), Flags::ACK),    // an old duplicate
        craft(c, Flags::ACK | Flags::FIN), // the FIN again
    ];
    const N: usize = 1_000_000;
    let mut replies = 0;
    let mut buf = vec![0u8; 1500];
    for i in 0..N {
        n.now += Duration::from_micros(50);
        ep::datagram(&mut n.ep, n.now, client, server, &attack[i % 3]);
        while n.ep.poll_transmit(n.now, &mut buf).is_some() {
            replies += 1;
        }
        if i % 1024 == 0 {
            n.ep.on_timer(n.now);
            assert!(
                n.ep.timer_count() <= 2,
                "{} timer entries after {i} segments",
                n.ep.timer_count()
            );
        }
    }
    assert!(
        n.ep.timer_count() <= 2,
        "{} timer entries",
        n.ep.timer_count()
    );
    assert_eq!(n.ep.time_wait_count(), 1);
    // RFC 5961 §7: out-of-window ACKs at most one per 500 ms (50 s of flood).
    let secs = (N as u64 * 50) / 1_000_000;
    assert!(replies <= secs * 2 + 1, "{replies} replies in {secs} s");
    // The restarted 2MSL runs from the last segment: still there just
    // before, gone at one call of on_timer just after (the entry's node
    // fired long before its expiry and was put back once), with nothing
    // left due.
    let last = n.now;
    n.now = last + Duration::from_millis(59_990);
    n.ep.on_timer(n.now);
    assert_eq!(n.ep.time_wait_count(), 1);
    assert_eq!(n.ep.timer_count(), 1);
    assert!(n.ep.next_deadline().is_some_and(|d| d > n.now));
    // One more ACK restarts 2MSL; the host next calls on_timer only after
    // that restart has run out too: the entry goes in that one call.
    ep::datagram(&mut n.ep, n.now, client, server, &attack[0]);
    let last = n.now;
    n.now = last + Duration::from_millis(60_002);
    n.ep.on_timer(n.now);
    assert_eq!(n.ep.time_wait_count(), 0);
    assert_eq!(n.ep.timer_count(), 0);
    assert_eq!(n.ep.next_deadline(), None);
}

// ---------------------------------------------------------------------------
// 4. Duplicate-ACK spoofing (Savage, Cardwell, Wetherall, Anderson,
//    "TCP congestion control with a misbehaving receiver", 1999)
// ---------------------------------------------------------------------------

/// A sender without SACK with ten segments in flight, a window of 8 MB, and a
/// receiver that sends a hundred duplicate ACKs of the first byte at once.
/// A duplicate ACK says one segment left the network; there cannot be more
/// of those than segments in flight (Linux caps its Reno estimate
/// `sacked_out` at `packets_out`), so the hundred release no more than the
/// flight, and PRR (RFC 6937) keeps cwnd below where it was.
#[test]
fn spoofed_duplicate_acks_release_at_most_the_flight() {
    for (name, cfg) in [("linux", Config::linux()), ("rfc9293", Config::rfc9293())] {
        let mut p = Peer::open(cfg, 65536, 1 << 20, Some(7), false, false);
        let now = p.now;
        let _ = p.c.send(now, &vec![1u8; 1 << 20]).unwrap();
        let flight = p.out();
        let segs = flight.iter().filter(|o| o.t.len > 0).count();
        assert_eq!(segs, 10, "{name}: IW10");
        let cwnd0 = p.c.cwnd();
        let una = p.c.snd_una();
        let top = p.c.snd_nxt();
        let seq = p.seq;
        for _ in 0..100 {
            let dup = Segment {
                seq,
                ack: una,
                flags: Flags::ACK,
                window: 65535,
                urgent: 0,
                options: TcpOptions::NONE,
                payload: &[],
            };
            let _ = p.c.on_segment(p.now, &dup);
        }
        let out = p.out();
        let new = out
            .iter()
            .filter(|o| o.t.len > 0 && !o.t.seq.before(top))
            .count();
        let rtx = out
            .iter()
            .filter(|o| o.t.len > 0 && o.t.seq.before(top))
            .count();
        assert!(p.c.cwnd() <= cwnd0, "{name}: cwnd {} > {cwnd0}", p.c.cwnd());
        assert!(rtx <= 1, "{name}: {rtx} retransmissions");
        assert!(
            new + rtx <= segs,
            "{name}: {new} new segments and {rtx} retransmitted for {segs} in flight"
        );
    }
}

/// The same receiver, acknowledging each segment it draws out with another
/// duplicate ACK (the sender's output is drained after each one): cwnd
/// never grows, and each duplicate ACK releases at most one segment.
#[test]
fn paced_duplicate_acks_never_inflate_cwnd() {
    for (name, cfg) in [("linux", Config::linux()), ("rfc9293", Config::rfc9293())] {
        let mut p = Peer::open(cfg, 65536, 1 << 20, Some(7), false, false);
        let now = p.now;
        let _ = p.c.send(now, &vec![1u8; 1 << 20]).unwrap();
        let _ = p.out();
        let cwnd0 = p.c.cwnd();
        let una = p.c.snd_una();
        let seq = p.seq;
        let mut sent = 0;
        for i in 0..100 {
            let out = p.send(Flags::ACK, seq, una, 65535, &[]);
            let n = out.iter().filter(|o| o.t.len > 0).count();
            assert!(n <= 1, "{name}: duplicate ACK {i} released {n} segments");
            sent += n;
            assert!(
                p.c.cwnd() <= cwnd0,
                "{name}: cwnd {} > {cwnd0} after {i}",
                p.c.cwnd()
            );
        }
        assert!(sent <= 100, "{name}: {sent}");
    }
}

// ---------------------------------------------------------------------------
// 5. Overlapping retransmissions with different bytes (Ptacek and Newsham,
//    "Insertion, Evasion, and Denial of Service", 1998)
// ---------------------------------------------------------------------------

/// One policy for every byte: the first copy that arrives is the one the
/// application reads, whether the byte was already in order or still held
/// out of order. With a hole at [0, 10), bytes [10, 20) held out of order
/// (copy X), a second segment with other bytes (copy Y) at every [s, e)
/// over [0, 31), then everything in order (copy Z): each byte reads as the
/// first copy that covered it. And bytes already in order never change.
#[test]
fn overlapping_retransmissions_first_copy_wins_at_every_boundary() {
    const X: u8 = b'X';
    const Y: u8 = b'Y';
    const Z: u8 = b'Z';
    let mut cases = 0;
    for sack in [false, true] {
        for s in 0..31u32 {
            for e in s + 1..=31 {
                let mut p = Peer::open(Config::linux(), 4096, 4096, Some(7), sack, true);
                let ack = p.c.snd_nxt();
                let base = p.seq;
                let _ = p.send(Flags::ACK, base.add(10), ack, 65535, &[X; 10]);
                let _ = p.send(
                    Flags::ACK,
                    base.add(s),
                    ack,
                    65535,
                    &vec![Y; (e - s) as usize],
                );
                let _ = p.send(Flags::ACK, base, ack, 65535, &[Z; 31]);
                let mut got = [0u8; 64];
                let n = p.c.recv(p.now, &mut got).unwrap().len;
                assert_eq!(n, 31, "[{s}, {e}), sack {sack}");
                for (i, &b) in got[..31].iter().enumerate() {
                    let i = i as u32;
                    let want = if (10..20).contains(&i) {
                        X
                    } else if (s..e).contains(&i) {
                        Y
                    } else {
                        Z
                    };
                    assert_eq!(
                        b as char, want as char,
                        "byte {i} with Y at [{s}, {e}), sack {sack}"
                    );
                }
                // Already in order: a different copy changes nothing.
                let _ = p.send(Flags::ACK, base.add(20), ack, 65535, &[b'W'; 20]);
                let n = p.c.recv(p.now, &mut got).unwrap().len;
                assert_eq!(n, 9, "the 9 new bytes past 31");
                assert!(got[..9].iter().all(|&b| b == b'W'));
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 2 * 31 * 32 / 2);
}

// ---------------------------------------------------------------------------
// The classes that held before issue 20: regression tests.
// ---------------------------------------------------------------------------

/// Heap allocations made by this thread (the tests run in parallel, each
/// on its own thread): a cost that must stay flat per attack segment.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static ALLOCS: Cell<u64> = const { Cell::new(0) };
    }

    // SAFETY: forwards every call to the system allocator unchanged; the
    // count is a thread-local integer (const-initialised: counting never
    // allocates). The only `unsafe` of the suite, in the test crate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
            // SAFETY: the caller's contract is System's.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: the caller's contract is System's.
            unsafe { System.dealloc(p, l) }
        }
    }

    /// Allocations this thread has made so far.
    pub fn allocs() -> u64 {
        ALLOCS.with(|c| c.get())
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// SegmentSmack (CVE-2018-5390, Linux `tcp_collapse_ofo_queue`): a flood
/// of tiny out-of-order segments. The reassembly state is a fixed set of
/// ranges inside the receive buffer: memory stays at its first level, no
/// allocation per segment, at most one ACK per segment, and what 50,000
/// segments cost is what 1,000 cost, segment for segment.
#[test]
fn cve_2018_5390_segmentsmack_costs_flat() {
    // No timestamps: PAWS would want every TSval newer.
    let mut p = Peer::open(Config::linux(), 65536, 4096, Some(7), true, false);
    let ack = p.c.snd_nxt();
    let base = p.seq;
    let mut buf = vec![0u8; 2048];
    let mut run = |p: &mut Peer, from: u32, n: u32| {
        let a0 = counting::allocs();
        let mut replies = 0;
        for i in from..from + n {
            // One byte every other byte, in a scattered order, well past
            // RCV.NXT (the hole at RCV.NXT is never filled).
            let off = 2 + 2 * ((i * 7919) % 30_000);
            let seg = Segment {
                seq: base.add(off),
                ack,
                flags: Flags::ACK,
                window: 65535,
                urgent: 0,
                options: TcpOptions::NONE,
                payload: &[i as u8],
            };
            let _ = p.c.on_segment(p.now, &seg);
            while p.c.poll_transmit(p.now, &mut buf).is_some() {
                replies += 1;
            }
        }
        (counting::allocs() - a0, replies, p.c.heap_bytes())
    };
    // Warm-up: the one box of ranges is allocated once.
    let _ = run(&mut p, 0, 100);
    let (a1, r1, h1) = run(&mut p, 100, 1_000);
    let (a2, r2, h2) = run(&mut p, 1_100, 50_000);
    assert_eq!((a1, a2), (0, 0), "allocations per segment");
    assert!(h1 > 0 && h1 <= 128, "reassembly heap {h1} B");
    assert_eq!(h2, h1, "memory grows with the attack");
    assert!(
        r1 <= 1_000 && r2 <= 50_000,
        "more than one reply per segment"
    );
    assert_eq!(p.c.recv_queue(), 0, "nothing in order");
    assert_eq!(p.c.rcv_nxt(), base);
}

/// SACK panic, SACK slowness and excess resources from a low MSS
/// (CVE-2019-11477, -11478, -11479): a peer that advertises MSS 1 gets the
/// floor (`min_peer_mss` 48, Linux `tcp_min_snd_mss`), and our own MSS
/// cannot be configured below 88 (Linux `TCP_MIN_MSS`); SACK blocks that
/// chop the send queue into tiny pieces leave a scoreboard of at most
/// `max_sack_ranges` ranges, no allocation per ACK, at most one reply
/// each.
#[test]
fn cve_2019_11477_sack_and_low_mss() {
    let mut bad = Config::linux();
    bad.mss = 10;
    assert!(
        Connection::new(bad, Buffers::with_capacity(1024, 1024)).is_err(),
        "an MSS below 88 is refused"
    );
    // The peer's SYN says MSS 1.
    let mut o = TcpOptions::NONE;
    o.mss = Some(1);
    o.sack_permitted = true;
    let p = Peer::open_with(Config::linux(), 4096, 65536, o);
    assert!(
        p.c.effective_mss() >= 48,
        "send MSS {} below the floor",
        p.c.effective_mss()
    );
    // The SACK attack on a sender with a long queue.
    let mut p = Peer::open(Config::linux(), 4096, 1 << 20, Some(7), true, true);
    let now = p.now;
    let _ = p.c.send(now, &vec![9u8; 1 << 20]).unwrap();
    let flight = p.out();
    assert!(flight.len() >= 10);
    let una = p.c.snd_una();
    let top = p.c.snd_nxt();
    let span = top.dist(una);
    let seq = p.seq;
    let mut buf = vec![0u8; 65536];
    let a0 = counting::allocs();
    let mut replies = 0;
    let mut worst_heap = 0;
    for i in 0..20_000u32 {
        let mut o = TcpOptions::NONE;
        let mut blocks = SackBlocks::new();
        for k in 0..3u32 {
            // Three one-byte blocks anywhere in the flight.
            let at = 1 + (i.wrapping_mul(2_654_435_761).wrapping_add(k * 977)) % (span - 2);
            blocks.push(una.add(at), una.add(at + 1));
        }
        o.sack = blocks;
        let seg = Segment {
            seq,
            ack: una,
            flags: Flags::ACK,
            window: 65535,
            urgent: 0,
            options: o,
            payload: &[],
        };
        let _ = p.c.on_segment(p.now, &seg);
        while p.c.poll_transmit(p.now, &mut buf).is_some() {
            replies += 1;
        }
        worst_heap = worst_heap.max(p.c.heap_bytes());
    }
    // One box for the scoreboard in recovery, nothing per ACK.
    assert!(
        counting::allocs() - a0 <= 4,
        "{} allocations",
        counting::allocs() - a0
    );
    assert!(worst_heap <= 128, "scoreboard {worst_heap} B");
    assert!(replies <= 20_000 + 64, "{replies} segments for 20,000 ACKs");
}

/// RFC 5961 (blind in-window attacks): a RST inside the window but not at
/// RCV.NXT, a SYN, and data whose ACK lies before SND.UNA - MAX.SND.WND are
/// each answered by at most one challenge ACK, rate limited, and the
/// connection stays up and unchanged.
#[test]
fn rfc5961_blind_rst_syn_and_data() {
    let mut p = Peer::open(Config::linux(), 65536, 4096, Some(7), true, true);
    let ack = p.c.snd_nxt();
    let rcv = p.c.rcv_nxt();
    let mut replies = 0;
    for i in 0..10_000u32 {
        p.now += Duration::from_millis(1);
        let (flags, seq, a, data): (Flags, SeqNum, SeqNum, &[u8]) = match i % 3 {
            0 => (Flags::RST, rcv.add(1 + i % 60_000), SeqNum(0), &[]),
            1 => (Flags::SYN, rcv.add(i % 60_000), SeqNum(0), &[]),
            _ => (Flags::ACK, rcv, ack.sub(1 << 30), b"injected"),
        };
        let out = p.send(flags, seq, a, 65535, data);
        assert!(out.len() <= 1, "{} replies to one segment", out.len());
        replies += out.len();
    }
    assert_eq!(p.c.state(), State::Established);
    assert_eq!(p.c.rcv_nxt(), rcv, "no injected byte accepted");
    assert_eq!(p.c.recv_queue(), 0);
    // 10 s of attack, one challenge ACK per 500 ms at most (RFC 5961 §7).
    assert!(replies <= 21, "{replies} challenge ACKs in 10 s");
    assert!(p.c.stats().challenge_acks_suppressed > 9_000);
}

/// The challenge-ACK side channel (CVE-2016-5696, "Off-Path TCP Exploits",
/// Cao et al. 2016): Linux's limit was one global counter, so an attacker
/// could read another connection's challenge ACKs off its own. Here the
/// limit is per connection: exhausting one connection's budget leaves
/// another's untouched.
#[test]
fn cve_2016_5696_challenge_ack_limit_is_per_connection() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 8);
    let a = SocketAddr::from(([198, 51, 100, 7], 40_000));
    let b = SocketAddr::from(([203, 0, 113, 9], 50_000));
    let (ca, _) = n.handshake(a, server, 65535);
    let (cb, _) = n.handshake(b, server, 65535);
    let _ = (n.ep.accept(l).unwrap(), n.ep.accept(l).unwrap());
    // The attacker's own connection: a hundred in-window RSTs, one
    // challenge ACK comes back.
    let mut to_a = 0;
    for i in 0..100 {
        to_a += n
            .inject(
                a,
                server,
                ca.add(10 + i),
                SeqNum(0),
                Flags::RST,
                0,
                TcpOptions::NONE,
                &[],
            )
            .len();
    }
    assert_eq!(to_a, 1);
    // The victim's connection, in the same instant: its own challenge ACK.
    let out = n.inject(
        b,
        server,
        cb.add(10),
        SeqNum(0),
        Flags::RST,
        0,
        TcpOptions::NONE,
        &[],
    );
    assert_eq!(
        out.len(),
        1,
        "the victim's challenge ACK is not taken by the attacker's budget"
    );
    assert_eq!(out[0].1, b);
    assert_eq!(n.ep.connection_count(), 2);
}

/// Optimistic ACKs and ACK division (Savage, Cardwell, Wetherall,
/// Anderson 1999): ACKs for data not yet sent are dropped (RFC 9293
/// §3.10.7.4, challenge ACK) and change nothing; a segment acknowledged
/// one byte at a time grows cwnd by the bytes acknowledged, not by one
/// segment per ACK (RFC 3465 appropriate byte counting).
#[test]
fn savage_optimistic_acks_and_ack_division() {
    let mut p = Peer::open(Config::linux(), 65536, 1 << 20, Some(7), true, true);
    let now = p.now;
    let _ = p.c.send(now, &vec![1u8; 1 << 20]).unwrap();
    let _ = p.out();
    let (una, nxt, cwnd) = (p.c.snd_una(), p.c.snd_nxt(), p.c.cwnd());
    let seq = p.seq;
    for k in 1..1000u32 {
        let out = p.send(Flags::ACK, seq, nxt.add(k * 1448), 65535, &[]);
        assert!(out.len() <= 1);
    }
    assert_eq!(
        (p.c.snd_una(), p.c.cwnd()),
        (una, cwnd),
        "an ACK of unsent data counted"
    );
    // Division: the first segment acknowledged in 1448 one-byte steps.
    let mss = p.c.effective_mss() as u32;
    for k in 1..=mss {
        let _ = p.send(Flags::ACK, seq, una.add(k), 65535, &[]);
    }
    assert_eq!(p.c.snd_una(), una.add(mss));
    assert!(
        p.c.cwnd() <= cwnd + mss,
        "cwnd {} grew by more than the bytes acknowledged ({mss}) from {cwnd}",
        p.c.cwnd()
    );
}

/// Sequence numbers wrapping through 2^32 (RFC 9293 §3.4: arithmetic
/// modulo 2^32): both directions start just below the wrap and a
/// transfer crosses it; every byte arrives, once, in order.
#[test]
fn sequence_numbers_wrap_through_2_32() {
    let cfg = Config::linux();
    let mut p = Pair::new(
        common::conn(cfg.clone(), 65536, 65536),
        common::conn(cfg, 65536, 65536),
    );
    p.app_b(|c, now| c.listen(now, SeqNum(u32::MAX - 3000)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(u32::MAX - 5000)).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.a.state(), State::Established);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut got_b, mut got_a) = (0, Vec::new(), Vec::new());
    while got_b.len() < data.len() || got_a.len() < data.len() {
        let now = p.now;
        if sent < data.len() {
            let n = p.a.send(now, &data[sent..]).map_or(0, |o| o.len);
            let _ = p.b.send(now, &data[sent..sent + n]);
            sent += n;
        }
        common::read_all(&mut p.b, now, &mut got_b);
        common::read_all(&mut p.a, now, &mut got_a);
        p.run_for(Duration::from_millis(1));
        assert!(p.now < Instant::from_secs(100), "stalled");
    }
    assert!(got_b == data && got_a == data);
    // Both sides' send sequence numbers wrapped.
    assert!(p.a.snd_nxt().0 < 1_000_000 && p.b.snd_nxt().0 < 1_000_000);
}

/// PAWS near 2^32 (RFC 7323 §5): TSval is compared modulo 2^32, so the
/// peer's clock wrapping past 2^32 is newer, not older, and a segment
/// with an older TSval is dropped (with an ACK) whatever its sequence
/// number.
#[test]
fn paws_across_the_tsval_wrap() {
    let mut p = Peer::open(Config::linux(), 65536, 4096, Some(7), true, true);
    let ack = p.c.snd_nxt();
    let mut got = 0;
    let mut wrapped = false;
    for i in 0..80u32 {
        let before = p.ts.unwrap();
        // TSval leaps 2^26 a segment: newer (RFC 7323 §5.2) even against
        // a TS.Recent a dozen segments behind (it is taken only from a
        // segment at Last.ACK.sent, §4.3, and ACKs are delayed); past 2^32.
        p.ts = p.ts.map(|v| v.wrapping_add((1 << 26) - 1));
        wrapped |= p.ts.unwrap() < before;
        let seq = p.seq;
        let _ = p.send(Flags::ACK, seq, ack, 65535, &[i as u8; 100]);
        p.seq = p.seq.add(100);
        got += 100;
        assert_eq!(
            p.c.rcv_nxt(),
            p.seq,
            "segment {i} with TSval {:?} dropped",
            p.ts
        );
    }
    assert!(wrapped, "TSval never passed 2^32");
    assert_eq!(p.c.recv_queue(), got);
    // An old TSval: dropped by PAWS, answered by an ACK at most.
    let mut o = TcpOptions::NONE;
    // (Older than TS.Recent, which is a dozen leaps behind at most.)
    let old = p.ts.unwrap().wrapping_sub(1 << 30);
    o.timestamps = Some(Timestamps {
        val: old,
        ecr: p.ts_recent,
    });
    let seq = p.seq;
    let out = p.send_opts(Flags::ACK, seq, ack, 65535, o, &[1; 100]);
    assert_eq!(p.c.rcv_nxt(), seq, "PAWS let an old segment in");
    assert!(out.len() <= 1);
}

/// Malformed options and headers: 300,000 datagrams mutated from valid
/// segments (bit flips, truncation, option bytes, with the checksum fixed
/// so they get past it) at a listener and an established connection. No
/// panic, at most one reply per datagram, no connection beyond the
/// backlog, every reply well formed.
#[test]
fn malformed_headers_and_options() {
    let (mut n, server, l) = Net::listening(EndpointConfig::linux(), 8);
    let client = SocketAddr::from(([198, 51, 100, 7], 40_000));
    let (c, s) = n.handshake(client, server, 65535);
    let _ = n.ep.accept(l);
    let mut o = TcpOptions::NONE;
    o.mss = Some(1460);
    o.window_scale = Some(7);
    o.sack_permitted = true;
    o.timestamps = Some(Timestamps { val: 5, ecr: 6 });
    let mut templates = Vec::new();
    for (flags, seq, ack) in [
        (Flags::SYN, SeqNum(77), SeqNum(0)),
        (Flags::ACK, c, s),
        (Flags::ACK | Flags::PSH, c, s),
        (Flags::FIN | Flags::ACK, c, s),
    ] {
        let h = TcpHeader {
            src_port: client.port(),
            dst_port: server.port(),
            seq,
            ack,
            flags,
            window: 1000,
            urgent: 0,
            options: o,
        };
        let mut b = vec![0u8; h.header_len()];
        h.emit(&mut b).unwrap();
        b.extend_from_slice(b"payload");
        templates.push(b);
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (IpAddr::V4(sa), IpAddr::V4(da)) = (client.ip(), server.ip()) else {
        unreachable!()
    };
    let mut replies = 0usize;
    let mut buf = vec![0u8; 2048];
    for _ in 0..300_000 {
        let r = rnd();
        let mut b = templates[(r % 4) as usize].clone();
        for k in 0..1 + (r >> 8) % 4 {
            let at = (rnd() % b.len() as u64) as usize;
            b[at] ^= 1 << ((r >> (16 + k)) % 8);
        }
        if r >> 40 & 7 == 0 {
            b.truncate((rnd() % (b.len() as u64 + 1)) as usize);
        }
        if b.len() >= 18 && r >> 44 & 1 == 0 {
            b[16] = 0;
            b[17] = 0;
            checksum::fill_checksum_v4(sa.octets(), da.octets(), &mut b);
        }
        n.now += Duration::from_micros(10);
        ep::datagram(&mut n.ep, n.now, client, server, &b);
        let mut k = 0;
        while let Some(d) = n.ep.poll_transmit(n.now, &mut buf) {
            let (IpAddr::V4(s4), IpAddr::V4(d4)) = (d.src, d.dst) else {
                unreachable!()
            };
            assert!(checksum::verify_v4(s4.octets(), d4.octets(), &buf[..d.len]));
            assert!(TcpHeader::parse(&buf[..d.len]).is_ok());
            k += 1;
        }
        assert!(k <= 1, "{k} replies to one datagram");
        replies += k;
        assert!(n.ep.connection_count() <= 1 + 8, "past the backlog");
    }
    assert!(replies > 0);
}

/// Floods to closed ports and to a listener (RFC 9293 §3.10.7.1,
/// RFC 4987): every segment to nowhere gets at most one RST and a RST
/// gets none; a SYN flood at a listener gets at most one SYN,ACK per SYN
/// (SYN cookies past the backlog) and holds no more than the SYN queue;
/// a thousand ACKs with wrong cookies open nothing.
#[test]
fn floods_to_closed_ports_and_listeners() {
    let (mut n, server, _l) = Net::listening(EndpointConfig::linux(), 16);
    let mut x = 12345u64;
    let mut rnd = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u32
    };
    for i in 0..20_000u32 {
        n.now += Duration::from_micros(100);
        let src = SocketAddr::from((
            [198, 51, (i >> 8) as u8, i as u8],
            1024 + (rnd() % 60_000) as u16,
        ));
        let closed = SocketAddr::from((ep::SERVER_IP, 81 + (i % 100) as u16));
        let flags = [
            Flags::SYN,
            Flags::ACK,
            Flags::RST,
            Flags::FIN | Flags::ACK,
            Flags::RST | Flags::ACK,
        ][(i % 5) as usize];
        let out = n.inject(
            src,
            closed,
            SeqNum(rnd()),
            SeqNum(rnd()),
            flags,
            1000,
            TcpOptions::NONE,
            &[],
        );
        assert!(out.len() <= 1);
        if flags.rst() {
            assert!(out.is_empty(), "a RST answered a RST");
        } else {
            assert!(out[0].2.flags.rst());
        }
        // The listener: SYNs from everywhere, and ACKs with made-up cookies.
        let flags = if i % 2 == 0 { Flags::SYN } else { Flags::ACK };
        let out = n.inject(
            src,
            server,
            SeqNum(rnd()),
            SeqNum(rnd()),
            flags,
            1000,
            TcpOptions::NONE,
            &[],
        );
        assert!(out.len() <= 1, "{} replies", out.len());
        assert!(
            n.ep.connection_count() <= 16 * 2,
            "{} held",
            n.ep.connection_count()
        );
    }
    let k = n.ep.counters();
    assert!(k.syncookies_sent > 0);
    assert_eq!(k.syncookies_recv, 0, "a made-up cookie opened a connection");
}

// ---------------------------------------------------------------------------
// A peer hostile by design: all of the above at once, at random.
// ---------------------------------------------------------------------------

/// Random sequences of hostile moves (`strategies::hostile_moves`: an
/// application that never reads, windows shut for ever, duplicate ACKs,
/// overlapping data with new bytes, TIME-WAIT floods, FINs) against a
/// whole host, the `EpHarness` checks after every step (tables, timer
/// entries, each connection's buffers and boxes, well-formed output,
/// nothing due after `on_timer`), and every connection gone four hours
/// after the application closed, the peer still answering with a shut
/// window. `TCPSTATE_HOSTILE_CASES` sets the number of cases (64); the
/// `hostile` fuzz target explores further.
#[test]
fn a_peer_hostile_by_design() {
    use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestRng, TestRunner};
    use tcpstate::testing::endpoint::EpHarness;
    let cases = std::env::var("TCPSTATE_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new_with_rng(
        PtConfig {
            cases,
            failure_persistence: None,
            ..PtConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let reached = std::cell::Cell::new((0u64, 0u64));
    runner
        .run(
            &(any::<bool>(), tcpstate::strategies::hostile_moves(40)),
            |(linux, moves)| {
                let mut h = EpHarness::new(linux);
                let r = h.run_hostile(&moves);
                let k = h.ep.counters();
                let (a, b) = reached.get();
                reached.set((a + k.passive_opens, b + k.time_wait_entered));
                r.map_err(TestCaseError::fail)
            },
        )
        .unwrap();
    // The moves reached the states they aim at.
    let (opens, time_wait) = reached.get();
    assert!(opens > u64::from(cases), "{opens} connections opened");
    assert!(time_wait > 0, "no TIME-WAIT entry");
}

/// A receive buffer smaller than one unit of the window scale Linux's
/// preset offers (shift 7 for `tcp_rmem[2]`, 128-byte units) could only
/// ever advertise a zero window once the window is rounded down: the
/// shift offered is kept small enough that the buffer holds two units,
/// and a transfer into a 100-byte buffer completes.
#[test]
fn a_tiny_receive_buffer_still_opens_its_window() {
    let cfg = Config::linux();
    let mut p = Pair::new(
        common::conn(cfg.clone(), 65536, 65536),
        common::conn(cfg, 100, 4096),
    );
    p.app_b(|c, now| c.listen(now, SeqNum(77)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(1)).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.state(), State::Established);
    let data: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    while got.len() < data.len() {
        let now = p.now;
        sent += p.a.send(now, &data[sent..]).map_or(0, |o| o.len);
        common::read_all(&mut p.b, now, &mut got);
        p.run_for(Duration::from_millis(1));
        assert!(
            p.now < Instant::from_secs(600),
            "stalled at {} bytes",
            got.len()
        );
    }
    assert!(got == data);
}
