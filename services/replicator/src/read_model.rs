//! The MongoDB read model and its version guard.
//!
//! A document is the event's `after` image with `_id` = aggregate id and `_version`,
//! `_event_id`, `_updated_at`. A write applies only if the event's version is newer than the
//! stored one: the filter `{_id, _version: {$lt: v}}` with upsert either replaces an older
//! document, inserts a missing one, or fails with a duplicate key (11000) because a newer one
//! is stored; that failure means "stale" and is skipped. So duplicates, redeliveries and a
//! replay from offset 0 converge on the same state.
//!
//! A delete removes the document but leaves a tombstone (`_tombstones`, keyed
//! `<collection>:<id>`) holding the delete's version, so that an older update arriving late
//! cannot resurrect the aggregate.

use chrono::{DateTime, Utc};
use events::{ChangeEvent, Op};
use mongodb::{
    bson::{self, doc, Bson, Document},
    error::{Error as MongoError, ErrorKind, WriteFailure},
    Database,
};

const TOMBSTONES: &str = "_tombstones";
const DUPLICATE_KEY: i32 = 11000;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event can never be applied (it is malformed); retrying will not help.
    #[error("invalid event: {0}")]
    Invalid(String),
    /// MongoDB failed; retrying may help.
    #[error("MongoDB: {0}")]
    Mongo(#[from] MongoError),
}

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Upserted,
    Deleted,
    /// A newer version (or a newer delete) is already stored.
    Stale,
}

#[derive(Clone)]
pub struct ReadModel {
    db: Database,
}

impl ReadModel {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub async fn apply(
        &self,
        collection: &str,
        event: &ChangeEvent,
    ) -> Result<Applied, ApplyError> {
        match event.op {
            Op::Create | Op::Update | Op::Read => self.upsert(collection, event).await,
            Op::Delete => self.delete(collection, event).await,
        }
    }

    async fn upsert(&self, collection: &str, event: &ChangeEvent) -> Result<Applied, ApplyError> {
        let after = event.after.as_ref().ok_or_else(|| {
            ApplyError::Invalid(format!("{} event without an after image", event.event_type))
        })?;
        if self
            .tombstone_version(collection, &event.aggregate_id)
            .await?
            >= Some(event.version)
        {
            return Ok(Applied::Stale);
        }
        let document = document_for(event, after)?;
        let result = self
            .db
            .collection::<Document>(collection)
            .replace_one(
                doc! {"_id": &event.aggregate_id, "_version": {"$lt": event.version}},
                document,
            )
            .upsert(true)
            .await;
        match result {
            Ok(_) => Ok(Applied::Upserted),
            Err(e) if is_duplicate_key(&e) => Ok(Applied::Stale),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, collection: &str, event: &ChangeEvent) -> Result<Applied, ApplyError> {
        // Tombstone first: if we crash before the delete, the redelivered event deletes then.
        let tombstone = self
            .db
            .collection::<Document>(TOMBSTONES)
            .update_one(
                doc! {"_id": tombstone_id(collection, &event.aggregate_id), "version": {"$lt": event.version}},
                doc! {"$set": {"version": event.version, "collection": collection}},
            )
            .upsert(true)
            .await;
        match tombstone {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {} // a newer delete is recorded; still delete below
            Err(e) => return Err(e.into()),
        }
        let deleted = self
            .db
            .collection::<Document>(collection)
            .delete_one(doc! {"_id": &event.aggregate_id, "_version": {"$lt": event.version}})
            .await?;
        Ok(if deleted.deleted_count == 1 {
            Applied::Deleted
        } else {
            Applied::Stale
        })
    }

    async fn tombstone_version(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<i64>, MongoError> {
        let found = self
            .db
            .collection::<Document>(TOMBSTONES)
            .find_one(doc! {"_id": tombstone_id(collection, id)})
            .await?;
        Ok(found.and_then(|d| d.get_i64("version").ok()))
    }
}

fn tombstone_id(collection: &str, id: &str) -> String {
    format!("{collection}:{id}")
}

/// The stored document: the after image plus the replication bookkeeping fields.
pub fn document_for(
    event: &ChangeEvent,
    after: &serde_json::Value,
) -> Result<Document, ApplyError> {
    let mut document = match bson::to_bson(after) {
        Ok(Bson::Document(d)) => d,
        Ok(other) => {
            return Err(ApplyError::Invalid(format!(
                "after image is not an object: {other}"
            )))
        }
        Err(e) => return Err(ApplyError::Invalid(e.to_string())),
    };
    document.insert("_id", &event.aggregate_id);
    document.insert("_version", event.version);
    document.insert("_event_id", event.id.to_string());
    document.insert(
        "_updated_at",
        bson::DateTime::from_millis(event.occurred_at.timestamp_millis()),
    );
    Ok(document)
}

fn is_duplicate_key(error: &MongoError) -> bool {
    matches!(&*error.kind, ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == DUPLICATE_KEY)
        || matches!(&*error.kind, ErrorKind::Command(e) if e.code == DUPLICATE_KEY)
}

/// When the document was last replicated, for display and freshness checks.
pub fn updated_at(document: &Document) -> Option<DateTime<Utc>> {
    document
        .get_datetime("_updated_at")
        .ok()
        .and_then(|d| DateTime::from_timestamp_millis(d.timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::Source;
    use serde_json::json;

    fn event(version: i64, after: serde_json::Value) -> ChangeEvent {
        ChangeEvent {
            id: uuid::Uuid::nil(),
            event_type: "customer.updated".into(),
            op: Op::Update,
            aggregate_type: "customer".into(),
            aggregate_id: "c-1".into(),
            version,
            before: None,
            after: Some(after.clone()),
            source: Source {
                service: "s".into(),
                table: "t".into(),
                tx_id: 1,
                committed_at: DateTime::UNIX_EPOCH,
            },
            occurred_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn document_is_the_after_image_with_bookkeeping() {
        let e = event(3, json!({"id": "c-1", "name": "Ada", "phone": null}));
        let d = document_for(&e, e.after.as_ref().unwrap()).unwrap();
        assert_eq!(d.get_str("_id").unwrap(), "c-1");
        assert_eq!(d.get_i64("_version").unwrap(), 3);
        assert_eq!(d.get_str("name").unwrap(), "Ada");
        assert!(d.is_null("phone"));
        assert_eq!(updated_at(&d), Some(DateTime::UNIX_EPOCH));
    }

    #[test]
    fn a_non_object_after_image_is_invalid() {
        let e = event(1, json!([1, 2]));
        assert!(matches!(
            document_for(&e, e.after.as_ref().unwrap()),
            Err(ApplyError::Invalid(_))
        ));
    }
}
