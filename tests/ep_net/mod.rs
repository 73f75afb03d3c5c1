//! Shared test support for Endpoints: several of them on an in-memory
//! link with a fixed delay and seeded loss, on a virtual clock; the
//! application side polls events and reads as a test says.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcpstate::endpoint::{Event, Store};
use tcpstate::{
    Duration, Ecn, Endpoint, EndpointConfig, EndpointError, Handle, Instant, ListenerId,
};

pub fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}
pub fn sa(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(ip(last), port)
}

pub fn cfg(last: u8) -> EndpointConfig {
    let mut c = EndpointConfig::linux();
    c.rx_buffer = 8192;
    c.tx_buffer = 8192;
    c.with_local_addr(ip(last)).expect("unicast")
}

/// A tiny seeded generator (xorshift64*).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Endpoints on one link: a fixed delay, seeded loss.
pub struct Net {
    pub eps: Vec<(IpAddr, Endpoint)>,
    pub events: Vec<Vec<Event>>,
    pub now: Instant,
    pub wire: VecDeque<(Instant, IpAddr, IpAddr, Ecn, Vec<u8>)>,
    pub rng: Rng,
    /// Loss per thousand datagrams.
    pub loss: u64,
    /// Mark ECT datagrams CE instead of dropping them.
    pub ce_mark: bool,
}

impl Net {
    pub fn new(cfgs: Vec<EndpointConfig>, seed: u64) -> Net {
        let eps: Vec<_> = cfgs
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let a = c.local_addrs[0];
                (
                    a,
                    Endpoint::new(c, [i as u8 + 1; 16]).expect("valid config"),
                )
            })
            .collect();
        Net {
            events: vec![Vec::new(); eps.len()],
            eps,
            now: Instant::from_secs(100),
            wire: VecDeque::new(),
            rng: Rng(seed | 1),
            loss: 0,
            ce_mark: false,
        }
    }
    pub fn ep(&mut self, i: usize) -> &mut Endpoint {
        &mut self.eps[i].1
    }
    /// Drains every Endpoint's output onto the wire. Events stay in the
    /// Endpoints until the test (the application) polls them with
    /// `take_events`.
    pub fn flush(&mut self) {
        let mut buf = vec![0u8; 1600];
        for i in 0..self.eps.len() {
            while let Some(d) = self.eps[i].1.poll_transmit(self.now, &mut buf) {
                let mut ecn = d.ecn;
                if self.loss > 0 && self.rng.below(1000) < self.loss {
                    if self.ce_mark && ecn == Ecn::Ect0 {
                        ecn = Ecn::Ce;
                    } else {
                        continue;
                    }
                }
                let due = self.now + Duration::from_millis(5);
                self.wire
                    .push_back((due, d.src, d.dst, ecn, d.segment(&buf).to_vec()));
            }
        }
    }
    /// One step: deliver what is due, or move time to the next due
    /// datagram or timer. Returns false when nothing is left to happen
    /// before `until`.
    pub fn step(&mut self, until: Instant) -> bool {
        self.flush();
        let next_pkt = self.wire.front().map(|w| w.0);
        let next_tmr = self.eps.iter().filter_map(|e| e.1.next_deadline()).min();
        let Some(next) = [next_pkt, next_tmr].into_iter().flatten().min() else {
            return false;
        };
        if next > until {
            return false;
        }
        self.now = next.max(self.now);
        while self.wire.front().is_some_and(|w| w.0 <= self.now) {
            let (_, src, dst, ecn, seg) = self.wire.pop_front().expect("front");
            if let Some(e) = self.eps.iter_mut().find(|e| e.0 == dst) {
                e.1.on_datagram(self.now, src, dst, ecn, &seg);
            }
        }
        let now = self.now;
        for e in &mut self.eps {
            if e.1.next_deadline().is_some_and(|d| d <= now) {
                e.1.on_timer(now);
            }
        }
        self.flush();
        true
    }
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.step(until) {}
        self.now = until.max(self.now);
        self.flush();
    }
    /// The application of endpoint `i` polls its events.
    pub fn take_events(&mut self, i: usize) -> Vec<Event> {
        while let Some(e) = self.eps[i].1.poll_event() {
            self.events[i].push(e);
        }
        std::mem::take(&mut self.events[i])
    }
}

/// Connects endpoint 0 to a listener on endpoint 1 (port 80); returns the
/// client's and the server's handles, events drained.
pub fn open_pair(net: &mut Net) -> (Handle, Handle, ListenerId) {
    let l = net.ep(1).listen(sa(2, 80), 16).unwrap();
    let now = net.now;
    let c = net.ep(0).connect(now, None, sa(2, 80)).unwrap();
    net.run_for(Duration::from_millis(50));
    assert!(net.take_events(0).contains(&Event::Connected(c)));
    assert!(net.take_events(1).contains(&Event::Incoming(l)));
    let s = net.ep(1).accept(l).expect("accepted");
    (c, s, l)
}

/// Reads until `WouldBlock`, the end, or an error: (bytes, result that
/// stopped the loop).
pub fn read_all(
    ep: &mut Endpoint,
    now: Instant,
    h: Handle,
) -> (Vec<u8>, Result<usize, EndpointError>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        match ep.recv(now, h, &mut buf) {
            Ok(0) => return (out, Ok(0)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Err(e)),
        }
    }
}

pub fn pattern(n: usize, salt: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect()
}

/// Writes all of `data`, running the network while the buffer is full.
pub fn write_all(net: &mut Net, i: usize, h: Handle, data: &[u8]) {
    let mut sent = 0;
    for _ in 0..100_000 {
        if sent == data.len() {
            return;
        }
        let now = net.now;
        match net.ep(i).send(now, h, &data[sent..]) {
            Ok(n) => sent += n,
            Err(EndpointError::WouldBlock) => net.run_for(Duration::from_millis(20)),
            Err(e) => panic!("send: {e}"),
        }
    }
    panic!("send did not finish");
}

/// Moves every segment between two Endpoints, running timers, until
/// `until`.
pub fn run_pair<S: Store, T: Store>(
    a: &mut Endpoint<S>,
    b: &mut Endpoint<T>,
    now: &mut Instant,
    until: Instant,
) {
    let mut buf = [0u8; 1600];
    loop {
        let mut moved = false;
        while let Some(d) = a.poll_transmit(*now, &mut buf) {
            b.on_datagram(*now, d.src, d.dst, d.ecn, d.segment(&buf));
            moved = true;
        }
        while let Some(d) = b.poll_transmit(*now, &mut buf) {
            a.on_datagram(*now, d.src, d.dst, d.ecn, d.segment(&buf));
            moved = true;
        }
        // The server side's events are not looked at here.
        while b.poll_event().is_some() {}
        if moved {
            continue;
        }
        let next = [a.next_deadline(), b.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= until => {
                *now = t.max(*now);
                a.on_timer(*now);
                b.on_timer(*now);
            }
            _ => {
                *now = until.max(*now);
                return;
            }
        }
    }
}
