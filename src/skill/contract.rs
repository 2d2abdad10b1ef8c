//! The contract: what a correct document is, derived from the skill's own `## Template`.
//!
//! Nothing here knows about postmortems. From the template block the derivation takes the
//! title pattern (the H1, with `[placeholders]`), the required sections in order (the H2s),
//! the tables under them with their columns, the allowed values a template cell lists
//! (`Test/CI/Process/Docs`), and the placeholders and guidance sentences that must not survive
//! into a real document. From the prose around the block it takes the file-name convention
//! (`` `regression-<short-description>.md` ``) and the folders (`` `docs/postmortems/` ``).
//! From the skill's "Quality Standards" and "Safety" sections it takes which quality rules
//! the skill asks for.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::markdown::Outline;

/// The contract of one skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contract {
    pub skill: String,
    /// The document's H1, e.g. `Postmortem: [Brief Title]`.
    pub title: Option<TitlePattern>,
    /// Required sections, in order.
    pub sections: Vec<SectionSpec>,
    /// Text from the template that must not appear in a finished document.
    pub placeholders: Vec<String>,
    /// Opening sentences of the template's guidance paragraphs, which must not be copied.
    pub guidance: Vec<String>,
    /// `regression-<short-description>.md`.
    pub file_name: Option<FileNamePattern>,
    /// Folders the skill names for its documents, e.g. `docs/postmortems/`.
    pub folders: Vec<String>,
    pub quality: Quality,
    /// Headings of the template below `##` (`### Breaking Changes`): shown as structure, not
    /// required of a document; `skills lint` says so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked_headings: Vec<String>,
}

/// The H1 of the document: a literal prefix and a part the author fills in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TitlePattern {
    /// As written in the template.
    pub template: String,
    /// The literal text before the first placeholder (`Postmortem:`), compared without case.
    pub prefix: String,
}

/// One required section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionSpec {
    pub title: String,
    pub level: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<TableSpec>,
}

/// A table a section must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSpec {
    pub columns: Vec<ColumnSpec>,
}

impl TableSpec {
    /// A table whose rows are dated events (a timeline): a column holds a `[date]`
    /// placeholder or is called "Date".
    pub fn is_dated(&self) -> bool {
        self.columns.iter().any(|c| {
            c.name.eq_ignore_ascii_case("date")
                || c.placeholder
                    .as_deref()
                    .is_some_and(|p| p.to_lowercase().contains("date"))
        })
    }

    /// A table with at least one column of allowed values: rows that record decisions.
    pub fn has_choices(&self) -> bool {
        self.columns.iter().any(|c| !c.allowed.is_empty())
    }

    /// The columns as a reader sees them: `Action | Type (Prevent/Detect) | Owner`.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| {
                if c.allowed.is_empty() {
                    c.name.clone()
                } else {
                    format!("{} ({})", c.name, c.allowed.join("/"))
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// One column of a required table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnSpec {
    pub name: String,
    /// Values a cell may hold, when the template lists them as `A/B/C`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// The template's `[placeholder]` for the cell, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

/// `regression-<short-description>.md`: a prefix, a slug, a suffix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileNamePattern {
    pub template: String,
    pub prefix: String,
    pub suffix: String,
}

impl FileNamePattern {
    /// Whether `name` fits: the prefix, a lowercase slug of letters, digits and single
    /// hyphens, the suffix.
    pub fn matches(&self, name: &str) -> bool {
        let Some(slug) = name
            .strip_prefix(&self.prefix)
            .and_then(|r| r.strip_suffix(&self.suffix))
        else {
            return false;
        };
        is_slug(slug)
    }

    /// The file name for `slug`.
    pub fn file_name(&self, slug: &str) -> String {
        format!("{}{slug}{}", self.prefix, self.suffix)
    }
}

/// A lowercase slug: `a-z0-9` words joined by single hyphens.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Which quality rules the skill asks for. Secrets and outside links are always checked: they
/// are the runtime's guarantees, not a skill's choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Quality {
    /// No person named outside dated tables.
    pub blameless: bool,
    /// The document cites commits, files or tags of the repository, and they exist.
    pub specific: bool,
    /// At least one row of a decision table (allowed values) is filled in.
    pub actionable: bool,
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a fixed pattern, checked by the tests")]
    Regex::new(r"\[[^\[\]\n]{1,60}\]").expect("placeholder regex")
});

/// Shortest guidance sentence worth guarding against (shorter ones are too common to flag).
const MIN_GUIDANCE_CHARS: usize = 12;

