//! The plugin: `websocket`, a protocol plugin that parses no requests of its own but offers
//! the codec for `Upgrade: websocket` (extension `rsgi.upgrade` v1, [`crate::upgrade_table`])
//! to the host, which hands it the connections an app upgrades.

use abi_stable::std_types::RVec;
use rsgi_plugin_api::protocol::{
    HeaderSpan, ParseOutcome, ProtocolError, ResponseContext, ResponseFraming,
};
use rsgi_plugin_api::sdk::extensions::offer;
use rsgi_plugin_api::{
    ErrorKind, Extension, Header, OptionSpec, OptionValue, PluginError, Protocol,
};

use crate::options::{self, Settings};
use crate::upgrade_table;

/// The plugin's instance: what `init` made of its options.
pub struct WebSocket {
    settings: Settings,
}

rsgi_plugin_api::export_protocol!(WebSocket, name = "websocket");

impl Protocol for WebSocket {
    fn options() -> Vec<OptionSpec> {
        options::specs()
    }

    fn extensions() -> Vec<Extension> {
        vec![offer(&upgrade_table::UPGRADE_V1)]
    }

    fn init(values: &[OptionValue]) -> Result<WebSocket, PluginError> {
        let settings = options::from_options(values)
            .map_err(|message| PluginError::new(ErrorKind::Config, message))?;
        tracing::debug!("websocket settings: {settings:?}");
        upgrade_table::configure(settings);
        Ok(WebSocket { settings })
    }

    /// Not a listener protocol: a connection reaches WebSocket through HTTP's upgrade.
    fn parse(
        &self,
        _buf: &[u8],
        _headers: &mut [HeaderSpan],
        _vars: &mut [HeaderSpan],
    ) -> ParseOutcome {
        ParseOutcome::invalid(ProtocolError::new(
            0,
            "websocket is reached through an HTTP upgrade, not a socket of its own",
        ))
    }

    fn encode_head(
        &self,
        _ctx: &ResponseContext<'_>,
        _status: u16,
        _reason: &str,
        _headers: &[Header<'_>],
        _out: &mut RVec<u8>,
    ) -> Result<ResponseFraming, ProtocolError> {
        Err(ProtocolError::new(
            500,
            "websocket answers through the HTTP plugin",
        ))
    }
}

impl WebSocket {
    /// The settings `init` read.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}
