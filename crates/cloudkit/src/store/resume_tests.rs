//! The store-level resume checks of issue 15 ("resume interrupted downloads"), written once for
//! every cloud backend and run by each on its own canned answers: a `get` whose body breaks off
//! (a reset, then a stall) is resumed from the last byte received with ranged reads pinned to the
//! version first read, returns the whole object with its stored checksum verified over the
//! resumed stream (a corrupt resumed part fails it), and a resume that finds the object replaced
//! is `Error::ObjectChanged`, never a body spliced from two versions.
#![allow(clippy::unwrap_used)]

use cloudkit_core::TransportErrorKind;
use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp};

use super::{Error, ObjectKey, ObjectStore, ObjectStoreExt};

/// 1,000 bytes that differ from one offset to the next.
pub(crate) fn object_bytes() -> Vec<u8> {
    (0..1000u32).map(|i| (i * 7 % 251) as u8).collect()
}

type Answer = Box<dyn Fn(&[u8]) -> Canned>;
type Partial = Box<dyn Fn(&[u8], usize, &[u8]) -> Canned>;
type Check = Box<dyn Fn(&RecordedRequest) -> bool>;

/// What a backend answers and how it pins a resumed read, as its service documents it.
pub(crate) struct Backend {
    /// The whole-object answer for `data` (version one, with its stored checksum).
    whole: Answer,
    /// A 206 answer carrying `body[start..]`, with the headers of version one of `stored` (its
    /// stored checksum is `stored`'s, so a corrupt `body` must fail verification).
    rest: Partial,
    /// The header that carries the range asked for.
    range_header: &'static str,
    /// Whether a request is pinned to version one.
    pinned: Check,
    /// A word the checksum failure's text carries (`checksum`, `md5`).
    checksum_word: &'static str,
}

impl Backend {
    /// A backend whose answers are `whole` and `rest`, ranges in `range_header`, pinned by
    /// `pinned`, and whose checksum failures mention `checksum_word`.
    pub(crate) fn new(
        whole: impl Fn(&[u8]) -> Canned + 'static,
        rest: impl Fn(&[u8], usize, &[u8]) -> Canned + 'static,
        range_header: &'static str,
        pinned: impl Fn(&RecordedRequest) -> bool + 'static,
        checksum_word: &'static str,
    ) -> Self {
        Backend { whole: Box::new(whole), rest: Box::new(rest), range_header, pinned: Box::new(pinned), checksum_word }
    }

    /// A backend pinned by `If-Match: <etag>` (S3, Azure).
    pub(crate) fn if_match(
        whole: impl Fn(&[u8]) -> Canned + 'static,
        rest: impl Fn(&[u8], usize, &[u8]) -> Canned + 'static,
        range_header: &'static str,
        etag: &'static str,
        checksum_word: &'static str,
    ) -> Self {
        let pinned = move |r: &RecordedRequest| r.headers.get("if-match").is_some_and(|v| v == etag);
        Self::new(whole, rest, range_header, pinned, checksum_word)
    }

    fn range(&self, r: &RecordedRequest) -> Option<String> {
        r.headers.get(self.range_header).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// The two resume tests of a backend module: `$broken` (a broken body resumed, pinned and
/// verified) and `$replaced` (every answer of `$answers` to the pinned resume is
/// `ObjectChanged`), on the store `resuming_store(&http).await` and the `Backend` `$backend`.
macro_rules! resume_tests {
    ($broken:ident, $replaced:ident, $backend:expr, $answers:expr) => {
        #[tokio::test]
        async fn $broken() {
            let http = Arc::new(ReplayHttp::new());
            let s = resuming_store(&http).await;
            crate::store::resume_tests::a_broken_get_resumes_pinned(&s, &http, &$backend).await;
        }

        #[tokio::test]
        async fn $replaced() {
            for answer in $answers {
                let http = Arc::new(ReplayHttp::new());
                let s = resuming_store(&http).await;
                crate::store::resume_tests::a_replaced_object_is_object_changed(&s, &http, &$backend, answer).await;
            }
        }
    };
}
pub(crate) use resume_tests;

/// A broken body is resumed twice from the last byte, pinned, and verified as a whole.
pub(crate) async fn a_broken_get_resumes_pinned(store: &dyn ObjectStore, http: &ReplayHttp, b: &Backend) {
    let data = object_bytes();
    let key = ObjectKey::parse("big").unwrap();
    http.push((b.whole)(&data).with_body_cut(300, TransportErrorKind::Body));
    http.push((b.rest)(&data, 300, &data).with_body_cut(200, TransportErrorKind::Timeout));
    http.push((b.rest)(&data, 500, &data));
    let got = store.get(&key).await.unwrap();
    assert_eq!((got.meta.size, got.range.clone()), (1000, 0..1000));
    assert_eq!(&got.bytes().await.unwrap()[..], &data[..]);
    let sent = http.requests();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(b.range(&sent[0]), None);
    assert!(!(b.pinned)(&sent[0]), "the first read takes whatever version there is");
    assert_eq!(b.range(&sent[1]).as_deref(), Some("bytes=300-999"));
    assert_eq!(b.range(&sent[2]).as_deref(), Some("bytes=500-999"));
    assert!(sent[1..].iter().all(|r| (b.pinned)(r)), "{sent:?}");

    // The checksum covers the resumed bytes too.
    let mut corrupt = data.clone();
    corrupt[700] ^= 0x20;
    http.push((b.whole)(&data).with_body_cut(300, TransportErrorKind::Body));
    http.push((b.rest)(&corrupt, 300, &data));
    let e = store.get(&key).await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    let text = format!("{e:?} {e}").to_lowercase();
    assert!(text.contains(b.checksum_word) || text.contains("checksummismatch"), "{e:?}");
}

/// `answer` to the pinned resume (a 412, another version) is `ObjectChanged`, with no further
/// attempt.
pub(crate) async fn a_replaced_object_is_object_changed(
    store: &dyn ObjectStore,
    http: &ReplayHttp,
    b: &Backend,
    answer: Canned,
) {
    let data = object_bytes();
    let key = ObjectKey::parse("big").unwrap();
    http.push((b.whole)(&data).with_body_cut(300, TransportErrorKind::Body));
    http.push(answer);
    let e = store.get(&key).await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(&e, Error::ObjectChanged { key, .. } if key == "big"), "{e:?}");
    assert!((b.pinned)(&http.requests()[1]));
    assert_eq!(http.requests().len(), 2, "no further attempt on another version");
}
