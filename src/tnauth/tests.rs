//! Test vectors (standards.md §1.2), real certificates, and one negative test per strict-decode
//! rule (docs/tnauthlist.md).

use der::{Decode, DecodePem};
use x509_cert::Certificate;
use x509_cert::ext::Extension;

use super::*;

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text.replace(' ', "")).unwrap()
}

fn list(text: &str) -> TnAuthList {
    text.parse().unwrap()
}

/// A DER TLV with a short-form length, for building malformed inputs by hand.
fn t(tag: u8, value: &[u8]) -> Vec<u8> {
    assert!(value.len() < 0x80);
    let mut out = vec![tag, value.len() as u8];
    out.extend_from_slice(value);
    out
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// The decode error for `bytes`, with entry wrappers removed.
fn refusal(bytes: &[u8]) -> TnAuthError {
    match TnAuthList::from_der(bytes) {
        Ok(list) => panic!("accepted {} as {list}", hex::encode(bytes)),
        Err(e) => e.cause().clone(),
    }
}

// ---- vectors: standards.md §1.2 -------------------------------------------------------------

#[test]
fn vector_spc_1234() {
    let der = unhex("3008a006160431323334");
    let parsed = TnAuthList::from_der(&der).unwrap();
    assert_eq!(parsed.single_spc().map(Spc::as_str), Some("1234"));
    assert_eq!(parsed.to_der(), der);
    assert_eq!(parsed.to_identifier_value(), "MAigBhYEMTIzNA");
    for text in ["MAigBhYEMTIzNA", "MAigBhYEMTIzNA=="] {
        assert_eq!(TnAuthList::from_identifier_value(text), Ok(parsed.clone()));
    }
    assert_eq!(parsed, list("spc:1234"));
}

#[test]
fn vector_spc_709j_and_friends() {
    for (spc, der, b64) in [
        ("709J", "3008A00616043730394A", Some("MAigBhYENzA5Sg==")),
        ("769J", "3008A00616043736394A", None),
        ("281K", "3008A00616043238314B", Some("MAigBhYEMjgxSw==")),
    ] {
        let der = unhex(der);
        let parsed = TnAuthList::from_der(&der).unwrap();
        assert_eq!(parsed.single_spc().map(Spc::as_str), Some(spc));
        assert_eq!(parsed.to_der(), der);
        assert_eq!(TnAuthList::from_spc(Spc::new(spc).unwrap()).to_der(), der);
        if let Some(b64) = b64 {
            assert_eq!(TnAuthList::from_identifier_value(b64), Ok(parsed.clone()));
            assert_eq!(parsed.to_identifier_value(), b64.trim_end_matches('='));
        }
    }
}

#[test]
fn vector_one() {
    let der = unhex("300FA20D160B3132313535353530313233");
    let parsed = TnAuthList::from_der(&der).unwrap();
    assert_eq!(parsed, list("tn:12155550123"));
    assert_eq!(parsed.to_der(), der);
    assert_eq!(parsed.single_spc(), None);
    assert_eq!(parsed.to_identifier_value(), "MA-iDRYLMTIxNTU1NTAxMjM");
    assert_eq!(
        TnAuthList::from_identifier_value("MA+iDRYLMTIxNTU1NTAxMjM="),
        Ok(parsed)
    );
}

#[test]
fn vector_range() {
    let der = unhex("3014A1123010160B3132313535353530313030020164");
    let parsed = TnAuthList::from_der(&der).unwrap();
    assert_eq!(parsed, list("range:12155550100+100"));
    assert_eq!(parsed.to_der(), der);
    for text in [
        "MBShEjAQFgsxMjE1NTU1MDEwMAIBZA==",
        "MBShEjAQFgsxMjE1NTU1MDEwMAIBZA",
    ] {
        assert_eq!(TnAuthList::from_identifier_value(text), Ok(parsed.clone()));
    }
}

#[test]
fn vector_pyasn1_three_entries() {
    let der = unhex(
        "302BA0071605626F677573A1123010160A3537313535353132313202020314A20C160A37303335353531323132",
    );
    let parsed = TnAuthList::from_der(&der).unwrap();
    assert_eq!(
        parsed.to_string(),
        "spc:bogus,range:5715551212+788,tn:7035551212"
    );
    assert_eq!(parsed.to_der(), der, "byte for byte");
    assert_eq!(
        TnAuthList::from_identifier_value(
            "MCugBxYFYm9ndXOhEjAQFgo1NzE1NTUxMjEyAgIDFKIMFgo3MDM1NTUxMjEy"
        ),
        Ok(parsed.clone())
    );
    assert!(!parsed.entries().is_empty() && parsed.has_numbers());
    assert_eq!(
        parsed.spcs().map(Spc::as_str).collect::<Vec<_>>(),
        ["bogus"]
    );
    assert_eq!(parsed.single_spc(), None, "an SPC among other entries");
}

#[test]
fn vector_full_extension_709j() {
    // The whole Extension TLV from @peculiar/x509's tests (standards.md §1.2).
    let ext =
        Extension::from_der(&unhex("301606082b0601050507011a040a3008a00616043730394a")).unwrap();
    assert_eq!(ext.extn_id, ID_PE_TNAUTHLIST);
    assert!(!ext.critical);
    let parsed = TnAuthList::from_der(ext.extn_value.as_bytes()).unwrap();
    assert_eq!(parsed, list("spc:709J"));
}

// ---- real certificates (testdata/README.md) ------------------------------------------------

const FIXTURES: &[(&str, &[u8], Option<&str>)] = &[
    (
        "martini_leaf_lowlatency",
        include_bytes!("testdata/martini_leaf_lowlatency.pem"),
        Some("709J"),
    ),
    (
        "metaswitch_leaf_TDS_7804",
        include_bytes!("testdata/metaswitch_leaf_TDS_7804.pem"),
        Some("7804"),
    ),
    (
        "neustar_leaf_firstcomm",
        include_bytes!("testdata/neustar_leaf_firstcomm.pem"),
        Some("5917"),
    ),
    (
        "peeringhub_leaf_voiceterm_240K",
        include_bytes!("testdata/peeringhub_leaf_voiceterm_240K.pem"),
        Some("240K"),
    ),
    (
        "sansay_leaf_bulkvs_644J",
        include_bytes!("testdata/sansay_leaf_bulkvs_644J.pem"),
        Some("644J"),
    ),
    (
        "transnexus_leaf_charter_5606",
        include_bytes!("testdata/transnexus_leaf_charter_5606.pem"),
        Some("5606"),
    ),
    (
        "rfc9118_example",
        include_bytes!("testdata/rfc9118_example.pem"),
        Some("1234"),
    ),
    (
        "martini_ca_shaken_g2",
        include_bytes!("testdata/martini_ca_shaken_g2.pem"),
        None,
    ),
    (
        "martini_root_shaken_r1",
        include_bytes!("testdata/martini_root_shaken_r1.pem"),
        None,
    ),
    (
        "metaswitch_ca_issuing1",
        include_bytes!("testdata/metaswitch_ca_issuing1.pem"),
        None,
    ),
    (
        "sti-pa_root",
        include_bytes!("testdata/sti-pa_root.pem"),
        None,
    ),
];

#[test]
fn real_certificates_decode_and_reencode_byte_for_byte() {
    for (name, pem, expected) in FIXTURES {
        let cert = Certificate::from_pem(pem).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ext = cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|ext| ext.extn_id == ID_PE_TNAUTHLIST);
        match (ext, expected) {
            (Some(ext), Some(spc)) => {
                assert!(
                    !ext.critical,
                    "{name}: TNAuthList is non-critical in the field"
                );
                let der = ext.extn_value.as_bytes();
                let parsed = TnAuthList::from_der(der).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(parsed.single_spc().map(Spc::as_str), Some(*spc), "{name}");
                assert!(parsed.single_spc().is_some_and(Spc::is_shaken_form));
                assert_eq!(parsed.to_der(), der, "{name}: canonical re-encoding");
                let value = parsed.to_identifier_value();
                assert_eq!(TnAuthList::from_identifier_value(&value), Ok(parsed));
            }
            (None, None) => {}
            (ext, _) => panic!("{name}: unexpected TNAuthList presence {:?}", ext.is_some()),
        }
    }
}

