//! Checking a document against a skill's [`Contract`] and the quality rules.
//!
//! Rule ids, and what each guards:
//!
//! | rule | severity | what |
//! |---|---|---|
//! | `structure.title` | error | the H1 follows the template's title pattern |
//! | `structure.missing-section` | error | every template section is there |
//! | `structure.section-order` | error | in the template's order |
//! | `structure.empty-section` | error | and says something |
//! | `structure.heading-level` | warning | at the template's heading level |
//! | `table.missing`, `table.columns`, `table.empty` | error | template tables, their columns, rows |
//! | `table.value` | error | cells hold a value the template lists (several joined, or one with a note) |
//! | `table.date` | warning | dated columns hold dates |
//! | `placeholder` | error | no `[placeholder]` or template guidance left |
//! | `secret`, `pii` | error | no credential or personal data (never echoed) |
//! | `link` | error | links, images and URLs stay in the repository or its forge |
//! | `blameless` | error | no person named outside dated tables (timelines) |
//! | `specific.*` | error/warning | cites the repository (commits, files, tags, pull requests), and what it cites exists |
//! | `actionable` | error | a decision table (allowed values) has a complete row |
//! | `convention.file-name` | warning | the file is named as the skill says |
//!
//! A missing section or table is reported once; the rules that would look inside it stay
//! quiet, so a document that differs from the template gets a short list, not a wall.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::diag::Finding;
use crate::markdown::{Outline, Row, Table};
use crate::redact::Redactor;
use crate::repo::{Lookup, RepoFacts, hash_numbers};
use crate::skill::contract::{Contract, SectionSpec, normalize_title};

/// Largest document checked (1 MiB); a postmortem is a few pages.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

macro_rules! regex {
    ($name:ident, $re:expr) => {
        // A fixed pattern, compiled by every test run.
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($re).expect($re));
    };
}

regex!(URL, r"(?i)\b(?:https?|ftp|wss?)://[^\s<>()\[\]`'\x22|]+");
regex!(SCHEME, r"^[A-Za-z][A-Za-z0-9+.-]*:");
regex!(SHA, r"\b[0-9a-f]{7,40}\b");
regex!(
    FORGE_CHANGE,
    r"/(?:pull|pulls|issues|merge_requests|pull-requests)/(\d{1,9})(?:[/#?]|$)"
);
regex!(TAG, r"\bv\d+(?:\.\d+)+(?:-[0-9A-Za-z.]+)?\b");
regex!(
    HANDLE,
    r"(?:^|[\s(\[,;:])@([A-Za-z0-9][A-Za-z0-9-]{0,38})\b"
);
regex!(
    DATE,
    r"(?i)\d{4}-\d{2}-\d{2}|\b\d{1,2}/\d{1,2}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|\bunknown\b|\bn/a\b|\btbd\b"
);

/// Single-word author names too common to search for as a person.
const NOT_NAMES: &[&str] = &[
    "root",
    "admin",
    "user",
    "system",
    "unknown",
    "github",
    "gitlab",
    "build",
    "deploy",
    "release",
    "test",
    "tests",
    "bot",
    "ci",
    "dev",
    "developer",
    "automation",
    "server",
];

/// A document to check.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    pub text: &'a str,
    /// Its path relative to the repository root, when known: for the file-name convention and
    /// relative links.
    pub path: Option<&'a Path>,
}

/// Check `doc` against `contract`; `repo` enables the rules that need the history.
/// Findings are sorted by line. To check many documents, build [`Rules`] once.
pub fn check(contract: &Contract, doc: Document<'_>, repo: Option<&RepoFacts>) -> Vec<Finding> {
    Rules::new(contract, repo).check(doc)
}

/// A contract and a repository, prepared once for checking many documents.
pub struct Rules<'a> {
    contract: &'a Contract,
    repo: Option<&'a RepoFacts>,
    /// The history's people (for the blameless rule): names of two words or more, as one
    /// case-insensitive pattern, and one-word names (`Heiner`, `Work`), as written.
    people: Option<Regex>,
    handles: Option<Regex>,
}

