//! Native mode's PostgreSQL does not trust every local user: `setup/lib.sh`'s
//! `pg_require_password`, run as `setup/startup.sh` runs it, on a private cluster. A client
//! without the password is refused, the generated secret is kept 0600 in a 0700 directory, it
//! reaches no log, and a second run keeps the same secret.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Runs `script` after sourcing setup/lib.sh; returns stdout and stderr.
fn lib_sh(script: &str) -> (String, String) {
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail; source setup/lib.sh; {script}"))
        .current_dir(repo())
        .output()
        .expect("running bash");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{script}: {stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

/// Stops the private cluster however the test ends.
struct Cluster(PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source setup/lib.sh; stop_postgres {}",
                self.0.display()
            ))
            .current_dir(repo())
            .output();
    }
}

#[tokio::test]
async fn native_postgres_refuses_a_client_without_the_password_and_keeps_the_secret_private() {
    let env = test_support::TestEnv::get();
    let dir = env.scratch_dir("native-pg");
    let data = dir.join("data");
    let secret_file = dir.join("secrets/postgres_password");
    let port = test_support::free_port();
    let (_, start_log) = lib_sh(&format!(
        "ensure_postgres_binaries >&2; start_postgres {} {port} {}/pg.log >&2",
        data.display(),
        dir.display()
    ));
    let _cluster = Cluster(data.clone());
    // As initdb leaves it, every local client is trusted.
    let anonymous = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    AsyncPgConnection::establish(&anonymous)
        .await
        .expect("a fresh cluster trusts local clients");
    let require = format!(
        "pg_require_password {} {port} {}",
        data.display(),
        secret_file.display()
    );
    let (password, setup_log) = lib_sh(&require);
    let password = password.trim().to_owned();
    assert!(password.len() >= 24, "a generated password: {password:?}");

    // `pg_ctl reload` only signals the server; it rereads pg_hba.conf a moment later.
    test_support::eventually(
        "a client without the password to be refused",
        std::time::Duration::from_secs(10),
        || async { AsyncPgConnection::establish(&anonymous).await.err() },
    )
    .await;
    let with_password = format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres");
    AsyncPgConnection::establish(&with_password)
        .await
        .expect("the password lets a client in");

    assert_eq!(
        std::fs::read_to_string(&secret_file).unwrap().trim(),
        password
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&secret_file), 0o600);
    assert_eq!(mode(secret_file.parent().unwrap()), 0o700);
    let server_log = std::fs::read_to_string(dir.join("pg.log")).unwrap_or_default();
    for (what, text) in [
        ("setup output", &setup_log),
        ("start output", &start_log),
        ("server log", &server_log),
    ] {
        assert!(!text.contains(&password), "the password is in the {what}");
    }

    let (again, _) = lib_sh(&require);
    assert_eq!(again.trim(), password, "a second start keeps the secret");
    assert!(AsyncPgConnection::establish(&anonymous).await.is_err());
}
