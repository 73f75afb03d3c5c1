//! tcpstate and smoltcp 0.14.0 side by side (issue 7, `../shared/BENCHMARKS.md`).
//!
//! Both engines run in this one process, alternating run by run, over the
//! same in-memory device pair: every segment is a real IPv4 packet (20-byte
//! IP header, TCP header, payload) in a pooled buffer, with software IP and
//! TCP checksums computed on send and verified on receipt (unless a
//! workload says "no-csum"). Time is virtual: it moves only when neither
//! side can make progress, straight to the earliest deadline.
//!
//! Workloads:
//! - W1 bulk: 256 MiB client -> server, 64 KiB buffers, MSS 1460; "batch"
//!   (each side drains all its input, then all its output) and "per-packet"
//!   (output after every input segment); with and without checksums.
//! - W2 churn: sequential connections (handshake, 100 B each way, client
//!   closes, server closes, TIME-WAIT expires on the virtual clock).
//! - W3 memory: bytes per connection without buffers.
//! - W4 rx path: instructions per in-order data segment (valgrind callgrind,
//!   see `--w4` and `benches/w4.sh`).
//!
//! See benches/README.md.
//!
//! Usage: `cargo bench --bench compare -- [--quick] [--json FILE] [--no-w4]
//!        [--only PREFIX] [--mib N] [--reps N]` (`--no-w4` also leaves out
//!        the W1 and W2 callgrind figures, `ir_per_seg_*` and `ir_per_conn`)
//!        `compare --one ENGINE MIB batch|per-packet [--no-csum] [--in-place]` (one W1 run, for profilers;
//!        `--in-place`: W1-batch-sendwith's writes)
//!        `compare --w4 tcpstate|smoltcp N [--no-csum] [--fused] [--direct]` (one W4 pass, for
//!        callgrind; `--fused`: tcpstate's engine verifies TCP checksums,
//!        `on_segment_unverified`; `--direct`: into the app's buffer, `on_segment_recv`)
//!        `--no-direct` (W1): tcpstate's server reads with `recv` after each
//!        batch instead of handing its buffer to the receive path.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant as Wall;

// ---------------------------------------------------------------------------
// Counting allocator: allocations during the timed loops.
// ---------------------------------------------------------------------------
struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------
// The device pair, shared by both engines.
// ---------------------------------------------------------------------------
const IP_MTU: usize = 1500;
/// Room before the payload: IP header (20) + the longest TCP header (60).
const HEADROOM: usize = 80;
const PKT_BUF: usize = HEADROOM + IP_MTU;
const CLIENT: usize = 0;
const SERVER: usize = 1;
const CLIENT_IP: [u8; 4] = [127, 0, 0, 1];
const SERVER_IP: [u8; 4] = [127, 0, 0, 2];

#[derive(Default, Clone, Copy, Debug)]
struct DirStats {
    pkts: u64,
    data: u64,
    pure_ack: u64,
    ctl: u64,
    payload: u64,
}

/// A packet in flight: a pooled buffer, where the IP header starts, its length.
struct Pkt {
    buf: Box<[u8]>,
    start: usize,
    len: usize,
}

/// Two FIFO queues (`q[d]` holds what side `d` sent) and a buffer pool, so
/// the harness itself does not allocate per packet.
struct Pipe {
    q: [RefCell<VecDeque<Pkt>>; 2],
    pool: RefCell<Vec<Box<[u8]>>>,
    stats: [Cell<DirStats>; 2],
}

impl Pipe {
    fn new() -> Pipe {
        Pipe {
            q: [
                RefCell::new(VecDeque::with_capacity(512)),
                RefCell::new(VecDeque::with_capacity(512)),
            ],
            pool: RefCell::new(
                (0..256)
                    .map(|_| vec![0u8; PKT_BUF].into_boxed_slice())
                    .collect(),
            ),
            stats: Default::default(),
        }
    }
    fn total_pkts(&self) -> u64 {
        self.stats[0].get().pkts + self.stats[1].get().pkts
    }
    fn take_buf(&self) -> Box<[u8]> {
        self.pool
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| vec![0u8; PKT_BUF].into_boxed_slice())
    }
    fn give_back(&self, b: Box<[u8]>) {
        self.pool.borrow_mut().push(b);
    }
    fn send(&self, side: usize, p: Pkt) {
        let mut s = self.stats[side].get();
        classify(&p.buf[p.start..p.start + p.len], &mut s);
        self.stats[side].set(s);
        self.q[side].borrow_mut().push_back(p);
    }
    /// The next packet for `side` (sent by the other side).
    fn recv(&self, side: usize) -> Option<Pkt> {
        self.q[1 - side].borrow_mut().pop_front()
    }
}

