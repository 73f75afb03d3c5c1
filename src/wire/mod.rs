//! The wire format: TCP header and options (RFC 9293 §3.1, RFC 7323,
//! RFC 2018), and the Internet checksum with the IPv4 and IPv6
//! pseudo-headers (RFC 9293 §3.1, RFC 8200 §8.1).
//!
//! Panic contract: [`TcpHeader::parse`] accepts any byte slice and returns
//! either a header or a [`WireError`] that names the rule that failed. It
//! never panics, never allocates and never loops more than once per byte.

pub mod checksum;
pub mod gso;
mod tcp;
pub(crate) use tcp::FIXED_LEN;

use crate::seq::SeqNum;

/// The ECN field of an IP header (RFC 3168 §5): the two low bits of the
/// IPv4 TOS byte or the IPv6 traffic class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Ecn {
    /// Not ECN-capable transport (00).
    #[default]
    NotEct,
    /// ECN-capable transport, ECT(1) (01).
    Ect1,
    /// ECN-capable transport, ECT(0) (10): what TCP sends (RFC 3168 §6.1.1).
    Ect0,
    /// Congestion experienced (11).
    Ce,
}

impl Ecn {
    /// The codepoint in the two low bits of a TOS / traffic-class byte
    /// (the other bits are ignored).
    pub fn from_bits(tos: u8) -> Ecn {
        match tos & 3 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }
    /// The two bits to put in the TOS / traffic-class byte.
    pub fn bits(self) -> u8 {
        match self {
            Ecn::NotEct => 0,
            Ecn::Ect1 => 1,
            Ecn::Ect0 => 2,
            Ecn::Ce => 3,
        }
    }
    /// Whether a router marked congestion (RFC 3168 §5).
    pub fn is_ce(self) -> bool {
        self == Ecn::Ce
    }
}

