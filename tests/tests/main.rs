//! cloudkit's cross-crate integration tests, one module per area, all in one test binary.
//!
//! They run against the local emulators that `scripts/testbed.sh up` starts (moto, Azurite,
//! gcp-storage-emulator, s3s-fs) and find them through `target/testbed/env`. Run one area with its module
//! name as the filter, e.g. `cargo test -p cloudkit-tests --test integration store_conformance_s3::`.

mod arm_client;
mod arm_fake;
mod aws_config_moto;
mod aws_dynamic_botocore;
mod aws_dynamic_moto;
mod aws_dynamic_typed;
mod aws_imds_moto;
mod aws_sigv4_moto;
mod aws_sigv4_s3s;
mod aws_sts_moto;
mod azure_blob_azurite;
mod azure_python_crosscheck;
mod compute_azure_arm;
mod compute_ec2_moto;
mod compute_gce;
mod compute_mock;
mod ec2_moto;
mod fault_injection;
mod gce_client;
mod gce_fake;
mod gcs_emulator;
mod gcs_python;
mod s3_boto3_moto;
mod s3_client_moto;
mod s3_client_s3s;
mod s3_transfer_moto;
mod s3_transfer_s3s;
mod store_conformance_azure;
mod store_conformance_gcs;
mod store_conformance_local;
mod store_conformance_s3;
mod store_mock;
mod testbed_smoke;
