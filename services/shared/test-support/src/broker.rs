//! A private Apache Kafka cluster for tests that kill, stop or restart brokers, so that they
//! never take the shared one away from tests running beside them.
//!
//! The nodes are configured and formatted by the same shell function that native mode uses
//! (`setup/lib.sh kafka_prepare`), so a test cluster is the platform's cluster on other ports;
//! this module only runs, kills and resumes the JVMs and asks the cluster who leads what.

use crate::server::LocalServer;
use rdkafka::{
    config::ClientConfig,
    consumer::{BaseConsumer, Consumer},
};
use std::{path::Path, process::Command, time::Duration};

/// The repository's `setup/lib.sh`, found from this crate's location.
fn setup_lib() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../setup/lib.sh")
}

/// Runs `source setup/lib.sh; <script>` with `args` as `$1`, `$2`, ... and returns stdout.
fn lib_sh(script: &str, args: &[String]) -> String {
    lib_sh_with_input(script, args, "")
}

/// Like [`lib_sh`], writing `input` to the script's standard input.
fn lib_sh_with_input(script: &str, args: &[String], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; source \"$0\"; {script}"))
        .arg(setup_lib())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running bash");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(input.as_bytes())
        .expect("writing the script's input");
    let output = child.wait_with_output().expect("running bash");
    assert!(
        output.status.success(),
        "setup/lib.sh {script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `n` consecutive free ports on loopback (the cluster's layout wants consecutive ones), in
/// 10000-19999: below Linux's ephemeral range (32768-60999), so that while a killed node is
/// away no outgoing connection can take its port and keep it from coming back (seen once: a
/// resumed node failed with "Address already in use"), and clear of the fixed ports the test
/// command and the benchmark use.
fn free_port_block(n: u16) -> u16 {
    loop {
        let base = 10_000 + (uuid::Uuid::new_v4().as_u128() % 9_990) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", base)).is_err() {
            continue;
        }
        let all_free = (1..n).all(|i| {
            base.checked_add(i)
                .is_some_and(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        });
        if all_free {
            return base;
        }
    }
}

/// Runs one of Apache Kafka's own command-line classes (`setup/lib.sh kafka_class`, as the
/// distribution's `bin/` scripts do) with `args`, `input` on its standard input; returns what it
/// printed. A Java client, for tests that compare the platform with one.
pub fn kafka_tool(class: &str, args: &[&str], input: &str) -> String {
    let mut all = vec![class.to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    lib_sh_with_input("kafka_class \"$@\"", &all, input)
}

pub struct Broker {
    /// The first node's client port; node `i` (1-based) listens on `port + i - 1`.
    pub port: u16,
    nodes: Vec<LocalServer>,
}

impl Broker {
    /// One Kafka node (broker and controller) on free ports with its data in a fresh directory.
    pub async fn start(env: &crate::TestEnv) -> Self {
        Self::cluster(env, 1).await
    }

    /// A KRaft cluster of `nodes` combined nodes; with three, topics get replication factor 3
    /// and `min.insync.replicas=2`, as `KAFKA_BROKERS=3 setup/startup.sh` sets them up.
    pub async fn cluster(env: &crate::TestEnv, nodes: u16) -> Self {
        let port = free_port_block(nodes);
        let controller_port = free_port_block(nodes);
        let dir = env.scratch_dir("kafka");
        lib_sh(
            "kafka_prepare \"$1\" \"$2\" \"$3\" \"$4\"",
            &[
                dir.display().to_string(),
                nodes.to_string(),
                port.to_string(),
                controller_port.to_string(),
            ],
        );
        let mut started = Vec::new();
        for id in 1..=nodes {
            let node_dir = dir.join(format!("node-{id}"));
            let argv = lib_sh(
                "kafka_node_command \"$1\"",
                &[node_dir.display().to_string()],
            );
            let mut argv = argv.lines().map(str::to_owned);
            let program = argv.next().expect("a command line").into();
            // All nodes first: a node listens for clients only once a quorum of controllers runs.
            let server =
                LocalServer::spawn("kafka", program, argv.collect(), &node_dir, port + id - 1);
            started.push(server);
        }
        for node in &started {
            node.wait_until_listening().await;
        }
        let broker = Self {
            port,
            nodes: started,
        };
        broker.wait_for_brokers(nodes as usize).await;
        broker
    }

    /// Every node's client address, comma-separated, as a client's `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        (0..self.nodes.len() as u16)
            .map(|i| format!("127.0.0.1:{}", self.port + i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Restarts every stopped node on the same ports and storage.
    pub async fn resume(&mut self) {
        for id in 1..=self.nodes.len() as i32 {
            if !self.nodes[id as usize - 1].is_running() {
                self.resume_node(id).await;
            }
        }
    }

    /// Kills every node (as a crash or outage would); storage stays for [`Broker::resume`].
    pub async fn stop(&mut self) {
        for node in &mut self.nodes {
            node.stop().await;
        }
    }

    /// SIGKILLs node `id` (1-based, the Kafka node id).
    pub async fn kill_node(&mut self, id: i32) {
        self.nodes[id as usize - 1].stop().await;
    }

    /// Restarts node `id` with its storage.
    pub async fn resume_node(&mut self, id: i32) {
        self.nodes[id as usize - 1].resume().await;
    }

    /// Freezes every node (SIGSTOP): the broker stalls without closing a connection.
    pub fn freeze(&self) {
        self.nodes.iter().for_each(LocalServer::freeze);
    }

    /// Thaws every node after [`Broker::freeze`].
    pub fn unfreeze(&self) {
        self.nodes.iter().for_each(LocalServer::unfreeze);
    }

    fn metadata_client(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("creating a metadata client")
    }

    /// Waits until the cluster's metadata lists `count` brokers.
    pub async fn wait_for_brokers(&self, count: usize) {
        let client = self.metadata_client();
        crate::eventually(
            &format!("Kafka metadata to list {count} brokers"),
            Duration::from_secs(120),
            || {
                let brokers = client
                    .fetch_metadata(None, Duration::from_secs(3))
                    .map(|m| m.brokers().len())
                    .unwrap_or(0);
                async move { (brokers >= count).then_some(()) }
            },
        )
        .await
    }

    /// The leader and in-sync replicas of partition 0 of `topic`, once the topic exists and
    /// has a leader.
    pub async fn partition_state(&self, topic: &str) -> (i32, Vec<i32>) {
        let client = self.metadata_client();
        crate::eventually(
            &format!("{topic} to have a leader"),
            Duration::from_secs(120),
            || {
                let state = client
                    .fetch_metadata(Some(topic), Duration::from_secs(3))
                    .ok()
                    .and_then(|m| {
                        let t = m.topics().iter().find(|t| t.name() == topic)?;
                        let p = t.partitions().iter().find(|p| p.id() == 0)?;
                        (p.leader() >= 0).then(|| (p.leader(), p.isr().to_vec()))
                    });
                async move { state }
            },
        )
        .await
    }
}
