//! Pieces every binary's typed configuration shares: value parsers for clap and the database
//! URL default, so that all services read `DATABASE_URL` the same way.

use std::time::Duration;

/// `DATABASE_URL` when set (one server for everything, e.g. in a container), else `database`
/// on the project-local cluster that `setup/startup.sh` runs.
pub fn database_url_or_local(database: &str) -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("postgres://postgres@127.0.0.1:5433/{database}"))
}

/// A clap value parser for a whole number of milliseconds.
pub fn millis(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_millis)
        .map_err(|e| format!("{e}"))
}

/// A clap value parser for a whole number of seconds.
pub fn seconds(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_secs)
        .map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_whole_numbers_only() {
        assert_eq!(millis("250"), Ok(Duration::from_millis(250)));
        assert_eq!(seconds("60"), Ok(Duration::from_secs(60)));
        assert!(millis("1.5").is_err());
        assert!(seconds("-1").is_err());
    }
}
