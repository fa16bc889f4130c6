//! Every public future and stream of the crate is `Send` (users spawn them).

use cloudkit_core::assert_send;
use cloudkit_core::testing::is_send;
use serde_json::Value;

use crate::{DynamicClient, PaginationConfig};

#[allow(dead_code)]
fn futures_are_send(client: DynamicClient) {
    assert_send!(client.call("Op", Value::Null));
    assert_send!(client.paginate("Op", Value::Null).send());
    is_send(&client.paginate("Op", Value::Null));
    is_send(&client.paginate("Op", Value::Null).into_pages(PaginationConfig::default()));
    is_send(&client.paginate("Op", Value::Null).into_items(PaginationConfig::default()));
    if let Ok(w) = client.waiter("W") {
        assert_send!(w.wait(Value::Null));
    }
}
