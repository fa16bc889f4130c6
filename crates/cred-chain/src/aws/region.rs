//! The region chain: code → `AWS_REGION` → `AWS_DEFAULT_REGION` → profile `region` → EC2
//! instance metadata. A missing region is a [`RegionError`] naming every source; there is no
//! silent default.

use super::imds;
use super::profile::Profile;
use super::provider_config::ProviderConfig;

/// Where the region came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionSource {
    /// Set in code.
    Code,
    /// `AWS_REGION`.
    AwsRegion,
    /// `AWS_DEFAULT_REGION`.
    AwsDefaultRegion,
    /// The `region` key of this profile.
    Profile(String),
    /// EC2 instance metadata.
    Imds,
}

/// No region could be found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// No source set a region.
    #[error(
        "no AWS region configured: looked at the code (AwsConfig::loader().region(..)), AWS_REGION, \
         AWS_DEFAULT_REGION, the `region` key of profile `{profile}` ({files}) and EC2 instance metadata \
         (IMDS); set one of them"
    )]
    Missing {
        /// The profile that was looked at.
        profile: String,
        /// The profile files that were looked at.
        files: String,
    },
    /// A source set a value that is not a region name.
    #[error("invalid AWS region {value:?} from {source_name}: {reason}")]
    Invalid {
        /// The value.
        value: String,
        /// Where it came from.
        source_name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
}

fn validate(value: &str, source: &RegionSource) -> Result<String, RegionError> {
    let value = value.trim();
    let ok = !value.is_empty() && value.len() <= 64 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(RegionError::Invalid {
            value: value.to_owned(),
            source_name: format!("{source:?}"),
            reason: "a region is made of letters, digits and '-' (e.g. eu-west-1)",
        })
    }
}

/// Resolves the region. `profile` is the selected profile (if it exists); `profile_name` and
/// `files` are only used in the error message. IMDS is asked last (it answers `None` when
/// disabled or unreachable).
pub async fn resolve_region(
    explicit: Option<&str>,
    config: &ProviderConfig,
    profile: Option<&Profile>,
    profile_name: &str,
    files: &str,
) -> Result<(String, RegionSource), RegionError> {
    if let Some(r) = explicit {
        return Ok((validate(r, &RegionSource::Code)?, RegionSource::Code));
    }
    if let Some(r) = config.env.get_non_empty("AWS_REGION") {
        return Ok((validate(&r, &RegionSource::AwsRegion)?, RegionSource::AwsRegion));
    }
    if let Some(r) = config.env.get_non_empty("AWS_DEFAULT_REGION") {
        return Ok((validate(&r, &RegionSource::AwsDefaultRegion)?, RegionSource::AwsDefaultRegion));
    }
    if let Some(p) = profile
        && let Some(r) = p.get_non_empty("region")
    {
        let source = RegionSource::Profile(p.name().to_owned());
        return Ok((validate(r, &source)?, source));
    }
    if let Some(r) = imds::region(config).await {
        return Ok((validate(&r, &RegionSource::Imds)?, RegionSource::Imds));
    }
    Err(RegionError::Missing { profile: profile_name.to_owned(), files: files.to_owned() })
}
