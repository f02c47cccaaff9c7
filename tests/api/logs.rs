//! The delivery log API on both backends: events, deliveries and attempts listed with every filter
//! and paged across pages, each retrievable by id, the indexes behind the common filters, and bad
//! filter values.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::receiver::{Behaviour, Receiver};
use crate::common::{TestApp, expect_problem, expect_status, instant_between, problem_fields};

const PATIENCE: Duration = Duration::from_secs(10);

conformance!(
    logs_filter_and_page_across_pages,
    each_attempt_is_retrievable_with_its_full_detail,
    common_log_filters_are_served_by_an_index,
    bad_log_filters_are_400_naming_the_parameter,
    a_delivery_in_flight_is_listed_and_counted_as_delivering,
    time_windows_split_events_deliveries_and_attempts_at_the_given_instants,
    claims_read_only_what_is_due_through_an_index,
);

/// Follows `next_cursor` from `path` (which has a query string) and returns every item, checking
/// that no page exceeds `limit`.
async fn all_pages(app: &TestApp, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = format!("{path}&limit={limit}");
    loop {
        let page = expect_status(app.get(&next).await, 200).await;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= limit, "{next}: {} items", data.len());
        items.extend(data.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}&limit={limit}&cursor={cursor}"),
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|item| item["id"].as_str().unwrap()).collect()
}

