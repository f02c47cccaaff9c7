//! Probes and the fallback for unknown routes.

use reqwest::Method;

use crate::common::{TestApp, expect_problem, expect_status};

conformance!(health_and_readiness_answer_without_a_token, unknown_routes_are_problem_json_404);

async fn health_and_readiness_answer_without_a_token(app: TestApp) {
    let health = expect_status(app.request(Method::GET, "/health", "", None).await, 200).await;
    assert_eq!(health["status"], "ok");
    let ready = expect_status(app.request(Method::GET, "/ready", "", None).await, 200).await;
    assert_eq!(ready["status"], "ready");
}

async fn unknown_routes_are_problem_json_404(app: TestApp) {
    expect_problem(app.get("/v1/nothing-here").await, 404).await;
}
