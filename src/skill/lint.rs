//! Lint rules for a loaded skill: the Agent Skills naming rules, `applyTo` globs, dates.

use globset::{Glob, GlobSet, GlobSetBuilder};
use jiff::civil::Date;

use super::Skill;
use super::frontmatter::folder_name;
use crate::diag::Finding;

/// Longest skill name (Agent Skills format).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest description (Agent Skills format).
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// A skill not reviewed for this many days gets a warning.
pub const DEFAULT_REVIEW_WINDOW_DAYS: i64 = 180;

/// Settings of the linter.
#[derive(Debug, Clone)]
pub struct LintOptions {
    pub review_window_days: i64,
    /// The date `lastReviewed` is compared with.
    pub today: Date,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            review_window_days: DEFAULT_REVIEW_WINDOW_DAYS,
            today: jiff::Zoned::now().date(),
        }
    }
}

/// Compile `applyTo` globs. `*` stops at `/`, as in VS Code and GitHub instruction files.
pub fn glob_set(globs: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        builder.add(
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()?,
        );
    }
    builder.build()
}

/// Why `name` is not a valid skill name, if it is not.
pub fn name_problem(name: &str) -> Option<String> {
    let chars = name.chars().count();
    if chars == 0 {
        return Some("is empty".into());
    }
    if chars > MAX_NAME_CHARS {
        return Some(format!("is {chars} characters, over {MAX_NAME_CHARS}"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "has {c:?}; use lowercase letters a-z, digits and single hyphens"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("starts or ends with a hyphen".into());
    }
    if name.contains("--") {
        return Some("has two hyphens in a row".into());
    }
    None
}

/// Every problem with `skill`, errors and warnings.
pub fn lint(skill: &Skill, opts: &LintOptions) -> Vec<Finding> {
    let meta = &skill.meta;
    let line = |key: &str| skill.key_lines.get(key).copied().unwrap_or(1);
    let mut out = Vec::new();

    if let Some(problem) = name_problem(&meta.name) {
        out.push(
            Finding::error(
                "skill.name",
                line("name"),
                format!("name {:?} {problem}", meta.name),
            )
            .hint(
                "a name is 1-64 characters of a-z, 0-9 and single hyphens, like `incident-review`",
            ),
        );
    } else if let Some(folder) = folder_name(&skill.path)
        && folder != meta.name
    {
        out.push(
            Finding::error(
                "skill.name-folder",
                line("name"),
                format!("name {:?} differs from its folder {folder:?}", meta.name),
            )
            .hint(format!(
                "rename the folder to `{}/` or set `name: {folder}`",
                meta.name
            )),
        );
    }

    let desc_chars = meta.description.trim().chars().count();
    if desc_chars == 0 {
        out.push(
            Finding::error(
                "skill.description",
                line("description"),
                "description is empty",
            )
            .hint("say what the skill does and when to use it, with trigger phrases in quotes"),
        );
    } else if desc_chars > MAX_DESCRIPTION_CHARS {
        out.push(Finding::error(
            "skill.description",
            line("description"),
            format!("description is {desc_chars} characters, over {MAX_DESCRIPTION_CHARS}"),
        ));
    }

    if let Some(globs) = &meta.apply_to {
        let items = globs.items(',');
        if items.is_empty() {
            out.push(Finding::error(
                "skill.apply-to",
                line("applyTo"),
                "applyTo lists no glob",
            ));
        }
        for g in items {
            if let Err(e) = Glob::new(&g) {
                out.push(
                    Finding::error(
                        "skill.apply-to",
                        line("applyTo"),
                        format!("applyTo glob {g:?} is invalid: {}", e.kind()),
                    )
                    .hint("separate globs with commas, like `'**/*.md,docs/**'`"),
                );
            }
        }
    }

    for (key, value) in [
        ("currency", &meta.currency),
        ("lastReviewed", &meta.last_reviewed),
    ] {
        let Some(value) = value else { continue };
        match value.trim().parse::<Date>() {
            Err(_) => out.push(
                Finding::error(
                    "skill.date",
                    line(key),
                    format!("{key} {value:?} is not a valid date"),
                )
                .hint("write dates as YYYY-MM-DD"),
            ),
            Ok(date) if key == "lastReviewed" => {
                let age = (opts.today - date).get_days();
                if date > opts.today {
                    out.push(Finding::warning(
                        "skill.review",
                        line(key),
                        format!("lastReviewed {date} is in the future"),
                    ));
                } else if i64::from(age) > opts.review_window_days {
                    out.push(
                        Finding::warning(
                            "skill.review",
                            line(key),
                            format!(
                                "lastReviewed {date} is {age} days ago, over the {}-day review window",
                                opts.review_window_days
                            ),
                        )
                        .hint("review the skill and update lastReviewed"),
                    );
                }
            }
            Ok(_) => {}
        }
    }

    if let Some(c) = &skill.contract {
        let template = skill
            .body
            .lines()
            .position(|l| l.trim_start().starts_with("## ") && l.contains("Template"))
            .map_or(1, |i| skill.body_line + i);
        if c.sections.is_empty() {
            out.push(
                Finding::warning(
                    "skill.template",
                    template,
                    "the template has no `##` section, so `check` holds a document to its title only",
                )
                .hint("give the template the `## ` sections a document must have"),
            );
        }
        for h in &c.unchecked_headings {
            out.push(
                Finding::warning(
                    "skill.template",
                    template,
                    format!("template heading `{h}` is not checked: a document is held to the `##` sections"),
                )
                .hint("make it a `##` section if every document must have it"),
            );
        }
    }

    for f in &mut out {
        f.path = Some(skill.path.clone());
    }
    out
}
