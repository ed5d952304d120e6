//! The MongoDB read model and its version guard.
//!
//! A document is the event's `after` image with `_id` = aggregate id and `_version`,
//! `_event_id`, `_updated_at`. A write applies only if the event's version is newer than the
//! stored one: the filter `{_id, _version: {$lt: v}}` with upsert either replaces an older
//! document, inserts a missing one, or fails with a duplicate key (11000) because a newer one
//! is stored; that failure means "stale" and is skipped. So duplicates, redeliveries and a
//! replay from offset 0 converge on the same state.
//!
//! Under load events come in batches: per aggregate only the newest event of a batch is
//! applied (the older ones would lose to it anyway), and the upserts of a collection go to
//! MongoDB as one `update` command with many statements, unordered, so that a stale statement
//! does not hold up the others. That is the wire protocol's own bulk write, which every
//! MongoDB-protocol server speaks (the driver's `bulk_write` needs MongoDB 8's `bulkWrite`).
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
use std::collections::{BTreeMap, HashMap};

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
    /// MongoDB refused a statement of a bulk write for a reason other than staleness.
    #[error("MongoDB refused a write: {0}")]
    Refused(String),
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

    /// Applies a batch of events, `(collection, event)` in topic order. The outer error means
    /// nothing is known to be applied (retry the batch; it is idempotent); an inner error means
    /// that event can never be applied.
    pub async fn apply_batch(
        &self,
        events: &[(&str, &ChangeEvent)],
    ) -> Result<Vec<Result<Applied, ApplyError>>, ApplyError> {
        let mut results: Vec<Result<Applied, ApplyError>> =
            events.iter().map(|_| Ok(Applied::Stale)).collect();
        let mut documents = HashMap::new();
        for (i, (_, event)) in events.iter().enumerate() {
            if event.op != Op::Delete {
                match upsert_document(event) {
                    Ok(document) => {
                        documents.insert(i, document);
                    }
                    Err(e) => results[i] = Err(e),
                }
            }
        }

        // Per aggregate, the newest applicable event of the batch.
        let mut newest: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (i, (collection, event)) in events.iter().enumerate() {
            if results[i].is_err() {
                continue;
            }
            let slot = newest
                .entry((*collection, event.aggregate_id.as_str()))
                .or_insert(i);
            if event.version > events[*slot].1.version {
                *slot = i;
            }
        }

        let mut upserts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (&(collection, _), &i) in &newest {
            if events[i].1.op == Op::Delete {
                results[i] = Ok(self.delete(collection, events[i].1).await?);
            } else {
                upserts.entry(collection).or_default().push(i);
            }
        }
        for (collection, indices) in upserts {
            let live = self.not_tombstoned(collection, events, indices).await?;
            for (i, applied) in self
                .bulk_upsert(collection, events, &live, &mut documents)
                .await?
            {
                results[i] = Ok(applied);
            }
        }
        Ok(results)
    }

    /// The events among `indices` that no recorded delete of the same or a newer version
    /// supersedes.
    async fn not_tombstoned(
        &self,
        collection: &str,
        events: &[(&str, &ChangeEvent)],
        indices: Vec<usize>,
    ) -> Result<Vec<usize>, MongoError> {
        use futures::TryStreamExt;
        let ids: Vec<String> = indices
            .iter()
            .map(|&i| tombstone_id(collection, &events[i].1.aggregate_id))
            .collect();
        let deleted: HashMap<String, i64> = self
            .db
            .collection::<Document>(TOMBSTONES)
            .find(doc! {"_id": {"$in": ids}})
            .await?
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .filter_map(|d| {
                Some((
                    d.get_str("_id").ok()?.to_owned(),
                    d.get_i64("version").ok()?,
                ))
            })
            .collect();
        Ok(indices
            .into_iter()
            .filter(|&i| {
                let event = events[i].1;
                deleted
                    .get(&tombstone_id(collection, &event.aggregate_id))
                    .is_none_or(|&version| version < event.version)
            })
            .collect())
    }

    /// One unordered `update` command replacing each document older than its event (or
    /// inserting it). A duplicate key on a statement means a newer version is stored: stale.
    async fn bulk_upsert(
        &self,
        collection: &str,
        events: &[(&str, &ChangeEvent)],
        indices: &[usize],
        documents: &mut HashMap<usize, Document>,
    ) -> Result<Vec<(usize, Applied)>, ApplyError> {
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        let statements: Vec<Document> = indices
            .iter()
            .map(|&i| {
                let event = events[i].1;
                doc! {
                    "q": {"_id": &event.aggregate_id, "_version": {"$lt": event.version}},
                    "u": documents.remove(&i).expect("a document for every upsert"),
                    "upsert": true,
                }
            })
            .collect();
        // run_command does not apply the database's write concern: ask for the journal here.
        let reply = self
            .db
            .run_command(doc! {
                "update": collection,
                "updates": statements,
                "ordered": false,
                "writeConcern": {"w": 1, "j": true},
            })
            .await?;
        let mut applied: Vec<(usize, Applied)> =
            indices.iter().map(|&i| (i, Applied::Upserted)).collect();
        for error in reply.get_array("writeErrors").into_iter().flatten() {
            let error = error.as_document().ok_or_else(|| {
                ApplyError::Refused(format!("malformed writeErrors entry: {error}"))
            })?;
            let index = error
                .get_i32("index")
                .ok()
                .and_then(|i| applied.get_mut(i as usize))
                .ok_or_else(|| {
                    ApplyError::Refused(format!("write error without index: {error}"))
                })?;
            if error.get_i32("code") == Ok(DUPLICATE_KEY) {
                index.1 = Applied::Stale;
            } else {
                return Err(ApplyError::Refused(error.to_string()));
            }
        }
        if let Ok(concern) = reply.get_document("writeConcernError") {
            return Err(ApplyError::Refused(concern.to_string()));
        }
        Ok(applied)
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
}

fn tombstone_id(collection: &str, id: &str) -> String {
    format!("{collection}:{id}")
}

fn upsert_document(event: &ChangeEvent) -> Result<Document, ApplyError> {
    let after = event.after.as_ref().ok_or_else(|| {
        ApplyError::Invalid(format!("{} event without an after image", event.event_type))
    })?;
    document_for(event, after)
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
