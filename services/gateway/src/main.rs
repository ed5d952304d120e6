use clap::Parser;
use gateway::{
    config::{Cli, Command},
    startup,
};
use runtime::Shutdown;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    runtime::telemetry::init("gateway", &cli.config.log);
    match cli.command {
        Some(Command::CreateUser { username, role }) => {
            startup::create_user(&cli.config, &username, role).await
        }
        None => {
            let shutdown = Shutdown::on_signals();
            startup::build(&cli.config, &shutdown)
                .await?
                .run(shutdown)
                .await
        }
    }
}
