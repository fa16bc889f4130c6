//! Lookups a launch script needs: DescribeRegions, DescribeAvailabilityZones.

use crate::client::{Ec2Client, push_dry_run, push_filters, query};
use crate::error::Ec2Error;
use crate::model;
use crate::types::Filter;

impl Ec2Client {
    /// `DescribeRegions`: the regions enabled for the account (all of them with
    /// [`all_regions`](DescribeRegions::all_regions)).
    pub fn describe_regions(&self) -> DescribeRegions {
        DescribeRegions {
            client: self.clone(),
            region_names: Vec::new(),
            filters: Vec::new(),
            all_regions: false,
            dry_run: false,
        }
    }

    /// `DescribeAvailabilityZones`: the zones of the client's region.
    pub fn describe_availability_zones(&self) -> DescribeAvailabilityZones {
        DescribeAvailabilityZones {
            client: self.clone(),
            zone_names: Vec::new(),
            filters: Vec::new(),
            all_availability_zones: false,
            dry_run: false,
        }
    }
}

/// A region.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Region {
    /// The name (`eu-west-1`).
    pub region_name: String,
    /// The EC2 endpoint host.
    pub endpoint: Option<String>,
    /// `opt-in-not-required`, `opted-in` or `not-opted-in`.
    pub opt_in_status: Option<String>,
}

/// Builder for `DescribeRegions` ([`Ec2Client::describe_regions`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DescribeRegions {
    client: Ec2Client,
    region_names: Vec<String>,
    filters: Vec<Filter>,
    all_regions: bool,
    dry_run: bool,
}

impl DescribeRegions {
    /// Adds a region name.
    pub fn region_name(mut self, name: impl Into<String>) -> Self {
        self.region_names.push(name.into());
        self
    }

    /// Adds a filter (`endpoint`, `opt-in-status`, `region-name`).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Include regions the account has not opted into.
    pub fn all_regions(mut self, all: bool) -> Self {
        self.all_regions = all;
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<Region>, Ec2Error> {
        let mut body = query("DescribeRegions");
        body.push_list("RegionName", &self.region_names);
        push_filters(&mut body, &self.filters);
        if self.all_regions {
            body.push("AllRegions", "true");
        }
        push_dry_run(&mut body, self.dry_run);
        self.client.call("DescribeRegions", body, true, model::regions).await
    }
}

/// An availability zone (or Local Zone / Wavelength Zone).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AvailabilityZone {
    /// The name (`us-east-1a`).
    pub zone_name: String,
    /// The account-independent id (`use1-az6`).
    pub zone_id: Option<String>,
    /// The region.
    pub region_name: Option<String>,
    /// `available`, `impaired`, …
    pub state: Option<String>,
    /// `availability-zone`, `local-zone` or `wavelength-zone`.
    pub zone_type: Option<String>,
}

/// Builder for `DescribeAvailabilityZones` ([`Ec2Client::describe_availability_zones`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DescribeAvailabilityZones {
    client: Ec2Client,
    zone_names: Vec<String>,
    filters: Vec<Filter>,
    all_availability_zones: bool,
    dry_run: bool,
}

impl DescribeAvailabilityZones {
    /// Adds a zone name.
    pub fn zone_name(mut self, name: impl Into<String>) -> Self {
        self.zone_names.push(name.into());
        self
    }

    /// Adds a filter (`state`, `zone-name`, `zone-type`, …).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Include Local and Wavelength Zones the account has not opted into.
    pub fn all_availability_zones(mut self, all: bool) -> Self {
        self.all_availability_zones = all;
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<AvailabilityZone>, Ec2Error> {
        let mut body = query("DescribeAvailabilityZones");
        body.push_list("ZoneName", &self.zone_names);
        push_filters(&mut body, &self.filters);
        if self.all_availability_zones {
            body.push("AllAvailabilityZones", "true");
        }
        push_dry_run(&mut body, self.dry_run);
        self.client.call("DescribeAvailabilityZones", body, true, model::availability_zones).await
    }
}
