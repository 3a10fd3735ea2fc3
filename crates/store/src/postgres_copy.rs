//! PostgreSQL's `COPY … FROM STDIN` in its binary format, for an import's bulk rows
//! (contacts, audit records, the feed rows of new contacts): the server takes each value
//! as the bytes of its type, with no statement of thousands of parameters to parse and
//! bind, and no text to unescape.
//!
//! Binary rather than text: a value needs no escaping at all (tabs, line breaks,
//! backslashes, `\N`, `\.` and anything else in a text are sent as they are, after their
//! length), a NULL is a length of -1, and ids and numbers are not printed and parsed
//! again. Each value must be of its column's exact type (`uuid`, `bigint`, `text`): the
//! server refuses anything else, so a wrong column fails loudly, never silently. A
//! unique violation fails the `COPY` as it fails an `INSERT`.

use sqlx::PgConnection;
use uuid::Uuid;

/// The binary format's signature, then no flags and no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows being written for one `COPY`, in the binary format.
pub(crate) struct CopyRows {
    data: Vec<u8>,
    columns: i16,
    /// Values written to the current row, checked against `columns` in debug builds.
    in_row: i16,
    rows: usize,
}

impl CopyRows {
    pub(crate) fn new(columns: usize, rows_hint: usize) -> CopyRows {
        let columns = i16::try_from(columns).expect("a table has fewer than 32,768 columns");
        let mut data = Vec::with_capacity(HEADER.len() + rows_hint * 64 + 2);
        data.extend_from_slice(HEADER);
        CopyRows { data, columns, in_row: columns, rows: 0 }
    }

    /// Starts a row; its values follow in the columns' order.
    pub(crate) fn row(&mut self) -> &mut Self {
        debug_assert_eq!(self.in_row, self.columns, "the last row has every value");
        self.data.extend_from_slice(&self.columns.to_be_bytes());
        self.in_row = 0;
        self.rows += 1;
        self
    }

    fn value(&mut self, bytes: Option<&[u8]>) -> &mut Self {
        self.in_row += 1;
        match bytes {
            None => self.data.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                let len = i32::try_from(bytes.len()).expect("a value under 1 GB, as the server takes");
                self.data.extend_from_slice(&len.to_be_bytes());
                self.data.extend_from_slice(bytes);
            }
        }
        self
    }

    pub(crate) fn uuid(&mut self, id: Option<Uuid>) -> &mut Self {
        self.value(id.as_ref().map(|id| id.as_bytes().as_slice()))
    }

    pub(crate) fn bigint(&mut self, n: i64) -> &mut Self {
        self.value(Some(&n.to_be_bytes()))
    }

    /// A `text` value: its UTF-8 bytes as they are.
    pub(crate) fn text(&mut self, text: Option<&str>) -> &mut Self {
        self.value(text.map(str::as_bytes))
    }

    /// Sends the rows with `COPY {target} FROM STDIN` (`target`: the table and its columns).
    pub(crate) async fn send(mut self, conn: &mut PgConnection, target: &str) -> sqlx::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        debug_assert_eq!(self.in_row, self.columns, "the last row has every value");
        self.data.extend_from_slice(&(-1i16).to_be_bytes());
        let mut copy = conn.copy_in_raw(&format!("COPY {target} FROM STDIN (FORMAT binary)")).await?;
        let sent = copy.send(self.data).await.map(|_| ());
        if let Err(error) = sent {
            // The connection is in an unknown state: tell the server to stop, keep the first error.
            let _ = copy.abort("the client failed to send the rows").await;
            return Err(error);
        }
        copy.finish().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_framed_as_the_binary_format_says() {
        let mut rows = CopyRows::new(3, 1);
        rows.row().uuid(None).bigint(-2).text(Some("a\tb"));
        let mut expected = HEADER.to_vec();
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&(-2i64).to_be_bytes());
        expected.extend_from_slice(&3i32.to_be_bytes());
        expected.extend_from_slice(b"a\tb");
        assert_eq!(rows.data, expected);
        assert_eq!(HEADER.len(), 19, "11 bytes of signature, 4 of flags, 4 of extension length");
    }
}
