//! CertID matching: which issuer a request names (RFC 6960 §4.1.1).
//!
//! A CertID names its issuer by two hashes: `issuerNameHash` over the DER of the issuer's
//! subject Name, and `issuerKeyHash` over the issuer's subjectPublicKey BIT STRING value (without
//! tag, length and unused-bits octet). Both are precomputed here, per issuer and per hash
//! algorithm, from the issuer certificate's own bytes (never a re-encoding, so a Name with an
//! unusual but valid encoding still matches).

use aws_lc_rs::digest;
use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use spki::SubjectPublicKeyInfoRef;

use super::oid;

/// A CertID hash algorithm stica understands. RFC 5019 §2.1.1 has clients use SHA-1; newer
/// clients (and `openssl ocsp -sha256`) use SHA-256; SHA-384/512 cost nothing to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    /// id-sha1
    Sha1,
    /// id-sha256
    Sha256,
    /// id-sha384
    Sha384,
    /// id-sha512
    Sha512,
}

impl HashAlg {
    /// Every algorithm, in the order issuer hashes are stored.
    pub const ALL: [HashAlg; 4] = [
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
    ];

    /// The algorithm for a hashAlgorithm OID, `None` when stica does not support it.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        if *oid == oid::SHA1 {
            Some(Self::Sha1)
        } else if *oid == oid::SHA256 {
            Some(Self::Sha256)
        } else if *oid == oid::SHA384 {
            Some(Self::Sha384)
        } else if *oid == oid::SHA512 {
            Some(Self::Sha512)
        } else {
            None
        }
    }

    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => oid::SHA1,
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn digest_alg(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// Hashes `data` with this algorithm.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_alg(), data).as_ref().to_vec()
    }

    fn index(self) -> usize {
        match self {
            Self::Sha1 => 0,
            Self::Sha256 => 1,
            Self::Sha384 => 2,
            Self::Sha512 => 3,
        }
    }
}

/// The issuerNameHash / issuerKeyHash pairs of one issuer, for every [`HashAlg`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerHashes {
    pairs: [(Vec<u8>, Vec<u8>); 4],
}

impl IssuerHashes {
    /// Computes the hashes from the issuer certificate (DER).
    pub fn from_cert(cert_der: &[u8]) -> Result<Self, der::Error> {
        let (subject, key) = subject_and_key(cert_der)?;
        Ok(Self {
            pairs: HashAlg::ALL.map(|alg| (alg.digest(subject), alg.digest(key))),
        })
    }

    /// `(issuerNameHash, issuerKeyHash)` for `alg`.
    pub fn pair(&self, alg: HashAlg) -> (&[u8], &[u8]) {
        let (name, key) = &self.pairs[alg.index()];
        (name, key)
    }

    /// Whether a CertID's hashes name this issuer.
    pub fn matches(&self, alg: HashAlg, name_hash: &[u8], key_hash: &[u8]) -> bool {
        let (name, key) = self.pair(alg);
        name == name_hash && key == key_hash
    }
}

/// The raw subject Name TLV and the subjectPublicKey bits of a certificate, read straight from
/// its TBSCertificate (RFC 5280 §4.1): `version [0]` (optional), serial, signature, issuer,
/// validity, subject, subjectPublicKeyInfo.
pub(crate) fn subject_and_key(cert_der: &[u8]) -> Result<(&[u8], &[u8]), der::Error> {
    let cert = AnyRef::from_der(cert_der)?;
    cert.tag().assert_eq(Tag::Sequence)?;
    let mut outer = SliceReader::new(cert.value())?;
    let tbs = AnyRef::decode(&mut outer)?;
    tbs.tag().assert_eq(Tag::Sequence)?;
    let mut r = SliceReader::new(tbs.value())?;
    let version_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(0),
    };
    if Tag::peek(&r)? == version_tag {
        AnyRef::decode(&mut r)?;
    }
    for _ in 0..4 {
        // serialNumber, signature, issuer, validity
        AnyRef::decode(&mut r)?;
    }
    let subject = r.tlv_bytes()?;
    let spki = SubjectPublicKeyInfoRef::decode(&mut r)?;
    let key = spki.subject_public_key.raw_bytes();
    Ok((subject, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip() {
        for alg in HashAlg::ALL {
            assert_eq!(HashAlg::from_oid(&alg.oid()), Some(alg));
        }
        assert_eq!(HashAlg::from_oid(&oid::OCSP_NONCE), None);
        assert_eq!(HashAlg::Sha1.digest(b"").len(), 20);
        assert_eq!(HashAlg::Sha512.digest(b"").len(), 64);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(subject_and_key(b"").is_err());
        assert!(subject_and_key(&[0x30, 0x00]).is_err());
        assert!(subject_and_key(&[0x04, 0x00]).is_err());
    }
}
