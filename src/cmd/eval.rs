//! `skillrun eval`: run the eval cases and write the reports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

/// The flags of `skillrun eval`.
#[derive(clap::Args)]
pub(crate) struct EvalArgs {
    /// offline (default), adversary, openai:MODEL, ollama:MODEL or replay:DIR.
    #[arg(long)]
    model: Option<String>,
    /// The OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI's).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Run every case N times.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Runs at a time (default: the available cores).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    jobs: Option<usize>,
    /// Save each model exchange under DIR, for `--model replay:DIR`.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Write a JUnit XML report (a testcase per case, variant and repeat).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the JSON report (per case and overall).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the markdown summary (for a CI step summary).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Exit 1 when the share of passed runs is below RATE (0 to 1; default 1: all pass).
    #[arg(long, value_name = "RATE")]
    min_pass: Option<f64>,
    /// Only the cases whose name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Keep each run's repository and run folder under DIR.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Seconds one model request may take.
    #[arg(long, value_name = "SECS", value_parser = crate::request_timeout)]
    request_timeout: Option<u64>,
}

/// A count of 1 or more.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `skillrun eval`: run the cases, write the reports, exit 1 below `--min-pass`.
pub(crate) fn cmd_eval(skills: &[PathBuf], dir: &Path, args: EvalArgs) -> Result<u8> {
    use skillrun::eval::{self, EvalModel, EvalOptions, case, report};
    let min_pass = args.min_pass.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&min_pass) {
        bail!("--min-pass must be between 0 and 1, not {min_pass}");
    }
    let mut cases = case::load_dir(dir)?;
    if cases.is_empty() {
        bail!("no eval case (`*.yaml`) in {}", dir.display());
    }
    if let Some(f) = &args.filter {
        let names: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        cases.retain(|c| c.name.contains(f.as_str()));
        if cases.is_empty() {
            bail!(
                "no eval case in {} has a name containing {f:?}; its cases: {}",
                dir.display(),
                names.join(", ")
            );
        }
    }
    // A report that cannot be written would be found out only after every case ran (with
    // a paid model, a run lost): each is tried before, created empty, and written after.
    let mut created: Vec<&Path> = Vec::new();
    for path in [&args.junit, &args.json, &args.markdown]
        .into_iter()
        .flatten()
    {
        let existed = path.exists();
        if let Err(e) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // Nothing is left behind by the check.
            for p in created {
                let _ = std::fs::remove_file(p);
            }
            return Err(e).with_context(|| format!("cannot write the report {}", path.display()));
        }
        if !existed {
            created.push(path);
        }
    }
    // Folders the runs write into (recordings, kept runs): made now, so that one that cannot
    // be is said once, naming the option, and not as a failure of every run.
    for (flag, dir) in [("--record", &args.record), ("--keep", &args.keep)] {
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{flag} {}: cannot make the folder", dir.display()))?;
        }
    }
    let model: EvalModel = args.model.as_deref().unwrap_or("offline").parse()?;
    let mut opts = EvalOptions {
        model,
        repeat: args.repeat,
        record: args.record,
        skills: skills.to_vec(),
        base_url: args.base_url,
        request_timeout: args.request_timeout.map(std::time::Duration::from_secs),
        progress: true,
        keep: args.keep,
        ..EvalOptions::default()
    };
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    let factory = eval::model_factory(&opts);
    let suite = eval::run_suite(&cases, &opts, factory.as_ref());
    let write = |path: &Option<PathBuf>, text: String| -> Result<()> {
        if let Some(p) = path {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
        }
        Ok(())
    };
    // Every report that can be written is, before any error is returned.
    let md = report::markdown(&suite);
    let written = [
        report::junit(&suite)
            .map_err(|e| anyhow!("JUnit report: {e}"))
            .and_then(|x| write(&args.junit, x)),
        write(&args.json, report::json(&suite)),
        write(&args.markdown, md.clone()),
    ];
    out!("{md}");
    for w in written {
        w?;
    }
    Ok(if suite.overall.pass_rate + 1e-9 < min_pass {
        eprintln!(
            "error: {} of {} runs passed ({:.0}%), under --min-pass {:.0}%",
            suite.overall.passed,
            suite.overall.runs,
            suite.overall.pass_rate * 100.0,
            min_pass * 100.0
        );
        1
    } else {
        0
    })
}
