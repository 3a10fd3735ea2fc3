//! A card's `PHOTO`: inline images are decoded for the app to check and store; a photo
//! given by URL is never fetched (a file must not make the server call an address), and
//! is kept as it came, like any other property.

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use super::parse::Property;
use crate::FilePhoto;

/// Base64 as cards write it: padded or not.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `PHOTO;VALUE=uri:…`, 2.1 `VALUE=URL`, or a 4.0 value that is a URI other than `data:`.
pub(super) fn is_linked(p: &Property) -> bool {
    let value = p.param("VALUE").map(|v| v.to_ascii_lowercase());
    if matches!(value.as_deref(), Some("uri" | "url")) {
        return !p.value_starts_with(b"data:");
    }
    let inline = p.param("ENCODING").is_some() || p.value_starts_with(b"data:");
    !inline && p.value_has_scheme()
}

/// The image of an inline `PHOTO`: 2.1 `ENCODING=BASE64;JPEG`, 3.0 `ENCODING=b;TYPE=JPEG`,
/// 4.0 `data:image/jpeg;base64,…`. `Err` says why it cannot be read.
pub(super) fn inline_photo(p: &Property) -> Result<FilePhoto, String> {
    let value = p.raw_value();
    if let Some(uri) = value.strip_prefix(b"data:") {
        let comma = uri.iter().position(|b| *b == b',').ok_or("the photo's data URI has no `,`")?;
        let meta = String::from_utf8_lossy(&uri[..comma]).trim().to_string();
        let Some(media_type) = meta.strip_suffix(";base64") else {
            return Err("the photo's data URI is not base64".into());
        };
        let declared = Some(media_type.to_string()).filter(|t| !t.is_empty());
        return Ok(FilePhoto { declared, bytes: decode(&uri[comma + 1..])? });
    }
    let declared = p.types().into_iter().find(|t| t != "pref");
    Ok(FilePhoto { declared, bytes: decode(value)? })
}

fn decode(text: &[u8]) -> Result<Vec<u8>, String> {
    let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    LENIENT.decode(&compact).map_err(|_| "the photo is not valid base64".to_string())
}

/// Base64 for a vCard: standard, padded.
pub(crate) fn encode(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}
