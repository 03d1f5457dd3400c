//! wsload: WebSocket load for `bench/ws_run.py`, on one thread (like `wrk -t1`).
//!
//!     wsload echo ws://127.0.0.1:8000/ws -c 50 -s 64 -d 10 -w 2 [--binary] [--json]
//!     wsload idle ws://127.0.0.1:8000/ws -c 1000
//!
//! `echo` is a closed loop: each of the `-c` connections sends one masked message of `-s`
//! bytes (text by default), waits for its echo, checks it byte for byte, and sends the next,
//! for `-w` seconds of warm-up and then `-d` seconds measured. It prints messages per second,
//! latency percentiles and the CPU the generator itself used (near 100% means the generator,
//! not the server, was the limit).
//!
//! `idle` opens `-c` connections one after the other, prints `open N` once all have had
//! their 101, then holds them without sending anything (it answers pings, so servers that
//! ping do not drop them) until its standard input closes; then it closes them with a close
//! frame (1000) and exits.
//!
//! `serve` is the other end, for calibration: a WebSocket echo server in Rust on one thread,
//! with no Python behind it (a plain GET gets `Hello, World!`). What `echo` reaches against
//! it is the ceiling of the generator and the kernel's loopback on this machine.
//!
//! The client side of RFC 6455 is its own: the handshake (a random Sec-WebSocket-Key, the
//! Sec-WebSocket-Accept checked), a fresh mask for every frame, fragmented and control
//! frames from the server (pings are answered with pongs). No extensions are offered, so
//! there is no compression.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

mod frame;
mod serve;

use frame::*;
use serve::serve;

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;
/// The largest frame accepted from a server.
const MAX_FRAME: usize = 64 << 20;
/// How much is read at a time.
const READ_CHUNK: usize = 64 << 10;

// --- arguments ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Echo,
    Idle,
    Serve,
}

struct Args {
    mode: Mode,
    url: String,
    connections: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    binary: bool,
    json: bool,
}

const USAGE: &str = "usage: wsload echo URL [-c CONNECTIONS] [-s BYTES] [-d SECONDS] \
                     [-w SECONDS] [--binary] [--json]\n       wsload idle URL [-c CONNECTIONS]\n       \
                     wsload serve HOST:PORT\n\
                     URL is ws://HOST:PORT/PATH; BYTES may end in k (1024).";

fn parse_size(s: &str) -> Result<usize, String> {
    let lower = s.to_ascii_lowercase();
    let (digits, unit) = if let Some(d) = lower.strip_suffix("kib").or(lower.strip_suffix('k')) {
        (d, 1024)
    } else {
        (lower.as_str(), 1)
    };
    digits
        .parse::<usize>()
        .map(|n| n * unit)
        .map_err(|_| format!("not a size: {s}"))
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = match it.next().as_deref() {
        Some("echo") => Mode::Echo,
        Some("idle") => Mode::Idle,
        Some("serve") => Mode::Serve,
        _ => return Err(USAGE.into()),
    };
    let mut args = Args {
        mode,
        url: String::new(),
        connections: 50,
        size: 64,
        duration: 10.0,
        warmup: 2.0,
        binary: false,
        json: false,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-c" => {
                args.connections = value("-c")?
                    .parse()
                    .map_err(|_| "-c: not a number".to_string())?
            }
            "-s" => args.size = parse_size(&value("-s")?)?,
            "-d" => {
                args.duration = value("-d")?
                    .parse()
                    .map_err(|_| "-d: not a number".to_string())?
            }
            "-w" => {
                args.warmup = value("-w")?
                    .parse()
                    .map_err(|_| "-w: not a number".to_string())?
            }
            "--binary" => args.binary = true,
            "--json" => args.json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            url if args.url.is_empty() && !url.starts_with('-') => args.url = url.to_string(),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if args.url.is_empty() {
        return Err(USAGE.into());
    }
    if args.connections == 0 || args.duration <= 0.0 || args.warmup < 0.0 {
        return Err("-c and -d must be above 0, -w at least 0".into());
    }
    Ok(args)
}

