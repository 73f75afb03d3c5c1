//! Everything keyed by the host's secret: the hash of the demux table,
//! initial sequence numbers (RFC 6528), the timestamp offset (RFC 7323
//! §5.4), ephemeral port offsets (RFC 6056 §3.3.3) and SYN cookies
//! (RFC 4987 §3.6). All but one are SipHash (Aumasson and Bernstein): a
//! keyed PRF, so a remote peer who does not know the key can neither
//! predict an ISN nor forge a cookie. The demux hash of IPv4 tuples, run
//! on every segment, is a cheaper keyed hash ([`fold_hash`]), as Linux's
//! established table uses a keyed jhash: without the key a peer cannot aim
//! its tuples at one bucket.
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
const COOKIE_MSS_V4: [u16; 4] = [536, 1300, 1440, 1460];
/// SYN cookie MSS table for IPv6 (Linux's IPv6 `msstab`: MTUs of 1280,
/// the IPv6 minimum (RFC 8200 §5), 1480, 1500 and 9000, less 60 bytes of
/// IPv6 and TCP headers).
const COOKIE_MSS_V6: [u16; 4] = [1220, 1420, 1440, 8940];

/// The MSS table a SYN cookie's 2-bit index points into, by the
/// connection's address family.
pub(crate) fn cookie_mss_table(ip: IpAddr) -> &'static [u16; 4] {
    if ip.is_ipv6() {
        &COOKIE_MSS_V6
    } else {
        &COOKIE_MSS_V4
    }
}
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
    /// The demux table's IPv4 hash ([`fold_hash`]).
    fold: [u64; 4],
}

impl core::fmt::Debug for Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// The bytes a keyed hash runs over, gathered first so that SipHash runs
/// in one pass. The encoding is that of a `Hasher`'s `write_u8`, `write`
/// and `write_u16`/`u32`/`u64` (native-endian), which the tests check.
struct Msg {
    b: [u8; 64],
    n: usize,
}

