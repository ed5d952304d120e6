//! Platform binaries as real child processes, so tests can SIGKILL or SIGTERM them.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

/// A running child; killed when dropped so a failing test leaves nothing behind.
pub struct ServiceProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

/// The path of a workspace binary next to the running test executable
/// (`target/<profile>/<name>`), built on demand if a partial build left it out.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let path = profile_dir.join(name);
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", name, "--bin", name])
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building {name} failed");
    }
    path
}

/// What a finished command wrote, standard output then standard error, as text (for
/// assertions and failure messages).
pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

impl ServiceProcess {
    /// Starts workspace binary `name` with `envs`, logging to `log_dir/<name>-<pid>.log`.
    pub fn spawn(name: &str, envs: &[(&str, String)], log_dir: &Path) -> Self {
        Self::spawn_with_args(name, &[], envs, log_dir)
    }

    /// Like [`ServiceProcess::spawn`], with command-line arguments.
    pub fn spawn_with_args(
        name: &str,
        args: &[&str],
        envs: &[(&str, String)],
        log_dir: &Path,
    ) -> Self {
        let log = log_dir.join(format!("{}.log", crate::unique(name)));
        let file = std::fs::File::create(&log).expect("creating a log file");
        let mut command = Command::new(binary(name));
        command
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .env("LOG_FORMAT", "text")
            .stdout(Stdio::from(
                file.try_clone().expect("cloning a file handle"),
            ))
            .stderr(Stdio::from(file))
            .kill_on_drop(true);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id().expect("the child is running") as i32)
    }

    /// SIGKILL: no chance to clean up, the crash a real fault would be.
    pub async fn kill9(&mut self) {
        kill(self.pid(), Signal::SIGKILL).expect("sending SIGKILL");
        self.child.wait().await.expect("reaping the child");
    }

    /// SIGSTOP: the process is frozen (a long GC pause, a stalled host) until [`Self::resume`].
    pub fn pause(&self) {
        kill(self.pid(), Signal::SIGSTOP).expect("sending SIGSTOP");
    }

    /// SIGCONT after [`Self::pause`].
    pub fn resume(&self) {
        kill(self.pid(), Signal::SIGCONT).expect("sending SIGCONT");
    }

    /// SIGTERM, then the exit status (it must exit within `timeout`).
    pub async fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        kill(self.pid(), Signal::SIGTERM).expect("sending SIGTERM");
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {timeout:?} of SIGTERM", self.name))
            .expect("waiting for the child")
    }

    /// Waits for the process to exit by itself within `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} did not exit within {timeout:?}; log:\n{}",
                    self.name,
                    self.log()
                )
            })
            .expect("waiting for the child")
    }

    /// The process's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A platform process with an HTTP port for health and metrics.
pub struct RunningService {
    pub process: ServiceProcess,
    pub http: String,
}

impl RunningService {
    /// Starts binary `name` listening for HTTP on a free port named by `addr_var`, with `envs`,
    /// and waits until `/health/ready` answers.
    pub async fn start(name: &str, addr_var: &'static str, envs: &[(&str, String)]) -> Self {
        let env = crate::TestEnv::get();
        let port = crate::free_port();
        let mut all = vec![(addr_var, format!("127.0.0.1:{port}"))];
        all.extend(envs.iter().cloned());
        let process = ServiceProcess::spawn(name, &all, &env.runtime_dir);
        let http = format!("http://127.0.0.1:{port}");
        crate::wait_until_ready(&format!("{http}/health/ready"), Duration::from_secs(60)).await;
        Self { process, http }
    }

