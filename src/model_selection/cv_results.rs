//! `cv_results_`: per-candidate scores, means, standard deviations and ranks, built from the
//! (candidate, fold) outcomes of any search.

use super::param_space::{candidate_to_json, candidate_to_string, Candidate};
use super::scoring::Scorer;
use super::validation::FoldOutcome;

/// Builds `cv_results_` from row-major outcomes (`outcomes[row * n_splits + split]`), one
/// row per entry of `params`.
pub(crate) fn build_cv_results<T>(
    params: Vec<Candidate>,
    outcomes: &[FoldOutcome],
    n_splits: usize,
    scorers: &[Scorer<T>],
    return_train_score: bool,
) -> CvResults {
    let n_rows = params.len();
    let mut results = CvResults {
        params,
        metrics: Vec::new(),
        mean_fit_time: Vec::with_capacity(n_rows),
        std_fit_time: Vec::with_capacity(n_rows),
        mean_score_time: Vec::with_capacity(n_rows),
        std_score_time: Vec::with_capacity(n_rows),
        errors: vec![None; n_rows],
        iter: None,
        n_resources: None,
        bracket: None,
    };
    // Rows are contiguous chunks of `n_splits` outcomes.
    let chunks: Vec<&[FoldOutcome]> = outcomes.chunks(n_splits.max(1)).collect();
    for (s, scorer) in scorers.iter().enumerate() {
        let split_test: Vec<Vec<f64>> = chunks
            .iter()
            .map(|c| c.iter().map(|o| o.test_scores[s]).collect())
            .collect();
        let (mean_test, std_test): (Vec<f64>, Vec<f64>) =
            split_test.iter().map(|v| mean_std(v)).unzip();
        let rank_test = rank_min(&mean_test);
        let train = if return_train_score {
            let split_train: Vec<Vec<f64>> = chunks
                .iter()
                .map(|c| {
                    c.iter()
                        .filter_map(|o| o.train_scores.as_ref().map(|t| t[s]))
                        .collect()
                })
                .collect();
            let (m, sd): (Vec<f64>, Vec<f64>) = split_train.iter().map(|v| mean_std(v)).unzip();
            Some(TrainScores {
                split: split_train,
                mean: m,
                std: sd,
            })
        } else {
            None
        };
        results.metrics.push(MetricResults {
            name: scorer.name(),
            split_test,
            mean_test,
            std_test,
            rank_test,
            train,
        });
    }
    for (c, folds_of_row) in chunks.iter().enumerate() {
        let fit: Vec<f64> = folds_of_row.iter().map(|o| o.fit_time).collect();
        let score: Vec<f64> = folds_of_row.iter().map(|o| o.score_time).collect();
        let (mf, sf) = mean_std(&fit);
        let (ms, ss) = mean_std(&score);
        results.mean_fit_time.push(mf);
        results.std_fit_time.push(sf);
        results.mean_score_time.push(ms);
        results.std_score_time.push(ss);
        results.errors[c] = folds_of_row.iter().find_map(|o| o.error.clone());
    }
    results
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// `rankdata(-means, method='min')`, NaN ranked last.
fn rank_min(means: &[f64]) -> Vec<usize> {
    means
        .iter()
        .map(|&m| {
            if m.is_nan() {
                means.iter().filter(|v| !v.is_nan()).count() + 1
            } else {
                1 + means.iter().filter(|&&o| !o.is_nan() && o > m).count()
            }
        })
        .collect()
}

/// Train scores of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainScores {
    /// `split[candidate][fold]`.
    pub split: Vec<Vec<f64>>,
    /// Mean over folds.
    pub mean: Vec<f64>,
    /// Population std over folds.
    pub std: Vec<f64>,
}

/// One metric's columns of `cv_results_`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResults {
    /// Scorer name (`test_<name>` columns in multi-metric scikit-learn).
    pub name: String,
    /// `split_test[candidate][fold]`.
    pub split_test: Vec<Vec<f64>>,
    /// `mean_test_score`.
    pub mean_test: Vec<f64>,
    /// `std_test_score` (population std, ddof 0).
    pub std_test: Vec<f64>,
    /// `rank_test_score` (1 = best; ties share the smaller rank).
    pub rank_test: Vec<usize>,
    /// Train scores when asked for.
    pub train: Option<TrainScores>,
}

/// scikit-learn's `cv_results_`.
#[derive(Debug, Clone, PartialEq)]
pub struct CvResults {
    /// `params`, in evaluation order.
    pub params: Vec<Candidate>,
    /// One entry per scorer.
    pub metrics: Vec<MetricResults>,
    /// `mean_fit_time` (seconds).
    pub mean_fit_time: Vec<f64>,
    /// `std_fit_time`.
    pub std_fit_time: Vec<f64>,
    /// `mean_score_time`.
    pub mean_score_time: Vec<f64>,
    /// `std_score_time`.
    pub std_score_time: Vec<f64>,
    /// The first error of each candidate's failed fits, if any.
    pub errors: Vec<Option<String>>,
    /// Successive halving's `iter` column: the round of each row (None for grid and
    /// random search).
    pub iter: Option<Vec<usize>>,
    /// Successive halving's `n_resources` column: the resource each row was given.
    pub n_resources: Option<Vec<usize>>,
    /// Hyperband's bracket of each row.
    pub bracket: Option<Vec<usize>>,
}

