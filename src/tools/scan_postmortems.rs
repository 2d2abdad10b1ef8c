//! `scan_postmortems`: the repository's postmortem folders and what each document covers.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, MAX_FILE_BYTES, RepoTool, Sandbox, ToolError, ToolOutput};

pub struct ScanPostmortems;

/// Arguments of `scan_postmortems`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Describe an incident (words, a sha, a file) to rank the documents that may already
    /// cover it; a shared cited commit counts most.
    pub query: Option<String>,
}

/// Folders checked by name: where postmortem-style documents usually live. The agent
/// writes new documents into the first of these that exists (after the skill's own).
pub const KNOWN_FOLDERS: &[&str] = &[
    "docs/postmortems",
    "postmortems",
    "docs/post-mortems",
    "post-mortems",
    "docs/incidents",
    "incidents",
    "docs/postmortem",
    "doc/postmortems",
];
/// Depth of the walk for other folders named like postmortems.
const NAMED_FOLDER_DEPTH: usize = 3;
/// Folder levels below a postmortem folder searched for documents.
const DOC_DEPTH: usize = 3;
/// Documents read at most.
const MAX_DOCS: usize = 300;
/// Without a postmortem folder: how deep markdown files are looked at for postmortems, and
/// how many of them are read at most.
const CONTENT_SEARCH_DEPTH: usize = 4;
const MAX_CONTENT_SEARCH: usize = 2_000;
/// Candidate shas checked per document at most.
const MAX_SHAS_PER_DOC: usize = 50;
/// Points for a cited commit shared with the query, for a cited file the query names, and
/// at most for word overlap.
const COMMIT_POINTS: f64 = 10.0;
const FILE_POINTS: f64 = 3.0;
const WORD_POINTS: f64 = 5.0;

const STOPWORDS: &[&str] = &[
    "about",
    "after",
    "again",
    "also",
    "been",
    "before",
    "being",
    "between",
    "both",
    "could",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "from",
    "further",
    "have",
    "having",
    "here",
    "into",
    "just",
    "more",
    "most",
    "once",
    "only",
    "other",
    "over",
    "same",
    "should",
    "some",
    "such",
    "than",
    "that",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "under",
    "until",
    "very",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "will",
    "with",
    "would",
    "your",
    "incident",
    "postmortem",
    "issue",
    "problem",
];

/// Whether a markdown document reads as a postmortem: its title says so ("Postmortem",
/// "Post-mortem", "Incident report", "Outage", "Retrospective", "Root cause analysis"), or
/// it has a root-cause section beside a timeline or an impact section.
fn reads_as_postmortem(text: &str) -> bool {
    let (front, body) = split_front_matter(text);
    let front_title = front.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("title")
            .then(|| v.to_lowercase())
    });
    let mut titles: Vec<String> = front_title.into_iter().collect();
    let mut sections: Vec<String> = Vec::new();
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in Parser::new(body) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h)) = current.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => match current.take() {
                Some((HeadingLevel::H1, h)) => titles.push(h.to_lowercase()),
                Some((_, h)) => sections.push(h.to_lowercase()),
                None => {}
            },
            _ => {}
        }
    }
    let has =
        |list: &[String], words: &[&str]| list.iter().any(|h| words.iter().any(|w| h.contains(w)));
    has(
        &titles,
        &[
            "postmortem",
            "post-mortem",
            "post mortem",
            "incident report",
            "incident review",
            "incident analysis",
            "outage",
            "retrospective",
            "root cause analysis",
        ],
    ) || has(&sections, &["root cause"]) && has(&sections, &["timeline", "impact"])
}

fn is_folder_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("postmortem")
        || n.contains("post-mortem")
        || n.contains("post_mortem")
        || n.contains("incident")
}