// --- randomness (keys and masks: unpredictable enough for a load generator) -------------

struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng((nanos ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    /// xorshift64*.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn mask(&mut self) -> [u8; 4] {
        (self.next() as u32).to_ne_bytes()
    }
}

// --- the handshake -----------------------------------------------------------------------

struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("{url}: only ws:// URLs"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    Ok(Target {
        addr,
        host: authority.to_string(),
        path: path.to_string(),
    })
}

fn accept_key(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes())
}

/// Connects and upgrades; returns the socket (blocking) and any bytes that came after the
/// 101's head.
fn handshake(target: &Target, rng: &mut Rng) -> Result<(StdTcpStream, Vec<u8>), String> {
    let timeout = Duration::from_secs(10);
    let mut stream = StdTcpStream::connect_timeout(&target.addr, timeout)
        .map_err(|e| format!("connect {}: {e}", target.addr))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&rng.next().to_ne_bytes());
    nonce[8..].copy_from_slice(&rng.next().to_ne_bytes());
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path, target.host
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 << 10 {
            return Err("handshake: a response head over 16 KiB".into());
        }
        let n = stream.read(&mut chunk).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                format!("handshake: no answer within {} s", timeout.as_secs())
            }
            _ => format!("handshake read: {e}"),
        })?;
        if n == 0 {
            return Err("handshake: the server closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if status.split(' ').nth(1) != Some("101") {
        return Err(format!(
            "handshake: the server answered {status:?}, not 101"
        ));
    }
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|(_, v)| v.trim().to_string());
    if accept.as_deref() != Some(accept_key(&key).as_str()) {
        return Err(format!(
            "handshake: Sec-WebSocket-Accept {accept:?}, expected {:?}",
            accept_key(&key)
        ));
    }
    Ok((stream, buf[head_end..].to_vec()))
}

// --- one connection ----------------------------------------------------------------------

/// What a connection reports after reading.
#[derive(Default)]
struct ReadOutcome {
    /// Whole data messages received (echoes).
    messages: u32,
    /// Bytes of the echoes that differed from what was sent, or of the wrong size.
    mismatches: u32,
}

struct Conn {
    stream: TcpStream,
    /// Bytes read and not yet parsed: `inbuf[start..end]`.
    inbuf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes to write: `out[out_pos..]`.
    out: Vec<u8>,
    out_pos: usize,
    /// The payload received so far of the message in progress (fragments).
    received: usize,
    in_message: bool,
    message_ok: bool,
    sent_at: Instant,
    /// Why it stopped, if it did.
    dead: Option<String>,
}

