//! One vCard line: `group.NAME;PARAM=value;BARE:value`, then the value's text.

use encoding_rs::Encoding;

use crate::charset::Charset;

pub(crate) struct Property {
    /// Apple's `item1` in `item1.TEL`, lowercased.
    pub group: Option<String>,
    /// Uppercased.
    pub name: String,
    /// Uppercased names; a vCard 2.1 bare parameter (`TEL;WORK;VOICE`) is a `TYPE`.
    pub params: Vec<(String, String)>,
    /// The name with its group and each parameter as written, to keep the property verbatim.
    raw_name: String,
    raw_params: Vec<String>,
    value: Vec<u8>,
}

/// Splits at `sep` bytes outside double quotes.
fn split_unquoted(bytes: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        match *b {
            b'"' => quoted = !quoted,
            b if b == sep && !quoted => {
                parts.push(&bytes[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&bytes[start..]);
    parts
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

impl Property {
    /// `None` for a line without a `:` (not a property; ignored).
    pub fn parse(line: &[u8]) -> Option<Property> {
        let mut quoted = false;
        let colon = line.iter().position(|b| {
            quoted ^= *b == b'"';
            *b == b':' && !quoted
        })?;
        let head = split_unquoted(&line[..colon], b';');
        let full_name = text_of(head[0]);
        let (group, name) = match full_name.rsplit_once('.') {
            Some((group, name)) => (Some(group.to_lowercase()), name.to_uppercase()),
            None => (None, full_name.to_uppercase()),
        };
        let raw_params = head[1..].iter().filter(|p| !p.is_empty()).map(|p| text_of(p)).collect();
        let params = head[1..]
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| match p.iter().position(|b| *b == b'=') {
                Some(eq) => (text_of(&p[..eq]).to_uppercase(), text_of(&p[eq + 1..]).replace('"', "")),
                None => ("TYPE".to_string(), text_of(p)),
            })
            .collect();
        Some(Property { group, name, params, raw_name: full_name, raw_params, value: line[colon + 1..].to_vec() })
    }

    /// The name, group and parameters as written, without those about the value's bytes
    /// (`ENCODING`, `CHARSET`: a kept value is decoded, and written back as UTF-8).
    pub fn verbatim_head(&self) -> String {
        let about_bytes = |p: &str| {
            let name = p.split('=').next().unwrap_or("").trim();
            ["ENCODING", "CHARSET", "QUOTED-PRINTABLE", "8BIT"].iter().any(|n| n.eq_ignore_ascii_case(name))
        };
        let mut head = self.raw_name.clone();
        for param in self.raw_params.iter().filter(|p| !about_bytes(p)) {
            head.push(';');
            head.push_str(param);
        }
        head
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every `TYPE`, lowercased: `TYPE=work,voice`, `type=CELL;type=pref`, 2.1 `WORK;FAX`.
    pub fn types(&self) -> Vec<String> {
        self.params
            .iter()
            .filter(|(n, _)| n == "TYPE")
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// The value's bytes as written (for binary values).
    pub fn raw_value(&self) -> &[u8] {
        self.value.trim_ascii()
    }

    pub fn value_starts_with(&self, start: &[u8]) -> bool {
        self.raw_value().get(..start.len()).is_some_and(|head| head.eq_ignore_ascii_case(start))
    }

    /// Whether the value starts like a URI (`https:`, `cid:`…): a scheme, then `:`.
    pub fn value_has_scheme(&self) -> bool {
        let value = self.raw_value();
        let Some(colon) = value.iter().position(|b| *b == b':') else { return false };
        let scheme = &value[..colon];
        scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    }

    fn is_quoted_printable(&self) -> bool {
        let qp = |v: &str| v.eq_ignore_ascii_case("QUOTED-PRINTABLE");
        self.param("ENCODING").is_some_and(qp) || self.types().iter().any(|t| qp(t))
    }

    /// The raw value as text, decoded but not unescaped. vCard 4.0 is always UTF-8;
    /// otherwise a `CHARSET` parameter wins over the file's encoding.
    pub fn raw_text(&self, version4: bool, file_charset: Charset) -> Result<String, String> {
        let bytes = if self.is_quoted_printable() { quoted_printable(&self.value) } else { self.value.clone() };
        let charset = match self.param("CHARSET") {
            _ if version4 => Charset::Utf8,
            Some(label) => Encoding::for_label(label.as_bytes())
                .map(Charset::from_encoding)
                .ok_or_else(|| format!("has an unknown CHARSET \"{label}\""))?,
            None => file_charset,
        };
        charset.decode(&bytes)
    }
}

/// `=XX` to a byte; a `=` not followed by two hex digits stays as it is.
fn quoted_printable(value: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'='
            && let (Some(hi), Some(lo)) =
                (value.get(i + 1).and_then(|b| hex(*b)), value.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(value[i]);
        i += 1;
    }
    out
}

/// Undoes vCard text escapes: `\n` `\N` `\,` `\;` `\:` `\\`. Another backslash is kept.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(c @ (',' | ';' | ':' | '\\')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A structured value (`N`, `ADR`, `ORG`): split at unescaped `;`, each part unescaped.
pub(crate) fn structured(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ';' => {
                parts.push(unescape(&text[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(unescape(&text[start..]));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1252;

    const UTF8: Charset = Charset::Utf8;
    const CP1252: Charset = Charset::Other(WINDOWS_1252);

    #[test]
    fn parses_groups_params_and_bare_types() {
        let p = Property::parse(b"item1.TEL;type=CELL;type=pref:+1 206").unwrap();
        assert_eq!((p.group.as_deref(), p.name.as_str()), (Some("item1"), "TEL"));
        assert_eq!(p.types(), ["cell", "pref"]);
        let p = Property::parse(b"TEL;WORK;VOICE:555").unwrap();
        assert_eq!(p.types(), ["work", "voice"]);
        let p = Property::parse(b"TEL;TYPE=\"work,voice\";VALUE=uri:tel:+1-555").unwrap();
        assert_eq!(p.types(), ["work", "voice"]);
        assert_eq!(p.raw_text(true, UTF8).unwrap(), "tel:+1-555");
        assert!(Property::parse(b"no colon here").is_none());
        let p = Property::parse(b"item5.X-SocialProfile;type=twitter;CHARSET=UTF-8:x").unwrap();
        assert_eq!(p.verbatim_head(), "item5.X-SocialProfile;type=twitter");
    }

    #[test]
    fn quoted_printable_with_charsets() {
        let p = Property::parse(b"N;CHARSET=windows-1252;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen").unwrap();
        assert_eq!(p.raw_text(false, UTF8).unwrap(), "Müller;Jürgen");
        let p = Property::parse(b"NOTE;CHARSET=UTF-8;QUOTED-PRINTABLE:Gr=C3=BC=C3=9Fe =3D=0D=0A").unwrap();
        assert_eq!(p.raw_text(false, CP1252).unwrap(), "Grüße =\r\n");
        let p = Property::parse(b"NOTE;CHARSET=UTF-8:Gr\xfc").unwrap();
        assert_eq!(p.raw_text(false, CP1252).unwrap_err(), "is not valid UTF-8 (byte 0xFC after \"Gr\")");
    }

    #[test]
    fn escapes_and_structured_values() {
        assert_eq!(unescape(r"a\,b\;c\nd\\e\x"), "a,b;c\nd\\e\\x");
        assert_eq!(structured(r"Lee\;Smith;Ann;;Dr.;"), ["Lee;Smith", "Ann", "", "Dr.", ""]);
        assert_eq!(structured(r"a\\;b"), ["a\\", "b"]);
    }
}
