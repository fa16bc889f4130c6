use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudkit_core::{HttpRequest, Method};

use super::*;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn dev_key() -> AccountKey {
    AccountKey::new(DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY).unwrap()
}

#[test]
fn string_to_sign_follows_the_documented_layout_with_the_emulator_double_account() {
    let url = "http://127.0.0.1:10000/devstoreaccount1/mycontainer?restype=container&comp=list&prefix=a%20b&include=metadata&include=snapshots";
    let mut r = HttpRequest::new(Method::GET, url.parse().unwrap());
    r.insert_header("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT").unwrap();
    r.insert_header("x-ms-version", "2025-11-05").unwrap();
    r.insert_header("X-MS-Meta-Zed", "  padded ").unwrap();
    r.insert_header("If-Match", "\"0x1\"").unwrap();
    let expected = "GET\n\n\n\n\n\n\n\n\"0x1\"\n\n\n\n\
x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-meta-zed:padded\nx-ms-version:2025-11-05\n\
/devstoreaccount1/devstoreaccount1/mycontainer\ncomp:list\ninclude:metadata,snapshots\nprefix:a b\nrestype:container";
    assert_eq!(string_to_sign(&r, DEVELOPMENT_ACCOUNT), expected);
}

#[test]
fn content_length_is_empty_when_zero_and_taken_from_the_body_otherwise() {
    let mut r = HttpRequest::new(Method::PUT, "https://acct.blob.core.windows.net/c/b".parse().unwrap());
    let empty = string_to_sign(&r, "acct");
    assert!(empty.starts_with("PUT\n\n\n\n"), "{empty:?}");
    r.body = "hello".into();
    r.insert_header("content-type", "text/plain").unwrap();
    let s = string_to_sign(&r, "acct");
    assert!(s.starts_with("PUT\n\n\n5\n\ntext/plain\n"), "{s:?}");
    assert!(s.ends_with("\n/acct/c/b"), "{s:?}");
}

