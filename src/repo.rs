//! Facts about a git repository that the checker needs: who wrote it (for the blameless
//! rule), which commits, paths and tags exist (for the specific rule), and its own forge URL
//! (the one outside host a document may link to).
//!
//! Git is read in-process with gix, opened isolated from system and user configuration: no
//! hook, filter or other repo-local program ever runs.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gix::ObjectId;

/// Why a repository could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// `reason` is a clause that goes after the path: what is wrong and what to do.
    #[error("{}: {reason}", path.display())]
    NotARepo { path: PathBuf, reason: String },
    #[error("{}: cannot read git history: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
}

/// A person from the history: an author or committer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// The repository's own web home, from `remote.origin.url`: `https://host/owner/repo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forge {
    pub host: String,
    /// `owner/repo`, without `.git`.
    pub path: String,
}

impl Forge {
    /// Parse `https://host/owner/repo(.git)`, `ssh://git@host/owner/repo` or
    /// `git@host:owner/repo(.git)`.
    pub fn from_remote(url: &str) -> Option<Forge> {
        let url = url.trim();
        let (host, path) = if let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .or_else(|| url.strip_prefix("ssh://"))
            .or_else(|| url.strip_prefix("git://"))
        {
            let (host, path) = rest.split_once('/')?;
            (host.rsplit('@').next()?.to_string(), path.to_string())
        } else {
            let (user_host, path) = url.split_once(':')?;
            if user_host.contains('/') {
                return None;
            }
            (user_host.rsplit('@').next()?.to_string(), path.to_string())
        };
        let host = host.split(':').next()?.to_lowercase();
        let path = path.trim_matches('/').trim_end_matches(".git").to_string();
        (!host.is_empty() && !path.is_empty()).then_some(Forge { host, path })
    }

    /// Whether `url` points into this repository on its forge.
    pub fn owns(&self, url: &str) -> bool {
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            return false;
        };
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !host.eq_ignore_ascii_case(&self.host) {
            return false;
        }
        let path = path.trim_end_matches(".git");
        path == self.path
            || path
                .strip_prefix(&self.path)
                .is_some_and(|r| r.starts_with(['/', '#', '?']))
    }
}

/// What a cited object id resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(ObjectId),
    Missing,
    Ambiguous,
}

/// An open repository and what has been read of it.
pub struct RepoFacts {
    repo: gix::Repository,
    root: PathBuf,
    people: Vec<Person>,
    /// Every commit reachable from HEAD, sorted, so a short sha resolves by binary search
    /// instead of a scan of the object database.
    commits: Vec<ObjectId>,
    forge: Option<Forge>,
    /// The pull request and issue numbers (`#1234`) the history's messages name: squash
    /// merges carry `(#1234)`, merges "Merge pull request #1234", fixes "Fixes #1200".
    numbers: HashSet<u64>,
    /// Every file and folder of HEAD's tree, read on first use.
    head_paths: OnceLock<HashSet<String>>,
}

impl std::fmt::Debug for RepoFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoFacts")
            .field("root", &self.root)
            .finish()
    }
}

/// Decoded objects kept in memory per repository handle (16 MiB): repeated tree lookups of
/// the same commits cost a hash probe instead of an inflate.
const OBJECT_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Open a repository without system or user configuration.
pub fn open(dir: &Path) -> Result<gix::Repository, RepoError> {
    gix::open_opts(dir, gix::open::Options::isolated()).map_err(|e| RepoError::NotARepo {
        path: dir.to_path_buf(),
        reason: NotARepo::explain(dir, &e).to_string(),
    })
}

/// What to do about a partial clone, said where a missing object stops a trace or a tool.
pub const PARTIAL_CLONE_HINT: &str = "this is a partial clone (`git clone --filter`): git fetches the objects it left out when it needs them, and skillrun, which reads only the objects present, cannot; clone the repository again without `--filter`";

/// Whether `repo` is a partial clone: a remote is a promisor of objects left out at clone time.
pub fn is_partial_clone(repo: &gix::Repository) -> bool {
    let config = repo.config_snapshot();
    config.string("extensions.partialClone").is_some()
        || repo
            .remote_names()
            .iter()
            .any(|name| config.boolean(format!("remote.{name}.promisor").as_str()) == Some(true))
}

