//! The claim page `/claim/{token}`: what a student opens from the email. The offer as a QR code
//! (for a wallet on another device), the `openid-credential-offer://` link (for a wallet on this
//! phone), and plain instructions, the CLI among them. The ledger's styles and page frame; no
//! script; never indexed.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::AgentState;
use super::offers::{OfferState, Secret};
use crate::http::pages::{Robots, esc, page};
use crate::oid4vci;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(&format!("{}{{token}}", oid4vci::CLAIM_PATH), web::get().to(claim_page));
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

async fn claim_page(state: web::Data<AgentState>, token: web::Path<String>) -> HttpResponse {
    use actix_web::http::StatusCode;
    let token = Secret(token.into_inner());
    let (worker, key) = (state.clone(), token.hash());
    let found = web::block(move || worker.store.offer(&key).map_err(|e| e.to_string())).await;
    let offer = match found.map_err(|e| e.to_string()).and_then(|r| r) {
        Ok(Some(offer)) => offer,
        Ok(None) => return html(StatusCode::NOT_FOUND, unknown()),
        Err(e) => {
            tracing::error!("{e}");
            return html(StatusCode::INTERNAL_SERVER_ERROR, unknown());
        }
    };
    if let Err(e) = offer.claimable(state.now()) {
        let redeemed = offer.state == OfferState::Redeemed;
        return html(StatusCode::GONE, gone(&e.error_description, redeemed));
    }
    let link = oid4vci::deep_link(&oid4vci::offer_uri(&state.public_url, &token.0));
    let claim_url = format!("{}{}{}", state.public_url, oid4vci::CLAIM_PATH, token.0);
    match live(&link, &claim_url, offer.pin_hash.is_some(), &crate::http::pages::when(&offer.expires_at)) {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => {
            tracing::error!("{e}");
            html(StatusCode::INTERNAL_SERVER_ERROR, unknown())
        }
    }
}

/// The page of an offer that can be claimed.
pub fn live(link: &str, claim_url: &str, with_pin: bool, expires: &str) -> Result<String, crate::share::ShareError> {
    let qr = crate::share::qr_svg(link)?;
    let pin = if with_pin {
        "<li>When your wallet asks for a PIN, type the 6-digit PIN from the email that brought you here.</li>"
    } else {
        ""
    };
    let pin_flag = if with_pin { " --pin PIN" } else { "" };
    let body = format!(
        "<h1>Your credential is ready</h1>\
         <p>Your institution is offering you a digital credential. Add it to a digital wallet on your phone; \
         it is yours to keep and to share.</p>\
         <h2>On this phone</h2>\
         <p><a class=\"button\" href=\"{link}\">Open in my wallet</a></p>\
         <h2>With a wallet on another device</h2>\
         <figure class=\"qr\" role=\"img\" aria-label=\"QR code of this credential offer: scan it with your wallet app\">{qr}</figure>\
         <ol><li>Open your wallet app (any wallet that receives OpenID4VCI credentials).</li>\
         <li>Scan the QR code, or open the link above.</li>{pin}\
         <li>Accept the credential.</li></ol>\
         <h2>Without a wallet app</h2>\
         <p>Claim it with the credledger command line, with a key file you keep:</p>\
         <pre><code>credledger claim {claim} --learner-key my.key{pin_flag}</code></pre>\
         <p>This offer can be used once, until {expires}. Keep this link and your PIN to yourself.</p>",
        link = esc(link),
        claim = esc(claim_url),
        expires = esc(expires),
    );
    Ok(page("Claim your credential", Robots::NoIndex, &body, &[]))
}

fn gone(why: &str, redeemed: bool) -> String {
    let next = if redeemed {
        "If your wallet did not receive it, ask your institution to send you a new offer."
    } else {
        "Ask your institution to send you a new offer."
    };
    let body =
        format!("<h1>This offer can no longer be claimed</h1><p>{}.</p><p>{next}</p>", esc(why.trim_end_matches('.')));
    page("Offer no longer available", Robots::NoIndex, &body, &[])
}

fn unknown() -> String {
    let body = "<h1>No such offer</h1><p>There is no credential offer at this address. Check that the whole link \
                was copied from your email.</p>";
    page("No such offer", Robots::NoIndex, body, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_the_link_the_qr_code_and_no_inline_style_or_script() {
        let link = oid4vci::deep_link("https://agent.example.edu/oid4vci/offers/abc");
        let html = live(&link, "https://agent.example.edu/claim/abc", true, "2026-12-31 10:00 UTC").unwrap();
        assert!(html.contains(&esc(&link)));
        assert!(html.contains("<svg"));
        assert!(html.contains("PIN"));
        assert!(html.contains("--learner-key my.key --pin PIN"), "the command line names the PIN it needs");
        let without = live(&link, "https://agent.example.edu/claim/abc", false, "2026-12-31 10:00 UTC").unwrap();
        assert!(without.contains("--learner-key my.key</code>"), "no --pin for an offer without one");
        assert!(!html.contains("style=") && !html.contains("<script") && !html.contains("<style"));
    }
}
