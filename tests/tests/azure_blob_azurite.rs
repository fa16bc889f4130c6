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
    copy.copy_from_url(&b.url(), &Conditions::default()).await.unwrap();
    assert_eq!(&copy.get().send().await.unwrap().bytes().await.unwrap()[..], b"three");
    let no_overwrite = Conditions { if_none_match: Some("*".into()), ..Conditions::default() };
    assert!(copy.copy_from_url(&b.url(), &no_overwrite).await.is_err());
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
