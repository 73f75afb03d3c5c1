//! A deterministic network simulator (feature `testing`).
//!
//! Connections ([`Host`]s, in pairs) exchange real TCP bytes over
//! [`Link`]s with delay, jitter, bandwidth and a drop-tail queue, random
//! and burst loss, duplication, reordering and corruption. Each segment a
//! connection sends is emitted with [`TcpHeader::emit`], checksummed over
//! the IPv4 pseudo-header (192.0.2.1 <-> 192.0.2.2), and parsed and
//! verified on delivery, so a corrupted segment is dropped by the
//! checksum check as a real host would drop it.
//!
//! Time is virtual: the clock jumps to the next event (a delivery, a
//! connection's deadline, an application waking). Every random choice
//! comes from one [`Rng`] seeded by the caller, so a run replays exactly
//! from its seed. Applications follow a [`Script`]. The run is recorded: a
//! [`Trace`] of state changes, segments, writes and reads (which
//! [`Trace::check`] checks against the invariants of DESIGN.md), every
//! packet (written as a pcap file by [`Sim::write_pcap`]), and per-flow
//! metrics in the [`Report`].
//!
//! ```
//! use tcpstate::sim::{LinkConfig, Script, Sim};
//! use tcpstate::{Config, Duration};
//!
//! let link = LinkConfig::ideal(Duration::from_millis(10)).with_loss(0.02);
//! let mut sim = Sim::pair(7, Config::linux(), link,
//!     Script::send_then_close(20_000), Script::send_then_close(5_000));
//! let report = sim.run();
//! assert!(sim.trace.check_complete().is_empty());
//! assert_eq!(report.flows[0].bytes_delivered, 20_000);
//! ```

mod app;
mod link;
pub mod pcap;
mod rng;
mod trace;

pub use app::{Script, Step, pattern};
pub use link::{Arrival, Fate, GilbertElliott, Link, LinkConfig, LinkOutcome};
pub use rng::Rng;
pub use trace::{Ev, HostInfo, Record, Trace, Violation};

use std::collections::BTreeMap;
use std::vec::Vec;

use crate::config::Config;
use crate::connection::{Actions, Buffers, Connection, Transmit, reply_to_unknown};
use crate::error::{CallError, CloseReason};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::wire::{Segment, TcpHeader, checksum};

/// The address of the active (connecting) side of every pair.
pub const ADDR_A: [u8; 4] = [192, 0, 2, 1];
/// The address of the passive (listening) side of every pair.
pub const ADDR_B: [u8; 4] = [192, 0, 2, 2];

/// How to build one side of a pair.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The connection's configuration.
    pub config: Config,
    /// Receive buffer size.
    pub rx_buf: usize,
    /// Send buffer size.
    pub tx_buf: usize,
    /// What the application does.
    pub script: Script,
}

impl HostConfig {
    /// 64 KiB buffers.
    pub fn new(config: Config, script: Script) -> Self {
        HostConfig {
            config,
            rx_buf: 65_536,
            tx_buf: 65_536,
            script,
        }
    }
}

/// One connection and its scripted application.
#[derive(Debug)]
pub struct Host {
    /// The connection.
    pub conn: Connection<Vec<u8>>,
    /// What its application does.
    pub script: Script,
    /// Its IPv4 address.
    pub addr: [u8; 4],
    /// Its port.
    pub port: u16,
    /// The host at the other end.
    pub peer: usize,
    /// The link it sends on.
    pub link: usize,
    /// The application call that failed and stopped the script, if any.
    pub app_error: Option<CallError>,
    /// Bytes the application wrote (accepted by `send`).
    pub written: u64,
    /// Bytes the application read.
    pub read: u64,
    step: usize,
    step_sent: usize,
    wait_until: Option<Instant>,
    eof_seen: bool,
    // Metrics of the flow this host sends.
    high: Option<SeqNum>,
    retrans_bytes: u64,
    first_write: Option<Instant>,
    // Metrics of the flow this host receives.
    last_progress: Option<Instant>,
    max_stall: Duration,
    rx_done_at: Option<Instant>,
}

