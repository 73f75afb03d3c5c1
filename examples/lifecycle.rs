//! The tcpstate demo: the whole life of TCP connections, on a virtual clock.
//!
//! Two hosts, A (192.0.2.1) and B (192.0.2.2), are joined by an in-memory
//! link with a 10 ms one-way delay. The small driver below is the host: it
//! turns `Transmit`s into real TCP bytes (header, options, IPv4 checksum),
//! carries them over the link, verifies and parses them on arrival, finds
//! the connection by its 4-tuple (or answers with `reply_to_unknown` when
//! there is none), and calls `on_timer` when a connection's deadline passes.
//!
//! Each line of output is one event: a segment as `tcpdump -S` prints it
//! (captured at the sender), a state change with the edge of the transition
//! table that made it, or something the application did.
//!
//! Run with `cargo run --example lifecycle`. It exits non-zero when a scene
//! does not end as expected or when one of the 11 states was not seen.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use tcpstate::connection::reply_to_unknown;
use tcpstate::state::Event;
use tcpstate::wire::{TcpHeader, checksum};
use tcpstate::{
    Actions, Buffers, CloseReason, Config, Connection, Duration, Instant, Segment, SeqNum, State,
    TRANSITIONS, Transmit,
};

#[path = "server.rs"]
mod server;

type Conn = Connection<Vec<u8>>;

/// One-way delay of the link.
const DELAY: Duration = Duration::from_millis(10);
/// Receive and send buffer size of every connection.
const BUF: usize = 16 * 1024;

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn new_conn() -> Conn {
    Connection::new(Config::linux(), Buffers::with_capacity(BUF, BUF)).expect("a valid config")
}

fn at_ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// What the whole run saw, carried from scene to scene.
#[derive(Default)]
struct Report {
    states: BTreeSet<State>,
    edges: BTreeSet<(State, Event, State)>,
    failures: Vec<String>,
}

/// A socket: one connection and the addresses that find it.
struct Sock {
    /// Host label used in the output (A, B, ...).
    side: &'static str,
    local: SocketAddrV4,
    /// `None` while listening unbound (a SYN from anyone is taken).
    remote: Option<SocketAddrV4>,
    conn: Conn,
    /// A listener that hands each SYN to a new connection
    /// (`Connection::accept`) and stays in LISTEN itself.
    spawns: bool,
}

/// One IPv4 packet on the link (the TCP segment only: the IP header's
/// addresses are kept beside it).
struct Packet {
    arrives: Instant,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    tcp: Vec<u8>,
}

/// Hosts, sockets and the link, on one virtual clock.
struct World {
    now: Instant,
    socks: Vec<Sock>,
    wire: Vec<Packet>,
    /// The link drops every packet.
    lossy: bool,
    /// Hosts that never answer (packets to them are lost).
    blackholes: Vec<Ipv4Addr>,
    /// Print nothing and record no states (for set-up that was shown before).
    quiet: bool,
    hosts: Vec<(Ipv4Addr, &'static str)>,
    report: Report,
}

impl World {
    fn new(report: Report) -> Self {
        World {
            now: Instant::ZERO,
            socks: Vec::new(),
            wire: Vec::new(),
            lossy: false,
            blackholes: Vec::new(),
            quiet: false,
            hosts: vec![(A, "A"), (B, "B")],
            report,
        }
    }

    // ----- output ------------------------------------------------------

    fn print(&mut self, text: &str) {
        if !self.quiet {
            let us = self.now.as_micros();
            println!("{:>4}.{:06} {text}", us / 1_000_000, us % 1_000_000);
        }
    }

    fn host(&self, ip: Ipv4Addr) -> &'static str {
        self.hosts.iter().find(|h| h.0 == ip).map_or("?", |h| h.1)
    }

    // ----- sockets and application calls -------------------------------

    fn socket(&mut self, side: &'static str, local: SocketAddrV4, remote: SocketAddrV4) -> usize {
        self.socks.push(Sock {
            side,
            local,
            remote: Some(remote),
            conn: new_conn(),
            spawns: false,
        });
        self.socks.len() - 1
    }

    fn listener(&mut self, side: &'static str, local: SocketAddrV4, iss: u32) -> usize {
        self.socks.push(Sock {
            side,
            local,
            remote: None,
            conn: new_conn(),
            spawns: false,
        });
        let i = self.socks.len() - 1;
        let acts = self.socks[i].conn.listen(self.now, SeqNum(iss)).unwrap();
        self.handle(i, acts);
        i
    }

