//! Storage guarantees that hold on both backends: data survives a restart, secrets are encrypted
//! at rest, a newer schema is refused, and the first admin token is created exactly once.

use std::sync::Arc;

use outhook::domain::clock::SystemClock;
use outhook::startup::{Application, Role, StartupError, ensure_admin_token, open_store};
use outhook::store::{MigrationMode, StoreError};
use serde_json::json;

use crate::common::{Backend, TestApp, expect_problem, expect_status};

conformance!(
    a_restart_keeps_data_and_prints_no_new_admin_token,
    signing_secrets_are_encrypted_at_rest,
    a_database_with_a_newer_schema_is_refused,
    the_first_admin_token_is_created_exactly_once,
);

/// Linguistic collations made every key comparison in the delivery indexes go through `strcoll`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_identifier_columns_compare_byte_by_byte() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let linguistic = app
        .query_bytes(
            "SELECT convert_to(coalesce(string_agg(table_name || '.' || column_name, ', ' ORDER BY table_name, \
             column_name), ''), 'UTF8')
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND coalesce(collation_name, '') <> 'C'
               AND column_name IN ('id', 'tenant_id', 'uid', 'event_id', 'endpoint_id', 'delivery_id', 'status',
                                   'event_type', 'claim_token', 'idempotency_key', 'digest', 'api_version')",
        )
        .await;
    assert_eq!(String::from_utf8_lossy(&linguistic), "", "identifier columns without the C collation");
}

async fn a_restart_keeps_data_and_prints_no_new_admin_token(app: TestApp) {
    app.create_tenant("acme").await;
    app.create_event_type("invoice.paid").await;
    let endpoint =
        app.create_endpoint("acme", &json!({"url": "https://example.com/x", "event_types": ["invoice.paid"]})).await;
    let secret_path = format!("/v1/tenants/acme/endpoints/{}/secret", endpoint["id"].as_str().unwrap());
    let secret = expect_status(app.get(&secret_path).await, 200).await;

    let mut restarted = TestApp::spawn_with(app.backend, app.settings.clone(), Arc::clone(&app.data_dir)).await;
    assert!(restarted.admin_token.is_empty(), "no second admin token is created on restart");
    restarted.admin_token = app.admin_token.clone();
    expect_status(restarted.get("/v1/tenants/acme").await, 200).await;
    expect_status(restarted.get("/v1/event-types/invoice.paid").await, 200).await;
    assert_eq!(
        expect_status(restarted.get(&secret_path).await, 200).await,
        secret,
        "the secret decrypts after restart"
    );
}

async fn signing_secrets_are_encrypted_at_rest(app: TestApp) {
    app.create_tenant("acme").await;
    let supplied = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let endpoint = app.create_endpoint("acme", &json!({"url": "https://example.com/x", "secret": supplied})).await;
    let stored = app
        .query_bytes(&format!("SELECT secret FROM endpoints WHERE id = '{}'", endpoint["id"].as_str().unwrap()))
        .await;
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.decode(&supplied[6..]).unwrap();
    assert!(!stored.windows(key.len()).any(|window| window == key.as_slice()), "raw key bytes are not stored");
    assert!(!stored.windows(6).any(|window| window == b"whsec_"), "the whsec_ form is not stored");
    assert!(stored.len() > key.len(), "nonce and tag accompany the ciphertext");
}

async fn a_database_with_a_newer_schema_is_refused(app: TestApp) {
    let applied_at = match app.backend {
        Backend::Sqlite => "0",
        Backend::Postgres => "now()",
    };
    app.execute_sql(&format!(
        "INSERT INTO outhook_schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', {applied_at})"
    ))
    .await;
    let error = Application::build(app.settings.clone(), Role::All).await.err().expect("start-up is refused");
    assert!(matches!(error, StartupError::Store(StoreError::SchemaTooNew { database: 9999, .. })), "{error}");
    assert!(error.to_string().contains("newer than this binary"), "{error}");
    expect_problem(app.get("/ready").await, 503).await;
}

async fn the_first_admin_token_is_created_exactly_once(app: TestApp) {
    app.execute_sql("DELETE FROM api_tokens").await;
    let store = open_store(&app.settings, MigrationMode::Verify).await.unwrap();
    let attempts = (0..8).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { ensure_admin_token(store.as_ref(), &SystemClock).await.unwrap().is_some() })
    });
    let mut created = 0;
    for attempt in attempts {
        created += usize::from(attempt.await.unwrap());
    }
    assert_eq!(created, 1, "concurrent starts create exactly one first admin token");
    assert!(ensure_admin_token(store.as_ref(), &SystemClock).await.unwrap().is_none());
}
