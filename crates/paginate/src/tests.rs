//! Paginator tests against a fake in-memory service.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures::executor::block_on;
use futures::future::{BoxFuture, FutureExt};
use futures::{Stream, StreamExt, TryStreamExt};

use crate::{
    Page, PageRequest, PageStream, PaginationConfig, PaginationError, PaginationErrorKind, Paginator, ResumeToken,
    VecPage,
};

/// The fake service's error type: a failed request, or a page-bookkeeping failure.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum FakeError {
    #[error("Fake.List failed: {0}")]
    Service(&'static str),
    #[error(transparent)]
    Pagination(#[from] PaginationError),
}

type Requests = Arc<Mutex<Vec<PageRequest>>>;
type FakeFuture<T> = BoxFuture<'static, Result<VecPage<T>, FakeError>>;

/// A fake list API over `0..total`; the token is `after-<index of next item>`, the default page
/// size is 1000 like S3's.
fn service(total: usize) -> (impl FnMut(PageRequest) -> FakeFuture<usize> + Clone + Send + 'static, Requests) {
    let requests = Requests::default();
    let log = Arc::clone(&requests);
    let fetch = move |request: PageRequest| {
        log.lock().unwrap().push(request.clone());
        async move {
            let start = match request.token.as_deref() {
                None => 0,
                Some(token) => {
                    token.strip_prefix("after-").and_then(|n| n.parse().ok()).ok_or(FakeError::Service("bad token"))?
                }
            };
            let size = request.page_size.unwrap_or(1000) as usize;
            let end = (start + size).min(total);
            let next = (end < total).then(|| format!("after-{end}"));
            Ok(VecPage::new((start..end).collect(), next))
        }
        .boxed()
    };
    (fetch, requests)
}

/// A fake service that returns the given pages in order, whatever the token.
fn scripted(
    pages: Vec<Result<VecPage<u32>, FakeError>>,
) -> (impl FnMut(PageRequest) -> FakeFuture<u32> + Send + 'static, Requests) {
    let requests = Requests::default();
    let log = Arc::clone(&requests);
    let mut pages = pages.into_iter();
    let fetch = move |request: PageRequest| {
        log.lock().unwrap().push(request);
        let page = pages.next().unwrap_or(Err(FakeError::Service("no more scripted pages")));
        futures::future::ready(page).boxed()
    };
    (fetch, requests)
}

fn page(items: &[u32], next: Option<&str>) -> Result<VecPage<u32>, FakeError> {
    Ok(VecPage::new(items.to_vec(), next.map(str::to_owned)))
}

fn tokens(requests: &Requests) -> Vec<Option<String>> {
    requests.lock().unwrap().iter().map(|r| r.token.clone()).collect()
}

fn collect_items<S, T>(stream: S) -> Vec<Result<T, FakeError>>
where
    S: Stream<Item = Result<T, FakeError>>,
{
    block_on(stream.collect())
}

#[test]
fn yields_every_item_across_many_pages() {
    let (fetch, requests) = service(2500);
    let config = PaginationConfig::default().page_size(1000);
    let items: Vec<usize> = block_on(Paginator::new("Fake", "List", config, fetch).items().try_collect()).unwrap();
    assert_eq!(items, (0..2500).collect::<Vec<_>>());
    assert_eq!(items[1000], 1000, "the 1001st item is there");
    assert_eq!(items[2000], 2000, "the 2001st item is there");
    assert_eq!(tokens(&requests), [None, Some("after-1000".into()), Some("after-2000".into())]);
}

#[test]
fn pages_stream_yields_each_page() {
    let (fetch, _) = service(2500);
    let config = PaginationConfig::default().page_size(1000);
    let pages: Vec<VecPage<usize>> =
        block_on(Paginator::new("Fake", "List", config, fetch).pages().try_collect()).unwrap();
    let sizes: Vec<usize> = pages.iter().map(Page::item_count).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
}

#[test]
fn page_size_is_passed_through() {
    let (fetch, requests) = service(25);
    let config = PaginationConfig::default().page_size(7);
    let items: Vec<usize> = block_on(Paginator::new("Fake", "List", config, fetch).items().try_collect()).unwrap();
    assert_eq!(items.len(), 25);
    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 4);
    assert!(requests.iter().all(|r| r.page_size == Some(7)));
}

#[test]
fn no_page_size_leaves_it_to_the_service() {
    let (fetch, requests) = service(10);
    let items: Vec<usize> =
        block_on(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items().try_collect()).unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(requests.lock().unwrap()[0].page_size, None);
}

