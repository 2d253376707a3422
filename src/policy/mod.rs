//! Issuance policy: `<policy-dir>/policy.toml` and `<policy-dir>/token-authorities/*.pem`.
//!
//! Every field has a safe default, so a missing `policy.toml` means "the defaults". Unknown keys are
//! an error, so a typo never silently weakens a rule. Documented field by field in docs/config.md.

pub mod inventory;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::tnauth::jwtcc::ClaimConstraints;

/// Errors loading policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// the file
        path: PathBuf,
        /// why
        source: std::io::Error,
    },
    /// `policy.toml` is not valid (unknown key, wrong type).
    #[error("invalid {path}: {message}")]
    Invalid {
        /// the file
        path: PathBuf,
        /// what is wrong
        message: String,
    },
}

/// The number inventory's file name in a policy directory.
pub const INVENTORY_FILE: &str = "inventory.csv";

/// The current US SHAKEN certificate policy OID (CP v1.4).
pub const SHAKEN_CP_V1_4: &str = "2.16.840.1.114569.1.1.4";

/// The profile names `[issuance] profiles` may list (the same as `ca::Profile::as_str`).
pub const PROFILE_SHAKEN_SPC: &str = "shaken-spc";
/// See [`PROFILE_SHAKEN_SPC`].
pub const PROFILE_TN_LEVEL: &str = "tn-level";
/// See [`PROFILE_SHAKEN_SPC`].
pub const PROFILE_SCA: &str = "sca";
/// See [`PROFILE_SHAKEN_SPC`].
pub const PROFILE_DELEGATE: &str = "delegate";
/// Every profile name, in the order the directory lists them.
pub const PROFILE_NAMES: [&str; 4] = [
    PROFILE_SHAKEN_SPC,
    PROFILE_TN_LEVEL,
    PROFILE_SCA,
    PROFILE_DELEGATE,
];

/// `policy.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyFile {
    /// Require External Account Binding on newAccount (RFC 8555 §7.3.4). Production STI-CAs do.
    pub external_account_required: bool,
    /// Terms of service URL for the directory `meta`.
    pub terms_of_service: Option<String>,
    /// Certificate content.
    pub issuance: IssuancePolicy,
    /// Authority Token validation.
    pub authority_token: AuthorityTokenPolicy,
}

/// What goes into certificates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuancePolicy {
    /// Lifetime of `shaken-spc` certificates in days.
    pub validity_days: u32,
    /// The certificate profiles this CA offers (profiles.md): any of `shaken-spc`, `tn-level`,
    /// `sca`, `delegate`. Listed in the directory `meta.profiles`; a token or CSR that needs a
    /// profile not listed here is refused.
    pub profiles: Vec<String>,
    /// Lifetime of `tn-level` certificates in days.
    pub tn_level_validity_days: u32,
    /// Lifetime of `sca` (delegating CA) certificates in days.
    pub sca_validity_days: u32,
    /// Lifetime of `delegate` certificates in days.
    pub delegate_validity_days: u32,
    /// pathLenConstraint of `sca` certificates: 0 lets the SCA issue only end-entity
    /// (delegate) certificates; more allows sub-delegation (RFC 9060). The issuing intermediate
    /// needs a pathLen of at least `sca_path_len + 1`.
    pub sca_path_len: u8,
    /// Put cRLSign next to keyCertSign on `sca` certificates, so that the SCA signs its own CRLs
    /// directly. Off by default: like stica's own intermediate (ATIS-1000080 v005 allows only
    /// keyCertSign on CA certificates), an SCA signs its CRLs with a dedicated CRL-signing
    /// certificate it issues.
    pub sca_crl_sign: bool,
    /// JWT claim constraints every `tn-level` and `delegate` certificate carries (RFC 8226 §8, or
    /// RFC 9118 with `enhanced`). A token may ask for its own instead (`atc.jwtcc` /
    /// `atc.ejwtcc`); when both ask, they must be the same, else issuance is refused.
    pub jwt_claim_constraints: Option<ClaimConstraintsPolicy>,
    /// Cap `notAfter` at the Authority Token's `exp`.
    pub cap_validity_at_token_exp: bool,
    /// Back-date `notBefore` by this many seconds to absorb clock skew at verifiers.
    pub backdate_secs: u32,
    /// The single certificatePolicies OID (ATIS-1000080 §6.4.1).
    pub certificate_policy: String,
    /// The CRL distribution point URL. Default: the dev token authority's CRL on this server.
    pub crl_url: Option<String>,
    /// A PEM/DER CRL (its issuer) or certificate (its subject) whose Name is copied byte for byte
    /// into the distribution point's `cRLIssuer`. Default: the dev token authority's CRL signer.
    pub crl_issuer: Option<PathBuf>,
    /// Subject `C`.
    pub country: String,
    /// Organization name used when the account has no external account binding (dev only).
    pub default_organization: String,
    /// Order and authorization lifetime in seconds.
    pub order_lifetime_secs: u32,
}

