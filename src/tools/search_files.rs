//! `search_files`: a regular expression over the work tree or a revision.

use std::io;

use globset::GlobMatcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{
    Ctx, MAX_FILE_BYTES, MAX_SEARCH_MATCHES, RepoTool, ToolError, ToolOutput, resolve_commit,
};

pub struct SearchFiles;

/// Arguments of `search_files`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Regular expression to search for (Rust regex syntax).
    pub pattern: String,
    /// Only files whose path matches this glob (for example `src/**/*.rs`).
    pub glob: Option<String>,
    /// Search the files of this revision instead of the work tree.
    pub rev: Option<String>,
    /// Matches to return at most (default and maximum 200).
    pub limit: Option<usize>,
}

/// Characters of a matching line shown at most.
const MAX_LINE_CHARS: usize = 300;
/// Files too large to search named in the result at most.
const TOO_LARGE_NAMED: usize = 5;
/// Bytes looked at to decide whether a blob is binary (as git does).
pub(super) const BINARY_PEEK_BYTES: usize = 8 * 1024;

/// One matching line.
struct Match {
    path: String,
    line: u64,
    text: String,
}

impl RepoTool for SearchFiles {
    type Params = Params;
    const NAME: &'static str = "search_files";
    const DESCRIPTION: &'static str = "Search file contents with a regular expression: path:line:text per match. Searches the work tree (respecting .gitignore, skipping hidden and binary files) or the files of a revision.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        let limit = match p.limit {
            Some(0) => {
                return Err(ToolError::InvalidArguments {
                    tool: Self::NAME.into(),
                    message: format!(
                        "field `limit`: must be at least 1 (at most {MAX_SEARCH_MATCHES})"
                    ),
                });
            }
            Some(n) => n.min(MAX_SEARCH_MATCHES),
            None => MAX_SEARCH_MATCHES,
        };
        let matcher = build_matcher(&p.pattern)?;
        let glob = p.glob.as_deref().map(PathGlob::new).transpose()?;
        let mut searcher = SearcherBuilder::new()
            .line_number(true)
            // With the matcher's CRLF mode: a line ends at `\n` or `\r\n`.
            .line_terminator(grep_matcher::LineTerminator::crlf())
            .binary_detection(BinaryDetection::quit(b'\x00'))
            .build();
        let mut found = Found {
            matches: Vec::new(),
            files_searched: 0,
            // One more than the limit tells whether the limit cut the result.
            want: limit + 1,
            too_large: Vec::new(),
        };
        let commit = if p.rev.is_none() && ctx.sandbox.has_worktree() {
            search_worktree(ctx, &matcher, &mut searcher, glob.as_ref(), &mut found)?;
            None
        } else {
            Some(search_rev(
                ctx,
                p.rev.as_deref(),
                &matcher,
                &mut searcher,
                glob.as_ref(),
                &mut found,
            )?)
        };
        let mut matches = found.matches;
        matches.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
        let truncated = matches.len() > limit;
        matches.truncate(limit);
        let files_with_matches = {
            let mut n = 0;
            let mut last: Option<&str> = None;
            for m in &matches {
                if last != Some(m.path.as_str()) {
                    n += 1;
                    last = Some(m.path.as_str());
                }
            }
            n
        };
        let mut text = String::with_capacity(matches.len() * 80 + 64);
        for m in &matches {
            text.push_str(&m.path);
            text.push(':');
            text.push_str(&m.line.to_string());
            text.push(':');
            text.push_str(&m.text);
            text.push('\n');
        }
        let noun = |n: usize, one: &str, many: &str| {
            if n == 1 {
                one.to_string()
            } else {
                many.to_string()
            }
        };
        text.push_str(&format!(
            "{} {} in {} {}",
            matches.len(),
            noun(matches.len(), "match", "matches"),
            files_with_matches,
            noun(files_with_matches, "file", "files")
        ));
        if truncated {
            text.push_str(" (limit reached: narrow the pattern or glob)");
        } else if matches.is_empty() {
            text.push_str(&format!(" ({} files searched)", found.files_searched));
        }
        text.push('\n');
        if !found.too_large.is_empty() {
            let n = found.too_large.len();
            let shown: Vec<&str> = found
                .too_large
                .iter()
                .take(TOO_LARGE_NAMED)
                .map(String::as_str)
                .collect();
            let more = if n > TOO_LARGE_NAMED {
                format!(" and {} more", n - TOO_LARGE_NAMED)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "Not searched, over {} MiB: {}{more}.\n",
                MAX_FILE_BYTES >> 20,
                shown.join(", ")
            ));
        }
        let data = json!({
            "matches": matches
                .iter()
                .map(|m| json!({"path": m.path, "line": m.line, "text": m.text}))
                .collect::<Vec<_>>(),
            "files_searched": found.files_searched,
            "truncated": truncated,
            "not_searched_too_large": found.too_large,
        });
        let out = ToolOutput::new(text, data);
        Ok(match commit {
            Some(sha) => out.at(sha),
            None => out,
        })
    }
}

/// Compile `pattern` for line-oriented search; an invalid one gives the regex crate's
/// message on one line.
fn build_matcher(pattern: &str) -> Result<RegexMatcher, ToolError> {
    RegexMatcherBuilder::new()
        .line_terminator(Some(b'\n'))
        // `$` matches before a CRLF line ending too, as in files written on Windows.
        .crlf(true)
        .build(pattern)
        .map_err(|grep_err| {
            let message = match regex::Regex::new(pattern) {
                Err(e) => one_line_regex_error(&e.to_string()),
                Ok(_) => one_line_regex_error(&grep_err.to_string()),
            };
            ToolError::Regex {
                message: format!("{message}; fix the pattern (Rust regex syntax; escape literal metacharacters with `\\`)"),
            }
        })
}

