//! The stack: one Endpoint, one device, one driver task.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tcpstate::{CloseReason, EndpointConfig, Handle, Instant, ListenerId, PendingSyn};
use tokio::time::Sleep;

use crate::device::{Batch, Capabilities, Checksum, Device, PacketMeta, Splitter};
use crate::engine::{Engine, Event, Verdict};
use crate::ip::{self, IP_ROOM};
use crate::{TcpListener, TcpStream};

/// A callback for packets the stack does not take (see
/// [`StackBuilder::on_unhandled`]).
pub type Unhandled = Box<dyn FnMut(&[u8]) + Send>;

/// Counts kept by the stack (the engine's own are in
/// [`Stack::engine_counters`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StackStats {
    /// Packets read from the device.
    pub packets_in: u64,
    /// Packets written to the device.
    pub packets_out: u64,
    /// Packets handed to the application (not TCP, or TCP for an address
    /// the stack does not own, or an ICMP error the engine did not take).
    pub unhandled: u64,
    /// Of those, packets dropped because no callback was set.
    pub unhandled_dropped: u64,
    /// Times the device held a transmit (`poll_send` returned `Pending`).
    pub tx_held: u64,
    /// Times the driver ran.
    pub driver_polls: u64,
    /// Times it yielded with work left (after its round limit).
    pub driver_yields: u64,
    /// Of the packets read, coalesced TCP segments (GRO super-segments).
    pub super_in: u64,
    /// Of the packets written, TCP super-segments for the device to split.
    pub super_out: u64,
    /// TCP segments dropped for a bad checksum the stack checked itself
    /// (where the engine trusts the device's checks, for packets the
    /// device did not check).
    pub checksum_errors: u64,
}

/// The application's side of a connection.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    pub(crate) read: Option<Waker>,
    pub(crate) write: Option<Waker>,
    /// ESTABLISHED reached (active open) or accepted.
    pub(crate) connected: bool,
    /// The engine's `Closed` event, once seen.
    pub(crate) end: Option<CloseReason>,
    pub(crate) local: Option<SocketAddr>,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) linger: Option<Duration>,
}

#[derive(Debug, Default)]
pub(crate) struct ListenState {
    pub(crate) accept: Option<Waker>,
    /// Held SYNs of a filtering listener, oldest first (at most its SYN
    /// queue's length: the engine bounds them).
    pub(crate) syns: VecDeque<PendingSyn>,
    pub(crate) syn: Option<Waker>,
}

/// Everything behind the lock.
pub(crate) struct Inner {
    pub(crate) eng: Engine,
    origin: tokio::time::Instant,
    last: Instant,
    pub(crate) conns: HashMap<Handle, ConnState>,
    pub(crate) listeners: HashMap<ListenerId, ListenState>,
    pub(crate) addrs: Vec<IpAddr>,
    pub(crate) transparent: bool,
    driver: Option<Waker>,
    /// An application call may have queued output: wake the driver.
    kick: bool,
    /// Stack handles, listeners and streams alive.
    pub(crate) users: usize,
    /// The device failed: the driver stopped (the error's kind and text).
    pub(crate) failed: Option<(io::ErrorKind, String)>,
    pub(crate) stats: StackStats,
}

