//! TCP Fast Open (RFC 7413) between two Endpoints: the cookie request and
//! cache (§4.1), data on the SYN with a cookie (§4.1.2), the server taking
//! it before the handshake completes (§4.2.2), the fallbacks (§4.2.2:
//! no option in the SYN,ACK, data not acknowledged, the SYN lost, a wrong
//! cookie), the experimental option as Linux tries it, the presets, the
//! bounded cache and the server keys.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tcpstate::connection::info::TCPI_OPT_SYN_DATA;
use tcpstate::endpoint::{ConnectOptions, Event, FastOpenConfig, ListenOptions};
use tcpstate::wire::{FastOpen, TcpHeader};
use tcpstate::{
    Config, Duration, Ecn, Endpoint, EndpointConfig, EndpointError, Handle, Instant, State,
};

const C: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const S: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));

fn server_addr() -> SocketAddr {
    SocketAddr::new(S, 80)
}

/// A segment on the wire: its header, payload and where it went.
#[derive(Clone, Debug)]
struct Seg {
    h: TcpHeader,
    payload: Vec<u8>,
    bytes: Vec<u8>,
    src: IpAddr,
    dst: IpAddr,
}

struct Link {
    c: Endpoint,
    s: Endpoint,
    now: Instant,
}

fn cfg(ip: IpAddr, fo: FastOpenConfig) -> EndpointConfig {
    let mut c = EndpointConfig::linux().with_local_addr(ip).unwrap();
    c.fast_open = fo;
    c
}

impl Link {
    fn new(client: FastOpenConfig, server: FastOpenConfig) -> Link {
        Link {
            c: Endpoint::new(cfg(C, client), [1; 16]).unwrap(),
            s: Endpoint::new(cfg(S, server), [2; 16]).unwrap(),
            now: Instant::from_secs(10),
        }
    }
    /// Linux's defaults: client on, server on (as a server that enables
    /// it), the listener asking for Fast Open with `qlen`.
    fn linux(qlen: u32) -> (Link, tcpstate::ListenerId) {
        let mut l = Link::new(
            FastOpenConfig::CLIENT,
            FastOpenConfig {
                server: true,
                ..FastOpenConfig::CLIENT
            },
        );
        let id = l.listen_fo(qlen);
        (l, id)
    }
    /// The server listens on `server_addr()` with Fast Open (`qlen`).
    fn listen_fo(&mut self, qlen: u32) -> tcpstate::ListenerId {
        self.s
            .listen_with(
                server_addr(),
                ListenOptions {
                    fast_open: qlen,
                    ..ListenOptions::backlog(16)
                },
            )
            .unwrap()
    }
    /// Linux's tcp_fastopen=0x200 on the server (data without a cookie),
    /// listening with a Fast Open queue of 4.
    fn no_cookie_server(client: FastOpenConfig) -> Link {
        let mut l = Link::new(
            client,
            FastOpenConfig {
                server: true,
                server_no_cookie: true,
                ..FastOpenConfig::OFF
            },
        );
        l.listen_fo(4);
        l
    }
    fn out(ep: &mut Endpoint, now: Instant) -> Vec<Seg> {
        let mut v = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Some(d) = ep.poll_transmit(now, &mut buf) {
            let bytes = d.segment(&buf).to_vec();
            let (h, p) = TcpHeader::parse(&bytes).unwrap();
            v.push(Seg {
                h,
                payload: p.to_vec(),
                bytes: bytes.clone(),
                src: d.src,
                dst: d.dst,
            });
        }
        v
    }
    fn client_out(&mut self) -> Vec<Seg> {
        Self::out(&mut self.c, self.now)
    }
    fn server_out(&mut self) -> Vec<Seg> {
        Self::out(&mut self.s, self.now)
    }
    fn send_server(&mut self, segs: &[Seg]) {
        for s in segs {
            self.s
                .on_datagram(self.now, s.src, s.dst, Ecn::NotEct, &s.bytes);
        }
    }
    fn send_client(&mut self, segs: &[Seg]) {
        for s in segs {
            self.c
                .on_datagram(self.now, s.src, s.dst, Ecn::NotEct, &s.bytes);
        }
    }
    fn events(ep: &mut Endpoint) -> Vec<Event> {
        std::iter::from_fn(|| ep.poll_event()).collect()
    }
    fn connect_fo(&mut self, data: &[u8]) -> (Handle, usize) {
        self.c
            .connect_with_data(
                self.now,
                None,
                server_addr(),
                ConnectOptions::default(),
                data,
            )
            .unwrap()
    }
    /// Runs both ways until quiet (no timers).
    fn settle(&mut self) {
        for _ in 0..20 {
            let a = self.client_out();
            let b = self.server_out();
            if a.is_empty() && b.is_empty() {
                return;
            }
            self.send_server(&a);
            self.send_client(&b);
        }
    }
    /// The server stops taking Fast Open (a new listener without it).
    fn server_stops_fast_open(&mut self, lid: tcpstate::ListenerId) {
        self.s.close_listener(self.now, lid).unwrap();
        self.settle();
        self.s.listen(server_addr(), 16).unwrap();
    }
    /// The client's SYN goes to the server, whose SYN,ACK acknowledges
    /// the SYN alone: the SYN, and what the client sends then.
    fn syn_acked_alone(&mut self) -> (Vec<Seg>, Vec<Seg>) {
        let syn = self.client_out();
        self.send_server(&syn);
        let synack = self.server_out();
        assert_eq!(synack[0].h.ack, syn[0].h.seq.add(1), "only the SYN");
        self.send_client(&synack);
        let again = self.client_out();
        (syn, again)
    }
    /// One connection with a cookie request, to fill the client's cache.
    fn warm_up(&mut self) {
        let (h, n) = self.connect_fo(b"");
        assert_eq!(n, 0);
        let syn = self.client_out();
        assert_eq!(syn[0].h.options.fast_open, Some(FastOpen::request(false)));
        self.send_server(&syn);
        let synack = self.server_out();
        assert!(synack[0].h.options.fast_open.is_some());
        self.send_client(&synack);
        self.settle();
        self.c.abort(self.now, h).unwrap();
        self.settle();
        Self::events(&mut self.c);
        for e in Self::events(&mut self.s) {
            if let Event::Incoming(l) = e
                && let Some(h) = self.s.accept(l)
            {
                self.s.abort(self.now, h).unwrap();
            }
        }
        self.settle();
    }
}

fn read_all(ep: &mut Endpoint, now: Instant, h: Handle) -> Vec<u8> {
    let mut v = Vec::new();
    let mut b = [0u8; 4096];
    while let Ok(n @ 1..) = ep.recv(now, h, &mut b) {
        v.extend_from_slice(&b[..n]);
    }
    v
}