impl Host {
    /// The script has run to its end.
    pub fn script_done(&self) -> bool {
        self.step >= self.script.steps.len()
    }
}

/// A packet the simulator put on a link, as the sender emitted it.
#[derive(Clone, Debug)]
pub struct Packet {
    /// When it was sent.
    pub t: Instant,
    /// The sending host.
    pub from: usize,
    /// The link.
    pub link: usize,
    /// The TCP segment (header, options, payload; checksum filled in).
    pub tcp: Vec<u8>,
    /// ECT(0) was asked for.
    pub ect: bool,
    /// What became of it.
    pub fate: Fate,
    /// Copies delivered (0, 1, or 2 when duplicated).
    pub copies: u8,
    /// Copies corrupted on the way.
    pub corrupted: u8,
    /// It was held back and overtaken.
    pub reordered: bool,
}

/// Counters over all links.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets put on links.
    pub sent: u64,
    /// Lost at random.
    pub lost: u64,
    /// Lost in a burst.
    pub burst_lost: u64,
    /// Dropped by a full queue.
    pub queue_drops: u64,
    /// Lost on a cut link.
    pub link_down: u64,
    /// Packets dropped for exceeding the link's MTU (no ICMP error).
    pub too_big: u64,
    /// Delivered twice.
    pub duplicated: u64,
    /// Held back and overtaken.
    pub reordered: u64,
    /// Marked CE by a queue (`LinkConfig::ce_threshold`).
    pub ce_marked: u64,
    /// Copies with a flipped bit.
    pub corrupted: u64,
    /// Copies the receiver dropped for a bad checksum.
    pub bad_checksum: u64,
    /// Copies that did not parse or matched no host.
    pub undeliverable: u64,
    /// Copies given to a connection.
    pub delivered: u64,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum End {
    /// Every connection is CLOSED and nothing is in flight.
    AllClosed,
    /// Nothing left to happen (no packet, no deadline, no waiting app).
    Quiescent,
    /// The step cap was reached.
    StepCap,
    /// The time limit was reached.
    TimeLimit,
    /// The caller's condition stopped it ([`Sim::run_while`]).
    Stopped,
}

/// Metrics of one direction: what a host sent to its peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowMetrics {
    /// The sending host.
    pub from: usize,
    /// The receiving host.
    pub to: usize,
    /// Bytes the sender's application wrote.
    pub bytes_written: u64,
    /// Bytes the receiver's application read.
    pub bytes_delivered: u64,
    /// Payload bytes sent again (below the highest sequence number sent).
    pub bytes_retransmitted: u64,
    /// Segments retransmitted (the sender's `Stats::retransmits`).
    pub segments_retransmitted: u64,
    /// From the start of the run until the receiver had read every byte
    /// the sender's script writes (None: it never did, or nothing to send).
    pub completion: Option<Duration>,
    /// Script bytes over completion time, in bytes per second.
    pub goodput: Option<f64>,
    /// The longest time without new bytes read while some were owed
    /// (from the sender's first write until completion or the end).
    pub max_stall: Duration,
}

impl core::fmt::Display for FlowMetrics {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}->{}: {}/{} B delivered, {} B retransmitted ({} segs), completion {:?}, goodput {}, max stall {:?}",
            self.from,
            self.to,
            self.bytes_delivered,
            self.bytes_written,
            self.bytes_retransmitted,
            self.segments_retransmitted,
            self.completion,
            self.goodput
                .map_or_else(|| "-".into(), |g| std::format!("{:.0} B/s", g)),
            self.max_stall
        )
    }
}

/// The outcome of [`Sim::run`].
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The seed of the run.
    pub seed: u64,
    /// Why it stopped.
    pub end: End,
    /// Events processed.
    pub steps: u64,
    /// Virtual time from start to end.
    pub elapsed: Duration,
    /// One flow per host (what it sent).
    pub flows: Vec<FlowMetrics>,
    /// Link counters.
    pub counters: Counters,
    /// Each host's final state.
    pub states: Vec<State>,
    /// Each host's close reason.
    pub close_reasons: Vec<Option<CloseReason>>,
}

