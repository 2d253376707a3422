//! `stica delegate token`: a carrier mints an enterprise's delegation token with its stica-issued
//! `sca` or TN-level certificate ([`super::delegation`]; docs/delegation.md).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::TokenRequest;
use super::delegation::Delegator;

/// `stica delegate ...`
#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// Mint a delegation Authority Token for an enterprise's ACME account key, signed with the
    /// key of your stica-issued sca or TN-level certificate; prints the token.
    Token(DelegateTokenArgs),
}

/// `stica delegate token`
#[derive(Debug, Args)]
pub struct DelegateTokenArgs {
    /// Your delegating certificate chain (PEM: the certificate first, then its issuers), as
    /// stica's ACME download or STI-CR URL serves it.
    #[arg(long)]
    cert: PathBuf,
    /// That certificate's private key (PKCS#8 or SEC1 PEM).
    #[arg(long)]
    key: PathBuf,
    /// A telephone number to delegate (repeat).
    #[arg(long = "tn", conflicts_with = "tnauthlist")]
    tns: Vec<String>,
    /// A range to delegate, START+COUNT (repeat).
    #[arg(long = "range", conflicts_with = "tnauthlist")]
    ranges: Vec<String>,
    /// The SPC to name with the numbers (optional; only one the certificate lists).
    #[arg(long, conflicts_with = "tnauthlist")]
    spc: Option<String>,
    /// A TNAuthList in CLI syntax (tn:...,range:...+N) instead of --tn/--range.
    #[arg(long)]
    tnauthlist: Option<String>,
    /// The enterprise's ACME account key: a PEM private or public key, or a JWK file.
    #[arg(long)]
    account_key: PathBuf,
    /// Grant a CA certificate (only from an sca whose pathLen allows one more CA).
    #[arg(long)]
    ca: bool,
    /// Lifetime, e.g. 3600s, 30m, 1h, 2d.
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// Name the signer by this https URL of the chain (x5u) instead of embedding it (x5c).
    #[arg(long)]
    x5u: Option<String>,
}

/// Runs `stica delegate ...`.
pub fn run(cmd: DelegateCommand) -> Result<(), String> {
    let DelegateCommand::Token(args) = cmd;
    let spec = crate::cli::token_spec(args.spc, &args.tns, &args.ranges, args.tnauthlist)?;
    let list: crate::tnauth::TnAuthList = spec.parse().map_err(|e| format!("--tn/--range: {e}"))?;
    if !list.has_numbers() {
        return Err("a delegation token lists telephone numbers: give --tn or --range".into());
    }
    let account = crate::cli::account_public_key(&args.account_key)?;
    let ttl = crate::cli::parse_duration(&args.ttl)?;
    if ttl <= 0 {
        return Err("--ttl must be positive".into());
    }
    let chain = std::fs::read(&args.cert).map_err(|e| format!("{}: {e}", args.cert.display()))?;
    let key =
        std::fs::read_to_string(&args.key).map_err(|e| format!("{}: {e}", args.key.display()))?;
    let delegator = Delegator::from_pem(&chain, &key).map_err(|e| e.to_string())?;
    let req = TokenRequest::new(list, &account, args.ca, ttl.unsigned_abs());
    let token = delegator
        .mint(&req, args.x5u.as_deref(), crate::acme::now())
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}