impl Conn {
    fn new(stream: StdTcpStream, leftover: Vec<u8>) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        let mut inbuf = vec![0u8; READ_CHUNK.max(leftover.len())];
        inbuf[..leftover.len()].copy_from_slice(&leftover);
        Ok(Conn {
            stream: TcpStream::from_std(stream),
            end: leftover.len(),
            inbuf,
            start: 0,
            out: Vec::new(),
            out_pos: 0,
            received: 0,
            in_message: false,
            message_ok: true,
            sent_at: Instant::now(),
            dead: None,
        })
    }

    fn queue(&mut self, opcode: u8, payload: &[u8], rng: &mut Rng) {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        push_frame(&mut self.out, opcode, payload, rng.mask());
    }

    /// Writes what is queued until done or the socket is full.
    fn flush(&mut self) {
        while self.dead.is_none() && self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => self.dead = Some("write returned 0".into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.dead = Some(format!("write: {e}")),
            }
        }
    }

    /// Reads until the socket is empty and handles every whole frame. `expected` is the
    /// payload an echo must equal (None: data is ignored, as for idle connections).
    fn read(&mut self, expected: Option<&[u8]>, rng: &mut Rng) -> ReadOutcome {
        let mut ev = ReadOutcome::default();
        loop {
            if self.dead.is_some() {
                return ev;
            }
            if self.end == self.inbuf.len() {
                // Make room: move what is unparsed to the front, or grow for a big frame.
                if self.start > 0 {
                    self.inbuf.copy_within(self.start..self.end, 0);
                    self.end -= self.start;
                    self.start = 0;
                } else {
                    let len = self.inbuf.len();
                    self.inbuf.resize(len * 2, 0);
                }
            }
            match self.stream.read(&mut self.inbuf[self.end..]) {
                Ok(0) => {
                    self.dead = Some("the server closed the connection".into());
                    return ev;
                }
                Ok(n) => {
                    self.end += n;
                    self.parse(expected, rng, &mut ev);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ev,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.dead = Some(format!("read: {e}"));
                    return ev;
                }
            }
        }
    }

    fn parse(&mut self, expected: Option<&[u8]>, rng: &mut Rng, ev: &mut ReadOutcome) {
        while self.dead.is_none() {
            let frame = match parse_frame(&mut self.inbuf[self.start..self.end]) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    self.dead = Some(e);
                    break;
                }
            };
            let base = self.start;
            let payload = base + frame.payload.start..base + frame.payload.end;
            self.start = payload.end;
            match frame.opcode {
                OP_TEXT | OP_BINARY | OP_CONT => {
                    if (frame.opcode == OP_CONT) != self.in_message {
                        self.dead = Some("a continuation frame out of place".into());
                        break;
                    }
                    if let Some(exp) = expected {
                        let got = &self.inbuf[payload.clone()];
                        let at = self.received;
                        if at + got.len() > exp.len() || exp[at..at + got.len()] != *got {
                            self.message_ok = false;
                        }
                    }
                    self.received += payload.len();
                    self.in_message = !frame.fin;
                    if frame.fin {
                        if let Some(exp) = expected {
                            if self.received != exp.len() {
                                self.message_ok = false;
                            }
                        }
                        ev.messages += 1;
                        if !self.message_ok {
                            ev.mismatches += 1;
                        }
                        self.received = 0;
                        self.message_ok = true;
                    }
                }
                OP_PING => {
                    let body = self.inbuf[payload].to_vec();
                    self.queue(OP_PONG, &body, rng);
                    self.flush();
                }
                OP_PONG => {}
                OP_CLOSE => {
                    let p = &self.inbuf[payload];
                    let code = if p.len() >= 2 {
                        u16::from_be_bytes([p[0], p[1]]).to_string()
                    } else {
                        "no code".into()
                    };
                    let reason = String::from_utf8_lossy(p.get(2..).unwrap_or_default());
                    self.dead = Some(format!("the server closed the WebSocket ({code} {reason})"));
                }
                op => self.dead = Some(format!("a frame with opcode {op:#x}")),
            }
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }
}

/// The close handshake on every connection still open: a close frame (1000), then up to
/// 2 s for the server's close frame or end of stream, so that servers see a clean close.
fn close_all(conns: &mut [Conn], poll: &mut Poll, events: &mut Events, rng: &mut Rng) {
    for c in conns.iter_mut().filter(|c| c.dead.is_none()) {
        c.queue(OP_CLOSE, &1000u16.to_be_bytes(), rng);
        c.flush();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while conns.iter().any(|c| c.dead.is_none()) {
        let now = Instant::now();
        if now >= deadline || poll.poll(events, Some(deadline - now)).is_err() {
            return;
        }
        for event in events.iter() {
            let c = &mut conns[event.token().0];
            if c.dead.is_none() {
                c.flush();
                c.read(None, rng);
            }
        }
    }
}

fn open_all(target: &Target, n: usize, rng: &mut Rng, poll: &Poll) -> Result<Vec<Conn>, String> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let (stream, leftover) =
            handshake(target, rng).map_err(|e| format!("connection {}: {e}", i + 1))?;
        let mut conn = Conn::new(stream, leftover).map_err(|e| e.to_string())?;
        poll.registry()
            .register(
                &mut conn.stream,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| e.to_string())?;
        conns.push(conn);
    }
    Ok(conns)
}

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Raises the open-files limit to its hard limit (idle mode holds thousands of sockets).
fn raise_nofile() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

