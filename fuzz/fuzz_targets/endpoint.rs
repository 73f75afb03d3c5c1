//! A whole host under hostile input: the `EpHarness` of
//! `tcpstate::testing::endpoint` (raw and crafted datagrams, answers to
//! what the Endpoint sent, bad addresses, ICMP errors quoting what it
//! sent, ECN marks, datagrams for other addresses, application calls,
//! time, datagrams the device dropped reported with `on_transmit_failed`
//! and stale or garbage such reports). It checks every datagram the Endpoint sends (parses, checksum,
//! addresses, ECN codepoint),
//! the table limits, that queues drain and that nothing is due after
//! `on_timer`, and at the end that every connection is gone after the
//! application left and 200 minutes passed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstate::testing::endpoint::{EpHarness, EpInput};

#[derive(Debug, arbitrary::Arbitrary)]
struct Case {
    linux: bool,
    inputs: Vec<EpInput>,
}

fuzz_target!(|case: Case| {
    let mut inputs = EpInput::listen_everywhere();
    inputs.extend(case.inputs);
    if let Err(e) = EpHarness::new(case.linux).run(&inputs) {
        panic!("{e}");
    }
});
