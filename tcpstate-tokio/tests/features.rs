//! SYN filtering, transparent mode and ICMP errors, over in-memory devices.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tcpstate_tokio::Stack;
use tcpstate_tokio::device::{Batch, Device, memory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pair(transparent: bool) -> (Stack, Stack) {
    let (a, b) = memory::pair(256, 1500);
    let client = Stack::new(a, &[ip("192.0.2.1")]).unwrap();
    let server = Stack::builder()
        .addr(ip("192.0.2.2"))
        .transparent(transparent)
        .build(b)
        .unwrap();
    (client, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syn_filter_refuses_ignores_and_admits_before_the_syn_ack() {
    let (client, server) = pair(false);
    let addr = SocketAddr::new(ip("192.0.2.2"), 80);
    let l = server.listen_filtered(addr, 16).unwrap();

    // Refused: the client's connect fails at once.
    let c = tokio::spawn({
        let client = client.clone();
        async move { client.connect(addr).await }
    });
    let syn = l.next_syn().await.unwrap();
    assert_eq!(syn.local_addr(), addr);
    assert_eq!(syn.peer_addr().ip(), ip("192.0.2.1"));
    syn.refuse();
    let e = c.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);

    // Ignored: nothing is sent, the client retransmits its SYN (after
    // about a second), and this time it is admitted.
    let c = tokio::spawn({
        let client = client.clone();
        async move { client.connect(addr).await }
    });
    let first = l.next_syn().await.unwrap();
    let peer = first.peer_addr();
    first.ignore();
    let again = timeout(Duration::from_secs(5), l.next_syn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.peer_addr(), peer, "the retransmitted SYN");
    again.admit();
    let mut cs = c.await.unwrap().unwrap();
    let (mut ss, from) = l.accept().await.unwrap();
    assert_eq!(from, peer);
    cs.write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    ss.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"ping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transparent_catch_all_reports_the_original_destination() {
    let (client, server) = pair(true);
    let any = server.bind("0.0.0.0:0".parse().unwrap()).await.unwrap();
    for dst in ["198.51.100.7:443", "203.0.113.9:25"] {
        let dst: SocketAddr = dst.parse().unwrap();
        // The client's stack sends to any address; the wire delivers it.
        let mut c = client.connect(dst).await.unwrap();
        let (mut s, peer) = any.accept().await.unwrap();
        assert_eq!(s.local_addr().unwrap(), dst);
        assert_eq!(s.peer_addr().unwrap(), peer);
        assert_eq!(c.peer_addr().unwrap(), dst);
        c.write_all(b"hi").await.unwrap();
        c.shutdown().await.unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).await.unwrap();
        assert_eq!(v, b"hi");
    }
}

/// Reads the next packet a stack sent, through the other end of its wire.
async fn next_packet(dev: &mut memory::MemoryDevice) -> Vec<u8> {
    let mut b = Batch::new(8, 2000);
    std::future::poll_fn(|cx| dev.poll_recv(cx, &mut b))
        .await
        .unwrap();
    b.packets()[0].data().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icmp_port_unreachable_fails_the_connect() {
    let (mut raw, dev) = memory::pair(64, 1500);
    let client = Stack::new(dev, &[ip("192.0.2.1")]).unwrap();
    let c = tokio::spawn({
        let client = client.clone();
        async move { client.connect("192.0.2.2:80".parse().unwrap()).await }
    });
    let syn = next_packet(&mut raw).await;
    // ICMP destination unreachable, port unreachable, quoting the SYN's IP
    // header and its first 8 TCP bytes, from the destination.
    let b = etherparse::PacketBuilder::ipv4([192, 0, 2, 2], [192, 0, 2, 1], 64)
        .icmpv4_raw(3, 3, [0; 4]);
    let mut pkt = Vec::new();
    b.write(&mut pkt, &syn[..28]).unwrap();
    let mut batch = Batch::new(1, 2000);
    assert!(batch.push(&pkt));
    std::future::poll_fn(|cx| raw.poll_send(cx, batch.packets()))
        .await
        .unwrap();
    let e = timeout(Duration::from_secs(5), c)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(client.stats().unhandled, 0);
}
