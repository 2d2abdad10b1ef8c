//! A fix that only adds `#include` lines ("shared: add missing stddef.h include"). The
//! includes around it were right; what broke the build is the change that started using,
//! in that file, a name the header declares (`size_t` for `<stddef.h>`) without including
//! it. The names come from a short table of the standard C headers, or from the header
//! itself when the repository has it.

use gix::ObjectId;

use super::history::{Tracer, entry_at, newest_first};
use super::lines::{Lang, count_word, function_name, lang_of};
use super::{FileChange, TraceError, git_err, line_diff, read_text};

/// Names read from a header of the repository, at most.
const MAX_HEADER_NAMES: usize = 400;

/// What the common C library headers declare that code uses by name, per header.
const STANDARD_HEADERS: &[(&str, &[&str])] = &[
    ("assert.h", &["assert", "static_assert"]),
    (
        "ctype.h",
        &[
            "isalnum", "isalpha", "isdigit", "islower", "isprint", "isspace", "isupper",
            "isxdigit", "tolower", "toupper",
        ],
    ),
    ("err.h", &["err", "errx", "warn", "warnx", "verr", "verrx"]),
    (
        "errno.h",
        &["errno", "EINVAL", "ENOMEM", "ENOENT", "EAGAIN", "EINTR"],
    ),
    (
        "fcntl.h",
        &[
            "open",
            "openat",
            "fcntl",
            "O_RDONLY",
            "O_WRONLY",
            "O_RDWR",
            "O_CREAT",
            "O_CLOEXEC",
        ],
    ),
    (
        "inttypes.h",
        &[
            "PRId32",
            "PRId64",
            "PRIu8",
            "PRIu16",
            "PRIu32",
            "PRIu64",
            "PRIx32",
            "PRIx64",
            "strtoimax",
            "strtoumax",
        ],
    ),
    ("libgen.h", &["basename", "dirname"]),
    (
        "limits.h",
        &[
            "PATH_MAX", "INT_MAX", "INT_MIN", "UINT_MAX", "LONG_MAX", "CHAR_BIT", "NAME_MAX",
        ],
    ),
    (
        "pthread.h",
        &[
            "pthread_create",
            "pthread_join",
            "pthread_mutex_lock",
            "pthread_mutex_unlock",
            "pthread_t",
        ],
    ),
    (
        "signal.h",
        &[
            "signal",
            "sigaction",
            "sigemptyset",
            "sigaddset",
            "sigprocmask",
            "sigset_t",
            "kill",
            "raise",
            "pthread_kill",
            "pthread_sigmask",
            "SIGINT",
            "SIGTERM",
            "SIGKILL",
            "SIGCHLD",
            "SIGALRM",
            "SIGUSR1",
        ],
    ),
    (
        "stdarg.h",
        &["va_list", "va_start", "va_end", "va_arg", "va_copy"],
    ),
    ("stdbool.h", &["bool", "true", "false"]),
    (
        "stddef.h",
        &["size_t", "ptrdiff_t", "offsetof", "NULL", "wchar_t"],
    ),
    (
        "stdint.h",
        &[
            "int8_t",
            "int16_t",
            "int32_t",
            "int64_t",
            "uint8_t",
            "uint16_t",
            "uint32_t",
            "uint64_t",
            "intptr_t",
            "uintptr_t",
            "SIZE_MAX",
            "UINT32_MAX",
            "UINT64_MAX",
            "INT32_MAX",
            "INT64_MAX",
        ],
    ),
    (
        "stdio.h",
        &[
            "printf",
            "fprintf",
            "sprintf",
            "snprintf",
            "vprintf",
            "vfprintf",
            "vsnprintf",
            "puts",
            "fputs",
            "putchar",
            "fputc",
            "getchar",
            "fgets",
            "fopen",
            "fclose",
            "fread",
            "fwrite",
            "fflush",
            "perror",
            "FILE",
            "stdin",
            "stdout",
            "stderr",
            "getline",
            "EOF",
        ],
    ),
    (
        "stdlib.h",
        &[
            "malloc",
            "calloc",
            "realloc",
            "free",
            "exit",
            "abort",
            "getenv",
            "setenv",
            "atoi",
            "strtol",
            "strtoul",
            "strtoll",
            "strtoull",
            "qsort",
            "EXIT_SUCCESS",
            "EXIT_FAILURE",
        ],
    ),
    (
        "string.h",
        &[
            "memcpy", "memmove", "memset", "memcmp", "memchr", "strlen", "strnlen", "strcmp",
            "strncmp", "strcpy", "strncpy", "strcat", "strncat", "strdup", "strndup", "strchr",
            "strrchr", "strstr", "strerror", "strsep", "strtok",
        ],
    ),
    ("strings.h", &["strcasecmp", "strncasecmp", "bzero"]),
    (
        "time.h",
        &[
            "time",
            "time_t",
            "clock_gettime",
            "nanosleep",
            "localtime",
            "gmtime",
            "strftime",
            "timespec",
            "CLOCK_MONOTONIC",
        ],
    ),
    (
        "sys/time.h",
        &["gettimeofday", "timeval", "timersub", "timeradd"],
    ),
    (
        "sys/stat.h",
        &[
            "stat", "fstat", "lstat", "mkdir", "chmod", "S_ISDIR", "S_ISREG",
        ],
    ),
    (
        "sys/types.h",
        &["ssize_t", "pid_t", "off_t", "mode_t", "uid_t", "gid_t"],
    ),
    (
        "unistd.h",
        &[
            "close", "read", "write", "lseek", "unlink", "access", "getpid", "sleep", "usleep",
            "fork", "dup", "dup2", "pipe", "chdir", "getcwd", "sysconf",
        ],
    ),
];