#[test]
fn max_items_truncates_mid_page() {
    let (fetch, requests) = service(2500);
    let config = PaginationConfig::default().page_size(1000).max_items(1500);
    let mut stream = Paginator::new("Fake", "List", config, fetch).items();
    let items: Vec<usize> = block_on((&mut stream).try_collect()).unwrap();
    assert_eq!(items, (0..1500).collect::<Vec<_>>());
    assert_eq!(requests.lock().unwrap().len(), 2, "no third page is fetched");
    let resume = stream.resume_token().unwrap();
    assert_eq!(resume, &ResumeToken::new(Some("after-1000".into()), 500));
}

#[test]
fn max_items_trims_the_last_page_of_the_pages_stream() {
    let (fetch, _) = service(2500);
    let config = PaginationConfig::default().page_size(1000).max_items(1500);
    let mut stream = Paginator::new("Fake", "List", config, fetch).pages();
    let pages: Vec<VecPage<usize>> = block_on((&mut stream).try_collect()).unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].items, (1000..1500).collect::<Vec<_>>());
    assert_eq!(stream.resume_token().map(ToString::to_string).as_deref(), Some("cloudkit-resume:v1:500:after-1000"));
}

#[test]
fn max_items_on_a_page_boundary_resumes_with_the_plain_token() {
    let (fetch, requests) = service(2500);
    let config = PaginationConfig::default().page_size(1000).max_items(1000);
    let mut stream = Paginator::new("Fake", "List", config, fetch).items();
    let items: Vec<usize> = block_on((&mut stream).try_collect()).unwrap();
    assert_eq!(items.len(), 1000);
    assert_eq!(requests.lock().unwrap().len(), 1);
    assert_eq!(stream.resume_token().unwrap().to_string(), "after-1000");
}

#[test]
fn max_items_larger_than_the_listing_has_no_resume_token() {
    let (fetch, _) = service(30);
    let config = PaginationConfig::default().page_size(10).max_items(30);
    let mut stream = Paginator::new("Fake", "List", config, fetch).items();
    let items: Vec<usize> = block_on((&mut stream).try_collect()).unwrap();
    assert_eq!(items.len(), 30);
    assert_eq!(stream.resume_token(), None, "the listing is complete");
}

#[test]
fn max_items_zero_fetches_nothing() {
    let (fetch, requests) = service(30);
    let config = PaginationConfig::default().max_items(0);
    let mut stream = Paginator::new("Fake", "List", config, fetch).items();
    assert!(block_on(stream.next()).is_none());
    assert!(requests.lock().unwrap().is_empty());
    assert_eq!(stream.resume_token(), Some(&ResumeToken::default()));
}

#[test]
fn resuming_continues_exactly_where_it_stopped() {
    for (page_size, max_items) in [(1000, 700), (1000, 1000), (7, 3), (3, 7), (10, 1)] {
        let (fetch, requests) = service(2500);
        let mut all = Vec::new();
        let mut starting_token: Option<String> = None;
        let mut runs = 0;
        loop {
            runs += 1;
            let mut config = PaginationConfig::default().page_size(page_size).max_items(max_items);
            if let Some(token) = starting_token.take() {
                config = config.starting_token(token);
            }
            // Every run talks to the same fake service and request log.
            let mut stream = Paginator::new("Fake", "List", config, fetch.clone()).items();
            let items: Vec<usize> = block_on((&mut stream).try_collect()).unwrap();
            assert!(items.len() <= max_items);
            all.extend(items);
            let resume = stream.resume_token().map(ToString::to_string);
            match resume {
                Some(token) => starting_token = Some(token),
                None => break,
            }
            assert!(runs < 10_000, "resuming does not make progress");
        }
        assert_eq!(
            all,
            (0..2500).collect::<Vec<_>>(),
            "page size {page_size}, max items {max_items}: no duplicates, no gaps"
        );
        assert!(requests.lock().unwrap().len() >= 2500_usize.div_ceil(page_size as usize));
    }
}

#[test]
fn resuming_inside_the_first_page() {
    let (fetch, requests) = service(20);
    let config = PaginationConfig::default().page_size(10).max_items(4);
    let mut stream = Paginator::new("Fake", "List", config, fetch.clone()).items();
    let first: Vec<usize> = block_on((&mut stream).try_collect()).unwrap();
    assert_eq!(first, [0, 1, 2, 3]);
    let resume = stream.resume_token().unwrap().to_string();
    assert_eq!(resume, "cloudkit-resume:v1:4:");

    let config = PaginationConfig::default().page_size(10).starting_token(resume);
    let mut pages = Paginator::new("Fake", "List", config, fetch).pages();
    let first_page = block_on(pages.try_next()).unwrap().unwrap();
    assert_eq!(first_page.items, (4..10).collect::<Vec<_>>(), "trimmed at the front");
    let rest: Vec<VecPage<usize>> = block_on(pages.try_collect()).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(tokens(&requests)[1], None, "the first page is fetched again");
}

