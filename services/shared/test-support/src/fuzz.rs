//! Property-based fuzzing of an API from its own OpenAPI document, with Schemathesis (from
//! PyPI; `scripts/test.sh` installs it into the project venv and exports `SCHEMATHESIS_BIN`).
//!
//! Every Schemathesis check runs (no 5xx; status codes, content types, headers and bodies as
//! documented; schema-valid data accepted and schema-violating data refused; ...) plus the
//! platform's own in `fuzz/platform_checks.py` (every error in the platform's JSON format).
//! Settings are in `fuzz/schemathesis.toml`. The run is bounded by `FUZZ_MAX_EXAMPLES` per
//! operation (default 30) and uses `FUZZ_SEED` (default 1, so that a failure reproduces; any
//! other number explores elsewhere).

use std::{path::PathBuf, process::Stdio, time::Duration};

/// The longest a run may take before it counts as hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Fuzzes every operation of the document at `openapi_url` with `Authorization: Bearer
/// <token>`, and fails the test with Schemathesis's report (each failure with a `curl` line that
/// reproduces it) unless every check passed.
pub async fn fuzz_openapi(openapi_url: &str, token: &str) {
    let bin = std::env::var("SCHEMATHESIS_BIN").unwrap_or_else(|_| {
        panic!("SCHEMATHESIS_BIN is not set: run the tests through scripts/test.sh, which installs Schemathesis")
    });
    let max_examples = std::env::var("FUZZ_MAX_EXAMPLES").unwrap_or_else(|_| "30".into());
    let seed = std::env::var("FUZZ_SEED").unwrap_or_else(|_| "1".into());
    let dir = fuzz_dir();
    let mut command = tokio::process::Command::new(&bin);
    command
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .args(["run", openapi_url, "--checks", "all", "--no-color"])
        .args(["--max-examples", &max_examples, "--seed", &seed])
        .args(["--request-timeout", "10", "--workers", "1"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .env("SCHEMATHESIS_HOOKS", dir.join("platform_checks.py"))
        // Its progress display wants a terminal; none here.
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("Schemathesis ran longer than {RUN_TIMEOUT:?} on {openapi_url}"))
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "Schemathesis (seed {seed}, {max_examples} examples per operation) found problems in \
         {openapi_url}:\n{report}\n{errors}"
    );
    // A run that tested nothing passes too; make sure this one did.
    assert!(
        report.contains("passed") && !report.contains("Tested: 0"),
        "Schemathesis tested nothing at {openapi_url}:\n{report}\n{errors}"
    );
    println!("{report}");
}