// ---- strict decode: one negative test per rule ---------------------------------------------

#[test]
fn refuses_implicit_tags() {
    // An IMPLICIT-tagging encoder writes `80 04 31 32 33 34` (standards.md §1.1).
    assert_eq!(
        refusal(&t(0x30, &t(0x80, b"1234"))),
        TnAuthError::ImplicitTag {
            tag: 0x80,
            expected: 0xa0
        }
    );
    // The same for `one` and for `range`.
    assert_eq!(
        refusal(&t(0x30, &t(0x82, b"12155550123"))),
        TnAuthError::ImplicitTag {
            tag: 0x82,
            expected: 0xa2
        }
    );
    let range = cat(&[t(0x16, b"12155550100"), t(0x02, &[100])]);
    assert_eq!(
        refusal(&t(0x30, &t(0x81, &range))),
        TnAuthError::ImplicitTag {
            tag: 0x81,
            expected: 0xa1
        }
    );
    // Explicit tag with the wrong (primitive-looking) inner: `a0 04 31 32 33 34` is not a TLV.
    assert!(matches!(
        refusal(&t(0x30, &t(0xa0, b"1234"))),
        TnAuthError::Der(_)
    ));
    let message = TnAuthList::from_der(&t(0x30, &t(0x80, b"1234")))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("entry 1") && message.contains("EXPLICIT"),
        "{message}"
    );
}

