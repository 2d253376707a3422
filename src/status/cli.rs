//! Operator commands for revocation and publication: `stica revoke`, `stica revocations export`
//! and `stica api-token`. They work on the data directory and database directly (no server
//! needed); a running server serves what they write.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::ca::crl_signer::CrlSigner;
use crate::cli::{CommonArgs, load_config};
use crate::config::Config;
use crate::sa::Storage;
use crate::wfe::Urls;

use super::api::generate_token;
use super::crl::{CRL_ID, CrlPublisher};
use super::reason::{self, Reason};

/// `stica revoke`
#[derive(Debug, Clone, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The certificate's serial number, hex (colons allowed).
    #[arg(long)]
    serial: String,
    /// RFC 5280 reason: a code (0-5, 9, 10) or its name (keyCompromise, superseded, ...).
    #[arg(long, default_value = "0")]
    reason: String,
}

/// `stica revocations ...`
#[derive(Debug, Subcommand)]
pub enum RevocationsCommand {
    /// Write the revocations to report to the STI-PA as a signed file: stica's current CRL
    /// (DER, or PEM with --pem), refreshed first if due.
    Export {
        #[command(flatten)]
        common: CommonArgs,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Write PEM (`X509 CRL`) instead of DER.
        #[arg(long)]
        pem: bool,
    },
}

/// `stica api-token ...`
#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Create a bearer token for an issuance-state API consumer; printed once, stored hashed.
    Add {
        #[command(flatten)]
        common: CommonArgs,
        /// The consumer's name (unique), e.g. `ocsp-east`.
        #[arg(long)]
        name: String,
    },
    /// List API consumers.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Remove a consumer's token.
    Remove {
        #[command(flatten)]
        common: CommonArgs,
        /// The consumer's name.
        #[arg(long)]
        name: String,
    },
}

async fn open(common: &CommonArgs) -> Result<(Config, Storage), String> {
    let cfg = load_config(common)?;
    cfg.crl.validate().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| format!("{}: {e}", cfg.data_dir.display()))?;
    let sa = Storage::connect(&cfg.database_url())
        .await
        .map_err(|e| format!("database: {e}"))?;
    Ok((cfg, sa))
}

/// The CRL publisher a command uses: the data directory's CRL signer, and the URL the served CRL
/// names (so a CRL signed here is the one the server would sign).
async fn publisher(cfg: &Config, sa: &Storage) -> Result<CrlPublisher, String> {
    let signer = CrlSigner::load(&cfg.data_dir).map_err(|e| {
        format!(
            "CRL signer in {}: {e} (start `stica serve` once first)",
            cfg.data_dir.display()
        )
    })?;
    let url = match sa
        .current_crl(CRL_ID)
        .await
        .map_err(|e| format!("database: {e}"))?
    {
        Some(c) => c.url,
        None => Urls::new(&cfg.external_base()).crl(),
    };
    Ok(CrlPublisher::new(
        sa.clone(),
        Arc::new(signer),
        &url,
        cfg.crl.clone(),
    ))
}

/// A reason given as a code or an RFC 5280 name.
fn parse_reason(text: &str) -> Result<Reason, String> {
    let code = match text.trim().parse::<i64>() {
        Ok(c) => Some(c),
        Err(_) => (0u8..=10)
            .find(|c| reason::name(*c).eq_ignore_ascii_case(text.trim()))
            .map(i64::from),
    };
    code.and_then(Reason::from_code).ok_or_else(|| {
        format!(
            "--reason {text:?} is not accepted; use {} or their RFC 5280 names",
            reason::ACCEPTED
        )
    })
}

/// Normalizes a serial: hex, colons and spaces dropped, lowercase.
fn parse_serial(text: &str) -> Result<String, String> {
    let s: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if s.is_empty() || s.len() > 42 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("--serial {text:?} is not a hex serial number"));
    }
    Ok(s)
}

/// Who ran an operator command, for the audit log only (`USER` or `LOGNAME`): the stored cause
/// stays `operator`, because the issuance-state API shows causes to its consumers.
fn operator_login() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty() && u.len() <= 64 && !u.chars().any(char::is_control))
        .unwrap_or_else(|| "unknown".into())
}

