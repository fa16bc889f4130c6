//! Unit tests of the STS client against canned responses (`ReplayHttp`).

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cloudkit_aws_protocol::QUERY_CONTENT_TYPE;
use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{Bytes, ErrorKind, Method, StatusCode};
use cloudkit_signer::aws::{Credentials, SharedCredentialsProvider};

use crate::types::validate_duration;
use crate::*;

const ASSUME_ROLE_OK: &str = include_str!("testdata/assume_role.xml");

const WEB_IDENTITY_OK: &str = include_str!("testdata/assume_role_with_web_identity.xml");

fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>req-err-1</RequestId></ErrorResponse>"
    )
}

/// A client for `region` over `http`, signed with `credentials` (unsigned without).
pub(crate) fn client(
    http: &Arc<ReplayHttp>,
    region: &str,
    credentials: Option<SharedCredentialsProvider>,
) -> Result<StsClient, StsError> {
    let mut builder = StsClient::builder().region(region).http(http.clone());
    if let Some(credentials) = credentials {
        builder = builder.credentials(credentials);
    }
    builder.build()
}

pub(crate) fn source() -> SharedCredentialsProvider {
    Arc::new(Credentials::from_keys("AKIDSOURCE", "sourcesecret"))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[tokio::test]
async fn assume_role_request_shape_and_parse() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, ASSUME_ROLE_OK));
    let sts = client(&http, "eu-west-1", Some(source())).unwrap();
    assert_eq!(sts.endpoint().as_str(), "https://sts.eu-west-1.amazonaws.com/");
    let out = sts
        .assume_role(
            AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "TestAR")
                .external_id("ext-id+1/=")
                .duration(Duration::from_secs(1800))
                .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        )
        .await
        .unwrap();
    let req = &http.requests()[0];
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.headers["content-type"], QUERY_CONTENT_TYPE);
    let auth = req.headers["authorization"].to_str().unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSOURCE/"), "{auth}");
    assert!(auth.contains("/eu-west-1/sts/aws4_request"), "{auth}");
    let pairs = form(&req.body);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("Action"), Some("AssumeRole"));
    assert_eq!(get("Version"), Some("2011-06-15"));
    assert_eq!(get("RoleArn"), Some("arn:aws:iam::123456789012:role/demo"));
    assert_eq!(get("RoleSessionName"), Some("TestAR"));
    assert_eq!(get("ExternalId"), Some("ext-id+1/="));
    assert_eq!(get("DurationSeconds"), Some("1800"));
    assert_eq!(get("PolicyArns.member.1.arn"), Some("arn:aws:iam::aws:policy/ReadOnlyAccess"));
    let body = std::str::from_utf8(&req.body).unwrap();
    assert!(body.starts_with("Action=AssumeRole&Version=2011-06-15&"), "{body}");

    assert_eq!(out.credentials.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
    assert_eq!(out.credentials.secret_access_key().expose(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_eq!(out.credentials.session_token().unwrap().expose(), "SESSIONTOKENVALUE");
    assert_eq!(out.credentials.expiry(), Some(UNIX_EPOCH + Duration::from_secs(1_573_306_481)));
    assert_eq!(out.credentials.provider_name(), "sts-assume-role");
    let user = out.assumed_role_user.unwrap();
    assert_eq!(user.arn, "arn:aws:sts::123456789012:assumed-role/demo/TestAR");
    assert_eq!(user.assumed_role_id, "ARO123EXAMPLE123:TestAR");
    assert_eq!(out.packed_policy_size, Some(6));
    assert_eq!(out.source_identity.as_deref(), Some("Alice"));
    assert_eq!(out.request_id.as_deref(), Some("c6104cbe-af31-11e0-8154-cbc7ccf896c7"));
}

#[tokio::test]
async fn web_identity_is_unsigned_and_parsed() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, WEB_IDENTITY_OK));
    let sts = client(&http, "us-east-1", None).unwrap();
    let out = sts
        .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest::new(
            "arn:aws:iam::123456789012:role/FederatedWebIdentityRole",
            "app1",
            "eyJhbGciOiJSUzI1NiJ9.payload.sig\n",
        ))
        .await
        .unwrap();
    let req = &http.requests()[0];
    assert!(!req.headers.contains_key("authorization"));
    let pairs = form(&req.body);
    assert!(pairs.contains(&("Action".into(), "AssumeRoleWithWebIdentity".into())));
    assert!(pairs.contains(&("WebIdentityToken".into(), "eyJhbGciOiJSUzI1NiJ9.payload.sig".into())));
    assert_eq!(out.credentials.access_key_id(), "ASgeIAIOSFODNN7EXAMPLE");
    assert_eq!(out.credentials.provider_name(), "sts-web-identity");
    assert_eq!(out.credentials.expiry(), Some(UNIX_EPOCH + Duration::from_millis(1_414_191_623_500)));
    assert_eq!(out.provider.as_deref(), Some("www.amazon.com"));
    assert_eq!(out.subject_from_web_identity_token.as_deref(), Some("amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"));
    assert_eq!(out.audience.as_deref(), Some("client.5498841531868486423.1548@apps.example.com"));
}

