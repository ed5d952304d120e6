use clap::Parser;
use customer_api::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("customer-api", &config.log);
    let shutdown = Shutdown::on_signals();
    startup::build(&config).await?.run(shutdown).await
}
