//! The behaviour suite every [`ObjectStore`] backend must pass (feature `conformance`).
//!
//! Each check works under its own prefix inside `base`, cleans up after itself, and panics with a
//! message naming the backend and the broken behaviour. A backend that lacks a capability declares
//! it in [`Capabilities`]; the matching checks then verify it reports `NotSupported` instead.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use cloudkit::store::{InMemory, ObjectKey, conformance};
//! conformance::run_all(Arc::new(InMemory::new()), &ObjectKey::parse("conformance").unwrap()).await;
//! # }
//! ```
// This module is a test suite shipped as a library: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::{
    Capabilities, CopyOptions, DownloadOptions, Error, GetOptions, GetRange, ListOptions, ObjectKey, ObjectStore,
    ObjectStoreExt, Progress, PutMode, PutOptions, SignedMethod, UploadOptions,
};

fn k(base: &ObjectKey, rest: &str) -> ObjectKey {
    base.join(rest).unwrap()
}

async fn keys_under(store: &dyn ObjectStore, prefix: &ObjectKey) -> Vec<String> {
    store.list(prefix).map_ok(|m| m.key.to_string()).try_collect().await.unwrap()
}

/// Runs every check against `store`, each under a fresh prefix inside `base`.
pub async fn run_all(store: Arc<dyn ObjectStore>, base: &ObjectKey) {
    let run = format!("run-{:08x}", fastrand::u32(..));
    let base = base.join(&run).unwrap();
    let s = store.as_ref();
    put_get_head_delete(s, &k(&base, "basic")).await;
    awkward_keys(s, &k(&base, "awkward")).await;
    ranges(s, &k(&base, "ranges")).await;
    conditional_put(s, &k(&base, "cond-put")).await;
    conditional_get(s, &k(&base, "cond-get")).await;
    metadata(s, &k(&base, "metadata")).await;
    listing(s, &k(&base, "list")).await;
    list_with_delimiter(s, &k(&base, "delim")).await;
    copy_and_rename(s, &k(&base, "copy")).await;
    onto_itself(s, &k(&base, "self")).await;
    bulk_delete(s, &k(&base, "bulk")).await;
    streaming_upload(s, &k(&base, "upload")).await;
    errors(s, &k(&base, "errors")).await;
    signed_urls(s, &k(&base, "signed")).await;
    assert!(keys_under(s, &base).await.is_empty(), "{}: the suite left objects behind", s.backend());
}

/// put → get → head → delete, with bytes, sizes and entity tags.
pub async fn put_get_head_delete(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "hello.txt");
    let put = store.put(&key, Bytes::from_static(b"hello world")).await.unwrap();
    let got = store.get(&key).await.unwrap();
    assert_eq!(got.meta.size, 11, "{b}: size");
    assert_eq!(got.range, 0..11, "{b}: range of a whole read");
    assert_eq!(&got.bytes().await.unwrap()[..], b"hello world", "{b}: bytes");
    let head = store.head(&key).await.unwrap();
    assert_eq!(head.size, 11, "{b}: head size");
    assert_eq!(head.key, key, "{b}: head key");
    if let (Some(p), Some(h)) = (&put.etag, &head.etag) {
        assert_eq!(p, h, "{b}: the put's etag is the object's etag");
    }
    // overwrite
    store.put(&key, Bytes::from_static(b"v2")).await.unwrap();
    assert_eq!(&store.get(&key).await.unwrap().bytes().await.unwrap()[..], b"v2", "{b}: overwrite");
    // empty object
    let empty = k(base, "empty");
    store.put(&empty, Bytes::new()).await.unwrap();
    assert_eq!(store.head(&empty).await.unwrap().size, 0, "{b}: empty object");
    assert!(store.get(&empty).await.unwrap().bytes().await.unwrap().is_empty());
    store.delete(&key).await.unwrap();
    store.delete(&empty).await.unwrap();
    assert!(store.head(&key).await.unwrap_err().is_not_found(), "{b}: head after delete");
    assert!(!store.exists(&key).await.unwrap());
    store.delete(&key).await.expect("deleting a missing key succeeds");
}

