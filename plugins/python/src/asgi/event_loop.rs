//! A worker's event loop for its ASGI app: a thread of its own (started after fork) running
//! asyncio's loop (or uvloop's), fed by the [`Bridge`] with the requests the host's thread
//! accepted, and the lifespan protocol around it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use rsgi_plugin_api::sdk::exchange::{Exchange, Readiness};

use super::bridge::{Bridge, Event};
use super::channel::Channel;
use super::incoming::Incoming;
use super::settings::{AsgiSettings, Lifespan, LoopKind};
use super::websocket::WebSocket;
use super::{scope, GLUE};
use crate::error::Error;
use crate::interp::thread_state;
use crate::traceback;

/// How long a worker waits for its app's lifespan startup, and its shutdown.
const LIFESPAN_WAIT: Duration = Duration::from_secs(60);

/// How a lifespan phase ended, as the glue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `*.complete` (or the lifespan protocol is off).
    Complete,
    /// `*.failed` with the app's message.
    Failed(String),
    /// The app raised: the traceback.
    Raised(String),
    /// The event loop could not start, or ended: why.
    LoopFailed(String),
}

/// The running loop of this worker.
pub struct Runner {
    /// Where the host's thread hands requests over.
    pub bridge: Arc<Bridge>,
    /// False once the loop's thread ended: requests are refused (500) instead of queued.
    alive: AtomicBool,
    next_id: AtomicU64,
    /// (startup, shutdown, the thread ended).
    outcomes: Mutex<(Option<Outcome>, Option<Outcome>, bool)>,
    changed: Condvar,
}

impl Runner {
    /// True while the loop's thread runs.
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Drops what waits in the bridge (its exchanges are aborted: 500s), once the loop is
    /// gone.
    pub fn discard_queued(&self) {
        let mut events = Vec::new();
        self.bridge.take(&mut events);
        drop(events);
    }

