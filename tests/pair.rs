//! Two connections over an in-memory link: whole lifecycles.
mod common;
use common::*;
use tcpstate::{CloseReason, Config, Duration, State};

#[test]
fn handshake_data_both_ways_and_close() {
    let mut p = Pair::open(Config::linux(), 8192, 8192);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + 3) as u8).collect();
    let back: Vec<u8> = (0..50_000u32).map(|i| (i * 13 + 1) as u8).collect();
    let (mut sent_a, mut sent_b) = (0, 0);
    let (mut got_b, mut got_a) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let now = p.now;
        if sent_a < data.len() {
            let o = p.a.send(now, &data[sent_a..]).unwrap();
            sent_a += o.len;
            p.record(true, &o.actions);
        }
        if sent_b < back.len() {
            let o = p.b.send(now, &back[sent_b..]).unwrap();
            sent_b += o.len;
        }
        read_all(&mut p.b, now, &mut got_b);
        read_all(&mut p.a, now, &mut got_a);
        if got_b.len() == data.len() && got_a.len() == back.len() {
            break;
        }
        p.run_for(Duration::from_millis(10));
    }
    assert_eq!(got_b, data);
    assert_eq!(got_a, back);
    p.app_a(|c, now| c.close(now).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(
        p.b.state(),
        State::CloseWait,
        "{:#?}",
        &p.log[p.log.len().saturating_sub(10)..]
    );
    assert_eq!(p.a.state(), State::FinWait2);
    p.app_b(|c, now| c.close(now).unwrap());
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.state(), State::Closed);
    assert_eq!(p.b.close_reason(), Some(CloseReason::Normal));
    assert_eq!(p.a.state(), State::TimeWait);
    p.run_for(Duration::from_secs(61));
    assert_eq!(p.a.state(), State::Closed);
    assert_eq!(p.a.close_reason(), Some(CloseReason::Normal));
}

/// Transfers `n` bytes A->B and `m` bytes B->A over a link that drops
/// packets chosen by a seeded generator; both sides close.
fn lossy_transfer(seed: u64, loss_pct: u64, n: usize, m: usize) -> Pair {
    let mut p = Pair::open(Config::linux(), 16384, 16384);
    p.drop = random_drop(seed, loss_pct, 100);
    let data: Vec<u8> = (0..n as u32)
        .map(|i| (i.wrapping_mul(31) ^ 5) as u8)
        .collect();
    let back: Vec<u8> = (0..m as u32)
        .map(|i| (i.wrapping_mul(17) ^ 9) as u8)
        .collect();
    let (mut sa, mut sb) = (0, 0);
    let (mut gb, mut ga) = (Vec::new(), Vec::new());
    let (mut closed_a, mut closed_b) = (false, false);
    for _ in 0..200_000 {
        let now = p.now;
        if sa < data.len() {
            sa += match p.a.send(now, &data[sa..]) {
                Ok(o) => o.len,
                Err(e) => panic!(
                    "{e:?} {:?} {:?} {:#?}",
                    p.a,
                    p.b,
                    &p.log[p.log.len().saturating_sub(40)..]
                ),
            };
        } else if !closed_a {
            p.app_a(|c, now| c.shutdown(now).unwrap());
            closed_a = true;
        }
        if sb < back.len() {
            sb += p.b.send(now, &back[sb..]).unwrap().len;
        } else if !closed_b {
            p.app_b(|c, now| c.shutdown(now).unwrap());
            closed_b = true;
        }
        read_all(&mut p.b, now, &mut gb);
        read_all(&mut p.a, now, &mut ga);
        if p.a.state() == State::Closed && p.b.state() == State::Closed {
            break;
        }
        if p.a.state() == State::Closed && p.b.state() == State::TimeWait
            || p.b.state() == State::Closed && p.a.state() == State::TimeWait
        {
            p.run_for(Duration::from_secs(61));
            continue;
        }
        p.run_for(Duration::from_millis(20));
    }
    assert_eq!(
        gb.len(),
        data.len(),
        "seed {seed}: A->B bytes; last log {:#?}",
        &p.log[p.log.len().saturating_sub(30)..]
    );
    assert!(gb == data, "seed {seed}: A->B content");
    assert_eq!(ga.len(), back.len(), "seed {seed}: B->A bytes");
    assert!(ga == back, "seed {seed}: B->A content");
    p
}

#[test]
fn delivery_under_loss() {
    for seed in 0..40 {
        let p = lossy_transfer(seed, 5, 60_000, 20_000);
        assert_eq!(
            p.a.state(),
            State::Closed,
            "seed {seed} A {:?} log {:#?}",
            p.a,
            &p.log[p.log.len().saturating_sub(20)..]
        );
        assert_eq!(p.b.state(), State::Closed, "seed {seed} B {:?}", p.b);
    }
}

#[test]
fn delivery_under_heavy_loss() {
    for seed in 100..110 {
        let p = lossy_transfer(seed, 20, 30_000, 30_000);
        assert!(
            matches!(p.a.state(), State::Closed),
            "seed {seed} A {:?}",
            p.a
        );
        assert!(
            matches!(p.b.state(), State::Closed),
            "seed {seed} B {:?}",
            p.b
        );
    }
}

