#![cfg(feature = "proptest")]

//! A whole host under hostile input (`tcpstate::testing::endpoint`): raw
//! and crafted datagrams, answers to what it sent, bad addresses,
//! application calls and time (`tcpstate::strategies::ep_inputs`; the
//! `endpoint` fuzz target drives the same harness). Every case ends with
//! the application gone and over three hours of silence, after which no
//! connection may be left. `TCPSTATE_EP_CASES` sets the number of cases,
//! `TCPSTATE_EP_SEED` another seed than the fixed one.

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestRng, TestRunner};
use tcpstate::testing::endpoint::{EpHarness, EpInput};

fn cases() -> u32 {
    std::env::var("TCPSTATE_EP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

fn run(linux: bool, inputs: &[EpInput]) -> (Result<(), String>, EpHarness, usize) {
    let mut h = EpHarness::new(linux);
    let r = h.run(inputs);
    (r, h, inputs.len())
}

#[test]
fn endpoint_survives_hostile_input() {
    // A fixed seed: the depth assertions below must not depend on luck
    // (the fuzz target explores at random).
    let mut runner = TestRunner::new_with_rng(
        PtConfig {
            cases: cases(),
            failure_persistence: None,
            ..PtConfig::default()
        },
        match std::env::var("TCPSTATE_EP_SEED")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            Some(seed) => {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&seed.to_le_bytes());
                TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
            }
            None => TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        },
    );
    // Totals over every case (the runner's closure is `Fn`).
    let tally = std::cell::Cell::new((0usize, 0u64, 0u64, 0u64));
    // Datagrams reported with `on_transmit_failed` over every case.
    let failed = std::cell::Cell::new(0u64);
    // Endpoint counters summed over the cases: how far the inputs got.
    let depth = std::cell::Cell::new([0u64; 9]);
    runner
        .run(
            &(any::<bool>(), tcpstate::strategies::ep_inputs(120)),
            |(linux, inputs)| {
                let (r, h, n) = run(linux, &inputs);
                let (a, b, c, d) = tally.get();
                tally.set((a + n, b + h.datagrams_out, c + h.bytes_read, d + h.events));
                failed.set(failed.get() + h.transmit_failed);
                let k = h.ep.counters();
                let mut t = depth.get();
                for (x, v) in t.iter_mut().zip([
                    k.passive_opens,
                    k.active_opens,
                    k.time_wait_entered,
                    k.estab_resets,
                    k.syncookies_sent,
                    k.retrans_segs,
                    k.icmp_in - k.icmp_no_conn - k.out_of_window_icmps,
                    k.out_of_window_icmps,
                    k.not_local,
                ]) {
                    *x += v;
                }
                depth.set(t);
                r.map_err(TestCaseError::fail)
            },
        )
        .unwrap();
    let (steps, out, read, events) = tally.get();
    println!("{steps} inputs, {out} datagrams out, {events} events, {read} bytes read");
    let [
        passive,
        active,
        tw,
        resets,
        cookies,
        rtx,
        icmp,
        icmp_oow,
        not_local,
    ] = depth.get();
    println!(
        "passive opens {passive}, active opens {active}, TIME-WAIT {tw}, resets of established {resets}, SYN cookies {cookies}, retransmissions {rtx}, ICMP errors applied {icmp}, out-of-window ICMP {icmp_oow}, not local {not_local}"
    );
    for (what, v) in [
        ("passive opens", passive),
        ("TIME-WAIT entries", tw),
        ("established resets", resets),
        ("retransmissions", rtx),
        ("ICMP errors applied to a connection", icmp),
        ("out-of-window ICMP errors", icmp_oow),
        ("segments for other addresses", not_local),
    ] {
        assert!(v > 0, "no {what}: the inputs stay shallow");
    }
    // The inputs reached the Endpoint's depths, not only its checksum test:
    // segments out, events, and text read (by `recv` and at once).
    assert!(out > 10 * u64::from(cases()), "too few datagrams: {out}");
    assert!(events > u64::from(cases()), "too few events: {events}");
    assert!(read > 0, "no text was ever read");
    assert!(failed.get() > 0, "on_transmit_failed was never called");
}

/// An ACK (with `len` bytes of text) answering the most recent datagram:
/// SEQ its ACK, ACK its SEQ plus what it occupied.
fn answer(len: u16, read: bool) -> EpInput {
    EpInput::Answer {
        k: 0,
        flags: tcpstate::Flags::ACK,
        seq_shift: 0,
        ack_shift: 0,
        window: 65535,
        options: tcpstate::TcpOptions::NONE,
        len,
        read,
    }
}

/// A listener on port index 0, a peer's SYN to it, the handshake's last
/// ACK (to the SYN,ACK) and the application's `accept`.
fn accepted() -> [EpInput; 4] {
    use tcpstate::testing::OwnedSegmentSpec;
    use tcpstate::{Flags, SeqNum, TcpOptions};
    let syn = OwnedSegmentSpec {
        seq: SeqNum(1000),
        ack: SeqNum(0),
        flags: Flags::SYN,
        window: 65535,
        options: TcpOptions::NONE,
        payload_len: 0,
    };
    [
        EpInput::Listen {
            port: 0,
            backlog: 4,
        },
        EpInput::Crafted {
            from: 0,
            sport: 0,
            dport: 0,
            spec: syn,
            read: false,
        },
        answer(0, false),
        EpInput::Accept(0),
    ]
}

/// A scripted case through the harness: a peer's SYN to a listener, the
/// handshake answered, data read at once, then silence.
#[test]
fn scripted_handshake_and_read_at_once() {
    let mut h = EpHarness::new(true);
    for i in &accepted() {
        h.apply(i).unwrap();
    }
    // 500 bytes, read at once; the SYN,ACK is still the most recent
    // datagram (the pure ACK and the accept sent nothing).
    h.apply(&answer(500, true)).unwrap();
    assert_eq!(h.bytes_read, 500, "the application read the text at once");
    assert_eq!(h.ep.connection_count(), 1);
    h.run(&[]).unwrap();
    assert_eq!(h.ep.connection_count(), 0);
}

/// `on_transmit_failed` under the harness's checks: a data segment the
/// device drops (reported right after its poll) is sent again, then
/// stale reports (twice, an older datagram, another datagram's
/// addresses, garbage bytes) change nothing the checks see, and the
/// connection still ends after the application leaves.
#[test]
fn scripted_transmit_failed() {
    let mut h = EpHarness::new(true);
    for i in &accepted() {
        h.apply(i).unwrap();
    }
    h.apply(&EpInput::DeviceFull(0)).unwrap();
    h.apply(&EpInput::Send(0, 500)).unwrap();
    assert_eq!(h.transmit_failed, 1, "the data segment was dropped");
    let out = h.datagrams_out;
    // Linux's probe timer sends it again (within a few RTOs at most).
    for _ in 0..10 {
        h.apply(&EpInput::Advance(500)).unwrap();
    }
    assert!(
        h.datagrams_out > out + 1,
        "the dropped data was not sent again"
    );
    let stale = |k: u8, other: u8, bytes: Option<Vec<u8>>| EpInput::TxFailed { k, other, bytes };
    let inputs = [
        stale(0, 0, None),
        stale(0, 0, None),
        stale(1, 0, None),
        stale(0, 1, None),
        stale(0, 0, Some(vec![0xff; 40])),
        stale(0, 0, Some(vec![])),
        answer(0, false),
    ];
    for i in &inputs {
        h.apply(i).unwrap();
    }
    assert_eq!(h.transmit_failed, 7);
    h.run(&[]).unwrap();
    assert_eq!(h.ep.connection_count(), 0);
}
