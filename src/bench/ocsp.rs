//! `stica bench ocsp`: N workers send OCSP requests (GET or POST) for a set of certificates to a
//! responder over keep-alive connections and check every answer; any RFC 6960 responder works
//! (stica's, `openssl ocsp -port`), which is how the two are compared.
//!
//! Requests are built once before the run (SHA-1 CertIDs by default, as RFC 5019 §2.1.1
//! clients send). With `--nonce` each request carries a fresh nonce, which forces a responder
//! to sign on demand.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::ocsp_request::{NONCE_LEN, cert_id, check_response, get_url, request};
use super::progress::{self, Run};
use super::stats::{ErrorTally, Samples, Summary, table_header, table_row};
use super::{BenchError, parse_run_duration};
use crate::status::ocsp::HashAlg;

/// HTTP method of the requests (RFC 6960 Appendix A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// `GET <url>/<url-encoded base64 request>`: cacheable, stica's pre-signed path.
    Get,
    /// `POST <url>` with `application/ocsp-request`.
    Post,
}

/// CertID hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertIdHash {
    /// SHA-1 (RFC 5019 §2.1.1; what openssl sends by default)
    Sha1,
    /// SHA-256
    Sha256,
}

/// `stica bench ocsp`
#[derive(Debug, Clone, Args)]
pub struct OcspArgs {
    /// The responder URL, e.g. `http://127.0.0.1:8080/ocsp`.
    #[arg(long)]
    pub url: String,
    /// The issuing CA certificate (PEM or DER); default: the second certificate of each
    /// `--cert` file (a chain as ACME downloads it).
    #[arg(long)]
    pub issuer: Option<PathBuf>,
    /// A certificate to ask about (PEM, first block, or DER); repeat for several. Requests
    /// cycle through them.
    #[arg(long = "cert", required = true)]
    pub certs: Vec<PathBuf>,
    /// Concurrent workers (each has one request in flight).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// How long to run: `30s`, `2m`.
    #[arg(long, default_value = "30s")]
    pub duration: String,
    /// Stop after this many requests.
    #[arg(long)]
    pub count: Option<u64>,
    /// GET or POST.
    #[arg(long, value_enum, default_value_t = Method::Get)]
    pub method: Method,
    /// Put a fresh nonce in every request (RFC 8954): the responder must sign each answer.
    #[arg(long)]
    pub nonce: bool,
    /// CertID hash algorithm.
    #[arg(long, value_enum, default_value_t = CertIdHash::Sha1)]
    pub hash: CertIdHash,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// The report: printed as a table or as JSON.
#[derive(Debug, Serialize)]
pub struct OcspReport {
    /// always "ocsp"
    pub bench: &'static str,
    /// the responder URL
    pub url: String,
    /// `get` or `post`
    pub method: &'static str,
    /// whether every request carried a nonce
    pub nonce: bool,
    /// workers
    pub concurrency: usize,
    /// distinct certificates asked about
    pub certificates: usize,
    /// wall time of the run
    pub elapsed_secs: f64,
    /// successful BasicOCSPResponses
    pub successes: u64,
    /// everything else
    pub errors: u64,
    /// successes per second of wall time
    pub responses_per_sec: f64,
    /// failures by kind (`transport`, `http-404`, `unauthorized`, `unparsable`, ...)
    pub errors_by_type: ErrorTally,
    /// latency of successful requests
    pub latency: Option<Summary>,
}

/// Runs the benchmark and prints the report.
pub async fn run(args: OcspArgs) -> Result<(), BenchError> {
    let report = measure(args.clone()).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// One certificate's prepared request.
struct Prepared {
    cert_id: Vec<u8>,
    /// The request without nonce: the POST body.
    der: Vec<u8>,
    /// Its GET URL.
    get: String,
}

/// Runs the benchmark and returns the report.
pub async fn measure(args: OcspArgs) -> Result<OcspReport, BenchError> {
    if args.concurrency == 0 {
        return Err(BenchError::Input("--concurrency must be at least 1".into()));
    }
    let duration = parse_run_duration(&args.duration)?;
    let alg = match args.hash {
        CertIdHash::Sha1 => HashAlg::Sha1,
        CertIdHash::Sha256 => HashAlg::Sha256,
    };
    let issuer = match &args.issuer {
        Some(path) => Some(
            read_certs(path)?
                .into_iter()
                .next()
                .ok_or_else(|| BenchError::Input(format!("{}: no certificate", path.display())))?,
        ),
        None => None,
    };
    let mut prepared = Vec::with_capacity(args.certs.len());
    for path in &args.certs {
        let certs = read_certs(path)?;
        let leaf = certs
            .first()
            .ok_or_else(|| BenchError::Input(format!("{}: no certificate", path.display())))?;
        let issuer = issuer.as_ref().or(certs.get(1)).ok_or_else(|| {
            BenchError::Input(format!(
                "{}: holds no issuer certificate; pass --issuer",
                path.display()
            ))
        })?;
        let id = cert_id(issuer, leaf, alg)
            .map_err(|e| BenchError::Input(format!("{}: {e}", path.display())))?;
        let der = request(&id, None).map_err(|e| BenchError::Input(e.to_string()))?;
        let get = get_url(&args.url, &der);
        prepared.push(Prepared {
            cert_id: id,
            der,
            get,
        });
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("stica-bench/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .map_err(|e| BenchError::Input(format!("cannot set up HTTP: {e}")))?;
    let run = Arc::new(Run::new(duration, args.count));
    let shared = Arc::new((args.clone(), prepared, http));
    let bar = progress::spawn(run.clone(), "bench ocsp", !args.json);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|id| {
            let shared = shared.clone();
            let run = run.clone();
            tokio::spawn(async move {
                let (args, prepared, http) = &*shared;
                worker(args, prepared, http, &run, id).await
            })
        })
        .collect();
    let mut samples = Samples::default();
    let mut errors = ErrorTally::default();
    for w in workers {
        let (s, e) = w.await.map_err(|e| BenchError::Worker(e.to_string()))?;
        samples.merge(s);
        errors.merge(e);
    }
    progress::clear(bar);
    let elapsed = run.elapsed().as_secs_f64();
    let successes = samples.len() as u64;
    Ok(OcspReport {
        bench: "ocsp",
        url: args.url,
        method: match args.method {
            Method::Get => "get",
            Method::Post => "post",
        },
        nonce: args.nonce,
        concurrency: args.concurrency,
        certificates: args.certs.len(),
        elapsed_secs: elapsed,
        successes,
        errors: errors.total(),
        responses_per_sec: if elapsed > 0.0 {
            successes as f64 / elapsed
        } else {
            0.0
        },
        errors_by_type: errors,
        latency: samples.summary(),
    })
}

impl OcspReport {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = format!(
            "stica bench ocsp: {} {}{}, {} workers, {} certificates, {:.1} s\n\
             {} ok, {} failed, {:.1} responses/s\n\n{}\n",
            self.method.to_uppercase(),
            self.url,
            if self.nonce { " with nonces" } else { "" },
            self.concurrency,
            self.certificates,
            self.elapsed_secs,
            self.successes,
            self.errors,
            self.responses_per_sec,
            table_header()
        );
        if let Some(s) = &self.latency {
            out.push_str(&table_row("request", s));
            out.push('\n');
        }
        out.push_str(&self.errors_by_type.text());
        out
    }
}

/// A worker: requests back to back, starting at its own offset in the certificate list.
async fn worker(
    args: &OcspArgs,
    prepared: &[Prepared],
    http: &reqwest::Client,
    run: &Run,
    id: usize,
) -> (Samples, ErrorTally) {
    let mut samples = Samples::default();
    let mut errors = ErrorTally::default();
    let mut i = id;
    while run.next() {
        let Some(p) = prepared.get(i % prepared.len().max(1)) else {
            break;
        };
        i = i.wrapping_add(1);
        let start = Instant::now();
        let outcome = once(args, p, http).await;
        match outcome {
            Ok(()) => {
                samples.record(start.elapsed());
                run.done(true);
            }
            Err(kind) => {
                errors.add(kind);
                run.done(false);
            }
        }
    }
    (samples, errors)
}

/// One request and the check of its answer.
async fn once(args: &OcspArgs, p: &Prepared, http: &reqwest::Client) -> Result<(), String> {
    let with_nonce;
    let body: &[u8] = if args.nonce {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| "rng".to_string())?;
        with_nonce = request(&p.cert_id, Some(&nonce)).map_err(|_| "encode".to_string())?;
        &with_nonce
    } else {
        &p.der
    };
    let sent = match args.method {
        Method::Get if args.nonce => http.get(get_url(&args.url, body)).send().await,
        Method::Get => http.get(&p.get).send().await,
        Method::Post => {
            http.post(&args.url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    crate::status::ocsp::http::OCSP_REQUEST,
                )
                .body(body.to_vec())
                .send()
                .await
        }
    };
    let response = sent.map_err(|_| "transport".to_string())?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|_| "transport".to_string())?;
    if !status.is_success() {
        return Err(format!("http-{}", status.as_u16()));
    }
    check_response(&bytes).map_err(str::to_string)
}