/// The headers a fix adds with `#include` to C files (the file, the header as written),
/// when that is all it does: every line it adds to a code file is an `#include` (or blank)
/// and it removes none. `None` for any other fix.
pub(super) fn added_includes(
    repo: &gix::Repository,
    changes: &[FileChange],
) -> Result<Option<Vec<(String, String)>>, TraceError> {
    let mut out = Vec::new();
    for fc in changes {
        if lang_of(&fc.new_path) != Lang::CLike {
            continue;
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            return Ok(None);
        };
        let d = line_diff(&old, &new);
        for (before, after) in &d.hunks {
            if !before.is_empty() {
                return Ok(None);
            }
            for i in after.clone() {
                let line = String::from_utf8_lossy(d.new[i as usize]);
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let Some(header) = included(line) else {
                    return Ok(None);
                };
                out.push((fc.new_path.clone(), header.to_string()));
            }
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// The header an `#include` line names: `#include <stddef.h>` gives `stddef.h`.
fn included(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix('#')?
        .trim_start()
        .strip_prefix("include")?
        .trim();
    let (open, close) = match rest.chars().next()? {
        '<' => ('<', '>'),
        '"' => ('"', '"'),
        _ => return None,
    };
    let inner = rest.strip_prefix(open)?;
    let end = inner.find(close)?;
    Some(&inner[..end]).filter(|h| !h.is_empty())
}

/// The names `header` declares: from the table of standard headers, or read from the
/// header itself when the tree at `tree` has it (next to `file`, or from the top): its
/// macros and functions.
pub(super) fn declared_names(
    repo: &gix::Repository,
    tree: ObjectId,
    file: &str,
    header: &str,
) -> Result<Vec<String>, TraceError> {
    if let Some((_, names)) = STANDARD_HEADERS.iter().find(|(h, _)| *h == header) {
        return Ok(names.iter().map(|n| n.to_string()).collect());
    }
    let tree = repo
        .find_tree(tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let beside = file
        .rsplit_once('/')
        .map(|(dir, _)| format!("{dir}/{header}"));
    let mut out: Vec<String> = Vec::new();
    for path in beside.into_iter().chain([header.to_string()]) {
        let Some(entry) = tree
            .lookup_entry_by_path(&path)
            .map_err(|e| git_err("reading a tree", e))?
        else {
            continue;
        };
        let Some(text) = read_text(repo, Some(entry.object_id()))? else {
            continue;
        };
        for line in String::from_utf8_lossy(&text).lines() {
            let macro_name = line
                .trim_start()
                .strip_prefix('#')
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix("define"))
                .and_then(|l| {
                    l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .find(|w| !w.is_empty())
                })
                .map(str::to_string);
            if let Some(name) = macro_name.or_else(|| function_name(&path, line))
                && !out.contains(&name)
                && out.len() < MAX_HEADER_NAMES
            {
                out.push(name);
            }
        }
        break;
    }
    Ok(out)
}

/// The newest commit before `start` (inclusive) that wrote more uses of one of `names`
/// into `path` than the file had, with that name.
pub(super) fn newest_use(
    t: &mut Tracer<'_>,
    start: ObjectId,
    path: &str,
    names: &[String],
) -> Result<Option<(ObjectId, String)>, TraceError> {
    if names.is_empty() {
        return Ok(None);
    }
    let repo = t.repo;
    for id in newest_first(repo, start)? {
        let id = id?;
        let Some(c) = t.own_change(id)? else { continue };
        let new = entry_at(repo, c.tree, path)?;
        let old = match c.parent_tree {
            Some(p) => entry_at(repo, p, path)?,
            None => None,
        };
        if new == old || new.is_none() {
            continue;
        }
        let (Some(new_text), Some(old_text)) = (read_text(repo, new)?, read_text(repo, old)?)
        else {
            continue;
        };
        if let Some(name) = names
            .iter()
            .find(|n| count_word(&new_text, n) > count_word(&old_text, n))
        {
            return Ok(Some((id, name.clone())));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_lines_name_their_header() {
        assert_eq!(included("#include <stddef.h>"), Some("stddef.h"));
        assert_eq!(
            included("#  include \"shared/missing.h\""),
            Some("shared/missing.h")
        );
        assert_eq!(
            included("#include <sys/time.h> /* gettimeofday */"),
            Some("sys/time.h")
        );
        assert_eq!(included("#define X 1"), None);
        assert_eq!(included("#include MACRO"), None);
    }
}
