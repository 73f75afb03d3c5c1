//! TCP Fast Open for the whole host (RFC 7413): the settings, the server's
//! cookies and the client's cookie cache.
//!
//! - **Server cookies** (RFC 7413 §4.1.2): as Linux computes them
//!   (`__tcp_fastopen_cookie_gen_cipher`): SipHash-2-4 of the client's and
//!   the server's IP addresses, in that order, keyed by a 16-byte key,
//!   written as 8 little-endian bytes. The key is derived from the
//!   Endpoint's secret unless the host sets one
//!   ([`Endpoint::set_fast_open_key`], Linux's `net.ipv4.tcp_fastopen_key`;
//!   [`Endpoint::set_listener_fast_open_key`], Linux's `TCP_FASTOPEN_KEY`),
//!   so that a host given Linux's key answers with Linux's cookies. A
//!   backup key is accepted too (key rotation, RFC 7413 §4.1.2), and a
//!   client that used it gets a cookie of the primary key.
//! - **The client's cache** (RFC 7413 §4.1.1): per pair of local and
//!   remote addresses, the last valid cookie, the server's MSS and whether
//!   to ask in the experimental form (Linux's `tcp_fastopen_cache_set`
//!   rules: a server that answered neither form is asked in the other
//!   form once, then in the RFC form for good). Bounded: at most
//!   [`EndpointConfig::fast_open_cache`](super::EndpointConfig::fast_open_cache)
//!   entries (and the store's capacity); the least recently used goes.

use core::hash::Hasher;
use core::net::IpAddr;
use siphasher::sip::SipHasher24;

use super::store::{Fifo, Seq, Store};
use super::{ConnectOptions, Endpoint, EndpointError, Event, Handle, ListenerId, Queue, Tuple, fo};
use crate::state::State;
use crate::time::Instant;
use crate::wire::FastOpen;
use crate::wire::Segment;
use core::net::SocketAddr;

/// TCP Fast Open settings, as the bits of Linux's `net.ipv4.tcp_fastopen`.
///
/// Linux's default (`1`) is [`FastOpenConfig::CLIENT`]: applications may
/// open connections with Fast Open, and listeners take Fast Open only
/// when the server is on and they ask for it
/// ([`ListenOptions::fast_open`](super::ListenOptions::fast_open), Linux's
/// `TCP_FASTOPEN` socket option). RFC 7413 is experimental:
/// [`EndpointConfig::rfc9293`](super::EndpointConfig::rfc9293) has it all
/// off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FastOpenConfig {
    /// Active opens may use Fast Open (`0x1`): a cookie request, or data
    /// on the SYN with a cached cookie. Without it a Fast Open connect is
    /// refused (`EOPNOTSUPP`).
    pub client: bool,
    /// Listeners that ask for it take data on SYNs with a valid cookie and
    /// answer cookie requests (`0x2`).
    pub server: bool,
    /// Clients send data on the SYN without a cookie, and without the
    /// option (`0x4`).
    pub client_no_cookie: bool,
    /// Listeners take data on the SYN without a cookie (`0x200`).
    pub server_no_cookie: bool,
    /// Every listener takes Fast Open without asking, its queue as long
    /// as its backlog (`0x400`).
    pub server_all_listeners: bool,
}

impl FastOpenConfig {
    /// All off.
    pub const OFF: FastOpenConfig = FastOpenConfig {
        client: false,
        server: false,
        client_no_cookie: false,
        server_no_cookie: false,
        server_all_listeners: false,
    };
    /// The client side only (Linux's default, `tcp_fastopen=1`).
    pub const CLIENT: FastOpenConfig = FastOpenConfig {
        client: true,
        ..FastOpenConfig::OFF
    };

    /// The settings of Linux's `net.ipv4.tcp_fastopen` value (other bits
    /// are ignored).
    pub fn from_linux(bits: u32) -> FastOpenConfig {
        FastOpenConfig {
            client: bits & 0x1 != 0,
            server: bits & 0x2 != 0,
            client_no_cookie: bits & 0x4 != 0,
            server_no_cookie: bits & 0x200 != 0,
            server_all_listeners: bits & 0x400 != 0,
        }
    }

    /// Linux's `net.ipv4.tcp_fastopen` value for these settings.
    pub fn linux_bits(&self) -> u32 {
        u32::from(self.client)
            | (u32::from(self.server) << 1)
            | (u32::from(self.client_no_cookie) << 2)
            | (u32::from(self.server_no_cookie) << 9)
            | (u32::from(self.server_all_listeners) << 10)
    }
}

