//! Changed-path Bloom filters of git's commit-graph, read in-process.
//!
//! `git commit-graph write --changed-paths` stores, for every commit, a Bloom filter of the
//! paths that differ between the commit and its first parent (files and every leading
//! folder). git uses it to skip the tree diffs of commits that cannot have touched a path.
//! No crate reads these chunks (gix-commitgraph 0.42 reads OIDF/OIDL/CDAT/EDGE only), so
//! this module parses them itself, following git's `Documentation/gitformat-commit-graph.txt`
//! (chunks `OIDF`, `OIDL`, `BIDX`, `BDAT`) and `bloom.c` (murmur3 keys, hash versions 1
//! and 2). Both a single `objects/info/commit-graph` file and a split chain
//! (`objects/info/commit-graphs/commit-graph-chain` and its `graph-*.graph` layers) are read.
//!
//! Only the chunks needed are read, once, into memory. Anything malformed or unknown makes
//! the graph (or the layer, or the commit's filter) unavailable, never an error: callers then
//! fall back to reading trees.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Layers of a split commit-graph read at most.
pub const MAX_CHAIN_LAYERS: usize = 512;
/// Largest chunk read into memory (1 GiB).
pub const MAX_CHUNK_BYTES: u64 = 1 << 30;
/// Chunks a commit-graph file may list.
const MAX_CHUNKS: u32 = 64;
/// Bytes of the file header.
const HEADER_BYTES: u64 = 8;
/// Bytes of one chunk-table row: a 4-byte id and an 8-byte offset.
const CHUNK_ROW_BYTES: u64 = 12;
/// Bytes of a SHA-1 object id, the only hash this module reads.
const SHA1_BYTES: usize = 20;
/// Bytes of the `BDAT` header: hash version, number of hashes, bits per entry.
const BDAT_HEADER_BYTES: usize = 12;
/// Hash functions a filter may use at most (git writes 7).
const MAX_NUM_HASHES: u32 = 32;

const SEED0: u32 = 0x293a_e76f;
const SEED1: u32 = 0x7e64_6e2c;

/// How one layer's filters were made (the `BDAT` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settings {
    hash_version: u32,
    num_hashes: u32,
}

/// One commit-graph file.
struct Layer {
    num_commits: u32,
    /// `OIDF`: 256 cumulative counts.
    fanout: Vec<u32>,
    /// `OIDL`: sorted ids.
    ids: Vec<u8>,
    /// `BIDX` and `BDAT` (after its header), when the layer has filters.
    filters: Option<Filters>,
}

struct Filters {
    settings: Settings,
    /// Cumulative end offset of each commit's filter in `data`.
    index: Vec<u32>,
    data: Vec<u8>,
}

/// The changed-path filters of a repository's commit-graph.
pub struct ChangedPaths {
    layers: Vec<Layer>,
}

/// The Bloom keys of one path (the path and each leading folder), for each hash version.
#[derive(Debug, Clone)]
pub struct PathKeys {
    /// `[version 1, version 2]`: per key, `(hash0, hash1)`.
    by_version: [Vec<(u32, u32)>; 2],
}

impl PathKeys {
    /// Keys of `path` (slash-separated, relative to the root, no leading or trailing `/`).
    pub fn new(path: &str) -> PathKeys {
        let path = path.trim_matches('/');
        let mut prefixes: Vec<&[u8]> = vec![path.as_bytes()];
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' {
                prefixes.push(&path.as_bytes()[..i]);
            }
        }
        let v1 = prefixes
            .iter()
            .map(|p| (murmur3_v1(SEED0, p), murmur3_v1(SEED1, p)))
            .collect();
        let v2 = prefixes
            .iter()
            .map(|p| (murmur3_v2(SEED0, p), murmur3_v2(SEED1, p)))
            .collect();
        PathKeys {
            by_version: [v1, v2],
        }
    }
}