/// Keys with spaces, `+`, `%`, unicode and other characters that need encoding round-trip.
pub async fn awkward_keys(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let names = ["with space", "plus+sign", "percent%20literal", "ünïcødé-✓", "a=b&c", "q?x#y", "tilde~!*'()"];
    for name in names {
        let key = k(base, name);
        store.put(&key, Bytes::from(name.to_owned())).await.unwrap_or_else(|e| panic!("{b}: put {name:?}: {e}"));
        let got = store.get(&key).await.unwrap_or_else(|e| panic!("{b}: get {name:?}: {e}"));
        assert_eq!(&got.bytes().await.unwrap()[..], name.as_bytes(), "{b}: {name:?}");
    }
    let mut listed = keys_under(store, base).await;
    let mut expected: Vec<String> = names.iter().map(|n| k(base, n).to_string()).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected, "{b}: listing returns awkward keys exactly");
    for name in names {
        store.delete(&k(base, name)).await.unwrap();
    }
}

/// Bounded, offset and suffix ranges; an unsatisfiable range is `InvalidRange`.
pub async fn ranges(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "digits");
    store.put(&key, Bytes::from_static(b"0123456789")).await.unwrap();
    assert_eq!(&store.get_range(&key, 2..5).await.unwrap()[..], b"234", "{b}: bounded");
    assert_eq!(&store.get_range(&key, 8..100).await.unwrap()[..], b"89", "{b}: bounded past the end");
    let off =
        store.get_opts(&key, GetOptions { range: Some(GetRange::Offset(7)), ..Default::default() }).await.unwrap();
    assert_eq!(off.range, 7..10, "{b}: offset range");
    assert_eq!(&off.bytes().await.unwrap()[..], b"789");
    let suf =
        store.get_opts(&key, GetOptions { range: Some(GetRange::Suffix(3)), ..Default::default() }).await.unwrap();
    assert_eq!(&suf.bytes().await.unwrap()[..], b"789", "{b}: suffix");
    let bad = store.get_opts(&key, GetOptions { range: Some(GetRange::Offset(20)), ..Default::default() }).await;
    assert!(matches!(bad, Err(Error::InvalidRange { .. })), "{b}: range beyond the end: {bad:?}");
    store.delete(&key).await.unwrap();
}

/// Create-only and if-match writes; a failed condition leaves the object unchanged. A backend
/// that declares no `conditional_put` must refuse both with `NotSupported` and write nothing.
pub async fn conditional_put(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "doc");
    if !store.capabilities().conditional_put {
        let create = store.put_opts(&key, "one".into(), PutOptions::create_only()).await;
        assert!(matches!(create, Err(Error::NotSupported { .. })), "{b}: create-only must not be ignored: {create:?}");
        let if_match =
            store.put_opts(&key, "two".into(), PutOptions::default().mode(PutMode::IfMatch("\"any\"".into()))).await;
        assert!(matches!(if_match, Err(Error::NotSupported { .. })), "{b}: if-match must not be ignored: {if_match:?}");
        assert!(!store.exists(&key).await.unwrap(), "{b}: a refused conditional write wrote something");
        return;
    }
    let first = store.put_opts(&key, "one".into(), PutOptions::create_only()).await.unwrap();
    let second = store.put_opts(&key, "two".into(), PutOptions::create_only()).await;
    assert!(matches!(second, Err(Error::AlreadyExists { .. })), "{b}: create-only on an existing key: {second:?}");
    assert_eq!(&store.get(&key).await.unwrap().bytes().await.unwrap()[..], b"one", "{b}: unchanged");
    let etag = first.etag.clone().or(store.head(&key).await.unwrap().etag).expect("etag");
    let stale =
        store.put_opts(&key, "x".into(), PutOptions::default().mode(PutMode::IfMatch("\"stale\"".into()))).await;
    assert!(matches!(stale, Err(Error::PreconditionFailed { .. })), "{b}: if-match with a stale etag: {stale:?}");
    assert_eq!(
        &store.get(&key).await.unwrap().bytes().await.unwrap()[..],
        b"one",
        "{b}: unchanged after a stale if-match"
    );
    store.put_opts(&key, "three".into(), PutOptions::default().mode(PutMode::IfMatch(etag))).await.unwrap();
    assert_eq!(&store.get(&key).await.unwrap().bytes().await.unwrap()[..], b"three", "{b}: if-match write");
    store.delete(&key).await.unwrap();
}

