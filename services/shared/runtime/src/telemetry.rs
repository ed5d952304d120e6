//! Tracing setup: JSON lines for machines (the default, as log shippers expect), text for people.

use clap::ValueEnum;
use tracing_subscriber::{fmt, EnvFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Json,
    Text,
}

/// Logging options every binary flattens into its config.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// `json` (one object per line) or `text`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Filter directives, e.g. `info,rdkafka=warn`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
}

/// Installs the global subscriber once; later calls (tests starting several apps) are no-ops.
pub fn init(service: &'static str, args: &LogArgs) {
    let filter = EnvFilter::try_new(&args.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = match args.log_format {
        LogFormat::Json => fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => fmt().with_env_filter(filter).try_init(),
    };
    if installed.is_ok() {
        tracing::info!(service, "logging initialised");
    }
}