impl Contract {
    /// Derive the contract from a skill body, or `None` when it has no template block.
    pub fn derive(skill: &str, body: &str, body_line: usize) -> Option<Contract> {
        let outline = Outline::parse(body, body_line);
        let idx = outline
            .headings
            .iter()
            .position(|h| h.text.trim().eq_ignore_ascii_case("template"))?;
        let range = outline.section_range(idx);
        let block = outline.code_blocks.iter().find(|b| {
            // The info string's first word, in any case: ```` ```Markdown ```` is a template too.
            let lang = b.info.split_whitespace().next().unwrap_or("");
            range.contains(&b.range.start)
                && ["", "markdown", "md", "text"]
                    .iter()
                    .any(|l| lang.eq_ignore_ascii_case(l))
        })?;
        let template = Outline::parse(&block.text, 1);

        let mut contract = Contract {
            skill: skill.to_string(),
            title: None,
            sections: Vec::new(),
            placeholders: Vec::new(),
            guidance: Vec::new(),
            file_name: None,
            folders: Vec::new(),
            quality: quality(&outline, body),
            unchecked_headings: Vec::new(),
        };

        if let Some(h1) = template.headings.iter().find(|h| h.level == 1) {
            let prefix = match PLACEHOLDER.find(&h1.text) {
                Some(m) => h1.text[..m.start()].trim().to_string(),
                None => h1.text.trim().to_string(),
            };
            contract.title = Some(TitlePattern {
                template: h1.text.clone(),
                prefix,
            });
        }
        for (i, h) in template.headings.iter().enumerate() {
            if h.level > 2 {
                contract.unchecked_headings.push(format!(
                    "{} {}",
                    "#".repeat(usize::from(h.level)),
                    h.text
                ));
            }
            if h.level != 2 {
                continue;
            }
            let sec = template.section_range(i);
            let table = template
                .tables
                .iter()
                .find(|t| sec.contains(&t.offset))
                .map(table_spec);
            contract.sections.push(SectionSpec {
                title: h.text.clone(),
                level: h.level,
                table,
            });
        }
        for m in PLACEHOLDER.find_iter(&block.text) {
            let p = m.as_str().to_string();
            if !contract.placeholders.contains(&p) {
                contract.placeholders.push(p);
            }
        }
        for para in &template.paragraphs {
            if let Some(sentence) = first_sentence(&para.text)
                && sentence.chars().count() >= MIN_GUIDANCE_CHARS
                && !contract.guidance.contains(&sentence)
            {
                contract.guidance.push(sentence);
            }
        }

        // The prose around the block: inline code naming a file pattern or a folder.
        for inline in outline
            .inlines
            .iter()
            .filter(|i| i.code && range.contains(&i.offset) && !block.range.contains(&i.offset))
        {
            let text = inline.text.trim();
            if text.ends_with('/') && !text.contains(' ') {
                contract.folders.push(text.to_string());
            } else if let (Some(open), Some(close)) = (text.find('<'), text.find('>'))
                && open < close
                && contract.file_name.is_none()
            {
                contract.file_name = Some(FileNamePattern {
                    template: text.to_string(),
                    prefix: text[..open].to_string(),
                    suffix: text[close + 1..].to_string(),
                });
            }
        }
        Some(contract)
    }

    /// The required section whose title matches `heading` (case and punctuation aside).
    pub fn section_index(&self, heading: &str) -> Option<usize> {
        let key = normalize_title(heading);
        self.sections
            .iter()
            .position(|s| normalize_title(&s.title) == key)
    }
}

/// A heading reduced to lowercase words, so `## Root cause:` matches `## Root Cause`.
pub fn normalize_title(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first sentence of a guidance paragraph, up to and including the first `.` or `:`.
fn first_sentence(text: &str) -> Option<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = text.find(['.', ':'])?;
    Some(text[..=end].to_string())
}

fn table_spec(table: &crate::markdown::Table) -> TableSpec {
    let columns = table
        .header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let cells: Vec<&str> = table
                .rows
                .iter()
                .filter_map(|r| r.cells.get(i).map(String::as_str))
                .collect();
            let placeholder = cells
                .iter()
                .find_map(|c| PLACEHOLDER.find(c).map(|m| m.as_str().to_string()));
            ColumnSpec {
                name: name.clone(),
                allowed: cells.first().map(|c| choices(c)).unwrap_or_default(),
                placeholder,
            }
        })
        .collect();
    TableSpec { columns }
}

/// `Test/CI/Process/Docs` lists the values a cell may hold; ordinary text does not.
fn choices(cell: &str) -> Vec<String> {
    if cell.starts_with('[') || cell.contains(' ') || !cell.contains('/') {
        return Vec::new();
    }
    let items: Vec<String> = cell.split('/').map(|s| s.trim().to_string()).collect();
    if items.len() >= 2
        && items
            .iter()
            .all(|s| !s.is_empty() && s.chars().count() <= 24)
    {
        items
    } else {
        Vec::new()
    }
}

/// Quality rules named in the skill's "Quality Standards" and "Safety" sections.
fn quality(outline: &Outline, body: &str) -> Quality {
    let mut text = String::new();
    for (i, h) in outline.headings.iter().enumerate() {
        let t = h.text.to_lowercase();
        if t.contains("quality") || t.contains("safety") {
            let r = outline.section_range(i);
            text.push_str(&body[r].to_lowercase());
        }
    }
    Quality {
        blameless: text.contains("blameless"),
        specific: text.contains("specific"),
        actionable: text.contains("actionable"),
    }
}
