//! The `--cheaper*` options, checked into a [`CheaperConfig`] (the value types live here,
//! with the configuration; master/cheaper acts on them).

use std::time::Duration;

use super::sources::Values;
use super::{flag, last, number};
use crate::error::HostError;

/// The `--cheaper*` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheaperConfig {
    /// Fewest workers (`--cheaper`).
    pub min: u32,
    /// Workers at start (`--cheaper-initial`).
    pub initial: u32,
    /// Workers added at a time (`--cheaper-step`).
    pub step: u32,
    /// How long a state must last before the count changes (`--cheaper-overload`); the
    /// cycle length for busyness.
    pub overload: Duration,
    /// `--cheaper-algo`.
    pub algo: Algo,
    /// `--cheaper-rss-limit-soft` / `-hard`.
    pub rss_limits: Option<RssLimits>,
}

/// The algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    /// uWSGI's default: add when all are busy, retire when several idle.
    Spare,
    /// Follow the average utilisation over cycles.
    Busyness(BusynessConfig),
}

/// The `--cheaper-busyness-*` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusynessConfig {
    /// Average busyness (%) under which a cycle counts as idle.
    pub min_pct: u32,
    /// Average busyness (%) over which workers are added.
    pub max_pct: u32,
    /// Idle cycles before a worker is retired.
    pub multiplier: u32,
    /// Cycles added to `multiplier` when workers come back too soon after a retirement.
    pub penalty: u32,
    /// Queued connections that add an emergency worker at once.
    pub backlog_alert: u32,
    /// Idle cycles before an emergency worker is retired.
    pub backlog_multiplier: u32,
    /// Emergency workers added at a time.
    pub backlog_step: u32,
    /// How long a non-empty queue may last before an emergency worker is added.
    pub backlog_nonzero: Duration,
    /// Log each cycle's figures.
    pub verbose: bool,
}

impl Default for BusynessConfig {
    /// uWSGI's defaults.
    fn default() -> Self {
        BusynessConfig {
            min_pct: 25,
            max_pct: 50,
            multiplier: 10,
            penalty: 1,
            backlog_alert: 33,
            backlog_multiplier: 3,
            backlog_step: 1,
            backlog_nonzero: Duration::from_secs(60),
            verbose: false,
        }
    }
}

/// The limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RssLimits {
    /// `--cheaper-rss-limit-soft`.
    pub soft: u64,
    /// `--cheaper-rss-limit-hard` (above `soft`).
    pub hard: Option<u64>,
}

/// The `--cheaper-busyness-*` options, in uWSGI's names.
const BUSYNESS_OPTIONS: [&str; 9] = [
    "cheaper-busyness-min",
    "cheaper-busyness-max",
    "cheaper-busyness-multiplier",
    "cheaper-busyness-penalty",
    "cheaper-busyness-verbose",
    "cheaper-busyness-backlog-alert",
    "cheaper-busyness-backlog-multiplier",
    "cheaper-busyness-backlog-step",
    "cheaper-busyness-backlog-nonzero",
];

fn usage(message: String) -> HostError {
    HostError::Usage(message)
}

/// `None` when `--cheaper` is absent or 0 (always `processes` workers).
pub fn cheaper(values: &Values, processes: u32) -> Result<Option<CheaperConfig>, HostError> {
    let min: u32 = number(values, "cheaper", 0)?;
    let algo = last(values, "cheaper-algo").unwrap_or("spare");
    let busyness_given = BUSYNESS_OPTIONS.iter().find(|o| values.contains_key(**o));
    let rss_limits = rss_limits(values)?;
    if min == 0 {
        if rss_limits.is_some() {
            return Err(usage(
                "--cheaper-rss-limit-soft bounds what --cheaper does: give --cheaper N too".into(),
            ));
        }
        if let Some(option) = busyness_given {
            return Err(usage(format!(
                "--{option} tunes --cheaper-algo busyness: give --cheaper N too"
            )));
        }
        return Ok(None);
    }
    if min >= processes {
        return Err(usage(format!(
            "--cheaper ({min}) must be lower than --processes ({processes}), the most workers it may run"
        )));
    }
    let initial: u32 = number(values, "cheaper-initial", min)?;
    if !(min..=processes).contains(&initial) {
        return Err(usage(format!(
            "--cheaper-initial ({initial}) must be between --cheaper ({min}) and --processes ({processes})"
        )));
    }
    let step: u32 = number(values, "cheaper-step", 1)?;
    let overload: u64 = number(values, "cheaper-overload", 3)?;
    if step == 0 || overload == 0 {
        return Err(usage(
            "--cheaper-step and --cheaper-overload must be at least 1".into(),
        ));
    }
    let algo = match (algo, busyness_given) {
        ("busyness", _) => Algo::Busyness(busyness(values)?),
        ("spare", None) => Algo::Spare,
        ("spare", Some(option)) => {
            return Err(usage(format!(
                "--{option} applies to --cheaper-algo busyness, not spare"
            )))
        }
        (other, _) => {
            return Err(usage(format!(
                "--cheaper-algo {other}: the algorithms are 'spare' (the default) and 'busyness'"
            )))
        }
    };
    Ok(Some(CheaperConfig {
        min,
        initial,
        step,
        overload: Duration::from_secs(overload),
        algo,
        rss_limits,
    }))
}