    /// The next request's id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn set(&self, f: impl FnOnce(&mut (Option<Outcome>, Option<Outcome>, bool))) {
        f(&mut self.outcomes.lock().unwrap_or_else(|e| e.into_inner()));
        self.changed.notify_all();
    }

    /// Waits (up to [`LIFESPAN_WAIT`]) until `pick` finds something.
    fn wait<T>(
        &self,
        pick: impl Fn(&(Option<Outcome>, Option<Outcome>, bool)) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + LIFESPAN_WAIT;
        let mut guard = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(found) = pick(&guard) {
                return Some(found);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            guard = self
                .changed
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The runner, once this worker's loop started and its app's startup succeeded.
static RUNNER: OnceLock<Arc<Runner>> = OnceLock::new();
/// The runner while its startup runs.
static STARTING: Mutex<Option<Arc<Runner>>> = Mutex::new(None);

/// A request the app holds: its `receive` and `send`, as the host's wakes reach them.
enum Held {
    Http(Py<Channel>),
    WebSocket(Py<WebSocket>),
}

impl Held {
    fn clone_ref(&self, py: Python<'_>) -> Held {
        match self {
            Held::Http(c) => Held::Http(c.clone_ref(py)),
            Held::WebSocket(w) => Held::WebSocket(w.clone_ref(py)),
        }
    }

    fn woken(&self, py: Python<'_>, readiness: Readiness) {
        match self {
            Held::Http(c) => c.get().woken(py, readiness),
            Held::WebSocket(w) => w.get().woken(py, readiness),
        }
    }
}

/// What only the loop's thread touches.
struct Local {
    app: Py<PyAny>,
    event_loop: Py<PyAny>,
    /// The glue's `run_http` and `run`: the coroutines that run the app on one http
    /// request, one websocket.
    run_http: Py<PyAny>,
    run: Py<PyAny>,
    /// What makes a request's task: the loop's `create_task` where tasks start eagerly
    /// (Python 3.12+), else `asyncio.Task` itself, called with `task_kwargs` (the loop, and
    /// a name: without one, each task formats a `Task-N` of its own).
    create_task: Py<PyAny>,
    task_kwargs: Option<Py<PyDict>>,
    /// What every scope shares.
    shared: Rc<scope::Shared>,
    lifespan: Option<Py<PyAny>>,
    channels: HashMap<u64, Held>,
    runner: Arc<Runner>,
    events: Vec<Event>,
    /// The `park` function, and whether a call of it is scheduled.
    park: Py<PyAny>,
    park_pending: bool,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// The running loop, when this worker has one.
pub fn runner() -> Option<&'static Arc<Runner>> {
    RUNNER.get()
}

/// Starts the loop's thread for `app` and waits for its lifespan startup. An error is an
/// app that did not start (logged by the caller).
pub fn start(app: Py<PyAny>, settings: AsgiSettings) -> Result<(), Error> {
    // `threading` takes the thread that first imports it for the main thread; uvloop and
    // asyncio ask it whether they run there (and then set signal handlers, which only the
    // main thread may). So they are imported here, on the worker's main thread, first.
    thread_state::attach(|py| preload(py, settings))?;
    let bridge = Bridge::new()
        .map_err(|e| Error::AppLoad(format!("cannot make the ASGI event loop's eventfd: {e}")))?;
    let runner = Arc::new(Runner {
        bridge: Arc::new(bridge),
        alive: AtomicBool::new(true),
        next_id: AtomicU64::new(1),
        outcomes: Mutex::new((None, None, false)),
        changed: Condvar::new(),
    });
    *STARTING.lock().unwrap_or_else(|e| e.into_inner()) = Some(runner.clone());
    let for_thread = runner.clone();
    std::thread::Builder::new()
        .name("rsgi-asgi".into())
        .spawn(move || {
            let ended = thread_state::attach(|py| run(py, app, settings, &for_thread));
            let why = ended.err().unwrap_or_else(|| "the event loop ended".into());
            for_thread.alive.store(false, Ordering::Release);
            for_thread.set(|o| {
                o.0.get_or_insert(Outcome::LoopFailed(why));
                o.2 = true;
            });
            for_thread.discard_queued();
        })
        .map_err(|e| Error::AppLoad(format!("cannot start the ASGI event loop's thread: {e}")))?;
    let startup = runner.wait(|o| {
        o.0.clone()
            .or_else(|| o.2.then(|| Outcome::Raised("the event loop ended".into())))
    });
    *STARTING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let failed = |why: String| {
        // The loop goes on running nothing; requests get 500.
        runner.bridge.push(Event::Stop);
        Err(Error::AppLoad(why))
    };
    match startup {
        Some(Outcome::Complete) => {}
        None => {
            return failed(format!(
                "the ASGI app's lifespan startup did not finish within {} s",
                LIFESPAN_WAIT.as_secs()
            ))
        }
        Some(Outcome::Failed(message)) => {
            return failed(format!("the ASGI app's lifespan startup failed: {message}"))
        }
        Some(Outcome::LoopFailed(why)) => return failed(why),
        Some(Outcome::Raised(tb)) if settings.lifespan == Lifespan::Auto => {
            let last = tb.trim_end().lines().last().unwrap_or("").to_owned();
            tracing::info!(
                "the ASGI app does not seem to support the lifespan protocol (it raised {last}); serving it without (--lifespan on makes this an error)"
            );
        }
        Some(Outcome::Raised(tb)) => {
            return failed(format!(
                "the ASGI app raised in its lifespan startup:\n{}",
                tb.trim_end()
            ))
        }
    }
    let _ = RUNNER.set(runner);
    Ok(())
}

/// Imports `asyncio` and, when it may serve, `uvloop` on the calling thread (the worker's,
/// or the master's to share them across fork): see [`start`].
pub fn preload(py: Python<'_>, settings: AsgiSettings) -> Result<(), Error> {
    py.import(intern!(py, "asyncio"))
        .map_err(|e| Error::AppLoad(format!("cannot import asyncio: {e}")))?;
    match settings.loop_kind {
        LoopKind::Asyncio => {}
        LoopKind::Auto => {
            let _ = py.import(intern!(py, "uvloop"));
        }
        LoopKind::Uvloop => {
            py.import(intern!(py, "uvloop")).map_err(|e| {
                Error::AppLoad(format!("--asgi-loop uvloop: cannot import uvloop: {e}"))
            })?;
        }
    }
    Ok(())
}

/// Runs the lifespan's shutdown (up to [`LIFESPAN_WAIT`]) and stops the loop.
pub fn stop() {
    let Some(runner) = RUNNER.get() else { return };
    runner.bridge.push(Event::Stop);
    match runner.wait(|o| o.1.clone()) {
        Some(Outcome::Complete) => {}
        Some(Outcome::Failed(message)) => {
            tracing::error!("the ASGI app's lifespan shutdown failed: {message}")
        }
        Some(Outcome::Raised(tb)) => tracing::error!(
            "the ASGI app raised in its lifespan shutdown:\n{}",
            tb.trim_end()
        ),
        Some(Outcome::LoopFailed(why)) => tracing::error!("the ASGI event loop: {why}"),
        None => tracing::warn!(
            "the ASGI app's lifespan shutdown did not finish within {} s",
            LIFESPAN_WAIT.as_secs()
        ),
    }
    runner.wait(|o| o.2.then_some(()));
}

/// The loop's thread: make the loop, watch the bridge, begin the lifespan, run.
fn run(
    py: Python<'_>,
    app: Py<PyAny>,
    settings: AsgiSettings,
    runner: &Arc<Runner>,
) -> Result<(), String> {
    let setup = || -> PyResult<Bound<'_, PyAny>> {
        let glue = PyModule::from_code(py, GLUE, c"rsgi_asgi_glue.py", c"rsgi_asgi_glue")?;
        let (event_loop, name, eager): (Bound<'_, PyAny>, String, bool) = glue
            .call_method1(intern!(py, "new_loop"), (settings.loop_kind.name(),))?
            .extract()?;
        py.import(intern!(py, "asyncio"))?
            .call_method1(intern!(py, "set_event_loop"), (&event_loop,))?;
        let tasks = if eager { ", tasks started eagerly" } else { "" };
        tracing::info!("ASGI app served on an {name} event loop{tasks}");
        glue.add_function(wrap_pyfunction!(forget, &glue)?)?;
        let drain = wrap_pyfunction!(drain, &glue)?;
        event_loop.call_method1(intern!(py, "add_reader"), (runner.bridge.fd(), drain))?;
        let state = PyDict::new(py);
        let lifespan = match settings.lifespan {
            Lifespan::Off => None,
            _ => {
                let report = wrap_pyfunction!(report, &glue)?;
                let lifespan = glue.getattr(intern!(py, "Lifespan"))?.call1((
                    &app,
                    &state,
                    &event_loop,
                    report,
                ))?;
                Some(lifespan)
            }
        };
        let (create_task, task_kwargs) = if eager {
            (
                event_loop.getattr(intern!(py, "create_task"))?.unbind(),
                None,
            )
        } else {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "loop"), &event_loop)?;
            kwargs.set_item(intern!(py, "name"), intern!(py, "rsgi-asgi"))?;
            let task = py
                .import(intern!(py, "asyncio"))?
                .getattr(intern!(py, "Task"))?;
            (task.unbind(), Some(kwargs.unbind()))
        };
        let _ = super::channel::WAITS.set(super::channel::Waits {
            receive: glue.getattr(intern!(py, "receive"))?.unbind(),
            writable: glue.getattr(intern!(py, "writable"))?.unbind(),
        });
        LOCAL.with(|local| {
            *local.borrow_mut() = Some(Local {
                app: app.clone_ref(py),
                event_loop: event_loop.clone().unbind(),
                run_http: glue.getattr(intern!(py, "run_http"))?.unbind(),
                run: glue.getattr(intern!(py, "run"))?.unbind(),
                create_task,
                task_kwargs,
                shared: Rc::new(scope::Shared::new(py, state)?),
                lifespan: lifespan.as_ref().map(|l| l.clone().unbind()),
                channels: HashMap::new(),
                runner: runner.clone(),
                events: Vec::with_capacity(256),
                park: wrap_pyfunction!(park, &glue)?.into_any().unbind(),
                park_pending: false,
            });
            Ok::<_, PyErr>(())
        })?;
        match lifespan {
            Some(lifespan) => {
                lifespan.call_method0(intern!(py, "begin"))?;
            }
            None => runner.set(|o| o.0 = Some(Outcome::Complete)),
        }
        Ok(event_loop)
    };
    let event_loop = setup().map_err(|err| {
        let message = format!(
            "cannot start the ASGI event loop: {}",
            traceback::summary(py, &err)
        );
        traceback::log(py, &err, &message);
        message
    })?;
    if let Err(err) = event_loop.call_method0(intern!(py, "run_forever")) {
        traceback::log(py, &err, "the ASGI event loop failed");
    }
    let _ = event_loop.call_method0(intern!(py, "close"));
    LOCAL.with(|local| local.borrow_mut().take());
    Ok(())
}

