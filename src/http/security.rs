//! Headers on every answer, pages, API answers and problems alike, that keep browsers from
//! misusing them: a strict Content-Security-Policy (scripts, styles and requests from this origin
//! only, nothing inline, never framed: the pages have no inline script, style or handler),
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` for browsers without
//! `frame-ancestors`, and no referrer.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

/// The policy every answer carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Adds the headers to the answer, errors from inner middleware included.
pub(crate) async fn harden(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match next.call(req).await {
        Ok(mut response) => {
            add(response.headers_mut());
            Ok(response)
        }
        Err(error) => Err(Hardened(error).into()),
    }
}

fn add(headers: &mut HeaderMap) {
    for (name, value) in HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An error that inner middleware answered with (a `408`), answered with the headers too.
#[derive(Debug)]
struct Hardened(actix_web::Error);

impl std::fmt::Display for Hardened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for Hardened {
    fn status_code(&self) -> StatusCode {
        self.0.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.0.error_response();
        add(response.headers_mut());
        response
    }
}
