//! Runs packetdrill scripts against the engine (an `Endpoint` with
//! `Config::linux()`, on a virtual clock, all in memory).
//!
//! ```sh
//! cargo run --features testing --example packetdrill -- [--verbose] [--tolerance_usecs N] SCRIPT...
//! ```
//!
//! `--strict` also fails a script when the engine sent a segment no line
//! expected before the script ended.
//!
//! Prints one line per script (`PASS path`, `FAIL path:LINE: expected ...
//! got ...`, `UNSUPPORTED path:LINE: what`) and exits 0 only when every
//! script passed.

use std::process::ExitCode;

use tcpstate::packetdrill::{RunOptions, Verdict, report, run};

fn usage() -> ExitCode {
    eprintln!("usage: packetdrill [--verbose] [--strict] [--tolerance_usecs N] SCRIPT...");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut opts = RunOptions::default();
    let mut scripts = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--verbose" || a == "-v" {
            opts.verbose = true;
        } else if a == "--strict" {
            opts.strict = true;
        } else if let Some(v) = a.strip_prefix("--tolerance_usecs=") {
            match v.parse() {
                Ok(n) => opts.tolerance_usecs = Some(n),
                Err(_) => return usage(),
            }
        } else if a == "--tolerance_usecs" {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => opts.tolerance_usecs = Some(n),
                None => return usage(),
            }
        } else if a.starts_with("--") {
            return usage();
        } else {
            scripts.push(a);
        }
    }
    if scripts.is_empty() {
        return usage();
    }
    let mut all_pass = true;
    for path in &scripts {
        let verdict = match std::fs::read_to_string(path) {
            Ok(src) => {
                let (v, log) = run(&src, &opts);
                for l in log {
                    println!("  {l}");
                }
                v
            }
            Err(e) => Verdict::Fail {
                line: 0,
                msg: format!("cannot read: {e}"),
            },
        };
        all_pass &= verdict == Verdict::Pass;
        println!("{}", report(path, &verdict));
    }
    if all_pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
