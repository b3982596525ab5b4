//! Allocation-free JSON walking: visit an object's members or an array's objects with state.
//!
//! serde's derive cannot hand `&mut` state to nested fields, and serde_json allocates a scratch
//! stack when it skips (or buffers as `RawValue`) a value nested two levels deep. Walking with
//! these seeds instead lets a stream handler descend exactly where it reads, append text straight
//! into its output, and skip only flat values.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// State that reads the members of one JSON object.
pub trait Fields<'de> {
    /// Called for every member; must consume the value (`map.next_value::<IgnoredAny>()` to skip).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Skips the current member's value.
pub fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Reads nothing: walks an array of flat objects without serde_json's nested-skip allocation.
pub struct SkipAll;

impl<'de> Fields<'de> for SkipAll {
    fn field<A: MapAccess<'de>>(&mut self, _: &str, map: &mut A) -> Result<(), A::Error> {
        skip(map)
    }
}

/// Deserializes an object into `Fields`; `null` is accepted and reads nothing.
pub struct Obj<'s, T>(pub &'s mut T);

impl<'de, T: Fields<'de>> DeserializeSeed<'de> for Obj<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Fields<'de>> Visitor<'de> for Obj<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            self.0.field(key.0, &mut map)?;
        }
        Ok(())
    }
}

/// Deserializes an array, reading each object element into the same `Fields`.
/// `null` is accepted; returns the element count.
pub struct Each<'s, T>(pub &'s mut T);

impl<'de, T: Fields<'de>> DeserializeSeed<'de> for Each<'_, T> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Fields<'de>> Visitor<'de> for Each<'_, T> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_unit<E>(self) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while seq.next_element_seed(Obj(&mut *self.0))?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

/// A member name. Names with escapes (never sent by providers) read as "" and are skipped.
struct Key<'de>(&'de str);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v))
            }
            fn visit_str<E>(self, _: &str) -> Result<Key<'de>, E> {
                Ok(Key(""))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads a whole JSON document (one object) into `fields`.
pub fn read_object<'de, T: Fields<'de>>(json: &'de [u8], fields: &mut T) -> serde_json::Result<()> {
    let mut de = serde_json::Deserializer::from_slice(json);
    Obj(fields).deserialize(&mut de)?;
    de.end()
}

/// Reads the current member as a raw JSON value (a string, number or null: flat values only).
pub fn raw<'de, A: MapAccess<'de>>(map: &mut A) -> Result<&'de RawValue, A::Error> {
    map.next_value::<&'de RawValue>()
}

/// Appends the text of a raw JSON string to `out`, decoding escapes; anything but a string
/// (e.g. `null`) appends nothing. Returns whether it was a string.
pub fn append_json_str(raw: &RawValue, out: &mut String) -> bool {
    let s = raw.get();
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(rel) = memchr::memchr(b'\\', &bytes[i..]) else {
            out.push_str(&inner[i..]);
            break;
        };
        out.push_str(&inner[i..i + rel]);
        i += rel + 1;
        let Some(&esc) = bytes.get(i) else { break };
        i += 1;
        let c = match esc {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => {
                let Some(hi) = hex4(bytes, i) else { break };
                i += 4;
                if (0xD800..0xDC00).contains(&hi)
                    && bytes.get(i) == Some(&b'\\')
                    && bytes.get(i + 1) == Some(&b'u')
                {
                    if let Some(lo) = hex4(bytes, i + 2).filter(|lo| (0xDC00..0xE000).contains(lo))
                    {
                        i += 6;
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        char::from_u32(cp).unwrap_or('\u{FFFD}')
                    } else {
                        '\u{FFFD}'
                    }
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            other => char::from(other),
        };
        out.push(c);
    }
    true
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + (d as char).to_digit(16)?;
    }
    Some(v)
}

/// Sets `slot` from a raw JSON string the first time one is seen.
pub fn set_once(slot: &mut Option<String>, raw: &RawValue) {
    if slot.is_none() {
        let mut s = String::new();
        if append_json_str(raw, &mut s) {
            *slot = Some(s);
        }
    }
}

/// Pushes a raw JSON string onto a list unless it is already there (finish reasons).
pub fn push_unique(list: &mut Vec<String>, raw: &RawValue) {
    let s = raw.get();
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return;
    };
    if !list.iter().any(|r| r == inner) {
        let mut v = String::new();
        append_json_str(raw, &mut v);
        list.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(json: &str) -> String {
        let raw: &RawValue = serde_json::from_str(json).unwrap();
        let mut out = String::new();
        append_json_str(raw, &mut out);
        out
    }

    #[test]
    fn decodes_escapes_like_serde_json() {
        for json in [
            r#""plain""#,
            r#""a\nb\t\"q\" \\ \/ \b\f\r""#,
            r#""\u00e9\u4e2d \ud83c\udf0d end""#,
            r#""héllo 🌍""#,
            r#""""#,
        ] {
            let want: String = serde_json::from_str(json).unwrap();
            assert_eq!(dec(json), want, "{json}");
        }
        assert_eq!(dec("null"), "");
    }

    struct Collect(Vec<String>, usize);
    impl<'de> Fields<'de> for Collect {
        fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
            match key {
                "items" => {
                    self.1 = map.next_value_seed(Each(self))?;
                    Ok(())
                }
                "name" => {
                    let r = raw(map)?;
                    let mut s = String::new();
                    append_json_str(r, &mut s);
                    self.0.push(s);
                    Ok(())
                }
                _ => skip(map),
            }
        }
    }

    #[test]
    fn walks_nested_arrays_of_objects() {
        let mut c = Collect(Vec::new(), 0);
        read_object(br#"{"x":{"deep":[1,{"a":2}]},"items":[{"name":"a"},{"name":"b","z":null}],"items2":null}"#, &mut c)
            .unwrap();
        assert_eq!(c.0, ["a", "b"]);
        let mut c = Collect(Vec::new(), 9);
        read_object(br#"{"items":[]}"#, &mut c).unwrap();
        assert_eq!(c.1, 0);
        assert!(read_object(br#"{"items":[}"#, &mut c).is_err());
    }
}
