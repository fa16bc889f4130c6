//! cloudkit-aws-s3 client against moto (`scripts/testbed.sh up`): every client operation, pagination
//! over more than 1000 keys, delimiter listing, multipart (complete and abort), conditional requests,
//! DeleteObjects partial failure, awkward keys, typed errors and waiters.
//!
//! moto state is shared: every test uses its own bucket (random suffix).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use cloudkit_aws_s3::{
    ChecksumAlgorithm, ChecksumMode, FileRegion, ListEntry, MetadataDirective, PaginationConfig, S3Client, S3Error,
    ServerSideEncryption, Tag,
};
use cloudkit_signer::aws::Credentials;
use cloudkit_tests::{aws, unique_name};
use futures::{StreamExt, TryStreamExt};

async fn empty_and_delete(s3: &S3Client, bucket: &str) {
    let keys = aws::object_keys(s3.list_objects_v2(bucket)).await;
    for chunk in keys.chunks(1000) {
        let out = s3.delete_objects(bucket).keys(chunk.iter().cloned()).quiet(true).send().await.unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
    }
    s3.delete_bucket(bucket).await.unwrap();
}

#[tokio::test]
async fn bucket_lifecycle_and_typed_errors() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3c-bkt").await;
    s3.head_bucket(&b).await.unwrap();
    assert_eq!(s3.get_bucket_location(&b).await.unwrap(), "us-east-1");
    let list = s3.list_buckets().send().await.unwrap();
    assert!(list.buckets.iter().any(|x| x.name == b));

    // re-creating: moto answers like us-east-1 S3 (BucketAlreadyExists) or like other regions
    match s3.create_bucket(&b).send().await {
        Err(S3Error::BucketAlreadyOwnedByYou(_) | S3Error::BucketAlreadyExists(_)) | Ok(_) => {}
        Err(e) => panic!("unexpected: {e:?}"),
    }

    // a bucket outside us-east-1 gets a LocationConstraint
    let eu = unique_name("ck-s3c-eu");
    s3.create_bucket(&eu).location_constraint("eu-west-1").send().await.unwrap();
    assert_eq!(s3.get_bucket_location(&eu).await.unwrap(), "eu-west-1");
    s3.delete_bucket(&eu).await.unwrap();

    s3.put_object(&b, "k").body("x").send().await.unwrap();
    assert!(matches!(s3.delete_bucket(&b).await, Err(S3Error::BucketNotEmpty(_))));
    let e = s3.get_object(&b, "missing").send().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchKey(_)), "{e:?}");
    assert!(e.is_not_found());
    assert!(matches!(s3.head_object(&b, "missing").send().await, Err(S3Error::NotFound(_))));
    assert!(matches!(s3.get_object_tagging(&b, "missing").await, Err(S3Error::NoSuchKey(_))));
    empty_and_delete(&s3, &b).await;
    assert!(matches!(s3.head_bucket(&b).await, Err(S3Error::NotFound(_))));
    assert!(matches!(s3.list_objects_v2(&b).send().await, Err(S3Error::NoSuchBucket(_))));
    assert!(matches!(s3.delete_bucket(&b).await, Err(S3Error::NoSuchBucket(_))));
}

