//! Prometheus counters and a latency histogram, hand-written (a few atomics; no exporter
//! dependency), rendered in the text exposition format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

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
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum_micros: AtomicU64,
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
    buckets: [const { AtomicU64::new(0) }; 12],
    count: AtomicU64::new(0),
    sum_micros: AtomicU64::new(0),
};

impl Metrics {
    /// Records one request's duration.
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
        let name = "phiguard_gateway_request_duration_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Request handling time.\n# TYPE {name} histogram"
        );
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
        s
    }
}
