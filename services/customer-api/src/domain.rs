//! Customer input, parsed at the edge: once a value has one of these types it is valid, so no
//! handler or query re-checks a field.

use serde::Deserialize;
use utoipa::ToSchema;
use web::{FieldCheck, FieldErrors};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub const MAX_CHARS: usize = 400;

    pub fn parse(raw: &str) -> Result<Self, String> {
        web::text::one_line(raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The platform's one address parser (shared with the notifier, so that every address the API
/// accepts is one the notifier can mail).
pub type Email = events::EmailAddress;

/// What [`Email`] accepts, for the OpenAPI document: a dot-atom local part of at most 64
/// characters and a dotted host name (a little narrower than the parser, never wider).
const EMAIL_PATTERN: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){0,3}@[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){1,4}$";

/// What [`Phone`] accepts (or blank, for none).
const PHONE_PATTERN: &str = r"\s*\+?[ -]*([0-9][ -]*){3,20}\s*";

fn email_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    web::text::schema(EMAIL_PATTERN, Some(254), false)
}

fn phone_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    web::text::schema(&web::text::optional(PHONE_PATTERN), None, true)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Digits with an optional leading `+`, spaces and dashes; 3 to 20 digits.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let phone = raw.trim();
        let body = phone.strip_prefix('+').unwrap_or(phone);
        let allowed = body
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(3..=20).contains(&digits) {
            return Err(format!(
                "'{phone}' is not a phone number (3-20 digits, optional leading +, spaces and dashes)"
            ));
        }
        Ok(Self(phone.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The writable fields of a customer, all valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFields {
    pub name: CustomerName,
    pub email: Email,
    pub phone: Option<Phone>,
}

/// Body of `POST` and `PUT`: every field (phone may be null).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// 1 to 400 characters, trimmed; no control characters.
    #[schema(schema_with = web::text::one_line_schema::<{ CustomerName::MAX_CHARS }>)]
    pub name: String,
    /// An address the notifier can mail; unique among live customers.
    #[schema(schema_with = email_schema)]
    pub email: String,
    /// 3 to 20 digits, an optional leading `+`, spaces and dashes; blank or null for none.
    #[schema(schema_with = phone_schema)]
    #[serde(default)]
    pub phone: Option<String>,
}

/// Body of `PATCH` (JSON merge patch): absent fields stay, `"phone": null` clears the phone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[schema(schema_with = web::text::one_line_schema::<{ CustomerName::MAX_CHARS }>)]
    #[serde(default, deserialize_with = "web::json::absent_or_value")]
    pub name: Option<String>,
    #[schema(schema_with = email_schema)]
    #[serde(default, deserialize_with = "web::json::absent_or_value")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(schema_with = phone_schema)]
    pub phone: Option<Option<String>>,
}

fn parse_phone(raw: Option<&str>) -> Result<Option<Phone>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Phone::parse(p).map(Some),
    }
}

impl CustomerInput {
    pub fn parse(&self) -> Result<CustomerFields, FieldErrors> {
        let mut c = FieldCheck::default();
        let name = c.take("name", CustomerName::parse(&self.name));
        let email = c.take("email", Email::parse(&self.email));
        let phone = c.take("phone", parse_phone(self.phone.as_deref()));
        match (name, email, phone) {
            (Some(name), Some(email), Some(phone)) => Ok(CustomerFields { name, email, phone }),
            _ => Err(c.into_errors()),
        }
    }
}

impl CustomerPatch {
    /// The fields after applying this patch to `current`.
    pub fn apply(&self, current: &CustomerFields) -> Result<CustomerFields, FieldErrors> {
        let mut c = FieldCheck::default();
        let name = match &self.name {
            Some(n) => c.take("name", CustomerName::parse(n)),
            None => Some(current.name.clone()),
        };
        let email = match &self.email {
            Some(e) => c.take("email", Email::parse(e)),
            None => Some(current.email.clone()),
        };
        let phone = match &self.phone {
            Some(p) => c.take("phone", parse_phone(p.as_deref())),
            None => Some(current.phone.clone()),
        };
        match (name, email, phone) {
            (Some(name), Some(email), Some(phone)) => Ok(CustomerFields { name, email, phone }),
            _ => Err(c.into_errors()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(CustomerName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(CustomerName::parse("   ").is_err());
        assert!(CustomerName::parse(&"x".repeat(400)).is_ok());
        assert!(CustomerName::parse(&"x".repeat(401)).is_err());
        // characters, not bytes
        assert!(CustomerName::parse(&"é".repeat(400)).is_ok());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for ok in ["a@b.io", "first.last+tag@mail.example.com", "x@a-b.de"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.io", "a@@b.io", "a b@c.io", "a@-b.io", "a@b..io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_documented_patterns_accept_only_what_the_parsers_accept() {
        let email = regex_lite::Regex::new(EMAIL_PATTERN).unwrap();
        for text in [
            "a@b.io",
            "first.last+tag@mail.example.com",
            "a..b@x.io",
            "a,b@x.io",
            "a@b",
        ] {
            assert!(
                !email.is_match(text) || Email::parse(text).is_ok(),
                "{text}"
            );
        }
        assert!(email.is_match("first.last+tag@mail.example.com"));
        let phone = regex_lite::Regex::new(&web::text::optional(PHONE_PATTERN)).unwrap();
        for text in ["+44 20 7946 0000", "555-1234", "12", "++123", " ", "+ 123"] {
            let blank = text.trim().is_empty();
            assert_eq!(
                phone.is_match(text),
                blank || Phone::parse(text).is_ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn phones_allow_plus_spaces_and_dashes() {
        for ok in ["+44 20 7946 0000", "555-1234", "0123456789"] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["12", "phone", "+1 (555) 123", "++123456"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn input_reports_every_bad_field() {
        let input = CustomerInput {
            name: "".into(),
            email: "nope".into(),
            phone: Some("x".into()),
        };
        let errors = input.parse().unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["email", "name", "phone"]
        );
    }

    #[test]
    fn patch_keeps_absent_fields_and_clears_null_phone() {
        let current = CustomerInput {
            name: "A".into(),
            email: "a@b.io".into(),
            phone: Some("555-1234".into()),
        }
        .parse()
        .unwrap();
        let patch: CustomerPatch = serde_json::from_str(r#"{"phone": null}"#).unwrap();
        let next = patch.apply(&current).unwrap();
        assert_eq!(next.name, current.name);
        assert_eq!(next.phone, None);
        let untouched: CustomerPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(untouched.apply(&current).unwrap(), current);
    }
}
