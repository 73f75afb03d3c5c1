//! Arbitrary `Input` sequences against one connection brought into any of
//! the 11 states; `tcpstate::testing::Harness` checks the invariants after
//! every step (a violation panics with the scenario).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstate::State;
use tcpstate::testing::{Input, fixture};

#[derive(Debug, arbitrary::Arbitrary)]
struct Case {
    state: u8,
    variant: u8,
    inputs: Vec<Input>,
}

fuzz_target!(|case: Case| {
    let st = State::ALL[usize::from(case.state) % State::ALL.len()];
    let mut h = match fixture(st, case.variant) {
        Ok(h) => h,
        Err(e) => panic!("fixture {st}: {e}"),
    };
    for i in case.inputs.iter().take(256) {
        if let Err(e) = h.apply(i) {
            panic!("{e}\ninputs: {:#?}", case.inputs);
        }
    }
});
