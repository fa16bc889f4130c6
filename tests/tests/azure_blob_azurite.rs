//! cloudkit-azure-blob against Azurite (started by `scripts/testbed.sh up`): SharedKey (Azurite
//! 3.37 validates SharedKey signatures against key1/key2, so a wrong key is refused), generated
//! SAS (service, account, user delegation), pagination, a 64 MiB+ block upload with MD5
//! checksums, conditional requests and typed errors. Each test uses its own container.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cloudkit_azure_blob::auth::{
    AccountKey, AccountSas, AccountSasResourceTypes, AccountSasServices, BlobSas, SasPermissions, SasProtocol,
    SasToken, UserDelegationKey,
};
use cloudkit_azure_blob::{
    BlobError, BlobListEntry, BlobServiceClient, Conditions, DeleteSnapshots, DownloadOptions, UploadOptions,
};
use cloudkit_core::Progress;
use cloudkit_paginate::PaginationConfig;
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{azure, unique_name};
use futures::{StreamExt, TryStreamExt};

fn endpoint() -> cloudkit_core::Url {
    testbed::endpoint(Emulator::Azurite).parse().unwrap()
}

async fn service() -> BlobServiceClient {
    azure::blob_service().await
}

/// A client for Azurite authorized by `sas` only.
async fn with_sas(sas: SasToken) -> BlobServiceClient {
    let config = azure::loader().sas(sas).blob_endpoint(endpoint()).load().await.unwrap();
    BlobServiceClient::new(&config).unwrap()
}

fn key() -> AccountKey {
    AccountKey::new(testbed::var("CLOUDKIT_TEST_AZURITE_ACCOUNT"), testbed::var("CLOUDKIT_TEST_AZURITE_ACCOUNT_KEY"))
        .unwrap()
}

/// A container name no other test uses: `ck-{tag}-…`.
fn unique(tag: &str) -> String {
    unique_name(&format!("ck-{tag}"))
}

async fn new_container(tag: &str) -> cloudkit_azure_blob::ContainerClient {
    let c = service().await.container_client(unique(tag));
    c.create().send().await.unwrap();
    c
}

async fn cleanup(c: &cloudkit_azure_blob::ContainerClient) {
    c.delete().await.unwrap();
}

#[tokio::test]
async fn shared_key_round_trip_and_a_wrong_key_is_rejected() {
    let c = new_container("sk").await;
    let b = c.blob_client("dir/hello world+ü.txt");
    let w = b.put("hello azurite").content_type("text/plain").metadata("owner", "ck").send().await.unwrap();
    assert!(w.etag.is_some());
    let got = b.get().send().await.unwrap();
    assert_eq!(got.properties.content_type.as_deref(), Some("text/plain"));
    assert_eq!(got.properties.metadata["owner"], "ck");
    assert_eq!(&got.bytes().await.unwrap()[..], b"hello azurite");
    assert!(b.exists().await.unwrap());
    assert!(c.exists().await.unwrap());

    // Same request, key with one byte changed: Azurite recomputes the signature and refuses it.
    let mut raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        testbed::var("CLOUDKIT_TEST_AZURITE_ACCOUNT_KEY"),
    )
    .unwrap();
    raw[0] ^= 1;
    let wrong = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
    let config =
        azure::loader().account(key().account()).account_key(wrong).blob_endpoint(endpoint()).load().await.unwrap();
    let bad = BlobServiceClient::new(&config).unwrap();
    let e = bad.blob_client(c.name(), b.name()).get().send().await.unwrap_err();
    assert!(
        matches!(e, BlobError::AuthenticationFailed(_) | BlobError::AuthorizationFailure(_)),
        "wrong key must be refused: {e}"
    );
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403), "{e}");
    cleanup(&c).await;
}