impl Inner {
    /// The engine's clock: microseconds since the stack started, never
    /// going back (taken under the lock, so calls stay in order).
    pub(crate) fn now(&mut self) -> Instant {
        let t = Instant::from_micros(self.origin.elapsed().as_micros() as u64);
        if t > self.last {
            self.last = t;
        }
        self.last
    }
    /// Asks the driver to run (after an application call).
    pub(crate) fn kick(&mut self) {
        self.kick = true;
    }
    pub(crate) fn owns(&self, ip: IpAddr) -> bool {
        self.transparent || self.addrs.contains(&ip)
    }
    /// The application let go of a connection.
    pub(crate) fn release(&mut self, h: Handle) {
        let Some(c) = self.conns.remove(&h) else {
            return;
        };
        if c.end.is_none() {
            let now = self.now();
            if c.connected {
                self.eng.release(now, h, c.linger);
            } else {
                self.eng.abort(now, h);
            }
            self.kick();
        }
    }
    pub(crate) fn error(&self) -> io::Error {
        match &self.failed {
            Some((k, e)) => io::Error::new(*k, format!("the stack's device failed: {e}")),
            None => io::Error::new(io::ErrorKind::NotConnected, "not connected"),
        }
    }
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Runs `f` under the lock, then wakes the driver if `f` kicked it.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = self.lock();
        let r = f(&mut g);
        let w = if std::mem::take(&mut g.kick) {
            g.driver.clone()
        } else {
            None
        };
        drop(g);
        if let Some(w) = w {
            w.wake();
        }
        r
    }
}

/// A TCP/IP host over a packet device: clone it freely, every clone is the
/// same stack. See the crate docs.
pub struct Stack {
    pub(crate) shared: Arc<Shared>,
}

impl Clone for Stack {
    fn clone(&self) -> Self {
        self.shared.lock().users += 1;
        Stack {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shared.with(|g| {
            g.users -= 1;
            g.kick();
        });
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.shared.lock();
        f.debug_struct("Stack")
            .field("addrs", &g.addrs)
            .field("connections", &g.conns.len())
            .field("stats", &g.stats)
            .finish_non_exhaustive()
    }
}

/// Sets up a [`Stack`].
pub struct StackBuilder {
    cfg: EndpointConfig,
    offload: bool,
    addrs: Vec<IpAddr>,
    transparent: bool,
    unhandled: Option<Unhandled>,
    secret: Option<[u8; 16]>,
}

impl std::fmt::Debug for StackBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackBuilder")
            .field("addrs", &self.addrs)
            .field("transparent", &self.transparent)
            .finish_non_exhaustive()
    }
}

impl Default for StackBuilder {
    fn default() -> Self {
        let mut cfg = EndpointConfig::linux();
        cfg.rx_buffer = 256 * 1024;
        cfg.tx_buffer = 256 * 1024;
        StackBuilder {
            cfg,
            offload: true,
            addrs: Vec::new(),
            transparent: false,
            unhandled: None,
            secret: None,
        }
    }
}

impl StackBuilder {
    /// An address the stack owns (add IPv4 and IPv6 ones as needed). The
    /// first of each family is the source of `connect`.
    pub fn addr(mut self, ip: IpAddr) -> Self {
        if !self.addrs.contains(&ip) {
            self.addrs.push(ip);
        }
        self
    }
    /// Accept TCP for any destination (a transparent proxy, tun2socks).
    pub fn transparent(mut self, on: bool) -> Self {
        self.transparent = on;
        self
    }
    /// The engine's configuration (default: Linux's, with 256 KiB buffers
    /// each way). Its MSS is capped to fit the device's MTU.
    pub fn endpoint_config(mut self, cfg: EndpointConfig) -> Self {
        self.cfg = cfg;
        self
    }
    /// Use the device's offloads (on by default): super-segments out where
    /// it splits them (GSO), coalesced segments in (GRO), checksums left
    /// to it and trusted from it. Off: plain packets, software checksums,
    /// whatever the device can do.
    pub fn offload(mut self, on: bool) -> Self {
        self.offload = on;
        self
    }
    /// Receive and send buffer sizes per connection.
    pub fn buffers(mut self, rx: usize, tx: usize) -> Self {
        self.cfg.rx_buffer = rx;
        self.cfg.tx_buffer = tx;
        self
    }
    /// The secret keying ISNs, ports and cookies (default: from the OS's
    /// random source).
    pub fn secret(mut self, secret: [u8; 16]) -> Self {
        self.secret = Some(secret);
        self
    }
    /// Called by the driver with each packet the stack does not take: not
    /// TCP, TCP for an address the stack does not own, ICMP errors for no
    /// connection. Without it such packets are dropped and counted
    /// ([`StackStats::unhandled_dropped`]). It runs on the driver task:
    /// keep it short and do not block.
    pub fn on_unhandled(mut self, f: impl FnMut(&[u8]) + Send + 'static) -> Self {
        self.unhandled = Some(Box::new(f));
        self
    }

