//! Hostile input for a whole host: an [`Endpoint`] fed raw and crafted
//! datagrams (checksums right or wrong, from good and from bad addresses),
//! answers to the segments it sent, application calls and time, in any
//! order, and a host whose device drops what it sends and says so with
//! `on_transmit_failed` (right after the poll, late, twice, for another
//! connection's datagram or for garbage bytes) (the `endpoint` fuzz
//! target and `tests/endpoint_hostile.rs`).
//!
//! Checked after every step, besides "no panic": every datagram the
//! Endpoint sends is a well-formed TCP segment (it parses, its checksum
//! verifies, it leaves from the local address to a peer); no read returns
//! more than its buffer; the tables stay within their configured limits;
//! draining the transmit and event queues ends; and after `on_timer(now)`
//! nothing is due at or before `now` any more (a host that loops on
//! `next_deadline` cannot spin).

mod hostile;

pub use hostile::HostileMove;

use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::OwnedSegmentSpec;
use crate::connection::IcmpError;
use crate::endpoint::{Datagram, Endpoint, EndpointConfig, Event, Handle, ListenerId, SynCookies};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
use crate::wire::Ecn;
use crate::wire::{Flags, TcpHeader, TcpOptions, checksum};

/// The Endpoint's own address.
pub const LOCAL: [u8; 4] = [192, 0, 2, 1];
/// The peers' addresses (an input picks one modulo this length).
pub const PEERS: [[u8; 4]; 3] = [[192, 0, 2, 2], [198, 51, 100, 7], [198, 51, 100, 8]];
/// Ports the Endpoint may listen on and peers may send to.
pub const PORTS: [u16; 3] = [80, 443, 5000];
/// The peers' source ports.
const PEER_PORTS: [u16; 3] = [40000, 40001, 65535];
/// Datagrams the Endpoint sent that an [`EpInput::Answer`] can pick.
const KEEP_SENT: usize = 16;
/// A bound on the transmit or event queue drained in one step.
const DRAIN_LIMIT: usize = 100_000;
/// The most heap a connection holds besides its buffers: one of each of
/// its small boxes (`heap_layout`: the reassembly ranges, the SACK
/// scoreboard, the uncommon state, the RACK send log's checkpoints, and
/// its own copy of the packed config once a socket option changed it).
fn max_heap_per_connection() -> usize {
    crate::connection::heap_layout()
        .iter()
        .map(|(_, b)| b)
        .sum()
}