#[test]
fn plain_provider_token_is_a_valid_starting_token() {
    let (fetch, requests) = service(25);
    let config = PaginationConfig::default().page_size(10).starting_token("after-10");
    let items: Vec<usize> = block_on(Paginator::new("Fake", "List", config, fetch).items().try_collect()).unwrap();
    assert_eq!(items, (10..25).collect::<Vec<_>>());
    assert_eq!(tokens(&requests)[0].as_deref(), Some("after-10"));
}

#[test]
fn empty_starting_token_starts_at_the_beginning() {
    let (fetch, requests) = service(5);
    let config = PaginationConfig::default().starting_token("");
    let items: Vec<usize> = block_on(Paginator::new("Fake", "List", config, fetch).items().try_collect()).unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(tokens(&requests), [None]);
}

#[test]
fn malformed_resume_token_is_an_error_without_a_request() {
    let (fetch, requests) = service(5);
    let config = PaginationConfig::default().starting_token("cloudkit-resume:v1:x:after-1");
    let results = collect_items(Paginator::new("Fake", "List", config, fetch).items());
    assert_eq!(results.len(), 1);
    assert!(matches!(
        &results[0],
        Err(FakeError::Pagination(e)) if matches!(
            e.kind(),
            PaginationErrorKind::InvalidStartingToken { token, .. } if token == "cloudkit-resume:v1:x:after-1"
        )
    ));
    assert!(requests.lock().unwrap().is_empty());
}

#[test]
fn same_token_twice_in_a_row_is_an_error() {
    let (fetch, requests) = scripted(vec![page(&[1, 2], Some("a")), page(&[3], Some("a")), page(&[4], None)]);
    let results = collect_items(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items());
    assert_eq!(results.len(), 4, "three items, then the error, then the end");
    assert_eq!(results[2].as_ref().ok(), Some(&3));
    assert!(matches!(&results[3], Err(FakeError::Pagination(e)) if e.repeated_token() == Some("a")));
    assert_eq!(requests.lock().unwrap().len(), 2, "the repeated token is not requested");
}

#[test]
fn token_seen_earlier_is_an_error() {
    let (fetch, requests) =
        scripted(vec![page(&[1], Some("a")), page(&[2], Some("b")), page(&[3], Some("a")), page(&[4], None)]);
    let results = collect_items(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).pages());
    assert_eq!(results.len(), 4);
    assert!(matches!(&results[3], Err(FakeError::Pagination(e)) if e.repeated_token() == Some("a")));
    assert_eq!(requests.lock().unwrap().len(), 3);
}

#[test]
fn starting_token_returned_again_is_an_error() {
    let (fetch, _) = scripted(vec![page(&[1], Some("start"))]);
    let config = PaginationConfig::default().starting_token("start");
    let results = collect_items(Paginator::new("Fake", "List", config, fetch).items());
    assert!(matches!(
        results.last(),
        Some(Err(FakeError::Pagination(e))) if e.repeated_token() == Some("start")
    ));
}

#[test]
fn errors_are_yielded_and_end_the_stream() {
    let (fetch, requests) =
        scripted(vec![page(&[1, 2], Some("a")), Err(FakeError::Service("throttled")), page(&[3], None)]);
    let mut stream = Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items();
    let results = collect_items(&mut stream);
    assert_eq!(results.len(), 3);
    let error = results[2].as_ref().unwrap_err();
    assert_eq!(error, &FakeError::Service("throttled"), "the fetch error is yielded unchanged");
    assert_eq!(requests.lock().unwrap().len(), 2, "nothing is fetched after the error");
    assert!(block_on(stream.next()).is_none(), "the stream stays ended");
    assert_eq!(stream.resume_token(), None);
}

#[test]
fn empty_pages_with_a_token_continue() {
    let (fetch, requests) = scripted(vec![
        page(&[], Some("a")),
        page(&[], Some("b")),
        page(&[1, 2], Some("c")),
        page(&[], Some("d")),
        page(&[3], None),
    ]);
    let items: Vec<u32> =
        block_on(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items().try_collect()).unwrap();
    assert_eq!(items, [1, 2, 3]);
    assert_eq!(requests.lock().unwrap().len(), 5);
}

#[test]
fn empty_final_page_ends_the_listing() {
    let (fetch, requests) = scripted(vec![page(&[1, 2], Some("a")), page(&[], None)]);
    let pages: Vec<VecPage<u32>> =
        block_on(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).pages().try_collect()).unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages[1].items.is_empty());
    assert_eq!(requests.lock().unwrap().len(), 2);
}

