//! A one-screen summary of the workers for the log (SIGUSR1, FIFO `s`): a title line,
//! a table with one row per worker, each under 80 columns.

use super::snapshot::Snapshot;

/// `1536` → `1.5K`, as uwsgitop shows sizes.
fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1}M", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1}K", n as f64 / 1024.0),
        n => n.to_string(),
    }
}

/// The summary's lines (without the log prefix).
pub fn lines(s: &Snapshot) -> Vec<String> {
    let queue_max = s.sockets.iter().map(|k| k.max_queue).max().unwrap_or(0);
    let mut out = vec![
        format!(
            "stats: up {}s, {} requests, {} worker(s), {} retiring, listen queue {}/{}",
            s.uptime_s,
            s.total_requests(),
            s.workers.len(),
            s.retiring,
            s.listen_queue,
            queue_max
        ),
        format!(
            "stats: {:>4} {:>8} {:<9} {:>8} {:>5} {:>8} {:>7} {:>7} {:>4} {:>3}",
            "WID", "PID", "STATUS", "REQ", "EXC", "AVG", "RSS", "TX", "RESP", "HK"
        ),
    ];
    for w in &s.workers {
        out.push(format!(
            "stats: {:>4} {:>8} {:<9} {:>8} {:>5} {:>6.1}ms {:>7} {:>7} {:>4} {:>3}",
            w.id,
            w.pid,
            w.status,
            w.served.requests,
            w.served.exceptions,
            w.avg_rt_us as f64 / 1000.0,
            human(w.rss),
            human(w.served.tx),
            w.spawns.saturating_sub(1),
            w.harakiri
        ));
    }
    out
}

/// Logs the summary.
pub fn log_summary(s: &Snapshot) {
    for line in lines(s) {
        tracing::info!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_as_uwsgitop_does() {
        assert_eq!(human(512), "512");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(3 << 20), "3.0M");
    }
}
