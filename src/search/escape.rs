//! Search value escaping (<http://hl7.org/fhir/R4/search.html#escaping>): `\,`, `\|`, `\$`
//! and `\\` stand for `,`, `|`, `$` and `\` inside a value, where unescaped they separate OR
//! values, token and quantity parts, and composite components. One splitting function and one
//! unescaping function serve every parameter type.

/// Splits `value` on every `sep` that is not escaped. The parts keep their escapes (split them
/// again on another separator, then [`unescape`] them).
pub fn split(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == sep => {
                parts.push(&value[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Removes the escapes `\,` `\|` `\$` `\\`. Any other backslash is kept as it is (it escapes
/// nothing; the specification gives it no meaning).
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && matches!(next, '|' | ',' | '$' | '\\')
        {
            out.push(next);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` with `,` `|` `$` `\` escaped: what a client writes for the text `value`.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '|' | ',' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_separators_stay_in_values() {
        assert_eq!(split("a,b\\,c", ','), vec!["a", "b\\,c"]);
        assert_eq!(split("x", ','), vec!["x"]);
        assert_eq!(split("a\\\\,b", ','), vec!["a\\\\", "b"]);
        assert_eq!(split("s|c\\|d|e", '|'), vec!["s", "c\\|d", "e"]);
        assert_eq!(unescape("b\\,c\\|d\\$e\\\\f"), "b,c|d$e\\f");
        assert_eq!(unescape("a\\b"), "a\\b");
        assert_eq!(unescape("a\\"), "a\\");
        assert_eq!(escape("a,b|c$d\\e"), "a\\,b\\|c\\$d\\\\e");
        assert_eq!(unescape(&escape("a,b|c$d\\e")), "a,b|c$d\\e");
    }
}
