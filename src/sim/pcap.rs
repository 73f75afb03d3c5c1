//! Writing captured segments as a classic pcap file (the libpcap format,
//! microsecond timestamps, `LINKTYPE_RAW` = 101: each record is an IPv4
//! packet), which tcpdump and Wireshark open.

use std::io::{self, Write};
use std::vec::Vec;

use crate::time::Instant;
use crate::wire::checksum;

/// `LINKTYPE_RAW`: records start with an IPv4 or IPv6 header.
pub const LINKTYPE_RAW: u32 = 101;

/// The IPv4 packet (RFC 791 header, no options) carrying `tcp`.
/// `ect` sets ECT(0) in the ECN field (RFC 3168).
pub fn ipv4_packet(src: [u8; 4], dst: [u8; 4], id: u16, ect: bool, tcp: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + tcp.len()).unwrap_or(u16::MAX);
    let mut p = Vec::with_capacity(20 + tcp.len());
    p.extend_from_slice(&[0x45, if ect { 0x02 } else { 0 }]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x40, 0x00, 64, 6, 0, 0]); // DF, TTL 64, TCP, checksum 0
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let sum = !checksum::fold(checksum::ones_complement_sum(&p, 0));
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(tcp);
    p
}

/// Writes the pcap global header.
pub fn write_header(w: &mut impl Write) -> io::Result<()> {
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?; // magic, microseconds
    w.write_all(&2u16.to_le_bytes())?; // version 2.4
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&0i32.to_le_bytes())?; // thiszone
    w.write_all(&0u32.to_le_bytes())?; // sigfigs
    w.write_all(&65_535u32.to_le_bytes())?; // snaplen
    w.write_all(&LINKTYPE_RAW.to_le_bytes())
}

/// Writes one record: `packet` captured at `t`.
pub fn write_record(w: &mut impl Write, t: Instant, packet: &[u8]) -> io::Result<()> {
    let us = t.as_micros();
    let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
    w.write_all(&((us / 1_000_000) as u32).to_le_bytes())?;
    w.write_all(&((us % 1_000_000) as u32).to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies_and_pcap_layout() {
        let p = ipv4_packet([192, 0, 2, 1], [192, 0, 2, 2], 7, true, &[0u8; 20]);
        assert_eq!(p.len(), 40);
        assert_eq!(
            checksum::fold(checksum::ones_complement_sum(&p[..20], 0)),
            0xffff
        );
        assert_eq!(p[1], 2);
        let mut out = Vec::new();
        write_header(&mut out).unwrap();
        write_record(&mut out, Instant::from_micros(1_500_000), &p).unwrap();
        assert_eq!(out.len(), 24 + 16 + 40);
        assert_eq!(&out[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(out[20..24].try_into().unwrap()), 101);
        assert_eq!(u32::from_le_bytes(out[24..28].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(out[28..32].try_into().unwrap()), 500_000);
    }
}