#[test]
fn refuses_bare_ia5string() {
    // libstirshaken's form (interop.md): the SPC "1" or a URL as a bare IA5String.
    assert_eq!(refusal(&t(0x16, b"1")), TnAuthError::BareIa5String);
    assert_eq!(
        refusal(&t(0x16, b"https://ca.example/TNAuthList")),
        TnAuthError::BareIa5String
    );
}

#[test]
fn refuses_other_outer_types() {
    for tag in [0x31, 0x04, 0x10, 0xa0] {
        assert_eq!(
            refusal(&t(tag, &t(0xa0, &t(0x16, b"1234")))),
            TnAuthError::NotSequence { tag }
        );
    }
}

#[test]
fn refuses_trailing_bytes() {
    let mut der = unhex("3008a006160431323334");
    der.push(0);
    assert_eq!(refusal(&der), TnAuthError::TrailingBytes { count: 1 });
    der.extend_from_slice(&unhex("3008a006160431323334"));
    assert_eq!(refusal(&der), TnAuthError::TrailingBytes { count: 11 });
}

#[test]
fn refuses_empty_input_and_empty_sequence() {
    assert!(matches!(refusal(&[]), TnAuthError::Der(_)));
    assert_eq!(refusal(&unhex("3000")), TnAuthError::Empty);
}

#[test]
fn refuses_empty_strings() {
    assert_eq!(
        refusal(&t(0x30, &t(0xa0, &t(0x16, b"")))),
        TnAuthError::EmptySpc
    );
    assert_eq!(
        refusal(&t(0x30, &t(0xa2, &t(0x16, b"")))),
        TnAuthError::EmptyNumber
    );
    let range = t(0x30, &cat(&[t(0x16, b""), t(0x02, &[2])]));
    assert_eq!(
        refusal(&t(0x30, &t(0xa1, &range))),
        TnAuthError::EmptyNumber
    );
}

#[test]
fn refuses_non_printable_spc() {
    for byte in [0x07u8, 0x7f, 0xc3] {
        assert_eq!(
            refusal(&t(0x30, &t(0xa0, &t(0x16, &[b'7', byte])))),
            TnAuthError::SpcNotPrintable { byte }
        );
    }
}

