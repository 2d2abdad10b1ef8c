//! The `skillrun` command line: parse, call the library, map outcomes to exit codes
//! (0 ok, 1 failed check or lint, 2 usage or I/O error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use skillrun::check::{Document, MAX_DOCUMENT_BYTES, Rules};
use skillrun::diag::Finding;
use skillrun::repo::RepoFacts;
use skillrun::skill::discover::{SearchPaths, skill_files};
use skillrun::skill::lint::{DEFAULT_REVIEW_WINDOW_DAYS, LintOptions, lint};
use skillrun::skill::select::triggers;
use skillrun::skill::{Catalog, Skill, select};
use skillrun::tools::{Registry, Sandbox};

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
    /// Show what skillrun can do on this machine, offline.
    Demo,
    /// Check documents against their skill's template and quality rules.
    Check {
        /// Markdown files to check.
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
    /// List the repository tools, or call one.
    Tools {
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// List, show, lint and match skills.
    Skills {
        /// Repository whose skill folders are searched (default: the current folder).
        #[arg(long, global = true, value_name = "DIR")]
        repo: Option<PathBuf>,
        #[command(subcommand)]
        command: SkillsCommand,
    },
}

#[derive(Subcommand)]
enum SkillsCommand {
    /// List the skills found, in search order.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a skill: its fields, triggers and contract.
    Show {
        name: String,
        /// Print the skill's contract as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lint the skills in DIR (`<name>/SKILL.md` or one skill folder), or every skill found.
    Lint {
        dir: Option<PathBuf>,
        /// Warn when lastReviewed is older than this many days.
        #[arg(long, default_value_t = DEFAULT_REVIEW_WINDOW_DAYS)]
        review_days: i64,
    },
    /// Show which skill a prompt selects, and why.
    Match { prompt: String },
}

#[derive(Subcommand)]
enum ToolsCommand {
    /// Each tool's name, description and argument schema.
    List {
        /// Print name, description and `parameters` (JSON Schema) of every tool as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call a tool on a repository, as a model would, and print its (sanitised) result.
    Call {
        name: String,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        /// Print the whole result as JSON: text, structured data, provenance, redaction counts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
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
        Command::Demo => demo(&cli.skills),
        Command::Check {
            files,
            skill,
            repo,
            format,
        } => cmd_check(
            &cli.skills,
            &files,
            skill.as_deref(),
            repo.as_deref(),
            format,
        ),
        Command::Tools { command } => cmd_tools(command),
        Command::Skills { repo, command } => {
            let repo = match repo {
                Some(r) => r,
                None => std::env::current_dir().context("cannot read the current folder")?,
            };
            cmd_skills(&cli.skills, &repo, command)
        }
    }
}

fn catalog(skills: &[PathBuf], repo: Option<&Path>, lint_opts: &LintOptions) -> Catalog {
    let paths = SearchPaths::standard(skills.to_vec(), repo.map(Path::to_path_buf));
    let catalog = Catalog::discover(&paths, lint_opts);
    for p in &catalog.problems {
        eprintln!("{p} (skill skipped)");
    }
    catalog
}

fn demo(skills: &[PathBuf]) -> Result<u8> {
    let cwd = std::env::current_dir().ok();
    let catalog = catalog(skills, cwd.as_deref(), &LintOptions::default());
    out!(
        "skillrun {}: offline, no model needed.\n",
        env!("CARGO_PKG_VERSION")
    );
    out!("Skills found:");
    for (skill, source) in &catalog.skills {
        let contract = skill.contract.as_ref().map_or_else(
            || "no template".to_string(),
            |c| format!("template with {} sections", c.sections.len()),
        );
        out!("  {:<16} {contract} ({source:?})", skill.meta.name);
    }
    out!(
        "\nWhat works today:\n  skillrun skills show postmortem       the skill, its triggers and its contract\n  skillrun skills match \"write a postmortem for the auth outage\"\n  skillrun check docs/postmortems/*.md --repo .   lint postmortems against the template\n  skillrun skills lint [DIR]            lint skill files\n\nThe offline investigator that writes a postmortem end to end is not built yet; this command will run it."
    );
    Ok(0)
}

fn read_document(path: &Path) -> Result<String> {
    let bytes = skillrun::text::read_limited(path, MAX_DOCUMENT_BYTES)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    skillrun::text::decode(&bytes, MAX_DOCUMENT_BYTES)
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// `file` relative to `root`, when it is inside it; otherwise as given.
fn relative_to(file: &Path, root: Option<&Path>) -> PathBuf {
    let Some(root) = root else {
        return file.to_path_buf();
    };
    match (file.canonicalize(), root.canonicalize()) {
        (Ok(f), Ok(r)) => f
            .strip_prefix(&r)
            .map_or_else(|_| file.to_path_buf(), Path::to_path_buf),
        _ => file.to_path_buf(),
    }
}

fn cmd_check(
    skills: &[PathBuf],
    files: &[PathBuf],
    skill: Option<&str>,
    repo_dir: Option<&Path>,
    format: Format,
) -> Result<u8> {
    let repo = repo_dir.map(RepoFacts::open).transpose()?;
    let cwd = std::env::current_dir().ok();
    let catalog = catalog(skills, repo_dir.or(cwd.as_deref()), &LintOptions::default());
    let chosen = match skill {
        Some(name) => Some(catalog.get(name).ok_or_else(|| {
            anyhow!(
                "no skill named {name:?}; skills found: {}",
                catalog.names().join(", ")
            )
        })?),
        None => None,
    };

    let mut io_failed = false;
    let (mut errors, mut warnings) = (0usize, 0usize);
    // Rules prepared once per skill: the history's names are compiled once, not per file.
    let mut prepared: std::collections::HashMap<String, Rules<'_>> = Default::default();
    let mut reports = Vec::new();
    for file in files {
        let rel = relative_to(file, repo_dir.or(cwd.as_deref()));
        let skill = match chosen {
            Some(s) => s,
            None => match catalog
                .skills
                .iter()
                .map(|(s, _)| s)
                .find(|s| s.contract.is_some() && s.applies_to(&rel))
            {
                Some(s) => s,
                None => {
                    let with_template: Vec<&str> = catalog
                        .skills
                        .iter()
                        .filter(|(s, _)| s.contract.is_some())
                        .map(|(s, _)| s.meta.name.as_str())
                        .collect();
                    eprintln!(
                        "error: {}: no skill's applyTo matches this path; pass --skill NAME (skills with a template: {})",
                        file.display(),
                        with_template.join(", ")
                    );
                    io_failed = true;
                    continue;
                }
            },
        };
        let Some(contract) = &skill.contract else {
            bail!(
                "skill {:?} has no `## Template` block, so there is nothing to check against",
                skill.meta.name
            );
        };
        let text = match read_document(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e:#}");
                io_failed = true;
                continue;
            }
        };
        let rules = prepared
            .entry(skill.meta.name.clone())
            .or_insert_with(|| Rules::new(contract, repo.as_ref()));
        let findings: Vec<Finding> = rules
            .check(Document {
                text: &text,
                path: Some(&rel),
            })
            .into_iter()
            .map(|f| f.at(file))
            .collect();
        errors += findings.iter().filter(|f| f.is_error()).count();
        warnings += findings.iter().filter(|f| !f.is_error()).count();
        reports.push((file, skill.meta.name.clone(), findings));
    }

    match format {
        Format::Text => {
            for (_, _, findings) in &reports {
                for f in findings {
                    out!("{f}");
                }
            }
            out!(
                "{errors} error{}, {warnings} warning{} in {} file{}",
                plural(errors),
                plural(warnings),
                reports.len(),
                plural(reports.len())
            );
        }
        Format::Json => {
            let files: Vec<_> = reports
                .iter()
                .map(|(path, skill, findings)| {
                    json!({"path": path, "skill": skill, "findings": findings})
                })
                .collect();
            out!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "files": files, "errors": errors, "warnings": warnings
                }))?
            );
        }
    }
    Ok(if io_failed {
        EXIT_USAGE
    } else if errors > 0 {
        EXIT_FINDINGS
    } else {
        0
    })
}