    /// Starts the stack on `device`, spawning its driver on the current
    /// tokio runtime.
    pub fn build<D: Device>(self, device: D) -> io::Result<Stack> {
        let mut caps = device.capabilities();
        if !self.offload {
            caps = Capabilities::new(caps.mtu, caps.max_batch);
        }
        let mut cfg = self.cfg;
        // The MSS fits the device's MTU behind the IP header of the
        // largest family the stack uses (one MSS for both families: with
        // IPv6 about, IPv4 segments are 20 bytes shorter than they could
        // be).
        let v6 = self.transparent || self.addrs.iter().any(IpAddr::is_ipv6);
        let ip_header = if v6 { 40 } else { 20 };
        let mss = caps
            .mtu
            .saturating_sub(ip_header + 20)
            .clamp(536, usize::from(u16::MAX)) as u16;
        cfg.conn.mss = cfg.conn.mss.min(mss);
        // Offloads: super-segments need the device to split them and to
        // complete their checksums (the field holds the pseudo-header sum).
        let max_payload = caps
            .gso_max
            .saturating_sub(ip_header + tcpstate::endpoint::MAX_HEADER)
            .min(65_000);
        let gso = caps.tx_checksum && max_payload > usize::from(cfg.conn.mss);
        cfg.gso_max = if gso { max_payload } else { 0 };
        cfg.tx_checksum_offload = caps.tx_checksum;
        cfg.rx_checksum_offload = caps.rx_checksum;
        let secret = match self.secret {
            Some(s) => s,
            None => {
                let mut s = [0u8; 16];
                getrandom::fill(&mut s).map_err(|e| io::Error::other(e.to_string()))?;
                s
            }
        };
        let eng = Engine::new(cfg, &self.addrs, self.transparent, secret)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // The engine writes header and payload into the buffer after the
        // IP header's room; it keeps every segment within the MSS (SACK
        // blocks included) and every super-segment within `gso_max`.
        let payload = if gso { max_payload } else { usize::from(mss) };
        let buf = IP_ROOM + tcpstate::endpoint::MAX_HEADER + payload;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                eng,
                origin: tokio::time::Instant::now(),
                last: Instant::ZERO,
                conns: HashMap::new(),
                listeners: HashMap::new(),
                addrs: self.addrs,
                transparent: self.transparent,
                driver: None,
                kick: false,
                users: 1,
                failed: None,
                stats: StackStats::default(),
            }),
        });

        let batch = caps.max_batch.clamp(1, 256);
        let driver = Driver {
            shared: shared.clone(),
            dev: device,
            rx: Batch::new(batch, caps.buffer_len().max(1280)),
            tx: Batch::new(batch, buf.max(caps.mtu)),
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            wake: Vec::new(),
            others: Vec::new(),
            unhandled: self.unhandled,
            ip_id: 0,
            tx_partial: caps.tx_checksum,
            rx_trusted: caps.rx_checksum,
            splitter: Splitter::new(),
        };
        tokio::spawn(driver);
        Ok(Stack { shared })
    }
}

impl Stack {
    /// A builder.
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// A stack owning `addrs`, with the default configuration.
    pub fn new<D: Device>(device: D, addrs: &[IpAddr]) -> io::Result<Stack> {
        addrs
            .iter()
            .fold(Stack::builder(), |b, a| b.addr(*a))
            .build(device)
    }

    /// Listens on `addr` with tokio's default backlog (1024). Port 0 picks
    /// a free port; in transparent mode the unspecified address with port
    /// 0 (`0.0.0.0:0`, `[::]:0`) takes every connection no other listener
    /// takes, whatever its destination ([`TcpStream::local_addr`] says
    /// which).
    pub async fn bind(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_on(self, addr, 1024, false)
    }