/// If-match and if-none-match reads.
pub async fn conditional_get(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "doc");
    store.put(&key, "body".into()).await.unwrap();
    let etag = store.head(&key).await.unwrap().etag.expect("backends return an etag");
    let ok = store.get_opts(&key, GetOptions { if_match: Some(etag.clone()), ..Default::default() }).await;
    assert!(ok.is_ok(), "{b}: if-match with the current etag");
    let failed = store.get_opts(&key, GetOptions { if_match: Some("\"nope\"".into()), ..Default::default() }).await;
    assert!(matches!(failed, Err(Error::PreconditionFailed { .. })), "{b}: if-match mismatch: {failed:?}");
    let not_modified = store.get_opts(&key, GetOptions { if_none_match: Some(etag), ..Default::default() }).await;
    assert!(matches!(not_modified, Err(Error::NotModified { .. })), "{b}: if-none-match: {not_modified:?}");
    store.delete(&key).await.unwrap();
}

/// Content type and user metadata round-trip where supported.
pub async fn metadata(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "meta.json");
    // (`runid`, not `run_id`: moto's server turns `_` in header names into `-`; real S3 keeps it.)
    let options =
        PutOptions::default().content_type("application/json").metadata("owner", "team-a").metadata("runid", "42");
    let result = store.put_opts(&key, "{}".into(), options).await;
    if store.capabilities().metadata {
        result.unwrap();
        let head = store.head(&key).await.unwrap();
        assert_eq!(head.content_type.as_deref(), Some("application/json"), "{b}: content type");
        assert_eq!(head.metadata.get("owner").map(String::as_str), Some("team-a"), "{b}: metadata");
        assert_eq!(head.metadata.get("runid").map(String::as_str), Some("42"), "{b}: metadata");
        let get = store.get(&key).await.unwrap();
        assert_eq!(get.meta.content_type.as_deref(), Some("application/json"), "{b}: content type on get");
    } else {
        assert!(matches!(result, Err(Error::NotSupported { .. })), "{b}: metadata must not be dropped silently");
    }
    let bad = store.put_opts(&key, "x".into(), PutOptions::default().metadata("bad key", "v")).await;
    assert!(matches!(bad, Err(Error::InvalidInput { .. })), "{b}: invalid metadata key");
    store.delete(&key).await.unwrap();
}

/// Recursive listing: order, prefixes that are whole segments, start-after.
pub async fn listing(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let names = ["a/1", "a/2", "a/b/3", "ab/4", "c"];
    for n in names {
        store.put(&k(base, n), Bytes::from_static(b"x")).await.unwrap();
    }
    let all = keys_under(store, base).await;
    let expected: Vec<String> = names.iter().map(|n| k(base, n).to_string()).collect();
    assert_eq!(all, expected, "{b}: listing in key order");
    let under_a = keys_under(store, &k(base, "a")).await;
    assert_eq!(
        under_a,
        vec![k(base, "a/1").to_string(), k(base, "a/2").to_string(), k(base, "a/b/3").to_string()],
        "{b}: prefix is a whole segment"
    );
    let after: Vec<String> = store
        .list_opts(base, ListOptions { start_after: Some(k(base, "a/b/3")) })
        .map_ok(|m| m.key.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after, vec![k(base, "ab/4").to_string(), k(base, "c").to_string()], "{b}: start-after");
    let metas: Vec<_> = store.list(base).try_collect().await.unwrap();
    assert!(metas.iter().all(|m| m.size == 1), "{b}: listed sizes");
    assert!(keys_under(store, &k(base, "nothing-here")).await.is_empty(), "{b}: empty listing");
    store.delete_all(names.iter().map(|n| k(base, n)).collect()).await.unwrap();
}

