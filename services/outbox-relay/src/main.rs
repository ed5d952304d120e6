use clap::Parser;
use outbox_relay::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("outbox-relay", &config.log);
    startup::run(config, Shutdown::on_signals()).await
}
