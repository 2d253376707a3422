//! `stica bench issue`: N workers run the whole SHAKEN issuance against a directory, as fast as
//! the server answers, and the per-phase latencies are summarized.
//!
//! One iteration (RFC 8555 §7 with RFC 9447/9448): `account` (a fresh P-256 account key, the
//! directory and newAccount; with `--reuse-account` only the worker's first iteration has it),
//! `order` (newOrder and reading its authorization), `token` (the Authority Token: minted
//! locally from the dev token authority's files, or asked of a token authority over HTTP),
//! `challenge` (the tkauth-01 response and polling the authorization until valid), `finalize`
//! (a fresh certificate key, the CSR, finalize and polling the order until valid), `download`
//! (the PEM chain). `total` is the whole iteration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::progress::{self, Run};
use super::stats::{ErrorTally, Samples, Summary, table_header, table_row};
use super::{BenchError, parse_run_duration};
use crate::acme::{AuthzStatus, OrderStatus};
use crate::client::{
    AcmeClient, ClientError, PollPolicy, TkauthField, TokenSource, generate_csr, http_client,
    problem_short_type,
};
use crate::jose::EcSigner;
use crate::pa::{DevTokenAuthority, TokenRequest};
use crate::tnauth::TnAuthList;

/// The phases of one issuance, in order; `total` is appended in reports.
pub const PHASES: [&str; 6] = [
    "account",
    "order",
    "token",
    "challenge",
    "finalize",
    "download",
];

/// Authority Tokens minted for the benchmark live this long (RFC 9447 §3.1 `exp`).
const TOKEN_TTL_SECS: u64 = 300;

