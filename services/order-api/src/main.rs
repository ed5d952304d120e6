use clap::Parser;
use order_api::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("order-api", &config.log);
    startup::run(config, Shutdown::on_signals()).await
}
