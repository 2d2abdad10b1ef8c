//! An object reader for history walks that keeps every delta base it resolves.
//!
//! Packs store most trees (and many blobs) as deltas against another version of the same
//! object, in chains up to 50 deep; `git fast-import` and `git gc` both write them. Reading
//! one object means inflating its base and applying every delta above it. gix's pack cache
//! keeps only the object asked for, so a walk from new to old, which reads each next object
//! from lower in the same chain, resolves that chain again and again: on a 100,000-commit
//! history with trees at an average depth of 25, a path-filtered log inflated about 25 deltas
//! per tree. git keeps each base it passes on the way up (its delta base cache); this reader
//! does the same, so walking a chain in either direction resolves each delta once.
//!
//! Objects outside the repository's own packs (loose objects, alternates, a pack written after
//! opening) and anything unusual in a pack (a base named by id, a corrupt offset) are read
//! through gix as before, so errors are gix's.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use gix::odb::pack;
use gix::odb::pack::data::entry::Header;

/// Bytes of resolved objects kept at most (git's `core.deltaBaseCacheLimit` default is
/// 96 MiB).
pub const BASE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Deltas followed down one chain at most before leaving the read to gix; git writes chains
/// of at most 50 by default and 4,095 at most.
const MAX_CHAIN: usize = 10_000;

/// Objects larger than this are left to gix, which applies its own allocation limits.
const MAX_OBJECT_BYTES: usize = 1 << 30;

/// Commits whose walk facts are remembered at most (about 100 bytes each); past it the
/// memo starts again empty.
const MAX_MEMO_COMMITS: usize = 500_000;

/// Trees whose looked-up entries are remembered at most.
const MAX_MEMO_TREES: usize = 500_000;

/// Rename sources remembered at most.
const MAX_MEMO_RENAMES: usize = 100_000;

/// (old tree, new tree, path in the new one).
type RenameKey = (gix::ObjectId, gix::ObjectId, Box<[u8]>);

/// Line diffs remembered at most (a few hunks each, for the file versions a trace passes).
const MAX_MEMO_DIFFS: usize = 200_000;

/// The hunks of a line diff: (lines before, lines after), 0-based ranges.
pub type Hunks = std::rc::Rc<[(std::ops::Range<u32>, std::ops::Range<u32>)]>;

/// What a history walk needs of a commit: its root tree, parents and committer time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFacts {
    pub tree: gix::ObjectId,
    pub parents: Vec<gix::ObjectId>,
    pub time: i64,
}

/// Entries looked up in one tree: (name, its id or `None` when absent).
type TreeEntries = Vec<(Box<[u8]>, Option<gix::ObjectId>)>;

/// Answers a reader has already worked out, for the walks that share it: one trace runs a
/// blame per file and per looked-through line, each walking the same history.
#[derive(Default)]
struct Memo {
    commits: HashMap<gix::ObjectId, CommitFacts>,
    entries: HashMap<gix::ObjectId, TreeEntries>,
    renames: HashMap<RenameKey, Option<Vec<u8>>>,
    diffs: HashMap<(gix::ObjectId, gix::ObjectId), Hunks>,
}

/// Resolved objects by (pack, data offset), evicted oldest first once over the byte limit.
struct BaseCache {
    entries: HashMap<(usize, u64), (gix::objs::Kind, Vec<u8>, usize)>,
    order: VecDeque<(usize, u64)>,
    bytes: usize,
    limit: usize,
}

impl BaseCache {
    fn new(limit: usize) -> Self {
        BaseCache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    fn contains(&self, key: (usize, u64)) -> bool {
        self.entries.contains_key(&key)
    }

    fn insert(&mut self, key: (usize, u64), kind: gix::objs::Kind, data: &[u8], packed: usize) {
        if data.len() > self.limit / 4 || self.entries.contains_key(&key) {
            return;
        }
        while self.bytes + data.len() > self.limit {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, d, _)) = self.entries.remove(&old) {
                self.bytes -= d.len();
            }
        }
        self.bytes += data.len();
        self.order.push_back(key);
        self.entries.insert(key, (kind, data.to_vec(), packed));
    }
}

