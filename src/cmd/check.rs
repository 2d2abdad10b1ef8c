//! `skillrun check`: documents against their skill's template and quality rules.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use skillrun::check::{Document, MAX_DOCUMENT_BYTES, Rules};
use skillrun::diag::Finding;
use skillrun::repo::RepoFacts;
use skillrun::skill::lint::LintOptions;

use crate::{EXIT_FINDINGS, EXIT_USAGE, Format, catalog, plural};

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

pub(crate) fn cmd_check(
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