    fn connect(&mut self, i: usize, iss: u32) {
        let acts = self.socks[i].conn.connect(self.now, SeqNum(iss)).unwrap();
        self.handle(i, acts);
    }

    fn send(&mut self, i: usize, data: &[u8]) {
        let o = self.socks[i].conn.send(self.now, data).unwrap();
        let side = self.socks[i].side;
        self.print(&format!("{side}  app sends {} bytes", o.len));
        self.handle(i, o.actions);
    }

    /// Reads everything readable and says what was read.
    fn read(&mut self, i: usize) {
        let mut total = 0;
        let mut buf = [0u8; 4096];
        loop {
            let o = self.socks[i].conn.recv(self.now, &mut buf).unwrap();
            self.handle(i, o.actions);
            if o.len == 0 {
                break;
            }
            total += o.len;
        }
        let side = self.socks[i].side;
        let eof = if self.socks[i].conn.is_eof() {
            ", then end of stream (the peer's FIN)"
        } else {
            ""
        };
        self.print(&format!("{side}  app reads {total} bytes{eof}"));
    }

    fn shutdown(&mut self, i: usize) {
        let acts = self.socks[i].conn.shutdown(self.now).unwrap();
        self.handle(i, acts);
    }

    fn close(&mut self, i: usize) {
        let acts = self.socks[i].conn.close(self.now).unwrap();
        self.handle(i, acts);
    }

    fn abort(&mut self, i: usize) {
        let acts = self.socks[i].conn.abort(self.now).unwrap();
        self.handle(i, acts);
    }

    // ----- the host's side of the calling contract ---------------------

    /// Does what `acts` asks: report state changes, send what is ready.
    /// (The deadline is read back with `Connection::deadline` in `run_until`.)
    fn handle(&mut self, i: usize, acts: Actions) {
        for c in acts.state_changes() {
            if !self.quiet {
                self.report.states.insert(c.from);
                self.report.states.insert(c.to);
                self.report.edges.insert((c.from, c.event, c.to));
            }
            let mut text = format!(
                "{}  {} -> {}  ({})",
                self.socks[i].side,
                c.from,
                c.to,
                c.event.label()
            );
            if c.to == State::Closed
                && let Some(reason) = acts.closed()
            {
                let _ = write!(text, ": {reason}");
            }
            self.print(&text);
        }
        if acts.transmit() {
            self.drain(i);
        }
    }

    /// `poll_transmit` until `None`; each segment goes on the wire.
    fn drain(&mut self, i: usize) {
        let mut payload = vec![0u8; 65536];
        while let Some(t) = self.socks[i].conn.poll_transmit(self.now, &mut payload) {
            let s = &self.socks[i];
            let Some(remote) = s.remote else {
                // A listener has nothing to say to nobody (it may send a RST
                // to a stray ACK, but only after a bind; see `deliver`).
                continue;
            };
            let local = s.local;
            self.put_on_wire(local, remote, &t, &payload[..t.len]);
        }
    }

    /// Builds the TCP segment (header, options, checksum) and sends it.
    fn put_on_wire(&mut self, src: SocketAddrV4, dst: SocketAddrV4, t: &Transmit, data: &[u8]) {
        let h = t.header(src.port(), dst.port());
        let hlen = h.header_len();
        let mut tcp = vec![0u8; hlen + data.len()];
        h.emit(&mut tcp).expect("header fits");
        tcp[hlen..].copy_from_slice(data);
        checksum::fill_checksum_v4(src.ip().octets(), dst.ip().octets(), &mut tcp);
        let lost = self.lossy || self.blackholes.contains(dst.ip());
        let line = format!(
            "{} > {}: {}{}",
            self.host(*src.ip()),
            self.host(*dst.ip()),
            tcpdump(&tcp),
            if lost { "  (lost)" } else { "" }
        );
        self.print(&line);
        if !lost {
            self.wire.push(Packet {
                arrives: self.now + DELAY,
                src,
                dst,
                tcp,
            });
        }
    }