impl ChangedPaths {
    /// The filters of the repository whose (common) git dir is `git_dir`; `None` when there
    /// is no commit-graph, or none of its layers has filters, or it cannot be read.
    pub fn open(git_dir: &Path) -> Option<ChangedPaths> {
        let info = git_dir.join("objects").join("info");
        let single = info.join("commit-graph");
        let mut layers = Vec::new();
        if single.is_file() {
            layers.push(read_layer(&single)?);
        } else {
            let dir = info.join("commit-graphs");
            let chain = std::fs::read_to_string(dir.join("commit-graph-chain")).ok()?;
            for line in chain.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if layers.len() == MAX_CHAIN_LAYERS || !line.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return None;
                }
                layers.push(read_layer(&dir.join(format!("graph-{line}.graph")))?);
            }
        }
        if layers.iter().all(|l| l.filters.is_none()) {
            return None;
        }
        Some(ChangedPaths { layers })
    }

    /// Whether `id` may have changed `path` relative to its first parent: `Some(false)` when
    /// its filter rules it out, `Some(true)` when it may have, `None` when there is no filter
    /// for the commit (not in the graph, layer without filters, filter not computed).
    pub fn maybe_changed(&self, id: &gix::oid, path: &str) -> Option<bool> {
        self.maybe_changed_keys(id, &PathKeys::new(path))
    }

    /// [`Self::maybe_changed`] with the keys computed once.
    pub fn maybe_changed_keys(&self, id: &gix::oid, keys: &PathKeys) -> Option<bool> {
        let bytes = id.as_bytes();
        if bytes.len() != SHA1_BYTES {
            return None;
        }
        for layer in &self.layers {
            let Some(pos) = layer.lookup(bytes) else {
                continue;
            };
            let filters = layer.filters.as_ref()?;
            let end = *filters.index.get(pos)? as usize;
            let start = if pos == 0 {
                0
            } else {
                *filters.index.get(pos - 1)? as usize
            };
            let filter = filters.data.get(start..end)?;
            if filter.is_empty() {
                // Not computed (or too large, in old writers): no information.
                return None;
            }
            let keys = match filters.settings.hash_version {
                1 => &keys.by_version[0],
                2 => &keys.by_version[1],
                _ => return None,
            };
            let bits = filter.len() as u64 * 8;
            let all = keys.iter().all(|&(h0, h1)| {
                (0..filters.settings.num_hashes).all(|i| {
                    let h = u64::from(h0.wrapping_add(i.wrapping_mul(h1))) % bits;
                    filter[(h / 8) as usize] & (1u8 << (h % 8)) != 0
                })
            });
            return Some(all);
        }
        None
    }
}

