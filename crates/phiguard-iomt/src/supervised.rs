//! A supervised attack model trained on a labelled capture (WUSTL-EHMS layout): three random
//! forests (network features, biometrics, all features) whose probabilities are averaged, as
//! evaluated by [`crate::eval`]. Persisted as versioned JSON; applied by the monitor to readings
//! that carry every feature it was trained on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::forest::{ForestConfig, RandomForest};
use crate::{IomtError, WustlData};

/// Format version of [`SupervisedModel`] JSON.
pub const SUPERVISED_FORMAT_VERSION: u32 = 1;

/// The fused supervised model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SupervisedModel {
    /// Format version.
    pub version: u32,
    /// Network feature names (read from `flow` in telemetry).
    pub network_names: Vec<String>,
    /// Biometric feature names (read from `vitals`).
    pub biometric_names: Vec<String>,
    network: RandomForest,
    biometric: RandomForest,
    combined: RandomForest,
}

/// A supervised verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Fused attack probability.
    pub probability: f64,
    /// Network-only forest.
    pub network: f64,
    /// Biometric-only forest.
    pub biometric: f64,
}

impl SupervisedModel {
    /// Trains on a labelled capture.
    pub fn train(data: &WustlData, cfg: &ForestConfig) -> Result<Self, IomtError> {
        let combined = data.combined()?;
        Ok(Self {
            version: SUPERVISED_FORMAT_VERSION,
            network_names: data.network_names.clone(),
            biometric_names: data.biometric_names.clone(),
            network: cfg.fit(&data.network, &data.y)?,
            biometric: cfg.fit(&data.biometric, &data.y)?,
            combined: cfg.fit(&combined, &data.y)?,
        })
    }

    /// Scores named flow and vital values; `None` when a trained feature is missing.
    pub fn predict(
        &self,
        flow: &BTreeMap<String, f64>,
        vitals: &BTreeMap<String, f64>,
    ) -> Option<Verdict> {
        let net: Vec<f64> = self
            .network_names
            .iter()
            .map(|n| flow.get(n).copied())
            .collect::<Option<_>>()?;
        let bio: Vec<f64> = self
            .biometric_names
            .iter()
            .map(|n| vitals.get(n).copied())
            .collect::<Option<_>>()?;
        let mut all = net.clone();
        all.extend_from_slice(&bio);
        let (n, b, c) = (
            self.network.predict_proba(&net),
            self.biometric.predict_proba(&bio),
            self.combined.predict_proba(&all),
        );
        Some(Verdict {
            probability: (n + b + c) / 3.0,
            network: n,
            biometric: b,
        })
    }

    /// Serialises to JSON.
    pub fn to_json(&self) -> Result<String, IomtError> {
        serde_json::to_string(self)
            .map_err(|e| IomtError::Payload(format!("cannot serialise model: {e}")))
    }

    /// Parses JSON, checking the version.
    pub fn from_json(s: &str) -> Result<Self, IomtError> {
        let m: Self = serde_json::from_str(s)
            .map_err(|e| IomtError::Payload(format!("invalid model file: {e}")))?;
        if m.version != SUPERVISED_FORMAT_VERSION {
            return Err(IomtError::Payload(format!(
                "unsupported model version {} (this build reads {SUPERVISED_FORMAT_VERSION})",
                m.version
            )));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wustl::read_wustl;
    use std::fmt::Write as _;
    use std::path::Path;

    #[test]
    fn trains_round_trips_and_predicts() {
        let mut s = String::from(
            "SrcBytes,DstBytes,Temp,SpO2,Pulse_Rate,SYS,DIA,Heart_rate,Resp_Rate,ST,Label\n",
        );
        for i in 0..200u32 {
            let attack = i % 5 == 0;
            let bytes = if attack { 900 } else { 500 } + i % 7;
            writeln!(
                s,
                "{bytes},186,36.6,97,70,120,80,71,17,0.4,{}",
                u8::from(attack)
            )
            .unwrap();
        }
        let d = read_wustl(s.as_bytes(), Path::new("t.csv")).unwrap();
        let m = SupervisedModel::train(
            &d,
            &ForestConfig {
                n_trees: 10,
                ..Default::default()
            },
        )
        .unwrap();
        let back = SupervisedModel::from_json(&m.to_json().unwrap()).unwrap();
        assert_eq!(m, back);
        let vitals: BTreeMap<String, f64> = [
            ("Temp", 36.6),
            ("SpO2", 97.0),
            ("Pulse_Rate", 70.0),
            ("SYS", 120.0),
            ("DIA", 80.0),
            ("Heart_rate", 71.0),
            ("Resp_Rate", 17.0),
            ("ST", 0.4),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let flow = |b: f64| -> BTreeMap<String, f64> {
            [("SrcBytes".to_string(), b), ("DstBytes".to_string(), 186.0)]
                .into_iter()
                .collect()
        };
        let bad = back.predict(&flow(903.0), &vitals).unwrap();
        let good = back.predict(&flow(502.0), &vitals).unwrap();
        assert!(bad.network > 0.8 && good.network < 0.2, "{bad:?} {good:?}");
        assert!(back.predict(&BTreeMap::new(), &vitals).is_none());
    }
}
