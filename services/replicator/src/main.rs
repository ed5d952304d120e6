use clap::Parser;
use replicator::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("replicator", &config.log);
    let shutdown = Shutdown::on_signals();
    startup::build(config).await?.run(shutdown).await
}
