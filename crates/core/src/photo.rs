//! A contact's photo: which images are accepted and how large. The type is read from the
//! image's first bytes, never from what a client or a file declares, so a stored photo is
//! always served as what it is. Photos are kept as given (no re-encoding).

use std::fmt;

/// The largest photo accepted, decoded (a vCard's base64 is about a third larger).
pub const MAX_PHOTO_BYTES: usize = 256 * 1024;

/// The image types a photo may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoType {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl PhotoType {
    pub const ALL: [PhotoType; 4] = [PhotoType::Jpeg, PhotoType::Png, PhotoType::Gif, PhotoType::Webp];

    /// The type the image's magic bytes say, if one of ours.
    pub fn sniff(bytes: &[u8]) -> Option<PhotoType> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(PhotoType::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(PhotoType::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(PhotoType::Gif),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(PhotoType::Webp),
            _ => None,
        }
    }

    /// A declared type: a media type (`image/jpeg`) or a vCard `TYPE` (`JPEG`, `jpg`).
    /// `None` for anything else (which then says nothing about the image).
    pub fn from_declared(declared: &str) -> Option<PhotoType> {
        let name = declared.trim().to_ascii_lowercase();
        let name = name.split(';').next().unwrap_or_default().trim();
        match name.strip_prefix("image/").unwrap_or(name) {
            "jpeg" | "jpg" | "pjpeg" => Some(PhotoType::Jpeg),
            "png" | "x-png" => Some(PhotoType::Png),
            "gif" => Some(PhotoType::Gif),
            "webp" => Some(PhotoType::Webp),
            _ => None,
        }
    }

    pub fn from_media_type(media_type: &str) -> Option<PhotoType> {
        PhotoType::ALL.into_iter().find(|kind| kind.media_type() == media_type)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            PhotoType::Jpeg => "image/jpeg",
            PhotoType::Png => "image/png",
            PhotoType::Gif => "image/gif",
            PhotoType::Webp => "image/webp",
        }
    }

    /// The image format's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            PhotoType::Webp => "WebP",
            other => other.vcard_name(),
        }
    }

    /// The name vCard 2.1 and 3.0 give it in `TYPE`.
    pub fn vcard_name(self) -> &'static str {
        match self {
            PhotoType::Jpeg => "JPEG",
            PhotoType::Png => "PNG",
            PhotoType::Gif => "GIF",
            PhotoType::Webp => "WEBP",
        }
    }
}

/// Why an image is not accepted as a photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoError {
    Empty,
    TooLarge {
        size: usize,
    },
    /// Not a JPEG, PNG, GIF or WebP image.
    Unrecognised,
    /// Declared as one image type, but is another.
    Mismatch {
        declared: PhotoType,
        found: PhotoType,
    },
}

impl fmt::Display for PhotoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhotoError::Empty => f.write_str("the photo is empty"),
            PhotoError::TooLarge { size } => write!(
                f,
                "the photo is {} KiB; a photo may be at most {} KiB",
                size.div_ceil(1024),
                MAX_PHOTO_BYTES / 1024
            ),
            PhotoError::Unrecognised => f.write_str("the photo must be a JPEG, PNG, GIF or WebP image"),
            PhotoError::Mismatch { declared, found } => {
                write!(f, "the photo is declared as {} but is a {} image", declared.media_type(), found.name())
            }
        }
    }
}

impl std::error::Error for PhotoError {}

/// An accepted photo: one of our image types, within the size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    kind: PhotoType,
    bytes: Vec<u8>,
}

impl Photo {
    /// Accepts `bytes` as a photo. A `declared` type that names an image type must be the
    /// one the bytes are; one that names none (`application/octet-stream`) is ignored.
    pub fn check(bytes: Vec<u8>, declared: Option<&str>) -> Result<Photo, PhotoError> {
        if bytes.is_empty() {
            return Err(PhotoError::Empty);
        }
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge { size: bytes.len() });
        }
        let kind = PhotoType::sniff(&bytes).ok_or(PhotoError::Unrecognised)?;
        match declared.and_then(PhotoType::from_declared) {
            Some(declared) if declared != kind => Err(PhotoError::Mismatch { declared, found: kind }),
            _ => Ok(Photo { kind, bytes }),
        }
    }

    pub fn kind(&self) -> PhotoType {
        self.kind
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_bytes_decide_the_type() {
        assert_eq!(PhotoType::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some(PhotoType::Jpeg));
        assert_eq!(PhotoType::sniff(PNG), Some(PhotoType::Png));
        assert_eq!(PhotoType::sniff(b"GIF89a\x01\0"), Some(PhotoType::Gif));
        assert_eq!(PhotoType::sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(PhotoType::Webp));
        assert_eq!(PhotoType::sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(PhotoType::sniff(b"<svg xmlns="), None);
        let photo = Photo::check(PNG.to_vec(), Some("application/octet-stream")).unwrap();
        assert_eq!(photo.kind().media_type(), "image/png");
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(Photo::check(Vec::new(), None), Err(PhotoError::Empty));
        assert_eq!(Photo::check(b"<svg/>".to_vec(), Some("image/svg+xml")), Err(PhotoError::Unrecognised));
        let mismatch = Photo::check(PNG.to_vec(), Some("JPEG")).unwrap_err();
        assert_eq!(mismatch.to_string(), "the photo is declared as image/jpeg but is a PNG image");
        let mut large = PNG.to_vec();
        large.resize(MAX_PHOTO_BYTES + 1, 0);
        let too_large = Photo::check(large, None).unwrap_err();
        assert_eq!(too_large.to_string(), "the photo is 257 KiB; a photo may be at most 256 KiB");
        let mut largest = PNG.to_vec();
        largest.resize(MAX_PHOTO_BYTES, 0);
        assert!(Photo::check(largest, Some("image/png")).is_ok());
    }
}
