//! Parsing and emitting the TCP header and its options (RFC 9293 §3.1,
//! RFC 7323 §2-3, RFC 2018 §2-3).
//!
//! Everything here works on borrowed slices: no allocation, no indexing
//! that can fail (slices are taken with `get`/`split_at_checked` and fixed
//! arrays with `first_chunk`), and the option loop consumes at least one
//! byte per iteration.

use super::{FastOpen, Flags, SackBlocks, TcpHeader, TcpOptions, Timestamps, WireError};
use crate::seq::SeqNum;

/// Option kinds (IANA "TCP Option Kind Numbers").
const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WS: u8 = 3;
const KIND_SACK_PERM: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TS: u8 = 8;
const KIND_FO: u8 = FastOpen::KIND;
const KIND_EXP: u8 = FastOpen::KIND_EXP;

/// Length of the fixed part of the header.
pub(crate) const FIXED_LEN: usize = 20;
/// The most option bytes a header can carry (data offset 15 words).
const MAX_OPTIONS: usize = 40;

impl TcpHeader {
    /// The length of a header whose only option is timestamps: `NOP NOP
    /// TS` (RFC 7323 §3, laid out as RFC 7323 Appendix A advises and as
    /// Linux sends it).
    pub(crate) const TS_ONLY_LEN: usize = FIXED_LEN + 12;

    /// Parses a TCP header and its options from the start of `bytes`
    /// (RFC 9293 §3.1) and returns it with the payload that follows.
    ///
    /// The checksum is *not* verified here; see
    /// [`checksum::verify_v4`](super::checksum::verify_v4) and
    /// [`checksum::verify_v6`](super::checksum::verify_v6). The four
    /// reserved bits of byte 12 are ignored; byte 13 is taken whole as the
    /// eight control bits (including ECE and CWR, RFC 3168).
    ///
    /// Options are accepted at any alignment (MUST-64) and on any segment;
    /// unknown kinds are skipped by their length (MUST-6); an EOL ends the
    /// list. When a known option appears twice the last one wins.
    ///
    /// # Errors
    ///
    /// * [`WireError::TooShort`]: fewer than 20 bytes.
    /// * [`WireError::BadDataOffset`]: data offset below 5 words or past
    ///   the end of `bytes`.
    /// * [`WireError::BadOptionLength`]: an option's length byte is
    ///   missing, 0 or 1, or runs past the option area (MUST-7).
    /// * [`WireError::BadOptionSize`]: a known option with the wrong fixed
    ///   length (MSS 4, window scale 3, SACK-permitted 2, timestamps 10,
    ///   SACK 2 + 8n with n in 1..=4).
    #[inline]
    pub fn parse(bytes: &[u8]) -> Result<(TcpHeader, &[u8]), WireError> {
        let Some(fixed) = bytes.first_chunk::<FIXED_LEN>() else {
            return Err(WireError::TooShort(bytes.len()));
        };
        let offset = fixed[12] >> 4;
        let hlen = usize::from(offset) * 4;
        if offset < 5 || hlen > bytes.len() {
            return Err(WireError::BadDataOffset {
                offset,
                len: bytes.len(),
            });
        }
        let Some((head, payload)) = bytes.split_at_checked(hlen) else {
            return Err(WireError::BadDataOffset {
                offset,
                len: bytes.len(),
            });
        };
        let options = match head.get(FIXED_LEN..) {
            Some(area) if !area.is_empty() => parse_options(area)?,
            _ => TcpOptions::NONE,
        };
        let be16 = |a: u8, b: u8| u16::from_be_bytes([a, b]);
        let be32 = |a: u8, b: u8, c: u8, d: u8| u32::from_be_bytes([a, b, c, d]);
        let header = TcpHeader {
            src_port: be16(fixed[0], fixed[1]),
            dst_port: be16(fixed[2], fixed[3]),
            seq: SeqNum(be32(fixed[4], fixed[5], fixed[6], fixed[7])),
            ack: SeqNum(be32(fixed[8], fixed[9], fixed[10], fixed[11])),
            flags: Flags(fixed[13]),
            window: be16(fixed[14], fixed[15]),
            // Bytes 16..18 are the checksum, verified separately.
            urgent: be16(fixed[18], fixed[19]),
            options,
        };
        Ok((header, payload))
    }

