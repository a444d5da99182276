//! `phiguard simulate hospital`: write a synthetic hospital with planted incidents.

use std::path::PathBuf;
use std::process::ExitCode;

use phiguard_simulate::{generate, SimConfig, Summary};

/// Arguments of `phiguard simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[command(subcommand)]
    what: SimulateWhat,
}

#[derive(clap::Subcommand, Debug)]
enum SimulateWhat {
    /// A hospital: FHIR context, AuditEvents and labels of planted incidents.
    Hospital(HospitalArgs),
}

/// Settings of `phiguard simulate hospital`.
#[derive(clap::Args, Debug, Clone)]
pub struct HospitalArgs {
    /// Output directory (context/, AuditEvent.ndjson, labels.ndjson).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days with audit events.
    #[arg(long, default_value_t = 21)]
    pub days: u32,
    /// Patients in the index.
    #[arg(long, default_value_t = 6000)]
    pub patients: u32,
    /// Multiplies staff and activity (1.0 is a ~330-staff community hospital).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Incidents of each kind.
    #[arg(long, default_value_t = 2)]
    pub incidents_per_kind: u32,
    /// Incidents are planted in this many last days.
    #[arg(long, default_value_t = 3)]
    pub incident_days: u32,
    /// Share of legitimate accesses repeated on a random patient (work whose reason the context
    /// does not record): a stress test of precision.
    #[arg(long, default_value_t = 0.0)]
    pub unexplained_share: f64,
}

impl HospitalArgs {
    /// The simulator settings.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            days: self.days,
            patients: self.patients,
            scale: self.scale,
            incidents_per_kind: self.incidents_per_kind,
            incident_days: self.incident_days,
            unexplained_share: self.unexplained_share,
            ..SimConfig::default()
        }
    }
}

/// Generates and describes a hospital.
pub fn hospital(args: &HospitalArgs) -> anyhow::Result<Summary> {
    Ok(generate(&args.config(), &args.out)?)
}

/// Runs `phiguard simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        SimulateWhat::Hospital(h) => {
            let s = hospital(&h)?;
            println!(
                "simulated {} staff, {} patients, {} encounters, {} access events, {} incidents",
                s.staff, s.patients, s.encounters, s.events, s.incidents
            );
            println!("context: {}", s.context_dir.display());
            println!("events:  {}", s.events_file.display());
            println!("labels:  {}", s.labels_file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