#[tokio::test]
async fn generated_sas_are_honoured_and_expired_or_wrong_permission_sas_are_refused() {
    let c = new_container("sas").await;
    c.blob_client("a.txt").put("A").send().await.unwrap();
    let key = key();
    let hour = SystemTime::now() + Duration::from_secs(3600);
    let read_list = BlobSas::container(c.name(), SasPermissions::none().read().list(), hour)
        .protocol(SasProtocol::HttpsAndHttp)
        .sign(&key)
        .unwrap();
    let via_sas = with_sas(read_list).await;
    let sc = via_sas.container_client(c.name());
    let names: Vec<BlobListEntry> =
        sc.list_blobs().into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(&sc.blob_client("a.txt").get().send().await.unwrap().bytes().await.unwrap()[..], b"A");
    // wrong permission: a read/list SAS cannot write
    let e = sc.blob_client("b.txt").put("B").send().await.unwrap_err();
    assert!(matches!(e, BlobError::AuthorizationFailure(_)), "write with a read SAS: {e}");

    // expired
    let expired =
        BlobSas::blob(c.name(), "a.txt", SasPermissions::none().read(), SystemTime::now() - Duration::from_secs(60))
            .start(SystemTime::now() - Duration::from_secs(3600))
            .sign(&key)
            .unwrap();
    let e = with_sas(expired).await.blob_client(c.name(), "a.txt").get().send().await.unwrap_err();
    assert!(matches!(e, BlobError::AuthorizationFailure(_) | BlobError::AuthenticationFailed(_)), "expired SAS: {e}");

    // a SAS signed with the wrong key
    let other = AccountKey::new(key.account(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
    let forged = BlobSas::blob(c.name(), "a.txt", SasPermissions::none().read(), hour).sign(&other).unwrap();
    let e = with_sas(forged).await.blob_client(c.name(), "a.txt").get().send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403), "{e}");

    // blob SAS URL fetched with a plain HTTP client, no credentials
    let url = service().await.blob_client(c.name(), "a.txt").sas_url(SasPermissions::none().read(), hour).unwrap();
    let body = testbed::http_client().get(url).send().await.unwrap();
    assert_eq!(body.status().as_u16(), 200);
    assert_eq!(body.text().await.unwrap(), "A");

    // account SAS: list containers and write blobs
    let account = AccountSas::new(
        AccountSasServices::blob(),
        AccountSasResourceTypes::all(),
        SasPermissions::none().read().write().list().create(),
        hour,
    )
    .sign(&key)
    .unwrap();
    let acct = with_sas(account).await;
    acct.blob_client(c.name(), "by-account-sas").put("x").send().await.unwrap();
    let found: Vec<_> =
        acct.list_containers().prefix(c.name()).into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(found.len(), 1);

    // User delegation SAS. Azurite issues delegation keys only to OAuth callers over https, but it
    // validates UDK SAS with a key it derives deterministically (HMAC-SHA256 with its public seed
    // "azurite-user-delegation-signing-seed-v1" over oid/tid/start/expiry/"b"/version); we derive
    // the same key here, so Azurite checks our 26-field string-to-sign and signature.
    let udk = azurite_delegation_key("00000000-0000-0000-0000-0000000000aa", "00000000-0000-0000-0000-0000000000bb");
    let ud_sas = BlobSas::blob(c.name(), "a.txt", SasPermissions::none().read(), hour)
        .protocol(SasProtocol::HttpsAndHttp)
        .sign_user_delegation(key.account(), &udk)
        .unwrap();
    let ud = with_sas(ud_sas.clone()).await;
    assert_eq!(&ud.blob_client(c.name(), "a.txt").get().send().await.unwrap().bytes().await.unwrap()[..], b"A");
    // tampering with a signed field breaks it
    let tampered = SasToken::from_query(ud_sas.as_query().replace("sp=r", "sp=rw"));
    let e = with_sas(tampered).await.blob_client(c.name(), "a.txt").get().send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403), "{e}");
    cleanup(&c).await;
}

fn azurite_delegation_key(oid: &str, tid: &str) -> UserDelegationKey {
    let start = cloudkit_azure_blob::auth::format_sas_time(SystemTime::now() - Duration::from_secs(600));
    let expiry = cloudkit_azure_blob::auth::format_sas_time(SystemTime::now() + Duration::from_secs(7200));
    let version = "2025-11-05";
    let to_sign = [oid, tid, &start, &expiry, "b", version].join("\n");
    // Azurite uses the seed's UTF-8 bytes as the HMAC key; azure_core's hmac takes a base64 key.
    let seed_b64 =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "azurite-user-delegation-signing-seed-v1");
    let value = azure_core::hmac::hmac_sha256(&to_sign, &azure_core::credentials::Secret::new(seed_b64)).unwrap();
    UserDelegationKey {
        signed_oid: oid.into(),
        signed_tid: tid.into(),
        signed_start: start,
        signed_expiry: expiry,
        signed_service: "b".into(),
        signed_version: version.into(),
        value: azure_core::credentials::Secret::new(value),
    }
}

