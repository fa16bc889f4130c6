//! Support code for cloudkit's cross-crate integration tests.
//!
//! The tests talk to real emulators on 127.0.0.1 (moto, Azurite, gcp-storage-emulator, s3s-fs), started
//! by `scripts/testbed.sh up`, which writes their endpoints and credentials to `target/testbed/env`.
//! [`testbed`] finds those values. A test that needs an emulator which is not running fails with a
//! message saying how to start it; it never passes by skipping.

pub mod testbed;
