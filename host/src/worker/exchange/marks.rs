//! The exchange's water marks: how many bytes wait between the app and the socket before
//! either side is held back.

/// Outgoing bytes (queued and not yet written by the loop) past which `write` answers
/// `Full`.
pub const HIGH_WATER: usize = 256 * 1024;

/// Outgoing bytes below which an app told `Full` hears `WRITABLE`.
pub const LOW_WATER: usize = 64 * 1024;

/// Request body bytes (or, upgraded, message bytes) the loop decodes ahead of the app's
/// reads; past this it stops reading the socket until the app has read (back-pressure
/// towards the client).
pub const INPUT_AHEAD: usize = 64 * 1024;
