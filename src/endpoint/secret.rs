//! Everything keyed by the host's secret: the hash of the demux table,
//! initial sequence numbers (RFC 6528), the timestamp offset (RFC 7323
//! §5.4), ephemeral port offsets (RFC 6056 §3.3.3) and SYN cookies
//! (RFC 4987 §3.6). All are SipHash (Aumasson and Bernstein): a keyed
//! PRF, so a remote peer who does not know the key can neither predict an
//! ISN nor force hash-table collisions.
//!
//! Sub-keys are derived from the one 16-byte secret with SipHash-2-4 over
//! a label, so that no two uses share a key.

use core::hash::Hasher;
use core::net::IpAddr;
use siphasher::sip::{SipHasher13, SipHasher24};

use super::Tuple;
use crate::seq::SeqNum;
use crate::time::Instant;

/// SYN cookie MSS table (Linux `msstab` for IPv4).
pub(crate) const COOKIE_MSS: [u16; 4] = [536, 1300, 1440, 1460];
/// The cookie time counter period (Linux: 64 s).
const COOKIE_PERIOD_US: u64 = 64_000_000;
/// Cookie layout: 5 bits counter, 2 bits MSS index, 25 bits MAC.
const MAC_BITS: u32 = 25;

#[derive(Clone, Copy)]
pub(crate) struct Keys {
    table: (u64, u64),
    isn: (u64, u64),
    ts: (u64, u64),
    port: (u64, u64),
    cookie: (u64, u64),
}

impl core::fmt::Debug for Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn write_ip(h: &mut impl Hasher, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            h.write_u8(4);
            h.write(&a.octets());
        }
        IpAddr::V6(a) => {
            h.write_u8(6);
            h.write(&a.octets());
        }
    }
}

fn write_tuple(h: &mut impl Hasher, t: &Tuple) {
    write_ip(h, t.local_ip);
    write_ip(h, t.remote_ip);
    h.write_u16(t.local_port);
    h.write_u16(t.remote_port);
}

impl Keys {
    pub(crate) fn new(secret: [u8; 16]) -> Self {
        let derive = |label: &[u8]| {
            let mut a = SipHasher24::new_with_key(&secret);
            a.write(label);
            a.write_u8(0);
            let mut b = SipHasher24::new_with_key(&secret);
            b.write(label);
            b.write_u8(1);
            (a.finish(), b.finish())
        };
        Keys {
            table: derive(b"tcpstate table"),
            isn: derive(b"tcpstate isn"),
            ts: derive(b"tcpstate ts offset"),
            port: derive(b"tcpstate ports"),
            cookie: derive(b"tcpstate syn cookie"),
        }
    }

    /// The demux table's hash of a 4-tuple (SipHash-1-3 is enough here).
    ///
    /// The same bytes as [`write_tuple`] (a `Hasher`'s `write_u8` and
    /// `write_u16` hash the native-endian bytes), gathered first and
    /// given in one `write`: one pass instead of six short writes.
    pub(crate) fn table_hash(&self, t: &Tuple) -> u64 {
        let mut b = [0u8; 38];
        let mut n = 0;
        for ip in [t.local_ip, t.remote_ip] {
            match ip {
                IpAddr::V4(a) => {
                    b[n] = 4;
                    b[n + 1..n + 5].copy_from_slice(&a.octets());
                    n += 5;
                }
                IpAddr::V6(a) => {
                    b[n] = 6;
                    b[n + 1..n + 17].copy_from_slice(&a.octets());
                    n += 17;
                }
            }
        }
        b[n..n + 2].copy_from_slice(&t.local_port.to_ne_bytes());
        b[n + 2..n + 4].copy_from_slice(&t.remote_port.to_ne_bytes());
        let mut h = SipHasher13::new_with_keys(self.table.0, self.table.1);
        h.write(&b[..n + 4]);
        h.finish()
    }

