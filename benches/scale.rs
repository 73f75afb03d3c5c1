//! One Endpoint with a million concurrent connections: memory per
//! ESTABLISHED connection (buffers excluded) and per TIME-WAIT entry,
//! segments per second through the Endpoint, and the cost of `on_timer`
//! when nothing expires at 1k, 100k and 1M connections.
//!
//! `cargo bench --bench scale` (1M connections; `-- --quick` for 100k,
//! `-- --n N` for N). Peers are crafted segments, not Endpoints, so the
//! figures are the server's alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Instant as Wall;

use tcpstate::Ecn;
use tcpstate::endpoint::Handle;
use tcpstate::wire::{Flags, TcpHeader, TcpOptions, checksum};
use tcpstate::{Config, Duration, Endpoint, EndpointConfig, Instant, ListenerId, SeqNum};

/// Counts the bytes the program holds.
struct Counting;
static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        HELD.fetch_add(l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HELD.fetch_sub(l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        HELD.fetch_add(n as isize - l.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn held() -> isize {
    HELD.load(Relaxed)
}

/// Documentation addresses only (RFC 5737): the server is 192.0.2.1, the
/// clients 198.51.100.1 to .254 with 50,000 ports each (12.7 million
/// 4-tuples).
const SERVER: [u8; 4] = [192, 0, 2, 1];
const BUF: usize = 64;
const PORTS_PER_HOST: u32 = 50_000;

fn client(i: u32) -> SocketAddr {
    let host = i / PORTS_PER_HOST;
    assert!(host < 254, "at most 254 x 50,000 clients");
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + host as u8)),
        1024 + (i % PORTS_PER_HOST) as u16,
    )
}

fn craft(out: &mut Vec<u8>, src: SocketAddr, seq: u32, ack: u32, flags: Flags, payload: &[u8]) {
    let h = TcpHeader {
        src_port: src.port(),
        dst_port: 80,
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 65535,
        urgent: 0,
        options: TcpOptions::NONE,
    };
    out.clear();
    out.resize(h.header_len(), 0);
    h.emit(out).unwrap();
    out.extend_from_slice(payload);
    let IpAddr::V4(s) = src.ip() else {
        unreachable!()
    };
    checksum::fill_checksum_v4(s.octets(), SERVER, out);
}

struct Peer {
    handle: Handle,
    seq: u32,
    ack: u32,
}

fn config() -> EndpointConfig {
    let mut c = EndpointConfig::linux();
    c.rx_buffer = BUF;
    c.tx_buffer = BUF;
    c.conn = Config {
        // Every connection has a timer in the wheel.
        keepalive: Some(Config::default_keepalive()),
        timestamps: false,
        ..Config::linux()
    };
    c.with_local_addr(Ipv4Addr::from(SERVER)).expect("unicast")
}

/// Opens `n` connections through the handshake; returns the peers.
fn open(ep: &mut Endpoint, l: ListenerId, now: Instant, n: u32, first: u32) -> Vec<Peer> {
    let mut seg = Vec::with_capacity(128);
    let mut buf = vec![0u8; 1500];
    let mut peers = Vec::with_capacity(n as usize);
    let server = IpAddr::V4(SERVER.into());
    for i in first..first + n {
        let c = client(i);
        let isn = i.wrapping_mul(2_654_435_761);
        craft(&mut seg, c, isn, 0, Flags::SYN, &[]);
        ep.on_datagram(now, c.ip(), server, Ecn::NotEct, &seg);
        let d = ep.poll_transmit(now, &mut buf).expect("SYN,ACK");
        let (h, _) = TcpHeader::parse(d.segment(&buf)).unwrap();
        assert!(h.flags.syn() && h.flags.ack());
        let (seq, ack) = (isn.wrapping_add(1), h.seq.0.wrapping_add(1));
        craft(&mut seg, c, seq, ack, Flags::ACK, &[]);
        ep.on_datagram(now, c.ip(), server, Ecn::NotEct, &seg);
        let handle = ep.accept(l).expect("accepted");
        while ep.poll_event().is_some() {}
        peers.push(Peer { handle, seq, ack });
    }
    peers
}

