//! Compact JSON written into a byte buffer, byte for byte what `serde_json::to_writer` writes
//! for the same values, for resources filled into a shape (whose member names are escaped once,
//! when the mapping is loaded). Text is scanned for what needs escaping eight bytes at a time.

use serde_json::Value as Json;

/// `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        out.extend_from_slice(&bytes[start..i]);
        escape(out, bytes[i]);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Bytes written escaped: `"`, `\` and control characters (as serde_json does).
static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The index of the first byte at or after `from` that is written escaped.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // A byte below 0x20, equal to '"' or to '\' sets its high bit in one of these (bytes
        // of 0x80 and above never do); borrows only reach bytes above it, so the lowest bit
        // set is the first such byte.
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        let found = (x.wrapping_sub(ONES * 0x20) & !x
            | quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash)
            & HIGH;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes
        .get(i..)?
        .iter()
        .position(|&b| ESCAPED[usize::from(b)])
        .map(|p| i + p)
}

fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x09 => out.extend_from_slice(b"\\t"),
        0x0a => out.extend_from_slice(b"\\n"),
        0x0c => out.extend_from_slice(b"\\f"),
        0x0d => out.extend_from_slice(b"\\r"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

/// `v` as compact JSON.
pub fn value(out: &mut Vec<u8>, v: &Json) {
    match v {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::String(s) => string(out, s),
        Json::Number(n) => {
            // Written by serde_json itself (its number text, as it writes it).
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, item);
            }
            out.push(b']');
        }
        Json::Object(members) => {
            out.push(b'{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, k);
                out.push(b':');
                value(out, v);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn written(v: &Json) -> String {
        let mut out = Vec::new();
        value(&mut out, v);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn text_is_escaped_as_serde_json_escapes_it() {
        // Every byte value below 0x80, at every offset of an 8-byte chunk, and non-ASCII.
        for b in 0u8..0x80 {
            for pad in 0..10 {
                let s = format!("{}{}é€x{}", "a".repeat(pad), b as char, "bc".repeat(pad));
                let v = Json::String(s);
                assert_eq!(
                    written(&v),
                    serde_json::to_string(&v).unwrap(),
                    "{b:#x} {pad}"
                );
            }
        }
        let v = Json::String("\"\\\u{7f}/</script>\u{1f}\u{0}".into());
        assert_eq!(written(&v), serde_json::to_string(&v).unwrap());
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let v = json!({
            "a": [1, -2.5, 1e300, 12345678901234567890u64, true, false, null, {}],
            "b\n": {"c": "d", "e": []},
            "n": serde_json::Number::from_string_unchecked("98.60".into()),
        });
        assert_eq!(written(&v), serde_json::to_string(&v).unwrap());
    }
}
