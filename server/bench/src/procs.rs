//! The processes a benchmark run starts: where they run (pinned cores), when they are ready, what
//! CPU and memory they use, and the nginx configurations of the B1 relay and the fixed upstream.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which core the relay under test runs on, and which the load generator and upstreams share.
#[derive(Clone, Copy, Debug)]
pub struct Pins {
    pub relay: Option<usize>,
    pub load: Option<usize>,
}

impl Pins {
    /// Relays on CPU 1, everything else on CPU 0 — when the machine has two cores and `taskset`.
    pub fn detect(wanted: bool) -> (Pins, Option<String>) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let none = Pins {
            relay: None,
            load: None,
        };
        if !wanted {
            return (none, Some("not pinned (--no-pin)".into()));
        }
        if cores < 2 {
            return (none, Some(format!("not pinned: {cores} core available")));
        }
        if which("taskset").is_none() {
            return (none, Some("not pinned: taskset is missing".into()));
        }
        (
            Pins {
                relay: Some(1),
                load: Some(0),
            },
            None,
        )
    }

    /// Pins this process (every thread, and those it starts later) to the load core.
    pub fn pin_self(&self) -> Result<()> {
        if let Some(cpu) = self.load {
            let status = std::process::Command::new("taskset")
                .args(["-a", "-p", "-c", &cpu.to_string()])
                .arg(std::process::id().to_string())
                .stdout(Stdio::null())
                .status()
                .context("Could not run taskset")?;
            anyhow::ensure!(status.success(), "taskset could not pin the load generator");
        }
        Ok(())
    }
}

/// A program on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A program in the directory this binary is in.
pub fn sibling(program: &str) -> Result<PathBuf> {
    let here = std::env::current_exe().context("Could not find this program's path")?;
    let exe = here
        .parent()
        .ok_or_else(|| anyhow!("This program's path has no directory"))?
        .join(program);
    if !exe.is_file() {
        return Err(anyhow!(
            "{} is missing: build it first (bash .ci/bench builds everything)",
            exe.display()
        ));
    }
    Ok(exe)
}

/// Raises this process's open-file limit as far as it may (every open stream holds a connection):
/// a privileged process raises the hard limit too, others take the soft limit up to it. Child
/// processes inherit it.
pub fn raise_open_files() {
    const WANT: u64 = 1 << 20;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, WANT, WANT).is_err() {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
    }
}

/// A free loopback port (bound, then let go).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// How to tell that a started process is ready.
pub enum Ready<'a> {
    /// Its log prints this, followed by its URL.
    Logs(&'a str),
    /// It accepts connections on this loopback port.
    Port(u16),
}

/// A child process, killed when dropped.
pub struct Proc {
    child: Child,
    pub url: String,
}

impl Proc {
    /// Starts `exe` with `args` (on `cpu` when given) and waits until it is `ready`; also returns
    /// when it was started.
    pub async fn spawn(
        exe: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        cpu: Option<usize>,
        ready: Ready<'_>,
    ) -> Result<(Proc, Instant)> {
        let name = exe
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let started = Instant::now();
        let mut cmd = match cpu {
            // taskset executes the program in its own process: the PID stays the program's.
            Some(cpu) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(cpu.to_string()).arg(exe);
                cmd
            }
            None => Command::new(exe),
        };
        cmd.args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("Could not start {name}"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let mut lines = BufReader::new(stderr).lines();
        let url = match ready {
            Ready::Logs(marker) => loop {
                let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                    .await
                    .map_err(|_| anyhow!("{name} did not start within 30 s"))??
                    .ok_or_else(|| anyhow!("{name} exited before it listened"))?;
                if let Some(pos) = line.find(marker) {
                    let rest = &line[pos + marker.len()..];
                    break rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                }
            },
            Ready::Port(port) => {
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    if tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .is_ok()
                    {
                        break format!("http://127.0.0.1:{port}");
                    }
                    if let Some(status) = child.try_wait()? {
                        return Err(anyhow!("{name} exited ({status}) before it listened"));
                    }
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "{name} did not listen within 30 s"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        };
        // Keep draining its log so it never blocks on a full pipe; show its warnings and errors.
        tokio::spawn(async move {
            let mut shown = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                let worth =
                    line.contains("WARN") || line.contains("ERROR") || line.contains("[emerg]");
                if shown < 20 && worth {
                    eprintln!("[{name}] {line}");
                    shown += 1;
                }
            }
        });
        Ok((Proc { child, url }, started))
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// CPU time used so far (user + system), in clock ticks.
    pub fn cpu_ticks(&self) -> Option<u64> {
        cpu_ticks(self.pid()?)
    }

    /// CPU time used so far, in clock ticks, split as (user, system).
    pub fn cpu_split(&self) -> Option<(u64, u64)> {
        cpu_split(self.pid()?)
    }

    /// CPU time used so far (user + system, clock ticks) by the threads whose name starts with
    /// `prefix`; none when the process has no such thread.
    pub fn threads_cpu_ticks(&self, prefix: &str) -> Option<u64> {
        threads_cpu_ticks(self.pid()?, prefix)
    }

    /// Waits (up to 30 s) until the process is idle: work left from one measure (usage events still
    /// being written) is counted in its CPU and must not run during the next.
    pub async fn quiet(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = self.cpu_ticks();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.cpu_ticks();
            // At most 1 tick (10 ms) of CPU in 200 ms.
            match (last, now) {
                (Some(a), Some(b)) if b.saturating_sub(a) <= 1 => return,
                (Some(_), Some(_)) => {}
                _ => return,
            }
            last = now;
        }
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
    }
}