    /// The listener table's hash of a local address and port.
    pub(crate) fn listen_hash(&self, ip: IpAddr, port: u16) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.table.0, self.table.1);
        write_ip(&mut h, ip);
        h.write_u16(port);
        h.finish()
    }

    /// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
    /// secretkey), with M a 4-microsecond timer and F SipHash-2-4.
    pub(crate) fn isn(&self, t: &Tuple, now: Instant) -> SeqNum {
        let mut h = SipHasher24::new_with_keys(self.isn.0, self.isn.1);
        write_tuple(&mut h, t);
        let m = (now.as_micros() / 4) as u32;
        SeqNum((h.finish() as u32).wrapping_add(m))
    }

    /// The timestamp clock offset of an address pair (RFC 7323 §5.4; Linux
    /// `secure_tcp_ts_off`): per pair rather than per connection, so TSvals
    /// keep growing across incarnations of a 4-tuple, as RFC 6191 needs.
    pub(crate) fn ts_offset(&self, local: IpAddr, remote: IpAddr) -> u32 {
        let mut h = SipHasher24::new_with_keys(self.ts.0, self.ts.1);
        write_ip(&mut h, local);
        write_ip(&mut h, remote);
        h.finish() as u32
    }

    /// F(local_IP, remote_IP, remote_port, secret_key) of RFC 6056
    /// Algorithm 3 ("simple hash-based").
    pub(crate) fn port_offset(&self, local: IpAddr, remote: IpAddr, remote_port: u16) -> u32 {
        let mut h = SipHasher24::new_with_keys(self.port.0, self.port.1);
        write_ip(&mut h, local);
        write_ip(&mut h, remote);
        h.write_u16(remote_port);
        h.finish() as u32
    }

    fn cookie_mac(&self, t: &Tuple, peer_isn: SeqNum, count: u64, mss_idx: u32) -> u32 {
        let mut h = SipHasher24::new_with_keys(self.cookie.0, self.cookie.1);
        write_tuple(&mut h, t);
        h.write_u32(peer_isn.0);
        h.write_u64(count);
        h.write_u32(mss_idx);
        (h.finish() as u32) & ((1 << MAC_BITS) - 1)
    }

    /// A SYN cookie (RFC 4987 §3.6): the top 5 bits are a 64-second time
    /// counter, the next 2 the index of the MSS in [`COOKIE_MSS`], the low 25
    /// a MAC of the 4-tuple, the peer's ISN, the counter and the index.
    pub(crate) fn cookie(&self, t: &Tuple, peer_isn: SeqNum, mss_idx: u32, now: Instant) -> SeqNum {
        let count = now.as_micros() / COOKIE_PERIOD_US;
        let mac = self.cookie_mac(t, peer_isn, count, mss_idx);
        SeqNum((((count & 31) as u32) << 27) | ((mss_idx & 3) << MAC_BITS) | mac)
    }

    /// Checks a returned cookie; gives the MSS index when it is valid and at
    /// most one period old (so a cookie lives 64 to 128 s, as Linux's).
    pub(crate) fn check_cookie(
        &self,
        t: &Tuple,
        peer_isn: SeqNum,
        cookie: SeqNum,
        now: Instant,
    ) -> Option<u32> {
        let count = now.as_micros() / COOKIE_PERIOD_US;
        let c = cookie.0;
        let idx = (c >> MAC_BITS) & 3;
        for k in [count, count.wrapping_sub(1)] {
            if (k & 31) as u32 == c >> 27
                && self.cookie_mac(t, peer_isn, k, idx) == c & ((1 << MAC_BITS) - 1)
            {
                return Some(idx);
            }
        }
        None
    }
}

/// The options a cookie keeps in the low 6 bits of TSval (Linux
/// `cookie_init_timestamp`): the peer's window-scale shift (15: none) and
/// SACK-permitted.
pub(crate) fn cookie_ts_bits(wscale: Option<u8>, sack: bool) -> u32 {
    u32::from(wscale.map_or(0xf, |w| w.min(14))) | (u32::from(sack) << 4)
}

/// A TSval at or below `ts_now` whose low 6 bits are `bits`.
pub(crate) fn cookie_tsval(ts_now: u32, bits: u32) -> u32 {
    let v = (ts_now & !63) | bits;
    if (v.wrapping_sub(ts_now) as i32) > 0 {
        v.wrapping_sub(64)
    } else {
        v
    }
}

/// Decodes [`cookie_ts_bits`].
pub(crate) fn cookie_ts_decode(tsecr: u32) -> (Option<u8>, bool) {
    let ws = (tsecr & 0xf) as u8;
    ((ws != 0xf).then_some(ws), tsecr & 0x10 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn table_hash_is_the_hash_of_write_tuple() {
        let keys = Keys::new([7; 16]);
        let v4 = |a: u8| IpAddr::V4(Ipv4Addr::new(192, 0, 2, a));
        let v6 = |a: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, a));
        for (local_ip, remote_ip) in [(v4(1), v4(2)), (v6(1), v6(2)), (v4(3), v6(4))] {
            for (local_port, remote_port) in [(80, 49152), (65535, 1), (0x1234, 0xabcd)] {
                let t = Tuple {
                    local_ip,
                    remote_ip,
                    local_port,
                    remote_port,
                };
                let mut h = SipHasher13::new_with_keys(keys.table.0, keys.table.1);
                write_tuple(&mut h, &t);
                assert_eq!(keys.table_hash(&t), h.finish(), "{t:?}");
            }
        }
    }
}
