//! `skillrun check`: documents against their skill's template and quality rules.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use skillrun::check::{Document, MAX_DOCUMENT_BYTES, Rules};
use skillrun::diag::Finding;
use skillrun::repo::RepoFacts;
use skillrun::skill::lint::LintOptions;
use skillrun::tools::scan_postmortems::is_document_name;

use super::{github_annotation, relative_to};
use crate::{EXIT_FINDINGS, EXIT_USAGE, Format, catalog, plural};

fn read_document(path: &Path) -> Result<String> {
    let bytes = skillrun::text::read_limited(path, MAX_DOCUMENT_BYTES)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    skillrun::text::decode(&bytes, MAX_DOCUMENT_BYTES)
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The documents under `dir` (markdown files but READMEs and templates), sorted, as a linter
/// walks a folder: hidden entries and what `.gitignore` leaves out are skipped.
fn markdown_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in ignore::WalkBuilder::new(dir)
        .sort_by_file_name(Ord::cmp)
        .build()
    {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let path = entry.path();
        if entry.file_type().is_some_and(|t| t.is_file())
            && is_document_name(&entry.file_name().to_string_lossy())
        {
            found.push(path.to_path_buf());
        }
    }
    Ok(found)
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
    let catalog = catalog(skills, repo_dir.or(cwd.as_deref()), &LintOptions::default())?;
    let chosen = match skill {
        Some(name) => Some(catalog.get(name).ok_or_else(|| {
            anyhow!(
                "no skill named {name:?}; skills found: {}",
                catalog.names().join(", ")
            )
        })?),
        None => None,
    };

    // What stopped a file or folder from being checked: on stderr as it happens, and in the
    // JSON report, so that a CI job reading only the JSON sees it too.
    let mut problems: Vec<String> = Vec::new();
    macro_rules! problem {
        ($($arg:tt)*) => {{
            let message = format!($($arg)*);
            eprintln!("error: {message}");
            problems.push(message);
        }};
    }
    let (mut errors, mut warnings) = (0usize, 0usize);
    // Rules prepared once per skill: the history's names are compiled once, not per file.
    let mut prepared: std::collections::HashMap<String, Rules<'_>> = Default::default();
    let mut reports = Vec::new();
    // A folder stands for the markdown files under it that a skill applies to (all of them
    // with --skill); the others are not documents of a skill and are passed over.
    let mut targets: Vec<(PathBuf, Option<&Path>)> = Vec::new();
    // A relative path that is not under the current folder is looked for under --repo:
    // `check --repo ../app docs/postmortems/x.md` means the repository's document.
    let resolved: Vec<PathBuf> = files
        .iter()
        .map(|f| match repo_dir {
            Some(r) if !f.exists() && f.is_relative() && r.join(f).exists() => r.join(f),
            _ => f.clone(),
        })
        .collect();
    for file in &resolved {
        if !file.exists() {
            let tried = match repo_dir {
                Some(r) if file.is_relative() => {
                    format!(" (nor under --repo {})", r.display())
                }
                _ => String::new(),
            };
            problem!("{}: no such file or folder{tried}", file.display());
            continue;
        }
        if file.is_dir() {
            targets.extend(
                markdown_under(file)?
                    .into_iter()
                    .map(|f| (f, Some(file.as_path()))),
            );
        } else {
            targets.push((file.clone(), None));
        }
    }
    let mut checked_under: std::collections::HashSet<&Path> = Default::default();
    for (file, folder) in &targets {
        let rel = relative_to(file, repo_dir.or(cwd.as_deref()));
        let skill = match chosen {
            Some(s) => s,
            None => match catalog.skills.iter().map(|(s, _)| s).find(|s| {
                s.contract.as_ref().is_some_and(|c| {
                    // Its applyTo, or the folder its template says documents go to.
                    s.applies_to(&rel)
                        || c.folders.iter().any(|f| {
                            let f = Path::new(f.trim_end_matches('/'));
                            !f.as_os_str().is_empty() && rel.starts_with(f)
                        })
                })
            }) {
                Some(s) => s,
                None if folder.is_some() => continue,
                None => {
                    let with_template: Vec<&str> = catalog
                        .skills
                        .iter()
                        .filter(|(s, _)| s.contract.is_some())
                        .map(|(s, _)| s.meta.name.as_str())
                        .collect();
                    problem!(
                        "{}: no skill's applyTo matches this path; pass --skill NAME (skills with a template: {})",
                        file.display(),
                        with_template.join(", ")
                    );
                    continue;
                }
            },
        };
        let Some(contract) = &skill.contract else {
            bail!(
                "skill {:?} has no `## Template` block, so there is nothing to check against; give its SKILL.md a `## Template` section holding a ```markdown block with the document's `#` title and `##` sections",
                skill.meta.name
            );
        };
        let text = match read_document(file) {
            Ok(t) => t,
            Err(e) => {
                problem!("{e:#}");
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
        checked_under.extend(*folder);
    }
    for dir in files.iter().filter(|f| f.is_dir()) {
        if checked_under.contains(dir.as_path()) {
            continue;
        }
        // A skill's own folder for its documents, still empty: nothing to check yet, which
        // is no failure (a CI job set up before the first document passes).
        let rel = relative_to(dir, repo_dir.or(cwd.as_deref()));
        let owner = catalog
            .skills
            .iter()
            .map(|(s, _)| s)
            .filter(|s| chosen.is_none_or(|c| c.meta.name == s.meta.name))
            .find(|s| {
                s.contract.as_ref().is_some_and(|c| {
                    c.folders
                        .iter()
                        .any(|f| Path::new(f.trim_end_matches('/')) == rel)
                }) || s.applies_to(&rel)
            });
        if let Some(s) = owner {
            eprintln!(
                "note: {}: no {} document in it yet; nothing to check",
                dir.display(),
                s.meta.name
            );
            continue;
        }
        if chosen.is_some() {
            problem!(
                "{}: no markdown document under it (READMEs and templates are not documents)",
                dir.display()
            );
        } else {
            let patterns: Vec<String> = catalog
                .skills
                .iter()
                .filter(|(s, _)| s.contract.is_some())
                .filter_map(|(s, _)| {
                    let globs = s.meta.apply_to.as_ref()?.items(',').join(",");
                    Some(format!("{} ({globs})", s.meta.name))
                })
                .collect();
            problem!(
                "{}: no markdown document under it that a skill applies to (skills with a template: {}); name the files, or pass --skill NAME",
                dir.display(),
                patterns.join(", ")
            );
        }
    }
    let io_failed = !problems.is_empty();

    match format {
        Format::Text | Format::Github => {
            for (file, _, findings) in &reports {
                for f in findings {
                    if matches!(format, Format::Github) {
                        out!(
                            "{}",
                            github_annotation(f, file, repo_dir.or(cwd.as_deref()))
                        );
                    } else {
                        out!("{f}");
                    }
                }
            }
            // After an error that left nothing checked, a count of nothing says nothing.
            if !(io_failed && reports.is_empty()) {
                out!(
                    "{errors} error{}, {warnings} warning{} in {} file{}",
                    plural(errors),
                    plural(warnings),
                    reports.len(),
                    plural(reports.len())
                );
            }
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
                    "files": files, "errors": errors, "warnings": warnings,
                    "not_checked": problems
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
