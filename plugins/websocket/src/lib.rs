//! # rsgi-plugin-websocket
//!
//! The WebSocket protocol (RFC 6455) with permessage-deflate (RFC 7692), sans-I/O: the
//! caller owns the socket and the buffers; this crate turns bytes into message events and
//! messages into bytes. No sockets, threads or clocks: ping intervals and timeouts are the
//! caller's: the host's, which loads this crate as the protocol plugin `websocket` and
//! reaches the codec through the ABI extension `rsgi.upgrade` v1 (docs/plugin-abi.md §5).
//!
//! * [`plugin`] — the plugin, its options ([`options`]) and its `rsgi.upgrade` table
//!   ([`upgrade_table`]);
//! * [`handshake`] — check the client's handshake, answer `101` (or refuse: 400, 426);
//! * [`session`] — one connection: [`Session::feed`] bytes → [`Event`]s,
//!   [`Session::encode`] messages → bytes, the close handshake;
//! * [`frame`] — the frame header: parse, write, mask;
//! * [`extension`] — `Sec-WebSocket-Extensions` and the permessage-deflate negotiation;
//! * [`deflate`] — permessage-deflate compression with flate2;
//! * [`utf8`] — incremental UTF-8 validation across fragments;
//! * [`close`] — close codes and close payloads;
//! * [`error`] — protocol errors (each with its close code) and send errors;
//! * [`config`] — message size limit and compression preferences.
//!
//! ```
//! use rsgi_websocket::{handshake, Config, Event, MessageKind};
//!
//! let headers: &[(&[u8], &[u8])] = &[
//!     (b"Host", b"example.com"),
//!     (b"Upgrade", b"websocket"),
//!     (b"Connection", b"keep-alive, Upgrade"),
//!     (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
//!     (b"Sec-WebSocket-Version", b"13"),
//! ];
//! let mut accepted = handshake::accept(headers, None, &Config::DEFAULT).unwrap();
//! assert!(accepted
//!     .headers
//!     .contains(&("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into())));
//!
//! // A masked "Hello" from the client (RFC 6455 §5.7), then a ping.
//! let input = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58\x89\x80\x00\x00\x00\x00";
//! let session = &mut accepted.session;
//! let events: Vec<Event> = session.events(input).collect();
//! assert_eq!(
//!     events,
//!     [
//!         Event::Message { kind: MessageKind::Text, data: b"Hello".to_vec() },
//!         Event::Ping(Vec::new()),
//!     ]
//! );
//! assert_eq!(session.take_output(), b"\x8a\x00"); // the pong, already answered
//!
//! let mut out = Vec::new();
//! session.encode(MessageKind::Text, b"Hi", &mut out).unwrap();
//! assert_eq!(out, b"\x81\x02Hi");
//! ```
#![deny(missing_docs)]

pub mod close;
pub mod config;
pub mod deflate;
pub mod error;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod options;
pub mod plugin;
pub mod session;
pub mod upgrade_table;
pub mod utf8;

pub use config::Config;
pub use error::{ProtocolError, SendError};
pub use handshake::{Accepted, ClientHandshake, Refusal};
pub use session::{Event, MessageKind, Session, State};