impl<'a> Rules<'a> {
    pub fn new(contract: &'a Contract, repo: Option<&'a RepoFacts>) -> Self {
        let names = |one_word: bool, flags: &str| {
            let names: BTreeSet<&str> = repo?
                .people()
                .iter()
                .map(|p| p.name.trim())
                .filter(|n| is_searchable_name(n))
                .filter(|n| (n.split_whitespace().count() == 1) == one_word)
                .collect();
            if names.is_empty() {
                return None;
            }
            let alternation = names
                .iter()
                .map(|n| regex::escape(n))
                .collect::<Vec<_>>()
                .join("|");
            Regex::new(&format!(r"{flags}\b(?:{alternation})\b")).ok()
        };
        Rules {
            contract,
            repo,
            people: names(false, "(?i)"),
            handles: names(true, ""),
        }
    }

    /// Check one document. Findings are sorted by line.
    pub fn check(&self, doc: Document<'_>) -> Vec<Finding> {
        let outline = Outline::parse(doc.text, 1);
        let mut c = Checker {
            contract: self.contract,
            doc,
            outline: &outline,
            repo: self.repo,
            people: self.people.as_ref(),
            handles: self.handles.as_ref(),
            out: Vec::new(),
            found: Vec::new(),
        };
        let quality = &self.contract.quality;
        c.title();
        c.sections();
        c.tables();
        c.placeholders();
        c.secrets();
        c.links();
        if quality.blameless {
            c.blameless();
        }
        if quality.specific {
            c.specific();
        }
        if quality.actionable {
            c.actionable();
        }
        c.file_name();
        let mut out = c.out;
        out.sort_by(|a, b| a.line.cmp(&b.line).then(a.rule.cmp(b.rule)));
        out.dedup();
        out
    }
}

/// One document being checked.
struct Checker<'a> {
    contract: &'a Contract,
    doc: Document<'a>,
    outline: &'a Outline,
    repo: Option<&'a RepoFacts>,
    people: Option<&'a Regex>,
    handles: Option<&'a Regex>,
    out: Vec<Finding>,
    /// For each required section, the index of its heading in the document.
    found: Vec<Option<usize>>,
}

impl<'a> Checker<'a> {
    fn line(&self, offset: usize) -> usize {
        self.outline.lines.line(offset)
    }

    /// The last line with text on it.
    fn last_line(&self) -> usize {
        self.doc.text.trim_end().lines().count().max(1)
    }

    fn title(&mut self) {
        let Some(pattern) = &self.contract.title else {
            return;
        };
        let Some(h1) = self.outline.headings.iter().find(|h| h.level == 1) else {
            self.out.push(
                Finding::error("structure.title", 1, "the document has no `# ` title")
                    .hint(format!("start with `# {}`", pattern.template)),
            );
            return;
        };
        let text = h1.text.trim();
        let rest = text
            .get(..pattern.prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(&pattern.prefix))
            .map(|_| text[pattern.prefix.len()..].trim());
        match rest {
            None => self.out.push(
                Finding::error(
                    "structure.title",
                    h1.line,
                    format!("title does not start with `{}`", pattern.prefix),
                )
                .hint(format!("write it as `# {}`", pattern.template)),
            ),
            Some("") => self.out.push(
                Finding::error(
                    "structure.title",
                    h1.line,
                    format!("title has nothing after `{}`", pattern.prefix),
                )
                .hint(format!("fill in the title: `# {}`", pattern.template)),
            ),
            Some(_) => {}
        }
    }

    fn section_range(&self, spec_idx: usize) -> Option<Range<usize>> {
        self.found[spec_idx].map(|h| self.outline.section_range(h))
    }

