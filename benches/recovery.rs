//! Loss recovery on a simulated link: goodput, retransmitted bytes and the
//! longest stall for each scenario of issue 6, with SACK on and off and with
//! NewReno and CUBIC, against the ideal (link rate times the fraction of
//! packets delivered, times the payload share of each packet).
//!
//! `cargo bench --bench recovery` (add `-- --quick` for a smaller transfer).
//! All times are virtual: the figures are deterministic for a given seed.
#[path = "../tests/common/mod.rs"]
mod common;

use common::{Pair, Pkt, conn, read_all};
use std::collections::HashMap;
use tcpstate::connection::congestion::Algorithm;
use tcpstate::{Config, Duration, Instant, SeqNum, State};

/// A small deterministic generator (splitmix64).
#[derive(Clone)]
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
}

#[derive(Clone, Copy)]
struct LinkSpec {
    rtt_ms: u64,
    rate: u64, // bytes per second
    buf: usize,
}

#[derive(Clone, Copy, Debug)]
enum Scenario {
    Clean,
    Random(f64),
    Burst,
    TailLoss,
    Reorder,
    LostRetransmission,
    AckLoss,
    Bdp,
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Scenario::Clean => "clean".into(),
            Scenario::Random(p) => format!("random {}%", p * 100.0),
            Scenario::Burst => "burst (GE 1%/30%, 50% in bad)".into(),
            Scenario::TailLoss => "tail loss (last 3 segs)".into(),
            Scenario::Reorder => "reorder 3% by 3 ms".into(),
            Scenario::LostRetransmission => "lost retransmission".into(),
            Scenario::AckLoss => "ACK loss 10%".into(),
            Scenario::Bdp => "BDP 100 Mbit/s x 50 ms".into(),
        }
    }
}

struct Outcome {
    goodput: f64,
    ideal: f64,
    rtx_bytes: u64,
    max_stall: Duration,
    secs: f64,
}

