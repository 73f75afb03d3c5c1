//! The application contract, written once against a small trait and run
//! against the kernel's TCP through `tokio::net` (loopback) and against
//! tcpstate-tokio over an in-memory device: each test records what the
//! application saw and both transcripts must be equal (and as expected).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep, timeout};

/// What a test needs from a TCP implementation.
trait Net {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    type Listener: Send + Sync + 'static;
    /// A listener with this backlog, and its address.
    async fn listen(&self, backlog: u32) -> io::Result<(Self::Listener, SocketAddr)>;
    async fn accept(l: &Self::Listener) -> io::Result<Self::Stream>;
    /// A connection whose SYN-SENT (and later) gives up after `user_timeout`.
    async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream>;
    /// An address where nothing listens (answered with RST).
    fn closed_port(&self) -> SocketAddr;
    /// Drop resets the connection.
    fn set_linger_zero(s: &Self::Stream);
}

/// The user timeout both implementations use for `connect`.
const USER_TIMEOUT: Duration = Duration::from_millis(1500);

// ----- the kernel, through tokio::net ---------------------------------------

struct Kernel;

impl Net for Kernel {
    type Stream = tokio::net::TcpStream;
    type Listener = tokio::net::TcpListener;
    async fn listen(&self, backlog: u32) -> io::Result<(Self::Listener, SocketAddr)> {
        let s = tokio::net::TcpSocket::new_v4()?;
        s.bind("127.0.0.1:0".parse().unwrap())?;
        let l = s.listen(backlog)?;
        let a = l.local_addr()?;
        Ok((l, a))
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().await.map(|(s, _)| s)
    }
    async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        s.set_tcp_user_timeout(Some(USER_TIMEOUT))?;
        s.set_nonblocking(true)?;
        let s = tokio::net::TcpSocket::from_std_stream(s.into());
        s.connect(addr).await
    }
    fn closed_port(&self) -> SocketAddr {
        // Bound, never listening: nothing else takes the port meanwhile.
        let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = s.local_addr().unwrap();
        drop(s);
        a
    }
    fn set_linger_zero(s: &Self::Stream) {
        #[allow(deprecated)]
        s.set_linger(Some(Duration::ZERO)).unwrap();
    }
}

// ----- tcpstate-tokio over an in-memory wire ---------------------------------

struct Userspace {
    client: tcpstate_tokio::Stack,
    server: tcpstate_tokio::Stack,
}

const CLIENT: &str = "192.0.2.1";
const SERVER: &str = "192.0.2.2";

impl Userspace {
    fn new() -> Self {
        let (a, b) = tcpstate_tokio::device::memory::pair(256, 1500);
        let mut cfg = tcpstate::EndpointConfig::linux();
        cfg.conn.user_timeout = Some(USER_TIMEOUT);
        let client = tcpstate_tokio::Stack::builder()
            .endpoint_config(cfg)
            .addr(CLIENT.parse().unwrap())
            .build(a)
            .unwrap();
        let server = tcpstate_tokio::Stack::builder()
            .addr(SERVER.parse().unwrap())
            .build(b)
            .unwrap();
        Userspace { client, server }
    }
}

impl Net for Userspace {
    type Stream = tcpstate_tokio::TcpStream;
    type Listener = tcpstate_tokio::TcpListener;
    async fn listen(&self, backlog: u32) -> io::Result<(Self::Listener, SocketAddr)> {
        let ip: IpAddr = SERVER.parse().unwrap();
        let l = self.server.listen(SocketAddr::new(ip, 0), backlog)?;
        let a = l.local_addr()?;
        Ok((l, a))
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().await.map(|(s, _)| s)
    }
    async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
        self.client.connect(addr).await
    }
    fn closed_port(&self) -> SocketAddr {
        SocketAddr::new(SERVER.parse().unwrap(), 9)
    }
    fn set_linger_zero(s: &Self::Stream) {
        s.set_linger(Some(Duration::ZERO)).unwrap();
    }
}

// ----- helpers ---------------------------------------------------------------

type Log = Vec<String>;

fn err(e: &io::Error) -> String {
    format!("error {:?}", e.kind())
}

/// Reads once (with a deadline) and says what came.
async fn read_once<S: AsyncRead + Unpin>(s: &mut S, max: usize) -> String {
    let mut buf = vec![0u8; max];
    match timeout(Duration::from_secs(5), s.read(&mut buf)).await {
        Err(_) => "read pending".into(),
        Ok(Ok(0)) => "eof".into(),
        Ok(Ok(n)) => format!("data {:?}", String::from_utf8_lossy(&buf[..n])),
        Ok(Err(e)) => err(&e),
    }
}