    fn sections(&mut self) {
        let specs = &self.contract.sections;
        self.found = vec![None; specs.len()];
        for (hi, h) in self.outline.headings.iter().enumerate() {
            if h.level == 1 {
                continue;
            }
            if let Some(si) = self.contract.section_index(&h.text)
                && self.found[si].is_none()
            {
                self.found[si] = Some(hi);
                if h.level != specs[si].level {
                    self.out.push(
                        Finding::warning(
                            "structure.heading-level",
                            h.line,
                            format!(
                                "`{}` is a level-{} heading; the template has level {}",
                                specs[si].title, h.level, specs[si].level
                            ),
                        )
                        .hint(format!(
                            "write it as `{} {}`",
                            "#".repeat(specs[si].level.into()),
                            specs[si].title
                        )),
                    );
                }
            }
        }
        let order: Vec<String> = specs.iter().map(|s| s.title.clone()).collect();
        let order_hint = format!("the template's order is: {}", order.join(", "));

        // Present sections in document order; those off the longest in-order run are misplaced.
        let mut present: Vec<(usize, usize)> = self
            .found
            .iter()
            .enumerate()
            .filter_map(|(si, h)| h.map(|h| (h, si)))
            .collect();
        present.sort();
        let keep = longest_increasing(&present.iter().map(|(_, si)| *si).collect::<Vec<_>>());
        for (k, (h, si)) in present.iter().enumerate() {
            if !keep.contains(&k) {
                let heading = &self.outline.headings[*h];
                self.out.push(
                    Finding::error(
                        "structure.section-order",
                        heading.line,
                        format!("section `{}` is out of order", specs[*si].title),
                    )
                    .hint(order_hint.clone()),
                );
            }
        }

        for (si, spec) in specs.iter().enumerate() {
            match self.found[si] {
                None => {
                    // Report where it belongs: at the next required section that is present.
                    let line = self.found[si + 1..]
                        .iter()
                        .flatten()
                        .next()
                        .map_or_else(|| self.last_line(), |h| self.outline.headings[*h].line);
                    let after = specs[..si]
                        .iter()
                        .rev()
                        .find(|s| {
                            self.contract
                                .section_index(&s.title)
                                .is_some_and(|i| self.found[i].is_some())
                        })
                        .map_or_else(
                            || "after the title".to_string(),
                            |s| format!("after `## {}`", s.title),
                        );
                    self.out.push(
                        Finding::error(
                            "structure.missing-section",
                            line,
                            format!("missing section `## {}`", spec.title),
                        )
                        .hint(format!("add it {after}; {order_hint}")),
                    );
                }
                Some(h) => {
                    let heading = &self.outline.headings[h];
                    let range = self.outline.section_range(h);
                    let o = self.outline;
                    // An HTML comment (`<!-- TODO -->`) is not shown, so it fills nothing.
                    let has_content = o.inlines.iter().any(|i| {
                        range.contains(&i.offset)
                            && i.line > heading.line
                            && !i.text.trim().is_empty()
                            && !o.is_verbatim(i.offset)
                    }) || o.tables.iter().any(|t| range.contains(&t.offset))
                        || o.code_blocks.iter().any(|b| range.contains(&b.range.start));
                    if !has_content {
                        self.out.push(
                            Finding::error(
                                "structure.empty-section",
                                heading.line,
                                format!("section `{}` is empty", spec.title),
                            )
                            .hint("write what the template asks for here"),
                        );
                    }
                }
            }
        }
    }

