//! tcpstate on a real wire: an [`Endpoint`] over a Linux TUN device, on the
//! real clock, talking to the kernel's own TCP.
//!
//! Linux only; run as root, inside a network namespace of your own:
//!
//! ```text
//! ip netns add tcpst && ip netns exec tcpst ip link set lo up
//! ip netns exec tcpst target/debug/examples/tun --dev tun0 --local 192.0.2.2 \
//!     --kernel 192.0.2.1/24 serve --port 7 --echo --count 1 &
//! ip netns exec tcpst python3 -c 'import socket; s=socket.create_connection(("192.0.2.2",7)); s.sendall(b"hi"); s.shutdown(1); print(s.recv(9))'
//! ```
//!
//! # Command line
//!
//! ```text
//! tun --dev NAME --local IP --kernel IP/PREFIX [--config linux|rfc9293]
//!     [--drop-in PCT] [--drop-out PCT] [--reorder PCT] [--delay-ms N]
//!     [--ecn] [--ce-out PCT] [--seed N] [--pcap FILE] MODE
//! MODE: serve --port P (--echo | --sink) [--count K]
//!       connect --to IP:PORT [--send-random N] [--seed-data S] [--urgent U]
//! ```
//!
//! The device `NAME` is created in the current network namespace; the
//! kernel side gets `--kernel IP/PREFIX` and the Endpoint answers for
//! `--local IP` (an address of that prefix).
//!
//! Impairments, all inside this program and drawn from one generator seeded
//! by `--seed` (default 1): `--drop-in` drops a packet read from the device
//! before the Endpoint sees it, `--drop-out` drops a segment the Endpoint
//! sent before it is written to the device, `--reorder` holds a packet (either
//! way) back by `max(delay, 1 ms)` more so that later ones overtake it, and
//! `--delay-ms` delays every packet, each way. `--ecn` has the Endpoint ask
//! for ECN (RFC 3168; the kernel's default `tcp_ecn=2` accepts), and
//! `--ce-out` marks an ECN-capable segment the Endpoint sent CE (Congestion
//! Experienced) as a router would, so that the kernel echoes ECE.
//! `--pcap FILE` writes every
//! packet that crosses the device (as read, and as written) in pcap format
//! (LINKTYPE_RAW).
//!
//! The device is opened through the `tun-rs` crate with offload (Linux's
//! `IFF_VNET_HDR` and `TUNSETOFFLOAD`: TCP segmentation and checksum
//! offload, a `virtio_net_hdr` in front of every packet): the Endpoint
//! sends super-segments of up to 64 KiB (`EndpointConfig::gso_max`) that
//! the kernel splits, leaves checksums to the kernel, and takes the
//! kernel's unsegmented TCP output whole as coalesced segments (GRO).
//! Where the kernel refuses offload, or with `--no-offload`, packets cross
//! one per system call, said in one line. With drops, reordering or a
//! pcap, every super-segment is split into the packets a wire would carry
//! (`tcpstate::wire::gso::split`) before the impairment and the capture,
//! so that they act on wire-sized packets with or without offload.
//!
//! Modes:
//! - `serve --sink` reads each connection to its end, then closes, and prints
//!   `conn REMOTE bytes N sha256 HEX end REASON`.
//! - `serve --echo` writes back everything it reads, closes after the peer's
//!   FIN and prints `conn REMOTE echoed N end REASON`.
//! - `serve` exits after `--count` connections (default 1): 0 when all of
//!   them ended normally.
//! - `connect` sends N bytes (`--send-random N`, default 0) of the
//!   generator below, shuts down its write side, reads until the peer's FIN
//!   and closes. It prints `sent N sha256 HEX received M sha256 HEX end
//!   REASON` and `states ...`, every state the connection went through. It
//!   exits 0 on a clean close, and otherwise prints `error: REASON` and exits
//!   2 (refused), 3 (timed out), 4 (reset) or 5 (anything else). With
//!   `--urgent U` the last U of the N bytes go as urgent data
//!   (`send_urgent`, RFC 9293 §3.8.5).
//! - Urgent data that arrives prints `urgent mark OFFSET` (`conn REMOTE `
//!   first for `serve`): where it ends in the stream (`urgent_mark`).
//!
//! Every mode stops by itself after `--time-limit SECS` (default 120; exit
//! status 6). Each connection also prints `... states S1 S2 ...` and a
//! `throughput` line, and the run ends with a `stats` line.
//!
//! Options beyond the issue's command line, for the interop tests:
//! `--syn-retries N` (a short connect timeout), `--shutdown-first` (serve:
//! shut down the write side right after accept, for simultaneous close),
//! `--linger-ms N` (stay this long after the last connection ended, to
//! answer retransmitted FINs in TIME-WAIT; default 200) and
//! `--drop-time-wait-acks N` (drop the first N segments sent for a
//! connection after it entered TIME-WAIT: the last ACK of the close). A
//! `time-wait acks sent K dropped D` line reports those segments.
//!
//! # The data generator
//!
//! Block `i` (i = 0, 1, 2, ...) is `SHA-256(S as u64 little-endian || i as
//! u64 little-endian)`, 32 bytes; the stream is the blocks in order, cut at
//! N bytes. `tests/interop/peer.py` implements the same generator.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("examples/tun runs on Linux only");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::fs::File;
    use std::io::{BufWriter, ErrorKind, IoSlice, Read, Write};
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::os::fd::AsRawFd;
    use std::process::{Command, exit};
    use std::time::Instant as StdInstant;

    use sha2::{Digest, Sha256};
    use tcpstate::wire::{TcpHeader, checksum, gso};
    use tcpstate::{
        CloseReason, Ecn, Endpoint, EndpointConfig, EndpointEvent, Handle, Instant, ListenerId,
        State,
    };
    use tun_rs::{DeviceBuilder, SyncDevice};

    // ----- command line ------------------------------------------------

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Serve {
        Echo,
        Sink,
    }

    enum Mode {
        Serve {
            port: u16,
            kind: Serve,
            count: u32,
        },
        Connect {
            to: SocketAddr,
            send: u64,
            seed_data: u64,
            /// The last this-many bytes go as urgent data (`send_urgent`).
            urgent: u64,
        },
    }

    struct Args {
        dev: String,
        local: Ipv4Addr,
        kernel: String,
        config: EndpointConfig,
        drop_in: f64,
        drop_out: f64,
        reorder: f64,
        ce_out: f64,
        delay_us: u64,
        seed: u64,
        pcap: Option<String>,
        time_limit: u64,
        linger_ms: u64,
        shutdown_first: bool,
        drop_tw_acks: u32,
        offload: bool,
        mode: Mode,
    }

    const USAGE: &str =
        "usage: tun --dev NAME --local IP --kernel IP/PREFIX [--config linux|rfc9293]
           [--drop-in PCT] [--drop-out PCT] [--reorder PCT] [--delay-ms N]
           [--ecn] [--ce-out PCT] [--seed N] [--pcap FILE] [--time-limit SECS] [--syn-retries N]
           [--linger-ms N] [--drop-time-wait-acks N] [--no-offload] MODE
