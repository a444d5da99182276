//! `phiguard demo`: simulate a hospital, scan it, print the privacy officer's queue and the
//! evaluation. Nothing to install or configure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;

use super::scan::{run_scan, ScanArgs};
use super::simulate::{hospital, HospitalArgs};

/// Arguments of `phiguard demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Keep the generated hospital and scores here (default: a temporary directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Random seed of the simulated hospital.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Days of activity to simulate.
    #[arg(long, default_value_t = 21)]
    pub days: u32,
    /// Cases the privacy office reviews per day.
    #[arg(long, default_value_t = 8)]
    pub budget: usize,
}

struct CaseView {
    max: f64,
    alerts: usize,
    patients: Vec<String>,
    top_reasons: Vec<&'static str>,
    top_explanation: String,
    first_time: String,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let tmp;
    let dir = match &args.out {
        Some(d) => d.clone(),
        None => {
            tmp = std::env::temp_dir().join(format!("phiguard-demo-{}", std::process::id()));
            tmp.clone()
        }
    };
    let h = HospitalArgs {
        out: dir.clone(),
        seed: args.seed,
        days: args.days,
        patients: 6000,
        scale: 1.0,
        incidents_per_kind: 2,
        incident_days: 3,
        unexplained_share: 0.0,
    };
    println!(
        "1. Simulating a {}-day hospital (seed {}) ...",
        h.days, h.seed
    );
    let sim = hospital(&h)?;
    println!(
        "   {} staff, {} patients, {} encounters, {} access events; {} incidents planted in the last {} days",
        sim.staff, sim.patients, sim.encounters, sim.events, sim.incidents, h.incident_days
    );
    let scores = dir.join("scores.ndjson");
    let scan_args = ScanArgs {
        context: sim.context_dir.clone(),
        events: sim.events_file.clone(),
        out: scores.clone(),
        strict: false,
        config: None,
        threshold: None,
        quiet: true,
        evidence: false,
    };
    println!("2. Scanning every access (causal, streaming) ...");
    let mut cases: BTreeMap<(String, String), CaseView> = BTreeMap::new();
    let run = run_scan(&scan_args, |ev, a| {
        if !a.alert {
            return;
        }
        let key = (ev.recorded.local_date_string(), ev.user.to_string());
        let c = cases.entry(key).or_insert(CaseView {
            max: f64::NEG_INFINITY,
            alerts: 0,
            patients: Vec::new(),
            top_reasons: Vec::new(),
            top_explanation: String::new(),
            first_time: String::new(),
        });
        c.alerts += 1;
        if c.alerts == 1 {
            c.first_time = ev.recorded.local_clock();
        }
        if let Some(p) = ev.patient.as_deref() {
            if !c.patients.iter().any(|x| x == p) {
                c.patients.push(p.to_owned());
            }
        }
        if a.score > c.max {
            c.max = a.score;
            c.top_reasons = a.reasons.iter().map(|r| r.code()).collect();
            c.top_explanation = a.explanation();
        }
    })?;
    println!(
        "   {} events in {:.2}s ({:.0} events/s), {} alerts",
        run.counts.events,
        run.secs,
        run.counts.events as f64 / run.secs.max(1e-9),
        run.counts.alerts
    );
    let world = run.monitor.world();

    let mut days: Vec<String> = cases.keys().map(|(d, _)| d.clone()).collect();
    days.dedup();
    let shown: Vec<String> = days
        .iter()
        .rev()
        .take(h.incident_days as usize)
        .rev()
        .cloned()
        .collect();
    println!(
        "\n3. The privacy officer's queue ({} cases per day, last {} days)\n",
        args.budget,
        shown.len()
    );
    for day in &shown {
        let mut today: Vec<(&String, &CaseView)> = cases
            .iter()
            .filter(|((d, _), _)| d == day)
            .map(|((_, u), c)| (u, c))
            .collect();
        today.sort_by(|a, b| b.1.max.total_cmp(&a.1.max));
        println!("== {day}: {}", count(today.len(), "alerting case"));
        for (i, (user, c)) in today.iter().take(args.budget).enumerate() {
            let group = world.peer_group(user).unwrap_or("unknown login");
            let patients = if c.patients.len() == 1 {
                format!(
                    "patient {}",
                    c.patients.first().map(String::as_str).unwrap_or("?")
                )
            } else {
                format!("{} patients", c.patients.len())
            };
            println!(
                "{:>2}. {:<18} {:<34} {:>5.1} bits  {}, {}, first at {}",
                i + 1,
                user,
                group,
                c.max,
                count(c.alerts, "alert"),
                patients,
                c.first_time
            );
            println!("    [{}] {}", c.top_reasons.join(", "), c.top_explanation);
        }
        println!();
    }
    println!("4. Evaluation against the planted incidents\n");
    let report = phiguard_eval::evaluate(&sim.labels_file, &scores, args.budget)?;
    print!("{}", report.table());
    println!(
        "\nDone in {:.1}s. Files: {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    if args.out.is_none() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing temporary `{}`", dir.display()))?;
        println!("(temporary files removed; use --out DIR to keep them)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `n` and the noun, plural unless `n` is one ("1 alert", "3 alerts").
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
