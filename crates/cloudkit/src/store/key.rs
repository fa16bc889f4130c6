//! The one validated key type of the neutral layer.

use std::fmt;

use super::Error;

/// Longest key accepted, in bytes (S3's limit; Azure and GCS allow at least this much).
pub const MAX_KEY_LEN: usize = 1024;

/// An object key that every backend can store unchanged: `/`-separated segments, none empty,
/// none `.` or `..`, no control characters, no leading or trailing `/`, at most 1024 bytes, and no
/// segment starting with `.cloudkit` (reserved for the local store's bookkeeping).
///
/// Invalid keys are an [`Error::InvalidInput`], never a panic or a silent rewrite.
///
/// ```
/// use cloudkit::store::ObjectKey;
/// let key = ObjectKey::parse("reports/2026/q3 summary.pdf").unwrap();
/// assert_eq!(key.segments().count(), 3);
/// assert!(ObjectKey::parse("../etc/passwd").is_err());
/// assert!(ObjectKey::parse("/absolute").is_err());
/// assert!(ObjectKey::parse("a//b").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates `key`. The empty string is the root (a valid prefix, not a valid object key:
    /// operations on objects reject it).
    pub fn parse(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        if key.is_empty() {
            return Ok(Self(key));
        }
        let invalid = |why: &str| Error::InvalidInput { message: format!("invalid key {key:?}: {why}") };
        if key.len() > MAX_KEY_LEN {
            return Err(invalid("longer than 1024 bytes"));
        }
        if key.starts_with('/') {
            return Err(invalid("keys are relative; remove the leading '/'"));
        }
        if key.ends_with('/') {
            return Err(invalid("a trailing '/' makes an empty segment"));
        }
        if key.chars().any(char::is_control) {
            return Err(invalid("control characters are not allowed"));
        }
        if key.contains('\\') {
            return Err(invalid("'\\' is not allowed (use '/' to separate segments)"));
        }
        for segment in key.split('/') {
            match segment {
                "" => return Err(invalid("empty segment ('//')")),
                "." | ".." => return Err(invalid("'.' and '..' segments are not allowed")),
                s if s.starts_with(".cloudkit") => {
                    return Err(invalid("segments starting with '.cloudkit' are reserved"));
                }
                _ => {}
            }
        }
        Ok(Self(key))
    }

    /// The root (empty) key, used as "no prefix".
    pub fn root() -> Self {
        Self(String::new())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The last segment (the "file name").
    pub fn filename(&self) -> Option<&str> {
        self.segments().last()
    }

    /// `self/child`, validating `child` (which may contain `/`).
    pub fn join(&self, child: &str) -> Result<Self, Error> {
        if self.is_root() { Self::parse(child) } else { Self::parse(format!("{}/{child}", self.0)) }
    }

    /// Whether `self` lies under the directory-style prefix `prefix` (`a/b` is under `a`, `ab` is not).
    pub fn starts_with(&self, prefix: &ObjectKey) -> bool {
        prefix.is_root()
            || self.0 == prefix.0
            || (self.0.starts_with(&prefix.0) && self.0.as_bytes().get(prefix.0.len()) == Some(&b'/'))
    }

    /// The part after `prefix/`, if `self` is under `prefix`.
    pub fn strip_prefix(&self, prefix: &ObjectKey) -> Option<&str> {
        if prefix.is_root() {
            return Some(&self.0);
        }
        self.0.strip_prefix(&prefix.0).and_then(|rest| rest.strip_prefix('/'))
    }

    /// Errors unless this is a non-root key (objects need a name).
    pub(crate) fn require_object(&self) -> Result<&Self, Error> {
        if self.is_root() {
            Err(Error::InvalidInput { message: "an object key cannot be empty".into() })
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({:?})", self.0)
    }
}

impl TryFrom<&str> for ObjectKey {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self, Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::parse(value)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_keys() {
        for k in ["a", "a/b/c", "with space/ünïcødé", "a+b%20c", "x.y/z..w", "trailing.dot."] {
            assert_eq!(ObjectKey::parse(k).unwrap().as_str(), k);
        }
    }

    #[test]
    fn invalid_keys_are_errors() {
        for k in ["/a", "a/", "a//b", "../x", "a/./b", "a/../b", "a\nb", "a\\b", ".cloudkit-meta/x", "x/.cloudkit.tmp"]
        {
            assert!(matches!(ObjectKey::parse(k), Err(Error::InvalidInput { .. })), "{k:?}");
        }
        assert!(ObjectKey::parse("k".repeat(1025)).is_err());
        assert!(ObjectKey::parse("k".repeat(1024)).is_ok());
    }

    #[test]
    fn prefix_logic_is_segment_aware() {
        let k = ObjectKey::parse("a/b/c").unwrap();
        assert!(k.starts_with(&ObjectKey::parse("a").unwrap()));
        assert!(k.starts_with(&ObjectKey::parse("a/b").unwrap()));
        assert!(!k.starts_with(&ObjectKey::parse("a/bc").unwrap()));
        assert!(!ObjectKey::parse("ab").unwrap().starts_with(&ObjectKey::parse("a").unwrap()));
        assert_eq!(k.strip_prefix(&ObjectKey::parse("a").unwrap()), Some("b/c"));
        assert_eq!(ObjectKey::root().join("x/y").unwrap().as_str(), "x/y");
        assert!(ObjectKey::parse("a").unwrap().join("../b").is_err());
    }
}
