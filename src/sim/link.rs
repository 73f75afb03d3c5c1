//! One direction of a simulated path: serialisation at a bandwidth behind a
//! drop-tail queue, propagation delay with jitter, and impairments (random
//! loss, Gilbert-Elliott burst loss, duplication, reordering, corruption),
//! every random choice drawn from the simulator's one [`Rng`].

use std::collections::VecDeque;
use std::vec::Vec;

use super::rng::Rng;
use crate::time::{Duration, Instant};

/// Gilbert-Elliott burst loss: a two-state Markov chain stepped once per
/// packet; each state has its own loss probability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from the good to the bad state (per packet).
    pub p_good_to_bad: f64,
    /// Probability of moving from the bad back to the good state.
    pub p_bad_to_good: f64,
    /// Loss probability in the good state.
    pub loss_good: f64,
    /// Loss probability in the bad state.
    pub loss_bad: f64,
}

/// How a link behaves. Probabilities are per packet, in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per packet. Jitter
    /// alone never reorders: a packet never overtakes an earlier one
    /// unless it is chosen for reordering.
    pub jitter: Duration,
    /// Serialisation rate in bytes per second (IP bytes); `None` is
    /// infinitely fast.
    pub bandwidth: Option<u64>,
    /// Bytes that may wait for serialisation; a packet that would exceed
    /// it is dropped (drop-tail). Only used with a bandwidth.
    pub queue_limit: usize,
    /// Independent random loss.
    pub loss: f64,
    /// Burst loss, applied before (and in addition to) `loss`.
    pub burst: Option<GilbertElliott>,
    /// A packet is delivered twice.
    pub duplicate: f64,
    /// A packet is held back by `reorder_delay` and overtaken by later ones.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_delay: Duration,
    /// One random bit of the packet is flipped (the receiver's checksum
    /// check then drops it).
    pub corrupt: f64,
    /// From this time on the link loses everything (a dead path).
    pub cut_at: Option<Instant>,
    /// Packets (IP bytes) larger than this are dropped without a word:
    /// no ICMP "fragmentation needed" (an MTU black hole, RFC 2923 §2.1,
    /// which packetization-layer PMTUD, RFC 4821, is for).
    pub mtu: Option<usize>,
    /// An ECN-marking queue (RFC 3168 §5, a step threshold as DCTCP's
    /// routers use, RFC 8257 §3.1): an ECN-capable packet that finds more
    /// than this many bytes queued is delivered marked CE. Only used with
    /// a bandwidth; drop-tail at `queue_limit` still applies.
    pub ce_threshold: Option<usize>,
}

impl LinkConfig {
    /// A perfect link with the given one-way delay.
    pub fn ideal(delay: Duration) -> Self {
        LinkConfig {
            delay,
            jitter: Duration::ZERO,
            bandwidth: None,
            queue_limit: 64 * 1024,
            loss: 0.0,
            burst: None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(5),
            corrupt: 0.0,
            cut_at: None,
            mtu: None,
            ce_threshold: None,
        }
    }

    /// This link with random loss `p`.
    pub fn with_loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }

    /// This link at `bytes_per_sec` behind a `queue` byte drop-tail queue.
    pub fn with_bandwidth(mut self, bytes_per_sec: u64, queue: usize) -> Self {
        self.bandwidth = Some(bytes_per_sec);
        self.queue_limit = queue;
        self
    }
}

/// What became of one packet put on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fate {
    /// Delivered (possibly corrupted, duplicated or late: see the copies).
    Delivered,
    /// Lost at random.
    Lost,
    /// Lost in a Gilbert-Elliott bad state.
    BurstLost,
    /// Dropped at the tail of a full queue.
    QueueDrop,
    /// Lost because the link was cut.
    LinkDown,
    /// Dropped silently for being larger than the link's MTU.
    TooBig,
}

/// One copy of a packet that will arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// When it arrives.
    pub at: Instant,
    /// The bit flipped in it, if it was corrupted.
    pub flipped_bit: Option<usize>,
    /// It was held back to be overtaken.
    pub reordered: bool,
}

