//! [`EndpointConfig`]: the host-wide settings, with Linux's defaults.

use super::FastOpenConfig;
use crate::config::Config;
use crate::error::ConfigError;
use core::net::IpAddr;

/// The most local addresses an [`EndpointConfig`] lists.
pub const MAX_LOCAL_ADDRS: usize = 16;

/// When SYN cookies are used (Linux `tcp_syncookies`). A cookie keeps the
/// peer's MSS as one of four values, Linux's: 536, 1300, 1440, 1460 over
/// IPv4; 1220, 1420, 1440, 8940 over IPv6 (the largest the peer takes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynCookies {
    /// Never: a SYN that finds the SYN queue full is dropped (0).
    Off,
    /// Only when a listener's SYN queue is full (1, Linux's default).
    OnOverflow,
    /// For every SYN: no half-open state at all (2).
    Always,
}

/// When `connect` may take over a 4-tuple held by a TIME-WAIT entry
/// (Linux `tcp_tw_reuse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwReuse {
    /// Never (0).
    Off,
    /// Anywhere (1).
    On,
    /// Only when the old connection's local or remote address is a
    /// loopback one, IPv4-mapped too (2, Linux's default since 5.8).
    LoopbackOnly,
}

/// Settings of an [`Endpoint`](super::Endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The configuration of every connection.
    pub conn: Config,
    /// Receive buffer per connection, bytes (Linux `tcp_rmem` default 131072).
    pub rx_buffer: usize,
    /// Send buffer per connection, bytes (Linux `tcp_wmem` default 16384).
    pub tx_buffer: usize,
    /// Cap on any accept queue (Linux `net.core.somaxconn`, 4096).
    pub somaxconn: u32,
    /// Cap on any SYN queue (Linux `tcp_max_syn_backlog`, at least 128).
    pub max_syn_backlog: u32,
    /// SYN cookies (RFC 4987; Linux `tcp_syncookies`).
    pub syncookies: SynCookies,
    /// Connections closed by their application but still closing; past
    /// this the oldest are reset (Linux `tcp_max_orphans`).
    pub max_orphans: usize,
    /// TIME-WAIT entries; past this a connection skips TIME-WAIT (Linux
    /// `tcp_max_tw_buckets`).
    pub max_time_wait: usize,
    /// Full connections (all states but TIME-WAIT), a memory bound.
    pub max_connections: usize,
    /// `connect` reuse of TIME-WAIT tuples (Linux `tcp_tw_reuse`).
    pub tw_reuse: TwReuse,
    /// First ephemeral port (Linux `ip_local_port_range`: 32768).
    pub port_min: u16,
    /// Last ephemeral port (Linux: 60999).
    pub port_max: u16,
    /// The host's own addresses (at most [`MAX_LOCAL_ADDRS`]): segments
    /// to any other destination are dropped and counted
    /// ([`Counters::not_local`](super::Counters::not_local)), never
    /// answered, and `connect` without a source address takes the first
    /// one of the right family. Add them with
    /// [`with_local_addr`](Self::with_local_addr).
    pub local_addrs: heapless::Vec<IpAddr, MAX_LOCAL_ADDRS>,
    /// Accept segments for any destination address, as a host that
    /// terminates every connection routed to it does (tun2socks, a
    /// transparent proxy): a connection then uses the destination it was
    /// opened to as its local address, which
    /// [`Endpoint::local_addr`](super::Endpoint::local_addr) reports, and a
    /// listener on the unspecified address with port 0 takes every SYN
    /// no other listener takes. Off by default.
    pub transparent: bool,
    /// TCP Fast Open (RFC 7413), as Linux's `net.ipv4.tcp_fastopen`:
    /// [`FastOpenConfig::CLIENT`] in [`linux`](Self::linux) (Linux's
    /// default, 1), off in [`rfc9293`](Self::rfc9293).
    pub fast_open: FastOpenConfig,
    /// The most servers whose Fast Open cookie and MSS a client keeps
    /// (RFC 7413 §4.1.1), the least recently used forgotten first (also
    /// bounded by a fixed store's capacity). 1024 by default.
    pub fast_open_cache: usize,
    /// Segmentation offload (GSO/TSO): when above 0, `poll_transmit` may
    /// write a run of full-sized segments of new data, up to this many
    /// payload bytes, as one super-segment for the device to split
    /// ([`Datagram::segment_size`](super::Datagram::segment_size); see
    /// [`Connection::poll_transmit_gso`](crate::Connection::poll_transmit_gso)
    /// for what splitting must give). At most 65,000; 0 (the default):
    /// one segment per datagram.
    pub gso_max: usize,
    /// The device checks received TCP checksums (receive checksum
    /// offload): `on_datagram` trusts them instead of verifying. Off by
    /// default: every checksum is verified in software (MUST-3).
    pub rx_checksum_offload: bool,
    /// The device completes transmitted TCP checksums (transmit checksum
    /// offload, Linux's `CHECKSUM_PARTIAL` / `VIRTIO_NET_HDR_F_NEEDS_CSUM`
    /// with the checksum at offset 16 of the TCP header): the checksum
    /// field of what `poll_transmit` writes holds only the folded
    /// pseudo-header sum (over the whole segment's length, as GSO needs).
    /// Off by default: full software checksums.
    pub tx_checksum_offload: bool,
}