/// TCP control bits (RFC 9293 §3.1, RFC 3168 §23.2 for ECE/CWR).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Flags(pub u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: Flags = Flags(0x40);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: Flags = Flags(0x80);
    /// No bits.
    pub const NONE: Flags = Flags(0);

    /// Whether every bit of `other` is set.
    #[inline]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether any bit of `other` is set.
    #[inline]
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }
    /// FIN set.
    #[inline]
    pub const fn fin(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// SYN set.
    #[inline]
    pub const fn syn(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// RST set.
    #[inline]
    pub const fn rst(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// PSH set.
    #[inline]
    pub const fn psh(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// ACK set.
    #[inline]
    pub const fn ack(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// URG set.
    #[inline]
    pub const fn urg(self) -> bool {
        self.0 & 0x20 != 0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl core::fmt::Debug for Flags {
    /// tcpdump's notation: `[S.]` is SYN+ACK, `[F.]` FIN+ACK, `[R]` RST.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[")?;
        for (bit, c) in [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::URG, 'U'),
            (Flags::ECE, 'E'),
            (Flags::CWR, 'W'),
            (Flags::ACK, '.'),
        ] {
            if self.contains(bit) {
                core::fmt::Write::write_char(f, c)?;
            }
        }
        f.write_str("]")
    }
}

/// Up to four SACK blocks (RFC 2018 §3; four fit with no timestamps, three
/// with). Each block is `[left, right)`.
///
/// Equality and hashing look only at the blocks held ([`as_slice`]), not at
/// stale entries left behind by [`truncate`] or an `Arbitrary` length above
/// four, so that `parse(emit(h)) == h` holds.
///
/// [`as_slice`]: SackBlocks::as_slice
/// [`truncate`]: SackBlocks::truncate
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SackBlocks {
    len: u8,
    blocks: [(SeqNum, SeqNum); 4],
}

impl SackBlocks {
    /// The most blocks one option can carry.
    pub const MAX: usize = 4;

    /// No blocks.
    pub const fn new() -> Self {
        SackBlocks {
            len: 0,
            blocks: [(SeqNum(0), SeqNum(0)); 4],
        }
    }
    /// Appends a block; returns false (and drops it) when four are held.
    pub fn push(&mut self, left: SeqNum, right: SeqNum) -> bool {
        let n = usize::from(self.len.min(4));
        if n >= Self::MAX {
            return false;
        }
        self.blocks[n] = (left, right);
        self.len += 1;
        true
    }
    /// The blocks held.
    pub fn as_slice(&self) -> &[(SeqNum, SeqNum)] {
        &self.blocks[..usize::from(self.len.min(4))]
    }
    /// Number of blocks.
    pub fn len(&self) -> usize {
        usize::from(self.len.min(4))
    }
    /// No blocks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Keeps only the first `n` blocks.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.len = n as u8;
        }
    }
}

impl PartialEq for SackBlocks {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl core::hash::Hash for SackBlocks {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

/// The TCP timestamps option (RFC 7323 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Timestamps {
    /// TSval: the sender's clock.
    pub val: u32,
    /// TSecr: the echoed TSval.
    pub ecr: u32,
}

/// The TCP Fast Open option (RFC 7413 §4.1.1): a cookie request (no
/// cookie) or a cookie of 4 to 16 bytes, an even number, in the option of
/// kind 34, or in the experimental form Linux still accepts and sends to
/// a server that answered it (kind 254 with the magic 0xF989, RFC 6994).
///
/// Linux's rules on parse (`tcp_parse_fastopen_option`): an option whose
/// cookie has an odd length, or a length outside 4..=16 other than 0, is
/// ignored as if it were absent. A value built with a longer or odd
/// length (only `Arbitrary` can) is taken as its first even number of
/// bytes, at most 16, and as a request below 4: equality, hashing and
/// emission all see that normal form, so that `parse(emit(h)) == h`.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FastOpen {
    exp: bool,
    len: u8,
    cookie: [u8; 16],
}

impl FastOpen {
    /// The shortest cookie (RFC 7413 §4.1.1).
    pub const MIN_COOKIE: usize = 4;
    /// The longest cookie (RFC 7413 §4.1.1).
    pub const MAX_COOKIE: usize = 16;
    /// The option kind (RFC 7413 §4.1.1).
    pub const KIND: u8 = 34;
    /// The experimental option kind (RFC 6994) ...
    pub const KIND_EXP: u8 = 254;
    /// ... and its ExID for Fast Open.
    pub const EXP_MAGIC: u16 = 0xF989;

    /// A cookie request: the option without a cookie (kind 34, or the
    /// experimental form when `exp`).
    pub const fn request(exp: bool) -> FastOpen {
        FastOpen {
            exp,
            len: 0,
            cookie: [0; 16],
        }
    }

    /// A cookie, if its length is valid (4 to 16 bytes, even).
    pub fn cookie(cookie: &[u8], exp: bool) -> Option<FastOpen> {
        let n = cookie.len();
        if !(Self::MIN_COOKIE..=Self::MAX_COOKIE).contains(&n) || n % 2 != 0 {
            return None;
        }
        let mut c = [0; 16];
        c.get_mut(..n)?.copy_from_slice(cookie);
        Some(FastOpen {
            exp,
            len: n as u8,
            cookie: c,
        })
    }

    /// The cookie's bytes (empty for a request).
    pub fn bytes(&self) -> &[u8] {
        let n = usize::from(self.len.min(16) & !1);
        let n = if n < Self::MIN_COOKIE { 0 } else { n };
        self.cookie.get(..n).unwrap_or(&[])
    }

    /// A cookie request (no cookie).
    pub fn is_request(&self) -> bool {
        self.bytes().is_empty()
    }

    /// The experimental form (kind 254, magic 0xF989).
    pub fn is_exp(&self) -> bool {
        self.exp
    }

    /// The same cookie (or request) in the other form.
    pub fn with_exp(mut self, exp: bool) -> FastOpen {
        self.exp = exp;
        self
    }

    /// The option's length on the wire with the NOPs Linux pads it with
    /// to a multiple of 4 (`tcp_options_write`).
    pub fn wire_len(&self) -> usize {
        let base = if self.exp { 4 } else { 2 };
        (base + self.bytes().len()).div_ceil(4) * 4
    }
}

impl PartialEq for FastOpen {
    fn eq(&self, other: &Self) -> bool {
        self.exp == other.exp && self.bytes() == other.bytes()
    }
}

impl Eq for FastOpen {}

impl core::hash::Hash for FastOpen {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.exp.hash(state);
        self.bytes().hash(state);
    }
}

/// The options the engine understands. Unknown options are skipped by
/// length on parse (RFC 9293 §3.1 MUST-6) and never emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct TcpOptions {
    /// Maximum segment size (kind 2, SYN only: MUST-65).
    pub mss: Option<u16>,
    /// Window scale shift (kind 3, SYN only). Parsed as sent; the engine
    /// clamps values above 14 (RFC 7323 §2.3).
    pub window_scale: Option<u8>,
    /// SACK-permitted (kind 4, SYN only).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5).
    pub sack: SackBlocks,
    /// Timestamps (kind 8).
    pub timestamps: Option<Timestamps>,
    /// TCP Fast Open (kind 34, or 254 with magic 0xF989; RFC 7413 §4.1.1).
    /// Parsed on any segment; the engine looks at it on SYNs only.
    pub fast_open: Option<FastOpen>,
}

