//! The standing adversarial suite (issue 20): one test per class of attack
//! taken from real TCP CVEs and papers, each written against the public API
//! only and each asserting a bound that could fail: memory per connection
//! and per Endpoint, timer entries, replies per attack segment (at most
//! one), and cost per segment that stays flat as the attack grows
//! (compared as counts and ratios, never as wall time).
//!
//! The attacker is the test: it crafts every segment itself, as a peer that
//! owns the other end of the 4-tuple (or only knows the 4-tuple) would.

//!
//! `fixed.rs`: the five classes issue 20 fixed; `held.rs`: the ten that
//! held; below, a peer hostile by design at random; `support.rs`: the
//! attacker's tools.

#[path = "../common/mod.rs"]
mod common;
mod fixed;
mod held;
mod support;

use proptest::prelude::{TestCaseError, any};

#[global_allocator]
static ALLOC: support::counting::Counting = support::counting::Counting;

// ---------------------------------------------------------------------------
// A peer hostile by design: all of the above at once, at random.
// ---------------------------------------------------------------------------

/// Random sequences of hostile moves (`strategies::hostile_moves`: an
/// application that never reads, windows shut for ever, duplicate ACKs,
/// overlapping data with new bytes, TIME-WAIT floods, FINs) against a
/// whole host, the `EpHarness` checks after every step (tables, timer
/// entries, each connection's buffers and boxes, well-formed output,
/// nothing due after `on_timer`), and every connection gone four hours
/// after the application closed, the peer still answering with a shut
/// window. `TCPSTATE_HOSTILE_CASES` sets the number of cases (64); the
/// `hostile` fuzz target explores further.
#[test]
fn a_peer_hostile_by_design() {
    use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestRng, TestRunner};
    use tcpstate::testing::endpoint::EpHarness;
    let cases = std::env::var("TCPSTATE_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new_with_rng(
        PtConfig {
            cases,
            failure_persistence: None,
            ..PtConfig::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let reached = std::cell::Cell::new((0u64, 0u64));
    runner
        .run(
            &(any::<bool>(), tcpstate::strategies::hostile_moves(40)),
            |(linux, moves)| {
                let mut h = EpHarness::new(linux);
                let r = h.run_hostile(&moves);
                let k = h.ep.counters();
                let (a, b) = reached.get();
                reached.set((a + k.passive_opens, b + k.time_wait_entered));
                r.map_err(TestCaseError::fail)
            },
        )
        .unwrap();
    // The moves reached the states they aim at.
    let (opens, time_wait) = reached.get();
    assert!(opens > u64::from(cases), "{opens} connections opened");
    assert!(time_wait > 0, "no TIME-WAIT entry");
}
