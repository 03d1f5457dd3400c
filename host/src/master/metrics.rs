//! `--metrics`: a [`Snapshot`] in the Prometheus text exposition format (version 0.0.4),
//! one series per worker (label `worker`) and per listening socket (label `socket`).

use std::fmt::Write;

use super::snapshot::{Snapshot, WorkerView};

/// The worker states exported as `rsgi_worker_status{state=...}` (1 for the current one).
const STATES: &[&str] = &["starting", "idle", "busy", "recycling", "stopping", "down"];

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric family: its HELP and TYPE lines, then one sample per item.
fn family<T>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    items: &[T],
    sample: impl Fn(&T) -> Vec<(String, f64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let suffix = if kind == "counter" { "_total" } else { "" };
    for item in items {
        for (labels, value) in sample(item) {
            if labels.is_empty() {
                let _ = writeln!(out, "{name}{suffix} {value}");
            } else {
                let _ = writeln!(out, "{name}{suffix}{{{labels}}} {value}");
            }
        }
    }
}

fn worker_label(w: &WorkerView) -> String {
    format!("worker=\"{}\"", w.id)
}

/// Renders the whole exposition.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let w = &s.workers;
    let one = |f: fn(&WorkerView) -> f64| move |w: &WorkerView| vec![(worker_label(w), f(w))];
    family(
        &mut out,
        "rsgi_worker_requests",
        "counter",
        "Requests served by the worker slot (all its processes).",
        w,
        one(|w| w.served.requests as f64),
    );
    family(
        &mut out,
        "rsgi_worker_exceptions",
        "counter",
        "Requests that ended in an app error.",
        w,
        one(|w| w.served.exceptions as f64),
    );
    family(
        &mut out,
        "rsgi_worker_harakiri",
        "counter",
        "Workers killed by --harakiri.",
        w,
        one(|w| w.harakiri as f64),
    );
    family(
        &mut out,
        "rsgi_worker_respawns",
        "counter",
        "Times the worker slot was respawned or replaced.",
        w,
        one(|w| w.spawns.saturating_sub(1) as f64),
    );
    family(
        &mut out,
        "rsgi_worker_tx_bytes",
        "counter",
        "Response body bytes sent.",
        w,
        one(|w| w.served.tx as f64),
    );
    family(
        &mut out,
        "rsgi_worker_rss_bytes",
        "gauge",
        "Resident memory of the worker process.",
        w,
        one(|w| w.rss as f64),
    );
    family(
        &mut out,
        "rsgi_worker_vsz_bytes",
        "gauge",
        "Virtual memory of the worker process.",
        w,
        one(|w| w.vsz as f64),
    );
    family(
        &mut out,
        "rsgi_worker_avg_response_time_seconds",
        "gauge",
        "Mean response time of the current worker process.",
        w,
        one(|w| w.avg_rt_us as f64 / 1e6),
    );
    family(
        &mut out,
        "rsgi_worker_in_flight",
        "gauge",
        "Requests in progress: on the worker's threads, and kept by its app to answer later (ASGI).",
        w,
        one(|w| f64::from(w.in_flight)),
    );
    family(
        &mut out,
        "rsgi_worker_websockets",
        "gauge",
        "WebSockets (upgraded connections) open on the worker.",
        w,
        one(|w| f64::from(w.websockets)),
    );
    family(
        &mut out,
        "rsgi_worker_status",
        "gauge",
        "1 for the state the worker is in, 0 for the others.",
        w,
        |w: &WorkerView| {
            STATES
                .iter()
                .map(|state| {
                    (
                        format!("{},state=\"{state}\"", worker_label(w)),
                        f64::from(u8::from(w.status == *state)),
                    )
                })
                .collect()
        },
    );
    let k = &s.sockets;
    family(
        &mut out,
        "rsgi_listen_queue",
        "gauge",
        "Connections waiting in the socket's accept queue.",
        k,
        |k| vec![(format!("socket=\"{}\"", escape(&k.name)), k.queue as f64)],
    );
    family(
        &mut out,
        "rsgi_listen_queue_max",
        "gauge",
        "Size of the socket's accept queue (--listen, capped by somaxconn).",
        k,
        |k| {
            vec![(
                format!("socket=\"{}\"", escape(&k.name)),
                k.max_queue as f64,
            )]
        },
    );
    family(
        &mut out,
        "rsgi_listen_queue_full",
        "counter",
        "Times the master found an accept queue full.",
        &[s.listen_queue_errors],
        |n| vec![(String::new(), *n as f64)],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn counters_get_the_total_suffix_and_every_state_a_series() {
        let s = Snapshot {
            pid: 1,
            uptime_s: 0,
            sockets: Vec::new(),
            listen_queue: 0,
            listen_queue_errors: 2,
            workers: vec![WorkerView {
                id: 3,
                pid: 9,
                status: "busy",
                accepting: true,
                served: Default::default(),
                delta_requests: 0,
                harakiri: 0,
                spawns: 1,
                rss: 0,
                vsz: 0,
                last_spawn: 0,
                avg_rt_us: 1500,
                cores: Vec::new(),
                in_flight: 2,
                websockets: 0,
            }],
            retiring: 0,
        };
        let text = render(&s);
        assert!(
            text.contains(
                "# TYPE rsgi_worker_requests counter\nrsgi_worker_requests_total{worker=\"3\"} 0\n"
            ),
            "{text}"
        );
        assert!(text.contains("rsgi_worker_status{worker=\"3\",state=\"busy\"} 1\n"));
        assert!(text.contains("rsgi_worker_in_flight{worker=\"3\"} 2\n"));
        assert!(text.contains("rsgi_worker_status{worker=\"3\",state=\"idle\"} 0\n"));
        assert!(text.contains("rsgi_worker_avg_response_time_seconds{worker=\"3\"} 0.0015\n"));
        assert!(text.contains("rsgi_listen_queue_full_total 2\n"));
    }
}