#[tokio::test]
async fn put_get_head_copy_tagging_delete() {
    let s3 = aws::moto_s3_client_with(Some(ChecksumMode::WhenSupported)).await;
    let b = aws::create_bucket(&s3, "ck-s3c-obj").await;
    let put = s3
        .put_object(&b, "docs/report.csv")
        .body("a,b\n1,2\n")
        .content_type("text/csv")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"r.csv\"")
        .content_encoding("identity")
        .content_language("en")
        .metadata("Owner", "finance")
        .metadata("x-trace", "42")
        .storage_class("STANDARD_IA")
        .tag("team", "data eng")
        .tag("path/x", "v=1")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap();
    assert!(put.e_tag.is_some());
    assert_eq!(put.checksum.as_ref().unwrap().0, ChecksumAlgorithm::Crc32c);

    let head = s3.head_object(&b, "docs/report.csv").send().await.unwrap();
    assert_eq!(head.content_length, Some(8));
    assert_eq!(head.content_type.as_deref(), Some("text/csv"));
    assert_eq!(head.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(head.content_disposition.as_deref(), Some("attachment; filename=\"r.csv\""));
    assert_eq!(head.content_language.as_deref(), Some("en"));
    assert_eq!(head.metadata.get("owner").map(String::as_str), Some("finance"));
    assert_eq!(head.metadata.get("x-trace").map(String::as_str), Some("42"));
    assert_eq!(head.storage_class.as_deref(), Some("STANDARD_IA"));
    assert_eq!(head.server_side_encryption, Some(ServerSideEncryption::Aes256));
    assert_eq!(head.e_tag, put.e_tag);

    let got = s3.get_object(&b, "docs/report.csv").send().await.unwrap();
    assert_eq!(got.metadata.content_type.as_deref(), Some("text/csv"));
    let verified = got.checksum_verified;
    assert_eq!(&got.collect().await.unwrap()[..], b"a,b\n1,2\n");
    // moto returns the CRC32C it was given when asked with x-amz-checksum-mode
    assert_eq!(
        verified,
        Some(cloudkit_aws_s3::Verified::Checksum(ChecksumAlgorithm::Crc32c)),
        "the full-object checksum was verified"
    );

    let part = s3.get_object(&b, "docs/report.csv").range(2..=4).send().await.unwrap();
    assert_eq!(part.metadata.content_range.as_deref(), Some("bytes 2-4/8"));
    assert_eq!(part.metadata.object_size(), Some(8));
    assert_eq!(&part.collect().await.unwrap()[..], b"b\n1");
    let tail = s3.get_object(&b, "docs/report.csv").range_suffix(2).send().await.unwrap().collect().await.unwrap();
    assert_eq!(&tail[..], b"2\n");
    let over = s3
        .get_object(&b, "docs/report.csv")
        .response_content_type("application/x-test")
        .response_content_disposition("inline")
        .response_cache_control("no-store")
        .send()
        .await
        .unwrap();
    // moto ignores response-* overrides (accepted, not applied); s3s_client tests check they apply
    assert_eq!(&over.collect().await.unwrap()[..], b"a,b\n1,2\n");

    let mut tags = s3.get_object_tagging(&b, "docs/report.csv").await.unwrap();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(tags, vec![Tag::new("path/x", "v=1"), Tag::new("team", "data eng")]);
    s3.put_object_tagging(&b, "docs/report.csv", &[Tag::new("x", "y = z/1")]).await.unwrap();
    assert_eq!(s3.get_object_tagging(&b, "docs/report.csv").await.unwrap(), vec![Tag::new("x", "y = z/1")]);

    // COPY keeps metadata, REPLACE replaces it
    let c = s3.copy_object(&b, "copy 1").copy_source(&b, "docs/report.csv").send().await.unwrap();
    assert!(c.e_tag.is_some());
    let h1 = s3.head_object(&b, "copy 1").send().await.unwrap();
    assert_eq!(h1.metadata.get("owner").map(String::as_str), Some("finance"));
    assert_eq!(h1.content_type.as_deref(), Some("text/csv"));
    s3.copy_object(&b, "copy 2")
        .copy_source(&b, "docs/report.csv")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/plain")
        .metadata("new", "yes")
        .send()
        .await
        .unwrap();
    let h2 = s3.head_object(&b, "copy 2").send().await.unwrap();
    assert_eq!(h2.content_type.as_deref(), Some("text/plain"));
    assert_eq!(h2.metadata.get("new").map(String::as_str), Some("yes"));
    assert!(!h2.metadata.contains_key("owner"));
    assert_eq!(&s3.get_object(&b, "copy 2").send().await.unwrap().collect().await.unwrap()[..], b"a,b\n1,2\n");
    // (moto ignores x-amz-copy-source-if-match; its header shape is checked by a unit test)
    // copy from a missing source
    let e = s3.copy_object(&b, "copy 4").copy_source(&b, "missing").send().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchKey(_)), "{e:?}");

    s3.delete_object(&b, "copy 1").send().await.unwrap();
    assert!(matches!(s3.head_object(&b, "copy 1").send().await, Err(S3Error::NotFound(_))));
    // deleting a missing key succeeds
    s3.delete_object(&b, "copy 1").send().await.unwrap();
    empty_and_delete(&s3, &b).await;
}

