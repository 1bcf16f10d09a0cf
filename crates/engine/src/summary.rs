//! The result of a run, in the stable shape `--format json` prints.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use slipway_model::Conclusion;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: u64,
    pub conclusion: Conclusion,
    pub jobs: Vec<JobSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: String,
    pub name: String,
    pub matrix: Option<Json>,
    pub conclusion: Conclusion,
    pub outputs: Map<String, Json>,
    pub seconds: f64,
    pub steps: Vec<StepSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepSummary {
    pub id: Option<String>,
    pub name: String,
    pub outcome: Conclusion,
    pub conclusion: Conclusion,
    pub outputs: Map<String, Json>,
    pub seconds: f64,
}

pub(crate) fn to_map(pairs: &[(String, String)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect()
}
