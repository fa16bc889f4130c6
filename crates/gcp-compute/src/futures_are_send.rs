//! Every public future of this crate is `Send` (docs/ARCHITECTURE.md, "Time, progress,
//! futures"): users spawn them on multi-threaded runtimes. Checked at compile time on futures
//! that are created and never polled, each one twice: alone, and awaited inside another future;
//! listing streams as `Send` streams.

use std::sync::Arc;

use cloudkit_core::assert_send;
use cloudkit_core::testing::{ReplayHttp, is_send};
use cloudkit_paginate::PaginationConfig;

use crate::*;

#[tokio::test]
async fn every_public_future_is_send() {
    let http = Arc::new(ReplayHttp::new());
    let c = crate::tests::client(&http).await;
    let i = c.instances();
    let ops = c.zone_operations();
    let op = ops.operation("z", "op").unwrap();
    let definition = InstanceDefinition::new("vm", "e2-micro");

    assert_send!(
        i.list("z").send(),
        i.aggregated_list().send(),
        i.get("z", "vm").send(),
        i.insert("z", definition.clone()).send(),
        i.start("z", "vm").send(),
        i.stop("z", "vm").send(),
        i.reset("z", "vm").send(),
        i.suspend("z", "vm").send(),
        i.resume("z", "vm").send(),
        i.delete("z", "vm").send(),
        i.set_labels("z", "vm").send(),
        i.set_metadata("z", "vm").send(),
        ops.get("z", "op").send(),
        ops.wait("z", "op").send(),
        op.clone().wait(),
        op.clone().result(),
        i.wait_until_running("z", "vm").wait(),
        i.wait_until_stopped("z", "vm").wait(),
        i.wait_until_terminated("z", "vm").wait(),
        i.wait_until_deleted("z", "vm").wait(),
        c.zones().list().send(),
        c.machine_types().list("z").send(),
    );
    is_send(&i.list("z").into_items(PaginationConfig::default()));
    is_send(&i.list("z").into_pages(PaginationConfig::default()));
    is_send(&i.aggregated_list().into_items(PaginationConfig::default()));
    is_send(&c.zones().list().into_items(PaginationConfig::default()));
    is_send(&c.machine_types().list("z").into_items(PaginationConfig::default()));
}
