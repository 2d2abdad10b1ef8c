//! Skills: loading `SKILL.md` files, linting them, finding them on disk, choosing one for a
//! prompt, and deriving from a skill's own `## Template` what a correct document is.
//!
//! ```
//! use skillrun::skill::Skill;
//! let skill = Skill::builtin("postmortem").expect("the postmortem skill ships with skillrun");
//! assert_eq!(skill.meta.name, "postmortem");
//! let contract = skill.contract.as_ref().expect("it has a template");
//! assert_eq!(contract.sections[0].title, "Summary");
//! ```

pub mod contract;
pub mod discover;
pub mod frontmatter;
pub mod lint;
pub mod select;

use std::fmt;
use std::path::{Path, PathBuf};

pub use contract::Contract;
pub use discover::{Catalog, SkillSource};
pub use frontmatter::{Frontmatter, MAX_SKILL_BYTES, StringList};
pub use select::{Selection, select};

/// Skills compiled into the binary, so `skillrun` works from any folder.
pub const BUILTIN: &[(&str, &str)] = &[(
    "postmortem",
    include_str!("../../skills/postmortem/SKILL.md"),
)];

/// A loaded skill.
#[derive(Debug, Clone)]
pub struct Skill {
    pub meta: Frontmatter,
    /// The markdown after the front matter.
    pub body: String,
    /// Line of the body's first line in the file.
    pub body_line: usize,
    /// Where it was read from (`<builtin>/NAME/SKILL.md` for built-in skills).
    pub path: PathBuf,
    /// Line of each top-level front-matter key, for lint messages.
    pub key_lines: std::collections::BTreeMap<String, usize>,
    /// What a correct document is, when the body has a `## Template` block.
    pub contract: Option<Contract>,
}

/// Why a skill file could not be loaded. Displayed as `path:line: what is wrong`.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {kind}", path.display())]
pub struct SkillError {
    pub path: PathBuf,
    pub line: usize,
    pub kind: SkillErrorKind,
}

impl SkillError {
    pub fn new(path: &Path, line: usize, kind: SkillErrorKind) -> Self {
        SkillError {
            path: path.to_path_buf(),
            line,
            kind,
        }
    }
}

/// The ways a `SKILL.md` can be unreadable.
#[derive(Debug, thiserror::Error)]
pub enum SkillErrorKind {
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    #[error(transparent)]
    Decode(crate::text::DecodeError),
    #[error("file is empty; a SKILL.md starts with `---`, YAML front matter, `---`, then markdown")]
    Empty,
    #[error("no front matter: the first line must be `---`, followed by YAML and a closing `---`")]
    NoFrontmatter,
    #[error("front matter opened here is never closed; add a `---` line after the YAML")]
    Unclosed,
    #[error("invalid YAML in front matter: {0}")]
    Yaml(String),
    #[error("front matter must be a mapping of `key: value` lines, found {found}")]
    NotMapping { found: &'static str },
    #[error("front matter keys must be strings, found {found}")]
    KeyNotString { found: &'static str },
    #[error("front matter has no `{0}` field; add `{0}: ...`")]
    MissingField(&'static str),
    #[error("`{field}` must be {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
}

impl Skill {
    /// Read and parse `path` (a `SKILL.md`).
    pub fn load(path: &Path) -> Result<Skill, SkillError> {
        let bytes = crate::text::read_limited(path, MAX_SKILL_BYTES)
            .map_err(|e| SkillError::new(path, 1, SkillErrorKind::Io(e)))?;
        let text = crate::text::decode(&bytes, MAX_SKILL_BYTES)
            .map_err(|e| SkillError::new(path, e.line(), SkillErrorKind::Decode(e)))?;
        Skill::parse(path, &text)
    }

    /// Parse a skill from text; `path` is used for messages and the name-equals-folder rule.
    pub fn parse(path: &Path, text: &str) -> Result<Skill, SkillError> {
        let parsed = frontmatter::parse(path, text)?;
        let contract = Contract::derive(&parsed.frontmatter.name, &parsed.body, parsed.body_line);
        Ok(Skill {
            meta: parsed.frontmatter,
            body: parsed.body,
            body_line: parsed.body_line,
            path: path.to_path_buf(),
            key_lines: parsed.key_lines,
            contract,
        })
    }

    /// A skill shipped inside the binary.
    pub fn builtin(name: &str) -> Option<Skill> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Skill::parse(&builtin_path(name), text).ok()
    }

    /// Whether the skill's `applyTo` globs cover `path` (relative to the repository root): the
    /// file itself or a folder that contains it.
    pub fn applies_to(&self, path: &Path) -> bool {
        let Some(globs) = &self.meta.apply_to else {
            return false;
        };
        let Ok(set) = lint::glob_set(&globs.items(',')) else {
            return false;
        };
        let mut p = Some(path);
        while let Some(cur) = p {
            if !cur.as_os_str().is_empty() && set.is_match(cur) {
                return true;
            }
            p = cur.parent();
        }
        false
    }
}

/// The display path of a built-in skill.
pub fn builtin_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<builtin>/{name}/SKILL.md"))
}

impl fmt::Display for Skill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.meta.name, self.path.display())
    }
}