#[tokio::test]
async fn listings_paginate_over_several_pages_flat_and_hierarchical() {
    let c = new_container("page").await;
    for i in 0..7 {
        c.blob_client(format!("flat/{i:02}")).put("x").send().await.unwrap();
    }
    for n in ["h/top", "h/d1/a", "h/d1/b", "h/d2/c"] {
        c.blob_client(n).put("y").send().await.unwrap();
    }
    let pages: Vec<_> = c
        .list_blobs()
        .prefix("flat/")
        .into_pages(PaginationConfig::default().page_size(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.iter().map(|p| p.entries.len()).collect::<Vec<_>>(), [3, 3, 1], "three pages");
    let names: Vec<String> = pages.iter().flat_map(|p| p.blobs().map(|b| b.name.clone())).collect();
    assert_eq!(names, (0..7).map(|i| format!("flat/{i:02}")).collect::<Vec<_>>());
    let level: Vec<BlobListEntry> = c
        .list_blobs_hierarchical("/")
        .prefix("h/")
        .into_items(PaginationConfig::default().page_size(2))
        .try_collect()
        .await
        .unwrap();
    let shown: Vec<String> = level
        .iter()
        .map(|e| match e {
            BlobListEntry::Blob(b) => b.name.clone(),
            BlobListEntry::Prefix(p) => format!("{p} (prefix)"),
            _ => String::new(),
        })
        .collect();
    assert_eq!(shown, ["h/d1/ (prefix)", "h/d2/ (prefix)", "h/top"]);
    // containers paginate too
    let tag = unique("lc");
    for i in 0..3 {
        service().await.container_client(format!("{tag}-{i}")).create().send().await.unwrap();
    }
    let pages: Vec<_> = service()
        .await
        .list_containers()
        .prefix(&tag)
        .into_pages(PaginationConfig::default().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    for i in 0..3 {
        service().await.container_client(format!("{tag}-{i}")).delete().await.unwrap();
    }
    cleanup(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_upload_of_66_mib_with_md5_checksums_and_parallel_download() {
    let c = new_container("big").await;
    let b = c.blob_client("big.bin");
    let size = 66 * 1024 * 1024 + 12_345;
    let data: Vec<u8> = (0..size).map(|i| ((i * 31) % 251) as u8).collect();
    let expected_md5 = cloudkit_core::md5_base64(&data);
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let p = progress.clone();
    let started = std::time::Instant::now();
    let chunks: Vec<std::io::Result<Bytes>> = data.chunks(1 << 20).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    b.upload(
        futures::stream::iter(chunks).boxed(),
        UploadOptions {
            block_size: 8 * 1024 * 1024,
            concurrency: 4,
            progress: Some(std::sync::Arc::new(move |done: Progress| {
                p.store(done.transferred, std::sync::atomic::Ordering::Relaxed)
            })),
            ..UploadOptions::default()
        },
    )
    .await
    .unwrap();
    let up = started.elapsed();
    assert_eq!(progress.load(std::sync::atomic::Ordering::Relaxed), size as u64, "progress reaches the total");
    let props = b.get_properties().await.unwrap();
    assert_eq!(props.size, size as u64);
    assert_eq!(props.content_md5.as_deref(), Some(expected_md5.as_str()), "whole-blob MD5 stored");
    let started = std::time::Instant::now();
    let back = b
        .download_to_bytes(DownloadOptions {
            chunk_size: 4 * 1024 * 1024,
            concurrency: 4,
            ..DownloadOptions::default()
        })
        .await
        .unwrap();
    let down = started.elapsed();
    assert!(back.len() == data.len() && back[..] == data[..], "downloaded bytes differ");
    eprintln!(
        "66 MiB: upload {up:?} ({:.0} MiB/s), download {down:?} ({:.0} MiB/s)",
        66.0 / up.as_secs_f64(),
        66.0 / down.as_secs_f64()
    );
    cleanup(&c).await;
}

#[tokio::test]
async fn conditional_requests_and_typed_errors() {
    let c = new_container("cond").await;
    let b = c.blob_client("doc");
    let first = b.put("one").if_none_match_any().send().await.unwrap();
    let e = b.put("two").if_none_match_any().send().await.unwrap_err();
    assert!(matches!(e, BlobError::BlobAlreadyExists(_)), "{e}");
    let e = b.put("two").if_match("\"0xSTALE\"").send().await.unwrap_err();
    assert!(matches!(e, BlobError::ConditionNotMet(_)), "{e}");
    let etag = first.etag.clone().unwrap();
    b.put("three").if_match(etag.clone()).send().await.unwrap();
    let e = b.get().if_match(etag.clone()).send().await.unwrap_err();
    assert!(matches!(e, BlobError::ConditionNotMet(_)), "old etag: {e}");
    let now = b.get_properties().await.unwrap().etag.unwrap();
    let e = b.get().if_none_match(now.clone()).send().await.unwrap_err();
    assert!(matches!(e, BlobError::NotModified(_)), "{e}");
    let part = b.get().range(1..=3).send().await.unwrap();
    assert_eq!(part.range, 1..4);
    assert_eq!(part.properties.size, 5);
    assert_eq!(&part.bytes().await.unwrap()[..], b"hre");
    let e = b.get().range_from(100).send().await.unwrap_err();
    assert!(matches!(e, BlobError::InvalidRange(_)), "{e}");

    let e = c.blob_client("missing").get().send().await.unwrap_err();
    assert!(matches!(e, BlobError::BlobNotFound(_)), "{e}");
    assert_eq!(e.code(), Some("BlobNotFound"));
    let e = c.blob_client("missing").get_properties().await.unwrap_err();
    assert!(matches!(e, BlobError::BlobNotFound(_) | BlobError::NotFound(_)), "HEAD: {e}");
    let e = service().await.blob_client(unique("nocontainer"), "x").put("x").send().await.unwrap_err();
    assert!(matches!(e, BlobError::ContainerNotFound(_)), "{e}");
    let e = c.create().send().await.unwrap_err();
    assert!(matches!(e, BlobError::ContainerAlreadyExists(_)), "{e}");
    assert!(e.to_string().contains("ContainerAlreadyExists"), "{e}");

    // metadata, copy, snapshots, delete
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("stage".to_owned(), "final".to_owned());
    b.set_metadata(&meta, &Conditions::default()).await.unwrap();
    assert_eq!(b.get_properties().await.unwrap().metadata, meta);
    let copy = c.blob_client("copy");
    copy.copy_from_url(&b.url().unwrap(), &Conditions::default()).await.unwrap();
    assert_eq!(&copy.get().send().await.unwrap().bytes().await.unwrap()[..], b"three");
    let no_overwrite = Conditions { if_none_match: Some("*".into()), ..Conditions::default() };
    assert!(copy.copy_from_url(&b.url().unwrap(), &no_overwrite).await.is_err());
    b.snapshot().await.unwrap();
    b.delete(DeleteSnapshots::Include, &Conditions::default()).await.unwrap();
    assert!(!b.exists().await.unwrap());
    let mut cmeta = std::collections::BTreeMap::new();
    cmeta.insert("team".to_owned(), "storage".to_owned());
    c.set_metadata(&cmeta).await.unwrap();
    assert_eq!(c.get_metadata().await.unwrap(), cmeta);
    assert!(service().await.get_service_properties().await.unwrap().contains("StorageServiceProperties"));
    cleanup(&c).await;
    let e = c.get_properties().await.unwrap_err();
    assert!(matches!(e, BlobError::ContainerNotFound(_) | BlobError::NotFound(_)), "{e}");
}

#[tokio::test]
async fn bearer_tokens_are_refused_over_plain_http_unless_the_emulator_is_explicit() {
    #[derive(Debug)]
    struct Fixed;
    #[async_trait::async_trait]
    impl azure_core::credentials::TokenCredential for Fixed {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            Ok(azure_core::credentials::AccessToken::new(
                azure_core::credentials::Secret::new("t"),
                time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
            ))
        }
    }
    let loader = || azure::loader().credential(std::sync::Arc::new(Fixed)).blob_endpoint(endpoint());
    let e = loader().load().await.unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
    // explicitly allowed for a loopback emulator
    let config = loader().allow_loopback_http(true).load().await.unwrap();
    assert!(BlobServiceClient::new(&config).is_ok());
}

// ---- Issue 15: data safety under faults ----

/// What [`Meddler`] does to one exchange: the request, and the real response (or transport
/// error) from Azurite.
type Meddle = Box<
    dyn FnMut(
            &cloudkit_core::HttpRequest,
            cloudkit_core::HttpResponse,
        ) -> Result<cloudkit_core::HttpResponse, cloudkit_core::TransportError>
        + Send,
>;

/// An [`HttpSend`](cloudkit_core::HttpSend) in front of Azurite that sends every request for real
/// and then lets a test meddle with the answer: cut a body off part-way (a reset connection), or
/// lose the answer to a request that took effect (the connection broke after the write).
struct Meddler {
    inner: std::sync::Arc<dyn cloudkit_core::HttpSend>,
    meddle: std::sync::Mutex<Meddle>,
    log: std::sync::Mutex<Vec<(cloudkit_core::Method, String, Option<String>)>>,
}

impl std::fmt::Debug for Meddler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Meddler")
    }
}

#[async_trait::async_trait]
impl cloudkit_core::HttpSend for Meddler {
    async fn send(
        &self,
        request: cloudkit_core::HttpRequest,
    ) -> Result<cloudkit_core::HttpResponse, cloudkit_core::TransportError> {
        let range = request.headers.get("x-ms-range").and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.log.lock().unwrap().push((
            request.method.clone(),
            request.url.query().unwrap_or_default().to_owned(),
            range,
        ));
        let probe = cloudkit_core::HttpRequest::new(request.method.clone(), request.url.clone());
        let mut probe = probe;
        probe.headers = request.headers.clone();
        let response = self.inner.send(request).await?;
        (self.meddle.lock().unwrap())(&probe, response)
    }
}

impl Meddler {
    fn new(
        meddle: impl FnMut(
            &cloudkit_core::HttpRequest,
            cloudkit_core::HttpResponse,
        ) -> Result<cloudkit_core::HttpResponse, cloudkit_core::TransportError>
        + Send
        + 'static,
    ) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            inner: cloudkit_core::ReqwestSend::shared(&cloudkit_core::HttpClientConfig::default()).unwrap(),
            meddle: std::sync::Mutex::new(Box::new(meddle)),
            log: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The blob reads (method GET without a query) seen, with their `x-ms-range`.
    fn reads(&self) -> Vec<Option<String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, q, _)| *m == cloudkit_core::Method::GET && q.is_empty())
            .map(|(_, _, r)| r.clone())
            .collect()
    }

    fn count(&self, method: &cloudkit_core::Method, query: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|(m, q, _)| m == method && q == query).count()
    }
}

