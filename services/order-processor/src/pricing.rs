//! The price of an execution, decided by the order id alone, so that reprocessing an order
//! (a redelivery, a replay by a new group, a rebuilt database) always yields the same price.
//!
//! - The unit price is uniform over [1.1000, 2.0000] in steps of 0.0001 (9 001 prices), drawn
//!   from ChaCha20 seeded with the order id's 16 bytes (zero-padded to the 32-byte seed).
//!   Rejection sampling keeps it exactly uniform; ChaCha20's output stream is fixed by its
//!   specification, so the price does not change with library versions.
//! - The execution price is quantity × unit price, rounded half up to the cent.
//!
//! Money is integer: the unit price in ten-thousandths, amounts in cents; PostgreSQL stores
//! them as `NUMERIC(10,4)` and `NUMERIC(14,2)`. In JSON they are numbers whose text is the
//! exact decimal (`1.2345`, `12.35`).

use rand_chacha::{
    rand_core::{RngCore, SeedableRng},
    ChaCha20Rng,
};
use serde::{Serialize, Serializer};
use std::fmt;
use uuid::Uuid;

/// A price per unit, in ten-thousandths (4 decimal places).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPrice(i64);

/// An amount of money in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(i64);

impl UnitPrice {
    pub const LOWEST: UnitPrice = UnitPrice(11_000);
    pub const HIGHEST: UnitPrice = UnitPrice(20_000);

    pub fn from_ten_thousandths(value: i64) -> Self {
        Self(value)
    }

    pub fn ten_thousandths(self) -> i64 {
        self.0
    }
}

impl Cents {
    pub fn new(cents: i64) -> Self {
        Self(cents)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UnitPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

// An integer over a power of ten below 2^53, correctly rounded to the nearest double, prints
// (shortest round-trip form) as exactly that decimal: JSON readers see the decimal, not noise.
impl Serialize for UnitPrice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 10_000.0)
    }
}

impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 100.0)
    }
}

/// What an order is executed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub unit_price: UnitPrice,
    pub execution_price: Cents,
}

/// Decides execution prices.
pub struct ExecutionPricer;

impl ExecutionPricer {
    /// The price of `quantity` units of order `order_id` (quantity is at least 1).
    pub fn price(order_id: Uuid, quantity: i32) -> Pricing {
        let unit_price = Self::unit_price(order_id);
        Pricing {
            unit_price,
            execution_price: Self::execution_price(quantity, unit_price),
        }
    }

    /// Uniform over [LOWEST, HIGHEST], seeded by the order id.
    pub fn unit_price(order_id: Uuid) -> UnitPrice {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(order_id.as_bytes());
        let mut rng = ChaCha20Rng::from_seed(seed);
        let span = (UnitPrice::HIGHEST.0 - UnitPrice::LOWEST.0 + 1) as u64;
        // The largest multiple of `span` that fits: values at or above it would favour the
        // low prices, so draw again (a chance of about 5e-16 per draw).
        let zone = u64::MAX - u64::MAX % span;
        loop {
            let draw = rng.next_u64();
            if draw < zone {
                return UnitPrice(UnitPrice::LOWEST.0 + (draw % span) as i64);
            }
        }
    }

    /// quantity × unit price, rounded half up to the cent.
    pub fn execution_price(quantity: i32, unit_price: UnitPrice) -> Cents {
        let ten_thousandths = i64::from(quantity) * unit_price.0;
        Cents((ten_thousandths + 50).div_euclid(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_order_id_always_gets_the_same_price() {
        let id = Uuid::parse_str("0193a1b2-0000-7000-8000-000000000042").unwrap();
        let first = ExecutionPricer::price(id, 7);
        for _ in 0..10 {
            assert_eq!(ExecutionPricer::price(id, 7), first);
        }
        // Pinned: a change of algorithm or library that moves prices must be deliberate. The
        // nil id seeds ChaCha20 with the all-zero key, whose keystream is RFC 7539's test
        // vector (76 b8 e0 ad a0 f1 3d 90 ...): 0x903df1a0ade0b876 % 9001 = 52, so 1.1052.
        assert_eq!(
            ExecutionPricer::unit_price(Uuid::nil()).to_string(),
            "1.1052"
        );
    }

    #[test]
    fn unit_prices_stay_within_bounds_and_spread_over_them() {
        let mut lowest = UnitPrice::HIGHEST;
        let mut highest = UnitPrice::LOWEST;
        let mut sum = 0i64;
        const N: i64 = 20_000;
        for i in 0..N {
            let price = ExecutionPricer::unit_price(Uuid::from_u128(i as u128 * 7919 + 1));
            assert!(
                (UnitPrice::LOWEST..=UnitPrice::HIGHEST).contains(&price),
                "{price}"
            );
            lowest = lowest.min(price);
            highest = highest.max(price);
            sum += price.ten_thousandths();
        }
        assert!(
            lowest.0 < 11_050 && highest.0 > 19_950,
            "{lowest}..{highest}"
        );
        let mean = sum as f64 / N as f64 / 10_000.0;
        assert!((mean - 1.55).abs() < 0.01, "mean {mean}");
        let different = (0..100)
            .map(|i| ExecutionPricer::unit_price(Uuid::from_u128(i)))
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert!(different > 90, "ids give different prices: {different}");
    }

    #[test]
    fn execution_price_is_quantity_times_unit_price_rounded_half_up_to_the_cent() {
        let unit = |v| UnitPrice::from_ten_thousandths(v);
        assert_eq!(
            ExecutionPricer::execution_price(1, unit(11_000)),
            Cents(110)
        );
        assert_eq!(
            ExecutionPricer::execution_price(3, unit(12_345)),
            Cents(370)
        ); // 3.7035
        assert_eq!(
            ExecutionPricer::execution_price(2, unit(12_345)),
            Cents(247)
        ); // 2.4690
        assert_eq!(
            ExecutionPricer::execution_price(1, unit(12_350)),
            Cents(124)
        ); // 1.2350 up
        assert_eq!(
            ExecutionPricer::execution_price(1, unit(12_349)),
            Cents(123)
        );
        assert_eq!(
            ExecutionPricer::execution_price(10_000, unit(20_000)),
            Cents(2_000_000)
        );
        assert_eq!(
            ExecutionPricer::execution_price(i32::MAX, unit(20_000)).get(),
            i64::from(i32::MAX) * 200
        );
    }

    #[test]
    fn amounts_display_and_serialize_as_exact_decimals() {
        assert_eq!(UnitPrice(11_000).to_string(), "1.1000");
        assert_eq!(UnitPrice(12_345).to_string(), "1.2345");
        assert_eq!(Cents(1_235).to_string(), "12.35");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(serde_json::to_string(&UnitPrice(12_345)).unwrap(), "1.2345");
        assert_eq!(serde_json::to_string(&UnitPrice(11_000)).unwrap(), "1.1");
        assert_eq!(serde_json::to_string(&Cents(1_235)).unwrap(), "12.35");
        assert_eq!(serde_json::to_string(&Cents(2_000_000)).unwrap(), "20000.0");
        for cents in [1, 10, 99, 101, 1_999_999, 123_456_789] {
            let text = serde_json::to_string(&Cents(cents)).unwrap();
            assert_eq!(text.parse::<f64>().unwrap(), cents as f64 / 100.0);
            assert!(
                text.split('.').nth(1).is_none_or(|d| d.len() <= 2),
                "{text}"
            );
        }
    }
}