    /// A packet arrives at `dst`: verify, parse, demultiplex.
    fn deliver(&mut self, p: Packet) {
        let ok = checksum::verify_v4(p.src.ip().octets(), p.dst.ip().octets(), &p.tcp);
        assert!(ok, "checksum");
        let (h, data) = TcpHeader::parse(&p.tcp).expect("a well-formed segment");
        let seg = Segment::new(&h, data);
        let live = |s: &Sock| s.conn.state() != State::Closed;
        // A connection for the 4-tuple, else a listener on the local address.
        let found = self
            .socks
            .iter()
            .position(|s| s.local == p.dst && s.remote == Some(p.src) && live(s))
            .or_else(|| {
                self.socks.iter().position(|s| {
                    s.local == p.dst && s.remote.is_none() && s.conn.state() == State::Listen
                })
            });
        let Some(i) = found else {
            // RFC 9293 §3.10.7.1: nobody here. The host answers for CLOSED.
            if let Some(t) = reply_to_unknown(&seg) {
                self.put_on_wire(p.dst, p.src, &t, &[]);
            }
            return;
        };
        if self.socks[i].spawns {
            self.accept(i, p.src, &seg);
            return;
        }
        let acts = self.socks[i].conn.on_segment(self.now, &seg);
        // A listener is bound to the peer while it holds its SYN.
        if self.socks[i].remote.is_none() && self.socks[i].conn.state() != State::Listen {
            self.socks[i].remote = Some(p.src);
        }
        if self.socks[i].remote.is_some() && self.socks[i].conn.state() == State::Listen {
            // Back to LISTEN (RST in SYN-RECEIVED): unbound again. Anything
            // it still has to send goes to the peer that caused it.
            self.handle(i, acts);
            self.socks[i].remote = None;
            return;
        }
        if self.socks[i].remote.is_none() {
            // A listener answering a stray segment (a RST to an ACK).
            self.socks[i].remote = Some(p.src);
            self.handle(i, acts);
            self.socks[i].remote = None;
            return;
        }
        self.handle(i, acts);
    }

    /// A listener that spawns: a new connection for the SYN.
    fn accept(&mut self, listener: usize, from: SocketAddrV4, seg: &Segment<'_>) {
        let l = &self.socks[listener];
        let (side, local) = (l.side, l.local);
        let iss = SeqNum(0x5000 + (self.now.as_micros() / 4) as u32);
        let bufs = Buffers::with_capacity(BUF, BUF);
        let Ok((conn, acts)) = Connection::accept(Config::linux(), bufs, self.now, seg, iss) else {
            if let Some(t) = reply_to_unknown(seg) {
                self.put_on_wire(local, from, &t, &[]);
            }
            return;
        };
        self.socks.push(Sock {
            side,
            local,
            remote: Some(from),
            conn,
            spawns: false,
        });
        self.handle(self.socks.len() - 1, acts);
    }

