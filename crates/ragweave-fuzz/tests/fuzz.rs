//! Every fuzz target, briefly: a few thousand inputs each, no panic, no 500. A long run is
//! the same test with `RAGWEAVE_FUZZ_EXECS` set (inputs per target), e.g.
//! `RAGWEAVE_FUZZ_EXECS=1000000 cargo test --workspace --test fuzz -- --nocapture`;
//! `RAGWEAVE_FUZZ_TARGETS=sse,http` picks targets, `RAGWEAVE_FUZZ_MAX_BYTES` caps input
//! sizes, `RAGWEAVE_FUZZ_SEED` picks another run, `RAGWEAVE_FUZZ_FINDINGS=DIR` keeps the
//! failing inputs.

use std::io::Write;

#[test]
fn no_input_makes_a_parser_panic() {
    let executions = std::env::var("RAGWEAVE_FUZZ_EXECS")
        .ok()
        .map(|n| n.parse().expect("RAGWEAVE_FUZZ_EXECS is a number"))
        .unwrap_or(3_000);
    let seed = std::env::var("RAGWEAVE_FUZZ_SEED")
        .ok()
        .map(|n| n.parse().expect("RAGWEAVE_FUZZ_SEED is a number"))
        .unwrap_or(1);
    let only = std::env::var("RAGWEAVE_FUZZ_TARGETS").ok();
    let max_bytes = std::env::var("RAGWEAVE_FUZZ_MAX_BYTES")
        .ok()
        .map(|n| n.parse().expect("RAGWEAVE_FUZZ_MAX_BYTES is a number"));
    let findings_dir = std::env::var_os("RAGWEAVE_FUZZ_FINDINGS");
    let mut failed = Vec::new();
    for mut target in ragweave_fuzz::all() {
        if only
            .as_deref()
            .is_some_and(|only| !only.split(',').any(|t| t == target.name()))
        {
            continue;
        }
        let report = ragweave_fuzz::run(target.as_mut(), executions, seed, max_bytes);
        println!("{report}");
        let _ = std::io::stdout().flush();
        if let Some(dir) = &findings_dir {
            let dir = std::path::Path::new(dir).join(report.target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("slowest.input"), &report.slowest_input).unwrap();
        }
        for (i, f) in report.findings.iter().enumerate() {
            if let Some(dir) = &findings_dir {
                let dir = std::path::Path::new(dir).join(report.target);
                std::fs::write(dir.join(format!("{i}.input")), &f.input).unwrap();
                std::fs::write(dir.join(format!("{i}.txt")), &f.message).unwrap();
            }
        }
        // Mutated inputs still reach the depths: some parse, load or get answered.
        if report.accepted * 100 < report.executions {
            failed.push(format!(
                "{}: only {} of {} inputs got through; the seeds or the harness are broken",
                report.target, report.accepted, report.executions
            ));
        }
        if let Some(first) = report.findings.first() {
            failed.push(format!(
                "{}: {} of {} inputs failed; the first ({} bytes): {}\n{:?}",
                report.target,
                report.failures,
                report.executions,
                first.input.len(),
                first.message,
                String::from_utf8_lossy(&first.input[..first.input.len().min(300)])
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
