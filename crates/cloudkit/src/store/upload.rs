//! Upload sources: any stream of byte chunks, or any `AsyncRead`.

use bytes::Bytes;
use futures::stream::BoxStream;
use tokio::io::AsyncRead;

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
    cloudkit_core::read_chunks(reader, READ_CHUNK)
}
