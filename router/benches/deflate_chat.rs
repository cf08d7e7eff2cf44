//! A chat-room load generator that speaks permessage-deflate, for "chat with
//! `perMessageDeflate` on both sides": the shared `wsbench` tool neither offers the extension
//! nor accepts compressed frames, so it cannot measure it.
//!
//! The shape is Bun's chat benchmark (and `wsbench pubsub`): N clients in one room, M of them
//! sending as fast as a window of W messages in flight allows; the server publishes every
//! message to the room, the sender included, so each send is N deliveries. With `--deflate`
//! every client offers what browsers offer (`permessage-deflate; client_max_window_bits`) and,
//! like a browser, compresses every message it sends (zlib level `--level`, context kept
//! unless the server answers `client_no_context_takeover`); compressed frames from the server
//! are inflated. Every message carries its sender and send time, so the tool measures
//! deliveries per second, delivery latency, and checks that every message reached every
//! client (`undelivered`).
//!
//! ```text
//! cargo bench -p hyperbun --bench deflate_chat -- --url ws://127.0.0.1:4001/ws --deflate
//! ```
//!
//! Flags: `--url` (loopback only), `--conns` 16, `--senders` (= conns), `--size` 64,
//! `--window` 64, `--warmup` 1, `--duration` 10, `--drain` 3 (seconds), `--deflate`,
//! `--level` 1, `--server-pid PID` (adds the server's CPU %), `--stall-timeout-ms` 1000.
//! One current-thread runtime: pin it with `taskset -c 1`. Prints one JSON line.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::BytesMut;
use hyperbun::test::write_masked_frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Method, Strategy};

/// What a sync flush ends with; stripped when sending, appended when inflating.
const FLUSH_TAIL: [u8; 4] = [0, 0, 0xff, 0xff];
/// The header of every message: sender id (4 hex digits) and send time (16 hex digits).
const HEADER: usize = 20;
/// The text that pads messages: compressible, like chat.
const PROSE: &[u8] = b"the quick brown fox jumps over the lazy dog while the chat goes on; ";

#[derive(Debug, Clone)]
struct Args {
    url: String,
    conns: usize,
    senders: usize,
    size: usize,
    window: usize,
    warmup: f64,
    duration: f64,
    drain: f64,
    deflate: bool,
    /// `zlib` (real compression at `level`) or `literals` (fixed-Huffman literals only).
    encoder: Encoder,
    level: i32,
    server_pid: Option<u32>,
    stall_timeout: Duration,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        url: String::new(),
        conns: 16,
        senders: 0,
        size: 64,
        window: 64,
        warmup: 1.0,
        duration: 10.0,
        drain: 3.0,
        deflate: false,
        encoder: Encoder::Zlib,
        level: 1,
        server_pid: None,
        stall_timeout: Duration::from_millis(1000),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<f64>().map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--conns" => args.conns = number(value()?)? as usize,
            "--senders" => args.senders = number(value()?)? as usize,
            "--size" => args.size = number(value()?)? as usize,
            "--window" => args.window = number(value()?)? as usize,
            "--warmup" => args.warmup = number(value()?)?,
            "--duration" => args.duration = number(value()?)?,
            "--drain" => args.drain = number(value()?)?,
            "--level" => args.level = number(value()?)? as i32,
            "--server-pid" => args.server_pid = Some(number(value()?)? as u32),
            "--stall-timeout-ms" => {
                args.stall_timeout = Duration::from_millis(number(value()?)? as u64);
            }
            "--deflate" => args.deflate = true,
            "--encoder" => {
                args.encoder = match value()?.as_str() {
                    "zlib" => Encoder::Zlib,
                    "literals" => Encoder::Literals,
                    other => return Err(format!("--encoder zlib|literals, not {other}")),
                }
            }
            "--bench" => {} // what `cargo bench` passes
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.url.is_empty() {
        return Ok(None);
    }
    if args.senders == 0 || args.senders > args.conns {
        args.senders = args.conns;
    }
    if args.size < HEADER || args.conns == 0 || args.window == 0 {
        return Err(format!(
            "--size must be at least {HEADER}, --conns and --window at least 1"
        ));
    }
    Ok(Some(args))
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            eprintln!("usage: cargo bench -p hyperbun --bench deflate_chat -- --url ws://127.0.0.1:PORT/ws [--deflate] …");
            return;
        }
        Err(e) => fail(&e),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, run(args)) {
        Ok(report) => println!("{report}"),
        Err(e) => fail(&e),
    }
}

