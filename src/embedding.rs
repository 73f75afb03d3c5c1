//! # Embedding tcpstate: a real host, step by step
//!
//! tcpstate does the TCP; the host does everything around it: the packet
//! device, the IP layer, the clock and the applications. This page walks
//! through such a host (a TUN device, a raw socket, a virtual NIC of a
//! unikernel: the shape is the same). `examples/tun.rs` is a complete one
//! over a Linux TUN device; the `tcpstate-tokio` crate is one for tokio
//! applications.
//!
//! ## 1. Set up
//!
//! ```
//! use std::net::Ipv4Addr;
//! use tcpstate::{Endpoint, EndpointConfig};
//!
//! let mut config = EndpointConfig::linux() // Linux's defaults, or rfc9293()
//!     .with_local_addr(Ipv4Addr::new(192, 0, 2, 1))?; // the host's addresses
//! config.rx_buffer = 256 * 1024; // per connection: these bound its memory
//! config.tx_buffer = 256 * 1024;
//! let secret = [7u8; 16]; // from a real random source (RFC 6528)
//! let endpoint = Endpoint::new(config, secret)?; // impossible values are refused here
//! # let _ = endpoint;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The Endpoint only answers for the addresses it was given: a segment
//! to another destination is dropped and counted
//! ([`Counters::not_local`](crate::Counters::not_local)), never answered
//! from an address that is not the host's. A host that terminates
//! connections for any destination (tun2socks, a transparent proxy) sets
//! [`EndpointConfig::transparent`](crate::EndpointConfig::transparent) and
//! listens on `0.0.0.0:0` (a catch-all);
//! [`Endpoint::local_addr`](crate::Endpoint::local_addr) then tells each
//! connection's original destination.
//!
//! ## 2. IP in
//!
//! For each packet the device delivers, the host checks the IP header (the
//! header checksum, fragments: tcpstate sees whole TCP segments) and
//! dispatches on the protocol:
//!
//! - **TCP (6)**: [`Endpoint::on_datagram`](crate::Endpoint::on_datagram)
//!   with the source and destination addresses, the ECN field of the
//!   TOS / traffic-class byte ([`Ecn::from_bits`](crate::Ecn::from_bits))
//!   and the IP payload. The Endpoint verifies the TCP checksum with the
//!   pseudo-header. A host whose application reads as data comes can use
//!   [`Endpoint::on_datagram_recv`](crate::Endpoint::on_datagram_recv):
//!   in-order text then goes straight into the reader's buffer.
//! - **ICMP (1) / ICMPv6 (58)** errors: build the error with
//!   [`IcmpError::from_v4`](crate::IcmpError::from_v4) (type, code, and
//!   for "fragmentation needed" the next-hop MTU) or
//!   [`IcmpError::from_v6`](crate::IcmpError::from_v6), and pass it with
//!   the ICMP payload (the quoted IP header and TCP bytes) to
//!   [`Endpoint::on_icmp`](crate::Endpoint::on_icmp). The Endpoint finds
//!   the connection, checks that the quoted sequence number is one in
//!   flight (RFC 5927), and applies it: a port unreachable fails a
//!   `connect`, "packet too big" lowers the MSS, soft errors are kept.
//! - Anything else is the host's (other protocols, or TCP for an address
//!   that is not ours when the host routes).
//!
//! ## 3. IP out
//!
//! After every call into the Endpoint, drain
//! [`Endpoint::poll_transmit`](crate::Endpoint::poll_transmit) into a
//! buffer placed after room for the IP header: each
//! [`Datagram`](crate::Datagram) says the addresses, where in the buffer
//! the TCP segment was written (checksum included: `start..end`; the
//! payload is written once, the header in front of it) and the ECN
//! codepoint for the IP header. The buffer must hold at least
//! [`MIN_TRANSMIT_BUF`](crate::endpoint::MIN_TRANSMIT_BUF) bytes, and
//! `MAX_HEADER` plus the MSS for full-sized segments.
//!
//! ```
//! use std::net::IpAddr;
//! use tcpstate::{Datagram, Endpoint, Instant};
//! use tcpstate::wire::checksum;
//!
//! /// Writes one IPv4 packet per segment the Endpoint has to send.
//! fn transmit(ep: &mut Endpoint, now: Instant, mut send: impl FnMut(&[u8])) {
//!     let mut packet = [0u8; 20 + 1500];
//!     while let Some(d) = ep.poll_transmit(now, &mut packet[20..]) {
//!         let (IpAddr::V4(src), IpAddr::V4(dst)) = (d.src, d.dst) else { continue };
//!         // The TCP segment is packet[20 + d.start..20 + d.end]: the IP
//!         // header goes right in front of it.
//!         let (first, end) = (d.start, 20 + d.end);
//!         let total = (end - first) as u16;
//!         let header = &mut packet[first..first + 20];
//!         header.copy_from_slice(&[0x45, d.ecn.bits(), 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0,
//!             0, 0, 0, 0, 0, 0, 0, 0]);
//!         header[2..4].copy_from_slice(&total.to_be_bytes());
//!         header[12..16].copy_from_slice(&src.octets());
//!         header[16..20].copy_from_slice(&dst.octets());
//!         let sum = !checksum::fold(checksum::ones_complement_sum(header, 0));
//!         header[10..12].copy_from_slice(&sum.to_be_bytes());
//!         send(&packet[first..end]);
//!     }
//! }
//!
//! // A connect's SYN, as an IPv4 packet.
//! # use tcpstate::EndpointConfig;
//! # let config = EndpointConfig::linux().with_local_addr([192, 0, 2, 1])?;
//! # let mut ep = Endpoint::new(config, [7; 16])?;
//! ep.connect(Instant::ZERO, None, "192.0.2.2:80".parse()?)?;
//! let mut packets = Vec::new();
//! transmit(&mut ep, Instant::ZERO, |p| packets.push(p.to_vec()));
//! assert_eq!(packets.len(), 1);
//! assert_eq!(checksum::fold(checksum::ones_complement_sum(&packets[0][..20], 0)), 0xffff);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 4. One loop for arrivals, time and applications
//!
//! The Endpoint keeps one deadline for the whole host
//! ([`Endpoint::next_deadline`](crate::Endpoint::next_deadline)). The
//! host's loop waits for whichever comes first, a packet or that deadline
//! (one `poll`/`epoll_wait` timeout, or one tokio `sleep_until`), then:
//!
//! 1. reads every packet that is ready and feeds it (step 2);
//! 2. calls [`Endpoint::on_timer`](crate::Endpoint::on_timer) if the
//!    deadline has passed (an early call is harmless; it costs nothing
//!    when no timer is due, whatever the number of connections);
//! 3. runs the applications on the events
//!    ([`Endpoint::poll_event`](crate::Endpoint::poll_event), below);
//! 4. transmits (step 3), and reads `next_deadline` again: sending can
//!    move it.
//!
//! `now` comes from a monotonic clock, as [`Instant`](crate::Instant)
//! microseconds since any epoch the host picks. It never goes backwards;
//! an earlier `now` is taken as the latest one (and counted in
//! [`Counters::clock_regressions`](crate::Counters::clock_regressions)).
//!
//! ## 5. The events, and what to do with each
//!
//! | event | what the host does |
//! |---|---|
//! | `Incoming(listener)` | [`accept`](crate::Endpoint::accept) until it returns `None` |
//! | `SynPending(listener, syn)` | (a listener with [`ListenOptions::filter_syn`](crate::ListenOptions)) decide: [`admit`](crate::Endpoint::admit), [`refuse`](crate::Endpoint::refuse) with a RST, or [`ignore`](crate::Endpoint::ignore) |
//! | `Connected(h)` | the `connect` completed: start writing |
//! | `Readable(h)` | [`recv`](crate::Endpoint::recv) until `Err(WouldBlock)`; `Ok(0)` is the end of the peer's data, `Err(Closed(reason))` a reset or timeout after the data that came first |
//! | `Writable(h)` | [`send`](crate::Endpoint::send) what waits; `Err(WouldBlock)` means the send buffer is full: wait for the next `Writable` |
//! | `StateChanged(h, change)` | nothing required (logs, metrics) |
//! | `Urgent(h)` | the peer sent urgent data (RFC 9293 §3.8.5): it comes in line; `connection(h)`'s [`urgent_mark`](crate::Connection::urgent_mark) says how many bytes to read to reach its end |
//! | `NegativeAdvice(h)` | R1 retransmissions went unanswered (RFC 9293 §3.8.3): tell the IP layer the route to [`peer_addr`](crate::Endpoint::peer_addr) may be bad (try another gateway, refresh the neighbour entry); nothing required |
//! | `Closed(h, reason)` | the handle's last event: nothing is left to read, forget the handle (for a reader that has not seen its end yet, `Normal` is the end of the stream, anything else the error) |
//!
//! A handle stays valid until its `Closed` is polled, or until the
//! application calls `close` or `abort`: a connection that ended still
//! hands over every byte that arrived before its end.
//!
//! ## 6. Closing
//!
//! - [`shutdown`](crate::Endpoint::shutdown): a half-close. The FIN goes
//!   after every byte queued; reading goes on until the peer's end.
//! - [`close`](crate::Endpoint::close): the application is done. Without
//!   unread data the connection finishes on its own (an orphan that still
//!   delivers its data and FIN, bounded by `max_orphans`, `orphan_retries`
//!   and `fin_timeout`); with unread data it is reset (RFC 9293 §3.6.1),
//!   as after [`set_linger(Some(ZERO))`](crate::Endpoint::set_linger).
//! - [`abort`](crate::Endpoint::abort): a RST now.
//!
//! ## 7. Many cores
//!
//! One Endpoint is single-threaded. A host with several cores shards its
//! connections over several Endpoints by a hash of the 4-tuple (as a NIC's
//! RSS does), each with its own loop; nothing is shared between them.
