//! The platform's topics, named once. A deployment may put a prefix before every name
//! (`TOPIC_PREFIX`, so that several platforms or test runs share one cluster).

use std::fmt;

/// A topic of the platform, by its unprefixed name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic(&'static str);

impl Topic {
    /// customer-api's change events.
    pub const CUSTOMERS: Topic = Topic("customers");
    /// movie-api's movie change events.
    pub const MOVIES: Topic = Topic("movies");
    /// movie-api's cast change events.
    pub const CASTS: Topic = Topic("casts");
    /// order-api's order change events.
    pub const ORDERS: Topic = Topic("orders");
    /// order-processor's executions (an order's price), which the notifier mails.
    pub const ORDER_EXECUTIONS: Topic = Topic("order-executions");
    /// The notifier's report of every email it gave up on.
    pub const NOTIFICATIONS_FAILED: Topic = Topic("notifications.failed");

    /// Every topic of change events, in the order the setup creates them.
    pub const CHANGE_EVENTS: [Topic; 5] = [
        Topic::CUSTOMERS,
        Topic::MOVIES,
        Topic::CASTS,
        Topic::ORDERS,
        Topic::ORDER_EXECUTIONS,
    ];

    pub const fn name(self) -> &'static str {
        self.0
    }

    /// The name with a deployment's prefix.
    pub fn with_prefix(self, prefix: &str) -> String {
        format!("{prefix}{}", self.0)
    }

    /// The dead-letter topic of a consumer of `topic` (a prefixed name).
    pub fn dead_letter(topic: &str) -> String {
        format!("{topic}.dlq")
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_a_prefix_and_dead_letters_a_suffix() {
        assert_eq!(Topic::ORDERS.with_prefix("t1."), "t1.orders");
        assert_eq!(Topic::dead_letter("t1.orders"), "t1.orders.dlq");
        let names: Vec<&str> = Topic::CHANGE_EVENTS.iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            ["customers", "movies", "casts", "orders", "order-executions"]
        );
    }
}
