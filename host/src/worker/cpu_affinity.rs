//! `--cpu-affinity N` (uWSGI's): each worker runs on N CPUs of its own, handed out in
//! turn: worker 1 gets CPUs 0..N, worker 2 the next N, and so on, wrapping around the
//! CPUs the master may use. Keeps a worker's caches warm on a machine that runs little
//! else; the master itself is left alone.

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// The CPUs worker `id` (1-based) gets out of `usable` (the master's, in order), `n` each.
pub fn cpus_for(id: u32, n: usize, usable: &[usize]) -> Vec<usize> {
    if usable.is_empty() || n == 0 {
        return Vec::new();
    }
    let first = (id.saturating_sub(1) as usize * n) % usable.len();
    (0..n.min(usable.len()))
        .map(|i| usable[(first + i) % usable.len()])
        .collect()
}

/// Binds this worker (`id`) to its `n` CPUs; a failure is logged and the worker runs on.
pub fn apply(id: u32, n: usize) {
    let usable = match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!("worker {id}: --cpu-affinity: cannot read the usable CPUs: {e}");
            return;
        }
    };
    let cpus = cpus_for(id, n, &usable);
    let mut set = CpuSet::new();
    for &cpu in &cpus {
        if let Err(e) = set.set(cpu) {
            tracing::warn!("worker {id}: --cpu-affinity: CPU {cpu}: {e}");
            return;
        }
    }
    match sched_setaffinity(Pid::from_raw(0), &set) {
        Ok(()) => tracing::info!("worker {id} runs on CPU(s) {cpus:?}"),
        Err(e) => tracing::warn!("worker {id}: --cpu-affinity: cannot bind to {cpus:?}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_take_their_cpus_in_turn_and_wrap_around() {
        let four = [0, 1, 2, 3];
        assert_eq!(cpus_for(1, 1, &four), vec![0]);
        assert_eq!(cpus_for(2, 1, &four), vec![1]);
        assert_eq!(cpus_for(5, 1, &four), vec![0]);
        assert_eq!(cpus_for(1, 2, &four), vec![0, 1]);
        assert_eq!(cpus_for(2, 2, &four), vec![2, 3]);
        assert_eq!(cpus_for(3, 2, &four), vec![0, 1]);
        // Only some CPUs usable (a cgroup's cpuset): those, in turn.
        assert_eq!(cpus_for(2, 1, &[2, 5]), vec![5]);
        // More asked than there are: all of them.
        assert_eq!(cpus_for(1, 8, &[0, 1]), vec![0, 1]);
        assert!(cpus_for(1, 0, &four).is_empty());
    }
}
