//! [`ResumeToken`]: where a listing stopped, down to the item inside a page.

use std::fmt;
use std::str::FromStr;

/// The prefix that marks the encoded form of a [`ResumeToken`].
const PREFIX: &str = "cloudkit-resume:v1:";

/// Where a listing stopped: the token of a page plus the number of that page's items that were
/// already returned.
///
/// A stream that stopped because of `max_items` offers one
/// ([`PageStream::resume_token`](crate::PageStream::resume_token),
/// [`ItemStream::resume_token`](crate::ItemStream::resume_token)). Store its string form
/// (`to_string()`) and pass it back as
/// [`PaginationConfig::starting_token`](crate::PaginationConfig::starting_token) to get exactly
/// the items that were not returned yet, even if the listing stopped in the middle of a page.
/// This is boto3's `resume_token` (which encodes the page token plus `boto_truncate_amount`).
///
/// # String form
///
/// Treat the string as opaque. For the record, it is:
///
/// - the provider's token itself when no item of that page was returned yet, so a plain
///   provider token is also a valid starting token;
/// - the empty string for "the beginning of the listing";
/// - otherwise `cloudkit-resume:v1:<skip>:<provider token>`, where `<skip>` is the number of
///   items of the page at `<provider token>` (empty for the first page) already returned.
///
/// Resuming mid-page is only meaningful with the same page size and request parameters as the
/// listing the token came from.
///
/// # Example
///
/// ```
/// use cloudkit_paginate::ResumeToken;
///
/// let token = ResumeToken::new(Some("abc".to_owned()), 3);
/// let text = token.to_string();
/// assert_eq!(text.parse::<ResumeToken>()?, token);
///
/// // A plain provider token parses as "that page, nothing skipped".
/// let plain: ResumeToken = "abc".parse()?;
/// assert_eq!((plain.token(), plain.skip()), (Some("abc"), 0));
/// # Ok::<(), cloudkit_paginate::ParseResumeTokenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ResumeToken {
    token: Option<String>,
    skip: usize,
}

impl ResumeToken {
    /// Creates a resume token for the page at `token` (`None` for the first page), skipping its
    /// first `skip` items. An empty `token` is the same as `None`.
    pub fn new(token: Option<String>, skip: usize) -> Self {
        Self { token: token.filter(|t| !t.is_empty()), skip }
    }

    /// The provider token of the page to fetch, `None` for the first page.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// How many items at the start of that page were already returned.
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// Splits the token into its provider token and skip count.
    pub fn into_parts(self) -> (Option<String>, usize) {
        (self.token, self.skip)
    }
}

impl fmt::Display for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self.token.as_deref().unwrap_or("");
        if self.skip == 0 && !token.starts_with(PREFIX) {
            f.write_str(token)
        } else {
            write!(f, "{PREFIX}{}:{token}", self.skip)
        }
    }
}

impl FromStr for ResumeToken {
    type Err = ParseResumeTokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(rest) = s.strip_prefix(PREFIX) else {
            return Ok(Self::new(Some(s.to_owned()), 0));
        };
        let (skip, token) =
            rest.split_once(':').ok_or(ParseResumeTokenError { reason: "missing `:` after the skip count" })?;
        let skip = skip
            .parse::<usize>()
            .map_err(|_| ParseResumeTokenError { reason: "the skip count is not a non-negative integer" })?;
        Ok(Self::new(Some(token.to_owned()), skip))
    }
}

/// A string that starts like an encoded [`ResumeToken`] but is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resume token: {reason}")]
pub struct ParseResumeTokenError {
    reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(token: &ResumeToken) -> ResumeToken {
        token.to_string().parse().unwrap()
    }

    #[test]
    fn page_boundary_is_the_plain_provider_token() {
        let token = ResumeToken::new(Some("eyJrZXkiOiJhIn0=".to_owned()), 0);
        assert_eq!(token.to_string(), "eyJrZXkiOiJhIn0=");
        assert_eq!(round_trip(&token), token);
    }

    #[test]
    fn mid_page_round_trips() {
        let token = ResumeToken::new(Some("a:b:c".to_owned()), 42);
        assert_eq!(token.to_string(), "cloudkit-resume:v1:42:a:b:c");
        assert_eq!(round_trip(&token), token);
    }

    #[test]
    fn first_page_round_trips() {
        let start = ResumeToken::new(None, 0);
        assert_eq!(start.to_string(), "");
        assert_eq!(round_trip(&start), start);
        let mid_first = ResumeToken::new(None, 7);
        assert_eq!(mid_first.to_string(), "cloudkit-resume:v1:7:");
        assert_eq!(round_trip(&mid_first), mid_first);
    }

    #[test]
    fn provider_token_that_looks_encoded_round_trips() {
        let token = ResumeToken::new(Some(format!("{PREFIX}9:x")), 0);
        assert_eq!(round_trip(&token), token);
    }

    #[test]
    fn malformed_encoded_tokens_are_rejected() {
        assert!("cloudkit-resume:v1:abc:tok".parse::<ResumeToken>().is_err());
        assert!("cloudkit-resume:v1:12".parse::<ResumeToken>().is_err());
        assert!("cloudkit-resume:v1:-1:tok".parse::<ResumeToken>().is_err());
    }
}