#[test]
fn empty_string_token_ends_the_listing() {
    let (fetch, requests) = scripted(vec![page(&[1], Some("")), page(&[2], None)]);
    let items: Vec<u32> =
        block_on(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items().try_collect()).unwrap();
    assert_eq!(items, [1]);
    assert_eq!(requests.lock().unwrap().len(), 1);
}

#[test]
fn nothing_is_fetched_until_polled() {
    let (fetch, requests) = service(50);
    let config = PaginationConfig::default().page_size(10);
    let mut items = Paginator::new("Fake", "List", config, fetch).items();
    assert!(requests.lock().unwrap().is_empty(), "building the stream sends nothing");
    assert_eq!(block_on(items.next()).unwrap().unwrap(), 0);
    assert_eq!(requests.lock().unwrap().len(), 1);
    for _ in 1..10 {
        block_on(items.next()).unwrap().unwrap();
    }
    assert_eq!(requests.lock().unwrap().len(), 1, "the next page waits for demand");
    assert_eq!(block_on(items.next()).unwrap().unwrap(), 10);
    assert_eq!(requests.lock().unwrap().len(), 2);
}

#[test]
fn one_request_in_flight_at_a_time() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (mut inner, _) = service(100);
    let (flight, top) = (Arc::clone(&in_flight), Arc::clone(&peak));
    let fetch = move |request: PageRequest| {
        let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
        top.fetch_max(now, Ordering::SeqCst);
        let page = inner(request);
        let flight = Arc::clone(&flight);
        async move {
            yield_now().await;
            let page = page.await;
            flight.fetch_sub(1, Ordering::SeqCst);
            page
        }
    };
    let config = PaginationConfig::default().page_size(3);
    let items: Vec<usize> = block_on(Paginator::new("Fake", "List", config, fetch).items().try_collect()).unwrap();
    assert_eq!(items.len(), 100);
    assert_eq!(peak.load(Ordering::SeqCst), 1);
}

#[test]
fn fetch_may_borrow_from_the_caller() {
    let data: Vec<u32> = (0..5).collect();
    let data = &data;
    let fetch = |request: PageRequest| async move {
        let start = usize::from(request.token.is_some()) * 3;
        let end = (start + 3).min(data.len());
        Ok::<_, FakeError>(VecPage::new(data[start..end].to_vec(), (start == 0).then(|| "second".to_owned())))
    };
    let items: Vec<u32> =
        block_on(Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items().try_collect()).unwrap();
    assert_eq!(&items, data);
}

#[test]
fn streams_are_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    let (fetch, _) = service(1);
    let pages: PageStream<'static, VecPage<usize>, FakeError> =
        Paginator::new("Fake", "List", PaginationConfig::default(), fetch).pages();
    assert_send_unpin(&pages);
    let (fetch, _) = service(1);
    let items = Paginator::new("Fake", "List", PaginationConfig::default(), fetch).items();
    assert_send_unpin(&items);
}

#[test]
fn display_is_one_line_naming_service_operation_and_cause() {
    let error = PaginationError::new("S3", "ListObjectsV2", PaginationErrorKind::RepeatedToken { token: "abc".into() });
    assert_eq!(
        error.to_string(),
        "S3.ListObjectsV2 failed: the service returned the continuation token \"abc\" twice; stopping instead of looping"
    );
    assert!(std::error::Error::source(&error).is_none());
    let reason = "cloudkit-resume:v1:x:t".parse::<ResumeToken>().unwrap_err();
    let error = PaginationError::new(
        "GCS",
        "objects.list",
        PaginationErrorKind::InvalidStartingToken { token: "cloudkit-resume:v1:x:t".into(), reason },
    );
    assert_eq!(
        error.to_string(),
        "GCS.objects.list failed: invalid starting token \"cloudkit-resume:v1:x:t\": invalid resume token: \
         the skip count is not a non-negative integer"
    );
    assert!(!error.to_string().contains('\n'));
}

#[test]
fn the_repeated_token_error_names_the_paginators_service_and_operation() {
    let (fetch, _) = scripted(vec![page(&[1], Some("a")), page(&[2], Some("a"))]);
    let results = collect_items(Paginator::new("EC2", "DescribeInstances", PaginationConfig::default(), fetch).items());
    let Some(Err(FakeError::Pagination(e))) = results.last() else { panic!("{results:?}") };
    assert_eq!((e.service(), e.operation(), e.repeated_token()), ("EC2", "DescribeInstances", Some("a")));
    assert!(e.to_string().starts_with("EC2.DescribeInstances failed: the service returned the continuation token"));
}

/// Returns `Pending` once (waking the task), then `Ready`.
async fn yield_now() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}