/// `regex parse error:\n    (abc\n    ^\nerror: unclosed group` → `unclosed group in `(abc``.
pub(super) fn one_line_regex_error(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(err) = lines.iter().rev().find_map(|l| l.strip_prefix("error: ")) {
        let snippet = lines
            .get(1)
            .filter(|s| !s.starts_with('^') && !s.starts_with("error:"));
        match snippet {
            Some(s) if lines.len() >= 3 => format!("{err} (in `{s}`)"),
            _ => err.to_string(),
        }
    } else {
        lines.join(" ")
    }
}

/// A glob over `/`-separated repository paths; `*` does not cross `/`. A glob without `/`
/// (`*.rs`) also matches a file's name in any folder, as in `.gitignore`.
pub(super) struct PathGlob {
    full: GlobMatcher,
    name_only: bool,
}

impl PathGlob {
    pub(super) fn new(glob: &str) -> Result<PathGlob, ToolError> {
        let g = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|e| ToolError::InvalidArguments {
                tool: SearchFiles::NAME.into(),
                message: format!(
                    "field `glob`: {}; give a glob like `src/**/*.rs` or `*.md`",
                    e.kind()
                ),
            })?;
        Ok(PathGlob {
            full: g.compile_matcher(),
            name_only: !glob.contains('/'),
        })
    }

    pub(super) fn is_match(&self, path: &str) -> bool {
        if self.full.is_match(path) {
            return true;
        }
        self.name_only
            && path
                .rsplit('/')
                .next()
                .is_some_and(|name| self.full.is_match(name))
    }
}

struct Found {
    matches: Vec<Match>,
    files_searched: usize,
    want: usize,
    /// Files over [`MAX_FILE_BYTES`] that the glob takes in: not searched, and said so.
    too_large: Vec<String>,
}

impl Found {
    fn full(&self) -> bool {
        self.matches.len() >= self.want
    }
}

/// Collects the matches of one file.
struct Collect<'a> {
    path: &'a str,
    found: &'a mut Found,
}

impl Sink for Collect<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, io::Error> {
        self.found.matches.push(Match {
            path: self.path.to_string(),
            line: m.line_number().unwrap_or(0),
            text: trim_line(m.bytes()),
        });
        Ok(!self.found.full())
    }
}

/// A matching line for display: without its line ending, cut to [`MAX_LINE_CHARS`].
fn trim_line(bytes: &[u8]) -> String {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let text = String::from_utf8_lossy(&bytes[..end]);
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

fn search_one(
    searcher: &mut Searcher,
    matcher: &RegexMatcher,
    path: &str,
    found: &mut Found,
    run: impl FnOnce(&mut Searcher, &RegexMatcher, &mut Collect<'_>) -> Result<(), io::Error>,
) {
    found.files_searched += 1;
    let mut sink = Collect { path, found };
    // An unreadable file (permissions, vanished meanwhile) is skipped like a binary one.
    let _ = run(searcher, matcher, &mut sink);
}

fn search_worktree(
    ctx: &Ctx<'_>,
    matcher: &RegexMatcher,
    searcher: &mut Searcher,
    glob: Option<&PathGlob>,
    found: &mut Found,
) -> Result<(), ToolError> {
    let root = ctx.sandbox.root();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        ctx.check_deadline()?;
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy();
        if rel.split('/').any(|c| c.eq_ignore_ascii_case(".git")) {
            continue;
        }
        if glob.is_some_and(|g| !g.is_match(&rel)) {
            continue;
        }
        if entry.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
            found.too_large.push(rel.into_owned());
            continue;
        }
        search_one(searcher, matcher, &rel, found, |s, m, sink| {
            s.search_path(m, entry.path(), sink)
        });
        if found.full() {
            break;
        }
    }
    Ok(())
}

fn search_rev(
    ctx: &Ctx<'_>,
    rev: Option<&str>,
    matcher: &RegexMatcher,
    searcher: &mut Searcher,
    glob: Option<&PathGlob>,
    found: &mut Found,
) -> Result<String, ToolError> {
    let repo = ctx.sandbox.repo()?;
    let commit = resolve_commit(&repo, rev)?;
    let sha = commit.id.to_string();
    let tree = commit
        .tree()
        .map_err(|e| ToolError::git("reading the commit's tree", e))?;
    let mut files = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| ToolError::git("walking the tree", e))?;
    files.retain(|e| e.mode.is_blob());
    files.sort_by(|a, b| a.filepath.cmp(&b.filepath));
    for entry in &files {
        ctx.check_deadline()?;
        let path = entry.filepath.to_string();
        if glob.is_some_and(|g| !g.is_match(&path)) {
            continue;
        }
        let Ok(header) = repo.find_header(entry.oid) else {
            continue;
        };
        if header.size() > MAX_FILE_BYTES {
            found.too_large.push(path);
            continue;
        }
        let Ok(blob) = repo.find_object(entry.oid) else {
            continue;
        };
        let data = &blob.data;
        if is_binary(data) {
            continue;
        }
        search_one(searcher, matcher, &path, found, |s, m, sink| {
            s.search_slice(m, data, sink)
        });
        if found.full() {
            break;
        }
    }
    Ok(sha)
}

/// Whether bytes look binary: a NUL byte among the first 8 KiB, as git decides.
pub(super) fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PEEK_BYTES)].contains(&0)
}
