//! Model selection (scikit-learn's `model_selection/`).

pub mod param_space;
pub mod split;
