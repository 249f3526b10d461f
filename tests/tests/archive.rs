//! The local archive: the Firehose stand-in writes every record the stream received, byte for
//! byte, newline-delimited and gzipped, under the folder of its oldest record's hour, named as
//! Firehose names objects.

use std::collections::HashMap;
use std::time::Duration;

use devstack::archive::{Archive, ArchiveConfig, read_records};
use devstack::sample;
use ingest::order::Channel;
use pipeline_tests::{TestPipeline, read_stream};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[tokio::test]
async fn the_archive_holds_every_record_of_the_stream_byte_for_byte() {
    let pipeline = TestPipeline::start().await;
    let names = &pipeline.stack.names;
    // A small buffer, so that the records are split over several objects by size and by time.
    let archive = Archive::start(
        pipeline.stack.kinesis(),
        pipeline.stack.s3(),
        &names.stream,
        &names.archive_bucket,
        ArchiveConfig {
            delivery_stream: "orders-archive".into(),
            buffer_bytes: 16 * 1024,
            buffer_interval: Duration::from_millis(500),
        },
    );
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