    /// Listens on `addr` with the given backlog (accept queue length).
    pub fn listen(&self, addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        TcpListener::bind_on(self, addr, backlog, false)
    }

    /// Listens and holds every new SYN for the application's verdict
    /// before anything is sent ([`TcpListener::next_syn`]): admit, refuse
    /// with a RST, or drop. Held SYNs count in the SYN queue (at most
    /// `backlog` and `max_syn_backlog`); past that, SYNs are dropped.
    pub fn listen_filtered(&self, addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        TcpListener::bind_on(self, addr, backlog, true)
    }

    /// Opens a connection to `addr` through the stack.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_on(self, addr).await
    }

    /// Why the driver stopped, if it did: the device's error. Every call
    /// on the stack's streams and listeners then fails with it.
    pub fn failure(&self) -> Option<io::Error> {
        let g = self.shared.lock();
        g.failed.is_some().then(|| g.error())
    }

    /// The stack's counts.
    pub fn stats(&self) -> StackStats {
        self.shared.lock().stats
    }

    /// The engine's counters (`/proc/net/snmp` style).
    pub fn engine_counters(&self) -> tcpstate::Counters {
        self.shared.lock().eng.counters()
    }

    /// Every listener, connection and TIME-WAIT entry, like `ss -tan -o`.
    pub fn connections(&self) -> Vec<tcpstate::ConnInfo> {
        let mut g = self.shared.lock();
        let now = g.now();
        g.eng.listing(now)
    }

    /// Connections the engine holds (the application's and orphans).
    pub fn connection_count(&self) -> usize {
        self.shared.lock().eng.connection_count()
    }

    /// Makes this stack the one [`TcpListener::bind`] and
    /// [`TcpStream::connect`] use (the functions with tokio's names).
    pub fn make_default(&self) {
        *DEFAULT.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.clone());
    }

    pub(crate) fn default_stack() -> io::Result<Stack> {
        DEFAULT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| io::Error::other("no default stack: call Stack::make_default"))
    }
}

static DEFAULT: Mutex<Option<Stack>> = Mutex::new(None);

/// The most rounds of receive/transmit the driver runs before yielding.
const ROUNDS: usize = 16;

/// The driver task: device in, engine, events to wakers, engine out to the
/// device, one timer.
struct Driver<D> {
    shared: Arc<Shared>,
    dev: D,
    rx: Batch,
    /// Packets the device has not taken yet (held, never dropped).
    tx: Batch,
    sleep: Pin<Box<Sleep>>,
    wake: Vec<Waker>,
    /// Indices in `rx` of packets for the application.
    others: Vec<usize>,
    unhandled: Option<Unhandled>,
    ip_id: u16,
    /// The engine leaves transmit checksums to the device.
    tx_partial: bool,
    /// The engine trusts receive checksums: the driver checks those the
    /// device did not.
    rx_trusted: bool,
    /// Splits super-packets handed to the application.
    splitter: Splitter,
}

impl<D: Device> Driver<D> {
    /// Feeds `self.rx` to the engine; unhandled packets' indices go to
    /// `self.others`.
    fn feed(&mut self, g: &mut Inner, now: Instant) {
        for (i, p) in self.rx.packets().iter().enumerate() {
            match ip::parse(p.data()) {
                ip::Packet::Tcp {
                    src,
                    dst,
                    ecn,
                    segment,
                } if g.owns(dst) => {
                    if p.meta.segment_size > 0 {
                        g.stats.super_in += 1;
                    }
                    // The engine trusts checksums (the device checks
                    // them): check the ones it did not.
                    if self.rx_trusted
                        && p.meta.checksum == Checksum::Complete
                        && !ip::tcp_checksum_ok(src, dst, segment)
                    {
                        g.stats.checksum_errors += 1;
                        continue;
                    }
                    g.eng.datagram(now, src, dst, ecn, segment);
                }
                ip::Packet::IcmpError {
                    v6,
                    kind,
                    code,
                    mtu,
                    quoted,
                    quoted_src,
                } if g.owns(quoted_src) && g.eng.icmp(now, v6, kind, code, mtu, quoted) => {}
                _ => self.others.push(i),
            }
        }
        g.stats.packets_in += self.rx.len() as u64;
    }

