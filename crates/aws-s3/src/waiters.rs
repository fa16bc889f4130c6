//! Waiters: poll HeadBucket / HeadObject until a bucket or object exists or is gone, with the
//! acceptors of the official S3 waiter definitions.
//!
//! | waiter | poll | success | retry |
//! |---|---|---|---|
//! | [`S3Client::wait_until_bucket_exists`] | HeadBucket | 200 | 404 (`NotFound`) |
//! | [`S3Client::wait_until_bucket_not_exists`] | HeadBucket | 404 | 200 |
//! | [`S3Client::wait_until_object_exists`] | HeadObject | 200 | 404 |
//! | [`S3Client::wait_until_object_not_exists`] | HeadObject | 404 | 200 |
//!
//! Defaults: a fixed 5 s delay, at most 20 polls, and a 120 s deadline (botocore: delay 5,
//! maxAttempts 20). Any other error (403, 5xx after retries) stops the wait. Unlike botocore,
//! `bucket_exists` does not treat 301/403 as success: like aws-sdk-rust's Smithy model, a
//! bucket you cannot access is not reported as existing.

use std::time::Duration;

use cloudkit_waiter::{Acceptor, AcceptorState, FinalPoll, Waiter, WaiterConfig, WaiterError};

use crate::bucket::HeadBucketOutput;
use crate::client::S3Client;
use crate::error::S3Error;
use crate::types::ObjectMetadata;

/// The default settings of every S3 waiter: 5 s between polls, 20 polls, 120 s deadline.
pub fn default_waiter_config() -> WaiterConfig {
    WaiterConfig::new(Duration::from_secs(5), Duration::from_secs(5), Duration::from_secs(120)).max_attempts(20)
}

fn not_found(e: &S3Error) -> bool {
    matches!(e, S3Error::NotFound(_) | S3Error::NoSuchBucket(_) | S3Error::NoSuchKey(_))
}

/// A bucket waiter; see [`S3Client::wait_until_bucket_exists`].
#[derive(Debug)]
#[must_use = "call .wait()"]
pub struct BucketWaiter {
    client: S3Client,
    bucket: String,
    exists: bool,
    config: WaiterConfig,
}

/// An object waiter; see [`S3Client::wait_until_object_exists`].
#[derive(Debug)]
#[must_use = "call .wait()"]
pub struct ObjectWaiter {
    client: S3Client,
    bucket: String,
    key: String,
    exists: bool,
    config: WaiterConfig,
}

impl S3Client {
    /// Waits until HeadBucket succeeds.
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// s3.create_bucket("new-bucket").send().await?;
    /// s3.wait_until_bucket_exists("new-bucket").max_wait(Duration::from_secs(60)).wait().await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_until_bucket_exists(&self, bucket: impl Into<String>) -> BucketWaiter {
        BucketWaiter { client: self.clone(), bucket: bucket.into(), exists: true, config: default_waiter_config() }
    }

    /// Waits until HeadBucket returns 404.
    pub fn wait_until_bucket_not_exists(&self, bucket: impl Into<String>) -> BucketWaiter {
        BucketWaiter { client: self.clone(), bucket: bucket.into(), exists: false, config: default_waiter_config() }
    }

    /// Waits until HeadObject succeeds.
    pub fn wait_until_object_exists(&self, bucket: impl Into<String>, key: impl Into<String>) -> ObjectWaiter {
        ObjectWaiter {
            client: self.clone(),
            bucket: bucket.into(),
            key: key.into(),
            exists: true,
            config: default_waiter_config(),
        }
    }

    /// Waits until HeadObject returns 404.
    pub fn wait_until_object_not_exists(&self, bucket: impl Into<String>, key: impl Into<String>) -> ObjectWaiter {
        ObjectWaiter {
            client: self.clone(),
            bucket: bucket.into(),
            key: key.into(),
            exists: false,
            config: default_waiter_config(),
        }
    }
}

fn acceptors<T>(exists: bool) -> Vec<Acceptor<T, S3Error>> {
    if exists {
        vec![
            Acceptor::success_if_ok(),
            Acceptor::error(AcceptorState::Retry, "HeadBucket/HeadObject returned 404", not_found),
        ]
    } else {
        vec![Acceptor::error(AcceptorState::Success, "HeadBucket/HeadObject returned 404", not_found)]
    }
}

impl BucketWaiter {
    cloudkit_waiter::waiter_settings!();

    /// The acceptors this waiter uses.
    pub fn acceptors(&self) -> Vec<Acceptor<HeadBucketOutput, S3Error>> {
        acceptors(self.exists)
    }

    /// Polls until the state is reached; see [`cloudkit_waiter::WaiterError`] for the ways it ends.
    pub async fn wait(self) -> Result<FinalPoll<HeadBucketOutput, S3Error>, WaiterError<HeadBucketOutput, S3Error>> {
        let name = if self.exists { "BucketExists" } else { "BucketNotExists" };
        let waiter = Waiter::new(name, self.config, acceptors(self.exists)).resource(format!("bucket {}", self.bucket));
        waiter.wait(|| self.client.head_bucket(&self.bucket)).await
    }
}

impl ObjectWaiter {
    cloudkit_waiter::waiter_settings!();

    /// The acceptors this waiter uses.
    pub fn acceptors(&self) -> Vec<Acceptor<ObjectMetadata, S3Error>> {
        acceptors(self.exists)
    }

    /// Polls until the state is reached.
    pub async fn wait(self) -> Result<FinalPoll<ObjectMetadata, S3Error>, WaiterError<ObjectMetadata, S3Error>> {
        let name = if self.exists { "ObjectExists" } else { "ObjectNotExists" };
        let resource = format!("object s3://{}/{}", self.bucket, self.key);
        let waiter = Waiter::new(name, self.config, acceptors(self.exists)).resource(resource);
        waiter.wait(|| self.client.head_object(&self.bucket, &self.key).send()).await
    }
}
