//! Every object identifier the CA and the lint use, each with where it is defined.

use const_oid::ObjectIdentifier;

/// id-ecPublicKey (RFC 5480 §2.1.1).
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1, the only curve for STI keys (RFC 5480 §2.1.1.1; ATIS-1000080 §6.4.1).
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// ecdsa-with-SHA256 (RFC 5758 §3.2), the STI certificate signature algorithm.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// countryName (X.520; RFC 5280 Appendix A).
pub const AT_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// organizationName.
pub const AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// commonName.
pub const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// subjectKeyIdentifier (RFC 5280 §4.2.1.2).
pub const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// keyUsage (RFC 5280 §4.2.1.3).
pub const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// basicConstraints (RFC 5280 §4.2.1.9).
pub const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// cRLDistributionPoints (RFC 5280 §4.2.1.13).
pub const CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
/// certificatePolicies (RFC 5280 §4.2.1.4).
pub const CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
/// anyPolicy (RFC 5280 §4.2.1.4); ATIS-1000080 v005 allows it on intermediates.
pub const ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32.0");
/// authorityKeyIdentifier (RFC 5280 §4.2.1.1).
pub const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// id-pe-TNAuthList (RFC 8226 §9).
pub const TN_AUTH_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.26");
/// id-pe-JWTClaimConstraints (RFC 8226 §8).
pub const JWT_CLAIM_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.27");
/// id-pe-eJWTClaimConstraints (RFC 9118 §3).
pub const ENHANCED_JWT_CLAIM_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.33");
/// PKCS#9 extensionRequest attribute (RFC 2985 §5.4.2), where a CSR asks for extensions.
pub const EXTENSION_REQUEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");

/// The arcs of `oid` as rcgen wants them for a custom extension.
pub(crate) fn arcs(oid: &ObjectIdentifier) -> Vec<u64> {
    oid.arcs().map(u64::from).collect()
}
