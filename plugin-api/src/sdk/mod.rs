//! The SDK: write a plugin as safe Rust and export it with one macro.
//!
//! * [`Protocol`] — a wire protocol (bytes ↔ request and response heads), exported with
//!   [`crate::export_protocol!`];
//! * [`App`] — a runtime that loads and serves an application, exported with
//!   [`crate::export_app!`].
//!
//! The macros generate the root module, one guarded `extern "C"` shim per entry point (a
//! panic becomes a 500 or a closed connection and one log line naming plugin and hook),
//! option declaration through the trait's `options()`, and the log bridge (after `init`,
//! `tracing` events in the plugin reach the host's log). Unit-test a plugin by calling its
//! trait methods with the fakes of [`crate::testing`]: no library loading needed.

pub mod app;
mod common;
pub mod exchange;
pub mod export;
pub mod extensions;
pub mod handle_upgrade;
pub mod instance;
pub mod protocol;

pub use app::App;
pub use instance::Instance;
pub use protocol::Protocol;
