//! Byte-level scan of a JSON object's top-level members, for splicing without re-serializing.

/// Byte ranges of one top-level member of a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// Where the member's key begins (its opening quote).
    pub key_start: usize,
    pub value_start: usize,
    pub value_end: usize,
    /// The range to delete to remove the member together with one separating comma
    /// (and the whitespace between them), leaving valid JSON.
    pub remove: (usize, usize),
}

/// Finds the top-level member `key` of the object in `json` (no allocation).
/// Returns `None` when `json` is not an object or has no such member.
pub fn find_member(json: &[u8], key: &str) -> Option<Member> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    // End of the previous member's value (just before its comma), for removal of a last member.
    let mut prev_value_end: Option<usize> = None;
    loop {
        i = skip_ws(json, i);
        if json.get(i) != Some(&b'"') {
            return None;
        }
        let key_start = i;
        let key_end = skip_string(json, i)?;
        let name = &json[key_start + 1..key_end - 1];
        i = skip_ws(json, key_end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(json, i + 1);
        let value_end = skip_value(json, value_start)?;
        let after = skip_ws(json, value_end);
        let next = json.get(after)?;
        if name == key.as_bytes() {
            let remove = if *next == b',' {
                (key_start, skip_ws(json, after + 1))
            } else if let Some(p) = prev_value_end {
                (p, value_end)
            } else {
                (key_start, value_end)
            };
            return Some(Member {
                key_start,
                value_start,
                value_end,
                remove,
            });
        }
        match next {
            b',' => {
                prev_value_end = Some(value_end);
                i = after + 1;
            }
            _ => return None,
        }
    }
}

/// The complete elements of a JSON array, in order; a cut-off last element is left out.
pub fn array_elements(json: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut i = skip_ws(json, 0);
    let mut ok = json.get(i) == Some(&b'[');
    i += 1;
    std::iter::from_fn(move || {
        if !ok {
            return None;
        }
        i = skip_ws(json, i);
        if json.get(i) == Some(&b',') {
            i = skip_ws(json, i + 1);
        }
        match json.get(i) {
            None | Some(b']') => {
                ok = false;
                None
            }
            Some(_) => {
                let Some(end) = skip_value(json, i) else {
                    ok = false;
                    return None;
                };
                let element = &json[i..end];
                i = end;
                Some(element)
            }
        }
    })
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while matches!(json.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// `i` at an opening quote; returns the index just past the closing quote.
fn skip_string(json: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let rel = memchr::memchr2(b'"', b'\\', json.get(j..)?)?;
        j += rel;
        if json[j] == b'\\' {
            j += 2;
        } else {
            return Some(j + 1);
        }
    }
}

/// Returns the index just past the value starting at `i`.
fn skip_value(json: &[u8], i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => skip_string(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match json.get(j)? {
                    b'"' => {
                        j = skip_string(json, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(b) = json.get(j) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remove(json: &str, key: &str) -> Option<String> {
        let m = find_member(json.as_bytes(), key)?;
        let mut s = json.to_string();
        s.replace_range(m.remove.0..m.remove.1, "");
        Some(s)
    }

    #[test]
    fn removes_members_anywhere() {
        assert_eq!(
            remove(r#"{"a":1,"usage":null}"#, "usage").unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(
            remove(r#"{"usage":null,"a":1}"#, "usage").unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(
            remove(r#"{"a":1, "usage": null , "b":2}"#, "usage").unwrap(),
            r#"{"a":1, "b":2}"#
        );
        assert_eq!(remove(r#"{"usage":null}"#, "usage").unwrap(), "{}");
    }

    #[test]
    fn ignores_nested_and_string_lookalikes() {
        let j = r#"{"choices":[{"usage":null,"t":"\"usage\":null"}],"x":{"usage":1}}"#;
        assert_eq!(find_member(j.as_bytes(), "usage"), None);
        let j = r#"{"s":"a\\","model":"gpt-4o"}"#;
        let m = find_member(j.as_bytes(), "model").unwrap();
        assert_eq!(&j[m.value_start..m.value_end], "\"gpt-4o\"");
    }

    #[test]
    fn rejects_non_objects() {
        assert_eq!(find_member(b"[1]", "a"), None);
        assert_eq!(find_member(b"{\"a\":", "a"), None);
    }
}