// --- echo --------------------------------------------------------------------------------

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn echo(args: &Args, target: &Target) -> Result<(), String> {
    let mut rng = Rng::seeded();
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut conns = open_all(target, args.connections, &mut rng, &poll)?;
    // Printable ASCII, so a text message is valid UTF-8.
    let payload: Vec<u8> = (0..args.size).map(|i| b'a' + (i % 26) as u8).collect();
    let opcode = if args.binary { OP_BINARY } else { OP_TEXT };

    let t0 = Instant::now();
    let window_start = t0 + Duration::from_secs_f64(args.warmup);
    let window_end = window_start + Duration::from_secs_f64(args.duration);
    let mut latencies: Vec<u64> = Vec::with_capacity(1 << 20);
    let mut in_window = 0u64;
    let mut total = 0u64;
    let mut mismatches = 0u64;
    let mut cpu_at_start: Option<Duration> = None;
    let mut events = Events::with_capacity(1024);

    for c in conns.iter_mut() {
        c.sent_at = Instant::now();
        c.queue(opcode, &payload, &mut rng);
        c.flush();
    }
    loop {
        let now = Instant::now();
        if now >= window_end {
            break;
        }
        if cpu_at_start.is_none() && now >= window_start {
            cpu_at_start = Some(cpu_time());
        }
        let wait = if now < window_start {
            window_start - now
        } else {
            window_end - now
        };
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        for event in events.iter() {
            let c = &mut conns[event.token().0];
            if c.dead.is_some() {
                continue;
            }
            if event.is_writable() {
                c.flush();
            }
            if event.is_readable() || event.is_read_closed() {
                let ev = c.read(Some(&payload), &mut rng);
                if ev.messages > 0 {
                    let done = Instant::now();
                    // Closed loop: one message in flight per connection, so at most one
                    // echo per read; more would be a server sending what was not asked.
                    total += u64::from(ev.messages);
                    mismatches += u64::from(ev.mismatches);
                    if done >= window_start && done < window_end {
                        in_window += u64::from(ev.messages);
                        latencies.push((done - c.sent_at).as_nanos() as u64);
                    }
                    c.sent_at = done;
                    c.queue(opcode, &payload, &mut rng);
                    c.flush();
                }
            }
            if let Some(why) = &c.dead {
                eprintln!("wsload: connection {}: {why}", event.token().0 + 1);
            }
        }
    }
    let cpu = cpu_time().saturating_sub(cpu_at_start.unwrap_or_default());
    let dead = conns.iter().filter(|c| c.dead.is_some()).count();
    close_all(&mut conns, &mut poll, &mut events, &mut rng);
    latencies.sort_unstable();
    let rate = in_window as f64 / args.duration;
    let cpu_pct = 100.0 * cpu.as_secs_f64() / args.duration;
    let (p50, p90, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
    );
    if args.json {
        println!(
            "{{\"connections\": {}, \"size\": {}, \"binary\": {}, \"duration\": {}, \
             \"messages\": {in_window}, \"messages_per_sec\": {rate:.1}, \"p50_us\": {p50:.1}, \
             \"p90_us\": {p90:.1}, \"p99_us\": {p99:.1}, \"max_us\": {max:.1}, \
             \"mismatches\": {mismatches}, \"dead_connections\": {dead}, \
             \"client_cpu_pct\": {cpu_pct:.1}}}",
            args.connections, args.size, args.binary, args.duration
        );
    } else {
        println!(
            "{} connections, {} messages of {} bytes, {:.0} s warm-up, {:.0} s measured",
            args.connections,
            if args.binary { "binary" } else { "text" },
            args.size,
            args.warmup,
            args.duration
        );
        println!("  messages/s  {rate:.0}  ({in_window} in the window, {total} in all)");
        println!(
            "  latency     p50 {p50:.0} us, p90 {p90:.0} us, p99 {p99:.0} us, max {max:.0} us"
        );
        println!("  errors      {mismatches} wrong echoes, {dead} connections lost");
        println!("  client CPU  {cpu_pct:.0}% of one core in the window");
    }
    Ok(())
}