/// The cache as gix's pack decoder sees it, for one pack.
struct PackCache<'c> {
    cache: &'c mut BaseCache,
    pack: usize,
}

impl pack::cache::DecodeEntry for PackCache<'_> {
    fn put(&mut self, _: u32, offset: u64, data: &[u8], kind: gix::objs::Kind, packed: usize) {
        self.cache.insert((self.pack, offset), kind, data, packed);
    }

    fn get(&mut self, _: u32, offset: u64, out: &mut Vec<u8>) -> Option<(gix::objs::Kind, usize)> {
        let (kind, data, packed) = self.cache.entries.get(&(self.pack, offset))?;
        out.clear();
        out.extend_from_slice(data);
        Some((*kind, *packed))
    }
}

struct State {
    cache: BaseCache,
    inflate: gix::zlib::Inflate,
    /// Entries of the chain being resolved, from the object asked for down.
    chain: Vec<pack::data::Entry>,
    scratch: Vec<u8>,
}

/// Reads objects of one repository, resolving packed deltas with a cache of every base.
/// Implements [`gix::objs::Find`], so it stands in for `repo.objects` in gix's diff and
/// blame functions. Not shared between threads: open one per walk.
pub struct ObjectReader<'r> {
    repo: &'r gix::Repository,
    packs: Vec<pack::Bundle>,
    /// Index in `packs` of the last object found.
    last_pack: Cell<usize>,
    state: RefCell<State>,
    /// Only for readers shared by many walks: see [`ObjectReader::remembering`].
    memo: Option<RefCell<Memo>>,
    /// Buffer of [`ObjectReader::tree_entry`].
    tree_buf: RefCell<Vec<u8>>,
}

impl<'r> ObjectReader<'r> {
    /// Opens the packs in the repository's object folder. A pack that cannot be opened is
    /// left to gix.
    pub fn new(repo: &'r gix::Repository) -> Self {
        Self::with_cache_bytes(repo, BASE_CACHE_BYTES)
    }

