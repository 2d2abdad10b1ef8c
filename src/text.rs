//! Turning bytes read from disk into text that every parser here can rely on.

/// Why bytes are not usable text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("file is {size} bytes, over the {limit}-byte limit; split or shorten it")]
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
/// reading all of a huge one.
pub fn read_limited(path: &std::path::Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

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