#[tokio::test]
async fn conditional_requests() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3c-cond").await;
    let first = s3.put_object(&b, "once").body("v1").if_none_match_any().send().await.unwrap();
    let e = s3.put_object(&b, "once").body("v2").if_none_match_any().send().await.unwrap_err();
    assert!(matches!(e, S3Error::PreconditionFailed(_)), "create-only refused on the second put: {e:?}");
    let e = s3.put_object(&b, "once").body("v2").if_match("\"0000\"").send().await.unwrap_err();
    assert!(matches!(e, S3Error::PreconditionFailed(_)), "If-Match mismatch: {e:?}");
    let etag = first.e_tag.clone().unwrap();
    s3.put_object(&b, "once").body("v2").if_match(&etag).send().await.unwrap();
    let current = s3.head_object(&b, "once").send().await.unwrap().e_tag.unwrap();

    let e = s3.get_object(&b, "once").if_none_match(&current).send().await.unwrap_err();
    assert!(matches!(e, S3Error::NotModified(_)), "304: {e:?}");
    let e = s3.head_object(&b, "once").if_none_match(&current).send().await.unwrap_err();
    assert!(matches!(e, S3Error::NotModified(_)), "{e:?}");
    let e = s3.get_object(&b, "once").if_match("\"0000\"").send().await.unwrap_err();
    assert!(matches!(e, S3Error::PreconditionFailed(_)), "{e:?}");
    let future = SystemTime::now() + Duration::from_secs(3600);
    let e = s3.get_object(&b, "once").if_modified_since(future).send().await.unwrap_err();
    assert!(matches!(e, S3Error::NotModified(_)), "{e:?}");
    let past = SystemTime::now() - Duration::from_secs(86_400);
    let e = s3.get_object(&b, "once").if_unmodified_since(past).send().await.unwrap_err();
    assert!(matches!(e, S3Error::PreconditionFailed(_)), "{e:?}");
    let ok = s3.get_object(&b, "once").if_match(&current).send().await.unwrap().collect().await.unwrap();
    assert_eq!(&ok[..], b"v2");
    let e = s3.get_object(&b, "once").range(100..=200).send().await.unwrap_err();
    assert!(matches!(e, S3Error::InvalidRange(_)), "{e:?}");
    empty_and_delete(&s3, &b).await;
}

#[tokio::test]
async fn awkward_keys_round_trip() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3c-keys").await;
    let keys = [
        "with space.txt",
        "plus+sign",
        "percent%20literal",
        "unicode/é/中文/ü.bin",
        "double//slash",
        "/leading-slash",
        "question?mark",
        "hash#tag",
        "amp&eq=semi;colon",
        "tilde~star*quote'paren()",
        "trailing/",
        "a...b",
    ];
    for k in keys {
        s3.put_object(&b, k).body(k.to_owned()).send().await.unwrap();
    }
    for k in keys {
        let got = s3.get_object(&b, k).send().await.unwrap().collect().await.unwrap();
        assert_eq!(&got[..], k.as_bytes(), "{k}");
        s3.head_object(&b, k).send().await.unwrap();
    }
    let mut want: Vec<String> = keys.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    for url_encoding in [false, true] {
        let mut listed = aws::object_keys(s3.list_objects_v2(&b).url_encoding(url_encoding)).await;
        listed.sort();
        assert_eq!(listed, want, "keys listed as they were written (encoding-type=url: {url_encoding})");
    }
    // prefix with awkward characters
    let under = aws::object_keys(s3.list_objects_v2(&b).prefix("unicode/é/")).await;
    assert_eq!(under, ["unicode/é/中文/ü.bin"]);
    // copy between awkward keys
    s3.copy_object(&b, "copy of plus+sign").copy_source(&b, "plus+sign").send().await.unwrap();
    assert_eq!(
        &s3.get_object(&b, "copy of plus+sign").send().await.unwrap().collect().await.unwrap()[..],
        b"plus+sign"
    );
    let out = s3.delete_objects(&b).keys(keys).send().await.unwrap();
    assert_eq!(out.deleted.len(), keys.len());
    assert!(out.errors.is_empty());
    empty_and_delete(&s3, &b).await;
}