/// A segment on its way.
#[derive(Clone, Debug)]
struct Flight {
    src: [u8; 4],
    dst: [u8; 4],
    bytes: Vec<u8>,
    /// Marked CE on the way (RFC 3168 §5).
    ce: bool,
}

/// The simulator: hosts, links, the clock, the RNG and the records.
#[derive(Debug)]
pub struct Sim {
    /// The seed everything was drawn from.
    pub seed: u64,
    /// The virtual clock.
    pub now: Instant,
    /// When the run started.
    pub start: Instant,
    /// The hosts (connections with their applications).
    pub hosts: Vec<Host>,
    /// The links (one direction each).
    pub links: Vec<Link>,
    /// Everything the connections and applications did.
    pub trace: Trace,
    /// Every packet put on a link (when `record_packets`).
    pub packets: Vec<Packet>,
    /// Keep [`Sim::packets`] (for pcap files). On by default.
    pub record_packets: bool,
    /// Link counters.
    pub counters: Counters,
    /// Stop after this many events.
    pub step_cap: u64,
    /// Stop at this time.
    pub time_limit: Instant,
    /// Events processed so far.
    pub steps: u64,
    rng: Rng,
    in_flight: BTreeMap<(Instant, u64), Flight>,
    flight_seq: u64,
}

impl Sim {
    /// An empty simulation at time 1 s, drawing everything from `seed`,
    /// with a cap of 2 million events and 1 hour of virtual time.
    pub fn new(seed: u64) -> Self {
        let start = Instant::from_secs(1);
        Sim {
            seed,
            now: start,
            start,
            hosts: Vec::new(),
            links: Vec::new(),
            trace: Trace::default(),
            packets: Vec::new(),
            record_packets: true,
            counters: Counters::default(),
            step_cap: 2_000_000,
            time_limit: start + Duration::from_secs(3600),
            steps: 0,
            rng: Rng::new(seed),
            in_flight: BTreeMap::new(),
            flight_seq: 0,
        }
    }

    /// Two connections with the same configuration and 64 KiB buffers over
    /// a link with the same behaviour both ways; `a` connects to `b`.
    pub fn pair(seed: u64, config: Config, link: LinkConfig, a: Script, b: Script) -> Self {
        let mut sim = Sim::new(seed);
        let ab = sim.add_link(link.clone());
        let ba = sim.add_link(link);
        sim.add_pair(
            HostConfig::new(config.clone(), a),
            HostConfig::new(config, b),
            ab,
            ba,
        );
        sim
    }

    /// Adds a link; returns its index.
    pub fn add_link(&mut self, config: LinkConfig) -> usize {
        self.links.push(Link::new(config));
        self.links.len() - 1
    }

    /// Adds a pair: `b` listens, `a` connects to it now; `a` sends on link
    /// `ab` and `b` on link `ba` (links may be shared by several pairs, as a
    /// bottleneck). Returns the two host indices.
    pub fn add_pair(
        &mut self,
        a: HostConfig,
        b: HostConfig,
        ab: usize,
        ba: usize,
    ) -> (usize, usize) {
        let (ia, ib) = (self.hosts.len(), self.hosts.len() + 1);
        let k = (ia / 2) as u16;
        let mk = |h: HostConfig, addr, port, peer, link| Host {
            conn: Connection::new(h.config, Buffers::with_capacity(h.rx_buf, h.tx_buf))
                .expect("a valid host config"),
            script: h.script,
            addr,
            port,
            peer,
            link,
            app_error: None,
            written: 0,
            read: 0,
            step: 0,
            step_sent: 0,
            wait_until: None,
            eof_seen: false,
            high: None,
            retrans_bytes: 0,
            first_write: None,
            last_progress: None,
            max_stall: Duration::ZERO,
            rx_done_at: None,
        };
        self.hosts.push(mk(a, ADDR_A, 49_152 + k, ib, ab));
        self.hosts.push(mk(b, ADDR_B, 80, ia, ba));
        for h in [ia, ib] {
            let tw = self.hosts[h].conn.config().time_wait();
            self.trace.hosts.push(HostInfo {
                peer: self.hosts[h].peer,
                time_wait: tw,
            });
        }
        let now = self.now;
        let iss_b = SeqNum(self.rng.next_u64() as u32);
        let iss_a = SeqNum(self.rng.next_u64() as u32);
        if let Ok(acts) = self.hosts[ib].conn.listen(now, iss_b) {
            self.record_actions(ib, acts);
        }
        if let Ok(acts) = self.hosts[ia].conn.connect(now, iss_a) {
            self.record_actions(ia, acts);
        }
        (ia, ib)
    }

