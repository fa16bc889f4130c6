//! Signing tests: AWS's published examples, an independent canonical-request check for awkward S3
//! keys, payload modes, session tokens, presigning limits, redaction and the pipeline signer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cloudkit_core::{Body, FileRegion, HeaderMap, HttpRequest, Method, SecretString, Sign, SignError, Url};
use sha2::{Digest, Sha256};

use super::*;

// The example key of the S3 SigV4 documentation ("Examples: Signature Calculations in AWS
// Signature Version 4"), at 20130524T000000Z.
const S3_DOC_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const S3_DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const S3_DOC_TIME: u64 = 1_369_353_600; // 2013-05-24T00:00:00Z
// The key of the SigV4 test suite (get-vanilla & co.), at 20150830T123600Z.
const SUITE_KEY_ID: &str = "AKIDEXAMPLE";
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_TIME: u64 = 1_440_938_160; // 2015-08-30T12:36:00Z
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn doc_creds() -> Credentials {
    Credentials::from_keys(S3_DOC_KEY_ID, S3_DOC_SECRET)
}

fn s3_doc_settings() -> SigningSettings {
    SigningSettings::s3("us-east-1").with_time(at(S3_DOC_TIME))
}

fn request(method: Method, url: &str) -> HttpRequest {
    HttpRequest::new(method, Url::parse(url).unwrap())
}

fn header<'a>(r: &'a HttpRequest, name: &str) -> &'a str {
    r.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}

fn signature(r: &HttpRequest) -> &str {
    header(r, "authorization").rsplit_once("Signature=").unwrap().1
}

fn signed_headers(r: &HttpRequest) -> &str {
    let auth = header(r, "authorization");
    let rest = auth.split_once("SignedHeaders=").unwrap().1;
    rest.split_once(',').unwrap().0
}

// --- AWS's published examples --------------------------------------------------------------

