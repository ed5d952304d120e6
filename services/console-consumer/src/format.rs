//! How one record is printed: the value, optionally preceded by timestamp, partition, offset,
//! headers and key, as kafka-console-consumer's default formatter does.

/// What to print besides the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub key: bool,
    pub timestamp: bool,
    pub partition: bool,
    pub offset: bool,
    pub headers: bool,
    pub separator: String,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            key: false,
            timestamp: false,
            partition: false,
            offset: false,
            headers: false,
            separator: "\t".into(),
        }
    }
}

/// The parts of a record the formatter needs.
pub struct View<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp_ms: Option<i64>,
    pub partition: i32,
    pub offset: i64,
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

impl Layout {
    pub fn from_properties(properties: &[String]) -> anyhow::Result<Self> {
        let mut layout = Layout::default();
        for property in properties {
            let (name, value) = property
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--property expects KEY=VALUE, got {property:?}"))?;
            let flag = || match value {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(anyhow::anyhow!(
                    "{name} expects true or false, got {other:?}"
                )),
            };
            match name {
                "print.key" => layout.key = flag()?,
                "print.timestamp" => layout.timestamp = flag()?,
                "print.partition" => layout.partition = flag()?,
                "print.offset" => layout.offset = flag()?,
                "print.headers" => layout.headers = flag()?,
                "key.separator" => layout.separator = value.to_owned(),
                other => anyhow::bail!("unknown property {other}"),
            }
        }
        Ok(layout)
    }

    pub fn render(&self, record: &View<'_>) -> String {
        let text = |bytes: Option<&[u8]>| {
            bytes.map_or_else(
                || "null".to_owned(),
                |b| String::from_utf8_lossy(b).into_owned(),
            )
        };
        let mut parts = Vec::new();
        if self.timestamp {
            parts.push(
                record
                    .timestamp_ms
                    .map_or_else(|| "NO_TIMESTAMP".to_owned(), |t| format!("CreateTime:{t}")),
            );
        }
        if self.partition {
            parts.push(format!("Partition:{}", record.partition));
        }
        if self.offset {
            parts.push(format!("Offset:{}", record.offset));
        }
        if self.headers {
            let headers: Vec<String> = record
                .headers
                .iter()
                .map(|(k, v)| format!("{k}:{}", text(*v)))
                .collect();
            parts.push(if headers.is_empty() {
                "NO_HEADERS".to_owned()
            } else {
                headers.join(",")
            });
        }
        if self.key {
            parts.push(text(record.key));
        }
        parts.push(text(record.value));
        parts.join(&self.separator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>() -> View<'a> {
        View {
            key: Some(b"k1"),
            value: Some(br#"{"op":"c"}"#),
            timestamp_ms: Some(42),
            partition: 0,
            offset: 7,
            headers: vec![("id", Some(b"e1".as_slice()))],
        }
    }

    #[test]
    fn value_alone_by_default() {
        assert_eq!(Layout::default().render(&view()), r#"{"op":"c"}"#);
    }

    #[test]
    fn key_and_separator_as_asked() {
        let layout =
            Layout::from_properties(&["print.key=true".into(), "key.separator= | ".into()])
                .unwrap();
        assert_eq!(layout.render(&view()), r#"k1 | {"op":"c"}"#);
    }

    #[test]
    fn every_part_in_kafkas_order() {
        let props: Vec<String> = [
            "print.timestamp",
            "print.partition",
            "print.offset",
            "print.headers",
            "print.key",
        ]
        .iter()
        .map(|p| format!("{p}=true"))
        .collect();
        let layout = Layout::from_properties(&props).unwrap();
        assert_eq!(
            layout.render(&view()),
            "CreateTime:42\tPartition:0\tOffset:7\tid:e1\tk1\t{\"op\":\"c\"}"
        );
    }

    #[test]
    fn bad_properties_are_refused() {
        assert!(Layout::from_properties(&["print.key".into()]).is_err());
        assert!(Layout::from_properties(&["print.key=yes".into()]).is_err());
        assert!(Layout::from_properties(&["no.such=true".into()]).is_err());
    }
}