/// Why a folder could not be opened as a repository. Displayed as a clause to put after
/// its path, saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotARepo {
    /// The repository names objects with SHA-256, which gix (and so skillrun) does not read.
    Sha256,
    /// No `.git` here, but a folder above has one: the user meant that folder.
    Inside(PathBuf),
    /// git's own reason, with its causes.
    Other(String),
}

impl NotARepo {
    /// Explain why opening `dir` failed with `err`.
    pub fn explain(dir: &Path, err: &(dyn std::error::Error + 'static)) -> NotARepo {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if uses_sha256(&dir) {
            return NotARepo::Sha256;
        }
        if !dir.join(".git").exists()
            && !dir.join("HEAD").is_file()
            && let Some(top) = dir.ancestors().skip(1).find(|a| a.join(".git").exists())
        {
            return NotARepo::Inside(top.to_path_buf());
        }
        // gix's top-level message ("Repository configuration could not be loaded") hides
        // its cause; say each distinct one.
        let mut parts: Vec<String> = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = next {
            let text = e.to_string();
            if !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
            next = e.source();
        }
        NotARepo::Other(parts.join(": "))
    }

    /// A git repository is there but cannot be used as given: a document written or a
    /// history read from this folder would not be what the user meant.
    pub fn is_misdirected(&self) -> bool {
        !matches!(self, NotARepo::Other(_))
    }
}

impl std::fmt::Display for NotARepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotARepo::Sha256 => f.write_str(
                "uses git's SHA-256 object format, which skillrun cannot read yet (SHA-1, git's default, works)",
            ),
            NotARepo::Inside(top) => write!(
                f,
                "not the top of a git repository but inside {0}; pass --repo {0}",
                top.display()
            ),
            NotARepo::Other(reason) => write!(
                f,
                "not a git repository ({reason}); pass --repo with the folder holding .git"
            ),
        }
    }
}

/// Whether the repository at `dir` (work tree or bare) says `objectformat = sha256`.
fn uses_sha256(dir: &Path) -> bool {
    [dir.join(".git").join("config"), dir.join("config")]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| {
            text.lines().any(|line| {
                let line = line.trim().to_ascii_lowercase();
                let mut kv = line.splitn(2, '=');
                kv.next().is_some_and(|k| k.trim() == "objectformat")
                    && kv
                        .next()
                        .is_some_and(|v| v.trim().trim_matches('"') == "sha256")
            })
        })
}

