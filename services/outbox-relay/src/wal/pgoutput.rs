//! Decodes the `pgoutput` messages the outbox publication carries into outbox events.
//!
//! pgwire-replication speaks the replication protocol and hands over each change as the bytes
//! of one pgoutput message; this module reads the two kinds the relay needs (PostgreSQL's
//! "Logical Replication Message Formats", protocol version 1):
//! - `R` Relation: a table's id and column names, sent before its first change on a stream;
//! - `I` Insert: the new row's columns in text format.
//!
//! The publication is `publish = 'insert'`, so updates, deletes and truncates never arrive; any
//! other message is skipped.

use chrono::{DateTime, Utc};
use outbox::PendingEvent;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("truncated pgoutput message")]
    Truncated,
    #[error("an insert into relation {0} arrived before its Relation message")]
    UnknownRelation(u32),
    #[error("outbox column {column}: {problem}")]
    Column {
        column: &'static str,
        problem: String,
    },
}

/// What one stream has told about its tables so far.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Column names of each relation, by relation id.
    relations: HashMap<u32, Relation>,
}

#[derive(Debug)]
struct Relation {
    name: String,
    columns: Vec<String>,
}

impl Decoder {
    /// The outbox event a message inserts, if it is an insert into `outbox`.
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<PendingEvent>, DecodeError> {
        let mut r = Reader(data);
        match r.u8()? {
            b'R' => {
                let id = r.u32()?;
                let _namespace = r.string()?;
                let name = r.string()?;
                let _replica_identity = r.u8()?;
                let count = r.u16()?;
                let mut columns = Vec::with_capacity(count.into());
                for _ in 0..count {
                    let _flags = r.u8()?;
                    columns.push(r.string()?);
                    let _type = r.u32()?;
                    let _modifier = r.u32()?;
                }
                self.relations.insert(id, Relation { name, columns });
                Ok(None)
            }
            b'I' => {
                let id = r.u32()?;
                let relation = self
                    .relations
                    .get(&id)
                    .ok_or(DecodeError::UnknownRelation(id))?;
                if relation.name != "outbox" {
                    return Ok(None);
                }
                let _new = r.u8()?;
                let values = r.tuple()?;
                let row: HashMap<&str, Option<&str>> = relation
                    .columns
                    .iter()
                    .map(String::as_str)
                    .zip(values)
                    .collect();
                event(&row).map(Some)
            }
            _ => Ok(None),
        }
    }
}

fn event(row: &HashMap<&str, Option<&str>>) -> Result<PendingEvent, DecodeError> {
    fn text<'a>(
        row: &HashMap<&str, Option<&'a str>>,
        column: &'static str,
    ) -> Result<&'a str, DecodeError> {
        row.get(column)
            .copied()
            .flatten()
            .ok_or(DecodeError::Column {
                column,
                problem: "missing or null".into(),
            })
    }
    fn parse<T, E: std::fmt::Display>(
        column: &'static str,
        result: Result<T, E>,
    ) -> Result<T, DecodeError> {
        result.map_err(|e| DecodeError::Column {
            column,
            problem: e.to_string(),
        })
    }
    Ok(PendingEvent {
        id: parse("id", text(row, "id")?.parse())?,
        event_id: parse("event_id", text(row, "event_id")?.parse())?,
        aggregate_id: text(row, "aggregate_id")?.to_owned(),
        event_type: text(row, "event_type")?.to_owned(),
        topic: text(row, "topic")?.to_owned(),
        payload: parse("payload", serde_json::from_str(text(row, "payload")?))?,
        created_at: parse("created_at", timestamptz(text(row, "created_at")?))?,
    })
}

