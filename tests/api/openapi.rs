//! The API contract: the committed `openapi/openapi.json` is exactly what the code generates, it
//! is valid OpenAPI 3.1, and the server serves it.

use reqwest::Method;
use serde_json::Value;

use crate::common::{Backend, TestApp, expect_status};

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn the_committed_spec_matches_the_code() {
    assert!(
        COMMITTED == outhook::api::openapi_document(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn the_spec_is_valid_openapi_3_1() {
    let spec: Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let schema: Value = serde_json::from_str(include_str!("../fixtures/openapi-3.1-schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 meta-schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&spec).map(|error| format!("{} at {}", error, error.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn every_operation_is_fully_described() {
    let spec: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let label = format!("{method} {path}");
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{label}: operationId"));
            assert!(ids.insert(id.to_owned()), "{label}: duplicate operationId {id}");
            assert!(operation["tags"].as_array().is_some_and(|tags| !tags.is_empty()), "{label}: tag");
            assert!(operation["summary"].as_str().is_some_and(|s| !s.is_empty()), "{label}: summary");
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|status| status.starts_with('2')), "{label}: success response");
            if path.starts_with("/v1/") {
                assert!(responses.contains_key("401"), "{label}: documents 401");
            }
            // Writes take a body, except actions named by their path (`…/retry`).
            if matches!(method.as_str(), "post" | "patch") && path.starts_with("/v1/") && !path.ends_with("/retry") {
                assert!(operation["requestBody"].is_object(), "{label}: request body");
            }
            if operation["requestBody"].is_object() {
                assert!(responses.contains_key("422"), "{label}: documents 422");
            }
        }
    }
}

#[tokio::test]
async fn the_server_serves_its_spec() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let served = expect_status(app.request(Method::GET, "/openapi.json", "", None).await, 200).await;
    assert_eq!(served, serde_json::from_str::<Value>(COMMITTED).unwrap());
}
