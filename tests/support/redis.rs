//! Real `redis-server` processes for the Redis backplane's tests: [`RedisServer`], one
//! server (optionally with a password and TLS) that a test can kill, restart, pause and
//! inspect with redis-cli, and [`RedisCluster`], a Redis Cluster of masters. Redis is
//! installed on first use by `tests/interop/setup-redis.sh`.
//!
//! Every wait is bounded by [`WAIT`] and panics saying what it waited for, with the
//! server's log (its path, and its last lines). A server's directory is removed when it is
//! dropped, unless the test is panicking (then the log is still there to read).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::{TestCert, WAIT};

/// How often a wait polls.
const POLL: Duration = Duration::from_millis(20);

/// How many ports [`RedisServer::start`] tries: the port it picks is free when it looks, but
/// another process may take it before the server binds it.
const PORT_ATTEMPTS: usize = 3;

/// A cluster node's bus listens on its port + 10000.
const CLUSTER_BUS_OFFSET: u16 = 10000;

/// How many lines of a server's log a failure message quotes.
const LOG_TAIL: usize = 20;

/// redis-server and redis-cli, as `setup-redis.sh` found (or installed) them.
#[derive(Debug)]
struct Tools {
    /// Not canonicalized: Debian's `redis-server` is a symlink to `redis-check-rdb`, and the
    /// binary picks what it is from the name it was run by.
    server: PathBuf,
    cli: PathBuf,
}

/// Runs `setup-redis.sh` once per process.
async fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    if let Some(tools) = TOOLS.get() {
        return tools;
    }
    let found = tokio::task::spawn_blocking(|| {
        TOOLS.get_or_init(|| {
            let server = PathBuf::from(crate::setup_tool("interop/setup-redis.sh"));
            let beside = server.with_file_name("redis-cli");
            let cli = if beside.is_file() {
                beside
            } else {
                PathBuf::from("redis-cli")
            };
            Tools { server, cli }
        })
    })
    .await;
    match found {
        Ok(tools) => tools,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("running tests/interop/setup-redis.sh: {e}"),
        },
    }
}

/// What a [`RedisServer`] requires of its clients.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// `--requirepass`.
    pub password: Option<String>,
    /// TLS only (no cleartext port), with this certificate; clients are not asked for one.
    pub tls: Option<TestCert>,
}

/// One `redis-server` on `127.0.0.1` (and `::1` where there is one), without persistence,
/// killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    /// `None` once killed (or exited).
    child: Option<Child>,
    pid: u32,
    port: u16,
    options: RedisOptions,
    /// A Redis Cluster node (`--cluster-enabled yes`).
    cluster: bool,
    /// Its `--dir`: the log, the TLS files, a cluster node's `nodes.conf`.
    dir: PathBuf,
    log: PathBuf,
    /// The CA's certificate, for redis-cli's `--cacert` (with TLS).
    ca: Option<PathBuf>,
    tools: &'static Tools,
}

/// The server could not bind its port: another process has it.
#[derive(Debug)]
struct PortTaken;

impl RedisServer {
    /// A redis-server on a free `127.0.0.1` port, without persistence (`--save ""
    /// --appendonly no`), in a fresh [`scratch_dir`](crate::scratch_dir) (its `--dir`, where
    /// stdout and stderr go to `redis.log`); returns once `PING` answers `PONG`.
    pub async fn start() -> RedisServer {
        Self::start_with(RedisOptions::default()).await
    }

    /// Like [`start`](Self::start), with a password (`--requirepass`) and/or TLS (`--port 0
    /// --tls-port PORT`, the certificate's files in the server's directory,
    /// `--tls-auth-clients no`).
    pub async fn start_with(options: RedisOptions) -> RedisServer {
        Self::start_node(options, false).await
    }

