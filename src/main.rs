//! The `skillrun` command line: parse, call the library, map outcomes to exit codes
//! (0 ok, 1 failed check or lint, 2 usage or I/O error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use skillrun::skill::Catalog;
use skillrun::skill::discover::SearchPaths;
use skillrun::skill::lint::LintOptions;

#[derive(Parser)]
#[command(
    name = "skillrun",
    version,
    about = "A runtime for LLM agent skills: load SKILL.md skills, check the documents they produce.",
    after_help = "Start with `skillrun demo`. Exit codes: 0 ok, 1 check or lint failed, 2 usage or I/O error."
)]
struct Cli {
    /// Extra folder of skills (`<name>/SKILL.md`), searched first. Repeatable.
    #[arg(long, global = true, value_name = "DIR")]
    skills: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a sample incident repository and write its postmortem, offline: no model, no
    /// network.
    Demo {
        /// Where to build the sample repository (a new or empty folder; default: a new folder
        /// under the system's temporary folder).
        dir: Option<PathBuf>,
    },
    /// Run a skill: investigate the repository with a model and write the checked document.
    Run {
        /// What to do, e.g. "write a postmortem for the payment outage".
        prompt: String,
        /// The git repository to investigate; the document is written in it.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        /// The skill to run (default: the one the prompt selects).
        #[arg(long)]
        skill: Option<String>,
        /// offline (default), openai:MODEL, ollama:MODEL or replay:DIR.
        #[arg(long)]
        model: Option<String>,
        /// The OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI's).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// The most model turns the run may take, at least 1 (default: `max_turns` in
        /// skillrun.toml, else 30).
        #[arg(long, value_name = "N", value_parser = max_turns)]
        max_turns: Option<u32>,
        /// Seconds one model request may take.
        #[arg(long, value_name = "SECS", value_parser = request_timeout)]
        request_timeout: Option<u64>,
        /// Where run folders go (default: <repo>/.skillrun/runs).
        #[arg(long, value_name = "DIR")]
        runs_dir: Option<PathBuf>,
        /// Stream each step as a JSON line on stdout.
        #[arg(long, conflicts_with = "quiet")]
        json: bool,
        /// Print only the path of the written document.
        #[arg(long)]
        quiet: bool,
        /// Write the document even when no release shipped the problem (a near miss).
        #[arg(long)]
        force: bool,
        /// Also write the scoped instruction file the document proposes
        /// (`.github/instructions/<slug>.instructions.md`), never over an existing one.
        #[arg(long)]
        apply_guardrails: bool,
    },
    /// Check documents against their skill's template and quality rules.
    Check {
        /// Markdown files to check; a folder stands for the documents under it (READMEs,
        /// templates, hidden and ignored files left out).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The skill to check against (default: the skill whose applyTo matches each file).
        #[arg(long)]
        skill: Option<String>,
        /// The git repository the documents are about: enables the blameless-by-author and
        /// the specific (cited commits, files, tags exist) rules.
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Serve the tools and skills over MCP (stdio), for Claude Desktop, Claude Code, VS Code,
    /// Cursor and other MCP clients.
    Mcp {
        /// The git repository whose tools and skills are served; give an absolute path, as a
        /// client may start the server in any folder.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
    },
    /// Trace a fix to the commit that introduced the bug, ranked with evidence.
    #[command(group(
        clap::ArgGroup::new("start")
            .args(["fix", "incident"])
            .required(true)
    ))]
    Trace {
        /// The git repository to trace in.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        /// The fix commit (a sha, or a revision such as HEAD).
        #[arg(long, conflicts_with = "incident")]
        fix: Option<String>,
        /// Describe the incident instead: the likely fix commits are found first.
        #[arg(long, value_name = "TEXT")]
        incident: Option<String>,
        /// Do not use `Fixes:`/`Reverts` trailers as evidence (as the accuracy benchmark does).
        #[arg(long)]
        ignore_trailers: bool,
        /// When the bug was first reported (YYYY-MM-DD, or an RFC 3339 time): commits made
        /// after it are not candidates.
        #[arg(long, value_name = "DATE", value_parser = reported_date)]
        reported: Option<skillrun::trace::Reported>,
        /// Print `{"fix": SHA, "candidates": [...]}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the repository tools, or call one.
    Tools {
        #[command(subcommand)]
        command: cmd::tools::ToolsCommand,
    },
    /// List, show, lint and match skills.
    Skills {
        /// Repository whose skill folders are searched (default: the current folder).
        #[arg(long, global = true, value_name = "DIR")]
        repo: Option<PathBuf>,
        #[command(subcommand)]
        command: cmd::skills::SkillsCommand,
    },
    /// Run the eval cases: do postmortems still come out right, can an injected repository
    /// move the agent? Reports utility, utility under attack and attack success rate.
    Eval {
        /// A folder of case files (`*.yaml`), or one case file.
        #[arg(default_value = "evals")]
        dir: PathBuf,
        #[command(flatten)]
        args: cmd::eval::EvalArgs,
    },
    /// Print a shell completion script: `skillrun completions bash > ~/.local/share/bash-completion/completions/skillrun`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One finding per line, with its hint.
    Text,
    /// Every file with its findings, as one JSON object.
    Json,
    /// GitHub Actions workflow commands: each finding shows on its line of the pull request.
    Github,
}

