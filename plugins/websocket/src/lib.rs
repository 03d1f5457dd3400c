//! # rsgi-plugin-websocket
//!
//! The WebSocket protocol (RFC 6455) with permessage-deflate (RFC 7692), sans-I/O: the
//! caller owns the socket and the buffers; this crate turns bytes into message events and
//! messages into bytes. No sockets, threads or clocks: ping intervals and timeouts are the
//! caller's.
//!
//! * [`frame`] — the frame header: parse, write, mask;
//! * [`close`] — close codes and close payloads;
//! * [`utf8`] — incremental UTF-8 validation across fragments;
//! * [`deflate`] — permessage-deflate compression with flate2;
//! * [`error`] — protocol errors (each with its close code) and send errors.
#![deny(missing_docs)]

pub mod close;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod utf8;
