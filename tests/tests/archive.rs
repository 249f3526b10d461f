//! The local archive: the Firehose stand-in writes every record the stream received, byte for
//! byte, newline-delimited and gzipped, under the folder of its oldest record's hour, named as
//! Firehose names objects.

use std::collections::HashMap;
use std::time::Duration;

use devstack::archive::{Archive, ArchiveConfig, ProcessingFault, read_records};
use devstack::sample;
use ingest::order::Channel;
use pipeline_tests::{TestPipeline, read_stream, small_buffer};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[tokio::test]
async fn the_archive_holds_every_record_of_the_stream_byte_for_byte() {
    let pipeline = TestPipeline::start().await;
    let names = &pipeline.stack.names;
    // A small buffer, so that the records are split over several objects by size and by time.
    let archive = pipeline.start_archive(ArchiveConfig {
        buffer_bytes: 16 * 1024,
        buffer_interval: Duration::from_millis(500),
        ..ArchiveConfig::default()
    });
    let mut rng = StdRng::seed_from_u64(91);
    for i in 0..60 {
        let channel = if i % 10 == 0 {
            Channel::Wholesale
        } else {
            Channel::Web
        };
        let order = sample::order(&mut rng, channel);
        let answer = pipeline
            .post_order(&sample::customer_id(i % 7), &order)
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
    }
    // A record with a newline-free but unusual payload, put straight on the stream.
    pipeline
        .put_record("c-x", b"not json at all".to_vec())
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let totals = archive.stop().await;

    let stream = read_stream(&pipeline.stack.kinesis(), &names.stream).await;
    let archived = read_records(&pipeline.stack.s3(), &names.archive_bucket)
        .await
        .expect("archive readable");
    assert_eq!(totals.records, stream.len());
    assert!(totals.objects >= 2, "{totals:?}");

    let mut expected: Vec<&[u8]> = stream.iter().map(|r| r.data().as_ref()).collect();
    let mut found: Vec<&[u8]> = archived.iter().map(|(_, data)| data.as_slice()).collect();
    expected.sort();
    found.sort();
    assert_eq!(found.len(), expected.len());
    assert!(found == expected, "the archive differs from the stream");

    // Each object is in the folder of its oldest record's UTC hour, named as Firehose does.
    let arrival: HashMap<&[u8], time::OffsetDateTime> = stream
        .iter()
        .map(|r| {
            let at = r.approximate_arrival_timestamp().expect("arrival");
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(at.as_nanos()).expect("time");
            (r.data().as_ref(), at)
        })
        .collect();
    let mut oldest: HashMap<&str, time::OffsetDateTime> = HashMap::new();
    for (key, data) in &archived {
        let at = arrival[data.as_slice()];
        oldest
            .entry(key)
            .and_modify(|o| *o = (*o).min(at))
            .or_insert(at);
    }
    let layout = analytics::layout::layout();
    for (key, oldest) in oldest {
        let folder = layout.events_folder(oldest);
        let name = key
            .strip_prefix(&folder)
            .unwrap_or_else(|| panic!("{key} not in {folder}"));
        let parts: Vec<&str> = name
            .strip_suffix(".gz")
            .expect(".gz")
            .splitn(9, '-')
            .collect();
        assert_eq!(parts[..2], ["orders", "archive"], "{name}");
        assert_eq!(parts[2], "1", "version: {name}");
        assert!(
            parts[3..8]
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_digit())),
            "{name}"
        );
        assert!(uuid::Uuid::parse_str(&parts[8][3..]).is_ok(), "{name}");
    }
}

fn firehose(pipeline: &TestPipeline, archive: &Archive) -> aws_sdk_firehose::Client {
    let config = aws_sdk_firehose::config::Builder::from(&pipeline.stack.sdk_config())
        .endpoint_url(archive.endpoint())
        .build();
    aws_sdk_firehose::Client::from_conf(config)
}