/// Tenant `acme` with `ok` (every type, answers 200) and `bad` (only `invoice.paid`, answers 500,
/// one attempt): three `invoice.paid` events (one on channel `eu`) and two `user.created`, all
/// settled. Returns (ok endpoint, bad endpoint, events oldest first).
async fn settled_log(app: &TestApp, receiver: &Receiver) -> (Value, Value, Vec<Value>) {
    receiver.set_behaviour("/bad", Behaviour::Respond(500));
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    app.create_event_type("user.created").await;
    let ok = app.create_endpoint("acme", &json!({"url": receiver.url("/ok")})).await;
    let bad = app
        .create_endpoint(
            "acme",
            &json!({"url": receiver.url("/bad"), "event_types": ["invoice.paid"], "retry_schedule": [0]}),
        )
        .await;
    let mut events = Vec::new();
    for (event_type, channels) in [
        ("invoice.paid", json!(null)),
        ("user.created", json!(null)),
        ("invoice.paid", json!(["eu"])),
        ("user.created", json!(null)),
        ("invoice.paid", json!(null)),
    ] {
        let body = json!({"event_type": event_type, "payload": {"n": events.len()}, "channels": channels});
        events.push(expect_status(app.post("/v1/tenants/acme/events", &body).await, 202).await);
    }
    receiver.wait_for(Some("/ok"), 5, PATIENCE).await;
    receiver.wait_for(Some("/bad"), 3, PATIENCE).await;
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let settled = all_pages(app, "/v1/tenants/acme/deliveries?status=exhausted", 50).await.len() == 3
            && all_pages(app, "/v1/tenants/acme/deliveries?status=succeeded", 50).await.len() == 5;
        if settled {
            return (ok, bad, events);
        }
        assert!(std::time::Instant::now() < deadline, "the deliveries never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn logs_filter_and_page_across_pages(app: TestApp) {
    let receiver = Receiver::start().await;
    let (ok, bad, events) = settled_log(&app, &receiver).await;
    let newest_first: Vec<&str> = ids(&events).into_iter().rev().collect();

    // Events: newest first across pages of two, each with its deliveries counted by status.
    let listed = all_pages(&app, "/v1/tenants/acme/events?", 2).await;
    assert_eq!(ids(&listed), newest_first);
    assert_eq!(listed[0]["deliveries"], json!({"exhausted": 1, "succeeded": 1}));
    assert_eq!(listed[1]["deliveries"], json!({"succeeded": 1}));
    let users = all_pages(&app, "/v1/tenants/acme/events?event_type=user.created", 1).await;
    assert_eq!(ids(&users), [newest_first[1], newest_first[3]]);
    let eu = all_pages(&app, "/v1/tenants/acme/events?channel=eu", 2).await;
    assert_eq!(ids(&eu), [events[2]["id"].as_str().unwrap()]);
    let single = expect_status(app.get(&format!("/v1/tenants/acme/events/{}", newest_first[0])).await, 200).await;
    assert_eq!(single["deliveries"], json!({"exhausted": 1, "succeeded": 1}));

    // Deliveries: eight in all, filtered by status, endpoint, event type and event.
    let all = all_pages(&app, "/v1/tenants/acme/deliveries?", 3).await;
    assert_eq!(all.len(), 8);
    let mut sorted = ids(&all);
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids(&all), sorted, "newest first");
    let exhausted = all_pages(&app, "/v1/tenants/acme/deliveries?status=exhausted", 2).await;
    assert!(exhausted.iter().all(|d| d["endpoint_id"] == bad["id"] && d["event_type"] == "invoice.paid"));
    let to_ok = format!("/v1/tenants/acme/deliveries?endpoint_id={}", ok["id"].as_str().unwrap());
    assert_eq!(all_pages(&app, &to_ok, 2).await.len(), 5);
    let user_deliveries = all_pages(&app, "/v1/tenants/acme/deliveries?event_type=user.created", 1).await;
    assert_eq!(user_deliveries.len(), 2);
    assert!(user_deliveries.iter().all(|d| d["status"] == "succeeded"));
    let of_event = all_pages(&app, &format!("/v1/tenants/acme/deliveries?event_id={}", newest_first[0]), 1).await;
    assert_eq!(of_event.len(), 2);
    let combined =
        format!("/v1/tenants/acme/deliveries?status=succeeded&event_type=invoice.paid&event_id={}", newest_first[0]);
    assert_eq!(all_pages(&app, &combined, 5).await.len(), 1);

    // Time windows: everything was created in the last hour, nothing before it.
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let in_hour = all_pages(&app, &format!("/v1/tenants/acme/deliveries?since={hour_ago}"), 50).await;
    assert_eq!(in_hour.len(), 8);
    let before = all_pages(&app, &format!("/v1/tenants/acme/events?until={hour_ago}"), 50).await;
    assert!(before.is_empty());

    // Attempts: by result, error kind, endpoint, event and delivery.
    let failed = all_pages(&app, "/v1/tenants/acme/attempts?result=failed", 2).await;
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|a| a["response_status"] == 500 && a["endpoint_id"] == bad["id"]));
    assert_eq!(all_pages(&app, "/v1/tenants/acme/attempts?result=succeeded", 2).await.len(), 5);
    assert_eq!(all_pages(&app, "/v1/tenants/acme/attempts?error_kind=http_status", 2).await.len(), 3);
    assert_eq!(all_pages(&app, "/v1/tenants/acme/attempts?error_kind=timeout", 2).await.len(), 0);
    let bad_attempts = format!("/v1/tenants/acme/attempts?endpoint_id={}", bad["id"].as_str().unwrap());
    assert_eq!(all_pages(&app, &bad_attempts, 2).await.len(), 3);
    let event_attempts = all_pages(&app, &format!("/v1/tenants/acme/attempts?event_id={}", newest_first[0]), 1).await;
    assert_eq!(event_attempts.len(), 2);
    let delivery_id = exhausted[0]["id"].as_str().unwrap();
    let of_delivery = all_pages(&app, &format!("/v1/tenants/acme/attempts?delivery_id={delivery_id}"), 1).await;
    assert_eq!(of_delivery.len(), 1);
    assert_eq!(app.delivery_attempts(delivery_id).await.len(), 1);

    // Another tenant sees none of it.
    app.create_tenant("globex").await;
    let token = app.create_tenant_token("globex").await;
    let response = app.request(reqwest::Method::GET, "/v1/tenants/acme/deliveries", &token, None).await;
    expect_problem(response, 404).await;
    let response = app.request(reqwest::Method::GET, "/v1/tenants/globex/deliveries", &token, None).await;
    assert_eq!(expect_status(response, 200).await["data"], json!([]));
}

