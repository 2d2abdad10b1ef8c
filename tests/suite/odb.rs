//! The delta-caching object reader against git's own `cat-file`, on packs with long delta
//! chains, loose objects beside them, and caches small enough to evict mid-chain.

use std::collections::HashMap;

use gix::objs::Find;
use skillrun::odb::ObjectReader;

use super::support::GitRepo;

/// A history whose trees and blobs are stored as deltas in chains: 80 commits, each editing
/// one of four files a little, repacked with deep chains; two more in a second pack; one
/// more left loose.
fn deltified_repo() -> GitRepo {
    let mut repo = GitRepo::new();
    let mut files: Vec<Vec<String>> = (0..4)
        .map(|f| {
            (0..120)
                .map(|l| format!("file {f} line {l}: some text"))
                .collect()
        })
        .collect();
    for i in 0..83 {
        let f = i % 4;
        let line = (i * 7) % 120;
        files[f][line] = format!("file {f} line {line}: edited in commit {i}");
        let body = files[f].join("\n") + "\n";
        let path = format!("src/mod{}/file{f}.txt", f % 2);
        repo.commit(
            &[(path.as_str(), body.as_str())],
            &format!("edit {i}"),
            "Ann <ann@example.com>",
            "2024-01-02",
        );
        if i == 79 {
            repo.git(&[
                "repack",
                "-a",
                "-d",
                "-f",
                "-q",
                "--depth=50",
                "--window=250",
            ]);
        }
        if i == 81 {
            // A second pack, of the objects written since.
            repo.git(&["repack", "-d", "-q"]);
        }
    }
    repo
}

/// Every object git knows, as `(id, kind, bytes)`, read with `git cat-file --batch`.
fn objects_by_git(repo: &GitRepo) -> Vec<(gix::ObjectId, String, Vec<u8>)> {
    let out = std::process::Command::new("git")
        .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
        .current_dir(repo.path())
        .output()
        .expect("git cat-file runs");
    assert!(out.status.success());
    let mut rest = out.stdout.as_slice();
    let mut objects = Vec::new();
    while !rest.is_empty() {
        let nl = rest.iter().position(|&b| b == b'\n').expect("header line");
        let header = std::str::from_utf8(&rest[..nl]).expect("ascii header");
        let mut parts = header.split(' ');
        let id = gix::ObjectId::from_hex(parts.next().expect("id").as_bytes()).expect("hex id");
        let kind = parts.next().expect("kind").to_string();
        let size: usize = parts.next().expect("size").parse().expect("size");
        let body = rest[nl + 1..nl + 1 + size].to_vec();
        rest = &rest[nl + 1 + size + 1..];
        objects.push((id, kind, body));
    }
    objects
}

/// Deltified entries in the pack and their longest chain.
fn deltas_in_pack(repo: &GitRepo) -> (usize, usize) {
    let pack_dir = repo.path().join(".git/objects/pack");
    let idx = std::fs::read_dir(&pack_dir)
        .expect("pack folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack index");
    let out = repo.git(&["verify-pack", "-v", idx.to_str().expect("utf-8 path")]);
    // Deltified entries carry two more fields: depth and base.
    let depths: Vec<usize> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 7)
        .map(|f| f[5].parse().expect("depth"))
        .collect();
    (depths.len(), depths.iter().copied().max().unwrap_or(0))
}

#[test]
fn every_object_reads_as_git_reads_it_whatever_the_order_and_cache() {
    let repo = deltified_repo();
    let (deltas, deepest) = deltas_in_pack(&repo);
    assert!(
        deltas > 50 && deepest >= 10,
        "the fixture should hold long delta chains: {deltas} deltas, the longest chain {deepest}"
    );
    let by_git = objects_by_git(&repo);
    let loose = repo.git(&["count-objects", "-v"]);
    assert!(
        !loose.contains("\ncount: 0\n"),
        "the fixture should also hold loose objects: {loose}"
    );
    let packs = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .expect("pack folder")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
        .count();
    assert_eq!(packs, 2, "the fixture should hold two packs");
    let gix_repo = gix::open(repo.path()).expect("opens");
    // Newest first (as a history walk reads), oldest first, and git's order; each with the
    // default cache and with one so small that chains are evicted while being resolved.
    let mut orders: Vec<Vec<usize>> = vec![(0..by_git.len()).collect()];
    orders.push(orders[0].iter().rev().copied().collect());
    let mut shuffled = orders[0].clone();
    shuffled.sort_by_key(|&i| (i * 7919) % by_git.len());
    orders.push(shuffled);
    for cache_bytes in [skillrun::odb::BASE_CACHE_BYTES, 2_000] {
        for order in &orders {
            let reader = ObjectReader::with_cache_bytes(&gix_repo, cache_bytes);
            let mut buf = Vec::new();
            for &i in order {
                let (id, kind, bytes) = &by_git[i];
                let data = reader
                    .try_find(id, &mut buf)
                    .expect("reads")
                    .unwrap_or_else(|| panic!("{id} is found"));
                assert_eq!(data.kind.to_string(), *kind, "kind of {id}");
                assert!(data.data == bytes.as_slice(), "bytes of {id}");
            }
        }
    }
}