fn fail(error: &str) -> ! {
    println!("{}", serde_json::json!({ "ok": false, "error": error }));
    std::process::exit(1)
}

/// How clients compress what they send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoder {
    /// zlib-rs at `--level`, as a browser would (the client's CPU may then be the limit).
    Zlib,
    /// One fixed-Huffman block of literals (RFC 1951 §3.2.6), written by hand: valid deflate
    /// that the server must Huffman-decode byte by byte, at almost no cost to the client.
    Literals,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measuring,
    Draining,
    Done,
}

/// Counters shared by the connection tasks (one thread: `Rc<RefCell<…>>`).
#[derive(Default)]
struct Stats {
    publishes_in_window: u64,
    deliveries_in_window: u64,
    /// Deliveries of messages sent inside the window, whenever received (before the end).
    window_messages_delivered: u64,
    compressed_frames: u64,
    stalls: u64,
    /// Latency histogram in µs: 64 buckets per power of two (within 1.6 %).
    latency: Vec<u64>,
}

impl Stats {
    fn record_latency(&mut self, micros: u64) {
        let v = micros.max(1);
        let exp = 63 - v.leading_zeros() as usize;
        let mantissa = if exp >= 6 {
            (v >> (exp - 6)) & 63
        } else {
            (v << (6 - exp)) & 63
        };
        let i = exp * 64 + mantissa as usize;
        if self.latency.len() <= i {
            self.latency.resize(i + 1, 0);
        }
        self.latency[i] += 1;
    }

    fn percentile(&self, p: f64) -> u64 {
        let total: u64 = self.latency.iter().sum();
        let wanted = ((total as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                let (exp, mantissa) = (i / 64, (i % 64) as u64);
                return ((64 + mantissa) << exp) >> 6;
            }
        }
        0
    }
}

/// What every connection task reads.
struct Run {
    args: Args,
    epoch: Instant,
    phase: Cell<Phase>,
    window_start_ns: Cell<u64>,
    window_end_ns: Cell<u64>,
    stats: RefCell<Stats>,
}