/// Reads until EOF or an error; says how many bytes came and how it ended.
async fn read_all<S: AsyncRead + Unpin>(s: &mut S) -> (Vec<u8>, String) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Err(_) => return (got, "read pending".into()),
            Ok(Ok(0)) => return (got, "eof".into()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return (got, err(&e)),
        }
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

// ----- the tests, written once ---------------------------------------------

/// The client sends and shuts down; the server reads to EOF, answers and
/// shuts down; the client reads the answer, then EOF.
async fn half_close_client_first<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let mut c = n.connect(addr).await.unwrap();
    let mut s = N::accept(&l).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    c.shutdown().await.unwrap();
    let (got, end) = read_all(&mut s).await;
    log.push(format!(
        "server got {:?} then {end}",
        String::from_utf8_lossy(&got)
    ));
    // The client's direction is closed; the server's is still open.
    s.write_all(b"world").await.unwrap();
    s.shutdown().await.unwrap();
    let (got, end) = read_all(&mut c).await;
    log.push(format!(
        "client got {:?} then {end}",
        String::from_utf8_lossy(&got)
    ));
    log.push(format!(
        "client write after shutdown: {}",
        match c.write(b"x").await {
            Ok(n) => format!("ok {n}"),
            Err(e) => err(&e),
        }
    ));
    log
}

/// The server shuts down first; the client keeps sending after the EOF.
async fn half_close_server_first<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let mut c = n.connect(addr).await.unwrap();
    let mut s = N::accept(&l).await.unwrap();
    s.write_all(b"bye").await.unwrap();
    s.shutdown().await.unwrap();
    let (got, end) = read_all(&mut c).await;
    log.push(format!(
        "client got {:?} then {end}",
        String::from_utf8_lossy(&got)
    ));
    let data = pattern(300_000);
    let w = tokio::spawn(async move {
        c.write_all(&data).await.unwrap();
        c.shutdown().await.unwrap();
        c
    });
    let (got, end) = read_all(&mut s).await;
    log.push(format!(
        "server got {} bytes intact={} then {end}",
        got.len(),
        got == pattern(300_000)
    ));
    drop(w.await.unwrap());
    log
}

/// Every byte before the FIN is read before EOF, however it is read.
async fn eof_after_all_data<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let mut c = n.connect(addr).await.unwrap();
    let mut s = N::accept(&l).await.unwrap();
    let data = pattern(1_000_000);
    let sent = data.clone();
    let w = tokio::spawn(async move {
        s.write_all(&sent).await.unwrap();
        s.shutdown().await.unwrap();
        s
    });
    // Let the sender fill the pipe before reading slowly.
    sleep(Duration::from_millis(100)).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 1000];
    let end = loop {
        match c.read(&mut buf).await {
            Ok(0) => break "eof".to_string(),
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) => break err(&e),
        }
    };
    log.push(format!(
        "client got {} bytes intact={} then {end}",
        got.len(),
        got == data
    ));
    log.push(format!("read again: {}", read_once(&mut c, 10).await));
    drop(w.await.unwrap());
    log
}

/// Data sent before a RST is readable; then the RST is an error, not EOF.
async fn rst_after_data<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let mut c = n.connect(addr).await.unwrap();
    let s = N::accept(&l).await.unwrap();
    let mut s = s;
    s.write_all(b"data").await.unwrap();
    sleep(Duration::from_millis(200)).await;
    N::set_linger_zero(&s);
    drop(s);
    sleep(Duration::from_millis(200)).await;
    log.push(format!("client: {}", read_once(&mut c, 100).await));
    log.push(format!("client: {}", read_once(&mut c, 100).await));
    // After reporting the reset once, Linux reads EOF; tcpstate-tokio goes
    // on reporting the reset (see `reset_stays_an_error`).
    log
}

/// Closing with unread data resets the connection; the peer sees a reset.
async fn drop_with_unread_data<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let c = n.connect(addr).await.unwrap();
    let mut s = N::accept(&l).await.unwrap();
    s.write_all(b"unread").await.unwrap();
    sleep(Duration::from_millis(200)).await;
    drop(c);
    sleep(Duration::from_millis(200)).await;
    log.push(format!("server: {}", read_once(&mut s, 100).await));
    log
}

/// Closing with everything read: the connection finishes on its own and
/// delivers all the data written before the close, then EOF.
async fn drop_without_unread_data<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let mut c = n.connect(addr).await.unwrap();
    let mut s = N::accept(&l).await.unwrap();
    let data = pattern(200_000);
    // Write what fits without blocking on the reader, then drop at once.
    let w = tokio::spawn(async move {
        c.write_all(&pattern(200_000)).await.unwrap();
        drop(c);
    });
    let (got, end) = read_all(&mut s).await;
    w.await.unwrap();
    log.push(format!(
        "server got {} bytes intact={} then {end}",
        got.len(),
        got == data
    ));
    log
}

