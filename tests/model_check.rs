//! Bounded model checking: a breadth-first search over every interleaving
//! of two connections' events up to a bound, checking the invariants of
//! DESIGN.md in every reachable state.
//!
//! Events: deliver the first segment in flight to either side; lose one
//! of the first two, duplicate the first, or deliver the second before the
//! first (each up to a budget); fire either side's timer (the clock jumps to
//! its deadline); the application writes one byte, shuts down or closes, at
//! any point. Both applications read whatever is readable after every
//! event. States are told apart by `Connection::fingerprint` plus the
//! segments in flight and the applications' progress.
//!
//! Checked in every state: every state change is an edge of TRANSITIONS
//! and starts where the last ended; TIME-WAIT is entered only from
//! FIN-WAIT-1/2 or CLOSING; no segment carries data past its sender's FIN;
//! bytes read are a prefix of bytes written; no panic. At quiescence
//! (nothing in flight, no deadline, both applications closed) both
//! connections are CLOSED (or, for the passive side, back in LISTEN if
//! the handshake never finished).
//!
//! Bounds (env): `MC_DEPTH` (from connect, default 7), `MC_DEPTH_EST`
//! (from ESTABLISHED, default 8), `MC_LOSS`, `MC_DUP`, `MC_REORDER`
//! (default 1 each), `MC_DATA` (bytes per side, default 1), `MC_SHUTDOWN=1`
//! (also explore `shutdown` calls).

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};

use tcpstate::sim::pattern;
use tcpstate::wire::{Segment, TcpHeader};
use tcpstate::{
    Actions, Buffers, Config, Connection, Duration, Instant, SeqNum, State, state::is_allowed,
};

type Conn = Connection<Vec<u8>>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Seg {
    hdr: TcpHeader,
    payload: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    Deliver(usize),
    DeliverSecond(usize),
    Lose(usize, usize),
    Duplicate(usize),
    Timer(usize),
    Write(usize),
    Shutdown(usize),
    Close(usize),
}

#[derive(Clone)]
struct World {
    c: [Conn; 2],
    /// Segments in flight towards side i.
    net: [VecDeque<Seg>; 2],
    now: Instant,
    written: [usize; 2],
    read: [usize; 2],
    shut: [bool; 2],
    closed: [bool; 2],
    fin: [Option<SeqNum>; 2],
    state: [State; 2],
    losses: u8,
    dups: u8,
    reorders: u8,
}

struct Bounds {
    depth: usize,
    losses: u8,
    dups: u8,
    reorders: u8,
    data: usize,
    shutdown: bool,
    established: bool,
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn config() -> Config {
    let mut c = Config::rfc9293();
    // Small and simple: fewer options, short timers, few retries.
    c.timestamps = false;
    c.sack = false;
    c.window_scaling = false;
    c.msl = Duration::from_secs(1);
    c.syn_retries = 2;
    c.synack_retries = 2;
    c.retries2 = 3;
    c.orphan_retries = 3;
    c
}

impl World {
    fn new(established: bool) -> (World, Vec<String>) {
        let mk =
            || Connection::new(config(), Buffers::with_capacity(16, 16)).expect("valid config");
        let mut w = World {
            c: [mk(), mk()],
            net: [VecDeque::new(), VecDeque::new()],
            now: Instant::from_secs(1),
            written: [0; 2],
            read: [0; 2],
            shut: [false; 2],
            closed: [false; 2],
            fin: [None; 2],
            state: [State::Closed; 2],
            losses: 0,
            dups: 0,
            reorders: 0,
        };
        let mut errs = Vec::new();
        let a = w.c[1].listen(w.now, SeqNum(5000)).unwrap();
        w.observe(1, a, &mut errs);
        let a = w.c[0].connect(w.now, SeqNum(1000)).unwrap();
        w.observe(0, a, &mut errs);
        w.settle(&mut errs);
        if established {
            // Run the handshake with no impairment.
            while let Some(i) = (0..2).find(|&i| !w.net[i].is_empty()) {
                w.apply(Ev::Deliver(i), &mut errs);
            }
        }
        (w, errs)
    }

    fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.c[0].fingerprint().hash(&mut h);
        self.c[1].fingerprint().hash(&mut h);
        self.net.hash(&mut h);
        (self.now, self.written, self.read, self.shut, self.closed).hash(&mut h);
        (self.losses, self.dups, self.reorders).hash(&mut h);
        h.finish()
    }