impl Run {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

async fn run(args: Args) -> Result<String, String> {
    let target = Target::parse(&args.url)?;
    let run = Rc::new(Run {
        args: args.clone(),
        epoch: Instant::now(),
        phase: Cell::new(Phase::Warmup),
        window_start_ns: Cell::new(u64::MAX),
        window_end_ns: Cell::new(u64::MAX),
        stats: RefCell::new(Stats::default()),
    });
    let setup = async {
        let mut conns = Vec::with_capacity(args.conns);
        for id in 0..args.conns {
            conns.push(Conn::open(&target, &args, id).await?);
        }
        // Each client sees its own hello come back: everybody is in the room.
        for conn in &mut conns {
            conn.hello().await?;
        }
        Ok::<_, String>(conns)
    };
    let conns = tokio::time::timeout(Duration::from_secs(60), setup)
        .await
        .map_err(|_| "setup took more than 60 s".to_owned())??;
    let extension = conns[0].extension.clone();
    eprintln!(
        "deflate_chat: {} clients in the room ({extension})",
        conns.len()
    );

    let mut tasks = Vec::new();
    for conn in conns {
        tasks.push(tokio::task::spawn_local(conn.drive(Rc::clone(&run))));
    }
    let seconds = Duration::from_secs_f64;
    tokio::time::sleep(seconds(args.warmup)).await;
    let cpu_before = (
        cpu_ticks("self"),
        args.server_pid.map(|p| cpu_ticks(&p.to_string())),
    );
    let started = Instant::now();
    run.window_start_ns.set(run.now_ns());
    run.phase.set(Phase::Measuring);
    tokio::time::sleep(seconds(args.duration)).await;
    run.window_end_ns.set(run.now_ns());
    run.phase.set(Phase::Draining);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = (
        cpu_ticks("self"),
        args.server_pid.map(|p| cpu_ticks(&p.to_string())),
    );
    tokio::time::sleep(seconds(args.drain)).await;
    run.phase.set(Phase::Done);
    let mut errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if let Some(first) = errors.first() {
        return Err(format!(
            "{} connection(s) failed; first: {first}",
            errors.len()
        ));
    }
    let stats = run.stats.borrow();
    let pct = |before: u64, after: u64| (after - before) as f64 / elapsed; // ticks are 1/100 s
    let undelivered = (stats.publishes_in_window * args.conns as u64)
        .saturating_sub(stats.window_messages_delivered);
    Ok(serde_json::json!({
        "ok": true, "mode": "chat", "deflate": args.deflate, "extension": extension,
        "encoder": format!("{:?}", args.encoder).to_lowercase(), "level": args.level, "conns": args.conns, "senders": args.senders,
        "window": args.window, "size": args.size, "duration_s": elapsed,
        "publishes": stats.publishes_in_window,
        "publishes_per_s": stats.publishes_in_window as f64 / elapsed,
        "deliveries": stats.deliveries_in_window,
        "deliveries_per_s": stats.deliveries_in_window as f64 / elapsed,
        "undelivered": undelivered, "stalls": stats.stalls,
        "compressed_frames_received": stats.compressed_frames,
        "latency_us": { "p50": stats.percentile(0.5), "p90": stats.percentile(0.9),
                        "p99": stats.percentile(0.99), "max": stats.percentile(1.0) },
        "client_cpu_pct": pct(cpu_before.0, cpu_after.0),
        "server_cpu_pct": cpu_before.1.zip(cpu_after.1).map(|(b, a)| pct(b, a)),
        "errors": 0,
    })
    .to_string())
}

/// user + system CPU time of `/proc/{pid}/stat`, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12) // utime and stime: fields 14 and 15 of the whole line
}

/// Where to connect.
struct Target {
    addr: String,
    host: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or("--url must be ws://127.0.0.1:PORT/PATH")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!("only loopback servers may be loaded, not {host}"));
        }
        let addr = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        Ok(Target {
            addr,
            host: authority.to_owned(),
            path,
        })
    }
}

/// One client connection.
struct Conn {
    id: usize,
    stream: TcpStream,
    read_buf: Vec<u8>,
    write_buf: BytesMut,
    extension: String,
    compressor: Option<(Deflate, bool)>,
    /// Compress with [`Encoder::Literals`] instead of `compressor`.
    literals: bool,
    decompressor: Option<(Inflate, bool)>,
    /// Reused buffers: a compressed message, an inflated one, a fragmented one.
    scratch: Vec<u8>,
    inflated: Vec<u8>,
    fragments: Option<(bool, Vec<u8>)>,
    mask_state: u64,
}