/// Counts a packet by kind (data, pure ACK, control).
fn classify(p: &[u8], s: &mut DirStats) {
    s.pkts += 1;
    if p.len() < 40 {
        return;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    let doff = usize::from(p[ihl + 12] >> 4) * 4;
    let payload = total - ihl - doff;
    s.payload += payload as u64;
    if payload > 0 {
        s.data += 1;
    } else if p[ihl + 13] & 0x07 != 0 {
        s.ctl += 1;
    } else {
        s.pure_ack += 1;
    }
}

/// The byte at stream offset `i` is `i % 251`: the sender reads from this
/// pattern at `sent % 251`, the receiver compares against it.
fn pattern(len: usize) -> Vec<u8> {
    (0..len + 251).map(|i| (i % 251) as u8).collect()
}

/// W1 with each engine's in-place write (`Connection::send_with`,
/// smoltcp's `Socket::send`): the application writes its bytes straight
/// into the send buffer. Here it copies them from the pattern, as an
/// application copies what it produces (a `read` from a file, a decoder's
/// output): the copy saved is the one from an application buffer into
/// `send`, which the other W1 rows do not count either, so this row shows
/// what the in-place call costs or saves against `send`.
static IN_PLACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--fused`: the tcpstate host lets the engine verify TCP checksums
/// (`Connection::on_segment_unverified`) instead of verifying them first.
static FUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--no-direct`: the tcpstate server's application does not hand its
/// buffer to the receive path (`on_segment_recv`); text goes through the
/// receive ring and `recv` (one copy more).
static NO_DIRECT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// ---------------------------------------------------------------------------
// tcpstate host: one connection, its addresses and ports, IPv4 in and out.
// ---------------------------------------------------------------------------
mod ts {
    use super::*;
    use tcpstate::wire::checksum;
    use tcpstate::wire::{Segment, TcpHeader};
    use tcpstate::{Actions, Buffers, Config, Connection, Instant, SeqNum};

    pub type Conn = Connection<Box<[u8]>>;

    pub struct Host {
        pub conn: Conn,
        pub ip: [u8; 4],
        pub peer_ip: [u8; 4],
        pub port: u16,
        pub peer_port: u16,
        pub csum: bool,
        /// Checksums verified by the engine (`on_segment_unverified`).
        pub fused: bool,
        /// The application's buffer, handed to the receive path
        /// (`on_segment_recv`: in-order text goes straight into it), and
        /// how much of it is filled. The server's only; empty with
        /// `--no-direct`.
        pub app: Vec<u8>,
        pub app_fill: usize,
        /// `Action::Transmit` was seen: poll_transmit has something.
        pub want_tx: bool,
        pub deadline: Option<Instant>,
        pub side: usize,
        /// Partial sums (RFC 1071) of what does not change from packet to
        /// packet: the IPv4 header's words without TOS, total length and
        /// checksum, and the TCP pseudo-header without its length.
        pub ip_sum: u32,
        pub pseudo_sum: u32,
    }

    pub fn config() -> Config {
        // Same wire format as smoltcp's defaults: no timestamps, so data
        // segments carry 1460 B behind a 20-byte TCP header.
        Config {
            timestamps: false,
            ..Config::rfc9293()
        }
    }

    pub fn host(side: usize, buf: usize, csum: bool) -> Host {
        let b = Buffers {
            rx: vec![0u8; buf].into_boxed_slice(),
            tx: vec![0u8; buf].into_boxed_slice(),
        };
        let (ip, peer_ip, port, peer_port) = if side == CLIENT {
            (CLIENT_IP, SERVER_IP, 49152, 5000)
        } else {
            (SERVER_IP, CLIENT_IP, 5000, 49152)
        };
        let w = |a: u8, b: u8| u32::from(u16::from_be_bytes([a, b]));
        let (s, d) = (ip, peer_ip);
        Host {
            conn: Connection::new(config(), b).expect("valid config"),
            ip,
            peer_ip,
            port,
            peer_port,
            csum,
            fused: FUSED.load(Relaxed),
            app: if side == SERVER && !NO_DIRECT.load(Relaxed) {
                vec![0u8; buf]
            } else {
                Vec::new()
            },
            app_fill: 0,
            want_tx: false,
            deadline: None,
            side,
            ip_sum: w(0x45, 0)
                + 0x4000
                + w(64, 6)
                + w(s[0], s[1])
                + w(s[2], s[3])
                + w(d[0], d[1])
                + w(d[2], d[3]),
            pseudo_sum: checksum::pseudo_header_v4(s, d, 0),
        }
    }

    impl Host {
        #[inline(always)]
        pub fn take(&mut self, a: Actions) {
            if a.transmit() {
                self.want_tx = true;
            }
            if let Some(d) = a.timer() {
                self.deadline = d;
            }
        }
    }

    /// The server's receive path (what W4 counts: callgrind collects only
    /// inside this function).
    #[inline(never)]
    pub fn w4_rx_tcpstate(h: &mut Host, now: Instant, p: &[u8]) -> bool {
        std::hint::black_box(1u8);
        rx(h, now, p)
    }

    /// The client's receive path (ACKs), kept out of W4's count.
    #[inline(never)]
    pub fn client_rx(h: &mut Host, now: Instant, p: &[u8]) -> bool {
        std::hint::black_box(2u8);
        rx(h, now, p)
    }

    /// The receive path of one packet: IPv4 parse and validation, header
    /// checksum, TCP checksum, TCP parse, 4-tuple lookup, then the engine.
    /// With `fused` (`--fused`, the W4-rx-fused line), the host sums only
    /// the pseudo-header and the TCP header and the engine verifies the TCP
    /// checksum as it copies the payload (`on_segment_unverified`).
    /// Returns false when the packet was dropped.
    #[inline(always)]
    fn rx(h: &mut Host, now: Instant, p: &[u8]) -> bool {
        if h.fused {
            return rx_fused(h, now, p);
        }
        let Some((src, dst, tcp, ce)) = ipv4_in(h, p) else {
            return false;
        };
        if h.csum && !checksum::verify_v4(src, dst, tcp) {
            return false;
        }
        if h.app.is_empty() {
            // The connection parses the TCP header itself
            // (`on_segment_bytes`); the lookup reads the ports from the
            // bytes, as a host that demuxes on the raw header does.
            let Some(ports) = tcp.first_chunk::<4>() else {
                return false;
            };
            let be16 = |a: u8, b: u8| u16::from_be_bytes([a, b]);
            if dst != h.ip
                || src != h.peer_ip
                || be16(ports[2], ports[3]) != h.port
                || be16(ports[0], ports[1]) != h.peer_port
            {
                return false;
            }
            let Ok(a) = h.conn.on_segment_bytes(now, tcp, ce) else {
                return false;
            };
            h.take(a);
            return true;
        }
        let Some((hdr, payload)) = tcp_in(h, src, dst, tcp) else {
            return false;
        };
        let seg = Segment::new(&hdr, payload);
        // The application reads at once, into its own buffer.
        let o = h
            .conn
            .on_segment_recv(now, &seg, ce, &mut h.app[h.app_fill..]);
        h.app_fill += o.len;
        h.take(o.actions);
        true
    }

    /// `rx` with `fused`: the host sums the pseudo-header and the TCP
    /// header, the engine verifies the TCP checksum while it copies the
    /// payload. Out of line, so that `rx` stays as it was.
    #[inline(never)]
    fn rx_fused(h: &mut Host, now: Instant, p: &[u8]) -> bool {
        let Some((src, dst, tcp, ce)) = ipv4_in(h, p) else {
            return false;
        };
        let Some((hdr, payload)) = tcp_in(h, src, dst, tcp) else {
            return false;
        };
        let seg = Segment::new(&hdr, payload);
        let a = if h.csum {
            let head = &tcp[..tcp.len() - payload.len()];
            let pseudo = checksum::pseudo_header_v4(src, dst, tcp.len() as u16);
            // A header without options is 20 bytes: a fixed-size sum.
            let sum = match <&[u8; 20]>::try_from(head) {
                Ok(h20) => checksum::ones_complement_sum(h20, pseudo),
                Err(_) => checksum::ones_complement_sum(head, pseudo),
            };
            match h.conn.on_segment_unverified(now, &seg, ce, sum) {
                Ok(a) => a,
                Err(_) => return false,
            }
        } else {
            h.conn.on_segment_ecn(now, &seg, ce)
        };
        h.take(a);
        true
    }

    /// Source, destination, the TCP bytes, and the CE mark.
    type Ipv4In<'p> = ([u8; 4], [u8; 4], &'p [u8], bool);

    /// IPv4 parse and validation (and the header checksum).
    #[inline(always)]
    fn ipv4_in<'p>(h: &Host, p: &'p [u8]) -> Option<Ipv4In<'p>> {
        let ip = p.first_chunk::<20>()?;
        if ip[0] != 0x45 || ip[9] != 6 {
            return None; // IPv4 without options, TCP only
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if total < 20 || total > p.len() {
            return None;
        }
        if h.csum && checksum::fold(checksum::ones_complement_sum(ip, 0)) != 0xffff {
            return None;
        }
        let src = [ip[12], ip[13], ip[14], ip[15]];
        let dst = [ip[16], ip[17], ip[18], ip[19]];
        Some((src, dst, &p[20..total], ip[1] & 3 == 3))
    }

    /// TCP parse and the lookup: the one connection's 4-tuple.
    #[inline(always)]
    fn tcp_in<'p>(
        h: &Host,
        src: [u8; 4],
        dst: [u8; 4],
        tcp: &'p [u8],
    ) -> Option<(TcpHeader, &'p [u8])> {
        let (hdr, payload) = TcpHeader::parse(tcp).ok()?;
        if dst != h.ip || src != h.peer_ip || hdr.dst_port != h.port || hdr.src_port != h.peer_port
        {
            return None;
        }
        Some((hdr, payload))
    }

    /// Every segment the connection has, as IPv4 packets into the pipe.
    #[inline(always)]
    pub fn egress(h: &mut Host, now: Instant, pipe: &Pipe) {
        if h.side == CLIENT {
            w4_tx_tcpstate(h, now, pipe);
        } else {
            server_tx(h, now, pipe);
        }
    }

    /// The client's send path (what W4-tx counts).
    #[inline(never)]
    pub fn w4_tx_tcpstate(h: &mut Host, now: Instant, pipe: &Pipe) {
        std::hint::black_box(5u8);
        tx(h, now, pipe);
    }

    /// The server's send path (ACKs), kept out of W4-tx's count.
    #[inline(never)]
    pub fn server_tx(h: &mut Host, now: Instant, pipe: &Pipe) {
        std::hint::black_box(6u8);
        tx(h, now, pipe);
    }

    /// The send path: `poll_transmit` until `None` after `Action::Transmit`,
    /// TCP header, IPv4 header, checksums.
    #[inline(always)]
    fn tx(h: &mut Host, now: Instant, pipe: &Pipe) {
        if !h.want_tx {
            return;
        }
        h.want_tx = false;
        loop {
            let mut buf = pipe.take_buf();
            let out = h.conn.poll_transmit(now, &mut buf[HEADROOM..]);
            let Some(t) = &out else {
                pipe.give_back(buf);
                return;
            };
            // The TCP header right in front of the payload.
            let tcp_start = t
                .emit_header(h.port, h.peer_port, &mut buf, HEADROOM)
                .expect("header fits");
            let start = tcp_start - 20;
            let total = HEADROOM - start + t.len;
            let tl = (total as u16).to_be_bytes();
            let tos = if t.ect { 2 } else { 0 };
            let (s, d) = (h.ip, h.peer_ip);
            // The header checksum from the field values (RFC 1071), not by
            // reading back the bytes just stored: the per-connection sum
            // plus TOS and the total length.
            let csum = if h.csum {
                let sum = h.ip_sum + u32::from(tos) + total as u32;
                (!checksum::fold(sum)).to_be_bytes()
            } else {
                [0, 0]
            };
            buf[start..start + 20].copy_from_slice(&[
                0x45, tos, tl[0], tl[1], 0, 0, 0x40, 0, 64, 6, csum[0], csum[1], s[0], s[1], s[2],
                s[3], d[0], d[1], d[2], d[3],
            ]);
            if h.csum {
                // The TCP checksum over the pseudo-header (its sum plus the
                // TCP length) and the segment, whose checksum field `emit`
                // wrote as zero (RFC 9293 §3.1).
                let tcp = &mut buf[start + 20..start + total];
                let sum = checksum::ones_complement_sum(tcp, h.pseudo_sum + tcp.len() as u32);
                tcp[16..18].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
            }
            pipe.send(
                h.side,
                Pkt {
                    buf,
                    start,
                    len: total,
                },
            );
        }
    }

    /// Drains the input queue; with `per_packet`, output after every segment.
    #[inline(always)]
    pub fn ingress(h: &mut Host, now: Instant, pipe: &Pipe, per_packet: bool) -> u64 {
        let mut n = 0;
        while let Some(p) = pipe.recv(h.side) {
            let bytes = &p.buf[p.start..p.start + p.len];
            if h.side == SERVER {
                w4_rx_tcpstate(h, now, bytes);
            } else {
                client_rx(h, now, bytes);
            }
            pipe.give_back(p.buf);
            n += 1;
            if per_packet {
                egress(h, now, pipe);
            }
        }
        n
    }

    pub fn timers(h: &mut Host, now: Instant) {
        if h.deadline.is_some_and(|d| d <= now) {
            let a = h.conn.on_timer(now);
            h.take(a);
        }
    }

    pub fn connect(cli: &mut Host, srv: &mut Host, now: Instant) {
        let a = srv.conn.listen(now, SeqNum(0x8765_4321)).unwrap();
        srv.take(a);
        let a = cli.conn.connect(now, SeqNum(0x1234_5678)).unwrap();
        cli.take(a);
    }
}