impl Msg {
    fn new() -> Self {
        Msg { b: [0; 64], n: 0 }
    }
    // The builders take and return `&mut Self` and are inlined: the
    // 72-byte message stays in one place instead of moving through each
    // call (an ISN's message took as many instructions to gather as
    // SipHash-2-4 took to hash it).
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.b[self.n..self.n + bytes.len()].copy_from_slice(bytes);
        self.n += bytes.len();
        self
    }
    /// The family (4 or 6), then the address.
    #[inline(always)]
    fn ip(&mut self, ip: IpAddr) -> &mut Self {
        match ip {
            IpAddr::V4(a) => self.put(&[4]).put(&a.octets()),
            IpAddr::V6(a) => self.put(&[6]).put(&a.octets()),
        }
    }
    #[inline(always)]
    fn tuple(&mut self, t: &Tuple) -> &mut Self {
        self.ip(t.local_ip)
            .ip(t.remote_ip)
            .put(&t.local_port.to_ne_bytes())
            .put(&t.remote_port.to_ne_bytes())
    }
    /// SipHash-1-3 of the bytes (the demux and listener tables).
    fn sip13(&self, key: (u64, u64)) -> u64 {
        SipHasher13::new_with_keys(key.0, key.1).hash(&self.b[..self.n])
    }
    /// SipHash-2-4 of the bytes (ISNs, offsets, cookies).
    fn sip24(&self, key: (u64, u64)) -> u64 {
        SipHasher24::new_with_keys(key.0, key.1).hash(&self.b[..self.n])
    }
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
            fold: {
                let (a, b) = derive(b"tcpstate demux fold 0");
                let (c, d) = derive(b"tcpstate demux fold 1");
                [a, b, c, d]
            },
        }
    }

    /// The tag an Endpoint puts in its handles, so that a handle from
    /// another Endpoint is refused: keyed by the secret, and mixed with a
    /// per-process count where the target has atomics (two Endpoints with
    /// the same secret then differ too).
    pub(crate) fn endpoint_tag(&self) -> u32 {
        #[cfg(target_has_atomic = "32")]
        let n = {
            static COUNT: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
            COUNT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
        };
        #[cfg(not(target_has_atomic = "32"))]
        let n = 0u32;
        let h = Msg::new().put(b"tcpstate endpoint tag").sip13(self.table);
        (h as u32) ^ n.wrapping_mul(0x9e37_79b9)
    }

    /// The demux table's hash of a 4-tuple. IPv4 (every segment of an
    /// IPv4 host): [`fold_hash`] of the addresses and ports, a keyed hash
    /// as Linux's established table uses (`inet_ehashfn`: jhash with a
    /// boot-time secret), about a fifth of SipHash's cost. IPv6: SipHash-1-3
    /// of the [`Msg`] bytes of the tuple.
    pub(crate) fn table_hash(&self, t: &Tuple) -> u64 {
        if let (IpAddr::V4(l), IpAddr::V4(r)) = (t.local_ip, t.remote_ip) {
            let a = (u64::from(u32::from(l)) << 32) | u64::from(u32::from(r));
            let b = (u64::from(t.local_port) << 16) | u64::from(t.remote_port);
            return fold_hash(self.fold, a, b);
        }
        Msg::new().tuple(t).sip13(self.table)
    }

    /// The listener table's hash of a local address and port: for IPv4
    /// (every SYN to an IPv4 listener looks one up), [`fold_hash`] of the
    /// address and port, as [`table_hash`](Self::table_hash) hashes an
    /// IPv4 4-tuple; IPv6: SipHash-1-3 of the [`Msg`] bytes.
    pub(crate) fn listen_hash(&self, ip: IpAddr, port: u16) -> u64 {
        if let IpAddr::V4(a) = ip {
            return fold_hash(self.fold, u64::from(u32::from(a)), u64::from(port));
        }
        Msg::new().ip(ip).put(&port.to_ne_bytes()).sip13(self.table)
    }

    /// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport,
    /// secretkey), with M a 4-microsecond timer and F SipHash-2-4.
    pub(crate) fn isn(&self, t: &Tuple, now: Instant) -> SeqNum {
        let f = Msg::new().tuple(t).sip24(self.isn);
        let m = (now.as_micros() / 4) as u32;
        SeqNum((f as u32).wrapping_add(m))
    }

    /// The timestamp clock offset of an address pair (RFC 7323 §5.4; Linux
    /// `secure_tcp_ts_off`): per pair rather than per connection, so TSvals
    /// keep growing across incarnations of a 4-tuple, as RFC 6191 needs.
    pub(crate) fn ts_offset(&self, local: IpAddr, remote: IpAddr) -> u32 {
        Msg::new().ip(local).ip(remote).sip24(self.ts) as u32
    }

    /// F(local_IP, remote_IP, remote_port, secret_key) of RFC 6056
    /// Algorithm 3 ("simple hash-based").
    pub(crate) fn port_offset(&self, local: IpAddr, remote: IpAddr, remote_port: u16) -> u32 {
        Msg::new()
            .ip(local)
            .ip(remote)
            .put(&remote_port.to_ne_bytes())
            .sip24(self.port) as u32
    }

    fn cookie_mac(&self, t: &Tuple, peer_isn: SeqNum, count: u64, mss_idx: u32) -> u32 {
        let h = Msg::new()
            .tuple(t)
            .put(&peer_isn.0.to_ne_bytes())
            .put(&count.to_ne_bytes())
            .put(&mss_idx.to_ne_bytes())
            .sip24(self.cookie);
        (h as u32) & ((1 << MAC_BITS) - 1)
    }

    /// A SYN cookie (RFC 4987 §3.6): the top 5 bits are a 64-second time
    /// counter, the next 2 the index of the MSS in [`cookie_mss_table`], the low 25
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