impl Default for IssuancePolicy {
    fn default() -> Self {
        Self {
            validity_days: 30,
            profiles: vec![PROFILE_SHAKEN_SPC.to_string()],
            tn_level_validity_days: 30,
            sca_validity_days: 365,
            delegate_validity_days: 30,
            sca_path_len: 0,
            sca_crl_sign: false,
            jwt_claim_constraints: None,
            cap_validity_at_token_exp: false,
            backdate_secs: 60,
            certificate_policy: SHAKEN_CP_V1_4.to_string(),
            crl_url: None,
            crl_issuer: None,
            country: "US".to_string(),
            default_organization: "stica development subscriber".to_string(),
            order_lifetime_secs: 7 * 24 * 3600,
        }
    }
}

/// `[issuance.jwt_claim_constraints]`: one claim constraints value (RFC 8226 §8 / RFC 9118 §3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimConstraintsPolicy {
    /// Write EnhancedJWTClaimConstraints (RFC 9118, id-pe 33) instead of JWTClaimConstraints
    /// (RFC 8226 §8, id-pe 27). Needed for `must_exclude`.
    pub enhanced: bool,
    /// Claims the PASSporT must include (`mustInclude`).
    pub must_include: Vec<String>,
    /// Claims whose value must be one of the listed ones (`permittedValues`), e.g.
    /// `{ orig = ["12155550123"] }`.
    pub permitted_values: std::collections::BTreeMap<String, Vec<String>>,
    /// Claims the PASSporT must not include (`mustExclude`, enhanced only).
    pub must_exclude: Vec<String>,
}