/// `stica revoke --serial HEX --reason N`
pub async fn revoke(args: RevokeArgs) -> Result<(), String> {
    let serial = parse_serial(&args.serial)?;
    let reason = parse_reason(&args.reason)?;
    let (cfg, sa) = open(&args.common).await?;
    let crl = publisher(&cfg, &sa).await?;
    tracing::info!(target: "audit", event = "revoke.request", serial = %serial, reason = %reason, by = "operator", login = %operator_login(), "operator revocation requested");
    let done =
        crate::ra::revoke::record_revocation(&sa, Some(&crl), &serial, reason, "operator".into())
            .await
            .map_err(|e| match e.kind {
                crate::error::ErrorKind::NotFound => {
                    format!("no certificate with serial {serial}")
                }
                _ => e.detail,
            })?;
    println!("revoked {} ({})", done.serial, done.reason);
    for child in &done.cascaded {
        println!(
            "revoked {child} ({}): below {}",
            Reason::for_children_of(reason),
            done.serial
        );
    }
    match done.crl_number {
        Some(n) => println!("published CRL number {n} at {}", crl.url()),
        None => println!(
            "the CRL could not be signed now; a running server publishes it within {} s",
            cfg.crl.check_interval_secs
        ),
    }
    Ok(())
}

/// `stica revocations ...`
pub async fn revocations(cmd: RevocationsCommand) -> Result<(), String> {
    match cmd {
        RevocationsCommand::Export { common, out, pem } => {
            let (cfg, sa) = open(&common).await?;
            let crl = publisher(&cfg, &sa).await?;
            crl.refresh(crate::acme::now())
                .await
                .map_err(|e| e.to_string())?;
            let current = crl
                .current()
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no CRL is published")?;
            let bytes = if pem {
                crate::x509::to_pem("X509 CRL", &current.der).into_bytes()
            } else {
                current.der.clone()
            };
            std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            let entries = crl_entries(&current.der);
            println!(
                "wrote CRL number {} ({} revoked certificates, next update {}) to {}",
                current.number,
                entries,
                crate::acme::rfc3339(current.next_update),
                out.display()
            );
            Ok(())
        }
    }
}

/// `stica api-token ...`
pub async fn api_token(cmd: ApiTokenCommand) -> Result<(), String> {
    match cmd {
        ApiTokenCommand::Add { common, name } => {
            let name = name.trim().to_string();
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err("--name must be 1 to 64 of A-Z a-z 0-9 - _ .".into());
            }
            let (_, sa) = open(&common).await?;
            let (token, hash) = generate_token()?;
            let record = crate::sa::ApiToken {
                id: crate::ra::random_id(),
                name: name.clone(),
                created_at: crate::acme::now(),
            };
            sa.insert_api_token(&record, &hash)
                .await
                .map_err(|e| e.to_string())?;
            println!("API token for {name} (shown once; stica keeps only its SHA-256):");
            println!("{token}");
            Ok(())
        }
        ApiTokenCommand::List { common } => {
            let (_, sa) = open(&common).await?;
            for t in sa.list_api_tokens().await.map_err(|e| e.to_string())? {
                println!("{}\tcreated {}", t.name, crate::acme::rfc3339(t.created_at));
            }
            Ok(())
        }
        ApiTokenCommand::Remove { common, name } => {
            let (_, sa) = open(&common).await?;
            if sa
                .delete_api_token(&name)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("removed the API token of {name}");
                Ok(())
            } else {
                Err(format!("no API token named {name:?}"))
            }
        }
    }
}

/// The number of entries of a DER CRL (0 if it cannot be read).
fn crl_entries(der: &[u8]) -> usize {
    use der::Decode;
    <x509_cert::crl::CertificateList>::from_der(der)
        .ok()
        .and_then(|c| c.tbs_cert_list.revoked_certificates.map(|r| r.len()))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_and_reasons() {
        assert_eq!(parse_serial("01:AB:cd").unwrap(), "01abcd");
        assert!(parse_serial("xyz").is_err());
        assert!(parse_serial("").is_err());
        assert_eq!(parse_reason("1").unwrap(), Reason::KEY_COMPROMISE);
        assert_eq!(
            parse_reason("keycompromise").unwrap(),
            Reason::KEY_COMPROMISE
        );
        assert_eq!(parse_reason("superseded").unwrap().code(), 4);
        for bad in ["6", "7", "8", "certificateHold", "removeFromCRL", "x", "-1"] {
            assert!(parse_reason(bad).is_err(), "{bad}");
        }
    }
}