// RFC 7413 §4.1.1-4.1.2 and §4.2.2: the first connection asks for a
// cookie (the option without one, no data); the server answers with its
// cookie, which is SipHash of the two addresses under its key (as Linux);
// the next connection's SYN carries the cookie and data, the server takes
// the data before the handshake completes, the application accepts and
// reads it at once, and the SYN,ACK acknowledges it.
#[test]
fn r7413_cookie_request_then_data_on_the_syn() {
    let (mut l, _) = Link::linux(16);
    let (h, n) = l.connect_fo(b"early");
    assert_eq!(n, 0, "no cookie yet: nothing rides on the SYN");
    let syn = l.client_out();
    assert_eq!(syn.len(), 1);
    assert!(syn[0].payload.is_empty());
    assert_eq!(syn[0].h.options.fast_open, Some(FastOpen::request(false)));
    l.send_server(&syn);
    let synack = l.server_out();
    let cookie = l.s.fast_open_cookie(S, C).unwrap();
    assert_eq!(
        synack[0].h.options.fast_open,
        FastOpen::cookie(&cookie, false)
    );
    l.send_client(&synack);
    assert_eq!(l.c.fast_open_cached(C, S), FastOpen::cookie(&cookie, false));
    // A cookie request's connection carried no SYN data.
    assert_eq!(
        l.c.connection(h).unwrap().info(l.now).options & TCPI_OPT_SYN_DATA,
        0
    );
    l.settle();

    // The second connection: cookie and data on the SYN.
    let (h2, n) = l.connect_fo(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(n, 18);
    let syn = l.client_out();
    assert_eq!(syn.len(), 1);
    // The SYN's data counts as data sent, once (Stats::bytes_out), and
    // dates the last data sent (tcp_info's last_data_sent).
    let c = l.c.connection(h2).unwrap();
    assert_eq!(c.stats().bytes_out, 18);
    let later = l.now + tcpstate::Duration::from_millis(7);
    assert_eq!(c.info(later).last_data_sent, 7);
    assert_eq!(syn[0].payload, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(syn[0].h.options.fast_open, FastOpen::cookie(&cookie, false));
    l.send_server(&syn);
    // The connection is in the accept queue before the handshake ends,
    // with the SYN's data readable.
    let ev = Link::events(&mut l.s);
    let lid = ev
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Incoming(l) => Some(*l),
            _ => None,
        })
        .expect("Incoming at the SYN");
    // The first connection's handshake completed too: take the newest.
    let mut sh = None;
    while let Some(h) = l.s.accept(lid) {
        sh = Some(h);
    }
    let sh = sh.unwrap();
    assert_eq!(l.s.connection(sh).unwrap().state(), State::SynReceived);
    assert_eq!(read_all(&mut l.s, l.now, sh), b"GET / HTTP/1.0\r\n\r\n");
    let synack = l.server_out();
    assert_eq!(synack.len(), 1);
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(1 + 18));
    assert_eq!(
        synack[0].h.options.fast_open, None,
        "a valid cookie gets none back"
    );
    l.send_client(&synack);
    let info = l.c.connection(h2).unwrap().info(l.now);
    assert_ne!(info.options & TCPI_OPT_SYN_DATA, 0);
    // The SYN and its data: one segment delivered (Linux's
    // tcp_rcv_fastopen_synack counts them as one).
    assert_eq!(info.delivered, 1);
    l.settle();
    assert_eq!(l.s.connection(sh).unwrap().state(), State::Established);
    // The accepted child's handshake ends a passive open: no `Connected`
    // (an active open's event).
    let ev = Link::events(&mut l.s);
    assert!(!ev.contains(&Event::Connected(sh)), "{ev:?}");
    let sinfo = l.s.connection(sh).unwrap().info(l.now);
    assert_ne!(sinfo.options & TCPI_OPT_SYN_DATA, 0);
    // Nothing was sent twice.
    assert_eq!(l.c.connection(h2).unwrap().stats().retransmits, 0);
}

// RFC 7413 §4.1.2: the SYN's data is the cached MSS less the option room
// (Linux: 40 bytes); more data waits for the handshake.
#[test]
fn r7413_syn_data_is_bounded_by_the_cached_mss() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    let (h, n) = l.connect_fo(&[7u8; 5000]);
    assert_eq!(n, 1460 - 40);
    assert_eq!(l.c.fast_open_room(h), Some(0));
    let syn = l.client_out();
    assert_eq!(syn[0].payload.len(), 1420);
    // Data sent while the SYN is out waits for the handshake.
    assert_eq!(l.c.send(l.now, h, &[8u8; 100]).unwrap(), 100);
    assert!(l.client_out().is_empty());
}

// RFC 7413 §4.2.2 fallback: a server that does not take Fast Open
// acknowledges only the SYN; the client sends the data again right after
// the handshake.
#[test]
fn r7413_data_not_acknowledged_is_sent_again_after_the_handshake() {
    let (mut l, lid) = Link::linux(16);
    l.warm_up();
    l.server_stops_fast_open(lid);
    let (h, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let (syn, again) = l.syn_acked_alone();
    assert_eq!(syn[0].payload, b"hello");
    let data: Vec<_> = again.iter().filter(|s| !s.payload.is_empty()).collect();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].payload, b"hello");
    assert_eq!(data[0].h.seq, syn[0].h.seq.add(1));
    let c = l.c.connection(h).unwrap();
    assert_eq!(c.info(l.now).options & TCPI_OPT_SYN_DATA, 0);
    assert_eq!(c.stats().retransmits, 1);
    // tcp_info counts it as retransmitted data in flight (Linux's
    // tcpi_retrans), until it is acknowledged.
    assert_eq!(c.info(l.now).retrans, 1);
    l.send_server(&again);
    let ack = l.server_out();
    l.send_client(&ack);
    let c = l.c.connection(h).unwrap();
    assert_eq!(c.info(l.now).retrans, 0);
    // The cookie stays cached (the server may take it again later).
    assert!(l.c.fast_open_cached(C, S).is_some());
}

// RFC 7413 §4.1.3: the SYN's data the SYN,ACK did not acknowledge goes
// again. Config::linux() (linux_push) sends it as the segment it was,
// with PSH, and what was queued behind it in a segment of its own, as
// Linux resends its SYN data buffer; Config::rfc9293()'s client fills
// full-sized segments. (tests/packetdrill/fastopen-client-syn-data-resent.pkt
// pins the Linux preset against what Linux did.)
#[test]
fn r7413_syn_data_sent_again_as_it_was_on_linux_only() {
    for linux in [false, true] {
        let (mut l, lid) = Link::linux(16);
        if !linux {
            let mut c = cfg(C, FastOpenConfig::CLIENT);
            c.conn = Config {
                linux_push: false,
                ..c.conn
            };
            l.c = Endpoint::new(c, [1; 16]).unwrap();
        }
        l.warm_up();
        l.server_stops_fast_open(lid);
        let (h, n) = l.connect_fo(&[7u8; 3000]);
        assert!(n > 0 && n < 3000, "the SYN takes part: {n}");
        assert_eq!(l.c.send(l.now, h, &[8u8; 500]).unwrap(), 500);
        let (syn, again) = l.syn_acked_alone();
        assert_eq!(syn[0].payload.len(), n);
        let data: Vec<_> = again.iter().filter(|s| !s.payload.is_empty()).collect();
        assert_eq!(data[0].h.seq, syn[0].h.seq.add(1));
        if linux {
            assert_eq!(data[0].payload.len(), n, "the SYN's data as it was");
            assert!(data[0].h.flags.psh());
        } else {
            assert!(data[0].payload.len() > n, "a full segment");
        }
    }
}

