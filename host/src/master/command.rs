//! What the master can be told to do, by a signal or by a byte on the master FIFO.

use nix::sys::signal::Signal;

/// One instruction to the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Graceful reload: re-exec the master keeping its sockets; new workers load the new
    /// code; old workers finish in-flight requests (SIGHUP, FIFO `r`, `--touch-reload`).
    Reload,
    /// Replace every worker (new workers are forked before the old ones stop) (FIFO `w`).
    ReloadWorkers,
    /// Replace workers one at a time, each only once the previous replacement accepts
    /// (FIFO `c`, `--touch-chain-reload`).
    ChainReload,
    /// Graceful shutdown (SIGTERM, FIFO `q`).
    Stop,
    /// Immediate shutdown (SIGINT, SIGQUIT, FIFO `Q`).
    Kill,
    /// Worker table to the log (SIGUSR1, FIFO `s`).
    Stats,
    /// One worker more (SIGTTIN, FIFO `+`).
    MoreWorkers,
    /// One worker less (SIGTTOU, FIFO `-`).
    FewerWorkers,
    /// Open the `--logto` file again, in the master and the workers (FIFO `l`,
    /// `--touch-logreopen`).
    ReopenLog,
    /// Nothing to do but look around (SIGCHLD, a worker asking to be recycled).
    Wake,
}

impl Command {
    /// The command a signal means.
    pub fn from_signal(signal: Signal) -> Option<Command> {
        Some(match signal {
            Signal::SIGHUP => Command::Reload,
            Signal::SIGTERM => Command::Stop,
            Signal::SIGINT | Signal::SIGQUIT => Command::Kill,
            Signal::SIGUSR1 => Command::Stats,
            Signal::SIGTTIN => Command::MoreWorkers,
            Signal::SIGTTOU => Command::FewerWorkers,
            Signal::SIGCHLD | Signal::SIGUSR2 => Command::Wake,
            _ => return None,
        })
    }

    /// The command a master-FIFO byte means (uWSGI's letters).
    pub fn from_fifo(byte: u8) -> Option<Command> {
        Some(match byte {
            b'r' => Command::Reload,
            b'w' => Command::ReloadWorkers,
            b'c' => Command::ChainReload,
            b'q' => Command::Stop,
            b'Q' => Command::Kill,
            b's' => Command::Stats,
            b'+' => Command::MoreWorkers,
            b'-' => Command::FewerWorkers,
            b'l' => Command::ReopenLog,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_letters_follow_uwsgi() {
        let map: Vec<_> = b"rwcqQs+-lx\n"
            .iter()
            .map(|b| Command::from_fifo(*b))
            .collect();
        assert_eq!(
            map,
            vec![
                Some(Command::Reload),
                Some(Command::ReloadWorkers),
                Some(Command::ChainReload),
                Some(Command::Stop),
                Some(Command::Kill),
                Some(Command::Stats),
                Some(Command::MoreWorkers),
                Some(Command::FewerWorkers),
                Some(Command::ReopenLog),
                None,
                None
            ]
        );
    }

    #[test]
    fn hup_reloads_and_term_stops() {
        assert_eq!(Command::from_signal(Signal::SIGHUP), Some(Command::Reload));
        assert_eq!(Command::from_signal(Signal::SIGTERM), Some(Command::Stop));
        assert_eq!(Command::from_signal(Signal::SIGQUIT), Some(Command::Kill));
    }
}