// --- idle --------------------------------------------------------------------------------

fn idle(args: &Args, target: &Target) -> Result<(), String> {
    raise_nofile();
    let mut rng = Rng::seeded();
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut conns = open_all(target, args.connections, &mut rng, &poll)?;
    println!(
        "open {} ({:.1} s)",
        conns.len(),
        started.elapsed().as_secs_f64()
    );
    io::stdout().flush().map_err(|e| e.to_string())?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        flag.store(true, Ordering::SeqCst);
    });
    let mut events = Events::with_capacity(1024);
    while !stop.load(Ordering::SeqCst) {
        match poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        for event in events.iter() {
            let c = &mut conns[event.token().0];
            if c.dead.is_some() {
                continue;
            }
            c.flush();
            c.read(None, &mut rng);
            if let Some(why) = &c.dead {
                eprintln!("wsload: idle connection {}: {why}", event.token().0 + 1);
            }
        }
    }
    let lost = conns.iter().filter(|c| c.dead.is_some()).count();
    close_all(&mut conns, &mut poll, &mut events, &mut rng);
    println!("closed {} ({lost} lost while idle)", conns.len());
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if args.mode == Mode::Serve {
        if let Err(e) = serve(&args.url) {
            eprintln!("wsload: {e}");
            std::process::exit(1);
        }
        return;
    }
    let result = parse_url(&args.url).and_then(|target| match args.mode {
        Mode::Echo => echo(&args, &target),
        Mode::Idle => idle(&args, &target),
        Mode::Serve => unreachable!(),
    });
    if let Err(e) = result {
        eprintln!("wsload: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_of_the_rfc_example() {
        // RFC 6455, section 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn masking_twice_gives_the_payload_back() {
        for len in [0, 1, 7, 8, 9, 125, 126, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut out = Vec::new();
            push_frame(&mut out, OP_BINARY, &payload, [1, 2, 3, 4]);
            let frame = parse_frame(&mut out).unwrap().unwrap();
            assert!(frame.fin);
            assert_eq!(frame.opcode, OP_BINARY);
            // parse_frame unmasks a masked frame in place.
            assert_eq!(&out[frame.payload], &payload[..], "len {len}");
        }
    }

    #[test]
    fn masking_matches_the_bytewise_definition() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let payload = b"Hello, this is longer than eight bytes.";
        let mut out = Vec::new();
        push_frame(&mut out, OP_TEXT, payload, mask);
        let masked = &out[6..];
        for (i, (&m, &p)) in masked.iter().zip(payload.iter()).enumerate() {
            assert_eq!(m, p ^ mask[i % 4]);
        }
        // The RFC's example: a masked "Hello".
        let mut hello = Vec::new();
        push_frame(&mut hello, OP_TEXT, b"Hello", mask);
        assert_eq!(
            hello,
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let mut frame = vec![0x82, 126, 0x01, 0x00];
        frame.extend(std::iter::repeat_n(9u8, 256));
        for cut in 0..frame.len() {
            assert!(
                parse_frame(&mut frame[..cut].to_vec()).unwrap().is_none(),
                "{cut}"
            );
        }
        let f = parse_frame(&mut frame).unwrap().unwrap();
        assert_eq!(f.payload, 4..260);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64").unwrap(), 64);
        assert_eq!(parse_size("16k").unwrap(), 16384);
        assert_eq!(parse_size("16KiB").unwrap(), 16384);
        assert!(parse_size("x").is_err());
    }
}
