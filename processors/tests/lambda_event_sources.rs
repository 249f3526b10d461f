//! `lambda-event-sources.json` is what the Pulumi program attaches each consumer Lambda with.
//! These checks tie it to the Lambda host and to AWS's limits, so a bad edit fails here rather
//! than at `pulumi up` or, worse, in production.

use std::path::Path;

use serde_json::Value;

fn settings() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("lambda-event-sources.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("JSON")
}

fn number(consumer: &Value, key: &str) -> i64 {
    consumer[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

#[test]
fn every_consumer_has_a_mapping_for_a_lambda_binary_that_exists() {
    let settings = settings();
    let consumers = settings["consumers"].as_object().expect("consumers");
    let mut names: Vec<&str> = consumers.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = ingest::config::consumers::ALL.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    for consumer in consumers.values() {
        let binary = consumer["lambdaBinary"].as_str().expect("lambdaBinary");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/bin/{binary}.rs"));
        assert!(source.exists(), "no binary {binary}");
    }
}

#[test]
fn the_mappings_match_what_the_host_does_and_what_aws_allows() {
    for (name, consumer) in settings()["consumers"].as_object().expect("consumers") {
        // The host answers with batchItemFailures; without this Lambda ignores them and
        // retries whole batches.
        assert_eq!(
            consumer["FunctionResponseTypes"],
            serde_json::json!(["ReportBatchItemFailures"]),
            "{name}"
        );
        // LATEST would skip what arrived before the first deploy or during a re-create.
        assert_eq!(consumer["StartingPosition"], "TRIM_HORIZON", "{name}");
        assert!(
            (1..=10_000).contains(&number(consumer, "BatchSize")),
            "{name}"
        );
        assert!((0..=300).contains(&number(consumer, "MaximumBatchingWindowInSeconds")));
        assert!((1..=10).contains(&number(consumer, "ParallelizationFactor")));
        // Bounded, so a record that keeps failing is dead-lettered instead of blocking its
        // shard for the stream's whole retention.
        assert!((0..=10_000).contains(&number(consumer, "MaximumRetryAttempts")));
        assert!((60..=604_800).contains(&number(consumer, "MaximumRecordAgeInSeconds")));
        assert_eq!(consumer["OnFailure"], "dead-letter-bucket", "{name}");
    }
}

#[test]
fn the_mappings_limits_stay_above_the_engines_as_a_backstop() {
    use processors::batch::{DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RECORD_AGE};
    for (name, consumer) in settings()["consumers"].as_object().expect("consumers") {
        // The engine dead-letters a record itself, with its payload and reason, at its own
        // limits; the mapping's give up later, only if the function keeps crashing.
        assert!(
            number(consumer, "MaximumRetryAttempts") > i64::from(DEFAULT_MAX_ATTEMPTS),
            "{name}"
        );
        assert!(
            number(consumer, "MaximumRecordAgeInSeconds")
                > i64::try_from(DEFAULT_MAX_RECORD_AGE.as_secs()).expect("small"),
            "{name}"
        );
    }
}