    async fn start_node(options: RedisOptions, cluster: bool) -> RedisServer {
        let mut server = Self::unstarted(options, cluster).await;
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port(cluster);
            if let Ok(()) = server.launch().await {
                return server;
            }
        }
        panic!(
            "{}",
            server.failure(&format!(
                "redis-server found its port taken {PORT_ATTEMPTS} times in a row"
            ))
        )
    }

    /// A server not started yet, in a new directory with its TLS files.
    async fn unstarted(options: RedisOptions, cluster: bool) -> RedisServer {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let tools = tools().await;
        let dir = crate::scratch_dir(&format!("redis-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let ca = options.tls.as_ref().map(|cert| {
            cert.write_files(&dir);
            cert.write_ca(&dir)
        });
        RedisServer {
            child: None,
            pid: 0,
            port: 0,
            options,
            cluster,
            log: dir.join("redis.log"),
            dir,
            ca,
            tools,
        }
    }

    /// The port clients connect to (the TLS port with TLS).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `redis://127.0.0.1:PORT`; `redis://:PASSWORD@127.0.0.1:PORT` with a password;
    /// `rediss://[:PASSWORD@]localhost:PORT` with TLS (the name the certificate is for: it
    /// also carries the IP address `127.0.0.1`). The password is percent-encoded.
    pub fn url(&self) -> String {
        let port = self.port;
        let auth = match &self.options.password {
            Some(password) => format!(":{}@", percent_encode(password)),
            None => String::new(),
        };
        match self.options.tls {
            Some(_) => format!("rediss://{auth}localhost:{port}"),
            None => format!("redis://{auth}127.0.0.1:{port}"),
        }
    }

    /// The process id of the running server (of the last one, once killed).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The server's directory, where its log is (`redis.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// SIGKILL, and waits for the process to exit: its port is closed on return. Does
    /// nothing if it is not running.
    pub async fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let what = format!("redis-server (pid {}) to exit after SIGKILL", self.pid);
        match tokio::time::timeout(WAIT, child.kill()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{}", self.failure(&format!("SIGKILL: {e}"))),
            Err(_) => panic!(
                "{}",
                self.failure(&format!("timed out after {WAIT:?} waiting for {what}"))
            ),
        }
    }

    /// Starts the server again on the same port, with the same options and directory (a
    /// cluster node finds its `nodes.conf` there); kills it first if it is running. Returns
    /// once `PING` answers.
    pub async fn restart(&mut self) {
        self.kill().await;
        if let Err(PortTaken) = self.launch().await {
            panic!(
                "{}",
                self.failure("restarting: another process has taken the port")
            );
        }
    }

    /// SIGSTOP: a "slow Redis". Connections stay open and are accepted, nothing is
    /// answered. Returns once the process is stopped.
    pub fn pause(&self) {
        self.signal("STOP", true);
    }

    /// SIGCONT after [`pause`](Self::pause): the server answers what it was sent meanwhile.
    pub fn resume(&self) {
        self.signal("CONT", false);
    }

    /// Runs redis-cli against this server (with `--tls --cacert` and `-a` as needed, and
    /// `-e`: an error reply fails) with `args`; returns its output, trimmed.
    ///
    /// # Panics
    ///
    /// If redis-cli fails (with its output), or takes longer than [`WAIT`].
    pub async fn cli(&self, args: &[&str]) -> String {
        let what = format!("redis-cli {}", args.join(" "));
        match tokio::time::timeout(WAIT, self.try_cli(args)).await {
            Ok(Ok(stdout)) => stdout,
            Ok(Err(e)) => panic!("{}", self.failure(&format!("{what} failed: {e}"))),
            Err(_) => panic!(
                "{}",
                self.failure(&format!("timed out after {WAIT:?}: {what}"))
            ),
        }
    }

    /// `PUBSUB CHANNELS pattern`, sorted.
    pub async fn channels(&self, pattern: &str) -> Vec<String> {
        lines(&self.cli(&["PUBSUB", "CHANNELS", pattern]).await)
    }

    /// `PUBSUB SHARDCHANNELS pattern`, sorted.
    pub async fn shard_channels(&self, pattern: &str) -> Vec<String> {
        lines(&self.cli(&["PUBSUB", "SHARDCHANNELS", pattern]).await)
    }

    /// Waits until [`channels`](Self::channels) (or [`shard_channels`](Self::shard_channels)
    /// when `sharded`) is `expected` (in any order), polling every 20 ms.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], with the last value seen.
    pub async fn wait_channels(&self, pattern: &str, sharded: bool, expected: &[&str]) {
        let command = if sharded { "SHARDCHANNELS" } else { "CHANNELS" };
        let read = || async {
            if sharded {
                self.shard_channels(pattern).await
            } else {
                self.channels(pattern).await
            }
        };
        if let Err(seen) = poll(sorted(expected), read).await {
            panic!(
                "{}",
                self.failure(&format!(
                    "timed out after {WAIT:?} waiting for PUBSUB {command} {pattern:?} to be \
                     {expected:?}; it was {seen:?}"
                ))
            );
        }
    }

    /// How many connections are subscribed to `channel` (`PUBSUB NUMSUB`).
    pub async fn numsub(&self, channel: &str) -> usize {
        let reply = self.cli(&["PUBSUB", "NUMSUB", channel]).await;
        last_number(&reply)
    }

    /// Waits until [`numsub`](Self::numsub) of `channel` is `connections`, polling every
    /// 20 ms: a subscription takes effect once Redis has acknowledged it, so a test that
    /// publishes across nodes waits for each node's first.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], with the last value seen.
    pub async fn wait_numsub(&self, channel: &str, connections: usize) {
        if let Err(seen) = poll(connections, || self.numsub(channel)).await {
            panic!(
                "{}",
                self.failure(&format!(
                    "timed out after {WAIT:?} waiting for {connections} subscribers of \
                     {channel:?} (PUBSUB NUMSUB); it was {seen}"
                ))
            );
        }
    }

    /// Starts the process on `self.port` and waits until it answers `PING`.
    async fn launch(&mut self) -> Result<(), PortTaken> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.log.display()));
        let log_start = log.metadata().map_or(0, |m| m.len());
        let stderr = log.try_clone().expect("a second handle on the log");
        let child = Command::new(&self.tools.server)
            .args(self.server_args())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.tools.server.display()));
        self.pid = child.id().expect("a process just started has an id");
        self.child = Some(child);
        self.wait_ready(log_start).await
    }

    fn server_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
            args.extend(items.iter().map(|item| item.as_ref().to_owned()));
        };
        let port = self.port.to_string();
        match (&self.options.tls, &self.ca) {
            (Some(_), Some(ca)) => push(&[
                &"--port",
                &"0",
                &"--tls-port",
                &port,
                &"--tls-cert-file",
                &self.dir.join("cert.pem"),
                &"--tls-key-file",
                &self.dir.join("key.pem"),
                &"--tls-ca-cert-file",
                ca,
                &"--tls-auth-clients",
                &"no",
            ]),
            _ => push(&[&"--port", &port]),
        }
        if self.cluster {
            // The cluster bus binds these addresses too (on port + 10000), and only
            // 127.0.0.1:bus was checked free.
            push(&[
                &"--bind",
                &"127.0.0.1",
                &"--cluster-enabled",
                &"yes",
                &"--cluster-config-file",
                &self.dir.join("nodes.conf"),
            ]);
        } else {
            // `localhost` (the name in a TLS server's URL) may resolve to ::1 first; `-`:
            // skipped where there is no IPv6.
            push(&[&"--bind", &"127.0.0.1", &"-::1"]);
        }
        push(&[
            &"--save",
            &"",
            &"--appendonly",
            &"no",
            &"--dir",
            &self.dir,
            &"--daemonize",
            &"no",
        ]);
        if let Some(password) = &self.options.password {
            push(&[&"--requirepass", password]);
        }
        args
    }

    /// Waits until the server answers `PING`, and checks that the server answering is this
    /// one (`INFO server`'s `process_id`), not another that had the port.
    async fn wait_ready(&mut self, log_start: u64) -> Result<(), PortTaken> {
        let deadline = Instant::now() + WAIT;
        loop {
            let child = self.child.as_mut().expect("launched");
            if let Some(status) = child.try_wait().expect("the server's exit status") {
                self.child = None;
                let log = std::fs::read(&self.log).unwrap_or_default();
                let this_run =
                    String::from_utf8_lossy(log.get(log_start as usize..).unwrap_or_default());
                if this_run.contains("Address already in use") {
                    return Err(PortTaken);
                }
                panic!(
                    "{}",
                    self.failure(&format!(
                        "redis-server exited ({status}) before answering PING"
                    ))
                );
            }
            // A connection first: cheaper than redis-cli while the server is not listening
            // (but with TLS, the server would log each one as a failed handshake).
            if self.ca.is_some() || tokio::net::TcpStream::connect(self.addr()).await.is_ok() {
                let answer =
                    tokio::time::timeout(Duration::from_millis(500), self.try_cli(&["PING"]));
                if let Ok(Ok(pong)) = answer.await {
                    if pong == "PONG" {
                        break;
                    }
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}",
                    self.failure(&format!(
                        "timed out after {WAIT:?} waiting for PING to answer PONG"
                    ))
                );
            }
            tokio::time::sleep(POLL).await;
        }
        let info = self.cli(&["INFO", "server"]).await;
        let answering = info
            .lines()
            .find_map(|line| line.trim().strip_prefix("process_id:"))
            .and_then(|pid| pid.parse::<u32>().ok());
        if answering == Some(self.pid) {
            return Ok(());
        }
        // This one cannot bind the port and is about to exit; do not wait for it.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        Err(PortTaken)
    }

    /// redis-cli with `args`: its output trimmed, or how it failed.
    async fn try_cli(&self, args: &[&str]) -> Result<String, String> {
        let mut command: Vec<OsString> = vec!["-e".into(), "-h".into(), "127.0.0.1".into()];
        command.extend(["-p".into(), self.port.to_string().into()]);
        if let Some(ca) = &self.ca {
            command.extend(["--tls".into(), "--cacert".into(), ca.into()]);
        }
        if let Some(password) = &self.options.password {
            command.extend(["-a".into(), password.into(), "--no-auth-warning".into()]);
        }
        command.extend(args.iter().map(OsString::from));
        run_cli(self.tools, &command).await
    }

    /// Sends `signal` with `kill`; with `until_stopped`, waits until the process is stopped.
    fn signal(&self, signal: &str, until_stopped: bool) {
        assert!(
            self.child.is_some(),
            "{}",
            self.failure(&format!("SIG{signal}: the server is not running"))
        );
        let pid = self.pid.to_string();
        // The shell's built-in kill: not every system has a kill binary.
        let status = std::process::Command::new("sh")
            .args(["-c", r#"kill -s "$1" "$2""#, "kill", signal, &pid])
            .status()
            .unwrap_or_else(|e| panic!("running sh: {e}"));
        assert!(
            status.success(),
            "{}",
            self.failure(&format!("kill -s {signal} {pid} failed ({status})"))
        );
        if until_stopped {
            let deadline = std::time::Instant::now() + WAIT;
            while stopped(self.pid) == Some(false) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{}",
                    self.failure(&format!(
                        "timed out after {WAIT:?} waiting for SIGSTOP to stop it"
                    ))
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// `what`, which redis-server this is, and the end of its log.
    fn failure(&self, what: &str) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n");
        format!(
            "{what}\n(redis-server on 127.0.0.1:{}, pid {}; its log, {}, ends:)\n{tail}",
            self.port,
            self.pid,
            self.log.display()
        )
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A Redis Cluster of masters on `127.0.0.1`, no replicas; its nodes are killed when it is
/// dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// `masters` (at least 3) cluster-enabled redis-servers on free ports (with their
    /// cluster bus ports, port + 10000, free too), joined by `redis-cli --cluster create
    /// --cluster-replicas 0`; returns once `CLUSTER INFO` says `cluster_state:ok` on every
    /// node.
    ///
    /// redis-cli introduces every node to the first one only, and gossip spreads the rest:
    /// 1 to 9 s for 3 nodes (redis-cli checks once a second). So once it has, each node is
    /// introduced to the others too (`CLUSTER MEET`), and it takes 1 to 2 s.
    pub async fn start(masters: usize) -> RedisCluster {
        assert!(
            masters >= 3,
            "a Redis Cluster needs 3 masters or more (redis-cli --cluster create refuses \
             fewer), not {masters}"
        );
        let nodes = futures_util::future::join_all(
            (0..masters).map(|_| RedisServer::start_node(RedisOptions::default(), true)),
        )
        .await;
        let cluster = RedisCluster { nodes };
        let mut args: Vec<OsString> = vec!["-e".into(), "--cluster".into(), "create".into()];
        args.extend(
            cluster
                .nodes
                .iter()
                .map(|n| format!("127.0.0.1:{}", n.port).into()),
        );
        args.extend(["--cluster-replicas", "0", "--cluster-yes"].map(OsString::from));
        let tools = cluster.nodes[0].tools;
        let create = async {
            let create = run_cli(tools, &args);
            tokio::pin!(create);
            tokio::select! {
                created = &mut create => return created,
                () = cluster.introduce_nodes() => {}
            }
            create.await
        };
        match tokio::time::timeout(WAIT, create).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!(
                "{}",
                cluster.failure(&format!("redis-cli --cluster create failed: {e}"))
            ),
            Err(_) => panic!(
                "{}",
                cluster.failure(&format!(
                    "timed out after {WAIT:?}: redis-cli --cluster create"
                ))
            ),
        }
        let deadline = Instant::now() + WAIT;
        for node in &cluster.nodes {
            loop {
                let info = node.cli(&["CLUSTER", "INFO"]).await;
                if info.lines().any(|line| line.trim() == "cluster_state:ok") {
                    break;
                }
                if Instant::now() >= deadline {
                    panic!(
                        "{}",
                        cluster.failure(&format!(
                            "timed out after {WAIT:?} waiting for cluster_state:ok on node \
                             127.0.0.1:{}; its CLUSTER INFO:\n{info}",
                            node.port
                        ))
                    );
                }
                tokio::time::sleep(POLL).await;
            }
        }
        cluster
    }

    /// Once redis-cli has sent its `CLUSTER MEET`s (the last node knows another, and all of
    /// them had their config epoch set before), introduces every node but the first to
    /// every other. Failures are left to redis-cli's wait for the cluster to agree.
    async fn introduce_nodes(&self) {
        let last = self.nodes.last().expect("a cluster has nodes");
        loop {
            let info = last.try_cli(&["CLUSTER", "INFO"]).await.unwrap_or_default();
            let known = info
                .lines()
                .find_map(|line| line.trim().strip_prefix("cluster_known_nodes:"))
                .and_then(|n| n.parse::<usize>().ok());
            if known.is_some_and(|n| n >= 2) {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        for (j, node) in self.nodes.iter().enumerate().skip(2) {
            for other in &self.nodes[1..j] {
                let port = other.port.to_string();
                let _ = node.try_cli(&["CLUSTER", "MEET", "127.0.0.1", &port]).await;
            }
        }
    }

    /// `redis-cluster://127.0.0.1:P1?node=127.0.0.1:P2&node=127.0.0.1:P3…`: every node,
    /// in the URL form of the `fred` crate.
    pub fn url(&self) -> String {
        let mut nodes = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port));
        let first = nodes.next().expect("a cluster has nodes");
        let rest: Vec<String> = nodes.map(|node| format!("node={node}")).collect();
        format!("redis-cluster://{first}?{}", rest.join("&"))
    }

    /// The nodes, in the order they were given to `--cluster create`.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// `PUBSUB SHARDCHANNELS pattern` on every node, together, sorted.
    pub async fn shard_channels(&self, pattern: &str) -> Vec<String> {
        let mut all = BTreeSet::new();
        for node in &self.nodes {
            all.extend(node.shard_channels(pattern).await);
        }
        all.into_iter().collect()
    }

    /// Waits until [`shard_channels`](Self::shard_channels) is `expected` (in any order),
    /// polling every 20 ms.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], with the last value seen.
    pub async fn wait_shard_channels(&self, pattern: &str, expected: &[&str]) {
        if let Err(seen) = poll(sorted(expected), || self.shard_channels(pattern)).await {
            panic!(
                "{}",
                self.failure(&format!(
                    "timed out after {WAIT:?} waiting for PUBSUB SHARDCHANNELS {pattern:?} on \
                     the cluster's nodes to be {expected:?}; it was {seen:?}"
                ))
            );
        }
    }

    /// How many connections are subscribed to the shard channel `channel`, on all the nodes
    /// together (`PUBSUB SHARDNUMSUB`).
    pub async fn shard_numsub(&self, channel: &str) -> usize {
        let mut all = 0;
        for node in &self.nodes {
            all += last_number(&node.cli(&["PUBSUB", "SHARDNUMSUB", channel]).await);
        }
        all
    }

    /// Waits until [`shard_numsub`](Self::shard_numsub) of `channel` is `connections`,
    /// polling every 20 ms.
    ///
    /// # Panics
    ///
    /// After [`WAIT`], with the last value seen.
    pub async fn wait_shard_numsub(&self, channel: &str, connections: usize) {
        if let Err(seen) = poll(connections, || self.shard_numsub(channel)).await {
            panic!(
                "{}",
                self.failure(&format!(
                    "timed out after {WAIT:?} waiting for {connections} subscribers of the \
                     shard channel {channel:?}; it was {seen}"
                ))
            );
        }
    }

    fn failure(&self, what: &str) -> String {
        let mut message = what.to_owned();
        for node in &self.nodes {
            message.push_str("\n\n");
            message.push_str(&node.failure("node:"));
        }
        message
    }
}

/// Runs redis-cli with `args` (its stdin empty, so it never waits for a command there).
/// Reads with `read` every [`POLL`] until it returns `expected`, for at most [`WAIT`]; the
/// last value read if it never does.
async fn poll<T, F, R>(expected: T, mut read: F) -> Result<(), T>
where
    T: PartialEq,
    F: FnMut() -> R,
    R: std::future::Future<Output = T>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = read().await;
        if seen == expected {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(seen);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The number on the last line of a `redis-cli` reply (a `NUMSUB` count); 0 if there is none.
fn last_number(reply: &str) -> usize {
    reply
        .lines()
        .last()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

async fn run_cli(tools: &Tools, args: &[OsString]) -> Result<String, String> {
    let output = Command::new(&tools.cli)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", tools.cli.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "{}\nstdout: {stdout}\nstderr: {}",
        output.status,
        stderr.trim()
    ))
}

/// A port on `127.0.0.1` that was free a moment ago; for a cluster node, one at most 55535
/// whose cluster bus port (port + 10000) was free too.
fn free_port(cluster: bool) -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a bound address").port();
        if !cluster {
            return port;
        }
        if port <= u16::MAX - CLUSTER_BUS_OFFSET
            && TcpListener::bind((Ipv4Addr::LOCALHOST, port + CLUSTER_BUS_OFFSET)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port P on 127.0.0.1 with P + {CLUSTER_BUS_OFFSET} free too in 1000 tries")
}

/// Whether process `pid` is stopped (state `T` in `/proc/PID/stat`); `None` where there is
/// no such file.
fn stopped(pid: u32) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state is the field after the command name, which is in parentheses.
    let state = stat[stat.rfind(')')? + 1..].trim_start();
    Some(state.starts_with('T'))
}

/// redis-cli's output of an array of strings, one per line, sorted.
fn lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|&item| item.to_owned()).collect();
    items.sort();
    items
}

/// `text` with everything but RFC 3986's unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