#[test]
fn s3_doc_get_object() {
    let mut r =
        request(Method::GET, "https://examplebucket.s3.amazonaws.com/test.txt").header("range", "bytes=0-9").unwrap();
    sign_request(&mut r, &doc_creds(), &s3_doc_settings()).unwrap();
    assert_eq!(header(&r, "x-amz-date"), "20130524T000000Z");
    assert_eq!(header(&r, "x-amz-content-sha256"), EMPTY_SHA256);
    assert_eq!(signed_headers(&r), "host;range;x-amz-content-sha256;x-amz-date");
    assert!(
        header(&r, "authorization")
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ")
    );
    assert_eq!(signature(&r), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

#[test]
fn s3_doc_put_object_with_a_dollar_in_the_key() {
    let mut r = request(Method::PUT, "https://examplebucket.s3.amazonaws.com/test$file.text")
        .header("date", "Fri, 24 May 2013 00:00:00 GMT")
        .unwrap()
        .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
        .unwrap()
        .with_body("Welcome to Amazon S3.");
    sign_request(&mut r, &doc_creds(), &s3_doc_settings()).unwrap();
    // `$` is encoded once, in the URL that is sent and in the signature.
    assert_eq!(r.url.path(), "/test%24file.text");
    assert_eq!(header(&r, "x-amz-content-sha256"), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    assert_eq!(signed_headers(&r), "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
    assert_eq!(signature(&r), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

#[test]
fn s3_doc_get_bucket_lifecycle_and_list_objects() {
    let mut r = request(Method::GET, "https://examplebucket.s3.amazonaws.com/?lifecycle");
    sign_request(&mut r, &doc_creds(), &s3_doc_settings()).unwrap();
    assert_eq!(signature(&r), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    assert_eq!(r.url.query(), Some("lifecycle"));

    let mut r = request(Method::GET, "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J");
    sign_request(&mut r, &doc_creds(), &s3_doc_settings()).unwrap();
    assert_eq!(signature(&r), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

#[test]
fn sigv4_suite_vanilla_requests_for_a_generic_service() {
    let creds = Credentials::from_keys(SUITE_KEY_ID, SUITE_SECRET);
    let settings = SigningSettings::new("us-east-1", "service").with_time(at(SUITE_TIME));
    let cases = [
        (
            Method::GET,
            "https://example.amazonaws.com/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            Method::GET,
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
        (
            Method::POST,
            "https://example.amazonaws.com/",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
    ];
    for (method, url, expected) in cases {
        let mut r = request(method, url);
        sign_request(&mut r, &creds, &settings).unwrap();
        assert_eq!(
            header(&r, "authorization"),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature={expected}"
            ),
            "{url}"
        );
        // not S3: no content-hash header
        assert!(r.headers.get("x-amz-content-sha256").is_none());
    }
}

#[test]
fn s3_doc_presigned_get() {
    let url = Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").unwrap();
    let p = presign(Method::GET, &url, &HeaderMap::new(), &doc_creds(), &s3_doc_settings(), Duration::from_secs(86400))
        .unwrap();
    assert_eq!(
        p.url.as_str(),
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    assert_eq!(p.method, Method::GET);
    assert!(p.headers.is_empty());

    // presigning the presigned URL again replaces the old signature instead of signing it
    let again =
        presign(Method::GET, &p.url, &HeaderMap::new(), &doc_creds(), &s3_doc_settings(), Duration::from_secs(86400))
            .unwrap();
    assert_eq!(again.url, p.url);
}

// --- an independent SigV4 computation, for what the published examples do not cover ----------

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).chain(data.iter().copied()).collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).chain(inner.iter().copied()).collect();
    Sha256::digest(&outer).to_vec()
}

/// The signature of `canonical_request` per the SigV4 specification.
fn expected_signature(secret: &str, date: &str, region: &str, service: &str, canonical_request: &str) -> String {
    let scope = format!("{}/{region}/{service}/aws4_request", &date[..8]);
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), &date.as_bytes()[..8]);
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

#[test]
fn the_independent_computation_agrees_with_the_documentation() {
    let creq = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
                x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(
        expected_signature(S3_DOC_SECRET, "20130524T000000Z", "us-east-1", "s3", creq),
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

#[test]
fn s3_keys_with_spaces_plus_percent_unicode_and_double_slashes_are_encoded_once() {
    // as the url crate builds it from the key "dir//a b+c%é.txt"
    let mut url = Url::parse("http://127.0.0.1:9000/bucket/").unwrap();
    url.path_segments_mut().unwrap().pop_if_empty().extend(["dir", "", "a b+c%é.txt"]);
    let mut r = HttpRequest::new(Method::PUT, url).with_body("data");
    let settings = s3_doc_settings().with_payload(PayloadMode::Unsigned);
    sign_request(&mut r, &doc_creds(), &settings).unwrap();

    let path = "/bucket/dir//a%20b%2Bc%25%C3%A9.txt";
    assert_eq!(r.url.path(), path, "the URL sent is the canonical one");
    assert_eq!(header(&r, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
    let creq = format!(
        "PUT\n{path}\n\nhost:127.0.0.1:9000\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n\
         x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD"
    );
    assert_eq!(signature(&r), expected_signature(S3_DOC_SECRET, "20130524T000000Z", "us-east-1", "s3", &creq));
}

#[test]
fn other_services_double_encode_and_normalize_the_path() {
    let mut r = request(Method::GET, "https://api.example.com/a/./b%20c/../d%20e");
    let settings = SigningSettings::new("eu-west-1", "execute-api").with_time(at(S3_DOC_TIME));
    sign_request(&mut r, &doc_creds(), &settings).unwrap();
    assert_eq!(r.url.path(), "/a/d%20e"); // the url crate resolves dot segments itself
    let creq = "GET\n/a/d%2520e\n\nhost:api.example.com\nx-amz-date:20130524T000000Z\n\nhost;x-amz-date\n\
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(signature(&r), expected_signature(S3_DOC_SECRET, "20130524T000000Z", "eu-west-1", "execute-api", creq));

    // the same key signed with S3 rules is encoded once
    let mut r = request(Method::GET, "https://api.example.com/a/d%20e");
    sign_request(&mut r, &doc_creds(), &settings.clone().with_path_encoding(PathEncoding::S3)).unwrap();
    let creq = "GET\n/a/d%20e\n\nhost:api.example.com\nx-amz-date:20130524T000000Z\n\nhost;x-amz-date\n\
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(signature(&r), expected_signature(S3_DOC_SECRET, "20130524T000000Z", "eu-west-1", "execute-api", creq));
}

#[test]
fn query_plus_signs_are_sent_as_percent_20() {
    let mut r = request(Method::GET, "http://127.0.0.1:9000/bucket?list-type=2&prefix=a+b%2Bc");
    sign_request(&mut r, &doc_creds(), &s3_doc_settings()).unwrap();
    assert_eq!(r.url.query(), Some("list-type=2&prefix=a%20b%2Bc"));
    let creq = format!(
        "GET\n/bucket\nlist-type=2&prefix=a%20b%2Bc\nhost:127.0.0.1:9000\nx-amz-content-sha256:{EMPTY_SHA256}\n\
         x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_eq!(signature(&r), expected_signature(S3_DOC_SECRET, "20130524T000000Z", "us-east-1", "s3", &creq));
}

// --- payload modes, session tokens, re-signing ---------------------------------------------

#[test]
fn payload_modes() {
    let body = "hello";
    let hash = sha256_hex(body.as_bytes());
    let sign_with = |payload: PayloadMode, body: Body, preset: Option<&str>| {
        let mut r = request(Method::PUT, "http://h/b/k").with_body(body);
        if let Some(p) = preset {
            r.insert_header("x-amz-content-sha256", p).unwrap();
        }
        sign_request(&mut r, &doc_creds(), &s3_doc_settings().with_payload(payload)).unwrap();
        header(&r, "x-amz-content-sha256").to_owned()
    };
    assert_eq!(sign_with(PayloadMode::Signed, Body::from(body), None), hash);
    assert_eq!(sign_with(PayloadMode::Unsigned, Body::from(body), None), "UNSIGNED-PAYLOAD");
    assert_eq!(sign_with(PayloadMode::Precomputed(hash.clone()), Body::Empty, None), hash);
    let file = Body::File(FileRegion::new("/nonexistent/never-read", 0, 10));
    assert_eq!(sign_with(PayloadMode::Signed, file.clone(), None), "UNSIGNED-PAYLOAD", "files are not read");
    assert_eq!(sign_with(PayloadMode::Signed, file, Some(&hash)), hash, "a given hash is used for a file");
    // an in-memory body is hashed even if a (wrong) header was there
    assert_eq!(sign_with(PayloadMode::Signed, Body::from(body), Some(EMPTY_SHA256)), hash);
}

#[test]
fn content_hash_header_follows_the_setting_for_other_services() {
    let settings = SigningSettings::new("us-east-1", "sts").with_time(at(S3_DOC_TIME));
    let mut r = request(Method::POST, "https://sts.amazonaws.com/").with_body("Action=GetCallerIdentity");
    sign_request(&mut r, &doc_creds(), &settings).unwrap();
    assert!(r.headers.get("x-amz-content-sha256").is_none());
    let mut r = request(Method::POST, "https://sts.amazonaws.com/").with_body("Action=GetCallerIdentity");
    sign_request(&mut r, &doc_creds(), &settings.with_content_sha256_header(true)).unwrap();
    assert_eq!(header(&r, "x-amz-content-sha256"), sha256_hex(b"Action=GetCallerIdentity"));
    assert!(signed_headers(&r).contains("x-amz-content-sha256"));
}

#[test]
fn session_tokens_are_signed_and_hidden_from_debug() {
    let creds = Credentials::new(S3_DOC_KEY_ID, S3_DOC_SECRET, Some(SecretString::new("TOKEN/with+chars=")), None, "t");
    let mut r = request(Method::GET, "https://examplebucket.s3.amazonaws.com/test.txt");
    sign_request(&mut r, &creds, &s3_doc_settings()).unwrap();
    assert_eq!(header(&r, "x-amz-security-token"), "TOKEN/with+chars=");
    assert_eq!(signed_headers(&r), "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    let shown = format!("{r:?}");
    assert!(!shown.contains("TOKEN/with"), "{shown}");
    assert!(!shown.contains(S3_DOC_SECRET), "{shown}");

    let url = Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").unwrap();
    let p = presign(Method::GET, &url, &HeaderMap::new(), &creds, &s3_doc_settings(), Duration::from_secs(60)).unwrap();
    let token: Vec<_> = p.url.query_pairs().filter(|(k, _)| k == "X-Amz-Security-Token").map(|(_, v)| v).collect();
    assert_eq!(token, ["TOKEN/with+chars="]);
    assert!(p.url.query().unwrap().contains("X-Amz-Security-Token=TOKEN%2Fwith%2Bchars%3D"));
    let shown = format!("{p:?}");
    assert!(!shown.contains("TOKEN") && !shown.contains("X-Amz-Signature"), "{shown}");
}

#[test]
fn signing_again_replaces_the_previous_signature() {
    let mut r =
        request(Method::GET, "https://examplebucket.s3.amazonaws.com/test.txt").header("range", "bytes=0-9").unwrap();
    sign_request(&mut r, &doc_creds(), &s3_doc_settings().with_time(at(S3_DOC_TIME + 3600))).unwrap();
    sign_request(&mut r, &doc_creds(), &s3_doc_settings()).unwrap();
    assert_eq!(r.headers.get_all("authorization").iter().count(), 1);
    assert_eq!(header(&r, "x-amz-date"), "20130524T000000Z");
    assert_eq!(signature(&r), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

#[test]
fn a_different_secret_gives_a_different_signature() {
    let mut a = request(Method::GET, "https://examplebucket.s3.amazonaws.com/test.txt");
    let mut b = a.clone();
    sign_request(&mut a, &doc_creds(), &s3_doc_settings()).unwrap();
    sign_request(&mut b, &Credentials::from_keys(S3_DOC_KEY_ID, "another-secret"), &s3_doc_settings()).unwrap();
    assert_ne!(signature(&a), signature(&b));
}

// --- presigning limits ------------------------------------------------------------------------

#[test]
fn presign_expiry_is_one_second_to_seven_days() {
    let url = Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").unwrap();
    let go = |d: Duration| presign(Method::GET, &url, &HeaderMap::new(), &doc_creds(), &s3_doc_settings(), d);
    assert!(go(Duration::from_secs(1)).is_ok());
    let week = go(MAX_PRESIGN_EXPIRY).unwrap();
    assert!(week.url.query().unwrap().contains("X-Amz-Expires=604800"));
    for bad in [
        Duration::ZERO,
        Duration::from_millis(999),
        Duration::from_secs(604_801),
        MAX_PRESIGN_EXPIRY + Duration::from_nanos(1),
    ] {
        let err = go(bad).unwrap_err();
        assert!(matches!(err, SigningError::InvalidExpiry { expires_in } if expires_in == bad), "{err:?}");
        assert!(err.to_string().contains("7 days"), "{err}");
    }
}

#[test]
fn presigned_urls_carry_no_checksum_and_sign_given_headers() {
    let url = Url::parse("http://127.0.0.1:9000/bucket/up%20load.bin").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/octet-stream".parse().unwrap());
    let p = presign(Method::PUT, &url, &headers, &doc_creds(), &s3_doc_settings(), Duration::from_secs(300)).unwrap();
    let query = p.url.query().unwrap().to_ascii_lowercase();
    for absent in ["checksum", "x-amz-content-sha256", "x-amz-sdk"] {
        assert!(!query.contains(absent), "{query}");
    }
    assert!(query.contains("x-amz-signedheaders=content-type%3bhost"), "{query}");
    assert_eq!(p.headers, headers);
    assert_eq!(p.method, Method::PUT);

    let creq = "PUT\n/bucket/up%20load.bin\nX-Amz-Algorithm=AWS4-HMAC-SHA256\
                &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
                &X-Amz-Date=20130524T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=content-type%3Bhost\n\
                content-type:application/octet-stream\nhost:127.0.0.1:9000\n\ncontent-type;host\nUNSIGNED-PAYLOAD";
    let sig = p.url.query_pairs().find(|(k, _)| k == "X-Amz-Signature").unwrap().1.into_owned();
    assert_eq!(sig, expected_signature(S3_DOC_SECRET, "20130524T000000Z", "us-east-1", "s3", creq));
}

// --- errors -----------------------------------------------------------------------------------

#[test]
fn bad_input_is_a_typed_error_without_secrets() {
    let creds = Credentials::new(S3_DOC_KEY_ID, S3_DOC_SECRET, Some(SecretString::new("SESSIONTOKEN")), None, "t");
    let mut r = request(Method::GET, "https://h/k");
    r.headers
        .insert("x-amz-meta-note", cloudkit_core::HeaderValue::from_bytes("caf\u{e9} secretvalue".as_bytes()).unwrap());
    let err = sign_request(&mut r, &creds, &s3_doc_settings()).unwrap_err();
    assert!(matches!(err, SigningError::InvalidRequest { .. }));
    let text = format!("{err} {err:?}");
    assert!(text.contains("x-amz-meta-note") && !text.contains("secretvalue"), "{text}");

    let mut r = request(Method::GET, "mailto:someone@example.com");
    assert!(matches!(sign_request(&mut r, &creds, &s3_doc_settings()), Err(SigningError::InvalidRequest { .. })));
    let mut r = request(Method::GET, "https://user:pw@h/k");
    assert!(matches!(sign_request(&mut r, &creds, &s3_doc_settings()), Err(SigningError::InvalidRequest { .. })));

    for settings in [
        SigningSettings::new("", "s3"),
        SigningSettings::new("us-east-1", "s 3"),
        SigningSettings::new("us/east", "s3"),
        SigningSettings::s3("us-east-1").with_payload(PayloadMode::Precomputed(String::new())),
        SigningSettings::s3("us-east-1").with_time(SystemTime::UNIX_EPOCH - Duration::from_secs(1)),
    ] {
        let mut r = request(Method::GET, "https://h/k");
        let err = sign_request(&mut r, &creds, &settings).unwrap_err();
        assert!(matches!(err, SigningError::InvalidSettings { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(S3_DOC_SECRET) && !text.contains("SESSIONTOKEN"), "{text}");
    }
}

// --- the pipeline signer ----------------------------------------------------------------------

/// Hands out a new key id on every call, or fails when told to.
#[derive(Debug, Default)]
struct CountingProvider {
    calls: AtomicUsize,
    fail: bool,
}

#[async_trait]
impl ProvideCredentials for CountingProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(CredentialsError::provider_error("counting", "refresh failed", None));
        }
        Ok(Credentials::new(
            format!("AKID{n}"),
            "provider-secret-value",
            Some(SecretString::new("provider-token")),
            None,
            "counting",
        ))
    }
}

#[tokio::test]
async fn sigv4_signer_asks_the_provider_on_every_sign() {
    let provider = Arc::new(CountingProvider::default());
    let signer = SigV4Signer::new(provider.clone(), "us-east-1", "s3");
    assert_eq!(signer.settings().path_encoding, PathEncoding::S3);
    assert!(signer.settings().set_content_sha256_header);
    for n in 0..3 {
        let mut r = request(Method::GET, "http://127.0.0.1:9000/bucket/key");
        signer.sign(&mut r).await.unwrap();
        assert!(header(&r, "authorization").contains(&format!("Credential=AKID{n}/")), "{n}");
        assert_eq!(header(&r, "x-amz-security-token"), "provider-token");
    }
    assert_eq!(provider.calls.load(Ordering::SeqCst), 3);

    let p = signer
        .presign(
            Method::GET,
            &Url::parse("http://127.0.0.1:9000/bucket/key").unwrap(),
            &HeaderMap::new(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(p.url.query().unwrap().contains("AKID3%2F"));
    assert_eq!(provider.calls.load(Ordering::SeqCst), 4);
    let shown = format!("{signer:?}");
    assert!(!shown.contains("provider-secret-value"), "{shown}");
}

#[tokio::test]
async fn sigv4_signer_maps_provider_failures_to_credentials_errors() {
    let provider = Arc::new(CountingProvider { fail: true, ..Default::default() });
    let signer = SigV4Signer::new(provider.clone(), "us-east-1", "sts").with_payload(PayloadMode::Unsigned);
    let mut r = request(Method::POST, "http://127.0.0.1:9000/");
    let err = signer.sign(&mut r).await.unwrap_err();
    assert!(matches!(err, SignError::Credentials(_)), "{err:?}");
    assert!(err.to_string().contains("refresh failed"), "{err}");
    assert!(r.headers.get("authorization").is_none());
    let err = signer.presign(Method::GET, &r.url, &HeaderMap::new(), Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, SignError::Credentials(_)));
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2);

    // a signing failure is a Signing error
    let ok = SigV4Signer::new(Arc::new(doc_creds()), "us-east-1", "s3");
    let err = ok.presign(Method::GET, &r.url, &HeaderMap::new(), Duration::from_secs(8 * 86400)).await.unwrap_err();
    assert!(matches!(err, SignError::Signing(_)), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(S3_DOC_SECRET), "{text}");
}

/// The clock-skew hook: a signer signs with its handle's corrected clock, and a correction made
/// through a clone of the handle applies to the next signature (and presigned URL).
#[tokio::test]
async fn sigv4_signer_signs_with_the_skew_corrected_clock() {
    fn amz_date(secs: u64) -> String {
        let t = cloudkit_core::internal::date::format_iso8601_basic(at(secs)).unwrap();
        t[..13].to_owned() // yyyymmddThhmm: the minute is enough
    }
    let now = || SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let skew = ClockSkew::new();
    let signer = SigV4Signer::new(Arc::new(doc_creds()), "us-east-1", "ec2").with_clock_skew(skew.clone());
    assert_eq!(signer.clock_skew().offset_millis(), 0);

    let mut r = request(Method::GET, "https://ec2.amazonaws.com/");
    signer.sign(&mut r).await.unwrap();
    let unskewed = now();
    assert!([amz_date(unskewed), amz_date(unskewed - 60)].contains(&header(&r, "x-amz-date")[..13].to_owned()));

    skew.set_offset_millis(-2 * 3_600_000); // the service is two hours behind
    signer.sign(&mut r).await.unwrap();
    let behind = now() - 7200;
    assert!(
        [amz_date(behind), amz_date(behind - 60)].contains(&header(&r, "x-amz-date")[..13].to_owned()),
        "{}",
        header(&r, "x-amz-date")
    );
    let p = signer.presign(Method::GET, &r.url, &HeaderMap::new(), Duration::from_secs(60)).await.unwrap();
    let query = p.url.query().unwrap().to_owned();
    assert!(query.contains(&format!("X-Amz-Date={}", &amz_date(behind)[..11])), "{query}");

    // a fixed signing time in the settings still wins
    let fixed = SigV4Signer::with_settings(Arc::new(doc_creds()), s3_doc_settings()).with_clock_skew(skew.clone());
    fixed.sign(&mut r).await.unwrap();
    assert_eq!(header(&r, "x-amz-date"), "20130524T000000Z");

    // an offset that leaves the signable range is a typed error, not a panic
    skew.set_offset_millis(i64::MAX);
    let err = signer.sign(&mut r).await.unwrap_err();
    assert!(matches!(err, SignError::Signing(_)), "{err:?}");
}

/// Issue 16, point 5: after signing, a refused request (401/403 or an AWS authentication code)
/// gets a note naming the credentials' source; other failures none, and no secret ever.
#[tokio::test]
async fn a_refused_request_is_noted_with_the_credentials_source() {
    use cloudkit_core::{ServiceErrorDetails, StatusCode};

    let details = |code: &str| ServiceErrorDetails { code: Some(code.to_owned()), ..Default::default() };
    let creds = Credentials::from_keys("AKIDNOTE", "NOTESECRET").with_source("a test vault");
    let signer = SigV4Signer::new(Arc::new(creds), "us-east-1", "sts");
    assert_eq!(signer.refusal_note(StatusCode::FORBIDDEN, &details("AccessDenied")), None, "nothing signed yet");
    signer.sign(&mut request(Method::GET, "https://sts.amazonaws.com/")).await.unwrap();
    assert_eq!(signer.last_credentials_source().as_deref(), Some("a test vault"));
    let noted = "signed with credentials from a test vault";
    assert_eq!(signer.refusal_note(StatusCode::FORBIDDEN, &details("InvalidClientTokenId")).unwrap(), noted);
    assert_eq!(signer.refusal_note(StatusCode::UNAUTHORIZED, &ServiceErrorDetails::default()).unwrap(), noted);
    assert_eq!(signer.refusal_note(StatusCode::BAD_REQUEST, &details("ExpiredToken")).unwrap(), noted);
    assert_eq!(signer.refusal_note(StatusCode::NOT_FOUND, &details("NoSuchKey")), None);
    assert_eq!(signer.refusal_note(StatusCode::SERVICE_UNAVAILABLE, &details("SlowDown")), None);
    // clones share what was signed last
    assert!(signer.clone().last_credentials_source().is_some());
    let shown = format!("{signer:?}");
    assert!(!shown.contains("NOTESECRET"), "{shown}");
}