/// One hostile event for a whole host.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum EpInput {
    /// These bytes as the TCP segment of a datagram from peer `from` to
    /// the Endpoint; with `fix`, the checksum field is set right first.
    Raw {
        /// Peer index (modulo [`PEERS`]).
        from: u8,
        /// The TCP bytes (header and payload).
        bytes: Vec<u8>,
        /// Write the right checksum (for at least 20 bytes).
        fix: bool,
    },
    /// A well-formed segment from a peer's port to one of [`PORTS`].
    Crafted {
        /// Peer index.
        from: u8,
        /// Peer port index.
        sport: u8,
        /// Local port index.
        dport: u8,
        /// The segment.
        spec: OwnedSegmentSpec,
        /// Delivered with `on_datagram_recv` (the application reads at
        /// once) rather than `on_datagram`.
        read: bool,
    },
    /// An answer to the `k`-th most recent datagram the Endpoint sent:
    /// addresses and ports swapped, SEQ its ACK plus `seq_shift`, ACK its
    /// SEQ plus its length (SYN and FIN counted) plus `ack_shift`, with
    /// these flags, window, options and payload length.
    Answer {
        /// Which sent datagram (0 = the most recent).
        k: u8,
        /// Control bits.
        flags: Flags,
        /// Added to SEQ.
        seq_shift: i16,
        /// Added to ACK.
        ack_shift: i16,
        /// Window field.
        window: u16,
        /// Options.
        options: TcpOptions,
        /// Payload length (at most 1460 used).
        len: u16,
        /// Delivered with `on_datagram_recv`.
        read: bool,
    },
    /// A datagram whose addresses the Endpoint must refuse (broadcast,
    /// multicast or unspecified, RFC 9293 MUST-57/MUST-63; IPv4 and IPv6
    /// mixed), with a right checksum for those addresses where one exists.
    BadAddress {
        /// Which kind of address.
        kind: u8,
        /// The segment.
        spec: OwnedSegmentSpec,
    },
    /// Time passes by this many milliseconds, then `on_timer`.
    Advance(u32),
    /// `listen` on a port of [`PORTS`] with this backlog.
    Listen {
        /// Port index.
        port: u8,
        /// Backlog.
        backlog: u8,
    },
    /// `close_listener` on a listener the harness opened.
    CloseListener(u8),
    /// `connect` to a peer's port.
    Connect {
        /// Peer index.
        to: u8,
        /// Peer port index.
        port: u8,
    },
    /// `accept` on a listener the harness opened.
    Accept(u8),
    /// `send` this many bytes on a connection the application holds.
    Send(u8, u16),
    /// `recv` into a buffer of this many bytes.
    Recv(u8, u16),
    /// `shutdown`.
    Shutdown(u8),
    /// `close`.
    Close(u8),
    /// `abort`.
    Abort(u8),
    /// An ICMP error about the `k`-th most recent datagram the Endpoint
    /// sent (its addresses, ports and SEQ plus `seq_shift` quoted), of
    /// ICMPv4 `icmp_type`/`code` with this next-hop MTU; the quote is cut
    /// to `cut` bytes when `cut` is below 28.
    Icmp {
        /// Which sent datagram (0 = the most recent).
        k: u8,
        /// ICMPv4 type (3, 4, 11, 12 are errors; others are not).
        icmp_type: u8,
        /// ICMP code.
        code: u8,
        /// Next-hop MTU.
        mtu: u16,
        /// Added to the quoted SEQ.
        seq_shift: i16,
        /// Quote length cut.
        cut: u8,
    },
    /// The ECN field (two low bits) of the datagrams delivered from now on.
    SetEcn(u8),
    /// A crafted segment to an address that is not the Endpoint's.
    NotLocal {
        /// The segment.
        spec: OwnedSegmentSpec,
    },
    /// `poll_transmit` is not called after the next `1 + n % 4` inputs: a
    /// host whose device still holds earlier packets feeds input and runs
    /// timers before it polls output again (events are still polled). A
    /// timeout and then the peer's segment, both before the poll, is such
    /// an order.
    Hold(u8),
    /// The next `1 + n % 4` datagrams polled are dropped by the host's
    /// device queue: each is reported with `on_transmit_failed` right
    /// after its poll, as documented, and is not delivered (a peer's
    /// [`Answer`](EpInput::Answer) cannot pick it).
    DeviceFull(u8),
    /// A stale or wrong report to `on_transmit_failed`: the `k`-th most
    /// recent datagram the Endpoint sent (not the last one polled, or
    /// reported twice) in the addresses of the `other`-th (another
    /// connection's when they differ), or, with `bytes`, these bytes as
    /// the segment (garbage).
    TxFailed {
        /// Which sent datagram gives the segment (0 = the most recent).
        k: u8,
        /// Which sent datagram gives the addresses.
        other: u8,
        /// Bytes reported instead of the segment.
        bytes: Option<Vec<u8>>,
    },
}

impl EpInput {
    /// A listener on every port of [`PORTS`], so that SYNs find one: how
    /// the fuzz target and `strategies::ep_inputs` start.
    pub fn listen_everywhere() -> Vec<EpInput> {
        (0..PORTS.len() as u8)
            .map(|port| EpInput::Listen { port, backlog: 4 })
            .collect()
    }
}

/// A sent datagram, kept for [`EpInput::Answer`].
#[derive(Clone, Debug)]
struct Sent {
    dst: [u8; 4],
    header: TcpHeader,
    payload_len: usize,
}

/// A connection as the peer sees it: (peer address, peer port, local port).
type PeerTuple = ([u8; 4], u16, u16);

