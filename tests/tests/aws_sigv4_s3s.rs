//! SigV4 against s3s-fs, which validates signatures (headers and presigned URLs, expiry included).
//! Needs `scripts/testbed.sh up`; without it the tests fail with that hint.
//!
//! Header-signed requests go through `cloudkit_core::Pipeline` with `SigV4Signer`; presigned URLs are
//! used with plain reqwest and no auth headers, the way a browser or `curl` would.

// Test code: unwrap/panic in the shared helpers are how a test fails (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cloudkit_core::{Body, Error, FileRegion, HeaderMap, HttpRequest, Method, Operation, Pipeline, StatusCode, Url};
use cloudkit_signer::aws::{Credentials, SigV4Signer, SigningSettings, presign};
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{aws, unique_name};

fn endpoint() -> Url {
    Url::parse(&testbed::endpoint(Emulator::S3s)).unwrap()
}

/// Header-signed for S3, one attempt, `<Code>`/`<Message>` parsed from the XML error body.
fn pipeline(credentials: Credentials) -> Pipeline {
    aws::sigv4_pipeline("S3", credentials, "s3")
}

/// `endpoint/bucket/key…` with the key encoded by the url crate, path style.
fn object_url(bucket: &str, key: &str) -> Url {
    let mut url = endpoint();
    url.path_segments_mut().unwrap().pop_if_empty().push(bucket).extend(key.split('/'));
    url
}

async fn create_bucket(p: &Pipeline, bucket: &str) {
    let mut url = endpoint();
    url.path_segments_mut().unwrap().pop_if_empty().push(bucket);
    let resp = p
        .send_buffered(&Operation::new("CreateBucket"), HttpRequest::new(Method::PUT, url))
        .await
        .unwrap_or_else(|e| panic!("signed CreateBucket refused ({e}); is s3s up? run `scripts/testbed.sh up`"));
    assert!(resp.status.is_success(), "{}", resp.status);
}

async fn put(p: &Pipeline, url: &Url, body: Body) -> Result<(), Error> {
    let request = HttpRequest::new(Method::PUT, url.clone()).with_body(body);
    p.send_buffered(&Operation::new("PutObject"), request).await.map(|_| ())
}

async fn get(p: &Pipeline, url: &Url) -> Result<Vec<u8>, Error> {
    let request = HttpRequest::new(Method::GET, url.clone());
    p.send_buffered(&Operation::new("GetObject"), request).await.map(|r| r.body.to_vec())
}

#[tokio::test]
async fn header_signed_put_then_get_with_awkward_keys() {
    let p = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-headers");
    create_bucket(&p, &bucket).await;

    for key in ["plain.txt", "dir/a b+c%d.txt", "unicodé/ü 日本.txt", "x/y~z(1)!$&'=,;:@.bin"] {
        let url = object_url(&bucket, key);
        let body = format!("contents of {key}");
        put(&p, &url, Body::from(body.clone())).await.unwrap_or_else(|e| panic!("PUT {key}: {e}"));
        let got = get(&p, &url).await.unwrap_or_else(|e| panic!("GET {key}: {e}"));
        assert_eq!(String::from_utf8(got).unwrap(), body, "{key}");
    }
}

#[tokio::test]
async fn header_signed_file_body_goes_as_unsigned_payload() {
    let p = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-file");
    create_bucket(&p, &bucket).await;

    let dir = std::env::temp_dir().join(unique_name("cloudkit-sigv4-file"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("part.bin");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &data).unwrap();

    let url = object_url(&bucket, "from/file.bin");
    put(&p, &url, Body::File(FileRegion::new(&path, 1000, 150_000))).await.unwrap();
    assert_eq!(get(&p, &url).await.unwrap(), &data[1000..151_000]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_refused() {
    let good = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-wrong");
    create_bucket(&good, &bucket).await;

    let wrong = pipeline(Credentials::from_keys(aws::s3s_access_key_id(), "not-the-secret"));
    let err = put(&wrong, &object_url(&bucket, "k"), Body::from("x")).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN), "{err}");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err}");
    assert!(!err.is_retryable());
    assert!(!format!("{err} {err:?}").contains("not-the-secret"));
}

fn s3_settings() -> SigningSettings {
    SigningSettings::s3("us-east-1")
}

