//! A child process the stack manages: started with its environment, its output forwarded
//! line by line with its name in front (or into a log file), stopped with SIGTERM and, if it
//! does not exit in time, SIGKILL.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Where a child's output goes.
#[derive(Debug, Clone)]
pub enum Output {
    /// The launcher's terminal, each line prefixed with the child's name.
    Console,
    /// A file per child in this folder (tests).
    Files(PathBuf),
}

/// How to start one process.
#[derive(Debug, Clone)]
pub struct Spec {
    /// e.g. `tickets-2`.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The port it serves HTTP on, if any.
    pub port: Option<u16>,
    /// The path that answers 200 once it is ready, if any.
    pub ready_path: Option<&'static str>,
}

/// A managed process; the child is killed if this is dropped while it runs.
pub struct Managed {
    pub spec: Spec,
    output: Output,
    child: Option<Child>,
}

impl Managed {
    pub fn new(spec: Spec, output: Output) -> Self {
        Self {
            spec,
            output,
            child: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn port(&self) -> Option<u16> {
        self.spec.port
    }

    /// The address of its Prometheus metrics: on `METRICS_PORT` if its spec sets one (the
    /// web server, the ingress), else on its HTTP port (the services).
    pub fn metrics_url(&self) -> Option<String> {
        let port = self
            .spec
            .env
            .iter()
            .rev()
            .find(|(name, _)| name == "METRICS_PORT")
            .and_then(|(_, port)| port.parse().ok())
            .or(self.spec.port)?;
        Some(format!("http://127.0.0.1:{port}/metrics"))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| {
            format!(
                "starting {} ({})",
                self.spec.name,
                self.spec.program.display()
            )
        })?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        forward(self.spec.name.clone(), stdout, self.output.clone());
        forward(self.spec.name.clone(), stderr, self.output.clone());
        self.child = Some(child);
        Ok(())
    }

    /// The last `lines` lines of the process's log file, to explain an early exit (empty
    /// when its output goes to the console, which shows them anyway).
    fn log_tail(&self, lines: usize) -> String {
        let Output::Files(dir) = &self.output else {
            return String::new();
        };
        let log = std::fs::read_to_string(dir.join(format!("{}.log", self.spec.name)))
            .unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        // A process that returned an error printed it as `Error: …` with its causes, perhaps
        // followed by a long backtrace: show that error rather than the backtrace's frames.
        let tail = match all.iter().rposition(|line| line.starts_with("Error: ")) {
            Some(error) => {
                let rest = &all[error..];
                let end = rest
                    .iter()
                    .position(|line| line.trim() == "Stack backtrace:")
                    .unwrap_or(rest.len());
                rest[..end.min(lines)].join("\n")
            }
            None => all[all.len().saturating_sub(lines)..].join("\n"),
        };
        format!("; the end of its log:\n{tail}")
    }

    /// Whether the process has exited (and how), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    /// Waits until `ready_path` answers 200 (or, without one, the port accepts
    /// connections). Fails if the process exits first or `limit` passes.
    pub async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let Some(port) = self.spec.port else {
            return Ok(());
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                // Give the log a moment to catch up with the process's last words.
                tokio::time::sleep(Duration::from_millis(200)).await;
                anyhow::bail!(
                    "{} exited before it was ready ({status}){}",
                    self.spec.name,
                    self.log_tail(20)
                );
            }
            let ready = match self.spec.ready_path {
                Some(path) => client
                    .get(format!("http://127.0.0.1:{port}{path}"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success()),
                None => tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok(),
            };
            if ready {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} was not ready after {limit:?}",
                self.spec.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            tracing::warn!(process = %self.spec.name, "did not stop in time, killing it");
            let _ = child.kill().await;
        }
    }

    /// SIGTERM without waiting: the process drains (finishes what it was doing) and exits;
    /// see [`Managed::wait_exit`].
    pub fn terminate(&self) {
        if let Some(pid) = self.pid() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }

    /// Waits up to `limit` for the process to exit by itself; its exit status, or `None` if
    /// it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let status = tokio::time::timeout(limit, child.wait()).await.ok()?.ok()?;
        self.child = None;
        Some(status)
    }

    /// SIGKILL at once: a crash, for fault tests.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

fn forward(name: String, stream: impl AsyncRead + Unpin + Send + 'static, output: Output) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        match output {
            Output::Console => {
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("{name:>12} | {line}");
                }
            }
            Output::Files(dir) => {
                let path = dir.join(format!("{name}.log"));
                let file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .await;
                let Ok(mut file) = file else { return };
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = file.write_all(format!("{line}\n").as_bytes()).await;
                }
            }
        }
    });
}