/// Forgets request `id`: its app returned or raised (the glue's `run` calls this last).
#[pyfunction]
fn forget(id: u64) {
    forget_request(id)
}

/// Forgets request `id` (an http request's channel calls this itself when its app
/// returned or raised).
pub(super) fn forget_request(id: u64) {
    let removed = LOCAL.with(|local| {
        local
            .borrow_mut()
            .as_mut()
            .and_then(|l| l.channels.remove(&id))
    });
    drop(removed);
}

/// The bridge's fd is readable: take what the host's threads queued.
#[pyfunction]
fn drain(py: Python<'_>) -> PyResult<()> {
    batch(py, false)
}

/// Scheduled (`call_soon`) by a batch, so it runs after what the batch started: takes
/// what was queued meanwhile (the host did not wake the loop for it), or lets the host
/// wake the loop from now on.
#[pyfunction]
fn park(py: Python<'_>) -> PyResult<()> {
    batch(py, true)
}

/// Takes a batch (woken by the eventfd, or looking again when `parking`), runs it, and
/// makes sure a park follows.
fn batch(py: Python<'_>, parking: bool) -> PyResult<()> {
    let Some((runner, mut events)) = LOCAL.with(|local| {
        local.borrow_mut().as_mut().map(|l| {
            if parking {
                l.park_pending = false;
            }
            (l.runner.clone(), std::mem::take(&mut l.events))
        })
    }) else {
        return Ok(());
    };
    let taken = if parking {
        runner.bridge.park(&mut events)
    } else {
        runner.bridge.take(&mut events);
        true
    };
    let result = if taken {
        run_events(py, &runner, &mut events)
    } else {
        Ok(())
    };
    events.clear();
    let schedule = LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        let l = local.as_mut()?;
        l.events = events;
        if !taken || l.park_pending {
            return None;
        }
        l.park_pending = true;
        Some((l.event_loop.clone_ref(py), l.park.clone_ref(py)))
    });
    if let Some((event_loop, park)) = schedule {
        if event_loop
            .call_method1(py, intern!(py, "call_soon"), (park,))
            .is_err()
        {
            // No park will come: the host must wake the loop from now on.
            LOCAL.with(|local| {
                if let Some(l) = local.borrow_mut().as_mut() {
                    l.park_pending = false;
                }
            });
            runner.bridge.doze();
        }
    }
    result
}

