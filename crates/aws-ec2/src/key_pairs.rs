//! Key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cloudkit_core::SecretString;

use crate::client::{Ec2Client, push_dry_run, push_filters, query};
use crate::error::Ec2Error;
use crate::model;
use crate::types::{Filter, Tag};

impl Ec2Client {
    /// `CreateKeyPair`: EC2 generates a key pair and returns the private key once.
    pub fn create_key_pair(&self, key_name: impl Into<String>) -> CreateKeyPair {
        CreateKeyPair { client: self.clone(), key_name: key_name.into(), key_type: None, dry_run: false }
    }

    /// `ImportKeyPair`: registers an existing public key (OpenSSH `ssh-ed25519 …` / `ssh-rsa …` text;
    /// the client base64-encodes it for the wire).
    pub fn import_key_pair(&self, key_name: impl Into<String>, public_key: impl AsRef<[u8]>) -> ImportKeyPair {
        ImportKeyPair {
            client: self.clone(),
            key_name: key_name.into(),
            public_key: public_key.as_ref().to_vec(),
            dry_run: false,
        }
    }

    /// `DescribeKeyPairs`.
    pub fn describe_key_pairs(&self) -> DescribeKeyPairs {
        DescribeKeyPairs { client: self.clone(), key_names: Vec::new(), filters: Vec::new(), dry_run: false }
    }

    /// `DeleteKeyPair` by name.
    pub fn delete_key_pair(&self, key_name: impl Into<String>) -> DeleteKeyPair {
        DeleteKeyPair { client: self.clone(), key_name: key_name.into(), dry_run: false }
    }
}

/// A key pair as `DescribeKeyPairs` and `ImportKeyPair` return it (no private key).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyPairInfo {
    /// The name.
    pub key_name: String,
    /// The id (`key-…`).
    pub key_pair_id: Option<String>,
    /// The fingerprint.
    pub key_fingerprint: Option<String>,
    /// `rsa` or `ed25519`.
    pub key_type: Option<String>,
    /// When it was created.
    pub create_time: Option<SystemTime>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// A key pair EC2 just created, with its private key (shown once; redacted in `Debug`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeyPair {
    /// Name, id and fingerprint.
    pub info: KeyPairInfo,
    /// The private key (PEM for RSA, OpenSSH for ed25519).
    pub key_material: SecretString,
}

/// The key type of [`CreateKeyPair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA 2048 (EC2's default).
    Rsa,
    /// Ed25519.
    Ed25519,
}

/// Builder for `CreateKeyPair` ([`Ec2Client::create_key_pair`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct CreateKeyPair {
    client: Ec2Client,
    key_name: String,
    key_type: Option<KeyType>,
    dry_run: bool,
}

impl CreateKeyPair {
    /// The key type (default RSA).
    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = Some(key_type);
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Creates the key pair.
    pub async fn send(self) -> Result<KeyPair, Ec2Error> {
        const OP: &str = "CreateKeyPair";
        let mut body = query(OP);
        body.push("KeyName", &self.key_name);
        match self.key_type {
            Some(KeyType::Rsa) => body.push("KeyType", "rsa"),
            Some(KeyType::Ed25519) => body.push("KeyType", "ed25519"),
            None => {}
        }
        push_dry_run(&mut body, self.dry_run);
        self.client.call(OP, body, false, model::created_key_pair).await
    }
}

/// Builder for `ImportKeyPair` ([`Ec2Client::import_key_pair`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct ImportKeyPair {
    client: Ec2Client,
    key_name: String,
    public_key: Vec<u8>,
    dry_run: bool,
}

impl ImportKeyPair {
    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Imports the public key.
    pub async fn send(self) -> Result<KeyPairInfo, Ec2Error> {
        const OP: &str = "ImportKeyPair";
        let mut body = query(OP);
        body.push("KeyName", &self.key_name);
        body.push("PublicKeyMaterial", &BASE64.encode(&self.public_key));
        push_dry_run(&mut body, self.dry_run);
        self.client.call(OP, body, false, model::key_pair_info).await
    }
}

/// Builder for `DescribeKeyPairs` ([`Ec2Client::describe_key_pairs`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DescribeKeyPairs {
    client: Ec2Client,
    key_names: Vec<String>,
    filters: Vec<Filter>,
    dry_run: bool,
}

impl DescribeKeyPairs {
    /// Adds a key name.
    pub fn key_name(mut self, name: impl Into<String>) -> Self {
        self.key_names.push(name.into());
        self
    }

    /// Adds a filter (`key-name`, `fingerprint`, `tag:<key>`, …).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<KeyPairInfo>, Ec2Error> {
        let mut body = query("DescribeKeyPairs");
        body.push_list("KeyName", &self.key_names);
        push_filters(&mut body, &self.filters);
        push_dry_run(&mut body, self.dry_run);
        self.client.call("DescribeKeyPairs", body, true, model::key_pairs).await
    }
}

/// Builder for `DeleteKeyPair` ([`Ec2Client::delete_key_pair`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DeleteKeyPair {
    client: Ec2Client,
    key_name: String,
    dry_run: bool,
}

impl DeleteKeyPair {
    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Deletes the key pair (deleting a missing key pair succeeds, as on AWS).
    pub async fn send(self) -> Result<(), Ec2Error> {
        let mut body = query("DeleteKeyPair");
        body.push("KeyName", &self.key_name);
        push_dry_run(&mut body, self.dry_run);
        self.client.call("DeleteKeyPair", body, true, model::empty).await
    }
}
