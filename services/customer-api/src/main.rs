use clap::Parser;
use customer_api::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("customer-api", &config.log);
    startup::run(config, Shutdown::on_signals()).await
}