/// The host under test and what the checks need.
pub struct EpHarness {
    /// The Endpoint.
    pub ep: Endpoint,
    /// The clock.
    pub now: Instant,
    cfg: EndpointConfig,
    handles: Vec<Handle>,
    listeners: Vec<ListenerId>,
    sent: VecDeque<Sent>,
    /// Datagrams sent, events seen and bytes read, for coverage checks.
    pub datagrams_out: u64,
    /// Events polled.
    pub events: u64,
    /// Bytes the application read (by `recv` and read at once).
    pub bytes_read: u64,
    /// The ECN field of delivered datagrams ([`EpInput::SetEcn`]).
    ecn: Ecn,
    /// Per 4-tuple (peer, peer port, local port): the end of everything
    /// the Endpoint sent on it, as a peer that got it all acknowledges.
    acked: Vec<(PeerTuple, SeqNum)>,
    /// Datagrams sent since the peer last answered them all.
    fresh: usize,
    /// Inputs left after which output is not polled ([`EpInput::Hold`]).
    hold: u8,
    /// Datagrams left that the device drops ([`EpInput::DeviceFull`]).
    device_full: u8,
    /// Datagrams reported with `on_transmit_failed`.
    pub transmit_failed: u64,
    log: Vec<String>,
}

impl EpHarness {
    /// A host with small limits (so that inputs reach them): 16
    /// connections, 8 TIME-WAIT entries, 4 orphans, 4 KiB buffers;
    /// Linux's settings (`linux`) or RFC 9293's.
    pub fn new(linux: bool) -> Self {
        let mut cfg = if linux {
            EndpointConfig::linux()
        } else {
            EndpointConfig::rfc9293()
        };
        cfg.rx_buffer = 4096;
        cfg.tx_buffer = 4096;
        cfg.max_connections = 16;
        cfg.max_time_wait = 8;
        cfg.max_orphans = 4;
        cfg.somaxconn = 8;
        cfg.max_syn_backlog = 8;
        cfg.syncookies = SynCookies::OnOverflow;
        // ECN negotiated with peers that ask for it (and offered by ours).
        cfg.conn.ecn = linux;
        let cfg = cfg
            .with_local_addr(Ipv4Addr::from(LOCAL))
            .expect("a unicast address");
        EpHarness {
            ep: Endpoint::new(cfg.clone(), [7; 16]).expect("a valid config"),
            now: Instant::from_secs(1000),
            cfg,
            handles: Vec::new(),
            listeners: Vec::new(),
            sent: VecDeque::new(),
            datagrams_out: 0,
            events: 0,
            bytes_read: 0,
            ecn: Ecn::NotEct,
            acked: Vec::new(),
            hold: 0,
            device_full: 0,
            transmit_failed: 0,
            fresh: 0,
            log: Vec::new(),
        }
    }

    fn note(&mut self, s: String) {
        if self.log.len() >= 64 {
            self.log.remove(0);
        }
        self.log.push(s);
    }

    fn fail(&self, msg: &str) -> Result<(), String> {
        let mut s = format!(
            "ENDPOINT INVARIANT VIOLATED at {:?}: {msg}\n  last steps:\n",
            self.now
        );
        for l in &self.log {
            s.push_str("    ");
            s.push_str(l);
            s.push('\n');
        }
        Err(s)
    }

    fn handle(&self, i: u8) -> Option<Handle> {
        (!self.handles.is_empty()).then(|| self.handles[usize::from(i) % self.handles.len()])
    }

    /// Applies one input, then drains the Endpoint's output (unless an
    /// [`EpInput::Hold`] holds it) and events and checks the invariants.
    pub fn apply(&mut self, input: &EpInput) -> Result<(), String> {
        let r = self.apply_one(input);
        if !matches!(input, EpInput::Hold(_)) {
            self.hold = self.hold.saturating_sub(1);
        }
        r
    }

