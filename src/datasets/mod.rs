//! Toy data sets, the California housing loader, a CSV loader and Géron's split.
//!
//! The five small scikit-learn sets ([`digits`], [`iris`], [`diabetes`],
//! [`breast_cancer`], [`wine`]) are compiled into the library as gzipped CSV (see the
//! crate's `datasets/README.md` for their origin, citation and license) and parsed at
//! load time. These loaders return the [`Dataset`](linfa::Dataset) directly: the embedded bytes are
//! fixed at compile time and a unit test parses every one of them, so their internal
//! `expect` cannot fire.
//!
//! Class names are not stored in the dataset (linfa's `target_names` names target
//! *columns*, not classes); they are the constants [`IRIS_CLASS_NAMES`],
//! [`BREAST_CANCER_CLASS_NAMES`] and [`WINE_CLASS_NAMES`], indexed by the `usize`
//! target. Feature names are scikit-learn's `feature_names`.
//!
//! [`california_housing`] (20640 × 8) is embedded too, behind the default-on
//! feature `embedded-california` (about 0.7 MB compressed, checked against a sha256 at
//! load). `$MLP_TUNE_DATA` takes precedence over it; without the feature the loader
//! falls back to the user cache and then (feature `download`) to the verified
//! download of the archive scikit-learn uses. See [`california_housing`] for the
//! lookup order.
//!
//! Layout: `toy` (the five small sets), `csv` ([`load_csv`], [`read_csv`]),
//! `california` (the housing loader and Géron's split), `samples_generator`
//! ([`make_moons`], [`make_circles`], ...); everything is re-exported here.
//!
//! ```
//! use mlp_tune::datasets;
//!
//! let iris = datasets::iris();
//! assert_eq!(iris.records().dim(), (150, 4));
//! assert_eq!(iris.feature_names()[0], "sepal length (cm)");
//! assert_eq!(datasets::IRIS_CLASS_NAMES[iris.targets()[0]], "setosa");
//! ```

mod california;
mod csv;
mod samples_generator;
mod toy;

pub use self::csv::{load_csv, read_csv, CsvOptions, TargetColumn};
pub use california::*;
pub use samples_generator::{make_circles, make_classification_2d, make_moons};
pub use toy::*;

/// Names of the embedded data sets, as search specs name them (`california` is embedded
/// with the default `embedded-california` feature, else loaded as [`california_housing`]
/// says).
pub const EMBEDDED: [&str; 6] = [
    "california",
    "diabetes",
    "iris",
    "digits",
    "breast_cancer",
    "wine",
];