fn cmd_tools(command: ToolsCommand) -> Result<u8> {
    let registry = Registry::standard();
    match command {
        ToolsCommand::List { json } => {
            let specs = registry.specs();
            if json {
                out!("{}", serde_json::to_string_pretty(&specs)?);
            } else {
                for s in specs {
                    let params: Vec<String> = s.parameters["properties"]
                        .as_object()
                        .map(|p| {
                            let required: Vec<&str> = s.parameters["required"]
                                .as_array()
                                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                                .unwrap_or_default();
                            p.keys()
                                .map(|k| {
                                    if required.contains(&k.as_str()) {
                                        k.clone()
                                    } else {
                                        format!("{k}?")
                                    }
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    out!("{}({})", s.name, params.join(", "));
                    out!("    {}", s.description);
                }
            }
            Ok(0)
        }
        ToolsCommand::Call {
            name,
            args,
            repo,
            json,
        } => {
            let args: serde_json::Value = serde_json::from_str(&args)
                .with_context(|| format!("--args is not valid JSON: {args}"))?;
            let sandbox = Sandbox::open(&repo)?;
            match registry.call(&sandbox, &name, args) {
                Ok(result) => {
                    if json {
                        out!("{}", serde_json::to_string_pretty(&result)?);
                    } else {
                        out!("{}", result.text.trim_end());
                        if result.sanitized.redacted_total() > 0 {
                            eprintln!(
                                "({} secret{} redacted)",
                                result.sanitized.redacted_total(),
                                plural(result.sanitized.redacted_total())
                            );
                        }
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("error: {name}: {e}");
                    Ok(EXIT_FINDINGS)
                }
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn cmd_skills(skills: &[PathBuf], repo: &Path, command: SkillsCommand) -> Result<u8> {
    match command {
        SkillsCommand::List { json } => {
            let catalog = catalog(skills, Some(repo), &LintOptions::default());
            if json {
                let list: Vec<_> = catalog
                    .skills
                    .iter()
                    .map(|(s, source)| {
                        json!({
                            "name": s.meta.name,
                            "description": s.meta.description,
                            "path": s.path,
                            "source": format!("{source:?}"),
                            "has_template": s.contract.is_some(),
                        })
                    })
                    .collect();
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for (s, _) in &catalog.skills {
                    out!("{:<20} {}", s.meta.name, s.path.display());
                    out!("    {}", first_sentence(&s.meta.description));
                }
            }
            Ok(0)
        }
        SkillsCommand::Show { name, json } => {
            let catalog = catalog(skills, Some(repo), &LintOptions::default());
            let skill = catalog.get(&name).ok_or_else(|| {
                anyhow!(
                    "no skill named {name:?}; skills found: {}",
                    catalog.names().join(", ")
                )
            })?;
            if json {
                out!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "frontmatter": skill.meta,
                        "path": skill.path,
                        "triggers": triggers(skill),
                        "contract": skill.contract,
                    }))?
                );
            } else {
                show(skill);
            }
            Ok(0)
        }
        SkillsCommand::Lint { dir, review_days } => {
            let opts = LintOptions {
                review_window_days: review_days,
                ..LintOptions::default()
            };
            let mut findings = Vec::new();
            let mut count = 0;
            match dir {
                Some(dir) => {
                    if !dir.is_dir() {
                        bail!("{}: not a folder", dir.display());
                    }
                    for file in skill_files(&dir) {
                        count += 1;
                        match Skill::load(&file) {
                            Ok(skill) => findings.extend(lint(&skill, &opts)),
                            Err(e) => findings.push(
                                Finding::error("skill.load", e.line, e.kind.to_string()).at(e.path),
                            ),
                        }
                    }
                }
                None => {
                    let catalog = Catalog::discover(
                        &SearchPaths::standard(skills.to_vec(), Some(repo.to_path_buf())),
                        &opts,
                    );
                    count = catalog.skills.len() + catalog.problems.len();
                    findings.extend(catalog.problems);
                    for (skill, _) in &catalog.skills {
                        findings.extend(lint(skill, &opts));
                    }
                }
            }
            for f in &findings {
                out!("{f}");
            }
            let errors = findings.iter().filter(|f| f.is_error()).count();
            out!(
                "{count} skill file{} linted: {errors} error{}, {} warning{}",
                plural(count),
                plural(errors),
                findings.len() - errors,
                plural(findings.len() - errors)
            );
            Ok(if errors > 0 { EXIT_FINDINGS } else { 0 })
        }
        SkillsCommand::Match { prompt } => {
            let catalog = catalog(skills, Some(repo), &LintOptions::default());
            match select(&prompt, catalog.skills.iter().map(|(s, _)| s)) {
                Some(sel) => {
                    out!(
                        "{} (score {:.2}, trigger {:?})",
                        sel.skill,
                        sel.score,
                        sel.trigger
                    );
                    Ok(0)
                }
                None => {
                    out!("no skill matches {prompt:?}; skills available:");
                    for (s, _) in &catalog.skills {
                        out!(
                            "  {:<20} {}",
                            s.meta.name,
                            first_sentence(&s.meta.description)
                        );
                    }
                    out!("use --skill NAME to choose one");
                    Ok(EXIT_FINDINGS)
                }
            }
        }
    }
}

fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

fn show(skill: &Skill) {
    let m = &skill.meta;
    out!("{} ({})", m.name, skill.path.display());
    out!("  {}", m.description);
    for (k, v) in [
        ("type", &m.kind),
        ("lifecycle", &m.lifecycle),
        ("tier", &m.tier),
        ("license", &m.license),
        ("currency", &m.currency),
        ("lastReviewed", &m.last_reviewed),
    ] {
        if let Some(v) = v {
            out!("  {k}: {v}");
        }
    }
    if let Some(a) = &m.apply_to {
        out!("  applyTo: {}", a.items(',').join(", "));
    }
    out!("  triggers:");
    for t in triggers(skill) {
        out!("    - {t}");
    }
    match &skill.contract {
        None => out!("  no `## Template` block: documents are not checked"),
        Some(c) => {
            if let Some(t) = &c.title {
                out!("  title: # {}", t.template);
            }
            if let Some(f) = &c.file_name {
                out!("  file name: {} in {}", f.template, c.folders.join(" or "));
            }
            out!("  sections:");
            for s in &c.sections {
                match &s.table {
                    Some(t) => {
                        let cols: Vec<String> = t
                            .columns
                            .iter()
                            .map(|c| {
                                if c.allowed.is_empty() {
                                    c.name.clone()
                                } else {
                                    format!("{} ({})", c.name, c.allowed.join("/"))
                                }
                            })
                            .collect();
                        out!("    ## {}  table: {}", s.title, cols.join(" | "));
                    }
                    None => out!("    ## {}", s.title),
                }
            }
            out!(
                "  quality: blameless={} specific={} actionable={}",
                c.quality.blameless,
                c.quality.specific,
                c.quality.actionable
            );
        }
    }
}