#[tokio::test]
async fn get_caller_identity_parses() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/Alice</Arn>\
         <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>\
         <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
    ));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let me = sts.get_caller_identity().await.unwrap();
    assert_eq!(me.account, "123456789012");
    assert_eq!(me.arn, "arn:aws:iam::123456789012:user/Alice");
    assert_eq!(me.user_id, "AIDACKCEVSQ6C2EXAMPLE");
    assert_eq!(me.request_id.as_deref(), Some("01234567-89ab"));
    assert_eq!(&http.requests()[0].body[..], b"Action=GetCallerIdentity&Version=2011-06-15");
}

#[tokio::test]
async fn error_codes_become_typed_errors() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(403, error_xml("AccessDenied", "not authorized to perform sts:AssumeRole")));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let e = sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap_err();
    assert!(matches!(e, StsError::AccessDenied(_)), "{e:?}");
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(e.core().unwrap().status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(e.core().unwrap().request_id(), Some("req-err-1"));
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("STS.AssumeRole failed: HTTP 403 AccessDenied"), "{e}");
    assert_eq!(http.requests().len(), 1, "AccessDenied is not retried");

    http.push(Canned::status(400, error_xml("ExpiredToken", "The security token included in the request is expired")));
    let e = sts.get_caller_identity().await.unwrap_err();
    assert!(matches!(e, StsError::ExpiredToken(_)), "{e:?}");

    http.push(Canned::status(400, error_xml("RegionDisabledException", "STS is not activated")));
    let e = sts.get_caller_identity().await.unwrap_err();
    assert!(matches!(e, StsError::RegionDisabled(_)), "{e:?}");

    http.push(Canned::status(400, error_xml("MalformedPolicyDocument", "bad policy")));
    let e = sts
        .assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1").policy("{"))
        .await
        .unwrap_err();
    assert!(matches!(e, StsError::MalformedPolicyDocument(_)), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_by_the_pipeline() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(400, error_xml("Throttling", "Rate exceeded")));
    http.push(Canned::status(200, ASSUME_ROLE_OK));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap();
    assert_eq!(http.requests().len(), 2);

    // exhausted: the typed throttling variant
    for _ in 0..3 {
        http.push(Canned::status(400, error_xml("Throttling", "Rate exceeded")));
    }
    let e = sts.get_caller_identity().await.unwrap_err();
    assert!(matches!(e, StsError::Throttled(_)), "{e:?}");
    assert!(e.is_throttling() && e.is_retryable(), "{e:?}");
    assert_eq!(e.code(), Some("Throttling"));
    assert_eq!(http.requests().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn idp_communication_error_is_retried_then_typed() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(400, error_xml("IDPCommunicationError", "could not reach the IdP")));
    http.push(Canned::status(200, WEB_IDENTITY_OK));
    let sts = client(&http, "us-east-1", None).unwrap();
    let req = AssumeRoleWithWebIdentityRequest::new("arn:aws:iam::123456789012:role/web", "s1", "token");
    sts.assume_role_with_web_identity(req.clone()).await.unwrap();
    assert_eq!(http.requests().len(), 2);

    for _ in 0..3 {
        http.push(Canned::status(400, error_xml("IDPCommunicationError", "could not reach the IdP")));
    }
    let e = sts.assume_role_with_web_identity(req).await.unwrap_err();
    assert!(matches!(e, StsError::IdpCommunicationError(_)), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(http.requests().len(), 5);
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let http = Arc::new(ReplayHttp::new());
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let arn = "arn:aws:iam::123456789012:role/demo";
    for bad in [
        AssumeRoleRequest::new(arn, "x"),
        AssumeRoleRequest::new(arn, "has space"),
        AssumeRoleRequest::new(arn, "a".repeat(65)),
        AssumeRoleRequest::new(arn, "ok-name").duration(Duration::from_secs(899)),
        AssumeRoleRequest::new(arn, "ok-name").duration(Duration::from_secs(43_201)),
        AssumeRoleRequest::new(arn, "ok-name").external_id("x"),
        AssumeRoleRequest::new("", "ok-name"),
    ] {
        let e = sts.assume_role(bad.clone()).await.unwrap_err();
        assert!(matches!(e, StsError::InvalidInput(_)), "{bad:?}: {e:?}");
        assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput);
    }
    for good in ["ab", "user@example.com", "a_b+c=d,e.f-g", &"a".repeat(64)] {
        validate_session_name("t", good).unwrap();
    }
    validate_duration("t", Duration::from_secs(900)).unwrap();
    validate_duration("t", Duration::from_secs(43_200)).unwrap();
    let e = sts
        .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest::new(arn, "ok-name", "  "))
        .await
        .unwrap_err();
    assert!(matches!(e, StsError::InvalidInput(_)));
    assert!(http.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_errors() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, ASSUME_ROLE_OK));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let out = sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap();
    let shown = format!("{out:?} {sts:?}");
    assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("SESSIONTOKENVALUE"), "{shown}");
    assert!(!shown.contains("sourcesecret"), "{shown}");
    let req = AssumeRoleWithWebIdentityRequest::new("arn:aws:iam::123456789012:role/web", "s1", "TOPSECRETJWT");
    assert!(!format!("{req:?}").contains("TOPSECRETJWT"));
}

