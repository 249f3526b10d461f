//! The named queries (`analytics/queries/*.sql`, deployed to Athena by Pulumi) run locally with
//! DataFusion over the analyst tables' Parquet files.
//!
//! The files are written in SQL both engines accept. Where Athena (Trino) has a function
//! DataFusion lacks, the local engine gets one that behaves the same:
//! `approx_percentile(x, p)` (DataFusion's `approx_percentile_cont`) and
//! `to_milliseconds(interval)`. Parameters are `?`, as in Athena's parameterised queries.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, DurationMillisecondType, IntervalDayTimeType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use time::Date;

use crate::archive::{ArchiveError, RawArchive};
use crate::layout::layout;
use crate::tables::{TablesError, schema};

/// The named queries, by file name: `(name, file contents)`.
const QUERY_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/queries.rs"));

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no named query {0}")]
    Unknown(String),
    #[error("query {name}: its first line must be `-- <purpose>`")]
    NoPurpose { name: String },
    #[error("query {name} takes {expected} parameters ({parameters}); {given} given")]
    Parameters {
        name: String,
        expected: usize,
        given: usize,
        parameters: String,
    },
    #[error(transparent)]
    Tables(#[from] TablesError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("cannot write {path}")]
    Download {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the query failed")]
    Engine(#[from] DataFusionError),
}

/// One of `analytics/queries/*.sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedQuery {
    pub name: &'static str,
    /// The first line's `-- <purpose>`.
    pub purpose: &'static str,
    /// The second line's `-- parameters: …`, if it has one.
    pub parameters: Option<&'static str>,
    pub sql: &'static str,
}

impl NamedQuery {
    /// How many `?` parameters the query takes.
    pub fn parameter_count(&self) -> usize {
        placeholders(self.sql).len()
    }
}

/// Every named query, by name.
pub fn named_queries() -> Result<Vec<NamedQuery>, QueryError> {
    QUERY_FILES
        .iter()
        .map(|(name, sql)| {
            let mut lines = sql.lines();
            let purpose = lines
                .next()
                .and_then(|l| l.strip_prefix("-- "))
                .ok_or_else(|| QueryError::NoPurpose {
                    name: (*name).to_owned(),
                })?;
            let parameters = lines.next().and_then(|l| l.strip_prefix("-- parameters: "));
            Ok(NamedQuery {
                name,
                purpose,
                parameters,
                sql,
            })
        })
        .collect()
}

pub fn named_query(name: &str) -> Result<NamedQuery, QueryError> {
    named_queries()?
        .into_iter()
        .find(|q| q.name == name)
        .ok_or_else(|| QueryError::Unknown(name.to_owned()))
}

/// Byte offsets of the `?` placeholders outside string literals and comments.
fn placeholders(sql: &str) -> Vec<usize> {
    let bytes = sql.as_bytes();
    let mut found = Vec::new();
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        match (bytes[i], in_string) {
            (b'\'', _) => in_string = !in_string,
            (b'-', false) if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            (b'?', false) => found.push(i),
            _ => {}
        }
        i += 1;
    }
    found
}

/// The query with each `?` replaced by the next value as a string literal (as Athena's
/// execution parameters are given: `'2026-11-25'`).
pub fn bind(query: &NamedQuery, values: &[String]) -> Result<String, QueryError> {
    let at = placeholders(query.sql);
    if at.len() != values.len() {
        return Err(QueryError::Parameters {
            name: query.name.to_owned(),
            expected: at.len(),
            given: values.len(),
            parameters: query.parameters.unwrap_or("none described").to_owned(),
        });
    }
    let mut sql = String::with_capacity(query.sql.len());
    let mut last = 0;
    for (offset, value) in at.into_iter().zip(values) {
        sql.push_str(&query.sql[last..offset]);
        sql.push('\'');
        sql.push_str(&value.replace('\'', "''"));
        sql.push('\'');
        last = offset + 1;
    }
    sql.push_str(&query.sql[last..]);
    Ok(sql)
}

/// Copies the analyst tables' files of `[first, last]` from the archive bucket into `dir`, in
/// the same layout; the number of bytes copied.
pub async fn download_tables(
    archive: &RawArchive,
    s3: &aws_sdk_s3::Client,
    first: Date,
    last: Date,
    dir: &Path,
) -> Result<u64, QueryError> {
    let mut bytes = 0;
    let mut date = first;
    while date <= last {
        for table in &layout().tables {
            let folder = layout().table_folder(&table.name, date);
            for object in archive.list(&folder).await? {
                let body = s3
                    .get_object()
                    .bucket(archive.bucket())
                    .key(&object.key)
                    .send()
                    .await
                    .map_err(|e| read_error(archive, &object.key, e))?
                    .body
                    .collect()
                    .await
                    .map_err(|e| read_error(archive, &object.key, e))?
                    .into_bytes();
                let path = dir.join(&object.key);
                let write = |source| QueryError::Download {
                    path: path.display().to_string(),
                    source,
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(write)?;
                }
                std::fs::write(&path, &body).map_err(write)?;
                bytes += body.len() as u64;
            }
        }
        let Some(next) = date.next_day() else { break };
        date = next;
    }
    Ok(bytes)
}

