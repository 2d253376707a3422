//! Accounts of the development token authority: who may log in and for which SPCs it may mint.
//!
//! The production STI-PA (ATIS-1000080, iconectiv API; standards.md §4) ties each login to a
//! service provider and its SPCs. The dev authority reads the same idea from `<dir>/users.toml`,
//! which it writes on first start with one user allowed every SPC.

use std::path::Path;

use aws_lc_rs::{constant_time, digest};
use serde::{Deserialize, Serialize};

use super::{PaError, pki};

/// The SPC wildcard: the user may act for every SPC.
pub const ANY_SPC: &str = "*";

/// Default lifetime of an access token returned by the login endpoint, in seconds.
pub const DEFAULT_SESSION_TTL_SECS: u64 = 3600;

/// Default lifetime of an SPC token minted over HTTP, in seconds.
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;

/// The contents of `users.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevPaConfig {
    /// Lifetime of SPC tokens minted by `POST /api/v1/account/{spc}/token`, in seconds.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// Lifetime of the access token returned by `POST /api/v1/auth/login`, in seconds.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_secs: u64,
    /// The accounts that may log in.
    #[serde(default)]
    pub users: Vec<DevPaUser>,
}

/// One account of the dev token authority.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevPaUser {
    /// The login name (`userId` in the login request).
    pub user_id: String,
    /// The password, in clear: this is a development tool whose config is a 0600 file.
    pub password: String,
    /// SPCs this user may obtain tokens for; `"*"` allows every SPC.
    pub spcs: Vec<String>,
    /// May obtain TN-list tokens (a `tkvalue` listing telephone numbers and ranges, optionally
    /// with the path's SPC) as an STI-PA does after a delegating SP asked for them. The dev
    /// authority keeps no number inventory: a user with this flag is trusted for any number.
    #[serde(default)]
    pub tn_lists: bool,
}

impl std::fmt::Debug for DevPaUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPaUser")
            .field("user_id", &self.user_id)
            .field("password", &"<redacted>")
            .field("spcs", &self.spcs)
            .field("tn_lists", &self.tn_lists)
            .finish()
    }
}

fn default_token_ttl() -> u64 {
    DEFAULT_TOKEN_TTL_SECS
}

fn default_session_ttl() -> u64 {
    DEFAULT_SESSION_TTL_SECS
}

impl Default for DevPaConfig {
    fn default() -> Self {
        Self {
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            session_ttl_secs: DEFAULT_SESSION_TTL_SECS,
            users: Vec::new(),
        }
    }
}

impl DevPaUser {
    /// Whether this user may obtain tokens for `spc` (exact match or the `"*"` wildcard).
    pub fn may_act_for(&self, spc: &str) -> bool {
        self.spcs.iter().any(|s| s == ANY_SPC || s == spc)
    }
}

impl DevPaConfig {
    /// Parses `users.toml` text; unknown keys are an error (DESIGN.md house rule 5).
    pub fn from_toml(text: &str) -> Result<Self, PaError> {
        let config: Self = toml::from_str(text).map_err(|e| PaError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Loads `path`, or writes a fresh file there with one user `dev`, a random password and every
    /// SPC allowed, and returns that.
    pub fn load_or_create(path: &Path) -> Result<Self, PaError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Never starting with '-': the password goes on command lines
                // (`stica client --pa-password X`), where a leading '-' reads as a flag.
                let password = format!("dev{}", pki::random_b64url(18)?);
                let config = Self {
                    users: vec![DevPaUser {
                        user_id: "dev".to_string(),
                        password,
                        spcs: vec![ANY_SPC.to_string()],
                        tn_lists: true,
                    }],
                    ..Self::default()
                };
                let body =
                    toml::to_string_pretty(&config).map_err(|e| PaError::Config(e.to_string()))?;
                let text = format!(
                    "# Accounts of the stica development token authority (STI-PA look-alike).\n\
                     # Log in with POST <base>/api/v1/auth/login {{\"userId\":..,\"password\":..}}.\n\
                     # spcs = [\"*\"] allows every SPC; tn_lists = true allows TN-list tokens.\n\n{body}"
                );
                pki::write_new_file(path, text.as_bytes(), 0o600)?;
                Ok(config)
            }
            Err(e) => Err(PaError::io(path, e)),
        }
    }

    fn validate(&self) -> Result<(), PaError> {
        for user in &self.users {
            if user.user_id.is_empty() || user.password.is_empty() {
                return Err(PaError::Config(
                    "every user needs a non-empty user_id and password".to_string(),
                ));
            }
        }
        if self.token_ttl_secs == 0 || self.session_ttl_secs == 0 {
            return Err(PaError::Config(
                "token_ttl_secs and session_ttl_secs must be positive".to_string(),
            ));
        }
        Ok(())
    }

    /// The user whose id and password match, comparing passwords in constant time.
    ///
    /// Passwords are hashed first so the comparison does not leak their length either, and a
    /// comparison is made even for an unknown user id.
    pub fn authenticate(&self, user_id: &str, password: &str) -> Option<&DevPaUser> {
        let given = digest::digest(&digest::SHA256, password.as_bytes());
        let mut found = None;
        for user in &self.users {
            let stored = digest::digest(&digest::SHA256, user.password.as_bytes());
            let same = constant_time::verify_slices_are_equal(given.as_ref(), stored.as_ref());
            if user.user_id == user_id && same.is_ok() && found.is_none() {
                found = Some(user);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_default_file_with_one_wildcard_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let created = DevPaConfig::load_or_create(&path).unwrap();
        assert_eq!(created.users.len(), 1);
        assert_eq!(created.users[0].user_id, "dev");
        assert_eq!(created.users[0].spcs, vec!["*".to_string()]);
        assert!(created.users[0].tn_lists);
        assert!(created.users[0].password.len() >= 20);
        let again = DevPaConfig::load_or_create(&path).unwrap();
        assert_eq!(created, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rejects_unknown_keys_and_empty_passwords() {
        assert!(DevPaConfig::from_toml("bogus = 1").is_err());
        assert!(
            DevPaConfig::from_toml("[[users]]\nuser_id = \"a\"\npassword = \"\"\nspcs = []")
                .is_err()
        );
    }

    #[test]
    fn authenticate_and_spc_scope() {
        let config = DevPaConfig::from_toml(
            "[[users]]\nuser_id = \"a\"\npassword = \"pw\"\nspcs = [\"1234\"]\n",
        )
        .unwrap();
        assert!(config.authenticate("a", "pw").is_some());
        assert!(config.authenticate("a", "pw2").is_none());
        assert!(config.authenticate("b", "pw").is_none());
        let user = config.authenticate("a", "pw").unwrap();
        assert!(user.may_act_for("1234"));
        assert!(!user.may_act_for("5678"));
        assert!(!user.tn_lists, "TN lists are off unless users.toml says so");
    }
}
