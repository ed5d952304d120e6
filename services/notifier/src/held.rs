//! Order executions held back until their customer is known.
//!
//! Executions (order-executions topic) and customers (customers topic) travel on two topics with
//! no order between them, so an execution can be handled before its customer's created event.
//! Instead of dropping the "Your order was executed" email, the handler holds the event here
//! and mails it when the customer's contact arrives (see `handler`). Holding the same event
//! twice is harmless (keyed by event id), and a held event is released only after its email is
//! recorded in the ledger, so a crash in between mails it at most once more, never loses it.

use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use events::ChangeEvent;
use runtime::db::PgPool;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    #[error("notifier database unavailable: {0}")]
    Unavailable(String),
    #[error("notifier database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("a held event cannot be read back: {0}")]
    Corrupt(#[from] serde_json::Error),
}

#[derive(Clone)]
pub struct HeldExecutions {
    pool: PgPool,
}

impl HeldExecutions {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, HeldError> {
        self.pool
            .get()
            .await
            .map_err(|e| HeldError::Unavailable(e.to_string()))
    }

    /// Holds `event` for `customer_id`; false if it was held already.
    pub async fn hold(&self, customer_id: Uuid, event: &ChangeEvent) -> Result<bool, HeldError> {
        let mut conn = self.conn().await?;
        let rows = diesel::sql_query(
            "INSERT INTO held_executions (event_id, customer_id, event) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind::<SqlUuid, _>(event.id)
        .bind::<SqlUuid, _>(customer_id)
        .bind::<Jsonb, _>(serde_json::to_value(event)?)
        .execute(&mut conn)
        .await?;
        Ok(rows > 0)
    }

    /// The events held for `customer_id`, oldest first.
    pub async fn of(&self, customer_id: Uuid) -> Result<Vec<ChangeEvent>, HeldError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Jsonb)]
            event: serde_json::Value,
        }
        let mut conn = self.conn().await?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT event FROM held_executions WHERE customer_id = $1 ORDER BY held_at, event_id",
        )
        .bind::<SqlUuid, _>(customer_id)
        .load(&mut conn)
        .await?;
        rows.into_iter()
            .map(|r| Ok(serde_json::from_value(r.event)?))
            .collect()
    }

    /// Forgets a held event once it has been dealt with.
    pub async fn release(&self, event_id: Uuid) -> Result<(), HeldError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("DELETE FROM held_executions WHERE event_id = $1")
            .bind::<SqlUuid, _>(event_id)
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}
