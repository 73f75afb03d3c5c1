//! Shared test support: a two-connection in-memory link on a virtual clock.
#![allow(dead_code)]

use std::collections::VecDeque;
use tcpstate::wire::{Segment, TcpHeader};
use tcpstate::{Actions, Buffers, Config, Connection, Instant, SeqNum, State, Transmit};

pub type Conn = Connection<Vec<u8>>;

pub fn conn(cfg: Config, rx: usize, tx: usize) -> Conn {
    Connection::new(cfg, Buffers::with_capacity(rx, tx)).expect("valid config")
}

/// One segment in flight, owned.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub t: Transmit,
    pub payload: Vec<u8>,
}

impl Pkt {
    pub fn seg(&self) -> Segment<'_> {
        let h = self.t.header(1, 2);
        Segment::new(&h, &self.payload)
    }
    pub fn header(&self) -> TcpHeader {
        self.t.header(1, 2)
    }
}

/// Drains every segment a connection has to send.
pub fn drain(c: &mut Conn, now: Instant) -> Vec<Pkt> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Some(t) = c.poll_transmit(now, &mut buf) {
        out.push(Pkt {
            t,
            payload: buf[..t.len].to_vec(),
        });
        assert!(out.len() < 100_000, "poll_transmit does not end");
    }
    out
}

/// Decides whether a packet is dropped: (towards B, packet).
pub type DropFn = Box<dyn FnMut(bool, &Pkt) -> bool>;

/// A drop filter that loses `per` out of every `of` packets, chosen by a
/// linear congruential generator seeded with `seed` (replays exactly).
pub fn random_drop(seed: u64, per: u64, of: u64) -> DropFn {
    let step = |x: u64| {
        x.wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
    };
    let mut x = step(seed);
    Box::new(move |_, _| {
        x = step(x);
        (x >> 33) % of < per
    })
}

/// Extra delay for a packet: (towards B, packet).
pub type DelayFn = Box<dyn FnMut(bool, &Pkt) -> tcpstate::Duration>;

/// Two connections joined by a link with a fixed one-way delay.
pub struct Pair {
    pub a: Conn,
    pub b: Conn,
    pub now: Instant,
    pub delay: tcpstate::Duration,
    /// Link rate in bytes per second (IP bytes: payload + 40), if limited.
    pub bandwidth: Option<u64>,
    /// Bytes that may wait for serialisation per direction (drop-tail).
    pub queue_limit: u64,
    /// When each direction's serialiser is free again: [A->B, B->A].
    pub busy_until: [Instant; 2],
    /// Packets dropped by a full queue.
    pub queue_drops: u64,
    /// Extra one-way delay per packet (reordering, jitter): (towards B, packet).
    pub extra_delay: Option<DelayFn>,
    /// (arrival time, to_b, packet)
    pub wire: VecDeque<(Instant, bool, Pkt)>,
    /// Drop filter: return true to drop (to_b, packet).
    pub drop: DropFn,
    pub log: Vec<String>,
    pub states_a: Vec<State>,
    pub states_b: Vec<State>,
    pub edges: Vec<tcpstate::StateChange>,
}

impl Pair {
    pub fn new(a: Conn, b: Conn) -> Self {
        Pair {
            states_a: vec![a.state()],
            states_b: vec![b.state()],
            a,
            b,
            now: Instant::from_secs(1),
            delay: tcpstate::Duration::from_millis(5),
            bandwidth: None,
            queue_limit: 64 * 1024,
            busy_until: [Instant::ZERO; 2],
            queue_drops: 0,
            extra_delay: None,
            wire: VecDeque::new(),
            drop: Box::new(|_, _| false),
            log: Vec::new(),
            edges: Vec::new(),
        }
    }

    pub fn record(&mut self, side_a: bool, acts: &Actions) {
        for c in acts.state_changes() {
            self.edges.push(*c);
            if side_a {
                self.states_a.push(c.to);
            } else {
                self.states_b.push(c.to);
            }
        }
    }

