//! A bulk transfer between two Endpoints in memory: what an Endpoint's
//! send path (`poll_transmit`) and receive path (`on_datagram`) cost per
//! data segment, copies included.
//!
//! ```sh
//! cargo bench --bench endpoint_bulk                    # wall clock, 3 modes
//! cargo bench --bench endpoint_bulk -- --mib 16 --mode plain --reps 1
//! bash benches/endpoint_bulk.sh                        # Ir per datagram (callgrind)
//! ```
//!
//! Modes: `plain` (one MSS per datagram, checksums in software),
//! `offload` (checksums left to the device: `tx_checksum_offload` and
//! `rx_checksum_offload`), `gso` (super-segments of up to 64 KiB,
//! checksums left to the device). The sender's loop is `sender_tx`, the
//! receiver's per datagram `hand_over`: `benches/endpoint_bulk.sh` counts
//! instructions in each with callgrind.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant as Wall;

use tcpstate::{Duration, Endpoint, EndpointConfig, Instant};

const MSS_BUF: usize = tcpstate::endpoint::MAX_HEADER + 1460;

fn cfg(local: u8, mode: &str) -> EndpointConfig {
    let mut c = EndpointConfig::linux()
        .with_local_addr(Ipv4Addr::new(192, 0, 2, local))
        .expect("unicast");
    c.tx_buffer = 1 << 20;
    c.rx_buffer = 1 << 20;
    if mode != "plain" {
        c.tx_checksum_offload = true;
        c.rx_checksum_offload = true;
    }
    if mode == "gso" {
        c.gso_max = 65_000;
    }
    c
}

/// The sender's send path: `poll_transmit` until it has nothing, each
/// datagram handed to the receiver. Returns the datagrams sent.
#[inline(never)]
fn sender_tx(a: &mut Endpoint, b: &mut Endpoint, now: Instant, buf: &mut [u8]) -> u64 {
    let mut n = 0;
    while let Some(d) = a.poll_transmit(now, buf) {
        n += 1;
        hand_over(b, now, d, buf);
    }
    n
}

#[inline(never)]
fn hand_over(b: &mut Endpoint, now: Instant, d: tcpstate::endpoint::Datagram, buf: &[u8]) {
    b.on_datagram(now, d.src, d.dst, d.ecn, d.segment(buf));
}

/// Moves `total` bytes from a to b; returns (seconds, datagrams a sent).
fn run(mode: &str, total: usize) -> (f64, u64) {
    let mut a = Endpoint::new(cfg(1, mode), [1; 16]).expect("config");
    let mut b = Endpoint::new(cfg(2, mode), [2; 16]).expect("config");
    let l = b
        .listen(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 80),
            8,
        )
        .expect("listen");
    let mut now = Instant::ZERO;
    let big = mode == "gso";
    let mut buf = vec![
        0u8;
        if big {
            tcpstate::endpoint::MAX_HEADER + 65_000
        } else {
            MSS_BUF
        }
    ];
    let c = a
        .connect(
            now,
            None,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 80),
        )
        .expect("connect");
    let data = vec![0x5au8; 1 << 16];
    let mut sink = vec![0u8; 1 << 20];
    let (mut sent, mut got, mut dgrams) = (0usize, 0usize, 0u64);
    let mut s = None;
    let start = Wall::now();
    while got < total {
        now += Duration::from_micros(10);
        if sent < total {
            let want = (total - sent).min(data.len());
            if let Ok(k) = a.send(now, c, &data[..want]) {
                sent += k;
            }
        }
        dgrams += sender_tx(&mut a, &mut b, now, &mut buf);
        if s.is_none() {
            s = b.accept(l);
        }
        if let Some(h) = s {
            while let Ok(k) = b.recv(now, h, &mut sink) {
                if k == 0 {
                    break;
                }
                got += k;
            }
        }
        while let Some(d) = b.poll_transmit(now, &mut buf) {
            a.on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if let Some(t) = [a.next_deadline(), b.next_deadline()]
            .into_iter()
            .flatten()
            .min()
            && t <= now
        {
            a.on_timer(now);
            b.on_timer(now);
        }
    }
    (start.elapsed().as_secs_f64(), dgrams)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let mib: usize = arg("--mib").and_then(|v| v.parse().ok()).unwrap_or(64);
    let reps: usize = arg("--reps").and_then(|v| v.parse().ok()).unwrap_or(5);
    let modes: Vec<String> = match arg("--mode") {
        Some(m) => vec![m],
        None => ["plain", "offload", "gso"].map(String::from).to_vec(),
    };
    for mode in &modes {
        let mut rates = Vec::new();
        let mut dgrams = 0;
        for _ in 0..reps {
            let (secs, n) = run(mode, mib << 20);
            rates.push((mib << 20) as f64 / secs / 1e6);
            dgrams = n;
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "endpoint-bulk {mode}: {:.0} MB/s median of {reps} (min {:.0} max {:.0}), {mib} MiB, {dgrams} datagrams from the sender",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1]
        );
    }
}