/// Runs what a batch took.
fn run_events(py: Python<'_>, runner: &Arc<Runner>, events: &mut Vec<Event>) -> PyResult<()> {
    for event in events.drain(..) {
        match event {
            Event::Request(id, incoming, exchange) => {
                begin(py, runner, id, incoming, exchange)?;
            }
            Event::Wake(id, readiness) => {
                let channel = LOCAL.with(|local| {
                    local
                        .borrow()
                        .as_ref()
                        .and_then(|l| l.channels.get(&id).map(|c| c.clone_ref(py)))
                });
                if let Some(channel) = channel {
                    channel.woken(py, readiness);
                }
            }
            Event::Stop => {
                let (lifespan, event_loop) = LOCAL.with(|local| {
                    let local = local.borrow();
                    let l = local.as_ref();
                    (
                        l.and_then(|l| l.lifespan.as_ref().map(|x| x.clone_ref(py))),
                        l.map(|l| l.event_loop.clone_ref(py)),
                    )
                });
                match lifespan {
                    Some(lifespan) => {
                        lifespan.call_method0(py, intern!(py, "shutdown"))?;
                    }
                    None => {
                        runner.set(|o| o.1 = Some(Outcome::Complete));
                        if let Some(event_loop) = event_loop {
                            event_loop.call_method0(py, intern!(py, "stop"))?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Starts the app on request `id`: its scope (`websocket` when the host offers the
/// upgrade, else `http`), its channel, woken by the host through the bridge.
fn begin(
    py: Python<'_>,
    runner: &Arc<Runner>,
    id: u64,
    incoming: Box<Incoming>,
    exchange: Exchange,
) -> PyResult<()> {
    let parts = LOCAL.with(|local| {
        let local = local.borrow();
        let l = local.as_ref()?;
        Some((
            l.shared.clone(),
            l.app.clone_ref(py),
            l.event_loop.clone_ref(py),
            l.run_http.clone_ref(py),
            l.run.clone_ref(py),
            l.create_task.clone_ref(py),
            l.task_kwargs.as_ref().map(|k| k.clone_ref(py)),
        ))
    });
    let Some((shared, app, event_loop, run_http, run, create_task, task_kwargs)) = parts else {
        return Ok(());
    };
    let bridge = runner.bridge.clone();
    let wake = move |events| bridge.push(Event::Wake(id, events));
    let (scope, held, x) = match &incoming.websocket {
        None => {
            let scope = scope::http(py, &incoming, &shared)?;
            let channel = Py::new(
                py,
                Channel::new(exchange, id, incoming, event_loop.clone_ref(py)),
            )?;
            channel.get().set_waker(wake);
            let x = channel.clone_ref(py).into_any();
            (scope, Held::Http(channel), x)
        }
        Some(subprotocols) => {
            let scope = scope::websocket(py, &incoming, subprotocols, &shared)?;
            let ws = Py::new(py, WebSocket::new(exchange, id, incoming))?;
            ws.get().set_waker(wake);
            let x = ws.clone_ref(py).into_any();
            (scope, Held::WebSocket(ws), x)
        }
    };
    let http = matches!(held, Held::Http(_));
    LOCAL.with(|local| {
        if let Some(l) = local.borrow_mut().as_mut() {
            l.channels.insert(id, held);
        }
    });
    let coroutine = match http {
        true => run_http.call1(py, (app, scope, x))?,
        false => run.call1(py, (app, scope, x, event_loop))?,
    };
    create_task
        .bind(py)
        .call((coroutine,), task_kwargs.as_ref().map(|k| k.bind(py)))?;
    Ok(())
}

/// The glue's lifespan tells how a phase ended; a shutdown's end stops the loop.
#[pyfunction]
fn report(py: Python<'_>, phase: &str, outcome: &str, text: String) -> PyResult<()> {
    let outcome = match outcome {
        "complete" => Outcome::Complete,
        "failed" => Outcome::Failed(text),
        _ => Outcome::Raised(text),
    };
    let (runner, event_loop) = LOCAL.with(|local| {
        let local = local.borrow();
        let l = local.as_ref();
        (
            l.map(|l| l.runner.clone()),
            l.map(|l| l.event_loop.clone_ref(py)),
        )
    });
    let runner = runner.or_else(|| STARTING.lock().unwrap_or_else(|e| e.into_inner()).clone());
    let Some(runner) = runner else { return Ok(()) };
    if phase == "startup" {
        runner.set(|o| o.0 = Some(outcome));
    } else {
        runner.set(|o| o.1 = Some(outcome));
        if let Some(event_loop) = event_loop {
            event_loop.call_method0(py, intern!(py, "stop"))?;
        }
    }
    Ok(())
}
