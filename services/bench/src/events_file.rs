//! The events file: `aggregate_id<TAB>payload JSON` per line (what `psql -At -F '<TAB>'` prints
//! for `SELECT aggregate_id, payload FROM outbox ORDER BY id`).

use anyhow::Context;
use std::path::Path;

pub struct Event {
    pub key: String,
    pub payload: String,
}

pub fn read(path: &Path) -> anyhow::Result<Vec<Event>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let (key, payload) = line
                .split_once('\t')
                .with_context(|| format!("{}:{}: no tab", path.display(), i + 1))?;
            Ok(Event {
                key: key.to_owned(),
                payload: payload.to_owned(),
            })
        })
        .collect()
}