impl EndpointConfig {
    /// Linux's defaults around [`Config::linux`]: receive buffer 131,072
    /// and send buffer 16,384 bytes per connection, `somaxconn` 4096,
    /// `max_syn_backlog` 128, SYN cookies on overflow, `max_orphans`
    /// 65,536 (`tcp_max_orphans`), `max_time_wait` 262,144
    /// (`tcp_max_tw_buckets`; Linux sizes both from memory at boot: 131,072
    /// each on a 24 GiB machine), `tw_reuse` loopback only, ports
    /// 32768..=60999; no local address (add yours), not transparent, no
    /// offloads. `max_connections` is 2^24, no real memory bound (each
    /// connection holds its two buffers, about 148 KB with these sizes,
    /// from its SYN-RECEIVED on): a host facing the Internet sets it, and
    /// the buffer sizes, for its memory.
    pub fn linux() -> Self {
        EndpointConfig {
            conn: Config::linux(),
            rx_buffer: 131_072,
            tx_buffer: 16_384,
            somaxconn: 4096,
            max_syn_backlog: 128,
            syncookies: SynCookies::OnOverflow,
            max_orphans: 65_536,
            max_time_wait: 262_144,
            max_connections: 1 << 24,
            tw_reuse: TwReuse::LoopbackOnly,
            port_min: 32768,
            port_max: 60999,
            local_addrs: heapless::Vec::new(),
            transparent: false,
            fast_open: FastOpenConfig::CLIENT,
            fast_open_cache: 1024,
            gso_max: 0,
            rx_checksum_offload: false,
            tx_checksum_offload: false,
        }
    }

    /// This config with `ip` added to [`local_addrs`](Self::local_addrs)
    /// (once). Fails past [`MAX_LOCAL_ADDRS`] addresses, or for an address
    /// that is not unicast.
    pub fn with_local_addr(mut self, ip: impl Into<IpAddr>) -> Result<Self, ConfigError> {
        let ip = ip.into();
        ConfigError::check(
            super::unicast(ip),
            "local_addrs",
            "must be unicast addresses (RFC 9293 MUST-57)",
        )?;
        if !self.local_addrs.contains(&ip) && self.local_addrs.push(ip).is_err() {
            return Err(ConfigError {
                field: "local_addrs",
                rule: "holds at most MAX_LOCAL_ADDRS (16) addresses",
            });
        }
        Ok(self)
    }

    /// This config in transparent mode (see [`transparent`](Self::transparent)).
    pub fn transparent(mut self) -> Self {
        self.transparent = true;
        self
    }

    /// Whether `ip` is one of ours (always, in transparent mode).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.transparent || self.local_addrs.contains(&ip)
    }

    /// Checks every value (the connection config's too) for one the
    /// Endpoint cannot work with; [`Endpoint::new`](super::Endpoint::new)
    /// calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = ConfigError::check;
        self.conn.validate()?;
        let max = crate::buffer::MAX_CAPACITY;
        check(
            (1..=max).contains(&self.rx_buffer),
            "rx_buffer",
            "must be 1..=2^31-1 bytes",
        )?;
        check(
            (1..=max).contains(&self.tx_buffer),
            "tx_buffer",
            "must be 1..=2^31-1 bytes",
        )?;
        check(
            self.port_min >= 1,
            "port_min",
            "must be at least 1 (port 0 is not a port, RFC 6056 §2.1)",
        )?;
        check(
            self.port_min <= self.port_max,
            "port_min",
            "must not exceed port_max",
        )?;
        check(
            self.max_connections >= 1,
            "max_connections",
            "must be at least 1",
        )?;
        check(
            self.gso_max <= 65_000,
            "gso_max",
            "must be at most 65,000 bytes (one IP packet)",
        )?;
        check(
            self.local_addrs.iter().all(|&ip| super::unicast(ip)),
            "local_addrs",
            "must be unicast addresses (RFC 9293 MUST-57)",
        )?;
        Ok(())
    }

    /// The same limits around [`Config::rfc9293`], without TIME-WAIT reuse
    /// and with the IANA ephemeral range 49152..=65535 (RFC 6056 §2.1).
    pub fn rfc9293() -> Self {
        EndpointConfig {
            conn: Config::rfc9293(),
            tw_reuse: TwReuse::Off,
            port_min: 49152,
            port_max: 65535,
            fast_open: FastOpenConfig::OFF,
            ..EndpointConfig::linux()
        }
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig::linux()
    }
}
