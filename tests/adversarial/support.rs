//! What the attacker needs: a peer that owns the other end of one
//! connection under test (`Peer`), an attacker against a whole Endpoint
//! (`Net`, its Endpoint calls in `ep`), and a thread-local count of heap
//! allocations (`counting`).

use std::net::{IpAddr, SocketAddr};
use tcpstate::wire::{Flags, Segment, TcpHeader, TcpOptions, Timestamps, checksum};
use tcpstate::{
    Buffers, Config, Connection, Endpoint, EndpointConfig, Instant, SeqNum, State, Transmit,
};

pub(crate) type Conn = Connection<Vec<u8>>;

/// One segment a connection sent.
#[derive(Clone, Debug)]
pub(crate) struct Out {
    pub(crate) t: Transmit,
}

/// Everything `c` has to send now.
pub(crate) fn drain(c: &mut Conn, now: Instant) -> Vec<Out> {
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
pub(crate) struct Peer {
    pub(crate) c: Conn,
    pub(crate) now: Instant,
    /// The peer's next sequence number.
    pub(crate) seq: SeqNum,
    /// The peer's TSval clock, when timestamps are on.
    pub(crate) ts: Option<u32>,
    /// The connection's last TSval (echoed).
    pub(crate) ts_recent: u32,
}

impl Peer {
    /// A connection under test with `cfg` and buffers `rx`/`tx`, opened by
    /// the peer with window scaling `shift` (if any), SACK and timestamps
    /// as asked.
    pub(crate) fn open(
        cfg: Config,
        rx: usize,
        tx: usize,
        shift: Option<u8>,
        sack: bool,
        ts: bool,
    ) -> Peer {
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
    pub(crate) fn open_with(cfg: Config, rx: usize, tx: usize, o: TcpOptions) -> Peer {
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
    pub(crate) fn options(&mut self) -> TcpOptions {
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
    pub(crate) fn send(
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

    pub(crate) fn send_opts(
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
    pub(crate) fn out(&mut self) -> Vec<Out> {
        let out = drain(&mut self.c, self.now);
        if let Some(t) = out.iter().rev().find_map(|o| o.t.options.timestamps) {
            self.ts_recent = t.val;
        }
        out
    }

    /// Runs the connection's timers until `limit` (or until it closes),
    /// calling `answer` with every segment it sends.
    pub(crate) fn run_until(&mut self, limit: Instant, mut answer: impl FnMut(&mut Peer, &Out)) {
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
pub(crate) mod ep {
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
pub(crate) struct Net {
    pub(crate) ep: Endpoint,
    pub(crate) now: Instant,
}

/// A segment the Endpoint sent: (from, to, header, payload).
pub(crate) type Sent = (SocketAddr, SocketAddr, TcpHeader, Vec<u8>);

impl Net {
    pub(crate) fn new(cfg: EndpointConfig) -> Net {
        Net {
            ep: ep::new(cfg, 9),
            now: Instant::from_secs(1),
        }
    }

    /// An Endpoint with `cfg` listening on port 80 of the attacked host
    /// with `backlog`: (the attacker's view, the listening address, the
    /// listener).
    pub(crate) fn listening(
        cfg: EndpointConfig,
        backlog: u32,
    ) -> (Net, SocketAddr, tcpstate::ListenerId) {
        let mut n = Net::new(cfg);
        let server = SocketAddr::from((ep::SERVER_IP, 80));
        let l = n.ep.listen(server, backlog).unwrap();
        (n, server, l)
    }

    /// Sends one crafted segment to the Endpoint and returns its answers.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn inject(
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
    pub(crate) fn output(&mut self) -> Vec<Sent> {
        let mut buf = vec![0u8; 65536];
        let mut out = Vec::new();
        while let Some(d) = self.ep.poll_transmit(self.now, &mut buf) {
            let (IpAddr::V4(s), IpAddr::V4(t)) = (d.src, d.dst) else {
                unreachable!("IPv4 only")
            };
            assert!(checksum::verify_v4(s.octets(), t.octets(), d.segment(&buf)));
            let (h, p) = TcpHeader::parse(d.segment(&buf)).unwrap();
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
    pub(crate) fn orphan(
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
    pub(crate) fn handshake(
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
pub(crate) fn edge(t: &Transmit, shift: u8) -> SeqNum {
    t.ack.add(u32::from(t.window) << shift)
}

/// Heap allocations made by this thread (the tests run in parallel, each
/// on its own thread): a cost that must stay flat per attack segment.
pub(crate) mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static ALLOCS: Cell<u64> = const { Cell::new(0) };
        static HELD: Cell<i64> = const { Cell::new(0) };
    }

    // SAFETY: forwards every call to the system allocator unchanged; the
    // count is a thread-local integer (const-initialised: counting never
    // allocates). The only `unsafe` of the suite, in the test crate.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
            let _ = HELD.try_with(|c| c.set(c.get() + l.size() as i64));
            // SAFETY: the caller's contract is System's.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            let _ = HELD.try_with(|c| c.set(c.get() - l.size() as i64));
            // SAFETY: the caller's contract is System's.
            unsafe { System.dealloc(p, l) }
        }
    }

    /// Allocations this thread has made so far.
    pub fn allocs() -> u64 {
        ALLOCS.with(|c| c.get())
    }

    /// Bytes this thread's allocations hold now (what it freed subtracted;
    /// `realloc` goes through `alloc` and `dealloc`).
    pub fn held() -> i64 {
        HELD.with(|c| c.get())
    }
}
