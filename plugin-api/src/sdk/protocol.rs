//! The [`Protocol`] trait: a wire protocol written as safe Rust, exported with
//! [`crate::export_protocol!`].
//!
//! The macro generates the root module and one `extern "C"` shim per entry point; each shim
//! finds the plugin's instance (made by [`Protocol::init`]) and runs the trait method inside
//! a panic guard, so a bug in the plugin costs one request, never the worker.

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RErr, RNone, ROption, RResult, RSlice, RSliceMut, RSome, RStr, RVec};

use super::common;
use super::instance::Instance;
use crate::error::PluginError;
use crate::extension::{Extension, ExtensionId, ExtensionNeed};
use crate::guard::guard_hook_or;
use crate::host::HostRef;
use crate::module::{PluginKind, PluginMod, PluginModRef};
use crate::options::{OptionSpec, OptionValue};
use crate::protocol::{
    DecodeOutcome, DecoderState, HeaderSpan, ParseOutcome, ProtocolError, ProtocolMod,
    ResponseContext, ResponseFraming, Version,
};
use crate::request::Header;

/// A sans-I/O wire protocol: bytes in, request heads out; response heads in, bytes out.
///
/// The host owns the sockets and the buffers and calls these methods from any worker
/// thread, concurrently under `--threads`: keep per-request state in the arguments (the
/// host hands [`DecoderState`] back on every call), not in `self`. `self` holds what
/// [`Protocol::init`] made of the plugin's options.
///
/// Only [`Protocol::init`], [`Protocol::parse`] and [`Protocol::encode_head`] are
/// required; the other methods have defaults that suit a protocol whose responses are
/// raw bytes ended by closing the connection (like uwsgi's).
pub trait Protocol: Sized + Send + Sync + 'static {
    /// The options this plugin understands: shown by `rsgi --help`, accepted on the
    /// command line, in the config file and as `RSGI_<NAME>`. None by default.
    fn options() -> Vec<OptionSpec> {
        Vec::new()
    }

    /// The extensions this plugin needs of the host ([`crate::sdk::extensions`]). Asked
    /// before `init`: a required one the host lacks stops the start with one line naming
    /// the plugin and the extension (exit 2); an optional one is looked up later with
    /// [`crate::sdk::extensions::from_host`], which answers `None`. None by default.
    fn needs() -> Vec<ExtensionNeed> {
        Vec::new()
    }

    /// The extensions this plugin offers, each made with
    /// [`crate::sdk::extensions::offer`]. None by default.
    fn extensions() -> Vec<Extension> {
        Vec::new()
    }

    /// Called once in the master, before any fork, with the values given for
    /// [`Protocol::options`]. An error of kind [`crate::ErrorKind::Config`] stops rsgi with exit
    /// status 2 and the error's message.
    fn init(options: &[OptionValue]) -> Result<Self, PluginError>;

    /// Parses a request head from the start of `buf` (everything read so far on the
    /// connection), filling `headers` and `vars` with spans into `buf`; their lengths are
    /// the host's limits. Answer [`ParseOutcome::partial`] when more bytes are needed.
    fn parse(
        &self,
        buf: &[u8],
        headers: &mut [HeaderSpan],
        vars: &mut [HeaderSpan],
    ) -> ParseOutcome;

    /// Decodes a chunked request body: reads from `input`, writes body bytes to `out`.
    /// By default the protocol has no such bodies and the call is an error.
    fn decode_body(&self, state: &mut DecoderState, input: &[u8], out: &mut [u8]) -> DecodeOutcome {
        let _ = (state, input, out);
        DecodeOutcome {
            consumed: 0,
            produced: 0,
            done: true,
            error: ProtocolError::new(0, "this protocol has no chunked request bodies"),
        }
    }

    /// Appends the response head for `status` and `headers` to `out` and chooses the
    /// body framing. Refuse (with an error) names or values that cannot be encoded safely.
    /// Append with `RVec::extend_from_copy_slice` (one copy per call).
    fn encode_head(
        &self,
        ctx: &ResponseContext<'_>,
        status: u16,
        reason: &str,
        headers: &[Header<'_>],
        out: &mut RVec<u8>,
    ) -> Result<ResponseFraming, ProtocolError>;

    /// Appends what goes before `len` body bytes (a chunk-size line). Nothing by default.
    fn body_prefix(&self, framing: &ResponseFraming, len: u64, out: &mut RVec<u8>) {
        let _ = (framing, len, out);
    }

    /// Appends what goes after a body chunk (CRLF for chunked). Nothing by default.
    fn body_suffix(&self, framing: &ResponseFraming, out: &mut RVec<u8>) {
        let _ = (framing, out);
    }

    /// Appends the end of the body (the last chunk). Nothing by default.
    fn body_end(&self, framing: &ResponseFraming, out: &mut RVec<u8>) {
        let _ = (framing, out);
    }

    /// Appends a whole error response for `status` (a request the host or the protocol
    /// refused); false when the protocol cannot answer and the host should just close.
    /// False by default.
    fn encode_error(&self, version: Version, status: u16, out: &mut RVec<u8>) -> bool {
        let _ = (version, status, out);
        false
    }

    /// Appends an interim `100 Continue`; false when the protocol has none (the default).
    fn encode_continue(&self, version: Version, out: &mut RVec<u8>) -> bool {
        let _ = (version, out);
        false
    }
}

