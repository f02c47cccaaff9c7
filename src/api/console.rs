//! The web console at `/console`: static HTML, CSS and JavaScript modules from `console/`,
//! embedded in the binary, so a deployment serves it with nothing else installed and nothing is
//! fetched from elsewhere at run time. The page signs in with a bearer token and calls the `/v1`
//! API like any client; this module only serves files, under a strict Content-Security-Policy
//! (no inline or evaluated script, Trusted Types enforced) so that an untrusted payload or
//! response body shown in the console can never run.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::api::errors::ApiError;

/// One embedded file of the console.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The page itself, served at `/console`.
const INDEX: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../../console/index.html"),
};

/// Everything the page loads, served at `/console/{name}`. Nothing else under `/console/` exists.
const ASSETS: &[Asset] = &[
    Asset { name: "app.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/app.js") },
    Asset { name: "api.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/api.js") },
    Asset { name: "dom.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/dom.js") },
    Asset { name: "tenants.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/tenants.js") },
    Asset { name: "endpoints.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/endpoints.js") },
    Asset { name: "deliveries.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/deliveries.js") },
    Asset { name: "events.js", content_type: JAVASCRIPT, body: include_bytes!("../../console/events.js") },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../console/style.css"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_bytes!("../../console/favicon.svg") },
];

/// Scripts and styles only from this origin, no inline code, no `eval`, no plugins, no framing;
/// API calls only to this origin. `require-trusted-types-for` makes every string-to-HTML sink
/// (`innerHTML`, `insertAdjacentHTML`, `document.write`) throw, and `trusted-types 'none'`
/// forbids creating a policy to get around it, so the console can only build the DOM with
/// `textContent` and element APIs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
     require-trusted-types-for 'script'; trusted-types 'none'";

/// A strong validator per file, so browsers revalidate cheaply (`304`) and never run stale code
/// after an upgrade: the files change only with the binary.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::iter::once(&INDEX).chain(ASSETS).map(|asset| format!("\"{:x}\"", Sha256::digest(asset.body))).collect()
});

fn serve(request: &HttpRequest, asset: &Asset, etag: &str) -> HttpResponse {
    let not_modified = if_none_match(request, etag);
    let mut response = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header(("cross-origin-opener-policy", "same-origin"))
        .insert_header(("cross-origin-resource-policy", "same-origin"))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::ETAG, etag.to_owned()));
    if not_modified {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.body)
}

fn if_none_match(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == etag || candidate.trim() == "*"))
}

/// The console page.
pub async fn get_console(request: HttpRequest) -> HttpResponse {
    serve(&request, &INDEX, &ETAGS[0])
}

/// `/console/` is the same page without the slash, so that the page's relative URLs resolve
/// against `/console` (also behind a path prefix, hence the relative `Location`).
pub async fn redirect_console() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "../console")).finish()
}

/// One of the console's files, or 404.
pub async fn get_console_asset(request: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let index = ASSETS.iter().position(|asset| asset.name == name.as_str()).ok_or(ApiError::NotFound("asset"))?;
    Ok(serve(&request, &ASSETS[index], &ETAGS[index + 1]))
}