#[test]
fn shared_key_header_is_hmac_of_the_string_to_sign() {
    // Independent check of the primitive: HMAC-SHA256 with the base64-decoded key, base64 output.
    // Known answer computed with Python: base64(hmac.new(b64decode(KEY), b"abc", sha256).digest()).
    let key = dev_key();
    assert_eq!(key.sign("abc").unwrap(), "SIcX91U20N3KMshjCxCtQlOGY5e+vjvvAoYG97vklcc=");
    let mut r = HttpRequest::new(Method::GET, "http://127.0.0.1:10000/devstoreaccount1?comp=list".parse().unwrap());
    SharedKeySigner::new(key.clone()).sign_at(&mut r, t(1_700_000_000)).unwrap();
    assert_eq!(r.headers["x-ms-date"], "Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(r.headers["x-ms-version"], STORAGE_API_VERSION);
    let sig = key.sign(&string_to_sign(&r, DEVELOPMENT_ACCOUNT)).unwrap();
    assert_eq!(r.headers["authorization"], format!("SharedKey devstoreaccount1:{sig}"));
}

#[test]
fn bad_keys_and_connection_strings_are_errors_and_secrets_stay_hidden() {
    assert!(matches!(AccountKey::new("a", "not base64!!"), Err(AzureSignError::InvalidKey { .. })));
    let dbg = format!("{:?}", dev_key());
    assert!(!dbg.contains("Eby8"), "{dbg}");
    for bad in ["AccountKey=abc", "garbage", "DefaultEndpointsProtocol=ftp;AccountName=a", "BlobEndpoint=::nope"] {
        assert!(ConnectionString::parse(bad).is_err(), "{bad}");
    }
    let cs = ConnectionString::parse(&format!(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={DEVELOPMENT_ACCOUNT_KEY};EndpointSuffix=core.chinacloudapi.cn"
    ))
    .unwrap();
    assert_eq!(cs.blob_endpoint().unwrap().as_str(), "https://acct.blob.core.chinacloudapi.cn/");
    let dbg = format!("{cs:?}");
    assert!(!dbg.contains("Eby8"), "{dbg}");
    let sas = ConnectionString::parse(
        "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2025-11-05&sp=r&sig=SECRETSIG",
    )
    .unwrap();
    assert!(sas.sas().is_some() && sas.account_key().is_none());
    assert!(!format!("{sas:?}").contains("SECRETSIG"));
    let dev = ConnectionString::parse("UseDevelopmentStorage=true").unwrap();
    assert!(dev.is_development());
    // Issue 15, defect 18: a BlobEndpoint can carry a SAS in its query (the portal's "Blob SAS
    // URL"); Debug showed it.
    let endpoint_sas = ConnectionString::parse(
        "BlobEndpoint=https://a.blob.core.windows.net/?sv=2025-11-05&sp=r&sig=ENDPOINTSIG;AccountName=a",
    )
    .unwrap();
    let dbg = format!("{endpoint_sas:?}");
    assert!(!dbg.contains("ENDPOINTSIG") && !dbg.contains("sp=r"), "{dbg}");
    assert!(dbg.contains("https://a.blob.core.windows.net/"), "the endpoint itself is shown: {dbg}");
    assert_eq!(endpoint_sas.blob_endpoint().unwrap().query(), Some("sv=2025-11-05&sp=r&sig=ENDPOINTSIG"));
    let e = ConnectionString::parse("BlobEndpoint=nope?sig=BADSIG").unwrap_err();
    assert!(!e.to_string().contains("BADSIG"), "{e}");
    assert_eq!(dev.account_key().unwrap().account(), DEVELOPMENT_ACCOUNT);
}

#[test]
fn service_sas_string_to_sign_and_query() {
    let sas = BlobSas::blob("pics", "a b.txt", SasPermissions::parse("wr").unwrap(), t(1_700_003_600))
        .start(t(1_700_000_000))
        .protocol(SasProtocol::HttpsAndHttp)
        .content_type("text/plain");
    assert_eq!(
        sas.string_to_sign("acct"),
        "rw\n2023-11-14T22:13:20Z\n2023-11-14T23:13:20Z\n/blob/acct/pics/a b.txt\n\n\nhttps,http\n2025-11-05\nb\n\n\n\n\n\n\ntext/plain"
    );
    let key = AccountKey::new("acct", DEVELOPMENT_ACCOUNT_KEY).unwrap();
    let token = sas.sign(&key).unwrap();
    let q = token.as_query();
    assert!(
        q.starts_with(
            "sv=2025-11-05&st=2023-11-14T22%3A13%3A20Z&se=2023-11-14T23%3A13%3A20Z&sr=b&sp=rw&spr=https%2Chttp"
        ),
        "{q}"
    );
    let sig = key.sign(&sas.string_to_sign("acct")).unwrap();
    let enc: String = cloudkit_core::encode_unreserved(&sig);
    assert!(q.ends_with(&format!("sig={enc}")), "{q}");
    assert!(!format!("{token:?}").contains(&enc));
    assert!(BlobSas::container("c", SasPermissions::none(), t(1)).sign(&key).is_err());
    assert!(SasPermissions::parse("rz").is_err());
    assert_eq!(SasPermissions::parse("ldwcar").unwrap().blob_string(), "racwdl");
    assert_eq!(SasPermissions::parse("ldwcar").unwrap().account_string(), "rwdlac");
}

#[test]
fn account_and_user_delegation_layouts() {
    let a = AccountSas::new(
        AccountSasServices::blob(),
        AccountSasResourceTypes::all(),
        SasPermissions::none().read().list(),
        t(1_700_003_600),
    );
    assert_eq!(a.string_to_sign("acct"), "acct\nrl\nb\nsco\n\n2023-11-14T23:13:20Z\n\n\n2025-11-05\n\n");
    let udk = UserDelegationKey {
        signed_oid: "oid".into(),
        signed_tid: "tid".into(),
        signed_start: "2023-11-14T22:00:00Z".into(),
        signed_expiry: "2023-11-15T22:00:00Z".into(),
        signed_service: "b".into(),
        signed_version: "2025-11-05".into(),
        value: azure_core::credentials::Secret::new(DEVELOPMENT_ACCOUNT_KEY),
    };
    let s = BlobSas::container("c", SasPermissions::none().read(), t(1_700_003_600));
    let sts = s.user_delegation_string_to_sign("acct", &udk);
    assert_eq!(sts.split('\n').count(), 26, "{sts:?}");
    assert!(sts.starts_with("r\n\n2023-11-14T23:13:20Z\n/blob/acct/c\noid\ntid\n"));
    let token = s.sign_user_delegation("acct", &udk).unwrap();
    assert!(token.as_query().contains("skoid=oid&sktid=tid"));
    assert!(!format!("{udk:?}").contains("Eby8"));
}

#[test]
fn bearer_tokens_refuse_plain_http_except_configured_loopback() {
    #[derive(Debug)]
    struct Never;
    #[async_trait::async_trait]
    impl azure_core::credentials::TokenCredential for Never {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "no"))
        }
    }
    let s = BearerTokenSigner::new(std::sync::Arc::new(Never), STORAGE_SCOPE);
    let http_remote: cloudkit_core::Url = "http://acct.blob.core.windows.net/".parse().unwrap();
    let http_local: cloudkit_core::Url = "http://127.0.0.1:10000/devstoreaccount1".parse().unwrap();
    let https: cloudkit_core::Url = "https://acct.blob.core.windows.net/".parse().unwrap();
    assert!(s.check_url(&https).is_ok());
    assert!(s.check_url(&http_local).is_err(), "loopback http needs the explicit emulator setting");
    assert!(s.check_url(&http_remote).is_err());
    // Issue 16, point 4: the refusal names the fix.
    let local = s.check_url(&http_local).unwrap_err().to_string();
    assert!(local.starts_with("bearer tokens are only sent over https (refusing http://"), "{local}");
    assert!(local.contains("`.emulator(true)` on the Azure session"), "{local}");
    assert!(local.contains("allow_loopback_http(true)") && local.contains("connection string"), "{local}");
    let remote = s.check_url(&http_remote).unwrap_err().to_string();
    assert!(remote.contains("use an https endpoint") && remote.contains("`.emulator(true)`"), "{remote}");
    assert!(!local.contains('\n') && !remote.contains('\n'));
    let s = s.allow_loopback_http(true);
    assert!(s.check_url(&http_local).is_ok());
    assert!(s.check_url(&http_remote).is_err(), "never to a non-loopback host");
    assert!(endpoint_allows_plain_http(&"http://[::1]:1/".parse().unwrap()));
    assert!(!endpoint_allows_plain_http(&"http://10.0.0.1/".parse().unwrap()));
}

