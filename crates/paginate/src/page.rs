//! The [`Page`] trait providers implement for their list outputs.

use std::ops::Range;

/// One page of a paginated listing, as returned by a service.
///
/// Providers implement this for their output types (S3 `ListObjectsV2Output`, EC2
/// `DescribeInstancesOutput`, …). The paginator needs four things from a page: the token of the
/// next page, how many items it holds, a way to drop items it must not yield (when `max_items`
/// cuts a page, or when a [`ResumeToken`](crate::ResumeToken) says the first items of a page were
/// already returned), and the items themselves.
///
/// # Example
///
/// ```
/// use std::ops::Range;
/// use cloudkit_paginate::Page;
///
/// struct ListKeysOutput {
///     keys: Vec<String>,
///     next_continuation_token: Option<String>,
/// }
///
/// impl Page for ListKeysOutput {
///     type Item = String;
///
///     fn next_token(&self) -> Option<&str> {
///         self.next_continuation_token.as_deref()
///     }
///
///     fn item_count(&self) -> usize {
///         self.keys.len()
///     }
///
///     fn retain_items(&mut self, range: Range<usize>) {
///         cloudkit_paginate::retain_range(&mut self.keys, range);
///     }
///
///     fn into_items(self) -> Vec<String> {
///         self.keys
///     }
/// }
/// ```
pub trait Page {
    /// The type of one item of the listing (an object summary, an instance, …).
    type Item;

    /// The token to send to get the next page.
    ///
    /// `None` or an empty string means this is the last page.
    fn next_token(&self) -> Option<&str>;

    /// The number of items in this page, i.e. the length of [`Page::into_items`].
    fn item_count(&self) -> usize;

    /// Keeps only the items at positions `range` (in the order of [`Page::into_items`]) and drops
    /// the others.
    ///
    /// The paginator calls this only when it must not yield the whole page, and always with
    /// `range.start <= range.end <= self.item_count()`. Pages whose items come from several lists
    /// (S3's `Contents` and `CommonPrefixes`) must apply the range to the concatenation, in the
    /// same order as `into_items`.
    fn retain_items(&mut self, range: Range<usize>);

    /// Consumes the page and returns its items.
    fn into_items(self) -> Vec<Self::Item>;
}

/// Keeps only `items[range]`, in place: the usual body of [`Page::retain_items`] for a page whose
/// items are one `Vec`. A range reaching past the end is cut at the end (never a panic).
///
/// ```
/// let mut v = vec![1, 2, 3, 4, 5];
/// cloudkit_paginate::retain_range(&mut v, 1..3);
/// assert_eq!(v, [2, 3]);
/// cloudkit_paginate::retain_range(&mut v, 1..9);
/// assert_eq!(v, [3]);
/// ```
pub fn retain_range<T>(items: &mut Vec<T>, range: Range<usize>) {
    items.truncate(range.end);
    let start = range.start.min(items.len());
    items.drain(..start);
}

/// A ready-made [`Page`]: a list of items and the token of the next page.
///
/// Useful for providers whose pages carry nothing else worth keeping, and for tests.
///
/// # Example
///
/// ```
/// use cloudkit_paginate::{Page, VecPage};
///
/// let page = VecPage::new(vec!["a", "b"], Some("next".to_owned()));
/// assert_eq!(page.next_token(), Some("next"));
/// assert_eq!(page.into_items(), vec!["a", "b"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VecPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token of the next page; `None` or empty on the last page.
    pub next_token: Option<String>,
}

impl<T> VecPage<T> {
    /// Creates a page from its items and the token of the next page.
    pub fn new(items: Vec<T>, next_token: Option<String>) -> Self {
        Self { items, next_token }
    }
}

impl<T> Page for VecPage<T> {
    type Item = T;

    fn next_token(&self) -> Option<&str> {
        self.next_token.as_deref()
    }

    fn item_count(&self) -> usize {
        self.items.len()
    }

    fn retain_items(&mut self, range: Range<usize>) {
        retain_range(&mut self.items, range);
    }

    fn into_items(self) -> Vec<T> {
        self.items
    }
}

/// Implements [`Page`] for a page type whose items are its `items: Vec<Item>` field and whose next
/// token is its `next_page_token: Option<String>` field (an empty token is no token), the shape of
/// Google's list answers; other field names follow in braces (`{ buckets, continuation_token }`).
/// Generic page types name their parameters in angle brackets first.
///
/// ```
/// use cloudkit_paginate::Page;
///
/// #[derive(Default)]
/// struct ListPage<T> {
///     items: Vec<T>,
///     next_page_token: Option<String>,
/// }
/// cloudkit_paginate::items_page!(<T> ListPage<T> => T);
///
/// let page = ListPage { items: vec![1, 2], next_page_token: Some(String::new()) };
/// assert_eq!(page.next_token(), None);
/// assert_eq!(page.into_items(), [1, 2]);
///
/// struct ListBucketsOutput {
///     buckets: Vec<String>,
///     continuation_token: Option<String>,
/// }
/// cloudkit_paginate::items_page!(ListBucketsOutput => String { buckets, continuation_token });
/// ```
#[macro_export]
macro_rules! items_page {
    (<$($generic:ident),*> $page:ty => $item:ty { $items:ident, $next:ident }) => {
        impl<$($generic),*> $crate::Page for $page {
            type Item = $item;
            fn next_token(&self) -> ::core::option::Option<&str> {
                self.$next.as_deref().filter(|t| !t.is_empty())
            }
            fn item_count(&self) -> usize {
                self.$items.len()
            }
            fn retain_items(&mut self, range: ::core::ops::Range<usize>) {
                $crate::retain_range(&mut self.$items, range);
            }
            fn into_items(self) -> ::std::vec::Vec<$item> {
                self.$items
            }
        }
    };
    (<$($generic:ident),*> $page:ty => $item:ty) => {
        $crate::items_page!(<$($generic),*> $page => $item { items, next_page_token });
    };
    ($page:ty => $item:ty $({ $items:ident, $next:ident })?) => {
        $crate::items_page!(<> $page => $item $({ $items, $next })?);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_page_retain_items_keeps_the_range() {
        let mut page = VecPage::new((0..10).collect::<Vec<_>>(), None);
        page.retain_items(3..7);
        assert_eq!(page.item_count(), 4);
        assert_eq!(page.into_items(), vec![3, 4, 5, 6]);
    }

    #[test]
    fn vec_page_retain_items_tolerates_out_of_range() {
        let mut page = VecPage::new(vec![1, 2], None);
        page.retain_items(5..9);
        assert!(page.into_items().is_empty());
    }
}
