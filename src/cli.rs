//! The `stica` command line (clap). Each command is a thin call into the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// stica: an STI Certificate Authority (ACME + tkauth-01 + SHAKEN certificates).
#[derive(Debug, Parser)]
#[command(name = "stica", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log format: text or json (default: the config file's `log_format`, else text).
    #[arg(long, global = true, env = "STICA_LOG_FORMAT", value_enum)]
    pub log_format: Option<crate::config::LogFormat>,
}

impl Cli {
    /// The log format: the flag (or `STICA_LOG_FORMAT`), else `log_format` from the config file
    /// of `stica serve --config`, else text. Read before logging starts, so a config file that
    /// does not load falls back to text here and is reported when the command loads it.
    pub fn log_format(&self) -> crate::config::LogFormat {
        if let Some(f) = self.log_format {
            return f;
        }
        match &self.command {
            Command::Serve(args) => args
                .common
                .config
                .as_deref()
                .and_then(|p| Config::from_file(p).ok())
                .map(|c| c.log_format)
                .unwrap_or_default(),
            _ => crate::config::LogFormat::Text,
        }
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the CA (ACME server; the dev token authority under /sti-pa/ unless turned off).
    Serve(ServeArgs),
    /// Manage external account bindings (subscriber onboarding).
    #[command(subcommand)]
    Account(AccountCommand),
    /// The development token authority.
    #[command(subcommand)]
    Pa(PaCommand),
    /// Delegate numbers to an enterprise with your stica-issued certificate (docs/delegation.md).
    #[command(subcommand)]
    Delegate(crate::pa::cli::DelegateCommand),
    /// Obtain a certificate over ACME with tkauth-01 (see docs/client.md).
    Client(Box<crate::client::ClientArgs>),
    /// Revoke a certificate as the operator (and everything below it); publishes a new CRL.
    Revoke(crate::status::cli::RevokeArgs),
    /// Revocations to report (export stica's CRL as a signed file).
    #[command(subcommand)]
    Revocations(crate::status::cli::RevocationsCommand),
    /// Bearer tokens of issuance-state API consumers.
    #[command(subcommand)]
    ApiToken(crate::status::cli::ApiTokenCommand),
    /// Verify certificates (delegation chains: RFC 5280 path plus TNAuthList encompassing).
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Query a number inventory (which SPC holds which numbers).
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Lint a certificate against a profile: the checks stica runs before it signs.
    Lint(LintArgs),
    /// Load tools: issuance and OCSP throughput and latency against a running server.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// The CA hierarchy (import an SCA to run as a subordinate delegation CA).
    #[command(subcommand)]
    Ca(CaCommand),
}

/// `stica ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create the CA hierarchy (root and issuing intermediate) in a fresh data directory: keys
    /// in files by default, or generated inside a PKCS#11 token with --pkcs11-module (the PIN
    /// from --pkcs11-pin-file or the environment variable STICA_PKCS11_PIN, never the command
    /// line). `stica serve` creates a key-file hierarchy by itself when none exists.
    Init(Box<CaInitArgs>),
    /// Import an SCA certificate, its chain and key into a fresh data directory: `stica serve` on
    /// it then runs a subordinate delegation CA (RFC 9060) issuing delegate certificates within
    /// the SCA's TNAuthList (docs/delegation.md).
    Import {
        /// The data directory to create the hierarchy in (`<data-dir>/ca` must not hold files).
        #[arg(long)]
        data_dir: PathBuf,
        /// PEM chain: the SCA certificate first, then its issuers up to and including the root.
        #[arg(long)]
        chain: PathBuf,
        /// The SCA's private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM, P-256.
        #[arg(long)]
        key: PathBuf,
    },
}