    /// Checks the state changes of one call.
    fn observe(&mut self, i: usize, a: Actions, errs: &mut Vec<String>) {
        for c in a.state_changes() {
            if !is_allowed(c.from, c.event, c.to) {
                errs.push(format!("side {i}: {c:?} is not an edge of TRANSITIONS"));
            }
            if c.from != self.state[i] {
                errs.push(format!("side {i}: was {} but {c:?}", self.state[i]));
            }
            if c.to == State::TimeWait
                && !matches!(
                    c.from,
                    State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait
                )
            {
                errs.push(format!("side {i}: TIME-WAIT entered from {}", c.from));
            }
            self.state[i] = c.to;
        }
        if self.state[i] != self.c[i].state() {
            errs.push(format!("side {i}: unreported state change"));
        }
    }

    /// Sends what both sides have, reads what both can read.
    fn settle(&mut self, errs: &mut Vec<String>) {
        let mut buf = [0u8; 2048];
        for i in 0..2 {
            while let Some(t) = self.c[i].poll_transmit(self.now, &mut buf) {
                let start = t.seq.add(u32::from(t.flags.syn()));
                if !t.flags.rst() {
                    if let Some(fin) = self.fin[i] {
                        if t.len > 0 && start.add(t.len as u32).after(fin) {
                            errs.push(format!(
                                "side {i}: data [{start}, +{}) past FIN {fin}",
                                t.len
                            ));
                        }
                    }
                    if t.flags.fin() {
                        let at = start.add(t.len as u32);
                        if self.fin[i].is_some_and(|f| f != at) {
                            errs.push(format!("side {i}: FIN moved to {at}"));
                        }
                        self.fin[i] = Some(at);
                    }
                }
                self.net[1 - i].push_back(Seg {
                    hdr: t.header(1, 2),
                    payload: buf[..t.len].to_vec(),
                });
                if self.net[1 - i].len() > 64 {
                    errs.push(format!("side {i}: more than 64 segments in flight"));
                    return;
                }
            }
        }
        for i in 0..2 {
            while let Ok(o) = self.c[i].recv(self.now, &mut buf) {
                self.observe(i, o.actions, errs);
                if o.len == 0 {
                    break;
                }
                for (k, b) in buf[..o.len].iter().enumerate() {
                    let off = self.read[i] + k;
                    if off >= self.written[1 - i] || *b != pattern(1 - i, off as u64) {
                        errs.push(format!("side {i}: byte {off} read is not the byte written"));
                        break;
                    }
                }
                self.read[i] += o.len;
            }
        }
    }

    fn events(&self, b: &Bounds) -> Vec<Ev> {
        let mut v = Vec::new();
        for i in 0..2 {
            let n = self.net[i].len();
            if n > 0 {
                v.push(Ev::Deliver(i));
                if self.dups < b.dups {
                    v.push(Ev::Duplicate(i));
                }
                if self.losses < b.losses {
                    v.push(Ev::Lose(i, 0));
                }
            }
            if n > 1 {
                if self.reorders < b.reorders {
                    v.push(Ev::DeliverSecond(i));
                }
                if self.losses < b.losses {
                    v.push(Ev::Lose(i, 1));
                }
            }
            if self.c[i].deadline().is_some() {
                v.push(Ev::Timer(i));
            }
            if !self.closed[i] {
                if !self.shut[i] && self.written[i] < b.data && self.c[i].may_send() {
                    v.push(Ev::Write(i));
                }
                if b.shutdown && !self.shut[i] {
                    v.push(Ev::Shutdown(i));
                }
                v.push(Ev::Close(i));
            }
        }
        v
    }

    fn deliver(&mut self, i: usize, s: &Seg, errs: &mut Vec<String>) {
        let a = self.c[i].on_segment(self.now, &Segment::new(&s.hdr, &s.payload));
        self.observe(i, a, errs);
    }

    fn apply(&mut self, ev: Ev, errs: &mut Vec<String>) {
        let now = self.now;
        match ev {
            Ev::Deliver(i) => {
                let s = self.net[i].pop_front().unwrap();
                self.deliver(i, &s, errs);
            }
            Ev::DeliverSecond(i) => {
                self.reorders += 1;
                let s = self.net[i].remove(1).unwrap();
                self.deliver(i, &s, errs);
            }
            Ev::Duplicate(i) => {
                self.dups += 1;
                let s = self.net[i][0].clone();
                self.deliver(i, &s, errs);
            }
            Ev::Lose(i, k) => {
                self.losses += 1;
                self.net[i].remove(k);
            }
            Ev::Timer(i) => {
                self.now = self.now.max(self.c[i].deadline().unwrap());
                let a = self.c[i].on_timer(self.now);
                self.observe(i, a, errs);
            }
            Ev::Write(i) => {
                let b = [pattern(i, self.written[i] as u64)];
                if let Ok(o) = self.c[i].send(now, &b) {
                    self.written[i] += o.len;
                    self.observe(i, o.actions, errs);
                }
            }
            Ev::Shutdown(i) => {
                self.shut[i] = true;
                if let Ok(a) = self.c[i].shutdown(now) {
                    self.observe(i, a, errs);
                }
            }
            Ev::Close(i) => {
                self.shut[i] = true;
                self.closed[i] = true;
                if let Ok(a) = self.c[i].close(now) {
                    self.observe(i, a, errs);
                }
            }
        }
        self.settle(errs);
    }

