//! The load benchmark's latency rows, run for real at a low rate: every request is timed on
//! the client's clock and on the server's, and the server's times sit inside the client's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use phiguard_gateway::bench::{run, table, BenchOptions, Row};

fn row<'a>(rows: &'a [Row], key: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.key == key)
        .expect("every latency row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_rows_time_each_request_on_both_clocks() {
    let dir = tempfile::tempdir().unwrap();
    let opts = BenchOptions {
        rate: 200,
        secs: 1,
        concurrency: 2,
        ledger_sync: false,
        latency: true,
        proxy: false,
    };
    let vault = common::open_vault(dir.path());
    let rows = run(&opts, dir.path(), vault, &mut |_| {}).await.unwrap();
    for (client, server) in [("bare", "bare-server"), ("gateway", "gateway-server")] {
        let (c, s) = (row(&rows, client), row(&rows, server));
        assert_eq!(c.errors, 0, "{c:?}");
        // One server sample per request the client timed (200 in one second, give or take
        // the pacer's start), so the two percentiles describe the same requests ...
        assert!((150.0..=260.0).contains(&s.rps), "{s:?}");
        // ... and a request's handling on the server lies within the client's round trip.
        assert!(
            s.p50_us > 0.0 && s.p50_us <= c.p50_us && s.p99_us <= c.p99_us,
            "{client}: client {c:?}, server {s:?}"
        );
    }
    // The pipeline is part of the gateway's request: never longer at any percentile.
    let (p, g) = (row(&rows, "pipeline"), row(&rows, "gateway-server"));
    assert!(p.p50_us <= g.p50_us && p.p99_us <= g.p99_us, "{p:?} {g:?}");
    let t = table(&rows);
    assert!(t.contains("the same on the server's clock"), "{t}");
}