/// Mean and worst cost of `on_timer` advancing 1 ms per call for 20 s,
/// and the calls above 10 µs. Every connection has a keep-alive timer two
/// hours away, so nothing is due.
fn timer_cost(ep: &mut Endpoint, now: &mut Instant) -> (f64, u128, u32) {
    let calls = 20_000;
    let mut slow = 0;
    let mut worst = 0;
    // The mean of the per-call times (each read around the call alone), so
    // that mean and worst are measured alike.
    let mut total = 0;
    for _ in 0..calls {
        *now += Duration::from_millis(1);
        let t1 = Wall::now();
        ep.on_timer(*now);
        let d = t1.elapsed().as_nanos();
        if d > 10_000 {
            slow += 1;
        }
        worst = worst.max(d);
        total += d;
    }
    (total as f64 / f64::from(calls), worst, slow)
}

/// Mean time of a `connect` from an explicit local port (`bind(2)` then
/// `connect(2)`: the bind conflict check runs) and from an ephemeral port,
/// 1000 of each, each connection aborted after (outside the timing).
/// The explicit ports are free: nothing of the Endpoint's is bound there.
fn connect_cost(ep: &mut Endpoint, now: Instant) -> (f64, f64) {
    let remote = SocketAddr::from(([203, 0, 113, 1], 9));
    let mut buf = vec![0u8; 1500];
    let calls = 1000u16;
    let mut total = [0u128; 2];
    for k in 0..calls {
        for (j, port) in [40_000 + k, 0].into_iter().enumerate() {
            let local = SocketAddr::from((SERVER, port));
            let t = Wall::now();
            let h = ep.connect(now, Some(local), remote).expect("connect");
            total[j] += t.elapsed().as_nanos();
            ep.abort(now, h).unwrap();
            while ep.poll_transmit(now, &mut buf).is_some() {}
            while ep.poll_event().is_some() {}
        }
    }
    let mean = |t: u128| t as f64 / f64::from(calls);
    (mean(total[0]), mean(total[1]))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut n: u32 = 1_000_000;
    if args.iter().any(|a| a == "--quick") {
        n = 100_000;
    }
    if let Some(p) = args.iter().position(|a| a == "--n") {
        n = args[p + 1].parse().expect("--n N");
    }
    println!("tcpstate scale bench: {n} connections, buffers {BUF}+{BUF} bytes");
    println!(
        "size_of: Connection {} B, TimeWaitEntry {} B",
        std::mem::size_of::<tcpstate::endpoint::Conn>(),
        std::mem::size_of::<tcpstate::TimeWaitEntry>()
    );

    // --- ESTABLISHED: memory, on_timer at three sizes -----------------
    let mut now = Instant::from_secs(10);
    let base = held();
    let mut ep = Endpoint::new(config(), [9; 16]).expect("valid config");
    let l = ep.listen(SocketAddr::from((SERVER, 80)), 4096).unwrap();
    let steps = [n / 1000, n / 10, n];
    let mut peers: Vec<Peer> = Vec::new();
    let mut opened = 0;
    for &target in &steps {
        let t = Wall::now();
        let more = open(&mut ep, l, now, target - opened, opened);
        let dt = t.elapsed();
        // The peers' own bookkeeping is the bench's, not the Endpoint's.
        let peers_bytes = (peers.capacity() + more.len()) * std::mem::size_of::<Peer>();
        peers.extend(more);
        let prev = opened;
        opened = target;
        let bytes = held() - base - peers_bytes as isize;
        let per = bytes as f64 / f64::from(opened) - 2.0 * BUF as f64;
        // The SYN,ACK retransmission timers left behind (lazy deletion)
        // come out one RTO after the handshakes: drain them first.
        let t = Wall::now();
        now += Duration::from_secs(2);
        ep.on_timer(now);
        let drain = t.elapsed();
        let (ns, worst, slow) = timer_cost(&mut ep, &mut now);
        println!(
            "{opened:>8} ESTABLISHED: {per:.0} B/conn excluding buffers ({:.1} MB total); \
             opened at {:.0} conn/s; stale SYN,ACK timers drained in {drain:?}; \
             on_timer with nothing due: mean {ns:.0} ns, worst {worst} ns, {slow} calls > 10 us \
             (wheel {} entries)",
            bytes as f64 / 1e6,
            f64::from(target - prev) / dt.as_secs_f64().max(1e-9),
            ep.timer_count()
        );
    }
    assert_eq!(ep.connection_count(), n as usize);
    assert_eq!(ep.counters().curr_estab, u64::from(n));

    // --- segments per second with everything open ---------------------
    let server = IpAddr::V4(SERVER.into());
    let mut seg = Vec::with_capacity(128);
    let mut buf = vec![0u8; 1500];
    let mut rbuf = [0u8; BUF];
    let payload = [0x5a; 16];
    let m = 2_000_000u32;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let t = Wall::now();
    let mut out = 0u64;
    for k in 0..m {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = &mut peers[(x % u64::from(n)) as usize];
        let c = client((x % u64::from(n)) as u32);
        craft(&mut seg, c, p.seq, p.ack, Flags::ACK | Flags::PSH, &payload);
        ep.on_datagram(now, c.ip(), server, Ecn::NotEct, &seg);
        p.seq = p.seq.wrapping_add(16);
        let got = ep.recv(now, p.handle, &mut rbuf).unwrap();
        debug_assert_eq!(got, 16);
        if k % 1024 == 0 {
            now += Duration::from_millis(1);
            ep.on_timer(now);
            while ep.poll_transmit(now, &mut buf).is_some() {
                out += 1;
            }
            while ep.poll_event().is_some() {}
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{n:>8} open: {:.2} M segments/s in (16-byte data, demux + checksum + TCB + app read), {out} out",
        f64::from(m) / dt / 1e6
    );
    let (explicit, ephemeral) = connect_cost(&mut ep, now);
    assert_eq!(ep.connection_count(), n as usize);
    println!(
        "{n:>8} open: connect from an explicit port {explicit:.0} ns (bind conflict check), \
         from an ephemeral port {ephemeral:.0} ns (mean of 1000 each)"
    );
    drop(peers);
    drop(ep);

    // --- TIME-WAIT entries ----------------------------------------------
    let tw_n = n;
    let mut cfg = config();
    cfg.max_time_wait = tw_n as usize;
    let base = held();
    let mut ep = Endpoint::new(cfg, [9; 16]).expect("valid config");
    let l = ep.listen(SocketAddr::from((SERVER, 80)), 4096).unwrap();
    let t = Wall::now();
    for i in 0..tw_n {
        let c = client(i);
        let isn = i.wrapping_mul(2_654_435_761);
        craft(&mut seg, c, isn, 0, Flags::SYN, &[]);
        ep.on_datagram(now, c.ip(), server, Ecn::NotEct, &seg);
        let d = ep.poll_transmit(now, &mut buf).unwrap();
        let (h, _) = TcpHeader::parse(d.segment(&buf)).unwrap();
        let (seq, ack) = (isn.wrapping_add(1), h.seq.0.wrapping_add(1));
        craft(&mut seg, c, seq, ack, Flags::ACK, &[]);
        ep.on_datagram(now, c.ip(), server, Ecn::NotEct, &seg);
        let hd = ep.accept(l).unwrap();
        ep.close(now, hd).unwrap();
        let d = ep.poll_transmit(now, &mut buf).unwrap();
        let (h, _) = TcpHeader::parse(d.segment(&buf)).unwrap();
        assert!(h.flags.fin());
        craft(
            &mut seg,
            c,
            seq,
            ack.wrapping_add(1),
            Flags::ACK | Flags::FIN,
            &[],
        );
        ep.on_datagram(now, c.ip(), server, Ecn::NotEct, &seg);
        while ep.poll_transmit(now, &mut buf).is_some() {}
        while ep.poll_event().is_some() {}
    }
    let dt = t.elapsed().as_secs_f64();
    assert_eq!(ep.time_wait_count(), tw_n as usize);
    let bytes = held() - base;
    println!(
        "{tw_n:>8} TIME-WAIT: {:.0} B/entry all tables included ({:.1} MB); {:.0} full lifecycles/s",
        bytes as f64 / f64::from(tw_n),
        bytes as f64 / 1e6,
        f64::from(tw_n) / dt
    );
    now += Duration::from_secs(2);
    ep.on_timer(now);
    let (ns, worst, slow) = timer_cost(&mut ep, &mut now);
    println!(
        "{tw_n:>8} TIME-WAIT: on_timer with nothing due: mean {ns:.0} ns, worst {worst} ns, {slow} calls > 10 us"
    );
    let (explicit, ephemeral) = connect_cost(&mut ep, now);
    println!(
        "{tw_n:>8} TIME-WAIT: connect from an explicit port {explicit:.0} ns (bind conflict check), \
         from an ephemeral port {ephemeral:.0} ns (mean of 1000 each)"
    );
}
