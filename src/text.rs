//! Turning bytes read from disk into text that every parser here can rely on.

/// Why bytes are not usable text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `size` is what was read, which stops one byte past the limit: not the file's size.
    #[error("file is over the {limit}-byte limit; split or shorten it")]
    TooLarge { size: usize, limit: usize },
    #[error("file is not UTF-8 (invalid byte at offset {offset}); save it as UTF-8")]
    NotUtf8 { offset: usize, line: usize },
}

impl DecodeError {
    /// The line the problem is on.
    pub fn line(&self) -> usize {
        match self {
            DecodeError::TooLarge { .. } => 1,
            DecodeError::NotUtf8 { line, .. } => *line,
        }
    }
}

/// UTF-8 required, a byte-order mark dropped, CRLF made LF (line numbers do not change).
/// `bytes` longer than `limit` are refused.
pub fn decode(bytes: &[u8], limit: usize) -> Result<String, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        DecodeError::NotUtf8 {
            offset,
            line: 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count(),
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    })
}

/// Read at most `limit + 1` bytes of `path`: enough to tell a file is too large without
/// reading all of a huge one. Only regular files are read: opening a named pipe would wait
/// for a writer forever.
pub fn read_limited(path: &std::path::Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a folder, device, socket or pipe)",
        ));
    }
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Text of a commit's message or an author's name, as `git log` shows it: in the encoding
/// the commit's `encoding` header names (`i18n.commitEncoding`), else UTF-8. Bytes that are
/// not valid UTF-8 and carry no header are read as Windows-1252, the usual encoding of
/// older commits written before UTF-8 was git's default, so no byte becomes U+FFFD.
pub fn commit_text<'a>(bytes: &'a [u8], encoding: Option<&[u8]>) -> std::borrow::Cow<'a, str> {
    let named = encoding
        .and_then(encoding_rs::Encoding::for_label)
        .filter(|e| *e != encoding_rs::UTF_8);
    if named.is_none()
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    named
        .unwrap_or(encoding_rs::WINDOWS_1252)
        .decode_without_bom_handling(bytes)
        .0
}

/// Words of `text` that may be commit shas: 7 to 40 lowercase hex digits.
pub fn sha_words(text: &str) -> impl Iterator<Item = &str> {
    static SHA: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        #[expect(clippy::expect_used, reason = "a fixed pattern, checked by the tests")]
        regex::Regex::new(r"\b[0-9a-f]{7,40}\b").expect("sha regex")
    });
    SHA.find_iter(text).map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_text_reads_the_encoding_the_commit_names() {
        assert_eq!(commit_text(b"caf\xc3\xa9", None), "café");
        assert_eq!(commit_text(b"caf\xe9", Some(b"ISO-8859-1")), "café");
        assert_eq!(commit_text(b"caf\xe9", None), "café");
        assert_eq!(
            commit_text(b"\x93quoted\x94", None),
            "\u{201c}quoted\u{201d}"
        );
        // A header naming UTF-8, or one nobody knows, leaves UTF-8 as it is.
        assert_eq!(commit_text("café".as_bytes(), Some(b"UTF-8")), "café");
        assert_eq!(commit_text("café".as_bytes(), Some(b"no-such")), "café");
        // Shift_JIS, as Japanese projects once committed.
        assert_eq!(
            commit_text(b"\x83e\x83X\x83g", Some(b"Shift_JIS")),
            "テスト"
        );
    }

    #[test]
    fn decode_handles_bom_crlf_and_bad_bytes() {
        assert_eq!(
            decode(b"\xef\xbb\xbfa\r\nb\r\n", 100),
            Ok("a\nb\n".to_string())
        );
        assert_eq!(
            decode(b"ok\nok\n\xff", 100),
            Err(DecodeError::NotUtf8 { offset: 6, line: 3 })
        );
        assert_eq!(
            decode(b"12345", 4),
            Err(DecodeError::TooLarge { size: 5, limit: 4 })
        );
    }
}
