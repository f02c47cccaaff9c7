//! Event types: create, read, describe, archive and restore, list; names are validated.

use serde_json::json;

use crate::common::{TestApp, expect_problem, expect_status, problem_fields};

conformance!(
    event_types_can_be_created_read_and_updated,
    archived_event_types_are_hidden_from_lists_unless_asked,
    event_type_names_are_validated_and_unique,
    event_types_page_by_name,
);

async fn event_types_can_be_created_read_and_updated(app: TestApp) {
    let created = app.create_event_type("invoice.paid").await;
    assert_eq!(created["name"], "invoice.paid");
    assert_eq!(created["archived"], false);
    let fetched = expect_status(app.get("/v1/event-types/invoice.paid").await, 200).await;
    assert_eq!(fetched, created);
    let updated = expect_status(
        app.patch("/v1/event-types/invoice.paid", &json!({"description": "An invoice was paid"})).await,
        200,
    )
    .await;
    assert_eq!(updated["description"], "An invoice was paid");
    expect_problem(app.get("/v1/event-types/invoice.unknown").await, 404).await;
    expect_problem(app.get("/v1/event-types/NOT%20A%20NAME").await, 404).await;
}

async fn archived_event_types_are_hidden_from_lists_unless_asked(app: TestApp) {
    app.create_event_type("user.created").await;
    app.create_event_type("user.deleted").await;
    let archived = expect_status(app.delete("/v1/event-types/user.deleted").await, 200).await;
    assert_eq!(archived["archived"], true);
    // The operational event types (`endpoint.*`, `delivery.*`) are listed too; look at ours.
    let names = |page: &serde_json::Value| -> Vec<String> {
        let names = page["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned());
        names.filter(|name| name.starts_with("user.")).collect()
    };
    let active = expect_status(app.get("/v1/event-types").await, 200).await;
    assert_eq!(names(&active), ["user.created"]);
    let all = expect_status(app.get("/v1/event-types?include_archived=true").await, 200).await;
    assert_eq!(names(&all), ["user.created", "user.deleted"]);
    let restored =
        expect_status(app.patch("/v1/event-types/user.deleted", &json!({"archived": false})).await, 200).await;
    assert_eq!(restored["archived"], false);
}

async fn event_type_names_are_validated_and_unique(app: TestApp) {
    for name in ["Invoice.Paid", "invoice..paid", "", "invoice paid", ".x"] {
        let problem = expect_problem(app.post("/v1/event-types", &json!({"name": name})).await, 422).await;
        assert_eq!(problem_fields(&problem), ["name"], "{name}");
    }
    app.create_event_type("order.shipped").await;
    let problem = expect_problem(app.post("/v1/event-types", &json!({"name": "order.shipped"})).await, 409).await;
    assert_eq!(problem_fields(&problem), ["name"]);
    let problem =
        expect_problem(app.patch("/v1/event-types/order.shipped", &json!({"archived": "yes"})).await, 422).await;
    assert_eq!(problem_fields(&problem), ["archived"]);
}

async fn event_types_page_by_name(app: TestApp) {
    for name in ["c.one", "a.one", "b.one"] {
        app.create_event_type(name).await;
    }
    let first = expect_status(app.get("/v1/event-types?limit=2").await, 200).await;
    assert_eq!(first["data"][0]["name"], "a.one");
    assert_eq!(first["data"][1]["name"], "b.one");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect_status(app.get(&format!("/v1/event-types?limit=2&cursor={cursor}")).await, 200).await;
    assert_eq!(second["data"][0]["name"], "c.one");
    // The four operational event types sort after ours: two more pages, then the end.
    assert_eq!(second["data"][1]["name"], "delivery.exhausted");
    let cursor = second["next_cursor"].as_str().unwrap();
    let third = expect_status(app.get(&format!("/v1/event-types?limit=3&cursor={cursor}")).await, 200).await;
    assert_eq!(third["data"].as_array().unwrap().len(), 3);
    assert!(third["next_cursor"].is_null());
    let problem = expect_problem(app.get("/v1/event-types?cursor=Not-A-Name").await, 400).await;
    assert_eq!(problem_fields(&problem), ["cursor"]);
}
