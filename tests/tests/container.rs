//! The Fargate image (processors/Dockerfile), checked as far as a machine without a container
//! engine or a registry can: the image's entrypoint is the `consumer` binary, the binary needs
//! only the shared libraries and glibc version the runtime base (distroless cc-debian12) ships,
//! and it answers to the consumer names the ECS task passes it.

use std::collections::BTreeSet;
use std::process::Command;

use devstack::workspace_binary;

const DOCKERFILE: &str = include_str!("../../processors/Dockerfile");

/// What gcr.io/distroless/cc-debian12 holds: Debian 12's glibc (2.36) and libgcc.
const BASE_LIBRARIES: [&str; 9] = [
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "libstdc++.so.6",
];
const BASE_GLIBC: (u32, u32) = (2, 36);

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test names what to install)"));
    assert!(output.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_image_runs_the_consumer_binary_on_the_distroless_base() {
    let stages: Vec<&str> = DOCKERFILE
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(
        stages.last().map(|s| s.trim()),
        Some("gcr.io/distroless/cc-debian12:nonroot"),
        "the runtime stage is the base BASE_LIBRARIES describes"
    );
    assert!(
        stages[0].starts_with("rust:1.95-slim-bookworm"),
        "built with the project's Rust on Debian 12, the base's glibc: {stages:?}"
    );
    assert!(
        DOCKERFILE.contains("ENTRYPOINT [\"/consumer\"]"),
        "the task passes only the consumer's name"
    );
    assert!(DOCKERFILE.contains("--bin consumer"));
}

#[test]
fn the_consumer_binary_needs_only_what_the_base_image_has() {
    let binary = workspace_binary("consumer");
    let path = binary.display().to_string();
    let needed: BTreeSet<String> = run("readelf", &["-d", &path])
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.trim_end_matches(']').to_owned()))
        .collect();
    assert!(!needed.is_empty(), "a dynamically linked binary");
    let missing: Vec<&String> = needed
        .iter()
        .filter(|lib| !BASE_LIBRARIES.contains(&lib.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the runtime image lacks {missing:?}: link them statically or change the base"
    );
    let newest = run("readelf", &["--dyn-syms", "-W", &path])
        .split_whitespace()
        .filter_map(|word| word.split("GLIBC_").nth(1))
        .filter_map(|version| {
            let mut parts = version.split('.').map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u32>()
                    .ok()
            });
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
        .expect("glibc symbols");
    assert!(
        newest <= BASE_GLIBC,
        "needs GLIBC_{}.{}, the base has {}.{}",
        newest.0,
        newest.1,
        BASE_GLIBC.0,
        BASE_GLIBC.1
    );
}

#[test]
fn the_binary_answers_to_every_consumer_name_the_task_may_pass() {
    let help = run(
        &workspace_binary("consumer").display().to_string(),
        &["--help"],
    );
    for name in ["materialiser", "inventory", "fulfilment", "accounting"] {
        assert!(help.contains(name), "{name} in:\n{help}");
    }
    let refused = Command::new(workspace_binary("consumer"))
        .arg("archiver")
        .output()
        .expect("runs");
    assert!(!refused.status.success(), "an unknown consumer is refused");
}
