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
