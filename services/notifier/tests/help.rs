//! `notifier --help` lists every setting with its environment variable, and never the value of
//! `SMTP_PASSWORD` (help output ends up in terminals, tickets and CI logs).

#[test]
fn help_names_smtp_password_but_never_shows_its_value() {
    let output = std::process::Command::new(test_support::process::binary("notifier"))
        .arg("--help")
        .env("SMTP_USERNAME", "mailer")
        .env("SMTP_PASSWORD", "hunter2-not-for-your-eyes")
        .output()
        .expect("running notifier --help");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    assert!(help.contains("SMTP_PASSWORD"), "{help}");
    assert!(!help.contains("hunter2-not-for-your-eyes"), "{help}");
}