// ---------------------------------------------------------------------------
// smoltcp host: an Interface (medium-ip, IPv4), its socket set, a device end.
// ---------------------------------------------------------------------------
mod smol {
    use super::*;
    use smoltcp::iface::{
        Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
    };
    use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
    use smoltcp::socket::tcp;
    use smoltcp::time::{Duration as VDuration, Instant as VInstant};
    use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

    pub use smoltcp::time::Instant;

    pub struct RxTok<'a> {
        pipe: &'a Pipe,
        pkt: Pkt,
    }
    impl phy::RxToken for RxTok<'_> {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            let RxTok { pipe, pkt } = self;
            let r = f(&pkt.buf[pkt.start..pkt.start + pkt.len]);
            pipe.give_back(pkt.buf);
            r
        }
    }
    pub struct TxTok<'a> {
        pipe: &'a Pipe,
        side: usize,
    }
    impl phy::TxToken for TxTok<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut buf = self.pipe.take_buf();
            let r = f(&mut buf[..len]);
            self.pipe.send(self.side, Pkt { buf, start: 0, len });
            r
        }
    }

    pub struct End<'p> {
        pipe: &'p Pipe,
        side: usize,
        caps: DeviceCapabilities,
    }
    impl Device for End<'_> {
        type RxToken<'a>
            = RxTok<'a>
        where
            Self: 'a;
        type TxToken<'a>
            = TxTok<'a>
        where
            Self: 'a;
        fn receive(&mut self, _t: VInstant) -> Option<(RxTok<'_>, TxTok<'_>)> {
            let pkt = self.pipe.recv(self.side)?;
            Some((
                RxTok {
                    pipe: self.pipe,
                    pkt,
                },
                TxTok {
                    pipe: self.pipe,
                    side: self.side,
                },
            ))
        }
        fn transmit(&mut self, _t: VInstant) -> Option<TxTok<'_>> {
            Some(TxTok {
                pipe: self.pipe,
                side: self.side,
            })
        }
        fn capabilities(&self) -> DeviceCapabilities {
            self.caps.clone()
        }
    }

    pub struct Host<'p> {
        pub iface: Interface,
        pub sockets: SocketSet<'static>,
        pub dev: End<'p>,
        pub handle: SocketHandle,
    }

    pub fn socket(rx: usize, tx: usize) -> tcp::Socket<'static> {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; rx]),
            tcp::SocketBuffer::new(vec![0u8; tx]),
        )
    }

    pub fn host(pipe: &Pipe, side: usize, buf: usize, csum: bool) -> Host<'_> {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = IP_MTU;
        if !csum {
            caps.checksum = ChecksumCapabilities::ignored();
        }
        let mut dev = End { pipe, side, caps };
        let mut cfg = Config::new(HardwareAddress::Ip);
        cfg.random_seed = 0x1234 + side as u64;
        let mut iface = Interface::new(cfg, &mut dev, VInstant::ZERO);
        let last = if side == CLIENT { 1 } else { 2 };
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::v4(127, 0, 0, last), 8))
                .unwrap();
        });
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(socket(buf, buf));
        Host {
            iface,
            sockets,
            dev,
            handle,
        }
    }

    impl Host<'_> {
        pub fn sock(&mut self) -> &mut tcp::Socket<'static> {
            self.sockets.get_mut::<tcp::Socket>(self.handle)
        }
    }

    /// The server's receive path (what W4 counts).
    #[inline(never)]
    pub fn w4_rx_smoltcp(h: &mut Host, now: VInstant) -> bool {
        std::hint::black_box(3u8);
        rx(h, now)
    }

    /// The client's receive path (ACKs), kept out of W4's count.
    #[inline(never)]
    pub fn client_rx(h: &mut Host, now: VInstant) -> bool {
        std::hint::black_box(4u8);
        rx(h, now)
    }

    /// The receive path of one packet, as smoltcp runs it.
    #[inline(always)]
    fn rx(h: &mut Host, now: VInstant) -> bool {
        !matches!(
            h.iface.poll_ingress_single(now, &mut h.dev, &mut h.sockets),
            PollIngressSingleResult::None
        )
    }

    #[inline(always)]
    pub fn egress(h: &mut Host, now: VInstant) {
        if h.dev.side == CLIENT {
            w4_tx_smoltcp(h, now);
        } else {
            server_tx(h, now);
        }
    }

    /// The client's send path (what W4-tx counts).
    #[inline(never)]
    pub fn w4_tx_smoltcp(h: &mut Host, now: VInstant) {
        std::hint::black_box(7u8);
        tx(h, now);
    }

    /// The server's send path (ACKs), kept out of W4-tx's count.
    #[inline(never)]
    pub fn server_tx(h: &mut Host, now: VInstant) {
        std::hint::black_box(8u8);
        tx(h, now);
    }

    /// The send path: `poll_egress` until no socket changes.
    #[inline(always)]
    fn tx(h: &mut Host, now: VInstant) {
        while let PollResult::SocketStateChanged =
            h.iface.poll_egress(now, &mut h.dev, &mut h.sockets)
        {}
    }

    /// `Interface::poll` split in its phases; with `per_packet`, egress
    /// after every ingress packet.
    #[inline(always)]
    pub fn ingress(h: &mut Host, now: VInstant, per_packet: bool) -> u64 {
        h.iface.poll_maintenance(now);
        let mut n = 0;
        // Only call in when a packet waits, so that W4 counts no empty polls.
        while !h.dev.pipe.q[1 - h.dev.side].borrow().is_empty()
            && if h.dev.side == SERVER {
                w4_rx_smoltcp(h, now)
            } else {
                client_rx(h, now)
            }
        {
            n += 1;
            if per_packet {
                egress(h, now);
            }
        }
        n
    }

    pub fn connect(cli: &mut Host, srv: &mut Host, port: u16) {
        srv.sock().listen(port).unwrap();
        let h = cli.handle;
        let cx = cli.iface.context();
        cli.sockets
            .get_mut::<tcp::Socket>(h)
            .connect(cx, (IpAddress::v4(127, 0, 0, 2), port), 49152)
            .unwrap();
    }

    /// The earliest deadline of either side, at least 1 µs on.
    pub fn advance(now: VInstant, a: &mut Host, b: &mut Host) -> VInstant {
        let pa = a.iface.poll_at(now, &a.sockets);
        let pb = b.iface.poll_at(now, &b.sockets);
        let next = match (pa, pb) {
            (Some(x), Some(y)) => x.min(y),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => panic!("smoltcp stalled: nothing in flight, no timer"),
        };
        if next > now {
            next
        } else {
            now + VDuration::from_micros(1)
        }
    }

    pub use smoltcp::socket::tcp::State as TcpState;
}

// ---------------------------------------------------------------------------
// W1 bulk (and W4's traffic).
// ---------------------------------------------------------------------------
#[derive(Clone, Copy, Debug)]
struct W1Opts {
    total: u64,
    buf: usize,
    csum: bool,
    per_packet: bool,
    verify: bool,
}

#[derive(Default, Clone, Copy, Debug)]
struct W1Run {
    secs: f64,
    bytes: u64,
    c2s: DirStats,
    s2c: DirStats,
    allocs: u64,
}

fn w1_tcpstate(o: W1Opts) -> W1Run {
    use tcpstate::Instant;
    let pipe = Pipe::new();
    let mut cli = ts::host(CLIENT, o.buf, o.csum);
    let mut srv = ts::host(SERVER, o.buf, o.csum);
    let src = pattern(o.buf);
    let mut dst = vec![0u8; o.buf];
    let chunk = o.buf;
    let mut now = Instant::ZERO;
    let a0 = ALLOCS.load(Relaxed);
    let t0 = Wall::now();
    ts::connect(&mut cli, &mut srv, now);
    let (mut sent, mut rcvd) = (0u64, 0u64);
    let mut idle = 0u32;
    while rcvd < o.total {
        // Progress: packets, bytes written or read, or send-buffer space
        // freed by an ACK (a full ring empties without a new packet).
        let before = (pipe.total_pkts(), sent, rcvd, cli.conn.send_capacity());
        if sent < o.total && cli.conn.send_capacity() > 0 {
            let want = ((o.total - sent) as usize).min(chunk);
            let off = (sent % 251) as usize;
            let r = if IN_PLACE.load(Relaxed) {
                cli.conn.send_with(now, |space| {
                    let n = space.len().min(want);
                    space[..n].copy_from_slice(&src[off..off + n]);
                    n
                })
            } else {
                cli.conn.send(now, &src[off..off + want])
            };
            if let Ok(out) = r {
                sent += out.len as u64;
                cli.take(out.actions);
            }
        }
        ts::ingress(&mut cli, now, &pipe, o.per_packet);
        ts::egress(&mut cli, now, &pipe);
        ts::ingress(&mut srv, now, &pipe, o.per_packet);
        ts::egress(&mut srv, now, &pipe);
        // What the receive path already put into the application's buffer
        // (`on_segment_recv`), then whatever waits in the ring.
        if srv.app_fill > 0 {
            let n = std::mem::take(&mut srv.app_fill);
            if o.verify {
                let off = (rcvd % 251) as usize;
                assert!(
                    srv.app[..n] == src[off..off + n],
                    "tcpstate: corrupt data at {rcvd}"
                );
            }
            rcvd += n as u64;
        }
        loop {
            let out = srv.conn.recv(now, &mut dst).expect("recv");
            srv.take(out.actions);
            let n = out.len;
            if n == 0 {
                break;
            }
            if o.verify {
                let off = (rcvd % 251) as usize;
                assert!(
                    dst[..n] == src[off..off + n],
                    "tcpstate: corrupt data at {rcvd}"
                );
            }
            rcvd += n as u64;
        }
        ts::egress(&mut srv, now, &pipe);
        if (pipe.total_pkts(), sent, rcvd, cli.conn.send_capacity()) == before {
            idle += 1;
            assert!(idle < 100_000, "tcpstate W1 stalled");
            let next = [cli.deadline, srv.deadline]
                .into_iter()
                .flatten()
                .min()
                .expect("tcpstate stalled: nothing in flight, no timer");
            now = next.max(Instant::from_micros(now.as_micros() + 1));
            ts::timers(&mut cli, now);
            ts::timers(&mut srv, now);
        } else {
            idle = 0;
        }
    }
    W1Run {
        secs: t0.elapsed().as_secs_f64(),
        bytes: rcvd,
        c2s: pipe.stats[CLIENT].get(),
        s2c: pipe.stats[SERVER].get(),
        allocs: ALLOCS.load(Relaxed) - a0,
    }
}

