//! What kind of file a path is and what kind of line a line is: test and doc files (set
//! aside by the blame), the language (its comment syntax), lines that are only whitespace,
//! comments or punctuation, and the heads and bodies of functions.

use gix::bstr::ByteSlice;

/// Lines scanned upward for the head of the enclosing function.
const MAX_FUNCTION_SCAN: usize = 400;

/// Lines a function head may span before its body opens.
const MAX_HEAD_LINES: usize = 12;

/// Lines of a named function blamed at most.
const MAX_BODY_LINES: usize = 300;

/// Test, documentation or generated files, set aside by the blame: their lines say what
/// the code does, or are written by a tool from it, so blaming them names who last wrote
/// the test, the text or the tool's output.
pub fn is_test_or_doc(path: &str) -> bool {
    is_test(path) || is_doc(path) || is_generated(path)
}

/// Files a tool writes and a project commits: dependency lock files, translations
/// (`po/de.po`, `xlf/Strings.de.xlf`, made from the source strings) and minified bundles.
pub fn is_generated(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let lock = matches!(
        name,
        "cargo.lock"
            | "package-lock.json"
            | "npm-shrinkwrap.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "go.sum"
            | "poetry.lock"
            | "pipfile.lock"
            | "uv.lock"
            | "gemfile.lock"
            | "composer.lock"
            | "flake.lock"
            | "packages.lock.json"
    );
    let ext = [
        ".po", ".pot", ".xlf", ".xliff", ".min.js", ".min.css", ".js.map",
    ]
    .iter()
    .any(|e| name.ends_with(e));
    lock || ext
}

/// The folders of path `p`, without the file name.
pub(super) fn folders(p: &str) -> impl Iterator<Item = &str> {
    let n = p.matches('/').count();
    p.split('/').take(n)
}

/// Test files: under a test folder (`tests/`, `t/`, `selftests/`, `__tests__/`, ...), or
/// named as tests are (`test_x.c`, `test-x.c`, `x_test.go`, `x.test.js`, `x_spec.rb`,
/// `x.t`).
pub fn is_test(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let dir_hit = folders(&p).any(|d| {
        matches!(
            d,
            "t" | "test"
                | "tests"
                | "testsuite"
                | "selftests"
                | "unittests"
                | "testing"
                | "testdata"
                | "spec"
                | "__tests__"
        )
    });
    let test_name = name.starts_with("test_")
        || name.starts_with("test-")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains("_tests.")
        || name.contains(".spec.")
        || name.contains("_spec.")
        || name.ends_with(".t");
    dir_hit || test_name
}

/// Documentation and project metadata: under a doc folder, a manual page or a text
/// document (also as an `.in` template, `iptables.8.in`), or a file such as `NEWS` or
/// `CODEOWNERS`.
pub(super) fn is_doc(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let dir_hit =
        folders(&p).any(|d| matches!(d, "doc" | "docs" | "documentation" | "man" | "examples"));
    let stem = name.strip_suffix(".in").unwrap_or(name);
    let doc_ext = [
        ".md", ".rst", ".txt", ".adoc", ".pod", ".man", ".1", ".3", ".5", ".7", ".8", ".html",
    ]
    .iter()
    .any(|e| stem.ends_with(e))
        && name != "cmakelists.txt";
    let meta = matches!(
        name,
        "changelog"
            | "news"
            | "authors"
            | "maintainers"
            | "readme"
            | "copying"
            | "license"
            | "credits"
            | "contributors"
            | "codeowners"
            | ".mailmap"
    );
    dir_hit || doc_ext || meta
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    CLike,
    Hash,
    /// F# and OCaml: `//` and `(* *)` comments, `let`/`member` heads, bodies by indentation.
    Ml,
    Other,
}

pub(super) fn lang_of(path: &str) -> Lang {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "rs" | "go" | "java" | "js" | "ts" | "cs"
        | "swift" | "kt" | "scala" | "m" | "proto" => Lang::CLike,
        "py" | "sh" | "rb" | "pl" | "yml" | "yaml" | "toml" | "cmake" | "mk" | "pyx" | "pxd" => {
            Lang::Hash
        }
        "fs" | "fsi" | "fsx" | "ml" | "mli" => Lang::Ml,
        _ if name == "cmakelists.txt" || name == "makefile" => Lang::Hash,
        _ => Lang::Other,
    }
}

/// How many times `word` stands whole in `text` (no letter, digit or `_` either side).
pub(super) fn count_word(text: &[u8], word: &str) -> usize {
    text.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|w| *w == word.as_bytes())
        .count()
}

/// The line without any whitespace: what "same modulo whitespace" compares.
pub(super) fn normalized(line: &[u8]) -> Vec<u8> {
    line.iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect()
}

