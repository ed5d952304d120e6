//! Order input, parsed at the edge: once a value has one of these types it is valid, so neither
//! the store nor the generator re-checks a field.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use web::{FieldCheck, FieldErrors};

/// A ticker symbol: 1 to 12 uppercase ASCII letters or digits (`AAPL`, `BRK2`, `7203`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol(String);

impl Symbol {
    pub const MAX_CHARS: usize = 12;

    /// Taken as given: a lowercase or padded symbol is a client mistake worth reporting, not
    /// something to guess the meaning of.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = (1..=Self::MAX_CHARS).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "must be 1 to {} uppercase letters or digits (got {raw:?})",
                Self::MAX_CHARS
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many units an order is for: 1 to 10 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i32);

impl Quantity {
    pub const MIN: i64 = 1;
    pub const MAX: i64 = 10_000;

    pub fn parse(raw: i64) -> Result<Self, String> {
        if (Self::MIN..=Self::MAX).contains(&raw) {
            Ok(Self(raw as i32))
        } else {
            Err(format!(
                "must be a whole number from {} to {} (got {raw})",
                Self::MIN,
                Self::MAX
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// The customer an order is for, by id. customer-api owns customers (in another database), so
/// this is a reference, not a checked foreign key: the order stands even if the id is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerId(Uuid);

impl CustomerId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        Uuid::parse_str(raw.trim())
            .map(Self)
            .map_err(|_| format!("{raw:?} is not a UUID"))
    }

    pub fn get(self) -> Uuid {
        self.0
    }
}

/// A valid order, ready to be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub symbol: Symbol,
    pub quantity: Quantity,
    pub customer_id: Option<CustomerId>,
}

/// Body of `POST /api/v1/orders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// 1 to 12 uppercase letters or digits.
    #[schema(example = "AAPL", pattern = "^[A-Z0-9]{1,12}$")]
    pub symbol: String,
    /// A whole number from 1 to 10 000.
    #[schema(example = 10, minimum = 1, maximum = 10000)]
    pub quantity: i64,
    /// The customer placing the order, if any.
    #[schema(example = "0193a1b2-0000-7000-8000-000000000000", format = Uuid)]
    #[serde(default)]
    pub customer_id: Option<String>,
}

impl OrderInput {
    /// Every field checked at once, so the client can fix them in one go.
    pub fn parse(&self) -> Result<NewOrder, FieldErrors> {
        let mut check = FieldCheck::default();
        let symbol = check.take("symbol", Symbol::parse(&self.symbol));
        let quantity = check.take("quantity", Quantity::parse(self.quantity));
        let customer_id = check.take(
            "customer_id",
            self.customer_id
                .as_deref()
                .map(CustomerId::parse)
                .transpose(),
        );
        match (symbol, quantity, customer_id) {
            (Some(symbol), Some(quantity), Some(customer_id)) => Ok(NewOrder {
                symbol,
                quantity,
                customer_id,
            }),
            _ => Err(check.into_errors()),
        }
    }
}

/// How often the generator places an order: 10 ms to one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickInterval(std::time::Duration);

impl TickInterval {
    pub const MIN_MS: i64 = 10;
    pub const MAX_MS: i64 = 3_600_000;
    pub const DEFAULT_MS: i64 = 2_000;

    pub fn parse(millis: i64) -> Result<Self, String> {
        if (Self::MIN_MS..=Self::MAX_MS).contains(&millis) {
            Ok(Self(std::time::Duration::from_millis(millis as u64)))
        } else {
            Err(format!(
                "must be a whole number of milliseconds from {} to {} (got {millis})",
                Self::MIN_MS,
                Self::MAX_MS
            ))
        }
    }

    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl Default for TickInterval {
    fn default() -> Self {
        Self(std::time::Duration::from_millis(Self::DEFAULT_MS as u64))
    }
}

/// Body of `POST /api/v1/orders/generator/start` (the body itself is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratorStart {
    /// Milliseconds between orders, 10 to 3 600 000 (default 2000).
    #[schema(example = 2000, minimum = 10, maximum = 3600000)]
    pub interval_ms: Option<i64>,
}

impl GeneratorStart {
    pub fn parse(&self) -> Result<TickInterval, FieldErrors> {
        let mut check = FieldCheck::default();
        let interval = check.take(
            "interval_ms",
            self.interval_ms
                .map_or(Ok(TickInterval::default()), TickInterval::parse),
        );
        interval.ok_or_else(|| check.into_errors())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_one_to_twelve_uppercase_letters_or_digits() {
        for ok in ["A", "AAPL", "BRK2", "7203", "ABCDEFGHIJKL"] {
            assert_eq!(Symbol::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "aapl",
            "AAPL ",
            " AAPL",
            "BRK.B",
            "ABCDEFGHIJKLM",
            "ÄPPL",
            "A-1",
        ] {
            assert!(Symbol::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_are_bounded() {
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert_eq!(Quantity::parse(10_000).unwrap().get(), 10_000);
        for bad in [0, -1, 10_001, i64::MAX] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn input_reports_every_bad_field() {
        let input = OrderInput {
            symbol: "x".into(),
            quantity: 0,
            customer_id: Some("nope".into()),
        };
        let errors = input.parse().unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["customer_id", "quantity", "symbol"]
        );
    }

    #[test]
    fn generator_intervals_are_bounded_and_default_to_two_seconds() {
        let start = |ms| GeneratorStart { interval_ms: ms }.parse();
        assert_eq!(start(None).unwrap().get().as_millis(), 2000);
        assert_eq!(start(Some(10)).unwrap().get().as_millis(), 10);
        assert_eq!(start(Some(3_600_000)).unwrap().get().as_millis(), 3_600_000);
        for bad in [9, 0, -5, 3_600_001] {
            assert_eq!(
                start(Some(bad)).unwrap_err().keys().collect::<Vec<_>>(),
                ["interval_ms"]
            );
        }
    }

    #[test]
    fn customer_id_is_optional() {
        let id = Uuid::now_v7();
        let with = OrderInput {
            symbol: "AAPL".into(),
            quantity: 5,
            customer_id: Some(id.to_string()),
        };
        assert_eq!(
            with.parse().unwrap().customer_id.map(CustomerId::get),
            Some(id)
        );
        let without = OrderInput {
            customer_id: None,
            ..with
        };
        assert_eq!(without.parse().unwrap().customer_id, None);
    }
}
