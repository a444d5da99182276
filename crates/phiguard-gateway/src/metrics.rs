//! Prometheus counters and latency histograms, hand-written (a few atomics; no exporter
//! dependency), rendered in the text exposition format at `/metrics`; and a sample recorder
//! that the load benchmark switches on to read exact percentiles of the pipeline's own time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// A latency histogram over [`BUCKETS`].
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, s: &mut String, name: &str, help: &str) {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "{name}_count {count}");
    }
}

/// Exact per-request samples (microseconds), recorded only while switched on: the load
/// benchmark reads the percentiles of the pipeline's own time from them. Bounded.
#[derive(Debug)]
pub struct Samples {
    on: AtomicBool,
    values: Mutex<Vec<u32>>,
}

/// Most samples kept between two `take`s (a 5-second run at 2,000 requests/s is 10,000).
const MAX_SAMPLES: usize = 1 << 20;

impl Samples {
    const fn new() -> Samples {
        Samples {
            on: AtomicBool::new(false),
            values: Mutex::new(Vec::new()),
        }
    }

    /// Starts recording (and forgets earlier samples).
    pub fn start(&self) {
        if let Ok(mut v) = self.values.lock() {
            v.clear();
        }
        self.on.store(true, Ordering::Relaxed);
    }

    /// Stops recording and hands back the samples.
    pub fn take(&self) -> Vec<u32> {
        self.on.store(false, Ordering::Relaxed);
        self.values
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// Records one value when switched on.
    pub fn record(&self, micros: u64) {
        if self.on.load(Ordering::Relaxed) {
            if let Ok(mut v) = self.values.lock() {
                if v.len() < MAX_SAMPLES {
                    v.push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
            }
        }
    }
}

/// The pipeline's own time per request (see [`Metrics::pipeline`]), for the benchmark.
pub static PIPELINE_SAMPLES: Samples = Samples::new();

/// Each request's whole handling time on the server's clock (see [`Metrics::duration`]), for
/// the benchmark: what a read costs the server, without the loopback and the load generator.
pub static REQUEST_SAMPLES: Samples = Samples::new();

/// All gateway metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Requests handled, any outcome.
    pub requests: Counter,
    /// Requests allowed.
    pub allowed: Counter,
    /// Requests denied by policy.
    pub denied: Counter,
    /// Step-up demanded.
    pub step_up: Counter,
    /// Served as break-the-glass.
    pub break_glass: Counter,
    /// Tokens refused (401).
    pub unauthenticated: Counter,
    /// Monitor alerts raised.
    pub alerts: Counter,
    /// Ledger entries appended.
    pub audit_appended: Counter,
    /// Requests refused because the audit path was overloaded (503).
    pub audit_overload: Counter,
    /// Ingested audit events accepted.
    pub ingested: Counter,
    /// Ingested lines rejected.
    pub ingest_rejected: Counter,
    /// Unauthenticated requests refused with 429 (failed-authentication budget exceeded).
    pub rate_limited: Counter,
    /// Request handling time.
    pub duration: Histogram,
    /// What the pipeline itself adds to a FHIR request: authentication, the decision (scope,
    /// relationship, Cedar), the monitor's score and the durable ledger append; not the
    /// storage or upstream fetch, nor writing the response.
    pub pipeline: Histogram,
}

/// The process-wide metrics.
pub static METRICS: Metrics = Metrics {
    requests: Counter(AtomicU64::new(0)),
    allowed: Counter(AtomicU64::new(0)),
    denied: Counter(AtomicU64::new(0)),
    step_up: Counter(AtomicU64::new(0)),
    break_glass: Counter(AtomicU64::new(0)),
    unauthenticated: Counter(AtomicU64::new(0)),
    alerts: Counter(AtomicU64::new(0)),
    audit_appended: Counter(AtomicU64::new(0)),
    audit_overload: Counter(AtomicU64::new(0)),
    ingested: Counter(AtomicU64::new(0)),
    ingest_rejected: Counter(AtomicU64::new(0)),
    rate_limited: Counter(AtomicU64::new(0)),
    duration: Histogram::new(),
    pipeline: Histogram::new(),
};

impl Metrics {
    /// Records one request's duration.
    pub fn observe(&self, secs: f64) {
        self.duration.observe(secs);
        REQUEST_SAMPLES.record((secs * 1e6) as u64);
    }

    /// Records what the pipeline added to one request (see [`Metrics::pipeline`]).
    pub fn observe_pipeline(&self, secs: f64) {
        self.pipeline.observe(secs);
        PIPELINE_SAMPLES.record((secs * 1e6) as u64);
    }

    /// Prometheus text format.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let counters: [(&str, &str, &Counter); 12] = [
            (
                "phiguard_gateway_requests_total",
                "Requests handled.",
                &self.requests,
            ),
            (
                "phiguard_gateway_allowed_total",
                "Requests allowed by policy.",
                &self.allowed,
            ),
            (
                "phiguard_gateway_denied_total",
                "Requests denied by policy.",
                &self.denied,
            ),
            (
                "phiguard_gateway_step_up_total",
                "Requests that need step-up authentication.",
                &self.step_up,
            ),
            (
                "phiguard_gateway_break_glass_total",
                "Requests served as break-the-glass.",
                &self.break_glass,
            ),
            (
                "phiguard_gateway_unauthenticated_total",
                "Requests with a missing or invalid token.",
                &self.unauthenticated,
            ),
            (
                "phiguard_gateway_alerts_total",
                "Monitor alerts raised.",
                &self.alerts,
            ),
            (
                "phiguard_gateway_audit_appended_total",
                "Ledger entries appended.",
                &self.audit_appended,
            ),
            (
                "phiguard_gateway_audit_overload_total",
                "Requests refused because the audit ledger was overloaded.",
                &self.audit_overload,
            ),
            (
                "phiguard_gateway_ingested_total",
                "External audit events ingested.",
                &self.ingested,
            ),
            (
                "phiguard_gateway_rate_limited_total",
                "Unauthenticated requests refused with 429.",
                &self.rate_limited,
            ),
            (
                "phiguard_gateway_ingest_rejected_total",
                "External audit lines rejected.",
                &self.ingest_rejected,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.get()
            );
        }
        self.duration.render(
            &mut s,
            "phiguard_gateway_request_duration_seconds",
            "Request handling time.",
        );
        self.pipeline.render(
            &mut s,
            "phiguard_gateway_pipeline_seconds",
            "Time the pipeline adds to a FHIR request: authentication, decision, monitor score and durable ledger append (not the fetch or the response).",
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_kept_only_while_switched_on() {
        let s = Samples::new();
        s.record(5);
        s.start();
        s.record(7);
        s.record(u64::MAX);
        assert_eq!(s.take(), vec![7, u32::MAX]);
        s.record(9);
        assert!(s.take().is_empty());
    }

    #[test]
    fn the_pipeline_histogram_is_exported() {
        METRICS.observe_pipeline(0.0003);
        let text = METRICS.render();
        assert!(text.contains("# TYPE phiguard_gateway_pipeline_seconds histogram"));
        let line = text
            .lines()
            .find(|l| l.starts_with("phiguard_gateway_pipeline_seconds_bucket{le=\"0.0005\"}"))
            .unwrap_or_default();
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(n >= 1, "{text}");
        assert!(text.contains("phiguard_gateway_request_duration_seconds_count"));
    }
}