impl RepoFacts {
    /// Open `dir` and read its people and forge. An empty repository has neither.
    pub fn open(dir: &Path) -> Result<RepoFacts, RepoError> {
        let mut repo = open(dir)?;
        repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        let read_err = |e: &dyn std::fmt::Display| RepoError::Read {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let mut people = BTreeSet::new();
        let mut commits = Vec::new();
        let mut numbers = HashSet::new();
        // A person's name as `.mailmap` gives it is their name too: a document that names
        // them so is not blameless either.
        let mailmap = repo.open_mailmap();
        if let Ok(head) = repo.head_id() {
            let walk = repo
                .rev_walk([head.detach()])
                .all()
                .map_err(|e| read_err(&e))?;
            for info in walk {
                let info = info.map_err(|e| read_err(&e))?;
                commits.push(info.id);
                let commit = info.object().map_err(|e| read_err(&e))?;
                if let Ok(message) = commit.message_raw() {
                    numbers.extend(hash_numbers(message));
                }
                for sig in [commit.author(), commit.committer()].into_iter().flatten() {
                    people.insert(Person {
                        name: sig.name.to_string(),
                        email: sig.email.to_string(),
                    });
                    if let Some(mapped) = mailmap.try_resolve(sig) {
                        people.insert(Person {
                            name: mapped.name.to_string(),
                            email: mapped.email.to_string(),
                        });
                    }
                }
            }
        }
        let forge = repo
            .config_snapshot()
            .string("remote.origin.url")
            .and_then(|u| Forge::from_remote(&u.to_string()));
        let root = repo
            .workdir()
            .map_or_else(|| repo.git_dir().to_path_buf(), Path::to_path_buf);
        commits.sort_unstable();
        Ok(RepoFacts {
            repo,
            root,
            people: people.into_iter().collect(),
            commits,
            forge,
            numbers,
            head_paths: OnceLock::new(),
        })
    }

    /// Everyone who authored or committed a commit reachable from HEAD.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    pub fn forge(&self) -> Option<&Forge> {
        self.forge.as_ref()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolve a hex object id or unique prefix (4 to 40 digits).
    pub fn lookup(&self, hex: &str) -> Lookup {
        let Ok(prefix) = gix::hash::Prefix::from_hex(hex) else {
            return Lookup::Missing;
        };
        let start = self
            .commits
            .partition_point(|id| prefix.cmp_oid(id).is_gt());
        let mut hits = self.commits[start..]
            .iter()
            .take_while(|id| prefix.cmp_oid(id).is_eq());
        match (hits.next(), hits.next()) {
            (Some(id), None) => return Lookup::Found(*id),
            (Some(_), Some(_)) => return Lookup::Ambiguous,
            (None, _) => {}
        }
        // Not a commit of HEAD's history: perhaps another object, or a commit on no branch.
        match self.repo.objects.lookup_prefix(prefix, None) {
            Ok(Some(Ok(id))) => Lookup::Found(id),
            Ok(Some(Err(()))) => Lookup::Ambiguous,
            _ => Lookup::Missing,
        }
    }

    /// Whether a commit message of the history names pull request or issue `#n`.
    pub fn names_number(&self, n: u64) -> bool {
        self.numbers.contains(&n)
    }

    /// Whether `refs/tags/<name>` exists.
    pub fn tag_exists(&self, name: &str) -> bool {
        self.repo
            .try_find_reference(format!("refs/tags/{name}").as_str())
            .ok()
            .flatten()
            .is_some()
    }

    fn head_paths(&self) -> &HashSet<String> {
        self.head_paths.get_or_init(|| {
            let Ok(tree) = self.repo.head_tree() else {
                return HashSet::new();
            };
            tree.traverse()
                .breadthfirst
                .files()
                .map(|entries| {
                    entries
                        .into_iter()
                        .map(|e| e.filepath.to_string())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Whether `path` (relative) is a file or folder in HEAD, or in one of `commits` or
    /// their first parents (a fix may delete or rename what it cites).
    pub fn path_exists(&self, path: &str, commits: &[ObjectId]) -> bool {
        let path = path.trim_matches('/');
        if path.is_empty() || path.split('/').any(|c| c == "..") {
            return false;
        }
        let in_tree = |id: ObjectId| -> bool {
            let Ok(commit) = self.repo.find_commit(id) else {
                return false;
            };
            let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).take(1).collect();
            std::iter::once(id).chain(parents).any(|c| {
                self.repo
                    .find_commit(c)
                    .ok()
                    .and_then(|c| c.tree().ok())
                    .and_then(|t| t.lookup_entry_by_path(path).ok().flatten())
                    .is_some()
            })
        };
        if self.head_paths().contains(path) {
            return true;
        }
        commits.iter().any(|c| in_tree(*c))
    }
}

/// The numbers written `#1234` in `text` (not `&#1234;` nor `x#1`): pull requests and issues.
pub fn hash_numbers(text: &[u8]) -> impl Iterator<Item = u64> + '_ {
    hash_number_spans(text).map(|(_, n)| n)
}

/// [`hash_numbers`], each with the byte offset of its `#`.
pub fn hash_number_spans(text: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
    text.iter().enumerate().filter_map(move |(i, &b)| {
        if b != b'#' || i > 0 && (text[i - 1].is_ascii_alphanumeric() || text[i - 1] == b'&') {
            return None;
        }
        let digits = text[i + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        let after = text.get(i + 1 + digits);
        if digits == 0 || digits > 9 || after.is_some_and(|a| a.is_ascii_alphabetic() || *a == b'_')
        {
            return None;
        }
        let n = std::str::from_utf8(&text[i + 1..i + 1 + digits])
            .ok()?
            .parse()
            .ok()?;
        Some((i, n))
    })
}
