//! # cloudkit-signer
//!
//! Request signing for cloudkit. Signers know credential *values*, never where they come from
//! (that is `cloudkit-cred-chain`'s job).
//!
//! - feature `aws`: SigV4 header signing and presigned URLs ([`aws`]).
//! - feature `azure`: Azure Storage SharedKey, SAS and bearer tokens, connection strings (`azure`).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;
