//! Sysctls a script sets, mapped onto the configuration of the Endpoint
//! under test ([`Settings`]).
//!
//! A sysctl is mapped when the engine has the setting; accepted and
//! ignored when it only tunes machinery the engine does not have and so
//! cannot change what a script checks (TSO sizing and pacing: the engine
//! sends MSS-sized segments at once and the runner adds up consecutive
//! segments as packetdrill does); accepted when it is set to the value the
//! runner already has (the values of `defaults.sh`); and otherwise refused
//! with its name, which makes the script unsupported.

use std::format;
use std::string::String;
use std::vec::Vec;

use crate::connection::congestion::Algorithm;
use crate::endpoint::EndpointConfig;

/// `tcp_rmem[2]` as `defaults.sh` sets it: Linux then offers window scale
/// 8, which the public scripts expect.
pub const DEFAULTS_SH_RMEM_MAX: usize = 15_728_640;
/// `tcp_wmem[1]` as `defaults.sh` sets it: the send buffer a socket starts
/// with.
pub(crate) const DEFAULTS_SH_WMEM_DEFAULT: usize = 262_144;
/// `tcp_wmem[2]` as `defaults.sh` sets it.
pub(crate) const DEFAULTS_SH_WMEM_MAX: usize = 4_194_304;

/// What the sysctls of a script configure.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The Endpoint's configuration (every connection's `Config` inside).
    pub(crate) cfg: EndpointConfig,
    /// `tcp_fastopen` (Linux bits: 1 client, 2 server, 0x200 server
    /// without cookies, 0x400 every listener, ...).
    pub(crate) fastopen: u32,
    /// `tcp_fastopen_key` (the primary key, 16 bytes).
    pub(crate) fastopen_key: [u8; 16],
    /// `tcp_notsent_lowat`.
    pub(crate) notsent_lowat: u32,
    /// `tcp_ecn=2`: ECN only when the peer asks. The connection settings
    /// say ECN on (what a listener does then); an active open, which would
    /// ask, is refused by the runner.
    pub(crate) ecn_passive: bool,
    /// The send-buffer limit of a socket, bytes (`tcp_wmem[1]`; Linux's
    /// `sk_sndbuf` counts buffer overhead too, the runner counts payload).
    pub(crate) sndbuf: usize,
}

impl Settings {
    /// What `defaults.sh` leaves: Linux with the suite's buffer sizes.
    pub(crate) fn defaults(local: core::net::Ipv4Addr) -> Self {
        let mut cfg = EndpointConfig::linux();
        // One address cannot overflow the list.
        let _ = cfg.local_addrs.push(core::net::IpAddr::V4(local));
        cfg.conn.wscale_buffer = Some(DEFAULTS_SH_RMEM_MAX);
        // The engine's send ring is as large as Linux's autotuning may
        // make the buffer (tcp_wmem[2]); the runner enforces the limit.
        cfg.tx_buffer = DEFAULTS_SH_WMEM_MAX;
        Settings {
            cfg,
            fastopen: 0x70403,
            fastopen_key: key_bytes("a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4").unwrap_or([0; 16]),
            notsent_lowat: u32::MAX,
            ecn_passive: false,
            sndbuf: DEFAULTS_SH_WMEM_DEFAULT,
        }
    }
}

