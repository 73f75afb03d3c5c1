//! A peer hostile by design against a whole host (issue 20): the
//! `HostileMove`s of `tcpstate::testing::endpoint` (an application that
//! never reads, a window shut for ever while every probe is answered,
//! spoofed duplicate ACKs, overlapping data with new bytes, floods of a
//! 4-tuple that may be in TIME-WAIT, FINs, a device that drops what the
//! host sends and reports it with `on_transmit_failed`) with the `EpHarness` checks
//! after every step: tables, timer entries (one per connection and per
//! TIME-WAIT entry at most), each connection within its buffers and its
//! boxes, every datagram well formed, nothing due after `on_timer`; and
//! no connection left four hours after the application closed, the peer
//! still answering with its window shut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstate::testing::endpoint::{EpHarness, HostileMove};

#[derive(Debug, arbitrary::Arbitrary)]
struct Case {
    linux: bool,
    moves: Vec<HostileMove>,
}

fuzz_target!(|case: Case| {
    if let Err(e) = EpHarness::new(case.linux).run_hostile(&case.moves) {
        panic!("{e}");
    }
});