// Linux: a SYN retransmitted after a Fast Open SYN carries neither the
// option nor data; the data goes after the handshake.
#[test]
fn a_retransmitted_syn_has_no_option_and_no_data() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    let (h, _) = l.connect_fo(b"hello");
    let lost = l.client_out();
    assert_eq!(lost[0].payload, b"hello");
    l.now = l.c.next_deadline().unwrap();
    l.c.on_timer(l.now);
    let syn = l.client_out();
    assert_eq!(syn.len(), 1);
    assert!(syn[0].payload.is_empty());
    assert_eq!(syn[0].h.options.fast_open, None);
    l.send_server(&syn);
    let synack = l.server_out();
    l.send_client(&synack);
    let data: Vec<_> = l
        .client_out()
        .into_iter()
        .filter(|s| !s.payload.is_empty())
        .collect();
    assert_eq!(data[0].payload, b"hello");
    assert_eq!(l.c.connection(h).unwrap().state(), State::Established);
}

// RFC 7413 §4.2.2: the server may send data before the handshake
// completes. A Fast Open child the application accepted in SYN-RECEIVED
// and wrote to goes into the transmit queue at once: its data follows
// the SYN,ACK without waiting for the client's ACK.
#[test]
fn a_fast_open_child_written_to_before_the_final_ack_sends_at_once() {
    let (mut l, lid) = Link::linux(16);
    l.warm_up();
    let (_, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let syn = l.client_out();
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack.len(), 1);
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(6), "the SYN's data taken");
    let h = Link::events(&mut l.s)
        .into_iter()
        .find_map(|e| match e {
            Event::Incoming(x) if x == lid => l.s.accept(x),
            _ => None,
        })
        .expect("the child is accepted in SYN-RECEIVED");
    assert_eq!(l.s.connection(h).unwrap().state(), State::SynReceived);
    assert_eq!(l.s.send(l.now, h, b"reply"), Ok(5));
    let data = l.server_out();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].payload, b"reply");
    assert_eq!(data[0].h.seq, synack[0].h.seq.add(1));
}

// Linux: a retransmitted SYN,ACK carries no Fast Open option
// (`tcp_rtx_synack` builds it without the cookie): the server's cookie
// goes out once, in its first SYN,ACK (RFC 7413 §4.1.2).
#[test]
fn a_retransmitted_syn_ack_carries_no_cookie() {
    let (mut l, _) = Link::linux(16);
    let (_, n) = l.connect_fo(b"");
    assert_eq!(n, 0);
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, Some(FastOpen::request(false)));
    l.send_server(&syn);
    let lost = l.server_out();
    assert_eq!(lost.len(), 1);
    assert!(
        lost[0].h.options.fast_open.is_some(),
        "the first has the cookie"
    );
    l.now = l.s.next_deadline().unwrap();
    l.s.on_timer(l.now);
    let again = l.server_out();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].h.flags, lost[0].h.flags, "a SYN,ACK again");
    assert_eq!(again[0].h.options.fast_open, None);
}

// RFC 7413 §4.2.2: a wrong cookie opens no Fast Open connection (only the
// SYN is taken) and the SYN,ACK carries the right cookie, which the
// client caches.
#[test]
fn r7413_a_wrong_cookie_gets_the_right_one() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    let good = l.c.fast_open_cached(C, S).unwrap();
    // The server's key changes: the cached cookie is wrong now.
    l.s.set_fast_open_key([9; 16], None);
    let (_, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let syn = l.client_out();
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(1));
    let new = synack[0].h.options.fast_open.unwrap();
    assert_ne!(new, good);
    l.send_client(&synack);
    assert_eq!(l.c.fast_open_cached(C, S), Some(new));
}

// RFC 7413 §4.1.2 key rotation: a cookie of the backup key is taken, and
// the client gets the primary key's cookie back.
#[test]
fn r7413_backup_key_cookies_are_taken_and_replaced() {
    let (mut l, _) = Link::linux(16);
    let old_key = [3; 16];
    l.s.set_fast_open_key(old_key, None);
    l.warm_up();
    let old = l.c.fast_open_cached(C, S).unwrap();
    l.s.set_fast_open_key([4; 16], Some(old_key));
    let (_, _) = l.connect_fo(b"hi");
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, Some(old));
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(3), "data taken");
    let new = synack[0].h.options.fast_open.unwrap();
    assert_eq!(new.bytes(), l.s.fast_open_cookie(S, C).unwrap());
}

// Linux's fallback to the experimental option: a cookie request that gets
// no answer is repeated in the experimental form (kind 254, 0xF989); when
// that gets none either, the RFC form is used for good.
#[test]
fn unanswered_requests_try_the_experimental_form_once() {
    let mut l = Link::new(FastOpenConfig::CLIENT, FastOpenConfig::OFF);
    l.s.listen(server_addr(), 16).unwrap();
    let mut forms = Vec::new();
    for _ in 0..4 {
        let (h, _) = l.connect_fo(b"x");
        let syn = l.client_out();
        forms.push(syn[0].h.options.fast_open);
        l.send_server(&syn);
        l.settle();
        l.c.abort(l.now, h).unwrap();
        l.settle();
    }
    assert_eq!(
        forms,
        [
            Some(FastOpen::request(false)),
            Some(FastOpen::request(true)),
            Some(FastOpen::request(false)),
            Some(FastOpen::request(false)),
        ]
    );
}

// A server that answers in the experimental form keeps being sent that
// form with its cookie.
#[test]
fn an_experimental_cookie_is_sent_back_in_that_form() {
    let (mut l, _) = Link::linux(16);
    let mut exp = None;
    for round in 0..3 {
        let (h, _) = l.connect_fo(b"data");
        let mut syn = l.client_out();
        if round == 0 {
            // The first request in the experimental form (as a client that
            // tried the RFC form before would send it).
            let mut hdr = syn[0].h;
            hdr.options.fast_open = Some(FastOpen::request(true));
            let mut b = vec![0u8; hdr.header_len()];
            hdr.emit(&mut b).unwrap();
            tcpstate::wire::checksum::fill_checksum_v4([192, 0, 2, 1], [198, 51, 100, 1], &mut b);
            syn[0].bytes = b;
        }
        l.send_server(&syn);
        let synack = l.server_out();
        if round == 0 {
            exp = synack[0].h.options.fast_open;
            assert!(exp.unwrap().is_exp());
            // The client asked in the RFC form: an answer in the other
            // form is still a cookie (Linux keeps its form).
        } else {
            assert_eq!(syn[0].h.options.fast_open, exp);
        }
        l.send_client(&synack);
        l.settle();
        l.c.abort(l.now, h).unwrap();
        l.settle();
    }
}