/// The floor under W1 for any engine that copies as both engines here do:
/// no protocol at all, only the data's own work per segment. The sender
/// copies the app's bytes into a 64 KiB send ring, each 1460-byte segment
/// is copied from the ring into a packet and checksummed (20-byte header
/// and pseudo-header included), the receiver verifies the checksum and
/// copies the payload into a 64 KiB receive ring, and the app copies it
/// out: 4 copies and 2 checksums per byte. With `direct` the receiver
/// copies the payload straight into the app's buffer (3 copies), what an
/// engine that hands in-order data to a waiting reader would do.
/// Every segment of a window goes out before any arrives (batch).
#[inline(never)]
fn w1_bound(o: W1Opts, direct: bool) -> f64 {
    use tcpstate::wire::checksum;
    const MSS: usize = 1460;
    let src = pattern(o.buf);
    let mut dst = vec![0u8; o.buf];
    // The engine's own ring buffer, with nothing else of the engine.
    let mut tx = tcpstate::RingBuffer::new(vec![0u8; o.buf]);
    let mut rx = tcpstate::RingBuffer::new(vec![0u8; o.buf]);
    let mut pkts: Vec<Box<[u8]>> = (0..o.buf / MSS + 1)
        .map(|_| vec![0u8; 20 + MSS].into_boxed_slice())
        .collect();
    let mut lens = vec![0usize; pkts.len()];
    let pseudo = checksum::pseudo_header_v4(CLIENT_IP, SERVER_IP, 0);
    let (mut sent, mut rcvd, mut unsent) = (0u64, 0u64, 0usize);
    let t0 = Wall::now();
    while rcvd < o.total {
        // The app writes.
        if sent < o.total {
            let want = ((o.total - sent) as usize).min(o.buf);
            let off = (sent % 251) as usize;
            let n = tx.enqueue_slice(&src[off..off + want]);
            sent += n as u64;
            unsent += n;
        }
        // The sender: as many segments as the receive window takes.
        let window = if direct { o.buf } else { rx.free() };
        let mut k = 0;
        let mut off = tx.len() - unsent;
        while unsent > 0 && k < pkts.len() && (k + 1) * MSS <= window.max(MSS) {
            let n = unsent.min(MSS);
            let p = &mut pkts[k];
            p[..20].fill(0);
            tx.read_at(off, &mut p[20..20 + n]);
            if o.csum {
                let sum = checksum::ones_complement_sum(&p[..20 + n], pseudo + (20 + n) as u32);
                p[16..18].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
            }
            lens[k] = n;
            off += n;
            unsent -= n;
            k += 1;
        }
        // The receiver: verify, deliver; the sender frees what arrived.
        for (p, &n) in pkts[..k].iter().zip(&lens) {
            if o.csum {
                let sum = checksum::ones_complement_sum(&p[..20 + n], pseudo + (20 + n) as u32);
                assert!(checksum::fold(sum) == 0xffff, "w1_bound: bad checksum");
            }
            if direct {
                let at = (rcvd % o.buf as u64) as usize;
                let first = n.min(o.buf - at);
                dst[at..at + first].copy_from_slice(&p[20..20 + first]);
                dst[..n - first].copy_from_slice(&p[20 + first..20 + n]);
                rcvd += n as u64;
            } else {
                rx.enqueue_slice(&p[20..20 + n]);
            }
            tx.consume(n);
        }
        // The app reads.
        if !direct {
            let n = rx.dequeue_slice(&mut dst);
            rcvd += n as u64;
        }
        std::hint::black_box(&dst);
    }
    rcvd as f64 / t0.elapsed().as_secs_f64() / 1e6
}

fn w1_smoltcp(o: W1Opts) -> W1Run {
    use smol::Instant;
    let pipe = Pipe::new();
    let mut cli = smol::host(&pipe, CLIENT, o.buf, o.csum);
    let mut srv = smol::host(&pipe, SERVER, o.buf, o.csum);
    let src = pattern(o.buf);
    let mut dst = vec![0u8; o.buf];
    let chunk = o.buf;
    let mut now = Instant::ZERO;
    let a0 = ALLOCS.load(Relaxed);
    let t0 = Wall::now();
    smol::connect(&mut cli, &mut srv, 5000);
    let (mut sent, mut rcvd) = (0u64, 0u64);
    let mut idle = 0u32;
    while rcvd < o.total {
        let before = (pipe.total_pkts(), sent, rcvd);
        let c = cli.sock();
        if sent < o.total && c.can_send() {
            let want = ((o.total - sent) as usize).min(chunk);
            let off = (sent % 251) as usize;
            sent += if IN_PLACE.load(Relaxed) {
                c.send(|space| {
                    let n = space.len().min(want);
                    space[..n].copy_from_slice(&src[off..off + n]);
                    (n, n)
                })
                .unwrap()
            } else {
                c.send_slice(&src[off..off + want]).unwrap()
            } as u64;
        }
        smol::ingress(&mut cli, now, o.per_packet);
        smol::egress(&mut cli, now);
        smol::ingress(&mut srv, now, o.per_packet);
        smol::egress(&mut srv, now);
        let s = srv.sock();
        while s.can_recv() {
            let n = s.recv_slice(&mut dst).unwrap();
            if o.verify {
                let off = (rcvd % 251) as usize;
                assert!(
                    dst[..n] == src[off..off + n],
                    "smoltcp: corrupt data at {rcvd}"
                );
            }
            rcvd += n as u64;
        }
        if (pipe.total_pkts(), sent, rcvd) == before {
            idle += 1;
            assert!(idle < 100_000, "smoltcp W1 stalled");
            now = smol::advance(now, &mut cli, &mut srv);
        } else {
            idle = 0;
        }
    }
    W1Run {
        secs: t0.elapsed().as_secs_f64(),
        bytes: rcvd,
        c2s: pipe.stats[CLIENT].get(),
        s2c: pipe.stats[SERVER].get(),
        allocs: ALLOCS.load(Relaxed) - a0,
    }
}

// ---------------------------------------------------------------------------
// W2 churn.
// ---------------------------------------------------------------------------
#[derive(Default, Clone, Copy, Debug)]
struct W2Run {
    secs: f64,
    conns: u64,
    c2s: DirStats,
    s2c: DirStats,
}