/// Where documents are read from: the work tree, or a commit's tree (bare repositories).
enum Source<'r> {
    Worktree(&'r Sandbox),
    Tree(gix::Tree<'r>),
}

impl Source<'_> {
    fn is_dir(&self, rel: &str) -> bool {
        match self {
            Source::Worktree(sb) => {
                let Ok(rp) = sb.resolve(rel) else {
                    return false;
                };
                let Ok(real) = sb.root().join(rp.as_str()).canonicalize() else {
                    return false;
                };
                sb.confine(&rp, &real).is_ok() && real.is_dir()
            }
            Source::Tree(t) => {
                matches!(t.lookup_entry_by_path(rel), Ok(Some(e)) if e.mode().is_tree())
            }
        }
    }

    fn exists(&self, rel: &str) -> bool {
        match self {
            Source::Worktree(sb) => sb.resolve(rel).is_ok_and(|rp| {
                !rp.as_str().is_empty() && sb.root().join(rp.as_str()).symlink_metadata().is_ok()
            }),
            Source::Tree(t) => matches!(t.lookup_entry_by_path(rel), Ok(Some(_))),
        }
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        match self {
            Source::Worktree(sb) => {
                let rp = sb.resolve(rel).ok()?;
                let real = sb.worktree_file(&rp).ok()?;
                if std::fs::metadata(&real).ok()?.len() > MAX_FILE_BYTES {
                    return None;
                }
                std::fs::read(real).ok()
            }
            Source::Tree(t) => {
                let e = t.lookup_entry_by_path(rel).ok()??;
                if !e.mode().is_blob() {
                    return None;
                }
                let obj = e.object().ok()?;
                (obj.data.len() as u64 <= MAX_FILE_BYTES).then(|| obj.detach().data)
            }
        }
    }

    /// Entries under `folder` (`""` for the root) down to `depth` levels: (path, is_dir).
    /// Hidden entries are skipped; `.gitignore` is respected in the work tree.
    fn walk(
        &self,
        ctx: &Ctx<'_>,
        folder: &str,
        depth: usize,
    ) -> Result<Vec<(String, bool)>, ToolError> {
        let mut out = Vec::new();
        match self {
            Source::Worktree(sb) => {
                let root = sb.root();
                let start = if folder.is_empty() {
                    root.to_path_buf()
                } else {
                    root.join(folder)
                };
                let walker = ignore::WalkBuilder::new(&start)
                    .max_depth(Some(depth))
                    .hidden(true)
                    .parents(false)
                    .git_global(false)
                    .require_git(false)
                    .follow_links(false)
                    .sort_by_file_name(|a, b| a.cmp(b))
                    .build();
                for entry in walker.skip(1) {
                    ctx.check_deadline()?;
                    let Ok(entry) = entry else { continue };
                    let Some(ft) = entry.file_type() else {
                        continue;
                    };
                    if !(ft.is_dir() || ft.is_file()) {
                        continue;
                    }
                    let Ok(rel) = entry.path().strip_prefix(root) else {
                        continue;
                    };
                    out.push((rel.to_string_lossy().into_owned(), ft.is_dir()));
                    if out.len() > 20_000 {
                        break;
                    }
                }
            }
            Source::Tree(t) => {
                let start = if folder.is_empty() {
                    t.clone()
                } else {
                    match t.lookup_entry_by_path(folder) {
                        Ok(Some(e)) if e.mode().is_tree() => match e.object() {
                            Ok(o) => o.into_tree(),
                            Err(_) => return Ok(out),
                        },
                        _ => return Ok(out),
                    }
                };
                walk_tree(ctx, &start, folder, depth, &mut out)?;
            }
        }
        Ok(out)
    }
}

fn walk_tree(
    ctx: &Ctx<'_>,
    tree: &gix::Tree<'_>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, bool)>,
) -> Result<(), ToolError> {
    if depth == 0 {
        return Ok(());
    }
    ctx.check_deadline()?;
    let mut entries: Vec<(String, bool, gix::ObjectId)> = tree
        .iter()
        .filter_map(Result::ok)
        .filter(|e| !e.filename().starts_with(b"."))
        .map(|e| (e.filename().to_string(), e.mode().is_tree(), e.object_id()))
        .collect();
    entries.sort();
    for (name, is_dir, id) in entries {
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        out.push((path.clone(), is_dir));
        if is_dir
            && depth > 1
            && let Ok(obj) = tree.repo.find_object(id)
        {
            walk_tree(ctx, &obj.into_tree(), &path, depth - 1, out)?;
        }
    }
    Ok(())
}