// The presets: RFC 9293 has no Fast Open (RFC 7413 is experimental), and
// a Fast Open connect is refused as Linux refuses it with tcp_fastopen=0
// (EOPNOTSUPP); Linux's default takes it on the client side, while a
// listener without the option answers no cookie request.
#[test]
fn presets() {
    let mut ep = Endpoint::new(
        EndpointConfig::rfc9293().with_local_addr(C).unwrap(),
        [1; 16],
    )
    .unwrap();
    let opts = ConnectOptions {
        fast_open: true,
        ..ConnectOptions::default()
    };
    assert_eq!(
        ep.connect_with(Instant::ZERO, None, server_addr(), opts),
        Err(EndpointError::Unsupported)
    );
    assert_eq!(EndpointConfig::linux().fast_open, FastOpenConfig::CLIENT);
    let mut l = Link::new(FastOpenConfig::CLIENT, FastOpenConfig::CLIENT);
    l.s.listen(server_addr(), 16).unwrap();
    l.connect_fo(b"x");
    let syn = l.client_out();
    assert!(syn[0].h.options.fast_open.is_some());
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.options.fast_open, None);
    // A plain connect never carries the option.
    let h = l.c.connect(l.now, None, SocketAddr::new(S, 81)).unwrap();
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, None);
    let _ = h;
}

// Linux's tcp_fastopen=0x200 and 0x4: a server that takes data without a
// cookie, a client that sends it without one (and without the option).
#[test]
fn data_without_cookies_when_both_ends_allow_it() {
    let mut l = Link::no_cookie_server(FastOpenConfig {
        client_no_cookie: true,
        ..FastOpenConfig::CLIENT
    });
    let (_, n) = l.connect_fo(b"no cookie");
    assert_eq!(n, 9);
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, None);
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(10));
}

// RFC 7413 §5.1: a listener bounds the Fast Open connections waiting for
// their handshake's end; past it a SYN's data is not taken.
#[test]
fn r7413_pending_fast_open_connections_are_bounded() {
    let (mut l, _) = Link::linux(1);
    l.warm_up();
    let mut acked = Vec::new();
    for _ in 0..2 {
        let (_, _) = l.connect_fo(b"abc");
        let syn = l.client_out();
        l.send_server(&syn);
        let synack = l.server_out();
        acked.push(synack[0].h.ack.dist(syn[0].h.seq));
    }
    assert_eq!(acked, [4, 1]);
}

// Linux's tcp_fastopen bit 0x400 (TFO_SERVER_WO_SOCKOPT1, `inet_listen`):
// with the server on, a listener that did not ask for Fast Open takes it
// all the same, its Fast Open queue as long as its backlog (here 16: two
// Fast Open SYNs in a row both have their data taken); one that asked
// keeps the queue it asked for (here 1: the second SYN's data is not
// taken, RFC 7413 §5.1).
#[test]
fn every_listener_takes_fast_open_when_the_server_says_so() {
    let server = FastOpenConfig {
        server: true,
        server_all_listeners: true,
        ..FastOpenConfig::CLIENT
    };
    let mut acked = Vec::new();
    for qlen in [0, 1] {
        let mut l = Link::new(FastOpenConfig::CLIENT, server);
        l.listen_fo(qlen);
        l.warm_up();
        let mut a = Vec::new();
        for _ in 0..2 {
            let (_, n) = l.connect_fo(b"abc");
            assert_eq!(n, 3, "a cookie is cached");
            let syn = l.client_out();
            l.send_server(&syn);
            let synack = l.server_out();
            a.push(synack[0].h.ack.dist(syn[0].h.seq));
        }
        acked.push(a);
    }
    assert_eq!(acked, [[4, 4], [4, 1]]);
}

// RFC 7413 §4.1.1: the client's cache is bounded; the least recently used
// server is forgotten first.
#[test]
fn the_cookie_cache_is_bounded() {
    let mut ccfg = cfg(C, FastOpenConfig::CLIENT);
    ccfg.fast_open_cache = 2;
    let mut c = Endpoint::new(ccfg, [1; 16]).unwrap();
    let mut now = Instant::from_secs(1);
    for last in 1..=3u8 {
        let sip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, last));
        let mut s = Endpoint::new(
            cfg(
                sip,
                FastOpenConfig {
                    server: true,
                    ..FastOpenConfig::OFF
                },
            ),
            [last; 16],
        )
        .unwrap();
        s.listen_with(
            SocketAddr::new(sip, 80),
            ListenOptions {
                fast_open: 4,
                ..ListenOptions::backlog(4)
            },
        )
        .unwrap();
        c.connect_with_data(
            now,
            None,
            SocketAddr::new(sip, 80),
            ConnectOptions::default(),
            b"",
        )
        .unwrap();
        let syn = Link::out(&mut c, now);
        for d in &syn {
            s.on_datagram(now, d.src, d.dst, Ecn::NotEct, &d.bytes);
        }
        for d in Link::out(&mut s, now) {
            c.on_datagram(now, d.src, d.dst, Ecn::NotEct, &d.bytes);
        }
        now += Duration::from_millis(1);
    }
    let cached: Vec<bool> = (1..=3u8)
        .map(|last| {
            c.fast_open_cached(C, IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)))
                .is_some()
        })
        .collect();
    assert_eq!(cached, [false, true, true]);
    // Linux's `ip tcp_metrics flush`: the two cached servers are forgotten.
    c.clear_fast_open_cache();
    for last in 1..=3u8 {
        let sip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, last));
        assert_eq!(c.fast_open_cached(C, sip), None, "198.51.100.{last}");
    }
}

