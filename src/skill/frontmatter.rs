//! Reading a `SKILL.md`: the YAML front matter between `---` lines, and the markdown body.
//!
//! Front matter is parsed by yaml_serde into a mapping first, so a syntax error carries its
//! line; each known field is then converted on its own, so a field of the wrong type is
//! reported at that field's line. Unknown fields are kept as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use yaml_serde::{Mapping, Value};

use super::SkillError;
use super::SkillErrorKind as K;

/// Largest `SKILL.md` read (1 MiB): a skill is instructions for a model, not a data file.
pub const MAX_SKILL_BYTES: usize = 1024 * 1024;

/// A front-matter value that may be written as one string (comma- or space-separated) or as a
/// YAML list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StringList {
    One(String),
    Many(Vec<String>),
}

impl StringList {
    /// The items, splitting a single string on `sep`.
    pub fn items(&self, sep: char) -> Vec<String> {
        match self {
            StringList::One(s) => s
                .split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            StringList::Many(v) => v.clone(),
        }
    }
}

/// The front matter of a skill: the Agent Skills fields, the extended fields, and anything
/// else as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frontmatter {
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, Value>>,
    #[serde(rename = "allowed-tools", skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<StringList>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inheritance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(rename = "applyTo", skip_serializing_if = "Option::is_none")]
    pub apply_to: Option<StringList>,
    /// A date, `YYYY-MM-DD`, kept as written: the linter says whether it is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A date, `YYYY-MM-DD`, kept as written.
    #[serde(rename = "lastReviewed", skip_serializing_if = "Option::is_none")]
    pub last_reviewed: Option<String>,
    /// Fields this runtime does not know, kept so tools built on it can read them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Value>,
}

/// A skill file split into its parts, with the line numbers needed for messages.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub frontmatter: Frontmatter,
    /// 1-based line of each top-level front-matter key.
    pub key_lines: BTreeMap<String, usize>,
    pub body: String,
    /// 1-based line of the first body line.
    pub body_line: usize,
}

/// Split and parse a skill's text.
pub fn parse(path: &Path, text: &str) -> Result<Parsed, SkillError> {
    let err = |line, kind| SkillError::new(path, line, kind);
    if text.trim().is_empty() {
        return Err(err(1, K::Empty));
    }
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Err(err(1, K::NoFrontmatter));
    }
    let mut yaml = String::new();
    let mut closed_at = None;
    for (i, line) in lines.enumerate() {
        if line.trim_end() == "---" {
            closed_at = Some(i + 2);
            break;
        }
        yaml.push_str(line);
    }
    let Some(close_line) = closed_at else {
        return Err(err(1, K::Unclosed));
    };
    let body_start: usize = text
        .split_inclusive('\n')
        .take(close_line)
        .map(str::len)
        .sum();
    let body = text[body_start..].to_string();

    let key_lines = key_lines(&yaml);
    let value: Value = yaml_serde::from_str(&yaml).map_err(|e| {
        // Lines inside the front matter start after the opening `---`: the parser's line
        // numbers are made the file's, so that the message and its prefix agree.
        let (message, scanning) = file_lines(&first_line_of(&e.to_string()));
        let at = e.location().map(|l| l.line());
        let tab = at.is_some_and(|l| {
            yaml.lines()
                .nth(l.saturating_sub(1))
                .is_some_and(|t| t.contains('\t'))
        });
        let message = if tab && message.contains("cannot start any token") {
            format!("{message} (a tab: YAML indents with spaces)")
        } else {
            message
        };
        // What was being read when it failed (an unclosed quote, say) is where to look.
        let line = duplicate_key_line(&yaml, &message)
            .or(scanning)
            .or_else(|| at.map(|l| l + 1))
            .unwrap_or(1);
        err(line, K::Yaml(message))
    })?;
    let mapping = match value {
        Value::Mapping(m) => m,
        Value::Null => Mapping::new(),
        other => {
            return Err(err(
                2,
                K::NotMapping {
                    found: value_kind(&other),
                },
            ));
        }
    };
    let frontmatter = fields(path, mapping, &key_lines)?;
    Ok(Parsed {
        frontmatter,
        key_lines,
        body,
        body_line: close_line + 1,
    })
}

