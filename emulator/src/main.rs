//! `cargo run -p emulator`: the control API, reconcilers and listeners.
//! `cargo run -p emulator -- demo`: the uneven-versus-balanced demo.
//! `cargo run -p emulator -- compose up -f docker-compose.yml`: a compose
//! file on the emulated Fargate.

use clap::{Parser, Subcommand};
#[cfg(feature = "cli")]
use emulator::compose::{self, ComposeOptions};
#[cfg(feature = "cli")]
use emulator::demo::{self, DemoOptions};
use emulator::{Config, Emulator};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "emulator", version, about = "Local AWS Fargate + ALB emulator")]
struct Cli {
    #[command(flatten)]
    config: Config,
    /// Tokio worker threads (default: one per CPU, or TOKIO_WORKER_THREADS).
    /// `--workers 1` runs everything on one thread (the benchmarks' setting).
    #[arg(long, env = "EMULATOR_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the emulator (the default).
    Serve,
    /// Show skewed load without a load balancer, then even load through the
    /// ALB (about a minute; leaves nothing running).
    #[cfg(feature = "cli")]
    Demo(DemoOptions),
    /// Deploy a docker-compose.yml as ECS task definitions and services
    /// behind one ALB: `compose up|down|ps|scale|logs -f FILE`.
    #[cfg(feature = "cli")]
    Compose(ComposeOptions),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A refusal to start (a state file in use, a port taken) is for the
    // user: its causes, without a backtrace.
    match start(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start(cli: Cli) -> anyhow::Result<()> {
    // One worker is one thread, like nginx's single worker process: the
    // current-thread scheduler, without work-stealing bookkeeping. Without
    // --workers, tokio's builder honours TOKIO_WORKER_THREADS.
    let mut runtime = match cli.workers {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(n));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    runtime.enable_all().build()?.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    // The demo owns the terminal: only warnings unless RUST_LOG says otherwise.
    let default_level = match command {
        Command::Serve => "info",
        #[cfg(feature = "cli")]
        Command::Demo(_) | Command::Compose(_) => "warn",
    };
    init_tracing(cli.config.log_json, default_level);
    match command {
        Command::Serve => serve(cli.config).await,
        #[cfg(feature = "cli")]
        Command::Demo(options) => {
            match demo::run_with(options, cli.config, demo_stop_signal()).await {
                Ok(_) => Ok(()),
                // Cleaned up already; 130 is the shell's code for Ctrl-C.
                Err(demo::DemoError::Cancelled) => std::process::exit(130),
                Err(e) => Err(e.into()),
            }
        }
        #[cfg(feature = "cli")]
        Command::Compose(options) => {
            match compose::run(options, cli.config, demo_stop_signal()).await {
                Ok(()) => Ok(()),
                Err(compose::ComposeError::Cancelled) => std::process::exit(130),
                Err(e) => Err(e.into()),
            }
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let emulator = Emulator::start(config).await?;
    println!("emulator ready: {}", emulator.endpoint_url());
    shutdown_signal().await;
    tracing::info!("shutting down: stopping tasks and removing containers");
    emulator.shutdown().await;
    Ok(())
}

fn init_tracing(json: bool, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Ctrl-C, SIGTERM, or SIGHUP (the terminal closed): the demo cleans up on each.
#[cfg(feature = "cli")]
async fn demo_stop_signal() {
    #[cfg(unix)]
    {
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .expect("install SIGHUP handler");
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = hangup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    shutdown_signal().await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
