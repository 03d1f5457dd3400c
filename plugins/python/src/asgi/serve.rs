//! One request: copied on the host's thread and handed to the event loop, answered later.
//! (The same name as [`crate::wsgi::serve`]: where a request enters the interface.)

use rsgi_plugin_api::sdk::exchange::Exchange;
use rsgi_plugin_api::{CallOutcome, Request};

use super::bridge::Event;
use super::event_loop;
use super::incoming::Incoming;

/// Hands a request to the loop: copied, queued, answered later.
pub fn call(request: &Request<'_>, exchange: Exchange) -> CallOutcome {
    let Some(runner) = event_loop::runner().filter(|r| r.alive()) else {
        exchange.abort(
            "no ASGI app runs in this worker (it did not load or start, or its event loop ended)",
        );
        return CallOutcome::Failed;
    };
    let id = runner.next_id();
    let mut incoming = Box::new(Incoming::from_request(request));
    if incoming.asks_upgrade {
        incoming.websocket = exchange
            .upgrade_offered()
            .filter(|offer| offer.token == "websocket")
            .map(|offer| offer.subprotocols);
    }
    runner.bridge.push(Event::Request(id, incoming, exchange));
    if !runner.alive() {
        // The loop ended meanwhile: nothing will take the request.
        runner.discard_queued();
    }
    CallOutcome::Pending
}