struct Doc {
    path: String,
    title: String,
    date: Option<String>,
    commits: Vec<String>,
    /// The commits cited in the title and the first section (a Summary), which say what
    /// the document is about; the others may be cited in passing.
    summary_commits: Vec<String>,
    /// Pull requests and issues cited (`#1234`, or a link to one on the forge), and whether
    /// the title or the first section cites each.
    numbers: Vec<(u64, bool)>,
    files: Vec<String>,
    words: HashSet<String>,
    score: f64,
    reasons: Vec<String>,
}

struct Patterns {
    hex: Regex,
    date: Regex,
    url: Regex,
    change: Regex,
}

impl RepoTool for ScanPostmortems {
    type Params = Params;
    const NAME: &'static str = "scan_postmortems";
    const DESCRIPTION: &'static str = "Find the postmortem folders (docs/postmortems/, postmortems/, docs/post-mortems/, incidents/, ...) and list each document with its title, date, and the commits and files it cites. With query, rank the ones that may cover the same incident.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        let pats = Patterns {
            hex: Regex::new(r"(?i)\b[0-9a-f]{7,40}\b").map_err(|e| ToolError::git("pattern", e))?,
            date: Regex::new(r"\b(\d{4}-\d{2}-\d{2})\b")
                .map_err(|e| ToolError::git("pattern", e))?,
            url: Regex::new(r"https?://[^\s<>()\[\]`'\x22|]+")
                .map_err(|e| ToolError::git("pattern", e))?,
            change: Regex::new(
                r"/(?:pull|pulls|issues|merge_requests|pull-requests)/(\d{1,9})(?:[/#?]|$)",
            )
            .map_err(|e| ToolError::git("pattern", e))?,
        };
        let repo = ctx.sandbox.repo().ok();
        let mut head_sha = None;
        let source = if ctx.sandbox.has_worktree() {
            Source::Worktree(ctx.sandbox)
        } else {
            let repo = repo.as_ref().ok_or_else(|| ToolError::Repository {
                message: "the repository could not be opened".into(),
            })?;
            let commit = super::resolve_commit(repo, None)?;
            head_sha = Some(commit.id.to_string());
            Source::Tree(
                commit
                    .tree()
                    .map_err(|e| ToolError::git("reading HEAD's tree", e))?,
            )
        };
        // HEAD's tree, to count a cited file deleted from the work tree as existing.
        let head_tree = match (&source, &repo) {
            (Source::Worktree(_), Some(r)) => r
                .head_commit()
                .ok()
                .and_then(|c| c.tree().ok())
                .map(Source::Tree),
            _ => None,
        };

        let mut folders: Vec<String> = KNOWN_FOLDERS
            .iter()
            .filter(|f| source.is_dir(f))
            .map(|f| f.to_string())
            .collect();
        for (path, is_dir) in source.walk(ctx, "", NAMED_FOLDER_DEPTH)? {
            let name = path.rsplit('/').next().unwrap_or(&path);
            if is_dir && is_folder_name(name) && !folders.contains(&path) {
                folders.push(path);
            }
        }
        folders.sort();
        // A folder inside another found folder adds no documents of its own.
        let tops: Vec<String> = folders
            .iter()
            .filter(|f| {
                !folders
                    .iter()
                    .any(|o| o != *f && f.starts_with(&format!("{o}/")))
            })
            .cloned()
            .collect();

        let mut doc_paths = BTreeSet::new();
        for folder in &tops {
            for (path, is_dir) in source.walk(ctx, folder, DOC_DEPTH)? {
                let name = path.rsplit('/').next().unwrap_or(&path);
                if !is_dir && is_document_name(name) {
                    doc_paths.insert(path);
                }
            }
        }
        // No folder named for them: a repository may keep its postmortems elsewhere (a
        // collection of reports, `reports/2021/`, `ops/`). Markdown files that read as
        // postmortems are documents, and their folders the postmortem folders.
        if tops.is_empty() {
            let mut read = 0;
            for (path, is_dir) in source.walk(ctx, "", CONTENT_SEARCH_DEPTH)? {
                let name = path.rsplit('/').next().unwrap_or(&path);
                if is_dir || !is_document_name(name) || read >= MAX_CONTENT_SEARCH {
                    continue;
                }
                read += 1;
                let Some(bytes) = source.read(&path) else {
                    continue;
                };
                if reads_as_postmortem(&String::from_utf8_lossy(&bytes)) {
                    let folder = path.rsplit_once('/').map_or(".", |(f, _)| f).to_string();
                    if !folders.contains(&folder) {
                        folders.push(folder);
                    }
                    doc_paths.insert(path);
                }
            }
            folders.sort();
        }

        let forge = repo.as_ref().and_then(|r| {
            r.config_snapshot()
                .string("remote.origin.url")
                .and_then(|u| crate::repo::Forge::from_remote(&u.to_string()))
        });
        let mut docs = Vec::new();
        for path in doc_paths.into_iter().take(MAX_DOCS) {
            ctx.check_deadline()?;
            let Some(bytes) = source.read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            docs.push(read_doc(
                &path,
                &text,
                &pats,
                forge.as_ref(),
                repo.as_ref(),
                &source,
                head_tree.as_ref(),
            ));
        }

        // A pull request or issue a document cites stands for the commits that made it.
        if let Some(r) = repo.as_ref()
            && docs.iter().any(|d| !d.numbers.is_empty())
        {
            let made = change_commits(ctx, r)?;
            for d in &mut docs {
                for (n, in_summary) in d.numbers.clone() {
                    for c in made.get(&n).into_iter().flatten() {
                        if in_summary && !d.summary_commits.contains(c) {
                            d.summary_commits.push(c.clone());
                        }
                        if !d.commits.contains(c) {
                            d.commits.push(c.clone());
                        }
                    }
                }
            }
        }

        let query = p.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = query {
            rank(&mut docs, q, &pats, repo.as_ref());
        }

        let out = render(&folders, &docs, query.is_some());
        Ok(match head_sha {
            Some(sha) => out.at(sha),
            None => out,
        })
    }
}

