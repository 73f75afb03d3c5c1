//! The Internet checksum (RFC 1071) over TCP segments with the IPv4
//! (RFC 9293 §3.1) and IPv6 (RFC 8200 §8.1) pseudo-headers.
//!
//! Partial sums are carried as `u32` values that are ones'-complement sums
//! of big-endian 16-bit words, not yet folded or complemented. Partial sums
//! of pieces can be added together (as `u32`, wrapping is avoided by
//! folding each one to at most `0xffff`) and finished with [`fold`]:
//!
//! ```
//! use tcpstate::wire::checksum::*;
//! let seg = [0u8; 20];
//! let sum = pseudo_header_v4([10, 0, 0, 1], [10, 0, 0, 2], 20);
//! let csum = !fold(ones_complement_sum(&seg, sum));
//! assert_eq!(csum, tcp_checksum_v4([10, 0, 0, 1], [10, 0, 0, 2], &seg));
//! ```

/// The IP protocol number of TCP.
const PROTO_TCP: u8 = 6;

/// Adds `b` to `a` with the end-around carry of ones'-complement addition.
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    // If c is set then s <= 2^64 - 2, so this cannot overflow.
    s + u64::from(c)
}

/// Folds a 64-bit ones'-complement accumulator to 16 bits (as a `u32`).
///
/// Adding a word to itself rotated by half its width leaves the
/// end-around-carry sum of its two halves in the upper half.
#[inline(always)]
fn fold64(acc: u64) -> u32 {
    let s = acc.wrapping_add(acc.rotate_right(32));
    let h = (s >> 32) as u32;
    h.wrapping_add(h.rotate_right(16)) >> 16
}

/// Adds the `N / 8` native-endian 64-bit words of `block` to `acc` in one
/// add-with-carry chain (`add`, `adc`, ..., `adc 0` on x86-64: one
/// instruction per 8 bytes, the loads folded in), the last carry added
/// back end-around.
#[inline(always)]
fn sum_block<const N: usize>(acc: u64, block: &[u8; N]) -> u64 {
    let mut acc = acc;
    let mut carry = false;
    let mut words = block.chunks_exact(8);
    for w in &mut words {
        let w = w.first_chunk::<8>().map_or(0, |w| u64::from_ne_bytes(*w));
        // `carrying_add` (two overflowing adds, carries or-ed): LLVM
        // turns the chain into `adc`.
        let (s, c1) = acc.overflowing_add(w);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        acc = s;
        carry = c1 | c2;
    }
    // If carry is set then acc <= 2^64 - 2, so this cannot overflow.
    acc + u64::from(carry)
}

/// Sums the largest prefix of `data` that is a whole number of `N`-byte
/// blocks (at most one block unless `LOOP`) into `acc`; returns the rest.
#[inline(always)]
fn sum_blocks<const N: usize, const LOOP: bool>(mut acc: u64, mut data: &[u8]) -> (u64, &[u8]) {
    while let Some((b, rest)) = data.split_first_chunk::<N>() {
        acc = sum_block(acc, b);
        data = rest;
        if !LOOP {
            break;
        }
    }
    (acc, data)
}

/// The ones'-complement sum of `data` in the machine's byte order, not yet
/// folded: 64-bit words in add-with-carry chains of 256 bytes, then one
/// chain each for the 128-, 64-, 32-, 16- and 8-byte rest, then the last
/// 4, 2 and 1 bytes. (256-byte chains: W4-rx 1018 -> 992 Ir against 128.)
#[inline(always)]
fn sum_native(data: &[u8]) -> u64 {
    let (acc, data) = sum_blocks::<256, true>(0, data);
    let (acc, data) = sum_blocks::<128, false>(acc, data);
    let (acc, data) = sum_blocks::<64, false>(acc, data);
    let (acc, data) = sum_blocks::<32, false>(acc, data);
    let (acc, data) = sum_blocks::<16, false>(acc, data);
    let (mut acc, mut tail) = sum_blocks::<8, false>(acc, data);
    if let Some((w, rest)) = tail.split_first_chunk::<4>() {
        acc = add_carry(acc, u64::from(u32::from_ne_bytes(*w)));
        tail = rest;
    }
    if let Some((w, rest)) = tail.split_first_chunk::<2>() {
        acc = add_carry(acc, u64::from(u16::from_ne_bytes(*w)));
        tail = rest;
    }
    if let Some(&b) = tail.first() {
        // The odd byte is the high (first) byte of a zero-padded word.
        acc = add_carry(acc, u64::from(u16::from_ne_bytes([b, 0])));
    }
    acc
}

