//! Azure setup shared by the tests against Azurite.

use cloudkit_azure_blob::BlobServiceClient;

use crate::testbed;

/// Azurite's connection string (`CLOUDKIT_TEST_AZURITE_CONNECTION_STRING`), as the Python SDK takes it.
///
/// # Panics
/// When Azurite is not configured; the message says to run `scripts/testbed.sh up`.
pub fn connection_string() -> String {
    testbed::var("CLOUDKIT_TEST_AZURITE_CONNECTION_STRING")
}

/// A Blob service client for Azurite, from its connection string (SharedKey auth).
///
/// # Panics
/// When Azurite is not configured or the connection string does not parse.
pub fn blob_service() -> BlobServiceClient {
    BlobServiceClient::from_connection_string(&connection_string())
        .unwrap_or_else(|e| panic!("Azurite's connection string does not parse: {e}"))
}
