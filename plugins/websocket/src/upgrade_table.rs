//! The table of extension `rsgi.upgrade` v1 for the token `websocket`: the codec of
//! [`crate::handshake`] and [`crate::session`] behind guarded `extern "C"` entries.
//!
//! A [`Session`] across the ABI is a `Box<crate::Session>` made by `accept` and released
//! by `free`. A panic never crosses into the host: each entry catches it and answers its
//! fallback (a refusal, an error event that closes with 1011, nothing appended).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use abi_stable::std_types::{RErr, ROk, RResult, RSlice, RStr, RString, RVec};
use rsgi_plugin_api::upgrade::{
    EncodeStatus, Fed, FedEvent, MessageKind, OwnedHeader, Refusal, Session, SessionState,
    UpgradeSettings, UpgradeV1,
};
use rsgi_plugin_api::Header;

use crate::handshake::{self, ClientHandshake};
use crate::options::Settings;
use crate::session::{self, Event};
use crate::SendError;

/// The table the plugin offers.
pub static UPGRADE_V1: UpgradeV1 = UpgradeV1 {
    token: RStr::from_str("websocket"),
    settings,
    offers,
    accept,
    feed,
    encode,
    ping,
    close,
    take_output,
    state,
    free,
};

/// The settings `init` read (the defaults until then).
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Remembers what `init` read (the first call wins: one `init` per process).
pub fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

fn current() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}

extern "C" fn settings() -> UpgradeSettings {
    current().clocks
}

/// The request's headers as the handshake reads them.
fn pairs<'a>(headers: &'a [Header<'a>]) -> Vec<(&'a [u8], &'a [u8])> {
    headers
        .iter()
        .map(|h| (h.name.as_slice(), h.value.as_slice()))
        .collect()
}

fn refusal(r: handshake::Refusal) -> Refusal {
    Refusal {
        status: r.status(),
        headers: r
            .headers()
            .iter()
            .map(|(name, value)| OwnedHeader {
                name: RString::from(*name),
                value: RString::from(*value),
            })
            .collect(),
        reason: RString::from(r.to_string()),
    }
}

fn panicked(entry: &str) -> Refusal {
    Refusal {
        status: 500,
        headers: RVec::new(),
        reason: RString::from(format!("the websocket codec panicked in {entry}")),
    }
}

extern "C" fn offers(
    headers: RSlice<'_, Header<'_>>,
    subprotocols: &mut RVec<RString>,
) -> RResult<(), Refusal> {
    catch_unwind(AssertUnwindSafe(|| {
        match ClientHandshake::parse(&pairs(headers.as_slice())) {
            Ok(client) => {
                subprotocols.extend(
                    client
                        .subprotocols()
                        .iter()
                        .map(|s| RString::from(s.as_str())),
                );
                ROk(())
            }
            Err(r) => RErr(refusal(r)),
        }
    }))
    .unwrap_or_else(|_| RErr(panicked("offers")))
}

extern "C" fn accept(
    headers: RSlice<'_, Header<'_>>,
    subprotocol: RStr<'_>,
    response: &mut RVec<OwnedHeader>,
) -> RResult<Session, Refusal> {
    catch_unwind(AssertUnwindSafe(|| {
        let chosen = Some(subprotocol.as_str()).filter(|s| !s.is_empty());
        match handshake::accept(&pairs(headers.as_slice()), chosen, &current().config) {
            Ok(accepted) => {
                response.extend(accepted.headers.iter().map(|(name, value)| OwnedHeader {
                    name: RString::from(*name),
                    value: RString::from(value.as_str()),
                }));
                let boxed = Box::new(accepted.session);
                ROk(Session(Box::into_raw(boxed).cast()))
            }
            Err(r) => RErr(refusal(r)),
        }
    }))
    .unwrap_or_else(|_| RErr(panicked("accept")))
}

/// The session behind a handle.
fn session<'a>(s: Session) -> &'a mut session::Session {
    // SAFETY: `s` came from `accept` and is used by one thread at a time until `free` (the
    // extension's contract).
    unsafe { &mut *s.0.cast::<session::Session>() }
}