/// W2 for tcpstate, through two `tcpstate::Endpoint`s (client and server:
/// listener, accept queue, TIME-WAIT table) over the same `Pipe` as W1,
/// with the same per-connection script as `w2_smoltcp`: connect, 100 B each
/// way, the client closes, then the server, and the client's TIME-WAIT
/// entry expires on the virtual clock. The Endpoints emit and take TCP
/// segments; the harness adds and checks the IPv4 header as `ts` does.
fn w2_tcpstate(n: u64, csum: bool, verify: bool) -> Option<W2Run> {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use tcpstate::wire::checksum;
    use tcpstate::{Ecn, Endpoint, EndpointConfig, EndpointEvent as Ev, Handle, Instant, State};

    const C_IP: [u8; 4] = [198, 51, 100, 1];
    const S_IP: [u8; 4] = [192, 0, 2, 1];

    /// Every segment `ep` has, as IPv4 packets into the pipe. A buffer is
    /// taken from the pool only for a packet, as smoltcp's `TxToken` does:
    /// the one polled for nothing waits in `spare` for the next call.
    fn egress(
        ep: &mut Endpoint,
        now: Instant,
        pipe: &Pipe,
        side: usize,
        csum: bool,
        spare: &mut Option<Box<[u8]>>,
    ) {
        loop {
            let mut buf = spare.take().unwrap_or_else(|| pipe.take_buf());
            let Some(d) = ep.poll_transmit(now, &mut buf[20..]) else {
                *spare = Some(buf);
                return;
            };
            let (IpAddr::V4(s), IpAddr::V4(t)) = (d.src, d.dst) else {
                panic!("IPv4 only");
            };
            let (s, t) = (s.octets(), t.octets());
            // The IP header right in front of the TCP segment.
            let start = d.start;
            let tl = ((20 + d.len()) as u16).to_be_bytes();
            buf[start..start + 20].copy_from_slice(&[
                0x45, 0, tl[0], tl[1], 0, 0, 0x40, 0, 64, 6, 0, 0, s[0], s[1], s[2], s[3], t[0],
                t[1], t[2], t[3],
            ]);
            if csum {
                let c = !checksum::fold(checksum::ones_complement_sum(&buf[start..start + 20], 0));
                buf[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
            }
            pipe.send(
                side,
                Pkt {
                    buf,
                    start,
                    len: 20 + d.len(),
                },
            );
        }
    }

    /// Every packet waiting for `side`, IPv4 header checked, into `ep`.
    fn ingress(ep: &mut Endpoint, now: Instant, pipe: &Pipe, side: usize, csum: bool) {
        while let Some(p) = pipe.recv(side) {
            let b = &p.buf[p.start..p.start + p.len];
            let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
            let ok = b[0] == 0x45
                && b[9] == 6
                && (20..=b.len()).contains(&total)
                && (!csum || checksum::fold(checksum::ones_complement_sum(&b[..20], 0)) == 0xffff);
            if ok {
                let src = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
                let dst = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
                ep.on_datagram(
                    now,
                    src.into(),
                    dst.into(),
                    Ecn::from_bits(b[1]),
                    &b[20..total],
                );
            }
            pipe.give_back(p.buf);
        }
    }

    fn timers(ep: &mut Endpoint, now: Instant) {
        if ep.next_deadline().is_some_and(|d| d <= now) {
            ep.on_timer(now);
        }
    }

    let cfg = |ip: [u8; 4]| {
        let mut c = EndpointConfig::rfc9293();
        // Same wire format as smoltcp's defaults (as in W1): no timestamps.
        c.conn.timestamps = false;
        c.rx_buffer = 4096;
        c.tx_buffer = 4096;
        c.with_local_addr(Ipv4Addr::from(ip)).expect("unicast")
    };
    let pipe = Pipe::new();
    let mut cli = Endpoint::new(cfg(C_IP), [1; 16]).expect("valid config");
    let mut srv = Endpoint::new(cfg(S_IP), [2; 16]).expect("valid config");
    let server = SocketAddr::new(Ipv4Addr::from(S_IP).into(), 80);
    let listener = srv.listen(server, 128).expect("listen");
    let req: Vec<u8> = (0..100u8).collect();
    let resp: Vec<u8> = (0..100u8).map(|b| b ^ 0xa5).collect();
    let mut tmp = [0u8; 256];
    let mut now = Instant::ZERO;
    let mut spare = None;
    let t0 = Wall::now();
    for i in 0..n {
        let port = 49152 + (i % 16000) as u16;
        let local = SocketAddr::new(Ipv4Addr::from(C_IP).into(), port);
        let c = cli.connect(now, Some(local), server).expect("connect");
        let mut s: Option<Handle> = None;
        let (mut c_sent, mut c_got, mut c_closed) = (false, Vec::new(), false);
        let (mut s_got, mut s_sent, mut s_closed) = (Vec::new(), false, false);
        let mut idle = 0u32;
        loop {
            let before = (
                pipe.total_pkts(),
                c_sent,
                c_got.len(),
                c_closed,
                s.is_some(),
                s_got.len(),
                s_sent,
                s_closed,
            );
            ingress(&mut cli, now, &pipe, CLIENT, csum);
            egress(&mut cli, now, &pipe, CLIENT, csum, &mut spare);
            ingress(&mut srv, now, &pipe, SERVER, csum);
            egress(&mut srv, now, &pipe, SERVER, csum, &mut spare);
            // The events only wake the application; the script below
            // checks the states itself, as the smoltcp side does.
            while let Some(e) = cli.poll_event() {
                if let Ev::Closed(h, r) = e {
                    panic!("tcpstate W2: client {h} closed early: {r:?}");
                }
            }
            while let Some(e) = srv.poll_event() {
                match e {
                    Ev::Incoming(l) if l == listener && s.is_none() => {
                        s = srv.accept(listener);
                    }
                    Ev::Closed(h, r) => panic!("tcpstate W2: server {h} closed early: {r:?}"),
                    _ => {}
                }
            }
            if !c_closed {
                let st = cli.connection(c).map(|k| k.state());
                if !c_sent && st == Some(State::Established) {
                    assert_eq!(cli.send(now, c, &req).expect("send"), 100);
                    c_sent = true;
                }
                // Read only what is there, as the smoltcp side checks
                // `can_recv()` first.
                while cli.connection(c).is_some_and(|k| k.recv_queue() > 0) {
                    let k = cli.recv(now, c, &mut tmp).expect("recv");
                    c_got.extend_from_slice(&tmp[..k]);
                }
                if c_got.len() == 100 {
                    cli.close(now, c).expect("close");
                    c_closed = true;
                }
            }
            if let Some(h) = s.filter(|_| !s_closed) {
                while srv.connection(h).is_some_and(|k| k.recv_queue() > 0) {
                    let k = srv.recv(now, h, &mut tmp).expect("recv");
                    s_got.extend_from_slice(&tmp[..k]);
                }
                if s_got.len() == 100 && !s_sent {
                    assert_eq!(srv.send(now, h, &resp).expect("send"), 100);
                    s_sent = true;
                }
                let st = srv.connection(h).map(|k| k.state());
                if s_sent && st == Some(State::CloseWait) {
                    srv.close(now, h).expect("close");
                    s_closed = true;
                }
            }
            egress(&mut cli, now, &pipe, CLIENT, csum, &mut spare);
            egress(&mut srv, now, &pipe, SERVER, csum, &mut spare);
            // Done: both connections gone, the client's TIME-WAIT expired.
            let c_done = c_closed && cli.connection_count() == 0 && cli.time_wait_count() == 0;
            let s_done = s_closed && srv.connection_count() == 0 && srv.time_wait_count() == 0;
            if c_done && s_done {
                break;
            }
            let after = (
                pipe.total_pkts(),
                c_sent,
                c_got.len(),
                c_closed,
                s.is_some(),
                s_got.len(),
                s_sent,
                s_closed,
            );
            if after == before {
                idle += 1;
                assert!(idle < 10_000, "tcpstate W2 stalled in connection {i}");
                let next = [cli.next_deadline(), srv.next_deadline()]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or_else(|| panic!("tcpstate W2 stalled in connection {i}: no timer"));
                now = next.max(Instant::from_micros(now.as_micros() + 1));
                timers(&mut cli, now);
                timers(&mut srv, now);
            } else {
                idle = 0;
            }
        }
        if verify {
            assert_eq!(s_got, req, "tcpstate W2: request bytes");
            assert_eq!(c_got, resp, "tcpstate W2: response bytes");
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    if verify {
        // Every connection went through the client's TIME-WAIT table and the
        // server's listener, and nothing was retransmitted or reset.
        let (kc, ks) = (cli.counters(), srv.counters());
        assert_eq!(kc.time_wait_entered, n, "tcpstate W2: client TIME-WAIT");
        assert_eq!(ks.time_wait_entered, 0, "tcpstate W2: server TIME-WAIT");
        assert_eq!(ks.passive_opens, n, "tcpstate W2: accepted");
        assert_eq!(
            kc.retrans_segs + ks.retrans_segs,
            0,
            "tcpstate W2: retransmits"
        );
        assert_eq!(kc.out_rsts + ks.out_rsts, 0, "tcpstate W2: resets");
    }
    Some(W2Run {
        secs,
        conns: n,
        c2s: pipe.stats[CLIENT].get(),
        s2c: pipe.stats[SERVER].get(),
    })
}

fn w2_smoltcp(n: u64, csum: bool, verify: bool) -> W2Run {
    use smol::{Instant, TcpState};
    let pipe = Pipe::new();
    let mut cli = smol::host(&pipe, CLIENT, 65536, csum);
    let mut srv = smol::host(&pipe, SERVER, 65536, csum);
    let req: Vec<u8> = (0..100u8).collect();
    let resp: Vec<u8> = (0..100u8).map(|b| b ^ 0xa5).collect();
    let mut tmp = [0u8; 256];
    let mut now = Instant::ZERO;
    let t0 = Wall::now();
    for i in 0..n {
        srv.sock().listen(80).unwrap();
        let port = 49152 + (i % 16000) as u16;
        let h = cli.handle;
        let cx = cli.iface.context();
        cli.sockets
            .get_mut::<smoltcp::socket::tcp::Socket>(h)
            .connect(cx, (smoltcp::wire::IpAddress::v4(127, 0, 0, 2), 80), port)
            .unwrap();
        let (mut c_sent, mut c_got, mut c_closed) = (false, Vec::new(), false);
        let (mut s_got, mut s_sent, mut s_closed) = (Vec::new(), false, false);
        let mut idle = 0u32;
        loop {
            let before = (
                pipe.total_pkts(),
                c_sent,
                c_got.len(),
                c_closed,
                s_got.len(),
                s_sent,
                s_closed,
            );
            smol::ingress(&mut cli, now, false);
            smol::egress(&mut cli, now);
            smol::ingress(&mut srv, now, false);
            smol::egress(&mut srv, now);
            let c = cli.sock();
            if !c_sent && c.may_send() {
                assert_eq!(c.send_slice(&req).unwrap(), 100);
                c_sent = true;
            }
            while c.can_recv() {
                let k = c.recv_slice(&mut tmp).unwrap();
                c_got.extend_from_slice(&tmp[..k]);
            }
            if c_got.len() == 100 && !c_closed {
                c.close();
                c_closed = true;
            }
            let c_done = c_closed && c.state() == TcpState::Closed;
            let s = srv.sock();
            while s.can_recv() {
                let k = s.recv_slice(&mut tmp).unwrap();
                s_got.extend_from_slice(&tmp[..k]);
            }
            if s_got.len() == 100 && !s_sent {
                assert_eq!(s.send_slice(&resp).unwrap(), 100);
                s_sent = true;
            }
            if s_sent && !s_closed && s.state() == TcpState::CloseWait {
                s.close();
                s_closed = true;
            }
            let s_done = s_closed && s.state() == TcpState::Closed;
            if c_done && s_done {
                break;
            }
            let after = (
                pipe.total_pkts(),
                c_sent,
                c_got.len(),
                c_closed,
                s_got.len(),
                s_sent,
                s_closed,
            );
            if after == before {
                idle += 1;
                assert!(idle < 10_000, "smoltcp W2 stalled in connection {i}");
                now = smol::advance(now, &mut cli, &mut srv);
            } else {
                idle = 0;
            }
        }
        if verify {
            assert_eq!(s_got, req, "smoltcp W2: request bytes");
            assert_eq!(c_got, resp, "smoltcp W2: response bytes");
        }
    }
    W2Run {
        secs: t0.elapsed().as_secs_f64(),
        conns: n,
        c2s: pipe.stats[CLIENT].get(),
        s2c: pipe.stats[SERVER].get(),
    }
}

// ---------------------------------------------------------------------------
// W4: one pass of W1 traffic (per-packet) for callgrind, and the table.
// ---------------------------------------------------------------------------
/// Runs `segs` full-sized data segments client -> server; callgrind counts
/// only `w4_rx_*` (the server's receive path of each packet) or `w4_tx_*`
/// (the client's send path).
fn w4_pass(engine: &str, segs: u64, csum: bool) {
    let o = W1Opts {
        total: segs * 1460,
        buf: 65536,
        csum,
        per_packet: true,
        verify: true,
    };
    let r = match engine {
        "tcpstate" => w1_tcpstate(o),
        "smoltcp" => w1_smoltcp(o),
        e => panic!("unknown engine {e}"),
    };
    println!(
        "w4 pass {engine}: {} data segments c->s, {} segments s->c",
        r.c2s.data, r.s2c.pkts
    );
}

/// Instructions in `w4_<path>_<engine>` for a pass of `segs` segments,
/// and the data segments the pass counted; None when valgrind is not
/// there.
fn w4_pass_ir(path: &str, engine: &str, segs: u64, csum: bool, fused: bool) -> Option<(u64, u64)> {
    let mut args = vec!["--w4".to_string(), engine.into(), segs.to_string()];
    if !csum {
        args.push("--no-csum".into());
    }
    if fused {
        args.push("--fused".into());
    }
    let (ir, stdout) = callgrind(Some(&format!("*w4_{path}_{engine}*")), &args)?;
    let data = stdout
        .lines()
        .find_map(|l| l.split(": ").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some((ir, data))
}

/// Ir per in-order data segment: (Ir(N2) - Ir(N1)) / (segs(N2) - segs(N1)).
fn w4_ir(path: &str, engine: &str, n1: u64, n2: u64, csum: bool, fused: bool) -> Option<f64> {
    let (i1, d1) = w4_pass_ir(path, engine, n1, csum, fused)?;
    let (i2, d2) = w4_pass_ir(path, engine, n2, csum, fused)?;
    Some((i2 - i1) as f64 / (d2 - d1) as f64)
}

// ---------------------------------------------------------------------------
// Reporting.
// ---------------------------------------------------------------------------
fn mmm(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    (s[0], m, s[s.len() - 1])
}

struct Report {
    lines: Vec<String>,
    json: Vec<String>,
}

struct Row<'a> {
    workload: &'a str,
    unit: &'a str,
    /// Larger is better (MB/s, conn/s) or smaller is better (bytes, Ir).
    higher_better: bool,
    ts: Option<Vec<f64>>,
    smol: Vec<f64>,
    /// Free-form extra fields for the JSON object and the detail line.
    extra: Vec<(String, String)>,
}

impl Report {
    fn row(&mut self, r: Row<'_>) {
        let (smin, smed, smax) = mmm(&r.smol);
        let mut j = String::new();
        let _ = write!(
            j,
            "{{\"workload\":\"{}\",\"unit\":\"{}\",\"smoltcp\":{{\"min\":{smin:.3},\"median\":{smed:.3},\"max\":{smax:.3},\"runs\":{}}}",
            r.workload,
            r.unit,
            r.smol.len()
        );
        let line = match &r.ts {
            Some(ts) => {
                let (tmin, tmed, tmax) = mmm(ts);
                let ratio = if r.higher_better {
                    tmed / smed
                } else {
                    smed / tmed
                };
                let _ = write!(
                    j,
                    ",\"tcpstate\":{{\"min\":{tmin:.3},\"median\":{tmed:.3},\"max\":{tmax:.3},\"runs\":{}}},\"ratio\":{ratio:.3}",
                    ts.len()
                );
                let spread = if ts.len() > 1 {
                    format!(
                        "   [tcpstate min {tmin:.1} max {tmax:.1}; smoltcp min {smin:.1} max {smax:.1}; n={}]",
                        ts.len()
                    )
                } else {
                    String::new()
                };
                format!(
                    "{} tcpstate {tmed:.1} smoltcp {smed:.1} {} ratio {ratio:.2}{spread}",
                    r.workload, r.unit
                )
            }
            None => {
                let _ = write!(j, ",\"tcpstate\":null,\"ratio\":null");
                format!(
                    "{} tcpstate - smoltcp {smed:.1} {} ratio -   [smoltcp min {smin:.1} max {smax:.1}; n={}]",
                    r.workload,
                    r.unit,
                    r.smol.len()
                )
            }
        };
        for (k, v) in &r.extra {
            let _ = write!(j, ",\"{k}\":{v}");
        }
        j.push('}');
        println!("{line}");
        self.lines.push(line);
        self.json.push(j);
    }
}

fn seg_json(r: &W1Run) -> String {
    let acks = r.s2c.pure_ack.max(1);
    format!(
        "{{\"data\":{},\"pure_ack\":{},\"ctl\":{},\"c2s_pkts\":{},\"s2c_pkts\":{},\"data_per_ack\":{:.2},\"allocs\":{}}}",
        r.c2s.data + r.s2c.data,
        r.c2s.pure_ack + r.s2c.pure_ack,
        r.c2s.ctl + r.s2c.ctl,
        r.c2s.pkts,
        r.s2c.pkts,
        r.c2s.data as f64 / acks as f64,
        r.allocs
    )
}

fn seg_text(r: &W1Run) -> String {
    format!(
        "{} data + {} pure ACK + {} ctl segments, 1 ACK per {:.1} data, {} allocs",
        r.c2s.data + r.s2c.data,
        r.c2s.pure_ack + r.s2c.pure_ack,
        r.c2s.ctl + r.s2c.ctl,
        r.c2s.data as f64 / r.s2c.pure_ack.max(1) as f64,
        r.allocs
    )
}

fn run_w1(rep: &mut Report, name: &str, o: W1Opts, reps: usize, callgrind: bool) {
    // One verified run each (every byte compared), also the warm-up.
    let vt = w1_tcpstate(W1Opts { verify: true, ..o });
    let vs = w1_smoltcp(W1Opts { verify: true, ..o });
    assert_eq!(vt.bytes, o.total);
    assert_eq!(vs.bytes, o.total);
    let (mut ts, mut sm) = (Vec::new(), Vec::new());
    let (mut lt, mut ls) = (W1Run::default(), W1Run::default());
    for i in 0..reps {
        // Alternate which engine goes first.
        let mut one = |ts_first: bool| {
            if ts_first {
                lt = w1_tcpstate(o);
                ts.push(lt.bytes as f64 / lt.secs / 1e6);
            } else {
                ls = w1_smoltcp(o);
                sm.push(ls.bytes as f64 / ls.secs / 1e6);
            }
        };
        one(i % 2 == 0);
        one(i % 2 != 0);
    }
    // The floor: no protocol, only the copies and checksums both engines
    // do (see `w1_bound`), measured for every row. It moves the bytes in
    // windows whatever the row's discipline: the copies per byte are the
    // same one packet at a time, and only the protocol's per-segment work
    // (what the floor leaves out) differs.
    let (b4, b3) = {
        let mut b4 = Vec::new();
        let mut b3 = Vec::new();
        for _ in 0..reps {
            b4.push(w1_bound(o, false));
            b3.push(w1_bound(o, true));
        }
        (mmm(&b4).1, mmm(&b3).1)
    };
    let smed = mmm(&sm).1;
    let tmed = mmm(&ts).1;
    // Instructions per data segment (callgrind), when valgrind is there:
    // the same comparison with the 3-copy floor, deterministic.
    let in_place = IN_PLACE.load(Relaxed);
    let ir = |engine: &str| callgrind.then(|| w1_ir(engine, o, in_place)).flatten();
    let irs = match (ir("tcpstate"), ir("smoltcp"), ir("floor3")) {
        (Some(t), Some(s), Some(f)) => Some((t, s, f)),
        _ => None,
    };
    let mut extra = vec![
        ("bytes".into(), o.total.to_string()),
        ("segments_tcpstate".into(), seg_json(&lt)),
        ("segments_smoltcp".into(), seg_json(&ls)),
        ("floor_4copies".into(), format!("{b4:.1}")),
        ("floor_3copies".into(), format!("{b3:.1}")),
        (
            "tcpstate_of_floor_3copies".into(),
            format!("{:.3}", tmed / b3),
        ),
        ("verified".into(), "true".into()),
    ];
    if let Some((t, s, f)) = irs {
        extra.push(("ir_per_seg_tcpstate".into(), format!("{t:.0}")));
        extra.push(("ir_per_seg_smoltcp".into(), format!("{s:.0}")));
        extra.push(("ir_per_seg_floor3".into(), format!("{f:.0}")));
        extra.push((
            "tcpstate_of_floor_3copies_ir".into(),
            format!("{:.3}", f / t),
        ));
    }
    rep.row(Row {
        workload: name,
        unit: "MB/s",
        higher_better: true,
        ts: Some(ts),
        smol: sm,
        extra,
    });
    let l1 = format!("    tcpstate: {}", seg_text(&lt));
    let l2 = format!("    smoltcp:  {}", seg_text(&ls));
    println!("{l1}\n{l2}");
    rep.lines.push(l1);
    rep.lines.push(l2);
    let what = if o.csum {
        "4 copies + 2 checksums"
    } else {
        "4 copies"
    };
    let l3 = format!(
        "    floor, no protocol at all ({what} per byte): {b4:.1} MB/s = {:.2} x smoltcp; receive copy skipped: {b3:.1} MB/s = {:.2} x; tcpstate at {:.0} % of the 3-copy floor",
        b4 / smed,
        b3 / smed,
        100.0 * tmed / b3
    );
    println!("{l3}");
    rep.lines.push(l3);
    let l4 = match irs {
        Some((t, s, f)) => format!(
            "    callgrind: Ir per data segment tcpstate {t:.0}, smoltcp {s:.0}, 3-copy floor {f:.0}: tcpstate at {:.0} % of the floor in instructions",
            100.0 * f / t
        ),
        None => {
            "    callgrind: Ir per data segment not measured (valgrind not available, or --no-w4)"
                .into()
        }
    };
    println!("{l4}");
    rep.lines.push(l4);
}

fn run_w2(rep: &mut Report, n: u64, reps: usize, callgrind: bool) {
    let _ = w2_smoltcp(n.min(2000), true, true); // warm-up, verified
    let ts_ok = w2_tcpstate(n.min(2000), true, true).is_some(); // the same
    let (mut ts, mut sm) = (Vec::new(), Vec::new());
    let (mut lt, mut ls) = (W2Run::default(), W2Run::default());
    for i in 0..reps {
        // Alternate which engine goes first.
        let mut one = |ts_first: bool| {
            if ts_first {
                if let Some(r) = w2_tcpstate(n, true, false) {
                    lt = r;
                    ts.push(r.conns as f64 / r.secs);
                }
            } else {
                ls = w2_smoltcp(n, true, false);
                sm.push(ls.conns as f64 / ls.secs);
            }
        };
        one(i % 2 == 0);
        one(i % 2 != 0);
    }
    if !ts_ok {
        let l = "W2 tcpstate skipped: Endpoint not merged yet".to_string();
        println!("{l}");
        rep.lines.push(l);
    }
    let per = |r: &W2Run| (r.c2s.pkts + r.s2c.pkts) as f64 / r.conns.max(1) as f64;
    let (st, ss) = (per(&lt), per(&ls));
    let mut extra = vec![
        ("connections".into(), n.to_string()),
        ("segments_per_conn_smoltcp".into(), format!("{ss:.2}")),
        ("verified".into(), "true".into()),
    ];
    if ts_ok {
        extra.push(("segments_per_conn_tcpstate".into(), format!("{st:.2}")));
    }
    // Instructions per connection (callgrind), when valgrind is there.
    // (`--no-w4` skips valgrind here too.)
    let ir = |engine: &str| callgrind.then(|| w2_ir(engine, 2000, 4000)).flatten();
    let (it, is) = (if ts_ok { ir("tcpstate") } else { None }, ir("smoltcp"));
    let js = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.0}"));
    extra.push((
        "ir_per_conn".into(),
        format!("{{\"tcpstate\":{},\"smoltcp\":{}}}", js(it), js(is)),
    ));
    rep.row(Row {
        workload: "W2-churn",
        unit: "conn/s",
        higher_better: true,
        ts: ts_ok.then_some(ts),
        smol: sm,
        extra,
    });
    if ts_ok {
        let l = format!(
            "    tcpstate: {st:.2} segments per connection, checksums on, Endpoint pair (listener, accept, TIME-WAIT table), fresh connection, 4 KiB buffers"
        );
        println!("{l}");
        rep.lines.push(l);
    }
    let l = format!(
        "    smoltcp:  {ss:.2} segments per connection, checksums on, socket reused, 64 KiB buffers"
    );
    println!("{l}");
    rep.lines.push(l);
    let l = match (it, is) {
        (Some(t), Some(s)) => format!(
            "    callgrind: tcpstate {t:.0} Ir per connection, smoltcp {s:.0} (ratio {:.2})",
            s / t
        ),
        _ => "    callgrind: Ir per connection not measured (valgrind not available)".to_string(),
    };
    println!("{l}");
    rep.lines.push(l);
}

/// This program run with `args` under valgrind's callgrind, counting
/// only inside the functions `toggle` names (`--toggle-collect`), or
/// everything: the instructions counted and what the run printed. None
/// without valgrind, or if the run fails.
fn callgrind(toggle: Option<&str>, args: &[String]) -> Option<(u64, String)> {
    let exe = std::env::current_exe().ok()?;
    let out = std::env::temp_dir().join(format!("tcpstate-cg-{}.out", std::process::id()));
    let mut cmd = std::process::Command::new("valgrind");
    cmd.arg("--tool=callgrind");
    if let Some(t) = toggle {
        cmd.arg(format!("--toggle-collect={t}"));
    }
    let o = cmd
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .args(args)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&out);
    if !o.status.success() {
        eprintln!("callgrind failed: {}", String::from_utf8_lossy(&o.stderr));
        return None;
    }
    let ir = String::from_utf8_lossy(&o.stderr)
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|v| v.trim().parse().ok())?;
    Some((ir, String::from_utf8_lossy(&o.stdout).into_owned()))
}

