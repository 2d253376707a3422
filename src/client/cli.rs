//! `stica client ...`: clap arguments and the [`run`] entry. Progress goes to stderr, results
//! (paths, URLs, fingerprints) to stdout, so scripts can capture them.
//!
//! `stica client [OPTIONS]` obtains a certificate; `stica client <SUBCOMMAND>` does the rest of
//! the account's business (fingerprint, orders, revoke, key-change, deactivate).

use std::path::PathBuf;

use crate::client::{
    AcmeClient, ClientError, ObtainOptions, PollPolicy, TkauthField, TokenSource,
    account_fingerprint, http_client, load_or_create_account_key, obtain,
};

/// `stica client`: without a subcommand, obtain a SHAKEN certificate (account, order, Authority
/// Token, tkauth-01, finalize, download).
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ClientArgs {
    /// Other account operations.
    #[command(subcommand)]
    pub command: Option<ClientCommand>,
    /// Obtain a certificate (when no subcommand is given).
    #[command(flatten)]
    pub obtain: ObtainArgs,
}

/// The `stica client` subcommands besides obtaining a certificate.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ClientCommand {
    /// Print the account key fingerprint a token authority asks for (creates the key if missing).
    Fingerprint(KeyArgs),
    /// List the account's orders (RFC 8555 §7.1.2.1).
    Orders(ServerArgs),
    /// Revoke a certificate (RFC 8555 §7.6).
    Revoke(RevokeArgs),
    /// Roll the account over to a new key (RFC 8555 §7.3.5).
    KeyChange(KeyChangeArgs),
    /// Deactivate the account for good (RFC 8555 §7.3.6).
    Deactivate(ServerArgs),
}

/// The account key.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// The ACME account key (PKCS#8 PEM, P-256); created with mode 0600 if missing.
    #[arg(
        long,
        env = "STICA_ACCOUNT_KEY",
        default_value = "stica-client/account-key.pem"
    )]
    pub account_key: PathBuf,
}

/// Which server, as which account.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The ACME directory URL.
    #[arg(
        long,
        env = "STICA_DIRECTORY",
        default_value = "http://127.0.0.1:8080/directory"
    )]
    pub directory: String,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Trust only the CA certificates in this PEM file for https (a server with a private CA).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// `stica client` (obtain). Which options are required is checked in
/// [`ObtainArgs::to_options`], so that subcommands need none of them.
#[derive(Debug, Clone, clap::Args)]
#[command(group(
    clap::ArgGroup::new("token_source")
        .multiple(false)
        .args(["token_file", "token_command", "token_authority"])
))]
pub struct ObtainArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The TNAuthList, comma-separated entries: `spc:1234`, `tn:12155550123`,
    /// `range:12155550100+100`.
    #[arg(long, conflicts_with = "spc")]
    pub tnauthlist: Option<String>,
    /// Shorthand for `--tnauthlist spc:<SPC>`.
    #[arg(long)]
    pub spc: Option<String>,
    /// Read the Authority Token (a compact JWS) from this file.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Run this shell command and use its stdout as the token. It sees STICA_SPC,
    /// STICA_TNAUTHLIST and STICA_ACCOUNT_FINGERPRINT.
    #[arg(long)]
    pub token_command: Option<String>,
    /// Request the token from a token authority speaking the STI-PA API at this base URL
    /// (the development one: http://127.0.0.1:8080/sti-pa).
    #[arg(long)]
    pub token_authority: Option<String>,
    /// Token authority user id.
    #[arg(long, env = "STICA_PA_USER")]
    pub pa_user: Option<String>,
    /// Token authority password.
    #[arg(long, env = "STICA_PA_PASSWORD", hide_env_values = true)]
    pub pa_password: Option<String>,
    /// Ask the token authority for a token that allows a CA certificate (`atc.ca: true`).
    #[arg(long)]
    pub ca: bool,
    /// The challenge response member that carries the token.
    #[arg(long, value_enum, default_value_t)]
    pub tkauth_field: TkauthField,
    /// Account contact (repeatable); a bare address becomes `mailto:`.
    #[arg(long)]
    pub contact: Vec<String>,
    /// External Account Binding key id, as the CA issued it.
    #[arg(long, env = "STICA_EAB_KID")]
    pub eab_kid: Option<String>,
    /// External Account Binding HMAC key (base64url), as the CA issued it.
    #[arg(long, env = "STICA_EAB_HMAC_KEY", hide_env_values = true)]
    pub eab_hmac_key: Option<String>,
    /// Agree to the CA's terms of service.
    #[arg(long)]
    pub agree_tos: bool,
    /// Ask for a certificate valid this many days from now (the CA may cap it).
    #[arg(long)]
    pub days: Option<u32>,
    /// Where to write key.pem (mode 0600) and chain.pem.
    #[arg(long, default_value = "stica-client")]
    pub out: PathBuf,
    /// Give up waiting for the CA after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// `stica client revoke`
