//! Finding skills: `--skills DIR`, the repository's skill folders, the user's folder, then the
//! skills built into the binary. The first skill of a name wins; a broken skill is reported
//! and skipped, never fatal.

use std::path::{Path, PathBuf};

use super::lint::{LintOptions, lint};
use super::{BUILTIN, Skill, builtin_path};
use crate::diag::Finding;

/// Folders of a repository that hold skills, in the order they are searched.
pub const REPO_SKILL_DIRS: &[&str] = &[
    "skills",
    ".github/skills",
    ".claude/skills",
    ".agents/skills",
];

/// Where a skill came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkillSource {
    /// A folder given with `--skills`.
    Explicit(PathBuf),
    /// A skill folder of the repository.
    Repo(PathBuf),
    /// The user's skill folder.
    User(PathBuf),
    /// Compiled into the binary.
    Builtin,
}

/// The skills found, and the problems met on the way.
#[derive(Debug, Default)]
pub struct Catalog {
    pub skills: Vec<(Skill, SkillSource)>,
    /// Skills that could not be loaded or failed lint with errors; they are not in `skills`.
    pub problems: Vec<Finding>,
    /// Skills hidden by an earlier one of the same name.
    pub shadowed: Vec<(PathBuf, PathBuf)>,
}

/// Where to search.
#[derive(Debug, Clone, Default)]
pub struct SearchPaths {
    pub explicit: Vec<PathBuf>,
    pub repo: Option<PathBuf>,
    pub user: Option<PathBuf>,
    pub builtin: bool,
}

impl SearchPaths {
    /// The usual search: `--skills` folders, the repository, the user folder
    /// (`$SKILLRUN_SKILLS_DIR`, else `$XDG_CONFIG_HOME/skillrun/skills`, else
    /// `~/.config/skillrun/skills`), and the built-in skills.
    pub fn standard(explicit: Vec<PathBuf>, repo: Option<PathBuf>) -> Self {
        SearchPaths {
            explicit,
            repo,
            user: user_skills_dir(),
            builtin: true,
        }
    }
}

/// The user's skill folder, from the environment.
pub fn user_skills_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SKILLRUN_SKILLS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("skillrun").join("skills"))
}

/// The `SKILL.md` files directly under `dir/<name>/`, sorted by path; `dir/SKILL.md` itself
/// when `dir` is one skill's folder.
pub fn skill_files(dir: &Path) -> Vec<PathBuf> {
    let own = dir.join("SKILL.md");
    if own.is_file() {
        return vec![own];
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("SKILL.md"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

impl Catalog {
    /// Search `paths` for skills.
    pub fn discover(paths: &SearchPaths, lint_opts: &LintOptions) -> Catalog {
        let mut catalog = Catalog::default();
        // A folder reached twice (`--skills skills` run at the repository's top) is read once.
        let mut searched = std::collections::HashSet::new();
        let mut first_time = |dir: &Path| {
            dir.canonicalize()
                .map_or(true, |real| searched.insert(real))
        };
        for dir in &paths.explicit {
            // A skill's own SKILL.md stands for its folder.
            if dir.is_file() && dir.file_name().is_some_and(|n| n == "SKILL.md") {
                if first_time(dir) {
                    catalog.add_file(dir, SkillSource::Explicit(dir.clone()), lint_opts);
                }
                continue;
            }
            if !dir.is_dir() {
                let what = if dir.exists() {
                    "is not a folder (give a folder of skills, a skill's folder or its SKILL.md)"
                } else {
                    "does not exist"
                };
                catalog.problems.push(
                    Finding::error(
                        "skill.folder",
                        1,
                        format!("skills folder {} {what}", dir.display()),
                    )
                    .at(dir),
                );
                continue;
            }
            if !first_time(dir) {
                continue;
            }
            for file in skill_files(dir) {
                catalog.add_file(&file, SkillSource::Explicit(dir.clone()), lint_opts);
            }
        }
        if let Some(repo) = &paths.repo {
            for sub in REPO_SKILL_DIRS {
                let dir = repo.join(sub);
                if !dir.is_dir() || !first_time(&dir) {
                    continue;
                }
                for file in skill_files(&dir) {
                    catalog.add_file(&file, SkillSource::Repo(dir.clone()), lint_opts);
                }
            }
        }
        if let Some(user) = &paths.user
            && user.is_dir()
            && first_time(user)
        {
            for file in skill_files(user) {
                catalog.add_file(&file, SkillSource::User(user.clone()), lint_opts);
            }
        }
        if paths.builtin {
            for (name, text) in BUILTIN {
                match Skill::parse(&builtin_path(name), text) {
                    Ok(skill) => catalog.add(skill, SkillSource::Builtin, lint_opts),
                    Err(e) => catalog
                        .problems
                        .push(Finding::error("skill.load", e.line, e.kind.to_string()).at(e.path)),
                }
            }
        }
        catalog
    }

    fn add_file(&mut self, file: &Path, source: SkillSource, lint_opts: &LintOptions) {
        match Skill::load(file) {
            Ok(skill) => self.add(skill, source, lint_opts),
            Err(e) => self
                .problems
                .push(Finding::error("skill.load", e.line, e.kind.to_string()).at(e.path)),
        }
    }

    fn add(&mut self, skill: Skill, source: SkillSource, lint_opts: &LintOptions) {
        let findings = lint(&skill, lint_opts);
        if findings.iter().any(Finding::is_error) {
            self.problems
                .extend(findings.into_iter().filter(Finding::is_error));
            return;
        }
        if let Some((first, _)) = self
            .skills
            .iter()
            .find(|(s, _)| s.meta.name == skill.meta.name)
        {
            self.shadowed.push((skill.path.clone(), first.path.clone()));
            return;
        }
        self.skills.push((skill, source));
    }

    /// The skill called `name`.
    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.meta.name == name)
    }

    /// Names of every skill found, in search order.
    pub fn names(&self) -> Vec<&str> {
        self.skills
            .iter()
            .map(|(s, _)| s.meta.name.as_str())
            .collect()
    }
}
