//! Counters for `GET /metrics`, in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request duration histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What the server counts. Cheap to update from every request.
#[derive(Default)]
pub struct Metrics {
    /// (route, status) -> requests.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// route -> time to the response head.
    durations: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicI64,
    overloaded: AtomicU64,
    tokens: AtomicU64,
    streams_active: AtomicI64,
    streams_cancelled: AtomicU64,
    chunks_ingested: AtomicU64,
}

impl Metrics {
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A response body finished or was dropped.
    pub(crate) fn request_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, route: &str, status: u16, elapsed: Duration) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route.to_string(), status))
            .or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let mut durations = self.durations.lock().expect("metrics lock");
        let h = durations.entry(route.to_string()).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub(crate) fn overloaded(&self) {
        self.overloaded.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token(&self) {
        self.tokens.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stream_started(&self) {
        self.streams_active.fetch_add(1, Ordering::Relaxed);
    }

    /// A generation stream ended; `cancelled` when the client left before its end.
    pub(crate) fn stream_ended(&self, cancelled: bool) {
        self.streams_active.fetch_sub(1, Ordering::Relaxed);
        if cancelled {
            self.streams_cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn ingested(&self, chunks: usize) {
        self.chunks_ingested
            .fetch_add(chunks as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut lines = Vec::new();
        let n = family(
            &mut out,
            "ragweave_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        for ((route, status), count) in self.requests.lock().expect("metrics lock").iter() {
            lines.push(format!(
                "{n}{{route=\"{route}\",status=\"{status}\"}} {count}"
            ));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "ragweave_http_request_duration_seconds",
            "histogram",
            "Time to the response head, by route (a stream's head comes before its tokens).",
        );
        for (route, h) in self.durations.lock().expect("metrics lock").iter() {
            for (le, c) in BUCKETS.iter().zip(h.counts) {
                lines.push(format!("{n}_bucket{{route=\"{route}\",le=\"{le}\"}} {c}"));
            }
            lines.push(format!(
                "{n}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            ));
            lines.push(format!("{n}_sum{{route=\"{route}\"}} {}", h.sum));
            lines.push(format!("{n}_count{{route=\"{route}\"}} {}", h.count));
        }
        flush(&mut out, &mut lines);
        let gauges: [(&str, &str, &str, i64); 8] = [
            (
                "ragweave_http_requests_in_flight",
                "gauge",
                "Requests being answered (a stream counts until its last byte).",
                self.in_flight.load(Ordering::Relaxed),
            ),
            (
                "ragweave_http_overloaded_total",
                "counter",
                "Requests refused with 503 because the concurrency limit was reached.",
                self.overloaded.load(Ordering::Relaxed) as i64,
            ),
            (
                "ragweave_generated_tokens_total",
                "counter",
                "Tokens generated and sent.",
                self.tokens.load(Ordering::Relaxed) as i64,
            ),
            (
                "ragweave_generation_streams_active",
                "gauge",
                "Generations under way.",
                self.streams_active.load(Ordering::Relaxed),
            ),
            (
                "ragweave_generation_streams_cancelled_total",
                "counter",
                "Generations stopped because the client went away.",
                self.streams_cancelled.load(Ordering::Relaxed) as i64,
            ),
            (
                "ragweave_ingested_chunks_total",
                "counter",
                "Chunks written by POST /v1/ingest.",
                self.chunks_ingested.load(Ordering::Relaxed) as i64,
            ),
            (
                "ragweave_process_resident_memory_bytes",
                "gauge",
                "The process's resident memory now (VmRSS; 0 where /proc is absent).",
                proc_status_bytes("VmRSS:") as i64,
            ),
            (
                "ragweave_process_peak_resident_memory_bytes",
                "gauge",
                "The process's peak resident memory (VmHWM; 0 where /proc is absent).",
                peak_rss_bytes() as i64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let n = family(&mut out, name, kind, help);
            let _ = writeln!(out, "{n} {value}");
        }
        out
    }
}

/// Writes a metric family's HELP and TYPE lines; returns its name.
fn family(out: &mut String, name: &str, kind: &str, help: &str) -> String {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name.to_string()
}

fn flush(out: &mut String, lines: &mut Vec<String>) {
    for l in lines.drain(..) {
        out.push_str(&l);
        out.push('\n');
    }
}

/// Peak resident set size from `/proc/self/status`, in bytes.
pub fn peak_rss_bytes() -> u64 {
    proc_status_bytes("VmHWM:")
}

/// A size line of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in bytes; 0 where absent.
fn proc_status_bytes(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.record("/v1/retrieve", 200, Duration::from_millis(3));
        m.record("/v1/retrieve", 200, Duration::from_millis(30));
        m.record("/v1/retrieve", 400, Duration::from_micros(100));
        m.token();
        let text = m.render();
        assert!(
            text.contains("ragweave_http_requests_total{route=\"/v1/retrieve\",status=\"200\"} 2")
        );
        assert!(
            text.contains("ragweave_http_requests_total{route=\"/v1/retrieve\",status=\"400\"} 1")
        );
        assert!(text.contains(
            "ragweave_http_request_duration_seconds_bucket{route=\"/v1/retrieve\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "ragweave_http_request_duration_seconds_bucket{route=\"/v1/retrieve\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("ragweave_generated_tokens_total 1"));
        assert!(text.contains("# TYPE ragweave_http_request_duration_seconds histogram"));
        assert!(peak_rss_bytes() > 0, "Linux has /proc");
        assert!(text.contains("ragweave_process_resident_memory_bytes "));
        assert!(proc_status_bytes("VmRSS:") > 0);
    }
}