/// The 128-bit product of `a` and `b`, its halves xored (the "folded
/// multiply" of foldhash and wyhash).
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A keyed hash of two words: a folded multiply of the words each xored
/// with a key word, then another with the rest of the key, which spreads
/// every input bit over the output (foldhash's construction, with a
/// 256-bit key from the host's secret). Not a PRF like SipHash: its
/// defence, as for Linux's keyed jhash, is that the key is secret, so a
/// peer cannot choose 4-tuples that land in one bucket.
#[inline(always)]
fn fold_hash(k: [u64; 4], a: u64, b: u64) -> u64 {
    fold_mul(fold_mul(a ^ k[0], b ^ k[1]) ^ k[2], k[3])
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
    use siphasher::sip::SipHasher13;

    /// The reference encoding: what the hashes were defined over when they
    /// were streamed into siphasher.
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

    /// Endpoints made with one secret (a host that restarts its stack, or
    /// runs several) still tag their handles differently, so that each
    /// refuses the others' handles: 20,000 tags of one secret are all
    /// different. (The keyed part of this secret's tags has 8 to 24 bits
    /// set, so that a tag that kept only the count's bits where the keyed
    /// part has ones, or zeros, would repeat among 20,000.)
    #[test]
    fn endpoint_tags_of_one_secret_are_all_different() {
        let keys = Keys::new([3; 16]);
        let h = SipHasher13::new_with_keys(keys.table.0, keys.table.1)
            .hash(b"tcpstate endpoint tag") as u32;
        assert!((8..=24).contains(&h.count_ones()), "{h:#x}");
        let mut tags: std::vec::Vec<u32> = (0..20_000).map(|_| keys.endpoint_tag()).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), 20_000);
    }

    /// A SYN cookie keeps the index of the peer's MSS in the table, every
    /// one of the four: the cookie checks and gives it back, within the
    /// next period too, and not after, nor for another tuple or ISN.
    #[test]
    fn syn_cookies_give_back_every_mss_index() {
        let keys = Keys::new([11; 16]);
        let t = Tuple {
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            remote_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
            local_port: 80,
            remote_port: 40_000,
        };
        let other = Tuple {
            remote_port: 40_001,
            ..t
        };
        let isn = SeqNum(0x1234_5678);
        let now = Instant::from_micros(3 * COOKIE_PERIOD_US + 5);
        let next = Instant::from_micros(4 * COOKIE_PERIOD_US + 5);
        let late = Instant::from_micros(5 * COOKIE_PERIOD_US + 5);
        for idx in 0..4 {
            let c = keys.cookie(&t, isn, idx, now);
            assert_eq!(keys.check_cookie(&t, isn, c, now), Some(idx), "{idx}");
            assert_eq!(keys.check_cookie(&t, isn, c, next), Some(idx), "{idx}");
            assert_eq!(keys.check_cookie(&t, isn, c, late), None, "{idx}");
            assert_eq!(keys.check_cookie(&other, isn, c, now), None, "{idx}");
            assert_eq!(keys.check_cookie(&t, SeqNum(isn.0 + 1), c, now), None);
        }
    }

    /// The keys' `Debug`, for whoever prints them while debugging, shows
    /// neither the host's secret nor a key derived from it.
    #[test]
    fn debug_shows_no_key() {
        assert_eq!(std::format!("{:?}", Keys::new([0x5a; 16])), "Keys(..)");
    }

    /// IPv6 tuples (and listeners) are hashed with SipHash-1-3 of the
    /// reference encoding; IPv4 tuples (and listeners) with `fold_hash` of
    /// the addresses and ports.
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
                let want = if let (IpAddr::V4(l), IpAddr::V4(r)) = (local_ip, remote_ip) {
                    let a = u64::from(u32::from(l)) << 32 | u64::from(u32::from(r));
                    fold_hash(
                        keys.fold,
                        a,
                        u64::from(local_port) << 16 | u64::from(remote_port),
                    )
                } else {
                    let mut h = SipHasher13::new_with_keys(keys.table.0, keys.table.1);
                    write_tuple(&mut h, &t);
                    h.finish()
                };
                assert_eq!(keys.table_hash(&t), want, "{t:?}");
            }
            let want = if let IpAddr::V4(l) = local_ip {
                fold_hash(keys.fold, u64::from(u32::from(l)), 8080)
            } else {
                let mut h = SipHasher13::new_with_keys(keys.table.0, keys.table.1);
                write_ip(&mut h, local_ip);
                h.write_u16(8080);
                h.finish()
            };
            assert_eq!(keys.listen_hash(local_ip, 8080), want);
        }
    }

    /// The IPv4 demux hash depends on the secret and on every bit of the
    /// tuple, and spreads tuples that differ in a few bits (one client's
    /// ports, one subnet's addresses) evenly over the buckets.
    #[test]
    fn fold_hash_is_keyed_and_spreads_close_tuples() {
        let t = |r: u32, rp: u16| Tuple {
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            remote_ip: IpAddr::V4(Ipv4Addr::from(r)),
            local_port: 443,
            remote_port: rp,
        };
        let (k1, k2) = (Keys::new([1; 16]), Keys::new([2; 16]));
        let base = t(0xc633_6401, 50_000);
        assert_ne!(k1.table_hash(&base), k2.table_hash(&base));
        let h = k1.table_hash(&base);
        for bit in 0..32 {
            let r = t(0xc633_6401 ^ (1 << bit), 50_000);
            assert_ne!(k1.table_hash(&r), h, "remote address bit {bit}");
            // About half the output bits change.
            let d = (k1.table_hash(&r) ^ h).count_ones();
            assert!((12..=52).contains(&d), "address bit {bit}: {d} bits");
        }
        for bit in 0..16 {
            let p = t(0xc633_6401, 50_000 ^ (1 << bit));
            let d = (k1.table_hash(&p) ^ h).count_ones();
            assert!((12..=52).contains(&d), "port bit {bit}: {d} bits");
        }
        // 65,536 tuples of one /24 and 256 ports into 4,096 buckets (low
        // bits, as the tables index) load them as a random function would:
        // chi-square within six standard deviations (4095 degrees of
        // freedom: mean 4095, sd 90.5), no bucket at three times the mean.
        for k in [&k1, &k2] {
            let mut load = std::vec![0u32; 4096];
            for host in 0..256u32 {
                for port in 0..256u16 {
                    let h = k.table_hash(&t(0xc633_6400 | host, 40_000 + port));
                    load[(h & 4095) as usize] += 1;
                }
            }
            let chi2: f64 = load
                .iter()
                .map(|&x| (f64::from(x) - 16.0).powi(2) / 16.0)
                .sum();
            assert!(chi2 < 4095.0 + 6.0 * 90.5, "chi-square {chi2}");
            let max = load.iter().copied().max().unwrap_or(0);
            assert!(max < 48, "a bucket got {max} of 65536 (mean 16)");
        }
    }

    /// The IPv4 demux hash keeps the whole tuple: a million tuples (one
    /// server, 256 client addresses of 4,096 ports each) have a million
    /// different 64-bit hashes. (A hash that lost half its bits to a
    /// constant between its two multiplies would repeat about a hundred
    /// times.)
    #[test]
    fn fold_hash_gives_a_million_tuples_a_million_hashes() {
        let keys = Keys::new([5; 16]);
        let mut all: std::vec::Vec<u64> = (0..1u32 << 20)
            .map(|i| {
                keys.table_hash(&Tuple {
                    local_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                    remote_ip: IpAddr::V4(Ipv4Addr::from(0xc633_6400 | (i >> 12))),
                    local_port: 443,
                    remote_port: 30_000 + (i & 4095) as u16,
                })
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 1 << 20);
    }

    /// The one-pass hashes give the values the streamed SipHash-2-4 gave:
    /// ISNs, timestamp offsets, port offsets and cookies are unchanged.
    #[test]
    fn keyed_values_are_the_streamed_siphash_2_4() {
        let keys = Keys::new([9; 16]);
        let v4 = |a: u8| IpAddr::V4(Ipv4Addr::new(198, 51, 100, a));
        let v6 = |a: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, a));
        let sip24 = |k: (u64, u64)| SipHasher24::new_with_keys(k.0, k.1);
        for (local_ip, remote_ip) in [(v4(1), v4(2)), (v6(1), v6(2)), (v6(3), v4(4))] {
            let t = Tuple {
                local_ip,
                remote_ip,
                local_port: 443,
                remote_port: 50_001,
            };
            let now = Instant::from_micros(123_456_789);
            let mut h = sip24(keys.isn);
            write_tuple(&mut h, &t);
            let m = (now.as_micros() / 4) as u32;
            assert_eq!(keys.isn(&t, now).0, (h.finish() as u32).wrapping_add(m));
            let mut h = sip24(keys.ts);
            write_ip(&mut h, local_ip);
            write_ip(&mut h, remote_ip);
            assert_eq!(keys.ts_offset(local_ip, remote_ip), h.finish() as u32);
            let mut h = sip24(keys.port);
            write_ip(&mut h, local_ip);
            write_ip(&mut h, remote_ip);
            h.write_u16(t.remote_port);
            assert_eq!(
                keys.port_offset(local_ip, remote_ip, t.remote_port),
                h.finish() as u32
            );
            let mut h = sip24(keys.cookie);
            write_tuple(&mut h, &t);
            h.write_u32(0xdead_beef);
            h.write_u64(77);
            h.write_u32(2);
            assert_eq!(
                keys.cookie_mac(&t, SeqNum(0xdead_beef), 77, 2),
                (h.finish() as u32) & ((1 << MAC_BITS) - 1)
            );
        }
    }
}