fn run(sc: Scenario, sack: bool, cc: Algorithm, size: usize, seed: u64) -> Outcome {
    let link = match sc {
        Scenario::Bdp => LinkSpec {
            rtt_ms: 50,
            rate: 12_500_000,
            buf: 4 << 20,
        },
        _ => LinkSpec {
            rtt_ms: 10,
            rate: 1_250_000,
            buf: 256 << 10,
        },
    };
    let cfg = Config {
        sack,
        congestion: cc,
        ..Config::linux()
    };
    let mut p = Pair::new(
        conn(cfg.clone(), link.buf, link.buf),
        conn(cfg, link.buf, link.buf),
    );
    p.delay = Duration::from_millis(link.rtt_ms / 2);
    p.bandwidth = Some(link.rate);
    let bdp = link.rate * link.rtt_ms / 1000;
    p.queue_limit = (2 * bdp).max(32 * 1024);
    p.app_b(|c, now| c.listen(now, SeqNum(77)).unwrap());
    p.app_a(|c, now| c.connect(now, SeqNum(0xffff_0000)).unwrap());
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.a.state(), State::Established);
    let data_start = p.a.snd_nxt();
    let end = data_start.add(size as u32);
    let mss = p.a.effective_mss() as u32;
    let mut rng = Rng(seed);
    let mut seen: HashMap<u32, u32> = HashMap::new();
    let lost_at = data_start.add((size / 3) as u32 / mss * mss);
    let mut ge_bad = false;
    let mut delivered_frac = 1.0;
    p.drop = match sc {
        Scenario::Clean | Scenario::Bdp | Scenario::Reorder => Box::new(|_, _| false),
        Scenario::Random(pr) => {
            delivered_frac = 1.0 - pr;
            Box::new(move |_, _| rng.chance(pr))
        }
        Scenario::Burst => {
            delivered_frac = 1.0 - 0.5 * (0.01 / (0.01 + 0.30));
            Box::new(move |_, _| {
                ge_bad = if ge_bad {
                    !rng.chance(0.30)
                } else {
                    rng.chance(0.01)
                };
                ge_bad && rng.chance(0.5)
            })
        }
        Scenario::TailLoss => Box::new(move |to_b, pk: &Pkt| {
            let first = to_b && pk.t.len > 0 && *seen.entry(pk.t.seq.0).or_insert(0) == 0;
            if to_b && pk.t.len > 0 {
                *seen.get_mut(&pk.t.seq.0).unwrap() += 1;
            }
            first && pk.t.seq.add(pk.t.len as u32).dist(data_start) + 3 * mss > size as u32
        }),
        Scenario::LostRetransmission => Box::new(move |to_b, pk: &Pkt| {
            if to_b && pk.t.len > 0 && pk.t.seq == lost_at {
                let n = seen.entry(pk.t.seq.0).or_insert(0);
                *n += 1;
                return *n <= 2; // the original and its first retransmission
            }
            false
        }),
        Scenario::AckLoss => {
            Box::new(move |to_b, pk: &Pkt| !to_b && pk.t.len == 0 && rng.chance(0.10))
        }
    };
    if let Scenario::Reorder = sc {
        let mut r2 = Rng(seed ^ 0x5555);
        p.extra_delay = Some(Box::new(move |to_b, _| {
            if to_b && r2.chance(0.03) {
                Duration::from_millis(3)
            } else {
                Duration::ZERO
            }
        }));
    }
    let data: Vec<u8> = (0..size as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let start = p.now;
    let (mut sent, mut got) = (0usize, Vec::with_capacity(size));
    let mut last_progress = start;
    let mut max_stall = Duration::ZERO;
    let rtx0 = p.a.stats().bytes_out;
    while got.len() < size {
        let now = p.now;
        if sent < size {
            sent += match p.a.send(now, &data[sent..]) {
                Ok(o) => o.len,
                Err(e) => panic!(
                    "{sc:?} sack {sack} {cc:?}: {e}; A {:?} B {:?} qdrops {} last: {:#?}",
                    p.a,
                    p.b,
                    p.queue_drops,
                    &p.log[p.log.len().saturating_sub(30)..]
                ),
            };
        }
        let before = got.len();
        read_all(&mut p.b, now, &mut got);
        if got.len() > before {
            max_stall = max_stall.max(now - last_progress);
            last_progress = now;
        }
        p.run_for(Duration::from_millis(1));
        assert!(p.now - start < Duration::from_secs(3600), "{sc:?} stalled");
    }
    assert!(got == data, "{sc:?}: bytes differ");
    if std::env::var("DEBUG_STATS").is_ok() {
        eprintln!(
            "{sc:?} sack {sack} {cc:?}: {:?} qdrops {}",
            p.a.stats(),
            p.queue_drops
        );
    }
    let secs = (p.now - start).as_secs_f64();
    let rtx_bytes = (p.a.stats().bytes_out - rtx0).saturating_sub(size as u64);
    let _ = end;
    let payload_share = f64::from(mss) / f64::from(mss + 40 + 12);
    Outcome {
        goodput: size as f64 / secs,
        ideal: link.rate as f64 * payload_share * delivered_frac,
        rtx_bytes,
        max_stall,
        secs,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let size = if quick { 1 << 20 } else { 8 << 20 };
    // SEEDS=n: the median of seeds 1..=n (3 by default).
    let n: u64 = std::env::var("SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let seeds: &[u64] = &(1..=n.max(1)).collect::<Vec<u64>>();
    println!(
        "Link: 10 Mbit/s, RTT 10 ms, queue 2xBDP (BDP scenario: 100 Mbit/s, RTT 50 ms); {} MiB one way; Config::linux(); median of {} seed(s)",
        size >> 20,
        seeds.len()
    );
    println!(
        "{:<32} {:<14} {:>10} {:>7} {:>12} {:>10}",
        "scenario", "variant", "goodput", "%ideal", "rtx bytes", "max stall"
    );
    let t0 = Instant::ZERO;
    let _ = t0;
    for sc in [
        Scenario::Clean,
        Scenario::Random(0.001),
        Scenario::Random(0.01),
        Scenario::Random(0.05),
        Scenario::Burst,
        Scenario::TailLoss,
        Scenario::Reorder,
        Scenario::LostRetransmission,
        Scenario::AckLoss,
        Scenario::Bdp,
    ] {
        if let Ok(only) = std::env::var("ONLY")
            && !sc.name().starts_with(&only)
        {
            continue;
        }
        for (sack, cc, v) in [
            (true, Algorithm::Cubic, "SACK CUBIC"),
            (true, Algorithm::NewReno, "SACK NewReno"),
            (false, Algorithm::Cubic, "noSACK CUBIC"),
            (false, Algorithm::NewReno, "noSACK NewReno"),
        ] {
            let mut rs: Vec<Outcome> = seeds.iter().map(|&s| run(sc, sack, cc, size, s)).collect();
            rs.sort_by(|a, b| a.goodput.partial_cmp(&b.goodput).unwrap());
            let m = &rs[rs.len() / 2];
            let worst_stall = rs.iter().map(|r| r.max_stall).max().unwrap();
            println!(
                "{:<32} {:<14} {:>7.0} kB/s {:>6.1}% {:>12} {:>8.0} ms",
                sc.name(),
                v,
                m.goodput / 1000.0,
                100.0 * m.goodput / m.ideal,
                m.rtx_bytes,
                worst_stall.as_secs_f64() * 1000.0,
            );
            let _ = m.secs;
        }
    }
}