/// `stica bench issue`
#[derive(Debug, Clone, Args)]
pub struct IssueArgs {
    /// The ACME directory URL.
    #[arg(long)]
    pub directory: String,
    /// Concurrent workers (each runs one issuance at a time).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// How long to run: `30s`, `2m`.
    #[arg(long, default_value = "30s")]
    pub duration: String,
    /// Stop after this many issuances (whichever of this and --duration comes first).
    #[arg(long)]
    pub count: Option<u64>,
    /// Start at most this many issuances per second over all workers (default: as fast as the
    /// workers go); e.g. half of the peak rate, for latencies at half load.
    #[arg(long)]
    pub rate: Option<f64>,
    /// The TNAuthList every order asks for.
    #[arg(long, default_value = "spc:1234")]
    pub tnauthlist: String,
    /// Mint tokens locally from the dev token authority's directory (`<data-dir>/pa` of the
    /// server): fast, no HTTP, the token cost stays on the client.
    #[arg(long, conflicts_with = "token_authority")]
    pub pa_data_dir: Option<PathBuf>,
    /// Ask this token authority (STI-PA HTTP API) for every token instead.
    #[arg(long, requires_all = ["pa_user", "pa_password"])]
    pub token_authority: Option<String>,
    /// The token authority login.
    #[arg(long)]
    pub pa_user: Option<String>,
    /// The token authority password.
    #[arg(long, env = "STICA_PA_PASSWORD", hide_env_values = true)]
    pub pa_password: Option<String>,
    /// One account per worker, registered in its first iteration and reused (default: a new
    /// account for every issuance).
    #[arg(long)]
    pub reuse_account: bool,
    /// Trust this PEM bundle for an https directory.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Write every issued chain to this directory (`<worker>-<n>.pem`).
    #[arg(long)]
    pub save_chains: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Where tokens come from.
enum Tokens {
    /// Minted in-process by the dev token authority.
    Local(DevTokenAuthority),
    /// Fetched over the STI-PA HTTP API.
    Remote(TokenSource),
}

/// What every worker shares.
struct Ctx {
    args: IssueArgs,
    list: TnAuthList,
    tokens: Tokens,
    http: reqwest::Client,
    run: Arc<Run>,
}

/// One worker's results.
#[derive(Default)]
struct Tally {
    phases: [Samples; PHASES.len()],
    total: Samples,
    errors: ErrorTally,
}

/// The report: printed as a table or as JSON.
#[derive(Debug, Serialize)]
pub struct IssueReport {
    /// always "issue"
    pub bench: &'static str,
    /// the directory URL
    pub directory: String,
    /// workers
    pub concurrency: usize,
    /// `per-issuance` or `per-worker`
    pub accounts: &'static str,
    /// the `--rate` asked for (issuances started per second), if any
    pub rate: Option<f64>,
    /// `local` (minted from --pa-data-dir) or `http`
    pub tokens: &'static str,
    /// wall time of the run
    pub elapsed_secs: f64,
    /// certificates issued and downloaded
    pub successes: u64,
    /// iterations that failed
    pub errors: u64,
    /// successes per second of wall time
    pub issuances_per_sec: f64,
    /// failures by `phase: kind`
    pub errors_by_type: ErrorTally,
    /// latency per phase, in flow order (phases that never completed are absent); a JSON
    /// object keyed by phase
    #[serde(serialize_with = "super::stats::as_map")]
    pub phases: Vec<(String, Summary)>,
}

/// Runs the benchmark and prints the report.
pub async fn run(args: IssueArgs) -> Result<(), BenchError> {
    let report = measure(args.clone()).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// Runs the benchmark and returns the report.
pub async fn measure(args: IssueArgs) -> Result<IssueReport, BenchError> {
    if args.concurrency == 0 {
        return Err(BenchError::Input("--concurrency must be at least 1".into()));
    }
    let duration = parse_run_duration(&args.duration)?;
    let list: TnAuthList = args
        .tnauthlist
        .parse()
        .map_err(|e| BenchError::Input(format!("--tnauthlist {:?}: {e}", args.tnauthlist)))?;
    let tokens = match (&args.pa_data_dir, &args.token_authority) {
        (Some(dir), None) => Tokens::Local(
            DevTokenAuthority::open(dir)
                .map_err(|e| BenchError::Input(format!("--pa-data-dir: {e}")))?,
        ),
        (None, Some(url)) => Tokens::Remote(TokenSource::Authority {
            base_url: url.clone(),
            user: args.pa_user.clone().unwrap_or_default(),
            password: args.pa_password.clone().unwrap_or_default(),
            ca: false,
        }),
        _ => {
            return Err(BenchError::Input(
                "give --pa-data-dir DIR or --token-authority URL --pa-user --pa-password".into(),
            ));
        }
    };
    if let Some(dir) = &args.save_chains {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::Io {
            path: dir.clone(),
            source: e,
        })?;
    }
    let http =
        http_client(args.ca_file.as_deref()).map_err(|e| BenchError::Input(e.to_string()))?;
    let mut run = Run::new(duration, args.count);
    if let Some(rate) = args.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(BenchError::Input("--rate must be a positive number".into()));
        }
        run = run.with_rate(rate);
    }
    let run = Arc::new(run);
    let ctx = Arc::new(Ctx {
        list,
        tokens,
        http,
        run: run.clone(),
        args: args.clone(),
    });
    let bar = progress::spawn(run.clone(), "bench issue", !args.json);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|id| tokio::spawn(worker(ctx.clone(), id)))
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        let t = w.await.map_err(|e| BenchError::Worker(e.to_string()))?;
        for (mine, theirs) in tally.phases.iter_mut().zip(t.phases) {
            mine.merge(theirs);
        }
        tally.total.merge(t.total);
        tally.errors.merge(t.errors);
    }
    progress::clear(bar);
    let elapsed = run.elapsed().as_secs_f64();
    let successes = tally.total.len() as u64;
    let mut phases: Vec<(String, Summary)> = PHASES
        .iter()
        .zip(tally.phases)
        .filter_map(|(name, s)| s.summary().map(|s| (name.to_string(), s)))
        .collect();
    if let Some(total) = tally.total.summary() {
        phases.push(("total".into(), total));
    }
    Ok(IssueReport {
        bench: "issue",
        directory: args.directory,
        concurrency: args.concurrency,
        accounts: if args.reuse_account {
            "per-worker"
        } else {
            "per-issuance"
        },
        rate: args.rate,
        tokens: match ctx.tokens {
            Tokens::Local(_) => "local",
            Tokens::Remote(_) => "http",
        },
        elapsed_secs: elapsed,
        successes,
        errors: tally.errors.total(),
        issuances_per_sec: if elapsed > 0.0 {
            successes as f64 / elapsed
        } else {
            0.0
        },
        errors_by_type: tally.errors,
        phases,
    })
}