/// One level with delimiter `/`.
pub async fn list_with_delimiter(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let names = ["top.txt", "dir1/a", "dir1/b", "dir2/sub/c", "zz"];
    for n in names {
        store.put(&k(base, n), Bytes::from_static(b"x")).await.unwrap();
    }
    let level = store.list_with_delimiter(base).await.unwrap();
    let objects: Vec<String> = level.objects.iter().map(|m| m.key.to_string()).collect();
    let prefixes: Vec<String> = level.common_prefixes.iter().map(ToString::to_string).collect();
    assert_eq!(objects, vec![k(base, "top.txt").to_string(), k(base, "zz").to_string()], "{b}: objects at this level");
    assert_eq!(prefixes, vec![k(base, "dir1").to_string(), k(base, "dir2").to_string()], "{b}: common prefixes");
    let dir2 = store.list_with_delimiter(&k(base, "dir2")).await.unwrap();
    assert!(dir2.objects.is_empty(), "{b}: dir2 objects");
    assert_eq!(dir2.common_prefixes, vec![k(base, "dir2/sub")], "{b}: nested prefix");
    store.delete_all(names.iter().map(|n| k(base, n)).collect()).await.unwrap();
}

/// Copy (with create-only) and rename.
pub async fn copy_and_rename(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let caps: Capabilities = store.capabilities();
    let src = k(base, "src");
    let dst = k(base, "dst");
    store.put_opts(&src, "payload".into(), PutOptions::default().content_type("text/plain")).await.unwrap();
    store.copy(&src, &dst).await.unwrap();
    assert_eq!(&store.get(&dst).await.unwrap().bytes().await.unwrap()[..], b"payload", "{b}: copy");
    if caps.metadata {
        assert_eq!(
            store.head(&dst).await.unwrap().content_type.as_deref(),
            Some("text/plain"),
            "{b}: copy keeps content type"
        );
    }
    let again = store.copy_opts(&src, &dst, CopyOptions { create_only: true }).await;
    if caps.copy_create_only {
        assert!(matches!(again, Err(Error::AlreadyExists { .. })), "{b}: create-only copy: {again:?}");
    } else {
        assert!(matches!(again, Err(Error::NotSupported { .. })), "{b}: create-only copy must not overwrite silently");
    }
    let moved = k(base, "moved");
    store.rename(&src, &moved).await.unwrap();
    assert!(!store.exists(&src).await.unwrap(), "{b}: rename removes the source");
    assert_eq!(&store.get(&moved).await.unwrap().bytes().await.unwrap()[..], b"payload", "{b}: rename");
    if caps.metadata {
        assert_eq!(
            store.head(&moved).await.unwrap().content_type.as_deref(),
            Some("text/plain"),
            "{b}: rename keeps content type"
        );
    }
    let missing = store.copy(&k(base, "missing"), &k(base, "x")).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })), "{b}: copy of a missing key: {missing:?}");
    store.delete_all(vec![dst, moved]).await.unwrap();
}

