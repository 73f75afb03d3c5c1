//! Linux's numbers: socket-call constants, errno values, and the value of
//! a script's argument expression.

use super::parse::Expr;

pub(crate) const AF_INET6: i64 = 10;
pub(crate) const SOCK_NONBLOCK: i64 = 0o4000;
pub(crate) const SOL_SOCKET: i64 = 1;
pub(crate) const IPPROTO_TCP: i64 = 6;
pub(crate) const SO_REUSEADDR: i64 = 2;
pub(crate) const SO_ERROR: i64 = 4;
pub(crate) const SO_SNDBUF: i64 = 7;
pub(crate) const SO_RCVBUF: i64 = 8;
pub(crate) const SO_KEEPALIVE: i64 = 9;
pub(crate) const SO_LINGER: i64 = 13;
pub(crate) const TCP_NODELAY: i64 = 1;
pub(crate) const TCP_MAXSEG: i64 = 2;
pub(crate) const TCP_CORK: i64 = 3;
pub(crate) const TCP_USER_TIMEOUT: i64 = 18;
pub(crate) const TCP_SYNCNT: i64 = 7;
pub(crate) const TCP_KEEPIDLE: i64 = 4;
pub(crate) const TCP_KEEPINTVL: i64 = 5;
pub(crate) const TCP_KEEPCNT: i64 = 6;
pub(crate) const TCP_NOTSENT_LOWAT: i64 = 25;
/// TCP_INQ, and TCP_CM_INQ, the control message's type (the same value).
pub(crate) const TCP_INQ: i64 = 36;
pub(crate) const TCP_FASTOPEN: i64 = 23;
pub(crate) const TCP_FASTOPEN_CONNECT: i64 = 30;
pub(crate) const TCP_FASTOPEN_KEY: i64 = 33;
pub(crate) const SOL_IP: i64 = 0;
pub(crate) const IP_TOS: i64 = 1;
pub(crate) const IP_MTU_DISCOVER: i64 = 10;
pub(crate) const SO_MARK: i64 = 36;
pub(crate) const SO_ZEROCOPY: i64 = 60;
pub(crate) const F_GETFL: i64 = 3;
pub(crate) const F_SETFL: i64 = 4;
pub(crate) const O_RDWR: i64 = 2;
pub(crate) const O_NONBLOCK: i64 = 0o4000;
pub(crate) const SHUT_RD: i64 = 0;
pub(crate) const SHUT_WR: i64 = 1;
pub(crate) const SHUT_RDWR: i64 = 2;
pub(crate) const MSG_DONTWAIT: i64 = 0x40;
pub(crate) const MSG_EOR: i64 = 0x80;
pub(crate) const MSG_NOSIGNAL: i64 = 0x4000;
pub(crate) const MSG_MORE: i64 = 0x8000;
pub(crate) const MSG_FASTOPEN: i64 = 0x2000_0000;
pub(crate) const MSG_ZEROCOPY: i64 = 0x400_0000;
pub(crate) const SIOCINQ: i64 = 0x541b;
pub(crate) const SIOCOUTQ: i64 = 0x5411;
pub(crate) const POLLIN: i64 = 0x1;
pub(crate) const POLLOUT: i64 = 0x4;
pub(crate) const POLLERR: i64 = 0x8;
pub(crate) const POLLHUP: i64 = 0x10;
pub(crate) const POLLNVAL: i64 = 0x20;
pub(crate) const POLLRDNORM: i64 = 0x40;
pub(crate) const POLLWRNORM: i64 = 0x100;
pub(crate) const POLLRDHUP: i64 = 0x2000;
pub(crate) const EPIPE: i32 = 32;
pub(crate) const ECONNRESET: i32 = 104;
pub(crate) const ETIMEDOUT: i32 = 110;
pub(crate) const ECONNREFUSED: i32 = 111;
pub(crate) const ENONET: i32 = 64;
pub(crate) const EPROTO: i32 = 71;
pub(crate) const ENOPROTOOPT: i32 = 92;
pub(crate) const EOPNOTSUPP: i32 = 95;
pub(crate) const ENETUNREACH: i32 = 101;
pub(crate) const EHOSTDOWN: i32 = 112;
pub(crate) const EHOSTUNREACH: i32 = 113;

