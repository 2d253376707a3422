use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

use super::*;

#[test]
fn raw_signatures_become_der_integers() {
    // high bit set: a 0x00 pad; leading zeros: trimmed
    let mut raw = [0u8; 64];
    raw[0] = 0x80;
    raw[31] = 1;
    raw[32..].copy_from_slice(&[0u8; 32]);
    raw[63] = 0x7f;
    let der = raw_to_der(&raw).unwrap();
    assert_eq!(&der[..4], &[0x30, 0x26, 0x02, 0x21]);
    assert_eq!(der[4], 0x00);
    assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x7f]);
    assert!(raw_to_der(&[0u8; 63]).is_err());
    assert!(raw_to_der(&[0u8; 65]).is_err());
}

#[test]
fn der_conversion_verifies_with_a_real_key() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let rng = SystemRandom::new();
    for i in 0..64u8 {
        let msg = [i; 17];
        let raw = key.sign(&rng, &msg).unwrap();
        let der = raw_to_der(raw.as_ref()).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key.public_key().as_ref())
            .verify(&msg, &der)
            .unwrap();
    }
}

#[test]
fn config_round_trips_and_refuses_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ca")).unwrap();
    assert_eq!(Pkcs11Config::load(dir.path()).unwrap(), None);
    let cfg = Pkcs11Config {
        module: "/usr/lib/softhsm/libsofthsm2.so".into(),
        token_label: "stica".into(),
        key_label: "issuing".into(),
        root_key_label: Some("root".into()),
        pin_file: None,
        pin_env: Some("MY_PIN".into()),
    };
    cfg.save(dir.path()).unwrap();
    assert_eq!(Pkcs11Config::load(dir.path()).unwrap(), Some(cfg.clone()));
    assert!(cfg.save(dir.path()).is_err(), "never overwritten");
    std::fs::write(
        dir.path().join("ca").join(CONFIG_FILE),
        "module = \"x\"\ntoken_label = \"t\"\nkey_label = \"k\"\npin = \"1234\"\n",
    )
    .unwrap();
    assert!(
        Pkcs11Config::load(dir.path()).is_err(),
        "a PIN in the file is refused"
    );
}

/// SoftHSM2 when installed (Debian `softhsm2`); `.ci/run` installs it and sets
/// STICA_REQUIRE_SOFTHSM=1 so that a missing module fails instead of skipping.
pub(crate) fn softhsm_module() -> Option<PathBuf> {
    let candidates = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ];
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() && std::env::var("STICA_REQUIRE_SOFTHSM").is_ok_and(|v| v == "1") {
        panic!("SoftHSM2 is required (STICA_REQUIRE_SOFTHSM=1) but libsofthsm2.so was not found");
    }
    found
}

/// A SoftHSM2 token directory and config: (tempdir, SOFTHSM2_CONF path, PIN file).
pub(crate) fn softhsm_token(label: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "1234\n").unwrap();
    (dir, conf, pin)
}

/// Runs the ignored test `name` of this binary in a child process with SOFTHSM2_CONF set:
/// SoftHSM reads it at C_Initialize, process-wide, and this crate sets no environment itself.
fn in_child_with_softhsm(name: &str, conf: &Path, pin: &Path) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("SOFTHSM2_CONF", conf)
        .env("STICA_TEST_PIN_FILE", pin)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
fn softhsm_key_generation_signing_and_refusals() {
    let Some(_) = softhsm_module() else {
        eprintln!("skipped: SoftHSM2 not installed");
        return;
    };
    let (_dir, conf, pin) = softhsm_token("unit");
    in_child_with_softhsm("ca::pkcs11::tests::softhsm_inner", &conf, &pin);
}

#[test]
#[ignore = "run by softhsm_key_generation_signing_and_refusals in a child process"]
fn softhsm_inner() {
    let module = softhsm_module().expect("softhsm");
    let pin_file = PathBuf::from(std::env::var("STICA_TEST_PIN_FILE").expect("pin file"));
    let cfg = Pkcs11Config {
        module,
        token_label: "unit".into(),
        key_label: "issuing".into(),
        root_key_label: None,
        pin_file: Some(pin_file.clone()),
        pin_env: None,
    };
    // A wrong PIN first (later sessions would already be logged in).
    let bad_pin = pin_file.with_file_name("bad-pin");
    std::fs::write(&bad_pin, "9999\n").unwrap();
    let wrong_pin = Pkcs11Config {
        pin_file: Some(bad_pin),
        ..cfg.clone()
    };
    let e = Pkcs11Signer::generate(&wrong_pin, "issuing").unwrap_err();
    assert!(e.to_string().contains("C_Login"), "{e}");
    let no_pin = Pkcs11Config {
        pin_file: None,
        pin_env: Some("STICA_TEST_NO_SUCH_PIN_VARIABLE".into()),
        ..cfg.clone()
    };
    let e = Pkcs11Signer::generate(&no_pin, "issuing").unwrap_err();
    assert!(
        e.to_string().contains("STICA_TEST_NO_SUCH_PIN_VARIABLE"),
        "{e}"
    );

    let signer = Pkcs11Signer::generate(&cfg, "issuing").unwrap();
    assert_eq!(signer.public_key().len(), 65);
    let der = signer.sign(b"to be signed").unwrap();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, signer.public_key())
        .verify(b"to be signed", &der)
        .unwrap();
    // concurrent signing through the session pool
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let signer = &signer;
            s.spawn(move || {
                for i in 0..20u8 {
                    let msg = [t, i];
                    let der = signer.sign(&msg).unwrap();
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, signer.public_key())
                        .verify(&msg, &der)
                        .unwrap();
                }
            });
        }
    });
    // reopened by label: the same key
    let again = Pkcs11Signer::open(&cfg, "issuing").unwrap();
    assert_eq!(again.public_key(), signer.public_key());
    // a second key with the same label is refused
    let e = Pkcs11Signer::generate(&cfg, "issuing").unwrap_err();
    assert!(e.to_string().contains("already holds"), "{e}");
    // unknown label, wrong token
    let e = Pkcs11Signer::open(&cfg, "nope").unwrap_err();
    assert!(e.to_string().contains("no private key labelled"), "{e}");
    let wrong_token = Pkcs11Config {
        token_label: "other".into(),
        ..cfg.clone()
    };
    let e = Pkcs11Signer::open(&wrong_token, "issuing").unwrap_err();
    assert!(
        e.to_string().contains("no initialized PKCS#11 token"),
        "{e}"
    );
}