// A simultaneous open on a Fast Open SYN with data (RFC 9293 §3.5 with
// RFC 7413): the peer's SYN crosses ours; the SYN,ACK we send carries no
// data, and what our SYN carried is sent again unless acknowledged.
#[test]
fn simultaneous_open_with_syn_data() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    let (h, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let syn = l.client_out();
    // The peer's own SYN (not an answer to ours), built from ours.
    let mut hdr = syn[0].h;
    hdr.src_port = syn[0].h.dst_port;
    hdr.dst_port = syn[0].h.src_port;
    hdr.seq = tcpstate::SeqNum(5000);
    hdr.options.fast_open = None;
    let mut b = vec![0u8; hdr.header_len()];
    hdr.emit(&mut b).unwrap();
    tcpstate::wire::checksum::fill_checksum_v4([198, 51, 100, 1], [192, 0, 2, 1], &mut b);
    l.c.on_datagram(l.now, S, C, Ecn::NotEct, &b);
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::new();
    while let Some(d) = l.c.poll_transmit(l.now, &mut buf) {
        out.push(TcpHeader::parse(d.segment(&buf)).unwrap().0);
        assert!(out.len() < 10, "poll_transmit does not end: {out:#?}");
    }
    assert_eq!(l.c.connection(h).unwrap().state(), State::SynReceived);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].flags.syn() && out[0].flags.ack());
    // The peer's SYN,ACK of our SYN and its data.
    let mut sa = hdr;
    sa.flags = tcpstate::wire::Flags::SYN | tcpstate::wire::Flags::ACK;
    sa.ack = syn[0].h.seq.add(6);
    let mut b = vec![0u8; sa.header_len()];
    sa.emit(&mut b).unwrap();
    tcpstate::wire::checksum::fill_checksum_v4([198, 51, 100, 1], [192, 0, 2, 1], &mut b);
    l.now += Duration::from_millis(45);
    l.c.on_datagram(l.now, S, C, Ecn::NotEct, &b);
    let mut out = Vec::new();
    for _ in 0..20 {
        while let Some(d) = l.c.poll_transmit(l.now, &mut buf) {
            out.push(TcpHeader::parse(d.segment(&buf)).unwrap().0);
            assert!(out.len() < 10, "poll_transmit does not end: {out:#?}");
        }
        match l.c.next_deadline() {
            Some(t) if t <= l.now + Duration::from_millis(50) => {
                l.now = l.now.max(t);
                l.c.on_timer(l.now);
            }
            _ => break,
        }
    }
    assert!(out.len() < 5, "{out:#?}");
}

// RFC 7413 §4.2.1 on a standalone Connection: `connect_fast_open` answers
// as `connect` does (SYN-SENT, a SYN to send, the retransmission timer).
#[test]
fn connect_fast_open_reports_what_connect_reports() {
    use tcpstate::{Buffers, Config, Connection, SeqNum};
    let now = Instant::from_millis(1);
    let mut c = Connection::new(Config::linux(), Buffers::with_capacity(4096, 4096)).unwrap();
    let mut plain = Connection::new(Config::linux(), Buffers::with_capacity(4096, 4096)).unwrap();
    let a = c.connect_fast_open(now, SeqNum(100), 1000).unwrap();
    let b = plain.connect(now, SeqNum(100)).unwrap();
    assert_eq!(a, b);
    assert!(a.transmit());
    assert!(a.timer().is_some());
    let ch: Vec<_> = a.state_changes().map(|c| c.to).collect();
    assert_eq!(ch, vec![State::SynSent]);
}

/// `Connection::fast_open_room` is `Some` only for a Fast Open connection
/// in SYN-SENT whose SYN has not gone out yet (RFC 7413 §4.2.1: data can
/// ride on the first SYN only): `None` for a new connection, for a plain
/// active open, and once the SYN went out.
#[test]
fn fast_open_room_only_before_a_fast_open_syn() {
    use tcpstate::{Buffers, Config, Connection, SeqNum};
    let now = Instant::from_secs(1);
    let fresh = || Connection::new(Config::linux(), Buffers::with_capacity(4096, 4096)).unwrap();
    let c = fresh();
    assert_eq!(c.fast_open_room(), None, "a new connection");
    let mut plain = fresh();
    let _ = plain.connect(now, SeqNum(0)).unwrap();
    assert_eq!(
        plain.fast_open_room(),
        None,
        "a plain active open before its SYN"
    );
    let mut fo = fresh();
    let _ = fo.connect_fast_open(now, SeqNum(0), 0).unwrap();
    assert!(
        fo.fast_open_room().is_some(),
        "a Fast Open SYN not sent yet"
    );
    let mut buf = [0u8; 2048];
    assert!(
        fo.poll_transmit(now, &mut buf)
            .is_some_and(|t| t.flags.syn())
    );
    assert_eq!(fo.fast_open_room(), None, "the SYN went out");
}

/// The data on a Fast Open SYN (RFC 7413 §4.2.2) is taken at once:
/// readable, counted in `bytes_in`, acknowledged by the SYN,ACK; a Fast
/// Open SYN without data makes nothing readable.
#[test]
fn syn_data_is_counted_and_an_empty_syn_is_not_readable() {
    use tcpstate::wire::{Segment, TcpOptions};
    use tcpstate::{Buffers, Config, Connection, SeqNum};
    let now = Instant::from_secs(1);
    for data in [&b""[..], &b"0123456789"[..]] {
        let syn = Segment {
            seq: SeqNum(5000),
            ack: SeqNum(0),
            flags: tcpstate::Flags::SYN,
            window: 65535,
            urgent: 0,
            options: TcpOptions::NONE,
            payload: data,
        };
        let (c, a) = Connection::accept_fast_open(
            Config::linux(),
            Buffers::with_capacity(4096, 4096),
            now,
            &syn,
            SeqNum(9000),
        )
        .expect("accepted");
        assert_eq!(a.readable(), !data.is_empty(), "{} bytes", data.len());
        assert_eq!(c.stats().bytes_in, data.len() as u64);
        assert_eq!(c.recv_queue(), data.len());
        assert_eq!(c.rcv_nxt(), SeqNum(5001 + data.len() as u32));
    }
}

/// A server's segment as it would be with `f` applied to its header
/// (checksum filled again).
fn rewritten(seg: &Seg, f: impl FnOnce(&mut TcpHeader)) -> Seg {
    let mut h = seg.h;
    f(&mut h);
    let mut b = vec![0u8; h.header_len() + seg.payload.len()];
    h.emit(&mut b).unwrap();
    b[h.header_len()..].copy_from_slice(&seg.payload);
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (seg.src, seg.dst) else {
        panic!("IPv4 only");
    };
    tcpstate::wire::checksum::fill_checksum_v4(src.octets(), dst.octets(), &mut b);
    Seg {
        h,
        bytes: b,
        ..seg.clone()
    }
}

/// Linux's key `a0bf63f7-ed803d81-cd641d30-cebc4a90` as 16 bytes (as in
/// the library's `fastopen` unit tests).
const LINUX_KEY: [u8; 16] = [
    0xf7, 0x63, 0xbf, 0xa0, 0x81, 0x3d, 0x80, 0xed, 0x30, 0x1d, 0x64, 0xcd, 0x90, 0x4a, 0xbc, 0xce,
];