    /// The table of a required section that best fits its spec, if the section is present.
    fn section_table(&self, si: usize) -> Option<&'a Table> {
        let range = self.section_range(si)?;
        let spec = self.contract.sections[si].table.as_ref()?;
        let outline: &'a Outline = self.outline;
        outline
            .tables
            .iter()
            .filter(|t| range.contains(&t.offset))
            .max_by_key(|t| {
                let have: BTreeSet<String> = t.header.iter().map(|h| normalize_title(h)).collect();
                let hits = spec
                    .columns
                    .iter()
                    .filter(|c| have.contains(&normalize_title(&c.name)))
                    .count();
                // Prefer more matching columns, then the earlier table.
                (hits, usize::MAX - t.offset)
            })
    }

    fn tables(&mut self) {
        for (si, spec) in self.contract.sections.iter().enumerate() {
            let (Some(tspec), Some(h)) = (&spec.table, self.found[si]) else {
                continue;
            };
            let heading = &self.outline.headings[h];
            let wanted: Vec<&str> = tspec.columns.iter().map(|c| c.name.as_str()).collect();
            let Some(table) = self.section_table(si) else {
                self.out.push(
                    Finding::error(
                        "table.missing",
                        heading.line,
                        format!("section `{}` has no table", spec.title),
                    )
                    .hint(format!("add a table with columns {}", wanted.join(" | "))),
                );
                continue;
            };
            let missing: Vec<&str> = tspec
                .columns
                .iter()
                .filter(|c| column_index(table, &c.name).is_none())
                .map(|c| c.name.as_str())
                .collect();
            if !missing.is_empty() {
                self.out.push(
                    Finding::error(
                        "table.columns",
                        table.line,
                        format!(
                            "`{}` table lacks column{} {} (it has {})",
                            spec.title,
                            if missing.len() == 1 { "" } else { "s" },
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            table.header.join(" | ")
                        ),
                    )
                    .hint(format!("the template's columns are {}", wanted.join(" | "))),
                );
            }
            for row in table.rows.iter().filter(|r| !r.piped) {
                self.out.push(
                    Finding::error(
                        "table.row",
                        row.line,
                        format!(
                            "{:?} is read as a row of the `{}` table, not as a paragraph",
                            row.cells.first().map_or("", |c| c.trim()),
                            spec.title
                        ),
                    )
                    .hint("leave a blank line between a table and the text under it"),
                );
            }
            let rows: Vec<&Row> = table.rows.iter().filter(|r| r.piped).collect();
            if rows.is_empty() {
                if !tspec.has_choices() {
                    self.out.push(Finding::error(
                        "table.empty",
                        table.line,
                        format!("`{}` table has no rows", spec.title),
                    ));
                }
                continue;
            }
            for col in &tspec.columns {
                let Some(ci) = column_index(table, &col.name) else {
                    continue;
                };
                for row in &rows {
                    let cell = row.cells.get(ci).map_or("", |c| c.trim());
                    if !col.allowed.is_empty() && !is_allowed(&col.allowed, cell) {
                        self.out.push(
                            Finding::error(
                                "table.value",
                                row.line,
                                format!(
                                    "{} {:?} is not one of {}",
                                    col.name,
                                    cell,
                                    col.allowed.join(", ")
                                ),
                            )
                            .hint(format!("use one of {}", col.allowed.join(" / "))),
                        );
                    }
                    let is_date_col = col
                        .placeholder
                        .as_deref()
                        .is_some_and(|p| p.to_lowercase().contains("date"));
                    if is_date_col
                        && !self.contract.placeholders.iter().any(|p| p == cell)
                        && !DATE.is_match(cell)
                    {
                        self.out.push(
                            Finding::warning(
                                "table.date",
                                row.line,
                                format!("{} {:?} is not a date", col.name, cell),
                            )
                            .hint("write dates as YYYY-MM-DD, or `unknown`"),
                        );
                    }
                }
            }
        }
    }

    fn placeholders(&mut self) {
        let text = self.doc.text;
        for p in &self.contract.placeholders {
            for (offset, _) in text.match_indices(p.as_str()) {
                if self.outline.is_verbatim(offset) {
                    continue;
                }
                self.out.push(
                    Finding::error(
                        "placeholder",
                        self.line(offset),
                        format!("template placeholder `{p}` left in the document"),
                    )
                    .hint("replace it with the real value"),
                );
            }
        }
        for para in &self.outline.paragraphs {
            let normalized = para.text.split_whitespace().collect::<Vec<_>>().join(" ");
            for g in &self.contract.guidance {
                if normalized.contains(g.as_str()) {
                    self.out.push(
                        Finding::error(
                            "placeholder",
                            para.line,
                            format!("template guidance {g:?} copied into the document"),
                        )
                        .hint("replace the template's instructions with the content they ask for"),
                    );
                }
            }
        }
    }

    fn secrets(&mut self) {
        for m in Redactor::global().find(self.doc.text) {
            let rule = if m.kind.is_pii() { "pii" } else { "secret" };
            let line = self.line(m.range.start);
            self.out.push(
                Finding::error(
                    rule,
                    line,
                    format!(
                        "line {line} holds {} ({}); the value is not repeated here",
                        article(m.kind.label()),
                        m.kind.id()
                    ),
                )
                .hint("remove it: credentials and personal data never belong in the document"),
            );
        }
    }

    fn links(&mut self) {
        let forge = self.repo.and_then(RepoFacts::forge);
        let mut seen: BTreeSet<(usize, String)> = BTreeSet::new();
        let mut report = |out: &mut Vec<Finding>, line: usize, host: String, image: bool| {
            if seen.insert((line, host.clone())) {
                let what = if image { "image from" } else { "link to" };
                let hint = match forge {
                    Some(f) => format!(
                        "link only to files of the repository (relative paths) or to https://{}/{}",
                        f.host, f.path
                    ),
                    None => "link only to files of the repository, with relative paths".to_string(),
                };
                out.push(
                    Finding::error("link", line, format!("{what} outside host `{host}`"))
                        .hint(hint),
                );
            }
        };
        for link in &self.outline.links {
            let dest = link.dest.trim();
            let outside = SCHEME.is_match(dest) || dest.starts_with("//");
            if outside && !forge.is_some_and(|f| f.owns(dest)) {
                report(&mut self.out, link.line, host_of(dest), link.image);
            }
        }
        for m in URL.find_iter(self.doc.text) {
            let url = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            if !forge.is_some_and(|f| f.owns(url)) {
                let line = self.line(m.start());
                let image = self
                    .outline
                    .links
                    .iter()
                    .any(|l| l.image && l.line == line && l.dest.trim() == url);
                report(&mut self.out, line, host_of(url), image);
            }
        }
    }

    /// Byte ranges of dated tables' sections (timelines), where people may be named.
    fn timeline_ranges(&self) -> Vec<Range<usize>> {
        self.contract
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.table.as_ref().is_some_and(|t| t.is_dated()))
            .filter_map(|(si, _)| self.section_range(si))
            .collect()
    }

    fn section_name_at(&self, offset: usize) -> String {
        self.outline.section_of(offset, 6).map_or_else(
            || "the document".to_string(),
            |h| format!("`{}`", self.outline.headings[h].text),
        )
    }

    fn blameless(&mut self) {
        let allowed = self.timeline_ranges();
        let in_timeline = |o: usize| allowed.iter().any(|r| r.contains(&o));
        let mut hits: Vec<(usize, String)> = Vec::new();

        if let Some(re) = self.people {
            for m in re.find_iter(self.doc.text) {
                hits.push((m.start(), m.as_str().to_string()));
            }
        }
        // A one-word name is often a word too (an author named `Work`): it counts written
        // as the history writes it, and not as part of a hyphenated word (`Work-request`).
        if let Some(re) = self.handles {
            let text = self.doc.text;
            for m in re.find_iter(text) {
                let joined = text[..m.start()].ends_with('-') || text[m.end()..].starts_with('-');
                if !joined {
                    hits.push((m.start(), m.as_str().to_string()));
                }
            }
        }
        for inline in self.outline.inlines.iter().filter(|i| !i.code) {
            for cap in HANDLE.captures_iter(&inline.text) {
                if let Some(m) = cap.get(0) {
                    let at = m.as_str().trim_start_matches(|c: char| c != '@');
                    hits.push((inline.offset, at.to_string()));
                }
            }
        }
        for (offset, who) in hits {
            if in_timeline(offset) {
                continue;
            }
            let section = self.section_name_at(offset);
            self.out.push(
                Finding::error(
                    "blameless",
                    self.line(offset),
                    format!("{section} names a person ({who})"),
                )
                .hint("describe what the system allowed, not who did it; people may appear only in the timeline"),
            );
        }
    }

    fn specific(&mut self) {
        let text = self.doc.text;
        let mut commits = Vec::new();
        let mut cited = 0usize;
        let mut candidates = 0usize;
        let mut findings = Vec::new();

        for m in SHA.find_iter(text) {
            let s = m.as_str();
            if !(s.bytes().any(|b| b.is_ascii_digit())
                && s.bytes().any(|b| b.is_ascii_alphabetic()))
            {
                continue;
            }
            candidates += 1;
            let Some(repo) = self.repo else { continue };
            match repo.lookup(s) {
                Lookup::Found(id) => {
                    cited += 1;
                    commits.push(id);
                }
                Lookup::Ambiguous => findings.push(
                    Finding::warning(
                        "specific.ambiguous-commit",
                        self.line(m.start()),
                        format!("commit `{s}` is ambiguous in this repository"),
                    )
                    .hint("write more digits of the sha"),
                ),
                Lookup::Missing => findings.push(
                    Finding::error(
                        "specific.unknown-commit",
                        self.line(m.start()),
                        format!("commit `{s}` does not exist in this repository"),
                    )
                    .hint("cite only commits from `git log`; check the sha"),
                ),
            }
        }

        let mut tags_seen = BTreeSet::new();
        for inline in self.outline.inlines.iter() {
            for m in TAG.find_iter(&inline.text) {
                let tag = m.as_str();
                candidates += 1;
                let Some(repo) = self.repo else { continue };
                if repo.tag_exists(tag) {
                    cited += 1;
                } else if tags_seen.insert(tag.to_string()) {
                    findings.push(
                        Finding::warning(
                            "specific.unknown-tag",
                            inline.line,
                            format!("`{tag}` looks like a release tag but no such tag exists"),
                        )
                        .hint("name releases by their git tags"),
                    );
                }
            }
            if inline.code
                && let Some(repo) = self.repo
            {
                let t = inline.text.trim();
                if !t.is_empty() && repo.tag_exists(t) {
                    cited += 1;
                }
            }
        }

        // Pull requests and issues: `#1234`, or a link to one on the repository's forge. One
        // counts when a commit message of the history names it (a squash merge's `(#1234)`).
        let forge = self.repo.and_then(RepoFacts::forge);
        let linked = URL
            .find_iter(text)
            .filter(|m| forge.is_some_and(|f| f.owns(m.as_str())))
            .filter_map(|m| {
                FORGE_CHANGE
                    .captures(m.as_str())?
                    .get(1)?
                    .as_str()
                    .parse()
                    .ok()
            });
        let numbers: BTreeSet<u64> = hash_numbers(text.as_bytes()).chain(linked).collect();
        candidates += numbers.len();
        if let Some(repo) = self.repo {
            cited += numbers.iter().filter(|n| repo.names_number(**n)).count();
        }

        let doc_dir = self.doc.path.and_then(Path::parent).map(Path::to_path_buf);
        let mut paths: Vec<(String, usize, bool)> = Vec::new();
        for inline in self.outline.inlines.iter().filter(|i| i.code) {
            if let Some(p) = path_like(&inline.text) {
                paths.push((p, inline.line, false));
            }
        }
        for link in &self.outline.links {
            let dest = link.dest.trim();
            if dest.is_empty()
                || dest.starts_with('#')
                || SCHEME.is_match(dest)
                || dest.starts_with("//")
            {
                continue;
            }
            let dest = dest.split(['#', '?']).next().unwrap_or_default();
            paths.push((dest.to_string(), link.line, true));
        }
        for (p, line, is_link) in paths {
            candidates += 1;
            let Some(repo) = self.repo else { continue };
            let from_doc = doc_dir.as_ref().and_then(|d| normalize_join(d, &p));
            let exists = from_doc
                .as_deref()
                .is_some_and(|q| repo.path_exists(q, &commits))
                || normalize_join(Path::new(""), &p)
                    .is_some_and(|q| repo.path_exists(&q, &commits));
            if exists {
                cited += 1;
            } else {
                let f = if is_link {
                    Finding::error
                } else {
                    Finding::warning
                };
                findings.push(
                    f(
                        "specific.unknown-path",
                        line,
                        format!("`{p}` is not a file or folder of this repository"),
                    )
                    .hint(
                        "cite paths relative to the repository root, as `git ls-files` shows them",
                    ),
                );
            }
        }

        self.out.extend(findings);
        match self.repo {
            Some(_) if cited == 0 => self.out.push(
                Finding::error(
                    "specific.no-citation",
                    1,
                    "the document cites no commit, file, tag or pull request of this repository",
                )
                .hint("name the commits (short sha), files and releases involved"),
            ),
            None if candidates == 0 => self.out.push(
                Finding::warning(
                    "specific.no-citation",
                    1,
                    "the document cites no commit, file, tag or pull request",
                )
                .hint("name the commits (short sha), files and releases involved; with --repo they are checked"),
            ),
            _ => {}
        }
    }

    fn actionable(&mut self) {
        for (si, spec) in self.contract.sections.iter().enumerate() {
            let Some(tspec) = spec.table.as_ref().filter(|t| t.has_choices()) else {
                continue;
            };
            let Some(table) = self.section_table(si) else {
                continue;
            };
            let choice_cols: Vec<(usize, &Vec<String>)> = tspec
                .columns
                .iter()
                .filter(|c| !c.allowed.is_empty())
                .filter_map(|c| column_index(table, &c.name).map(|i| (i, &c.allowed)))
                .collect();
            if choice_cols.len()
                < tspec
                    .columns
                    .iter()
                    .filter(|c| !c.allowed.is_empty())
                    .count()
            {
                continue; // Missing columns are already reported.
            }
            let complete = table.rows.iter().filter(|r| r.piped).any(|row| {
                let first = row.cells.first().map_or("", |c| c.trim());
                !first.is_empty()
                    && !self
                        .contract
                        .placeholders
                        .iter()
                        .any(|p| first.contains(p.as_str()))
                    && choice_cols.iter().all(|(i, allowed)| {
                        is_allowed(allowed, row.cells.get(*i).map_or("", |c| c.trim()))
                    })
            });
            if !complete {
                self.out.push(
                    Finding::error(
                        "actionable",
                        table.line,
                        format!("`{}` has no complete row", spec.title),
                    )
                    .hint(describe_row(spec)),
                );
            }
        }
    }

    fn file_name(&mut self) {
        let (Some(pattern), Some(path)) = (&self.contract.file_name, self.doc.path) else {
            return;
        };
        let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
            return;
        };
        if !pattern.matches(&name) {
            self.out.push(
                Finding::warning(
                    "convention.file-name",
                    1,
                    format!("file name `{name}` does not follow `{}`", pattern.template),
                )
                .hint("use a lowercase, hyphenated description"),
            );
        }
    }
}

