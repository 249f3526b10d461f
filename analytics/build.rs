//! Embeds the named queries (`queries/*.sql`) in the query runner, so that it runs the very
//! files Pulumi deploys as Athena named queries, from anywhere.

use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=queries");
    let mut files: Vec<_> = std::fs::read_dir("queries")
        .expect("analytics/queries exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name");
        // Relative to the crate, not an absolute path: a target folder shared by clones in
        // other places may reuse this output without running the script again.
        writeln!(
            out,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/queries/{name}.sql\"))),"
        )
        .expect("to a string");
    }
    out.push(']');
    let target = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("queries.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
