//! Segmentation offload (issue 22): super-segments out are exactly the
//! segments sent one by one, split; a coalesced segment in (GRO) leaves
//! the receiver as its pieces would, with one ACK.

mod common;

use common::{Conn, Pair, random_drop};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};
use tcpstate::wire::{Segment, TcpHeader, checksum, gso};
use tcpstate::{Config, Duration, Instant, Transmit};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// The bytes of a segment as the wire carries it, checksum included.
fn wire(t: &Transmit, payload: &[u8]) -> Vec<u8> {
    let h = t.header(40000, 80);
    let mut b = vec![0u8; h.header_len()];
    h.emit(&mut b).unwrap();
    b.extend_from_slice(payload);
    checksum::fill_checksum_v4(SRC.octets(), DST.octets(), &mut b);
    b
}

/// Every segment `c` sends now, one by one.
fn one_by_one(c: &mut Conn, now: Instant) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit(now, &mut buf) {
        out.push(wire(&t, &buf[..t.len]));
    }
    out
}

/// Every segment `c` sends now as super-segments of up to `max` bytes,
/// split as a device would; and the number of pieces sent inside
/// super-segments of more than one.
fn offloaded(c: &mut Conn, now: Instant, max: usize) -> (Vec<Vec<u8>>, usize) {
    let mut buf = vec![0u8; 65536];
    let mut scratch = vec![0u8; 65536];
    let (mut out, mut multi) = (Vec::new(), 0);
    while let Some((t, seg)) = c.poll_transmit_gso(now, &mut buf, max) {
        assert!(t.len <= max.max(c.effective_mss() as usize));
        if seg > 0 {
            assert!(t.len > usize::from(seg));
            multi += t.len.div_ceil(usize::from(seg));
        }
        let s = wire(&t, &buf[..t.len]);
        gso::split(
            &s,
            usize::from(seg),
            IpAddr::V4(SRC),
            IpAddr::V4(DST),
            &mut scratch,
            |p| out.push(p.to_vec()),
        )
        .unwrap();
    }
    (out, multi)
}

fn config(linux: bool) -> Config {
    let mut c = if linux {
        Config::linux()
    } else {
        Config::rfc9293()
    };
    // PSH on the last segment of each of Linux's GSO packets as seen on
    // the wire; inside a super-segment PSH marks its tail (see
    // `connection::gso`), so the comparison is made without it.
    c.linux_push = false;
    c
}

/// A bulk transfer from A to B through random loss; at every step, two
/// copies of A send what A would send: one segment at a time, and as
/// super-segments split. Returns the pieces sent inside super-segments.
fn run(
    seed: u64,
    loss: u64,
    linux: bool,
    max: usize,
    steps: usize,
) -> Result<usize, TestCaseError> {
    let cfg = config(linux);
    let mut p = Pair::open(cfg, 65536, 65536);
    p.drop = random_drop(seed, loss, 100);
    let mut multi = 0;
    let mut x = seed | 1;
    for step in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let now = p.now;
        let n = (x % 40_000) as usize;
        let data: Vec<u8> = (0..n).map(|i| (i as u8) ^ (step as u8)).collect();
        let _ = p.a.send(now, &data);
        if x % 3 == 0 {
            // The receiver reads sometimes: its window moves.
            let mut sink = vec![0u8; (x % 50_000) as usize + 1];
            let _ = p.b.recv(now, &mut sink);
        }
        let (mut one, mut two) = (p.a.clone(), p.a.clone());
        let a = one_by_one(&mut one, now);
        let (b, m) = offloaded(&mut two, now, max);
        multi += m;
        prop_assert_eq!(a.len(), b.len(), "step {}: segment counts", step);
        for (i, (sa, sb)) in a.iter().zip(&b).enumerate() {
            prop_assert!(
                sa == sb,
                "step {} segment {}: {:?} vs {:?}",
                step,
                i,
                &sa[..20],
                &sb[..20]
            );
        }
        prop_assert_eq!(
            one.fingerprint(),
            two.fingerprint(),
            "step {}: state after",
            step
        );
        prop_assert_eq!(one.stats().segs_out, two.stats().segs_out);
        p.run_until(now + Duration::from_millis(x % 300 + 1));
    }
    Ok(multi)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// For random windows, congestion states and loss patterns, sending
    /// with super-segments and splitting them yields byte for byte the
    /// segments that sending one MSS at a time yields, and leaves the
    /// sender in the same state.
    #[test]
    fn super_segments_split_into_the_segments_sent_one_by_one(
        seed in 1u64..u64::MAX,
        loss in 0u64..6,
        linux in any::<bool>(),
        max in prop_oneof![Just(65_000usize), 1460usize..20_000],
    ) {
        run(seed, loss, linux, max, 40)?;
    }
}