    /// Runs until every connection is closed, nothing more can happen, or
    /// the step cap or time limit is reached.
    pub fn run(&mut self) -> Report {
        let end = self.run_until(self.time_limit);
        self.report(end)
    }

    /// Runs until `until` (or an earlier end); returns why it stopped.
    pub fn run_until(&mut self, until: Instant) -> End {
        self.run_while(until, |_| true)
    }

    /// Runs like [`Sim::run_until`], and also stops (returning [`End::Stopped`])
    /// before the first event after which `keep_going` says no.
    pub fn run_while(&mut self, until: Instant, mut keep_going: impl FnMut(&Sim) -> bool) -> End {
        loop {
            for h in 0..self.hosts.len() {
                self.drive_app(h);
                self.flush(h);
            }
            if self.steps >= self.step_cap {
                return End::StepCap;
            }
            let all_closed = self.hosts.iter().all(|h| h.conn.state() == State::Closed);
            if all_closed && self.in_flight.is_empty() {
                return End::AllClosed;
            }
            let Some(next) = self.next_event() else {
                return End::Quiescent;
            };
            if next > until {
                self.now = self.now.max(until);
                return End::TimeLimit;
            }
            self.now = self.now.max(next);
            self.steps += 1;
            self.step_now();
            if !keep_going(self) {
                return End::Stopped;
            }
        }
    }

    /// The time of the next event, if any.
    pub fn next_event(&self) -> Option<Instant> {
        let pkt = self.in_flight.keys().next().map(|k| k.0);
        let tmr = self.hosts.iter().filter_map(|h| h.conn.deadline()).min();
        let app = self.hosts.iter().filter_map(|h| h.wait_until).min();
        [pkt, tmr, app].into_iter().flatten().min()
    }