/// Blank or comment-only.
pub(super) fn is_noise(line: &[u8], lang: Lang) -> bool {
    let t = line.trim();
    if t.is_empty() {
        return true;
    }
    match lang {
        Lang::CLike => {
            t.starts_with(b"//")
                || t.starts_with(b"/*")
                || t.starts_with(b"*")
                || t.ends_with(b"*/") && !t.contains_str("/*") && t.len() < 3
        }
        Lang::Hash => t.starts_with(b"#"),
        Lang::Ml => {
            t.starts_with(b"//")
                || t.starts_with(b"(*")
                || t.ends_with(b"*)") && !t.contains_str("(*") && t.len() < 3
        }
        Lang::Other => false,
    }
}

/// Keywords that may open an F# or OCaml definition, before its name.
const ML_HEAD_WORDS: &[&str] = &[
    "let", "rec", "inline", "private", "internal", "public", "mutable", "val", "and", "member",
    "override", "default", "static", "abstract",
];

/// The name an F# or OCaml line defines as a function: `let rec loop acc xs =` gives `loop`,
/// `member this.Count(x) =` gives `Count`. A value (`let x = 5`) defines none.
fn ml_defined_name(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace().peekable();
    let first = words.peek().copied()?;
    if !matches!(
        first,
        "let" | "and" | "member" | "override" | "default" | "static" | "abstract"
    ) {
        return None;
    }
    while words.peek().is_some_and(|w| ML_HEAD_WORDS.contains(w)) {
        words.next();
    }
    let head = words.next()?;
    let name = head.split(['(', ':', '<']).next()?;
    // `this.Count`, `_.Count`: the member's own name.
    let name = name.rsplit('.').next()?;
    let is_ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '\'');
    // Parameters follow the name: `(`, or another word before `=`.
    let params = head.contains('(')
        || words
            .next()
            .is_some_and(|w| w != "=" && !w.starts_with(':'));
    (is_ident && params).then_some(name)
}

/// Only punctuation or a bare keyword: `}`, `{`, `} else {`, `break;`, `return;`.
pub(super) fn is_trivial(line: &[u8]) -> bool {
    let t = normalized(line);
    if t.iter().all(|b| b"{}()[];,".contains(b)) {
        return true;
    }
    matches!(
        t.as_slice(),
        b"}else{"
            | b"else"
            | b"else{"
            | b"break;"
            | b"return;"
            | b"continue;"
            | b"default:"
            | b"returnret;"
            | b"return0;"
            | b"end"
            | b"fi"
            | b"done"
            | b"pass"
    )
}

/// Whether `line` looks like the head of a function definition.
pub(super) fn is_function_head(line: &[u8], lang: Lang) -> bool {
    let t = line.trim_end();
    if t.is_empty() {
        return false;
    }
    match lang {
        Lang::Hash => {
            t.trim_start().starts_with(b"def ") || t.trim_start().starts_with(b"function ")
        }
        Lang::Ml => t.to_str().ok().and_then(ml_defined_name).is_some(),
        _ => {
            let s = t.trim_start();
            if s.starts_with(b"fn ") || s.contains_str(" fn ") || s.starts_with(b"func ") {
                return true;
            }
            let first = t[0];
            (first.is_ascii_alphabetic() || first == b'_')
                && t.contains(&b'(')
                && !t.ends_with(b";")
                && !t.starts_with(b"if ")
                && !t.starts_with(b"return")
                && !t.contains_str(" = ")
        }
    }
}

/// Words that can stand before `(` in a line that reads as a function head but name no
/// function.
const NOT_FUNCTION_NAMES: &[&str] = &[
    "if", "for", "while", "switch", "return", "sizeof", "else", "match", "loop", "catch",
    "defined", "elif", "with", "assert", "print", "lambda", "case",
];

/// Whether `path` is in a language whose function heads [`function_name`] reads.
pub fn has_function_heads(path: &str) -> bool {
    lang_of(path) != Lang::Other
}

/// The name of the function that `line` of the file `path` defines, when it reads as a
/// function head in that file's language: `def backoff(attempt):` gives `backoff`, `static
/// int probe_minix(blkid_probe pr)` gives `probe_minix`, `pub fn parse<T>(s: &str)` gives
/// `parse`.
pub fn function_name(path: &str, line: &str) -> Option<String> {
    let lang = lang_of(path);
    if lang == Lang::Other || !is_function_head(line.as_bytes(), lang) {
        return None;
    }
    if lang == Lang::Ml {
        return ml_defined_name(line)
            .filter(|n| n.len() >= 3)
            .map(str::to_string);
    }
    let before = line.split(['(', '<', '{', ':']).next()?.trim_end();
    let name = before
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    (starts_well && name.len() >= 3 && !NOT_FUNCTION_NAMES.contains(&name))
        .then(|| name.to_string())
}

