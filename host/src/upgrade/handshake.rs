//! The handshake of an upgrade: a request that asks for one a loaded codec accepts
//! ([`Upgradable::check`]) and its acceptance with the app's choices
//! ([`Upgradable::accept`]), for the exchange's upgrade and for `handle`'s.

use abi_stable::std_types::{RSlice, RStr, RString, RVec};
use rsgi_plugin_api::upgrade::{OwnedHeader, Refusal, Session};
use rsgi_plugin_api::Header;

use super::codecs::Codec;

/// A request that asks for an upgrade a loaded codec accepts, kept with its exchange
/// until the app accepts or answers it.
pub struct Upgradable {
    /// The codec for the request's `Upgrade` token.
    pub codec: Codec,
    /// The request's headers (the codec reads its handshake from them again on accept).
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The subprotocols the client offered, in its order.
    pub subprotocols: Vec<String>,
}

impl Upgradable {
    /// The request's headers as the codec reads them.
    fn header_views(&self) -> Vec<Header<'_>> {
        self.headers
            .iter()
            .map(|(name, value)| Header {
                name: RSlice::from_slice(name),
                value: RSlice::from_slice(value),
            })
            .collect()
    }

    /// Checks the request's handshake with `codec`: the subprotocols offered, or the
    /// codec's refusal (status, headers, reason).
    pub fn check(codec: Codec, headers: &[Header<'_>]) -> Result<Upgradable, Refusal> {
        let mut offered = RVec::new();
        (codec.table.offers)(RSlice::from_slice(headers), &mut offered).into_result()?;
        Ok(Upgradable {
            codec,
            headers: headers
                .iter()
                .map(|h| (h.name.to_vec(), h.value.to_vec()))
                .collect(),
            subprotocols: offered.into_iter().map(RString::into_string).collect(),
        })
    }

    /// Accepts with the app's `subprotocol` and `app_headers`: the `101`'s headers (the
    /// codec's, then the app's) and the session; `None` (logged) when the codec refuses.
    pub fn accept(
        &self,
        subprotocol: &str,
        app_headers: &[Header<'_>],
    ) -> Option<(Vec<OwnedHeader>, Session)> {
        let mut response = RVec::new();
        let accepted = (self.codec.table.accept)(
            RSlice::from_slice(&self.header_views()),
            RStr::from_str(subprotocol),
            &mut response,
        );
        let session = match accepted.into_result() {
            Ok(session) => session,
            Err(refusal) => {
                tracing::error!(
                    "the app's upgrade was refused by the {} codec: {}",
                    self.codec.table.token.as_str(),
                    refusal.reason
                );
                return None;
            }
        };
        let mut headers: Vec<OwnedHeader> = response.into_iter().collect();
        headers.extend(app_headers.iter().map(|h| {
            OwnedHeader {
                name: String::from_utf8_lossy(h.name.as_slice())
                    .into_owned()
                    .into(),
                value: String::from_utf8_lossy(h.value.as_slice())
                    .into_owned()
                    .into(),
            }
        }));
        Some((headers, session))
    }
}