async fn each_attempt_is_retrievable_with_its_full_detail(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour(
        "/teapot",
        Behaviour::RespondWith {
            status: 418,
            headers: vec![("X-Reason".into(), "short and stout".into())],
            body: "no coffee here".into(),
        },
    );
    app.acme_with_endpoint(&receiver.url("/teapot")).await;
    let endpoint = app
        .create_endpoint("acme", &json!({"url": receiver.url("/teapot"), "headers": {"Authorization": "Bearer sub"}}))
        .await;
    app.post_event(json!({"n": 1})).await;
    receiver.wait_for(Some("/teapot"), 2, PATIENCE).await;
    let path = format!("/v1/tenants/acme/attempts?endpoint_id={}", endpoint["id"].as_str().unwrap());
    let listed = loop {
        let listed = all_pages(&app, &path, 10).await;
        if !listed.is_empty() {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let id = listed[0]["id"].as_str().unwrap();
    let attempt = expect_status(app.get(&format!("/v1/tenants/acme/attempts/{id}")).await, 200).await;
    assert_eq!(attempt["id"], id);
    assert_eq!(attempt["trigger"], "scheduled");
    assert_eq!(attempt["response_status"], 418);
    assert_eq!(attempt["response_headers"]["x-reason"], "short and stout");
    assert_eq!(attempt["response_body"], "no coffee here");
    assert_eq!(attempt["error_kind"], "http_status");
    assert_eq!(attempt["succeeded"], false);
    assert!(attempt["duration_ms"].as_i64().is_some_and(|ms| ms >= 0));
    assert!(attempt["request_headers"]["webhook-signature"].as_str().is_some_and(|s| s.starts_with("v1,")));
    assert_eq!(attempt["request_headers"]["authorization"], "[redacted]", "credentials never reach the log");
    expect_problem(app.get("/v1/tenants/acme/attempts/att_01ARZ3NDEKTSV4RRFFQ69G5FAV").await, 404).await;
    expect_problem(app.get("/v1/tenants/acme/attempts/not-an-id").await, 404).await;
}

async fn common_log_filters_are_served_by_an_index(app: TestApp) {
    let receiver = Receiver::start().await;
    settled_log(&app, &receiver).await;
    // Two hundred copies of each attempt, so that a plan over a handful of rows cannot tie.
    app.execute_sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
         INSERT INTO attempts (tenant_id, id, delivery_id, event_id, endpoint_id, attempt_number, trigger,
                               started_at, duration_ms, url, request_headers, response_status, response_headers,
                               response_body, error_kind, error_message, succeeded)
         SELECT tenant_id, id || '-' || i, delivery_id, event_id, endpoint_id, attempt_number, trigger, started_at,
                duration_ms, url, request_headers, response_status, response_headers, response_body, error_kind,
                error_message, succeeded
         FROM attempts, n",
    )
    .await;
    let tenant = expect_status(app.get("/v1/tenants/acme").await, 200).await["id"].as_str().unwrap().to_owned();
    // The shapes the store runs (newest first, keyset on the id): each filter must be an index
    // range scan in id order, never a scan of the table or a sort.
    let cases = [
        // As `store::query` builds a status filter: a leased delivery is shown as delivering.
        ("deliveries", "status = 'failed' AND NOT (claim_token IS NOT NULL)", "deliveries_status"),
        ("deliveries", "endpoint_id = 'ep_x'", "deliveries_endpoint"),
        ("deliveries", "event_type = 'invoice.paid'", "deliveries_event_type"),
        ("deliveries", "event_id = 'evt_x'", "deliveries_event"),
        ("events", "event_type = 'invoice.paid'", "events_event_type"),
        ("attempts", "endpoint_id = 'ep_x'", "attempts_endpoint"),
        ("attempts", "event_id = 'evt_x'", "attempts_event"),
        ("attempts", "delivery_id = 'dlv_x'", "attempts_delivery"),
        ("attempts", "succeeded = FALSE", "attempts_result"),
    ];
    for (table, filter, index) in cases {
        let sql = format!(
            "SELECT id FROM {table} WHERE tenant_id = '{tenant}' AND {filter} AND id >= 'a' AND id < 'z' \
             ORDER BY id DESC LIMIT 51"
        );
        let plan = app.explain(&sql).await;
        assert!(plan.contains(&format!("{index} ")), "{table} where {filter} should use {index}:\n{plan}");
        let unindexed = ["Seq Scan", "SCAN ", "Sort", "TEMP B-TREE"];
        assert!(!unindexed.iter().any(|sign| plan.contains(sign)), "{sql}:\n{plan}");
    }
}

async fn bad_log_filters_are_400_naming_the_parameter(app: TestApp) {
    app.create_tenant("acme").await;
    let cases = [
        ("/v1/tenants/acme/deliveries?status=lost", "status"),
        ("/v1/tenants/acme/deliveries?endpoint_id=dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "endpoint_id"),
        ("/v1/tenants/acme/deliveries?event_type=Not%20A%20Type", "event_type"),
        ("/v1/tenants/acme/deliveries?since=yesterday", "since"),
        ("/v1/tenants/acme/deliveries?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("/v1/tenants/acme/attempts?result=maybe", "result"),
        ("/v1/tenants/acme/attempts?error_kind=gremlins", "error_kind"),
        ("/v1/tenants/acme/events?channel=no%20spaces", "channel"),
        ("/v1/tenants/acme/events?cursor=dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "cursor"),
        ("/v1/tenants/acme/attempts?limit=0", "limit"),
    ];
    for (path, field) in cases {
        let problem = expect_problem(app.get(path).await, 400).await;
        assert_eq!(problem_fields(&problem), [field], "{path}");
    }
    expect_problem(app.get("/v1/tenants/nobody/deliveries").await, 404).await;
}

async fn a_delivery_in_flight_is_listed_and_counted_as_delivering(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.set_behaviour("/slow", Behaviour::Slow { delay: Duration::from_millis(1500), status: 200 });
    app.acme_with_endpoint(&receiver.url("/slow")).await;
    let event = app.post_event(json!({"n": 1})).await;
    receiver.wait_for(Some("/slow"), 1, PATIENCE).await;

    // The claim leases the delivery without touching its stored status; the API shows the lease.
    let delivering = expect_status(app.get("/v1/tenants/acme/deliveries?status=delivering").await, 200).await;
    let listed = delivering["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{delivering}");
    assert_eq!(listed[0]["status"], "delivering");
    let pending = expect_status(app.get("/v1/tenants/acme/deliveries?status=pending").await, 200).await;
    assert_eq!(pending["data"], json!([]), "a leased delivery is not listed as pending");
    let path = format!("/v1/tenants/acme/events/{}", event["id"].as_str().unwrap());
    let summary = expect_status(app.get(&path).await, 200).await;
    assert_eq!(summary["deliveries"], json!({"delivering": 1}), "{summary}");

    let delivery_id = listed[0]["id"].as_str().unwrap();
    app.wait_for_delivery(delivery_id, |delivery| delivery["status"] == "succeeded").await;
    let delivering = expect_status(app.get("/v1/tenants/acme/deliveries?status=delivering").await, 200).await;
    assert_eq!(delivering["data"], json!([]));
}

/// Posts `count` events and waits until each has its one delivery attempted; returns their ids.
async fn delivered_events(app: &TestApp, receiver: &Receiver, count: usize) -> Vec<String> {
    let already = receiver.requests_to("/ok").len();
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(app.post_event(json!({"n": n})).await["id"].as_str().unwrap().to_owned());
    }
    receiver.wait_for(Some("/ok"), already + count, PATIENCE).await;
    for id in &ids {
        let delivery = app.event_deliveries(id).await.remove(0);
        app.wait_for_delivery(delivery["id"].as_str().unwrap(), |d| d["status"] == "succeeded").await;
    }
    ids
}

async fn time_windows_split_events_deliveries_and_attempts_at_the_given_instants(app: TestApp) {
    let receiver = Receiver::start().await;
    app.acme_with_endpoint(&receiver.url("/ok")).await;
    let before = instant_between().await;
    let first = delivered_events(&app, &receiver, 2).await;
    let split = instant_between().await;
    let second = delivered_events(&app, &receiver, 3).await;
    let after = instant_between().await;

    let event_ids = |items: &[Value]| ids(items).into_iter().map(str::to_owned).collect::<Vec<_>>();
    // Deliveries and attempts of concurrent events need not be in event order: compare the sets.
    let of_events = |items: &[Value], field: &str| {
        let mut events: Vec<String> = items.iter().map(|item| item[field].as_str().unwrap().to_owned()).collect();
        events.sort_unstable_by(|a, b| b.cmp(a));
        events.dedup();
        events
    };
    let newest_first = |ids: &[String]| ids.iter().rev().cloned().collect::<Vec<_>>();
    for (window, expected) in [
        (format!("since={split}"), newest_first(&second)),
        (format!("until={split}"), newest_first(&first)),
        (format!("since={before}&until={split}"), newest_first(&first)),
        (format!("since={after}"), Vec::new()),
    ] {
        let window = window.replace('+', "%2B");
        let events = all_pages(&app, &format!("/v1/tenants/acme/events?{window}"), 2).await;
        assert_eq!(event_ids(&events), expected, "events {window}");
        let deliveries = all_pages(&app, &format!("/v1/tenants/acme/deliveries?{window}"), 2).await;
        assert_eq!(of_events(&deliveries, "event_id"), expected, "deliveries {window}");
        let attempts = all_pages(&app, &format!("/v1/tenants/acme/attempts?{window}"), 2).await;
        assert_eq!(of_events(&attempts, "event_id"), expected, "attempts {window}");
    }
}

async fn claims_read_only_what_is_due_through_an_index(app: TestApp) {
    // A scheduled backlog: 2,000 deliveries whose first attempt is an hour away.
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    app.create_endpoint("acme", &json!({"url": "https://example.com/later", "retry_schedule": [3600]})).await;
    let events: Vec<Value> = (0..1000).map(|n| json!({"event_type": "invoice.paid", "payload": {"n": n}})).collect();
    for _ in 0..2 {
        expect_status(app.post("/v1/tenants/acme/events/batch", &json!({ "events": events })).await, 202).await;
    }
    let tenant = expect_status(app.get("/v1/tenants/acme").await, 200).await["id"].as_str().unwrap().to_owned();
    let now = match app.backend {
        crate::common::Backend::Postgres => "now()".to_owned(),
        crate::common::Backend::Sqlite => chrono::Utc::now().timestamp_micros().to_string(),
    };
    // The shapes `claim_due` runs: the tenants with due work (one step of the skip scan), and a
    // tenant's due deliveries, earliest first. Both read one of the two partial indexes of
    // unfinished deliveries up to `now` (by tenant and due time, or by due time alone, whichever
    // the planner prefers), never the table, so the hour-away backlog is not read.
    let cases = [
        format!(
            "SELECT tenant_id FROM deliveries WHERE status IN ('pending', 'failed', 'delivering') \
             AND due_at <= {now} AND tenant_id > '' AND (leased_until IS NULL OR leased_until <= {now}) \
             ORDER BY tenant_id LIMIT 1"
        ),
        format!(
            "SELECT tenant_id, id FROM deliveries WHERE tenant_id = '{tenant}' \
             AND status IN ('pending', 'failed', 'delivering') AND due_at <= {now} \
             AND (leased_until IS NULL OR leased_until <= {now}) ORDER BY due_at LIMIT 64"
        ),
    ];
    for sql in cases {
        let plan = app.explain(&sql).await;
        assert!(plan.contains("deliveries_tenant_due") || plan.contains("deliveries_due"), "{sql}:\n{plan}");
        let full_scans = ["Seq Scan", "SCAN deliveries"];
        assert!(!full_scans.iter().any(|sign| plan.contains(sign)), "{sql}:\n{plan}");
    }
}