/// After a 401 the next token request says which token was refused; a 403 is not a refused token.
#[tokio::test]
async fn a_refused_bearer_token_is_named_in_the_next_token_request() {
    use std::sync::Mutex;

    use cloudkit_core::{ServiceErrorDetails, Sign, StatusCode};

    #[derive(Debug, Default)]
    struct Rotating {
        issued: Mutex<u32>,
        refused_seen: Mutex<Vec<Option<time::OffsetDateTime>>>,
    }
    #[async_trait::async_trait]
    impl azure_core::credentials::TokenCredential for Rotating {
        async fn get_token(
            &self,
            _: &[&str],
            options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            let refused = options.as_ref().and_then(|o| o.method_options.context.value::<RefusedToken>().copied());
            self.refused_seen.lock().unwrap().push(refused.map(|r| r.expires_on));
            let mut issued = self.issued.lock().unwrap();
            if refused.is_some() || *issued == 0 {
                *issued += 1;
            }
            let expires = time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + i64::from(*issued)).unwrap();
            Ok(azure_core::credentials::AccessToken::new(format!("token-{issued}"), expires))
        }
    }
    let credential = std::sync::Arc::new(Rotating::default());
    let signer = BearerTokenSigner::new(credential.clone(), STORAGE_SCOPE);
    let url: cloudkit_core::Url = "https://acct.blob.core.windows.net/c/b".parse().unwrap();
    let signed = || {
        let mut r = HttpRequest::new(Method::GET, url.clone());
        let signer = signer.clone();
        async move {
            signer.sign(&mut r).await.unwrap();
            r.headers["authorization"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(signed().await, "Bearer token-1");
    assert!(!signer.credentials_refused(StatusCode::FORBIDDEN, &ServiceErrorDetails::default()));
    assert_eq!(signed().await, "Bearer token-1");
    assert!(signer.credentials_refused(StatusCode::UNAUTHORIZED, &ServiceErrorDetails::default()));
    assert_eq!(signed().await, "Bearer token-2", "the credential was told which token was refused");
    assert_eq!(signed().await, "Bearer token-2", "replaced: no longer named");
    let first = time::OffsetDateTime::from_unix_timestamp(1_700_000_001).unwrap();
    assert_eq!(*credential.refused_seen.lock().unwrap(), [None, None, Some(first), None]);
}