/// `--cheaper-rss-limit-soft` and `--cheaper-rss-limit-hard`, in bytes as in uWSGI; the
/// hard one needs the soft one, and must be above it.
fn rss_limits(values: &Values) -> Result<Option<RssLimits>, HostError> {
    let soft: u64 = number(values, "cheaper-rss-limit-soft", 0)?;
    let hard: u64 = number(values, "cheaper-rss-limit-hard", 0)?;
    match (soft, hard) {
        (0, 0) => Ok(None),
        (0, _) => Err(usage(
            "--cheaper-rss-limit-hard needs --cheaper-rss-limit-soft (below it)".into(),
        )),
        (soft, hard) if hard != 0 && hard <= soft => Err(usage(format!(
            "--cheaper-rss-limit-hard ({hard}) must be above --cheaper-rss-limit-soft ({soft})"
        ))),
        (soft, hard) => Ok(Some(RssLimits {
            soft,
            hard: (hard != 0).then_some(hard),
        })),
    }
}

fn busyness(values: &Values) -> Result<BusynessConfig, HostError> {
    let d = BusynessConfig::default();
    let config = BusynessConfig {
        min_pct: number(values, "cheaper-busyness-min", d.min_pct)?,
        max_pct: number(values, "cheaper-busyness-max", d.max_pct)?,
        multiplier: number(values, "cheaper-busyness-multiplier", d.multiplier)?,
        penalty: number(values, "cheaper-busyness-penalty", d.penalty)?,
        backlog_alert: number(values, "cheaper-busyness-backlog-alert", d.backlog_alert)?,
        backlog_multiplier: number(
            values,
            "cheaper-busyness-backlog-multiplier",
            d.backlog_multiplier,
        )?,
        backlog_step: number(values, "cheaper-busyness-backlog-step", d.backlog_step)?,
        backlog_nonzero: Duration::from_secs(number(
            values,
            "cheaper-busyness-backlog-nonzero",
            d.backlog_nonzero.as_secs(),
        )?),
        verbose: flag(values, "cheaper-busyness-verbose"),
    };
    if config.min_pct >= config.max_pct || config.max_pct > 100 {
        return Err(usage(format!(
            "--cheaper-busyness-min ({}) must be lower than --cheaper-busyness-max ({}), which is at most 100",
            config.min_pct, config.max_pct
        )));
    }
    if config.multiplier == 0 || config.backlog_multiplier == 0 || config.backlog_step == 0 {
        return Err(usage(
            "--cheaper-busyness-multiplier, -backlog-multiplier and -backlog-step must be at least 1"
                .into(),
        ));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::super::values;
    use super::*;

    #[test]
    fn cheaper_options_are_checked_against_processes() {
        let c = cheaper(&values(&[("cheaper", "2"), ("cheaper-step", "3")]), 8).unwrap();
        assert_eq!(
            c,
            Some(CheaperConfig {
                min: 2,
                initial: 2,
                step: 3,
                overload: Duration::from_secs(3),
                algo: Algo::Spare,
                rss_limits: None,
            })
        );
        let limited = cheaper(
            &values(&[
                ("cheaper", "1"),
                ("cheaper-rss-limit-soft", "1000"),
                ("cheaper-rss-limit-hard", "2000"),
            ]),
            4,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            limited.rss_limits,
            Some(RssLimits {
                soft: 1000,
                hard: Some(2000)
            })
        );
        assert_eq!(cheaper(&values(&[("cheaper", "0")]), 8).unwrap(), None);
        for (processes, pairs, needle) in [
            (2, &[("cheaper", "2")][..], "lower than --processes"),
            (
                4,
                &[("cheaper", "1"), ("cheaper-initial", "5")],
                "between --cheaper (1) and --processes (4)",
            ),
            (
                4,
                &[("cheaper", "1"), ("cheaper-algo", "backlog")],
                "'spare' (the default) and 'busyness'",
            ),
            (4, &[("cheaper", "1"), ("cheaper-step", "0")], "at least 1"),
            (
                4,
                &[("cheaper-rss-limit-soft", "1000")],
                "give --cheaper N too",
            ),
            (
                4,
                &[("cheaper-busyness-max", "60")],
                "--cheaper-busyness-max tunes --cheaper-algo busyness: give --cheaper N too",
            ),
            (
                4,
                &[("cheaper", "1"), ("cheaper-rss-limit-hard", "1000")],
                "needs --cheaper-rss-limit-soft",
            ),
            (
                4,
                &[
                    ("cheaper", "1"),
                    ("cheaper-rss-limit-soft", "1000"),
                    ("cheaper-rss-limit-hard", "1000"),
                ],
                "must be above --cheaper-rss-limit-soft (1000)",
            ),
            (
                4,
                &[("cheaper", "1"), ("cheaper-busyness-max", "60")],
                "--cheaper-busyness-max applies to --cheaper-algo busyness",
            ),
            (
                4,
                &[
                    ("cheaper", "1"),
                    ("cheaper-algo", "busyness"),
                    ("cheaper-busyness-min", "60"),
                ],
                "must be lower than --cheaper-busyness-max (50)",
            ),
        ] {
            let err = cheaper(&values(pairs), processes).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn busyness_takes_uwsgi_defaults_and_its_options() {
        let c = cheaper(
            &values(&[
                ("cheaper", "8"),
                ("cheaper-algo", "busyness"),
                ("cheaper-busyness-multiplier", "30"),
                ("cheaper-busyness-min", "20"),
                ("cheaper-busyness-max", "70"),
                ("cheaper-busyness-backlog-alert", "16"),
                ("cheaper-busyness-backlog-step", "2"),
                ("cheaper-busyness-verbose", "true"),
            ]),
            128,
        )
        .unwrap()
        .unwrap();
        let Algo::Busyness(b) = c.algo else {
            panic!("{c:?}")
        };
        assert_eq!((b.min_pct, b.max_pct, b.multiplier), (20, 70, 30));
        assert_eq!((b.backlog_alert, b.backlog_step), (16, 2));
        assert_eq!(
            (b.penalty, b.backlog_multiplier),
            (1, 3),
            "uWSGI's defaults"
        );
        assert!(b.verbose);
    }
}