/// Instructions per W2 connection: the whole program under callgrind at
/// `n1` and at `n2` connections (`--w2 ENGINE N`), the difference over
/// `n2 - n1`, so that start-up and warm-up cancel out. None without
/// valgrind.
fn w2_ir(engine: &str, n1: u64, n2: u64) -> Option<f64> {
    let run = |n: u64| callgrind(None, &["--w2".into(), engine.into(), n.to_string()]).map(|r| r.0);
    let (i1, i2) = (run(n1)?, run(n2)?);
    Some(i2.saturating_sub(i1) as f64 / (n2 - n1) as f64)
}

/// Instructions per 1460-byte W1 data segment for `engine` (tcpstate,
/// smoltcp, or `floor3`, the 3-copy floor) with `o`'s discipline and
/// checksums, and `in_place` for the `send_with` row: the whole program
/// under callgrind at 4 and at 12 MiB (`--one`), the difference over the
/// segments between. Deterministic, where W1's MB/s spreads widely from
/// run to run on a shared machine (`benches/w1_ir.sh` also splits the
/// figure by source file). None without valgrind.
fn w1_ir(engine: &str, o: W1Opts, in_place: bool) -> Option<f64> {
    let run = |mib: u64| {
        let mut a = vec!["--one".to_string(), engine.into(), mib.to_string()];
        a.push(if o.per_packet { "per-packet" } else { "batch" }.into());
        if !o.csum {
            a.push("--no-csum".into());
        }
        if in_place {
            a.push("--in-place".into());
        }
        callgrind(None, &a).map(|r| r.0)
    };
    const MIB: (u64, u64) = (4, 12);
    let (i1, i2) = (run(MIB.0)?, run(MIB.1)?);
    // Every run moves whole 1460-byte segments of a MiB-multiple stream.
    let segs = ((MIB.1 - MIB.0) << 20) as f64 / 1460.0;
    Some(i2.saturating_sub(i1) as f64 / segs)
}