#[tokio::test]
async fn presigned_put_and_get_work_with_plain_http() {
    let p = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-presign");
    create_bucket(&p, &bucket).await;
    let http = testbed::http_client();
    let creds = aws::s3s_credentials();

    for key in ["presigned.txt", "sp ace/plus+/pct%/é//x.txt"] {
        let url = object_url(&bucket, key);
        let put_url =
            presign(Method::PUT, &url, &HeaderMap::new(), &creds, &s3_settings(), Duration::from_secs(300)).unwrap();
        let resp = http.put(put_url.url.as_str()).body(format!("uploaded {key}")).send().await.unwrap();
        let status = resp.status();
        assert!(status.is_success(), "PUT {key}: {status} {}", resp.text().await.unwrap());

        // through the signer (fresh credentials from its provider)
        let signer = SigV4Signer::new(Arc::new(aws::s3s_credentials()), "us-east-1", "s3");
        let get_url = signer.presign(Method::GET, &url, &HeaderMap::new(), Duration::from_secs(300)).await.unwrap();
        let resp = http.get(get_url.url.as_str()).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {key}");
        assert_eq!(resp.text().await.unwrap(), format!("uploaded {key}"));
    }
}

#[tokio::test]
async fn presigned_put_with_signed_headers_needs_those_headers() {
    let p = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-presign-hdr");
    create_bucket(&p, &bucket).await;
    let http = testbed::http_client();

    let mut headers = HeaderMap::new();
    headers.insert("content-type", "text/plain".parse().unwrap());
    let url = object_url(&bucket, "typed.txt");
    let presigned =
        presign(Method::PUT, &url, &headers, &aws::s3s_credentials(), &s3_settings(), Duration::from_secs(300))
            .unwrap();

    let with = http.put(presigned.url.as_str()).headers(presigned.headers.clone()).body("typed").send().await.unwrap();
    assert!(with.status().is_success(), "{}", with.status());
    let without =
        http.put(presigned.url.as_str()).header("content-type", "image/png").body("typed").send().await.unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tampered_presigned_urls_are_refused() {
    let p = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-tamper");
    create_bucket(&p, &bucket).await;
    let url = object_url(&bucket, "secret.txt");
    put(&p, &url, Body::from("do not leak")).await.unwrap();
    let http = testbed::http_client();

    let presigned = presign(
        Method::GET,
        &url,
        &HeaderMap::new(),
        &aws::s3s_credentials(),
        &s3_settings(),
        Duration::from_secs(300),
    )
    .unwrap();
    // control: the untouched URL works
    let ok = http.get(presigned.url.as_str()).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let rewrite = |f: &dyn Fn(&str, &str) -> (String, String)| {
        let mut u = presigned.url.clone();
        let pairs: Vec<(String, String)> = presigned.url.query_pairs().map(|(k, v)| f(&k, &v)).collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        u
    };
    let flip_last = |s: &str| {
        let mut s = s.to_owned();
        let last = s.pop().unwrap();
        s.push(if last == '0' { '1' } else { '0' });
        s
    };
    let tampered = [
        (
            "signature",
            rewrite(&|k, v| (k.to_owned(), if k == "X-Amz-Signature" { flip_last(v) } else { v.to_owned() })),
        ),
        (
            "expires",
            rewrite(&|k, v| (k.to_owned(), if k == "X-Amz-Expires" { "301".to_owned() } else { v.to_owned() })),
        ),
        (
            "date",
            rewrite(&|k, v| {
                (k.to_owned(), if k == "X-Amz-Date" { flip_last(&v[..v.len() - 1]) + "Z" } else { v.to_owned() })
            }),
        ),
        ("other key", {
            let mut u = presigned.url.clone();
            u.set_path(&format!("/{bucket}/other.txt"));
            u
        }),
        ("extra param", {
            let mut u = presigned.url.clone();
            u.query_pairs_mut().append_pair("response-content-type", "text/html");
            u
        }),
    ];
    for (what, u) in tampered {
        assert_ne!(u, presigned.url, "{what}");
        let resp = http.get(u.as_str()).send().await.unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert!(!body.contains("do not leak"), "{what}");
    }
}

#[tokio::test]
async fn expired_presigned_urls_are_refused() {
    let p = pipeline(aws::s3s_credentials());
    let bucket = unique_name("sigv4-expired");
    create_bucket(&p, &bucket).await;
    let url = object_url(&bucket, "old.txt");
    put(&p, &url, Body::from("old")).await.unwrap();
    let http = testbed::http_client();

    // signed an hour ago, valid for one second
    let settings = s3_settings().with_time(SystemTime::now() - Duration::from_secs(3600));
    let expired =
        presign(Method::GET, &url, &HeaderMap::new(), &aws::s3s_credentials(), &settings, Duration::from_secs(1))
            .unwrap();
    let resp = http.get(expired.url.as_str()).send().await.unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("expired"), "{body}");

    // the same time with a long enough expiry is accepted: the refusal was the expiry
    let valid =
        presign(Method::GET, &url, &HeaderMap::new(), &aws::s3s_credentials(), &settings, Duration::from_secs(7200))
            .unwrap();
    assert_eq!(http.get(valid.url.as_str()).send().await.unwrap().status(), StatusCode::OK);
}
