//! A flat outline of a markdown document, built once with pulldown-cmark and shared by the
//! template-contract derivation and the checker.
//!
//! Every item keeps its byte offset and 1-based line, so rules can report where a problem is
//! and find which section it belongs to.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Maps byte offsets to 1-based line numbers.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    first_line: usize,
}

impl LineIndex {
    /// `first_line` is the line number of the first byte of `text` (1 for a whole file).
    pub fn new(text: &str, first_line: usize) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts, first_line }
    }

    pub fn line(&self, offset: usize) -> usize {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        idx + self.first_line
    }
}

#[derive(Debug, Clone)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    pub line: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Row {
    pub cells: Vec<String>,
    pub line: usize,
    /// Whether its source line holds a `|`. A line without one is a paragraph written right
    /// under the table with no blank line between, which GitHub-flavoured markdown reads as
    /// one more row.
    pub piped: bool,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    pub line: usize,
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub struct CodeBlock {
    pub info: String,
    pub text: String,
    pub line: usize,
    /// The whole block, fences included.
    pub range: Range<usize>,
}

/// A run of text (a paragraph, a list item's text, a cell, a heading), with its inline code.
#[derive(Debug, Clone)]
pub struct Inline {
    pub text: String,
    pub line: usize,
    pub offset: usize,
    /// Inside inline code.
    pub code: bool,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub dest: String,
    pub image: bool,
    pub line: usize,
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub struct Paragraph {
    pub text: String,
    pub line: usize,
    pub offset: usize,
}

/// Everything the rules look at, in document order within each list.
#[derive(Debug, Clone)]
pub struct Outline {
    pub headings: Vec<Heading>,
    pub tables: Vec<Table>,
    pub code_blocks: Vec<CodeBlock>,
    pub paragraphs: Vec<Paragraph>,
    pub inlines: Vec<Inline>,
    pub links: Vec<Link>,
    /// Byte ranges of YAML front matter, code blocks and HTML comments: places where template
    /// text may legitimately be quoted.
    pub verbatim: Vec<Range<usize>>,
    pub lines: LineIndex,
    pub len: usize,
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Parser options: GitHub-flavoured tables and strikethrough, YAML front matter skipped.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
}

impl Outline {
    /// Parse `text`, whose first byte is on line `first_line`.
    pub fn parse(text: &str, first_line: usize) -> Self {
        let lines = LineIndex::new(text, first_line);
        let mut out = Outline {
            headings: Vec::new(),
            tables: Vec::new(),
            code_blocks: Vec::new(),
            paragraphs: Vec::new(),
            inlines: Vec::new(),
            links: Vec::new(),
            verbatim: Vec::new(),
            lines,
            len: text.len(),
        };

        // What the current text belongs to.
        let mut heading: Option<(u8, String, usize)> = None;
        let mut table: Option<Table> = None;
        let mut cell: Option<String> = None;
        let mut row: Option<Row> = None;
        let mut code: Option<(String, String, Range<usize>)> = None;
        let mut para: Option<(String, usize)> = None;
        // Block quotes and list items open: a heading inside one is part of it, not a section
        // of the document.
        let mut nested = 0usize;
        // Inside an HTML comment that spans several lines (one event per line).
        let mut in_comment = false;

        for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
            let line = out.lines.line(range.start);
            let is_code = matches!(event, Event::Code(_));
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    heading = Some((level_number(level), String::new(), range.start));
                }
                Event::Start(Tag::BlockQuote(_) | Tag::Item) => nested += 1,
                Event::End(TagEnd::BlockQuote(_) | TagEnd::Item) => {
                    nested = nested.saturating_sub(1);
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some((level, text, offset)) = heading.take()
                        && nested == 0
                    {
                        out.headings.push(Heading {
                            level,
                            text: text.trim().to_string(),
                            line: out.lines.line(offset),
                            offset,
                        });
                    }
                }
                Event::Start(Tag::Table(_)) => {
                    table = Some(Table {
                        header: Vec::new(),
                        rows: Vec::new(),
                        line,
                        offset: range.start,
                    });
                }
                Event::End(TagEnd::Table) => {
                    if let Some(t) = table.take() {
                        out.tables.push(t);
                    }
                }
                Event::Start(Tag::TableRow) => {
                    row = Some(Row {
                        cells: Vec::new(),
                        line,
                        piped: text[range.clone()].contains('|'),
                    })
                }
                Event::End(TagEnd::TableRow) => {
                    if let (Some(r), Some(t)) = (row.take(), table.as_mut()) {
                        t.rows.push(r);
                    }
                }
                Event::Start(Tag::TableCell) => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) => {
                    let text = cell.take().unwrap_or_default().trim().to_string();
                    match (row.as_mut(), table.as_mut()) {
                        (Some(r), _) => r.cells.push(text),
                        (None, Some(t)) => t.header.push(text),
                        (None, None) => {}
                    }
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let info = match kind {
                        CodeBlockKind::Fenced(info) => info.to_string(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    // A start event's range spans the whole element, fences included.
                    code = Some((info, String::new(), range.clone()));
                    out.verbatim.push(range.clone());
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((info, body, whole)) = code.take() {
                        out.code_blocks.push(CodeBlock {
                            info,
                            text: body,
                            line: out.lines.line(whole.start),
                            range: whole,
                        });
                    }
                }
                Event::Start(Tag::MetadataBlock(_)) => out.verbatim.push(range.clone()),
                Event::Start(Tag::Paragraph) => para = Some((String::new(), range.start)),
                Event::End(TagEnd::Paragraph) => {
                    if let Some((text, offset)) = para.take() {
                        out.paragraphs.push(Paragraph {
                            text: text.trim().to_string(),
                            line: out.lines.line(offset),
                            offset,
                        });
                    }
                }
                Event::Start(Tag::Link { dest_url, .. }) => out.links.push(Link {
                    dest: dest_url.to_string(),
                    image: false,
                    line,
                    offset: range.start,
                }),
                Event::Start(Tag::Image { dest_url, .. }) => out.links.push(Link {
                    dest: dest_url.to_string(),
                    image: true,
                    line,
                    offset: range.start,
                }),
                Event::Html(html) | Event::InlineHtml(html) => {
                    // A comment, whole or a line of it, is not shown: verbatim, not content.
                    if in_comment || html.trim_start().starts_with("<!--") {
                        out.verbatim.push(range.clone());
                        in_comment = !html.contains("-->");
                    }
                    // Raw HTML can carry links too (`<img src=...>`): keep its text for URL rules.
                    out.inlines.push(Inline {
                        text: html.to_string(),
                        line,
                        offset: range.start,
                        code: false,
                    });
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some((_, body, _)) = code.as_mut() {
                        body.push_str(&t);
                        continue;
                    }
                    for acc in [
                        heading.as_mut().map(|h| &mut h.1),
                        cell.as_mut(),
                        para.as_mut().map(|p| &mut p.0),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        acc.push_str(&t);
                    }
                    out.inlines.push(Inline {
                        text: t.to_string(),
                        line,
                        offset: range.start,
                        code: is_code,
                    });
                }
                Event::SoftBreak | Event::HardBreak => {
                    for acc in [
                        heading.as_mut().map(|h| &mut h.1),
                        cell.as_mut(),
                        para.as_mut().map(|p| &mut p.0),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        acc.push(' ');
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The index of the heading whose section contains `offset` (the last heading of at most
    /// `max_level` that starts before it).
    pub fn section_of(&self, offset: usize, max_level: u8) -> Option<usize> {
        self.headings
            .iter()
            .enumerate()
            .rev()
            .find(|(_, h)| h.level <= max_level && h.offset <= offset)
            .map(|(i, _)| i)
    }

    /// Byte range of the section opened by heading `idx`: up to the next heading of the same
    /// or a higher level.
    pub fn section_range(&self, idx: usize) -> Range<usize> {
        let h = &self.headings[idx];
        let end = self.headings[idx + 1..]
            .iter()
            .find(|n| n.level <= h.level)
            .map_or(self.len, |n| n.offset);
        h.offset..end
    }

    /// Whether `offset` falls in front matter, a code block or an HTML comment.
    pub fn is_verbatim(&self, offset: usize) -> bool {
        self.verbatim.iter().any(|r| r.contains(&offset))
    }

    /// Byte range of the first section titled `title`, compared as the checker compares
    /// section titles (case and trailing punctuation aside).
    pub fn section_titled(&self, title: &str) -> Option<Range<usize>> {
        let key = crate::skill::contract::normalize_title(title);
        let idx = self
            .headings
            .iter()
            .position(|h| crate::skill::contract::normalize_title(&h.text) == key)?;
        Some(self.section_range(idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_finds_headings_tables_links_with_lines() {
        let md = "# Title\n\nSome `code` and [a link](x/y.md).\n\n## Table\n\n| A | B |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\n```sh\necho hi\n```\n";
        let o = Outline::parse(md, 1);
        let heads: Vec<_> = o
            .headings
            .iter()
            .map(|h| (h.level, h.text.as_str(), h.line))
            .collect();
        assert_eq!(heads, vec![(1, "Title", 1), (2, "Table", 5)]);
        assert_eq!(o.tables.len(), 1);
        assert_eq!(o.tables[0].header, vec!["A", "B"]);
        let rows: Vec<_> = o.tables[0]
            .rows
            .iter()
            .map(|r| (r.cells.clone(), r.line))
            .collect();
        assert_eq!(
            rows,
            vec![
                (vec!["1".to_string(), "2".to_string()], 9),
                (vec!["3".to_string(), "4".to_string()], 10)
            ]
        );
        assert_eq!(o.links[0].dest, "x/y.md");
        assert_eq!(o.links[0].line, 3);
        assert_eq!(o.code_blocks[0].text, "echo hi\n");
        assert_eq!(o.code_blocks[0].info, "sh");
        assert!(o.inlines.iter().any(|i| i.code && i.text == "code"));
        assert_eq!(o.paragraphs[0].text, "Some code and a link.");
        assert!(o.is_verbatim(o.code_blocks[0].range.start + 3));
        assert_eq!(o.section_of(o.tables[0].offset, 2), Some(1));
    }

    #[test]
    fn line_index_respects_first_line() {
        let idx = LineIndex::new("a\nb\nc", 10);
        assert_eq!(idx.line(0), 10);
        assert_eq!(idx.line(2), 11);
        assert_eq!(idx.line(4), 12);
    }
}
