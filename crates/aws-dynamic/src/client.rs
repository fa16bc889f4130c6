//! [`DynamicClient`]: any operation of any service in the models, over the shared pipeline.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use cloudkit_core::{HttpRequest, Method, Operation, Pipeline, PipelineBuilder, Url};
use cloudkit_cred_chain::aws::AwsConfig;
use cloudkit_signer::aws::{SigV4Signer, SigningSettings};
use serde_json::{Map, Value};

use crate::customize::{self, CallContext};
use crate::endpoint::{self, Endpoint};
use crate::error::DynamicError;
use crate::models::{Models, ServiceModel};
use crate::protocol::request::{self, WireRequest};
use crate::protocol::{Protocol, response};
use crate::shapes::Shape;
use crate::validate;

/// A client for one AWS service, driven by its botocore model: `call` any operation with a JSON
/// input and get the JSON output, with boto3's names.
///
/// Built from a loaded [`AwsConfig`] with [`DynamicClient::new`], or with
/// [`DynamicClient::builder`] to pick the API version, the models directory, the protocol, or
/// override the endpoint, HTTP client, retry settings or timeouts. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_aws_dynamic::DynamicClient;
/// use serde_json::json;
/// let config = cloudkit_cred_chain::aws::AwsConfig::loader().load().await?;
/// let ddb = DynamicClient::new(&config, "dynamodb")?;
/// ddb.call("PutItem", json!({"TableName": "t", "Item": {"pk": {"S": "a"}}})).await?;
/// let item = ddb.call("GetItem", json!({"TableName": "t", "Key": {"pk": {"S": "a"}}})).await?;
/// println!("{}", item["Item"]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamicClient {
    inner: Arc<Inner>,
}

struct Inner {
    service: &'static str,
    model: Arc<ServiceModel>,
    models: Models,
    protocol: Protocol,
    pipeline: Pipeline,
    config: AwsConfig,
    region: String,
    /// The endpoint override (code, environment or profile), if any.
    endpoint_override: Option<Url>,
    /// Endpoint parameters of the client (Region, UseFIPS, UseDualStack, Endpoint, …).
    params: Map<String, Value>,
    /// The endpoint resolved from the client's parameters alone.
    endpoint: Endpoint,
    signing_name: String,
    signing_region: String,
    signing_time: Option<SystemTime>,
    validate: bool,
}

impl fmt::Debug for DynamicClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicClient")
            .field("service", &self.inner.service)
            .field("api_version", &self.inner.model.api_version())
            .field("protocol", &self.inner.protocol)
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.endpoint.url)
            .finish_non_exhaustive()
    }
}

/// Service names live as long as the process (the pipeline names its service with a `&'static
/// str`); there is one entry per service ever used, a few hundred at most.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(leaked);
    leaked
}

/// Builds a [`DynamicClient`] (see [`DynamicClient::builder`]).
#[must_use = "call .build()"]
pub struct ClientBuilder {
    config: AwsConfig,
    service: String,
    pipeline: PipelineBuilder,
    models: Option<Models>,
    api_version: Option<String>,
    protocol: Option<Protocol>,
    endpoint: Option<Url>,
    params: Map<String, Value>,
    signing_time: Option<SystemTime>,
    validate: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("service", &self.service)
            .field("models", &self.models)
            .field("api_version", &self.api_version)
            .field("protocol", &self.protocol)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

fn env_flag(name: &str) -> Option<bool> {
    std::env::var(name).ok().map(|v| v.trim().eq_ignore_ascii_case("true"))
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// The endpoint requests go to (default: the config's override for the service —
        /// `AWS_ENDPOINT_URL_<SERVICE ID>`, `AWS_ENDPOINT_URL`, the profile's `services` section —
        /// else the model's endpoint rules).
        endpoint
    );

    /// The models directory (default: [`Models::discover`]).
    pub fn models(mut self, models: Models) -> Self {
        self.models = Some(models);
        self
    }

