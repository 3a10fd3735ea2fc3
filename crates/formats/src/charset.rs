//! Turning a value's bytes into text.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How the bytes of a value are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// UTF-8 the file declares (a BOM, UTF-16 transcoded to UTF-8, vCard `CHARSET=UTF-8` or
    /// 4.0): invalid bytes are an error for that record.
    Utf8,
    /// UTF-8 guessed from the start of the file: a value further on that is not UTF-8 is
    /// read as Windows-1252 (a file that is ASCII for its first 64 KiB and then has a
    /// Windows "é" is common; Windows-1252 has a character for nearly every byte).
    Utf8OrWindows1252,
    Other(&'static Encoding),
}

impl Charset {
    pub fn from_encoding(encoding: &'static Encoding) -> Charset {
        if encoding == UTF_8 { Charset::Utf8 } else { Charset::Other(encoding) }
    }

    pub fn decode(self, bytes: &[u8]) -> Result<String, String> {
        match self {
            Charset::Other(encoding) => Ok(encoding.decode_without_bom_handling(bytes).0.into_owned()),
            Charset::Utf8OrWindows1252 => Ok(std::str::from_utf8(bytes)
                .map_or_else(|_| WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(), str::to_string)),
            Charset::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|err| {
                let at = err.utf8_error().valid_up_to();
                let before = String::from_utf8_lossy(&bytes[at.saturating_sub(20)..at]);
                format!("is not valid UTF-8 (byte 0x{:02X} after \"{before}\")", bytes[at])
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_utf8_is_strict_and_guessed_utf8_falls_back() {
        assert_eq!(Charset::Utf8.decode(b"caf\xc3\xa9"), Ok("café".into()));
        assert_eq!(Charset::Utf8.decode(b"caf\xe9"), Err("is not valid UTF-8 (byte 0xE9 after \"caf\")".into()));
        assert_eq!(Charset::Utf8OrWindows1252.decode(b"caf\xe9"), Ok("café".into()));
        assert_eq!(Charset::Utf8OrWindows1252.decode(b"caf\xc3\xa9"), Ok("café".into()));
        assert_eq!(Charset::Other(WINDOWS_1252).decode(b"M\xfcller"), Ok("Müller".into()));
    }
}