/// Where each top-level key is written. yaml_serde's values carry no positions, so the
/// lines of the (already valid) YAML are scanned for `key:` at column 0.
fn key_lines(yaml: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, line) in yaml.lines().enumerate() {
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        if let Some((key, _)) = line.split_once(':') {
            let key = key.trim().trim_matches(['"', '\'']);
            if !key.is_empty() {
                out.entry(key.to_string()).or_insert(i + 2);
            }
        }
    }
    out
}

/// yaml_serde places a duplicate key at the start of its mapping; the second `key:` line is
/// what the author needs to see.
fn duplicate_key_line(yaml: &str, message: &str) -> Option<usize> {
    let key = message
        .split_once("duplicate entry with key \"")?
        .1
        .split('"')
        .next()?;
    yaml.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .nth(1)
        .map(|(i, _)| i + 2)
}

/// A YAML parser message with each `line N` made the file's line (`N + 1`), and the file line
/// of what it says it was scanning (`while scanning a quoted scalar at line N`), if any.
fn file_lines(message: &str) -> (String, Option<usize>) {
    let mut out = String::with_capacity(message.len());
    let mut scanning = None;
    let mut rest = message;
    while let Some(i) = rest.find("line ") {
        let (before, after) = rest.split_at(i + "line ".len());
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(n) => {
                out.push_str(&(n + 1).to_string());
                if before.contains("while scanning") {
                    scanning = Some(n + 1);
                }
            }
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    (out, scanning)
}

fn first_line_of(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn fields(
    path: &Path,
    mapping: Mapping,
    key_lines: &BTreeMap<String, usize>,
) -> Result<Frontmatter, SkillError> {
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in mapping {
        let key = match k {
            Value::String(s) => s,
            other => {
                return Err(SkillError::new(
                    path,
                    2,
                    K::KeyNotString {
                        found: value_kind(&other),
                    },
                ));
            }
        };
        map.insert(key, v);
    }
    let line_of = |key: &str| key_lines.get(key).copied().unwrap_or(1);
    let wrong = |key: &str, expected: &'static str, v: &Value| {
        SkillError::new(
            path,
            line_of(key),
            K::WrongType {
                field: key.to_string(),
                expected,
                found: value_kind(v),
            },
        )
    };

    // A scalar written without quotes (`lastReviewed: 2026`) is still text to us.
    let text =
        |map: &mut BTreeMap<String, Value>, key: &str| -> Result<Option<String>, SkillError> {
            match map.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Bool(b)) => Ok(Some(b.to_string())),
                Some(other) => Err(wrong(key, "a string", &other)),
            }
        };
    let list = |map: &mut BTreeMap<String, Value>,
                key: &str|
     -> Result<Option<StringList>, SkillError> {
        match map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(StringList::One(s))),
            Some(Value::Sequence(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(s),
                        other => return Err(wrong(key, "a string or a list of strings", &other)),
                    }
                }
                Ok(Some(StringList::Many(out)))
            }
            Some(other) => Err(wrong(key, "a string or a list of strings", &other)),
        }
    };
    let missing = |field: &'static str| SkillError::new(path, 1, K::MissingField(field));

    let name = text(&mut map, "name")?.ok_or_else(|| missing("name"))?;
    let description = text(&mut map, "description")?.ok_or_else(|| missing("description"))?;
    let metadata = match map.remove("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Mapping(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                match k {
                    Value::String(k) => {
                        out.insert(k, v);
                    }
                    other => return Err(wrong("metadata", "a mapping with string keys", &other)),
                }
            }
            Some(out)
        }
        Some(other) => return Err(wrong("metadata", "a mapping", &other)),
    };
    Ok(Frontmatter {
        name,
        description,
        license: text(&mut map, "license")?,
        compatibility: text(&mut map, "compatibility")?,
        metadata,
        allowed_tools: list(&mut map, "allowed-tools")?,
        kind: text(&mut map, "type")?,
        lifecycle: text(&mut map, "lifecycle")?,
        inheritance: text(&mut map, "inheritance")?,
        tier: text(&mut map, "tier")?,
        apply_to: list(&mut map, "applyTo")?,
        currency: text(&mut map, "currency")?,
        last_reviewed: text(&mut map, "lastReviewed")?,
        extra: map,
    })
}

/// The folder a `<name>/SKILL.md` lives in, for the name-equals-folder rule.
pub fn folder_name(path: &Path) -> Option<String> {
    let parent: PathBuf = path.parent()?.to_path_buf();
    parent.file_name().map(|n| n.to_string_lossy().into_owned())
}
