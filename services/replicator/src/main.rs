use clap::Parser;
use replicator::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("replicator", &config.log);
    startup::run(config, Shutdown::on_signals()).await
}