fn run_w3(rep: &mut Report) {
    use std::mem::size_of;
    let t_box = size_of::<ts::Conn>();
    let t_vec = size_of::<tcpstate::Connection<Vec<u8>>>();
    let t_ref = size_of::<tcpstate::Connection<&'static mut [u8]>>();
    let s = size_of::<smoltcp::socket::tcp::Socket<'static>>();
    let slot = size_of::<smoltcp::iface::SocketStorage<'static>>();
    rep.row(Row {
        workload: "W3-memory",
        unit: "B",
        higher_better: false,
        ts: Some(vec![t_box as f64]),
        smol: vec![s as f64],
        extra: vec![
            ("tcpstate_connection_vec".into(), t_vec.to_string()),
            ("tcpstate_connection_slice".into(), t_ref.to_string()),
            (
                "tcpstate_config".into(),
                size_of::<tcpstate::Config>().to_string(),
            ),
            ("smoltcp_socket_slot".into(), slot.to_string()),
        ],
    });
    let l = format!(
        "    size_of Connection<Box<[u8]>> {t_box} B, <Vec<u8>> {t_vec} B, <&mut [u8]> {t_ref} B (Config {} B); smoltcp tcp::Socket {s} B, SocketStorage slot {slot} B",
        size_of::<tcpstate::Config>()
    );
    println!("{l}");
    rep.lines.push(l);
    // Where tcpstate's bytes go.
    let parts = tcpstate::connection::layout::<Box<[u8]>>();
    let named: usize = parts.iter().map(|p| p.1).sum();
    let mut l = String::from("    tcpstate parts:");
    for (name, bytes) in &parts {
        let _ = write!(l, " {name} {bytes} B,");
    }
    let _ = write!(
        l,
        " the rest {} B (sequence variables, times, counts, flags)",
        t_box.saturating_sub(named)
    );
    println!("{l}");
    rep.lines.push(l);
    // With `alloc`, the SACK scoreboard and the reassembly ranges live in a
    // box each only while loss recovery or reordering needs them.
    let boxes = tcpstate::connection::heap_layout();
    let mut l = String::from(
        "    tcpstate heap beside the buffers: 0 B in steady state; while recovering or reassembling:",
    );
    for (name, bytes) in &boxes {
        let _ = write!(l, " {name} {bytes} B,");
    }
    let _ = write!(
        l,
        " up to {} B in all (each box freed when its last hole closes)",
        boxes.iter().map(|b| b.1).sum::<usize>()
    );
    println!("{l}");
    rep.lines.push(l);
}