    /// The API version (default: the newest in the models).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Speak `protocol` instead of botocore's choice (it must be one the model lists, e.g.
    /// CloudWatch's `smithy-rpc-v2-cbor`, which botocore ranks below `json`).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// FIPS endpoints (default: `AWS_USE_FIPS_ENDPOINT`).
    pub fn use_fips(self, on: bool) -> Self {
        self.endpoint_param("UseFIPS", Value::Bool(on))
    }

    /// Dual-stack endpoints (default: `AWS_USE_DUALSTACK_ENDPOINT`).
    pub fn use_dual_stack(self, on: bool) -> Self {
        self.endpoint_param("UseDualStack", Value::Bool(on))
    }

    /// Any parameter of the model's endpoint rules (`ForcePathStyle`, `Accelerate`, …).
    pub fn endpoint_param(mut self, name: &str, value: Value) -> Self {
        self.params.insert(name.to_owned(), value);
        self
    }

    /// Whether inputs are validated against the model before sending (default: true).
    pub fn validate(mut self, on: bool) -> Self {
        self.validate = on;
        self
    }

    /// Signs every request as of `time` instead of now (reproducible requests in tests).
    pub fn signing_time(mut self, time: SystemTime) -> Self {
        self.signing_time = Some(time);
        self
    }

