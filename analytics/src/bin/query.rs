//! `query`: runs the named queries (the Athena ones) locally over the analyst tables. See
//! docs/analytics.md.

use analytics::archive::RawArchive;
use analytics::layout::parse_date;
use analytics::sql::{LocalEngine, bind, download_tables, named_queries, named_query};
use anyhow::Context;
use clap::Parser;
use datafusion::arrow::util::pretty::pretty_format_batches;
use ingest::config::{ResourceNames, aws_config, init_cli_tracing};
use time::Date;

/// Run a named query (analytics/queries/<name>.sql) with DataFusion over the analyst tables of
/// the archive bucket named by ORDERS_ARCHIVE_BUCKET, copied locally for the dates asked for.
/// Without a name, list the named queries.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The query's name (its file name without .sql).
    name: Option<String>,
    /// The query's `?` parameters in order, as its second line describes them; repeat.
    #[arg(long = "param")]
    params: Vec<String>,
    /// The first date (yyyy-MM-dd) of the tables to copy.
    #[arg(long, value_parser = parse_date)]
    from_date: Option<Date>,
    /// The last date (yyyy-MM-dd) of the tables to copy; the first if left out.
    #[arg(long, value_parser = parse_date)]
    to_date: Option<Date>,
    /// Print rows as JSON lines, then a summary line.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_cli_tracing();
    let Some(name) = args.name else {
        for query in named_queries()? {
            println!("{:24} {}", query.name, query.purpose);
            if let Some(parameters) = query.parameters {
                println!("{:24}   parameters: {parameters}", "");
            }
        }
        return Ok(());
    };
    let query = named_query(&name)?;
    let sql = bind(&query, &args.params)?;
    let first = args
        .from_date
        .context("--from-date is needed: the first date of the tables to copy")?;
    let last = args.to_date.unwrap_or(first);

    let sdk = aws_config().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let archive = RawArchive::new(s3.clone(), ResourceNames::from_env().archive_bucket);
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let copied = download_tables(&archive, &s3, first, last, dir.path()).await?;
    let engine = LocalEngine::new(dir.path()).await?;
    let answer = engine.run(&sql).await?;
    let summary = serde_json::json!({
        "query": query.name,
        "rows": answer.rows,
        "elapsedMs": answer.elapsed.as_secs_f64() * 1000.0,
        "bytesScanned": answer.bytes_scanned,
        "bytesCopied": copied,
    });
    if args.json {
        let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(std::io::stdout());
        for batch in &answer.batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        println!("{summary}");
    } else {
        println!("{}", pretty_format_batches(&answer.batches)?);
        println!(
            "{} rows in {:.1} ms, {} bytes of Parquet scanned",
            answer.rows,
            answer.elapsed.as_secs_f64() * 1000.0,
            answer.bytes_scanned
        );
    }
    Ok(())
}