impl Conn {
    async fn open(target: &Target, args: &Args, id: usize) -> Result<Conn, String> {
        let mut stream = TcpStream::connect(&target.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", target.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let key =
            base64::engine::general_purpose::STANDARD.encode((id as u128 + 0x5eed).to_le_bytes());
        let offer = if args.deflate {
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        } else {
            ""
        };
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n",
            target.path, target.host
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        let end = loop {
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the server closed during the handshake".into());
            }
            head.extend_from_slice(&chunk[..n]);
        };
        let text = String::from_utf8_lossy(&head[..end]).into_owned();
        if !text.starts_with("HTTP/1.1 101") {
            return Err(format!("no 101: {}", text.lines().next().unwrap_or("")));
        }
        let extension = text
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-extensions")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        let (compressor, decompressor) = if args.deflate {
            if !extension.starts_with("permessage-deflate") {
                return Err("the server did not accept permessage-deflate".into());
            }
            let param = |name: &str| {
                extension
                    .split(';')
                    .map(str::trim)
                    .find(|p| p.starts_with(name))
            };
            let bits = |name: &str| {
                param(name)
                    .and_then(|p| p.split_once('=')?.1.trim_matches('"').parse::<u8>().ok())
                    .unwrap_or(15)
            };
            let client_resets = param("client_no_context_takeover").is_some();
            // A reset clears the match-finding tables: with a fresh context per message, small
            // ones (a 512-byte window, the least memory level; any window up to the agreed
            // one is allowed) compress chat-sized messages as well, for much less work.
            let agreed_window = bits("client_max_window_bits").max(9);
            let config = DeflateConfig {
                level: args.level,
                method: Method::Deflated,
                window_bits: -i32::from(if client_resets { 9 } else { agreed_window }),
                mem_level: if client_resets { 1 } else { 8 },
                strategy: Strategy::Default,
            };
            let server_resets = param("server_no_context_takeover").is_some();
            (
                Some((Deflate::new_with_config(config), client_resets)),
                Some((Inflate::new(false, 15), server_resets)),
            )
        } else {
            (None, None)
        };
        Ok(Conn {
            id,
            stream,
            read_buf: head[end..].to_vec(),
            write_buf: BytesMut::with_capacity(64 * 1024),
            extension,
            compressor,
            literals: args.encoder == Encoder::Literals,
            decompressor,
            scratch: Vec::new(),
            inflated: Vec::new(),
            fragments: None,
            mask_state: 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
        })
    }

    /// Sends a hello and reads until it comes back.
    async fn hello(&mut self) -> Result<(), String> {
        let mut hello = format!("{:04x}{:016x}", self.id, u64::MAX).into_bytes();
        hello.resize(HEADER + 4, b'!');
        self.queue_message(&hello)?;
        self.flush().await?;
        loop {
            let mut own = false;
            let id = self.id;
            self.read_messages(|message| {
                if message.len() >= HEADER && sender_of(message) == Some(id) {
                    own = true;
                }
            })
            .await?;
            if own {
                return Ok(());
            }
        }
    }

    /// The connection's part of the run: send within the window while sending, read and
    /// count everything until the end.
    async fn drive(mut self, run: Rc<Run>) -> Result<(), String> {
        let args = &run.args;
        let sender = self.id < args.senders;
        let mut in_flight = 0usize;
        let mut last_own = Instant::now();
        let mut message = vec![0u8; args.size];
        for (i, byte) in message[HEADER..].iter_mut().enumerate() {
            *byte = PROSE[i % PROSE.len()];
        }
        loop {
            let phase = run.phase.get();
            if phase == Phase::Done {
                return Ok(());
            }
            if sender && matches!(phase, Phase::Warmup | Phase::Measuring) {
                if in_flight > 0 && last_own.elapsed() > args.stall_timeout {
                    run.stats.borrow_mut().stalls += 1;
                    in_flight = 0;
                }
                // Refill a quarter window at a time.
                if in_flight <= args.window - args.window.div_ceil(4) {
                    let mut sent_in_window = 0;
                    while in_flight < args.window {
                        write_hex(&mut message[..4], self.id as u64);
                        write_hex(&mut message[4..HEADER], run.now_ns());
                        self.queue_message(&message)?;
                        in_flight += 1;
                        if phase == Phase::Measuring {
                            sent_in_window += 1;
                        }
                    }
                    run.stats.borrow_mut().publishes_in_window += sent_in_window;
                    self.flush().await?;
                }
            }
            let id = self.id;
            let mut own = 0;
            let mut now_once = None;
            let read = self.read_messages(|message| {
                let Some(from) = sender_of(message) else {
                    return;
                };
                let sent_at = sent_at(message);
                // One clock reading per read(2), as the messages arrived together.
                let now = *now_once.get_or_insert_with(|| run.now_ns());
                let mut stats = run.stats.borrow_mut();
                if now >= run.window_start_ns.get() && now < run.window_end_ns.get() {
                    stats.deliveries_in_window += 1;
                    stats.record_latency(now.saturating_sub(sent_at) / 1000);
                }
                if sent_at >= run.window_start_ns.get() && sent_at < run.window_end_ns.get() {
                    stats.window_messages_delivered += 1;
                }
                if from == id {
                    own += 1;
                }
            });
            match tokio::time::timeout(Duration::from_millis(100), read).await {
                Ok(result) => {
                    let compressed = result?;
                    run.stats.borrow_mut().compressed_frames += compressed;
                }
                Err(_) => continue,
            }
            if own > 0 {
                in_flight = in_flight.saturating_sub(own);
                last_own = Instant::now();
            }
        }
    }

    /// Queues a text message, compressed if the extension was agreed, masked.
    fn queue_message(&mut self, payload: &[u8]) -> Result<(), String> {
        let (compressed, data) = match &mut self.compressor {
            Some(_) if self.literals => {
                fixed_huffman_literals(payload, &mut self.scratch);
                (true, &self.scratch[..])
            }
            Some((deflate, reset)) => {
                self.scratch.clear();
                self.scratch.resize(payload.len() + 64, 0);
                let before = deflate.total_out();
                deflate
                    .compress(payload, &mut self.scratch, DeflateFlush::SyncFlush)
                    .map_err(|e| format!("deflate: {e:?}"))?;
                let len = (deflate.total_out() - before) as usize;
                self.scratch.truncate(len);
                if self.scratch.ends_with(&FLUSH_TAIL) {
                    self.scratch.truncate(len - 4);
                }
                if self.scratch.is_empty() {
                    self.scratch.push(0);
                }
                if *reset {
                    deflate.reset();
                }
                (true, &self.scratch[..])
            }
            None => (false, payload),
        };
        self.mask_state ^= self.mask_state << 13;
        self.mask_state ^= self.mask_state >> 7;
        self.mask_state ^= self.mask_state << 17;
        let mask = (self.mask_state as u32).to_le_bytes();
        let first = 0x81 | if compressed { 0x40 } else { 0 };
        write_masked_frame(&mut self.write_buf, first, data, mask);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), String> {
        self.stream
            .write_all(&self.write_buf)
            .await
            .map_err(|e| e.to_string())?;
        self.write_buf.clear();
        Ok(())
    }

    /// Reads once and hands every complete message to `each`; returns how many compressed
    /// frames it inflated. Pings are answered.
    async fn read_messages(&mut self, mut each: impl FnMut(&[u8])) -> Result<u64, String> {
        // Into spare capacity: zero-filling a big buffer per read would cost more than the rest.
        self.read_buf.reserve(256 * 1024);
        let n = self
            .stream
            .read_buf(&mut self.read_buf)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        let mut at = 0;
        let mut compressed_frames = 0;
        let mut pongs = Vec::new();
        while let Some((first, header, len)) = parse_header(&self.read_buf[at..])? {
            let payload_at = at + header;
            if self.read_buf.len() < payload_at + len {
                break;
            }
            let payload = &self.read_buf[payload_at..payload_at + len];
            at = payload_at + len;
            let (fin, rsv1, opcode) = (first & 0x80 != 0, first & 0x40 != 0, first & 0x0f);
            match opcode {
                0x9 => pongs.push(payload.to_vec()),
                0xA => {}
                0x8 => {
                    return Err(format!(
                        "the server closed: {:?}",
                        String::from_utf8_lossy(payload)
                    ))
                }
                0x1 | 0x2 if fin && !rsv1 => each(payload),
                0x0..=0x2 => {
                    let (compressed, data) =
                        self.fragments.get_or_insert_with(|| (rsv1, Vec::new()));
                    data.extend_from_slice(payload);
                    let compressed = *compressed;
                    if !fin {
                        continue;
                    }
                    let (_, data) = self.fragments.take().expect("a message");
                    if compressed {
                        compressed_frames += 1;
                        inflate(&mut self.decompressor, &data, &mut self.inflated)?;
                        each(&self.inflated);
                    } else {
                        each(&data);
                    }
                }
                other => return Err(format!("unexpected opcode {other}")),
            }
        }
        self.read_buf.drain(..at);
        for payload in pongs {
            self.queue_control(0xA, &payload);
        }
        if !self.write_buf.is_empty() {
            self.flush().await?;
        }
        Ok(compressed_frames)
    }

    /// Queues a control frame, masked with a zero key (the payload goes out as it is).
    fn queue_control(&mut self, opcode: u8, payload: &[u8]) {
        write_masked_frame(&mut self.write_buf, 0x80 | opcode, payload, [0; 4]);
    }
}