/// The property above is not vacuous: on a clean link, bulk data goes
/// out as super-segments of many pieces.
#[test]
fn a_clean_bulk_transfer_goes_out_in_super_segments() {
    let pieces = run(7, 0, true, 65_000, 40).unwrap();
    assert!(pieces >= 20, "{pieces} segments inside super-segments");
}

/// A segment that carries PSH goes out alone, never as the first piece of
/// a super-segment: a super-segment carries PSH on its last piece only
/// (Linux `tcp_gso_segment`), so a PSH (RFC 9293 §3.9.1) inside it would
/// be lost. With `linux_push` every second segment sent at one time
/// carries PSH: after one segment sent by `poll_transmit`, the next is
/// such a segment, and the run of full segments behind it starts after it.
#[test]
fn r9293_a_segment_with_psh_is_not_coalesced_with_the_next() {
    let cfg = Config::linux();
    assert!(cfg.linux_push);
    let mut p = Pair::open(cfg, 65536, 65536);
    let now = p.now;
    let mss = p.a.effective_mss() as usize;
    let _ = p.a.send(now, &[0x42; 20 * 1448]).unwrap();
    let mut buf = vec![0u8; 65536];
    let t = p.a.poll_transmit(now, &mut buf).unwrap();
    assert_eq!((t.len, t.flags.psh()), (mss, false));
    let (t, seg) = p.a.poll_transmit_gso(now, &mut buf, 65_000).unwrap();
    assert_eq!((t.len, seg, t.flags.psh()), (mss, 0, true), "sent alone");
    let (t, seg) = p.a.poll_transmit_gso(now, &mut buf, 65_000).unwrap();
    assert_eq!(usize::from(seg), mss);
    assert!(t.len >= 2 * mss && t.flags.psh(), "{} bytes", t.len);
}

/// A `max_len` below the MSS leaves no room for a second piece: every
/// segment goes out as an ordinary one (segment size 0), full-sized.
#[test]
fn a_max_len_below_the_mss_sends_ordinary_segments() {
    let mut p = Pair::open(config(true), 65536, 65536);
    let now = p.now;
    let mss = p.a.effective_mss() as usize;
    let _ = p.a.send(now, &[0x42; 4 * 1448]).unwrap();
    let mut buf = vec![0u8; 65536];
    for _ in 0..4 {
        let (t, seg) = p.a.poll_transmit_gso(now, &mut buf, mss - 1).unwrap();
        assert_eq!((t.len, seg), (mss, 0));
    }
    assert!(p.a.poll_transmit_gso(now, &mut buf, mss - 1).is_none());
}

