//! The simulator itself: replay from a seed, metrics, pcap output.

use tcpstate::sim::{End, GilbertElliott, LinkConfig, Script, Sim};
use tcpstate::{CloseReason, Config, Duration, State};

fn lossy() -> LinkConfig {
    let mut l = LinkConfig::ideal(Duration::from_millis(20)).with_bandwidth(1_000_000, 30_000);
    l.jitter = Duration::from_millis(3);
    l.loss = 0.02;
    l.duplicate = 0.01;
    l.reorder = 0.02;
    l.corrupt = 0.01;
    l.burst = Some(GilbertElliott {
        p_good_to_bad: 0.005,
        p_bad_to_good: 0.3,
        loss_good: 0.0,
        loss_bad: 0.5,
    });
    l
}

fn run(seed: u64) -> (Sim, tcpstate::sim::Report) {
    let mut sim = Sim::pair(
        seed,
        Config::linux(),
        lossy(),
        Script::send_then_close(200_000),
        Script::send_then_close(30_000),
    );
    let r = sim.run();
    (sim, r)
}

#[test]
fn lossy_transfer_completes_and_passes_every_check() {
    for seed in 0..5 {
        let (sim, r) = run(seed);
        let v = sim.trace.check_complete();
        assert!(v.is_empty(), "seed {seed}: {v:#?}\n{r:#?}");
        assert_eq!(r.end, End::AllClosed);
        assert_eq!(r.states, vec![State::Closed, State::Closed]);
        assert_eq!(r.close_reasons, vec![Some(CloseReason::Normal); 2]);
        assert_eq!(r.flows[0].bytes_delivered, 200_000);
        assert_eq!(r.flows[1].bytes_delivered, 30_000);
        assert!(r.flows[0].goodput.unwrap() > 10_000.0, "{}", r.flows[0]);
    }
}

#[test]
fn a_seed_replays_exactly() {
    let (a, ra) = run(42);
    let (b, rb) = run(42);
    assert_eq!(ra, rb);
    assert_eq!(a.trace, b.trace);
    let (c, _) = run(43);
    assert_ne!(a.trace, c.trace);
}

#[test]
fn corruption_is_caught_by_the_checksum() {
    let mut l = LinkConfig::ideal(Duration::from_millis(5));
    l.corrupt = 0.2;
    let mut sim = Sim::pair(
        3,
        Config::linux(),
        l,
        Script::send_then_close(50_000),
        Script::send_then_close(0),
    );
    let r = sim.run();
    assert!(
        r.counters.corrupted > 0,
        "{r:#?} {:?}",
        sim.hosts[1].app_error
    );
    assert_eq!(r.counters.bad_checksum, r.counters.corrupted);
    assert!(sim.trace.check_complete().is_empty());
    assert_eq!(r.flows[0].bytes_delivered, 50_000);
}

#[test]
fn metrics_on_a_clean_path() {
    let l = LinkConfig::ideal(Duration::from_millis(10)).with_bandwidth(1_250_000, 64_000);
    let mut sim = Sim::pair(
        1,
        Config::linux(),
        l,
        Script::send_then_close(1_000_000),
        Script::send_then_close(0),
    );
    let r = sim.run();
    let f = r.flows[0];
    assert_eq!(f.bytes_delivered, 1_000_000);
    assert_eq!(f.bytes_retransmitted, 0, "{f}");
    // 1 MB at 1.25 MB/s (IP bytes) takes a bit more than 0.8 s.
    let c = f.completion.unwrap();
    assert!(
        c > Duration::from_millis(800) && c < Duration::from_secs(3),
        "{f}"
    );
    assert!(f.max_stall < Duration::from_millis(500), "{f}");
}

#[test]
fn a_dead_link_times_out() {
    let mut l = LinkConfig::ideal(Duration::from_millis(10));
    l.cut_at = Some(tcpstate::Instant::from_secs(2));
    let mut sim = Sim::pair(
        5,
        Config::linux(),
        l,
        Script::send_then_close(10_000_000),
        Script::send_then_close(0),
    );
    let r = sim.run();
    assert_eq!(r.close_reasons[0], Some(CloseReason::TimedOut), "{r:#?}");
    assert!(sim.trace.check().is_empty());
}

#[test]
fn pcap_file_is_written() {
    let (sim, _) = run(7);
    let path = std::env::temp_dir().join("tcpstate-sim-seed7.pcap");
    let f = std::fs::File::create(&path).unwrap();
    sim.write_pcap(std::io::BufWriter::new(f)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert!(bytes.len() > 24 + sim.packets.len() * 56);
}

/// A 10 Mbit/s bottleneck, 40 ms RTT, 128 KB drop-tail queue that marks
/// ECN-capable packets CE above 20 KB queued; 4 MB from A, 256 KiB
/// buffers. Returns (report, A's ECN reductions).
fn through_a_marking_queue(cfg: Config) -> (tcpstate::sim::Report, u64) {
    let mut l = LinkConfig::ideal(Duration::from_millis(20)).with_bandwidth(1_250_000, 128_000);
    l.ce_threshold = Some(20_000);
    let mut sim = tcpstate::sim::Sim::new(3);
    let ab = sim.add_link(l.clone());
    let ba = sim.add_link(l);
    let host = |script| tcpstate::sim::HostConfig {
        rx_buf: 256 * 1024,
        tx_buf: 256 * 1024,
        ..tcpstate::sim::HostConfig::new(cfg.clone(), script)
    };
    sim.add_pair(
        host(Script::send_then_close(4_000_000)),
        host(Script::send_then_close(0)),
        ab,
        ba,
    );
    let r = sim.run();
    assert!(sim.trace.check_complete().is_empty());
    let reductions = sim.hosts[0].conn.stats().ecn_reductions;
    (r, reductions)
}

// RFC 3168 through a queue that marks rather than drops (RFC 3168 §5):
// with ECN on, the sender backs off on CE echoes before the queue
// overflows: no packet is lost and nothing is retransmitted, with Linux's
// CWR state (`Config::linux_cwr`) or RFC 3168's immediate halving alike;
// without ECN the same queue only drops.
#[test]
fn r3168_a_marking_queue_replaces_loss_with_echoes() {
    for linux_cwr in [true, false] {
        let cfg = Config {
            ecn: true,
            linux_cwr,
            ..Config::linux()
        };
        let (r, reductions) = through_a_marking_queue(cfg);
        let f = r.flows[0];
        let msg = format!("linux_cwr {linux_cwr}: {f} {:?}", r.counters);
        assert_eq!(f.bytes_delivered, 4_000_000, "{msg}");
        assert!(r.counters.ce_marked > 0 && reductions > 0, "{msg}");
        assert!(reductions <= r.counters.ce_marked, "{msg}");
        assert_eq!(r.counters.queue_drops, 0, "{msg}");
        assert_eq!(f.bytes_retransmitted, 0, "{msg}");
    }
    let (r, reductions) = through_a_marking_queue(Config::linux());
    assert_eq!((r.counters.ce_marked, reductions), (0, 0));
    assert_eq!(r.flows[0].bytes_delivered, 4_000_000);
}