fn assume_role_with_credentials(credentials: &str) -> String {
    format!(
        "<AssumeRoleResponse><AssumeRoleResult><Credentials>{credentials}</Credentials></AssumeRoleResult>\
         </AssumeRoleResponse>"
    )
}

async fn assume_role_replying(body: impl Into<Bytes>) -> Result<AssumeRoleOutput, StsError> {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, body));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await
}

#[tokio::test]
async fn entities_cdata_and_whitespace_in_responses() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
        <SourceIdentity>Alice &amp; Bob</SourceIdentity>\
        <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/a&#x26;b/s1</Arn>\
        <AssumedRoleId>\n   ARO1:s1\n  </AssumedRoleId></AssumedRoleUser>\
        <Credentials><AccessKeyId> ASIAENTITY </AccessKeyId>\
        <SecretAccessKey>se&#99;ret&lt;&gt;/+</SecretAccessKey>\
        <SessionToken><![CDATA[tok&en]]></SessionToken>\
        <Expiration>\n2030-01-01T00:00:00Z\n</Expiration></Credentials>\
        <PackedPolicySize> 12 </PackedPolicySize></AssumeRoleResult>\
        <ResponseMetadata><RequestId>req-&quot;1&quot;</RequestId></ResponseMetadata></AssumeRoleResponse>";
    let out = assume_role_replying(body.to_owned()).await.unwrap();
    assert_eq!(out.credentials.access_key_id(), "ASIAENTITY");
    assert_eq!(out.credentials.secret_access_key().expose(), "secret<>/+");
    assert_eq!(out.credentials.session_token().unwrap().expose(), "tok&en");
    assert_eq!(out.credentials.expiry(), Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000)));
    assert_eq!(out.source_identity.as_deref(), Some("Alice & Bob"));
    let user = out.assumed_role_user.unwrap();
    assert_eq!(user.arn, "arn:aws:sts::123456789012:assumed-role/a&b/s1");
    assert_eq!(user.assumed_role_id, "ARO1:s1");
    assert_eq!(out.packed_policy_size, Some(12));
    assert_eq!(out.request_id.as_deref(), Some("req-\"1\""));
}

#[tokio::test]
async fn optional_parts_may_be_absent() {
    let body = assume_role_with_credentials(
        "<AccessKeyId>ASIAMIN</AccessKeyId><SecretAccessKey>s</SecretAccessKey>\
         <Expiration>2030-01-01T00:00:00Z</Expiration>",
    );
    let out = assume_role_replying(body).await.unwrap();
    assert_eq!(out.credentials.access_key_id(), "ASIAMIN");
    assert!(out.credentials.session_token().is_none());
    assert!(out.assumed_role_user.is_none());
    assert_eq!((out.packed_policy_size, out.source_identity, out.request_id), (None, None, None));
}

