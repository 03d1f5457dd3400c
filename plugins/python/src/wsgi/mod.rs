//! WSGI (PEP 3333): one request in, the app called on the host's thread, its answer out.
//!
//! - [`serve`]: one request, start to end; [`scope`]: the environ; [`cgi_name`]: header
//!   names as CGI variables;
//! - [`input`]: `wsgi.input`; [`start_response`], [`response_head`]: the head;
//! - [`iterate`], [`file_wrapper`]: the body out, `close()` always;
//! - [`text_response`]: answers the plugin makes itself (404, an app error page);
//! - [`upgraded`]: the request as uWSGI's `uwsgi.websocket_*` API reaches it;
//! - [`app_errors`], [`write_errors`], [`request_number`]: what happens when the app or the
//!   client fails.
//!
//! The same names as [`crate::asgi`] where the two interfaces do the same thing
//! (`serve`, `scope`).

pub mod app_errors;
pub mod cgi_name;
pub mod file_wrapper;
pub mod input;
pub mod iterate;
pub mod request_number;
pub mod response_head;
pub mod scope;
pub mod serve;
pub mod start_response;
pub mod text_response;
pub mod upgraded;
pub mod write_errors;
