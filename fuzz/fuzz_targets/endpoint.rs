//! A whole host under hostile input: the `EpHarness` of
//! `tcpstate::testing::endpoint` (raw and crafted datagrams, answers to
//! what the Endpoint sent, bad addresses, application calls, time). It
//! checks every datagram the Endpoint sends (parses, checksum, addresses),
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
    let mut h = EpHarness::new(case.linux);
    // Listeners on every port first, so that SYNs find one.
    for port in 0..3u8 {
        if let Err(e) = h.apply(&EpInput::Listen { port, backlog: 4 }) {
            panic!("{e}");
        }
    }
    if let Err(e) = h.run(&case.inputs) {
        panic!("{e}");
    }
});
