//! Reading the services' Prometheus text: counter sums and histogram quantiles. A histogram is
//! cumulative over the process's life, so a measurement saves a snapshot first (`--save`) and
//! later computes the quantiles of what was recorded since (`--since`).

use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct HistogramArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    name: String,
    /// Write the current buckets to this file and print them.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Quantiles of what was recorded since this snapshot.
    #[arg(long)]
    since: Option<PathBuf>,
}

/// The sum of every sample of `name` (any labels).
pub fn sum(text: &str, name: &str) -> f64 {
    samples(text, name).map(|(_, v)| v).sum()
}

/// `(labels, value)` of every sample line of exactly `name`.
fn samples<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = (&'a str, f64)> + 'a {
    text.lines().filter_map(move |line| {
        let rest = line.strip_prefix(name)?;
        let (labels, value) = if let Some(r) = rest.strip_prefix('{') {
            let (labels, value) = r.split_once('}')?;
            (labels, value)
        } else if rest.starts_with(' ') {
            ("", rest)
        } else {
            return None;
        };
        Some((labels, value.trim().parse().ok()?))
    })
}

/// Cumulative buckets `(le, count)`, ascending, `+Inf` last.
fn buckets(text: &str, name: &str) -> Vec<(f64, f64)> {
    let bucket = format!("{name}_bucket");
    let mut out: Vec<(f64, f64)> = samples(text, &bucket)
        .filter_map(|(labels, v)| {
            let le = labels.split(',').find_map(|l| l.strip_prefix("le="))?;
            let le = le.trim_matches('"');
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, v))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The `q` quantile by linear interpolation inside the bucket, as Prometheus'
/// `histogram_quantile` does.
fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower.0);
            }
            let span = count - lower.1;
            let frac = if span > 0.0 {
                (rank - lower.1) / span
            } else {
                1.0
            };
            return Some(lower.0 + (le - lower.0) * frac);
        }
        lower = (le, count);
    }
    None
}

pub async fn run(args: HistogramArgs) -> anyhow::Result<Value> {
    let text = reqwest::get(&args.url).await?.text().await?;
    let now = buckets(&text, &args.name);
    if let Some(path) = &args.save {
        std::fs::write(path, serde_json::to_string(&now)?)?;
    }
    let before: Vec<(f64, f64)> = match &args.since {
        Some(path) => {
            serde_json::from_str::<Vec<(Option<f64>, f64)>>(&std::fs::read_to_string(path)?)?
                .into_iter()
                .map(|(le, c)| (le.unwrap_or(f64::INFINITY), c))
                .collect()
        }
        None => Vec::new(),
    };
    let delta: Vec<(f64, f64)> = now
        .iter()
        .map(|&(le, c)| {
            let old = before
                .iter()
                .find(|(l, _)| *l == le || (l.is_infinite() && le.is_infinite()))
                .map_or(0.0, |b| b.1);
            (le, c - old)
        })
        .collect();
    Ok(json!({
        "samples": delta.last().map_or(0.0, |b| b.1),
        "p50_seconds": bucket_quantile(&delta, 0.5),
        "p99_seconds": bucket_quantile(&delta, 0.99),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE h histogram\nh_bucket{le=\"0.1\"} 50\nh_bucket{le=\"1\"} 100\nh_bucket{le=\"+Inf\"} 100\nh_sum 10\nh_count 100\nc{x=\"a\"} 2\nc{x=\"b\"} 3\ncc 7\n";

    #[test]
    fn sums_a_counter_over_its_labels_only() {
        assert_eq!(sum(TEXT, "c"), 5.0);
    }

    #[test]
    fn interpolates_inside_a_bucket() {
        let b = buckets(TEXT, "h");
        assert_eq!(bucket_quantile(&b, 0.5), Some(0.1));
        let p75 = bucket_quantile(&b, 0.75).unwrap();
        assert!((p75 - 0.55).abs() < 1e-9);
    }
}