    /// An outbox relay for one test: its database, its topic prefix, fast polling.
    pub async fn relay(
        database_url: &str,
        bootstrap: &str,
        topic_prefix: &str,
        extra: &[(&str, String)],
    ) -> Self {
        let mut envs = vec![
            ("RELAY_DATABASE_URL", database_url.to_owned()),
            ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.to_owned()),
            ("TOPIC_PREFIX", topic_prefix.to_owned()),
            ("RELAY_POLL_INTERVAL_MS", "250".to_owned()),
            ("RELAY_STANDBY_POLL_MS", "250".to_owned()),
            // In Avro mode the relay signs itself a token for the schema registry.
            ("JWT_SECRET", crate::TEST_JWT_SECRET.to_owned()),
            ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn".to_owned()),
        ];
        envs.extend(extra.iter().cloned());
        Self::start("outbox-relay", "RELAY_ADDR", &envs).await
    }

    /// A replicator of every topic under `topic_prefix` into MongoDB database `database`, in a
    /// consumer group of its own (`extra` adds or overrides settings).
    pub async fn replicator(
        bootstrap: &str,
        topic_prefix: &str,
        mongo_uri: &str,
        database: &str,
        extra: &[(&str, String)],
    ) -> Self {
        let mut envs = vec![
            ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.to_owned()),
            ("TOPIC_PREFIX", topic_prefix.to_owned()),
            ("REPLICATOR_GROUP", crate::unique("replicator")),
            ("MONGODB_URI", mongo_uri.to_owned()),
            ("MONGODB_DATABASE", database.to_owned()),
        ];
        envs.extend(extra.iter().cloned());
        Self::start("replicator", "REPLICATOR_ADDR", &envs).await
    }

    /// A notifier of the topics under `topic_prefix`, with its ledger in `database_url`,
    /// mailing `mail`, in a consumer group of its own (`extra` adds or overrides settings).
    pub async fn notifier(
        bootstrap: &str,
        topic_prefix: &str,
        database_url: &str,
        mail: &crate::mail::MailCatcher,
        extra: &[(&str, String)],
    ) -> Self {
        let mut envs = vec![
            ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.to_owned()),
            ("TOPIC_PREFIX", topic_prefix.to_owned()),
            ("NOTIFIER_GROUP", crate::unique("notifier")),
            ("NOTIFIER_DATABASE_URL", database_url.to_owned()),
        ];
        envs.extend(mail.smtp_env());
        envs.extend(extra.iter().cloned());
        Self::start("notifier", "NOTIFIER_ADDR", &envs).await
    }

    /// The process's `/metrics` text; empty when it does not answer.
    async fn metrics_text(&self) -> String {
        let response = reqwest::get(format!("{}/metrics", self.http))
            .await
            .and_then(|r| r.error_for_status());
        match response {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// A sample from the process's `/metrics`, by its full name including labels
    /// (`consumer_lag{topic="t"}`); 0 when not (yet) reported.
    pub async fn metric(&self, name: &str) -> f64 {
        self.metrics_text()
            .await
            .lines()
            .find_map(|line| {
                let (metric, value) = line.rsplit_once(' ')?;
                (metric == name).then(|| value.parse().ok()).flatten()
            })
            .unwrap_or(0.0)
    }

    /// The sum of every sample of metric `name`, whatever its labels; 0 when not reported.
    pub async fn metric_sum(&self, name: &str) -> f64 {
        self.metrics_text()
            .await
            .lines()
            .filter_map(|line| {
                let (metric, value) = line.rsplit_once(' ')?;
                let bare = metric.split_once('{').map_or(metric, |(bare, _)| bare);
                (bare == name).then(|| value.parse::<f64>().ok()).flatten()
            })
            .sum()
    }

    /// Waits until a metric reaches at least `value`.
    pub async fn wait_for_metric(&self, name: &str, value: f64, timeout: Duration) {
        crate::eventually(&format!("{name} >= {value}"), timeout, || async {
            (self.metric(name).await >= value).then_some(())
        })
        .await
    }

    /// Waits until this relay reports itself the leader.
    pub async fn wait_until_leader(&self) {
        self.wait_for_metric("relay_leader", 1.0, Duration::from_secs(30))
            .await
    }
}