    /// Nothing more can happen: nothing in flight, no deadline, both
    /// applications closed.
    fn quiescent(&self) -> bool {
        self.closed == [true, true]
            && self.net.iter().all(|n| n.is_empty())
            && self.c.iter().all(|c| c.deadline().is_none())
    }

    fn check_quiescent(&self, errs: &mut Vec<String>) {
        if !self.quiescent() {
            return;
        }
        let a_ok = self.c[0].state() == State::Closed;
        let b_ok = matches!(self.c[1].state(), State::Closed | State::Listen);
        if !a_ok || !b_ok {
            errs.push(format!(
                "quiescent with states {} / {}",
                self.c[0].state(),
                self.c[1].state()
            ));
        }
    }
}

struct Outcome {
    states: usize,
    transitions: usize,
    quiescent: usize,
    max_depth: usize,
}

fn explore(b: &Bounds) -> Outcome {
    let (w0, errs) = World::new(b.established);
    assert!(errs.is_empty(), "{errs:?}");
    let mut seen = HashSet::new();
    seen.insert(w0.fingerprint());
    let mut queue = VecDeque::from([(w0, Vec::<Ev>::new())]);
    let mut out = Outcome {
        states: 1,
        transitions: 0,
        quiescent: 0,
        max_depth: 0,
    };
    while let Some((w, path)) = queue.pop_front() {
        if w.quiescent() {
            out.quiescent += 1;
        }
        if path.len() >= b.depth {
            continue;
        }
        for ev in w.events(b) {
            out.transitions += 1;
            let mut next = w.clone();
            let mut errs = Vec::new();
            let r = catch_unwind(AssertUnwindSafe(|| {
                next.apply(ev, &mut errs);
                next.check_quiescent(&mut errs);
            }));
            let mut p = path.clone();
            p.push(ev);
            if r.is_err() {
                errs.push("panic".into());
            }
            assert!(
                errs.is_empty(),
                "invariant broken after {p:?}:\n{}",
                errs.join("\n")
            );
            if seen.insert(next.fingerprint()) {
                out.states += 1;
                out.max_depth = out.max_depth.max(p.len());
                queue.push_back((next, p));
            }
        }
    }
    out
}

fn run(name: &str, b: Bounds) {
    let t = std::time::Instant::now();
    let o = explore(&b);
    println!(
        "model check {name}: depth {} (losses {}, dups {}, reorders {}, {} B each way): \
         {} states, {} transitions, {} quiescent, deepest new state at {}, {:?}",
        b.depth,
        b.losses,
        b.dups,
        b.reorders,
        b.data,
        o.states,
        o.transitions,
        o.quiescent,
        o.max_depth,
        t.elapsed()
    );
    assert!(
        o.states > 1000,
        "the search explored too little: {}",
        o.states
    );
}

/// From the first SYN: closes at any point of the handshake, with a loss,
/// a duplicate and a reorder anywhere.
#[test]
fn from_connect() {
    run(
        "from connect",
        Bounds {
            depth: env("MC_DEPTH", 7),
            losses: env("MC_LOSS", 1) as u8,
            dups: env("MC_DUP", 1) as u8,
            reorders: env("MC_REORDER", 1) as u8,
            data: env("MC_DATA", 1),
            shutdown: env("MC_SHUTDOWN", 0) == 1,
            established: false,
        },
    );
}

/// From ESTABLISHED: data both ways and every order of closes, losses,
/// duplicates, reorders and timer firings, deep enough to finish closing.
#[test]
fn from_established() {
    run(
        "from established",
        Bounds {
            depth: env("MC_DEPTH_EST", 8),
            losses: env("MC_LOSS", 1) as u8,
            dups: env("MC_DUP", 1) as u8,
            reorders: env("MC_REORDER", 1) as u8,
            data: env("MC_DATA", 1),
            shutdown: env("MC_SHUTDOWN", 0) == 1,
            established: true,
        },
    );
}