    /// Wakes the tasks the engine's events concern (collected in `wake`).
    fn events(&mut self, g: &mut Inner) {
        while let Some(ev) = g.eng.poll_event() {
            match ev {
                Event::Incoming(l) => {
                    if let Some(w) = g.listeners.get_mut(&l).and_then(|l| l.accept.take()) {
                        self.wake.push(w);
                    }
                }
                Event::Connected(h) => {
                    if let Some(c) = g.conns.get_mut(&h) {
                        c.connected = true;
                        self.wake.extend(c.write.take());
                        self.wake.extend(c.read.take());
                    }
                }
                Event::Readable(h) => {
                    if let Some(w) = g.conns.get_mut(&h).and_then(|c| c.read.take()) {
                        self.wake.push(w);
                    }
                }
                Event::Writable(h) => {
                    if let Some(w) = g.conns.get_mut(&h).and_then(|c| c.write.take()) {
                        self.wake.push(w);
                    }
                }
                Event::Closed(h, r) => {
                    if let Some(c) = g.conns.get_mut(&h) {
                        c.end = Some(r);
                        self.wake.extend(c.read.take());
                        self.wake.extend(c.write.take());
                    }
                }
                Event::SynPending(l, p) => match g.listeners.get_mut(&l) {
                    // Held SYNs are bounded by the listener's SYN queue.
                    Some(ls) => {
                        ls.syns.push_back(p);
                        self.wake.extend(ls.syn.take());
                    }
                    None => {
                        let now = g.now();
                        g.eng.answer_syn(now, p, Verdict::Ignore);
                    }
                },
                Event::Other => {}
            }
        }
    }

    /// Fills `tx` from the engine; true if it filled it up (more may wait).
    fn fill(&mut self, g: &mut Inner, now: Instant) -> bool {
        // Bounded even if segments keep coming without fitting.
        for _ in 0..2 * self.tx.capacity() {
            let Some(p) = self.tx.next_free() else {
                return true;
            };
            let buf = p.buffer_mut();
            let Some(out) = g.eng.poll_transmit(now, &mut buf[IP_ROOM..]) else {
                return false;
            };
            // The TCP segment starts at `at`; the IP header goes in front.
            let at = IP_ROOM + out.start;
            let tcp_header = usize::from(buf[at + 12] >> 4) * 4;
            self.ip_id = self.ip_id.wrapping_add(1);
            match ip::write_header(buf, at, out.src, out.dst, out.ecn, out.len, self.ip_id) {
                Some(start) => {
                    p.set_range(start, at - start + out.len);
                    p.meta = PacketMeta::new(
                        out.segment_size,
                        if self.tx_partial {
                            Checksum::Partial
                        } else {
                            Checksum::Complete
                        },
                    );
                    if out.segment_size > 0 {
                        // The device's pieces take the next identifications.
                        let payload = out.len.saturating_sub(tcp_header);
                        let pieces = payload.div_ceil(usize::from(out.segment_size)).max(1);
                        self.ip_id = self.ip_id.wrapping_add(pieces as u16 - 1);
                        g.stats.super_out += 1;
                    }
                    self.tx.commit();
                }
                None => continue,
            }
        }
        true
    }

    fn fail(&mut self, e: io::Error) -> Poll<()> {
        let mut g = self.shared.lock();
        g.failed = Some((e.kind(), e.to_string()));
        for c in g.conns.values_mut() {
            self.wake.extend(c.read.take());
            self.wake.extend(c.write.take());
        }
        for l in g.listeners.values_mut() {
            self.wake.extend(l.accept.take());
            self.wake.extend(l.syn.take());
        }
        drop(g);
        self.wake.drain(..).for_each(Waker::wake);
        Poll::Ready(())
    }
}

