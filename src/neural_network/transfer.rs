//! Transfer learning: a fitted model's hidden layers, with their weights, as the start of a
//! new network ("reuse parts of a pretrained network").

use linfa::Float;

use super::base::Activation;
use super::layers::{LayerSpec, LayerWeights};
use super::params::MlpConfig;
use super::train::Trained;
use crate::error::{invalid_param, Result};

/// The first `k` dense hidden layers of a fitted model (with any activation-only layers that
/// follow them), each carrying its fitted weights and trainable.
pub(crate) fn hidden_layers<F: Float>(
    trained: &Trained<F>,
    config: &MlpConfig,
    k: usize,
) -> Result<Vec<LayerSpec>> {
    let n_hidden = trained.layout.n_weight_layers().saturating_sub(1);
    if k == 0 || k > n_hidden {
        return Err(invalid_param(
            "hidden_layers",
            format!("asked for {k} layers; the model has {n_hidden} hidden dense layers"),
        ));
    }
    let specs = config
        .arch
        .hidden_specs(&config.hidden_layer_sizes, config.activation);
    let mut out = Vec::new();
    let mut dense = 0;
    for spec in specs {
        if spec.units > 0 {
            if dense == k {
                break;
            }
            if spec.batch_norm.is_some() {
                return Err(invalid_param(
                    "hidden_layers",
                    format!(
                        "layer {dense} has batch normalization, whose learned scales and \
                         running statistics are not transferred"
                    ),
                ));
            }
            let coef = trained.layout.coef(&trained.params, dense);
            let intercept = trained.layout.intercept(&trained.params, dense);
            let weights = LayerWeights {
                fan_in: coef.nrows(),
                fan_out: coef.ncols(),
                coef: coef
                    .iter()
                    .map(|v| v.to_f64().unwrap_or(f64::NAN))
                    .collect(),
                intercept: intercept
                    .iter()
                    .map(|v| v.to_f64().unwrap_or(f64::NAN))
                    .collect(),
            };
            dense += 1;
            out.push(spec.trainable(true).weights(weights));
        } else {
            out.push(spec);
        }
    }
    // Dense or activation-only, a PReLU layer has learned slopes beyond the dense weights.
    if out.iter().any(|s| s.activation == Activation::Prelu) {
        return Err(invalid_param(
            "hidden_layers",
            "PReLU slopes are learned parameters that are not transferred",
        ));
    }
    Ok(out)
}
