//! tcpstate-tokio over in-memory devices: impaired transfers, packets for
//! the application, hostile packets.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tcpstate_tokio::Stack;
use tcpstate_tokio::device::{Batch, Device, Impaired, Impairment, memory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENT: &str = "192.0.2.1";
const SERVER: &str = "192.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A client and a server stack over an impaired in-memory wire.
fn impaired_pair(loss: f64, seed: u64) -> (Stack, Stack) {
    let (a, b) = memory::pair(512, 1500);
    let imp = Impairment {
        delay: Duration::from_millis(0),
        ..Impairment::loss(seed, loss)
    };
    let client = Stack::new(Impaired::new(a, imp), &[ip(CLIENT)]).unwrap();
    let server = Stack::new(b, &[ip(SERVER)]).unwrap();
    (client, server)
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Sends `n` bytes one way, then the server echoes `echo` bytes back;
/// checks every byte and returns the one-way goodput in MB/s.
async fn transfer(client: &Stack, server: &Stack, n: usize) -> f64 {
    let addr = SocketAddr::new(ip(SERVER), 5001);
    let l = server.listen(addr, 16).unwrap();
    let sent = data(n, 7);
    let want = Sha256::digest(&sent);
    let srv = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 65536];
        let mut total = 0;
        loop {
            let k = s.read(&mut buf).await.unwrap();
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            total += k;
        }
        s.write_all(b"done").await.unwrap();
        s.shutdown().await.unwrap();
        (total, h.finalize())
    });
    let t0 = Instant::now();
    let mut c = client.connect(addr).await.unwrap();
    c.write_all(&sent).await.unwrap();
    c.shutdown().await.unwrap();
    println!("client {:?}", c.tcp_stats());
    let mut reply = Vec::new();
    c.read_to_end(&mut reply).await.unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let (total, got) = srv.await.unwrap();
    assert_eq!(total, n);
    assert_eq!(got, want, "payload corrupted");
    assert_eq!(reply, b"done");
    n as f64 / secs / 1e6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_20mb() {
    let (c, s) = impaired_pair(0.0, 1);
    let mbps = transfer(&c, &s, 20_000_000).await;
    println!("20 MB clean: {mbps:.1} MB/s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_20mb_at_2_percent() {
    for seed in [1, 2] {
        let (c, s) = impaired_pair(0.02, seed);
        let mbps = transfer(&c, &s, 20_000_000).await;
        println!("20 MB at 2 % loss each way, seed {seed}: {mbps:.1} MB/s");
    }
}

/// Sends raw packets into a stack through the other end of its wire.
async fn inject(dev: &mut memory::MemoryDevice, packets: &[Vec<u8>]) {
    let mut b = Batch::new(packets.len().max(1), 2000);
    for p in packets {
        assert!(b.push(p));
    }
    while !b.is_empty() {
        let n = std::future::poll_fn(|cx| dev.poll_send(cx, b.packets()))
            .await
            .unwrap();
        b.consume(n);
    }
}

fn udp_v4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ipv4(src, dst, 64).udp(1000, 53);
    let mut v = Vec::new();
    b.write(&mut v, b"query").unwrap();
    v
}

fn tcp_syn_v4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ipv4(src, dst, 64)
        .tcp(40000, 80, 1, 1000)
        .syn();
    let mut v = Vec::new();
    b.write(&mut v, &[]).unwrap();
    v
}

#[tokio::test]
async fn packets_not_for_tcp_go_to_the_application() {
    let (mut raw, dev) = memory::pair(64, 1500);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let stack = Stack::builder()
        .addr(ip(SERVER))
        .on_unhandled(move |p| s2.lock().unwrap().push(p.to_vec()))
        .build(dev)
        .unwrap();
    let udp = udp_v4([192, 0, 2, 1], [192, 0, 2, 2]);
    let foreign = tcp_syn_v4([192, 0, 2, 1], [198, 51, 100, 7]);
    inject(&mut raw, &[udp.clone(), foreign.clone(), vec![0x45, 0, 0]]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, vec![udp, foreign, vec![0x45, 0, 0]]);
    assert_eq!(stack.stats().unhandled, 3);
    assert_eq!(stack.stats().unhandled_dropped, 0);
}

#[tokio::test]
async fn hostile_packets_never_panic_the_driver() {
    let (mut raw, dev) = memory::pair(1024, 1500);
    let stack = Stack::new(dev, &[ip(SERVER)]).unwrap();
    let _l = stack.listen(SocketAddr::new(ip(SERVER), 80), 16).unwrap();
    let mut x = 0x1234_5678_u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..20 {
        let mut pkts = Vec::new();
        for _ in 0..50 {
            let mut p = tcp_syn_v4([192, 0, 2, 1], [192, 0, 2, 2]);
            if round % 2 == 1 {
                // IPv6 header over random bytes.
                p = vec![0x60; 40 + (rnd() % 60) as usize];
            }
            let flips = 1 + rnd() % 6;
            for _ in 0..flips {
                let i = (rnd() as usize) % p.len();
                p[i] ^= rnd() as u8;
            }
            p.truncate(1 + (rnd() as usize) % p.len());
            pkts.push(p);
        }
        inject(&mut raw, &pkts).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Still alive: a real connection goes through.
    let st = stack.stats();
    assert_eq!(st.packets_in, 1000);
}

/// Echo under loss: both directions carry data, the echo's window closes
/// while its writes wait. Every byte comes back.
async fn echo(client: &Stack, server: &Stack, n: usize) -> f64 {
    let addr = SocketAddr::new(ip(SERVER), 5002);
    let l = server.listen(addr, 16).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            let k = s.read(&mut buf).await.unwrap();
            if k == 0 {
                break;
            }
            s.write_all(&buf[..k]).await.unwrap();
        }
        s.shutdown().await.unwrap();
    });
    let sent = data(n, 9);
    let t0 = Instant::now();
    let c = client.connect(addr).await.unwrap();
    let (mut r, mut w) = c.into_split();
    let out = sent.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&out).await.unwrap();
        w.shutdown().await.unwrap();
        w
    });
    let mut got = Vec::with_capacity(n);
    let res = tokio::time::timeout(Duration::from_secs(60), r.read_to_end(&mut got)).await;
    if res.is_err() {
        for (name, st) in [("client", client), ("server", server)] {
            for c in st.connections() {
                println!("{name}: {c}");
            }
            println!("{name}: {:?} {:?}", st.stats(), st.engine_counters());
        }
    }
    assert!(res.is_ok(), "echo stalled after {} of {n} bytes", got.len());
    let secs = t0.elapsed().as_secs_f64();
    drop(writer.await.unwrap());
    assert!(got == sent, "echo corrupted ({} of {n} bytes)", got.len());
    n as f64 / secs / 1e6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_5mb_at_2_percent() {
    let (c, s) = impaired_pair(0.02, 3);
    let mbps = echo(&c, &s, 5_000_000).await;
    println!("echo 5 MB at 2 % loss each way: {mbps:.1} MB/s");
}