impl IssueReport {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = format!(
            "stica bench issue: {} workers{}, accounts {}, tokens {}, {:.1} s\n\
             {} issued, {} failed, {:.1} issuances/s\n\n{}\n",
            self.concurrency,
            self.rate
                .map(|r| format!(" paced at {r}/s"))
                .unwrap_or_default(),
            self.accounts,
            self.tokens,
            self.elapsed_secs,
            self.successes,
            self.errors,
            self.issuances_per_sec,
            table_header()
        );
        for (name, s) in &self.phases {
            out.push_str(&table_row(name, s));
            out.push('\n');
        }
        out.push_str(&self.errors_by_type.text());
        out
    }
}

/// A worker: issuances back to back until the run ends.
async fn worker(ctx: Arc<Ctx>, id: usize) -> Tally {
    let mut tally = Tally::default();
    let mut account: Option<AcmeClient> = None;
    let mut n = 0u64;
    while ctx.run.next_paced().await {
        let start = Instant::now();
        let result = issue_once(&ctx, &mut account, &mut tally.phases).await;
        match result {
            Ok(chain) => {
                tally.total.record(start.elapsed());
                ctx.run.done(true);
                if let Some(dir) = &ctx.args.save_chains {
                    // Saving is best effort: a full disk must not skew the timing report.
                    let _ = std::fs::write(dir.join(format!("{id}-{n}.pem")), chain);
                }
                n += 1;
            }
            Err((phase, e)) => {
                tally.errors.add(format!("{phase}: {}", error_kind(&e)));
                ctx.run.done(false);
                tracing::debug!(worker = id, phase, error = %e, "issuance failed");
                // A broken account (deactivated, rate-limited) must not fail every later try.
                account = None;
            }
        }
    }
    tally
}