// The driver never pins its fields.
impl<D> Unpin for Driver<D> {}

impl<D: Device> Future for Driver<D> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        for _ in 0..ROUNDS {
            let mut again = false;
            // 1. The device's packets.
            this.rx.clear();
            this.others.clear();
            let got = match this.dev.poll_recv(cx, &mut this.rx) {
                Poll::Ready(Ok(())) => true,
                Poll::Ready(Err(e)) => return this.fail(e),
                Poll::Pending => false,
            };
            // 2. Under the lock: input, timers, events, output.
            let shared = this.shared.clone();
            let mut g = shared.lock();
            g.stats.driver_polls += 1;
            if !g.driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                g.driver = Some(cx.waker().clone());
            }
            g.kick = false;
            let now = g.now();
            if got {
                this.feed(&mut g, now);
                again = true;
            }
            // Checked on every round, not only when the sleep fires: a
            // timer is never late because the scheduler's budget kept the
            // sleep from completing.
            if g.eng.next_deadline().is_some_and(|d| d <= now) {
                g.eng.on_timer(now);
            }
            this.events(&mut g);
            if this.tx.is_empty() && this.fill(&mut g, now) {
                again = true;
            }
            let deadline = g.eng.next_deadline().map(|d| d.as_micros());
            let origin = g.origin;
            let done = g.users == 0 && g.eng.connection_count() == 0;
            drop(g);
            this.wake.drain(..).for_each(Waker::wake);
            if let Some(f) = this.unhandled.as_mut() {
                for &i in &this.others {
                    let p = &this.rx.packets()[i];
                    if p.meta.segment_size == 0 && p.meta.checksum != Checksum::Partial {
                        f(p.data());
                        continue;
                    }
                    // A super-segment, or a checksum the device left to us:
                    // the application gets wire packets, checksums complete.
                    let size = match p.meta.segment_size {
                        0 => u16::MAX,
                        s => s,
                    };
                    if this.splitter.split(p.data(), size, &mut *f).is_err() {
                        f(p.data());
                    }
                }
            }
            if !this.others.is_empty() {
                let mut g = this.shared.lock();
                g.stats.unhandled += this.others.len() as u64;
                if this.unhandled.is_none() {
                    g.stats.unhandled_dropped += this.others.len() as u64;
                }
            }
            if done {
                return Poll::Ready(());
            }
            // 3. To the device; what it does not take stays in `tx`.
            let mut sent = 0;
            let mut held = false;
            while !this.tx.is_empty() {
                match this.dev.poll_send(cx, this.tx.packets()) {
                    Poll::Ready(Ok(n)) => {
                        let n = n.clamp(1, this.tx.len());
                        sent += n;
                        this.tx.consume(n);
                    }
                    Poll::Ready(Err(e)) => return this.fail(e),
                    Poll::Pending => {
                        held = true;
                        break;
                    }
                }
            }
            if sent > 0 || held {
                let mut g = this.shared.lock();
                g.stats.packets_out += sent as u64;
                g.stats.tx_held += u64::from(held);
            }
            // 4. One timer, at the engine's next deadline (a deadline
            // that on_timer left in the past is retried a millisecond
            // later, never in a loop).
            if let Some(d) = deadline {
                let at = (origin + Duration::from_micros(d))
                    .max(origin + Duration::from_micros(now.as_micros() + 1000));
                if this.sleep.deadline() != at {
                    this.sleep.as_mut().reset(at);
                }
                if this.sleep.as_mut().poll(cx).is_ready() {
                    again = true;
                }
            }
            if !again {
                return Poll::Pending;
            }
        }
        // Let other tasks run; come back at once.
        this.shared.lock().stats.driver_yields += 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