/// Print a line to stdout; a closed pipe (`skillrun ... | head`) ends the program quietly.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// Exit codes.
const EXIT_FINDINGS: u8 = 1;
const EXIT_USAGE: u8 = 2;
/// 128 + SIGINT, as shells report an interrupted command.
const EXIT_INTERRUPTED: u8 = 130;

mod cmd;

/// `--reported DATE`, read as [`skillrun::trace::Reported`] reads it.
fn reported_date(text: &str) -> Result<skillrun::trace::Reported, String> {
    text.parse()
        .map_err(|e: skillrun::trace::TraceError| e.to_string())
}

/// `--max-turns N`: a whole number of at least 1, since a run of no turns can only fail.
fn max_turns(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err("a run needs at least 1 turn".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (a whole number of turns, at least 1)")),
    }
}

/// `--request-timeout`: whole seconds, at least 1 (0 would fail every request at once).
pub(crate) fn request_timeout(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("a request needs at least 1 second".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (a whole number of seconds, at least 1)")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Demo { dir } => cmd::demo::cmd_demo(&cli.skills, dir),
        Command::Run {
            prompt,
            repo,
            skill,
            model,
            base_url,
            max_turns,
            request_timeout,
            runs_dir,
            json,
            quiet,
            force,
            apply_guardrails,
        } => {
            let config = cmd::run::RunConfig::load(&repo)?;
            let flags = cmd::run::RunFlags {
                model,
                base_url,
                max_turns,
                request_timeout,
                force,
                apply_guardrails,
            };
            cmd::run::cmd_run(
                &cli.skills,
                &prompt,
                &repo,
                skill.as_deref(),
                flags,
                config,
                runs_dir,
                json,
                quiet,
            )
        }
        Command::Check {
            files,
            skill,
            repo,
            format,
        } => cmd::check::cmd_check(
            &cli.skills,
            &files,
            skill.as_deref(),
            repo.as_deref(),
            format,
        ),
        Command::Tools { command } => cmd::tools::cmd_tools(command),
        Command::Trace {
            repo,
            fix,
            incident,
            ignore_trailers,
            reported,
            json,
        } => cmd::trace::cmd_trace(
            &repo,
            fix.as_deref(),
            incident.as_deref(),
            ignore_trailers,
            reported,
            json,
        ),
        Command::Mcp { repo } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(skillrun::mcp::serve(repo, cli.skills.clone()))?;
            Ok(0)
        }
        Command::Skills { repo, command } => {
            let repo = match repo {
                Some(r) => r,
                None => std::env::current_dir().context("cannot read the current folder")?,
            };
            cmd::skills::cmd_skills(&cli.skills, &repo, command)
        }
        Command::Eval { dir, args } => cmd::eval::cmd_eval(&cli.skills, &dir, args),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "skillrun", &mut out);
            use std::io::Write as _;
            match std::io::stdout().lock().write_all(&out) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
                other => other.map(|()| 0).context("writing the completion script"),
            }
        }
    }
}

fn catalog(
    skills: &[PathBuf],
    repo: Option<&Path>,
    lint_opts: &LintOptions,
) -> anyhow::Result<Catalog> {
    let paths = SearchPaths::standard(skills.to_vec(), repo.map(Path::to_path_buf));
    let catalog = Catalog::discover(&paths, lint_opts);
    // A `--skills` path that names no skills is a mistake in the command, not a broken skill.
    if let Some(p) = catalog.problems.iter().find(|p| p.rule == "skill.folder") {
        anyhow::bail!("--skills: {}", p.message);
    }
    for p in &catalog.problems {
        eprintln!("{p} (skill skipped)");
    }
    // Two skills of one name that the user wrote: say which one is used. A repository's or the
    // user's skill standing in for a built-in one is what the search order is for.
    for (hidden, used) in &catalog.shadowed {
        if !hidden.starts_with("<builtin>") {
            eprintln!(
                "note: {} is not used: a skill of the same name comes first ({})",
                hidden.display(),
                used.display()
            );
        }
    }
    Ok(catalog)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}