/// `payload` as one non-final fixed-Huffman block of literals, its end-of-block code, and
/// the start of the empty stored block of a sync flush whose `00 00 ff ff` the receiver
/// appends (RFC 7692 §7.2.1): what zlib would produce without finding any match.
fn fixed_huffman_literals(payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let (mut bits, mut count) = (0u64, 0u32);
    let mut put = |value: u32, len: u32, out: &mut Vec<u8>| {
        bits |= u64::from(value) << count;
        count += len;
        while count >= 8 {
            out.push(bits as u8);
            bits >>= 8;
            count -= 8;
        }
    };
    // Huffman codes go most significant bit first into the least-significant-first stream.
    let code = |code: u32, len: u32| code.reverse_bits() >> (32 - len);
    let mut total = 0;
    put(0b010, 3, out); // BFINAL 0, BTYPE 01 (fixed Huffman)
    for &byte in payload {
        let (value, len) = match byte {
            0..=143 => (code(0x30 + u32::from(byte), 8), 8),
            _ => (code(0x190 + u32::from(byte) - 144, 9), 9),
        };
        put(value, len, out);
        total += len;
    }
    put(0, 7, out); // end of block (code 256: seven zero bits)
    put(0, 3, out); // BFINAL 0, BTYPE 00: the sync flush's empty stored block
                    // To the byte boundary; the stored block's LEN and NLEN are the tail the receiver adds.
    let pad = (8 - (3 + total + 7 + 3) % 8) % 8;
    put(0, pad, out);
}