/// Cuts `response`'s body off after `after` bytes with a reset.
fn cut_after(mut response: cloudkit_core::HttpResponse, after: usize) -> cloudkit_core::HttpResponse {
    let body = std::mem::replace(&mut response.body, cloudkit_core::ByteStream::empty());
    let stream = futures::stream::unfold((body, 0usize, false), move |(mut body, sent, done)| async move {
        if done {
            return None;
        }
        match body.next().await {
            Some(Ok(chunk)) if sent + chunk.len() >= after => {
                let keep = chunk.slice(..after - sent);
                let reset = cloudkit_core::TransportError::new(
                    cloudkit_core::TransportErrorKind::Body,
                    "connection reset (test)",
                );
                Some((futures::stream::iter(vec![Ok(keep), Err(reset)]), (body, after, true)))
            }
            Some(Ok(chunk)) => {
                let n = chunk.len();
                Some((futures::stream::iter(vec![Ok(chunk)]), (body, sent + n, false)))
            }
            Some(Err(e)) => Some((futures::stream::iter(vec![Err(e)]), (body, sent, true))),
            None => None,
        }
    })
    .flatten();
    response.body = cloudkit_core::ByteStream::new(stream);
    response
}

async fn client_through(http: std::sync::Arc<Meddler>) -> BlobServiceClient {
    let config = azure::loader()
        .connection_string(azure::connection_string())
        .http(http)
        .retry(cloudkit_core::RetryConfig::standard().with_initial_backoff(Duration::from_millis(10)))
        .load()
        .await
        .unwrap();
    BlobServiceClient::new(&config).unwrap()
}