/// The certificates in a PEM file (every CERTIFICATE block) or a DER file (one).
fn read_certs(path: &std::path::Path) -> Result<Vec<Vec<u8>>, BenchError> {
    let bytes = std::fs::read(path).map_err(|e| BenchError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if bytes.starts_with(b"-----") || bytes.windows(5).any(|w| w == b"-----") {
        crate::x509::pem_certificates(&bytes)
            .map_err(|e| BenchError::Input(format!("{}: {e}", path.display())))
    } else {
        Ok(vec![bytes])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_names_method_and_errors() {
        let mut errors = ErrorTally::default();
        errors.add("unauthorized");
        let report = OcspReport {
            bench: "ocsp",
            url: "http://h/ocsp".into(),
            method: "post",
            nonce: true,
            concurrency: 2,
            certificates: 1,
            elapsed_secs: 1.0,
            successes: 0,
            errors: 1,
            responses_per_sec: 0.0,
            errors_by_type: errors,
            latency: None,
        };
        let text = report.text();
        assert!(text.contains("POST http://h/ocsp with nonces"), "{text}");
        assert!(
            text.contains("1 unauthorized") || text.contains("unauthorized"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_certificates_are_input_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("c.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(read_certs(&path).is_err());
        assert!(matches!(
            read_certs(&dir.path().join("missing.pem")),
            Err(BenchError::Io { .. })
        ));
    }
}