async fn connect_refused<N: Net>(n: &N) -> Log {
    let addr = n.closed_port();
    vec![match n.connect(addr).await {
        Ok(_) => "connected".into(),
        Err(e) => err(&e),
    }]
}

/// Fills a listener's accept queue, then connects once more.
async fn fill<N: Net>(n: &N, l: &N::Listener, addr: SocketAddr) -> Vec<N::Stream> {
    let _ = l;
    let mut held = Vec::new();
    // Connections beyond the queue stay pending (their SYNs are dropped).
    for _ in 0..8 {
        match timeout(Duration::from_millis(300), n.connect(addr)).await {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    held
}

/// A SYN to a full accept queue is dropped; the connect times out (user
/// timeout), it is not refused.
async fn connect_timed_out<N: Net>(n: &N) -> Log {
    let (l, addr) = n.listen(1).await.unwrap();
    let held = fill(n, &l, addr).await;
    let t0 = tokio::time::Instant::now();
    let r = n.connect(addr).await;
    let secs = t0.elapsed().as_secs_f64();
    drop(held);
    vec![match r {
        Ok(_) => "connected".into(),
        Err(e) => format!(
            "{} after the user timeout: {}",
            err(&e),
            (1.4..10.0).contains(&secs)
        ),
    }]
}

/// Beyond the backlog, connections wait (no RST); accepting lets them in.
async fn backlog_full<N: Net>(n: &N) -> Log {
    let mut log = Log::new();
    let backlog = 2;
    let (l, addr) = n.listen(backlog).await.unwrap();
    let held = fill(n, &l, addr).await;
    // Linux queues backlog + 1, tcpstate backlog: both are fine.
    log.push(format!(
        "queued between backlog and backlog+1: {}",
        (backlog as usize..=backlog as usize + 1).contains(&held.len())
    ));
    let c = n.connect(addr);
    tokio::pin!(c);
    let early = timeout(Duration::from_millis(200), &mut c).await;
    log.push(format!("extra connect still pending: {}", early.is_err()));
    let mut accepted = Vec::new();
    for _ in 0..held.len() {
        accepted.push(N::accept(&l).await.unwrap());
    }
    let r = timeout(Duration::from_secs(8), c).await;
    log.push(format!(
        "after accept: {}",
        match r {
            Ok(Ok(_)) => "connected".to_string(),
            Ok(Err(e)) => err(&e),
            Err(_) => "still pending".into(),
        }
    ));
    log
}

// ----- running both -----------------------------------------------------------

macro_rules! contract {
    ($name:ident, [$($want:expr),* $(,)?]) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let kernel = super::$name(&Kernel).await;
            let ours = super::$name(&Userspace::new()).await;
            let want: Vec<String> = vec![$($want.to_string()),*];
            assert_eq!(kernel, want, "tokio::net (the kernel) differs from the contract");
            assert_eq!(ours, kernel, "tcpstate-tokio differs from tokio::net");
        }
    };
}

mod both {
    use super::*;

    contract!(
        half_close_client_first,
        [
            "server got \"hello\" then eof",
            "client got \"world\" then eof",
            "client write after shutdown: error BrokenPipe",
        ]
    );
    contract!(
        half_close_server_first,
        [
            "client got \"bye\" then eof",
            "server got 300000 bytes intact=true then eof",
        ]
    );
    contract!(
        eof_after_all_data,
        [
            "client got 1000000 bytes intact=true then eof",
            "read again: eof",
        ]
    );
    contract!(
        rst_after_data,
        ["client: data \"data\"", "client: error ConnectionReset",]
    );
    contract!(drop_with_unread_data, ["server: error ConnectionReset"]);
    contract!(
        drop_without_unread_data,
        ["server got 200000 bytes intact=true then eof"]
    );
    contract!(connect_refused, ["error ConnectionRefused"]);
    contract!(
        connect_timed_out,
        ["error TimedOut after the user timeout: true"]
    );
    contract!(
        backlog_full,
        [
            "queued between backlog and backlog+1: true",
            "extra connect still pending: true",
            "after accept: connected",
        ]
    );
}

/// tcpstate-tokio alone: a reset is never turned into an EOF, however
/// often the application reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_stays_an_error() {
    let n = Userspace::new();
    let (l, addr) = n.listen(16).await.unwrap();
    let mut c = n.connect(addr).await.unwrap();
    let s = Userspace::accept(&l).await.unwrap();
    Userspace::set_linger_zero(&s);
    drop(s);
    for _ in 0..3 {
        assert_eq!(read_once(&mut c, 10).await, "error ConnectionReset");
    }
}
