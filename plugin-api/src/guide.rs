//! # Writing an rsgi plugin
//!
//! A plugin is a Rust `cdylib` named `librsgi_<name>.so` that rsgi loads at run time, before
//! it forks: an **app** plugin runs applications (the python plugin embeds CPython), a
//! **protocol** plugin turns bytes into requests and responses into bytes (HTTP/1.1, the
//! uwsgi protocol). This guide is the contract seen from a plugin; `docs/plugin-abi.md` in
//! the rsgi repository is the same contract seen from the ABI.
//!
//! ## The crate
//!
//! ```toml
//! [lib]
//! name = "rsgi_hello"            # rsgi looks for librsgi_hello.so (`--plugin hello`)
//! crate-type = ["cdylib", "rlib"] # rlib: unit tests call the trait directly
//!
//! [dependencies]
//! rsgi-plugin-api = "0.2"         # the SDK; 0.2 is the plugin ABI series
//! ```
//!
//! One type implements [`App`](crate::App) or [`Protocol`](crate::Protocol); one line
//! exports it: [`export_app!`](crate::export_app) or
//! [`export_protocol!`](crate::export_protocol). The macro writes the root module, an
//! `extern "C"` shim per hook (each inside a panic guard), the option declarations and the
//! log bridge. Nothing else is needed: no `extern "C"`, no `unsafe`, no `abi_stable` of
//! your own (unless you define an extension table, below).
//!
//! ## Lifecycle
//!
//! | step | app plugin | protocol plugin |
//! |---|---|---|
//! | rsgi reads its options | `options()`, `needs()` | the same |
//! | once, in the master | `init(options)` makes your value | the same |
//! | app loading | `load_app` in the master (preforking) or in each worker after fork (`--lazy-apps`) | — |
//! | around every fork (respawns too) | `pre_fork`, then `post_fork_parent` in the master and `post_fork_child` first thing in the worker | — |
//! | serving, in workers | `handle` per request, or `call` when [`App::calls`](crate::App::calls) (answered now or later) | `parse`, `decode_body`, `encode_head`, body framing, `encode_error`, `encode_continue` |
//! | clean exit of a worker | `shutdown` | — |
//!
//! `init` returns your value (`Self`); every later hook gets `&self`. A hook called before
//! `init` succeeded (a host bug, or an `init` that failed) answers an error instead of
//! reaching your code.
//!
//! ## Threads and fork
//!
//! - The master is single-threaded and forks: start **no threads** in `init` or `load_app`
//!   of a preforking server, or leave the process fork-safe in `pre_fork` (the python
//!   plugin runs `PyOS_BeforeFork` there). Start threads in `post_fork_child`.
//! - `handle` runs on the worker's event-loop thread with `--threads 1`, and on any of N app
//!   threads at once with `--threads N`: your type is `Send + Sync`.
//! - Protocol methods run on any worker thread, concurrently: keep per-request state in the
//!   arguments (the host hands [`DecoderState`](crate::protocol::DecoderState) back on every
//!   call), never in `self`.
//! - Blocking is allowed in `handle` ([`BodyReader::read`](crate::BodyReader::read) waits
//!   for the client); protocol methods never block and never do I/O.
//! - `call` runs where `handle` would, but should return quickly: keep the exchange and
//!   answer from your own thread (see "Answering later"). Wakers run on the host's loop
//!   thread: hand the news on, never call back into the exchange there.
//!
//! ## Options
//!
//! Declare them in `options()` with [`OptionSpec::flag`](crate::OptionSpec::flag),
//! [`value`](crate::OptionSpec::value) or [`list`](crate::OptionSpec::list): rsgi then
//! accepts `--name`, the TOML key `name`, the ini key and `RSGI_NAME`, shows them in
//! `rsgi --plugin NAME --help`, and hands `init` the values given (command line over
//! environment over file). Read them with [`options::find`](crate::options::find),
//! [`find_all`](crate::options::find_all) and [`flag`](crate::options::flag). A bad value
//! is an error of kind [`ErrorKind::Config`](crate::ErrorKind::Config) from `init`: rsgi
//! prints it naming your plugin and exits 2.
//!
//! ## Logging
//!
//! Use `tracing` (`tracing::info!`, ...). After `init`, events reach rsgi's log through the
//! host's sink, at the host's `--log-level`. Before `init` (in `options()`), nothing is set
//! up: a panic there is written to stderr.
//!
//! ## Errors and panics
//!
//! Return [`PluginError`](crate::PluginError)s with a kind: `Config` (exit 2 from `init`),
//! `AppLoad` (exit 22 under `--need-app` from `load_app`), `Request` (this request failed:
//! 500 if nothing was sent yet, else the connection closes). A panic is caught by the
//! generated shim: the request gets a 500 (or a closed connection), one log line names your
//! plugin, the hook, the message and the place, and the worker serves on; a panic in
//! `load_app` counts as an app that did not load. An abort or a crash still costs the
//! worker, which the master respawns.
//!
//! ## Extensions
//!
//! What the host offers beyond the base ABI is asked for by name and version. List what you
//! need in `needs()`: a required extension the host lacks stops rsgi with one line naming
//! your plugin and the extension; an optional one you look up and do without:
//!
//! ```
//! use rsgi_plugin_api::scoreboard::ScoreboardV1;
//! use rsgi_plugin_api::sdk::extensions;
//!
//! // In a hook after init: None when the host does not offer it (or before init).
//! match extensions::from_host::<ScoreboardV1>() {
//!     Ok(Some(table)) => println!("{} workers", (table.workers)().len()),
//!     Ok(None) => println!("no scoreboard here: doing without"),
//!     Err(e) => println!("offered with another layout: {e}"),
//! }
//! ```
//!
//! Offer your own by returning [`sdk::extensions::offer`](crate::sdk::extensions::offer)ed
//! tables from `extensions()` (see that module for defining a table).
//!
//! ## Answering later
//!
//! An app that runs an event loop of its own (ASGI, say) answers true from
//! [`App::calls`](crate::App::calls) and implements [`App::call`](crate::App::call) instead
//! of `handle`. It gets an [`Exchange`](crate::sdk::exchange::Exchange): answer within the
//! call and return `Done`, or move the handle to your loop and return `Pending`; the host's
//! loop goes on serving other connections meanwhile, so one worker holds as many requests
//! as your loop can. Nothing on the handle waits: `write` answers `Full` when the client
//! reads slower than you write, `read` answers `WouldBlock` until body bytes arrive, and
//! the waker you set hears `WRITABLE`, `READABLE` and `GONE` (the client left). Finish the
//! handle, or drop it (a 500, or a closed connection once the head is out). List the
//! extension `rsgi.exchange` v1 in `needs()`: required, and an rsgi too old to offer it
//! refuses the plugin with one line; optional, and such an rsgi serves it through
//! `handle`. Test `call` with
//! [`testing::FakeExchange`](crate::testing::FakeExchange), which plays a slow or
//! departing client; `tests/fixtures/later-plugin` in rsgi's repository is a complete
//! plugin answering from a thread of its own.
//!
//! ## WebSockets and other upgrades
//!
//! A request whose `Upgrade` names a protocol a loaded plugin speaks (the `websocket`
//! plugin offers `rsgi.upgrade` for `websocket`) can become a message stream. Through an
//! exchange (ABI 0.2.4, `rsgi.exchange` v3): [`Exchange::upgrade_offered`] says whether
//! the request is upgradable and which subprotocols the client offered;
//! [`Exchange::upgrade`] sends the `101`; then [`Exchange::recv`] (`WouldBlock` until the
//! waker hears `READABLE`), [`Exchange::send_message`] (back-pressure as `write`) and
//! [`Exchange::close`]; `finish` closes with 1000 if you did not. Or answer the request
//! as usual to deny it. From `handle` (ABI 0.2.5, `rsgi.handle_upgrade`),
//! [`sdk::handle_upgrade`](crate::sdk::handle_upgrade) gives a blocking stream on the
//! request's thread, as uWSGI's WebSocket API does. The host checks the handshake, answers
//! pings, sends its own and closes dead peers: a plugin only moves messages.
//! `tests/fixtures/later-plugin` (`/ws`) is a complete example.
//!
//! [`Exchange::upgrade_offered`]: crate::sdk::exchange::Exchange::upgrade_offered
//! [`Exchange::upgrade`]: crate::sdk::exchange::Exchange::upgrade
//! [`Exchange::recv`]: crate::sdk::exchange::Exchange::recv
//! [`Exchange::send_message`]: crate::sdk::exchange::Exchange::send_message
//! [`Exchange::close`]: crate::sdk::exchange::Exchange::close
//!
//! ## The compatibility promise
//!
//! A plugin built against any 0.2 release of the SDK loads in every rsgi of series 0.2,
//! older or newer: within a series the ABI only grows (fields appended to its tables, read
//! as absent by the older side; extensions). `rsgi --list-plugins` shows the ABI release
//! each plugin was built for. A plugin of another series is refused with one line naming
//! both: rebuild it. rsgi's own tests keep a plugin built against a frozen copy of the
//! first 0.2 release, and load it in every new host.
//!
//! ## Testing without rsgi
//!
//! Call your trait's methods with the fakes of [`testing`](crate::testing):
//!
//! ```
//! use rsgi_plugin_api::testing::{option, FakeBody, FakeResponse, RequestSpec};
//! use rsgi_plugin_api::{App, AppContext, BodyReader, ErrorKind, Header, OptionSpec,
//!     OptionValue, PluginError, Request, Responder};
//!
//! struct Shout { suffix: String }
//!
//! impl App for Shout {
//!     fn options() -> Vec<OptionSpec> {
//!         vec![OptionSpec::value("shout-suffix", "TEXT", "appended to every answer")]
//!     }
//!     fn init(options: &[OptionValue]) -> Result<Shout, PluginError> {
//!         let suffix = rsgi_plugin_api::options::find(options, "shout-suffix").unwrap_or("!");
//!         Ok(Shout { suffix: suffix.into() })
//!     }
//!     fn load_app(&self, _ctx: &AppContext) -> Result<String, PluginError> {
//!         Ok("shout".into())
//!     }
//!     fn handle(&self, _r: &Request<'_>, body: &mut BodyReader<'_>, out: &mut Responder<'_>)
//!               -> Result<(), PluginError> {
//!         let mut text = Vec::new();
//!         let mut buf = [0u8; 64];
//!         loop {
//!             match body.read(&mut buf) {
//!                 Ok(0) => break,
//!                 Ok(n) => text.extend_from_slice(&buf[..n]),
//!                 Err(why) => return Err(PluginError::new(ErrorKind::Request, why)),
//!             }
//!         }
//!         text.make_ascii_uppercase();
//!         text.extend_from_slice(self.suffix.as_bytes());
//!         let fail = |e: rsgi_plugin_api::SendError| PluginError::new(ErrorKind::Request, e.describe());
//!         let length = text.len().to_string();
//!         out.start(200, "", &[Header::new(b"Content-Length", length.as_bytes())]).map_err(fail)?;
//!         out.write(&text).map_err(fail)
//!     }
//! }
//!
//! let shout = Shout::init(&[option("shout-suffix", &["!!"])]).unwrap();
//! let spec = RequestSpec::post("/", b"hello");
//! let mut body = FakeBody::new(&spec.body, 2); // two bytes per read, as a slow client
//! let mut response = FakeResponse::default();
//! spec.with_request(|r| shout.handle(r, &mut body.reader(), &mut response.responder()))
//!     .unwrap();
//! assert_eq!(response.head().unwrap().0, 200);
//! assert_eq!(response.body(), b"HELLO!!");
//! assert_eq!(body.reads, 4); // 2 + 2 + 1 bytes, then the end
//! ```
//!
//! Protocol plugins feed byte literals to `parse` in every split the host could make, one
//! byte at a time included: [`testing::every_split`](crate::testing::every_split).
