//! The archive's layout, from `analytics/archive-layout.json`: the prefix of each hour's
//! objects, and the object names Firehose gives them
//! (`<evaluated prefix><stream>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid>.gz`).

use std::sync::LazyLock;

use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// The shared definition, as the Pulumi program reads it too.
pub const LAYOUT_JSON: &str = include_str!("../archive-layout.json");

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    /// Where the records go.
    pub events_prefix: String,
    /// Where Firehose puts records it could not deliver.
    pub errors_prefix: String,
    /// Hive-style folders of the hour, outermost first.
    pub partitions: Vec<Partition>,
    /// Where the analyst tables' Parquet files go, one folder per table.
    pub tables_prefix: String,
    /// The tables' one partition: the UTC date of the event's time.
    pub table_partition: TablePartition,
    /// The analyst tables and their columns, as Glue declares them.
    pub tables: Vec<TableDefinition>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TablePartition {
    pub name: String,
    /// Glue's projection format of its values (`yyyy-MM-dd`).
    pub format: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TableDefinition {
    pub name: String,
    pub about: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// Its Glue type: `string`, `int`, `bigint` or `timestamp`.
    #[serde(rename = "type")]
    pub glue_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    /// Firehose's timestamp pattern (Java `DateTimeFormatter`): `yyyy`, `MM`, `dd` or `HH`.
    pub pattern: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("archive-layout.json is not the expected shape")]
    Shape(#[source] serde_json::Error),
    #[error("partition {name}: pattern {pattern} is none of yyyy, MM, dd, HH")]
    Pattern { name: String, pattern: String },
}

static LAYOUT: LazyLock<Result<Layout, String>> =
    LazyLock::new(|| Layout::parse(LAYOUT_JSON).map_err(|e| e.to_string()));

/// The layout every part of the pipeline uses.
pub fn layout() -> &'static Layout {
    match &*LAYOUT {
        Ok(layout) => layout,
        // The file is part of the build, and a test parses it: this cannot happen in a build
        // that passed its tests.
        Err(error) => panic!("analytics/archive-layout.json: {error}"),
    }
}

impl Layout {
    pub fn parse(json: &str) -> Result<Self, LayoutError> {
        let layout: Self = serde_json::from_str(json).map_err(LayoutError::Shape)?;
        for partition in &layout.partitions {
            if pattern_value(&partition.pattern, OffsetDateTime::UNIX_EPOCH).is_none() {
                return Err(LayoutError::Pattern {
                    name: partition.name.clone(),
                    pattern: partition.pattern.clone(),
                });
            }
        }
        Ok(layout)
    }

    /// `events/year=2026/month=11/day=25/hour=09/`: the folder of the records whose oldest
    /// arrived at `oldest` (UTC).
    pub fn events_folder(&self, oldest: OffsetDateTime) -> String {
        let oldest = oldest.to_offset(time::UtcOffset::UTC);
        let mut folder = self.events_prefix.clone();
        for partition in &self.partitions {
            let value = pattern_value(&partition.pattern, oldest).unwrap_or_default();
            folder.push_str(&format!("{}={value}/", partition.name));
        }
        folder
    }

    /// `errors/processing-failed/year=2026/month=11/day=25/hour=09/`: the folder of records of
    /// `error_type` (Firehose's `!{firehose:error-output-type}`) whose oldest arrived at `oldest`.
    pub fn errors_folder(&self, error_type: &str, oldest: OffsetDateTime) -> String {
        let hour = self.events_folder(oldest);
        let partitions = hour.strip_prefix(&self.events_prefix).unwrap_or(&hour);
        format!("{}{error_type}/{partitions}", self.errors_prefix)
    }

    /// The object name Firehose gives a buffer (without its folder).
    pub fn object_name(stream: &str, version: u32, written: OffsetDateTime, id: Uuid) -> String {
        let w = written.to_offset(time::UtcOffset::UTC);
        format!(
            "{stream}-{version}-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{id}.gz",
            w.year(),
            u8::from(w.month()),
            w.day(),
            w.hour(),
            w.minute(),
            w.second()
        )
    }

    /// The key of an object Firehose writes for `stream` (at configuration `version`): its
    /// oldest record's folder, then the stream, version, the time it was written (UTC, to the
    /// second), a UUID and `.gz`.
    pub fn object_key(
        &self,
        stream: &str,
        version: u32,
        oldest: OffsetDateTime,
        written: OffsetDateTime,
        id: Uuid,
    ) -> String {
        format!(
            "{}{}",
            self.events_folder(oldest),
            Self::object_name(stream, version, written, id)
        )
    }

    /// `tables/order_events/date=2026-11-25/`: the folder of `table`'s rows of `date`.
    pub fn table_folder(&self, table: &str, date: time::Date) -> String {
        format!(
            "{}{table}/{}={:04}-{:02}-{:02}/",
            self.tables_prefix,
            self.table_partition.name,
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    }

    /// The definition of the table called `name`.
    pub fn table(&self, name: &str) -> Option<&TableDefinition> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// A date as the tables' partitions and the tools write it: `yyyy-MM-dd`.
pub fn parse_date(value: &str) -> Result<time::Date, String> {
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|e| format!("not a yyyy-MM-dd date: {e}"))
}

/// A partition's value at `at` for the patterns the layout may use.
fn pattern_value(pattern: &str, at: OffsetDateTime) -> Option<String> {
    Some(match pattern {
        "yyyy" => format!("{:04}", at.year()),
        "MM" => format!("{:02}", u8::from(at.month())),
        "dd" => format!("{:02}", at.day()),
        "HH" => format!("{:02}", at.hour()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_shared_file_parses_and_names_objects_as_firehose_does() {
        let layout = layout();
        assert_eq!(layout.events_prefix, "events/");
        let key = layout.object_key(
            "orders-archive",
            1,
            datetime!(2026-11-25 09:59:58.5 UTC),
            datetime!(2026-11-25 10:00:03.1 +01:00),
            Uuid::from_u128(1),
        );
        assert_eq!(
            key,
            "events/year=2026/month=11/day=25/hour=09/orders-archive-1-2026-11-25-09-00-03-00000000-0000-0000-0000-000000000001.gz"
        );
    }

    #[test]
    fn a_pattern_firehose_would_read_differently_is_refused() {
        let json = LAYOUT_JSON.replace("\"HH\"", "\"hh\"");
        assert!(matches!(
            Layout::parse(&json),
            Err(LayoutError::Pattern { name, .. }) if name == "hour"
        ));
    }
}