    /// Runs the link and the timers up to `until`.
    fn run_until(&mut self, until: Instant) {
        for _ in 0..100_000 {
            let next_pkt = self.wire.iter().map(|p| p.arrives).min();
            let next_tmr = self.socks.iter().filter_map(|s| s.conn.deadline()).min();
            let next = match (next_pkt, next_tmr) {
                (Some(p), Some(t)) => p.min(t),
                (p, t) => match p.or(t) {
                    Some(n) => n,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            // Packets first, in the order they were sent.
            while let Some(k) = self.wire.iter().position(|p| p.arrives <= self.now) {
                let p = self.wire.remove(k);
                self.deliver(p);
            }
            for i in 0..self.socks.len() {
                if self.socks[i].conn.deadline().is_some_and(|d| d <= self.now) {
                    let acts = self.socks[i].conn.on_timer(self.now);
                    self.handle(i, acts);
                }
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs `f` without printing (set-up already shown in an earlier scene).
    fn quietly(&mut self, what: &str, f: impl FnOnce(&mut World)) {
        self.quiet = true;
        f(self);
        self.quiet = false;
        self.print(&format!("({what}: not shown)"));
    }

    // ----- checks ------------------------------------------------------

    fn expect(&mut self, i: usize, want: State) {
        let got = self.socks[i].conn.state();
        if got != want {
            let msg = format!(
                "{} at {}: expected {want}, found {got}",
                self.socks[i].side, self.now
            );
            println!("!! {msg}");
            self.report.failures.push(msg);
        }
    }

    fn expect_reason(&mut self, i: usize, want: CloseReason) {
        let got = self.socks[i].conn.close_reason();
        if got != Some(want) {
            let msg = format!(
                "{} at {}: expected close reason {want:?}, found {got:?}",
                self.socks[i].side, self.now
            );
            println!("!! {msg}");
            self.report.failures.push(msg);
        }
    }
}

/// A TCP segment as `tcpdump -S` prints it (after the addresses).
fn tcpdump(tcp: &[u8]) -> String {
    let (h, data) = TcpHeader::parse(tcp).expect("a well-formed segment");
    let f = h.flags;
    let mut s = String::from("Flags [");
    for (on, c) in [
        (f.fin(), 'F'),
        (f.syn(), 'S'),
        (f.rst(), 'R'),
        (f.psh(), 'P'),
        (f.ack(), '.'),
        (f.urg(), 'U'),
    ] {
        if on {
            s.push(c);
        }
    }
    s.push(']');
    let len = data.len() as u32;
    if len > 0 || f.syn() || f.fin() || f.rst() {
        let _ = write!(s, ", seq {}", h.seq);
        if len > 0 {
            let _ = write!(s, ":{}", h.seq.add(len));
        }
    }
    if f.ack() {
        let _ = write!(s, ", ack {}", h.ack);
    }
    let _ = write!(s, ", win {}", h.window);
    let opts = &tcp[20..h.header_len()];
    if !opts.is_empty() {
        let _ = write!(s, ", options [{}]", options(opts));
    }
    let _ = write!(s, ", length {len}");
    s
}

/// The option list as tcpdump prints it, NOPs included.
fn options(mut o: &[u8]) -> String {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut out = Vec::new();
    while let Some(&kind) = o.first() {
        match kind {
            0 => {
                out.push("eol".to_string());
                break;
            }
            1 => {
                out.push("nop".to_string());
                o = &o[1..];
                continue;
            }
            _ => {}
        }
        let len = usize::from(o[1]);
        let v = &o[2..len];
        out.push(match kind {
            2 => format!("mss {}", u16::from_be_bytes([v[0], v[1]])),
            3 => format!("wscale {}", v[0]),
            4 => "sackOK".to_string(),
            5 => {
                let mut b = format!("sack {} ", v.len() / 8);
                for blk in v.chunks(8) {
                    let _ = write!(b, "{{{}:{}}}", be32(&blk[..4]), be32(&blk[4..]));
                }
                b
            }
            8 => format!("TS val {} ecr {}", be32(&v[..4]), be32(&v[4..])),
            k => format!("unknown-{k}"),
        });
        o = &o[len..];
    }
    out.join(",")
}

fn scene(n: u32, title: &str) {
    println!();
    println!("== {n}. {title}");
}

fn a(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(A, port)
}

fn b(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(B, port)
}

/// Scenes 1-4: one connection from handshake to the end of TIME-WAIT.
fn one_connection(report: Report) -> Report {
    let mut w = World::new(report);

    scene(
        1,
        "Handshake: B listens on port 80, A connects from port 40000",
    );
    let srv = w.listener("B", b(80), 5000);
    let cli = w.socket("A", a(40000), b(80));
    w.connect(cli, 1000);
    w.run_until(at_ms(100));
    w.expect(cli, State::Established);
    w.expect(srv, State::Established);

    scene(
        2,
        "Data both ways: A uploads 3000 bytes, B answers with 500",
    );
    w.send(cli, &[b'u'; 3000]);
    w.run_until(at_ms(160));
    w.read(srv);
    w.send(srv, &[b'r'; 500]);
    w.run_until(at_ms(250));
    w.read(cli);

    scene(
        3,
        "Half-close: A shuts down its sending side; B keeps sending to A",
    );
    w.shutdown(cli);
    w.run_until(at_ms(300));
    w.read(srv);
    w.send(srv, &[b'd'; 2000]);
    w.run_until(at_ms(400));
    w.read(cli);
    w.expect(cli, State::FinWait2);
    w.expect(srv, State::CloseWait);

    scene(
        4,
        "B closes too (LAST-ACK); A, the active closer, waits 2*MSL = 60 s in TIME-WAIT",
    );
    w.close(srv);
    w.run_until(at_ms(500));
    w.read(cli);
    w.expect(cli, State::TimeWait);
    w.expect(srv, State::Closed);
    w.expect_reason(srv, CloseReason::Normal);
    w.run_until(at_ms(61_000));
    w.expect(cli, State::Closed);
    w.expect_reason(cli, CloseReason::Normal);
    w.report
}

/// Connects A:40001 to B:80 without printing.
fn connected_pair(w: &mut World) -> (usize, usize) {
    let mut pair = (0, 0);
    w.quietly("handshake A:40001 -> B:80", |w| {
        let srv = w.listener("B", b(80), 5000);
        let cli = w.socket("A", a(40001), b(80));
        w.connect(cli, 1000);
        w.run_until(at_ms(50));
        pair = (cli, srv);
    });
    pair
}

fn simultaneous_close(report: Report) -> Report {
    let mut w = World::new(report);
    scene(5, "Simultaneous close: A and B close at the same instant");
    let (cli, srv) = connected_pair(&mut w);
    w.run_until(at_ms(100));
    w.close(cli);
    w.close(srv);
    w.run_until(at_ms(200));
    w.expect(cli, State::TimeWait);
    w.expect(srv, State::TimeWait);
    w.run_until(at_ms(60_200));
    w.expect(cli, State::Closed);
    w.expect(srv, State::Closed);
    w.report
}

fn simultaneous_open(report: Report) -> Report {
    let mut w = World::new(report);
    scene(
        6,
        "Simultaneous open: A:7000 and B:7000 connect to each other at once",
    );
    let x = w.socket("A", a(7000), b(7000));
    let y = w.socket("B", b(7000), a(7000));
    w.connect(x, 1000);
    w.connect(y, 5000);
    w.run_until(at_ms(100));
    w.expect(x, State::Established);
    w.expect(y, State::Established);
    w.report
}

fn refused(report: Report) -> Report {
    let mut w = World::new(report);
    scene(7, "Refused: A connects to B port 81, where nothing listens");
    let cli = w.socket("A", a(40002), b(81));
    w.connect(cli, 1000);
    w.run_until(at_ms(100));
    w.expect(cli, State::Closed);
    w.expect_reason(cli, CloseReason::Refused);
    w.report
}

fn connect_timeout(report: Report) -> Report {
    let mut w = World::new(report);
    scene(
        8,
        "Connect timeout: the link drops everything; 6 SYN retries, then TimedOut",
    );
    w.lossy = true;
    let cli = w.socket("A", a(40003), b(80));
    w.connect(cli, 1000);
    w.run_until(Instant::from_secs(200));
    w.expect(cli, State::Closed);
    w.expect_reason(cli, CloseReason::TimedOut);
    w.report
}

fn back_to_listen(report: Report) -> Report {
    let mut w = World::new(report);
    scene(
        9,
        "Passive open: A gives up mid-handshake, its RST sends B back to LISTEN",
    );
    let srv = w.listener("B", b(80), 5000);
    let first = w.socket("A", a(40004), b(80));
    w.connect(first, 1000);
    w.run_until(at_ms(15));
    w.abort(first); // before B's SYN,ACK arrives: A's host will answer it with RST
    w.run_until(at_ms(100));
    w.expect(srv, State::Listen);
    println!("   ... then A connects again; A closes first, so B closes from LAST-ACK");
    let cli = w.socket("A", a(40005), b(80));
    w.connect(cli, 2000);
    w.run_until(at_ms(200));
    w.close(cli);
    w.run_until(at_ms(300));
    w.read(srv);
    w.close(srv);
    w.run_until(at_ms(400));
    w.expect(srv, State::Closed);
    w.expect_reason(srv, CloseReason::Normal);
    w.expect(cli, State::TimeWait);
    w.report
}

/// A busy moment on a server, for the `netstat` table.
fn busy(report: Report) -> (World, Instant) {
    let mut w = World::new(report);
    let s_ip = Ipv4Addr::new(192, 0, 2, 80);
    let c = |n: u8| Ipv4Addr::new(198, 51, 100, n);
    w.hosts = vec![(s_ip, "S"), (c(11), "C"), (c(12), "C"), (c(13), "C")];
    w.hosts.push((Ipv4Addr::new(192, 0, 2, 99), "X"));
    w.quiet = true;
    let http = SocketAddrV4::new(s_ip, 80);
    let l = w.listener("S", http, 0);
    w.socks[l].spawns = true;
    w.listener("S", SocketAddrV4::new(s_ip, 22), 0);
    // C1 downloads 40 KB and has not read it yet.
    let c1 = w.socket("C", SocketAddrV4::new(c(11), 50001), http);
    w.connect(c1, 10_000);
    // C2 sent a request and closed; the server has not read it.
    let c2 = w.socket("C", SocketAddrV4::new(c(12), 50002), http);
    w.connect(c2, 20_000);
    // C3 finished a whole exchange and closed first.
    let c3 = w.socket("C", SocketAddrV4::new(c(13), 50003), http);
    w.connect(c3, 30_000);
    w.run_until(at_ms(50));
    let conn_of = |w: &World, ip: Ipv4Addr| {
        w.socks
            .iter()
            .position(|s| s.local == http && s.remote.is_some_and(|r| *r.ip() == ip))
            .expect("accepted")
    };
    let (s1, s3) = (conn_of(&w, c(11)), conn_of(&w, c(13)));
    w.send(s1, &[b'x'; BUF]);
    w.send(c2, b"GET / HTTP/1.0");
    w.close(c2);
    w.close(c3);
    w.run_until(at_ms(100));
    w.close(s3);
    w.run_until(at_ms(150));
    w.send(s1, &[b'x'; BUF]);
    // C4 tries a host that never answers; C5's SYN is just arriving at S.
    w.blackholes.push(Ipv4Addr::new(192, 0, 2, 99));
    let c4 = w.socket(
        "C",
        SocketAddrV4::new(c(11), 50004),
        "192.0.2.99:443".parse().unwrap(),
    );
    w.connect(c4, 40_000);
    let c5 = w.socket("C", SocketAddrV4::new(c(12), 50005), http);
    w.connect(c5, 50_000);
    w.run_until(at_ms(165));
    let t = w.now;
    (w, t)
}

/// `netstat -tan`: every socket that is not CLOSED.
fn netstat(w: &World) {
    println!("Proto Recv-Q Send-Q Local Address           Foreign Address         State");
    let mut rows: Vec<_> = w
        .socks
        .iter()
        .filter(|s| s.conn.state() != State::Closed)
        .collect();
    rows.sort_by_key(|s| (s.conn.state() != State::Listen, s.local, s.remote));
    for s in rows {
        let remote = s.remote.map_or("0.0.0.0:*".to_string(), |r| r.to_string());
        println!(
            "tcp   {:>6} {:>6} {:<23} {:<23} {}",
            s.conn.recv_queue(),
            s.conn.send_queue(),
            s.local.to_string(),
            remote,
            s.conn.state().netstat_name()
        );
    }
}

fn main() {
    println!("tcpstate lifecycle demo: A = {A}, B = {B}, link delay 10 ms each way,");
    println!("Config::linux() (RTO min 200 ms, initial RTO 1 s, 2*MSL = 60 s), buffers 16 KiB.");
    println!("Segments print as `tcpdump -S` shows them at the sender; times are virtual seconds.");

    let mut report = Report::default();
    report = one_connection(report);
    report = simultaneous_close(report);
    report = simultaneous_open(report);
    report = refused(report);
    report = connect_timeout(report);
    report = back_to_listen(report);

    println!();
    println!(
        "States seen ({} of {}):",
        report.states.len(),
        State::ALL.len()
    );
    let names: Vec<_> = State::ALL
        .iter()
        .map(|s| {
            if report.states.contains(s) {
                s.rfc_name().to_string()
            } else {
                format!("[missing {}]", s.rfc_name())
            }
        })
        .collect();
    println!("  {}", names.join(" "));
    println!(
        "Edges of the transition table taken: {} of {}",
        report.edges.len(),
        TRANSITIONS.len()
    );

    let (world, t) = busy(report);
    println!();
    println!("A busy moment: server 192.0.2.80 (listening on 22 and 80) and clients from");
    println!(
        "198.51.100.0/24, on the same kind of link (segments not shown). `netstat -tan` at {t}:"
    );
    netstat(&world);

    // Issue 4's server: one Endpoint (listener, accept queue, TIME-WAIT
    // table) with several clients at once; the same code as
    // `cargo run --example server`.
    println!();
    println!(
        "== 10. A server with several clients at once, through the Endpoint, and its restart (SO_REUSEADDR)"
    );
    server::main().expect("the server scene");

    let report = world.report;
    let missing = State::ALL.len() - report.states.len();
    if missing > 0 || !report.failures.is_empty() {
        eprintln!(
            "lifecycle: {missing} state(s) not seen, {} failed expectation(s)",
            report.failures.len()
        );
        std::process::exit(1);
    }
}
