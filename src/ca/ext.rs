//! Extension values rcgen cannot write the way ATIS-1000080 wants them, encoded with
//! x509-cert / der and handed to rcgen as custom extensions (crates.md).

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{CertificatePolicies, CrlDistributionPoints};
use x509_cert::name::Name;

use super::oid;

/// The key identifier of a public key: SHA-1 over the subjectPublicKey BIT STRING value (without
/// tag, length and unused-bits octet), RFC 5280 §4.2.1.2 method (1). ATIS-1000080 §6.4.1 asks for
/// this 160-bit SHA-1 form; rcgen's default (truncated SHA-256, RFC 7093) is not it.
pub fn key_identifier(public_key: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, public_key)
        .as_ref()
        .to_vec()
}

/// basicConstraints for an end entity: `SEQUENCE {}`. cA FALSE is the DEFAULT, which DER (X.690
/// §11.5) says to omit; rcgen's "explicit no CA" writes the BOOLEAN, so stica writes it itself,
/// like production SHAKEN CAs (the Martini and TransNexus leaves carry `30 00`).
pub const BASIC_CONSTRAINTS_END_ENTITY: &[u8] = &[0x30, 0x00];

/// basicConstraints for a CA certificate: `SEQUENCE { cA TRUE, pathLenConstraint path_len }`
/// (RFC 5280 §4.2.1.9), `30 06 01 01 ff 02 01 <n>` for small `n`.
pub fn basic_constraints_ca(path_len: u8) -> Result<Vec<u8>, der::Error> {
    x509_cert::ext::pkix::BasicConstraints {
        ca: true,
        path_len_constraint: Some(path_len),
    }
    .to_der()
}

/// subjectKeyIdentifier value: `OCTET STRING keyid`.
pub fn subject_key_identifier(key_id: &[u8]) -> Result<Vec<u8>, der::Error> {
    OctetString::new(key_id)?.to_der()
}

/// certificatePolicies with exactly the given policies, no qualifiers (ATIS-1000080 §6.4.1:
/// exactly one OID on STI certificates).
pub fn certificate_policies(policies: &[ObjectIdentifier]) -> Result<Vec<u8>, der::Error> {
    CertificatePolicies(
        policies
            .iter()
            .map(|p| PolicyInformation {
                policy_identifier: *p,
                policy_qualifiers: None,
            })
            .collect(),
    )
    .to_der()
}

/// cRLDistributionPoints with one point: `fullName` = the URI and, for an indirect CRL such as
/// the STI-PA's, `cRLIssuer` = directoryName copied byte for byte from `crl_issuer_der` (RFC 5280
/// §4.2.1.13; ATIS-1000080 §6.4.1). Fails when the Name does not re-encode to the same bytes.
pub fn crl_distribution_points(
    url: &str,
    crl_issuer_der: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let uri = Ia5String::new(url).map_err(|e| format!("CRL URL is not IA5: {e}"))?;
    let crl_issuer = match crl_issuer_der {
        None => None,
        Some(der_bytes) => {
            let name = Name::from_der(der_bytes)
                .map_err(|e| format!("cRLIssuer is not a DER Name: {e}"))?;
            let again = name.to_der().map_err(|e| e.to_string())?;
            if again != der_bytes {
                return Err("cRLIssuer Name does not re-encode byte for byte".into());
            }
            Some(vec![GeneralName::DirectoryName(name)])
        }
    };
    let point = DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(uri),
        ])),
        reasons: None,
        crl_issuer,
    };
    let der_bytes = CrlDistributionPoints(vec![point])
        .to_der()
        .map_err(|e| e.to_string())?;
    if let Some(issuer) = crl_issuer_der
        && !der_bytes.windows(issuer.len()).any(|w| w == issuer)
    {
        return Err("cRLIssuer bytes were not preserved".into());
    }
    Ok(der_bytes)
}

/// An rcgen custom extension.
pub(crate) fn custom(
    oid: &ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> rcgen::CustomExtension {
    let mut ext = rcgen::CustomExtension::from_oid_content(&oid::arcs(oid), value);
    ext.set_criticality(critical);
    ext
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cRLDistributionPoints value of the real Martini leaf fixture (indirect STI-PA CRL).
    const STI_PA_CRLDP: &str = "30819B308198A03AA038863668747470733A2F2F61757468656E7469636174652D6170692E69636F6E65637469762E636F6D2F646F776E6C6F61642F76312F63726CA25AA4583056311430120603550407130B4272696467657761746572310B3009060355040813024E4A311330110603550403130A5354492D50412043524C310B3009060355040613025553310F300D060355040A13065354492D5041";

    #[test]
    fn crldp_matches_the_sti_pa_form_byte_for_byte() {
        let expected = hex::decode(STI_PA_CRLDP).unwrap();
        // the cRLIssuer Name follows the `a2 5a a4 58` headers
        let pos = expected
            .windows(3)
            .position(|w| w == [0xa4, 0x58, 0x30])
            .unwrap();
        let name = &expected[pos + 2..];
        let got = crl_distribution_points(
            "https://authenticate-api.iconectiv.com/download/v1/crl",
            Some(name),
        )
        .unwrap();
        assert_eq!(hex::encode(&got), hex::encode(&expected));
    }

    #[test]
    fn crldp_without_issuer_and_bad_issuer() {
        let got = crl_distribution_points("http://x/crl", None).unwrap();
        let mut expected = hex::decode("30143012a010a00e860c").unwrap();
        expected.extend_from_slice(b"http://x/crl");
        assert_eq!(got, expected);
        assert!(crl_distribution_points("http://x/crl", Some(&[0x30, 0x01])).is_err());
        assert!(crl_distribution_points("http://x/\u{e9}", None).is_err());
    }

    #[test]
    fn ca_basic_constraints() {
        assert_eq!(
            hex::encode(basic_constraints_ca(0).unwrap()),
            "30060101ff020100"
        );
        assert_eq!(
            hex::encode(basic_constraints_ca(3).unwrap()),
            "30060101ff020103"
        );
    }

    #[test]
    fn policies_and_key_id() {
        let cp = certificate_policies(&[ObjectIdentifier::new_unwrap("2.16.840.1.114569.1.1.4")])
            .unwrap();
        assert_eq!(hex::encode(cp), "300e300c060a6086480186ff09010104");
        assert_eq!(key_identifier(b"").len(), 20);
    }
}