fn pattern(size: usize, seed: usize) -> Bytes {
    Bytes::from((0..size).map(|i| ((i * 31 + seed) % 251) as u8).collect::<Vec<u8>>())
}

fn assert_invalid_input(e: &BlobError, what: &str) {
    let BlobError::Other(core) = e else { panic!("{what}: expected an invalid input error, got {e:?}") };
    assert_eq!(core.kind(), cloudkit_core::ErrorKind::InvalidInput, "{what}: {e}");
}

/// Issue 15, defect 2: `container_client("c1").blob_client("../c2/x")` wrote into container c2
/// (the URL parser resolves `..`, also percent-encoded). Such names are refused, and nothing is
/// written anywhere but where it should be.
#[tokio::test]
async fn blob_names_with_dot_segments_never_write_outside_their_container() {
    let c1 = new_container("dots1").await;
    let c2 = new_container("dots2").await;
    let into_c2 = |rest: &str| rest.replace("{c2}", c2.name());
    let names = [
        "../{c2}/x",
        "a/../../{c2}/x",
        "%2e%2e/{c2}/x",
        "%2E%2e/{c2}/x",
        ".%2E/{c2}/x",
        "..\\{c2}\\x",
        "%252e%252e/{c2}/x",
        "./x",
        "..",
    ];
    for name in names.map(into_c2) {
        let blob = c1.blob_client(name.clone());
        assert_invalid_input(&blob.put("escaped").send().await.unwrap_err(), &name);
        assert_invalid_input(&blob.put("escaped").if_none_match_any().send().await.unwrap_err(), &name);
        assert_invalid_input(
            &blob
                .upload_bytes(pattern(10, 1), UploadOptions { block_size: 4, ..UploadOptions::default() })
                .await
                .unwrap_err(),
            &name,
        );
        assert_invalid_input(&blob.put_block(b"0001", Bytes::from_static(b"x")).await.unwrap_err(), &name);
        let source = c1.blob_client("src");
        source.put("source").send().await.unwrap();
        assert_invalid_input(
            &blob.start_copy_from_url(&source.url().unwrap(), &Conditions::default()).await.unwrap_err(),
            &name,
        );
        source.delete(DeleteSnapshots::Include, &Conditions::default()).await.unwrap();
    }
    // a container name that climbs out is refused too
    let climb = service().await.container_client("..").blob_client(format!("{}/x", c2.name()));
    assert_invalid_input(&climb.put("escaped").send().await.unwrap_err(), "container ..");
    let nested = service().await.container_client(format!("{}/x", c2.name())).blob_client("y");
    assert_invalid_input(&nested.put("escaped").send().await.unwrap_err(), "container c2/x");

    for c in [&c1, &c2] {
        let names: Vec<BlobListEntry> =
            c.list_blobs().into_items(PaginationConfig::default()).try_collect().await.unwrap();
        assert!(names.is_empty(), "{} has {names:?}", c.name());
    }
    // look-alike names stay usable, in their container
    c1.blob_client("a..b/...").put("ok").send().await.unwrap();
    assert!(c1.blob_client("a..b/...").exists().await.unwrap());
    cleanup(&c1).await;
    cleanup(&c2).await;
}