    /// Sends what both sides have.
    pub fn flush(&mut self) {
        for to_b in [true, false] {
            let c = if to_b { &mut self.a } else { &mut self.b };
            for p in drain(c, self.now) {
                self.log.push(format!(
                    "{:?} {} {:?} seq {} ack {} win {} len {}",
                    self.now,
                    if to_b { "A>B" } else { "B>A" },
                    p.t.flags,
                    p.t.seq,
                    p.t.ack,
                    p.t.window,
                    p.t.len
                ));
                if (self.drop)(to_b, &p) {
                    self.log.push("  (dropped)".into());
                    continue;
                }
                let mut depart = self.now;
                if let Some(bw) = self.bandwidth {
                    let d = usize::from(!to_b);
                    let start = self.busy_until[d].max(self.now);
                    let backlog = (start - self.now).as_micros() as u64 * bw / 1_000_000;
                    if backlog > self.queue_limit {
                        self.queue_drops += 1;
                        self.log.push("  (queue drop)".into());
                        continue;
                    }
                    let bytes = p.t.len as u64 + 40;
                    depart = start + tcpstate::Duration::from_micros(bytes * 1_000_000 / bw);
                    self.busy_until[d] = depart;
                }
                let extra = match &mut self.extra_delay {
                    Some(f) => f(to_b, &p),
                    None => tcpstate::Duration::ZERO,
                };
                self.wire.push_back((depart + self.delay + extra, to_b, p));
            }
        }
    }

    /// Runs until nothing is in flight and no timer is due before `until`.
    /// Returns the number of steps.
    pub fn run_until(&mut self, until: Instant) -> usize {
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 2_000_000, "simulation does not end");
            self.flush();
            // next event
            let next_pkt = self.wire.iter().map(|w| w.0).min();
            let next_tmr = [self.a.deadline(), self.b.deadline()]
                .into_iter()
                .flatten()
                .min();
            let next = match (next_pkt, next_tmr) {
                (Some(p), Some(t)) => p.min(t),
                (Some(p), None) => p,
                (None, Some(t)) => t,
                (None, None) => {
                    self.now = until.max(self.now);
                    return steps;
                }
            };
            if next > until {
                self.now = until.max(self.now);
                return steps;
            }
            self.now = next.max(self.now);
            // deliver packets due
            let mut i = 0;
            while i < self.wire.len() {
                if self.wire[i].0 <= self.now {
                    let (_, to_b, p) = self.wire.remove(i).unwrap();
                    let now = self.now;
                    let acts = if to_b {
                        self.b.on_segment(now, &p.seg())
                    } else {
                        self.a.on_segment(now, &p.seg())
                    };
                    self.record(!to_b, &acts);
                } else {
                    i += 1;
                }
            }
            let now = self.now;
            if self.a.deadline().is_some_and(|d| d <= now) {
                let acts = self.a.on_timer(now);
                self.record(true, &acts);
            }
            if self.b.deadline().is_some_and(|d| d <= now) {
                let acts = self.b.on_timer(now);
                self.record(false, &acts);
            }
        }
    }

    pub fn run_for(&mut self, d: tcpstate::Duration) -> usize {
        let until = self.now + d;
        self.run_until(until)
    }

    pub fn app_a(&mut self, f: impl FnOnce(&mut Conn, Instant) -> Actions) {
        let now = self.now;
        let acts = f(&mut self.a, now);
        self.record(true, &acts);
    }
    pub fn app_b(&mut self, f: impl FnOnce(&mut Conn, Instant) -> Actions) {
        let now = self.now;
        let acts = f(&mut self.b, now);
        self.record(false, &acts);
    }

    /// Opens A (active) to B (passive) and runs the handshake.
    pub fn open(cfg: Config, rx: usize, tx: usize) -> Self {
        let mut p = Pair::new(conn(cfg.clone(), rx, tx), conn(cfg, rx, tx));
        p.app_b(|c, now| c.listen(now, SeqNum(5000)).unwrap());
        p.app_a(|c, now| c.connect(now, SeqNum(1000)).unwrap());
        p.run_for(tcpstate::Duration::from_millis(100));
        assert_eq!(p.a.state(), State::Established, "{:#?}", p.log);
        assert_eq!(p.b.state(), State::Established, "{:#?}", p.log);
        p
    }
}

/// Reads everything readable from a connection into `out`.
pub fn read_all(c: &mut Conn, now: Instant, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        let o = c.recv(now, &mut buf).unwrap_or(tcpstate::Outcome {
            actions: Actions::NONE,
            len: 0,
        });
        if o.len == 0 {
            break;
        }
        out.extend_from_slice(&buf[..o.len]);
    }
}
