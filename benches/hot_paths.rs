//! Micro-benchmarks of the per-delivery CPU work that needs no I/O: signing, rendering a payload
//! (as submitted, and walked down version downgrades) into the envelope, and the SSRF classifier.
//! Run with `cargo bench --bench hot_paths`; figures are in `docs/performance.md`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::IpAddr;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use outhook::delivery::{signer, ssrf};
use outhook::domain::envelope;
use outhook::domain::ids::EventId;
use outhook::domain::names::EventTypeName;
use outhook::domain::secret::SigningSecret;
use outhook::domain::versions::{ApiVersionName, Downgrade, VersionLadder};
use serde_json::json;

/// About 330 bytes, like the load the benchmark tool sends.
const PAYLOAD: &str = r#"{"invoice":{"id":"in_1PqRsT2eZvKYlo2C","customer":"cus_9s6XKzkNRiz8i3","amount_due":129900,"currency":"eur","status":"paid","lines":[{"description":"Pro plan (monthly)","amount":99900,"quantity":1},{"description":"Extra seats","amount":30000,"quantity":3}],"paid_at":"2026-12-04T12:00:00Z"},"attempt":1}"#;

fn signing(criterion: &mut Criterion) {
    let current = SigningSecret::generate();
    let retired = SigningSecret::generate();
    let body = PAYLOAD.as_bytes();
    criterion.bench_function("sign/one secret", |bench| {
        bench.iter(|| signer::signature_headers(&[&current], black_box("evt_01JEXAMPLE"), 1_733_313_600, body))
    });
    criterion.bench_function("sign/two secrets (rotation grace)", |bench| {
        bench
            .iter(|| signer::signature_headers(&[&current, &retired], black_box("evt_01JEXAMPLE"), 1_733_313_600, body))
    });
}

fn version(name: &str) -> ApiVersionName {
    ApiVersionName::parse(name).expect("a valid version name")
}

fn rendering(criterion: &mut Criterion) {
    let versions = vec![version("2024-01-01"), version("2025-01-01"), version("2026-01-01")];
    let downgrades = BTreeMap::from([
        (
            version("2026-01-01"),
            Downgrade::parse(&json!([{"op": "move", "from": "/invoice/amount_due", "path": "/invoice/amount"}]))
                .expect("a valid patch"),
        ),
        (
            version("2025-01-01"),
            Downgrade::parse(&json!([{"op": "remove", "path": "/invoice/lines"}])).expect("a valid patch"),
        ),
    ]);
    let ladder = VersionLadder::new(versions, downgrades);
    let explicit = BTreeMap::new();
    let newest = version("2026-01-01");
    let id = EventId::generate();
    let event_type = EventTypeName::parse("invoice.paid").expect("a valid name");
    let created_at = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
    criterion.bench_function("render/as submitted, with envelope", |bench| {
        bench.iter(|| {
            let data = ladder.render(&newest, black_box(PAYLOAD), &explicit, &newest).expect("renders");
            envelope::render(&id, &event_type, Some(&newest), created_at, &data)
        })
    });
    for (label, target) in [("one downgrade", "2025-01-01"), ("two downgrades", "2024-01-01")] {
        let target = version(target);
        criterion.bench_function(&format!("render/{label}, with envelope"), |bench| {
            bench.iter(|| {
                let data = ladder.render(&newest, black_box(PAYLOAD), &explicit, &target).expect("renders");
                envelope::render(&id, &event_type, Some(&target), created_at, &data)
            })
        });
    }
}

fn ssrf_guard(criterion: &mut Criterion) {
    let addresses: Vec<IpAddr> =
        ["93.184.215.14", "10.1.2.3", "169.254.169.254", "2606:2800:21f:cb07::1", "::ffff:127.0.0.1", "64:ff9b::a00:1"]
            .iter()
            .map(|address| address.parse().expect("a valid address"))
            .collect();
    criterion.bench_function("ssrf/classify 6 addresses", |bench| {
        bench.iter(|| {
            addresses
                .iter()
                .map(|address| ssrf::classify(black_box(*address)))
                .filter(|class| class.is_public())
                .count()
        })
    });
    let hosts = ["example.com", "2130706433", "0x7f.1", "[::1]", "017700000001", "api.subscriber.example"];
    criterion.bench_function("ssrf/parse 6 literal hosts", |bench| {
        bench.iter(|| hosts.iter().filter_map(|host| ssrf::parse_literal_host(black_box(host))).count())
    });
}

criterion_group!(benches, signing, rendering, ssrf_guard);
criterion_main!(benches);