/// The head of the function that line `at` of `lines` sits in: scanned upward, at most
/// [`MAX_FUNCTION_SCAN`] lines, stopping at the end of an earlier function.
pub(super) fn function_head(lines: &[&[u8]], at: usize, lang: Lang) -> Option<u32> {
    let mut i = at.min(lines.len());
    let mut scanned = 0;
    while i > 0 && scanned < MAX_FUNCTION_SCAN {
        i -= 1;
        scanned += 1;
        let l = lines[i];
        if is_function_head(l, lang) {
            return Some(i as u32);
        }
        if l.starts_with(b"}") {
            return None;
        }
    }
    None
}

/// 0-based lines of the function whose head is at `head`: to the first `}` indented no
/// deeper than the head (or, for indentation languages, the next non-blank line indented no
/// deeper), [`MAX_BODY_LINES`] at most. A method's body ends with its own brace, not with
/// the `impl` or class around it.
pub(super) fn function_body(lines: &[&[u8]], head: usize, lang: Lang) -> Vec<u32> {
    let mut out = vec![head as u32];
    let indent = indent_of(lines[head]);
    for (i, l) in lines.iter().enumerate().skip(head + 1).take(MAX_BODY_LINES) {
        let end = indent_of(l) <= indent
            && match lang {
                Lang::Hash | Lang::Ml => !l.trim().is_empty(),
                _ => l.trim_start().starts_with(b"}"),
            };
        if end {
            if !matches!(lang, Lang::Hash | Lang::Ml) {
                out.push(i as u32);
            }
            break;
        }
        if !l.trim().is_empty() {
            out.push(i as u32);
        }
    }
    out
}

/// Bytes of leading whitespace.
fn indent_of(line: &[u8]) -> usize {
    line.iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count()
}

/// Whether the function head at `head` opens a body (`{` comes before any `;`), not a
/// declaration such as a prototype in a header.
pub(super) fn has_body(lines: &[&[u8]], head: usize, lang: Lang) -> bool {
    if lang != Lang::CLike {
        return true;
    }
    for l in lines.iter().skip(head).take(MAX_HEAD_LINES) {
        for &b in l.iter() {
            match b {
                b'{' => return true,
                b';' => return false,
                _ => {}
            }
        }
    }
    false
}