/// Renaming or copying a key onto itself is a no-op that keeps the bytes, the content type, the
/// metadata and the entity tag (as `mv a a` keeps the file); a missing key is `NotFound`; with
/// `create_only` the destination exists, so it is `AlreadyExists` (or `NotSupported` where
/// create-only copies are not supported).
pub async fn onto_itself(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let caps = store.capabilities();
    let key = k(base, "same");
    let mut options = PutOptions::default();
    if caps.metadata {
        options = options.content_type("text/plain").metadata("owner", "team-a");
    }
    store.put_opts(&key, "kept".into(), options).await.unwrap();
    let before = store.head(&key).await.unwrap();
    for op in ["rename", "copy"] {
        let result = if op == "rename" { store.rename(&key, &key).await } else { store.copy(&key, &key).await };
        result.unwrap_or_else(|e| panic!("{b}: {op} onto itself: {e}"));
        let got = store.get(&key).await.unwrap_or_else(|e| panic!("{b}: {op} onto itself lost the object: {e}"));
        assert_eq!(got.meta.content_type, before.content_type, "{b}: {op} onto itself keeps the content type");
        assert_eq!(&got.bytes().await.unwrap()[..], b"kept", "{b}: {op} onto itself keeps the bytes");
        let head = store.head(&key).await.unwrap();
        assert_eq!(head.metadata, before.metadata, "{b}: {op} onto itself keeps the metadata");
        assert_eq!(head.content_type, before.content_type, "{b}: {op} onto itself keeps the content type");
        assert_eq!(head.size, 4, "{b}: {op} onto itself keeps the size");
        assert_eq!(head.etag, before.etag, "{b}: {op} onto itself is a no-op (same entity tag)");
    }
    let create_only = CopyOptions { create_only: true };
    for op in ["rename", "copy"] {
        let result = if op == "rename" {
            store.rename_opts(&key, &key, create_only.clone()).await
        } else {
            store.copy_opts(&key, &key, create_only.clone()).await
        };
        if caps.copy_create_only {
            assert!(
                matches!(result, Err(Error::AlreadyExists { .. })),
                "{b}: create-only {op} onto itself: {result:?}"
            );
        } else {
            assert!(matches!(result, Err(Error::NotSupported { .. })), "{b}: create-only {op} onto itself: {result:?}");
        }
    }
    assert_eq!(&store.get(&key).await.unwrap().bytes().await.unwrap()[..], b"kept", "{b}: still there");
    let missing = k(base, "missing");
    let renamed = store.rename(&missing, &missing).await;
    assert!(matches!(renamed, Err(Error::NotFound { .. })), "{b}: rename of a missing key onto itself: {renamed:?}");
    let copied = store.copy(&missing, &missing).await;
    assert!(matches!(copied, Err(Error::NotFound { .. })), "{b}: copy of a missing key onto itself: {copied:?}");
    assert!(!store.exists(&missing).await.unwrap(), "{b}: nothing created");
    store.delete(&key).await.unwrap();
}

/// Listings skip stored names that are not valid keys (with a warning) instead of failing, and
/// never report a prefix that is the level itself. Before calling this, write objects with such
/// names under `base` through the provider's own client or the file system (folder markers such
/// as `<base>/dir/`, `<base>/a//b`, whatever the backend can hold), and remove them afterwards:
/// this check puts valid objects beside them (`<base>/ok/1`, `<base>/z`), lists recursively and
/// level by level, and deletes its own objects.
pub async fn unrepresentable_names_are_skipped(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let valid = [k(base, "ok/1"), k(base, "z")];
    for key in &valid {
        store.put(key, Bytes::from_static(b"x")).await.unwrap();
    }
    let listed: Vec<String> = store
        .list(base)
        .map_ok(|m| m.key.to_string())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{b}: a listing failed on a name that is not a valid key: {e}"));
    let expected: Vec<String> = valid.iter().map(ToString::to_string).collect();
    assert_eq!(listed, expected, "{b}: the listing holds exactly the valid keys");
    let mut levels = vec![base.clone()];
    let mut objects = Vec::new();
    let mut visited = 0;
    while let Some(level) = levels.pop() {
        visited += 1;
        assert!(visited < 100, "{b}: the delimiter listing does not end");
        let result = store.list_with_delimiter(&level).await.unwrap_or_else(|e| {
            panic!("{b}: list_with_delimiter({level}) failed on a name that is not a valid key: {e}")
        });
        objects.extend(result.objects.into_iter().map(|m| m.key.to_string()));
        for prefix in result.common_prefixes {
            assert!(prefix.starts_with(&level) && prefix != level, "{b}: prefix {prefix} listed under {level}");
            levels.push(prefix);
        }
    }
    objects.sort();
    assert_eq!(objects, expected, "{b}: the levels hold exactly the valid keys");
    store.delete_all(valid.to_vec()).await.unwrap();
}