/// RFC 3168 §6.1.2: after a window reduction for ECE, CWR goes on the
/// first new data segment, and that segment goes out alone (a run stops
/// before a CWR mark to send, see `connection::gso`: a device needs ECN
/// segmentation, `SKB_GSO_TCP_ECN`, for a super-segment with CWR); the
/// full segments behind it go out as one super-segment, without CWR.
#[test]
fn r3168_the_segment_with_cwr_goes_out_alone() {
    // Without Linux's CWR state (`Config::linux_cwr`): while it lasts (a
    // round trip after the ECE), segments go one by one, as PRR counts
    // each through the general path.
    let on = Config {
        ecn: true,
        linux_cwr: false,
        ..config(true)
    };
    let mut p = Pair::new(
        common::conn(on.clone(), 65536, 65536),
        common::conn(on, 65536, 65536),
    );
    p.app_b(|c, now| c.listen(now, tcpstate::SeqNum(1)).unwrap());
    p.app_a(|c, now| c.connect(now, tcpstate::SeqNum(2)).unwrap());
    p.run_for(Duration::from_millis(50));
    assert!(p.a.ecn_enabled() && p.b.ecn_enabled());
    let now = p.now;
    let _ = p.a.send(now, &[1u8; 10 * 1448]).unwrap();
    let out = common::drain(&mut p.a, now);
    let now = now + Duration::from_millis(5);
    for (i, x) in out.iter().enumerate() {
        let _ = p.b.on_segment_ecn(now, &x.seg(), i == 0);
    }
    let cwnd = p.a.cwnd();
    for x in common::drain(&mut p.b, now) {
        let _ = p.a.on_segment(now + Duration::from_millis(5), &x.seg());
    }
    assert!(p.a.cwnd() < cwnd, "cwnd reduced on ECE");
    let now = now + Duration::from_millis(6);
    let mss = p.a.effective_mss() as usize;
    let _ = p.a.send(now, &[2u8; 20 * 1448]).unwrap();
    let mut buf = vec![0u8; 65536];
    let (t, seg) = p.a.poll_transmit_gso(now, &mut buf, 65_000).unwrap();
    let cwr = t.flags.contains(tcpstate::Flags::CWR);
    assert_eq!((t.len, seg, cwr), (mss, 0, true), "sent alone");
    let (t, seg) = p.a.poll_transmit_gso(now, &mut buf, 65_000).unwrap();
    assert_eq!(usize::from(seg), mss);
    assert!(t.len >= 2 * mss, "{} bytes", t.len);
    assert!(!t.flags.contains(tcpstate::Flags::CWR));
}

/// A coalesced segment (GRO) leaves the receiver as its pieces would, and
/// draws one ACK where the pieces draw one per two.
#[test]
fn a_coalesced_segment_equals_its_pieces_with_one_ack() {
    for linux in [false, true] {
        let mut cfg = config(linux);
        cfg.quickack = 0; // quick ACKs are counted per ACK sent
        let mut p = Pair::open(cfg, 65536, 65536);
        let now = p.now;
        let _ = p.a.send(now, &[0x42; 12 * 1448]).unwrap();
        let mut buf = vec![0u8; 65536];
        let (t, seg) = p.a.poll_transmit_gso(now, &mut buf, 65_000).unwrap();
        assert!(
            seg > 0 && t.len >= 2 * usize::from(seg),
            "{} / {seg}",
            t.len
        );
        let big = wire(&t, &buf[..t.len]);
        let mut pieces = Vec::new();
        let mut scratch = vec![0u8; 65536];
        gso::split(
            &big,
            usize::from(seg),
            IpAddr::V4(SRC),
            IpAddr::V4(DST),
            &mut scratch,
            |x| pieces.push(x.to_vec()),
        )
        .unwrap();
        let (mut r1, mut r2) = (p.b.clone(), p.b.clone());
        let at = now + Duration::from_millis(5);
        let deliver = |r: &mut Conn, bytes: &[u8]| {
            assert!(checksum::verify_v4(SRC.octets(), DST.octets(), bytes));
            let (h, payload) = TcpHeader::parse(bytes).unwrap();
            let _ = r.on_segment(at, &Segment::new(&h, payload));
        };
        let acks = |r: &mut Conn, t: Instant| common::drain(r, t).len();
        let mut a1 = 0;
        for x in &pieces {
            deliver(&mut r1, x);
            a1 += acks(&mut r1, at);
        }
        deliver(&mut r2, &big);
        let a2 = acks(&mut r2, at);
        assert_eq!(a2, 1, "one ACK for the coalesced segment");
        assert_eq!(a1, pieces.len() / 2, "one ACK per two full-sized pieces");
        // Once the delayed ACK of an odd last piece has gone, the two are
        // the same receiver.
        let later = at + Duration::from_millis(500);
        let _ = r1.on_timer(later);
        let _ = r2.on_timer(later);
        let _ = acks(&mut r1, later);
        let _ = acks(&mut r2, later);
        assert_eq!(r1.rcv_nxt(), r2.rcv_nxt());
        assert_eq!(r1.recv_queue(), t.len);
        assert_eq!(r1.rcv_wnd(), r2.rcv_wnd());
        assert_eq!(r1.deadline(), r2.deadline());
        // The same receiver, as `tcp_info` shows it (rcv_mss included: a
        // coalesced segment counts as its pieces), but for SND.WL1: the
        // SEQ of the segment that last updated the send window is the
        // coalesced segment's first, the last piece's otherwise (as on
        // Linux with GRO); every later segment updates the window alike.
        // (Segment counters aside: they count what went in and out.)
        let (i1, i2) = (r1.info(later), r2.info(later));
        assert_eq!(
            (i1.segs_in, i1.segs_out, i2.segs_in, i2.segs_out),
            (pieces.len() as u32 + 2, a1 as u32 + 1, 3, 2)
        );
        let mut i1 = i1;
        (i1.segs_in, i1.segs_out) = (i2.segs_in, i2.segs_out);
        assert_eq!(i1, i2, "linux {linux}");
        let (mut b1, mut b2) = (vec![0u8; 20_000], vec![0u8; 20_000]);
        let n1 = r1.recv(later, &mut b1).unwrap().len;
        let n2 = r2.recv(later, &mut b2).unwrap().len;
        assert_eq!(b1[..n1], b2[..n2]);
    }
}