/// CPU time a process has used so far (user + system), in clock ticks (10 ms).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    cpu_split(pid).map(|(user, system)| user + system)
}

/// CPU time a process has used so far in user space and in the kernel, in clock ticks (10 ms).
pub fn cpu_split(pid: u32) -> Option<(u64, u64)> {
    stat_cpu_split(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time (user + system, clock ticks) of a process's threads whose name starts with `prefix`
/// (`/proc/PID/task/TID/comm`); none when it has no such thread.
pub fn threads_cpu_ticks(pid: u32, prefix: &str) -> Option<u64> {
    let mut total = None;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let dir = task.path();
        let named = std::fs::read_to_string(dir.join("comm"))
            .is_ok_and(|comm| comm.trim_end().starts_with(prefix));
        if !named {
            continue;
        }
        if let Some((user, system)) = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|stat| stat_cpu_split(&stat))
        {
            *total.get_or_insert(0) += user + system;
        }
    }
    total
}

/// (utime, stime) of a `/proc/…/stat` line.
fn stat_cpu_split(stat: &str) -> Option<(u64, u64)> {
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime, stime))
}

/// What an nginx instance of the benchmark does.
pub enum NginxRole<'a> {
    /// B1: a bare reverse proxy to `upstream` (keep-alive), adding the upstream key.
    Relay { upstream: &'a str, key: &'a str },
    /// A fixed-answer upstream: every request gets the same Anthropic message.
    Fixed { answer: &'a str },
}

/// Starts nginx (one process, no master) on `port` in its own prefix under `dir`.
pub async fn nginx(
    exe: &Path,
    dir: &Path,
    port: u16,
    role: NginxRole<'_>,
    cpu: Option<usize>,
) -> Result<Proc> {
    let prefix = dir.join(format!("nginx-{port}"));
    std::fs::create_dir_all(prefix.join("logs"))?;
    let body = match role {
        NginxRole::Relay { upstream, key } => {
            let host = upstream.trim_start_matches("http://").trim_end_matches('/');
            format!(
                "upstream up {{ server {host}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header x-api-key \"{key}\";
            proxy_buffering off;
        }}
    }}"
            )
        }
        NginxRole::Fixed { answer } => format!(
            "server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type application/json;
            return 200 '{answer}';
        }}
    }}"
        ),
    };
    let conf = format!(
        "worker_processes 1;
master_process off;
daemon off;
pid nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 65536;
events {{ worker_connections 30000; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path body;
    proxy_temp_path proxy;
    fastcgi_temp_path fastcgi;
    uwsgi_temp_path uwsgi;
    scgi_temp_path scgi;
    {body}
}}
"
    );
    let path = prefix.join("nginx.conf");
    std::fs::write(&path, conf)?;
    let prefix_arg = format!("{}/", prefix.display());
    let conf_arg = path.display().to_string();
    let (proc, _) = Proc::spawn(
        exe,
        &["-p", &prefix_arg, "-c", &conf_arg, "-e", "stderr"],
        &[],
        cpu,
        Ready::Port(port),
    )
    .await?;
    Ok(proc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_of_named_threads_is_counted_and_no_such_thread_gives_none() {
        let (spun, wait) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let spinner = std::thread::Builder::new()
            .name("bench-spinner".into())
            .spawn(move || {
                // Spins until the kernel has counted 3 ticks of this thread's CPU, however busy
                // the machine is.
                let own = || {
                    std::fs::read_to_string("/proc/thread-self/stat")
                        .ok()
                        .and_then(|stat| stat_cpu_split(&stat))
                        .map_or(0, |(user, system)| user + system)
                };
                let mut x = 0u64;
                while own() < 3 {
                    for _ in 0..100_000 {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                }
                spun.send(()).unwrap();
                // Alive (and listed under /proc) until the count is read.
                let _ = released.recv();
            })
            .unwrap();
        wait.recv().unwrap();
        let pid = std::process::id();
        let ticks = threads_cpu_ticks(pid, "bench-spin").expect("the thread is found");
        assert!(
            ticks >= 3,
            "the thread's spinning is counted: {ticks} ticks"
        );
        assert_eq!(threads_cpu_ticks(pid, "no-such-thread"), None);
        release.send(()).unwrap();
        spinner.join().unwrap();
    }
}