#[tokio::test]
async fn the_firehose_api_describes_the_delivery_stream_and_refuses_puts_as_aws_does() {
    let pipeline = TestPipeline::start().await;
    let names = &pipeline.stack.names;
    let archive = pipeline.start_archive(ArchiveConfig::default());
    let firehose = firehose(&pipeline, &archive);

    let described = firehose
        .describe_delivery_stream()
        .delivery_stream_name("orders-archive")
        .send()
        .await
        .expect("DescribeDeliveryStream");
    let description = described
        .delivery_stream_description()
        .expect("a description");
    assert_eq!(
        description.delivery_stream_type(),
        &aws_sdk_firehose::types::DeliveryStreamType::KinesisStreamAsSource
    );
    let s3 = description.destinations()[0]
        .extended_s3_destination_description()
        .expect("S3");
    assert_eq!(
        s3.bucket_arn(),
        format!("arn:aws:s3:::{}", names.archive_bucket)
    );
    assert_eq!(
        s3.prefix(),
        Some(
            "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
        )
    );
    assert_eq!(
        s3.error_output_prefix(),
        Some(
            "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
        )
    );

    // A Kinesis-sourced delivery stream takes no records from producers.
    let record = aws_sdk_firehose::types::Record::builder()
        .data(aws_sdk_firehose::primitives::Blob::new(b"{}".to_vec()))
        .build()
        .expect("data set");
    let put = firehose
        .put_record()
        .delivery_stream_name("orders-archive")
        .record(record.clone())
        .send()
        .await
        .expect_err("refused");
    assert!(
        matches!(put.as_service_error(), Some(e) if e.is_invalid_argument_exception()),
        "{put:?}"
    );
    let batch = firehose
        .put_record_batch()
        .delivery_stream_name("orders-archive")
        .records(record)
        .send()
        .await
        .expect_err("refused");
    assert!(
        matches!(batch.as_service_error(), Some(e) if e.is_invalid_argument_exception()),
        "{batch:?}"
    );
    let missing = firehose
        .describe_delivery_stream()
        .delivery_stream_name("no-such-stream")
        .send()
        .await
        .expect_err("not found");
    assert!(matches!(missing.as_service_error(), Some(e) if e.is_resource_not_found_exception()));
    archive.stop().await;
}

#[tokio::test]
async fn records_under_the_error_prefix_are_redelivered_into_the_archive_once() {
    let pipeline = TestPipeline::start().await;
    let names = &pipeline.stack.names;
    // Processing fails for one customer's records, as a failed transformation would on AWS.
    let archive = pipeline.start_archive(ArchiveConfig {
        processing_fails: Some(ProcessingFault(std::sync::Arc::new(|data: &[u8]| {
            data.windows(b"c-fails".len()).any(|w| w == b"c-fails")
        }))),
        ..small_buffer()
    });
    let mut rng = StdRng::seed_from_u64(92);
    for i in 0..30 {
        let customer = if i % 3 == 0 {
            "c-fails".to_owned()
        } else {
            sample::customer_id(i % 5)
        };
        let order = sample::order(&mut rng, Channel::Web);
        assert_eq!(pipeline.post_order(&customer, &order).await.status, 202);
    }
    // The stand-in keeps answering DescribeDeliveryStream for the tool.
    let endpoint = archive.endpoint().to_owned();
    let run = |dry_run: bool| {
        let mut command =
            tokio::process::Command::new(devstack::workspace_binary("archive-errors"));
        command
            .arg("--json")
            .envs(pipeline.stack.env())
            .env("AWS_ENDPOINT_URL_FIREHOSE", &endpoint);
        if dry_run {
            command.arg("--dry-run");
        }
        command.output()
    };
    let outcome = |output: std::process::Output| -> Vec<serde_json::Value> {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    let records = |deliveries: &[serde_json::Value]| -> u64 {
        deliveries
            .iter()
            .map(|d| d["records"].as_u64().expect("count"))
            .sum()
    };
    // Until both buffers are written (the archive reads the stream every 200 ms and writes a
    // buffer 300 ms after its first record; a loaded machine takes longer).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let archived = read_records(&pipeline.stack.s3(), &names.archive_bucket)
            .await
            .expect("readable");
        let dry = outcome(run(true).await.expect("runs"));
        if archived.len() == 20 && records(&dry) == 10 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "archived {} records and {} under the error prefix, not 20 and 10",
            archived.len(),
            records(&dry)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let archived = read_records(&pipeline.stack.s3(), &names.archive_bucket)
        .await
        .expect("readable");
    assert_eq!(archived.len(), 20, "a dry run writes nothing");

    let first = outcome(run(false).await.expect("runs"));
    assert_eq!(records(&first), 10);
    let again = outcome(run(false).await.expect("runs"));
    assert!(again.iter().all(|d| d["already"] == true), "{again:?}");

    // The archive now holds every record of the stream exactly once.
    let stream = read_stream(&pipeline.stack.kinesis(), &names.stream).await;
    let mut expected: Vec<Vec<u8>> = stream.iter().map(|r| r.data().as_ref().to_vec()).collect();
    let mut found: Vec<Vec<u8>> = read_records(&pipeline.stack.s3(), &names.archive_bucket)
        .await
        .expect("readable")
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    expected.sort();
    found.sort();
    assert_eq!(found.len(), 30);
    assert!(found == expected, "the archive differs from the stream");
    let totals = archive.stop().await;
    assert_eq!(
        (totals.records, totals.error_records),
        (20, 10),
        "{totals:?}"
    );
}
