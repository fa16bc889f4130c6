//! Subscriptions (`Microsoft.Resources/subscriptions`, api-version
//! [`SUBSCRIPTIONS_API_VERSION`]): list (the caller often does not know the id) and get.

use cloudkit_core::Url;

use crate::client::{ArmClient, require, segment};
use crate::error::Result;
use crate::list::list_methods;
use crate::model::Subscription;

/// The api-version of the Subscriptions API.
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

/// The subscriptions the credential can see: `client.subscriptions()`.
#[derive(Clone, Debug)]
pub struct Subscriptions {
    pub(crate) client: ArmClient,
}

impl Subscriptions {
    /// `Subscriptions_List`: `GET /subscriptions` (paged).
    pub fn list(&self) -> ListSubscriptions {
        ListSubscriptions { client: self.client.clone() }
    }

    /// `Subscriptions_Get`: `GET /subscriptions/{id}`.
    pub fn get(&self, subscription_id: impl Into<String>) -> GetSubscription {
        GetSubscription { client: self.client.clone(), subscription_id: subscription_id.into() }
    }
}

/// `Subscriptions_List`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListSubscriptions {
    client: ArmClient,
}

impl ListSubscriptions {
    /// The operation id, named in errors.
    fn operation(&self) -> &'static str {
        "Subscriptions_List"
    }

    fn url(&self) -> Result<Url> {
        Ok(self.client.url("/subscriptions", &[("api-version", SUBSCRIPTIONS_API_VERSION)]))
    }
}

list_methods!(ListSubscriptions => Subscription);

/// `Subscriptions_Get`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetSubscription {
    client: ArmClient,
    subscription_id: String,
}

impl GetSubscription {
    /// Reads the subscription.
    pub async fn send(self) -> Result<Subscription> {
        const OP: &str = "Subscriptions_Get";
        require(OP, "subscription id", &self.subscription_id)?;
        let path = format!("/subscriptions/{}", segment(&self.subscription_id));
        let url = self.client.url(&path, &[("api-version", SUBSCRIPTIONS_API_VERSION)]);
        self.client.get_json(OP, url).await
    }
}