/// The outcome of [`Link::transmit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    /// What happened to the packet.
    pub fate: Fate,
    /// The copies that arrive: none when lost, two when duplicated.
    pub arrivals: Vec<Arrival>,
    /// Marked CE by the queue (`LinkConfig::ce_threshold`).
    pub ce: bool,
}

/// A link's running state.
#[derive(Clone, Debug)]
pub struct Link {
    /// Its configuration (may be changed between packets).
    pub config: LinkConfig,
    bad: bool,
    busy_until: Instant,
    /// (serialisation end, bytes) of packets queued or on the wire.
    queue: VecDeque<(Instant, usize)>,
    queued: usize,
    last_arrival: Instant,
}

impl Link {
    /// A link in its initial (good, empty) state.
    pub fn new(config: LinkConfig) -> Self {
        Link {
            config,
            bad: false,
            busy_until: Instant::ZERO,
            queue: VecDeque::new(),
            queued: 0,
            last_arrival: Instant::ZERO,
        }
    }

    /// Bytes waiting for serialisation at `now`.
    pub fn queued_bytes(&mut self, now: Instant) -> usize {
        while let Some(&(end, len)) = self.queue.front() {
            if end > now {
                break;
            }
            self.queue.pop_front();
            self.queued -= len;
        }
        self.queued
    }