/// Issue 15, resume: a Get Blob body that breaks off continues from the last byte with a ranged
/// read pinned to the entity tag, through the client and through `ObjectStore::get`; a blob
/// replaced in between is `ObjectChanged`, never spliced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_get_blob_bodies_resume_and_a_changed_blob_is_object_changed() {
    let c = new_container("resume").await;
    let data = pattern(3 * 1024 * 1024 + 77, 3);
    c.blob_client("r.bin").put(data.clone()).send().await.unwrap();

    // the first two reads break off after 700 KiB each
    let mut breaks = 2;
    let meddler = Meddler::new(move |req, resp| {
        if req.method == cloudkit_core::Method::GET && req.url.query().is_none() && breaks > 0 {
            breaks -= 1;
            return Ok(cut_after(resp, 700 * 1024));
        }
        Ok(resp)
    });
    let client = client_through(meddler.clone()).await;
    let blob = client.container_client(c.name()).blob_client("r.bin");
    let got = blob.get().send().await.unwrap().bytes().await.unwrap();
    assert!(got == data, "resumed bytes differ");
    let reads = meddler.reads();
    assert_eq!(reads.len(), 3, "{reads:?}");
    assert_eq!(reads[1].as_deref(), Some(format!("bytes={}-{}", 700 * 1024, data.len() - 1).as_str()));
    assert_eq!(reads[2].as_deref(), Some(format!("bytes={}-{}", 1400 * 1024, data.len() - 1).as_str()));

    // through the facade's store (its get stream is the client's body)
    let mut breaks = 1;
    let meddler = Meddler::new(move |req, resp| {
        if req.method == cloudkit_core::Method::GET && req.url.query().is_none() && breaks > 0 {
            breaks -= 1;
            return Ok(cut_after(resp, 100 * 1024));
        }
        Ok(resp)
    });
    let client = client_through(meddler.clone()).await;
    let store = cloudkit::store::AzureBlobStore::new(client.container_client(c.name()));
    let key = cloudkit::store::ObjectKey::parse("r.bin").unwrap();
    let got = cloudkit::store::ObjectStoreExt::get(&store, &key).await.unwrap().bytes().await.unwrap();
    assert!(got == data, "ObjectStore::get bytes differ");
    assert_eq!(meddler.reads().len(), 2);

    // the blob is replaced between the break and the resume
    let meddler = Meddler::new(|req, resp| {
        if req.method == cloudkit_core::Method::GET && req.url.query().is_none() {
            return Ok(cut_after(resp, 100 * 1024));
        }
        Ok(resp)
    });
    let client = client_through(meddler.clone()).await;
    let blob = client.container_client(c.name()).blob_client("r.bin");
    let response = blob.get().send().await.unwrap();
    c.blob_client("r.bin").put(pattern(3 * 1024 * 1024 + 77, 4)).send().await.unwrap();
    let e = response.bytes().await.unwrap_err();
    assert!(matches!(e, BlobError::ObjectChanged(_)), "{e:?}");
    cleanup(&c).await;
}

/// The names in `dir`, sorted.
fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Issue 15, defects 3, 4 and 8 against Azurite: a download to a file replaces it only when
/// complete and verified, leaves no temporary file, checks every part (by range MD5 when the blob
/// has no stored MD5) and resumes parts that break off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_to_file_are_verified_resumed_and_leave_nothing_behind() {
    let c = new_container("dlfile").await;
    let dir = std::env::temp_dir().join(unique("ck-azdl"));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.bin");
    let listing = || file_names(&dir);

    // committed from blocks without a blob MD5: the parts are checked by range MD5
    let data = pattern(9 * 1024 * 1024 + 5, 5);
    let blob = c.blob_client("nomd5.bin");
    let ids: Vec<Vec<u8>> = (0..3).map(|i| format!("block-{i:04}").into_bytes()).collect();
    for (i, chunk) in data.chunks(4 * 1024 * 1024).enumerate() {
        blob.put_block(&ids[i], Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    blob.put_block_list(ids).send().await.unwrap();
    assert_eq!(blob.get_properties().await.unwrap().content_md5, None, "no stored MD5");

    // every part breaks off once, part-way (its first read; the resumed read is left alone)
    let meddler = Meddler::new(move |req, resp| {
        let start: Option<u64> = req
            .headers
            .get("x-ms-range")
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split('-').next())
            .and_then(|a| a.parse().ok());
        let part_start = start.is_some_and(|a| a % (4 * 1024 * 1024) == 0);
        if req.method == cloudkit_core::Method::GET && req.url.query().is_none() && part_start {
            return Ok(cut_after(resp, 64 * 1024));
        }
        Ok(resp)
    });
    let client = client_through(meddler.clone()).await;
    std::fs::write(&target, b"old").unwrap();
    let via = client.container_client(c.name()).blob_client("nomd5.bin");
    let n = via
        .download_to_file(
            &target,
            DownloadOptions { chunk_size: 8 * 1024 * 1024, concurrency: 2, ..DownloadOptions::default() },
        )
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(std::fs::read(&target).unwrap() == data, "downloaded file differs");
    assert_eq!(listing(), ["out.bin"], "no temporary file left");
    let reads = meddler.reads();
    assert_eq!(reads.iter().filter(|r| r.as_deref() == Some("bytes=0-4194303")).count(), 1, "{reads:?}");
    assert_eq!(reads.len(), 6, "three parts of at most 4 MiB (range MD5), each resumed once: {reads:?}");

    // a download that cannot complete keeps the old file and leaves nothing
    std::fs::write(&target, b"old").unwrap();
    let meddler = Meddler::new(|req, resp| {
        if req.method == cloudkit_core::Method::GET && req.url.query().is_none() {
            return Ok(cut_after(resp, 1024));
        }
        Ok(resp)
    });
    let client = client_through(meddler).await;
    let e = client
        .container_client(c.name())
        .blob_client("nomd5.bin")
        .download_to_file(&target, DownloadOptions { concurrency: 1, ..DownloadOptions::default() })
        .await
        .unwrap_err();
    assert!(matches!(&e, BlobError::Other(core) if core.kind() == cloudkit_core::ErrorKind::Transport), "{e:?}");
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(listing(), ["out.bin"]);

    // a blob with a stored MD5 (Put Blob): checked as a whole; same file downloaded twice at once
    let small = c.blob_client("md5.bin");
    small.put(pattern(300_000, 6)).send().await.unwrap();
    let (a, b) = tokio::join!(
        small.download_to_file(&target, DownloadOptions { chunk_size: 65_536, ..DownloadOptions::default() }),
        small.download_to_file(&target, DownloadOptions { chunk_size: 100_000, ..DownloadOptions::default() }),
    );
    assert_eq!((a.unwrap(), b.unwrap()), (300_000, 300_000));
    assert!(std::fs::read(&target).unwrap() == pattern(300_000, 6));
    assert_eq!(listing(), ["out.bin"]);
    std::fs::remove_dir_all(&dir).unwrap();
    cleanup(&c).await;
}

