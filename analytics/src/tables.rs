//! The analyst tables: Parquet files of one UTC date each, built from the raw archive (which
//! stays as Firehose wrote it: replay reads it). `order_events` has a row per event, each event
//! once however often it was replayed; `order_lines` a row per line of each accepted order.
//! Their columns are declared once, in `archive-layout.json`, for Glue and for this builder.
//!
//! A day is rebuilt whole and written over the last build, so running it again is harmless.
//! The day's files are built in memory: see docs/analytics.md for the size this allows.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use ingest::envelope::{Event, decode};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::archive::{ARRIVAL_SLACK, ArchiveError, OBJECT_LOOKBACK, RawArchive, floor_hour};
use crate::layout::{TableDefinition, layout};

pub const ORDER_EVENTS: &str = "order_events";
pub const ORDER_LINES: &str = "order_lines";
/// Rows per Parquet row group.
const ROW_GROUP: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("archive-layout.json has no table {0}")]
    MissingTable(&'static str),
    #[error("table {table}: column {column} has type {glue_type}, which the builder cannot write")]
    ColumnType {
        table: String,
        column: String,
        glue_type: String,
    },
    #[error("table {table}: the builder has no value for column {column}")]
    MissingColumn { table: String, column: String },
    #[error("cannot build table {table}")]
    Parquet {
        table: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot write s3://{bucket}/{key}")]
    Write {
        bucket: String,
        key: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A cell of a row, by the Glue type of its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    String(Option<String>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    /// Milliseconds since the epoch, UTC.
    Timestamp(Option<i64>),
}

type Row = BTreeMap<&'static str, Cell>;

/// The Arrow schema of a table as `archive-layout.json` declares it.
pub fn schema(table: &TableDefinition) -> Result<SchemaRef, TablesError> {
    let fields = table
        .columns
        .iter()
        .map(|column| {
            let data_type = match column.glue_type.as_str() {
                "string" => DataType::Utf8,
                "int" => DataType::Int32,
                "bigint" => DataType::Int64,
                "timestamp" => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                other => {
                    return Err(TablesError::ColumnType {
                        table: table.name.clone(),
                        column: column.name.clone(),
                        glue_type: other.to_owned(),
                    });
                }
            };
            Ok(Field::new(&column.name, data_type, true))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// One table's rows on their way to a Parquet file.
struct TableWriter {
    definition: TableDefinition,
    schema: SchemaRef,
    rows: Vec<Row>,
    writer: ArrowWriter<Vec<u8>>,
    written: u64,
}

impl TableWriter {
    fn new(name: &'static str) -> Result<Self, TablesError> {
        let definition = layout()
            .table(name)
            .ok_or(TablesError::MissingTable(name))?
            .clone();
        let schema = schema(&definition)?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))
            .map_err(|e| parquet_error(name, e))?;
        Ok(Self {
            definition,
            schema,
            rows: Vec::new(),
            writer,
            written: 0,
        })
    }

    fn push(&mut self, row: Row) -> Result<(), TablesError> {
        self.rows.push(row);
        if self.rows.len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TablesError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let columns = self
            .definition
            .columns
            .iter()
            .map(|column| self.column(&column.name, &rows))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| parquet_error(&self.definition.name, e))?;
        self.writer
            .write(&batch)
            .map_err(|e| parquet_error(&self.definition.name, e))?;
        self.written += rows.len() as u64;
        Ok(())
    }

    fn column(&self, name: &str, rows: &[Row]) -> Result<ArrayRef, TablesError> {
        let missing = || TablesError::MissingColumn {
            table: self.definition.name.clone(),
            column: name.to_owned(),
        };
        let first = rows.first().and_then(|r| r.get(name)).ok_or_else(missing)?;
        let cells = rows.iter().map(|r| r.get(name).ok_or_else(missing));
        Ok(match first {
            Cell::String(_) => {
                let mut b = StringBuilder::new();
                for cell in cells {
                    b.append_option(match cell? {
                        Cell::String(v) => v.as_deref(),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            Cell::Int(_) => {
                let mut b = Int32Builder::new();
                for cell in cells {
                    b.append_option(match cell? {
                        Cell::Int(v) => *v,
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            Cell::BigInt(_) => {
                let mut b = Int64Builder::new();
                for cell in cells {
                    b.append_option(match cell? {
                        Cell::BigInt(v) => *v,
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            Cell::Timestamp(_) => {
                let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
                for cell in cells {
                    b.append_option(match cell? {
                        Cell::Timestamp(v) => *v,
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
        })
    }

    fn finish(mut self) -> Result<(Vec<u8>, u64), TablesError> {
        self.flush()?;
        let name = self.definition.name.clone();
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| parquet_error(&name, e))?;
        Ok((bytes, self.written))
    }
}

fn parquet_error(table: &str, e: impl std::error::Error + Send + Sync + 'static) -> TablesError {
    TablesError::Parquet {
        table: table.to_owned(),
        source: Box::new(e),
    }
}

fn millis(at: OffsetDateTime) -> Option<i64> {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

fn text(value: impl Into<String>) -> Cell {
    Cell::String(Some(value.into()))
}

/// The rows one record adds to each table: `(order_events row, order_lines rows)`, or `None`
/// for a record that is not an envelope.
fn rows(data: &[u8]) -> Option<(String, OffsetDateTime, Row, Vec<Row>)> {
    let none = Cell::String(None);
    let mut event: Row = BTreeMap::new();
    let mut lines = Vec::new();
    let (id, time) = match decode(data).ok()? {
        Event::OrderPlaced(envelope) => {
            let order = &envelope.data;
            let channel = serde_json::to_value(order.channel).ok();
            let channel = channel
                .as_ref()
                .and_then(|c| c.as_str())
                .unwrap_or_default();
            for line in &order.lines {
                let mut row: Row = BTreeMap::new();
                row.insert("order_id", text(order.order_id.to_string()));
                row.insert("customer_id", text(&order.customer_id));
                row.insert("channel", text(channel));
                row.insert("placed_at", Cell::Timestamp(millis(order.placed_at)));
                row.insert("event_time", Cell::Timestamp(millis(envelope.time)));
                row.insert("sku", text(&line.sku));
                row.insert("quantity", Cell::Int(i32::try_from(line.quantity).ok()));
                row.insert(
                    "unit_price_minor",
                    Cell::BigInt(Some(line.unit_price.amount)),
                );
                row.insert(
                    "line_total_minor",
                    Cell::BigInt(line.unit_price.amount.checked_mul(i64::from(line.quantity))),
                );
                row.insert("currency", text(&line.unit_price.currency));
                lines.push(row);
            }
            event.insert("order_id", text(order.order_id.to_string()));
            event.insert("customer_id", text(&order.customer_id));
            event.insert("channel", text(channel));
            event.insert("currency", text(&order.total.currency));
            event.insert("total_minor", Cell::BigInt(Some(order.total.amount)));
            event.insert(
                "line_count",
                Cell::Int(i32::try_from(order.lines.len()).ok()),
            );
            event.insert("placed_at", Cell::Timestamp(millis(order.placed_at)));
            event.insert("stage", none.clone());
            event.insert("reason", none.clone());
            event.insert("reference", none.clone());
            event.insert("event_type", text(&envelope.event_type));
            (envelope.id.clone(), envelope.time)
        }
        Event::Rejected(envelope) => {
            let order = &envelope.data;
            event.insert("order_id", text(order.order_id.to_string()));
            event.insert("customer_id", text(&order.customer_id));
            for column in ["channel", "currency", "stage", "reference"] {
                event.insert(column, none.clone());
            }
            event.insert("total_minor", Cell::BigInt(None));
            event.insert("line_count", Cell::Int(None));
            event.insert("placed_at", Cell::Timestamp(millis(order.placed_at)));
            event.insert("reason", text(order.reason()));
            event.insert("event_type", text(&envelope.event_type));
            (envelope.id.clone(), envelope.time)
        }
        Event::Lifecycle { step, envelope } => {
            let order = &envelope.data.order;
            let channel = serde_json::to_value(order.channel).ok();
            let channel = channel
                .as_ref()
                .and_then(|c| c.as_str())
                .unwrap_or_default();
            let stage = step.name().split('_').next().unwrap_or_default();
            event.insert("order_id", text(order.order_id.to_string()));
            event.insert("customer_id", text(&order.customer_id));
            event.insert("channel", text(channel));
            event.insert("currency", text(&order.total.currency));
            event.insert("total_minor", Cell::BigInt(Some(order.total.amount)));
            event.insert(
                "line_count",
                Cell::Int(i32::try_from(order.lines.len()).ok()),
            );
            event.insert("placed_at", Cell::Timestamp(millis(order.placed_at)));
            event.insert("stage", text(stage));
            event.insert("reason", Cell::String(envelope.data.reason.clone()));
            event.insert("reference", Cell::String(envelope.data.reference.clone()));
            event.insert("event_type", text(&envelope.event_type));
            (envelope.id.clone(), envelope.time)
        }
        // An event type this contract does not describe has no order columns to fill.
        Event::Other { .. } => return None,
    };
    event.insert("event_id", text(&id));
    event.insert("event_time", Cell::Timestamp(millis(time)));
    Some((id, time, event, lines))
}

/// What a build read and wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Built {
    pub date: String,
    /// Archive objects read.
    pub objects: u64,
    /// Records read from them (the date's and those around it).
    pub records: u64,
    /// Records left out: not envelopes, or of event types no table describes.
    pub unreadable: u64,
    /// Events of the date seen again (replays): kept once.
    pub duplicates: u64,
    pub order_events: u64,
    pub order_lines: u64,
    /// Parquet bytes written, both tables.
    pub bytes: u64,
}

/// Rebuilds both tables' files of `date` from the archive and writes them over the last build.
pub async fn build_day(
    archive: &RawArchive,
    s3: &aws_sdk_s3::Client,
    date: Date,
) -> Result<Built, TablesError> {
    let from = date.midnight().assume_utc();
    let to = from + Duration::from_secs(24 * 3600);
    let mut built = Built {
        date: date.to_string(),
        ..Built::default()
    };
    let mut events = TableWriter::new(ORDER_EVENTS)?;
    let mut lines = TableWriter::new(ORDER_LINES)?;
    let mut seen: HashSet<String> = HashSet::new();
    // The date's records are in the folders of its hours, of the hours before it (objects hold
    // records from their folder's hour on) and of just after it (an event arrives after its
    // own time).
    let mut hour = floor_hour(from - OBJECT_LOOKBACK);
    while hour < to + ARRIVAL_SLACK {
        for object in archive.list(&layout().events_folder(hour)).await? {
            built.objects += 1;
            for data in archive.records(&object.key).await? {
                built.records += 1;
                add(
                    &data,
                    from,
                    to,
                    &mut seen,
                    &mut built,
                    &mut events,
                    &mut lines,
                )?;
            }
        }
        hour += Duration::from_secs(3600);
    }
    for (writer, name) in [(events, ORDER_EVENTS), (lines, ORDER_LINES)] {
        let (bytes, rows) = writer.finish()?;
        let key = format!("{}part-00000.parquet", layout().table_folder(name, date));
        built.bytes += bytes.len() as u64;
        match name {
            ORDER_EVENTS => built.order_events = rows,
            _ => built.order_lines = rows,
        }
        s3.put_object()
            .bucket(archive.bucket())
            .key(&key)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| TablesError::Write {
                bucket: archive.bucket().to_owned(),
                key,
                source: Box::new(e),
            })?;
    }
    Ok(built)
}

fn add(
    data: &Bytes,
    from: OffsetDateTime,
    to: OffsetDateTime,
    seen: &mut HashSet<String>,
    built: &mut Built,
    events: &mut TableWriter,
    lines: &mut TableWriter,
) -> Result<(), TablesError> {
    let Some((id, time, event, order_lines)) = rows(data) else {
        built.unreadable += 1;
        return Ok(());
    };
    if time < from || time >= to {
        return Ok(());
    }
    if !seen.insert(id) {
        built.duplicates += 1;
        return Ok(());
    }
    events.push(event)?;
    for line in order_lines {
        lines.push(line)?;
    }
    Ok(())
}

/// The dates an hourly run rebuilds at `now`: today's, and yesterday's too until its last
/// records are surely archived (Firehose buffers up to 15 minutes).
pub fn dates_to_build(now: OffsetDateTime) -> Vec<Date> {
    let now = now.to_offset(time::UtcOffset::UTC);
    let settled = now - OBJECT_LOOKBACK;
    if settled.date() < now.date() {
        vec![settled.date(), now.date()]
    } else {
        vec![now.date()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn every_declared_column_has_a_type_the_builder_writes() {
        for table in &layout().tables {
            let schema = schema(table).expect("known types");
            assert_eq!(schema.fields().len(), table.columns.len());
        }
    }

    #[test]
    fn the_rows_of_a_placed_order_fill_every_declared_column() {
        let order = ingest::order::OrderPlaced {
            order_id: uuid::Uuid::from_u128(7),
            customer_id: "c-1".into(),
            channel: ingest::order::Channel::Wholesale,
            lines: vec![ingest::order::OrderLine {
                sku: "SKU-1".into(),
                quantity: 3,
                unit_price: ingest::order::Money {
                    amount: 250,
                    currency: "EUR".into(),
                },
            }],
            total: ingest::order::Money {
                amount: 750,
                currency: "EUR".into(),
            },
            shipping_address: serde_json::from_value(serde_json::json!({
                "name": "A", "line1": "1 St", "city": "X", "postalCode": "1", "country": "DE"
            }))
            .expect("address"),
            payment_reference: "p".into(),
            placed_at: datetime!(2026-11-25 10:00 UTC),
        };
        let envelope = ingest::envelope::Envelope::order_placed(
            order,
            "e-1".into(),
            datetime!(2026-11-25 10:00:01 UTC),
        );
        let data = serde_json::to_vec(&envelope).expect("serialises");
        let (id, _, event, lines) = rows(&data).expect("an envelope");
        assert_eq!(id, "e-1");
        let mut events = TableWriter::new(ORDER_EVENTS).expect("table");
        let mut line_table = TableWriter::new(ORDER_LINES).expect("table");
        assert_eq!(lines[0]["line_total_minor"], Cell::BigInt(Some(750)));
        events.push(event).expect("row");
        for line in lines {
            line_table.push(line).expect("row");
        }
        assert_eq!(events.finish().expect("every column").1, 1);
        assert_eq!(line_table.finish().expect("every column").1, 1);
    }

    #[test]
    fn yesterday_is_rebuilt_until_two_hours_into_today() {
        assert_eq!(
            dates_to_build(datetime!(2026-11-25 01:30 UTC)),
            [date!(2026 - 11 - 24), date!(2026 - 11 - 25)]
        );
        assert_eq!(
            dates_to_build(datetime!(2026-11-25 02:00 UTC)),
            [date!(2026 - 11 - 25)]
        );
    }
}
