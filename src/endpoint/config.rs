//! [`EndpointConfig`]: the host-wide settings, with Linux's defaults.

use crate::config::Config;
use core::net::{Ipv4Addr, Ipv6Addr};

/// When SYN cookies are used (Linux `tcp_syncookies`).
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
    /// Only for loopback addresses (2, Linux's default since 5.8).
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
    /// Source address for `connect` without one, IPv4.
    pub local_v4: Option<Ipv4Addr>,
    /// Source address for `connect` without one, IPv6.
    pub local_v6: Option<Ipv6Addr>,
}

impl EndpointConfig {
    /// Linux's defaults around [`Config::linux`].
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
            local_v4: None,
            local_v6: None,
        }
    }

    /// The same limits around [`Config::rfc9293`], without TIME-WAIT reuse
    /// and with the IANA ephemeral range 49152..=65535 (RFC 6056 §2.1).
    pub fn rfc9293() -> Self {
        EndpointConfig {
            conn: Config::rfc9293(),
            tw_reuse: TwReuse::Off,
            port_min: 49152,
            port_max: 65535,
            ..EndpointConfig::linux()
        }
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig::linux()
    }
}