impl Layer {
    /// Position of `id` (20 bytes) in this layer.
    fn lookup(&self, id: &[u8]) -> Option<usize> {
        let first = usize::from(id[0]);
        let lo = if first == 0 {
            0
        } else {
            self.fanout[first - 1] as usize
        };
        let hi = self.fanout[first] as usize;
        if lo > hi || hi > self.num_commits as usize {
            return None;
        }
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.ids.get(mid * SHA1_BYTES..(mid + 1) * SHA1_BYTES)?;
            match at.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn read_at(file: &mut File, offset: u64, len: u64) -> Option<Vec<u8>> {
    if len > MAX_CHUNK_BYTES {
        return None;
    }
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    file.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Read the chunks this module needs from one commit-graph file.
fn read_layer(path: &Path) -> Option<Layer> {
    let mut file = File::open(path).ok()?;
    let file_len = file.metadata().ok()?.len();
    let header = read_at(&mut file, 0, HEADER_BYTES)?;
    // "CGPH", version 1, hash version 1 (SHA-1).
    if &header[..4] != b"CGPH" || header[4] != 1 || header[5] != 1 {
        return None;
    }
    let num_chunks = u32::from(header[6]);
    if num_chunks > MAX_CHUNKS {
        return None;
    }
    let table = read_at(
        &mut file,
        HEADER_BYTES,
        (u64::from(num_chunks) + 1) * CHUNK_ROW_BYTES,
    )?;
    let row = |i: usize| -> Option<([u8; 4], u64)> {
        let at = i * CHUNK_ROW_BYTES as usize;
        let id: [u8; 4] = table.get(at..at + 4)?.try_into().ok()?;
        let off = u64::from_be_bytes(table.get(at + 4..at + 12)?.try_into().ok()?);
        Some((id, off))
    };
    // Each chunk runs to the next row's offset.
    let mut chunks: Vec<([u8; 4], u64, u64)> = Vec::new();
    for i in 0..num_chunks as usize {
        let (id, start) = row(i)?;
        let (_, end) = row(i + 1)?;
        if start > end || end > file_len {
            return None;
        }
        chunks.push((id, start, end - start));
    }
    let find = |name: &[u8; 4]| chunks.iter().find(|c| &c.0 == name).map(|c| (c.1, c.2));

    let (off, len) = find(b"OIDF")?;
    if len != 256 * 4 {
        return None;
    }
    let raw = read_at(&mut file, off, len)?;
    let fanout: Vec<u32> = (0..256).map(|i| be32(&raw, i * 4)).collect::<Option<_>>()?;
    if fanout.windows(2).any(|w| w[0] > w[1]) {
        return None;
    }
    let num_commits = fanout[255];
    let (off, len) = find(b"OIDL")?;
    if len != u64::from(num_commits) * SHA1_BYTES as u64 {
        return None;
    }
    let ids = read_at(&mut file, off, len)?;

    let filters = (|| {
        let (ioff, ilen) = find(b"BIDX")?;
        let (doff, dlen) = find(b"BDAT")?;
        if ilen != u64::from(num_commits) * 4 || dlen < BDAT_HEADER_BYTES as u64 {
            return None;
        }
        let raw = read_at(&mut file, ioff, ilen)?;
        let index: Vec<u32> = (0..num_commits as usize)
            .map(|i| be32(&raw, i * 4))
            .collect::<Option<_>>()?;
        let mut data = read_at(&mut file, doff, dlen)?;
        let settings = Settings {
            hash_version: be32(&data, 0)?,
            num_hashes: be32(&data, 4)?,
        };
        if !matches!(settings.hash_version, 1 | 2)
            || settings.num_hashes == 0
            || settings.num_hashes > MAX_NUM_HASHES
        {
            return None;
        }
        data.drain(..BDAT_HEADER_BYTES);
        Some(Filters {
            settings,
            index,
            data,
        })
    })();
    Some(Layer {
        num_commits,
        fanout,
        ids,
        filters,
    })
}

/// murmur3 (32-bit) as git's `murmur3_seeded_v2`: bytes read unsigned.
fn murmur3_v2(seed: u32, data: &[u8]) -> u32 {
    murmur3(seed, data, u32::from)
}

/// murmur3 as git's `murmur3_seeded_v1`: bytes read as (signed) `char` and sign-extended,
/// which is what git wrote on x86 and most platforms before version 2.
fn murmur3_v1(seed: u32, data: &[u8]) -> u32 {
    murmur3(seed, data, |b| i32::from(b as i8) as u32)
}

fn murmur3(mut seed: u32, data: &[u8], byte: impl Fn(u8) -> u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    const R1: u32 = 15;
    const R2: u32 = 13;
    const M: u32 = 5;
    const N: u32 = 0xe654_6b64;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = byte(c[0]) | (byte(c[1]) << 8) | (byte(c[2]) << 16) | (byte(c[3]) << 24);
        k = k.wrapping_mul(C1);
        k = k.rotate_left(R1);
        k = k.wrapping_mul(C2);
        seed ^= k;
        seed = seed.rotate_left(R2).wrapping_mul(M).wrapping_add(N);
    }
    let tail = chunks.remainder();
    let mut k1: u32 = 0;
    if tail.len() >= 3 {
        k1 ^= byte(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        k1 ^= byte(tail[1]) << 8;
    }
    if !tail.is_empty() {
        k1 ^= byte(tail[0]);
        k1 = k1.wrapping_mul(C1);
        k1 = k1.rotate_left(R1);
        k1 = k1.wrapping_mul(C2);
        seed ^= k1;
    }
    seed ^= data.len() as u32;
    seed ^= seed >> 16;
    seed = seed.wrapping_mul(0x85eb_ca6b);
    seed ^= seed >> 13;
    seed = seed.wrapping_mul(0xc2b2_ae35);
    seed ^= seed >> 16;
    seed
}

#[cfg(test)]
mod tests {
    use super::{murmur3_v1, murmur3_v2};

    #[test]
    fn murmur3_matches_gits_test_vectors() {
        // t/helper/test-bloom.c and t0095-bloom.sh.
        assert_eq!(murmur3_v2(0, b""), 0x0000_0000);
        assert_eq!(murmur3_v2(0, b"Hello world!"), 0x627b_0c2c);
        assert_eq!(
            murmur3_v2(0, b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
        // High-bit bytes: version 1 sign-extends them.
        assert_eq!(murmur3_v2(0, b"\x99\xaa\xbb\xcc\xdd\xee\xff"), 0xa183_ccfd);
        assert_ne!(murmur3_v1(0, b"\x99\xaa\xbb\xcc\xdd\xee\xff"), 0xa183_ccfd);
        assert_eq!(murmur3_v1(0, b"Hello world!"), 0x627b_0c2c);
    }
}
