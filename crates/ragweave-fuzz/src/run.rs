//! The loop: inputs in, panics out.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::mutate::Rng;
use crate::targets::Target;

/// An input that made a target panic (or, for the HTTP target, answer 500).
#[derive(Debug, Clone)]
pub struct Finding {
    /// What the panic said.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
}

/// What one run of a target did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run.
    pub executions: u64,
    /// The first inputs that failed (at most 20 are kept), and how many failed in all.
    pub findings: Vec<Finding>,
    /// Inputs that failed.
    pub failures: u64,
    /// Inputs that got all the way through (parsed, loaded, answered 2xx): a run that
    /// accepts none fuzzes only the first check.
    pub accepted: u64,
    /// Time for all of them.
    pub elapsed: Duration,
    /// The slowest input's time, and its length.
    pub slowest: (Duration, usize),
    /// The slowest input.
    pub slowest_input: Vec<u8>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<14} {:>9} executions in {:>6.1} s ({:>6.0}/s), {:>5.1}% accepted, {} failed; slowest {:.1} ms ({} bytes)",
            self.target,
            self.executions,
            self.elapsed.as_secs_f64(),
            self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9),
            100.0 * self.accepted as f64 / self.executions.max(1) as f64,
            self.failures,
            self.slowest.0.as_secs_f64() * 1e3,
            self.slowest.1,
        )
    }
}

/// Runs `target` on `executions` inputs made from its seeds with `seed`, each at most
/// `max_bytes` long when that is given (short inputs run faster; long ones find what only
/// size triggers).
pub fn run(
    target: &mut dyn Target,
    executions: u64,
    seed: u64,
    max_bytes: Option<usize>,
) -> Report {
    let mut mutator = target.mutator();
    if let Some(cap) = max_bytes {
        mutator = mutator.capped(cap);
    }
    let mut rng = Rng::new(seed);
    // The default hook would print every caught panic; the message is kept instead.
    let said: Arc<Mutex<Option<String>>> = Arc::default();
    let hook = std::panic::take_hook();
    let told = said.clone();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        *told.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{info}{location}"));
    }));
    let started = Instant::now();
    let mut report = Report {
        target: target.name(),
        executions,
        findings: Vec::new(),
        failures: 0,
        accepted: 0,
        elapsed: Duration::ZERO,
        slowest: (Duration::ZERO, 0),
        slowest_input: Vec::new(),
    };
    for _ in 0..executions {
        let input = mutator.input(&mut rng);
        let one = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(&input)));
        let took = one.elapsed();
        if took > report.slowest.0 {
            report.slowest = (took, input.len());
            report.slowest_input.clone_from(&input);
        }
        let failed = match outcome {
            Ok(Ok(accepted)) => {
                report.accepted += u64::from(accepted);
                None
            }
            Ok(Err(message)) => Some(message),
            Err(_) => Some(
                said.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_else(|| "a panic".into()),
            ),
        };
        if let Some(message) = failed {
            report.failures += 1;
            if report.findings.len() < 20 {
                report.findings.push(Finding { message, input });
            }
        }
    }
    report.elapsed = started.elapsed();
    std::panic::set_hook(hook);
    report
}