// RFC 7413 §4.1.2: a server's cookies must be unpredictable to others: a
// new Endpoint's key is derived from its secret (two secrets, two
// cookies; one secret, one cookie). A host given Linux's key
// (`net.ipv4.tcp_fastopen_key`) gives Linux's cookie (google/packetdrill's
// fastopen/server/simple1.pkt: 10.248.0.2 to 192.168.0.2).
#[test]
fn r7413_the_server_key_comes_from_the_secret_or_the_host() {
    let server = FastOpenConfig {
        server: true,
        ..FastOpenConfig::OFF
    };
    let cookie = |secret: [u8; 16]| {
        Endpoint::new(cfg(S, server), secret)
            .unwrap()
            .fast_open_cookie(S, C)
            .unwrap()
    };
    assert_ne!(cookie([2; 16]), cookie([7; 16]));
    assert_ne!(cookie([0; 16]), cookie([1; 16]));
    assert_eq!(cookie([7; 16]), cookie([7; 16]));
    let mut ep = Endpoint::new(cfg(S, server), [2; 16]).unwrap();
    ep.set_fast_open_key(LINUX_KEY, None);
    let client = IpAddr::V4(Ipv4Addr::new(10, 248, 0, 2));
    let local = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2));
    assert_eq!(
        ep.fast_open_cookie(local, client),
        Some([0x00, 0xab, 0xaa, 0xab, 0xe8, 0xe9, 0x54, 0xc2])
    );
}

// RFC 7413 §4.1.1 and Linux's tcp_fastopen_cache_set: the client caches
// the server's MSS with its cookie, and the next SYN's data is bounded by
// it (less the 40 bytes of option room), not by our own MSS; a SYN,ACK
// whose MSS option is 0 leaves the cached MSS as it was (`if (mss)`).
#[test]
fn r7413_syn_data_is_bounded_by_the_servers_cached_mss() {
    let (mut l, _) = Link::linux(16);
    // A server MSS of 1000 (ours is 1460).
    let mut scfg = cfg(
        S,
        FastOpenConfig {
            server: true,
            ..FastOpenConfig::CLIENT
        },
    );
    scfg.conn.mss = 1000;
    l.s = Endpoint::new(scfg, [2; 16]).unwrap();
    l.listen_fo(16);
    l.warm_up();
    let (h, n) = l.connect_fo(&[7u8; 5000]);
    assert_eq!(n, 1000 - 40);
    let syn = l.client_out();
    assert_eq!(syn[0].payload.len(), 960);
    l.send_server(&syn);
    // The SYN,ACK as if its MSS option said 0.
    let synack = l.server_out();
    assert_eq!(synack[0].h.options.mss, Some(1000));
    let zero = rewritten(&synack[0], |h| h.options.mss = Some(0));
    l.send_client(&[zero]);
    assert_eq!(
        l.c.connection(h).unwrap().state(),
        State::Established,
        "the SYN,ACK was taken"
    );
    l.c.abort(l.now, h).unwrap();
    l.settle();
    let (_, n) = l.connect_fo(&[7u8; 5000]);
    assert_eq!(n, 960, "the cached MSS stays 1000");
}

// Linux's net.ipv4.tcp_fastopen is read at each SYN: turning the server
// bit off stops a listener that asked for Fast Open from answering cookie
// requests at once; turning it on again brings the cookies back.
#[test]
fn the_server_bit_is_read_at_each_syn() {
    let (mut l, _) = Link::linux(16);
    let on = l.s.fast_open_config();
    assert!(on.server);
    l.s.set_fast_open_config(FastOpenConfig::CLIENT);
    assert_eq!(l.s.fast_open_config(), FastOpenConfig::CLIENT);
    // The unanswered request is asked again in the experimental form.
    for (round, answered) in [(0, false), (1, true)] {
        let (h, _) = l.connect_fo(b"");
        let syn = l.client_out();
        assert_eq!(
            syn[0].h.options.fast_open,
            Some(FastOpen::request(round == 1))
        );
        l.send_server(&syn);
        let synack = l.server_out();
        assert_eq!(
            synack[0].h.options.fast_open.is_some(),
            answered,
            "round {round}"
        );
        l.send_client(&synack);
        l.settle();
        l.c.abort(l.now, h).unwrap();
        l.settle();
        l.s.set_fast_open_config(on);
    }
}

// A filtering listener (ListenOptions::filter_syn) takes no Fast Open: the
// SYN's data would reach the application before its verdict. The SYN with
// a valid cookie and data is held; once admitted, only the SYN is
// acknowledged, and the client sends its data again after the handshake.
#[test]
fn a_filtering_listener_takes_no_syn_data() {
    let (mut l, lid) = Link::linux(16);
    l.warm_up();
    l.s.close_listener(l.now, lid).unwrap();
    l.settle();
    let fid =
        l.s.listen_with(
            server_addr(),
            ListenOptions {
                fast_open: 16,
                filter_syn: true,
                ..ListenOptions::backlog(16)
            },
        )
        .unwrap();
    let (_, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let syn = l.client_out();
    assert!(syn[0].h.options.fast_open.is_some());
    l.send_server(&syn);
    assert!(l.server_out().is_empty(), "held for the verdict");
    let pending = Link::events(&mut l.s)
        .into_iter()
        .find_map(|e| match e {
            Event::SynPending(id, p) if id == fid => Some(p),
            _ => None,
        })
        .expect("SynPending");
    l.s.admit(l.now, pending).unwrap();
    let synack = l.server_out();
    assert_eq!(synack.len(), 1);
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(1), "only the SYN");
    assert_eq!(synack[0].h.options.fast_open, None);
}

// Linux's tcp_fastopen=0x200 takes data on a SYN without a cookie; a SYN
// with neither data nor the option is still an ordinary SYN: its
// connection reaches the accept queue when the handshake ends, not at
// the SYN.
#[test]
fn without_cookies_a_plain_syn_waits_for_the_handshake() {
    let mut l = Link::no_cookie_server(FastOpenConfig::CLIENT);
    l.c.connect(l.now, None, server_addr()).unwrap();
    let syn = l.client_out();
    assert!(syn[0].payload.is_empty());
    assert_eq!(syn[0].h.options.fast_open, None);
    l.send_server(&syn);
    let early: Vec<Event> = Link::events(&mut l.s);
    assert!(
        !early.iter().any(|e| matches!(e, Event::Incoming(_))),
        "{early:?}"
    );
    l.settle();
    let late: Vec<Event> = Link::events(&mut l.s);
    assert!(
        late.iter().any(|e| matches!(e, Event::Incoming(_))),
        "{late:?}"
    );
}

// Linux's TCP_FASTOPEN_KEY: a listener with a key of its own checks
// cookies with that key only; the host's backup key (RFC 7413 §4.1.2
// rotation) is for listeners on the host's key. A cookie of the host's
// backup key is wrong for it: only the SYN is taken and the listener's
// cookie goes back, with which the next SYN's data is taken.
#[test]
fn a_listener_key_of_its_own_ignores_the_hosts_backup_key() {
    let (mut l, lid) = Link::linux(16);
    let old = [3; 16];
    l.s.set_fast_open_key(old, None);
    l.warm_up();
    let old_cookie = l.c.fast_open_cached(C, S).unwrap();
    l.s.set_fast_open_key([4; 16], Some(old));
    l.s.set_listener_fast_open_key(lid, [5; 16]).unwrap();
    let (h, _) = l.connect_fo(b"hello");
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, Some(old_cookie));
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(1), "only the SYN");
    let new = synack[0].h.options.fast_open.unwrap();
    assert_ne!(new, old_cookie);
    assert_ne!(
        new.bytes(),
        l.s.fast_open_cookie(S, C).unwrap(),
        "not the host's key"
    );
    l.send_client(&synack);
    l.settle();
    l.c.abort(l.now, h).unwrap();
    l.settle();
    assert_eq!(l.c.fast_open_cached(C, S), Some(new));
    let (_, _) = l.connect_fo(b"hello");
    let syn = l.client_out();
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(6), "data taken");
}