#[tokio::test]
async fn a_missing_credential_field_is_a_decode_error_naming_it() {
    const SECRET: &str = "VERYSECRETKEYVALUE";
    const TOKEN: &str = "VERYSECRETTOKEN";
    let fields = [
        ("AccessKeyId", "ASIAFIELD".to_owned()),
        ("SecretAccessKey", SECRET.to_owned()),
        ("Expiration", "2030-01-01T00:00:00Z".to_owned()),
    ];
    for (missing, _) in &fields {
        let mut xml = format!("<SessionToken>{TOKEN}</SessionToken>");
        for (name, value) in fields.iter().filter(|(n, _)| n != missing) {
            xml.push_str(&format!("<{name}>{value}</{name}>"));
        }
        let e = assume_role_replying(assume_role_with_credentials(&xml)).await.unwrap_err();
        assert!(matches!(e, StsError::Other(_)), "{e:?}");
        assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode);
        let shown = format!("{e} {e:?}");
        assert!(shown.contains(&format!("<Credentials> has no <{missing}>")), "{shown}");
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    }

    let e = assume_role_replying(
        "<AssumeRoleResponse><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>".to_owned(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("<AssumeRoleResult> has no <Credentials>"), "{e}");

    let e = assume_role_replying(assume_role_with_credentials(&format!(
        "<AccessKeyId>A</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey><Expiration>soon</Expiration>"
    )))
    .await
    .unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("credential expiration `soon` is not an RFC 3339 time"), "{e}");
    assert!(!format!("{e} {e:?}").contains(SECRET));

    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn</Arn><UserId>u</UserId>\
         </GetCallerIdentityResult></GetCallerIdentityResponse>",
    ));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let e = sts.get_caller_identity().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("<GetCallerIdentityResult> has no <Account>"), "{e}");
}

#[tokio::test]
async fn malformed_responses_are_decode_errors() {
    let complete = ASSUME_ROLE_OK;
    let bad_size = complete.replace("<PackedPolicySize>6<", "<PackedPolicySize>six<");
    let partial_user = complete.replace("<AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>", "");
    for body in [
        String::new(),
        "not xml".to_owned(),
        complete[..complete.len() / 2].to_owned(),
        complete.replace("</SessionToken>", "</Session>"),
        complete.replace("SESSIONTOKENVALUE", "SESSION&unknown;TOKEN"),
        format!("{complete}<Extra/>"),
        bad_size,
        partial_user,
        "{\"AssumeRoleResult\": {}}".to_owned(),
    ] {
        let e = assume_role_replying(body.clone()).await.unwrap_err();
        assert!(matches!(e, StsError::Other(_)), "{body}: {e:?}");
        assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode, "{body}");
        assert!(e.to_string().contains("unexpected STS response"), "{e}");
        assert!(!format!("{e} {e:?}").contains("wJalrXUtnFEMI"), "{e:?}");
    }
    let mut not_utf8 = ASSUME_ROLE_OK.as_bytes().to_vec();
    let at = ASSUME_ROLE_OK.find("Alice").unwrap();
    not_utf8[at] = 0xff;
    let e = assume_role_replying(not_utf8).await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode);
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

#[tokio::test]
async fn garbage_response_is_a_decode_error() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "<html>not sts</html>"));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let e = sts.get_caller_identity().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode);
}

#[test]
fn builder_endpoint_region_and_overrides() {
    let http = Arc::new(ReplayHttp::new());
    let sts = client(&http, "eu-west-1", None).unwrap();
    assert_eq!(sts.endpoint().as_str(), "https://sts.eu-west-1.amazonaws.com/");
    assert_eq!(sts.region(), "eu-west-1");
    assert_eq!(sts.pipeline().retry_config().max_attempts(), 3);
    let sts = StsClient::builder()
        .region("eu-west-1")
        .endpoint(cloudkit_core::Url::parse("http://127.0.0.1:5000").unwrap())
        .http(http.clone())
        .retry(cloudkit_core::RetryConfig::disabled())
        .build()
        .unwrap();
    assert_eq!(sts.endpoint().as_str(), "http://127.0.0.1:5000/");
    assert_eq!(sts.pipeline().retry_config().max_attempts(), 1);

    for region in ["", "eu-west-1/evil", "eu west 1"] {
        assert!(matches!(client(&http, region, None), Err(StsError::InvalidInput(_))), "{region:?}");
    }
    let e = StsClient::builder().http(http.clone()).build().unwrap_err();
    assert!(matches!(e, StsError::InvalidInput(_)) && e.to_string().contains("region"), "{e}");
    let e = StsClient::builder()
        .region("us-east-1")
        .endpoint(cloudkit_core::Url::parse("ftp://sts.test").unwrap())
        .http(http)
        .build()
        .unwrap_err();
    assert!(matches!(e, StsError::InvalidInput(_)), "{e}");
}

