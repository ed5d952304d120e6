use clap::Parser;
use notifier::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("notifier", &config.log);
    let shutdown = Shutdown::on_signals();
    startup::build(config).await?.run(shutdown).await
}