/// Turns a machine-order sum into a big-endian partial sum and adds
/// `initial`.
#[inline(always)]
fn finish_native(acc: u64, initial: u32) -> u32 {
    // Folded in machine order; as a big-endian value.
    let native = fold64(acc) as u16;
    let be = u16::from_be_bytes(native.to_ne_bytes());
    fold64(u64::from(initial) + u64::from(be))
}

/// The ones'-complement sum of `data` read as big-endian 16-bit words
/// (RFC 1071 §4.1), added to the partial sum `initial`.
///
/// An odd final byte is padded with a zero byte on the right. Because of
/// this, only the *last* piece of a message summed in pieces may have an
/// odd length. The result is a partial sum folded to at most `0xffff`; pass
/// it on as `initial` or finish it with [`fold`] and `!`.
///
/// Sums 64-bit words in the machine's own byte order and swaps the folded
/// result once at the end (the sum is byte-order independent, RFC 1071
/// §2(B)), in add-with-carry chains (RFC 1071 §4.1's "add with carry"
/// loop, 8 bytes per step). No allocation, no panic for any input.
// Always inlined: the host's 20-byte IPv4 and TCP header sums then skip
// the call and, for a fixed-size array, the length tests (W4-rx, with
// `TcpHeader::parse` inlined too: 1120 -> 1018 Ir).
#[inline(always)]
pub fn ones_complement_sum(data: &[u8], initial: u32) -> u32 {
    finish_native(sum_native(data), initial)
}

/// Copies `src` into the start of `dst` and returns the ones'-complement
/// sum of the bytes copied added to `initial`, as
/// [`ones_complement_sum`] would (RFC 1071 §4.1; Linux's
/// `csum_partial_copy`).
///
/// Copies `min(dst.len(), src.len())` bytes and sums exactly those. Only
/// the last piece of a message summed in pieces may have an odd length
/// (see [`ones_complement_sum`]).
pub fn copy_and_sum(dst: &mut [u8], src: &[u8], initial: u32) -> u32 {
    let n = src.len().min(dst.len());
    let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) else {
        return finish_native(0, initial); // not reached: n fits both
    };
    // Copy, then sum the source while it is still in L1: glibc's
    // `memcpy` moves 32 bytes per instruction where a fused loop on
    // baseline x86-64 moves 16, so this takes fewer instructions (W4-rx
    // 1211 -> 1130 Ir) than one loop doing both.
    d.copy_from_slice(s);
    finish_native(sum_native(s), initial)
}

/// Adds the partial sum `piece` of a piece of a message to the partial sum
/// `sum` of what precedes it; `odd` says that the piece starts at an odd
/// offset, where its bytes sit in the other halves of the 16-bit words
/// (RFC 1071 §2(B): byte-swap its sum).
pub(crate) fn add_piece(sum: u32, piece: u32, odd: bool) -> u32 {
    let p = fold(piece);
    let p = if odd { p.swap_bytes() } else { p };
    fold64(u64::from(sum) + u64::from(p))
}

/// Folds a partial sum to 16 bits (end-around carry). The checksum field
/// value is `!fold(sum)`.
pub fn fold(sum: u32) -> u16 {
    fold64(u64::from(sum)) as u16
}

/// The partial sum of the IPv4 pseudo-header (RFC 9293 §3.1): source,
/// destination, zero, protocol 6, and the TCP length (header + data).
pub fn pseudo_header_v4(src: [u8; 4], dst: [u8; 4], tcp_len: u16) -> u32 {
    let acc = u64::from(u32::from_be_bytes(src))
        + u64::from(u32::from_be_bytes(dst))
        + u64::from(PROTO_TCP)
        + u64::from(tcp_len);
    fold64(acc)
}