    /// Handles everything due at `self.now`: deliveries, then timers.
    fn step_now(&mut self) {
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let f = entry.remove();
            self.deliver(f);
        }
        for h in 0..self.hosts.len() {
            if self.hosts[h].conn.deadline().is_some_and(|d| d <= self.now) {
                let acts = self.hosts[h].conn.on_timer(self.now);
                self.record_actions(h, acts);
                self.flush(h);
            }
        }
    }

    fn deliver(&mut self, f: Flight) {
        if !checksum::verify_v4(f.src, f.dst, &f.bytes) {
            self.counters.bad_checksum += 1;
            return;
        }
        let Ok((hdr, payload)) = TcpHeader::parse(&f.bytes) else {
            self.counters.undeliverable += 1;
            return;
        };
        let Some(h) = self.hosts.iter().position(|h| {
            h.addr == f.dst
                && h.port == hdr.dst_port
                && self.hosts[h.peer].port == hdr.src_port
                && self.hosts[h.peer].addr == f.src
        }) else {
            self.counters.undeliverable += 1;
            return;
        };
        self.counters.delivered += 1;
        let seg = Segment::new(&hdr, payload);
        if self.hosts[h].conn.state() == State::Closed {
            // No connection for this 4-tuple any more: answer as a host's
            // TCP (the Endpoint) does (RFC 9293 §3.10.7.1).
            if let Some(t) = reply_to_unknown(&seg) {
                self.emit(h, &t, &[]);
            }
            return;
        }
        if self.hosts[h].script.auto_read && self.counters.delivered % 2 == 0 {
            // Every other segment to a reading host is read at once
            // (`on_segment_recv`, straight into the application's buffer
            // where it can), so that both ways in run in every scenario.
            let mut buf = [0u8; 16_384];
            let o = self.hosts[h]
                .conn
                .on_segment_recv(self.now, &seg, f.ce, &mut buf);
            self.record_actions(h, o.actions);
            if o.len > 0 {
                self.got(h, &buf[..o.len]);
            }
        } else {
            let acts = self.hosts[h].conn.on_segment_ecn(self.now, &seg, f.ce);
            self.record_actions(h, acts);
        }
        self.drive_app(h);
        self.flush(h);
    }

    /// Hands a crafted segment to host `h` now (as if it arrived from its
    /// peer), then lets the host answer.
    pub fn inject(&mut self, h: usize, header: &TcpHeader, payload: &[u8]) -> Actions {
        let acts = self.hosts[h]
            .conn
            .on_segment(self.now, &Segment::new(header, payload));
        self.record_actions(h, acts);
        self.drive_app(h);
        self.flush(h);
        acts
    }

    /// The header host `h` would put on a segment to its peer (ports set).
    pub fn header_to(&self, h: usize) -> TcpHeader {
        let peer = self.hosts[h].peer;
        TcpHeader {
            src_port: self.hosts[peer].port,
            dst_port: self.hosts[h].port,
            ..TcpHeader::default()
        }
    }

    fn record(&mut self, host: usize, ev: Ev) {
        self.trace.records.push(Record {
            t: self.now,
            host,
            ev,
        });
    }

    fn record_actions(&mut self, h: usize, acts: Actions) {
        for c in acts.state_changes() {
            self.record(h, Ev::State(*c));
        }
        if let Some(r) = acts.closed() {
            self.record(h, Ev::Closed(r));
        }
    }

    /// Reads everything readable at host `h`.
    fn read_all(&mut self, h: usize) {
        let mut buf = [0u8; 16_384];
        loop {
            let now = self.now;
            let n = match self.hosts[h].conn.recv(now, &mut buf) {
                Ok(o) => {
                    self.record_actions(h, o.actions);
                    o.len
                }
                Err(_) => 0,
            };
            if n == 0 {
                break;
            }
            self.got(h, &buf[..n]);
        }
        let host = &mut self.hosts[h];
        if !host.eof_seen && host.conn.is_eof() {
            host.eof_seen = true;
            self.record(h, Ev::Eof);
        }
    }

    /// Host `h`'s application read `data`.
    fn got(&mut self, h: usize, data: &[u8]) {
        let now = self.now;
        let n = data.len();
        self.record(h, Ev::Read(data.to_vec()));
        let peer = self.hosts[h].peer;
        let target = self.hosts[peer].script.bytes_to_send();
        let since = self.hosts[h]
            .last_progress
            .or(self.hosts[peer].first_write)
            .unwrap_or(now);
        let host = &mut self.hosts[h];
        host.read += n as u64;
        host.max_stall = host.max_stall.max(now.saturating_duration_since(since));
        host.last_progress = Some(now);
        if host.read >= target && host.rx_done_at.is_none() {
            host.rx_done_at = Some(now);
        }
    }

    /// Runs host `h`'s script as far as it can go now.
    fn drive_app(&mut self, h: usize) {
        loop {
            if self.hosts[h].script.auto_read {
                self.read_all(h);
            }
            let host = &self.hosts[h];
            // The application runs once its connection is open, as
            // `connect()` and `accept()` return only then.
            if matches!(
                host.conn.state(),
                State::Listen | State::SynSent | State::SynReceived
            ) {
                return;
            }
            let Some(&step) = host.script.steps.get(host.step) else {
                return;
            };
            let now = self.now;
            match step {
                Step::Send(n) => {
                    let host = &mut self.hosts[h];
                    let left = n - host.step_sent;
                    if left == 0 {
                        host.step += 1;
                        host.step_sent = 0;
                        continue;
                    }
                    let chunk: Vec<u8> = (0..left.min(16_384) as u64)
                        .map(|i| pattern(h, host.written + i))
                        .collect();
                    match host.conn.send(now, &chunk) {
                        Ok(o) => {
                            host.written += o.len as u64;
                            host.step_sent += o.len;
                            if o.len > 0 {
                                host.first_write.get_or_insert(now);
                            }
                            self.record_actions(h, o.actions);
                            if o.len > 0 {
                                self.record(h, Ev::Wrote(chunk[..o.len].to_vec()));
                            } else {
                                return; // buffer full: wait
                            }
                        }
                        Err(e) => self.stop_script(h, e),
                    }
                }
                Step::Read => {
                    self.read_all(h);
                    self.hosts[h].step += 1;
                }
                Step::Wait(d) => {
                    let host = &mut self.hosts[h];
                    match host.wait_until {
                        None => {
                            host.wait_until = Some(now + d);
                            if !d.is_zero() {
                                return;
                            }
                        }
                        Some(t) if t <= now => {
                            host.wait_until = None;
                            host.step += 1;
                        }
                        Some(_) => return,
                    }
                }
                Step::WaitEof => {
                    self.read_all(h);
                    let c = &self.hosts[h].conn;
                    if c.is_eof() || c.state() == State::Closed {
                        self.hosts[h].step += 1;
                    } else {
                        return;
                    }
                }
                Step::Shutdown | Step::Close | Step::Abort => {
                    let c = &mut self.hosts[h].conn;
                    let r = match step {
                        Step::Shutdown => c.shutdown(now),
                        Step::Close => c.close(now),
                        _ => c.abort(now),
                    };
                    match r {
                        Ok(acts) => {
                            self.record_actions(h, acts);
                            if step != Step::Abort {
                                self.record(h, Ev::WriteClosed);
                            }
                            self.hosts[h].step += 1;
                        }
                        Err(e) => self.stop_script(h, e),
                    }
                }
            }
        }
    }

    fn stop_script(&mut self, h: usize, e: CallError) {
        let host = &mut self.hosts[h];
        host.app_error.get_or_insert(e);
        host.step = host.script.steps.len();
        host.wait_until = None;
    }

    /// Puts everything host `h` has to send on its link.
    fn flush(&mut self, h: usize) {
        let mut buf = std::vec![0u8; 65_536];
        let mut n = 0;
        while let Some(t) = self.hosts[h].conn.poll_transmit(self.now, &mut buf) {
            n += 1;
            assert!(n < 1_000_000, "poll_transmit does not end");
            self.emit(h, &t, &buf[..t.len]);
        }
    }

    /// Records, serialises and sends one segment of host `h`.
    fn emit(&mut self, h: usize, t: &Transmit, payload: &[u8]) {
        self.record(
            h,
            Ev::Sent {
                seq: t.seq,
                ack: t.ack,
                flags: t.flags,
                len: t.len as u32,
            },
        );
        let host = &mut self.hosts[h];
        if t.len > 0 {
            let start = t.seq.add(u32::from(t.flags.syn()));
            let end = start.add(t.len as u32);
            let fresh = match host.high {
                Some(hi) if end.before_eq(hi) => 0,
                Some(hi) if start.before(hi) => end.dist(hi),
                _ => t.len as u32,
            };
            host.retrans_bytes += u64::from(t.len as u32 - fresh.min(t.len as u32));
            if host.high.is_none_or(|hi| end.after(hi)) {
                host.high = Some(end);
            }
        }
        let peer = host.peer;
        let (src, dst) = (host.addr, self.hosts[peer].addr);
        let header = t.header(self.hosts[h].port, self.hosts[peer].port);
        let hl = header.header_len();
        let mut tcp = std::vec![0u8; hl + t.len];
        if header.emit(&mut tcp).is_err() {
            return;
        }
        tcp[hl..].copy_from_slice(payload);
        checksum::fill_checksum_v4(src, dst, &mut tcp);
        self.send_packet(h, src, dst, tcp, t.ect);
    }

    fn send_packet(&mut self, h: usize, src: [u8; 4], dst: [u8; 4], tcp: Vec<u8>, ect: bool) {
        let link = self.hosts[h].link;
        let out = self.links[link].transmit(self.now, 20 + tcp.len(), ect, &mut self.rng);
        if out.ce {
            self.counters.ce_marked += 1;
        }
        let c = &mut self.counters;
        c.sent += 1;
        match out.fate {
            Fate::Lost => c.lost += 1,
            Fate::BurstLost => c.burst_lost += 1,
            Fate::QueueDrop => c.queue_drops += 1,
            Fate::LinkDown => c.link_down += 1,
            Fate::TooBig => c.too_big += 1,
            Fate::Delivered => {}
        }
        if out.arrivals.len() > 1 {
            c.duplicated += 1;
        }
        let mut corrupted = 0;
        let mut reordered = false;
        for a in &out.arrivals {
            let mut bytes = tcp.clone();
            if let Some(bit) = a.flipped_bit {
                // The bit index counts the IP header too; flip within TCP.
                let bit = bit % (bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
                corrupted += 1;
                self.counters.corrupted += 1;
            }
            reordered |= a.reordered;
            self.flight_seq += 1;
            self.in_flight.insert(
                (a.at, self.flight_seq),
                Flight {
                    src,
                    dst,
                    bytes,
                    ce: out.ce,
                },
            );
        }
        if reordered {
            self.counters.reordered += 1;
        }
        if self.record_packets {
            self.packets.push(Packet {
                t: self.now,
                from: h,
                link,
                tcp,
                ect,
                fate: out.fate,
                copies: out.arrivals.len() as u8,
                corrupted,
                reordered,
            });
        }
    }

    /// The report of the run so far.
    pub fn report(&self, end: End) -> Report {
        let flows = (0..self.hosts.len())
            .map(|h| {
                let s = &self.hosts[h];
                let r = &self.hosts[s.peer];
                let target = s.script.bytes_to_send();
                let completion = (target > 0)
                    .then_some(r.rx_done_at)
                    .flatten()
                    .map(|t| t.saturating_duration_since(self.start));
                // A flow still owed bytes at the end has stalled since its
                // last progress.
                let mut max_stall = r.max_stall;
                if r.read < s.written {
                    if let Some(since) = r.last_progress.or(s.first_write) {
                        max_stall = max_stall.max(self.now.saturating_duration_since(since));
                    }
                }
                FlowMetrics {
                    from: h,
                    to: s.peer,
                    bytes_written: s.written,
                    bytes_delivered: r.read,
                    bytes_retransmitted: s.retrans_bytes,
                    segments_retransmitted: s.conn.stats().retransmits,
                    completion,
                    goodput: completion
                        .filter(|d| !d.is_zero())
                        .map(|d| target as f64 / d.as_secs_f64()),
                    max_stall,
                }
            })
            .collect();
        Report {
            seed: self.seed,
            end,
            steps: self.steps,
            elapsed: self.now.saturating_duration_since(self.start),
            flows,
            counters: self.counters,
            states: self.hosts.iter().map(|h| h.conn.state()).collect(),
            close_reasons: self.hosts.iter().map(|h| h.conn.close_reason()).collect(),
        }
    }

    /// Writes every recorded packet as a pcap file (IPv4, `LINKTYPE_RAW`).
    /// Packets appear when they were sent, including those the link lost.
    pub fn write_pcap(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        pcap::write_header(&mut w)?;
        for (i, p) in self.packets.iter().enumerate() {
            let src = self.hosts[p.from].addr;
            let dst = self.hosts[self.hosts[p.from].peer].addr;
            let ip = pcap::ipv4_packet(src, dst, i as u16, p.ect, &p.tcp);
            pcap::write_record(&mut w, p.t, &ip)?;
        }
        Ok(())
    }
}