    fn apply_one(&mut self, input: &EpInput) -> Result<(), String> {
        self.note(format!("{input:?}"));
        let now = self.now;
        match input {
            EpInput::Raw { from, bytes, fix } => {
                let src = PEERS[usize::from(*from) % PEERS.len()];
                let mut bytes = bytes.clone();
                bytes.truncate(2048);
                if *fix && bytes.len() >= 20 {
                    bytes[16] = 0;
                    bytes[17] = 0;
                    let c = checksum::tcp_checksum_v4(src, LOCAL, &bytes);
                    bytes[16..18].copy_from_slice(&c.to_be_bytes());
                }
                self.ep
                    .on_datagram(now, v4(src), v4(LOCAL), self.ecn, &bytes);
            }
            EpInput::Crafted {
                from,
                sport,
                dport,
                spec,
                read,
            } => {
                let src = PEERS[usize::from(*from) % PEERS.len()];
                let hdr = spec_header(
                    PEER_PORTS[usize::from(*sport) % PEER_PORTS.len()],
                    PORTS[usize::from(*dport) % PORTS.len()],
                    spec,
                );
                let payload = spec.to_owned_segment().payload;
                self.deliver(src, &hdr, &payload, *read)?;
            }
            EpInput::Answer {
                k,
                flags,
                seq_shift,
                ack_shift,
                window,
                options,
                len,
                read,
            } => {
                if self.sent.is_empty() {
                    return self.drain();
                }
                let s = self.sent[usize::from(*k) % self.sent.len()].clone();
                let h = &s.header;
                let consumed =
                    s.payload_len as u32 + u32::from(h.flags.syn()) + u32::from(h.flags.fin());
                let hdr = TcpHeader {
                    src_port: h.dst_port,
                    dst_port: h.src_port,
                    seq: SeqNum(h.ack.0.wrapping_add(*seq_shift as i32 as u32)),
                    ack: SeqNum(
                        h.seq
                            .0
                            .wrapping_add(consumed)
                            .wrapping_add(*ack_shift as i32 as u32),
                    ),
                    flags: *flags,
                    window: *window,
                    urgent: 0,
                    options: *options,
                };
                let n = usize::from(*len).min(1460);
                let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
                self.deliver(s.dst, &hdr, &payload, *read)?;
            }
            EpInput::BadAddress { kind, spec } => {
                let (src, dst): (IpAddr, IpAddr) = match kind % 6 {
                    0 => (v4([255, 255, 255, 255]), v4(LOCAL)),
                    1 => (v4([224, 0, 0, 1]), v4(LOCAL)),
                    2 => (v4([0, 0, 0, 0]), v4(LOCAL)),
                    // (A subnet's broadcast address is not one: only the
                    // host's IP layer knows its prefixes.)
                    3 => (v4(PEERS[0]), v4([239, 1, 2, 3])),
                    // IPv4 from, IPv6 to: no pseudo-header fits.
                    4 => (
                        v4(PEERS[0]),
                        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                    ),
                    _ => (
                        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
                        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
                    ),
                };
                let hdr = spec_header(PEER_PORTS[0], PORTS[0], spec);
                if let Some(bytes) = segment_bytes(&hdr, &[], src, dst) {
                    self.ep.on_datagram(now, src, dst, Ecn::NotEct, &bytes);
                }
            }
            EpInput::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(*ms % 3_600_000));
                let now = self.now;
                self.ep.on_timer(now);
                self.drain()?;
                if let Some(d) = self.ep.next_deadline()
                    && d <= now
                {
                    return self.fail(&format!(
                        "after on_timer({now:?}) the next deadline is {d:?}, not later"
                    ));
                }
                return Ok(());
            }
            EpInput::Listen { port, backlog } => {
                let addr = SocketAddr::new(v4(LOCAL), PORTS[usize::from(*port) % PORTS.len()]);
                if let Ok(l) = self.ep.listen(addr, u32::from(*backlog)) {
                    self.listeners.push(l);
                }
            }
            EpInput::CloseListener(i) => {
                if !self.listeners.is_empty() {
                    let l = self
                        .listeners
                        .remove(usize::from(*i) % self.listeners.len());
                    let _ = self.ep.close_listener(now, l);
                }
            }
            EpInput::Connect { to, port } => {
                let remote = SocketAddr::new(
                    v4(PEERS[usize::from(*to) % PEERS.len()]),
                    PEER_PORTS[usize::from(*port) % PEER_PORTS.len()],
                );
                if let Ok(h) = self.ep.connect(now, None, remote) {
                    self.handles.push(h);
                }
            }
            EpInput::Accept(i) => {
                if !self.listeners.is_empty() {
                    let l = self.listeners[usize::from(*i) % self.listeners.len()];
                    if let Some(h) = self.ep.accept(l) {
                        self.handles.push(h);
                    }
                }
            }
            EpInput::Send(i, n) => {
                if let Some(h) = self.handle(*i) {
                    let data = vec![0x5a; usize::from(*n) % 8192];
                    if let Ok(k) = self.ep.send(now, h, &data)
                        && k > data.len()
                    {
                        return self.fail(&format!("send took {k} of {} bytes", data.len()));
                    }
                }
            }
            EpInput::Recv(i, n) => {
                if let Some(h) = self.handle(*i) {
                    let mut buf = vec![0u8; usize::from(*n) % 8192];
                    if let Ok(k) = self.ep.recv(now, h, &mut buf) {
                        if k > buf.len() {
                            return self.fail(&format!("recv gave {k} into {}", buf.len()));
                        }
                        self.bytes_read += k as u64;
                    }
                }
            }
            EpInput::Shutdown(i) => {
                if let Some(h) = self.handle(*i) {
                    let _ = self.ep.shutdown(now, h);
                }
            }
            EpInput::Close(i) => {
                if let Some(h) = self.handle(*i) {
                    let _ = self.ep.close(now, h);
                    self.handles.retain(|&x| x != h);
                }
            }
            EpInput::Abort(i) => {
                if let Some(h) = self.handle(*i) {
                    let _ = self.ep.abort(now, h);
                    self.handles.retain(|&x| x != h);
                }
            }
            EpInput::Icmp {
                k,
                icmp_type,
                code,
                mtu,
                seq_shift,
                cut,
            } => {
                if self.sent.is_empty() {
                    return self.drain();
                }
                let s = self.sent[usize::from(*k) % self.sent.len()].clone();
                let mut q = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
                q.extend_from_slice(&LOCAL);
                q.extend_from_slice(&s.dst);
                q.extend_from_slice(&s.header.src_port.to_be_bytes());
                q.extend_from_slice(&s.header.dst_port.to_be_bytes());
                let seq = s.header.seq.0.wrapping_add(*seq_shift as i32 as u32);
                q.extend_from_slice(&seq.to_be_bytes());
                if *cut < 28 {
                    q.truncate(usize::from(*cut));
                }
                if let Some(e) = IcmpError::from_v4(*icmp_type, *code, *mtu) {
                    self.ep.on_icmp(now, e, &q);
                }
            }
            EpInput::SetEcn(bits) => self.ecn = Ecn::from_bits(*bits),
            EpInput::Hold(n) => self.hold = 1 + n % 4,
            EpInput::DeviceFull(n) => self.device_full = 1 + n % 4,
            EpInput::TxFailed { k, other, bytes } => {
                if self.sent.is_empty() {
                    return self.drain();
                }
                let s = self.sent[usize::from(*k) % self.sent.len()].clone();
                let o = self.sent[usize::from(*other) % self.sent.len()].dst;
                let seg = match bytes {
                    Some(b) => b.clone(),
                    None => {
                        let payload = vec![0u8; s.payload_len];
                        segment_bytes(&s.header, &payload, v4(LOCAL), v4(o)).unwrap_or_default()
                    }
                };
                let d = Datagram {
                    src: v4(LOCAL),
                    dst: v4(o),
                    start: 0,
                    end: seg.len(),
                    ecn: Ecn::NotEct,
                    segment_size: 0,
                };
                self.transmit_failed += 1;
                self.ep.on_transmit_failed(now, &d, &seg);
            }
            EpInput::NotLocal { spec } => {
                let hdr = spec_header(PEER_PORTS[0], PORTS[0], spec);
                let (src, dst) = (v4(PEERS[0]), v4([192, 0, 2, 254]));
                if let Some(bytes) = segment_bytes(&hdr, &[], src, dst) {
                    let before = self.ep.counters().not_local;
                    self.ep.on_datagram(now, src, dst, self.ecn, &bytes);
                    if self.ep.counters().not_local != before + 1 {
                        return self.fail("a segment for another address was not counted");
                    }
                }
            }
        }
        self.drain()
    }

    /// A checksummed IPv4 datagram from `src` to the Endpoint.
    fn deliver(
        &mut self,
        src: [u8; 4],
        hdr: &TcpHeader,
        payload: &[u8],
        read: bool,
    ) -> Result<(), String> {
        let Some(bytes) = segment_bytes(hdr, payload, v4(src), v4(LOCAL)) else {
            return Ok(()); // options that do not fit a header
        };
        let now = self.now;
        if read {
            let mut buf = [0u8; 2048];
            if let Some((h, n)) =
                self.ep
                    .on_datagram_recv(now, v4(src), v4(LOCAL), self.ecn, &bytes, &mut buf)
            {
                if n == 0 || n > buf.len() {
                    return self.fail(&format!("on_datagram_recv reported {n} bytes"));
                }
                if !self.handles.contains(&h) {
                    return self.fail(&format!(
                        "read at once for {h}, which the application does not hold"
                    ));
                }
                self.bytes_read += n as u64;
            }
        } else {
            self.ep
                .on_datagram(now, v4(src), v4(LOCAL), self.ecn, &bytes);
        }
        Ok(())
    }

    /// Drains events and datagrams, checking each, then the tables.
    fn drain(&mut self) -> Result<(), String> {
        for _ in 0..DRAIN_LIMIT {
            let Some(e) = self.ep.poll_event() else {
                break;
            };
            self.events += 1;
            if let Event::Closed(h, _) = e {
                self.handles.retain(|&x| x != h);
            }
        }
        if self.ep.poll_event().is_some() {
            return self.fail("the event queue does not drain");
        }
        let mut buf = vec![0u8; 2048];
        let mut n = 0;
        let now = self.now;
        while self.hold == 0
            && let Some(d) = self.ep.poll_transmit(now, &mut buf)
        {
            n += 1;
            if n > DRAIN_LIMIT {
                return self.fail("poll_transmit does not end");
            }
            self.datagrams_out += 1;
            let (IpAddr::V4(s), IpAddr::V4(t)) = (d.src, d.dst) else {
                return self.fail(&format!("an IPv6 datagram from an IPv4 host: {d:?}"));
            };
            let (s, t) = (s.octets(), t.octets());
            if s != LOCAL || !PEERS.contains(&t) {
                return self.fail(&format!("a datagram from {s:?} to {t:?}"));
            }
            let Some(seg) = buf.get(d.range()) else {
                return self.fail(&format!(
                    "a datagram of {} bytes in a 2048-byte buffer",
                    d.len()
                ));
            };
            if !checksum::verify_v4(s, t, seg) {
                return self.fail("a datagram with a wrong checksum");
            }
            let Ok((header, payload)) = TcpHeader::parse(seg) else {
                return self.fail("a datagram that does not parse");
            };
            // RFC 3168 §6.1.1, §6.1.4: ECT(0) only on data segments of a
            // connection that negotiated ECN, never on SYN, RST or a pure
            // ACK; never CE or ECT(1).
            match d.ecn {
                Ecn::NotEct => {}
                Ecn::Ect0 if !payload.is_empty() && !header.flags.syn() && !header.flags.rst() => {}
                e => {
                    return self.fail(&format!(
                        "{e:?} on {:?} with {} bytes",
                        header.flags,
                        payload.len()
                    ));
                }
            }
            if self.device_full > 0 {
                // Dropped by the device, reported right after its poll.
                self.device_full -= 1;
                self.transmit_failed += 1;
                self.ep.on_transmit_failed(now, &d, d.segment(&buf));
                continue;
            }
            if self.sent.len() == KEEP_SENT {
                self.sent.pop_back();
            }
            self.note_acked(t, &header, payload.len());
            self.sent.push_front(Sent {
                dst: t,
                header,
                payload_len: payload.len(),
            });
            self.fresh += 1;
        }
        if self.ep.connection_count() > self.cfg.max_connections {
            return self.fail(&format!(
                "{} connections, limit {}",
                self.ep.connection_count(),
                self.cfg.max_connections
            ));
        }
        if self.ep.time_wait_count() > self.cfg.max_time_wait {
            return self.fail(&format!(
                "{} TIME-WAIT entries, limit {}",
                self.ep.time_wait_count(),
                self.cfg.max_time_wait
            ));
        }
        // At most one timer entry per connection and per TIME-WAIT entry,
        // whatever arrived (issue 20: a TIME-WAIT flood added one per
        // segment).
        let timers = self.ep.timer_count();
        if timers > self.ep.connection_count() + self.ep.time_wait_count() {
            return self.fail(&format!(
                "{timers} timer entries for {} connections and {} TIME-WAIT entries",
                self.ep.connection_count(),
                self.ep.time_wait_count()
            ));
        }
        let orphans = self.ep.counters().orphans;
        if orphans > self.cfg.max_orphans as u64 {
            return self.fail(&format!(
                "{orphans} orphans, limit {}",
                self.cfg.max_orphans
            ));
        }
        // Each connection within its buffers, its boxes of ranges small
        // (reassembly and SACK scoreboard, issue 20).
        for &h in &self.handles {
            if let Some(c) = self.ep.connection(h)
                && (c.recv_queue() > self.cfg.rx_buffer
                    || c.send_queue() > self.cfg.tx_buffer
                    || c.heap_bytes() > max_heap_per_connection())
            {
                return self.fail(&format!(
                    "{h}: recv_queue {}, send_queue {}, heap {} B",
                    c.recv_queue(),
                    c.send_queue(),
                    c.heap_bytes()
                ));
            }
        }
        Ok(())
    }

    /// Runs `inputs`, then has the application abort what it holds and
    /// close its listeners (which resets what waits to be accepted), and
    /// lets over three hours pass in silence: every connection must end,
    /// orphans included (none may retransmit or probe forever).
    pub fn run(&mut self, inputs: &[EpInput]) -> Result<(), String> {
        for i in inputs {
            self.apply(i)?;
        }
        self.hold = 0;
        for h in core::mem::take(&mut self.handles) {
            let now = self.now;
            let _ = self.ep.abort(now, h);
        }
        for l in core::mem::take(&mut self.listeners) {
            let now = self.now;
            let _ = self.ep.close_listener(now, l);
        }
        self.drain()?;
        for _ in 0..200 {
            self.apply(&EpInput::Advance(60_000))?;
        }
        if self.ep.connection_count() != 0 || self.ep.time_wait_count() != 0 {
            return self.fail(&format!(
                "{} connections and {} TIME-WAIT entries left after 200 minutes of silence",
                self.ep.connection_count(),
                self.ep.time_wait_count()
            ));
        }
        Ok(())
    }
}

/// The header of `spec` between these ports.
fn spec_header(src_port: u16, dst_port: u16, spec: &OwnedSegmentSpec) -> TcpHeader {
    TcpHeader {
        src_port,
        dst_port,
        seq: spec.seq,
        ack: spec.ack,
        flags: spec.flags,
        window: spec.window,
        urgent: 0,
        options: spec.options,
    }
}

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// The TCP bytes of `hdr` and `payload` with the right checksum for
/// `src`/`dst`; `None` when the options do not fit a header.
fn segment_bytes(hdr: &TcpHeader, payload: &[u8], src: IpAddr, dst: IpAddr) -> Option<Vec<u8>> {
    let hl = hdr.header_len();
    let mut bytes = vec![0u8; hl + payload.len()];
    hdr.emit(&mut bytes).ok()?;
    bytes[hl..].copy_from_slice(payload);
    let c = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => checksum::tcp_checksum_v4(s.octets(), d.octets(), &bytes),
        (IpAddr::V6(s), IpAddr::V6(d)) => checksum::tcp_checksum_v6(s.octets(), d.octets(), &bytes),
        _ => 0,
    };
    bytes[16..18].copy_from_slice(&c.to_be_bytes());
    Some(bytes)
}
