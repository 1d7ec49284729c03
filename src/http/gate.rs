//! What a request must be to reach a handler, checked before routing: a URL of bounded length
//! (`414`), a method its path has (`405` with `Allow`), and a JSON media type where the operation
//! takes a JSON body (`415`: a cross-site HTML form can only send form or text types, and it
//! cannot send JSON without a CORS preflight, which this server never grants). A request framed
//! by both `Content-Length` and `Transfer-Encoding` never gets here: actix-http (3.12.1 on)
//! answers it `400` and closes the connection, so nothing can be smuggled behind it.
//!
//! The paths, their methods and which of them take JSON are read from the OpenAPI document the
//! handlers generate, so the document and the server cannot disagree.

use std::sync::OnceLock;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{RequestHead, ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use utoipa::openapi::path::Operation;

use super::problem::Problem;

/// The longest request target (path and query) served, in bytes. Longer ones get `414`; past
/// 64 KiB (a URL) or 128 KiB (the whole head), actix-http answers a bare `400` or `431` and closes
/// the connection before any of this code runs.
pub const MAX_URI: usize = 8 * 1024;

/// The media type every JSON request body must be sent as (parameters such as `charset` allowed).
pub const JSON: &str = "application/json";

/// A documented path: its pattern and, per method, whether the operation takes a JSON body.
struct Route {
    pattern: ResourceDef,
    methods: Vec<(Method, bool)>,
}

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let takes_json = |op: &Operation| op.request_body.as_ref().is_some_and(|body| body.content.contains_key(JSON));
        super::routes::document()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let operations = [
                    (Method::GET, &item.get),
                    (Method::PUT, &item.put),
                    (Method::POST, &item.post),
                    (Method::DELETE, &item.delete),
                    (Method::OPTIONS, &item.options),
                    (Method::HEAD, &item.head),
                    (Method::PATCH, &item.patch),
                    (Method::TRACE, &item.trace),
                ];
                let methods =
                    operations.into_iter().filter_map(|(m, op)| op.as_ref().map(|op| (m, takes_json(op)))).collect();
                Route { pattern: ResourceDef::new(path.as_str()), methods }
            })
            .collect()
    })
}

/// Refuses a request that must not reach a handler; passes the others on.
pub(crate) async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match refusal(req.head()) {
        Some(response) => Ok(req.into_response(response)),
        None => next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    }
}

/// The answer to a request refused before routing, if it is.
fn refusal(head: &RequestHead) -> Option<HttpResponse> {
    let target = head.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI {
        let detail = format!("the URL is {target} bytes long: at most {MAX_URI}");
        return Some(closing(Problem::new(StatusCode::URI_TOO_LONG, "uri-too-long", detail).error_response()));
    }
    let route = routes().iter().find(|r| r.pattern.is_match(head.uri.path()))?;
    let Some(&(_, takes_json)) = route.methods.iter().find(|(m, _)| *m == head.method) else {
        let allow = route.methods.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>().join(", ");
        let detail = format!("{} is not served here: use {allow}", head.method);
        let mut response = Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", detail).error_response();
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return Some(unread_body(head, response));
    };
    let content_type = head.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if takes_json && !content_type.is_some_and(is_json) {
        let detail = format!("the request body must be sent as `Content-Type: {JSON}`");
        let problem = Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", detail);
        return Some(unread_body(head, problem.error_response()));
    }
    None
}

/// Whether a `Content-Type` value is JSON: `application/json`, in any case, with any parameters.
fn is_json(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON))
}

/// `response`, closing the connection.
fn closing(mut response: HttpResponse) -> HttpResponse {
    response.head_mut().set_connection_type(ConnectionType::Close);
    response
}

/// `response`, closing the connection if the request has a body left unread on it.
fn unread_body(head: &RequestHead, response: HttpResponse) -> HttpResponse {
    let empty = head.headers.get(header::CONTENT_LENGTH).is_some_and(|length| length == "0");
    let bodiless = !head.headers.contains_key(header::TRANSFER_ENCODING)
        && (empty || !head.headers.contains_key(header::CONTENT_LENGTH));
    if bodiless { response } else { closing(response) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_application_json_with_any_parameters_in_any_case() {
        for yes in ["application/json", "Application/JSON; charset=utf-8", " application/json ;x=y"] {
            assert!(is_json(yes), "{yes}");
        }
        for no in ["text/plain", "application/jsonx", "application/x-www-form-urlencoded", "multipart/form-data", ""] {
            assert!(!is_json(no), "{no}");
        }
    }

    #[test]
    fn every_documented_path_is_a_route_and_the_json_posts_are_known() {
        let posts: Vec<String> = routes()
            .iter()
            .filter(|r| r.methods.iter().any(|(m, json)| *m == Method::POST && *json))
            .map(|r| r.pattern.pattern().unwrap_or_default().to_owned())
            .collect();
        for path in ["/v1/events", "/v1/verify", "/v1/verify-vc", "/v1/bundles"] {
            assert!(posts.iter().any(|p| p == path), "{path} takes JSON: {posts:?}");
        }
        let profile = routes().iter().find(|r| r.pattern.is_match("/v1/learners/did:key:z6Mk/profile"));
        assert_eq!(profile.map(|r| r.methods.iter().map(|(m, _)| m.clone()).collect()), Some(vec![Method::GET]));
    }
}