fn read_error(
    archive: &RawArchive,
    key: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> QueryError {
    QueryError::Archive(ArchiveError::Read {
        bucket: archive.bucket().to_owned(),
        key: key.to_owned(),
        source: Box::new(e),
    })
}

/// A query's answer, with what it cost.
pub struct Answer {
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub elapsed: Duration,
    /// Parquet bytes read (Athena bills the bytes it scans).
    pub bytes_scanned: usize,
}

/// DataFusion over the tables' files under a directory laid out as the bucket is.
pub struct LocalEngine {
    ctx: SessionContext,
}

impl LocalEngine {
    pub async fn new(dir: &Path) -> Result<Self, QueryError> {
        let ctx = SessionContext::new();
        let partition = &layout().table_partition.name;
        for table in &layout().tables {
            let folder = dir.join(&layout().tables_prefix).join(&table.name);
            std::fs::create_dir_all(&folder).map_err(|source| QueryError::Download {
                path: folder.display().to_string(),
                source,
            })?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![(partition.clone(), DataType::Utf8)]);
            let url = format!("{}/", folder.display());
            ctx.register_listing_table(&table.name, url, options, Some(schema(table)?), None)
                .await?;
        }
        register_trino_functions(&ctx)?;
        Ok(Self { ctx })
    }

    pub async fn run(&self, sql: &str) -> Result<Answer, QueryError> {
        let started = Instant::now();
        let plan = self.ctx.sql(sql).await?.create_physical_plan().await?;
        let batches = collect(plan.clone(), self.ctx.task_ctx()).await?;
        Ok(Answer {
            rows: batches.iter().map(RecordBatch::num_rows).sum(),
            batches,
            elapsed: started.elapsed(),
            bytes_scanned: bytes_scanned(plan.as_ref()),
        })
    }
}

fn bytes_scanned(plan: &dyn ExecutionPlan) -> usize {
    let own = plan
        .metrics()
        .and_then(|m| m.sum_by_name("bytes_scanned"))
        .map_or(0, |v| v.as_usize());
    own + plan
        .children()
        .into_iter()
        .map(|child| bytes_scanned(child.as_ref()))
        .sum::<usize>()
}

/// Trino's functions the named queries use that DataFusion lacks, under Trino's names.
fn register_trino_functions(ctx: &SessionContext) -> Result<(), QueryError> {
    let percentile = ctx
        .udaf("approx_percentile_cont")?
        .as_ref()
        .clone()
        .with_aliases(["approx_percentile"]);
    ctx.register_udaf(percentile);
    // to_milliseconds(interval): what a difference of two timestamps is, in milliseconds.
    let to_milliseconds = create_udf(
        "to_milliseconds",
        vec![DataType::Duration(
            datafusion::arrow::datatypes::TimeUnit::Millisecond,
        )],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let millis: ArrayRef = match arrays.first() {
                Some(a)
                    if a.data_type()
                        == &DataType::Duration(
                            datafusion::arrow::datatypes::TimeUnit::Millisecond,
                        ) =>
                {
                    Arc::new(
                        a.as_primitive::<DurationMillisecondType>()
                            .iter()
                            .collect::<Int64Array>(),
                    )
                }
                Some(a) if matches!(a.data_type(), DataType::Interval(_)) => Arc::new(
                    a.as_primitive::<IntervalDayTimeType>()
                        .iter()
                        .map(|v| {
                            v.map(|v| i64::from(v.days) * 86_400_000 + i64::from(v.milliseconds))
                        })
                        .collect::<Int64Array>(),
                ),
                _ => {
                    return Err(DataFusionError::Plan(
                        "to_milliseconds takes a difference of two timestamps".into(),
                    ));
                }
            };
            Ok(ColumnarValue::Array(millis))
        }),
    );
    ctx.register_udf(to_milliseconds);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_query_says_what_it_is_for_and_its_parameters() {
        let queries = named_queries().expect("every file has a purpose line");
        assert!(queries.len() >= 6);
        for query in queries {
            if query.parameter_count() > 0 {
                assert!(
                    query.parameters.is_some(),
                    "{} describes its parameters",
                    query.name
                );
            }
        }
    }

    #[test]
    fn parameters_are_bound_as_literals_outside_strings_and_comments() {
        let query = NamedQuery {
            name: "q",
            purpose: "p",
            parameters: Some("a, b"),
            sql: "-- what? this\nSELECT '?' AS q FROM t WHERE a = ? AND b = ?",
        };
        assert_eq!(
            bind(&query, &["x".into(), "it's".into()]).expect("two values"),
            "-- what? this\nSELECT '?' AS q FROM t WHERE a = 'x' AND b = 'it''s'"
        );
        assert!(matches!(
            bind(&query, &["x".into()]),
            Err(QueryError::Parameters {
                expected: 2,
                given: 1,
                ..
            })
        ));
    }
}
