use clap::Parser;
use outbox_relay::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("outbox-relay", &config.log);
    let shutdown = Shutdown::on_signals();
    startup::build(config).await?.run(shutdown).await
}
