//! `phiguard scan`: score every access in an AuditEvent file (shared/spec/access-monitoring.md §3).

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use phiguard_monitor::scan::{scan_stream, Reject, ScanCounts};
use phiguard_monitor::{Monitor, MonitorConfig};

/// Arguments of `phiguard scan`.
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Context directory (FHIR Bulk Data NDJSON: Patient.ndjson, Encounter.ndjson, ...).
    #[arg(long)]
    pub context: PathBuf,
    /// AuditEvent NDJSON file, ordered by `recorded`.
    #[arg(long)]
    pub events: PathBuf,
    /// Output file: one JSON line per event. Rejects go to `<out>.rejects.ndjson`.
    #[arg(long)]
    pub out: PathBuf,
    /// Exit non-zero when any line was rejected.
    #[arg(long)]
    pub strict: bool,
    /// TOML config file with a `[monitor]` table (see README, "Configuration").
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override the alert threshold (bits of evidence).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// No progress or summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also write each event's score components (`"evidence": [{"code", "bits", "for"}]`).
    #[arg(long)]
    pub evidence: bool,
}

/// The `[monitor]` table of a config file.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    monitor: MonitorConfig,
}

/// Loads the monitor configuration (defaults, then the file, then flags).
pub fn load_config(path: Option<&Path>, threshold: Option<f64>) -> anyhow::Result<MonitorConfig> {
    let mut cfg = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading config `{}`", p.display()))?;
            toml::from_str::<ConfigFile>(&text)
                .with_context(|| format!("config `{}`", p.display()))?
                .monitor
        }
        None => MonitorConfig::default(),
    };
    if let Some(t) = threshold {
        cfg.alert_threshold_bits = t;
    }
    Ok(cfg)
}

/// Result of a scan, for callers that print their own summary.
pub struct ScanRun {
    /// Counters.
    pub counts: ScanCounts,
    /// Context lines rejected.
    pub context_rejects: usize,
    /// Wall time in seconds.
    pub secs: f64,
    /// The monitor as the scan left it (context index and learned state).
    pub monitor: Monitor,
}

/// Loads the context, builds the monitor and reports context problems on stderr.
pub fn build_monitor(
    context: &Path,
    config: MonitorConfig,
    rejects: &mut dyn FnMut(&Reject<'_>) -> anyhow::Result<()>,
    quiet: bool,
) -> anyhow::Result<(Monitor, usize)> {
    let ctx = phiguard_fhir::load_dir(context)?;
    if !quiet {
        for f in &ctx.absent_files {
            eprintln!(
                "phiguard: note: {} has no {f}: treated as none of that type",
                context.display()
            );
        }
    }
    for r in &ctx.rejects {
        let source = r.file.display().to_string();
        let reject = Reject {
            source: &source,
            line: r.line,
            field: r.error.field(),
            reason: r.error.to_string(),
            raw: &r.raw,
        };
        if !quiet {
            eprintln!(
                "phiguard: {} line {}: {} (kept in rejects file)",
                source, r.line, reject.reason
            );
        }
        rejects(&reject)?;
    }
    Ok((Monitor::new(&ctx, config), ctx.rejects.len()))
}

/// Runs a scan with an event hook (used by `demo`).
pub fn run_scan(
    args: &ScanArgs,
    mut on_event: impl FnMut(&phiguard_fhir::AccessEvent<'_>, &phiguard_monitor::Assessment),
) -> anyhow::Result<ScanRun> {
    let started = Instant::now();
    let config = load_config(args.config.as_deref(), args.threshold)?;
    let rejects_path = rejects_path(&args.out);
    // A rejects file from an earlier run would be misleading.
    match std::fs::remove_file(&rejects_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("removing old `{}`", rejects_path.display()))
        }
    }
    let mut rejects_out: Option<BufWriter<File>> = None;
    let mut write_reject = |r: &Reject<'_>| -> anyhow::Result<()> {
        if rejects_out.is_none() {
            let f = File::create(&rejects_path)
                .with_context(|| format!("creating `{}`", rejects_path.display()))?;
            rejects_out = Some(BufWriter::new(f));
        }
        if let Some(w) = rejects_out.as_mut() {
            serde_json::to_writer(&mut *w, r)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    };
    let (mut monitor, context_rejects) =
        build_monitor(&args.context, config, &mut write_reject, args.quiet)?;

    let input = File::open(&args.events)
        .with_context(|| format!("opening events `{}`", args.events.display()))?;
    let total = input.metadata().map(|m| m.len()).unwrap_or(0);
    let out =
        File::create(&args.out).with_context(|| format!("creating `{}`", args.out.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let progress = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let source = args.events.display().to_string();
    let mut reject_error: Option<anyhow::Error> = None;
    let counts = scan_stream(
        &mut monitor,
        &source,
        BufReader::with_capacity(1 << 20, input),
        &mut out,
        args.evidence,
        |r| {
            if !args.quiet {
                match r.field {
                    Some(f) => eprintln!(
                        "phiguard: {} line {}: field `{f}`: {} (kept in rejects file)",
                        r.source, r.line, r.reason
                    ),
                    None => eprintln!(
                        "phiguard: {} line {}: {} (kept in rejects file)",
                        r.source, r.line, r.reason
                    ),
                }
            }
            if let Err(e) = write_reject(r) {
                reject_error.get_or_insert(e);
            }
        },
        |ev, a, c| {
            if let Some(bar) = &progress {
                if c.events % 4096 == 0 {
                    bar.set_position(c.bytes);
                    bar.set_message(format!("{} events, {} alerts", c.events, c.alerts));
                }
            }
            on_event(ev, a);
        },
    )?;
    if let Some(e) = reject_error {
        return Err(e.context("writing the rejects file"));
    }
    out.flush().context("writing scores")?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(ScanRun {
        counts,
        context_rejects,
        secs: started.elapsed().as_secs_f64(),
        monitor,
    })
}

/// `<out>.rejects.ndjson`.
pub fn rejects_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".rejects.ndjson");
    PathBuf::from(s)
}

/// Runs `phiguard scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let run = run_scan(&args, |_, _| {})?;
    let c = run.counts;
    let rejected = c.rejects + run.context_rejects as u64;
    if !args.quiet {
        eprintln!(
            "phiguard: scanned {} events in {:.2}s ({:.0} events/s): {} alerts, {} rejected{}{}",
            c.events,
            run.secs,
            c.events as f64 / run.secs.max(1e-9),
            c.alerts,
            rejected,
            if c.out_of_order > 0 {
                format!(
                    ", {} out of order (scored at their own time)",
                    c.out_of_order
                )
            } else {
                String::new()
            },
            if rejected > 0 {
                format!(" -> {}", rejects_path(&args.out).display())
            } else {
                String::new()
            }
        );
    }
    Ok(if args.strict && rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