    /// As [`ObjectReader::new`], keeping at most `bytes` of resolved objects.
    pub fn with_cache_bytes(repo: &'r gix::Repository, bytes: usize) -> Self {
        let mut idx: Vec<_> = std::fs::read_dir(repo.objects.store_ref().path().join("pack"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .collect();
        idx.sort();
        let packs = idx
            .iter()
            .filter_map(|p| pack::Bundle::at(p, repo.object_hash()).ok())
            .collect();
        ObjectReader {
            repo,
            packs,
            last_pack: Cell::new(0),
            state: RefCell::new(State {
                cache: BaseCache::new(bytes),
                inflate: gix::zlib::Inflate::default(),
                chain: Vec::new(),
                scratch: Vec::new(),
            }),
            memo: None,
            tree_buf: RefCell::new(Vec::new()),
        }
    }

    /// This reader, remembering the commits and tree entries its walks work out, for a
    /// caller that walks the same history many times (a trace blames several files and
    /// lines). One walk gains nothing from it and pays for the bookkeeping.
    pub fn remembering(mut self) -> Self {
        self.memo = Some(RefCell::new(Memo::default()));
        self
    }

    /// Whether this reader remembers what its walks work out ([`ObjectReader::remembering`]).
    pub fn remembers(&self) -> bool {
        self.memo.is_some()
    }

    /// The walk facts of commit `id`, decoded once per reader: from the memo, else by
    /// `decode` (which reads the commit) and then remembered.
    pub fn commit_facts<E>(
        &self,
        id: gix::ObjectId,
        decode: impl FnOnce() -> Result<CommitFacts, E>,
    ) -> Result<CommitFacts, E> {
        self.remembered(|m| &mut m.commits, MAX_MEMO_COMMITS, id, decode)
    }

    /// The path in tree `old` that `path` of tree `new` was renamed from, found once per
    /// reader: from the memo, else by `detect` and then remembered. A trace asks it again
    /// for each line it follows through the same commit.
    pub fn rename_source<E>(
        &self,
        old: gix::ObjectId,
        new: gix::ObjectId,
        path: &[u8],
        detect: impl FnOnce() -> Result<Option<Vec<u8>>, E>,
    ) -> Result<Option<Vec<u8>>, E> {
        let key = (old, new, Box::from(path));
        self.remembered(|m| &mut m.renames, MAX_MEMO_RENAMES, key, detect)
    }

    /// The hunks of the line diff from blob `old` to blob `new`, computed once per reader:
    /// from the memo, else by `diff` and then remembered.
    pub fn line_hunks<E>(
        &self,
        old: gix::ObjectId,
        new: gix::ObjectId,
        diff: impl FnOnce() -> Result<Vec<(std::ops::Range<u32>, std::ops::Range<u32>)>, E>,
    ) -> Result<Hunks, E> {
        let diff = || diff().map(Hunks::from);
        self.remembered(|m| &mut m.diffs, MAX_MEMO_DIFFS, (old, new), diff)
    }

    /// The answer for `key` in the memo's `table`, else `compute`'s, then remembered (the
    /// table starts again empty past `limit` entries). Without a memo, `compute`'s alone.
    fn remembered<K, V, E>(
        &self,
        table: impl Fn(&mut Memo) -> &mut HashMap<K, V>,
        limit: usize,
        key: K,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        K: std::hash::Hash + Eq,
        V: Clone,
    {
        let Some(memo) = &self.memo else {
            return compute();
        };
        if let Some(v) = table(&mut memo.borrow_mut()).get(&key) {
            return Ok(v.clone());
        }
        // Not borrowed while computing: `compute` may read through this reader.
        let v = compute()?;
        let mut memo = memo.borrow_mut();
        let table = table(&mut memo);
        if table.len() >= limit {
            table.clear();
        }
        table.insert(key, v.clone());
        Ok(v)
    }

    /// The id of the entry `name` in tree `tree` (`None`: no such entry, or `tree` is not a
    /// tree), looked up once per reader.
    pub fn tree_entry(
        &self,
        tree: gix::ObjectId,
        name: &[u8],
    ) -> gix::Result<Option<gix::ObjectId>> {
        if let Some(memo) = &self.memo
            && let Some(known) = memo.borrow().entries.get(&tree)
            && let Some((_, id)) = known.iter().find(|(n, _)| &**n == name)
        {
            return Ok(*id);
        }
        let mut buf = self.tree_buf.borrow_mut();
        let found = match gix::prelude::FindExt::find_tree_iter(self, &tree, &mut buf) {
            Ok(iter) => {
                let mut found = None;
                for e in iter {
                    let e = e?;
                    let file: &[u8] = e.filename.as_ref();
                    if file == name {
                        found = Some(e.oid.to_owned());
                        break;
                    }
                    // Entries are sorted by name, a folder's as if it ended in `/`: past
                    // `name/`, neither the file nor the folder `name` can come.
                    if sorts_past(file, e.mode.is_tree(), name) {
                        break;
                    }
                }
                found
            }
            // Not a tree: a path through a file, so the entry is absent.
            Err(_) => None,
        };
        drop(buf);
        let Some(memo) = &self.memo else {
            return Ok(found);
        };
        let mut memo = memo.borrow_mut();
        if memo.entries.len() >= MAX_MEMO_TREES {
            memo.entries.clear();
        }
        memo.entries
            .entry(tree)
            .or_default()
            .push((name.into(), found));
        Ok(found)
    }

    /// Reads `id` from the packs opened; `None` when it is not in them or the pack holds
    /// something this reader leaves to gix.
    fn read_packed(
        &self,
        id: &gix::oid,
        out: &mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Kind>> {
        // The pack of the last hit first: a walk reads from one pack at a time.
        let last = self.last_pack.get();
        let order = std::iter::once(last).chain((0..self.packs.len()).filter(|&n| n != last));
        let Some((n, offset)) = order
            .filter_map(|n| self.packs.get(n).map(|b| (n, b)))
            .find_map(|(n, b)| {
                b.index
                    .lookup(id)
                    .map(|i| (n, b.index.pack_offset_at_index(i)))
            })
        else {
            return Ok(None);
        };
        self.last_pack.set(n);
        let bundle = &self.packs[n];
        let pack = &bundle.pack;
        let state = &mut *self.state.borrow_mut();
        let State {
            cache,
            inflate,
            chain,
            scratch,
        } = state;
        chain.clear();
        // Down the chain to the first object already resolved, or to the full base.
        let mut entry = pack.entry(offset)?;
        loop {
            if cache.contains((n, entry.data_offset)) {
                break;
            }
            match entry.header {
                Header::OfsDelta { base_distance } => {
                    let Some(base) = entry.checked_base_pack_offset(base_distance) else {
                        return Ok(None);
                    };
                    if chain.len() >= MAX_CHAIN {
                        return Ok(None);
                    }
                    chain.push(entry);
                    entry = pack.entry(base)?;
                }
                Header::RefDelta { .. } => return Ok(None),
                Header::Commit | Header::Tree | Header::Blob | Header::Tag => {
                    let Some(kind) = entry.header.as_kind() else {
                        return Ok(None);
                    };
                    let size = usize::try_from(entry.decompressed_size).unwrap_or(usize::MAX);
                    if size > MAX_OBJECT_BYTES {
                        return Ok(None);
                    }
                    scratch.clear();
                    scratch.resize(size, 0);
                    let packed = pack.decompress_entry(&entry, inflate, scratch)?;
                    if chain.is_empty() {
                        out.clear();
                        out.extend_from_slice(scratch);
                        return Ok(Some(kind));
                    }
                    cache.insert((n, entry.data_offset), kind, scratch, packed);
                    break;
                }
            }
        }
        // Up again, each delta applied to the base below it (found in the cache) and kept.
        let no_ref_bases =
            |_: &gix::oid,
             _: &mut Vec<u8>|
             -> gix::Result<Option<pack::data::decode::entry::ResolvedBase>> {
                Ok(None)
            };
        let mut kind = None;
        while let Some(e) = chain.pop() {
            let outcome = pack.decode_entry(
                e,
                out,
                inflate,
                &no_ref_bases,
                &mut PackCache { cache, pack: n },
            )?;
            kind = Some(outcome.kind);
        }
        match kind {
            Some(kind) => Ok(Some(kind)),
            // The object asked for was itself in the cache.
            None => {
                let (kind, data, _) = &cache.entries[&(n, entry.data_offset)];
                out.clear();
                out.extend_from_slice(data);
                Ok(Some(*kind))
            }
        }
    }
}

/// The rename detection blame uses, in gix-blame here and in `git_blame`'s own walk, so
/// both pair the same files: gix's defaults (git's `diff.renames`: 50% similarity, no
/// copies).
pub fn blame_rewrites() -> gix::diff::Rewrites {
    gix::diff::Rewrites::default()
}

impl ObjectReader<'_> {
    /// `Repository::blame_file`, reading through this reader: gix-blame following renames
    /// (as `git blame` does) with `algorithm`, or the repository's `diff.algorithm`.
    pub fn blame_file(
        &self,
        path: &gix::bstr::BStr,
        suspect: gix::ObjectId,
        ranges: gix::blame::BlameRanges,
        algorithm: Option<gix::diff::blob::Algorithm>,
    ) -> gix::Result<gix::blame::Outcome> {
        let diff_algorithm = match algorithm {
            Some(a) => a,
            None => self.repo.diff_algorithm()?,
        };
        let options = gix::blame::Options {
            diff_algorithm,
            ranges,
            since: None,
            rewrites: Some(blame_rewrites()),
            debug_track_path: false,
        };
        let mut resources = self.repo.diff_resource_cache_for_tree_diff()?;
        gix::blame::file(
            self,
            gix::blame::Start::Commit(suspect),
            self.repo.commit_graph_if_enabled()?,
            &mut resources,
            path,
            options,
        )
    }
}

impl ObjectReader<'_> {
    /// [`ObjectReader::blame_file`] of the 0-based `lines` (ascending) of `path` at
    /// `suspect`; no lines blames the whole file.
    pub fn blame_lines(
        &self,
        path: &gix::bstr::BStr,
        suspect: gix::ObjectId,
        lines: &[u32],
        algorithm: Option<gix::diff::blob::Algorithm>,
    ) -> gix::Result<gix::blame::Outcome> {
        let mut ranges: Vec<std::ops::RangeInclusive<u32>> = Vec::new();
        for &line in lines {
            let one = line + 1;
            match ranges.last_mut() {
                Some(r) if *r.end() + 1 == one => *r = *r.start()..=one,
                _ => ranges.push(one..=one),
            }
        }
        let ranges = gix::blame::BlameRanges::from_one_based_inclusive_ranges(ranges)?;
        self.blame_file(path, suspect, ranges, algorithm)
    }
}

impl gix::objs::Find for ObjectReader<'_> {
    fn try_find<'a>(
        &self,
        id: &gix::oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'a>>> {
        match self.read_packed(id, buffer) {
            Ok(Some(kind)) => Ok(Some(gix::objs::Data::new(buffer, kind, id.kind()))),
            // Not in the packs opened, or left to gix: gix reads it and reports any error.
            Ok(None) | Err(_) => self.repo.objects.try_find(id, buffer),
        }
    }
}