/// Flips one byte of `response`'s body, `at` bytes in (a corruption no transport notices).
fn flip_at(mut response: cloudkit_core::HttpResponse, at: usize) -> cloudkit_core::HttpResponse {
    let body = std::mem::replace(&mut response.body, cloudkit_core::ByteStream::empty());
    let stream = futures::stream::unfold((body, 0usize), move |(mut body, seen)| async move {
        let chunk = body.next().await?;
        let next = match &chunk {
            Ok(c) => seen + c.len(),
            Err(_) => seen,
        };
        let chunk = chunk.map(|c| {
            if (seen..seen + c.len()).contains(&at) {
                let mut bytes = c.to_vec();
                bytes[at - seen] ^= 0x20;
                Bytes::from(bytes)
            } else {
                c
            }
        });
        Some((chunk, (body, next)))
    });
    response.body = cloudkit_core::ByteStream::new(stream);
    response
}

/// Issue 21: a blob with a stored MD5 is verified in one pass over the whole blob (no range MD5s
/// asked of the service). A part corrupted on the way is caught at the end: a download to a file
/// is made once more and succeeds; one corrupted every time is a `ChecksumMismatch` that keeps the
/// old file and leaves nothing behind; a download to a writer reports the mismatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_part_of_a_blob_with_a_stored_md5_is_caught_and_downloaded_again() {
    let c = new_container("dlmd5").await;
    let dir = std::env::temp_dir().join(unique("ck-azmd5"));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("out.bin");
    let listing = || file_names(&dir);
    let data = pattern(9 * 1024 * 1024 + 5, 7);
    c.blob_client("md5.bin").upload_bytes(data.clone(), UploadOptions::default()).await.unwrap();
    let stored = c.blob_client("md5.bin").get_properties().await.unwrap().content_md5;
    assert!(stored.is_some(), "the upload stores the blob's MD5");

    // the second part is corrupted on its first read only
    let range_md5_asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asked = range_md5_asked.clone();
    let mut flipped = false;
    let meddler = Meddler::new(move |req, resp| {
        if req.headers.contains_key("x-ms-range-get-content-md5") {
            asked.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let range = req.headers.get("x-ms-range").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if req.method == cloudkit_core::Method::GET && range.starts_with("bytes=4194304-") && !flipped {
            flipped = true;
            return Ok(flip_at(resp, 1000));
        }
        Ok(resp)
    });
    let client = client_through(meddler.clone()).await;
    let via = client.container_client(c.name()).blob_client("md5.bin");
    std::fs::write(&target, b"old").unwrap();
    let n =
        via.download_to_file(&target, DownloadOptions { concurrency: 2, ..DownloadOptions::default() }).await.unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(std::fs::read(&target).unwrap() == data, "downloaded file differs");
    assert_eq!(listing(), ["out.bin"], "no temporary file left");
    assert!(!range_md5_asked.load(std::sync::atomic::Ordering::SeqCst), "no range MD5 asked of the service");
    assert_eq!(meddler.reads().len(), 6, "three 4 MiB parts, downloaded twice: {:?}", meddler.reads());

    // corrupted every time
    let meddler = Meddler::new(|req, resp| {
        let range = req.headers.get("x-ms-range").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if req.method == cloudkit_core::Method::GET && range.starts_with("bytes=8388608-") {
            return Ok(flip_at(resp, 3));
        }
        Ok(resp)
    });
    let client = client_through(meddler.clone()).await;
    let via = client.container_client(c.name()).blob_client("md5.bin");
    std::fs::write(&target, b"old").unwrap();
    let e = via.download_to_file(&target, DownloadOptions::default()).await.unwrap_err();
    assert!(matches!(&e, BlobError::ChecksumMismatch { algorithm: "MD5", .. }), "{e:?}");
    assert_eq!(std::fs::read(&target).unwrap(), b"old", "the old file is kept");
    assert_eq!(listing(), ["out.bin"], "no temporary file left");
    assert_eq!(meddler.reads().len(), 6, "downloaded twice, then given up: {:?}", meddler.reads());
    let mut sink = Vec::new();
    let e = via.download_to_writer(&mut sink, DownloadOptions::default()).await.unwrap_err();
    assert!(matches!(&e, BlobError::ChecksumMismatch { .. }), "{e:?}");
    // without verification the corruption is not looked for
    let unverified = via.download_to_bytes(DownloadOptions { verify_md5: false, ..DownloadOptions::default() }).await;
    assert_eq!(unverified.unwrap().len(), data.len());
    std::fs::remove_dir_all(&dir).unwrap();
    cleanup(&c).await;
}