fn read_doc(
    path: &str,
    text: &str,
    pats: &Patterns,
    forge: Option<&crate::repo::Forge>,
    repo: Option<&gix::Repository>,
    source: &Source<'_>,
    head_tree: Option<&Source<'_>>,
) -> Doc {
    let (front, body) = split_front_matter(text);
    let front_value = |key: &str| -> Option<String> {
        front.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim().eq_ignore_ascii_case(key))
                .then(|| v.trim().trim_matches(['"', '\'']).to_string())
                .filter(|v| !v.is_empty())
        })
    };

    let mut title: Option<String> = None;
    let mut in_h1 = false;
    let mut h1 = String::new();
    let mut candidates: Vec<String> = Vec::new();
    for event in Parser::new(body) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) if title.is_none() => {
                in_h1 = true;
                h1.clear();
            }
            Event::End(TagEnd::Heading(HeadingLevel::H1)) if in_h1 => {
                in_h1 = false;
                title = Some(h1.trim().to_string());
            }
            Event::Text(t) if in_h1 => h1.push_str(&t),
            Event::Code(c) => {
                if in_h1 {
                    h1.push_str(&c);
                }
                candidates.push(c.to_string());
            }
            Event::Start(Tag::Link { dest_url, .. }) => candidates.push(dest_url.to_string()),
            _ => {}
        }
    }
    let title = title
        .filter(|t| !t.is_empty())
        .or_else(|| front_value("title"))
        .unwrap_or_else(|| {
            Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string())
        });

    let date = front_value("date")
        .map(|d| {
            pats.date
                .captures(&d)
                .and_then(|c| c.get(1))
                .map_or(d.clone(), |m| m.as_str().to_string())
        })
        .or_else(|| {
            let name = path.rsplit('/').next().unwrap_or(path);
            pats.date
                .captures(name)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .or_else(|| {
            let head: String = body.lines().take(20).collect::<Vec<_>>().join("\n");
            pats.date
                .captures(&head)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        });

    // Cited commits, and which of them the title or the first section cites.
    let mut commits: Vec<String> = Vec::new();
    let mut summary_commits: Vec<String> = Vec::new();
    let summary_end = text
        .match_indices("\n## ")
        .nth(1)
        .map_or(text.len(), |(i, _)| i);
    let mut seen = HashSet::new();
    for m in pats.hex.find_iter(text) {
        let token = m.as_str().to_ascii_lowercase();
        if !is_sha_like(&token) || !seen.insert(token.clone()) {
            continue;
        }
        if seen.len() > MAX_SHAS_PER_DOC {
            break;
        }
        let resolved = match repo {
            Some(r) => resolve_commit_token(r, &token),
            None => Some(token),
        };
        if let Some(full) = resolved
            && !commits.contains(&full)
        {
            if m.start() < summary_end {
                summary_commits.push(full.clone());
            }
            commits.push(full);
        }
    }

    // Cited pull requests and issues.
    let mut numbers: Vec<(u64, bool)> = Vec::new();
    let linked = pats.url.find_iter(text).filter_map(|m| {
        let url = m.as_str();
        let n = pats.change.captures(url)?.get(1)?.as_str().parse().ok()?;
        forge.is_some_and(|f| f.owns(url)).then_some((m.start(), n))
    });
    for (at, n) in crate::repo::hash_number_spans(text.as_bytes()).chain(linked) {
        let in_summary = at < summary_end;
        if let Some(e) = numbers.iter_mut().find(|(m, _)| *m == n) {
            e.1 |= in_summary;
        } else if numbers.len() < MAX_SHAS_PER_DOC {
            numbers.push((n, in_summary));
        }
    }

    // Cited files.
    let doc_dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut files: Vec<String> = Vec::new();
    for cand in candidates {
        for rel in file_candidates(doc_dir, &cand) {
            if files.contains(&rel) {
                break;
            }
            if source.exists(&rel) || head_tree.is_some_and(|t| t.exists(&rel)) {
                files.push(rel);
                break;
            }
        }
    }

    let mut words = words_of(&title);
    words.extend(words_of(body));
    Doc {
        path: path.to_string(),
        title,
        date,
        commits,
        summary_commits,
        numbers,
        files,
        words,
        score: 0.0,
        reasons: Vec::new(),
    }
}

/// Commits walked at most to find the pull requests and issues of the history.
const MAX_CHANGE_SCAN: usize = 200_000;

/// Commits walked between two looks at the call's deadline.
const DEADLINE_EVERY: usize = 4096;

/// What each pull request or issue number of the history stands for: the squash merge whose
/// subject ends `(#1234)`, the commits a merge "Merge pull request #1234" brought in, and
/// the commits whose message says it fixes, closes or resolves `#1234`.
fn change_commits(
    ctx: &Ctx<'_>,
    repo: &gix::Repository,
) -> Result<std::collections::HashMap<u64, Vec<String>>, ToolError> {
    let mut out: std::collections::HashMap<u64, Vec<String>> = std::collections::HashMap::new();
    let Ok(head) = repo.head_id() else {
        return Ok(out);
    };
    let walk = repo
        .rev_walk([head.detach()])
        .all()
        .map_err(|e| ToolError::git("walking the history", e))?;
    let mut add = |n: u64, id: String| {
        let e = out.entry(n).or_default();
        if !e.contains(&id) {
            e.push(id);
        }
    };
    for (i, info) in walk.take(MAX_CHANGE_SCAN).enumerate() {
        if i % DEADLINE_EVERY == 0 {
            ctx.check_deadline()?;
        }
        let Ok(info) = info else { break };
        let Ok(commit) = info.object() else { continue };
        let Ok(message) = commit.message_raw() else {
            continue;
        };
        let message = message.to_string();
        let subject = message.lines().next().unwrap_or("").trim_end();
        if let Some(n) = subject
            .strip_suffix(')')
            .and_then(|s| s.rsplit_once("(#"))
            .and_then(|(_, n)| n.parse().ok())
        {
            add(n, info.id.to_string());
        }
        if let Some(n) = subject
            .strip_prefix("Merge pull request #")
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
        {
            for c in crate::trace::branch_commits(repo, info.id).unwrap_or_default() {
                add(n, c.to_string());
            }
        }
        let lower = message.to_lowercase();
        for (at, n) in crate::repo::hash_number_spans(lower.as_bytes()) {
            let before = lower[..at].trim_end().trim_end_matches(':');
            if [
                "fixes", "fixed", "fix", "closes", "closed", "close", "resolves", "resolved",
                "resolve",
            ]
            .iter()
            .any(|w| before.ends_with(w))
            {
                add(n, info.id.to_string());
            }
        }
    }
    Ok(out)
}

/// Front matter (between `---` lines at the top) and the rest.
fn split_front_matter(text: &str) -> (&str, &str) {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    else {
        return ("", t);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let l = line.trim_end();
        if l == "---" || l == "..." {
            return (&rest[..offset], &rest[offset + line.len()..]);
        }
        offset += line.len();
    }
    ("", t)
}

fn is_sha_like(token: &str) -> bool {
    (7..=40).contains(&token.len())
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic())
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The full sha of the commit `token` names, when it names one.
fn resolve_commit_token(repo: &gix::Repository, token: &str) -> Option<String> {
    let id = repo.rev_parse_single(token).ok()?;
    let obj = id.object().ok()?;
    (obj.kind == gix::object::Kind::Commit).then(|| id.to_string())
}

/// Repository paths a cited `candidate` (inline code or link target) may mean, best first.
fn file_candidates(doc_dir: &str, candidate: &str) -> Vec<String> {
    let c = candidate.trim();
    if c.is_empty()
        || c.contains("://")
        || c.starts_with('#')
        || c.starts_with("mailto:")
        || c.contains(char::is_whitespace)
    {
        return Vec::new();
    }
    let c = c.split(['#', '?']).next().unwrap_or(c);
    // `src/a.rs:42` or `src/a.rs:42-50` cites lines of a file.
    let c = match c.rsplit_once(':') {
        Some((head, tail))
            if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit() || b == b'-') =>
        {
            head
        }
        _ => c,
    };
    if !c.contains('/') {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(abs) = c.strip_prefix('/') {
        out.extend(normalise("", abs));
    } else if c.starts_with("./") || c.starts_with("../") {
        out.extend(normalise(doc_dir, c));
    } else {
        out.extend(normalise("", c));
        out.extend(normalise(doc_dir, c));
    }
    out.retain(|p| !p.is_empty());
    out
}

fn normalise(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn words_of(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()) && !is_sha_like(w))
        .collect()
}

