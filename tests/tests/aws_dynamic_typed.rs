//! The model-driven client (`cloudkit::aws_dynamic`, issue 20) and the typed S3 and EC2 clients
//! agree on moto: objects written by the typed client list and describe the same through the
//! dynamic one (keys, sizes, ETags, content types, last-modified times), objects written by the
//! dynamic client read back through the typed one, and instances launched by either are seen
//! alike by both (ids, states, types, image, tags), before and after a stop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::SystemTime;

use cloudkit::aws_dynamic::{DynamicClient, PaginationConfig};
use cloudkit_aws_ec2::{Ec2Client, Filter};
use cloudkit_tests::{aws, unique_name};
use futures::TryStreamExt;
use serde_json::{Value, json};

const AMI: &str = "ami-12c6146b";

fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let dt = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap()).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[tokio::test]
async fn typed_s3_and_the_dynamic_client_agree() {
    let config = aws::moto_config().await;
    let typed = aws::s3_client(&config, None);
    let dynamic = DynamicClient::new(&config, "s3").unwrap();
    let bucket = aws::create_bucket(&typed, "ck-dyn-typed").await;

    // Written by the typed client, sizes 0..=6 and awkward keys.
    let keys = ["a", "dir/b c", "dir/ä+%", "dir/sub/d", "e&<f>", "z~"];
    for (i, key) in keys.iter().enumerate() {
        typed.put_object(&bucket, *key).body(vec![b'x'; i]).content_type("text/x-test").send().await.unwrap();
    }
    // Written by the dynamic client.
    dynamic
        .call(
            "PutObject",
            json!({"Bucket": bucket, "Key": "dyn/obj", "Body": "dynamic body", "ContentType": "text/plain"}),
        )
        .await
        .unwrap();

    // Full listings, across pages on both sides.
    let typed_list: Vec<(String, u64, Option<String>, String)> = typed
        .list_objects_v2(&bucket)
        .into_objects(cloudkit_aws_s3::PaginationConfig::default().page_size(2))
        .map_ok(|o| (o.key, o.size, o.e_tag, rfc3339(o.last_modified.unwrap())))
        .try_collect()
        .await
        .unwrap();
    let dynamic_list: Vec<(String, u64, Option<String>, String)> = dynamic
        .paginate("ListObjectsV2", json!({"Bucket": bucket}))
        .into_items(PaginationConfig::default().page_size(3))
        .map_ok(|o: Value| {
            (
                o["Key"].as_str().unwrap().to_owned(),
                o["Size"].as_u64().unwrap(),
                o["ETag"].as_str().map(str::to_owned),
                o["LastModified"].as_str().unwrap().to_owned(),
            )
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(typed_list.len(), keys.len() + 1);
    assert_eq!(typed_list, dynamic_list);

    // One level with a delimiter.
    let typed_level = typed.list_objects_v2(&bucket).prefix("dir/").delimiter("/").send().await.unwrap();
    let dynamic_level =
        dynamic.call("ListObjectsV2", json!({"Bucket": bucket, "Prefix": "dir/", "Delimiter": "/"})).await.unwrap();
    let typed_keys: Vec<&str> = typed_level.contents.iter().map(|o| o.key.as_str()).collect();
    let dynamic_keys: Vec<&str> =
        dynamic_level["Contents"].as_array().unwrap().iter().map(|o| o["Key"].as_str().unwrap()).collect();
    assert_eq!(typed_keys, dynamic_keys);
    assert_eq!(typed_keys, ["dir/b c", "dir/ä+%"]);
    let typed_prefixes: Vec<&str> = typed_level.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
    assert_eq!(dynamic_level["CommonPrefixes"], json!([{"Prefix": "dir/sub/"}]));
    assert_eq!(typed_prefixes, ["dir/sub/"]);

    // Describe every object both ways.
    for (key, size, etag, modified) in &typed_list {
        let t = typed.head_object(&bucket, key).send().await.unwrap();
        let d = dynamic.call("HeadObject", json!({"Bucket": bucket, "Key": key})).await.unwrap();
        assert_eq!(t.content_length, Some(*size), "{key}");
        assert_eq!(d["ContentLength"].as_u64(), Some(*size), "{key}");
        assert_eq!(t.e_tag.as_deref(), d["ETag"].as_str(), "{key}");
        assert_eq!(t.e_tag.as_ref(), etag.as_ref(), "{key}");
        assert_eq!(t.content_type.as_deref(), d["ContentType"].as_str(), "{key}");
        assert_eq!(&rfc3339(t.last_modified.unwrap()), d["LastModified"].as_str().unwrap(), "{key}");
        assert_eq!(modified, d["LastModified"].as_str().unwrap(), "{key}");
    }
    let body = typed.get_object(&bucket, "dyn/obj").send().await.unwrap().collect().await.unwrap();
    assert_eq!(&body[..], b"dynamic body");

    // Missing objects: the same status and code.
    let t = typed.head_object(&bucket, "missing").send().await.unwrap_err();
    let d = dynamic.call("GetObject", json!({"Bucket": bucket, "Key": "missing"})).await.unwrap_err();
    assert_eq!(d.code(), Some("NoSuchKey"));
    assert_eq!(t.status(), d.status());
    aws::delete_bucket_with_objects(&typed, &bucket).await;
}

#[tokio::test]
async fn typed_ec2_and_the_dynamic_client_agree() {
    let config = aws::moto_config().await;
    let typed = Ec2Client::new(&config).unwrap();
    let dynamic = DynamicClient::new(&config, "ec2").unwrap();
    let tag = unique_name("dyn-typed");

    // Two instances launched by the typed client, one by the dynamic client, all tagged alike.
    let reservation =
        typed.run_instances(AMI).instance_type("t3.micro").count(2).tag("ck-dyn", &tag).send().await.unwrap();
    let mut ids: Vec<String> = reservation.instances.iter().map(|i| i.instance_id.clone()).collect();
    let run = dynamic
        .call(
            "RunInstances",
            json!({"ImageId": AMI, "InstanceType": "t3.nano", "MinCount": 1, "MaxCount": 1,
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "ck-dyn", "Value": tag}]}]}),
        )
        .await
        .unwrap();
    ids.push(run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned());
    dynamic.waiter("InstanceRunning").unwrap().wait(json!({"InstanceIds": ids})).await.unwrap();
    typed.stop_instances().instance_ids(&ids[..1]).send().await.unwrap();

    type Seen = BTreeMap<String, (String, Option<String>, Option<String>, Option<String>)>;
    let typed_seen: Seen = typed
        .describe_instances()
        .filter(Filter::tag("ck-dyn", [tag.as_str()]))
        .send()
        .await
        .unwrap()
        .instances()
        .map(|i| {
            (
                i.instance_id.clone(),
                (
                    i.state.name.as_str().to_owned(),
                    i.instance_type.clone(),
                    i.image_id.clone(),
                    i.tag("ck-dyn").map(str::to_owned),
                ),
            )
        })
        .collect();
    let pages: Vec<_> = dynamic
        .paginate("DescribeInstances", json!({"Filters": [{"Name": "tag:ck-dyn", "Values": [tag]}]}))
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    let mut dynamic_seen = Seen::new();
    for reservation in &pages {
        for i in reservation["Instances"].as_array().unwrap() {
            let tag_value = i["Tags"]
                .as_array()
                .and_then(|tags| tags.iter().find(|t| t["Key"] == "ck-dyn"))
                .and_then(|t| t["Value"].as_str())
                .map(str::to_owned);
            dynamic_seen.insert(
                i["InstanceId"].as_str().unwrap().to_owned(),
                (
                    i["State"]["Name"].as_str().unwrap().to_owned(),
                    i["InstanceType"].as_str().map(str::to_owned),
                    i["ImageId"].as_str().map(str::to_owned),
                    tag_value,
                ),
            );
        }
    }
    assert_eq!(typed_seen.len(), 3);
    assert_eq!(typed_seen, dynamic_seen);
    let states: Vec<&str> = ids.iter().map(|id| typed_seen[id].0.as_str()).collect();
    assert!(matches!(states[0], "stopping" | "stopped"), "{states:?}");
    assert_eq!(&states[1..], ["running", "running"]);
    assert_eq!(typed_seen[&ids[2]].1.as_deref(), Some("t3.nano"));

    // Status by id both ways.
    let status = dynamic
        .call("DescribeInstanceStatus", json!({"InstanceIds": ids[1..], "IncludeAllInstances": true}))
        .await
        .unwrap();
    let running: Vec<&str> = status["InstanceStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["InstanceState"]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(running, ["running", "running"]);

    typed.terminate_instances().instance_ids(&ids).send().await.unwrap();
    dynamic.waiter("InstanceTerminated").unwrap().wait(json!({"InstanceIds": ids})).await.unwrap();
    let after = typed.describe_instances().instance_ids(&ids).send().await.unwrap();
    assert!(after.state_names().iter().all(|s| *s == "terminated"), "{:?}", after.state_names());
}