/// A `tcp_fastopen_key` value (`8x-8x-8x-8x` hex words) as Linux stores
/// it: each 32-bit word in host (little-endian) order.
pub(crate) fn key_bytes(v: &str) -> Option<[u8; 16]> {
    let words: Vec<&str> = v.split(',').next()?.split('-').collect();
    if words.len() != 4 {
        return None;
    }
    let mut k = [0u8; 16];
    for (i, w) in words.iter().enumerate() {
        let x = u32::from_str_radix(w, 16).ok()?;
        k[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    Some(k)
}

/// Sysctls that tune what the engine does not have (TSO sizing, pacing,
/// counters): nothing a script checks depends on them here.
const IGNORED: &[&str] = &[
    "net.ipv4.tcp_tso_win_divisor",
    "net.ipv4.tcp_pacing_ss_ratio",
    "net.ipv4.tcp_pacing_ca_ratio",
    "net.ipv4.tcp_ecn_option",
    "net.ipv4.tcp_ecn_option_beacon",
];

/// Sysctls accepted only at the value the engine already behaves as.
const AT_DEFAULT: &[(&str, &str)] = &[
    // No Fast Open blackhole detection (Linux's default since 5.14).
    ("net.ipv4.tcp_fastopen_blackhole_timeout_sec", "0"),
    ("net.ipv4.tcp_dsack", "1"),
    ("net.ipv4.tcp_fack", "0"),
    ("net.ipv4.tcp_frto", "2"),
    ("net.ipv4.tcp_reordering", "3"),
    ("net.ipv4.tcp_early_retrans", "4"),
    ("net.ipv4.tcp_early_retrans", "3"),
    ("net.ipv4.tcp_recovery", "1"),
    ("net.ipv4.tcp_syncookies", "1"),
    ("net.ipv4.tcp_mtu_probing", "0"),
    ("net.ipv4.tcp_moderate_rcvbuf", "1"),
    ("net.ipv4.tcp_autocorking", "1"),
    ("net.ipv4.tcp_autocorking", "0"),
];

/// Whether the runner knows this sysctl at all.
pub(crate) fn known(name: &str) -> bool {
    IGNORED.contains(&name)
        || AT_DEFAULT.iter().any(|(n, _)| *n == name)
        || matches!(
            name.strip_prefix("net.ipv4."),
            Some(
                "tcp_timestamps"
                    | "tcp_sack"
                    | "tcp_window_scaling"
                    | "tcp_rmem"
                    | "tcp_wmem"
                    | "tcp_syn_retries"
                    | "tcp_synack_retries"
                    | "tcp_retries2"
                    | "tcp_orphan_retries"
                    | "tcp_fin_timeout"
                    | "tcp_keepalive_time"
                    | "tcp_keepalive_intvl"
                    | "tcp_keepalive_probes"
                    | "tcp_rfc1337"
                    | "tcp_slow_start_after_idle"
                    | "tcp_congestion_control"
                    | "tcp_ecn"
                    | "tcp_fastopen"
                    | "tcp_fastopen_key"
                    | "tcp_notsent_lowat"
            )
        )
}

fn int(name: &str, v: &str) -> Result<u64, String> {
    let v = v.trim();
    let r = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    r.map_err(|_| format!("sysctl {name}={v}: not a number"))
}

fn triple(name: &str, v: &str) -> Result<[usize; 3], String> {
    let p: Vec<&str> = v.split_whitespace().collect();
    if p.len() != 3 {
        return Err(format!("sysctl {name}={v}: three numbers expected"));
    }
    let mut out = [0; 3];
    for (o, x) in out.iter_mut().zip(p) {
        *o = int(name, x)? as usize;
    }
    Ok(out)
}

/// Applies one sysctl; the error names what cannot be honoured.
pub(crate) fn apply(s: &mut Settings, name: &str, value: &str) -> Result<(), String> {
    let refuse = || Err(format!("sysctl {name}={value}"));
    if IGNORED.contains(&name) {
        return Ok(());
    }
    if AT_DEFAULT.iter().any(|(n, _)| *n == name) {
        return if AT_DEFAULT
            .iter()
            .any(|(n, v)| *n == name && *v == value.trim())
        {
            Ok(())
        } else {
            refuse()
        };
    }
    let Some(short) = name.strip_prefix("net.ipv4.") else {
        return refuse();
    };
    let c = &mut s.cfg.conn;
    match short {
        "tcp_timestamps" => c.timestamps = int(name, value)? != 0,
        "tcp_sack" => c.sack = int(name, value)? != 0,
        "tcp_window_scaling" => c.window_scaling = int(name, value)? != 0,
        "tcp_rmem" => {
            let [_, _, max] = triple(name, value)?;
            // The window scale is chosen for the largest buffer; the
            // starting window is what the engine's receive buffer gives.
            c.wscale_buffer = Some(max);
        }
        "tcp_wmem" => {
            let [_, def, max] = triple(name, value)?;
            s.sndbuf = def.max(4096);
            s.cfg.tx_buffer = max.max(def).max(4096);
        }
        "tcp_syn_retries" => c.syn_retries = int(name, value)?.min(255) as u8,
        // Linux's TSO packet size floor: `Config::tso_segs`.
        "tcp_min_tso_segs" => c.tso_segs = int(name, value)?.clamp(1, 255) as u8,
        "tcp_synack_retries" => c.synack_retries = int(name, value)?.min(255) as u8,
        "tcp_retries2" => c.retries2 = int(name, value)?.min(255) as u8,
        "tcp_orphan_retries" => c.orphan_retries = int(name, value)?.min(255) as u8,
        "tcp_fin_timeout" => c.fin_timeout = crate::Duration::from_secs(int(name, value)?),
        "tcp_keepalive_time" | "tcp_keepalive_intvl" | "tcp_keepalive_probes" => {
            // Keep-alive stays off until SO_KEEPALIVE; its values are the
            // runner's defaults, which these must match.
            let want = match short {
                "tcp_keepalive_time" => 7200,
                "tcp_keepalive_intvl" => 75,
                _ => 9,
            };
            if int(name, value)? != want {
                return refuse();
            }
        }
        "tcp_rfc1337" => c.rfc1337 = int(name, value)? != 0,
        "tcp_slow_start_after_idle" => c.slow_start_after_idle = int(name, value)? != 0,
        "tcp_congestion_control" => {
            c.congestion = match value.trim() {
                "cubic" => Algorithm::Cubic,
                "reno" => Algorithm::NewReno,
                _ => return refuse(),
            }
        }
        "tcp_ecn" => {
            (c.ecn, s.ecn_passive) = match int(name, value)? {
                0 => (false, false),
                1 => (true, false),
                // Linux's tcp_ecn=2: a listener answers an ECN-setup SYN
                // as with 1 (tcp_ecn_create_request), an active open does
                // not ask (tcp_ecn_send_syn).
                2 => (true, true),
                _ => return refuse(),
            }
        }
        "tcp_fastopen" => s.fastopen = int(name, value)? as u32,
        "tcp_fastopen_key" => {
            s.fastopen_key =
                key_bytes(value.trim()).ok_or_else(|| format!("sysctl {name}={value}"))?
        }
        "tcp_notsent_lowat" => s.notsent_lowat = int(name, value)?.min(u64::from(u32::MAX)) as u32,
        _ => return refuse(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_refuses() {
        let mut s = Settings::defaults(core::net::Ipv4Addr::LOCALHOST);
        apply(&mut s, "net.ipv4.tcp_timestamps", "0").unwrap();
        assert!(!s.cfg.conn.timestamps);
        apply(&mut s, "net.ipv4.tcp_wmem", "4096 50000 4194304").unwrap();
        assert_eq!(s.sndbuf, 50000);
        apply(&mut s, "net.ipv4.tcp_tso_win_divisor", "100").unwrap();
        apply(&mut s, "net.ipv4.tcp_early_retrans", "4").unwrap();
        let e = apply(&mut s, "net.ipv4.tcp_early_retrans", "0").unwrap_err();
        assert!(e.contains("tcp_early_retrans"), "{e}");
        apply(&mut s, "net.ipv4.tcp_ecn", "2").unwrap();
        assert!(s.cfg.conn.ecn && s.ecn_passive);
        assert!(apply(&mut s, "net.ipv4.tcp_ecn", "3").is_err());
        assert!(apply(&mut s, "net.core.somaxconn", "5").is_err());
        apply(&mut s, "net.ipv4.tcp_fastopen", "0x30403").unwrap();
        assert_eq!(s.fastopen, 0x30403);
        assert_eq!(
            key_bytes("a0bf63f7-ed803d81-cd641d30-cebc4a90").unwrap()[..4],
            [0xf7, 0x63, 0xbf, 0xa0]
        );
    }
}
