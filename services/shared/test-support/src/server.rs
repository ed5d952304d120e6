//! A server process a test owns (a broker, a database, a mail catcher), on a port and in a
//! directory of its own, so the test can kill it (as a crash or outage would) and resume it
//! with its data without disturbing the shared servers other tests use.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

pub struct LocalServer {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    ready_port: u16,
    child: Option<Child>,
}

impl LocalServer {
    /// Starts `program args` in `dir` (its log is `dir/<name>.log`) and waits until
    /// `ready_port` accepts connections.
    pub async fn start(
        name: &'static str,
        program: PathBuf,
        args: Vec<String>,
        dir: &Path,
        ready_port: u16,
    ) -> Self {
        let server = Self::spawn(name, program, args, dir, ready_port);
        server.wait_until_listening().await;
        server
    }

    /// Starts the server without waiting for it: for a cluster whose nodes only listen once a
    /// quorum of them runs.
    pub fn spawn(
        name: &'static str,
        program: PathBuf,
        args: Vec<String>,
        dir: &Path,
        ready_port: u16,
    ) -> Self {
        let mut server = Self {
            name,
            program,
            args,
            dir: dir.to_owned(),
            ready_port,
            child: None,
        };
        server.start_process();
        server
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// (Re)starts the server with the same port and data.
    pub async fn resume(&mut self) {
        self.start_process();
        self.wait_until_listening().await;
    }

    fn start_process(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", self.name)))
            .expect("opening the server log");
        let child = Command::new(&self.program)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdout(Stdio::from(log.try_clone().expect("cloning a file handle")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} ({}): {e}", self.name, self.program.display()));
        self.child = Some(child);
    }

    /// Waits until the server's port accepts connections.
    pub async fn wait_until_listening(&self) {
        let addr = format!("127.0.0.1:{}", self.ready_port);
        crate::eventually(
            &format!("{} to accept connections on {addr}", self.name),
            Duration::from_secs(60),
            || {
                let addr = addr.clone();
                async move { tokio::net::TcpStream::connect(addr).await.ok().map(|_| ()) }
            },
        )
        .await;
    }

    /// SIGSTOP: the server is frozen (a stalled host, a long GC pause) until [`Self::unfreeze`];
    /// its connections stay open and unanswered, unlike a crash.
    pub fn freeze(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP)
    }

    /// SIGCONT after [`Self::freeze`].
    pub fn unfreeze(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let child = self.child.as_ref().expect("the server is running");
        let pid = nix::unistd::Pid::from_raw(child.id().expect("a live child") as i32);
        nix::sys::signal::kill(pid, signal)
            .unwrap_or_else(|e| panic!("sending {signal} to {}: {e}", self.name));
    }

    /// Kills the server (SIGKILL); its data stays for [`LocalServer::resume`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child
                .kill()
                .await
                .unwrap_or_else(|e| panic!("killing {}: {e}", self.name));
        }
    }
}

/// A program named by an environment variable (set by scripts/test.sh), else found on PATH.
pub fn program(env_var: &str, default: &str) -> PathBuf {
    PathBuf::from(std::env::var(env_var).unwrap_or_else(|_| default.to_owned()))
}
