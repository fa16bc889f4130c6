//! Every public future of this crate is `Send` (docs/ARCHITECTURE.md, "Time, progress,
//! futures"): users spawn them on multi-threaded runtimes. Checked at compile time on futures
//! that are created and never polled, each one twice: alone, and awaited inside another future
//! (as in `tokio::spawn(async move { … .await })`); listing streams as `Send` streams.

use std::sync::Arc;

use cloudkit_core::assert_send;
use cloudkit_core::testing::{ReplayHttp, is_send};
use cloudkit_paginate::PaginationConfig;
use futures::StreamExt;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn every_public_future_is_send() {
    let http = Arc::new(ReplayHttp::new());
    let rm = crate::tests::client(&http).await;
    let vms = rm.virtual_machines();
    let rgs = rm.resource_groups();
    let res = rm.resources();
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm";
    let definition = VirtualMachineDefinition::new("westus", "Standard_B1s");

    assert_send!(
        rm.subscriptions().list().send(),
        rm.subscriptions().get("s").send(),
        rgs.list().send(),
        rgs.get("rg").send(),
        rgs.exists("rg").send(),
        rgs.create_or_update("rg", "westus").send(),
        rgs.update_tags("rg").send(),
        rgs.delete("rg").send(),
        rgs.delete("rg").begin(),
        vms.list("rg").send(),
        vms.list_all().send(),
        vms.get("rg", "vm").send(),
        vms.instance_view("rg", "vm").send(),
        vms.start("rg", "vm").send(),
        vms.power_off("rg", "vm").begin(),
        vms.deallocate("rg", "vm").send(),
        vms.restart("rg", "vm").send(),
        vms.delete("rg", "vm").send(),
        vms.create_or_update("rg", "vm", definition.clone()).send(),
        vms.create_or_update("rg", "vm", definition.clone()).begin(),
        vms.wait_until_running("rg", "vm").wait(),
        vms.wait_until_deleted("rg", "vm").wait(),
        res.get(id).send(),
        res.create_or_update(id, json!({})).send(),
        res.create_or_update(id, json!({})).begin(),
        res.update(id, json!({})).send(),
        res.delete(id).begin_delete(),
        res.list().send(),
        res.list_by_resource_group("rg").send(),
        rm.providers().get("Microsoft.Compute").send(),
        res.action(id, "listKeys").send(),
        res.action(id, "listKeys").body(json!({})).begin(),
        vms.update_tags("rg", "vm").tag("a", "b").send(),
        vms.update_tags("rg", "vm").begin(),
    );
    // Pollers.
    let poller_future = async {
        let poller: Poller<()> = vms.start("rg", "vm").begin().await?;
        poller.wait().await
    };
    is_send(&poller_future);
    let vm_poller = async {
        let poller: Poller<VirtualMachine> = vms.create_or_update("rg", "vm", definition.clone()).begin().await?;
        poller.wait().await
    };
    is_send(&vm_poller);
    // Streams.
    let stream = rgs.list().into_items(PaginationConfig::default());
    is_send(&stream);
    let pages = vms.list_all().into_pages(PaginationConfig::default());
    is_send(&pages);
    let items = res.list().into_items(PaginationConfig::default());
    is_send(&items.boxed());
}
