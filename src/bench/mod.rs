//! `stica bench`: load tools that drive a running server over HTTP, as clients would, and report
//! throughput and latency percentiles (docs/performance.md has the figures and how they were
//! made).
//!
//! - [`issue`]: the whole ACME issuance flow, per phase.
//! - [`ocsp`]: OCSP requests against any RFC 6960 responder (stica's or `openssl ocsp`).
//! - [`ocsp_request`]: building requests and checking responses.
//! - [`stats`]: exact percentiles and error tallies; [`progress`]: run control and the
//!   progress line.

pub mod issue;
pub mod ocsp;
pub mod ocsp_request;
pub mod progress;
pub mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

/// `stica bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run the whole ACME issuance (account, order, tkauth-01, finalize, download) with N
    /// concurrent workers; print issuances/s and latency percentiles per phase.
    Issue(issue::IssueArgs),
    /// Send OCSP requests (GET or POST) with N concurrent workers; print responses/s and
    /// latency percentiles.
    Ocsp(ocsp::OcspArgs),
}

/// Why a benchmark could not run (failures of individual requests are counted, not errors).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag or input file is unusable.
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// the file
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// A worker task died (a bug: workers count failures instead of failing).
    #[error("a worker stopped: {0}")]
    Worker(String),
    /// The report could not be written as JSON.
    #[error("cannot write the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Runs a `stica bench` command.
pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Issue(args) => issue::run(args).await,
        BenchCommand::Ocsp(args) => ocsp::run(args).await,
    }
    .map_err(|e| e.to_string())
}

/// `--duration`: `30s`, `2m`, `1h` (whole seconds, as elsewhere on the command line).
fn parse_run_duration(text: &str) -> Result<Duration, BenchError> {
    let secs = crate::cli::parse_duration(text).map_err(BenchError::Input)?;
    Ok(Duration::from_secs(secs.unsigned_abs()))
}
