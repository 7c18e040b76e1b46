//! `mlp-tune`: runs a search described in a spec file (see the library's `spec` module), in
//! one process or sharded on a batch engine (Slurm job arrays, Kubernetes Indexed Jobs,
//! GNU parallel), with results identical to one process.
//!
//! ```text
//! mlp-tune run SPEC [--out DIR]                  the whole search here
//! mlp-tune shards SPEC --count N                 the current round's fits, and their shards
//! mlp-tune shard SPEC --index I --count N        shard I's share of the current round
//! mlp-tune plan SPEC                             merge the shards' journals; the next round
//! mlp-tune merge SPEC [--out DIR]                merge, then cv_results, best and refit
//! ```
//!
//! Shard `I` writes `JOURNAL.shard-I.jsonl` beside the spec's journal and reads the merged
//! journal of the earlier rounds; `plan` and `merge` union the shard files into the journal.
//! A round is run by N shards, then `plan` says whether another round is needed (adaptive
//! searches: halving, Hyperband, TPE) or the search is complete (`merge` then writes the
//! results).
//!
//! Exit codes: 0 done; 1 the search failed (a fit with `error_score` unset, a journal or
//! file error, `merge` on an incomplete search); 2 a wrong spec or wrong arguments (the
//! message names the file, the line and the key); 3 `plan`: the search needs another round.

mod exec;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mlp_tune::spec::SearchSpec;

#[derive(Parser)]
#[command(
    name = "mlp-tune",
    version,
    about = "Runs and shards hyperparameter searches described in a spec file"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole search in this process and writes its results.
    Run {
        /// The search spec (TOML).
        spec: PathBuf,
        /// Folder for cv_results.csv, cv_results.json, result.json and model.json
        /// (default: `<spec name>-results` beside the spec).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Prints the fits the current round still needs and the shard each goes to.
    Shards {
        /// The search spec (TOML).
        spec: PathBuf,
        /// Number of shards.
        #[arg(long)]
        count: usize,
    },
    /// Runs shard INDEX of COUNT of the current round.
    Shard {
        /// The search spec (TOML).
        spec: PathBuf,
        /// This shard, 0..COUNT (Slurm: $SLURM_ARRAY_TASK_ID; Kubernetes:
        /// $JOB_COMPLETION_INDEX).
        #[arg(long)]
        index: usize,
        /// Number of shards.
        #[arg(long)]
        count: usize,
    },
    /// Merges the shards' journals and prints what the next round needs (exit 3), or that
    /// the search is complete (exit 0).
    Plan {
        /// The search spec (TOML).
        spec: PathBuf,
    },
    /// Merges the shards' journals, then writes cv_results, the best candidate and the
    /// refitted model, as `run` does.
    Merge {
        /// The search spec (TOML).
        spec: PathBuf,
        /// Output folder (as for `run`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let spec_path = match &cli.command {
        Command::Run { spec, .. }
        | Command::Shards { spec, .. }
        | Command::Shard { spec, .. }
        | Command::Plan { spec }
        | Command::Merge { spec, .. } => spec.clone(),
    };
    let spec = match SearchSpec::from_file(&spec_path) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("mlp-tune: {e}");
            return ExitCode::from(2);
        }
    };
    let mode = match cli.command {
        Command::Run { out, quiet, .. } => exec::Mode::Run { out, quiet },
        Command::Shards { count, .. } => exec::Mode::Shards { count },
        Command::Shard { index, count, .. } => exec::Mode::Shard { index, count },
        Command::Plan { .. } => exec::Mode::Plan,
        Command::Merge { out, .. } => exec::Mode::Merge { out },
    };
    match exec::execute(&spec, mode) {
        Ok(code) => ExitCode::from(code),
        Err(exec::Failure::Spec(e)) => {
            eprintln!("mlp-tune: {e}");
            ExitCode::from(2)
        }
        Err(exec::Failure::Search(e)) => {
            eprintln!("mlp-tune: {e}");
            ExitCode::from(1)
        }
    }
}
