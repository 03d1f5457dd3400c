//! Fakes of the host's side, so a plugin is unit-tested by calling its trait methods
//! directly, without building or loading a library.
//!
//! * [`RequestSpec`] — a request made of owned parts, lent out as a [`crate::Request`];
//! * [`FakeBody`] — a request body served in pieces through a [`crate::BodyReader`];
//! * [`FakeResponse`] — a [`crate::Responder`] that records every call;
//! * [`FakeExchange`] — the host's side of an exchange answered now or later
//!   ([`crate::sdk::App::call`]): records the response, plays a slow or departing client;
//! * [`host`], [`option`] — a host table and option values for `init`;
//! * [`every_split`] — feed a protocol parser a message in every split, as the host does.
//!
//! ```
//! use rsgi_plugin_api::testing::{FakeBody, FakeResponse, RequestSpec};
//!
//! let spec = RequestSpec::post("/echo?x=1", b"hello").header("Content-Type", "text/plain");
//! let mut body = FakeBody::new(&spec.body, 2);
//! let mut response = FakeResponse::default();
//! spec.with_request(|request| {
//!     assert_eq!(request.query.as_slice(), b"x=1");
//!     let mut reader = body.reader();
//!     let mut buf = [0u8; 16];
//!     let n = reader.read(&mut buf).unwrap();
//!     let mut responder = response.responder();
//!     responder.start(200, "", &[]).unwrap();
//!     responder.write(&buf[..n]).unwrap();
//! });
//! assert_eq!(response.head().unwrap().0, 200);
//! assert_eq!(response.body(), b"he");
//! ```

mod body;
mod exchange;
mod host;
mod request;
mod response;
mod splits;

pub use body::FakeBody;
pub use exchange::FakeExchange;
pub use host::{host, logged, option};
pub use request::RequestSpec;
pub use response::{FakeResponse, Sent};
pub use splits::every_split;
