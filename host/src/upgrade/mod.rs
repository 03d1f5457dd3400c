//! Connections that leave HTTP (`Upgrade: websocket`): the codecs the plugins offer
//! ([`codecs`], extension `rsgi.upgrade` v1) and the handshake ([`handshake`]). The
//! connection's side lives with whoever serves the request: the exchange's
//! (`worker::exchange::duplex`) or `handle`'s (`worker::handle_upgrade`).

pub mod codecs;
pub mod handshake;
