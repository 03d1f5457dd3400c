//! The stats document (`--stats`): a [`Snapshot`] as the JSON uWSGI's stats server
//! writes, so `uwsgitop` and the monitoring agents that read uWSGI read rsgi unchanged.
//!
//! Where rsgi has no counterpart the uWSGI key is still there with a neutral value
//! (`signals`, `signal_queue`: rsgi has no uWSGI signal framework; per-core
//! `static_requests` and friends: no offloading). Meanings follow uWSGI: `requests`
//! counts every request of the worker slot across respawns, `delta_requests` those of
//! the current process, `running_time` is the time spent in requests (µs), `avg_rt` the
//! mean response time (µs), `respawn_count` the processes started in the slot (1 for a
//! worker never respawned), `last_spawn` a Unix time in seconds. Statuses are rsgi's:
//! `starting`, `idle`, `busy`, `recycling`, `stopping`, and `down` for a slot waiting to
//! be respawned.

use serde_json::{json, Value};

use super::snapshot::{Snapshot, WorkerView};

/// The process's identity: (uid, gid, cwd).
fn identity() -> (u32, u32, String) {
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
        cwd,
    )
}

fn worker(w: &WorkerView) -> Value {
    let cores: Vec<Value> = w
        .cores
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": i,
                "requests": c.requests,
                "static_requests": 0,
                "routed_requests": 0,
                "offloaded_requests": 0,
                "write_errors": 0,
                "read_errors": 0,
                "in_request": u8::from(c.in_request),
                "vars": [],
                "req_info": {},
            })
        })
        .collect();
    json!({
        "id": w.id,
        "pid": w.pid,
        "accepting": u8::from(w.accepting),
        "requests": w.served.requests,
        "delta_requests": w.delta_requests,
        "exceptions": w.served.exceptions,
        "harakiri_count": w.harakiri,
        "signals": 0,
        "signal_queue": 0,
        "status": w.status,
        "rss": w.rss,
        "vsz": w.vsz,
        "running_time": w.served.running_time_us,
        "last_spawn": w.last_spawn,
        "respawn_count": w.spawns,
        "tx": w.served.tx,
        "avg_rt": w.avg_rt_us,
        "in_flight": w.in_flight,
        "websockets": w.websockets,
        "apps": [{
            "id": 0,
            "modifier1": 0,
            "mountpoint": "",
            "startup_time": 0,
            "requests": w.served.requests,
            "exceptions": w.served.exceptions,
            "chdir": "",
        }],
        "cores": cores,
    })
}

/// The whole document.
pub fn document(s: &Snapshot) -> Value {
    let (uid, gid, cwd) = identity();
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "server": "rsgi",
        "listen_queue": s.listen_queue,
        "listen_queue_errors": s.listen_queue_errors,
        "signal_queue": 0,
        "load": s.listen_queue,
        "pid": s.pid,
        "uid": uid,
        "gid": gid,
        "cwd": cwd,
        "sockets": s.sockets.iter().map(|k| json!({
            "name": k.name,
            "proto": k.proto,
            "queue": k.queue,
            "max_queue": k.max_queue,
            "shared": 0,
            "can_offload": 0,
        })).collect::<Vec<_>>(),
        "workers": s.workers.iter().map(worker).collect::<Vec<_>>(),
    })
}

/// The document as bytes, newline-terminated.
pub fn render(s: &Snapshot) -> Vec<u8> {
    let mut out = serde_json::to_vec(&document(s)).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::{CoreView, SocketView};
    use super::super::table::Served;
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            pid: 10,
            uptime_s: 5,
            sockets: vec![SocketView {
                name: "127.0.0.1:8000".into(),
                proto: "http",
                queue: 3,
                max_queue: 100,
            }],
            listen_queue: 3,
            listen_queue_errors: 1,
            workers: vec![WorkerView {
                id: 1,
                pid: 11,
                status: "idle",
                accepting: true,
                served: Served {
                    requests: 7,
                    exceptions: 1,
                    tx: 70,
                    running_time_us: 700,
                },
                delta_requests: 4,
                harakiri: 0,
                spawns: 2,
                rss: 1 << 20,
                vsz: 1 << 24,
                last_spawn: 1_700_000_000,
                avg_rt_us: 100,
                cores: vec![CoreView {
                    requests: 4,
                    in_request: false,
                }],
                in_flight: 0,
                websockets: 0,
            }],
            retiring: 0,
        }
    }

    #[test]
    fn the_document_has_the_keys_and_types_uwsgitop_reads() {
        let doc: Value = serde_json::from_slice(&render(&snapshot())).unwrap();
        assert_eq!(doc["listen_queue"], 3);
        assert_eq!(doc["sockets"][0]["max_queue"], 100);
        let w = &doc["workers"][0];
        assert_eq!(
            (&w["requests"], &w["delta_requests"], &w["respawn_count"]),
            (&json!(7), &json!(4), &json!(2))
        );
        assert_eq!(w["status"], "idle");
        assert_eq!(w["cores"][0]["in_request"], 0);
        assert!(doc["uid"].is_u64() && doc["cwd"].is_string());
    }
}
