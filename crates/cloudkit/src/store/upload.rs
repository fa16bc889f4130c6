//! Upload sources: any stream of byte chunks, or any `AsyncRead`.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The bytes of a streaming upload, as a stream of chunks of any size.
pub type UploadSource = BoxStream<'static, std::io::Result<Bytes>>;

/// Chunk size used when reading an `AsyncRead`.
const READ_CHUNK: usize = 256 * 1024;

/// Turns any `AsyncRead` (a file, a socket, a decompressor) into an [`UploadSource`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use futures::TryStreamExt;
/// let source = cloudkit::store::reader_source(&b"some bytes"[..]);
/// let chunks: Vec<_> = source.try_collect().await.unwrap();
/// assert_eq!(chunks.concat(), b"some bytes");
/// # }
/// ```
pub fn reader_source<R>(reader: R) -> UploadSource
where
    R: AsyncRead + Send + Unpin + 'static,
{
    futures::stream::try_unfold(reader, |mut reader| async move {
        let mut buf = BytesMut::zeroed(READ_CHUNK);
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((buf.freeze(), reader)))
    })
    .boxed()
}

/// Reads the next part of exactly `part_size` bytes (the last one may be shorter); `None` at the
/// end. Memory use is one part.
#[allow(dead_code)] // used by the provider backends (S3 multipart uploads)
pub(crate) async fn next_part(
    source: &mut UploadSource,
    pending: &mut BytesMut,
    part_size: usize,
) -> std::io::Result<Option<Bytes>> {
    while pending.len() < part_size {
        match source.next().await {
            Some(chunk) => pending.extend_from_slice(&chunk?),
            None => break,
        }
    }
    if pending.is_empty() {
        return Ok(None);
    }
    let take = pending.len().min(part_size);
    Ok(Some(pending.split_to(take).freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_are_exact_sized() {
        let chunks: Vec<std::io::Result<Bytes>> = (0..10).map(|i| Ok(Bytes::from(vec![i as u8; 7]))).collect();
        let mut source: UploadSource = futures::stream::iter(chunks).boxed();
        let mut pending = BytesMut::new();
        let mut sizes = Vec::new();
        while let Some(part) = next_part(&mut source, &mut pending, 16).await.unwrap() {
            sizes.push(part.len());
        }
        assert_eq!(sizes, vec![16, 16, 16, 16, 6]);
    }
}