impl ClaimConstraintsPolicy {
    /// The value, or why it is unusable.
    pub fn build(&self) -> Result<ClaimConstraints, String> {
        use crate::tnauth::jwtcc::{
            ClaimName, EnhancedJwtClaimConstraints, JwtClaimConstraints, PermittedValues,
        };
        let names = |v: &[String]| {
            v.iter()
                .map(|n| ClaimName::new(n.as_str()).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()
        };
        let include = names(&self.must_include)?;
        let exclude = names(&self.must_exclude)?;
        let permitted = self
            .permitted_values
            .iter()
            .map(|(claim, values)| {
                ClaimName::new(claim.as_str())
                    .and_then(|c| PermittedValues::new(c, values.clone()))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.enhanced {
            let v = EnhancedJwtClaimConstraints::new(include, permitted, exclude)
                .map_err(|e| e.to_string())?;
            if !v.contradictions().is_empty() {
                return Err("a claim is both in must_include and must_exclude".into());
            }
            Ok(ClaimConstraints::Enhanced(v))
        } else {
            if !exclude.is_empty() {
                return Err("must_exclude needs enhanced = true (RFC 9118)".into());
            }
            JwtClaimConstraints::new(include, permitted)
                .map(ClaimConstraints::Legacy)
                .map_err(|e| e.to_string())
        }
    }
}

/// Which fingerprint forms of the account key a token may carry (standards.md §2.5).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FingerprintForm {
    /// SHA-256 over the DER SubjectPublicKeyInfo (production SHAKEN clients).
    Spki,
    /// SHA-256 JWK thumbprint, RFC 7638.
    JwkThumbprint,
}

/// Authority Token (tkauth-01) validation rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorityTokenPolicy {
    /// DANGER: accept `http://` x5u URLs on any host (tests only; logged loudly).
    pub danger_allow_http_x5u: bool,
    /// Allow x5u URLs that resolve to loopback or private addresses (tests, private networks).
    pub allow_private_x5u: bool,
    /// x5u fetch timeout in milliseconds.
    pub x5u_timeout_ms: u64,
    /// Largest x5u response accepted, in bytes.
    pub x5u_max_bytes: usize,
    /// How long a fetched x5u chain or CRL is cached, in seconds.
    pub x5u_cache_ttl_secs: u64,
    /// Clock skew allowed on `exp` and certificate validity, in seconds.
    pub clock_skew_secs: i64,
    /// Refuse tokens whose `exp` is further away than this, in seconds (0: no cap).
    pub max_token_lifetime_secs: i64,
    /// Let the same account present the same token (same `jti`) again until `exp`.
    pub allow_token_reuse: bool,
    /// Fingerprint forms accepted.
    pub fingerprint_forms: Vec<FingerprintForm>,
    /// Refuse a token when the CRL named by its signer cannot be fetched (fail closed).
    pub require_crl: bool,
}

impl Default for AuthorityTokenPolicy {
    fn default() -> Self {
        Self {
            danger_allow_http_x5u: false,
            allow_private_x5u: false,
            x5u_timeout_ms: 3000,
            x5u_max_bytes: 64 * 1024,
            x5u_cache_ttl_secs: 3600,
            clock_skew_secs: 60,
            max_token_lifetime_secs: 0,
            allow_token_reuse: true,
            fingerprint_forms: vec![FingerprintForm::Spki, FingerprintForm::JwkThumbprint],
            require_crl: false,
        }
    }
}

/// Loaded policy: the file plus the trusted token-authority certificates (DER).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `policy.toml` (or defaults)
    pub file: PolicyFile,
    /// `<policy-dir>/token-authorities/*.pem`, DER
    pub token_authorities: Vec<Vec<u8>>,
    /// `<policy-dir>/inventory.csv` (`spc,start,count`), when present: which numbers each SPC
    /// holds, so that a parent listing only an SPC can encompass numbers (profiles.md
    /// "Encompassing"). Shared, as it may hold millions of blocks.
    pub inventory: Option<std::sync::Arc<inventory::NumberInventory>>,
}

