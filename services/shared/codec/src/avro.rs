//! JSON event ⇄ Avro value, guided by the event's schema.
//!
//! The mapping is the one the `.avsc` files document: UUIDs are strings with logical type
//! `uuid`, timestamps are RFC 3339 strings in JSON and `timestamp-millis` longs in Avro (so
//! sub-millisecond digits do not survive Avro), dates are `YYYY-MM-DD` and `date`, money is a
//! JSON number and an Avro `double`, optional fields are `["null", T]` unions.
//!
//! The conversion is strict: a JSON field the schema does not know, a missing required field
//! or a value of the wrong type is an error, so a row that gains a column without its schema
//! fails loudly (in the round-trip tests first) instead of silently losing the column.

use apache_avro::{
    schema::{Name, NamesRef, ResolvedSchema},
    types::Value as Avro,
    Schema,
};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Number, Value as Json};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConversionError {
    /// Where in the event, e.g. `after.email`.
    pub path: String,
    pub reason: String,
}

fn error(path: &str, reason: impl Into<String>) -> ConversionError {
    ConversionError {
        path: if path.is_empty() {
            "(event)".into()
        } else {
            path.to_owned()
        },
        reason: reason.into(),
    }
}

/// Converts a JSON event (as the outbox holds it) into an Avro value of `schema`.
pub fn to_avro(json: &Json, schema: &Schema) -> Result<Avro, ConversionError> {
    let resolved = ResolvedSchema::new(schema).map_err(|e| error("", e.to_string()))?;
    Converter {
        names: resolved.get_names(),
    }
    .convert(json, schema, None, "")
}

struct Converter<'a, 's> {
    names: &'a NamesRef<'s>,
}

impl Converter<'_, '_> {
    fn convert(
        &self,
        json: &Json,
        schema: &Schema,
        namespace: Option<&str>,
        path: &str,
    ) -> Result<Avro, ConversionError> {
        let wrong = |expected: &str| error(path, format!("expected {expected}, got {json}"));
        Ok(match schema {
            Schema::Null => match json {
                Json::Null => Avro::Null,
                _ => return Err(wrong("null")),
            },
            Schema::Boolean => Avro::Boolean(json.as_bool().ok_or_else(|| wrong("a boolean"))?),
            Schema::Int => {
                let n = json.as_i64().ok_or_else(|| wrong("an integer"))?;
                Avro::Int(i32::try_from(n).map_err(|_| wrong("a 32-bit integer"))?)
            }
            Schema::Long => Avro::Long(json.as_i64().ok_or_else(|| wrong("an integer"))?),
            Schema::Float => Avro::Float(json.as_f64().ok_or_else(|| wrong("a number"))? as f32),
            Schema::Double => Avro::Double(json.as_f64().ok_or_else(|| wrong("a number"))?),
            Schema::String => Avro::String(json.as_str().ok_or_else(|| wrong("a string"))?.into()),
            Schema::Uuid(_) => {
                let text = json.as_str().ok_or_else(|| wrong("a UUID string"))?;
                Avro::Uuid(text.parse().map_err(|_| wrong("a UUID"))?)
            }
            Schema::TimestampMillis => {
                let text = json
                    .as_str()
                    .ok_or_else(|| wrong("an RFC 3339 timestamp"))?;
                let at = DateTime::parse_from_rfc3339(text)
                    .map_err(|_| wrong("an RFC 3339 timestamp"))?;
                Avro::TimestampMillis(at.timestamp_millis())
            }
            Schema::Date => {
                let text = json.as_str().ok_or_else(|| wrong("a YYYY-MM-DD date"))?;
                let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| wrong("a YYYY-MM-DD date"))?;
                let days = (date - DateTime::UNIX_EPOCH.date_naive()).num_days();
                Avro::Date(i32::try_from(days).map_err(|_| wrong("a date in range"))?)
            }
            Schema::Enum(e) => {
                let symbol = json.as_str().ok_or_else(|| wrong("a string"))?;
                let index = e
                    .symbols
                    .iter()
                    .position(|s| s == symbol)
                    .ok_or_else(|| wrong(&format!("one of {:?}", e.symbols)))?;
                Avro::Enum(index as u32, symbol.to_owned())
            }
            Schema::Array(array) => {
                let items = json.as_array().ok_or_else(|| wrong("an array"))?;
                Avro::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| {
                            self.convert(item, &array.items, namespace, &format!("{path}[{i}]"))
                        })
                        .collect::<Result<_, _>>()?,
                )
            }
            Schema::Map(map) => {
                let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                Avro::Map(
                    object
                        .iter()
                        .map(|(k, v)| {
                            Ok((
                                k.clone(),
                                self.convert(v, &map.types, namespace, &format!("{path}.{k}"))?,
                            ))
                        })
                        .collect::<Result<_, ConversionError>>()?,
                )
            }
            Schema::Union(union) => {
                // Nullable fields are `["null", T]`: null takes the null branch, anything else
                // the first branch that accepts it.
                let mut last = None;
                for (index, variant) in union.variants().iter().enumerate() {
                    if matches!(variant, Schema::Null) != json.is_null() {
                        continue;
                    }
                    match self.convert(json, variant, namespace, path) {
                        Ok(value) => return Ok(Avro::Union(index as u32, Box::new(value))),
                        Err(e) => last = Some(e),
                    }
                }
                return Err(last.unwrap_or_else(|| wrong("a value of the union")));
            }
            Schema::Record(record) => {
                let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                let inner = record.name.namespace().or(namespace);
                if let Some(unknown) = object
                    .keys()
                    .find(|k| !record.fields.iter().any(|f| &f.name == *k))
                {
                    return Err(error(
                        &join(path, unknown),
                        format!("not a field of {}", record.name.fullname(None)),
                    ));
                }
                let mut fields = Vec::with_capacity(record.fields.len());
                for field in &record.fields {
                    let field_path = join(path, &field.name);
                    let value = match object.get(&field.name) {
                        Some(value) => self.convert(value, &field.schema, inner, &field_path)?,
                        None if field.default.is_some() => {
                            self.convert(&Json::Null, &field.schema, inner, &field_path)?
                        }
                        None => return Err(error(&field_path, "missing")),
                    };
                    fields.push((field.name.clone(), value));
                }
                Avro::Record(fields)
            }
            Schema::Ref { name } => {
                let full = if name.namespace().is_some() {
                    name.clone()
                } else {
                    Name::new(name.fullname(namespace)).map_err(|e| error(path, e.to_string()))?
                };
                let target = self
                    .names
                    .get(&full)
                    .ok_or_else(|| error(path, format!("unknown type {}", full.fullname(None))))?;
                self.convert(json, target, full.namespace(), path)?
            }
            other => return Err(error(path, format!("unsupported schema {other:?}"))),
        })
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// Converts a decoded Avro value back to the JSON the outbox held: records become objects (in
/// schema order), unions their branch, logical types their JSON spelling.
pub fn to_json(avro: &Avro) -> Result<Json, ConversionError> {
    Ok(match avro {
        Avro::Null => Json::Null,
        Avro::Boolean(b) => Json::Bool(*b),
        Avro::Int(n) => Json::from(*n),
        Avro::Long(n) => Json::from(*n),
        Avro::Float(f) => number(f64::from(*f))?,
        Avro::Double(f) => number(*f)?,
        Avro::String(s) | Avro::Enum(_, s) => Json::String(s.clone()),
        Avro::Uuid(u) => Json::String(u.to_string()),
        Avro::TimestampMillis(ms) => Json::String(
            DateTime::<Utc>::from_timestamp_millis(*ms)
                .ok_or_else(|| error("", format!("timestamp {ms} out of range")))?
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ),
        Avro::TimestampMicros(us) => Json::String(
            DateTime::<Utc>::from_timestamp_micros(*us)
                .ok_or_else(|| error("", format!("timestamp {us} out of range")))?
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ),
        Avro::Date(days) => Json::String(
            DateTime::UNIX_EPOCH
                .date_naive()
                .checked_add_signed(chrono::Duration::days(i64::from(*days)))
                .ok_or_else(|| error("", format!("date {days} out of range")))?
                .format("%Y-%m-%d")
                .to_string(),
        ),
        Avro::Union(_, inner) => to_json(inner)?,
        Avro::Array(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Avro::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<Map<_, _>, ConversionError>>()?,
        ),
        Avro::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<Map<_, _>, ConversionError>>()?,
        ),
        other => return Err(error("", format!("unsupported Avro value {other:?}"))),
    })
}

