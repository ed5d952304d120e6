//! The one email address parser of the platform. customer-api accepts an address only if the
//! notifier can mail it, and the notifier reads addresses from events with the same rule, so an
//! address the API took can never turn into an event the notifier chokes on.
//!
//! Two checks, both required: a pragmatic shape (one `@`, a local part of at most 64
//! characters, a dotted domain of letters, digits and hyphens, 254 characters in all) and
//! lettre's own parser, the one that builds the message (it refuses what SMTP cannot carry,
//! such as `a..b@example.com` or `a,b@example.com`). RFC 5322's full grammar is not the goal:
//! an address is proven by the mail that reaches it.

use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The trimmed address, or why it is not one the platform can mail.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        let invalid = || Err(format!("'{email}' is not a valid email address"));
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid();
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid();
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return invalid();
        }
        if lettre::Address::from_str(email).is_err() {
            return invalid();
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailable_addresses_parse_trimmed() {
        for ok in [
            "ada@example.com",
            " a.b+c@mail.example.co.uk ",
            "x_y@ex-ample.io",
        ] {
            assert_eq!(EmailAddress::parse(ok).unwrap().as_str(), ok.trim(), "{ok}");
        }
    }

    #[test]
    fn addresses_smtp_cannot_carry_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@localhost",
            "@example.com",
            "a@b@example.com",
            "a b@example.com",
            "a..b@example.com",
            "a,b@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "ada\0@example.com",
            "ada@-example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}