#[test]
fn an_object_not_in_the_repository_is_none_not_an_error() {
    let repo = deltified_repo();
    let gix_repo = gix::open(repo.path()).expect("opens");
    let reader = ObjectReader::new(&gix_repo);
    let mut buf = Vec::new();
    let missing = gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
    assert!(
        reader
            .try_find(&missing, &mut buf)
            .expect("no error")
            .is_none()
    );
    // A tree read after the miss still comes out whole.
    let head_tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let id = gix::ObjectId::from_hex(head_tree.as_bytes()).unwrap();
    let data = reader
        .try_find(&id, &mut buf)
        .expect("reads")
        .expect("found");
    assert_eq!(data.kind, gix::objs::Kind::Tree);
    let names: HashMap<String, ()> = gix::objs::TreeRefIter::from_bytes(data.data, id.kind())
        .map(|e| (e.expect("entry").filename.to_string(), ()))
        .collect();
    assert!(names.contains_key("src"), "{names:?}");
}

/// A remembering reader gives the answers a plain one gives, and works each out once: every
/// commit's facts and every root tree's entries (and a name no tree has) against git's
/// `rev-list --parents` and `ls-tree`.
#[test]
fn a_remembering_reader_answers_as_git_and_decodes_each_commit_once() {
    let repo = deltified_repo();
    let gix_repo = gix::open(repo.path()).expect("open");
    let plain = ObjectReader::new(&gix_repo);
    let memo = ObjectReader::new(&gix_repo).remembering();
    let listing = repo.git(&["rev-list", "--parents", "--format=%T %ct", "HEAD"]);
    let mut lines = listing.lines();
    let mut commits = 0;
    while let (Some(header), Some(facts)) = (lines.next(), lines.next()) {
        let mut ids = header
            .trim_start_matches("commit ")
            .split(' ')
            .map(|h| gix::ObjectId::from_hex(h.as_bytes()).expect("sha"));
        let id = ids.next().expect("commit id");
        let parents: Vec<gix::ObjectId> = ids.collect();
        let (tree, time) = facts.split_once(' ').expect("tree and time");
        let want = skillrun::odb::CommitFacts {
            tree: gix::ObjectId::from_hex(tree.as_bytes()).expect("tree"),
            parents,
            time: time.parse().expect("time"),
        };
        let decoded = std::cell::Cell::new(0);
        let decode = || {
            decoded.set(decoded.get() + 1);
            Ok::<_, std::convert::Infallible>(want.clone())
        };
        assert_eq!(memo.commit_facts(id, decode).unwrap(), want);
        assert_eq!(memo.commit_facts(id, decode).unwrap(), want);
        assert_eq!(decoded.get(), 1, "the second ask is answered from memory");
        assert_eq!(plain.commit_facts(id, decode).unwrap(), want);
        assert_eq!(decoded.get(), 2, "a plain reader decodes every time");

        let entries = repo.git(&["ls-tree", tree]);
        for entry in entries.lines() {
            let (meta, name) = entry.split_once('\t').expect("ls-tree line");
            let oid = meta.split(' ').nth(2).expect("entry id");
            let want = Some(gix::ObjectId::from_hex(oid.as_bytes()).expect("entry id"));
            for _ in 0..2 {
                assert_eq!(
                    memo.tree_entry(want_tree(tree), name.as_bytes()).unwrap(),
                    want
                );
            }
            assert_eq!(
                plain.tree_entry(want_tree(tree), name.as_bytes()).unwrap(),
                want
            );
        }
        assert_eq!(
            memo.tree_entry(want_tree(tree), b"no-such-entry").unwrap(),
            None
        );
        assert_eq!(
            memo.tree_entry(want_tree(tree), b"no-such-entry").unwrap(),
            None
        );
        commits += 1;
    }
    assert_eq!(commits, 83);
}

fn want_tree(hex: &str) -> gix::ObjectId {
    gix::ObjectId::from_hex(hex.as_bytes()).expect("tree id")
}
