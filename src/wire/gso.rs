//! Splitting a super-segment (segmentation offload done in software): what
//! a device or Linux's `tcp_gso_segment` does with a segment the engine
//! wrote by [`Connection::poll_transmit_gso`](crate::Connection::poll_transmit_gso)
//! or the Endpoint's [`Datagram::segment_size`](crate::Datagram::segment_size).
//! A host whose device cannot split, or that must impair or capture the
//! packets as the wire sees them, splits here.
//!
//! Each piece gets the super-segment's header with its own sequence
//! number, PSH and FIN only on the last piece, CWR only on the first (as
//! Linux), and a full checksum; everything else (ACK, window, options) is
//! the same in every piece.

use core::net::IpAddr;

use super::{Flags, WireError, checksum};

/// Splits `segment` (a TCP header and its payload, the checksum field in
/// any state) into pieces of at most `segment_size` payload bytes, for
/// the addresses `src` and `dst`, and hands each to `out`. `scratch` must
/// hold the header plus `segment_size` bytes. A `segment_size` of 0, or
/// a payload that fits one piece, gives the segment itself with its
/// checksum computed. Returns the number of pieces.
///
/// # Errors
///
/// The segment is too short or its data offset is bad
/// ([`WireError::TooShort`], [`WireError::BadDataOffset`]), or `scratch`
/// is too small ([`WireError::TooShort`] with the size needed).
pub fn split(
    segment: &[u8],
    segment_size: usize,
    src: IpAddr,
    dst: IpAddr,
    scratch: &mut [u8],
    mut out: impl FnMut(&[u8]),
) -> Result<usize, WireError> {
    if segment.len() < 20 {
        return Err(WireError::TooShort(segment.len()));
    }
    let offset = segment[12] >> 4;
    let hlen = usize::from(offset) * 4;
    if offset < 5 || hlen > segment.len() {
        return Err(WireError::BadDataOffset {
            offset,
            len: segment.len(),
        });
    }
    let payload = &segment[hlen..];
    let size = if segment_size == 0 {
        payload.len().max(1)
    } else {
        segment_size
    };
    let piece_max = hlen + size.min(payload.len());
    if scratch.len() < piece_max {
        return Err(WireError::TooShort(piece_max));
    }
    let seq0 = u32::from_be_bytes([segment[4], segment[5], segment[6], segment[7]]);
    let flags = Flags(segment[13]);
    let pieces = payload.len().div_ceil(size).max(1);
    for i in 0..pieces {
        let start = i * size;
        let chunk = &payload[start.min(payload.len())..(start + size).min(payload.len())];
        let len = hlen + chunk.len();
        let p = &mut scratch[..len];
        p[..hlen].copy_from_slice(&segment[..hlen]);
        p[hlen..].copy_from_slice(chunk);
        p[4..8].copy_from_slice(&seq0.wrapping_add(start as u32).to_be_bytes());
        let mut f = flags.0;
        if i + 1 < pieces {
            f &= !(Flags::PSH.0 | Flags::FIN.0);
        }
        if i > 0 {
            f &= !Flags::CWR.0;
        }
        p[13] = f;
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => checksum::fill_checksum_v4(s.octets(), d.octets(), p),
            (IpAddr::V6(s), IpAddr::V6(d)) => checksum::fill_checksum_v6(s.octets(), d.octets(), p),
            _ => p[16..18].fill(0),
        }
        out(p);
    }
    Ok(pieces)
}