/// The server cookie Linux gives `client` for `server` under `key`
/// (`__tcp_fastopen_cookie_gen_cipher`): SipHash-2-4 over the two
/// addresses (4 or 16 bytes each), the key read as two little-endian
/// 64-bit words, the result as 8 little-endian bytes. Addresses of two
/// families have no cookie.
pub(crate) fn server_cookie(key: &[u8; 16], client: IpAddr, server: IpAddr) -> Option<[u8; 8]> {
    let (k0, k1) = key.split_at(8);
    let word = |b: &[u8]| b.try_into().map(u64::from_le_bytes).unwrap_or(0);
    let mut h = SipHasher24::new_with_keys(word(k0), word(k1));
    match (client, server) {
        (IpAddr::V4(c), IpAddr::V4(s)) => {
            h.write(&c.octets());
            h.write(&s.octets());
        }
        (IpAddr::V6(c), IpAddr::V6(s)) => {
            h.write(&c.octets());
            h.write(&s.octets());
        }
        _ => return None,
    }
    Some(h.finish().to_le_bytes())
}

/// The Fast Open state the client keeps for one pair of addresses
/// (Linux's `tcp_fastopen_metrics`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheEntry {
    pub(crate) local: IpAddr,
    pub(crate) remote: IpAddr,
    /// The last valid cookie (in the form it came in).
    pub(crate) cookie: Option<FastOpen>,
    /// The server's MSS from its last SYN,ACK (0: none yet).
    pub(crate) mss: u16,
    /// 1: ask in the experimental form next; 2: that got no answer
    /// either, ask in the RFC form for good (Linux `try_exp`).
    pub(crate) try_exp: u8,
    /// For eviction: the most recently used has the highest.
    pub(crate) stamp: u32,
}

/// What a SYN,ACK told a Fast Open client (Linux
/// `tcp_rcv_fastopen_synack`).
pub(crate) struct SynAckNews {
    /// The MSS option, if any.
    pub(crate) mss: Option<u16>,
    /// A valid cookie, if any.
    pub(crate) cookie: Option<FastOpen>,
    /// Our SYN carried the option ...
    pub(crate) sent_option: bool,
    /// ... in the experimental form.
    pub(crate) sent_exp: bool,
    /// Our SYN carried data.
    pub(crate) sent_data: bool,
    /// The SYN was retransmitted.
    pub(crate) retransmitted: bool,
}

impl CacheEntry {
    /// Linux's `tcp_fastopen_cache_set` for what a SYN,ACK told.
    pub(crate) fn learn(&mut self, n: &SynAckNews) {
        // An unsolicited cookie is ignored.
        let cookie = n.cookie.filter(|_| n.sent_option);
        let try_exp = if !n.sent_option || n.retransmitted || cookie.is_some() || n.sent_data {
            0
        } else if n.sent_exp {
            // Neither form was answered: the RFC form from now on.
            2
        } else {
            // The RFC form got no answer: try the experimental one.
            1
        };
        if let Some(m) = n.mss.filter(|&m| m > 0) {
            self.mss = m;
        }
        if let Some(c) = cookie {
            self.cookie = Some(c);
        } else if try_exp > self.try_exp && self.cookie.is_none() {
            self.try_exp = try_exp;
        }
    }

    /// The option the next SYN carries (Linux `tcp_fastopen_cache_get`):
    /// the cookie, or a request in the form to try.
    pub(crate) fn option(&self) -> FastOpen {
        self.cookie.unwrap_or(FastOpen::request(self.try_exp == 1))
    }
}

/// The server key an Endpoint starts with: derived from its secret (with
/// SipHash-2-4 over a label, as its other keys), so that its cookies are
/// unpredictable without it.
pub(crate) fn default_key(secret: &[u8; 16]) -> [u8; 16] {
    let half = |i: u8| {
        let mut h = SipHasher24::new_with_key(secret);
        h.write(b"tcpstate fast open");
        h.write_u8(i);
        h.finish().to_le_bytes()
    };
    let mut k = [0; 16];
    k[..8].copy_from_slice(&half(0));
    k[8..].copy_from_slice(&half(1));
    k
}

// ----- the Endpoint's side ---------------------------------------------------

/// Option room Linux keeps free on a SYN with data (`MAX_TCP_OPTION_SPACE`):
/// the SYN's data is the MSS less this.
const SYN_OPTION_ROOM: u16 = 40;

