use clap::Parser;
use console_consumer::{cli::Args, consume};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let processed = consume::run(&args).await?;
    eprintln!("Processed a total of {processed} messages");
    Ok(())
}