#[test]
fn print_sizes() {
    println!(
        "Connection<Vec<u8>>: {} bytes",
        std::mem::size_of::<tcpstate::Connection<Vec<u8>>>()
    );
    println!(
        "Connection<Box<[u8]>>: {} bytes",
        std::mem::size_of::<tcpstate::Connection<Box<[u8]>>>()
    );
    println!("Config: {} bytes", std::mem::size_of::<Config>());
    println!(
        "Assembler: {} bytes",
        std::mem::size_of::<tcpstate::buffer::Assembler>()
    );
    println!(
        "RingBuffer<Vec>: {} bytes",
        std::mem::size_of::<tcpstate::buffer::RingBuffer<Vec<u8>>>()
    );
}

/// One-way bulk transfer over a lossy link; returns (virtual seconds, retransmits).
fn bulk_time(cfg: Config, seed: u64, loss_pct: u64, n: usize) -> (f64, u64) {
    let r = bulk_time2(cfg, seed, loss_pct, n);
    (r.0, r.1)
}

fn bulk_time2(cfg: Config, seed: u64, loss_pct: u64, n: usize) -> (f64, u64, u64, u64) {
    let mut p = Pair::open(cfg, 65536, 65536);
    p.drop = random_drop(seed, loss_pct, 1000);
    let data: Vec<u8> = (0..n as u32)
        .map(|i| (i.wrapping_mul(31) ^ 5) as u8)
        .collect();
    let start = p.now;
    let mut sent = 0;
    let mut got = Vec::new();
    while got.len() < n {
        let now = p.now;
        if sent < n {
            sent += p.a.send(now, &data[sent..]).unwrap().len;
        }
        read_all(&mut p.b, now, &mut got);
        p.run_for(Duration::from_millis(1));
        assert!(p.now - start < Duration::from_secs(3000), "stalled");
    }
    assert!(got == data);
    let s = p.a.stats();
    (
        (p.now - start).as_secs_f64(),
        s.retransmits,
        s.timeouts,
        s.recoveries,
    )
}

#[test]
fn sack_speeds_up_recovery() {
    for loss in [10u64, 50] {
        let mut with = (0.0, 0);
        let mut without = (0.0, 0);
        for seed in 0..5 {
            let mut c = Config::linux();
            let r = bulk_time(c.clone(), seed, loss, 1_000_000);
            with.0 += r.0;
            with.1 += r.1;
            c.sack = false;
            let r = bulk_time(c, seed, loss, 1_000_000);
            without.0 += r.0;
            without.1 += r.1;
        }
        println!(
            "loss {}‰: sack {:.2}s {} rtx; no sack {:.2}s {} rtx",
            loss, with.0, with.1, without.0, without.1
        );
    }
}

#[test]
fn print_recovery_stats() {
    for seed in 0..3 {
        println!("{:?}", bulk_time2(Config::linux(), seed, 10, 1_000_000));
    }
}

#[test]
fn print_clean_stats() {
    println!(
        "clean cubic {:?}",
        bulk_time2(Config::linux(), 0, 0, 1_000_000)
    );
    let mut c = Config::linux();
    c.congestion = tcpstate::connection::congestion::Algorithm::NewReno;
    println!("clean reno {:?}", bulk_time2(c.clone(), 0, 0, 1_000_000));
    println!("1% reno {:?}", bulk_time2(c, 1, 10, 1_000_000));
}

#[test]
fn print_heavy_loss_stats() {
    for seed in 0..4 {
        println!("5% {:?}", bulk_time2(Config::linux(), seed, 50, 1_000_000));
    }
}

/// No segment is larger than the MSS allows (RFC 9293 §3.7.1, MUST-16:
/// the effective send MSS is reduced by the TCP options sent), SACK blocks
/// included: data both ways through loss makes each side send full-sized
/// segments while it reports holes of its own. Before, those segments
/// carried SACK blocks on top of a full MSS and exceeded the path MTU.
#[test]
fn no_segment_exceeds_the_mss_with_sack_blocks() {
    for seed in 0..4 {
        let mut p = Pair::open(Config::linux(), 65536, 65536);
        let mut lose = random_drop(seed, 3, 100);
        let seen = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let sack_blocks_on_data = seen.clone();
        p.drop = Box::new(move |_, pkt: &Pkt| {
            let h = pkt.header();
            // 1460: the MSS both sides advertise (a 1500-byte MTU).
            assert!(
                h.header_len() - 20 + pkt.t.len <= 1460,
                "{} option bytes and {} payload bytes",
                h.header_len() - 20,
                pkt.t.len
            );
            if pkt.t.len > 0 && !h.options.sack.is_empty() {
                sack_blocks_on_data.set(sack_blocks_on_data.get() + 1);
            }
            lose(true, pkt)
        });
        let data = vec![0x5a; 400_000];
        let (mut sa, mut sb) = (0, 0);
        let (mut ga, mut gb) = (Vec::new(), Vec::new());
        for _ in 0..4000 {
            let now = p.now;
            if sa < data.len() {
                sa += p.a.send(now, &data[sa..]).map_or(0, |o| o.len);
            }
            if sb < data.len() {
                sb += p.b.send(now, &data[sb..]).map_or(0, |o| o.len);
            }
            read_all(&mut p.a, now, &mut ga);
            read_all(&mut p.b, now, &mut gb);
            if ga.len() == data.len() && gb.len() == data.len() {
                break;
            }
            p.run_for(Duration::from_millis(10));
        }
        assert_eq!(
            (ga.len(), gb.len()),
            (data.len(), data.len()),
            "seed {seed}"
        );
        assert!(
            seen.get() > 0,
            "seed {seed}: no data segment carried SACK blocks"
        );
    }
}