impl<S: Store> Endpoint<S> {
    /// [`connect_with`](Self::connect_with) and [`send`](Self::send) in one
    /// call, as Linux's `sendto(MSG_FASTOPEN)` on a non-blocking socket
    /// (RFC 7413 §4.1.2): with a cookie cached for `remote`, the SYN
    /// carries it and the first bytes of `data` (at most
    /// [`fast_open_room`](Self::fast_open_room)); returns the handle and
    /// how many bytes were taken. Without a cookie the SYN asks for one
    /// and no byte is taken (Linux's `EINPROGRESS`): send the data once
    /// the connection is up. `opts.fast_open` is taken as set.
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub fn connect_with_data(
        &mut self,
        now: Instant,
        local: Option<SocketAddr>,
        remote: SocketAddr,
        opts: ConnectOptions,
        data: &[u8],
    ) -> Result<(Handle, usize), EndpointError> {
        let opts = ConnectOptions {
            fast_open: true,
            ..opts
        };
        let h = self.connect_with(now, local, remote, opts)?;
        let room = self.fast_open_room(h).unwrap_or(0).min(data.len());
        let n = if room > 0 {
            self.send(now, h, &data[..room])?
        } else {
            0
        };
        Ok((h, n))
    }

    /// How many more bytes the SYN of a Fast Open connection may carry:
    /// `Some(n)` while its SYN has not gone out (0 when it asks for a
    /// cookie), `None` otherwise.
    pub fn fast_open_room(&self, h: Handle) -> Option<usize> {
        self.entry(h)?.conn.fast_open_room()
    }

    /// Changes the Fast Open settings from now on (as Linux's
    /// `net.ipv4.tcp_fastopen` does): connections and listeners opened
    /// before keep what they had, but for
    /// [`FastOpenConfig::server`], read at each SYN.
    pub fn set_fast_open_config(&mut self, fo: FastOpenConfig) {
        self.fo_cfg = fo;
    }

    /// The Fast Open settings in force.
    pub fn fast_open_config(&self) -> FastOpenConfig {
        self.fo_cfg
    }

    /// Sets how many Fast Open connections a listener may have waiting
    /// for their handshake's end (Linux's `TCP_FASTOPEN` on a listening
    /// socket; 0 turns Fast Open off for it).
    ///
    /// # Errors
    ///
    /// `UnknownHandle` for a stale listener.
    pub fn set_listener_fast_open(
        &mut self,
        listener: ListenerId,
        queue: u32,
    ) -> Result<(), EndpointError> {
        self.listener(listener)
            .ok_or(EndpointError::UnknownHandle)?;
        if let Some(Some(l)) = self.listeners.get_mut(listener.idx as usize) {
            l.fast_open = queue;
        }
        Ok(())
    }

    /// Sets the key of the Fast Open server cookies (Linux's
    /// `net.ipv4.tcp_fastopen_key`: its four 32-bit words, each stored
    /// little-endian, make the 16 bytes) and a backup key still accepted
    /// (RFC 7413 §4.1.2 key rotation). A new Endpoint's key is derived
    /// from its secret.
    pub fn set_fast_open_key(&mut self, primary: [u8; 16], backup: Option<[u8; 16]>) {
        self.fo_key = primary;
        self.fo_backup = backup;
    }

    /// Gives one listener a key of its own (Linux's `TCP_FASTOPEN_KEY`).
    ///
    /// # Errors
    ///
    /// `UnknownHandle` for a stale listener.
    pub fn set_listener_fast_open_key(
        &mut self,
        listener: ListenerId,
        key: [u8; 16],
    ) -> Result<(), EndpointError> {
        self.listener(listener)
            .ok_or(EndpointError::UnknownHandle)?;
        if let Some(Some(l)) = self.listeners.get_mut(listener.idx as usize) {
            l.fo_key = Some(key);
        }
        Ok(())
    }

    /// The Fast Open cookie this Endpoint gives the client `remote` for
    /// its address `local` (RFC 7413 §4.1.2), with the host's key.
    pub fn fast_open_cookie(
        &self,
        local: core::net::IpAddr,
        remote: core::net::IpAddr,
    ) -> Option<[u8; 8]> {
        server_cookie(&self.fo_key, remote, local)
    }

    /// Forgets every cached Fast Open cookie and MSS (Linux's
    /// `ip tcp_metrics flush`).
    pub fn clear_fast_open_cache(&mut self) {
        self.fo_cache.keep(|_| false);
    }

    /// The cached cookie for a server, if any (RFC 7413 §4.1.1).
    pub fn fast_open_cached(
        &self,
        local: core::net::IpAddr,
        remote: core::net::IpAddr,
    ) -> Option<FastOpen> {
        self.fo_cache
            .iter()
            .find(|c| c.local == local && c.remote == remote)
            .and_then(|c| c.cookie)
    }

