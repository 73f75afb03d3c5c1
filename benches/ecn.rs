//! ECN through a marking queue, on the simulator (`tcpstate::sim`): one
//! bulk flow of `Config::linux()` over a bottleneck whose queue marks
//! ECN-capable packets CE above a threshold (RFC 3168 §5) and drops at its
//! limit, with ECN off (drop-tail only), with RFC 3168's immediate halving
//! on an ECE (`linux_cwr: false`), and with Linux's CWR state
//! (`Config::linux_cwr`: PRR over a round trip). Prints goodput,
//! retransmitted bytes, queue drops, CE marks and the sender's ECN
//! reductions for a few queue settings.
//!
//! `cargo bench --bench ecn --features testing`. Virtual time: the figures
//! are deterministic.
use tcpstate::sim::{HostConfig, LinkConfig, Script, Sim};
use tcpstate::{Config, Duration};

const BYTES: usize = 8_000_000;

fn run(cfg: Config, rtt_ms: u64, queue: usize, ce_threshold: usize) -> String {
    let mut l =
        LinkConfig::ideal(Duration::from_millis(rtt_ms / 2)).with_bandwidth(1_250_000, queue);
    l.ce_threshold = Some(ce_threshold);
    let mut sim = Sim::new(1);
    let ab = sim.add_link(l.clone());
    let ba = sim.add_link(l);
    let host = |script| HostConfig {
        rx_buf: 1 << 20,
        tx_buf: 1 << 20,
        ..HostConfig::new(cfg.clone(), script)
    };
    sim.add_pair(
        host(Script::send_then_close(BYTES)),
        host(Script::send_then_close(0)),
        ab,
        ba,
    );
    let r = sim.run();
    let f = r.flows[0];
    assert_eq!(f.bytes_delivered, BYTES as u64, "{f}");
    let st = sim.hosts[0].conn.stats();
    format!(
        "{:>7.3} MB/s {:>8} B rtx {:>5} drops {:>5} CE {:>5} reductions {:>5} recoveries",
        f.goodput.unwrap_or(0.0) / 1e6,
        f.bytes_retransmitted,
        r.counters.queue_drops,
        r.counters.ce_marked,
        st.ecn_reductions,
        st.recoveries
    )
}

fn main() {
    let ecn = |linux_cwr| Config {
        ecn: true,
        linux_cwr,
        ..Config::linux()
    };
    println!(
        "ecn: {} MB over 10 Mbit/s (1.25 MB/s of IP bytes), Config::linux() with CUBIC; \
         queue limit and CE threshold in bytes",
        BYTES / 1_000_000
    );
    let only: Option<usize> = std::env::var("ONLY").ok().and_then(|v| v.parse().ok());
    for (i, (rtt, queue, thr)) in [
        (40, 64_000, 16_000),
        (40, 128_000, 32_000),
        (100, 256_000, 64_000),
        (100, 64_000, 16_000),
    ]
    .into_iter()
    .enumerate()
    {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        println!("rtt {rtt} ms, queue {queue}, CE above {thr}:");
        for (name, cfg) in [
            ("ECN off (drop-tail)", Config::linux()),
            ("ECN, halve at once", ecn(false)),
            ("ECN, CWR state (PRR)", ecn(true)),
        ] {
            println!("  {name:<22} {}", run(cfg, rtt, queue, thr));
        }
    }
}