/// Bulk delete reports every key.
pub async fn bulk_delete(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let keys: Vec<ObjectKey> = (0..25).map(|i| k(base, &format!("obj-{i:03}"))).collect();
    futures::stream::iter(keys.clone())
        .map(|key| async move { store.put(&key, Bytes::from_static(b"x")).await })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let mut with_missing = keys.clone();
    with_missing.push(k(base, "never-existed"));
    let results: Vec<_> = store.delete_stream(futures::stream::iter(with_missing.clone()).boxed()).collect().await;
    assert_eq!(results.len(), with_missing.len(), "{b}: one result per key");
    let mut deleted: Vec<String> = results.into_iter().map(|r| r.unwrap().to_string()).collect();
    deleted.sort();
    let mut expected: Vec<String> = with_missing.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(deleted, expected, "{b}: every key reported");
    assert!(keys_under(store, base).await.is_empty(), "{b}: all deleted");
}

/// A streaming upload larger than one part.
pub async fn streaming_upload(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "big.bin");
    let part = 5 * 1024 * 1024;
    let total = part * 2 + 12_345;
    let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    let data = Bytes::from(data);
    let chunks: Vec<std::io::Result<Bytes>> = data.chunks(100_000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let options = UploadOptions { part_size: Some(part), concurrency: 2, ..Default::default() };
    store.upload(&key, futures::stream::iter(chunks).boxed(), options).await.unwrap();
    assert_eq!(store.head(&key).await.unwrap().size, total as u64, "{b}: uploaded size");
    let back = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert!(back == data, "{b}: uploaded bytes differ");
    // create-only applies to uploads too
    let again = store
        .upload(
            &key,
            futures::stream::iter(vec![Ok(Bytes::from_static(b"x"))]).boxed(),
            UploadOptions { put: PutOptions::create_only(), ..Default::default() },
        )
        .await;
    if store.capabilities().conditional_put {
        assert!(matches!(again, Err(Error::AlreadyExists { .. })), "{b}: create-only upload: {again:?}");
    } else {
        assert!(
            matches!(again, Err(Error::NotSupported { .. })),
            "{b}: create-only upload must not be ignored: {again:?}"
        );
    }
    assert_eq!(store.head(&key).await.unwrap().size, total as u64, "{b}: a refused upload left the object unchanged");
    // a failing source does not leave a partial object
    let failing = k(base, "failing.bin");
    let chunks: Vec<std::io::Result<Bytes>> =
        vec![Ok(Bytes::from(vec![1u8; part + 1])), Err(std::io::Error::other("source broke"))];
    let err = store
        .upload(
            &failing,
            futures::stream::iter(chunks).boxed(),
            UploadOptions { part_size: Some(part), ..Default::default() },
        )
        .await;
    assert!(err.is_err(), "{b}: a failing source fails the upload");
    assert!(!store.exists(&failing).await.unwrap(), "{b}: no partial object after a failed upload");
    download_file(store, base, &key, &data).await;
    store.delete(&key).await.unwrap();
}

