//! Errors, by who is at fault.
//!
//! A call that makes no sense in the current state is the application's
//! mistake and gets a [`CallError`]; nothing changes. Why a connection ended
//! is data, a [`CloseReason`], delivered as an action. A malformed segment is
//! a [`WireError`](crate::wire::WireError) from the parser.

use crate::state::State;

/// A call the application made that the connection cannot honour now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// `listen` or `connect` on a connection that is not CLOSED.
    #[error("connection already in use (state {0})")]
    InUse(State),
    /// Send after the local side closed (RFC 9293 §3.10.2 "connection closing").
    #[error("connection closing: no more data may be sent")]
    Closing,
    /// The connection is closed (or was never opened).
    #[error("connection does not exist")]
    NotConnected,
    /// The connection ended with this reason; further calls fail.
    #[error("connection ended: {0}")]
    Ended(CloseReason),
    /// The caller's buffer for receive/send was empty.
    #[error("zero-length buffer")]
    EmptyBuffer,
    /// SEND (or RECEIVE) in LISTEN. RFC 9293 §3.10.2: "If the remote
    /// socket was not specified, then return 'error: remote socket
    /// unspecified'". A listener here never has one (the host, or the
    /// Endpoint, matches any peer), so the listener is never turned into
    /// an active open (Figure 5's LISTEN --SEND--> SYN-SENT, FSM-4, which
    /// the RFC makes optional); open a connection with `connect` instead.
    /// Linux refuses the same: `send` on a listening socket fails with
    /// EPIPE.
    #[error("remote socket unspecified: a listener cannot send")]
    RemoteUnspecified,
    /// `AppCall::SetKeepalive` with a zero idle time or interval, or no
    /// probe (as `Config::validate` refuses them).
    #[error("keep-alive needs an idle time and interval above zero and at least one probe")]
    InvalidKeepalive,
}

/// Why a connection reached CLOSED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum CloseReason {
    /// Both sides closed and the close completed: our FIN acknowledged in
    /// LAST-ACK, or TIME-WAIT reached (an Endpoint reports the end then,
    /// while its TIME-WAIT table keeps the 4-tuple for 2 MSL; a bare
    /// `Connection` reaches CLOSED when TIME-WAIT expires).
    #[error("closed normally")]
    Normal,
    /// The peer refused the connection: RST in SYN-SENT (or active SYN-RECEIVED).
    #[error("connection refused")]
    Refused,
    /// The peer reset an established connection.
    #[error("connection reset by peer")]
    Reset,
    /// Retransmissions (or keep-alive probes) went unanswered.
    #[error("connection timed out")]
    TimedOut,
    /// The user timeout expired (RFC 5482).
    #[error("user timeout")]
    UserTimeout,
    /// The local application aborted (or closed with unread data: RST sent).
    #[error("aborted locally")]
    Aborted,
    /// An orphaned FIN-WAIT-2 reached the fin timeout.
    #[error("fin timeout")]
    FinTimeout,
    /// An ICMP error ended the connection while it was opening
    /// ([`Config::linux_icmp`](crate::Config::linux_icmp), as Linux's
    /// `tcp_v4_err`); [`Connection::soft_error`](crate::Connection::soft_error)
    /// tells which.
    #[error("ICMP error while opening")]
    Unreachable,
}

/// A configuration value the engine cannot work with, refused when the
/// [`Connection`](crate::Connection) or [`Endpoint`](crate::Endpoint) is
/// built ([`Config::validate`](crate::Config::validate),
/// [`EndpointConfig::validate`](crate::EndpointConfig::validate)) rather
/// than accepted to fail later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: `{field}` {rule}")]
pub struct ConfigError {
    /// The field (or buffer) at fault, as named in the config struct.
    pub field: &'static str,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl ConfigError {
    /// `Err` naming `field` and `rule` unless `ok`.
    pub(crate) fn check(ok: bool, field: &'static str, rule: &'static str) -> Result<(), Self> {
        if ok {
            Ok(())
        } else {
            Err(ConfigError { field, rule })
        }
    }
}