fn run_w4(rep: &mut Report, quick: bool) {
    let (n1, n2) = if quick { (200, 1200) } else { (2000, 12000) };
    // W4-rx-fused: tcpstate's host hands the engine unverified segments
    // (`on_segment_unverified`); smoltcp's side is W4-rx's.
    for (name, path, csum, fused) in [
        ("W4-rx", "rx", true, false),
        ("W4-rx-fused", "rx", true, true),
        ("W4-rx-nocsum", "rx", false, false),
        ("W4-tx", "tx", true, false),
        ("W4-tx-nocsum", "tx", false, false),
    ] {
        let t = w4_ir(path, "tcpstate", n1, n2, csum, fused);
        let s = w4_ir(path, "smoltcp", n1, n2, csum, false);
        match (t, s) {
            (Some(t), Some(s)) => rep.row(Row {
                workload: name,
                unit: "Ir/segment",
                higher_better: false,
                ts: Some(vec![t]),
                smol: vec![s],
                extra: vec![("segments".into(), format!("[{n1},{n2}]"))],
            }),
            _ => {
                let l = format!("{name} skipped: valgrind (callgrind) not available");
                println!("{l}");
                rep.lines.push(l);
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |f: &str| args.iter().any(|a| a == f);
    FUSED.store(has("--fused"), Relaxed);
    NO_DIRECT.store(has("--no-direct"), Relaxed);
    if let Some(i) = args.iter().position(|a| a == "--w4") {
        // W4 counts the copy into the receive ring (BENCHMARKS.md), unless
        // `--direct`.
        NO_DIRECT.store(!has("--direct"), Relaxed);
        let engine = args.get(i + 1).expect("--w4 ENGINE N");
        let n = args
            .get(i + 2)
            .and_then(|v| v.parse().ok())
            .expect("--w4 ENGINE N");
        w4_pass(engine, n, !has("--no-csum"));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--w2") {
        // One W2 run of one engine, for profilers: --w2 ENGINE N
        let engine = args.get(i + 1).expect("--w2 ENGINE N");
        let n: u64 = args
            .get(i + 2)
            .and_then(|v| v.parse().ok())
            .expect("--w2 ENGINE N");
        let r = if engine == "tcpstate" {
            w2_tcpstate(n, true, true).expect("tcpstate W2")
        } else {
            w2_smoltcp(n, true, true)
        };
        let segs = (r.c2s.pkts + r.s2c.pkts) as f64 / r.conns.max(1) as f64;
        println!(
            "{engine}: {:.0} conn/s, {segs:.2} segments per connection",
            r.conns as f64 / r.secs
        );
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--one") {
        // One W1 run of one engine, for profilers:
        // --one ENGINE MIB batch|per-packet [--no-csum]; ENGINE is
        // tcpstate, smoltcp, floor (4 copies) or floor3 (3 copies).
        let engine = args.get(i + 1).expect("--one ENGINE MIB batch|per-packet");
        let mib: u64 = args.get(i + 2).and_then(|v| v.parse().ok()).expect("MIB");
        let o = W1Opts {
            total: mib << 20,
            buf: 65536,
            csum: !has("--no-csum"),
            per_packet: args.get(i + 3).is_some_and(|d| d == "per-packet"),
            verify: false,
        };
        // `--in-place`: the W1-batch-sendwith row's way to write.
        IN_PLACE.store(has("--in-place"), Relaxed);
        if engine == "floor" || engine == "floor3" {
            // The no-protocol floor alone (`floor3`: the receive copy
            // skipped), for callgrind: per-byte work with no engine.
            let mbs = w1_bound(o, engine == "floor3");
            println!("{engine}: {mbs:.1} MB/s");
            return;
        }
        let r = if engine == "tcpstate" {
            w1_tcpstate(o)
        } else {
            w1_smoltcp(o)
        };
        println!(
            "{engine}: {:.1} MB/s; {}",
            r.bytes as f64 / r.secs / 1e6,
            seg_text(&r)
        );
        return;
    }
    if has("--csum-micro") {
        // ns per checksum of a 1480-byte TCP segment (IPv4 pseudo-header).
        let seg: Vec<u8> = (0..1480u32).map(|i| (i * 7) as u8).collect();
        let n = 200_000u32;
        let mut x = 0u16;
        let mut ns = f64::MAX;
        // The fastest of 20 rounds: the one least disturbed by other tenants.
        for _ in 0..20 {
            let t = Wall::now();
            for i in 0..n {
                let s = std::hint::black_box(&seg[..]);
                x ^= tcpstate::wire::checksum::tcp_checksum_v4([1, 2, 3, 4], [5, 6, 7, i as u8], s);
            }
            ns = ns.min(t.elapsed().as_nanos() as f64 / f64::from(n));
        }
        println!(
            "tcpstate checksum 1480 B: {ns:.1} ns ({:.2} GB/s) [{x}]",
            1480.0 / ns
        );
        return;
    }
    if has("--w4-table") {
        let mut rep = Report {
            lines: vec![],
            json: vec![],
        };
        run_w4(&mut rep, has("--quick"));
        return;
    }
    let quick = has("--quick");
    let json = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1).cloned());
    let (mut mib, mut reps, w2n) = if quick {
        (16u64, 3, 5_000)
    } else {
        (256, 7, 100_000)
    };
    let num = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse::<u64>().expect("a number"))
    };
    mib = num("--mib").unwrap_or(mib);
    reps = num("--reps").map_or(reps, |r| r as usize);
    // `--only PREFIX`: run only the workloads whose name starts with it.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let pick = |name: &str| only.as_deref().is_none_or(|p| name.starts_with(p));
    println!(
        "compare: tcpstate vs smoltcp 0.14.0, one process, alternating; {} MiB per W1 run, {reps} runs; medians, ratio > 1 = tcpstate better",
        mib
    );
    let mut rep = Report {
        lines: vec![],
        json: vec![],
    };
    for (name, csum, per_packet) in [
        ("W1-batch", true, false),
        ("W1-perpacket", true, true),
        ("W1-batch-nocsum", false, false),
        ("W1-perpacket-nocsum", false, true),
        ("W1-batch-sendwith", true, false),
    ] {
        if !pick(name) {
            continue;
        }
        IN_PLACE.store(name.ends_with("sendwith"), Relaxed);
        let o = W1Opts {
            total: mib << 20,
            buf: 65536,
            csum,
            per_packet,
            verify: false,
        };
        run_w1(&mut rep, name, o, reps, !has("--no-w4"));
    }
    if pick("W2") {
        run_w2(&mut rep, w2n, reps, !has("--no-w4"));
    }
    if pick("W3") {
        run_w3(&mut rep);
    }
    if !has("--no-w4") && pick("W4") {
        run_w4(&mut rep, quick);
    }
    if let Some(path) = json {
        let body = format!("[\n{}\n]\n", rep.json.join(",\n"));
        std::fs::write(&path, body).expect("write json");
        println!("json written to {path}");
    }
}
