//! `PATH_INFO`: the request path with percent-escapes decoded (all of them, `%2F` too, as
//! uWSGI and gunicorn do). A `%` not followed by two hex digits is kept as it is.

use std::borrow::Cow;

/// Decodes `%XX` escapes in `path`; borrows when there are none.
pub fn decode(path: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = path.iter().position(|&b| b == b'%') else {
        return Cow::Borrowed(path);
    };
    let mut out = Vec::with_capacity(path.len());
    out.extend_from_slice(&path[..first]);
    let mut i = first;
    while i < path.len() {
        let byte = path[i];
        if byte == b'%' && i + 2 < path.len() {
            if let (Some(hi), Some(lo)) = (hex(path[i + 1]), hex(path[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path_is_borrowed() {
        assert!(matches!(decode(b"/a/b"), Cow::Borrowed(b"/a/b")));
    }

    #[test]
    fn escapes_are_decoded_including_slash() {
        assert_eq!(&*decode(b"/a%20b%2Fc%e9"), b"/a b/c\xe9");
    }

    #[test]
    fn broken_escapes_are_kept() {
        assert_eq!(&*decode(b"/100%"), b"/100%");
        assert_eq!(&*decode(b"/%4"), b"/%4");
        assert_eq!(&*decode(b"/%zz%41"), b"/%zzA");
    }
}