/// The partial sum of the IPv6 pseudo-header (RFC 8200 §8.1): source,
/// destination, the 32-bit upper-layer length, three zero bytes and next
/// header 6.
pub fn pseudo_header_v6(src: [u8; 16], dst: [u8; 16], tcp_len: u32) -> u32 {
    let s = u128::from_be_bytes(src);
    let d = u128::from_be_bytes(dst);
    let mut acc = 0u64;
    for half in [s >> 64, s, d >> 64, d] {
        acc = add_carry(acc, half as u64);
    }
    acc = add_carry(acc, u64::from(tcp_len));
    acc = add_carry(acc, u64::from(PROTO_TCP));
    fold64(acc)
}

/// The IPv4 TCP length: a segment longer than 65535 bytes cannot be in an
/// IPv4 datagram; its length is saturated rather than wrapped.
fn len_v4(segment: &[u8]) -> u16 {
    u16::try_from(segment.len()).unwrap_or(u16::MAX)
}

/// The IPv6 upper-layer length, saturated at `u32::MAX`.
fn len_v6(segment: &[u8]) -> u32 {
    u32::try_from(segment.len()).unwrap_or(u32::MAX)
}

/// The value for the checksum field of a TCP segment (header + data) sent
/// over IPv4. The checksum field in `segment` is summed as it is, so the
/// caller zeroes it first (or uses [`fill_checksum_v4`]).
pub fn tcp_checksum_v4(src: [u8; 4], dst: [u8; 4], segment: &[u8]) -> u16 {
    let sum = pseudo_header_v4(src, dst, len_v4(segment));
    !fold(ones_complement_sum(segment, sum))
}

/// The value for the checksum field of a TCP segment sent over IPv6; see
/// [`tcp_checksum_v4`].
pub fn tcp_checksum_v6(src: [u8; 16], dst: [u8; 16], segment: &[u8]) -> u16 {
    let sum = pseudo_header_v6(src, dst, len_v6(segment));
    !fold(ones_complement_sum(segment, sum))
}

/// Whether a received IPv4 TCP segment's checksum is correct: the sum over
/// the pseudo-header and the whole segment, checksum field included, folds
/// to `0xffff` (RFC 9293 §3.1 MUST-3).
pub fn verify_v4(src: [u8; 4], dst: [u8; 4], segment: &[u8]) -> bool {
    let sum = pseudo_header_v4(src, dst, len_v4(segment));
    fold(ones_complement_sum(segment, sum)) == 0xffff
}

/// Whether a received IPv6 TCP segment's checksum is correct; see
/// [`verify_v4`].
pub fn verify_v6(src: [u8; 16], dst: [u8; 16], segment: &[u8]) -> bool {
    let sum = pseudo_header_v6(src, dst, len_v6(segment));
    fold(ones_complement_sum(segment, sum)) == 0xffff
}

