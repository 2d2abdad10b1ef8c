//! `skillrun skills`: list, show, lint and match skills.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use serde_json::json;

use skillrun::diag::Finding;
use skillrun::skill::discover::{SearchPaths, SkillSource, skill_files};
use skillrun::skill::lint::{DEFAULT_REVIEW_WINDOW_DAYS, LintOptions, lint};
use skillrun::skill::select::triggers;
use skillrun::skill::{Catalog, Skill, select};

use super::github_annotation;
use crate::{EXIT_FINDINGS, Format, catalog, first_sentence, plural};

#[derive(Subcommand)]
pub(crate) enum SkillsCommand {
    /// List the skills found, in search order.
    List {
        /// Print each skill's name, description, path, source and whether it has a template,
        /// as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a skill: its fields, triggers and contract.
    Show {
        /// The skill's name (`skillrun skills list` shows them).
        name: String,
        /// Print everything as JSON: front matter, path, triggers and the whole contract.
        #[arg(long)]
        json: bool,
    },
    /// Lint the skills in DIR (`<name>/SKILL.md`, one skill folder or its SKILL.md), or every
    /// skill found but the built-in ones.
    Lint {
        /// A folder of skills (`<name>/SKILL.md`), one skill's folder, or a SKILL.md file
        /// (default: every skill found).
        dir: Option<PathBuf>,
        /// Warn when lastReviewed is older than this many days.
        #[arg(long, default_value_t = DEFAULT_REVIEW_WINDOW_DAYS)]
        review_days: i64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show which skill a prompt selects, and why.
    Match {
        /// The request, e.g. "write a postmortem for the auth outage".
        prompt: String,
    },
}

pub(crate) fn cmd_skills(skills: &[PathBuf], repo: &Path, command: SkillsCommand) -> Result<u8> {
    match command {
        SkillsCommand::List { json } => {
            let catalog = catalog(skills, Some(repo), &LintOptions::default())?;
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
            let catalog = catalog(skills, Some(repo), &LintOptions::default())?;
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
        SkillsCommand::Lint {
            dir,
            review_days,
            format,
        } => {
            let opts = LintOptions {
                review_window_days: review_days,
                ..LintOptions::default()
            };
            let mut findings = Vec::new();
            let mut count = 0;
            match dir {
                Some(dir) => {
                    let files = if dir.is_dir() {
                        skill_files(&dir)
                    } else if dir.is_file() && dir.file_name() == Some("SKILL.md".as_ref()) {
                        // One skill's file: the same as naming its folder.
                        vec![dir]
                    } else if dir.exists() {
                        bail!("{}: neither a folder nor a SKILL.md file", dir.display());
                    } else {
                        bail!("{}: no such file or folder", dir.display());
                    };
                    for file in files {
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
                    // The built-in skills ship with skillrun: nothing the user could edit.
                    let own: Vec<&Skill> = catalog
                        .skills
                        .iter()
                        .filter(|(_, source)| !matches!(source, SkillSource::Builtin))
                        .map(|(skill, _)| skill)
                        .collect();
                    count = own.len() + catalog.problems.len();
                    findings.extend(catalog.problems.iter().cloned());
                    for skill in own {
                        findings.extend(lint(skill, &opts));
                    }
                }
            }
            let errors = findings.iter().filter(|f| f.is_error()).count();
            let warnings = findings.len() - errors;
            match format {
                Format::Text | Format::Github => {
                    for f in &findings {
                        match (&format, &f.path) {
                            (Format::Github, Some(file)) => {
                                out!("{}", github_annotation(f, file, Some(repo)));
                            }
                            (Format::Github, None) => out!("{}", f.github_annotation()),
                            _ => out!("{f}"),
                        }
                    }
                    out!(
                        "{count} skill file{} linted: {errors} error{}, {warnings} warning{}",
                        plural(count),
                        plural(errors),
                        plural(warnings)
                    );
                }
                Format::Json => out!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "skill_files": count, "findings": findings,
                        "errors": errors, "warnings": warnings
                    }))?
                ),
            }
            Ok(if errors > 0 { EXIT_FINDINGS } else { 0 })
        }
        SkillsCommand::Match { prompt } => {
            let catalog = catalog(skills, Some(repo), &LintOptions::default())?;
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
                    Some(t) => out!("    ## {}  table: {}", s.title, t.column_list()),
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