fn kind_of(kind: crate::MessageKind) -> MessageKind {
    match kind {
        crate::MessageKind::Text => MessageKind::Text,
        crate::MessageKind::Binary => MessageKind::Binary,
    }
}

extern "C" fn feed(s: Session, input: RSlice<'_, u8>, data: &mut RVec<u8>) -> Fed {
    data.clear();
    let fed = |consumed, event, code| Fed {
        consumed,
        event,
        kind: MessageKind::Binary,
        code,
    };
    let all = input.len();
    catch_unwind(AssertUnwindSafe(|| {
        let (consumed, event) = session(s).feed(input.as_slice());
        match event {
            None => fed(consumed, FedEvent::Nothing, 0),
            Some(Event::Message { kind, data: bytes }) => {
                data.extend_from_copy_slice(&bytes);
                Fed {
                    kind: kind_of(kind),
                    ..fed(consumed, FedEvent::Message, 0)
                }
            }
            Some(Event::Ping(payload)) => {
                data.extend_from_copy_slice(&payload);
                fed(consumed, FedEvent::Ping, 0)
            }
            Some(Event::Pong(payload)) => {
                data.extend_from_copy_slice(&payload);
                fed(consumed, FedEvent::Pong, 0)
            }
            Some(Event::Close { code, reason }) => {
                data.extend_from_copy_slice(reason.as_bytes());
                fed(consumed, FedEvent::Close, code.unwrap_or(1005))
            }
            Some(Event::Error(e)) => {
                data.extend_from_copy_slice(e.to_string().as_bytes());
                fed(consumed, FedEvent::Error, e.close_code())
            }
        }
    }))
    .unwrap_or_else(|_| {
        data.clear();
        data.extend_from_copy_slice(b"the websocket codec panicked");
        fed(all, FedEvent::Error, 1011)
    })
}

fn status(result: Result<(), SendError>) -> EncodeStatus {
    match result {
        Ok(()) => EncodeStatus::Done,
        Err(SendError::Closing) => EncodeStatus::Closing,
        Err(_) => EncodeStatus::Invalid,
    }
}

/// Runs an encoding entry, appending to `out` through a Vec of its own.
fn encoding(
    out: &mut RVec<u8>,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), SendError>,
) -> EncodeStatus {
    catch_unwind(AssertUnwindSafe(|| {
        let mut frames = Vec::new();
        let answer = status(f(&mut frames));
        out.extend_from_copy_slice(&frames);
        answer
    }))
    .unwrap_or(EncodeStatus::Invalid)
}

extern "C" fn encode(
    s: Session,
    kind: MessageKind,
    data: RSlice<'_, u8>,
    out: &mut RVec<u8>,
) -> EncodeStatus {
    let kind = match kind {
        MessageKind::Text => crate::MessageKind::Text,
        MessageKind::Binary => crate::MessageKind::Binary,
    };
    encoding(out, |frames| {
        session(s).encode(kind, data.as_slice(), frames)
    })
}

extern "C" fn ping(s: Session, payload: RSlice<'_, u8>, out: &mut RVec<u8>) -> EncodeStatus {
    encoding(out, |frames| session(s).ping(payload.as_slice(), frames))
}

extern "C" fn close(s: Session, code: u16, reason: RStr<'_>, out: &mut RVec<u8>) -> EncodeStatus {
    encoding(out, |frames| {
        session(s).close(code, reason.as_str(), frames)
    })
}

extern "C" fn take_output(s: Session, out: &mut RVec<u8>) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let session = session(s);
        out.extend_from_copy_slice(session.output());
        let n = session.output().len();
        session.consume_output(n);
    }));
}

extern "C" fn state(s: Session) -> SessionState {
    catch_unwind(AssertUnwindSafe(|| match session(s).state() {
        session::State::Open => SessionState::Open,
        session::State::CloseSent => SessionState::CloseSent,
        session::State::Closed => SessionState::Closed,
    }))
    .unwrap_or(SessionState::Closed)
}

extern "C" fn free(s: Session) {
    // SAFETY: made by Box::into_raw in `accept`; the host frees a session once.
    drop(unsafe { Box::from_raw(s.0.cast::<session::Session>()) });
}