fn rank(docs: &mut [Doc], query: &str, pats: &Patterns, repo: Option<&gix::Repository>) {
    let mut shas: Vec<String> = Vec::new();
    for m in pats.hex.find_iter(query) {
        let token = m.as_str().to_ascii_lowercase();
        let full = repo.and_then(|r| resolve_commit_token(r, &token));
        if let Some(full) = full {
            shas.push(full);
        } else if is_sha_like(&token) {
            shas.push(token);
        }
    }
    let qwords = words_of(query);
    for doc in docs.iter_mut() {
        let mut score = 0.0;
        let mut reasons = Vec::new();
        for c in &doc.commits {
            if shas
                .iter()
                .any(|q| c.starts_with(q.as_str()) || q.starts_with(c.as_str()))
            {
                score += COMMIT_POINTS;
                reasons.push(format!(
                    "cites commit {} (+{COMMIT_POINTS})",
                    &c[..c.len().min(12)]
                ));
            }
        }
        for f in &doc.files {
            let name = f.rsplit('/').next().unwrap_or(f);
            if query.contains(f.as_str()) || (name.contains('.') && query.contains(name)) {
                score += FILE_POINTS;
                reasons.push(format!("cites {f} (+{FILE_POINTS})"));
            }
        }
        if !qwords.is_empty() {
            let mut shared: Vec<&String> =
                qwords.iter().filter(|w| doc.words.contains(*w)).collect();
            if !shared.is_empty() {
                shared.sort();
                let points = WORD_POINTS * shared.len() as f64 / qwords.len() as f64;
                let points = (points * 100.0).round() / 100.0;
                score += points;
                let list: Vec<&str> = shared.iter().take(8).map(|s| s.as_str()).collect();
                reasons.push(format!(
                    "shares {} of {} query words: {} (+{points})",
                    shared.len(),
                    qwords.len(),
                    list.join(", ")
                ));
            }
        }
        doc.score = (score * 100.0_f64).round() / 100.0;
        doc.reasons = reasons;
    }
    docs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.path.cmp(&b.path))
    });
}