/// Whether the head line `l` defines `ident` (the name right before `(`; in F# and OCaml,
/// the name after `let` or `member`).
pub(super) fn defines(l: &[u8], ident: &str, lang: Lang) -> bool {
    if lang == Lang::Ml {
        return l.to_str().ok().and_then(ml_defined_name) == Some(ident);
    }
    let mut from = 0;
    while let Some(p) = l[from..].find(ident.as_bytes()) {
        let at = from + p;
        let before_ok = at == 0 || !(l[at - 1].is_ascii_alphanumeric() || l[at - 1] == b'_');
        let after = &l[at + ident.len()..];
        let after_ok = after.trim_start().starts_with(b"(") || after.trim_start().starts_with(b"<");
        if before_ok && after_ok {
            return true;
        }
        from = at + ident.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_methods_body_ends_with_the_method() {
        let rust: &[&[u8]] = &[
            b"impl Pool {\n",
            b"    pub fn get(&self) -> u32 {\n",
            b"        if self.n > 0 {\n",
            b"            return 1;\n",
            b"        }\n",
            b"        0\n",
            b"    }\n",
            b"\n",
            b"    fn put(&mut self) {\n",
            b"        self.n += 1;\n",
            b"    }\n",
            b"}\n",
        ];
        assert!(is_function_head(rust[1], Lang::CLike));
        assert_eq!(function_body(rust, 1, Lang::CLike), [1, 2, 3, 4, 5, 6]);
        assert_eq!(function_body(rust, 8, Lang::CLike), [8, 9, 10]);
        let python: &[&[u8]] = &[
            b"class Pool:\n",
            b"    def get(self):\n",
            b"        if self.n:\n",
            b"            return 1\n",
            b"\n",
            b"        return 0\n",
            b"\n",
            b"    def put(self):\n",
            b"        self.n += 1\n",
        ];
        assert_eq!(function_body(python, 1, Lang::Hash), [1, 2, 3, 5]);
        assert_eq!(function_body(python, 7, Lang::Hash), [7, 8]);
        // A C function at column 0 still ends at the first `}` at column 0.
        let c: &[&[u8]] = &[
            b"int get(struct pool *p)\n",
            b"{\n",
            b"\tif (p->n)\n",
            b"\t\treturn 1;\n",
            b"\treturn 0;\n",
            b"}\n",
            b"int other;\n",
        ];
        assert_eq!(function_body(c, 0, Lang::CLike), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn fsharp_functions_and_members_by_their_let_and_member_lines() {
        let fs: &[&[u8]] = &[
            b"module Pickle\n",
            b"let version = 2\n",
            b"let rec readTag (st: Stream) acc =\n",
            b"    // a comment\n",
            b"    let n = st.ReadByte()\n",
            b"    if n < 0 then acc else readTag st (n :: acc)\n",
            b"\n",
            b"type Reader(st) =\n",
            b"    member this.Count(x) =\n",
            b"        x + 1\n",
            b"    member val Size = 0 with get, set\n",
        ];
        let lang = lang_of("src/Compiler/TypedTree/Pickle.fs");
        assert!(lang == Lang::Ml);
        assert!(!is_function_head(fs[1], lang));
        assert!(is_function_head(fs[2], lang));
        assert!(!is_function_head(fs[4], lang));
        assert!(is_noise(fs[3], lang));
        assert!(is_noise(b"(* old reader *)", lang));
        assert_eq!(function_head(fs, 5, lang), Some(2));
        assert_eq!(function_body(fs, 2, lang), [2, 3, 4, 5]);
        assert_eq!(function_body(fs, 8, lang), [8, 9]);
        assert!(!is_function_head(fs[10], lang));
        let name = |line: &str| function_name("src/a.fs", line);
        assert_eq!(
            name("let rec readTag (st: Stream) acc =").as_deref(),
            Some("readTag")
        );
        assert_eq!(name("    member this.Count(x) =").as_deref(), Some("Count"));
        assert_eq!(
            name("let inline private pickleObj x = x").as_deref(),
            Some("pickleObj")
        );
        assert_eq!(name("let mutable count = 0"), None);
        assert_eq!(name("let total : int = 5"), None);
        assert!(defines(fs[2], "readTag", lang));
        assert!(!defines(fs[2], "acc", lang));
    }

    #[test]
    fn words_are_counted_whole() {
        let text = b"struct timeval tv;\ngettimeofday(&tv, NULL);\nint tvs = tv_sec;\n";
        assert_eq!(count_word(text, "tv"), 2);
        assert_eq!(count_word(text, "timeval"), 1);
        assert_eq!(count_word(text, "sec"), 0);
        assert_eq!(count_word(b"size_t n; ssize_t m; size_t k;", "size_t"), 2);
        assert_eq!(count_word(b"puts(x); fputs(y);", "puts"), 1);
    }

    #[test]
    fn function_names_come_from_heads_only() {
        let name = |path: &str, line: &str| function_name(path, line);
        assert_eq!(
            name("src/retry.py", "def backoff(attempt):").as_deref(),
            Some("backoff")
        );
        assert_eq!(
            name(
                "libblkid/src/minix.c",
                "static int probe_minix(blkid_probe pr)"
            )
            .as_deref(),
            Some("probe_minix")
        );
        assert_eq!(
            name("src/lib.rs", "    pub fn parse<T>(s: &str) -> T {").as_deref(),
            Some("parse")
        );
        assert_eq!(name("src/a.c", "if (x) {"), None);
        assert_eq!(name("src/a.c", "\treturn probe(pr);"), None);
        assert_eq!(name("src/a.c", "int x = f(y);"), None);
        assert_eq!(name("README.md", "def backoff(attempt):"), None);
    }

    #[test]
    fn test_and_doc_files_by_folder_and_name() {
        assert!(is_test_or_doc("tests/a.rs"));
        assert!(is_test_or_doc("testsuite/test-hash.c"));
        assert!(is_test_or_doc("tools/testing/selftests/net/a.sh"));
        assert!(is_test_or_doc("lib/test-strbuf.c"));
        assert!(!is_test_or_doc("app/test-pmd/testpmd.c"));
        assert!(is_test_or_doc("docs/x.md"));
        assert!(!is_test_or_doc("src/a.c"));
        assert!(is_test_or_doc(".mailmap"));
        assert!(is_test_or_doc(".github/CODEOWNERS"));
        // Test suites by folder or by name, manual pages also as `.in` templates.
        assert!(is_test("t/t0001-init.sh"));
        assert!(is_test("extensions/libxt_tcp.t"));
        assert!(is_test("spec/models/user_spec.rb"));
        assert!(!is_test("tc/q_fq.c"));
        assert!(is_test_or_doc("iptables/iptables-save.8.in"));
        assert!(is_test_or_doc("extensions/libxt_mark.man"));
        assert!(!is_test_or_doc("configure.ac.in"));
        // A build file that happens to end in `.txt`.
        assert!(!is_test_or_doc("providers/mlx5/CMakeLists.txt"));
        assert!(is_test_or_doc("Cargo.lock"));
        assert!(is_test_or_doc("web/package-lock.json"));
        assert!(is_test_or_doc("po/de.po"));
        assert!(is_test_or_doc("src/Compiler/xlf/FSComp.txt.de.xlf"));
        assert!(!is_test_or_doc("src/lock.c"));
        assert!(!is_test_or_doc("Cargo.toml"));
    }
}