/// A server frame's first byte, header length and payload length, if the header is there.
fn parse_header(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, String> {
    let &[first, second, ..] = buf else {
        return Ok(None);
    };
    if first & 0x30 != 0 || second & 0x80 != 0 {
        return Err("RSV2/RSV3 or a masked frame from the server".into());
    }
    Ok(match second & 0x7f {
        126 => buf
            .get(2..4)
            .map(|b| (first, 4, u16::from_be_bytes([b[0], b[1]]) as usize)),
        127 => buf.get(2..10).map(|b| {
            (
                first,
                10,
                u64::from_be_bytes(b.try_into().expect("8 bytes")) as usize,
            )
        }),
        n => Some((first, 2, n as usize)),
    })
}

/// Inflates a compressed message into `out`.
fn inflate(
    decompressor: &mut Option<(Inflate, bool)>,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let Some((inflate, reset)) = decompressor else {
        return Err("a compressed frame without permessage-deflate".into());
    };
    out.clear();
    for input in [data, &FLUSH_TAIL[..]] {
        let mut input = input;
        loop {
            let len = out.len();
            let room = input.len() * 4 + 1024;
            out.resize(len + room, 0);
            let (before_in, before_out) = (inflate.total_in(), inflate.total_out());
            inflate
                .decompress(input, &mut out[len..], InflateFlush::SyncFlush)
                .map_err(|e| format!("inflate: {e:?}"))?;
            let consumed = (inflate.total_in() - before_in) as usize;
            let produced = (inflate.total_out() - before_out) as usize;
            out.truncate(len + produced);
            input = &input[consumed..];
            if input.is_empty() && produced < room {
                break;
            }
        }
    }
    if *reset {
        inflate.reset(false);
    }
    Ok(())
}

/// Writes `value` as lowercase hex digits filling `out`.
fn write_hex(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        *byte = b"0123456789abcdef"[(value & 15) as usize];
        value >>= 4;
    }
}

/// Reads hex digits; `None` if one is not.
fn read_hex(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(v))
    })
}

/// The sender id at the start of a message.
fn sender_of(message: &[u8]) -> Option<usize> {
    read_hex(message.get(..4)?).map(|id| id as usize)
}

/// The send time (ns since the run's epoch) in a message.
fn sent_at(message: &[u8]) -> u64 {
    message
        .get(4..HEADER)
        .and_then(read_hex)
        .unwrap_or(u64::MAX)
}