impl CvResults {
    /// The first scorer's columns.
    pub fn primary(&self) -> &MetricResults {
        &self.metrics[0]
    }

    fn extra_columns(&self) -> Vec<(&'static str, &Vec<usize>)> {
        [
            ("iter", &self.iter),
            ("n_resources", &self.n_resources),
            ("bracket", &self.bracket),
        ]
        .into_iter()
        .filter_map(|(name, col)| col.as_ref().map(|c| (name, c)))
        .collect()
    }

    /// The table as CSV: one row per candidate, scikit-learn's column names.
    pub fn to_csv(&self) -> String {
        let mut header = vec![
            "params".to_string(),
            "mean_fit_time".into(),
            "std_fit_time".into(),
            "mean_score_time".into(),
            "std_score_time".into(),
        ];
        let multi = self.metrics.len() > 1;
        for m in &self.metrics {
            let suffix = if multi {
                m.name.clone()
            } else {
                "score".into()
            };
            for s in 0..m.split_test.first().map_or(0, |v| v.len()) {
                header.push(format!("split{s}_test_{suffix}"));
            }
            header.push(format!("mean_test_{suffix}"));
            header.push(format!("std_test_{suffix}"));
            header.push(format!("rank_test_{suffix}"));
            if m.train.is_some() {
                header.push(format!("mean_train_{suffix}"));
                header.push(format!("std_train_{suffix}"));
            }
        }
        let extra = self.extra_columns();
        header.extend(extra.iter().map(|(name, _)| name.to_string()));
        header.push("error".into());
        let mut out = header.join(",");
        out.push('\n');
        for c in 0..self.params.len() {
            let mut row = vec![
                format!(
                    "\"{}\"",
                    candidate_to_string(&self.params[c]).replace('"', "\"\"")
                ),
                self.mean_fit_time[c].to_string(),
                self.std_fit_time[c].to_string(),
                self.mean_score_time[c].to_string(),
                self.std_score_time[c].to_string(),
            ];
            for m in &self.metrics {
                row.extend(m.split_test[c].iter().map(|v| v.to_string()));
                row.push(m.mean_test[c].to_string());
                row.push(m.std_test[c].to_string());
                row.push(m.rank_test[c].to_string());
                if let Some(t) = &m.train {
                    row.push(t.mean[c].to_string());
                    row.push(t.std[c].to_string());
                }
            }
            row.extend(extra.iter().map(|(_, col)| col[c].to_string()));
            row.push(format!(
                "\"{}\"",
                self.errors[c]
                    .clone()
                    .unwrap_or_default()
                    .replace('"', "\"\"")
            ));
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }

    /// The table as JSON (column name → list), NaN written as null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let mut map = serde_json::Map::new();
        map.insert(
            "params".into(),
            Value::Array(self.params.iter().map(candidate_to_json).collect()),
        );
        map.insert(
            "mean_fit_time".into(),
            Value::Array(self.mean_fit_time.iter().map(|&v| num(v)).collect()),
        );
        map.insert(
            "std_fit_time".into(),
            Value::Array(self.std_fit_time.iter().map(|&v| num(v)).collect()),
        );
        map.insert(
            "mean_score_time".into(),
            Value::Array(self.mean_score_time.iter().map(|&v| num(v)).collect()),
        );
        map.insert(
            "std_score_time".into(),
            Value::Array(self.std_score_time.iter().map(|&v| num(v)).collect()),
        );
        let multi = self.metrics.len() > 1;
        for m in &self.metrics {
            let suffix = if multi {
                m.name.clone()
            } else {
                "score".into()
            };
            let n_splits = m.split_test.first().map_or(0, |v| v.len());
            for s in 0..n_splits {
                map.insert(
                    format!("split{s}_test_{suffix}"),
                    Value::Array(m.split_test.iter().map(|v| num(v[s])).collect()),
                );
            }
            map.insert(
                format!("mean_test_{suffix}"),
                Value::Array(m.mean_test.iter().map(|&v| num(v)).collect()),
            );
            map.insert(
                format!("std_test_{suffix}"),
                Value::Array(m.std_test.iter().map(|&v| num(v)).collect()),
            );
            map.insert(format!("rank_test_{suffix}"), json!(m.rank_test));
            if let Some(t) = &m.train {
                map.insert(
                    format!("mean_train_{suffix}"),
                    Value::Array(t.mean.iter().map(|&v| num(v)).collect()),
                );
                map.insert(
                    format!("std_train_{suffix}"),
                    Value::Array(t.std.iter().map(|&v| num(v)).collect()),
                );
            }
        }
        for (name, col) in self.extra_columns() {
            map.insert(name.into(), json!(col));
        }
        map.insert("error".into(), json!(self.errors));
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_ties_share_the_smaller_rank_and_nan_is_last() {
        assert_eq!(
            rank_min(&[0.5, 0.9, 0.5, f64::NAN, 0.1]),
            vec![2, 1, 2, 5, 4]
        );
    }

    #[test]
    fn std_is_population_std() {
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 1.0));
    }
}
