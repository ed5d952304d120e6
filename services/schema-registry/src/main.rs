use clap::Parser;
use runtime::Shutdown;
use schema_registry::{config::Config, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    runtime::telemetry::init("schema-registry", &config.log);
    let shutdown = Shutdown::on_signals();
    startup::build(&config).await?.run(shutdown).await
}