impl Policy {
    /// Loads `<dir>/policy.toml` (optional), `<dir>/token-authorities/*.pem` and
    /// `<dir>/inventory.csv` (optional).
    pub fn load(dir: &Path) -> Result<Self, PolicyError> {
        let toml_path = dir.join("policy.toml");
        let file = match std::fs::read_to_string(&toml_path) {
            Ok(text) => toml::from_str(&text).map_err(|e| PolicyError::Invalid {
                path: toml_path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PolicyFile::default(),
            Err(source) => {
                return Err(PolicyError::Io {
                    path: toml_path,
                    source,
                });
            }
        };
        let mut token_authorities = Vec::new();
        let ta_dir = dir.join("token-authorities");
        if ta_dir.is_dir() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&ta_dir)
                .map_err(|source| PolicyError::Io {
                    path: ta_dir.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pem"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read(&path).map_err(|source| PolicyError::Io {
                    path: path.clone(),
                    source,
                })?;
                let ders = crate::x509::pem_certificates(&text).map_err(|message| {
                    PolicyError::Invalid {
                        path: path.clone(),
                        message,
                    }
                })?;
                if ders.is_empty() {
                    return Err(PolicyError::Invalid {
                        path,
                        message: "no CERTIFICATE block".into(),
                    });
                }
                token_authorities.extend(ders);
            }
        }
        let inventory_path = dir.join(INVENTORY_FILE);
        let inventory = if inventory_path.is_file() {
            let inv = inventory::NumberInventory::load(&inventory_path).map_err(|e| {
                PolicyError::Invalid {
                    path: inventory_path.clone(),
                    message: e.to_string(),
                }
            })?;
            Some(std::sync::Arc::new(inv))
        } else {
            None
        };
        let policy = Self {
            file,
            token_authorities,
            inventory,
        };
        policy.validate()?;
        Ok(policy)
    }

    /// The claim constraints policy puts on `tn-level` and `delegate` certificates (validated at
    /// load, so a failure here is a policy built in code without [`Policy::validate`]).
    pub fn claim_constraints(&self) -> Result<Option<ClaimConstraints>, PolicyError> {
        self.file
            .issuance
            .jwt_claim_constraints
            .as_ref()
            .map(|cc| {
                cc.build().map_err(|message| PolicyError::Invalid {
                    path: PathBuf::from("policy.toml"),
                    message: format!("issuance.jwt_claim_constraints: {message}"),
                })
            })
            .transpose()
    }

    /// True when `[issuance] profiles` lists `name`.
    pub fn offers(&self, name: &str) -> bool {
        self.file.issuance.profiles.iter().any(|p| p == name)
    }

    /// The pathLenConstraint the issuing intermediate needs for the offered profiles: at least
    /// `sca_path_len + 1` when `sca` is offered (the SCA is one CA certificate below it, RFC 5280
    /// §4.2.1.9), else 0.
    pub fn required_issuer_path_len(&self) -> u8 {
        if self.offers(PROFILE_SCA) {
            self.file.issuance.sca_path_len.saturating_add(1)
        } else {
            0
        }
    }

    /// Checks cross-field rules at start.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |m: &str| PolicyError::Invalid {
            path: PathBuf::from("policy.toml"),
            message: m.to_string(),
        };
        let issuance = &self.file.issuance;
        if issuance.validity_days == 0
            || issuance.tn_level_validity_days == 0
            || issuance.sca_validity_days == 0
            || issuance.delegate_validity_days == 0
        {
            return Err(bad(
                "issuance.validity_days, tn_level_validity_days, sca_validity_days and delegate_validity_days must be at least 1",
            ));
        }
        if issuance.profiles.is_empty() {
            return Err(bad("issuance.profiles must name at least one profile"));
        }
        for name in &issuance.profiles {
            if !PROFILE_NAMES.contains(&name.as_str()) {
                return Err(PolicyError::Invalid {
                    path: PathBuf::from("policy.toml"),
                    message: format!(
                        "issuance.profiles: unknown profile {name:?}; use {}",
                        PROFILE_NAMES.join(", ")
                    ),
                });
            }
        }
        if let Some(cc) = &issuance.jwt_claim_constraints {
            cc.build().map_err(|m| PolicyError::Invalid {
                path: PathBuf::from("policy.toml"),
                message: format!("issuance.jwt_claim_constraints: {m}"),
            })?;
        }
        // pathLen + 1 must fit the intermediate's pathLenConstraint (a u8 here).
        if issuance.sca_path_len > 8 {
            return Err(bad("issuance.sca_path_len must be at most 8"));
        }
        if self.file.authority_token.fingerprint_forms.is_empty() {
            return Err(bad(
                "authority_token.fingerprint_forms must name at least one form",
            ));
        }
        if self
            .file
            .issuance
            .certificate_policy
            .parse::<const_oid::ObjectIdentifier>()
            .is_err()
        {
            return Err(bad("issuance.certificate_policy is not an OID"));
        }
        if self.file.issuance.country.len() != 2 {
            return Err(bad("issuance.country must be an ISO 3166 alpha-2 code"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, PolicyError> {
        let policy = Policy {
            file: toml::from_str(text).map_err(|e| PolicyError::Invalid {
                path: PathBuf::from("policy.toml"),
                message: e.to_string(),
            })?,
            token_authorities: Vec::new(),
            inventory: None,
        };
        policy.validate()?;
        Ok(policy)
    }

    #[test]
    fn profiles_default_to_spc_only_and_need_no_ca_room() {
        let p = parse("").unwrap();
        assert!(p.offers("shaken-spc"));
        assert!(!p.offers("tn-level") && !p.offers("sca") && !p.offers("delegate"));
        assert_eq!(p.required_issuer_path_len(), 0);
        assert_eq!(p.file.issuance.sca_path_len, 0);
        assert!(!p.file.issuance.sca_crl_sign);
    }

    #[test]
    fn offering_sca_needs_path_len_one_more_than_sca_path_len() {
        let p = parse("[issuance]\nprofiles = [\"shaken-spc\", \"tn-level\", \"sca\"]\n").unwrap();
        assert_eq!(p.required_issuer_path_len(), 1);
        let p =
            parse("[issuance]\nprofiles = [\"sca\"]\nsca_path_len = 2\nsca_validity_days = 90\n")
                .unwrap();
        assert_eq!(p.required_issuer_path_len(), 3);
        assert_eq!(p.file.issuance.sca_validity_days, 90);
        // sca_path_len alone does not ask for room when sca is not offered
        let p = parse("[issuance]\nsca_path_len = 2\n").unwrap();
        assert_eq!(p.required_issuer_path_len(), 0);
    }

    #[test]
    fn claim_constraints_from_policy() {
        assert!(parse("").unwrap().claim_constraints().unwrap().is_none());
        let p = parse(
            "[issuance.jwt_claim_constraints]\nmust_include = [\"rcd\"]\npermitted_values = { orig = [\"12155550123\"] }\n",
        )
        .unwrap();
        let cc = p.claim_constraints().unwrap().unwrap();
        assert!(matches!(cc, ClaimConstraints::Legacy(_)));
        assert_eq!(cc.extension_oid().to_string(), "1.3.6.1.5.5.7.1.27");
        let p =
            parse("[issuance.jwt_claim_constraints]\nenhanced = true\nmust_exclude = [\"rcd\"]\n")
                .unwrap();
        assert!(matches!(
            p.claim_constraints().unwrap().unwrap(),
            ClaimConstraints::Enhanced(_)
        ));
    }

    #[test]
    fn bad_profile_settings_are_refused() {
        for bad in [
            "[issuance]\nprofiles = []\n",
            "[issuance]\nprofiles = [\"shaken\"]\n",
            "[issuance]\ntn_level_validity_days = 0\n",
            "[issuance]\nsca_validity_days = 0\n",
            "[issuance]\ndelegate_validity_days = 0\n",
            "[issuance]\nsca_path_len = 9\n",
            "[issuance]\nsca_path_len = -1\n",
            "[issuance]\nsca_pathlen = 1\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for bad in [
            "[issuance.jwt_claim_constraints]\n",
            "[issuance.jwt_claim_constraints]\nmust_exclude = [\"rcd\"]\n",
            "[issuance.jwt_claim_constraints]\nenhanced = true\nmust_include = [\"rcd\"]\nmust_exclude = [\"rcd\"]\n",
            "[issuance.jwt_claim_constraints]\npermitted_values = { orig = [] }\n",
            "[issuance.jwt_claim_constraints]\nmust_include = [\"\"]\n",
            "[issuance.jwt_claim_constraints]\nbogus = 1\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("[issuance]\nprofiles = [\"shaken\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("shaken-spc, tn-level, sca, delegate"),
            "{e}"
        );
    }

    #[test]
    fn example_policy_directory_loads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
        let policy = Policy::load(&dir).expect("policy/ loads");
        assert!(policy.file.external_account_required);
        assert_eq!(policy.token_authorities.len(), 1, "the STI-PA root");
        assert_eq!(
            policy.file.authority_token.fingerprint_forms,
            vec![FingerprintForm::Spki]
        );
    }
}