fn number(f: f64) -> Result<Json, ConversionError> {
    Number::from_f64(f)
        .map(Json::Number)
        .ok_or_else(|| error("", format!("{f} is not a JSON number")))
}

/// Avro binary of a JSON event under `schema` (no wire-format header).
pub fn encode(json: &Json, schema: &Schema) -> Result<Vec<u8>, ConversionError> {
    let value = to_avro(json, schema)?;
    apache_avro::writer::datum::GenericDatumWriter::builder(schema)
        .build()
        .and_then(|writer| writer.write_value_to_vec(value))
        .map_err(|e| error("", e.to_string()))
}

/// The JSON event of Avro binary written with `schema` (no wire-format header).
pub fn decode(mut body: &[u8], schema: &Schema) -> Result<Json, ConversionError> {
    let value = apache_avro::reader::datum::GenericDatumReader::builder(schema)
        .build()
        .and_then(|reader| reader.read_value(&mut body))
        .map_err(|e| error("", e.to_string()))?;
    to_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"R","namespace":"t","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn logical_types_map_to_their_json_spelling() {
        let s = schema(
            r#"{"name":"id","type":{"type":"string","logicalType":"uuid"}},
               {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
               {"name":"day","type":["null",{"type":"int","logicalType":"date"}],"default":null},
               {"name":"price","type":"double"}"#,
        );
        let event = json!({
            "id": "0190f0f0-0000-7000-8000-000000000001",
            "at": "2026-11-23T18:00:00.123Z",
            "day": "2027-01-31",
            "price": 123.45,
        });
        assert_eq!(decode(&encode(&event, &s).unwrap(), &s).unwrap(), event);
    }

    #[test]
    fn timestamps_keep_milliseconds_and_normalise_to_utc() {
        let s = schema(r#"{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}"#);
        let back = decode(
            &encode(&json!({"at": "2026-11-23T19:00:00.123456+01:00"}), &s).unwrap(),
            &s,
        )
        .unwrap();
        assert_eq!(back, json!({"at": "2026-11-23T18:00:00.123Z"}));
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_errors_naming_the_field() {
        let s = schema(
            r#"{"name":"n","type":"long"},{"name":"o","type":["null","string"],"default":null}"#,
        );
        assert_eq!(encode(&json!({"n": 1, "x": 2}), &s).unwrap_err().path, "x");
        assert_eq!(encode(&json!({"o": "a"}), &s).unwrap_err().path, "n");
        assert_eq!(encode(&json!({"n": "1"}), &s).unwrap_err().path, "n");
        // an optional field may be absent
        assert_eq!(
            decode(&encode(&json!({"n": 1}), &s).unwrap(), &s).unwrap(),
            json!({"n": 1, "o": null})
        );
    }
}