/// Issue 15, defect 19: the answer to a create-only write that took effect is lost (the
/// connection broke after the write). The pipeline used to send it again and report a false
/// `BlobAlreadyExists`; a create-only Put Blob now returns the transport failure (the outcome is
/// unknown), and an upload checks the committed block list and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_create_only_write_is_not_a_false_already_exists() {
    let c = new_container("lost").await;
    let lose = |method: cloudkit_core::Method, query: &'static str| {
        let mut lost = false;
        Meddler::new(move |req, resp| {
            if !lost && req.method == method && req.url.query().unwrap_or_default() == query {
                lost = true;
                drop(resp);
                return Err(cloudkit_core::TransportError::new(
                    cloudkit_core::TransportErrorKind::Request,
                    "connection reset after the request was sent (test)",
                ));
            }
            Ok(resp)
        })
    };

    let meddler = lose(cloudkit_core::Method::PUT, "");
    let client = client_through(meddler.clone()).await;
    let blob = client.container_client(c.name()).blob_client("once.txt");
    let e = blob.put("first").if_none_match_any().send().await.unwrap_err();
    assert!(!matches!(e, BlobError::BlobAlreadyExists(_)), "a false conflict: {e:?}");
    assert_eq!(meddler.count(&cloudkit_core::Method::PUT, ""), 1, "not sent again");
    assert_eq!(&c.blob_client("once.txt").get().send().await.unwrap().bytes().await.unwrap()[..], b"first");

    let meddler = lose(cloudkit_core::Method::PUT, "comp=blocklist");
    let client = client_through(meddler.clone()).await;
    let blob = client.container_client(c.name()).blob_client("blocks.bin");
    let data = pattern(10 * 1024 + 3, 7);
    let options = UploadOptions {
        block_size: 4096,
        conditions: Conditions { if_none_match: Some("*".into()), ..Conditions::default() },
        ..UploadOptions::default()
    };
    let written = blob.upload_bytes(data.clone(), options).await.unwrap();
    assert_eq!(meddler.count(&cloudkit_core::Method::PUT, "comp=blocklist"), 1, "committed once");
    let props = c.blob_client("blocks.bin").get_properties().await.unwrap();
    assert_eq!(written.etag, props.etag);
    assert!(c.blob_client("blocks.bin").download_to_bytes(DownloadOptions::default()).await.unwrap() == data);
    cleanup(&c).await;
}

/// Issue 15 (no uncommitted block list left after a failed upload): a block upload whose third
/// block fails drops the blocks it staged; nothing is left under the name, and a retry of the
/// upload works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_block_upload_leaves_no_uncommitted_blocks() {
    let c = new_container("discard").await;
    let mut blocks = 0;
    let meddler = Meddler::new(move |req, resp| {
        if req.method == cloudkit_core::Method::PUT && req.url.query().unwrap_or_default().starts_with("comp=block&") {
            blocks += 1;
            if blocks == 3 {
                return Err(cloudkit_core::TransportError::new(
                    cloudkit_core::TransportErrorKind::Other,
                    "the block could not be sent (test)",
                ));
            }
        }
        Ok(resp)
    });
    let client = client_through(meddler).await;
    let blob = client.container_client(c.name()).blob_client("failed.bin");
    let data = pattern(20 * 1024, 8);
    let options = UploadOptions { block_size: 4096, concurrency: 1, ..UploadOptions::default() };
    assert!(blob.upload_bytes(data.clone(), options.clone()).await.is_err());
    let direct = c.blob_client("failed.bin");
    match direct.get_block_list(cloudkit_azure_blob::BlockListType::All).await {
        Ok(list) => assert!(list.uncommitted.is_empty() && list.committed.is_empty(), "{list:?}"),
        Err(e) => assert!(matches!(e, BlobError::BlobNotFound(_) | BlobError::NotFound(_)), "{e:?}"),
    }
    assert!(!direct.exists().await.unwrap(), "the placeholder is gone");
    direct.upload_bytes(data.clone(), options).await.unwrap();
    assert!(direct.download_to_bytes(DownloadOptions::default()).await.unwrap() == data);
    cleanup(&c).await;
}