#[derive(Debug, Clone, clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The certificate (PEM; the first certificate in the file is revoked).
    #[arg(long)]
    pub cert: PathBuf,
    /// Sign with the certificate's own key (PKCS#8 PEM) instead of the account.
    #[arg(long)]
    pub cert_key: Option<PathBuf>,
    /// CRL reason code (RFC 5280 §5.3.1): 0 unspecified, 1 keyCompromise, 4 superseded,
    /// 5 cessationOfOperation, ...
    #[arg(long)]
    pub reason: Option<u8>,
}

/// `stica client key-change`
#[derive(Debug, Clone, clap::Args)]
pub struct KeyChangeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The new account key (PKCS#8 PEM); created with mode 0600 if missing. Use it as
    /// `--account-key` afterwards.
    #[arg(long)]
    pub new_key: PathBuf,
}

impl ObtainArgs {
    /// The library options these arguments stand for.
    pub fn to_options(&self) -> Result<ObtainOptions, ClientError> {
        let tnauthlist = match (&self.tnauthlist, &self.spc) {
            (Some(list), None) => list.clone(),
            (None, Some(spc)) => format!("spc:{spc}"),
            _ => {
                return Err(ClientError::Input(
                    "say what to certify: --spc 1234 or --tnauthlist spc:1234".into(),
                ));
            }
        };
        let token = if let Some(path) = &self.token_file {
            TokenSource::File(path.clone())
        } else if let Some(command) = &self.token_command {
            TokenSource::Command(command.clone())
        } else if let Some(base_url) = &self.token_authority {
            let (Some(user), Some(password)) = (&self.pa_user, &self.pa_password) else {
                return Err(ClientError::Input(
                    "--token-authority needs --pa-user and --pa-password \
                     (or STICA_PA_USER and STICA_PA_PASSWORD)"
                        .into(),
                ));
            };
            TokenSource::Authority {
                base_url: base_url.clone(),
                user: user.clone(),
                password: password.clone(),
                ca: self.ca,
            }
        } else {
            return Err(ClientError::Input(
                "say where the Authority Token comes from: --token-file, --token-command or \
                 --token-authority"
                    .into(),
            ));
        };
        if self.ca && !matches!(token, TokenSource::Authority { .. }) {
            return Err(ClientError::Input(
                "--ca asks the token authority for a CA token; it needs --token-authority".into(),
            ));
        }
        let mut opts = ObtainOptions::new(
            self.server.directory.clone(),
            self.server.key.account_key.clone(),
            tnauthlist,
            token,
            self.out.clone(),
        );
        opts.contact = self.contact.clone();
        opts.eab_kid = self.eab_kid.clone();
        opts.eab_hmac_key = self.eab_hmac_key.clone();
        opts.agree_terms = self.agree_tos;
        opts.tkauth_field = self.tkauth_field;
        opts.ca_file = self.server.ca_file.clone();
        if let Some(days) = self.days {
            let now = crate::acme::now();
            opts.not_before = Some(now);
            opts.not_after = Some(now + i64::from(days) * 86_400);
        }
        opts.poll = PollPolicy {
            timeout: std::time::Duration::from_secs(self.timeout),
            ..PollPolicy::default()
        };
        Ok(opts)
    }
}

/// Runs `stica client ...`; the error is the message for the user.
pub async fn run(args: ClientArgs) -> Result<(), String> {
    run_typed(args).await.map_err(|e| e.to_string())
}

/// [`run`] with the typed error.
pub async fn run_typed(args: ClientArgs) -> Result<(), ClientError> {
    let progress = |line: &str| eprintln!("{line}");
    match args.command {
        None => {
            let opts = args.obtain.to_options()?;
            let done = obtain(&opts, &progress).await?;
            println!("certificate chain: {}", done.chain_path.display());
            println!("certificate key:   {}", done.key_path.display());
            println!("certificate URL:   {}", done.certificate_url);
            if let Some(x5u) = &done.shaken_location {
                println!("x5u:               {x5u}");
            }
        }
        Some(ClientCommand::Fingerprint(args)) => {
            let (key, created) = load_or_create_account_key(&args.account_key)?;
            if created {
                progress(&format!(
                    "created account key {}",
                    args.account_key.display()
                ));
            }
            println!("{}", account_fingerprint(&key.public_jwk()));
        }
        Some(ClientCommand::Orders(args)) => {
            let client = existing_account(&args, &progress).await?;
            for url in client.orders_list().await? {
                println!("{url}");
            }
        }
        Some(ClientCommand::Revoke(args)) => {
            let pem = std::fs::read(&args.cert).map_err(|source| ClientError::Io {
                path: args.cert.clone(),
                source,
            })?;
            let cert_der = crate::x509::pem_certificates(&pem)
                .ok()
                .and_then(|certs| certs.into_iter().next())
                .ok_or_else(|| {
                    ClientError::Input(format!("{} holds no PEM certificate", args.cert.display()))
                })?;
            match &args.cert_key {
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|source| ClientError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    let load = || {
                        crate::jose::EcSigner::from_pkcs8_pem(&text).map_err(|e| ClientError::Key {
                            path: path.clone(),
                            detail: format!("not a P-256 PKCS#8 PEM key: {e}"),
                        })
                    };
                    let cert_key = load()?;
                    // No account is involved: the client itself speaks with the certificate key
                    // (and never creates an account key file for this).
                    let http = http_client(args.server.ca_file.as_deref())?;
                    let client = AcmeClient::new(&args.server.directory, load()?, http).await?;
                    client
                        .revoke_with_certificate_key(&cert_der, args.reason, &cert_key)
                        .await?;
                }
                None => {
                    let client = existing_account(&args.server, &progress).await?;
                    client.revoke(&cert_der, args.reason).await?;
                }
            }
            progress(&format!("revoked {}", args.cert.display()));
        }
        Some(ClientCommand::KeyChange(args)) => {
            let mut client = existing_account(&args.server, &progress).await?;
            let (new_key, _) = load_or_create_account_key(&args.new_key)?;
            client.key_change(new_key).await?;
            progress(&format!(
                "the account now uses {}; pass it as --account-key from now on \
                 (Authority Tokens bound to the old key no longer fit)",
                args.new_key.display()
            ));
        }
        Some(ClientCommand::Deactivate(args)) => {
            let mut client = existing_account(&args, &progress).await?;
            client.deactivate_account().await?;
            progress("account deactivated");
        }
    }
    Ok(())
}

