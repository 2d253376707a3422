//! `stica serve` configuration: a TOML file (`--config`) overridden by command-line flags.
//!
//! Every field has a safe default; unknown keys are an error. Documented in docs/config.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors in the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config {0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The config file is not valid TOML for this schema.
    #[error("invalid config {0}: {1}")]
    Invalid(PathBuf, String),
    /// A value is out of range or inconsistent.
    #[error("invalid setting: {0}")]
    Value(String),
}

/// The `stica serve` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL clients use to reach this server (scheme, host, port, optional path prefix).
    /// Default: `http://<listen>`.
    pub external_url: Option<String>,
    /// Where the database (SQLite default), CA keys and the dev token authority live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`. Default: `sqlite://<data-dir>/stica.db`.
    pub database_url: Option<String>,
    /// Policy directory (`policy.toml`, `token-authorities/*.pem`). When set, only its token
    /// authorities are trusted.
    pub policy_dir: Option<PathBuf>,
    /// PEM certificate chain for HTTPS. With `tls_key`, stica serves TLS (rustls).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Run the development token authority in-process under `/sti-pa/`.
    pub dev_token_authority: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// stica's own CRL (`[crl]`, docs/revocation.md).
    pub crl: CrlConfig,
    /// Log lines as `text` (default) or `json` (one JSON object per line, docs/operations.md).
    /// `--log-format` and `STICA_LOG_FORMAT` override it.
    pub log_format: LogFormat,
    /// Bind the database to this data directory's CA even though they do not match (empty
    /// database of a bound CA, a database of another CA, no CA for a bound database). Only from
    /// the command line (`--bind-new-database`), never from the file: a one-time operator
    /// decision, not a setting (docs/operations.md).
    #[serde(skip)]
    pub bind_new_database: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format, with the request's span).
    Json,
}

/// When stica signs its CRL and how long it may be cached (docs/revocation.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrlConfig {
    /// nextUpdate - thisUpdate of each CRL, in seconds (default one day).
    pub validity_secs: u32,
    /// A new CRL is signed once the current one is this old, in seconds (default 12 hours; less
    /// than `validity_secs`, so a fresh CRL is always out before the old one's nextUpdate).
    pub refresh_secs: u32,
    /// How often each replica checks whether a new CRL is due (a revocation it has not listed
    /// yet, or age), in seconds (default 30). Bounds how late a revocation whose immediate CRL
    /// signing failed reaches the CRL.
    pub check_interval_secs: u32,
    /// Cap on `Cache-Control: max-age` of `GET /crl`, in seconds (default 300).
    pub max_age_secs: u32,
}

impl Default for CrlConfig {
    fn default() -> Self {
        Self {
            validity_secs: 86_400,
            refresh_secs: 43_200,
            check_interval_secs: 30,
            max_age_secs: 300,
        }
    }
}

impl CrlConfig {
    /// Checks the values against each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Value(format!("crl: {m}")));
        if self.validity_secs < 600 {
            return bad("validity_secs must be at least 600");
        }
        if self.refresh_secs == 0 || self.refresh_secs >= self.validity_secs {
            return bad("refresh_secs must be above 0 and below validity_secs");
        }
        if self.check_interval_secs == 0 || self.check_interval_secs > self.refresh_secs {
            return bad("check_interval_secs must be above 0 and at most refresh_secs");
        }
        if self.max_age_secs > self.validity_secs {
            return bad("max_age_secs must not exceed validity_secs");
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            external_url: None,
            data_dir: PathBuf::from("stica-data"),
            database_url: None,
            policy_dir: None,
            tls_cert: None,
            tls_key: None,
            dev_token_authority: true,
            max_body_bytes: 64 * 1024,
            crl: CrlConfig::default(),
            log_format: LogFormat::Text,
            bind_new_database: false,
        }
    }
}

impl Config {
    /// Reads a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Io(path.to_path_buf(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid(path.to_path_buf(), e.to_string()))
    }

    /// The external base URL without a trailing slash.
    pub fn external_base(&self) -> String {
        match &self.external_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let scheme = if self.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.listen)
            }
        }
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("stica.db").display()
            ),
        }
    }

    /// Checks values at start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let base = self.external_base();
        let url = url::Url::parse(&base)
            .map_err(|e| ConfigError::Value(format!("external_url {base}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::Value(
                "external_url must be http or https".into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::Value(
                "external_url must not have a query or fragment".into(),
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Value(
                "tls_cert and tls_key go together".into(),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Value(
                "max_body_bytes must be at least 1024".into(),
            ));
        }
        self.crl.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c = Config::default();
        assert_eq!(c.external_base(), "http://127.0.0.1:8080");
        assert!(c.validate().is_ok());
        let e = toml::from_str::<Config>("listen = \"0.0.0.0:1\"\nbogus = 1\n");
        assert!(e.is_err());
        let c: Config = toml::from_str("external_url = \"https://ca.example/acme/\"").unwrap();
        assert_eq!(c.external_base(), "https://ca.example/acme");
        let c: Config = toml::from_str("external_url = \"https://ca.example/?x=1\"").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn log_format_and_binding() {
        let c: Config = toml::from_str("log_format = \"json\"").unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(toml::from_str::<Config>("log_format = \"xml\"").is_err());
        // the escape hatch is not a file setting
        assert!(toml::from_str::<Config>("bind_new_database = true").is_err());
        assert!(!Config::default().bind_new_database);
    }

    #[test]
    fn crl_settings() {
        let c: Config =
            toml::from_str("[crl]\nvalidity_secs = 7200\nrefresh_secs = 3600\n").unwrap();
        assert_eq!(c.crl.validity_secs, 7200);
        assert_eq!(c.crl.max_age_secs, 300);
        assert!(c.validate().is_ok());
        for bad in [
            "[crl]\nrefresh_secs = 86400\n",
            "[crl]\nvalidity_secs = 60\n",
            "[crl]\ncheck_interval_secs = 0\n",
            "[crl]\nmax_age_secs = 100000\n",
            "[crl]\nbogus = 1\n",
        ] {
            let parsed = toml::from_str::<Config>(bad);
            assert!(
                parsed.is_err() || parsed.unwrap().validate().is_err(),
                "{bad}"
            );
        }
    }
}