#[test]
fn refuses_non_digit_numbers() {
    let one = |n: &[u8]| refusal(&t(0x30, &t(0xa2, &t(0x16, n))));
    assert!(matches!(
        one(b"1215555012a"),
        TnAuthError::NumberNotDigit { found: 'a', .. }
    ));
    assert!(matches!(
        one(b"+12155550123"),
        TnAuthError::NumberNotDigit { found: '+', .. }
    ));
    assert!(matches!(
        one(b"1215 5550123"),
        TnAuthError::NumberNotDigit { found: ' ', .. }
    ));
    assert!(matches!(
        one(b"*67"),
        TnAuthError::NumberSymbol { symbol: '*', .. }
    ));
    assert!(matches!(
        one(b"1#"),
        TnAuthError::NumberSymbol { symbol: '#', .. }
    ));
    assert!(matches!(
        one(&[b'1', 0xff]),
        TnAuthError::NumberNotDigit { .. }
    ));
    let range = t(0x30, &cat(&[t(0x16, b"12#4"), t(0x02, &[2])]));
    assert!(matches!(
        refusal(&t(0x30, &t(0xa1, &range))),
        TnAuthError::NumberSymbol { symbol: '#', .. }
    ));
}

#[test]
fn refuses_numbers_longer_than_15() {
    let accepted = t(0x30, &t(0xa2, &t(0x16, b"123456789012345")));
    assert!(TnAuthList::from_der(&accepted).is_ok());
    assert!(matches!(
        refusal(&t(0x30, &t(0xa2, &t(0x16, b"1234567890123456")))),
        TnAuthError::NumberTooLong { len: 16, .. }
    ));
}

fn range_der(start: &[u8], count_content: &[u8]) -> Vec<u8> {
    t(
        0x30,
        &t(
            0xa1,
            &t(0x30, &cat(&[t(0x16, start), t(0x02, count_content)])),
        ),
    )
}

#[test]
fn refuses_count_below_two() {
    assert_eq!(
        refusal(&range_der(b"12155550100", &[1])),
        TnAuthError::CountTooSmall { count: 1 }
    );
    assert_eq!(
        refusal(&range_der(b"12155550100", &[0])),
        TnAuthError::CountTooSmall { count: 0 }
    );
    // -1 is not a valid count at all.
    assert!(matches!(
        refusal(&range_der(b"12155550100", &[0xff])),
        TnAuthError::BadCount(_)
    ));
    assert!(TnAuthList::from_der(&range_der(b"12155550100", &[2])).is_ok());
}

#[test]
fn refuses_count_that_changes_the_length() {
    assert!(matches!(
        refusal(&range_der(b"9998", &[5])),
        TnAuthError::RangeChangesLength {
            digits: 4,
            count: 5,
            ..
        }
    ));
    assert!(TnAuthList::from_der(&range_der(b"9998", &[2])).is_ok());
    // A count beyond u64.
    assert!(matches!(
        refusal(&range_der(b"1", &[0x01, 0, 0, 0, 0, 0, 0, 0, 0])),
        TnAuthError::BadCount(_)
    ));
}

#[test]
fn refuses_non_minimal_der() {
    // Long-form length where the short form fits.
    for long in ["308108 a006160431323334", "3009 a08106 160431323334"] {
        assert!(
            matches!(refusal(&unhex(long)), TnAuthError::Der(_)),
            "{long}"
        );
    }
    // Indefinite length (BER only).
    assert!(matches!(
        refusal(&unhex("3080a0061604313233340000")),
        TnAuthError::Der(_)
    ));
    // A count INTEGER with a redundant leading zero.
    assert!(matches!(
        refusal(&range_der(b"12155550100", &[0x00, 0x64])),
        TnAuthError::BadCount(_)
    ));
    // A constructed IA5String (BER allows it, DER does not).
    assert!(matches!(
        refusal(&t(0x30, &t(0xa0, &t(0x36, &t(0x16, b"1234"))))),
        TnAuthError::Der(_)
    ));
    // Truncated input.
    assert!(matches!(
        refusal(&unhex("3008a0061604313233")),
        TnAuthError::Der(_)
    ));
    // A tag number < 31 in the long (multi-octet) form.
    assert!(matches!(
        refusal(&t(0x30, &cat(&[vec![0xbf, 0x00, 0x06], t(0x16, b"1234")]))),
        TnAuthError::Der(_)
    ));
}