// Linux's TCP_FASTOPEN on a listening socket: its queue length can be
// changed after listen (0: no Fast Open for it); a stale listener is an
// error for it and for TCP_FASTOPEN_KEY.
#[test]
fn a_listeners_fast_open_queue_can_be_changed() {
    let (mut l, lid) = Link::linux(16);
    l.warm_up();
    let mut acked = Vec::new();
    for q in [0, 1] {
        l.s.set_listener_fast_open(lid, q).unwrap();
        let (h, _) = l.connect_fo(b"abc");
        let syn = l.client_out();
        l.send_server(&syn);
        let synack = l.server_out();
        acked.push(synack[0].h.ack.dist(syn[0].h.seq));
        l.send_client(&synack);
        l.settle();
        l.c.abort(l.now, h).unwrap();
        l.settle();
    }
    assert_eq!(acked, [1, 4]);
    l.s.close_listener(l.now, lid).unwrap();
    assert_eq!(
        l.s.set_listener_fast_open(lid, 4),
        Err(EndpointError::UnknownHandle)
    );
    assert_eq!(
        l.s.set_listener_fast_open_key(lid, [1; 16]),
        Err(EndpointError::UnknownHandle)
    );
}

// Linux's tcp_rcv_fastopen_synack: a SYN,ACK without a cookie after our
// cookie request timed out says nothing of the server's Fast Open (the
// retransmitted SYN had no option): the next request is in the RFC form
// again, not the experimental one an unanswered request leads to
// (unanswered_requests_try_the_experimental_form_once).
#[test]
fn a_lost_cookie_request_does_not_switch_forms() {
    let mut l = Link::new(FastOpenConfig::CLIENT, FastOpenConfig::OFF);
    l.s.listen(server_addr(), 16).unwrap();
    let (h, _) = l.connect_fo(b"");
    let lost = l.client_out();
    assert_eq!(lost[0].h.options.fast_open, Some(FastOpen::request(false)));
    l.now = l.c.next_deadline().unwrap();
    l.c.on_timer(l.now);
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, None);
    l.send_server(&syn);
    l.settle();
    assert_eq!(l.c.connection(h).unwrap().state(), State::Established);
    l.c.abort(l.now, h).unwrap();
    l.settle();
    let (_, _) = l.connect_fo(b"");
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, Some(FastOpen::request(false)));
}

// The cookie cache learns only from a Fast Open connection's SYN,ACK
// (RFC 7413 §4.1.1): a plain connection to another server neither adds
// an entry nor, with a cache of one, pushes the cached cookie out.
#[test]
fn plain_connections_leave_the_cookie_cache_alone() {
    let (mut l, _) = Link::linux(16);
    let mut ccfg = cfg(C, FastOpenConfig::CLIENT);
    ccfg.fast_open_cache = 1;
    l.c = Endpoint::new(ccfg, [1; 16]).unwrap();
    l.warm_up();
    let cookie = l.c.fast_open_cached(C, S);
    assert!(cookie.is_some());
    let s2 = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
    let mut other = Endpoint::new(cfg(s2, FastOpenConfig::OFF), [3; 16]).unwrap();
    other.listen(SocketAddr::new(s2, 80), 4).unwrap();
    let h = l.c.connect(l.now, None, SocketAddr::new(s2, 80)).unwrap();
    for _ in 0..4 {
        for d in Link::out(&mut l.c, l.now) {
            other.on_datagram(l.now, d.src, d.dst, Ecn::NotEct, &d.bytes);
        }
        for d in Link::out(&mut other, l.now) {
            l.c.on_datagram(l.now, d.src, d.dst, Ecn::NotEct, &d.bytes);
        }
        l.c.send(l.now, h, b"x").unwrap();
    }
    assert_eq!(l.c.connection(h).unwrap().state(), State::Established);
    assert_eq!(l.c.fast_open_cached(C, S), cookie);
}

// Linux's tcp_fastopen_cache_set: a SYN,ACK to a SYN that carried data
// never moves the client to the experimental form, even when the cookie
// it came with is gone from the cache by then (flushed while the SYN was
// out): the next request is in the RFC form.
#[test]
fn a_syn_with_data_never_leads_to_the_experimental_form() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    let (h, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let syn = l.client_out();
    l.c.clear_fast_open_cache();
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(synack[0].h.ack, syn[0].h.seq.add(6), "data taken");
    assert_eq!(synack[0].h.options.fast_open, None);
    l.send_client(&synack);
    l.settle();
    l.c.abort(l.now, h).unwrap();
    l.settle();
    assert_eq!(l.c.fast_open_cached(C, S), None);
    let (_, _) = l.connect_fo(b"");
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, Some(FastOpen::request(false)));
}

// A SYN takes its Fast Open option from the cache when it goes out: a
// connection opened without a cookie in the no-cookie mode (0x4, data
// taken, no option planned) whose SYN is polled after another
// connection's SYN,ACK brought a cookie carries that cookie, and the
// server (which wants one) takes its data.
#[test]
fn a_syn_carries_the_cookie_cached_when_it_goes_out() {
    let (mut l, _) = Link::linux(16);
    let (a, _) = l.connect_fo(b"");
    let request = l.client_out();
    assert_eq!(
        request[0].h.options.fast_open,
        Some(FastOpen::request(false))
    );
    l.c.set_fast_open_config(FastOpenConfig {
        client_no_cookie: true,
        ..FastOpenConfig::CLIENT
    });
    let (b, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5, "no cookie: data taken without one");
    // The first connection's SYN,ACK brings the cookie before the second
    // SYN is polled.
    l.send_server(&request);
    let synack = l.server_out();
    l.send_client(&synack);
    let cookie = l.c.fast_open_cached(C, S).expect("cached");
    let syn: Vec<Seg> = l
        .client_out()
        .into_iter()
        .filter(|s| s.h.flags.syn())
        .collect();
    assert_eq!(syn.len(), 1);
    assert_eq!(syn[0].payload, b"hello");
    assert_eq!(syn[0].h.options.fast_open, Some(cookie));
    l.send_server(&syn);
    let synack = l.server_out();
    let to_b: Vec<&Seg> = synack
        .iter()
        .filter(|s| s.h.flags.syn() && s.h.dst_port == syn[0].h.src_port)
        .collect();
    assert_eq!(to_b[0].h.ack, syn[0].h.seq.add(6), "data taken");
    let _ = (a, b);
}

