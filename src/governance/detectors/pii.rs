//! Personal data: e-mail, phone numbers, payment cards (Luhn), IBANs (mod-97), US SSNs.

use super::rule::{alnum, isolated, RuleSpec};

pub(crate) fn rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::new(
            "pii.email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}",
            Some(valid_email),
        ),
        // International: `+` country code, then digit groups.
        RuleSpec::new(
            "pii.phone",
            r"\+[1-9][0-9]{0,3}(?:[ .-]?\(?[0-9]{1,5}\)?){1,6}",
            Some(valid_international_phone),
        ),
        // North American: (415) 555-2671, 415-555-2671, 415.555.2671, 415 555 2671.
        RuleSpec::new(
            "pii.phone",
            r"(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}",
            Some(valid_nanp_phone),
        ),
        // European national: 06 12 34 56 78, 020 7946 0958, 030/1234567 (a separator is required).
        RuleSpec::new(
            "pii.phone",
            r"0[1-9][0-9]{0,4}(?:[ ./-][0-9]{2,8}){1,4}",
            Some(valid_national_phone),
        ),
        RuleSpec::new("pii.card", r"[0-9](?:[ -]?[0-9]){12,}", Some(valid_card)),
        RuleSpec::new(
            "pii.iban",
            r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}",
            Some(valid_iban),
        ),
        RuleSpec::new("pii.ssn", r"[0-9]{3}-[0-9]{2}-[0-9]{4}", Some(valid_ssn)),
    ]
}

fn valid_email(text: &str, s: usize, e: usize) -> bool {
    // `icon@2x.png` is a file name, not an address.
    const FILE_TLDS: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp", "ico"];
    let m = &text[s..e];
    let tld = m.rsplit('.').next().unwrap_or("");
    !FILE_TLDS.iter().any(|t| t.eq_ignore_ascii_case(tld)) && !m.starts_with('.')
}

fn digit_count(m: &str) -> usize {
    m.bytes().filter(u8::is_ascii_digit).count()
}

/// Not glued to a longer number: no letter or digit next to it, and no `.`/`-`/`/` that joins
/// another digit (`1.415.555.2671.5`, `2024-123-45-6789`); a sentence's full stop is fine.
fn number_isolated(text: &str, s: usize, e: usize) -> bool {
    let b = text.as_bytes();
    let joiner = |c: u8| matches!(c, b'.' | b'-' | b'/' | b'+');
    // A `+` before belongs to the international rule; a joiner between digits extends the number.
    let glued_before = s > 0 && {
        let c = b[s - 1];
        alnum(c) || c == b'+' || (joiner(c) && s > 1 && b[s - 2].is_ascii_digit())
    };
    let glued_after = b
        .get(e)
        .is_some_and(|&c| alnum(c) || (joiner(c) && b.get(e + 1).is_some_and(u8::is_ascii_digit)));
    !glued_before && !glued_after
}

fn valid_international_phone(text: &str, s: usize, e: usize) -> bool {
    // The greedy match may end in a separator-less `(`; trim trailing punctuation first.
    let m = text[s..e].trim_end_matches(['(', ')', ' ', '.', '-']);
    let e = s + m.len();
    (8..=15).contains(&digit_count(m)) && isolated(text, s, e, alnum)
}

fn valid_nanp_phone(text: &str, s: usize, e: usize) -> bool {
    let m = &text.as_bytes()[s..e];
    // 415-555-2671 / 415.555.2671: both separators alike (415-555.2671 is more likely not a phone).
    let seps_alike = m[0] == b'(' || m[3] == m[7];
    seps_alike && number_isolated(text, s, e)
}

fn valid_national_phone(text: &str, s: usize, e: usize) -> bool {
    let m = &text[s..e];
    let mut seps = m.bytes().filter(|b| !b.is_ascii_digit());
    let first = seps.next();
    let one_kind = first.is_some() && seps.all(|b| Some(b) == first);
    // Dates (01.02.2024, 8 digits) and short codes are too short; long runs are IDs.
    one_kind && (9..=12).contains(&digit_count(m)) && number_isolated(text, s, e)
}

/// Luhn checksum over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn card_like(digits: &[u8]) -> bool {
    // Issuer ranges start with 2 (Mastercard 2-series) to 6; 13–19 digits.
    (13..=19).contains(&digits.len()) && (b'2'..=b'6').contains(&digits[0]) && luhn(digits)
}

fn valid_card(text: &str, s: usize, e: usize) -> bool {
    if !isolated(text, s, e, alnum) {
        return false;
    }
    let m = &text[s..e];
    let groups: Vec<&str> = m.split([' ', '-']).collect();
    if groups.len() == 1 {
        return card_like(m.as_bytes());
    }
    // One separator kind, and groups of card shape (4-4-4-4, 4-6-5, ...), so dates and ranges of
    // short numbers never join into a 16-digit "card".
    let sep = m.bytes().find(|b| !b.is_ascii_digit());
    if m.bytes().any(|b| !b.is_ascii_digit() && Some(b) != sep) {
        return false;
    }
    let mut digits = Vec::with_capacity(19);
    for (i, g) in groups.iter().enumerate() {
        let last = i + 1 == groups.len();
        let shaped = (4..=6).contains(&g.len()) || (last && !g.is_empty());
        if !shaped {
            return false;
        }
        digits.extend_from_slice(g.as_bytes());
        // A card followed by more numbers (an expiry year, a CVV): test each prefix.
        if digits.len() >= 13 && card_like(&digits) {
            return true;
        }
        if digits.len() > 19 {
            return false;
        }
    }
    false
}

/// IBAN length per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

fn valid_iban(text: &str, s: usize, e: usize) -> bool {
    let b = text.as_bytes();
    if s > 0 && alnum(b[s - 1]) {
        return false;
    }
    let m = &text[s..e];
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(cc, _)| m.starts_with(cc)) else {
        return false;
    };
    // Take exactly `len` characters; what follows must not glue onto them.
    let mut chars = Vec::with_capacity(len);
    let mut end = s;
    for (i, b) in m.bytes().enumerate() {
        if chars.len() == len {
            break;
        }
        if b != b' ' {
            chars.push(b);
        }
        end = s + i + 1;
    }
    let glued = b.get(end).is_some_and(|&c| alnum(c));
    chars.len() == len && !glued && mod97_is_1(&chars)
}

/// ISO 7064 mod 97-10 over the rearranged IBAN (letters as 10..35).
pub(crate) fn mod97_is_1(iban: &[u8]) -> bool {
    let (head, tail) = iban.split_at(4);
    let mut r: u32 = 0;
    for &c in tail.iter().chain(head) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r == 1
}

fn valid_ssn(text: &str, s: usize, e: usize) -> bool {
    let b = &text.as_bytes()[s..e];
    let area = &b[0..3];
    let group = &b[4..6];
    let serial = &b[7..11];
    area != b"000"
        && area != b"666"
        && area[0] != b'9'
        && group != b"00"
        && serial != b"0000"
        && number_isolated(text, s, e)
}