#[test]
fn refuses_unknown_entries_and_wrong_inner_types() {
    assert_eq!(
        refusal(&t(0x30, &t(0xa3, &t(0x16, b"1234")))),
        TnAuthError::UnknownEntry { tag: 0xa3 }
    );
    assert_eq!(
        refusal(&t(0x30, &t(0x16, b"1234"))),
        TnAuthError::UnknownEntry { tag: 0x16 }
    );
    assert!(matches!(
        refusal(&t(0x30, &t(0xa0, &t(0x0c, b"1234")))),
        TnAuthError::WrongType {
            what: "spc",
            tag: 0x0c,
            ..
        }
    ));
    assert!(matches!(
        refusal(&t(0x30, &t(0xa2, &t(0x13, b"1234")))),
        TnAuthError::WrongType {
            what: "one",
            tag: 0x13,
            ..
        }
    ));
    assert!(matches!(
        refusal(&t(0x30, &t(0xa1, &t(0x16, b"1234")))),
        TnAuthError::WrongType { what: "range", .. }
    ));
    let swapped = t(0x30, &cat(&[t(0x02, &[2]), t(0x16, b"1234")]));
    assert!(matches!(
        refusal(&t(0x30, &t(0xa1, &swapped))),
        TnAuthError::WrongType {
            what: "range start",
            ..
        }
    ));
    let count_as_text = t(0x30, &cat(&[t(0x16, b"1234"), t(0x16, b"2")]));
    assert!(matches!(
        refusal(&t(0x30, &t(0xa1, &count_as_text))),
        TnAuthError::WrongType {
            what: "range count",
            ..
        }
    ));
}

#[test]
fn refuses_extra_data() {
    let two = cat(&[t(0x16, b"1234"), t(0x16, b"5678")]);
    assert_eq!(
        refusal(&t(0x30, &t(0xa0, &two))),
        TnAuthError::ExtraData { what: "spc" }
    );
    // The extension marker names no extension: an extra range field is refused.
    let extended = t(
        0x30,
        &cat(&[t(0x16, b"1234"), t(0x02, &[2]), t(0x01, &[0xff])]),
    );
    assert_eq!(
        refusal(&t(0x30, &t(0xa1, &extended))),
        TnAuthError::ExtraData { what: "range" }
    );
    // A range without its count.
    let short = t(0x30, &t(0x16, b"1234"));
    assert!(matches!(
        refusal(&t(0x30, &t(0xa1, &short))),
        TnAuthError::Der(_)
    ));
}

#[test]
fn errors_name_the_entry_and_map_to_malformed() {
    let der = cat(&[
        t(0xa0, &t(0x16, b"709J")),
        t(0xa2, &t(0x16, b"12155550123")),
        t(0xa2, &t(0x16, b"1215555012#")),
    ]);
    let err = TnAuthList::from_der(&t(0x30, &der)).unwrap_err();
    assert!(matches!(err, TnAuthError::Entry { index: 3, .. }));
    let problem = crate::error::Error::from(err);
    assert_eq!(problem.kind, crate::error::ErrorKind::Malformed);
    assert!(
        problem.detail.starts_with("entry 3: telephone number"),
        "{}",
        problem.detail
    );
}

#[test]
fn identifier_value_errors() {
    let err = |v: &str| TnAuthList::from_identifier_value(v).unwrap_err();
    assert!(matches!(err(""), TnAuthError::Base64(_)));
    assert!(matches!(err("MAig BhYEMTIzNA"), TnAuthError::Base64(_)));
    // Valid base64, but the libstirshaken IA5String form.
    assert_eq!(err("FgEx"), TnAuthError::BareIa5String);
}