/// Times one phase into its samples; the error carries the phase name.
async fn timed<T>(
    samples: &mut [Samples; PHASES.len()],
    phase: usize,
    f: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, (&'static str, ClientError)> {
    let start = Instant::now();
    let out = f.await;
    let name = PHASES.get(phase).copied().unwrap_or("?");
    match out {
        Ok(v) => {
            if let Some(s) = samples.get_mut(phase) {
                s.record(start.elapsed());
            }
            Ok(v)
        }
        Err(e) => Err((name, e)),
    }
}

/// One issuance; returns the PEM chain.
async fn issue_once(
    ctx: &Ctx,
    account: &mut Option<AcmeClient>,
    samples: &mut [Samples; PHASES.len()],
) -> Result<String, (&'static str, ClientError)> {
    if account.is_none() || !ctx.args.reuse_account {
        let client = timed(samples, 0, new_account(ctx)).await?;
        *account = Some(client);
    }
    let Some(client) = account.as_ref() else {
        return Err(("account", ClientError::NoAccount));
    };

    let (order_url, order, authz_urls) = timed(samples, 1, async {
        let (url, order) = client.new_order(&ctx.list, None, None).await?;
        let mut pending = Vec::new();
        for authz_url in &order.authorizations {
            let authz = client.authz(authz_url).await?;
            if authz.status == AuthzStatus::Valid {
                continue;
            }
            let challenge = crate::client::acme::tkauth_challenge(&authz, authz_url)?;
            pending.push((authz_url.clone(), challenge.url.clone()));
        }
        Ok((url, order, pending))
    })
    .await?;

    if !authz_urls.is_empty() {
        let token = timed(samples, 2, token(ctx, client.account_key())).await?;
        timed(samples, 3, async {
            for (authz_url, challenge_url) in &authz_urls {
                client
                    .answer_tkauth(
                        authz_url,
                        challenge_url,
                        &token,
                        TkauthField::Atc,
                        format!("authorization {authz_url}"),
                    )
                    .await?;
            }
            Ok(())
        })
        .await?;
    }

    let cert_url = timed(samples, 4, async {
        let cert_key = EcSigner::generate()?;
        let csr = generate_csr(&cert_key, &ctx.list.to_der())?;
        let mut order = client.finalize(&order, &csr).await?;
        if matches!(order.status, OrderStatus::Pending | OrderStatus::Processing) {
            order = client.poll_order(&order_url).await?;
        }
        match (order.status, order.certificate) {
            (OrderStatus::Valid, Some(url)) => Ok(url),
            (status, _) => Err(ClientError::Failed {
                what: format!("finalizing {order_url} ({})", status.as_str()),
                problem: order.error.map(Box::new),
            }),
        }
    })
    .await?;

    let chain = timed(samples, 5, client.download_chain(&cert_url)).await?;
    Ok(chain.pem)
}

/// A fresh account key, the directory, newAccount.
async fn new_account(ctx: &Ctx) -> Result<AcmeClient, ClientError> {
    let key = EcSigner::generate()?;
    let mut client = AcmeClient::new(&ctx.args.directory, key, ctx.http.clone()).await?;
    client.set_terms_agreed(true);
    // The server validates and signs inline: poll quickly so waits do not dominate latencies.
    client.set_poll_policy(PollPolicy {
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(100),
        timeout: Duration::from_secs(60),
    });
    client.new_account(&[], None, false).await?;
    Ok(client)
}

/// An Authority Token for the benchmark's TNAuthList, bound to `key`'s account.
async fn token(ctx: &Ctx, key: &EcSigner) -> Result<String, ClientError> {
    let jwk = key.public_jwk();
    match &ctx.tokens {
        Tokens::Local(pa) => {
            let mut req = TokenRequest::new(ctx.list.clone(), &jwk, false, TOKEN_TTL_SECS);
            req.x5u_or_x5c = pa.default_signer_ref();
            // The authority logs every token it mints; thousands of lines would bury the
            // report, so minting runs without a subscriber.
            tracing::dispatcher::with_default(&tracing::Dispatch::none(), || pa.mint(&req))
                .map_err(|e| ClientError::Input(format!("minting a token: {e}")))
        }
        Tokens::Remote(source) => Ok(source.fetch(&ctx.http, &ctx.list, &jwk).await?),
    }
}

/// The error's kind for the tally: the ACME problem type when there is one.
pub fn error_kind(e: &ClientError) -> String {
    match e {
        ClientError::Problem { problem, .. } => problem_short_type(problem).to_string(),
        ClientError::Failed {
            problem: Some(p), ..
        } => problem_short_type(p).to_string(),
        ClientError::Failed { problem: None, .. } => "failed".into(),
        ClientError::Transport { .. } => "transport".into(),
        ClientError::Http { status, .. } => format!("http-{status}"),
        ClientError::Protocol { .. } => "protocol".into(),
        ClientError::Timeout { .. } => "timeout".into(),
        ClientError::NoAccount => "noAccount".into(),
        ClientError::Token(_) => "token".into(),
        ClientError::Io { .. } | ClientError::Key { .. } | ClientError::Input(_) => "local".into(),
        ClientError::Csr(_) | ClientError::Crypto(_) => "crypto".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problem;

    #[test]
    fn errors_are_named_by_problem_type() {
        let problem: Problem = serde_json::from_value(serde_json::json!({
            "type": "urn:ietf:params:acme:error:badNonce",
            "detail": "stale",
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let e = ClientError::Problem {
            status: 400,
            problem: Box::new(problem.clone()),
        };
        assert_eq!(error_kind(&e), "badNonce");
        let e = ClientError::Failed {
            what: "x".into(),
            problem: Some(Box::new(problem)),
        };
        assert_eq!(error_kind(&e), "badNonce");
        let e = ClientError::Timeout {
            what: "x".into(),
            secs: 1,
        };
        assert_eq!(error_kind(&e), "timeout");
        let e = ClientError::Http {
            url: "u".into(),
            status: 502,
            body: String::new(),
        };
        assert_eq!(error_kind(&e), "http-502");
    }

    #[test]
    fn report_text_lists_phases_and_errors() {
        let mut errors = ErrorTally::default();
        errors.add("finalize: badCSR");
        let mut s = Samples::default();
        s.record(Duration::from_millis(2));
        let report = IssueReport {
            bench: "issue",
            directory: "http://x/directory".into(),
            concurrency: 2,
            accounts: "per-issuance",
            rate: None,
            tokens: "local",
            elapsed_secs: 1.0,
            successes: 1,
            errors: 1,
            issuances_per_sec: 1.0,
            errors_by_type: errors,
            phases: vec![("total".into(), s.summary().unwrap_or_else(|| panic!()))],
        };
        let text = report.text();
        assert!(
            text.contains("1 issued, 1 failed, 1.0 issuances/s"),
            "{text}"
        );
        assert!(text.contains("total"), "{text}");
        assert!(text.contains("finalize: badCSR"), "{text}");
        let json = serde_json::to_value(&report).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json["successes"], 1);
        assert_eq!(json["errors_by_type"]["finalize: badCSR"], 1);
    }
}