/// A `timestamptz` in PostgreSQL's ISO text output, e.g. `2026-12-03 10:35:00.123456+00`.
fn timestamptz(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z").map(|t| t.with_timezone(&Utc))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let end = self
            .0
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::Truncated)?;
        let s = String::from_utf8_lossy(self.take(end)?).into_owned();
        self.take(1)?;
        Ok(s)
    }

    /// TupleData: each column null (`n`), an unchanged TOAST value (`u`), or text (`t`) or
    /// binary (`b`) with its length. Values are text unless the stream asked for binary.
    fn tuple(&mut self) -> Result<Vec<Option<&'a str>>, DecodeError> {
        let count = self.u16()?;
        let mut values = Vec::with_capacity(count.into());
        for _ in 0..count {
            match self.u8()? {
                b't' | b'b' => {
                    let len = self.u32()? as usize;
                    let bytes = self.take(len)?;
                    values.push(std::str::from_utf8(bytes).ok());
                }
                _ => values.push(None),
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(id: u32, name: &str, columns: &[&str]) -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend(id.to_be_bytes());
        m.extend(b"public\0");
        m.extend(name.as_bytes());
        m.push(0);
        m.push(b'd');
        m.extend((columns.len() as u16).to_be_bytes());
        for c in columns {
            m.push(0);
            m.extend(c.as_bytes());
            m.push(0);
            m.extend(25u32.to_be_bytes());
            m.extend(u32::MAX.to_be_bytes());
        }
        m
    }

    fn insert(id: u32, values: &[Option<&str>]) -> Vec<u8> {
        let mut m = vec![b'I'];
        m.extend(id.to_be_bytes());
        m.push(b'N');
        m.extend((values.len() as u16).to_be_bytes());
        for v in values {
            match v {
                Some(text) => {
                    m.push(b't');
                    m.extend((text.len() as u32).to_be_bytes());
                    m.extend(text.as_bytes());
                }
                None => m.push(b'n'),
            }
        }
        m
    }

    const COLUMNS: [&str; 9] = [
        "id",
        "event_id",
        "aggregate_type",
        "aggregate_id",
        "event_type",
        "topic",
        "payload",
        "created_at",
        "published_at",
    ];

    fn outbox_row(payload: &str) -> Vec<Option<&str>> {
        vec![
            Some("42"),
            Some("0193a2b4-0000-7000-8000-000000000001"),
            Some("customer"),
            Some("c-1"),
            Some("customer.created"),
            Some("customers"),
            Some(payload),
            Some("2026-12-03 10:35:00.123456+00"),
            None,
        ]
    }

    #[test]
    fn an_insert_into_the_outbox_is_its_event() {
        let mut d = Decoder::default();
        assert_eq!(
            d.decode(&relation(7, "outbox", &COLUMNS))
                .unwrap()
                .map(|e| e.id),
            None
        );
        let event = d
            .decode(&insert(7, &outbox_row(r#"{"version": 3}"#)))
            .unwrap()
            .expect("an event");
        assert_eq!(event.id, 42);
        assert_eq!(event.aggregate_id, "c-1");
        assert_eq!(event.event_type, "customer.created");
        assert_eq!(event.topic, "customers");
        assert_eq!(event.payload["version"], 3);
        assert_eq!(
            event.created_at.to_rfc3339(),
            "2026-12-03T10:35:00.123456+00:00"
        );
    }

    #[test]
    fn inserts_into_other_tables_and_other_messages_are_skipped() {
        let mut d = Decoder::default();
        d.decode(&relation(8, "customers", &["id"])).unwrap();
        assert!(d.decode(&insert(8, &[Some("x")])).unwrap().is_none());
        assert!(d.decode(b"Yanything").unwrap().is_none());
    }

    #[test]
    fn malformed_messages_are_errors_not_events() {
        let mut d = Decoder::default();
        assert_eq!(
            d.decode(&insert(9, &[])).unwrap_err(),
            DecodeError::UnknownRelation(9)
        );
        d.decode(&relation(7, "outbox", &COLUMNS)).unwrap();
        let mut cut = insert(7, &outbox_row("{}"));
        cut.truncate(cut.len() - 10);
        assert_eq!(d.decode(&cut).unwrap_err(), DecodeError::Truncated);
        let mut bad = outbox_row("{}");
        bad[0] = Some("forty-two");
        assert!(matches!(
            d.decode(&insert(7, &bad)).unwrap_err(),
            DecodeError::Column { column: "id", .. }
        ));
    }
}