/// Through Endpoints: with `gso_max`, bulk data leaves as super-segments
/// (`Datagram::segment_size`); with transmit checksum offload their
/// checksum field holds the pseudo-header sum a device completes; split
/// in software they are ordinary segments a peer without offload takes;
/// a receiver with receive checksum offload takes the super-segments as
/// they are (GRO). Every byte arrives either way.
#[test]
fn endpoints_with_segmentation_and_checksum_offload() {
    use tcpstate::{Ecn, Endpoint, EndpointConfig, EndpointError, EndpointEvent as Event};
    for split_in_software in [false, true] {
        let mut a = EndpointConfig::linux().with_local_addr(SRC).unwrap();
        a.gso_max = 65_000;
        a.tx_checksum_offload = true;
        a.tx_buffer = 1 << 20;
        let mut b = EndpointConfig::linux().with_local_addr(DST).unwrap();
        b.rx_checksum_offload = !split_in_software;
        b.rx_buffer = 1 << 20;
        let (mut a, mut b) = (
            Endpoint::new(a, [1; 16]).unwrap(),
            Endpoint::new(b, [2; 16]).unwrap(),
        );
        b.listen("192.0.2.2:80".parse().unwrap(), 8).unwrap();
        let mut now = Instant::from_secs(1);
        let c = a
            .connect(now, None, "192.0.2.2:80".parse().unwrap())
            .unwrap();
        let data: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (mut sent, mut got, mut s) = (0, Vec::new(), None);
        let (mut supers, mut pieces) = (0, 0);
        let mut buf = vec![0u8; 70_000];
        let mut scratch = vec![0u8; 70_000];
        for _ in 0..10_000 {
            if sent < data.len() {
                match a.send(now, c, &data[sent..]) {
                    Ok(n) => sent += n,
                    Err(EndpointError::WouldBlock) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            while let Some(d) = a.poll_transmit(now, &mut buf) {
                let seg = d.segment(&buf);
                if d.segment_size > 0 {
                    supers += 1;
                    // The checksum field holds the folded pseudo-header sum
                    // over the whole segment (CHECKSUM_PARTIAL).
                    let sum =
                        checksum::pseudo_header_v4(SRC.octets(), DST.octets(), d.len() as u16);
                    assert_eq!(seg[16..18], checksum::fold(sum).to_be_bytes());
                }
                if split_in_software {
                    let n = gso::split(
                        seg,
                        usize::from(d.segment_size),
                        d.src,
                        d.dst,
                        &mut scratch,
                        |p| {
                            assert!(p.len() <= 20 + 12 + 1460, "a piece fits the MTU");
                            b.on_datagram(now, d.src, d.dst, Ecn::NotEct, p);
                        },
                    )
                    .unwrap();
                    pieces += n;
                } else {
                    b.on_datagram(now, d.src, d.dst, d.ecn, seg);
                }
            }
            while let Some(e) = b.poll_event() {
                if let Event::Incoming(l) = e {
                    s = b.accept(l);
                }
            }
            if let Some(s) = s {
                let mut r = vec![0u8; 100_000];
                while let Ok(n @ 1..) = b.recv(now, s, &mut r) {
                    got.extend_from_slice(&r[..n]);
                }
            }
            while let Some(d) = b.poll_transmit(now, &mut buf) {
                a.on_datagram(now, d.src, d.dst, d.ecn, d.segment(&buf));
            }
            while a.poll_event().is_some() {}
            if got.len() == data.len() {
                break;
            }
            now += Duration::from_millis(1);
            a.on_timer(now);
            b.on_timer(now);
        }
        assert_eq!(got.len(), data.len(), "split {split_in_software}");
        assert!(got == data);
        assert!(supers > 10, "{supers} super-segments");
        if split_in_software {
            assert!(pieces > 2 * supers);
        }
        assert_eq!(a.counters().retrans_segs, 0);
    }
}

// ---------------------------------------------------------------------
// wire::gso::split on its own (Linux `tcp_gso_segment`).

/// A super-segment: ACK|PSH|FIN|CWR, timestamps, 250 bytes from a
/// sequence number 16 below the wrap.
fn super_segment() -> (TcpHeader, Vec<u8>, Vec<u8>) {
    use tcpstate::wire::{Flags, Timestamps};
    let mut h = TcpHeader {
        src_port: 40000,
        dst_port: 80,
        seq: tcpstate::SeqNum(0xffff_fff0),
        ack: tcpstate::SeqNum(7),
        flags: Flags::ACK | Flags::PSH | Flags::FIN | Flags::CWR,
        window: 1000,
        urgent: 0,
        options: tcpstate::TcpOptions::NONE,
    };
    h.options.timestamps = Some(Timestamps { val: 5, ecr: 6 });
    let payload: Vec<u8> = (0..250u32).map(|i| (i * 7) as u8).collect();
    let mut seg = vec![0u8; h.header_len()];
    h.emit(&mut seg).unwrap();
    seg.extend_from_slice(&payload);
    (h, seg, payload)
}

/// Each piece: the super-segment's header with its own sequence number
/// (wrapping), PSH and FIN on the last piece only, CWR on the first only
/// (Linux `tcp_gso_segment`), its slice of the payload and a correct
/// checksum (RFC 9293 §3.1), over IPv4 and IPv6; a scratch buffer of
/// exactly header + segment_size is enough, one byte less is refused
/// with the size needed.
#[test]
fn split_gives_each_piece_its_sequence_flags_payload_and_checksum() {
    use std::net::Ipv6Addr;
    use tcpstate::wire::{Flags, WireError};
    let (h, seg, payload) = super_segment();
    let hlen = h.header_len();
    let v6 = (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
    );
    for (src, dst) in [
        (IpAddr::V4(SRC), IpAddr::V4(DST)),
        (IpAddr::V6(v6.0), IpAddr::V6(v6.1)),
    ] {
        let mut scratch = vec![0u8; hlen + 100];
        let mut pieces = Vec::new();
        let n = gso::split(&seg, 100, src, dst, &mut scratch, |p| {
            pieces.push(p.to_vec())
        })
        .unwrap();
        assert_eq!((n, pieces.len()), (3, 3));
        for (i, p) in pieces.iter().enumerate() {
            let ok = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => checksum::verify_v4(s.octets(), d.octets(), p),
                (IpAddr::V6(s), IpAddr::V6(d)) => checksum::verify_v6(s.octets(), d.octets(), p),
                _ => unreachable!(),
            };
            assert!(ok, "piece {i}: bad checksum");
            let (ph, data) = TcpHeader::parse(p).unwrap();
            assert_eq!(data, &payload[100 * i..(100 * i + 100).min(250)]);
            assert_eq!(p.len(), hlen + data.len());
            let mut want = h;
            want.seq = h.seq.add(100 * i as u32);
            want.flags = Flags::ACK;
            if i == 0 {
                want.flags |= Flags::CWR;
            }
            if i == 2 {
                want.flags |= Flags::PSH | Flags::FIN;
            }
            assert_eq!(ph, want, "piece {i}");
        }
        let mut short = vec![0u8; hlen + 99];
        assert_eq!(
            gso::split(&seg, 100, src, dst, &mut short, |_| {}),
            Err(WireError::TooShort(hlen + 100))
        );
    }
    // A segment_size of 0, or one the payload fits: the segment itself,
    // its checksum computed, in a scratch of exactly its size.
    let mut whole = seg.clone();
    checksum::fill_checksum_v4(SRC.octets(), DST.octets(), &mut whole);
    for size in [0, 250, 1000] {
        let mut scratch = vec![0u8; seg.len()];
        let mut pieces = Vec::new();
        let n = gso::split(
            &seg,
            size,
            IpAddr::V4(SRC),
            IpAddr::V4(DST),
            &mut scratch,
            |p| pieces.push(p.to_vec()),
        );
        assert_eq!(n, Ok(1), "segment_size {size}");
        assert_eq!(pieces, [whole.clone()], "segment_size {size}");
    }
    // Mixed address families have no pseudo-header: the field is zeroed.
    let mut scratch = vec![0u8; seg.len()];
    let mut got = Vec::new();
    let dst6 = IpAddr::V6(v6.1);
    gso::split(&seg, 0, IpAddr::V4(SRC), dst6, &mut scratch, |p| {
        got = p.to_vec()
    })
    .unwrap();
    assert_eq!(&got[16..18], &[0, 0]);
    assert_eq!(&got[..16], &seg[..16]);
}

/// What `split` refuses: fewer than 20 bytes, a data offset below 5 words
/// or past the end (RFC 9293 §3.1); the smallest valid segments pass.
#[test]
fn split_refuses_short_segments_and_bad_data_offsets() {
    use tcpstate::wire::WireError;
    let (src, dst) = (IpAddr::V4(SRC), IpAddr::V4(DST));
    let mut scratch = [0u8; 64];
    let mut seg = [0u8; 24];
    seg[12] = 5 << 4;
    assert_eq!(
        gso::split(&seg[..19], 10, src, dst, &mut scratch, |_| {}),
        Err(WireError::TooShort(19))
    );
    assert_eq!(
        gso::split(&seg[..20], 10, src, dst, &mut scratch, |_| {}),
        Ok(1)
    );
    for (offset, len, ok) in [(4, 20, false), (5, 20, true), (6, 20, false), (6, 24, true)] {
        seg[12] = offset << 4;
        let got = gso::split(&seg[..len], 10, src, dst, &mut scratch, |_| {});
        if ok {
            assert_eq!(got, Ok(1), "offset {offset}, {len} bytes");
        } else {
            assert_eq!(
                got,
                Err(WireError::BadDataOffset { offset, len }),
                "offset {offset}, {len} bytes"
            );
        }
    }
}

/// A host clock that steps back: `poll_transmit` takes an earlier time as
/// the latest one it saw, and so do the pieces of a super-segment (their
/// timestamps, send times and timers are those of segments sent one by
/// one at that latest time).
#[test]
fn super_segments_at_an_earlier_time_are_the_segments_sent_one_by_one() {
    let mut p = Pair::open(config(true), 65536, 65536);
    let _ = p.a.send(p.now, &[5u8; 3000]);
    p.run_until(p.now + Duration::from_millis(50));
    let latest = p.now;
    let _ = p.a.send(latest, &[6u8; 30_000]);
    let earlier = Instant::from_micros(latest.as_micros() - 20_000);
    let (mut one, mut two) = (p.a.clone(), p.a.clone());
    let a = one_by_one(&mut one, earlier);
    let (b, multi) = offloaded(&mut two, earlier, 65536);
    assert!(multi > 1, "{multi}");
    assert_eq!(a, b);
    assert_eq!(one.fingerprint(), two.fingerprint());
}