/// A client for the account that already exists for the key (newAccount with
/// `onlyReturnExisting`, RFC 8555 §7.3.1).
async fn existing_account(
    args: &ServerArgs,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<AcmeClient, ClientError> {
    let path = &args.key.account_key;
    if !path.exists() {
        return Err(ClientError::Input(format!(
            "no account key at {}: pass --account-key",
            path.display()
        )));
    }
    let (key, _) = load_or_create_account_key(path)?;
    let http = http_client(args.ca_file.as_deref())?;
    let mut client = AcmeClient::new(&args.directory, key, http).await?;
    let account = client.new_account(&[], None, true).await?;
    progress(&format!("account {}", account.url));
    Ok(client)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Client(ClientArgs),
    }

    fn parse(args: &[&str]) -> Result<ClientArgs, clap::Error> {
        let mut all = vec!["stica", "client"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| match c.command {
            Top::Client(args) => args,
        })
    }

    fn options(args: &[&str]) -> Result<ObtainOptions, ClientError> {
        let args = parse(args).unwrap_or_else(|e| panic!("{e}"));
        assert!(args.command.is_none());
        args.obtain.to_options()
    }

    #[test]
    fn the_command_the_server_prints_parses() {
        // As `stica serve` announces it (src/server.rs).
        let opts = options(&[
            "--directory",
            "http://127.0.0.1:8080/directory",
            "--tnauthlist",
            "spc:1234",
            "--token-authority",
            "http://127.0.0.1:8080/sti-pa",
            "--pa-user",
            "u",
            "--pa-password",
            "p",
            "--out",
            "./cert-1234",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opts.tnauthlist, "spc:1234");
        assert_eq!(opts.out_dir, std::path::PathBuf::from("./cert-1234"));
        match &opts.token {
            TokenSource::Authority {
                base_url,
                user,
                password,
                ca,
            } => {
                assert_eq!(base_url, "http://127.0.0.1:8080/sti-pa");
                assert_eq!((user.as_str(), password.as_str(), *ca), ("u", "p", false));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(opts.not_before, None);
    }

    #[test]
    fn spc_shorthand_and_days() {
        let opts = options(&["--spc", "709J", "--token-file", "t", "--days", "30"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opts.tnauthlist, "spc:709J");
        let (Some(nb), Some(na)) = (opts.not_before, opts.not_after) else {
            panic!("no validity")
        };
        assert_eq!(na - nb, 30 * 86_400);
    }

    #[test]
    fn obtain_needs_one_token_source_and_one_identifier() {
        // No token source.
        assert!(matches!(
            options(&["--spc", "1234"]),
            Err(ClientError::Input(_))
        ));
        // No identifier.
        assert!(matches!(
            options(&["--token-file", "t"]),
            Err(ClientError::Input(_))
        ));
        // Two identifiers, two token sources: refused by clap.
        assert!(parse(&["--spc", "1", "--tnauthlist", "spc:1", "--token-file", "t"]).is_err());
        assert!(parse(&["--spc", "1", "--token-file", "t", "--token-command", "c"]).is_err());
        // Authority without credentials.
        assert!(matches!(
            options(&["--spc", "1", "--token-authority", "http://x"]),
            Err(ClientError::Input(_))
        ));
    }

    #[test]
    fn ca_flag_needs_the_token_authority() {
        assert!(matches!(
            options(&["--spc", "1", "--token-file", "t", "--ca"]),
            Err(ClientError::Input(_))
        ));
    }

    #[test]
    fn subcommands_parse_without_obtain_options() {
        let args = parse(&["revoke", "--cert", "c.pem", "--reason", "1"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            args.command,
            Some(ClientCommand::Revoke(RevokeArgs {
                reason: Some(1),
                ..
            }))
        ));
        let args =
            parse(&["fingerprint", "--account-key", "k.pem"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(args.command, Some(ClientCommand::Fingerprint(_))));
        // Obtain options do not mix with a subcommand.
        assert!(parse(&["--spc", "1", "deactivate"]).is_err());
    }
}
