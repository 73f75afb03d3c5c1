//! `TcpHeader::parse` never panics, and whatever parses re-emits to bytes
//! that parse to the same header and payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpstate::wire::checksum::{fill_checksum_v4, verify_v4};
use tcpstate::wire::{TcpHeader, WireError};

fuzz_target!(|data: &[u8]| {
    let Ok((h, payload)) = TcpHeader::parse(data) else {
        return;
    };
    let mut buf = vec![0u8; h.header_len() + payload.len()];
    let n = match h.emit(&mut buf) {
        Ok(n) => n,
        // Options packed without padding (e.g. SACK x3 + TS + WS in 39
        // bytes) can need more than 40 bytes in the emitter's canonical
        // NOP-aligned layout: emit refuses rather than truncates (its
        // documented contract), and says by how much.
        Err(WireError::OptionsTooLong(n)) => {
            assert_eq!(n, h.options_len());
            assert!(n > 40);
            return;
        }
        Err(e) => panic!("a parsed header does not re-emit: {e:?}"),
    };
    assert_eq!(n, h.header_len());
    buf[n..].copy_from_slice(payload);
    let (h2, p2) = TcpHeader::parse(&buf).expect("an emitted header parses");
    assert_eq!(h2, h, "parse(emit(parse(x))) != parse(x)");
    assert_eq!(p2, payload);
    // The checksum verifies after it is filled in.
    fill_checksum_v4([10, 0, 0, 1], [10, 0, 0, 2], &mut buf);
    assert!(verify_v4([10, 0, 0, 1], [10, 0, 0, 2], &buf));
});