    /// The number of bytes the options take when emitted, a multiple of 4.
    ///
    /// This is at most 40 for every header [`emit`](Self::emit) accepts;
    /// a larger value means `emit` will return
    /// [`WireError::OptionsTooLong`] (for example four SACK blocks plus
    /// timestamps: the caller should truncate the [`SackBlocks`]).
    pub fn options_len(&self) -> usize {
        let o = &self.options;
        if o.is_empty() {
            return 0;
        }
        let mut n = 0;
        if o.mss.is_some() {
            n += 4; // MSS(4)
        }
        if o.timestamps.is_some() {
            n += 12; // SACK_PERM(2)+TS(10), or NOP NOP TS(10)
        } else if o.sack_permitted {
            n += 4; // NOP NOP SACK_PERM(2)
        }
        if o.window_scale.is_some() {
            n += 4; // NOP WS(3)
        }
        if !o.sack.is_empty() {
            n += 4 + 8 * o.sack.len(); // NOP NOP SACK(2+8n)
        }
        if let Some(fo) = &o.fast_open {
            n += fo.wire_len(); // FO(2+n) [NOP NOP], or EXP(4+n) [NOP NOP]
        }
        // Every piece above is already a multiple of 4; keep the rounding
        // so that a future odd-sized option cannot break the data offset.
        n.div_ceil(4) * 4
    }

    /// The header length in bytes when emitted: `20 + options_len()`.
    pub fn header_len(&self) -> usize {
        FIXED_LEN + self.options_len()
    }