#[tokio::test]
async fn pagination_over_1050_keys_and_delimiters() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3c-page").await;
    let keys: Vec<String> = (0..1050).map(|i| format!("dir{}/key-{i:05}", i % 3)).collect();
    futures::stream::iter(keys.iter().cloned())
        .map(|k| {
            let s3 = s3.clone();
            let b = b.clone();
            async move { s3.put_object(&b, &k).body(Vec::new()).send().await }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    s3.put_object(&b, "top-level").body("x").send().await.unwrap();

    let pages: Vec<_> = s3.list_objects_v2(&b).into_pages(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(pages.len(), 2, "1051 keys come in a 1000-key page and a 51-key page");
    assert_eq!(pages[0].contents.len(), 1000);
    assert_eq!(pages[1].contents.len(), 51);
    let all = aws::object_keys(s3.list_objects_v2(&b)).await;
    assert_eq!(all.len(), 1051);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "S3 lists in key order");

    // page size and max items
    let few: Vec<ListEntry> = s3
        .list_objects_v2(&b)
        .into_items(PaginationConfig::default().page_size(100).max_items(250))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(few.len(), 250);

    // delimiter: three "directories" and one top-level object
    let page = s3.list_objects_v2(&b).delimiter("/").send().await.unwrap();
    let prefixes: Vec<&str> = page.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
    assert_eq!(prefixes, ["dir0/", "dir1/", "dir2/"]);
    assert_eq!(page.contents.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["top-level"]);
    // prefix + start-after + max-keys
    let page = s3.list_objects_v2(&b).prefix("dir1/").start_after("dir1/key-01000").max_keys(5).send().await.unwrap();
    assert!(page.contents.iter().all(|o| o.key.as_str() > "dir1/key-01000" && o.key.starts_with("dir1/")));
    assert_eq!(page.contents.len(), 5);
    assert!(page.is_truncated);
    // continuation token by hand
    let next = s3
        .list_objects_v2(&b)
        .prefix("dir1/")
        .start_after("dir1/key-01000")
        .max_keys(5)
        .continuation_token(page.next_continuation_token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert!(next.contents[0].key > page.contents[4].key);

    // DeleteObjects refuses more than 1000 keys before sending anything
    let e = s3.delete_objects(&b).keys(all.iter().cloned()).send().await.unwrap_err();
    assert!(e.to_string().contains("at most 1000"), "{e}");
    empty_and_delete(&s3, &b).await;
}

#[tokio::test]
async fn multipart_complete_copy_and_abort() {
    let s3 = aws::moto_s3_client_with(Some(ChecksumMode::WhenSupported)).await;
    let b = aws::create_bucket(&s3, "ck-s3c-mpu").await;
    let dir = std::env::temp_dir().join(unique_name("ck-s3c-mpu"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.bin");
    let data: Vec<u8> =
        (0..(5 * 1024 * 1024 + 12345u32)).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let split = 5 * 1024 * 1024;

    let up = s3
        .create_multipart_upload(&b, "big object")
        .content_type("application/x-big")
        .metadata("m", "1")
        .send()
        .await
        .unwrap();
    let p1 = s3
        .upload_part(&b, "big object", &up.upload_id, 1)
        .body(FileRegion::new(&path, 0, split as u64))
        .send()
        .await
        .unwrap();
    let p2 = s3
        .upload_part(&b, "big object", &up.upload_id, 2)
        .body(cloudkit_core::Bytes::copy_from_slice(&data[split..]))
        .send()
        .await
        .unwrap();
    let uploads: Vec<_> =
        s3.list_multipart_uploads(&b).into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert!(uploads.iter().any(|u| u.upload_id == up.upload_id && u.key == "big object"));
    let parts: Vec<_> = s3
        .list_parts(&b, "big object", &up.upload_id)
        .into_items(PaginationConfig::default().page_size(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2], "paginated one part a page");
    assert_eq!(parts[0].size, split as u64);
    let done = s3
        .complete_multipart_upload(&b, "big object", &up.upload_id)
        .parts([p2.completed_part(2), p1.completed_part(1)])
        .send()
        .await
        .unwrap();
    assert!(done.e_tag.unwrap().ends_with("-2\""));
    let got = s3.get_object(&b, "big object").send().await.unwrap();
    assert_eq!(got.metadata.content_type.as_deref(), Some("application/x-big"));
    assert_eq!(got.metadata.metadata.get("m").map(String::as_str), Some("1"));
    assert!(got.collect().await.unwrap() == data, "multipart object reads back identically");

    // UploadPartCopy: build a copy from two ranges of the object
    let up2 = s3.create_multipart_upload(&b, "copied").send().await.unwrap();
    let c1 = s3
        .upload_part_copy(&b, "copied", &up2.upload_id, 1)
        .copy_source(&b, "big object")
        .copy_source_range(0..=(split as u64 - 1))
        .send()
        .await
        .unwrap();
    let c2 = s3
        .upload_part_copy(&b, "copied", &up2.upload_id, 2)
        .copy_source(&b, "big object")
        .copy_source_range(split as u64..=(data.len() as u64 - 1))
        .send()
        .await
        .unwrap();
    s3.complete_multipart_upload(&b, "copied", &up2.upload_id)
        .parts([c1.completed_part(1), c2.completed_part(2)])
        .send()
        .await
        .unwrap();
    assert!(s3.get_object(&b, "copied").send().await.unwrap().collect().await.unwrap() == data);

    // abort path: parts are gone, the upload is unknown afterwards
    let up3 = s3.create_multipart_upload(&b, "aborted").send().await.unwrap();
    s3.upload_part(&b, "aborted", &up3.upload_id, 1).body("partial").send().await.unwrap();
    s3.abort_multipart_upload(&b, "aborted", &up3.upload_id).send().await.unwrap();
    let e = s3.list_parts(&b, "aborted", &up3.upload_id).send().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchUpload(_)), "{e:?}");
    // (completing an aborted upload: S3 says NoSuchUpload, moto answers 500 (a KeyError), so that
    // mapping is covered by a canned-response unit test instead)
    let uploads: Vec<_> =
        s3.list_multipart_uploads(&b).into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert!(!uploads.iter().any(|u| u.upload_id == up3.upload_id));
    assert!(matches!(s3.head_object(&b, "aborted").send().await, Err(S3Error::NotFound(_))));

    std::fs::remove_dir_all(&dir).unwrap();
    empty_and_delete(&s3, &b).await;
}

#[tokio::test]
async fn delete_objects_reports_per_key_errors() {
    // moto reports a per-key error when a version under an Object Lock legal hold is deleted.
    let s3 = aws::moto_s3_client().await;
    let b = unique_name("ck-s3c-lock");
    s3.create_bucket(&b).object_lock_enabled(true).send().await.unwrap();
    let locked = s3.put_object(&b, "locked").body("keep").object_lock_legal_hold(true).send().await.unwrap();
    let free = s3.put_object(&b, "free").body("go").send().await.unwrap();
    let out = s3
        .delete_objects(&b)
        .object("locked", locked.version_id.clone())
        .object("free", free.version_id.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["free"]);
    assert_eq!(out.errors.len(), 1, "{out:?}");
    assert_eq!(out.errors[0].key, "locked");
    assert!(!out.errors[0].code.is_empty());
    // quiet mode reports only the error
    let out = s3.delete_objects(&b).object("locked", locked.version_id).quiet(true).send().await.unwrap();
    assert!(out.deleted.is_empty());
    assert_eq!(out.errors.len(), 1);
    // (the bucket is left behind: its object is under legal hold)
}

#[tokio::test]
async fn waiters_against_moto() {
    let s3 = aws::moto_s3_client().await;
    let b = unique_name("ck-s3c-wait");
    // A missing bucket is a "retry" state: the waiter polls until its attempts run out.
    let e = s3.wait_until_bucket_exists(&b).delay(Duration::from_millis(100)).max_attempts(3).wait().await.unwrap_err();
    assert_eq!(e.attempts(), 3, "404 is retried, not a failure: {e}");
    // ...and it succeeds once the bucket appears while it waits.
    let waiting = {
        let s3 = s3.clone();
        let b = b.clone();
        tokio::spawn(async move {
            s3.wait_until_bucket_exists(&b)
                .delay(Duration::from_millis(200))
                .max_wait(Duration::from_secs(20))
                .wait()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    s3.create_bucket(&b).send().await.unwrap();
    let done = waiting.await.unwrap().unwrap();
    assert!(done.attempts >= 1);

    s3.put_object(&b, "k").body("x").send().await.unwrap();
    s3.wait_until_object_exists(&b, "k").wait().await.unwrap();
    let e = s3
        .wait_until_object_exists(&b, "never")
        .delay(Duration::from_millis(100))
        .max_attempts(3)
        .wait()
        .await
        .unwrap_err();
    assert_eq!(e.attempts(), 3);
    s3.delete_object(&b, "k").send().await.unwrap();
    s3.wait_until_object_not_exists(&b, "k").wait().await.unwrap();
    s3.delete_bucket(&b).await.unwrap();
    let done = s3.wait_until_bucket_not_exists(&b).wait().await.unwrap();
    assert_eq!(done.attempts, 1);
}

/// The signature-checking moto: keys with spaces, `//` and sub-delimiters are signed exactly as
/// they are sent. (moto's checker itself rejects correctly signed requests whose path or query has
/// other percent-encoded bytes — `+`, `%`, non-ASCII, `/` in a query value — and boto3 is refused
/// the same way, so those keys are covered against s3s-fs, which checks signatures strictly.)
#[tokio::test]
async fn signature_checking_moto_accepts_awkward_keys() {
    let s3 = aws::moto_auth_s3_client(aws::moto_auth_credentials()).await;
    let b = aws::create_bucket(&s3, "ck-s3c-auth").await;
    for k in ["with space", "double//slash", "dir/sub dir/file.txt", "tilde~dash-under_dot."] {
        s3.put_object(&b, k).body(k.to_owned()).send().await.unwrap();
        assert_eq!(&s3.get_object(&b, k).send().await.unwrap().collect().await.unwrap()[..], k.as_bytes(), "{k}");
        s3.head_object(&b, k).send().await.unwrap();
    }
    let page = s3.list_objects_v2(&b).prefix("dir").max_keys(10).send().await.unwrap();
    assert_eq!(page.contents.len(), 1);
    let bad = aws::moto_auth_s3_client(Credentials::from_keys(aws::moto_auth_access_key_id(), "wrong-secret")).await;
    let e = bad.head_bucket(&b).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403), "{e:?}");
    empty_and_delete(&s3, &b).await;
}

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut data = vec![0u8; len];
    cloudkit_tests::XorShift32::new(seed | 1).fill(&mut data);
    data
}

/// Issue 15: a GetObject body that breaks off resumes with a ranged GET pinned by `If-Match`;
/// when the object was replaced in between, moto answers the resume with 412 and the body ends
/// with `ObjectChanged` instead of splicing two versions.
#[tokio::test]
async fn a_broken_get_object_body_resumes_or_reports_the_object_changed() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3c-resume").await;
    let data = pseudo_random(2 * 1024 * 1024 + 5, 3);
    let put = s3.put_object(&b, "big.bin").body(data.clone()).send().await.unwrap();
    let http = aws::BreakingHttp::new([(0, 700_000)]);
    let broken = aws::s3_client_over(&aws::moto_config().await, http.clone(), None);
    // A range resumes within the range.
    let got = broken.get_object(&b, "big.bin").range(1000..=1_999_999).send().await.unwrap().collect().await.unwrap();
    assert!(got[..] == data[1000..2_000_000]);
    let gets = http.gets();
    assert_eq!(gets[1].range.as_deref(), Some("bytes=701000-1999999"));
    assert_eq!(gets[1].if_match, put.e_tag);

    let http = aws::BreakingHttp::new([(0, 700_000)]);
    let broken = aws::s3_client_over(&aws::moto_config().await, http.clone(), None);
    let out = broken.get_object(&b, "big.bin").send().await.unwrap();
    s3.put_object(&b, "big.bin").body(pseudo_random(data.len(), 4)).send().await.unwrap();
    let e = out.collect().await.unwrap_err();
    assert!(matches!(e, S3Error::ObjectChanged(_)), "{e:?}");
    assert_eq!(http.gets().len(), 2, "one resume, refused with 412");
    empty_and_delete(&s3, &b).await;
}

/// Issue 15, defect 9: moto accepts the CRC32C a file body carries by default on a custom endpoint
/// (it stores it without checking it, and returns it with `x-amz-checksum-mode: ENABLED`).
#[tokio::test]
async fn file_bodies_carry_a_crc32c_moto_accepts() {
    let s3 = aws::moto_s3_client().await;
    assert_eq!(s3.checksum_mode(), ChecksumMode::WhenRequired);
    let b = aws::create_bucket(&s3, "ck-s3c-filecrc").await;
    let dir = std::env::temp_dir().join(unique_name("ck-s3c-filecrc"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.bin");
    let data = pseudo_random(100_000, 8);
    std::fs::write(&path, &data).unwrap();
    let put = s3.put_object(&b, "f").body(FileRegion::new(&path, 0, data.len() as u64)).send().await.unwrap();
    let crc = ChecksumAlgorithm::Crc32c.checksum(&data);
    assert_eq!(put.checksum, Some((ChecksumAlgorithm::Crc32c, crc.clone())));
    let head = s3.head_object(&b, "f").send().await.unwrap();
    assert_eq!(head.checksum_crc32c.as_deref(), Some(crc.as_str()));
    let got = s3.get_object(&b, "f").send().await.unwrap();
    assert_eq!(
        got.checksum_verified,
        Some(cloudkit_aws_s3::Verified::Checksum(ChecksumAlgorithm::Crc32c)),
        "WhenRequired asks and verifies"
    );
    assert!(got.collect().await.unwrap() == data);
    std::fs::remove_dir_all(&dir).unwrap();
    empty_and_delete(&s3, &b).await;
}