#[test]
fn error_accessors_and_classifier() {
    let e = StsError::from_core(
        cloudkit_core::Error::new(ErrorKind::Service, SERVICE, "AssumeRole")
            .with_status(StatusCode::BAD_REQUEST)
            .with_code("IDPRejectedClaim")
            .with_message("no")
            .with_retryable(false),
    );
    assert!(matches!(e, StsError::IdpRejectedClaim(_)), "{e:?}");
    assert_eq!(
        (e.status(), e.code(), e.message()),
        (Some(StatusCode::BAD_REQUEST), Some("IDPRejectedClaim"), Some("no"))
    );
    assert!(!e.is_retryable() && !e.is_throttling());
    assert_eq!(e.into_core().map(|c| c.operation().to_owned()).as_deref(), Some("AssumeRole"));
    for code in cloudkit_aws_protocol::AWS_TRANSIENT_CODES.iter().chain(["IDPCommunicationError"].iter()) {
        assert!(STS_RETRY_CLASSIFIER.is_transient_code(code), "{code}");
    }
    for code in cloudkit_aws_protocol::AWS_THROTTLING_CODES {
        assert!(STS_RETRY_CLASSIFIER.is_throttling_code(code), "{code}");
    }
}

/// Issue 15, defect 13: an STS answer was read whatever its size (up to the pipeline's default of
/// 64 MiB today). Its documents are a few KiB: more than `MAX_RESPONSE_BODY` is a decode error,
/// not an allocation of whatever the peer sends, and not retried.
#[tokio::test]
async fn a_huge_answer_is_a_decode_error() {
    let http = Arc::new(ReplayHttp::new());
    let huge = format!("<AssumeRoleResponse>{}</AssumeRoleResponse>", " ".repeat(MAX_RESPONSE_BODY));
    http.push(Canned::status(200, huge));
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let e = sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode, "{e:?}");
    assert!(e.to_string().contains("larger than the 1048576 bytes"), "{e}");
    assert_eq!(http.requests().len(), 1);
    // a document just under the cap is read
    let padded = ASSUME_ROLE_OK.replace("</AssumeRoleResponse>", &format!("{}</AssumeRoleResponse>", " ".repeat(1000)));
    http.push(Canned::status(200, padded));
    sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap();
}

/// Clock skew: a `SignatureDoesNotMatch` whose `Date` is an hour ahead corrects the signing clock
/// (shared through `clock_skew`) and is retried once, signed with the service's time; the same
/// answer with a `Date` that agrees with the local clock (a wrong key) is not retried.
#[tokio::test(start_paused = true)]
async fn a_clock_skew_answer_corrects_the_clock_and_is_retried() {
    use std::time::SystemTime;

    use cloudkit_core::internal::date::{format_iso8601_basic, http_date};
    use cloudkit_signer::aws::ClockSkew;

    let http = Arc::new(ReplayHttp::new());
    let skew = ClockSkew::new();
    let sts = StsClient::builder()
        .region("us-east-1")
        .credentials(source())
        .http(http.clone())
        .clock_skew(skew.clone())
        .build()
        .unwrap();
    let wrong_key = error_xml("SignatureDoesNotMatch", "The request signature we calculated does not match");
    http.push(Canned::status(403, wrong_key.clone()).with_header("date", &http_date(SystemTime::now()).unwrap()));
    let e = sts.get_caller_identity().await.unwrap_err();
    assert_eq!((e.code(), e.core().unwrap().attempts()), (Some("SignatureDoesNotMatch"), 1), "{e:?}");
    assert_eq!(skew.offset_millis(), 0);

    let server_time = SystemTime::now() + Duration::from_secs(3600);
    http.push(Canned::status(403, wrong_key).with_header("date", &http_date(server_time).unwrap()));
    http.push(Canned::status(
        200,
        "<GetCallerIdentityResponse><GetCallerIdentityResult><UserId>U</UserId><Account>1</Account>\
         <Arn>arn:aws:iam::1:user/u</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
    ));
    sts.get_caller_identity().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs.len(), 3, "retried once");
    let signed_at = reqs[2].headers["x-amz-date"].to_str().unwrap();
    let expected = format_iso8601_basic(server_time).unwrap();
    assert_eq!(&signed_at[..11], &expected[..11], "the retry is signed with the server's hour");
    assert!(skew.offset_millis() > 3_590_000, "{skew:?}");
}