/// `stica ca init`
#[derive(Debug, Args)]
pub struct CaInitArgs {
    /// The data directory (`<data-dir>/ca` must not hold a hierarchy yet).
    #[arg(long, default_value = "stica-data")]
    data_dir: PathBuf,
    /// The CA's organization (O, and the CNs `<org> SHAKEN ROOT` / `<org> SHAKEN Issuing CA 1`).
    #[arg(long, default_value = "stica development CA")]
    org: String,
    /// The intermediate's pathLenConstraint: 0, or 1 or more to issue sca certificates (policy
    /// sca_path_len + 1).
    #[arg(long, default_value_t = 0)]
    path_len: u8,
    /// The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, requires_all = ["pkcs11_token_label", "pkcs11_key_label"])]
    pkcs11_module: Option<PathBuf>,
    /// The label of the (initialized) token.
    #[arg(long, requires = "pkcs11_module")]
    pkcs11_token_label: Option<String>,
    /// The label of the intermediate's key pair to create (the root's gets `<label>-root`).
    #[arg(long, requires = "pkcs11_module")]
    pkcs11_key_label: Option<String>,
    /// A file holding the user PIN; recorded in ca/pkcs11.toml for `stica serve`.
    #[arg(long, requires = "pkcs11_module", conflicts_with = "pkcs11_pin_env")]
    pkcs11_pin_file: Option<PathBuf>,
    /// The environment variable holding the user PIN (default STICA_PKCS11_PIN).
    #[arg(long, requires = "pkcs11_module")]
    pkcs11_pin_env: Option<String>,
}

/// `stica lint`
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The certificate (PEM, the first block, or DER). With --chain, a PEM chain whose second
    /// certificate is the issuer.
    cert: PathBuf,
    /// The profile: shaken-spc, tn-level, sca or delegate.
    #[arg(long, default_value = "shaken-spc")]
    profile: String,
    /// The issuing certificate (PEM or DER); default: the second certificate of `cert`.
    #[arg(long)]
    issuer: Option<PathBuf>,
    /// The certificatePolicies OID expected.
    #[arg(long, default_value = crate::policy::SHAKEN_CP_V1_4)]
    certificate_policy: String,
    /// pathLen an sca certificate must carry.
    #[arg(long, default_value_t = 0)]
    sca_path_len: u8,
    /// An sca certificate carries cRLSign too.
    #[arg(long)]
    sca_crl_sign: bool,
    /// Number inventory CSV for an issuer that lists only an SPC.
    #[arg(long)]
    inventory: Option<PathBuf>,
}

/// `stica verify ...`
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Validate a delegation chain (PEM, leaf first) and print a verdict per link.
    Chain {
        /// The chain file (PEM certificates, leaf first; the root may be included).
        pem: PathBuf,
        /// Trust anchor files (PEM); default: `<data-dir>/ca/root.pem`.
        #[arg(long = "anchor")]
        anchors: Vec<PathBuf>,
        /// Data directory whose `ca/root.pem` is the default anchor.
        #[arg(long, default_value = "stica-data")]
        data_dir: PathBuf,
        /// Number inventory CSV (`spc,start,count`) for SPC-only parents.
        #[arg(long)]
        inventory: Option<PathBuf>,
        /// Check validity at this time (unix seconds) instead of now.
        #[arg(long)]
        at: Option<i64>,
        /// Also check every certificate's revocation on the CRL its distribution point names
        /// (fetched over http or https; the CRL must be signed by the chain or an anchor). A
        /// revoked certificate, or a CRL that cannot be fetched or verified, fails the check.
        #[arg(long)]
        crl: bool,
        /// With --crl: a certificate trusted to sign CRLs although it is not in the chain (the
        /// issuer of an indirect CRL, e.g. `<data-dir>/ca/crl-signer.pem` for stica's own CRL,
        /// used by default when present). Repeatable.
        #[arg(long = "crl-signer", requires = "crl")]
        crl_signers: Vec<PathBuf>,
    },
}

/// `stica inventory ...`
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Load an inventory CSV, print a summary, and optionally check numbers against an SPC.
    Check {
        /// The inventory CSV (`spc,start,count`).
        #[arg(long)]
        inventory: PathBuf,
        /// With --tnauthlist: the SPC whose numbers must cover it.
        #[arg(long, requires = "tnauthlist")]
        spc: Option<String>,
        /// A TNAuthList in CLI syntax to check (`tn:...,range:...+N`).
        #[arg(long)]
        tnauthlist: Option<String>,
    },
}

/// Where the server's state is; shared by commands that touch it.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Config file (TOML, see docs/config.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (database, CA keys, dev token authority).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://...` or `postgres://...`).
    #[arg(long)]
    pub database_url: Option<String>,
    /// External URL clients use to reach the server.
    #[arg(long)]
    pub external_url: Option<String>,
}

