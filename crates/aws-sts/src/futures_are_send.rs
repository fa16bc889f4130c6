//! Every public future of this crate is `Send` (docs/ARCHITECTURE.md, "Time, progress,
//! futures"), checked at compile time on futures that are created and never polled.

use std::sync::Arc;

use cloudkit_core::assert_send;
use cloudkit_core::testing::ReplayHttp;

use crate::tests::{client, source};
use crate::*;

#[test]
fn futures_are_send() {
    let http = Arc::new(ReplayHttp::new());
    let sts = client(&http, "us-east-1", Some(source())).unwrap();
    let arn = "arn:aws:iam::123456789012:role/demo";
    assert_send!(sts.assume_role(AssumeRoleRequest::new(arn, "s1")));
    assert_send!(sts.assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest::new(arn, "s1", "token")));
    assert_send!(sts.get_caller_identity());
}
