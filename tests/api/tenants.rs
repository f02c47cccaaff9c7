//! Tenants: create, read by id or uid, update, delete, list with pagination, and their errors.

use serde_json::json;

use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    a_tenant_can_be_read_by_id_and_by_uid,
    a_duplicate_uid_is_409_naming_uid,
    a_tenant_can_be_renamed_and_deleted,
    unknown_tenants_are_404,
    tenant_lists_page_with_a_cursor,
    an_invalid_cursor_or_limit_is_400,
    malformed_json_is_400,
    wrong_types_and_unknown_fields_are_422_naming_the_field,
    an_oversized_body_is_413_and_stores_nothing,
    invalid_uids_are_422,
);

async fn a_tenant_can_be_read_by_id_and_by_uid(app: TestApp) {
    let created = app.create_tenant("acme").await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("ten_"));
    assert_eq!(created["uid"], "acme");
    let by_id = expect_status(app.get(&format!("/v1/tenants/{id}")).await, 200).await;
    let by_uid = expect_status(app.get("/v1/tenants/acme").await, 200).await;
    assert_eq!(by_id, created);
    assert_eq!(by_uid, created);
}

async fn a_duplicate_uid_is_409_naming_uid(app: TestApp) {
    app.create_tenant("dup").await;
    let problem = expect_problem(app.post("/v1/tenants", &json!({"uid": "dup"})).await, 409).await;
    assert_eq!(problem_fields(&problem), ["uid"]);
    // Renaming another tenant onto a taken uid is refused the same way.
    app.create_tenant("other").await;
    let problem = expect_problem(app.patch("/v1/tenants/other", &json!({"uid": "dup"})).await, 409).await;
    assert_eq!(problem_fields(&problem), ["uid"]);
    let list = expect_status(app.get("/v1/tenants").await, 200).await;
    let uids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|t| t["uid"].as_str().unwrap()).collect();
    assert_eq!(uids, ["other", "dup", "outhook-operations"]);
}

async fn a_tenant_can_be_renamed_and_deleted(app: TestApp) {
    let created = app.create_tenant("rename-me").await;
    let id = created["id"].as_str().unwrap();
    let updated =
        expect_status(app.patch("/v1/tenants/rename-me", &json!({"uid": "renamed", "name": "New"})).await, 200).await;
    assert_eq!(updated["uid"], "renamed");
    assert_eq!(updated["name"], "New");
    assert_eq!(updated["id"], id);
    expect_problem(app.get("/v1/tenants/rename-me").await, 404).await;
    expect_status(app.delete(&format!("/v1/tenants/{id}")).await, 204).await;
    expect_problem(app.get(&format!("/v1/tenants/{id}")).await, 404).await;
    expect_problem(app.delete(&format!("/v1/tenants/{id}")).await, 404).await;
}

async fn unknown_tenants_are_404(app: TestApp) {
    let problem = expect_problem(app.get("/v1/tenants/nobody").await, 404).await;
    assert_eq!(problem["type"], "urn:outhook:problem:not-found");
    expect_problem(app.get("/v1/tenants/ten_01ARZ3NDEKTSV4RRFFQ69G5FAV").await, 404).await;
    expect_problem(app.patch("/v1/tenants/nobody", &json!({"name": "x"})).await, 404).await;
    expect_problem(app.get("/v1/tenants/nobody/endpoints").await, 404).await;
}

async fn tenant_lists_page_with_a_cursor(app: TestApp) {
    for index in 0..5 {
        app.create_tenant(&format!("page-{index}")).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/tenants?limit=2".to_owned();
    loop {
        let page = expect_status(app.get(&path).await, 200).await;
        let items = page["data"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|tenant| tenant["uid"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tenants?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    // Newest first, every tenant exactly once; the operations tenant was created at start-up.
    assert_eq!(seen, ["page-4", "page-3", "page-2", "page-1", "page-0", "outhook-operations"]);
}

async fn an_invalid_cursor_or_limit_is_400(app: TestApp) {
    let problem = expect_problem(app.get("/v1/tenants?cursor=garbage").await, 400).await;
    assert_eq!(problem_fields(&problem), ["cursor"]);
    let problem = expect_problem(app.get("/v1/tenants?cursor=ep_01ARZ3NDEKTSV4RRFFQ69G5FAV").await, 400).await;
    assert_eq!(problem_fields(&problem), ["cursor"]);
    let problem = expect_problem(app.get("/v1/tenants?limit=0").await, 400).await;
    assert_eq!(problem_fields(&problem), ["limit"]);
    let problem = expect_problem(app.get("/v1/tenants?limit=251").await, 400).await;
    assert_eq!(problem_fields(&problem), ["limit"]);
    expect_problem(app.get("/v1/tenants?limit=ten").await, 400).await;
}

async fn malformed_json_is_400(app: TestApp) {
    let problem =
        expect_problem(app.post_raw("/v1/tenants", "application/json", b"{\"uid\": ".to_vec()).await, 400).await;
    assert_eq!(problem["type"], "urn:outhook:problem:malformed-json");
    expect_problem(app.post_raw("/v1/tenants", "application/json", b"uid=x".to_vec()).await, 400).await;
    expect_problem(app.post_raw("/v1/tenants", "text/plain", b"{\"uid\": \"x\"}".to_vec()).await, 415).await;
}

async fn wrong_types_and_unknown_fields_are_422_naming_the_field(app: TestApp) {
    let problem = expect_problem(app.post("/v1/tenants", &json!({"uid": 42})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["uid"]);
    let problem = expect_problem(app.post("/v1/tenants", &json!({"name": "no uid"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["uid"]);
    let problem = expect_problem(app.post("/v1/tenants", &json!({"uid": "x", "colour": "red"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["colour"]);
    let problem = expect_problem(app.post("/v1/tenants", &json!(["not", "an", "object"])).await, 422).await;
    assert_eq!(problem_fields(&problem), ["body"]);
}

async fn an_oversized_body_is_413_and_stores_nothing(app: TestApp) {
    let name = "x".repeat(app.settings.server.max_body_bytes + 1);
    let body = serde_json::to_vec(&json!({"uid": "too-big", "name": name})).unwrap();
    let problem = expect_problem(app.post_raw("/v1/tenants", "application/json", body).await, 413).await;
    assert_eq!(problem["type"], "urn:outhook:problem:payload-too-large");
    expect_problem(app.get("/v1/tenants/too-big").await, 404).await;
}

async fn invalid_uids_are_422(app: TestApp) {
    for uid in ["", "has space", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", &"x".repeat(129)] {
        let problem = expect_problem(app.post("/v1/tenants", &json!({"uid": uid})).await, 422).await;
        assert_eq!(problem_fields(&problem), ["uid"], "{uid}");
    }
}
