//! `POST /admin/prices/upload`: an administrator's price file (LiteLLM's
//! `model_prices_and_context_window.json` format), sent by the Models page's file form. It is parsed
//! and kept in the administrator's session; the page then shows what importing it would change
//! (`/admin/models?prices=upload`), and nothing changes until the administrator imports.

use axum::extract::{Multipart, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use app::core::price_file::{self, Uploaded, MAX_FILE_BYTES};
use app::core::state::{Viewer, SESSION_PRICE_UPLOAD_KEY};
use app::i18n::{Locale, Msg};

/// Where the Models page's file form posts.
pub const PATH: &str = "/admin/prices/upload";

/// The most a request to this route may carry: the file and its form around it.
pub const MAX_UPLOAD_BYTES: usize = MAX_FILE_BYTES + 64 * 1024;

pub async fn upload(session: Session, req: Request) -> Response {
    // The reasons are shown on the Models page, in its language.
    let locale = req
        .extensions()
        .get::<Locale>()
        .copied()
        .unwrap_or_default();
    let refuse = |why: Msg| refuse(&why.text(locale));
    let admin = req
        .extensions()
        .get::<Viewer>()
        .and_then(|v| v.0.clone())
        .filter(|u| u.is_admin_role());
    if admin.is_none() {
        return (
            StatusCode::FORBIDDEN,
            Msg::new("upload-admin-only").text(locale),
        )
            .into_response();
    }
    let mut form = match <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await
    {
        Ok(form) => form,
        Err(e) => return refuse(Msg::new("upload-not-a-form").arg("detail", e)),
    };
    let (name, text) = match read_file(&mut form).await {
        Ok(file) => file,
        Err(why) => return refuse(why),
    };
    let file = match price_file::parse(&text) {
        Ok(file) => file,
        Err(why) => return refuse(why),
    };
    if file.entries.is_empty() {
        return refuse(Msg::new("upload-no-models"));
    }
    let uploaded = Uploaded { name, file };
    if let Err(e) = session.insert(SESSION_PRICE_UPLOAD_KEY, &uploaded).await {
        tracing::error!(error = %e, "could not keep the uploaded price file in the session");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Msg::new("upload-not-kept").text(locale),
        )
            .into_response();
    }
    Redirect::to("/admin/models?prices=upload#price-list").into_response()
}

/// The `file` field's name and text.
async fn read_file(form: &mut Multipart) -> Result<(String, String), Msg> {
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| Msg::new("upload-broke-off").arg("detail", e))?
            .ok_or(Msg::new("upload-choose-file"))?;
        if field.name() != Some("file") {
            continue;
        }
        let name: String = field
            .file_name()
            .unwrap_or("price file")
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| Msg::new("upload-broke-off-or-large").arg("detail", e))?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| Msg::new("upload-not-utf8"))?;
        return Ok((name, text));
    }
}

/// Back to the Models page with the reason shown there.
fn refuse(why: &str) -> Response {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("upload_error", why)
        .finish();
    Redirect::to(&format!("/admin/models?{query}#price-list")).into_response()
}