fn render(folders: &[String], docs: &[Doc], ranked: bool) -> ToolOutput {
    let mut text = String::new();
    if folders.is_empty() {
        let checked: Vec<String> = KNOWN_FOLDERS.iter().map(|f| format!("{f}/")).collect();
        text.push_str(&format!(
            "No postmortem folder found. Checked: {}; folders up to {NAMED_FOLDER_DEPTH} levels deep whose name contains `postmortem`, `post-mortem` or `incident`; and markdown files up to {CONTENT_SEARCH_DEPTH} levels deep for one that reads as a postmortem.\n",
            checked.join(", ")
        ));
        let data = json!({"folders": [], "documents": [], "checked": checked});
        return ToolOutput::new(text, data);
    }
    let shown: Vec<String> = folders.iter().map(|f| format!("{f}/")).collect();
    text.push_str(&format!("postmortem folders: {}\n", shown.join(", ")));
    if docs.is_empty() {
        text.push_str("no markdown documents in them\n");
    } else {
        text.push_str(&format!("{} documents\n", docs.len()));
    }
    let mut documents: Vec<Value> = Vec::new();
    for d in docs {
        text.push('\n');
        text.push_str(&format!(
            "{} — {} ({})\n",
            d.path,
            d.title,
            d.date.as_deref().unwrap_or("no date")
        ));
        let mut cites = Vec::new();
        if !d.commits.is_empty() {
            let short: Vec<&str> = d.commits.iter().map(|c| &c[..c.len().min(12)]).collect();
            cites.push(format!("commits {}", short.join(", ")));
        }
        if !d.numbers.is_empty() {
            let n: Vec<String> = d.numbers.iter().map(|(n, _)| format!("#{n}")).collect();
            cites.push(format!("pull requests or issues {}", n.join(", ")));
        }
        if !d.files.is_empty() {
            cites.push(format!("files {}", d.files.join(", ")));
        }
        if cites.is_empty() {
            text.push_str("  cites: nothing found in the repository\n");
        } else {
            text.push_str(&format!("  cites: {}\n", cites.join("; ")));
        }
        let mut v = json!({
            "path": d.path,
            "title": d.title,
            "date": d.date,
            "commits": d.commits,
            "summary_commits": d.summary_commits,
            "numbers": d.numbers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "files": d.files,
        });
        if ranked {
            if d.reasons.is_empty() {
                text.push_str("  score: 0 (nothing in common with the query)\n");
            } else {
                text.push_str(&format!(
                    "  score: {} because {}\n",
                    d.score,
                    d.reasons.join("; ")
                ));
            }
            if let Some(obj) = v.as_object_mut() {
                obj.insert("score".into(), json!(d.score));
                obj.insert("reasons".into(), json!(d.reasons));
            }
        }
        documents.push(v);
    }
    ToolOutput::new(text, json!({"folders": folders, "documents": documents}))
}

/// Whether a file in a documents folder is a document: markdown, and not the folder's
/// README or a template.
pub fn is_document_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    (name.ends_with(".md") || name.ends_with(".markdown"))
        && name != "readme.md"
        && !name.contains("template")
}
