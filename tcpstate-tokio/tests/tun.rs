//! Real clients against tcpstate-tokio over TUN, in a network namespace
//! made for the test (root; `TCPSTATE_TUN=1`): curl downloads 100 MB over
//! IPv4 and IPv6 from a hyper server, wrk runs 1,000 connections, and a
//! tcpstate-tokio client fetches 100 MB from `python3 -m http.server`.
//! Addresses: 192.0.2.0/24 and 2001:db8::/64 only.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use tcpstate_tokio::Stack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MB100: u64 = 100_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_clients_over_tun() {
    if !enabled("TCPSTATE_TUN") {
        return;
    }
    let ns = Netns::new("tun");
    let dev = tun_in(&ns, &format!("tst{}", std::process::id() % 100_000), 1500);
    let stack = Stack::new(dev, &stack_addrs()).unwrap();
    let [v4, v6] = stack_addrs();
    for ip in [v4, v6] {
        let l = stack.bind(SocketAddr::new(ip, 8080)).await.unwrap();
        tokio::spawn(serve_http(l));
    }
    let want = pattern_sha256(MB100);

    // curl, 100 MB over IPv4 and IPv6, every byte checked.
    for url in [
        "http://192.0.2.2:8080/100000000",
        "http://[2001:db8::2]:8080/100000000",
    ] {
        let ns = ns.0.clone();
        let t0 = Instant::now();
        let out = tokio::task::spawn_blocking(move || {
            sh_in(
                &ns,
                &format!("curl -sS --fail --max-time 120 {url} | sha256sum"),
            )
        })
        .await
        .unwrap();
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(
            out.split_whitespace().next(),
            Some(want.as_str()),
            "{url}: sha256 differs"
        );
        println!(
            "curl {url}: 100 MB intact in {secs:.2} s ({:.0} MB/s)",
            MB100 as f64 / secs / 1e6
        );
    }

    // wrk: 1,000 concurrent connections for 10 s, no socket error.
    let nsn = ns.0.clone();
    let out = tokio::task::spawn_blocking(move || {
        sh_in(
            &nsn,
            "ulimit -n 8192; wrk -t 2 -c 1000 -d 10s --timeout 5s http://192.0.2.2:8080/ 2>&1",
        )
    })
    .await
    .unwrap();
    println!("wrk -t 2 -c 1000 -d 10s:\n{out}");
    assert!(
        !out.contains("Socket errors"),
        "wrk saw socket errors:\n{out}"
    );
    assert!(!out.contains("Non-2xx"), "wrk saw errors:\n{out}");
    assert!(out.contains("Requests/sec"), "{out}");
    println!("peak RSS after curl and wrk: {} KiB", peak_rss_kib());

    // The other way: our client fetches 100 MB from Python's server.
    let dir = std::env::temp_dir().join(format!("tst-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    {
        let mut f = std::fs::File::create(dir.join("blob")).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut pos = 0;
        while pos < MB100 {
            let n = (MB100 - pos).min(buf.len() as u64) as usize;
            pattern(pos, &mut buf[..n]);
            std::io::Write::write_all(&mut f, &buf[..n]).unwrap();
            pos += n as u64;
        }
    }
    let mut server = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            "/usr/bin/python3",
            "-m",
            "http.server",
            "--bind",
            "192.0.2.1",
            "8000",
        ])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let addr: SocketAddr = "192.0.2.1:8000".parse().unwrap();
    let mut s = loop {
        match stack.connect(addr).await {
            Ok(s) => break s,
            Err(e) if t0.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("connect to python: {e}"),
        }
    };
    let t1 = Instant::now();
    s.write_all(b"GET /blob HTTP/1.0\r\nHost: 192.0.2.1\r\n\r\n")
        .await
        .unwrap();
    // Hash as it comes: the headers first, then the body.
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut head = Vec::new();
    let mut body_len = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if body_len == 0 && !head.ends_with(b"\r\n\r\n") {
            let start = head.len();
            head.extend_from_slice(chunk);
            match head.windows(4).position(|w| w == b"\r\n\r\n") {
                Some(i) => {
                    chunk = &chunk[i + 4 - start..];
                    head.truncate(i + 4);
                }
                None => continue,
            }
        }
        h.update(chunk);
        body_len += chunk.len() as u64;
    }
    let secs = t1.elapsed().as_secs_f64();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        head.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    assert_eq!(body_len, MB100);
    let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, want, "the download from python differs");
    println!(
        "tcpstate-tokio client <- python3 http.server: 100 MB intact in {secs:.2} s ({:.0} MB/s)",
        MB100 as f64 / secs / 1e6
    );
    println!(
        "peak RSS of the test process: {} KiB; stack {:?}",
        peak_rss_kib(),
        stack.stats()
    );
}
