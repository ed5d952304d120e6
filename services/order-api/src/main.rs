use clap::Parser;
use order_api::{config::Config, startup};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("order-api", &config.log);
    let shutdown = Shutdown::on_signals();
    startup::build(&config, &shutdown)
        .await?
        .run(shutdown)
        .await
}