/// The root module of protocol plugin `P`. Called by [`crate::export_protocol!`]; not
/// meant to be called by hand.
#[doc(hidden)]
pub fn root_module<P: Protocol + Instance>(
    version: &'static str,
    description: &'static str,
) -> PluginModRef {
    PluginMod {
        name: RStr::from_str(P::NAME),
        version: RStr::from_str(version),
        kind: PluginKind::Protocol,
        options: options::<P>,
        needs: needs::<P>,
        init: init::<P>,
        offers: offers::<P>,
        extension: extension::<P>,
        protocol: RSome(
            ProtocolMod {
                parse: parse::<P>,
                decode_body: decode_body::<P>,
                encode_head: encode_head::<P>,
                body_prefix: body_prefix::<P>,
                body_suffix: body_suffix::<P>,
                body_end: body_end::<P>,
                encode_error: encode_error::<P>,
                encode_continue: encode_continue::<P>,
            }
            .leak_into_prefix(),
        ),
        app: RNone,
        description: RStr::from_str(description),
    }
    .leak_into_prefix()
}

extern "C" fn options<P: Protocol + Instance>() -> RVec<OptionSpec> {
    common::options::<P>(P::options)
}

extern "C" fn needs<P: Protocol + Instance>() -> RVec<ExtensionNeed> {
    common::needs::<P>(P::needs)
}

extern "C" fn extension<P: Protocol + Instance>(
    name: RStr<'_>,
    version: u32,
) -> ROption<Extension> {
    common::extension::<P>(P::extensions, name, version)
}

extern "C" fn offers<P: Protocol + Instance>() -> RVec<ExtensionId> {
    common::offers::<P>(P::extensions)
}

extern "C" fn init<P: Protocol + Instance>(
    host: HostRef,
    options: RSlice<'_, OptionValue>,
) -> RResult<(), PluginError> {
    common::init::<P>(host, options, P::init)
}

extern "C" fn parse<P: Protocol + Instance>(
    buf: RSlice<'_, u8>,
    mut headers: RSliceMut<'_, HeaderSpan>,
    mut vars: RSliceMut<'_, HeaderSpan>,
) -> ParseOutcome {
    let failed = ParseOutcome::invalid(ProtocolError::new(500, "the protocol plugin failed"));
    guard_hook_or(P::NAME, "parse", failed, || match P::get() {
        Some(p) => p.parse(buf.as_slice(), headers.as_mut_slice(), vars.as_mut_slice()),
        None => failed,
    })
}

extern "C" fn decode_body<P: Protocol + Instance>(
    state: &mut DecoderState,
    input: RSlice<'_, u8>,
    mut out: RSliceMut<'_, u8>,
) -> DecodeOutcome {
    let failed = DecodeOutcome {
        consumed: 0,
        produced: 0,
        done: true,
        error: ProtocolError::new(0, "the protocol plugin failed"),
    };
    guard_hook_or(P::NAME, "decode_body", failed, || match P::get() {
        Some(p) => p.decode_body(state, input.as_slice(), out.as_mut_slice()),
        None => failed,
    })
}

extern "C" fn encode_head<P: Protocol + Instance>(
    ctx: &ResponseContext<'_>,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
    out: &mut RVec<u8>,
) -> RResult<ResponseFraming, ProtocolError> {
    let failed = ProtocolError::new(500, "the protocol plugin failed");
    guard_hook_or(P::NAME, "encode_head", RErr(failed), || match P::get() {
        Some(p) => p
            .encode_head(ctx, status, reason.as_str(), headers.as_slice(), out)
            .into(),
        None => RErr(failed),
    })
}

extern "C" fn body_prefix<P: Protocol + Instance>(
    framing: &ResponseFraming,
    len: u64,
    out: &mut RVec<u8>,
) {
    guard_hook_or(P::NAME, "body_prefix", (), || {
        if let Some(p) = P::get() {
            p.body_prefix(framing, len, out)
        }
    })
}

extern "C" fn body_suffix<P: Protocol + Instance>(framing: &ResponseFraming, out: &mut RVec<u8>) {
    guard_hook_or(P::NAME, "body_suffix", (), || {
        if let Some(p) = P::get() {
            p.body_suffix(framing, out)
        }
    })
}

extern "C" fn body_end<P: Protocol + Instance>(framing: &ResponseFraming, out: &mut RVec<u8>) {
    guard_hook_or(P::NAME, "body_end", (), || {
        if let Some(p) = P::get() {
            p.body_end(framing, out)
        }
    })
}

extern "C" fn encode_error<P: Protocol + Instance>(
    version: Version,
    status: u16,
    out: &mut RVec<u8>,
) -> bool {
    guard_hook_or(P::NAME, "encode_error", false, || {
        P::get().is_some_and(|p| p.encode_error(version, status, out))
    })
}

extern "C" fn encode_continue<P: Protocol + Instance>(
    version: Version,
    out: &mut RVec<u8>,
) -> bool {
    guard_hook_or(P::NAME, "encode_continue", false, || {
        P::get().is_some_and(|p| p.encode_continue(version, out))
    })
}
