//! The OpenAPI 3.1 document of the JSON API, served at `/api/openapi.json`. It is generated
//! from the handlers' own `#[utoipa::path]` annotations, and the API's routes are registered
//! through the same list (utoipa-axum's `routes!`), so no route is served undocumented.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{nic, tunnels, Shared};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "relay-broker",
        description = "Tunnel broker (RFC 3053) for relayd tunnel servers: configured tunnels (RFC 4213) \
                       with a link /64 and an optional routed /48. Every error is JSON naming the field."
    ),
    modifiers(&Security),
    tags(
        (name = "tunnels", description = "The caller's tunnels (an admin's: all); bearer token from `relay-broker token add`"),
        (name = "endpoint update", description = "Hurricane Electric / dyndns2 compatible, for ddclient"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        c.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
    }
}

/// Every route of the JSON API, each with its documentation.
pub fn api_router() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tunnels::list, tunnels::create))
        .routes(routes!(tunnels::show, tunnels::remove))
        .routes(routes!(tunnels::config))
        .routes(routes!(tunnels::traffic))
        .routes(routes!(nic::nic_update))
        .routes(routes!(document))
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        // Serializing a document of plain strings and maps cannot fail; an empty object would
        // still be valid JSON if it ever did.
        api_router().into_openapi().to_pretty_json().unwrap_or_else(|_| "{}".into())
    })
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json")))]
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document_json())
}
