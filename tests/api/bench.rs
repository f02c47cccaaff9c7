//! `outhook bench` end to end on a tiny run: the library entry point, against an embedded SQLite
//! server, loses nothing, verifies every signature and reports one parseable JSON line. No
//! timing is asserted: this checks the tool, not the machine.

use clap::Parser;
use outhook::bench::{self, BenchOptions};
use outhook::config::Settings;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_benchmark_run_delivers_every_event_to_every_endpoint_and_reports_json() {
    let options =
        BenchOptions::try_parse_from(["bench", "--events", "50", "--endpoints", "2", "--concurrency", "4"]).unwrap();
    let report = bench::run(options, Settings::default(), None).await.expect("the benchmark runs");
    assert_eq!((report.deliveries, report.lost, report.bad_signatures), (100, 0, 0), "{}", report.table());
    assert!(report.passed, "{}", report.table());
    let json: Value = serde_json::from_str(&report.json_line()).expect("the report is one JSON line");
    assert_eq!(json["scenario"], "fanout");
    assert_eq!(json["backend"], "sqlite");
    assert_eq!(json["events"], 50);
    assert_eq!(json["duplicates"], 0);
}