    /// Writes the header into `buf[..header_len()]` and returns
    /// `header_len()`. The checksum field is written as zero; fill it with
    /// [`checksum::fill_checksum_v4`](super::checksum::fill_checksum_v4) or
    /// [`checksum::fill_checksum_v6`](super::checksum::fill_checksum_v6)
    /// once the payload is in place. The reserved bits are zero.
    ///
    /// Options are laid out as Linux does: `MSS`, then `SACK_PERM TS` (or
    /// `NOP NOP TS`, or `NOP NOP SACK_PERM` without timestamps), then
    /// `NOP WS`, then `NOP NOP SACK`. The option area is padded with zeros
    /// (EOL) to a multiple of 4 (MUST-69). Values are written as given:
    /// a window scale above 14 is not clamped.
    ///
    /// # Errors
    ///
    /// * [`WireError::OptionsTooLong`]: the options need more than 40
    ///   bytes; nothing is truncated silently.
    /// * [`WireError::BufferTooSmall`]: `buf` is shorter than
    ///   `header_len()`.
    #[inline]
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if self.options.is_empty() {
            // No options: the fixed header is all (the common data segment).
            return match buf.first_chunk_mut::<FIXED_LEN>() {
                Some(fixed) => {
                    *fixed = self.fixed_header(FIXED_LEN);
                    Ok(FIXED_LEN)
                }
                None => Err(WireError::BufferTooSmall {
                    need: FIXED_LEN,
                    have: buf.len(),
                }),
            };
        }
        self.emit_with_options(buf)
    }

    /// `emit` of a header with options. Kept out of line so that `emit` of
    /// a header without options (every data segment without timestamps or
    /// SACK) saves no registers.
    #[inline(never)]
    fn emit_with_options(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if let Some(ts) = self.options.only_timestamps() {
            return self.emit_ts_only(ts, buf);
        }
        self.emit_general(buf)
    }

    /// `emit` of a header whose only option is `ts` (`NOP NOP TS`, 32
    /// bytes): the header of every data segment and ACK of a connection
    /// with timestamps and no SACK block to report. Inlined where the
    /// Endpoint builds its segments.
    #[inline(always)]
    pub(crate) fn emit_ts_only(&self, ts: Timestamps, buf: &mut [u8]) -> Result<usize, WireError> {
        match buf.first_chunk_mut::<{ Self::TS_ONLY_LEN }>() {
            Some(out) => {
                let (fixed, opts) = out.split_at_mut(FIXED_LEN);
                fixed.copy_from_slice(&self.fixed_header(Self::TS_ONLY_LEN));
                let [v0, v1, v2, v3] = ts.val.to_be_bytes();
                let [e0, e1, e2, e3] = ts.ecr.to_be_bytes();
                opts.copy_from_slice(&[
                    KIND_NOP, KIND_NOP, KIND_TS, 10, v0, v1, v2, v3, e0, e1, e2, e3,
                ]);
                Ok(Self::TS_ONLY_LEN)
            }
            None => Err(WireError::BufferTooSmall {
                need: Self::TS_ONLY_LEN,
                have: buf.len(),
            }),
        }
    }

    /// `emit` of any header with options, by the general option writer.
    #[inline(always)]
    fn emit_general(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let olen = self.options_len();
        if olen > MAX_OPTIONS {
            return Err(WireError::OptionsTooLong(olen));
        }
        let hlen = FIXED_LEN + olen;
        let too_small = WireError::BufferTooSmall {
            need: hlen,
            have: buf.len(),
        };
        let Some(out) = buf.get_mut(..hlen) else {
            return Err(too_small);
        };
        let Some((fixed, opts)) = out.split_first_chunk_mut::<FIXED_LEN>() else {
            return Err(too_small);
        };
        *fixed = self.fixed_header(hlen);
        self.emit_options(opts)?;
        Ok(hlen)
    }

    /// The fixed 20 bytes of a header `hlen` bytes long (`hlen <= 60`), the
    /// checksum zero.
    #[inline(always)]
    pub(crate) fn fixed_header(&self, hlen: usize) -> [u8; FIXED_LEN] {
        let [s0, s1] = self.src_port.to_be_bytes();
        let [d0, d1] = self.dst_port.to_be_bytes();
        let [q0, q1, q2, q3] = self.seq.0.to_be_bytes();
        let [a0, a1, a2, a3] = self.ack.0.to_be_bytes();
        let [w0, w1] = self.window.to_be_bytes();
        let [u0, u1] = self.urgent.to_be_bytes();
        // hlen <= 60, so the word count fits the 4-bit field.
        let words = (hlen / 4) as u8;
        [
            s0,
            s1,
            d0,
            d1,
            q0,
            q1,
            q2,
            q3,
            a0,
            a1,
            a2,
            a3,
            words << 4,
            self.flags.0,
            w0,
            w1,
            0,
            0,
            u0,
            u1,
        ]
    }

    /// Writes the options into `opts` (exactly `options_len()` bytes).
    fn emit_options(&self, opts: &mut [u8]) -> Result<(), WireError> {
        let mut w = Writer { buf: opts, pos: 0 };
        let o = &self.options;
        if let Some(mss) = o.mss {
            let [m0, m1] = mss.to_be_bytes();
            w.put(&[KIND_MSS, 4, m0, m1])?;
        }
        if let Some(ts) = o.timestamps {
            if o.sack_permitted {
                w.put(&[KIND_SACK_PERM, 2])?;
            } else {
                w.put(&[KIND_NOP, KIND_NOP])?;
            }
            w.put(&[KIND_TS, 10])?;
            w.put(&ts.val.to_be_bytes())?;
            w.put(&ts.ecr.to_be_bytes())?;
        } else if o.sack_permitted {
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK_PERM, 2])?;
        }
        if let Some(ws) = o.window_scale {
            w.put(&[KIND_NOP, KIND_WS, 3, ws])?;
        }
        if !o.sack.is_empty() {
            // At most 4 blocks: 2 + 32 = 34 fits in a u8.
            let len = (2 + 8 * o.sack.len()) as u8;
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK, len])?;
            for &(left, right) in o.sack.as_slice() {
                w.put(&left.0.to_be_bytes())?;
                w.put(&right.0.to_be_bytes())?;
            }
        }
        if let Some(fo) = &o.fast_open {
            // Last, as Linux writes it, with two NOPs when its length is
            // 2 modulo 4 (RFC 7413 §4.1.1; RFC 6994 for the magic).
            let cookie = fo.bytes();
            // At most 4 + 16: fits in a u8.
            let len = if fo.is_exp() {
                let len = (4 + cookie.len()) as u8;
                let [m0, m1] = FastOpen::EXP_MAGIC.to_be_bytes();
                w.put(&[KIND_EXP, len, m0, m1])?;
                len
            } else {
                let len = (2 + cookie.len()) as u8;
                w.put(&[KIND_FO, len])?;
                len
            };
            w.put(cookie)?;
            if len % 4 == 2 {
                w.put(&[KIND_NOP, KIND_NOP])?;
            }
        }
        // Pad with EOL (zero) bytes (RFC 9293 §3.1 MUST-69).
        w.pad_zero();
        Ok(())
    }
}