/// Computes and writes the checksum of an IPv4 TCP segment into bytes
/// 16..18 (the field is zeroed first). Does nothing if `segment` is shorter
/// than 18 bytes.
pub fn fill_checksum_v4(src: [u8; 4], dst: [u8; 4], segment: &mut [u8]) {
    if let Some(field) = segment.get_mut(16..18) {
        field.fill(0);
        let c = tcp_checksum_v4(src, dst, segment);
        if let Some(field) = segment.get_mut(16..18) {
            field.copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// Computes and writes the checksum of an IPv6 TCP segment into bytes
/// 16..18; see [`fill_checksum_v4`].
pub fn fill_checksum_v6(src: [u8; 16], dst: [u8; 16], segment: &mut [u8]) {
    if let Some(field) = segment.get_mut(16..18) {
        field.fill(0);
        let c = tcp_checksum_v6(src, dst, segment);
        if let Some(field) = segment.get_mut(16..18) {
            field.copy_from_slice(&c.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 1071 reference: 16 bits at a time, 32-bit accumulator folded as
    /// it goes.
    fn reference(data: &[u8], initial: u32) -> u16 {
        let mut acc: u64 = u64::from(initial);
        let mut i = 0;
        while i + 1 < data.len() {
            acc += u64::from(u16::from_be_bytes([data[i], data[i + 1]]));
            i += 2;
        }
        if i < data.len() {
            acc += u64::from(data[i]) << 8;
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(ones_complement_sum(&d, 0)), 0xddf2);
        assert_eq!(reference(&d, 0), 0xddf2);
    }

    #[test]
    fn edge_cases() {
        assert_eq!(fold(ones_complement_sum(&[], 0)), 0);
        assert_eq!(fold(ones_complement_sum(&[0xab], 0)), 0xab00);
        let ones = [0xffu8; 1999];
        assert_eq!(fold(ones_complement_sum(&ones, 0)), reference(&ones, 0));
        assert_eq!(
            fold(ones_complement_sum(&ones, u32::MAX)),
            reference(&ones, u32::MAX)
        );
        // Long runs of 0xff carry on every word of the wide accumulators.
        let big = vec![0xffu8; 70_001];
        assert_eq!(fold(ones_complement_sum(&big, 0)), reference(&big, 0));
        let mixed: Vec<u8> = (0..65_535u32).map(|i| (i * 131 + 7) as u8).collect();
        assert_eq!(fold(ones_complement_sum(&mixed, 9)), reference(&mixed, 9));
        // Short segments are left alone.
        let mut short = [1u8; 17];
        fill_checksum_v4([1; 4], [2; 4], &mut short);
        assert_eq!(short, [1u8; 17]);
    }

    proptest! {
        #[test]
        fn fast_matches_reference(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            initial in any::<u32>(),
        ) {
            prop_assert_eq!(fold(ones_complement_sum(&data, initial)), reference(&data, initial));
        }

        #[test]
        fn fold64_matches_loop(acc in any::<u64>()) {
            let mut r = acc;
            while r > 0xffff {
                r = (r & 0xffff) + (r >> 16);
            }
            prop_assert_eq!(u64::from(fold64(acc)), r);
        }

        #[test]
        fn copy_and_sum_copies_and_matches(
            data in proptest::collection::vec(any::<u8>(), 0..1000),
            extra in 0usize..300,
            cut in 0usize..1000,
            initial in any::<u32>(),
        ) {
            let mut dst = vec![0u8; data.len() + extra];
            let s = copy_and_sum(&mut dst, &data, initial);
            prop_assert_eq!(&dst[..data.len()], &data[..]);
            prop_assert!(dst[data.len()..].iter().all(|&b| b == 0));
            prop_assert_eq!(fold(s), reference(&data, initial));
            // A short destination: the prefix that fits, summed.
            let cut = cut.min(data.len());
            let mut short = vec![0u8; cut];
            let s = copy_and_sum(&mut short, &data, initial);
            prop_assert_eq!(&short[..], &data[..cut]);
            prop_assert_eq!(fold(s), reference(&data[..cut], initial));
            // Two pieces, the second at any (odd or even) offset.
            let (a, b) = data.split_at(cut);
            let sum = add_piece(ones_complement_sum(a, initial), ones_complement_sum(b, 0), a.len() % 2 == 1);
            prop_assert_eq!(fold(sum), reference(&data, initial));
        }

        #[test]
        fn all_ff_runs_match_reference(len in 0usize..2000) {
            let data = vec![0xffu8; len];
            prop_assert_eq!(fold(ones_complement_sum(&data, 0)), reference(&data, 0));
        }

        #[test]
        fn pseudo_headers_match_reference(
            s4 in any::<[u8; 4]>(), d4 in any::<[u8; 4]>(), l4 in any::<u16>(),
            s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>(), l6 in any::<u32>(),
        ) {
            let mut v4 = Vec::new();
            v4.extend_from_slice(&s4);
            v4.extend_from_slice(&d4);
            v4.extend_from_slice(&[0, PROTO_TCP]);
            v4.extend_from_slice(&l4.to_be_bytes());
            prop_assert_eq!(fold(pseudo_header_v4(s4, d4, l4)), reference(&v4, 0));
            let mut v6 = Vec::new();
            v6.extend_from_slice(&s6);
            v6.extend_from_slice(&d6);
            v6.extend_from_slice(&l6.to_be_bytes());
            v6.extend_from_slice(&[0, 0, 0, PROTO_TCP]);
            prop_assert_eq!(fold(pseudo_header_v6(s6, d6, l6)), reference(&v6, 0));
        }
    }
}