fn describe_row(spec: &SectionSpec) -> String {
    let Some(t) = &spec.table else {
        return String::new();
    };
    format!("add at least one row with {}", t.column_list())
}

fn column_index(table: &Table, name: &str) -> Option<usize> {
    let key = normalize_title(name);
    table.header.iter().position(|h| normalize_title(h) == key)
}

/// Whether a cell of a choice column holds a choice: one of the `allowed` values, that value
/// followed by a note (`✅ Done (#1234)`, `☐ planned`), or several of them joined (`Test + CI`,
/// `Test/CI`). Every value joined by `/` alone is the template's own list of choices (`✅/☐`,
/// `Test/CI/Process/Docs`) left in place, not a choice; joined otherwise (`Security + Bug`,
/// `Test, CI, Process and Docs`), every value was chosen.
fn is_allowed(allowed: &[String], cell: &str) -> bool {
    let cell = cell.trim_matches(|c: char| c == '*' || c == '`' || c.is_whitespace());
    let one = |part: &str| {
        let part = part.trim_matches(|c: char| c == '*' || c == '`' || c.is_whitespace());
        allowed.iter().position(|a| a.eq_ignore_ascii_case(part))
    };
    if one(cell).is_some() {
        return true;
    }
    // Several values joined.
    let parts: Option<BTreeSet<usize>> = cell
        .split(['/', ',', '+', '&'])
        .flat_map(|p| p.split(" and "))
        .map(one)
        .collect();
    if let Some(parts) = parts {
        let template_text = !cell.contains(['+', ',', '&']) && !cell.contains(" and ");
        return parts.len() < allowed.len() || allowed.len() == 1 || !template_text;
    }
    // A value, then a note after a space or punctuation.
    allowed.iter().any(|a| {
        let n = a.len();
        cell.get(..n)
            .is_some_and(|head| head.eq_ignore_ascii_case(a))
            && cell[n..].starts_with(|c: char| {
                c.is_whitespace() || matches!(c, '(' | '-' | ':' | '—' | '–' | ',' | ';' | '.')
            })
            && !cell[n..].trim_start().starts_with(['/', '+', '&'])
    })
}

