//! Seeded impairment around any device: loss, reordering and delay.
//!
//! [`Impaired`] sits between the stack and a device and acts on each
//! wire-sized packet, both ways, with its own seeded generator per
//! direction: a packet is dropped with probability `loss`; the others wait
//! `delay`, and with probability `reorder` `reorder_delay` more, so that
//! later packets overtake them. Each direction holds at most `queue`
//! packets: when it is full the sender is held (`Pending`), never dropped.
//! The same seed and the same packet sequence give the same drops.

use std::collections::BinaryHeap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::{Batch, Capabilities, Device, Packet};

/// What to do to the packets (both directions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impairment {
    /// Seed of the two generators.
    pub seed: u64,
    /// Probability of dropping a packet, 0.0 to 1.0.
    pub loss: f64,
    /// Probability of holding a packet back by `reorder_delay`.
    pub reorder: f64,
    /// How long a reordered packet is held back (beyond `delay`).
    pub reorder_delay: Duration,
    /// One-way delay added to every packet.
    pub delay: Duration,
    /// Packets each direction holds at most.
    pub queue: usize,
}

impl Impairment {
    /// Nothing dropped, delayed or reordered.
    pub fn none(seed: u64) -> Self {
        Impairment {
            seed,
            loss: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(1),
            delay: Duration::ZERO,
            queue: 1024,
        }
    }
    /// Random loss at the given rate (0.02 = 2 %), both ways.
    pub fn loss(seed: u64, loss: f64) -> Self {
        Impairment {
            loss,
            ..Impairment::none(seed)
        }
    }
}

/// Counts, per direction (`[send, receive]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpairmentStats {
    /// Packets that went through.
    pub passed: [u64; 2],
    /// Packets dropped.
    pub dropped: [u64; 2],
    /// Packets held back to be reordered.
    pub reordered: [u64; 2],
    /// Packets dropped for being larger than the device's MTU.
    pub oversize: [u64; 2],
}

/// splitmix64: small, seeded, good enough for loss patterns.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64) < p * (1u64 << 53) as f64
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Held {
    due: Instant,
    seq: u64,
    bytes: Vec<u8>,
}

impl Ord for Held {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: the earliest (then the oldest) first.
        (o.due, o.seq).cmp(&(self.due, self.seq))
    }
}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// One direction: the generator and the packets waiting.
#[derive(Debug)]
struct Line {
    rng: Rng,
    held: BinaryHeap<Held>,
    seq: u64,
    spare: Vec<Vec<u8>>,
}

impl Line {
    fn new(seed: u64) -> Self {
        Line {
            rng: Rng(seed),
            held: BinaryHeap::new(),
            seq: 0,
            spare: Vec::new(),
        }
    }
    /// Takes a packet: false if it was dropped.
    fn admit(
        &mut self,
        cfg: &Impairment,
        now: Instant,
        bytes: &[u8],
        dir: usize,
        st: &mut ImpairmentStats,
    ) -> bool {
        if self.rng.chance(cfg.loss) {
            st.dropped[dir] += 1;
            return false;
        }
        let mut due = now + cfg.delay;
        if self.rng.chance(cfg.reorder) {
            due += cfg.reorder_delay;
            st.reordered[dir] += 1;
        }
        let mut v = self.spare.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(bytes);
        self.seq += 1;
        self.held.push(Held {
            due,
            seq: self.seq,
            bytes: v,
        });
        true
    }
    fn due(&self, now: Instant) -> bool {
        self.held.peek().is_some_and(|h| h.due <= now)
    }
    /// Moves due packets into `out` until it is full; a packet larger than
    /// its buffers (the MTU) is dropped and counted, never truncated.
    fn release(&mut self, now: Instant, out: &mut Batch, oversize: &mut u64) {
        while !out.is_full() && self.due(now) {
            let h = self.held.pop().expect("due");
            if !out.push(&h.bytes) {
                *oversize += 1;
            }
            if self.spare.len() < 64 {
                self.spare.push(h.bytes);
            }
        }
    }
}

