//! `rsgi`: parse options, load plugins, bind sockets, load the app, run the master.
//! Errors become exit codes here and nowhere else.

mod config;
mod date;
mod error;
mod exec_hooks;
mod exit;
mod identity;
mod listen;
mod log_file;
mod logging;
mod master;
mod plugin;
mod process_env;
mod process_limits;
mod proctitle;
mod proxy;
mod scoreboard;
#[cfg(test)]
mod scratch;
mod signals;
mod static_expires;
mod static_map;
mod thunder_lock;
mod upgrade;
mod worker;

use config::catalog::Catalog;
use config::cli::{self, Parsed};
use config::sources::{self, Bootstrap};
use config::suggest::Suggestions;
use config::{Config, SocketProtocol};
use error::HostError;
use exec_hooks::Phase;
use exit::ExitCode;
use master::Master;
use plugin::Plugins;
use rsgi_plugin_api::ErrorKind;
use signals::SignalPipe;

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rsgi: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code.code());
}

fn run() -> Result<ExitCode, HostError> {
    process_env::remember_start_dir();
    // Before anything reads the environment for the app: the variables go, the fds stay.
    let passed = listen::activation::take_from_env().map_err(HostError::Usage)?;
    let args: Vec<String> = std::env::args().collect();
    // Before any process title overwrites the strings std::env::args() reads.
    proctitle::remember_args(&args);
    let env = |key: &str| std::env::var(key).ok();
    let boot = Bootstrap::gather(&args[1..], &env)?;
    let level_name = boot.log_level.clone().unwrap_or_else(|| "info".into());
    let level = logging::parse_level(&level_name)
        .ok_or_else(|| HostError::Usage(format!("invalid value '{level_name}' for --log-level: expected error, warn, info, debug or trace")))?;
    logging::init(level);

    if boot.list_plugins {
        print!("{}", plugin::list_available(&boot.plugin_dirs));
        return Ok(ExitCode::Clean);
    }
    plugin::offered::also_offer(vec![
        worker::exchange::offered,
        worker::exchange::offered_v2,
        worker::exchange::offered_v3,
        worker::handle_upgrade::offered_v1,
    ]);
    if let Some(output) = config::docs_out::requested(&args[1..])? {
        return config::docs_out::write(&output, &boot.plugin_dirs);
    }
    let plugins = Plugins::load(&plugin_specs(&boot), &boot.plugin_dirs)?;
    let mut catalog = Catalog::host();
    plugins.declare_options(&mut catalog)?;
    let suggest = Suggestions::new(&catalog, &plugins.app_names(), || {
        plugin::options_in_search_path(&boot.plugin_dirs)
    });
    let cli_values = match cli::parse(&catalog, &args, &suggest)? {
        Parsed::Print(text) => {
            print!("{text}");
            return Ok(ExitCode::Clean);
        }
        Parsed::Run(values) => values,
    };
    let file_values = sources::file_values(&boot.file_settings, &catalog, &suggest)?;
    let internal = [
        master::reload::ENV_FDS,
        master::reload::ENV_ACTIVATED,
        master::reload::ENV_WORKERS,
        master::reload::ENV_DAEMONS,
    ];
    let env_names = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| !internal.contains(&k.as_str()));
    // Loaded options only: a server that starts loads no other plugin file into the master.
    let loaded_only = Suggestions::new(&catalog, &plugins.app_names(), Vec::new);
    let env_warnings = sources::misspelt_env(&catalog, env_names, &loaded_only);
    let values = config::merge(cli_values, sources::read_env(&catalog, &env), file_values);
    let config = Config::from_values(&values, &catalog)?;
    process_env::apply(&config)?;
    config.limits.apply()?;
    if let Some(target) = &config.log_target {
        log_file::apply(target, master::reload::is_reexec())?;
    }
    if let Some(dir) = &config.chdir {
        tracing::info!("working directory {}", dir.display());
    }
    for warning in config.not_needed.iter().chain(&env_warnings) {
        tracing::warn!("{warning}");
    }
    config.exec_hooks.run(Phase::Asap)?;
    if let Some(identity) = &config.identity {
        identity.check()?;
    }
    let (app_name, app) = plugins.app().ok_or_else(|| {
        HostError::Usage("no app plugin loaded: add one, e.g. --plugin python".into())
    })?;
    let app_name = app_name.to_string();
    plugins.init(&config.plugin_options, level)?;
    upgrade::codecs::register(plugins.modules());
    signals::ignore_sigpipe();

    let inherited = master::reload::take_inherited();
    let listeners = listen::bind_all(
        &config,
        inherited.fds.as_deref(),
        &inherited.activated,
        &passed,
    )?;
    let stats = master::stats_server::StatsServer::bind(&config).inspect_err(|_| {
        listen::remove_socket_files(&listeners);
    })?;
    if let Some(pidfile) = &config.pidfile {
        std::fs::write(pidfile, format!("{}\n", std::process::id())).map_err(|e| {
            HostError::Runtime(format!("cannot write pidfile {}: {e}", pidfile.display()))
        })?;
    }
    let unbind = |e: HostError| {
        listen::remove_socket_files(&listeners);
        e
    };
    config.exec_hooks.run(Phase::AsRoot).map_err(unbind)?;
    // Sockets are bound (privileged ports, root-owned directories): root is no longer
    // needed, and no app code has run yet.
    if let Some(identity) = &config.identity {
        identity.assume().map_err(unbind)?;
        tracing::info!("running as {}", identity.describe());
    }
    config.exec_hooks.run(Phase::AsUser).map_err(unbind)?;
    tracing::info!(
        "rsgi {} master pid {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    for line in plugins.describe() {
        tracing::info!("plugin {line}");
    }
    for l in &listeners {
        tracing::info!(
            "listening on {} ({} protocol)",
            l.describe(),
            l.protocol().plugin_name()
        );
    }
    listen::warn_if_above_somaxconn(config.listen, listen::somaxconn());
    if config.accept == config::AcceptStrategy::ReusePort {
        listen::note_reuse_port_migration();
    }
    for line in stats.describe() {
        tracing::info!("{line}");
    }
    tracing::info!(
        "{} worker process(es), app runtime '{app_name}', {} mode",
        config.processes,
        if config.lazy_apps {
            "lazy-apps (app loaded in each worker)"
        } else {
            "preforking (app loaded in the master)"
        }
    );
    config.exec_hooks.run(Phase::PreApp).map_err(unbind)?;
    if !config.lazy_apps {
        match (app.load_app())(&worker::app_context(&config, 0)).into_result() {
            Ok(desc) => tracing::info!("app loaded: {desc}"),
            Err(e)
                if matches!(e.kind, ErrorKind::AppLoad | ErrorKind::Panic) && config.need_app =>
            {
                listen::remove_socket_files(&listeners);
                return Err(HostError::AppLoad(format!("{} (--need-app)", e.message)));
            }
            Err(e) => tracing::error!("app not loaded, every request will get 500: {}", e.message),
        }
    }
    config.exec_hooks.run(Phase::PostApp).map_err(unbind)?;
    let signals = SignalPipe::install(master::MASTER_SIGNALS)
        .map_err(|e| HostError::Runtime(format!("cannot install signal handlers: {e}")))?;
    // A master re-executed by a graceful reload starts with these blocked (pending
    // signals from its inherited workers are delivered now, to the handlers).
    signals::unblock(&signals::set_of(master::MASTER_SIGNALS));
    if let Some(title) = config.procname.master_title() {
        proctitle::set(&title);
    }
    let master = Master::new(config, plugins, app, listeners, stats, signals, &inherited)
        .map_err(HostError::Runtime)?;
    Ok(master.run())
}

/// The plugins to load: those asked for, plus the protocol plugins the sockets need.
fn plugin_specs(boot: &Bootstrap) -> Vec<String> {
    let mut specs = boot.plugins.clone();
    let mut need = |name: &str| {
        let present = specs.iter().any(|s| {
            s == name || (plugin::find::is_path(s) && s.contains(&format!("librsgi_{name}.")))
        });
        if !present {
            specs.push(name.to_string());
        }
    };
    if boot.wants_http {
        need(SocketProtocol::Http.plugin_name());
        // WebSocket's codec comes with HTTP, as in uWSGI (an app that never upgrades
        // never uses it).
        need("websocket");
    }
    if boot.wants_uwsgi {
        need(SocketProtocol::Uwsgi.plugin_name());
    }
    specs
}