/// A cursor over the option area being emitted.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        let end = self.pos + bytes.len();
        let have = self.buf.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
                Ok(())
            }
            // Unreachable: options_len() sized the buffer. Reported rather
            // than panicking.
            None => Err(WireError::OptionsTooLong(end.max(have))),
        }
    }

    fn pad_zero(&mut self) {
        if let Some(rest) = self.buf.get_mut(self.pos..) {
            rest.fill(0);
        }
    }
}

/// Parses the option area (RFC 9293 §3.1 "Options").
fn parse_options(mut rest: &[u8]) -> Result<TcpOptions, WireError> {
    let mut o = TcpOptions::NONE;
    // `NOP NOP TS` alone, the layout RFC 7323 Appendix A advises and every
    // data segment and ACK of Linux with timestamps and no SACK block
    // carries: what the loop below finds, without it.
    if let [
        KIND_NOP,
        KIND_NOP,
        KIND_TS,
        10,
        v0,
        v1,
        v2,
        v3,
        e0,
        e1,
        e2,
        e3,
    ] = *rest
    {
        o.timestamps = Some(Timestamps {
            val: u32::from_be_bytes([v0, v1, v2, v3]),
            ecr: u32::from_be_bytes([e0, e1, e2, e3]),
        });
        return Ok(o);
    }
    while let Some((&kind, tail)) = rest.split_first() {
        match kind {
            // End of option list: the rest is padding.
            KIND_EOL => break,
            // One-byte no-op, at any alignment (MUST-64).
            KIND_NOP => {
                rest = tail;
                continue;
            }
            _ => {}
        }
        // Every other option has a length byte that counts kind and length
        // (MUST-7: a bad length must not be trusted).
        let Some(&len) = tail.first() else {
            return Err(WireError::BadOptionLength { kind, len: 0 });
        };
        if len < 2 {
            return Err(WireError::BadOptionLength { kind, len });
        }
        let Some((opt, after)) = rest.split_at_checked(usize::from(len)) else {
            return Err(WireError::BadOptionLength { kind, len });
        };
        rest = after;
        let body = opt.get(2..).unwrap_or(&[]);
        let bad_size = WireError::BadOptionSize { kind, len };
        match kind {
            KIND_MSS => match *body {
                [a, b] => o.mss = Some(u16::from_be_bytes([a, b])),
                _ => return Err(bad_size),
            },
            KIND_WS => match *body {
                // Kept as sent; the engine clamps above 14 (RFC 7323 §2.3).
                [shift] => o.window_scale = Some(shift),
                _ => return Err(bad_size),
            },
            KIND_SACK_PERM => match *body {
                [] => o.sack_permitted = true,
                _ => return Err(bad_size),
            },
            KIND_TS => match *body {
                [v0, v1, v2, v3, e0, e1, e2, e3] => {
                    o.timestamps = Some(Timestamps {
                        val: u32::from_be_bytes([v0, v1, v2, v3]),
                        ecr: u32::from_be_bytes([e0, e1, e2, e3]),
                    });
                }
                _ => return Err(bad_size),
            },
            KIND_SACK => {
                // RFC 2018 §3: 2 + 8n bytes; n <= 4 fits in 40 bytes.
                let n = body.len() / 8;
                if body.len() % 8 != 0 || !(1..=SackBlocks::MAX).contains(&n) {
                    return Err(bad_size);
                }
                let mut sack = SackBlocks::new();
                for block in body.chunks_exact(8) {
                    if let (Some(l), Some(r)) = (block.first_chunk::<4>(), block.last_chunk::<4>())
                    {
                        sack.push(
                            SeqNum(u32::from_be_bytes(*l)),
                            SeqNum(u32::from_be_bytes(*r)),
                        );
                    }
                }
                o.sack = sack;
            }
            // RFC 7413 §4.1.1. A cookie of odd length, or of a length
            // outside 4..=16 other than 0, is ignored (Linux).
            KIND_FO => {
                if let Some(fo) = fast_open(body, false) {
                    o.fast_open = Some(fo);
                }
            }
            // RFC 6994: an experimental option is Fast Open when its ExID
            // is 0xF989; any other is skipped, as an unknown option.
            KIND_EXP => {
                if let Some((magic, cookie)) = body.split_first_chunk::<2>()
                    && u16::from_be_bytes(*magic) == FastOpen::EXP_MAGIC
                    && let Some(fo) = fast_open(cookie, true)
                {
                    o.fast_open = Some(fo);
                }
            }
            // Unknown: skipped by its length (MUST-6).
            _ => {}
        }
    }
    Ok(o)
}

