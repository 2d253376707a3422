//! The `stica` binary: parse the command line, set up logging, run.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = stica::cli::Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("STICA_LOG").unwrap_or_else(|_| "info".into());
    // Colours only on a terminal: log files and journald get plain text (and every request's
    // span is formatted once without escape codes).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format() {
        // The current span (the request, with its id) rides on every line.
        stica::config::LogFormat::Json => builder.json().with_current_span(true).init(),
        stica::config::LogFormat::Text => builder.init(),
    }
    match stica::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stica: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