/// `download_file` of `key` (holding `data`): the bytes, the progress, and on a missing key a
/// typed error that leaves the target as it was and no temporary file behind.
async fn download_file(store: &dyn ObjectStore, base: &ObjectKey, key: &ObjectKey, data: &Bytes) {
    let b = store.backend();
    let dir = std::env::temp_dir().join(format!("cloudkit-conformance-{b}-{:08x}", fastrand::u32(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("big.bin");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options =
        DownloadOptions { concurrency: 3, progress: Some(Arc::new(move |p: Progress| sink.lock().unwrap().push(p))) };
    let size = store.download_file(key, &target, options).await.unwrap();
    assert_eq!(size, data.len() as u64, "{b}: downloaded size");
    assert!(std::fs::read(&target).unwrap() == data.as_ref(), "{b}: downloaded bytes differ");
    let last = seen.lock().unwrap().last().copied();
    assert_eq!(last, Some(Progress { transferred: size, total: Some(size) }), "{b}: progress");
    let missing = k(base, "missing-download");
    let r = store.download_file(&missing, &target, DownloadOptions::default()).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{b}: download of a missing key: {r:?}");
    assert!(std::fs::read(&target).unwrap() == data.as_ref(), "{b}: a failed download changed the target");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "{b}: a failed download left files behind: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Missing objects and invalid input are typed errors.
pub async fn errors(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let missing = k(base, "missing");
    assert!(matches!(store.get(&missing).await, Err(Error::NotFound { .. })), "{b}: get missing");
    assert!(matches!(store.head(&missing).await, Err(Error::NotFound { .. })), "{b}: head missing");
    let root = ObjectKey::root();
    assert!(matches!(store.put(&root, "x".into()).await, Err(Error::InvalidInput { .. })), "{b}: empty key");
}

/// Signed URLs work without credentials where supported, and say `NotSupported` elsewhere.
pub async fn signed_urls(store: &dyn ObjectStore, base: &ObjectKey) {
    let b = store.backend();
    let key = k(base, "shared.txt");
    store.put(&key, "shared".into()).await.unwrap();
    let url = store.signed_url(SignedMethod::Get, &key, Duration::from_secs(300)).await;
    if store.capabilities().signed_urls {
        let url = url.unwrap();
        let http = cloudkit_core::ReqwestSend::new(&cloudkit_core::HttpClientConfig::default()).unwrap();
        let request = cloudkit_core::HttpRequest::new(cloudkit_core::Method::GET, url);
        let response = cloudkit_core::HttpSend::send(&http, request).await.unwrap();
        assert_eq!(response.status.as_u16(), 200, "{b}: signed GET URL");
        assert_eq!(&response.body.collect().await.unwrap()[..], b"shared", "{b}: signed GET body");
        let too_long = store.signed_url(SignedMethod::Get, &key, Duration::from_secs(8 * 24 * 3600)).await;
        assert!(matches!(too_long, Err(Error::InvalidInput { .. })), "{b}: expiry over 7 days");
    } else {
        assert!(matches!(url, Err(Error::NotSupported { .. })), "{b}: {url:?}");
    }
    store.delete(&key).await.unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{InMemory, LocalFileSystem};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_in_process_backends_pass_the_suite() {
        let base = ObjectKey::parse("conformance").unwrap();
        run_all(Arc::new(InMemory::new()), &base).await;
        let dir = std::env::temp_dir().join(format!("cloudkit-suite-{}-{}", std::process::id(), fastrand::u32(..)));
        run_all(Arc::new(LocalFileSystem::create(&dir).await.unwrap()), &base).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // Issue 15, defect 6: file names that are not valid keys are skipped by the local listings.
    #[tokio::test]
    async fn the_local_store_skips_unrepresentable_file_names() {
        let dir = std::env::temp_dir().join(format!("cloudkit-names-{}-{}", std::process::id(), fastrand::u32(..)));
        let store = LocalFileSystem::create(&dir).await.unwrap();
        std::fs::create_dir_all(dir.join("base/back\\slash")).unwrap();
        std::fs::write(dir.join("base/back\\slash/f"), b"x").unwrap();
        std::fs::write(dir.join("base/control\u{1}char"), b"x").unwrap();
        unrepresentable_names_are_skipped(&store, &ObjectKey::parse("base").unwrap()).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
