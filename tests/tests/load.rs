//! The load generator's short form: the `loadgen` binary against the local pipeline it starts
//! (gateway and consumers as processes), with a small profile. Every accepted order must reach
//! the orders table and the end of the saga, with no duplicate effect, and the outputs must be
//! written. The long form (the sale and step profiles) is in docs/capacity.md.

use std::path::Path;
use std::process::Output;

use devstack::workspace_binary;
use serde_json::Value;

async fn loadgen(args: &[&str], out_dir: &Path) -> Output {
    tokio::process::Command::new(workspace_binary("loadgen"))
        .args(args)
        .arg("--out-dir")
        .arg(out_dir)
        .output()
        .await
        .expect("loadgen runs (cargo build --workspace --bins first)")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_sale_is_accepted_processed_and_plotted_with_nothing_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("short.json");
    std::fs::write(
        &profile,
        r#"{"description":"a short ramp","phases":[
            {"name":"baseline","seconds":3,"rate":15},
            {"name":"ramp","seconds":3,"rate":15,"to":40}]}"#,
    )
    .expect("profile written");
    let out = dir.path().join("out");
    let output = loadgen(
        &[
            "--profile",
            &profile.display().to_string(),
            "--customers",
            "40",
            "--bad",
            "0.1",
            "--track",
            "1",
            "--drain-timeout",
            "90",
            "--json",
        ],
        &out,
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "loadgen failed: {stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");

    let n = |name: &str| {
        summary[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: {summary}"))
    };
    assert!(n("requestsSent") > 50, "{summary}");
    assert_eq!(n("unsent"), 0);
    assert_eq!(n("failed"), 0, "{}", summary["problems"]);
    assert!(n("rejected") > 0, "bad requests are sent and answered 4xx");
    // Every order sent that was not bad was accepted.
    assert_eq!(n("ordersAccepted") + n("rejected"), n("ordersSent"));
    let local = &summary["local"];
    assert_eq!(local["lost"], 0, "{summary}");
    assert_eq!(local["duplicateEffects"], 0);
    assert_eq!(local["deadLetters"], 0);
    // Every tracked order was seen in the table and reached a final status.
    let tracked = n("tracked");
    assert!(tracked > 20, "{summary}");
    assert!(
        summary["trackedStatuses"].get("unfinished").is_none(),
        "{summary}"
    );
    assert_eq!(summary["toMaterialisedMs"]["count"].as_u64(), Some(tracked));
    assert_eq!(summary["toFinishedMs"]["count"].as_u64(), Some(tracked));
    // The consumers' metrics lines and the CPU were read per second.
    let phases = summary["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 2);
    let handled: f64 = phases
        .iter()
        .map(|p| p["handledPerSecond"]["inventory"].as_f64().unwrap_or(0.0))
        .sum();
    assert!(handled > 0.0, "{summary}");
    assert!(phases[0]["cpu"]["gateway"].as_f64().is_some(), "{summary}");

    let csv = std::fs::read_to_string(out.join("short.csv")).expect("CSV written");
    let mut lines = csv.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with("second,target_rate,sent_requests"),
        "{header}"
    );
    assert!(header.contains("handled_inventory") && header.contains("cpu_gateway"));
    assert!(lines.count() >= 6, "one row per second");
    let png = std::fs::read(out.join("short.png")).expect("PNG written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let svg = std::fs::read_to_string(out.join("short.svg")).expect("SVG written");
    assert!(svg.contains("<svg") && svg.contains("accepted (orders/s)"));
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("short.json")).expect("summary file"))
            .expect("JSON");
    assert_eq!(written["requestsSent"], summary["requestsSent"]);
}

#[tokio::test]
async fn a_bad_profile_is_refused_with_its_reason_before_anything_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("bad.json");
    std::fs::write(
        &profile,
        r#"{"description":"d","phases":[{"name":"x","seconds":5,"rate":-1}]}"#,
    )
    .expect("profile written");
    let output = loadgen(&["--profile", &profile.display().to_string()], dir.path()).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("rates must be 0 or more"),
        "{stderr}"
    );
    assert!(!dir.path().join("logs").exists(), "no pipeline was started");
}