    fn cache_find(&self, t: &Tuple) -> Option<usize> {
        self.fo_cache
            .iter()
            .position(|c| c.local == t.local_ip && c.remote == t.remote_ip)
    }

    /// A Fast Open connect to `t`: how many bytes its SYN may carry, and
    /// its `fo` bits (Linux `tcp_fastopen_cookie_check`).
    pub(super) fn fast_open_plan(&mut self, t: &Tuple) -> (u32, u8) {
        let ours = self.cfg.conn.mss;
        let cached = self.cache_find(t).map(|i| {
            self.fo_stamp = self.fo_stamp.wrapping_add(1);
            let c = &mut self.fo_cache[i];
            c.stamp = self.fo_stamp;
            (c.cookie.is_some(), c.mss)
        });
        let (cookie, mss) = cached.unwrap_or((false, 0));
        let mss = if mss == 0 { ours } else { mss.min(ours) };
        let room = u32::from(mss.saturating_sub(SYN_OPTION_ROOM));
        let bits = fo::SYN | fo::ACTIVE;
        if cookie {
            (room, bits)
        } else if self.fo_cfg.client_no_cookie {
            (room, bits | fo::NO_OPTION)
        } else {
            (0, bits)
        }
    }

    /// The option of a Fast Open client's first SYN, from the cache.
    pub(super) fn syn_option(&self, t: &Tuple, bits: u8) -> Option<FastOpen> {
        match self.cache_find(t).map(|i| self.fo_cache[i]) {
            Some(c) if c.cookie.is_some() => c.cookie,
            _ if bits & fo::NO_OPTION != 0 => None,
            Some(c) => Some(c.option()),
            None => Some(FastOpen::request(false)),
        }
    }

    /// The cookie for the first SYN,ACK of a connection of listener `li`.
    pub(super) fn reply_option(&self, t: &Tuple, li: u32, exp: bool) -> Option<FastOpen> {
        let key = self
            .listeners
            .get(li as usize)
            .and_then(|l| l.as_ref())
            .and_then(|l| l.fo_key)
            .unwrap_or(self.fo_key);
        let c = server_cookie(&key, t.remote_ip, t.local_ip)?;
        FastOpen::cookie(&c, exp)
    }

    /// A Fast Open client's SYN,ACK was taken: the cache learns from it.
    pub(super) fn fast_open_learn(&mut self, t: &Tuple, news: &SynAckNews) {
        let i = match self.cache_find(t) {
            Some(i) => i,
            None => {
                let entry = CacheEntry {
                    local: t.local_ip,
                    remote: t.remote_ip,
                    cookie: None,
                    mss: 0,
                    try_exp: 0,
                    stamp: 0,
                };
                let max = self.cfg.fast_open_cache.min(self.fo_cache.cap());
                if max == 0 {
                    return;
                }
                if self.fo_cache.len() >= max {
                    // The least recently used goes.
                    let old = (0..self.fo_cache.len())
                        .min_by_key(|&i| self.fo_cache[i].stamp)
                        .unwrap_or(0);
                    self.fo_cache[old] = entry;
                    old
                } else {
                    if self.fo_cache.try_push(entry).is_err() {
                        return;
                    }
                    self.fo_cache.len() - 1
                }
            }
        };
        self.fo_stamp = self.fo_stamp.wrapping_add(1);
        let c = &mut self.fo_cache[i];
        c.stamp = self.fo_stamp;
        c.learn(news);
    }

    /// How a listener takes a SYN under Fast Open (Linux
    /// `tcp_try_fastopen`, RFC 7413 §4.2.2): `Some(true)` opens the
    /// connection with the SYN's data taken; the second value asks for
    /// our cookie (in the experimental form when the third says so) on
    /// the SYN,ACK.
    pub(super) fn fast_open_verdict(
        &self,
        li: u32,
        t: &Tuple,
        seg: &Segment<'_>,
    ) -> (bool, bool, bool) {
        let Some(Some(l)) = self.listeners.get(li as usize) else {
            return (false, false, false);
        };
        let opt = seg.options.fast_open;
        let exp = opt.is_some_and(|o| o.is_exp());
        let syn_data = !seg.payload.is_empty();
        if !self.fo_cfg.server || l.fast_open == 0 || l.filter_syn || !(syn_data || opt.is_some()) {
            return (false, false, false);
        }
        // RFC 7413 §5.1: at most so many Fast Open connections wait for
        // their handshake's end.
        let pending = l
            .accept_queue
            .each()
            .filter(|h| {
                self.slots
                    .get(h.idx as usize)
                    .and_then(|s| s.get())
                    .is_some_and(|e| e.conn.state() == State::SynReceived)
            })
            .count();
        if pending >= l.fast_open as usize {
            return (false, false, false);
        }
        if self.fo_cfg.server_no_cookie {
            return (true, false, false);
        }
        let Some(opt) = opt else {
            // Data without a cookie: only the SYN is taken.
            return (false, false, false);
        };
        if opt.is_request() {
            return (false, true, exp);
        }
        let key = l.fo_key.unwrap_or(self.fo_key);
        let valid = |k: &[u8; 16]| {
            server_cookie(k, t.remote_ip, t.local_ip).is_some_and(|c| c[..] == *opt.bytes())
        };
        if valid(&key) {
            (true, false, false)
        } else if l.fo_key.is_none() && self.fo_backup.as_ref().is_some_and(valid) {
            // The backup key: in, and the client gets the new cookie.
            (true, true, exp)
        } else {
            // A wrong cookie: the SYN only, and the right cookie back.
            (false, true, exp)
        }
    }