impl TcpOptions {
    /// No options.
    pub const NONE: TcpOptions = TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack: SackBlocks::new(),
        timestamps: None,
        fast_open: None,
    };

    /// No option is present: a header with these options is 20 bytes long.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // `&`, not `&&`: six tests without a branch each (the common
        // answer, on every segment without options, needs all six).
        self.mss.is_none()
            & self.timestamps.is_none()
            & self.window_scale.is_none()
            & !self.sack_permitted
            & self.sack.is_empty()
            & self.fast_open.is_none()
    }

    /// The timestamps, when they are the only option (every data segment
    /// and ACK of a connection that negotiated them and has no SACK block
    /// to report): the header is then 32 bytes, `NOP NOP TS`.
    #[inline]
    pub(crate) fn only_timestamps(&self) -> Option<Timestamps> {
        let others_absent = self.mss.is_none()
            & self.window_scale.is_none()
            & !self.sack_permitted
            & self.sack.is_empty()
            & self.fast_open.is_none();
        if others_absent { self.timestamps } else { None }
    }
}

/// A TCP header with its options (RFC 9293 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// Window field, unscaled as on the wire (MUST-1: unsigned).
    pub window: u16,
    /// Urgent pointer (meaningful when URG is set).
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
}

/// Why a segment could not be parsed or emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than 20 bytes.
    #[error("segment shorter than the 20-byte TCP header ({0} bytes)")]
    TooShort(usize),
    /// Data offset below 5 words or past the end of the segment.
    #[error("bad data offset {offset} words for a {len}-byte segment")]
    BadDataOffset {
        /// The data offset field, in 32-bit words.
        offset: u8,
        /// The segment length in bytes.
        len: usize,
    },
    /// An option whose length byte is 0 or 1, or runs past the header
    /// (RFC 9293 §3.1 MUST-7).
    #[error("option kind {kind} has a bad length {len}")]
    BadOptionLength {
        /// The option kind.
        kind: u8,
        /// The length byte (or 0 when it is missing).
        len: u8,
    },
    /// A known option with the wrong fixed length (MSS not 4, WS not 3,
    /// SACK-permitted not 2, timestamps not 10, SACK not 2+8n).
    #[error("option kind {kind} must not have length {len}")]
    BadOptionSize {
        /// The option kind.
        kind: u8,
        /// The length byte.
        len: u8,
    },
    /// The checksum does not verify (RFC 9293 §3.1 MUST-3).
    #[error("bad checksum")]
    BadChecksum,
    /// The output buffer is too small for what is to be emitted.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The options to emit do not fit in 40 bytes.
    #[error("options need {0} bytes, more than the 40 a header can carry")]
    OptionsTooLong(usize),
}

/// A segment as the [`Connection`](crate::Connection) consumes it: the
/// header fields that matter to one connection, and the payload. Ports and
/// addresses have already been used to find the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number.
    pub ack: SeqNum,
    /// Control bits.
    pub flags: Flags,
    /// Window field, unscaled.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
    /// The data.
    pub payload: &'a [u8],
}

impl<'a> Segment<'a> {
    /// The segment carried by a parsed header and its payload.
    pub fn new(header: &TcpHeader, payload: &'a [u8]) -> Self {
        Segment {
            seq: header.seq,
            ack: header.ack,
            flags: header.flags,
            window: header.window,
            urgent: header.urgent,
            options: header.options,
            payload,
        }
    }

    /// The segment in `bytes` (TCP header and payload) when its header is
    /// the fixed 20 bytes, without options: what
    /// `Segment::new` of [`TcpHeader::parse`]'s answer gives for it, in a
    /// few loads (no [`TcpOptions`] parsed or copied). `None` for a header
    /// with options, and for anything `parse` rejects.
    #[inline(always)]
    pub(crate) fn plain(bytes: &'a [u8]) -> Option<Segment<'a>> {
        let (fixed, payload) = bytes.split_first_chunk::<20>()?;
        // Data offset 5: the header ends where the fixed part does.
        if fixed[12] >> 4 != 5 {
            return None;
        }
        let be16 = |a: u8, b: u8| u16::from_be_bytes([a, b]);
        Some(Segment {
            seq: SeqNum(u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]])),
            ack: SeqNum(u32::from_be_bytes([
                fixed[8], fixed[9], fixed[10], fixed[11],
            ])),
            flags: Flags(fixed[13]),
            window: be16(fixed[14], fixed[15]),
            urgent: be16(fixed[18], fixed[19]),
            options: TcpOptions::NONE,
            payload,
        })
    }

    /// SEG.LEN: payload octets plus one for SYN and one for FIN (RFC 9293 §3.4).
    pub fn seg_len(&self) -> u32 {
        // A payload longer than 4 GiB cannot arrive in one IP datagram; clamp
        // rather than wrap so that hostile callers cannot confuse the engine.
        let n = u32::try_from(self.payload.len()).unwrap_or(u32::MAX - 2);
        n + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
}