/// A device with seeded impairment both ways (see the module docs).
#[derive(Debug)]
pub struct Impaired<D> {
    inner: D,
    cfg: Impairment,
    lines: [Line; 2],
    /// Due outbound packets not yet taken by the inner device.
    out: Batch,
    /// Scratch for the inner device's receive.
    inb: Batch,
    sleep: Pin<Box<Sleep>>,
    stats: ImpairmentStats,
}

const SEND: usize = 0;
const RECV: usize = 1;

impl<D: Device> Impaired<D> {
    /// Wraps `inner`.
    pub fn new(inner: D, cfg: Impairment) -> Self {
        let caps = inner.capabilities();
        let cap = caps.mtu.max(caps.gso_max);
        Impaired {
            inner,
            lines: [
                Line::new(cfg.seed ^ 0x5e4d),
                Line::new(cfg.seed.rotate_left(17) ^ 0x7ecf),
            ],
            out: Batch::new(caps.max_batch, cap),
            inb: Batch::new(caps.max_batch, cap),
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            cfg: Impairment {
                queue: cfg.queue.max(1),
                ..cfg
            },
            stats: ImpairmentStats::default(),
        }
    }
    /// The counts so far.
    pub fn stats(&self) -> ImpairmentStats {
        self.stats
    }
    /// The wrapped device.
    pub fn get_ref(&self) -> &D {
        &self.inner
    }

    /// Hands due outbound packets to the inner device, and arms the timer
    /// for the next packet due either way (its waker is the caller's).
    fn pump(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let now = Instant::now();
        loop {
            self.lines[SEND].release(now, &mut self.out, &mut self.stats.oversize[SEND]);
            if self.out.is_empty() {
                break;
            }
            match self.inner.poll_send(cx, self.out.packets()) {
                Poll::Ready(Ok(n)) => {
                    self.stats.passed[SEND] += n as u64;
                    self.out.consume(n.max(1));
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        let next = self
            .lines
            .iter()
            .filter_map(|l| l.held.peek().map(|h| h.due))
            .min();
        if let Some(t) = next {
            if t > now || self.out.is_empty() {
                if self.sleep.deadline() != t {
                    self.sleep.as_mut().reset(t);
                }
                if self.sleep.as_mut().poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
            }
        }
        Ok(())
    }
}

use std::future::Future;

impl<D: Device> Device for Impaired<D> {
    fn capabilities(&self) -> Capabilities {
        // Offloaded super-segments would be impaired as one packet: the
        // wrapper offers plain packets only.
        let c = self.inner.capabilities();
        Capabilities::new(c.mtu, c.max_batch)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        self.pump(cx)?;
        let now = Instant::now();
        for _ in 0..4 {
            self.lines[RECV].release(now, batch, &mut self.stats.oversize[RECV]);
            if !batch.is_empty() {
                self.stats.passed[RECV] += batch.len() as u64;
                return Poll::Ready(Ok(()));
            }
            if self.lines[RECV].held.len() >= self.cfg.queue {
                break;
            }
            self.inb.clear();
            match self.inner.poll_recv(cx, &mut self.inb) {
                Poll::Ready(Ok(())) => {
                    for p in self.inb.packets() {
                        let _ =
                            self.lines[RECV].admit(&self.cfg, now, p.data(), RECV, &mut self.stats);
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        // Something held and not due: the timer wakes us.
        self.pump(cx)?;
        if self.lines[RECV].due(Instant::now()) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, packets: &[Packet]) -> Poll<io::Result<usize>> {
        let now = Instant::now();
        let mut n = 0;
        for p in packets {
            if self.lines[SEND].held.len() >= self.cfg.queue {
                break;
            }
            let _ = self.lines[SEND].admit(&self.cfg, now, p.data(), SEND, &mut self.stats);
            n += 1;
        }
        self.pump(cx)?;
        if n == 0 {
            // Full: `pump` registered the inner device's or the timer's waker.
            return Poll::Pending;
        }
        Poll::Ready(Ok(n))
    }
}