pub(crate) const SYMBOLS: &[(&str, i64)] = &[
    ("AF_INET", 2),
    ("PF_INET", 2),
    ("AF_INET6", 10),
    ("PF_INET6", 10),
    ("SOCK_STREAM", 1),
    ("SOCK_NONBLOCK", SOCK_NONBLOCK),
    ("IPPROTO_IP", 0),
    ("IPPROTO_TCP", 6),
    ("SOL_TCP", 6),
    ("SOL_SOCKET", 1),
    ("SO_REUSEADDR", 2),
    ("SO_ERROR", 4),
    ("SO_SNDBUF", 7),
    ("SO_RCVBUF", 8),
    ("SO_KEEPALIVE", 9),
    ("SO_LINGER", 13),
    ("SO_REUSEPORT", 15),
    ("TCP_NODELAY", 1),
    ("TCP_MAXSEG", 2),
    ("TCP_CORK", 3),
    ("TCP_KEEPIDLE", 4),
    ("TCP_KEEPINTVL", 5),
    ("TCP_KEEPCNT", 6),
    ("TCP_INFO", 11),
    ("TCP_CONGESTION", 13),
    ("TCP_USER_TIMEOUT", 18),
    ("TCP_FASTOPEN", 23),
    ("F_GETFL", 3),
    ("F_SETFL", 4),
    ("O_RDWR", 2),
    ("O_NONBLOCK", O_NONBLOCK),
    ("SHUT_RD", 0),
    ("SHUT_WR", 1),
    ("SHUT_RDWR", 2),
    ("MSG_DONTWAIT", 0x40),
    ("MSG_PEEK", 0x2),
    ("MSG_MORE", 0x8000),
    ("MSG_EOR", 0x80),
    ("MSG_NOSIGNAL", 0x4000),
    ("MSG_FASTOPEN", 0x2000_0000),
    ("MSG_WAITALL", 0x100),
    ("MSG_TRUNC", 0x20),
    ("MSG_ERRQUEUE", 0x2000),
    ("SIOCINQ", 0x541b),
    ("FIONREAD", 0x541b),
    ("SIOCOUTQ", 0x5411),
    ("NULL", 0),
    ("SOL_IP", 0),
    ("IP_TOS", 1),
    ("IP_MTU_DISCOVER", 10),
    ("IP_PMTUDISC_DONT", 0),
    ("IP_PMTUDISC_WANT", 1),
    ("IP_PMTUDISC_DO", 2),
    ("IP_FREEBIND", 15),
    ("SO_ZEROCOPY", 60),
    ("SO_TIMESTAMPING", 37),
    ("SO_MARK", 36),
    ("TCP_NOTSENT_LOWAT", 25),
    ("TCP_FASTOPEN_CONNECT", 30),
    ("TCP_FASTOPEN_KEY", 33),
    ("TCP_INQ", 36),
    ("TCP_CM_INQ", 36),
    ("TCP_SYNCNT", 7),
    ("MSG_ZEROCOPY", 0x4000000),
    ("POLLIN", POLLIN),
    ("POLLPRI", 0x2),
    ("POLLOUT", POLLOUT),
    ("POLLERR", POLLERR),
    ("POLLHUP", POLLHUP),
    ("POLLNVAL", POLLNVAL),
    ("POLLRDNORM", POLLRDNORM),
    ("POLLWRNORM", POLLWRNORM),
    ("POLLRDHUP", POLLRDHUP),
];

pub(crate) const ERRNOS: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EINTR", 4),
    ("EBADF", 9),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EFAULT", 14),
    ("EINVAL", 22),
    ("EPIPE", 32),
    ("ENONET", 64),
    ("EPROTO", 71),
    ("ENOTSOCK", 88),
    ("ENOPROTOOPT", 92),
    ("EOPNOTSUPP", 95),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETUNREACH", 101),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
];

pub(crate) fn canon_errno(e: &str) -> &'static str {
    let e = if e == "EWOULDBLOCK" { "EAGAIN" } else { e };
    ERRNOS
        .iter()
        .find(|(n, _)| *n == e)
        .map_or("EUNKNOWN", |(n, _)| n)
}

pub(crate) fn errno_name(v: i32) -> &'static str {
    ERRNOS
        .iter()
        .find(|(_, x)| *x == v)
        .map_or("EUNKNOWN", |(n, _)| n)
}

/// The value of an argument: integers, symbols, `A|B`, `[v]`.
pub(crate) fn eval(e: &Expr) -> i64 {
    match e {
        Expr::Int(v) => *v,
        Expr::Sym(s) => SYMBOLS
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, v)| *v)
            .or_else(|| {
                ERRNOS
                    .iter()
                    .find(|(n, _)| n == s)
                    .map(|(_, v)| i64::from(*v))
            })
            .unwrap_or(-1),
        Expr::Or(v) => v.iter().fold(0, |a, x| a | eval(x)),
        Expr::List(v) => v.first().map_or(0, eval),
        _ => 0,
    }
}