MODE: serve --port P (--echo | --sink) [--count K] [--shutdown-first]
      connect --to IP:PORT [--send-random N] [--seed-data S] [--urgent U]";

    fn usage(msg: &str) -> ! {
        eprintln!("error: {msg}\n{USAGE}");
        exit(64);
    }

    fn parse<T: std::str::FromStr>(opt: &str, v: Option<String>) -> T {
        let v = v.unwrap_or_else(|| usage(&format!("{opt} needs a value")));
        v.parse()
            .unwrap_or_else(|_| usage(&format!("bad value for {opt}: {v}")))
    }

    fn parse_args() -> Args {
        let mut it = std::env::args().skip(1);
        let (mut dev, mut local, mut kernel) = (None, None, None);
        let mut config = EndpointConfig::linux();
        let (mut drop_in, mut drop_out, mut reorder, mut delay_ms) = (0.0, 0.0, 0.0, 0u64);
        let (mut seed, mut pcap, mut time_limit, mut linger_ms) = (1u64, None, 120u64, 200u64);
        let mut syn_retries = None;
        let mut drop_tw_acks = 0;
        let mut offload = true;
        let (mut ecn, mut ce_out) = (false, 0.0);
        let mut mode_name = None;
        while let Some(a) = it.next() {
            match a.as_str() {
                "--dev" => dev = Some(parse::<String>(&a, it.next())),
                "--local" => local = Some(parse::<Ipv4Addr>(&a, it.next())),
                "--kernel" => kernel = Some(parse::<String>(&a, it.next())),
                "--config" => {
                    config = match parse::<String>(&a, it.next()).as_str() {
                        "linux" => EndpointConfig::linux(),
                        "rfc9293" => EndpointConfig::rfc9293(),
                        other => usage(&format!("unknown config {other}")),
                    }
                }
                "--drop-in" => drop_in = parse(&a, it.next()),
                "--drop-out" => drop_out = parse(&a, it.next()),
                "--reorder" => reorder = parse(&a, it.next()),
                "--ecn" => ecn = true,
                "--ce-out" => ce_out = parse(&a, it.next()),
                "--delay-ms" => delay_ms = parse(&a, it.next()),
                "--seed" => seed = parse(&a, it.next()),
                "--pcap" => pcap = Some(parse::<String>(&a, it.next())),
                "--time-limit" => time_limit = parse(&a, it.next()),
                "--linger-ms" => linger_ms = parse(&a, it.next()),
                "--syn-retries" => syn_retries = Some(parse::<u8>(&a, it.next())),
                "--drop-time-wait-acks" => drop_tw_acks = parse(&a, it.next()),
                "--no-offload" => offload = false,
                "serve" | "connect" => {
                    mode_name = Some(a);
                    break;
                }
                other => usage(&format!("unknown option {other}")),
            }
        }
        let mut shutdown_first = false;
        let mode = match mode_name.as_deref() {
            Some("serve") => {
                let (mut port, mut kind, mut count) = (None, None, 1);
                while let Some(a) = it.next() {
                    match a.as_str() {
                        "--port" => port = Some(parse::<u16>(&a, it.next())),
                        "--echo" => kind = Some(Serve::Echo),
                        "--sink" => kind = Some(Serve::Sink),
                        "--count" => count = parse(&a, it.next()),
                        "--shutdown-first" => shutdown_first = true,
                        other => usage(&format!("unknown serve option {other}")),
                    }
                }
                Mode::Serve {
                    port: port.unwrap_or_else(|| usage("serve needs --port")),
                    kind: kind.unwrap_or_else(|| usage("serve needs --echo or --sink")),
                    count,
                }
            }
            Some("connect") => {
                let (mut to, mut send, mut seed_data, mut urgent) = (None, 0, 0, 0);
                while let Some(a) = it.next() {
                    match a.as_str() {
                        "--to" => to = Some(parse::<SocketAddr>(&a, it.next())),
                        "--send-random" => send = parse(&a, it.next()),
                        "--seed-data" => seed_data = parse(&a, it.next()),
                        "--urgent" => urgent = parse(&a, it.next()),
                        other => usage(&format!("unknown connect option {other}")),
                    }
                }
                Mode::Connect {
                    to: to.unwrap_or_else(|| usage("connect needs --to")),
                    send,
                    seed_data,
                    urgent,
                }
            }
            _ => usage("MODE (serve or connect) missing"),
        };
        if let Some(n) = syn_retries {
            config.conn.syn_retries = n;
        }
        if ecn {
            config.conn.ecn = true;
        }
        Args {
            dev: dev.unwrap_or_else(|| usage("--dev missing")),
            local: local.unwrap_or_else(|| usage("--local missing")),
            kernel: kernel.unwrap_or_else(|| usage("--kernel missing")),
            config,
            drop_in,
            drop_out,
            reorder,
            ce_out,
            delay_us: delay_ms * 1000,
            seed,
            pcap,
            time_limit,
            linger_ms,
            shutdown_first,
            drop_tw_acks,
            offload,
            mode,
        }
    }

    // ----- the data generator and a seeded RNG -------------------------

    /// SHA-256 in counter mode (see the module docs).
    struct Generator {
        seed: u64,
        block: u64,
        buf: [u8; 32],
        pos: usize,
    }

    impl Generator {
        fn new(seed: u64) -> Self {
            Generator {
                seed,
                block: 0,
                buf: [0; 32],
                pos: 32,
            }
        }
        fn fill(&mut self, out: &mut [u8]) {
            for b in out {
                if self.pos == 32 {
                    let mut h = Sha256::new();
                    h.update(self.seed.to_le_bytes());
                    h.update(self.block.to_le_bytes());
                    self.buf.copy_from_slice(&h.finalize());
                    self.block += 1;
                    self.pos = 0;
                }
                *b = self.buf[self.pos];
                self.pos += 1;
            }
        }
    }

    /// splitmix64: the impairments' dice.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        /// True with probability `pct` percent.
        fn chance(&mut self, pct: f64) -> bool {
            pct > 0.0 && (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 100.0 < pct
        }
    }

    // ----- the TUN device ----------------------------------------------

    /// Creates TUN device `name` through tun-rs, with offload unless
    /// `offload` is false; where the kernel refuses offload, without it
    /// (said in one line). Returns the device and whether packets cross
    /// behind a `virtio_net_hdr`.
    fn open_tun(name: &str, offload: bool) -> std::io::Result<(SyncDevice, bool)> {
        if name.is_empty() || name.len() > 15 {
            return Err(std::io::Error::new(ErrorKind::InvalidInput, "bad name"));
        }
        let dev = if offload {
            match DeviceBuilder::new().name(name).offload(true).build_sync() {
                Ok(d) if d.tcp_gso() => Some(d),
                Ok(_) => {
                    eprintln!("tun {name}: no TCP offload: plain per-packet I/O");
                    None
                }
                Err(e) => {
                    eprintln!("tun {name}: the kernel refused offload ({e}): plain per-packet I/O");
                    None
                }
            }
        } else {
            None
        };
        let (dev, vnet) = match dev {
            Some(d) => (d, true),
            None => (DeviceBuilder::new().name(name).build_sync()?, false),
        };
        dev.set_nonblocking(true)?;
        Ok((dev, vnet))
    }

    /// The `virtio_net_hdr` (host byte order) in front of every packet
    /// with offload.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    struct Vnet {
        flags: u8,
        gso_type: u8,
        hdr_len: u16,
        gso_size: u16,
        csum_start: u16,
        csum_offset: u16,
    }

    const VNET_LEN: usize = 10;
    const VNET_NEEDS_CSUM: u8 = 1;
    const VNET_DATA_VALID: u8 = 2;
    const VNET_GSO_TCPV4: u8 = 1;
    const VNET_GSO_ECN: u8 = 0x80;

    impl Vnet {
        fn decode(b: &[u8]) -> Option<Vnet> {
            let b = b.get(..VNET_LEN)?;
            let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
            Some(Vnet {
                flags: b[0],
                gso_type: b[1],
                hdr_len: u(2),
                gso_size: u(4),
                csum_start: u(6),
                csum_offset: u(8),
            })
        }
        fn encode(&self) -> [u8; VNET_LEN] {
            let mut b = [0u8; VNET_LEN];
            b[0] = self.flags;
            b[1] = self.gso_type;
            for (i, v) in [
                (2, self.hdr_len),
                (4, self.gso_size),
                (6, self.csum_start),
                (8, self.csum_offset),
            ] {
                b[i..i + 2].copy_from_slice(&v.to_ne_bytes());
            }
            b
        }
        /// The header for an IPv4 TCP packet the Endpoint wrote with its
        /// checksum left to the device, split at `segment_size` (0: not).
        fn for_tcp_v4(tcp_header_len: usize, payload: usize, segment_size: u16) -> Vnet {
            let gso = segment_size > 0 && payload > usize::from(segment_size);
            Vnet {
                flags: VNET_NEEDS_CSUM,
                gso_type: if gso { VNET_GSO_TCPV4 } else { 0 },
                hdr_len: (20 + tcp_header_len) as u16,
                gso_size: if gso { segment_size } else { 0 },
                csum_start: 20,
                csum_offset: 16,
            }
        }
    }

    /// Waits until the device is readable or `timeout_ms` passed.
    fn wait_readable(f: &SyncDevice, timeout_ms: i32) {
        let mut p = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        unsafe {
            libc::poll(&mut p, 1, timeout_ms);
        }
    }

    fn run(cmd: &[&str]) {
        let st = Command::new(cmd[0]).args(&cmd[1..]).status();
        if !st.is_ok_and(|s| s.success()) {
            eprintln!("error: `{}` failed", cmd.join(" "));
            exit(1);
        }
    }

    // ----- IPv4 ----------------------------------------------------------

    /// IPv4 + TCP: (src, dst, ECN field of the TOS byte, TCP segment range),
    /// or None for anything else.
    fn parse_ipv4_ecn(p: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, Ecn, std::ops::Range<usize>)> {
        if p.len() < 20 || p[0] >> 4 != 4 || p[9] != 6 {
            return None;
        }
        let ihl = usize::from(p[0] & 15) * 4;
        let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
        let frag = u16::from_be_bytes([p[6], p[7]]);
        if ihl < 20 || total < ihl || total > p.len() || frag & 0x3fff != 0 {
            return None;
        }
        let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
        let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
        Some((src, dst, Ecn::from_bits(p[1]), ihl..total))
    }

    fn ipv4_packet(id: u16, src: Ipv4Addr, dst: Ipv4Addr, ecn: Ecn, tcp: &[u8]) -> Vec<u8> {
        let total = (20 + tcp.len()) as u16;
        let mut p = Vec::with_capacity(total as usize);
        p.extend_from_slice(&[0x45, ecn.bits()]);
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        let sum = checksum::fold(checksum::ones_complement_sum(&p[..20], 0));
        p[10..12].copy_from_slice(&(!sum).to_be_bytes());
        p.extend_from_slice(tcp);
        p
    }

    // ----- pcap ----------------------------------------------------------

    struct Pcap(BufWriter<File>);

    impl Pcap {
        fn create(path: &str) -> std::io::Result<Pcap> {
            let mut w = BufWriter::new(File::create(path)?);
            w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
            w.write_all(&2u16.to_le_bytes())?;
            w.write_all(&4u16.to_le_bytes())?;
            w.write_all(&0i32.to_le_bytes())?;
            w.write_all(&0u32.to_le_bytes())?;
            w.write_all(&65535u32.to_le_bytes())?;
            w.write_all(&101u32.to_le_bytes())?; // LINKTYPE_RAW
            Ok(Pcap(w))
        }
        fn packet(&mut self, p: &[u8]) {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let mut rec = Vec::with_capacity(16);
            rec.extend_from_slice(&(t.as_secs() as u32).to_le_bytes());
            rec.extend_from_slice(&t.subsec_micros().to_le_bytes());
            rec.extend_from_slice(&(p.len() as u32).to_le_bytes());
            rec.extend_from_slice(&(p.len() as u32).to_le_bytes());
            let _ = self.0.write_all(&rec).and_then(|_| self.0.write_all(p));
        }
    }

    // ----- the application ---------------------------------------------

    enum Role {
        Sink,
        Echo,
        Client,
    }

    struct App {
        h: Handle,
        remote: SocketAddr,
        local_port: u16,
        role: Role,
        /// Bytes the generator still has to produce (client).
        to_generate: u64,
        /// The stream offset from which data goes as urgent data (client).
        urgent_from: u64,
        gen_: Generator,
        /// Read (echo) or generated (client) but not yet accepted by `send`.
        pending: Vec<u8>,
        sent: u64,
        sent_hash: Sha256,
        received: u64,
        recv_hash: Sha256,
        shut: bool,
        shutdown_first: bool,
        states: Vec<State>,
        end: Option<CloseReason>,
        started: StdInstant,
        /// The first byte read, the peer's FIN read, all our data acked.
        first_rx: Option<StdInstant>,
        eof_at: Option<StdInstant>,
        acked_at: Option<StdInstant>,
        /// The connection's retransmissions, timeouts, recoveries and ECN reductions.
        conn_stats: (u64, u64, u64, u64),
        /// TIME-WAIT: segments sent for this 4-tuple since, and dropped.
        tw: Option<(u32, u32)>,
    }

    impl App {
        fn new(h: Handle, remote: SocketAddr, local_port: u16, role: Role) -> App {
            App {
                h,
                remote,
                local_port,
                role,
                to_generate: 0,
                urgent_from: u64::MAX,
                gen_: Generator::new(0),
                pending: Vec::new(),
                sent: 0,
                sent_hash: Sha256::new(),
                received: 0,
                recv_hash: Sha256::new(),
                shut: false,
                shutdown_first: false,
                states: Vec::new(),
                end: None,
                started: StdInstant::now(),
                first_rx: None,
                eof_at: None,
                acked_at: None,
                conn_stats: (0, 0, 0, 0),
                tw: None,
            }
        }

        /// The application read `data`.
        fn took(&mut self, data: &[u8]) {
            self.first_rx.get_or_insert_with(StdInstant::now);
            self.received += data.len() as u64;
            self.recv_hash.update(data);
            if matches!(self.role, Role::Echo) {
                self.pending.extend_from_slice(data);
            }
        }

        /// Reads, writes and shuts down as far as the connection allows.
        fn pump(&mut self, ep: &mut Endpoint, now: Instant) {
            if self.end.is_some() {
                return;
            }
            if ep
                .connection(self.h)
                .is_some_and(|c| matches!(c.state(), State::SynSent | State::SynReceived))
            {
                return; // data and FIN wait for ESTABLISHED
            }
            let mut buf = [0u8; 65536];
            if self.shutdown_first && !self.shut {
                self.shut = ep.shutdown(now, self.h).is_ok();
            }
            loop {
                // Echo: keep at most 1 MiB read but not written back.
                if matches!(self.role, Role::Echo) && self.pending.len() >= 1 << 20 {
                    break;
                }
                match ep.recv(now, self.h, &mut buf) {
                    Ok(n) if n > 0 => self.took(&buf[..n]),
                    _ => break,
                }
            }
            loop {
                if self.pending.is_empty() && self.to_generate > 0 {
                    let n = self.to_generate.min(64 * 1024) as usize;
                    self.pending.resize(n, 0);
                    self.gen_.fill(&mut self.pending);
                    self.to_generate -= n as u64;
                }
                if self.pending.is_empty() || self.shut {
                    break;
                }
                // Urgent data (RFC 9293 §3.8.5) from `urgent_from` on.
                let r = if self.sent >= self.urgent_from {
                    ep.send_urgent(now, self.h, &self.pending)
                } else {
                    let n = (self.urgent_from - self.sent).min(self.pending.len() as u64);
                    ep.send(now, self.h, &self.pending[..n as usize])
                };
                match r {
                    Ok(n) if n > 0 => {
                        self.sent += n as u64;
                        self.sent_hash.update(&self.pending[..n]);
                        self.pending.drain(..n);
                    }
                    _ => break,
                }
            }
            let Some(c) = ep.connection(self.h) else {
                return;
            };
            let st = c.stats();
            self.conn_stats = (
                st.retransmits,
                st.timeouts,
                st.recoveries,
                st.ecn_reductions,
            );
            let eof = c.is_eof() && c.recv_queue() == 0;
            if eof && self.eof_at.is_none() {
                self.eof_at = Some(StdInstant::now());
            }
            if self.sent > 0 && self.acked_at.is_none() && self.shut && c.send_queue() == 0 {
                self.acked_at = Some(StdInstant::now());
            }
            let done_sending = self.pending.is_empty() && self.to_generate == 0;
            let shut_now = match self.role {
                Role::Client => done_sending,
                Role::Sink => eof,
                Role::Echo => eof && done_sending,
            };
            if shut_now && !self.shut {
                self.shut = ep.shutdown(now, self.h).is_ok();
            }
        }

        fn tag(&self) -> String {
            match self.role {
                Role::Client => String::new(),
                _ => format!("conn {} ", self.remote),
            }
        }

        fn report(&self) {
            let reason = reason_name(self.end);
            let tag = self.tag();
            match self.role {
                Role::Sink => println!(
                    "{tag}bytes {} sha256 {} end {reason}",
                    self.received,
                    hex(&self.recv_hash.clone().finalize())
                ),
                Role::Echo => println!("{tag}echoed {} end {reason}", self.sent),
                Role::Client => println!(
                    "sent {} sha256 {} received {} sha256 {} end {reason}",
                    self.sent,
                    hex(&self.sent_hash.clone().finalize()),
                    self.received,
                    hex(&self.recv_hash.clone().finalize())
                ),
            }
            let states: Vec<String> = self.states.iter().map(|s| s.to_string()).collect();
            println!("{tag}states {}", states.join(" "));
            // Sent: from the start until all of it was acknowledged;
            // received: from the first byte until the FIN.
            let span = |from: StdInstant, to: Option<StdInstant>| {
                to.unwrap_or_else(StdInstant::now)
                    .saturating_duration_since(from)
                    .as_secs_f64()
                    .max(1e-6)
            };
            let tx = span(self.started, self.acked_at);
            let rx = span(self.first_rx.unwrap_or(self.started), self.eof_at);
            println!(
                "{tag}throughput sent {:.2} MB/s in {tx:.3} s received {:.2} MB/s in {rx:.3} s",
                self.sent as f64 / tx / 1e6,
                self.received as f64 / rx / 1e6,
            );
            let (r, t, rec, e) = self.conn_stats;
            println!("{tag}retransmits {r} timeouts {t} recoveries {rec} ecn-reductions {e}");
        }
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn reason_name(r: Option<CloseReason>) -> &'static str {
        match r {
            Some(CloseReason::Normal) => "normal",
            Some(CloseReason::Refused) => "refused",
            Some(CloseReason::Reset) => "reset",
            Some(CloseReason::TimedOut) => "timed-out",
            Some(CloseReason::UserTimeout) => "user-timeout",
            Some(CloseReason::Aborted) => "aborted",
            Some(CloseReason::FinTimeout) => "fin-timeout",
            Some(CloseReason::Unreachable) => "unreachable",
            None => "none",
        }
    }

    fn exit_code(r: Option<CloseReason>) -> i32 {
        match r {
            Some(CloseReason::Normal) => 0,
            Some(CloseReason::Refused) => 2,
            Some(CloseReason::TimedOut) => 3,
            Some(CloseReason::Reset) => 4,
            Some(_) => 5,
            None => 6,
        }
    }

    // ----- the host ------------------------------------------------------

    struct Packet {
        due: u64,
        n: u64,
        bytes: Vec<u8>,
        /// In: the checksum need not be checked (the kernel made the
        /// packet, or this program split it). Out: the `virtio_net_hdr`
        /// to write in front (offload on).
        trusted: bool,
        hdr: Option<[u8; VNET_LEN]>,
    }
    impl PartialEq for Packet {
        fn eq(&self, o: &Self) -> bool {
            (self.due, self.n) == (o.due, o.n)
        }
    }
    impl Eq for Packet {}
    impl PartialOrd for Packet {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Packet {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            (self.due, self.n).cmp(&(o.due, o.n))
        }
    }

    #[derive(Default)]
    struct Stats {
        read: u64,
        written: u64,
        dropped_in: u64,
        dropped_out: u64,
        reordered: u64,
        ce_marked: u64,
        super_in: u64,
        super_out: u64,
        bad_vnet: u64,
        bad_csum: u64,
    }

    struct Host {
        args: Args,
        tun: SyncDevice,
        /// Offload on: a `virtio_net_hdr` in front of every packet.
        vnet: bool,
        /// Drops, reordering or a capture: super-segments are split into
        /// wire-sized packets (each way) before them.
        wire_view: bool,
        scratch: Vec<u8>,
        ep: Endpoint,
        start: StdInstant,
        rng: Rng,
        inq: BinaryHeap<Reverse<Packet>>,
        outq: BinaryHeap<Reverse<Packet>>,
        n: u64,
        ip_id: u16,
        pcap: Option<Pcap>,
        apps: Vec<App>,
        listener: Option<ListenerId>,
        finished: Vec<App>,
        stats: Stats,
    }

    impl Host {
        fn now_us(&self) -> u64 {
            self.start.elapsed().as_micros() as u64
        }
        fn now(&self) -> Instant {
            Instant::from_micros(self.now_us())
        }

        fn schedule_with(
            &mut self,
            inbound: bool,
            bytes: Vec<u8>,
            trusted: bool,
            hdr: Option<[u8; VNET_LEN]>,
        ) {
            let mut due = self.now_us() + self.args.delay_us;
            if self.rng.chance(self.args.reorder) {
                due += self.args.delay_us.max(1000);
                self.stats.reordered += 1;
            }
            self.n += 1;
            let p = Reverse(Packet {
                due,
                n: self.n,
                bytes,
                trusted,
                hdr,
            });

            if inbound {
                self.inq.push(p);
            } else {
                self.outq.push(p);
            }
        }

        /// Reads what the device has (at most `max` reads).
        fn read_device(&mut self, max: usize) {
            let mut buf = vec![0u8; VNET_LEN + 65536];
            for _ in 0..max {
                match self.tun.recv(&mut buf) {
                    Ok(n) => self.took_packet(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        eprintln!("error: reading {}: {e}", self.args.dev);
                        exit(1);
                    }
                }
            }
        }

        /// One read: a packet (behind its `virtio_net_hdr` with offload).
        fn took_packet(&mut self, raw: &[u8]) {
            let (h, p) = if self.vnet {
                let Some(h) = Vnet::decode(raw) else {
                    self.stats.bad_vnet += 1;
                    return;
                };
                (h, &raw[VNET_LEN..])
            } else {
                (Vnet::default(), raw)
            };
            let Some((src, dst, ecn, r)) = parse_ipv4_ecn(p) else {
                return;
            };
            if dst != self.args.local {
                return;
            }
            self.stats.read += 1;
            // The kernel's offloads: a checksum left to us (the packet was
            // made on this host: valid), a TCP super-segment. Anything
            // else the header says is refused, never trusted.
            let gso = h.gso_type & !VNET_GSO_ECN;
            let needs = h.flags & VNET_NEEDS_CSUM != 0;
            let tcp_csum = usize::from(h.csum_start) == r.start && h.csum_offset == 16;
            if (needs && !tcp_csum)
                || (gso != 0 && (gso != VNET_GSO_TCPV4 || !needs || h.gso_size == 0))
            {
                self.stats.bad_vnet += 1;
                return;
            }
            if gso != 0 {
                self.stats.super_in += 1;
            }
            let trusted = needs || h.flags & VNET_DATA_VALID != 0;
            if !self.wire_view || (!needs && gso == 0) {
                // Taken whole: a coalesced segment for the Endpoint.
                let bytes = p[..r.end].to_vec();
                self.inbound(bytes, trusted);
                return;
            }
            // The packets the wire would have carried, checksums complete,
            // for the capture and the impairment.
            let size = if gso != 0 { usize::from(h.gso_size) } else { 0 };
            let id = u16::from_be_bytes([p[4], p[5]]);
            let mut pieces = Vec::new();
            let ok = gso::split(
                &p[r],
                size,
                IpAddr::V4(src),
                IpAddr::V4(dst),
                &mut self.scratch,
                |q| pieces.push(q.to_vec()),
            );
            if ok.is_err() {
                self.stats.bad_vnet += 1;
                return;
            }
            for (i, q) in pieces.iter().enumerate() {
                let bytes = ipv4_packet(id.wrapping_add(i as u16), src, dst, ecn, q);
                self.inbound(bytes, true);
            }
        }

        /// A wire packet in: captured, maybe dropped, scheduled.
        fn inbound(&mut self, bytes: Vec<u8>, trusted: bool) {
            if let Some(pc) = &mut self.pcap {
                pc.packet(&bytes);
            }
            if self.rng.chance(self.args.drop_in) {
                self.stats.dropped_in += 1;
                return;
            }
            self.schedule_with(true, bytes, trusted, None);
        }

        /// Hands every due inbound packet to the Endpoint, one at a time,
        /// with the application running after each.
        fn deliver(&mut self) {
            loop {
                let now_us = self.now_us();
                match self.inq.peek() {
                    Some(Reverse(p)) if p.due <= now_us => {}
                    _ => break,
                }
                let Reverse(p) = self.inq.pop().expect("peeked");
                let Some((src, dst, ecn, r)) = parse_ipv4_ecn(&p.bytes) else {
                    continue;
                };
                // With offload the Endpoint trusts checksums (the kernel's
                // packets need none): check the ones the kernel did not.
                if self.vnet
                    && !p.trusted
                    && !checksum::verify_v4(src.octets(), dst.octets(), &p.bytes[r.clone()])
                {
                    self.stats.bad_csum += 1;
                    continue;
                }
                let now = self.now();
                // The applications read at once: in-order text goes from
                // the packet straight into `buf` (`on_datagram_recv`).
                let mut buf = [0u8; 65536];
                let got = self.ep.on_datagram_recv(
                    now,
                    IpAddr::V4(src),
                    IpAddr::V4(dst),
                    ecn,
                    &p.bytes[r],
                    &mut buf,
                );
                if let Some((h, n)) = got {
                    match self.apps.iter_mut().find(|a| a.h == h) {
                        Some(a) => a.took(&buf[..n]),
                        None => {
                            eprintln!("tun: {n} bytes read for {h}, which no application holds")
                        }
                    }
                }
                self.app_step();
            }
        }

        /// Events, the applications, then everything the Endpoint sends.
        fn app_step(&mut self) {
            // Twice: the applications' calls may raise events of their own.
            self.app_round();
            self.app_round();
            let mut i = 0;
            while i < self.apps.len() {
                if self.apps[i].end.is_some() {
                    let a = self.apps.remove(i);
                    a.report();
                    self.finished.push(a);
                } else {
                    i += 1;
                }
            }
            self.transmit();
        }

        fn app_round(&mut self) {
            let now = self.now();
            while let Some(ev) = self.ep.poll_event() {
                match ev {
                    EndpointEvent::Incoming(l) => {
                        while let Some(h) = self.ep.accept(l) {
                            self.accepted(h);
                        }
                    }
                    EndpointEvent::StateChanged(h, c) => {
                        if let Some(a) = self.apps.iter_mut().find(|a| a.h == h) {
                            a.states.push(c.to);
                        }
                    }
                    EndpointEvent::Urgent(h) => {
                        // Where the urgent data ends, in stream offsets.
                        let mark = self.ep.connection(h).and_then(|c| c.urgent_mark());
                        if let (Some(a), Some(m)) = (self.apps.iter_mut().find(|a| a.h == h), mark)
                        {
                            println!("{}urgent mark {}", a.tag(), a.received + m as u64);
                        }
                    }
                    EndpointEvent::Closed(h, reason) => {
                        if let Some(a) = self.apps.iter_mut().find(|a| a.h == h) {
                            a.end = Some(reason);
                            if a.states.last() == Some(&State::TimeWait) {
                                a.tw = Some((0, 0));
                            }
                        }
                    }
                    _ => {}
                }
            }
            for a in &mut self.apps {
                a.pump(&mut self.ep, now);
            }
        }

        fn accepted(&mut self, h: Handle) {
            let Some(info) = self
                .ep
                .connections(self.now())
                .find(|c| c.handle == Some(h))
            else {
                return;
            };
            let role = match &self.args.mode {
                Mode::Serve {
                    kind: Serve::Echo, ..
                } => Role::Echo,
                _ => Role::Sink,
            };
            let mut a = App::new(h, info.remote, info.local.port(), role);
            a.shutdown_first = self.args.shutdown_first;
            a.states = vec![State::Listen, State::SynReceived, State::Established];
            if info.state != State::Established {
                a.states.push(info.state);
            }
            self.apps.push(a);
        }

        fn transmit(&mut self) {
            let mut buf = vec![0u8; 65536];
            loop {
                let now = self.now();
                let Some(d) = self.ep.poll_transmit(now, &mut buf) else {
                    break;
                };
                let (IpAddr::V4(src), IpAddr::V4(dst)) = (d.src, d.dst) else {
                    continue;
                };
                let tcp = d.segment(&buf);
                // The close's last ACK, and what follows it in TIME-WAIT.
                if let Ok((hdr, _)) = TcpHeader::parse(tcp) {
                    let remote = SocketAddr::new(IpAddr::V4(dst), hdr.dst_port);
                    let tw_app = self
                        .finished
                        .iter_mut()
                        .find(|a| a.remote == remote && a.local_port == hdr.src_port);
                    if let Some(a) = tw_app
                        && let Some((sent, dropped)) = &mut a.tw
                    {
                        *sent += 1;
                        if *dropped < self.args.drop_tw_acks {
                            *dropped += 1;
                            self.stats.dropped_out += 1;
                            continue;
                        }
                    }
                }
                if !self.vnet {
                    self.ip_id = self.ip_id.wrapping_add(1);
                    let p = ipv4_packet(self.ip_id, src, dst, d.ecn, tcp);
                    self.outbound(p, None);
                    continue;
                }
                if self.wire_view {
                    // The packets the wire carries (the super-segment
                    // split, every checksum completed), each impaired and
                    // captured on its own.
                    let mut pieces = Vec::new();
                    let mut scratch = std::mem::take(&mut self.scratch);
                    let r = gso::split(
                        tcp,
                        usize::from(d.segment_size),
                        d.src,
                        d.dst,
                        &mut scratch,
                        |q| pieces.push(q.to_vec()),
                    );
                    self.scratch = scratch;
                    if r.is_err() {
                        continue;
                    }
                    if pieces.len() > 1 {
                        self.stats.super_out += 1;
                    }
                    for q in pieces {
                        self.ip_id = self.ip_id.wrapping_add(1);
                        let p = ipv4_packet(self.ip_id, src, dst, d.ecn, &q);
                        self.outbound(p, None);
                    }
                    continue;
                }
                // Offload: one write, the kernel splits it and completes
                // the checksums.
                let hl = usize::from(tcp[12] >> 4) * 4;
                let h = Vnet::for_tcp_v4(hl, d.len() - hl, d.segment_size);
                self.ip_id = self.ip_id.wrapping_add(1);
                let p = ipv4_packet(self.ip_id, src, dst, d.ecn, tcp);
                if h.gso_type != 0 {
                    self.stats.super_out += 1;
                    let pieces = (d.len() - hl).div_ceil(usize::from(d.segment_size));
                    self.ip_id = self.ip_id.wrapping_add(pieces as u16 - 1);
                }
                self.outbound(p, Some(h.encode()));
            }
            self.write_due();
        }

        /// A packet out: maybe dropped, scheduled.
        fn outbound(&mut self, mut p: Vec<u8>, hdr: Option<[u8; VNET_LEN]>) {
            if self.rng.chance(self.args.drop_out) {
                self.stats.dropped_out += 1;
                return;
            }
            // ECT(1) or ECT(0) (RFC 3168 §5): a congested router's CE mark,
            // and the header checksum again.
            if matches!(p[1] & 3, 1 | 2) && self.rng.chance(self.args.ce_out) {
                p[1] |= 3;
                p[10..12].fill(0);
                let sum = checksum::fold(checksum::ones_complement_sum(&p[..20], 0));
                p[10..12].copy_from_slice(&(!sum).to_be_bytes());
                self.stats.ce_marked += 1;
            }
            self.schedule_with(false, p, false, hdr);
        }

        fn write_due(&mut self) {
            let now_us = self.now_us();
            while let Some(Reverse(p)) = self.outq.peek() {
                if p.due > now_us {
                    break;
                }
                let Reverse(p) = self.outq.pop().expect("peeked");
                if let Some(pc) = &mut self.pcap {
                    pc.packet(&p.bytes);
                }
                // With offload every write starts with a `virtio_net_hdr`
                // (all zero: a plain packet, checksum complete).
                let (r, want) = if self.vnet {
                    let h = p.hdr.unwrap_or([0; VNET_LEN]);
                    let bufs = [IoSlice::new(&h), IoSlice::new(&p.bytes)];
                    (self.tun.send_vectored(&bufs), VNET_LEN + p.bytes.len())
                } else {
                    (self.tun.send(&p.bytes), p.bytes.len())
                };
                match r {
                    // A TUN write takes the whole packet or fails.
                    Ok(n) if n == want => self.stats.written += 1,

                    Ok(n) => eprintln!("warning: short write to {}: {n}", self.args.dev),
                    Err(e) => eprintln!("warning: write to {}: {e}", self.args.dev),
                }
            }
        }

        /// Microseconds until something is due (capped at `cap`).
        fn wait_us(&self, cap: u64) -> u64 {
            let now = self.now_us();
            let mut t = now + cap;
            if let Some(d) = self.ep.next_deadline() {
                t = t.min(d.as_micros());
            }
            for q in [&self.inq, &self.outq] {
                if let Some(Reverse(p)) = q.peek() {
                    t = t.min(p.due);
                }
            }
            t.saturating_sub(now)
        }
    }

    pub(crate) fn main() {
        let args = parse_args();
        if let Some(p) = &args.pcap
            && p.is_empty()
        {
            usage("empty --pcap");
        }
        let (tun, vnet) = open_tun(&args.dev, args.offload).unwrap_or_else(|e| {
            eprintln!(
                "error: cannot create TUN device {} (root needed): {e}",
                args.dev
            );
            exit(1);
        });
        run(&["ip", "addr", "add", &args.kernel, "dev", &args.dev]);
        run(&["ip", "link", "set", &args.dev, "up"]);
        let mut secret = [0u8; 16];
        if File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut secret))
            .is_err()
        {
            secret = args
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .to_le_bytes()
                .repeat(2)[..16]
                .try_into()
                .expect("16 bytes");
        }
        let mut config = args.config.clone();
        config.rx_buffer = 1 << 20;
        config.tx_buffer = 1 << 20;
        if vnet {
            // Super-segments of up to 65,000 bytes for the kernel to
            // split, checksums left to it and trusted from it (the host
            // checks the packets it did not make).
            config.gso_max = 65_000;
            config.tx_checksum_offload = true;
            config.rx_checksum_offload = true;
        }
        let wire_view = args.pcap.is_some()
            || args.drop_in > 0.0
            || args.drop_out > 0.0
            || args.reorder > 0.0
            || args.ce_out > 0.0;
        let ep = config
            .with_local_addr(args.local)
            .and_then(|c| Endpoint::new(c, secret))
            .unwrap_or_else(|e| {
                eprintln!("error: {e}");
                exit(1);
            });
        let pcap = args.pcap.as_deref().map(|p| {
            Pcap::create(p).unwrap_or_else(|e| {
                eprintln!("error: {p}: {e}");
                exit(1);
            })
        });
        let mut host = Host {
            rng: Rng(args.seed),
            args,
            tun,
            vnet,
            wire_view,
            scratch: vec![0; 65536],
            ep,
            start: StdInstant::now(),

            inq: BinaryHeap::new(),
            outq: BinaryHeap::new(),
            n: 0,
            ip_id: 0,
            pcap,
            apps: Vec::new(),
            listener: None,
            finished: Vec::new(),
            stats: Stats::default(),
        };
        eprintln!(
            "tun {}: engine {} kernel {}",
            host.args.dev, host.args.local, host.args.kernel
        );
        let (want, mut code) = match host.args.mode {
            Mode::Serve { port, count, .. } => {
                let addr = SocketAddr::new(IpAddr::V4(host.args.local), port);
                let l = host.ep.listen(addr, 128).unwrap_or_else(|e| {
                    eprintln!("error: listen {addr}: {e}");
                    exit(1);
                });
                host.listener = Some(l);
                println!("listening {addr}");
                (count as usize, 0)
            }
            Mode::Connect {
                to,
                send,
                seed_data,
                urgent,
            } => {
                let now = host.now();
                let h = host.ep.connect(now, None, to).unwrap_or_else(|e| {
                    eprintln!("error: connect {to}: {e}");
                    exit(1);
                });
                let local_port = host
                    .ep
                    .connections(now)
                    .find(|c| c.handle == Some(h))
                    .map_or(0, |c| c.local.port());
                let mut a = App::new(h, to, local_port, Role::Client);
                a.states.push(State::Closed);
                a.to_generate = send;
                if urgent > 0 {
                    a.urgent_from = send.saturating_sub(urgent);
                }
                a.gen_ = Generator::new(seed_data);
                host.apps.push(a);
                (1, 0)
            }
        };
        let _ = std::io::stdout().flush();
        let limit_us = host.args.time_limit * 1_000_000;
        let mut done_at: Option<u64> = None;
        host.app_step();
        loop {
            let now_us = host.now_us();
            if host.finished.len() >= want && done_at.is_none() {
                done_at = Some(now_us);
                let _ = std::io::stdout().flush();
            }
            if let Some(t) = done_at
                && now_us >= t + host.args.linger_ms * 1000
                && host.outq.is_empty()
            {
                break;
            }
            if now_us >= limit_us {
                eprintln!("error: time limit of {} s reached", host.args.time_limit);
                for a in &host.apps {
                    a.report();
                }
                code = 6;
                break;
            }
            host.read_device(256);
            host.deliver();
            let now = host.now();
            if host.ep.next_deadline().is_some_and(|d| d <= now) {
                host.ep.on_timer(now);
            }
            host.app_step();
            let w = host.wait_us(100_000);
            if w > 0 {
                wait_readable(&host.tun, w.div_ceil(1000) as i32);
            }
        }
        for a in &host.finished {
            if let Some((sent, dropped)) = a.tw {
                println!("{}time-wait acks sent {sent} dropped {dropped}", a.tag());
            }
        }
        let s = &host.stats;
        let k = host.ep.counters();
        println!(
            "stats read {} written {} dropped-in {} dropped-out {} reordered {} ce-marked {} timer-retransmits {} offload {} super-in {} super-out {} bad-vnet {} bad-checksum {}",
            s.read,
            s.written,
            s.dropped_in,
            s.dropped_out,
            s.reordered,
            s.ce_marked,
            k.retrans_segs,
            if host.vnet { "on" } else { "off" },
            s.super_in,
            s.super_out,
            s.bad_vnet,
            s.bad_csum
        );

        if let Some(mut p) = host.pcap.take() {
            let _ = p.0.flush();
        }
        if code == 0 {
            for a in &host.finished {
                let c = exit_code(a.end);
                if c != 0 {
                    eprintln!("error: {}", reason_name(a.end));
                    code = c;
                    break;
                }
            }
        }
        let _ = std::io::stdout().flush();
        exit(code);
    }
}