impl gix::objs::FindHeader for ObjectReader<'_> {
    fn try_header(&self, id: &gix::oid) -> gix::Result<Option<gix::objs::Header>> {
        self.repo.objects.try_header(id)
    }
}

impl std::fmt::Debug for ObjectReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("packs", &self.packs.len())
            .finish_non_exhaustive()
    }
}

/// Whether a tree entry (`file`, a folder when `is_tree`) sorts after every entry that
/// could be named `name`: git orders entries by name, a folder's as if it ended in `/`.
fn sorts_past(file: &[u8], is_tree: bool, name: &[u8]) -> bool {
    let suffix: &[u8] = if is_tree { b"/" } else { b"" };
    file.iter().chain(suffix).cmp(name.iter().chain(b"/")) == std::cmp::Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::sorts_past;

    #[test]
    fn a_tree_scan_stops_only_past_both_places_a_name_can_sort() {
        // In git's order: `a.c` < `a/` (the folder `a`) < `a0` < `ab/` < `b`.
        let entries: &[(&[u8], bool)] = &[
            (b"a.c", false),
            (b"a", true),
            (b"a0", false),
            (b"ab", true),
            (b"b", false),
        ];
        let scan = |name: &[u8]| {
            for (i, (file, tree)) in entries.iter().enumerate() {
                if *file == name {
                    return Some(i);
                }
                if sorts_past(file, *tree, name) {
                    return None;
                }
            }
            None
        };
        for (i, (file, _)) in entries.iter().enumerate() {
            assert_eq!(scan(file), Some(i), "{}", String::from_utf8_lossy(file));
        }
        for absent in [&b"a-"[..], b"aa", b"a/", b"c", b"", b"a.c.orig"] {
            assert_eq!(scan(absent), None);
        }
        // `a.c` sorts before the folder `a/`, so a scan for `a` goes on past it.
        assert!(!sorts_past(b"a.c", false, b"a"));
        assert!(sorts_past(b"a0", false, b"a"));
    }
}
