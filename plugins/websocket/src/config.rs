//! What the server allows: message size, and whether and how it compresses.

/// The server's side of the codec: limits and compression preferences. Read once, shared
/// by every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The largest message accepted, in bytes, after decompression; a larger one fails
    /// the connection with 1009 (message too big). Default 16 MiB.
    pub max_message_size: usize,
    /// Accept a client's permessage-deflate offer (RFC 7692). Default on.
    pub permessage_deflate: bool,
    /// The largest window the server compresses with, 9 to 15 bits (a client may ask
    /// for less). Below 15 it is announced as `server_max_window_bits`; a smaller window
    /// costs less memory per connection and compresses less. Default 15.
    pub deflate_window_bits: u8,
    /// Announce `server_no_context_takeover` even when the client did not ask: every
    /// message is compressed on its own (worse ratio, no history kept between
    /// messages). Default off.
    pub server_no_context_takeover: bool,
    /// The compression level, 0 to 9. Default 6 (zlib's default).
    pub compression_level: u32,
}

impl Config {
    /// The defaults: 16 MiB messages, permessage-deflate accepted with a 15-bit window
    /// and context takeover, level 6.
    pub const DEFAULT: Config = Config {
        max_message_size: 16 * 1024 * 1024,
        permessage_deflate: true,
        deflate_window_bits: 15,
        server_no_context_takeover: false,
        compression_level: 6,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}