fn article(label: &str) -> String {
    let vowel = label
        .chars()
        .next()
        .is_some_and(|c| "AEIOUaeiou".contains(c));
    format!("{} {label}", if vowel { "an" } else { "a" })
}

/// The host of a URL, or its scheme for schemes without one (`data:`, `mailto:`).
fn host_of(url: &str) -> String {
    let rest = url.split_once("//").map_or(url, |(_, r)| r);
    if !url.contains("//") {
        return url.split(':').next().unwrap_or(url).to_lowercase() + ":";
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit('@').next().unwrap_or(host).to_lowercase()
}

/// An author name specific enough to search for.
fn is_searchable_name(name: &str) -> bool {
    if name.contains("[bot]") || name.chars().count() < 3 {
        return false;
    }
    if name.split_whitespace().count() >= 2 {
        return true;
    }
    name.chars().count() >= 4 && !NOT_NAMES.contains(&name.to_lowercase().as_str())
}

/// Inline code that names a repository path: relative, with a `/`, no spaces; `:line`,
/// `#Lnn` suffixes dropped.
fn path_like(code: &str) -> Option<String> {
    let t = code.trim();
    if t.is_empty()
        || t.contains(char::is_whitespace)
        || !t.contains('/')
        || t.starts_with('/')
        || t.starts_with('~')
        || t.contains("://")
        || t.contains(['*', '<', '>', '{', '}', '$', '|', '"', '\''])
    {
        return None;
    }
    let t = t.split('#').next().unwrap_or(t);
    let t = match t.rsplit_once(':') {
        Some((p, n)) if n.chars().all(|c| c.is_ascii_digit() || c == '-') => p,
        _ => t,
    };
    // Something like `Test/CI/Process` has no extension and no lowercase folder part.
    let has_ext = t.rsplit('/').next().is_some_and(|f| f.contains('.'));
    let folder_like = t.ends_with('/')
        || t.split('/').next().is_some_and(|f| {
            f.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        });
    (has_ext || folder_like).then(|| t.to_string())
}

/// `base/rel`, with `.` and `..` resolved; `None` when it climbs above the repository root.
fn normalize_join(base: &Path, rel: &str) -> Option<String> {
    let mut parts: Vec<String> = base
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s.to_string()),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Longest strictly increasing subsequence of `xs`: the indices kept.
fn longest_increasing(xs: &[usize]) -> BTreeSet<usize> {
    let n = xs.len();
    let mut len = vec![1usize; n];
    let mut prev = vec![usize::MAX; n];
    for i in 0..n {
        for j in 0..i {
            if xs[j] < xs[i] && len[j] + 1 > len[i] {
                len[i] = len[j] + 1;
                prev[i] = j;
            }
        }
    }
    let mut keep = BTreeSet::new();
    let Some(mut i) = (0..n).max_by_key(|&i| (len[i], usize::MAX - i)) else {
        return keep;
    };
    loop {
        keep.insert(i);
        if prev[i] == usize::MAX {
            break;
        }
        i = prev[i];
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_increasing_keeps_the_in_order_run() {
        assert_eq!(longest_increasing(&[0, 1, 2]), BTreeSet::from([0, 1, 2]));
        assert_eq!(longest_increasing(&[0, 3, 1, 2]), BTreeSet::from([0, 2, 3]));
        assert!(longest_increasing(&[]).is_empty());
    }

    #[test]
    fn a_choice_may_carry_a_note_or_join_other_choices() {
        let status = vec!["✅".to_string(), "☐".to_string()];
        let kind: Vec<String> = ["Test", "CI", "Process", "Docs"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for ok in [
            "✅",
            "**✅**",
            "✅ Done (#18310)",
            "☐ planned",
            "☐ — next release",
        ] {
            assert!(is_allowed(&status, ok), "{ok}");
        }
        for bad in ["✅/☐", "✅ / ☐", "☐/✅", "Done", "", "✅☐", "yes ✅"] {
            assert!(!is_allowed(&status, bad), "{bad}");
        }
        for ok in [
            "Test",
            "test",
            "Test + CI",
            "Test/CI",
            "CI, Docs",
            "Test and Docs",
            "Test (unit)",
            "Docs + CI + Process + Test",
            "Test, CI, Process and Docs",
        ] {
            assert!(is_allowed(&kind, ok), "{ok}");
        }
        for bad in [
            "Test/CI/Process/Docs",
            "Tests",
            "Testing",
            "Tooling",
            "Test/Tooling",
            "Test / Tooling",
        ] {
            assert!(!is_allowed(&kind, bad), "{bad}");
        }
    }

    #[test]
    fn path_like_accepts_repo_paths_only() {
        assert_eq!(
            path_like("src/pay/retry.rs:42"),
            Some("src/pay/retry.rs".into())
        );
        assert_eq!(
            path_like("docs/postmortems/"),
            Some("docs/postmortems/".into())
        );
        assert_eq!(path_like("/etc/passwd"), None);
        assert_eq!(path_like("Test/CI/Process"), None);
        assert_eq!(path_like("https://x.y/z"), None);
        assert_eq!(path_like("a b/c"), None);
    }

    #[test]
    fn host_of_names_host_or_scheme() {
        assert_eq!(
            host_of("https://user:pw@Evil.example:8080/x?q"),
            "evil.example:8080"
        );
        assert_eq!(host_of("data:image/png;base64,xx"), "data:");
        assert_eq!(host_of("//cdn.example/x.png"), "cdn.example");
    }

    #[test]
    fn normalize_join_resolves_dots() {
        assert_eq!(
            normalize_join(Path::new("docs/pm"), "../../src/a.rs"),
            Some("src/a.rs".into())
        );
        assert_eq!(normalize_join(Path::new("docs"), "../../x"), None);
    }
}