    /// Puts a packet of `len` bytes on the link at `now`; `ect` says that
    /// it is ECN-capable (RFC 3168 §5).
    pub fn transmit(&mut self, now: Instant, len: usize, ect: bool, rng: &mut Rng) -> LinkOutcome {
        let lost = |fate| LinkOutcome {
            fate,
            arrivals: Vec::new(),
            ce: false,
        };
        let mut ce = false;
        if self.config.cut_at.is_some_and(|t| now >= t) {
            return lost(Fate::LinkDown);
        }
        if self.config.mtu.is_some_and(|m| len > m) {
            return lost(Fate::TooBig);
        }
        // Serialisation behind a drop-tail queue.
        let mut sent_at = now;
        if let Some(bw) = self.config.bandwidth.filter(|&b| b > 0) {
            let queued = self.queued_bytes(now);
            if queued + len > self.config.queue_limit {
                return lost(Fate::QueueDrop);
            }
            ce = ect && self.config.ce_threshold.is_some_and(|t| queued > t);
            let start = self.busy_until.max(now);
            let us = (len as u64).saturating_mul(1_000_000).div_ceil(bw);
            sent_at = start + Duration::from_micros(us);
            self.busy_until = sent_at;
            self.queue.push_back((sent_at, len));
            self.queued += len;
        }
        // Loss: burst state first, then independent loss.
        if let Some(ge) = self.config.burst {
            self.bad = if self.bad {
                !rng.chance(ge.p_bad_to_good)
            } else {
                rng.chance(ge.p_good_to_bad)
            };
            let p = if self.bad { ge.loss_bad } else { ge.loss_good };
            if rng.chance(p) {
                return lost(Fate::BurstLost);
            }
        }
        if rng.chance(self.config.loss) {
            return lost(Fate::Lost);
        }
        // Propagation, jitter (order-preserving) and reordering.
        let jitter = crate::time::micros(self.config.jitter);
        let extra = if jitter > 0 { rng.below(jitter + 1) } else { 0 };
        let mut at = sent_at + self.config.delay + Duration::from_micros(extra);
        let reordered = rng.chance(self.config.reorder);
        if reordered {
            at += self.config.reorder_delay;
        } else {
            at = at.max(self.last_arrival);
            self.last_arrival = at;
        }
        let mut arrivals = Vec::with_capacity(2);
        let copies = if rng.chance(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let flipped_bit = rng
                .chance(self.config.corrupt)
                .then(|| rng.below(len as u64 * 8) as usize);
            arrivals.push(Arrival {
                at,
                flipped_bit,
                reordered,
            });
        }
        LinkOutcome {
            fate: Fate::Delivered,
            arrivals,
            ce,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ce_marks_ect_packets_above_the_threshold_only() {
        let mut rng = Rng::new(1);
        let mut cfg =
            LinkConfig::ideal(Duration::from_millis(10)).with_bandwidth(1_000_000, 10_000);
        cfg.ce_threshold = Some(1500);
        let mut l = Link::new(cfg);
        let t0 = Instant::from_secs(1);
        // 0, then 1000 bytes queued: not above 1500.
        assert!(!l.transmit(t0, 1000, true, &mut rng).ce);
        assert!(!l.transmit(t0, 1000, true, &mut rng).ce);
        // 2000 queued: an ECN-capable packet is marked, another is not.
        assert!(!l.transmit(t0, 1000, false, &mut rng).ce);
        let o = l.transmit(t0, 1000, true, &mut rng);
        assert!(o.ce && o.fate == Fate::Delivered);
        // Without a threshold nothing is marked.
        let mut plain =
            Link::new(LinkConfig::ideal(Duration::ZERO).with_bandwidth(1_000_000, 10_000));
        for _ in 0..5 {
            assert!(!plain.transmit(t0, 1000, true, &mut rng).ce);
        }
    }

    #[test]
    fn bandwidth_serialises_and_queue_drops_tail() {
        let mut rng = Rng::new(1);
        let cfg = LinkConfig::ideal(Duration::from_millis(10)).with_bandwidth(1_000_000, 3000);
        let mut l = Link::new(cfg);
        let t0 = Instant::from_secs(1);
        let a = l.transmit(t0, 1000, false, &mut rng);
        assert_eq!(a.arrivals[0].at, t0 + Duration::from_millis(11));
        let b = l.transmit(t0, 1000, false, &mut rng);
        assert_eq!(b.arrivals[0].at, t0 + Duration::from_millis(12));
        let _ = l.transmit(t0, 1000, false, &mut rng);
        assert_eq!(l.transmit(t0, 1000, false, &mut rng).fate, Fate::QueueDrop);
        // Once the first packet is serialised there is room again.
        assert_eq!(
            l.transmit(t0 + Duration::from_millis(1), 1000, false, &mut rng)
                .fate,
            Fate::Delivered
        );
    }

    #[test]
    fn loss_rate_and_burst_and_cut() {
        let mut rng = Rng::new(9);
        let mut l = Link::new(LinkConfig::ideal(Duration::ZERO).with_loss(0.25));
        let t = Instant::from_secs(1);
        let lost = (0..10_000)
            .filter(|_| l.transmit(t, 100, false, &mut rng).fate != Fate::Delivered)
            .count();
        assert!((2200..2800).contains(&lost), "{lost}");
        let mut cfg = LinkConfig::ideal(Duration::ZERO);
        cfg.burst = Some(GilbertElliott {
            p_good_to_bad: 0.01,
            p_bad_to_good: 0.2,
            loss_good: 0.0,
            loss_bad: 1.0,
        });
        let mut l = Link::new(cfg);
        let fates: Vec<bool> = (0..10_000)
            .map(|_| l.transmit(t, 100, false, &mut rng).fate == Fate::BurstLost)
            .collect();
        let losses = fates.iter().filter(|&&x| x).count();
        let runs = fates.windows(2).filter(|w| !w[0] && w[1]).count();
        assert!(losses > 2 * runs, "bursts: {losses} losses in {runs} runs");
        let mut cfg = LinkConfig::ideal(Duration::ZERO);
        cfg.cut_at = Some(t);
        assert_eq!(
            Link::new(cfg).transmit(t, 1, false, &mut rng).fate,
            Fate::LinkDown
        );
    }

    #[test]
    fn jitter_keeps_order_unless_reordered() {
        let mut rng = Rng::new(3);
        let mut cfg = LinkConfig::ideal(Duration::from_millis(10));
        cfg.jitter = Duration::from_millis(5);
        let mut l = Link::new(cfg);
        let mut last = Instant::ZERO;
        for i in 0..1000 {
            let o = l.transmit(Instant::from_micros(i * 100), 100, false, &mut rng);
            assert!(o.arrivals[0].at >= last);
            last = o.arrivals[0].at;
        }
    }
}