    /// Builds the client: loads the model (once per process), picks the protocol, resolves the
    /// endpoint and signing name.
    pub fn build(self) -> Result<DynamicClient, DynamicError> {
        let models = match self.models {
            Some(m) => m,
            None => Models::discover()?,
        };
        let model = models.load(&self.service, self.api_version.as_deref())?;
        let service = intern(&self.service);
        let invalid =
            |message: String| DynamicError::Validation(cloudkit_core::Error::invalid_input(service, "client", message));
        let protocol = match self.protocol {
            Some(p) if model.protocols().contains(&p.name()) => p,
            Some(p) => {
                return Err(invalid(format!(
                    "the {} model does not list the protocol {p} (it lists {})",
                    model.name(),
                    model.protocols().join(", ")
                )));
            }
            None => model.protocol().map_err(DynamicError::from_core)?,
        };
        let endpoint_override = match self.endpoint {
            Some(url) => Some(url),
            None => self.config.try_endpoint_url(model.service_id()).map_err(|e| invalid(e.to_string()))?,
        };
        if let Some(url) = &endpoint_override
            && (!matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base())
        {
            return Err(invalid(format!("`{url}` is not an http(s) endpoint")));
        }
        let region = self.config.region().to_owned();
        let mut params = Map::new();
        params.insert("Region".to_owned(), Value::String(region.clone()));
        if let Some(on) = env_flag("AWS_USE_FIPS_ENDPOINT") {
            params.insert("UseFIPS".to_owned(), Value::Bool(on));
        }
        if let Some(on) = env_flag("AWS_USE_DUALSTACK_ENDPOINT") {
            params.insert("UseDualStack".to_owned(), Value::Bool(on));
        }
        if let Some(url) = &endpoint_override {
            params.insert("Endpoint".to_owned(), Value::String(url.as_str().trim_end_matches('/').to_owned()));
        }
        if let Some(declared) = model.endpoint_rules().and_then(|r| r.get("parameters")).and_then(Value::as_object) {
            let builtins = builtins(&region, endpoint_override.is_some());
            for (name, def) in declared {
                if let Some(v) = def.get("builtIn").and_then(Value::as_str).and_then(|b| builtins.get(b)) {
                    params.entry(name.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        params.extend(self.params);
        let endpoint = resolve_endpoint(&models, &model, &params, endpoint_override.as_ref(), &region)
            .map_err(|m| invalid(format!("no endpoint for {} in {region}: {m}", model.name())))?;
        let signing_name = endpoint.signing_name.clone().unwrap_or_else(|| model.signing_name().to_owned());
        let signing_region = endpoint.signing_region.clone().unwrap_or_else(|| region.clone());
        let signer = signer(&self.config, &signing_region, &signing_name, self.signing_time);
        let pipeline = self
            .pipeline
            .signer(Arc::new(signer))
            .error_parser(self.config.clock_skew().error_parser(response::error_parser(protocol, &model)))
            .build()
            .map_err(DynamicError::from_core)?;
        Ok(DynamicClient {
            inner: Arc::new(Inner {
                service,
                model,
                models,
                protocol,
                pipeline,
                config: self.config,
                region,
                endpoint_override,
                params,
                endpoint,
                signing_name,
                signing_region,
                signing_time: self.signing_time,
                validate: self.validate,
            }),
        })
    }
}

/// The regions where botocore's `sts_regional_endpoints = legacy` means the global endpoint.
const LEGACY_GLOBAL_STS_REGIONS: [&str; 16] = [
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// The values botocore gives the rules' built-in parameters
/// (`ClientArgsCreator.compute_endpoint_resolver_builtin_defaults`), beyond region, FIPS,
/// dual-stack and endpoint: S3 in `us-east-1` uses the global endpoint (`s3.amazonaws.com`,
/// unless `AWS_S3_US_EAST_1_REGIONAL_ENDPOINT=regional`), S3 with an endpoint override
/// addresses buckets by path, STS is regional unless `AWS_STS_REGIONAL_ENDPOINTS=legacy`.
fn builtins(region: &str, has_override: bool) -> Map<String, Value> {
    let env_is = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v.trim().eq_ignore_ascii_case(value));
    let mut b = Map::new();
    let s3_global = region == "us-east-1" && !env_is("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "regional");
    b.insert("AWS::S3::UseGlobalEndpoint".to_owned(), Value::Bool(s3_global));
    b.insert("AWS::S3::ForcePathStyle".to_owned(), Value::Bool(has_override));
    b.insert("AWS::S3::Accelerate".to_owned(), Value::Bool(false));
    b.insert("AWS::S3::UseArnRegion".to_owned(), Value::Bool(true));
    b.insert("AWS::S3Control::UseArnRegion".to_owned(), Value::Bool(false));
    b.insert("AWS::S3::DisableMultiRegionAccessPoints".to_owned(), Value::Bool(false));
    let sts_global =
        !has_override && env_is("AWS_STS_REGIONAL_ENDPOINTS", "legacy") && LEGACY_GLOBAL_STS_REGIONS.contains(&region);
    b.insert("AWS::STS::UseGlobalEndpoint".to_owned(), Value::Bool(sts_global));
    b
}

/// The name the rules give the built-in parameter `builtin`, if they declare it.
fn builtin_param<'r>(rules: &'r Value, builtin: &str) -> Option<&'r str> {
    rules
        .get("parameters")?
        .as_object()?
        .iter()
        .find(|(_, def)| def.get("builtIn").and_then(Value::as_str) == Some(builtin))
        .map(|(name, _)| name.as_str())
}

fn signer(config: &AwsConfig, region: &str, name: &str, time: Option<SystemTime>) -> SigV4Signer {
    let mut settings = SigningSettings::new(region, name);
    if let Some(t) = time {
        settings = settings.with_time(t);
    }
    SigV4Signer::with_settings(config.credentials_provider(), settings).with_clock_skew(config.clock_skew().clone())
}

/// The endpoint from the model's rules; without rules, the override or
/// `https://{endpointPrefix}.{region}.amazonaws.com`.
fn resolve_endpoint(
    models: &Models,
    model: &ServiceModel,
    params: &Map<String, Value>,
    endpoint_override: Option<&Url>,
    region: &str,
) -> Result<Endpoint, String> {
    match model.endpoint_rules() {
        Some(rules) => {
            let partitions = models.partitions().map_err(|e| e.to_string())?;
            endpoint::resolve(rules, &partitions, params)
        }
        None => {
            let url = match endpoint_override {
                Some(u) => u.as_str().trim_end_matches('/').to_owned(),
                None => {
                    let prefix = model.metadata("endpointPrefix").unwrap_or(model.name());
                    format!("https://{prefix}.{region}.amazonaws.com")
                }
            };
            Ok(Endpoint { url, headers: Vec::new(), signing_name: None, signing_region: None })
        }
    }
}

impl DynamicClient {
    /// A client for `service` (the models directory's name, as boto3 takes it: `"dynamodb"`,
    /// `"s3"`, `"cloudwatch"`) from a loaded configuration; same as
    /// `DynamicClient::builder(config, service).build()`.
    pub fn new(config: &AwsConfig, service: &str) -> Result<Self, DynamicError> {
        Self::builder(config, service).build()
    }

    /// A [`ClientBuilder`] preset from `config` (credentials, region, endpoint overrides, HTTP
    /// client, retry settings and quota, timeouts, clock-skew correction).
    pub fn builder(config: &AwsConfig, service: &str) -> ClientBuilder {
        let name = intern(service);
        ClientBuilder {
            config: config.clone(),
            service: service.to_owned(),
            pipeline: config.pipeline_builder(name, service),
            models: None,
            api_version: None,
            protocol: None,
            endpoint: None,
            params: Map::new(),
            signing_time: None,
            validate: true,
        }
    }

    /// The service's name (`dynamodb`), as in errors.
    pub fn service(&self) -> &'static str {
        self.inner.service
    }

    /// The model.
    pub fn model(&self) -> &Arc<ServiceModel> {
        &self.inner.model
    }

    /// The models directory the model came from.
    pub fn models(&self) -> &Models {
        &self.inner.models
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The endpoint resolved for the client (operations with context parameters, such as S3
    /// buckets, may resolve their own).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint.url
    }

    /// The SigV4 signing name and region.
    pub fn signing(&self) -> (&str, &str) {
        (&self.inner.signing_name, &self.inner.signing_region)
    }

    /// The request pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The operation names, sorted (`PutItem`, …).
    pub fn operations(&self) -> Vec<&str> {
        self.inner.model.operations()
    }

    /// A shape's definition from the model (`"PutItemInput"`), for discovery.
    pub fn shape(&self, name: &str) -> Option<&Map<String, Value>> {
        self.inner.model.shape(name)
    }

    /// The waiter names of the model.
    pub fn waiter_names(&self) -> Vec<&str> {
        self.inner.model.waiters()
    }

    /// The model's name of `operation`, given as in the model (`PutItem`) or as boto3's method
    /// name (`put_item`).
    pub fn operation_name(&self, operation: &str) -> Result<String, DynamicError> {
        let model = &self.inner.model;
        if model.operation(operation).is_some() {
            return Ok(operation.to_owned());
        }
        let wanted = operation.replace(['_', '-'], "").to_ascii_lowercase();
        let found = model.operations().into_iter().find(|op| op.to_ascii_lowercase() == wanted);
        match found {
            Some(op) if operation.contains('_') || operation.chars().all(|c| !c.is_ascii_uppercase()) => {
                Ok(op.to_owned())
            }
            _ => {
                let hint = found.map(|f| format!(" (did you mean {f}?)")).unwrap_or_default();
                Err(DynamicError::Other(cloudkit_core::Error::invalid_input(
                    self.inner.service,
                    operation.to_owned(),
                    format!("the {} model ({}) has no operation {operation}{hint}", model.name(), model.api_version()),
                )))
            }
        }
    }

    /// Calls `operation` with `input` (a JSON object by the operation's input shape; `null` or
    /// `{}` for none) and returns the output by the output shape, with `ResponseMetadata`
    /// (`RequestId`, `HTTPStatusCode`). Timestamps are RFC 3339 text, blobs base64 text.
    pub async fn call(&self, operation: &str, input: Value) -> Result<Value, DynamicError> {
        let operation = self.operation_name(operation)?;
        let (pipeline, http_request, ctx) = self.prepare(&operation, input)?;
        let op = self.pipeline_operation(&operation);
        let response = pipeline.send_buffered(&op, http_request).await.map_err(DynamicError::from_core)?;
        let decode_error = |m: String| {
            DynamicError::Other(
                cloudkit_core::Error::decode(self.inner.service, operation.clone(), m).with_status(response.status),
            )
        };
        customize::check_response(&ctx, &response.headers, &response.body).map_err(decode_error)?;
        let mut output = response::parse_output(
            &self.inner.model,
            self.inner.protocol,
            &operation,
            response.status,
            &response.headers,
            &response.body,
        )
        .map_err(decode_error)?;
        customize::after_parse(&ctx, &mut output);
        customize::decode_policies(&self.inner.model, &operation, &mut output);
        Ok(output)
    }

    /// Validates and serialises `input` into the signed-at-send HTTP request of `operation`,
    /// and the pipeline (signer) to send it with.
    pub(crate) fn prepare(
        &self,
        operation: &str,
        mut input: Value,
    ) -> Result<(Pipeline, HttpRequest, CallContext), DynamicError> {
        let inner = &self.inner;
        let invalid = |m: String| {
            DynamicError::Validation(cloudkit_core::Error::invalid_input(inner.service, operation.to_owned(), m))
        };
        let op_def = inner.model.operation(operation);
        let input_shape = op_def
            .and_then(|o| o.get("input"))
            .and_then(|i| i.get("shape"))
            .and_then(Value::as_str)
            .map(|s| Shape::get(inner.model.shapes(), s));
        if inner.validate {
            validate::validate(input_shape, &mut input).map_err(|problems| invalid(problems.join("; ")))?;
        } else if input.is_null() {
            input = Value::Object(Map::new());
        }
        let ctx = customize::before_serialize(&inner.model, operation, &mut input);
        let mut wire = request::serialize(&inner.model, inner.protocol, operation, &input).map_err(invalid)?;
        customize::after_serialize(&inner.model, &mut wire);
        let endpoint = self.operation_endpoint(operation, &input).map_err(invalid)?;
        let url = self.url(&endpoint, &wire).map_err(invalid)?;
        let method = Method::from_bytes(wire.method.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        let mut http = HttpRequest::new(method, url).with_body(wire.body.clone());
        for (k, v) in wire.headers.iter().chain(&endpoint.headers) {
            http.insert_header(k, v).map_err(|e| invalid(format!("header {k}: {e}")))?;
        }
        let pipeline = match (&endpoint.signing_name, &endpoint.signing_region) {
            (None, None) => inner.pipeline.clone(),
            (name, region) => {
                let name = name.as_deref().unwrap_or(&inner.signing_name);
                let region = region.as_deref().unwrap_or(&inner.signing_region);
                if name == inner.signing_name && region == inner.signing_region {
                    inner.pipeline.clone()
                } else {
                    inner.pipeline.with_signer(Arc::new(signer(&inner.config, region, name, inner.signing_time)))
                }
            }
        };
        Ok((pipeline, http, ctx))
    }

    fn pipeline_operation(&self, operation: &str) -> Operation {
        let op = self.inner.model.operation(operation);
        let method =
            op.and_then(|o| o.get("http")).and_then(|h| h.get("method")).and_then(Value::as_str).unwrap_or("POST");
        let readonly = ["Get", "List", "Describe", "Head", "Query", "Scan", "BatchGet", "Search", "Lookup"]
            .iter()
            .any(|p| operation.starts_with(p));
        let idempotent = matches!(method, "GET" | "HEAD" | "PUT" | "DELETE")
            || readonly
            || op.and_then(|o| o.get("idempotent")).and_then(Value::as_bool).unwrap_or(false);
        Operation::new(operation.to_owned()).idempotent(idempotent)
    }

    /// The endpoint for one call: the client's, or (when the operation has context parameters,
    /// like S3's `Bucket`) one resolved with them.
    fn operation_endpoint(&self, operation: &str, input: &Value) -> Result<Endpoint, String> {
        let inner = &self.inner;
        let Some(rules) = inner.model.endpoint_rules() else { return Ok(inner.endpoint.clone()) };
        let declared = rules.get("parameters").and_then(Value::as_object);
        let mut params = inner.params.clone();
        let mut changed = false;
        if let Some(op) = inner.model.operation(operation) {
            if let Some(statics) = op.get("staticContextParams").and_then(Value::as_object) {
                for (k, v) in statics {
                    if let Some(v) = v.get("value") {
                        params.insert(k.clone(), v.clone());
                        changed = true;
                    }
                }
            }
            let shape = op.get("input").and_then(|i| i.get("shape")).and_then(Value::as_str);
            if let Some(shape) = shape.map(|s| Shape::get(inner.model.shapes(), s)) {
                for member in shape.members() {
                    let Some(name) = member.def.get("contextParam").and_then(|c| c.get("name")).and_then(Value::as_str)
                    else {
                        continue;
                    };
                    if let Some(v) = input.get(member.name).filter(|v| !v.is_null()) {
                        params.insert(name.to_owned(), v.clone());
                        changed = true;
                    }
                }
            }
        }
        // botocore's `customize_endpoint_resolver_builtins` for S3: GetBucketLocation goes
        // path-style (the bucket's region is what it asks for), bucket ARNs never do.
        if let Some(name) = builtin_param(rules, "AWS::S3::ForcePathStyle") {
            let arn = input.get("Bucket").and_then(Value::as_str).is_some_and(|b| b.starts_with("arn:"));
            if operation == "GetBucketLocation" || arn {
                params.insert(name.to_owned(), Value::Bool(operation == "GetBucketLocation"));
                changed = true;
            }
        }
        if !changed {
            return Ok(inner.endpoint.clone());
        }
        params.retain(|k, _| declared.is_none_or(|d| d.contains_key(k)));
        let partitions = inner.models.partitions().map_err(|e| e.to_string())?;
        endpoint::resolve(rules, &partitions, &params)
    }

    /// botocore's `_urljoin`: the endpoint's path, then the request's.
    fn url(&self, endpoint: &Endpoint, wire: &WireRequest) -> Result<Url, String> {
        let base =
            Url::parse(&endpoint.url).map_err(|e| format!("the endpoint {:?} is not a URL: {e}", endpoint.url))?;
        let base_path = match endpoint.url.split_once("://").map(|(_, r)| r.contains('/')) {
            Some(true) => base.path().to_owned(),
            _ => String::new(),
        };
        let path_and_query = wire.path_and_query();
        let joined = if path_and_query.is_empty() || path_and_query == "/" {
            if base_path.is_empty() { "/".to_owned() } else { base_path }
        } else if base_path.ends_with('/') && path_and_query.starts_with('/') {
            format!("{}{path_and_query}", &base_path[..base_path.len() - 1])
        } else {
            format!("{base_path}{path_and_query}")
        };
        let mut host = base.host_str().unwrap_or_default().to_owned();
        if let Some(prefix) = &wire.host_prefix
            && self.inner.endpoint_override.is_none()
        {
            host = format!("{prefix}{host}");
        }
        let port = base.port().map(|p| format!(":{p}")).unwrap_or_default();
        Url::parse(&format!("{}://{host}{port}{joined}", base.scheme()))
            .map_err(|e| format!("could not build the URL: {e}"))
    }

    /// The request `call` would send (unsigned), for inspection and tests.
    pub fn build_request(&self, operation: &str, input: Value) -> Result<HttpRequest, DynamicError> {
        let operation = self.operation_name(operation)?;
        self.prepare(&operation, input).map(|(_, r, _)| r)
    }
}