    /// A Fast Open connection goes to its listener's accept queue at once
    /// (Linux `tcp_fastopen_create_child`).
    pub(super) fn fast_open_child(&mut self, li: u32, idx: u32) {
        let h = self.handle_of(idx);
        let Some(Some(l)) = self.listeners.get_mut(li as usize) else {
            return;
        };
        if l.accept_queue.push(h).is_err() {
            return;
        }
        let id = ListenerId {
            idx: li,
            generation: l.generation,
            ep: self.tag,
        };
        if let Some(e) = self.slots[idx as usize].get_mut() {
            e.queue = Queue::Accept;
            e.parent = li;
        }
        if self.events.push(Event::Incoming(id)).is_err() {
            self.counters.events_dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// Linux's key `a0bf63f7-ed803d81-cd641d30-cebc4a90` (the sysctl's
    /// four 32-bit words, each stored little-endian) as 16 bytes.
    const LINUX_KEY: [u8; 16] = [
        0xf7, 0x63, 0xbf, 0xa0, 0x81, 0x3d, 0x80, 0xed, 0x30, 0x1d, 0x64, 0xcd, 0x90, 0x4a, 0xbc,
        0xce,
    ];

    // The cookie Linux 6.18's TFO server sent to 10.248.0.2 for
    // 192.168.0.2 under that key (a fact of google/packetdrill's
    // fastopen/server/simple1.pkt), and under the all-zero key
    // (sockopt-fastopen-key.pkt).
    #[test]
    fn cookies_are_linux_cookies() {
        let client = IpAddr::V4(Ipv4Addr::new(10, 248, 0, 2));
        let server = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2));
        assert_eq!(
            server_cookie(&LINUX_KEY, client, server),
            Some([0x00, 0xab, 0xaa, 0xab, 0xe8, 0xe9, 0x54, 0xc2])
        );
        assert_eq!(
            server_cookie(&[0; 16], client, server),
            Some([0x93, 0xb7, 0xaa, 0x4f, 0x55, 0x0f, 0x8a, 0x1a])
        );
        let v6 = IpAddr::V6(core::net::Ipv6Addr::LOCALHOST);
        assert_eq!(server_cookie(&LINUX_KEY, client, v6), None);
    }

    /// IPv6 cookies as Linux's `__tcp_fastopen_cookie_gen_cipher` makes
    /// them: SipHash-2-4 over the client's 16 bytes, then the server's.
    #[test]
    fn ipv6_cookies_hash_the_client_then_the_server() {
        let c = core::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
        let s = core::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let mut h = SipHasher24::new_with_keys(
            u64::from_le_bytes(LINUX_KEY[..8].try_into().unwrap()),
            u64::from_le_bytes(LINUX_KEY[8..].try_into().unwrap()),
        );
        h.write(&[c.octets(), s.octets()].concat());
        let want = h.finish().to_le_bytes();
        let got = server_cookie(&LINUX_KEY, IpAddr::V6(c), IpAddr::V6(s));
        assert_eq!(got, Some(want));
        let swapped = server_cookie(&LINUX_KEY, IpAddr::V6(s), IpAddr::V6(c));
        assert_ne!(swapped, got);
    }

    #[test]
    fn linux_bits_round_trip() {
        for bits in [0, 1, 2, 3, 5, 0x202, 0x402, 0x603, 0x607] {
            assert_eq!(FastOpenConfig::from_linux(bits).linux_bits(), bits);
        }
        assert_eq!(FastOpenConfig::from_linux(1), FastOpenConfig::CLIENT);
    }
}