/// `stica serve`
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Policy directory (policy.toml, token-authorities/*.pem).
    #[arg(long)]
    policy_dir: Option<PathBuf>,
    /// Bind the database to this data directory's CA although they do not match (an empty
    /// database for a CA bound before, another CA's database, or no CA for a bound database).
    /// Read docs/operations.md first: misused, it makes a second hierarchy.
    #[arg(long)]
    bind_new_database: bool,
}

/// `stica account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an external account binding: prints the key id and HMAC key for the subscriber.
    Add {
        #[command(flatten)]
        common: CommonArgs,
        /// Legal name of the service provider (becomes the certificate's O).
        #[arg(long)]
        name: String,
        /// SPCs the account may order (repeat; none means any).
        #[arg(long = "spc")]
        spcs: Vec<String>,
    },
    /// List external account bindings.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
}

/// `stica pa ...`
#[derive(Debug, Subcommand)]
pub enum PaCommand {
    /// Mint an Authority Token (SPC or TN-list token) for an ACME account key.
    Token {
        #[command(flatten)]
        common: CommonArgs,
        /// The SPC to authorize (alone: an SPC token; with --tn/--range: a TN-list token that
        /// also names the SPC).
        #[arg(long, conflicts_with = "tnauthlist")]
        spc: Option<String>,
        /// A telephone number to authorize (repeat): a TN-list token.
        #[arg(long = "tn", conflicts_with = "tnauthlist")]
        tns: Vec<String>,
        /// A range to authorize, START+COUNT (repeat): a TN-list token.
        #[arg(long = "range", conflicts_with = "tnauthlist")]
        ranges: Vec<String>,
        /// A TNAuthList in CLI syntax (spc:709J,tn:...,range:...+N).
        #[arg(long)]
        tnauthlist: Option<String>,
        /// The ACME account key: a PEM private or public key, or a JWK file.
        #[arg(long)]
        account_key: PathBuf,
        /// Grant a CA (delegating) certificate.
        #[arg(long)]
        ca: bool,
        /// Lifetime, e.g. 3600s, 30m, 1h, 2d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// How the token names its signer: `x5u` or `x5c` (default: x5u over https, else x5c).
        #[arg(long)]
        signer: Option<String>,
    },
    /// Serve the dev token authority on its own.
    Serve {
        #[command(flatten)]
        common: CommonArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
    },
}

/// Merges the config file and flags (flags win).
pub fn load_config(common: &CommonArgs) -> Result<Config, String> {
    let mut cfg = match &common.config {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(d) = &common.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(u) = &common.database_url {
        cfg.database_url = Some(u.clone());
    }
    if let Some(u) = &common.external_url {
        cfg.external_url = Some(u.clone());
    }
    Ok(cfg)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            let mut cfg = load_config(&args.common)?;
            if let Some(l) = args.listen {
                cfg.listen = l;
            }
            if let Some(p) = args.policy_dir {
                cfg.policy_dir = Some(p);
            }
            cfg.bind_new_database = args.bind_new_database;
            crate::server::serve(cfg).await
        }
        Command::Account(cmd) => account(cmd).await,
        Command::Pa(cmd) => pa(cmd).await,
        Command::Delegate(cmd) => crate::pa::cli::run(cmd),
        Command::Client(args) => crate::client::cli::run(*args).await,
        Command::Revoke(args) => crate::status::cli::revoke(args).await,
        Command::Revocations(cmd) => crate::status::cli::revocations(cmd).await,
        Command::ApiToken(cmd) => crate::status::cli::api_token(cmd).await,
        Command::Verify(cmd) => verify(cmd).await,
        Command::Inventory(cmd) => inventory(cmd),
        Command::Lint(args) => lint(args),
        Command::Bench(cmd) => crate::bench::run(cmd).await,
        Command::Ca(cmd) => ca(cmd),
    }
}

async fn account(cmd: AccountCommand) -> Result<(), String> {
    match cmd {
        AccountCommand::Add { common, name, spcs } => {
            let cfg = load_config(&common)?;
            let sa = open_storage(&cfg).await?;
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 64 {
                return Err(
                    "--name must be 1 to 64 characters (it becomes the certificate's O)".into(),
                );
            }
            for spc in &spcs {
                if spc != "*"
                    && (spc.is_empty()
                        || !spc
                            .chars()
                            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()))
                {
                    return Err(format!("--spc {spc:?} is not an SPC ([0-9A-Z]+)"));
                }
            }
            let mut key = [0u8; 32];
            aws_lc_rs::rand::fill(&mut key)
                .map_err(|_| "random number generator failed".to_string())?;
            let kid = crate::ra::random_id();
            let binding = crate::sa::model::EabKey {
                kid: kid.clone(),
                hmac_key: key.to_vec(),
                name: name.clone(),
                spcs: spcs.clone(),
                account_id: None,
                created_at: crate::acme::now(),
            };
            sa.insert_eab(&binding).await.map_err(|e| e.to_string())?;
            println!(
                "External account binding for {name:?} (SPCs: {})",
                if spcs.is_empty() {
                    "any".to_string()
                } else {
                    spcs.join(", ")
                }
            );
            println!("key id:   {kid}");
            println!("HMAC key: {}", crate::jose::b64::encode_url(&key));
            Ok(())
        }
        AccountCommand::List { common } => {
            let cfg = load_config(&common)?;
            let sa = open_storage(&cfg).await?;
            for b in sa.list_eab().await.map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\tspcs={}\taccount={}",
                    b.kid,
                    b.name,
                    if b.spcs.is_empty() {
                        "*".to_string()
                    } else {
                        b.spcs.join(",")
                    },
                    b.account_id.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}

async fn open_storage(cfg: &Config) -> Result<crate::sa::Storage, String> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| format!("{}: {e}", cfg.data_dir.display()))?;
    crate::sa::Storage::connect(&cfg.database_url())
        .await
        .map_err(|e| format!("database: {e}"))
}

async fn pa(cmd: PaCommand) -> Result<(), String> {
    match cmd {
        PaCommand::Token {
            common,
            spc,
            tns,
            ranges,
            tnauthlist,
            account_key,
            ca,
            ttl,
            signer,
        } => {
            let cfg = load_config(&common)?;
            let spec = token_spec(spc, &tns, &ranges, tnauthlist)?;
            let list: crate::tnauth::TnAuthList =
                spec.parse().map_err(|e| format!("--tnauthlist: {e}"))?;
            let key = account_public_key(&account_key)?;
            let ttl_secs = parse_duration(&ttl)?;
            // `open` reuses the base URL the server recorded, so minting never replaces the signer
            // a running server serves.
            let pa = crate::pa::DevTokenAuthority::open(&cfg.data_dir.join("pa")).map_err(|e| {
                format!(
                    "dev token authority in {}: {e} (start `stica serve` once first)",
                    cfg.data_dir.display()
                )
            })?;
            let mut req = crate::pa::TokenRequest::new(list, &key, ca, ttl_secs.unsigned_abs());
            req.x5u_or_x5c = match signer.as_deref() {
                Some("x5u") => crate::pa::SignerRef::X5u,
                Some("x5c") => crate::pa::SignerRef::X5c,
                Some(other) => return Err(format!("--signer {other:?}: use x5u or x5c")),
                None => pa.default_signer_ref(),
            };
            let token = pa.mint(&req).map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
        PaCommand::Serve { common, listen } => {
            let mut cfg = load_config(&common)?;
            cfg.listen = listen;
            let base = cfg.external_base();
            let pa = crate::pa::DevTokenAuthority::load_or_init(&cfg.data_dir.join("pa"), &base)
                .map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "stica dev token authority at {base} (user {}, password {})",
                pa.dev_user(),
                pa.dev_password()
            );
            axum::serve(listener, pa.router())
                .with_graceful_shutdown(crate::server::shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// `stica ca init`: a key-file or PKCS#11 hierarchy.
fn ca_init(args: CaInitArgs) -> Result<(), String> {
    let dir = args.data_dir.join("ca");
    match (
        args.pkcs11_module,
        args.pkcs11_token_label,
        args.pkcs11_key_label,
    ) {
        (Some(module), Some(token_label), Some(key_label)) => {
            let cfg = crate::ca::pkcs11::Pkcs11Config {
                module,
                token_label,
                key_label,
                root_key_label: None,
                pin_file: args.pkcs11_pin_file,
                pin_env: args.pkcs11_pin_env,
            };
            crate::ca::init_hierarchy_pkcs11(&args.data_dir, &args.org, args.path_len, cfg)
                .map_err(|e| e.to_string())?;
            println!(
                "created a CA hierarchy in {} with its keys in the PKCS#11 token (ca/pkcs11.toml)",
                dir.display()
            );
        }
        (None, None, None) => {
            if !crate::ca::init_hierarchy_with(&args.data_dir, &args.org, args.path_len)
                .map_err(|e| e.to_string())?
            {
                return Err(format!("{} already holds a CA hierarchy", dir.display()));
            }
            println!("created a CA hierarchy in {}", dir.display());
        }
        _ => {
            return Err(
                "--pkcs11-module, --pkcs11-token-label and --pkcs11-key-label go together".into(),
            );
        }
    }
    // The CRL signer is made with the hierarchy, so that every replica copies the same one.
    crate::ca::crl_signer::ensure_crl_signer(&args.data_dir)
        .map_err(|e| format!("CRL signer: {e}"))?;
    println!("  root:         {}", dir.join("root.pem").display());
    println!("  intermediate: {}", dir.join("intermediate.pem").display());
    println!("  CRL signer:   {}", dir.join("crl-signer.pem").display());
    Ok(())
}

/// The TNAuthList (CLI syntax) of `stica pa token`: `--spc` alone, `--tn`/`--range` (with an
/// optional `--spc`, written first), or `--tnauthlist`.
pub(crate) fn token_spec(
    spc: Option<String>,
    tns: &[String],
    ranges: &[String],
    tnauthlist: Option<String>,
) -> Result<String, String> {
    if let Some(t) = tnauthlist {
        return Ok(t);
    }
    let mut entries = Vec::new();
    if let Some(s) = spc {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        {
            return Err(format!("--spc {s:?} is not an SPC ([0-9A-Z]+)"));
        }
        entries.push(format!("spc:{s}"));
    }
    for tn in tns {
        if tn.contains(',') {
            return Err(format!("--tn {tn:?}: one number per --tn"));
        }
        entries.push(format!("tn:{tn}"));
    }
    for range in ranges {
        if range.contains(',') || !range.contains('+') {
            return Err(format!(
                "--range {range:?}: one range per --range, written START+COUNT"
            ));
        }
        entries.push(format!("range:{range}"));
    }
    if entries.is_empty() {
        return Err("give --spc, --tn/--range, or --tnauthlist".into());
    }
    Ok(entries.join(","))
}

fn ca(cmd: CaCommand) -> Result<(), String> {
    let (data_dir, chain, key) = match cmd {
        CaCommand::Init(args) => return ca_init(*args),
        CaCommand::Import {
            data_dir,
            chain,
            key,
        } => (data_dir, chain, key),
    };
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let imported =
        crate::ca::subordinate::import(&data_dir, &read(&chain)?, &read(&key)?, crate::acme::now())
            .map_err(|e| e.to_string())?;
    let i = &imported.issuing;
    println!(
        "imported a subordinate delegation CA into {}",
        data_dir.join("ca").display()
    );
    println!("  issuing certificate: {}", i.subject);
    println!("  TNAuthList:          {}", i.tnauthlist);
    println!(
        "  pathLen:             {}",
        i.path_len
            .map_or_else(|| "unconstrained".to_string(), |n| n.to_string())
    );
    println!(
        "  notAfter:            {}",
        crate::acme::rfc3339(i.not_after)
    );
    println!("  root:                {}", imported.root_subject);
    println!(
        "  certificates between: {} (chain.pem)",
        imported.intermediates
    );
    for f in &imported.files {
        println!("  wrote {}", f.display());
    }
    println!(
        "next: stica serve --data-dir {} --policy-dir <dir with [issuance] profiles = [\"delegate\"]>",
        data_dir.display()
    );
    Ok(())
}

fn lint(args: LintArgs) -> Result<(), String> {
    let read = |path: &Path| -> Result<Vec<Vec<u8>>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if bytes.first() == Some(&0x30) {
            return Ok(vec![bytes]);
        }
        crate::x509::pem_certificates(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    let certs = read(&args.cert)?;
    let leaf = certs
        .first()
        .ok_or_else(|| format!("{}: no certificate", args.cert.display()))?;
    let issuer = match &args.issuer {
        Some(p) => read(p)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: no certificate", p.display()))?,
        None => certs.get(1).cloned().ok_or(
            "give --issuer, or a chain whose second certificate is the issuer".to_string(),
        )?,
    };
    let profile = crate::ca::Profile::parse(&args.profile).ok_or_else(|| {
        format!(
            "--profile {:?}: use {}",
            args.profile,
            crate::policy::PROFILE_NAMES.join(", ")
        )
    })?;
    let inventory = args
        .inventory
        .as_deref()
        .map(crate::policy::inventory::NumberInventory::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut ctx = crate::lint::LintContext::new(profile, &issuer);
    ctx.certificate_policy = args
        .certificate_policy
        .parse()
        .map_err(|e| format!("--certificate-policy: {e}"))?;
    ctx.sca_path_len = args.sca_path_len;
    ctx.sca_crl_sign = args.sca_crl_sign;
    ctx.inventory = inventory.as_ref();
    let findings = crate::lint::lint_with(leaf, &ctx);
    for f in &findings {
        println!("{:?}\t{f}", f.level);
    }
    if crate::lint::has_errors(&findings) {
        Err(format!("{} lint finding(s) ({profile})", findings.len()))
    } else {
        println!("clean ({profile})");
        Ok(())
    }
}

async fn verify(cmd: VerifyCommand) -> Result<(), String> {
    let VerifyCommand::Chain {
        pem,
        anchors,
        data_dir,
        inventory,
        at,
        crl,
        crl_signers,
    } = cmd;
    let chain = crate::x509::pem_certificates(
        &std::fs::read(&pem).map_err(|e| format!("{}: {e}", pem.display()))?,
    )?;
    let anchor_files = if anchors.is_empty() {
        vec![data_dir.join("ca").join("root.pem")]
    } else {
        anchors
    };
    let mut anchor_ders = Vec::new();
    for f in &anchor_files {
        let bytes = std::fs::read(f).map_err(|e| format!("anchor {}: {e}", f.display()))?;
        anchor_ders.extend(crate::x509::pem_certificates(&bytes)?);
    }
    let inv = match &inventory {
        Some(p) => {
            Some(crate::policy::inventory::NumberInventory::load(p).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let report = crate::x509::delegation::verify_delegation_chain(
        &chain,
        &anchor_ders,
        at.unwrap_or_else(crate::acme::now),
        inv.as_ref(),
    );
    println!("{report}");
    let revocation_ok = if crl {
        let mut signer_files = crl_signers;
        let own = data_dir.join("ca").join("crl-signer.pem");
        if signer_files.is_empty() && own.exists() {
            signer_files.push(own);
        }
        let mut signers = Vec::new();
        for f in &signer_files {
            let bytes = std::fs::read(f).map_err(|e| format!("CRL signer {}: {e}", f.display()))?;
            signers.extend(crate::x509::pem_certificates(&bytes)?);
        }
        let now = at.unwrap_or_else(crate::acme::now);
        crl_status(&chain, &anchor_ders, &signers, now).await
    } else {
        true
    };
    match (report.is_pass(), revocation_ok) {
        (true, true) => Ok(()),
        (false, _) => Err("the chain does not verify".into()),
        (true, false) => {
            Err("a certificate in the chain is revoked, or its status is unknown".into())
        }
    }
}

/// `stica verify chain --crl`: prints one status line per certificate (leaf first) and returns
/// whether every one is known good or names no CRL. CRLs are fetched as a relying party does:
/// http is fine (a CRL is signed), private addresses are allowed (the operator asked).
async fn crl_status(
    chain: &[Vec<u8>],
    anchors: &[Vec<u8>],
    crl_signers: &[Vec<u8>],
    now: i64,
) -> bool {
    use crate::va::crl::{CrlStatus, check_signer};
    let rules = crate::policy::AuthorityTokenPolicy {
        danger_allow_http_x5u: true,
        allow_private_x5u: true,
        ..Default::default()
    };
    let fetcher = crate::va::x5u::Fetcher::new(&rules);
    let mut trusted = chain.to_vec();
    trusted.extend(anchors.iter().cloned());
    trusted.extend(crl_signers.iter().cloned());
    let mut ok = true;
    println!("revocation (CRL):");
    for (i, cert) in chain.iter().enumerate() {
        if anchors.contains(cert) {
            continue;
        }
        let line = match check_signer(&fetcher, cert, &trusted, now, 300).await {
            Ok(CrlStatus::Good { url }) => format!("good (not on {url})"),
            Ok(CrlStatus::NoDistributionPoint) => "no CRL distribution point".to_string(),
            Ok(CrlStatus::Revoked { url, serial }) => {
                ok = false;
                format!("REVOKED (serial {serial} on {url})")
            }
            Err(e) => {
                ok = false;
                format!("UNKNOWN ({e})")
            }
        };
        println!("  [{i}] {line}");
    }
    ok
}

fn inventory(cmd: InventoryCommand) -> Result<(), String> {
    let InventoryCommand::Check {
        inventory,
        spc,
        tnauthlist,
    } = cmd;
    let inv =
        crate::policy::inventory::NumberInventory::load(&inventory).map_err(|e| e.to_string())?;
    println!("{inv}");
    if let (Some(spc), Some(list)) = (spc, tnauthlist) {
        let spc = crate::tnauth::Spc::new(spc).map_err(|e| format!("--spc: {e}"))?;
        let list: crate::tnauth::TnAuthList =
            list.parse().map_err(|e| format!("--tnauthlist: {e}"))?;
        let parent = crate::tnauth::TnAuthList::from_spc(spc.clone());
        match crate::policy::inventory::encompasses_with_inventory(&parent, &list, Some(&inv)) {
            Ok(()) => println!("SPC {spc} holds every number of {list}"),
            Err(e) => return Err(format!("SPC {spc} does not hold {list}: {e}")),
        }
    }
    Ok(())
}

/// Reads an ACME account public key from a PEM private key (PKCS#8), a PEM public key (SPKI) or a
/// JWK JSON file.
pub fn account_public_key(path: &Path) -> Result<crate::jose::PublicJwk, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        return crate::jose::PublicJwk::from_json(&v).map_err(|e| e.to_string());
    }
    if text.contains("PRIVATE KEY") {
        let signer = crate::jose::EcSigner::from_pkcs8_pem(&text).map_err(|e| e.to_string())?;
        return Ok(signer.public_jwk());
    }
    let spki = crate::x509::pem_blocks(&bytes, "PUBLIC KEY")?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{}: no PRIVATE KEY, PUBLIC KEY or JWK", path.display()))?;
    crate::jose::PublicJwk::from_spki_der(&spki).map_err(|e| e.to_string())
}

/// `3600`, `3600s`, `30m`, `1h`, `2d` → seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 3600s, 30m, 1h, 2d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("30m").unwrap(), 1800);
        assert_eq!(parse_duration("1h").unwrap(), 3600);
        assert_eq!(parse_duration("2d").unwrap(), 172_800);
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn cli_parses() {
        Cli::try_parse_from([
            "stica",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        Cli::try_parse_from([
            "stica", "account", "add", "--name", "Carrier", "--spc", "1234",
        ])
        .unwrap();
        assert!(Cli::try_parse_from(["stica", "serve", "--bogus"]).is_err());
        let cli = Cli::try_parse_from(["stica", "serve", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format(), crate::config::LogFormat::Json);
        assert!(Cli::try_parse_from(["stica", "serve", "--log-format", "xml"]).is_err());
        let Command::Serve(args) = Cli::try_parse_from(["stica", "serve", "--bind-new-database"])
            .unwrap()
            .command
        else {
            panic!("serve")
        };
        assert!(args.bind_new_database);
        Cli::try_parse_from([
            "stica",
            "pa",
            "token",
            "--tn",
            "12155550123",
            "--range",
            "12155550100+100",
            "--tn",
            "12155550999",
            "--account-key",
            "k.pem",
        ])
        .unwrap();
        assert!(
            Cli::try_parse_from([
                "stica",
                "pa",
                "token",
                "--tn",
                "1",
                "--tnauthlist",
                "spc:1",
                "--account-key",
                "k.pem",
            ])
            .is_err()
        );
    }

    #[test]
    fn token_lists_from_flags() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            token_spec(Some("1234".into()), &[], &[], None).unwrap(),
            "spc:1234"
        );
        let spec = token_spec(
            Some("1234".into()),
            &s(&["12155550123", "12155550999"]),
            &s(&["12155550100+100"]),
            None,
        )
        .unwrap();
        assert_eq!(
            spec,
            "spc:1234,tn:12155550123,tn:12155550999,range:12155550100+100"
        );
        let list: crate::tnauth::TnAuthList = spec.parse().unwrap();
        assert_eq!(list.entries().len(), 4);
        let spec = token_spec(None, &s(&["12155550123"]), &[], None).unwrap();
        assert_eq!(spec, "tn:12155550123");
        assert!(token_spec(None, &[], &[], None).is_err());
        assert!(token_spec(Some("bad spc".into()), &[], &[], None).is_err());
        assert!(token_spec(None, &s(&["1,2"]), &[], None).is_err());
        assert!(token_spec(None, &[], &s(&["12155550100"]), None).is_err());
        assert_eq!(
            token_spec(None, &[], &[], Some("tn:1".into())).unwrap(),
            "tn:1"
        );
    }
}