/// The Fast Open option's cookie bytes: a request when empty, a cookie
/// when valid, `None` (ignored) otherwise.
fn fast_open(cookie: &[u8], exp: bool) -> Option<FastOpen> {
    if cookie.is_empty() {
        Some(FastOpen::request(exp))
    } else {
        FastOpen::cookie(cookie, exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Flags, SackBlocks, Segment, Timestamps};
    use proptest::prelude::*;

    proptest! {
        /// `Segment::plain` (the connection's own parse of a header
        /// without options) is `Segment::new` of `parse`'s answer for
        /// every such header, and declines every other input.
        #[test]
        fn plain_is_parse_for_a_header_without_options(
            mut bytes in proptest::collection::vec(any::<u8>(), 0..80),
            offset in prop_oneof![3 => Just(5u8), 1 => 0u8..16],
        ) {
            if let Some(b) = bytes.get_mut(12) {
                *b = (offset << 4) | (*b & 0x0f);
            }
            let plain = Segment::plain(&bytes);
            match TcpHeader::parse(&bytes) {
                // A 20-byte header: data offset 5 (a longer one of only
                // NOPs parses to no options too, but is not plain).
                Ok((h, payload)) if bytes.len() - payload.len() == 20 => {
                    prop_assert_eq!(plain, Some(Segment::new(&h, payload)));
                }
                _ => prop_assert_eq!(plain, None),
            }
        }
    }

    /// `emit`'s path for a header whose only option is timestamps writes
    /// the bytes the general path writes (`NOP NOP TS`, RFC 7323 §3 and
    /// Appendix A), and `options_len` counts them; any other option
    /// beside the timestamps takes the general path.
    #[test]
    fn timestamps_alone_are_written_as_the_general_path_writes_them() {
        let mut h = TcpHeader {
            src_port: 80,
            dst_port: 5000,
            seq: SeqNum(0x0102_0304),
            ack: SeqNum(0xa0b0_c0d0),
            flags: Flags::ACK | Flags::PSH,
            window: 512,
            urgent: 0,
            options: TcpOptions::NONE,
        };
        h.options.timestamps = Some(Timestamps {
            val: 0xdead_beef,
            ecr: 0x0bad_f00d,
        });
        assert_eq!(h.options.only_timestamps(), h.options.timestamps);
        assert_eq!(h.header_len(), TcpHeader::TS_ONLY_LEN);
        let mut fast = [0x55u8; 64];
        let mut general = [0x55u8; 64];
        assert_eq!(h.emit(&mut fast), Ok(TcpHeader::TS_ONLY_LEN));
        assert_eq!(h.emit_general(&mut general), Ok(TcpHeader::TS_ONLY_LEN));
        assert_eq!(fast, general);
        assert_eq!(
            &fast[20..32],
            &[1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0x0b, 0xad, 0xf0, 0x0d]
        );
        assert_eq!(fast[12] >> 4, 8);
        assert_eq!(TcpHeader::parse(&fast[..32]).unwrap().0, h);
        assert_eq!(
            h.emit(&mut fast[..31]),
            Err(WireError::BufferTooSmall { need: 32, have: 31 })
        );
        // One more option: not timestamps alone.
        let mut with_sack = h;
        let mut sack = SackBlocks::new();
        sack.push(SeqNum(1), SeqNum(2));
        with_sack.options.sack = sack;
        let mut with_ws = h;
        with_ws.options.window_scale = Some(7);
        let mut with_perm = h;
        with_perm.options.sack_permitted = true;
        let mut with_mss = h;
        with_mss.options.mss = Some(1460);
        let mut with_fo = h;
        with_fo.options.fast_open = Some(FastOpen::request(false));
        for other in [with_sack, with_ws, with_perm, with_mss, with_fo] {
            assert_eq!(other.options.only_timestamps(), None, "{other:?}");
            let n = other.header_len();
            assert!(
                n > TcpHeader::TS_ONLY_LEN || other.options.sack_permitted,
                "{other:?}"
            );
            let mut b = [0u8; 64];
            assert_eq!(other.emit(&mut b), Ok(n));
            assert_eq!(TcpHeader::parse(&b[..n]).unwrap().0, other);
        }
        h.options.timestamps = None;
        assert_eq!(h.options.only_timestamps(), None);
    }

    /// `parse_options`' path for `NOP NOP TS` alone gives what the general
    /// loop gives for the same timestamps laid out otherwise, and any
    /// other 12-byte area goes through the loop (its errors included).
    #[test]
    fn nop_nop_ts_parses_as_the_general_loop_parses_it() {
        let ts = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut fast = vec![KIND_NOP, KIND_NOP, KIND_TS, 10];
        fast.extend_from_slice(&ts);
        // The same option, NOPs after it (the loop's path).
        let mut slow = vec![KIND_TS, 10];
        slow.extend_from_slice(&ts);
        slow.extend_from_slice(&[KIND_NOP, KIND_NOP]);
        let want = TcpOptions {
            timestamps: Some(Timestamps {
                val: 0x0102_0304,
                ecr: 0x0506_0708,
            }),
            ..TcpOptions::NONE
        };
        assert_eq!(parse_options(&fast), Ok(want));
        assert_eq!(parse_options(&slow), Ok(want));
        // A wrong length byte in the same place is an error, as ever.
        let mut bad = fast.clone();
        bad[3] = 9;
        assert_eq!(
            parse_options(&bad),
            Err(WireError::BadOptionSize {
                kind: KIND_TS,
                len: 9
            })
        );
        // Another kind in the same place is not timestamps.
        let mut other = fast.clone();
        other[2] = 99;
        assert_eq!(parse_options(&other), Ok(TcpOptions::NONE));
        // Longer than 12 bytes: the loop, with what follows.
        let mut longer = fast.clone();
        longer.extend_from_slice(&[KIND_NOP, KIND_WS, 3, 7]);
        let mut with_ws = want;
        with_ws.window_scale = Some(7);
        assert_eq!(parse_options(&longer), Ok(with_ws));
    }
}
