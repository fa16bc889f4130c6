//! # cloudkit-signer
//!
//! Request signing for cloudkit. Signers know credential *values*, never where they come from
//! (that is `cloudkit-cred-chain`'s job).
//!
//! - feature `aws`: SigV4 header signing and presigned URLs ([`aws`]).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "gcp")]
pub mod gcp;
