//! Side-by-side check of our Isolation Forest against scikit-learn's (see BENCHMARKS.md,
//! "Isolation Forest parity with scikit-learn").
//!
//! For every labelled CSV given and every split seed `s` in `0..SPLITS`, takes the same stratified
//! 70/30 split as `phiguard anomaly eval`, writes it to `DUMP_DIR/<set>__<s>.json` (train and
//! test row indices, for `tools/iforest_parity.py`, which runs scikit-learn on exactly these rows)
//! and prints the test AUC-ROC of our 100-tree forest fitted with every forest seed in
//! `0..FORESTS` (`K..K+FORESTS` with `--first-forest K`), one line per (set, split, forest seed): `ours<TAB>set<TAB>split<TAB>forest<TAB>auc`.
//!
//! With `--scores TREES`, prints instead the score of every test row under one forest of TREES
//! trees (seed 0): `score<TAB>set<TAB>split<TAB>row<TAB>score`, to compare the expected path
//! length of each row with scikit-learn's (`tools/iforest_parity.py --scores TREES`).
//!
//! Usage: `cargo run --release -p phiguard-anomaly --example iforest_parity -- --splits 10
//! --forests 5 --dump DIR FILE.csv...` (label column `y`).

use std::path::PathBuf;

use phiguard_anomaly::metrics::auc_roc;
use phiguard_anomaly::split::stratified_split;
use phiguard_anomaly::{load_labelled_csv, Detector, IsolationForestConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut splits, mut forests, mut dump) = (10u64, 5u64, None::<PathBuf>);
    let mut score_trees = None::<usize>;
    let mut first = 0u64;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--splits" => {
                splits = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--splits N")?
            }
            "--forests" => {
                forests = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--forests N")?
            }
            "--scores" => {
                score_trees = Some(
                    args.next()
                        .and_then(|s| s.parse().ok())
                        .ok_or("--scores TREES")?,
                )
            }
            "--first-forest" => {
                first = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--first-forest K")?
            }
            "--dump" => dump = Some(args.next().ok_or("--dump DIR")?.into()),
            _ => files.push(PathBuf::from(a)),
        }
    }
    for f in &files {
        let data = load_labelled_csv(f, "y")?;
        for s in 0..splits {
            let (train, test) = stratified_split(&data.y, 0.3, s);
            if let Some(dir) = &dump {
                let json = format!(
                    "{{\"train\":{},\"test\":{}}}",
                    serde_json::to_string(&train)?,
                    serde_json::to_string(&test)?
                );
                std::fs::write(dir.join(format!("{}__{s}.json", data.name)), json)?;
            }
            let xtr = data.x.select_rows(&train);
            let xte = data.x.select_rows(&test);
            let yte: Vec<bool> = test.iter().map(|&i| data.y[i]).collect();
            if let Some(n_trees) = score_trees {
                let cfg = IsolationForestConfig {
                    n_trees,
                    ..Default::default()
                };
                let s_te = cfg.fit(&xtr)?.score(&xte)?;
                for (i, v) in test.iter().zip(s_te) {
                    println!("score\t{}\t{s}\t{i}\t{v:.9}", data.name);
                }
                continue;
            }
            for fs in first..first + forests {
                let cfg = IsolationForestConfig {
                    seed: fs,
                    ..Default::default()
                };
                let model = cfg.fit(&xtr)?;
                let auc = auc_roc(&model.score(&xte)?, &yte).ok_or("a class is missing")?;
                println!("ours\t{}\t{s}\t{fs}\t{auc:.6}", data.name);
            }
        }
    }
    Ok(())
}