// Linux's tcp_rcv_fastopen_synack: a cookie in the SYN,ACK of a SYN that
// carried no Fast Open option (0x4: data without a cookie) was not asked
// for, and is not cached.
#[test]
fn an_unsolicited_cookie_is_not_cached() {
    let mut l = Link::no_cookie_server(FastOpenConfig {
        client_no_cookie: true,
        ..FastOpenConfig::CLIENT
    });
    let (h, n) = l.connect_fo(b"hi");
    assert_eq!(n, 2);
    let syn = l.client_out();
    assert_eq!(syn[0].h.options.fast_open, None);
    l.send_server(&syn);
    let synack = l.server_out();
    let offered = FastOpen::cookie(&[7; 8], false);
    let with_cookie = rewritten(&synack[0], |h| h.options.fast_open = offered);
    l.send_client(&[with_cookie]);
    assert_eq!(l.c.connection(h).unwrap().state(), State::Established);
    assert_eq!(l.c.fast_open_cached(C, S), None);
}

// A Fast Open child is in its listener's accept queue from its SYN on
// (Linux `tcp_fastopen_create_child`, RFC 7413 §4.2.2). One that ends
// there before the application accepts it (its SYN,ACK never answered,
// the SYN-RECEIVED retries spent: RFC 9293 §3.8.3, R2) takes nothing else
// out of the queue: the connection established beside it is still
// accepted.
#[test]
fn a_fast_open_child_ending_unaccepted_leaves_the_rest_of_the_accept_queue() {
    let mut l = Link::new(
        FastOpenConfig {
            client_no_cookie: true,
            ..FastOpenConfig::CLIENT
        },
        FastOpenConfig {
            server: true,
            server_no_cookie: true,
            ..FastOpenConfig::OFF
        },
    );
    let lid = l.listen_fo(4);
    // A plain connection, established and left in the accept queue.
    let plain = l.c.connect(l.now, None, server_addr()).unwrap();
    l.settle();
    let plain_addr = l.c.local_addr(plain).unwrap();
    // A Fast Open child whose SYN,ACK is lost, and a client gone silent.
    let (_, n) = l.connect_fo(b"abc");
    assert_eq!(n, 3);
    let syn = l.client_out();
    l.send_server(&syn);
    let synack = l.server_out();
    assert_eq!(
        synack[0].h.ack,
        syn[0].h.seq.add(4),
        "the child took the data"
    );
    assert_eq!(l.s.queue_lengths(lid), Some((2, 0)));
    for _ in 0..300 {
        l.now += Duration::from_secs(1);
        l.s.on_timer(l.now);
        l.server_out();
    }
    let accepted: Vec<_> = std::iter::from_fn(|| l.s.accept(lid)).collect();
    let h = accepted
        .iter()
        .copied()
        .find(|&h| l.s.peer_addr(h) == Some(plain_addr))
        .expect("the established connection is still in the accept queue");
    assert_eq!(l.s.connection(h).unwrap().state(), State::Established);
}

/// A Fast Open child whose SYN,ACK is never answered ends with ETIMEDOUT
/// after one retry more than `tcp_synack_retries` (Linux's
/// `tcp_fastopen_synack_timer` and `tcp_write_err`), and it stays in the
/// accept queue: the application accepts it, reads the SYN's data, then
/// sees the timeout (RFC 7413 §4.2.2: the child is the application's).
#[test]
fn an_unanswered_fast_open_child_is_accepted_with_its_data_then_timed_out() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    let (_, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let syn = l.client_out();
    assert_eq!(syn[0].payload, b"hello");
    l.send_server(&syn);
    let mut synacks = l.server_out().len();
    let mut incoming = None;
    while l.s.connection_count() > 0 || incoming.is_none() {
        for e in Link::events(&mut l.s) {
            if let Event::Incoming(id) = e {
                incoming = Some(id);
            }
        }
        let Some(d) = l.s.next_deadline() else { break };
        assert!(d < Instant::from_secs(1000), "still open at {d:?}");
        l.now = d.max(l.now);
        l.s.on_timer(l.now);
        synacks += l.server_out().len();
    }
    let retries = usize::from(tcpstate::Config::linux().synack_retries);
    assert_eq!(
        synacks,
        1 + retries + 1,
        "the first SYN,ACK and its retries"
    );
    let h =
        l.s.accept(incoming.expect("Incoming"))
            .expect("still queued");
    assert_eq!(read_all(&mut l.s, l.now, h), b"hello");
    let mut b = [0u8; 16];
    assert_eq!(
        l.s.recv(l.now, h, &mut b).err(),
        Some(EndpointError::Closed(tcpstate::CloseReason::TimedOut))
    );
}

// A simultaneous open (RFC 9293 §3.5) whose peer SYN arrives before our
// Fast Open SYN was polled: our first segment is then a SYN,ACK, which
// carries neither our cached cookie (RFC 7413 §4.1.2 puts it on a SYN) nor
// a server cookie (§4.1.1: those answer a request in a SYN); the data
// waits for the handshake, as Linux's SYN-SENT answer to a SYN
// (tcp_rcv_synsent_state_process) sends a plain SYN,ACK.
#[test]
fn a_syn_crossing_ours_before_it_went_out_gets_a_plain_syn_ack() {
    let (mut l, _) = Link::linux(16);
    l.warm_up();
    assert!(l.c.fast_open_cached(C, S).is_some());
    let (h, n) = l.connect_fo(b"hello");
    assert_eq!(n, 5);
    let local = l.c.local_addr(h).unwrap();
    // The peer's own SYN, before ours is polled.
    let mut hdr = TcpHeader {
        src_port: 80,
        dst_port: local.port(),
        seq: tcpstate::SeqNum(5000),
        flags: tcpstate::wire::Flags::SYN,
        window: 65535,
        ..TcpHeader::default()
    };
    hdr.options.mss = Some(1460);
    let mut b = vec![0u8; hdr.header_len()];
    hdr.emit(&mut b).unwrap();
    tcpstate::wire::checksum::fill_checksum_v4([198, 51, 100, 1], [192, 0, 2, 1], &mut b);
    l.c.on_datagram(l.now, S, C, Ecn::NotEct, &b);
    let out = l.client_out();
    assert_eq!(l.c.connection(h).unwrap().state(), State::SynReceived);
    let syns: Vec<&Seg> = out.iter().filter(|s| s.h.flags.syn()).collect();
    assert_eq!(syns.len(), 1, "{out:#?}");
    assert!(syns[0].h.flags.ack());
    assert_eq!(syns[0].h.options.fast_open, None, "{:#?}", syns[0].h);
    assert!(syns[0].payload.is_empty());
    // Its retransmission is plain too.
    l.now += Duration::from_secs(2);
    l.c.on_timer(l.now);
    let again = l.client_out();
    assert!(
        again.iter().any(|s| s.h.flags.syn() && s.h.flags.ack()),
        "{again:#?}"
    );
    assert!(
        again.iter().all(|s| s.h.options.fast_open.is_none()),
        "{again:#?}"
    );
}
