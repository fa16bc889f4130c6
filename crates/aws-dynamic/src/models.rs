//! Finding, reading and caching botocore's service models.
//!
//! The layout is botocore's `data/` directory: `<service>/<api-version>/service-2.json[.gz]`,
//! `paginators-1.json`, `waiters-2.json`, `endpoint-rule-set-1.json[.gz]` and the optional
//! `*.sdk-extras.json` files whose `merge` object is deep-merged into the model (as botocore's
//! loader does), plus `partitions.json` at the top.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::protocol::Protocol;

/// The environment variable naming a models directory (botocore's `data/` layout).
pub const MODELS_VAR: &str = "CLOUDKIT_AWS_MODELS";

/// The largest model file read (the EC2 model, the largest, is about 5 MB unpacked).
const MAX_MODEL_BYTES: u64 = 64 * 1024 * 1024;

/// Models could not be found, read or understood.
#[derive(Debug)]
#[non_exhaustive]
pub enum ModelError {
    /// No models directory: neither the variable nor an installed botocore.
    NotFound {
        /// What was looked at.
        tried: String,
    },
    /// The service is not in the models directory.
    UnknownService {
        /// The service asked for.
        service: String,
        /// The models directory.
        dir: String,
        /// A "did you mean" note, or empty.
        hint: String,
    },
    /// The API version asked for is not there.
    UnknownVersion {
        /// The service.
        service: String,
        /// The version asked for.
        version: String,
        /// The models directory.
        dir: String,
        /// The versions there.
        available: String,
    },
    /// A model file could not be read.
    Read {
        /// The file.
        path: String,
        /// Why (its text is part of `Display`).
        source: std::io::Error,
    },
    /// A model file is not what botocore writes.
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { tried } => write!(
                f,
                "no AWS service models found ({tried}): run `pip install botocore` or set {MODELS_VAR} to a directory laid out like botocore's data/"
            ),
            Self::UnknownService { service, dir, hint } => {
                write!(f, "no model for the AWS service `{service}` in {dir}{hint}")
            }
            Self::UnknownVersion { service, version, dir, available } => write!(
                f,
                "the AWS service `{service}` has no model for API version {version} in {dir} (available: {available})"
            ),
            Self::Read { path, source } => write!(f, "could not read the model file {path}: {source}"),
            Self::Malformed { path, message } => write!(f, "the model file {path} is malformed: {message}"),
        }
    }
}

/// `Read` says why in `Display` (the I/O error's text), so `source()` goes on below what it
/// printed ([`cloudkit_core::unshown_source`]); the I/O error itself is the variant's field.
impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => cloudkit_core::unshown_source(&self.to_string(), Some(source)),
            _ => None,
        }
    }
}

/// A models directory (botocore's `data/`).
///
/// ```no_run
/// use cloudkit_aws_dynamic::Models;
/// let models = Models::discover()?;
/// let ddb = models.load("dynamodb", None)?;
/// assert_eq!(ddb.api_version(), "2012-08-10");
/// # Ok::<(), cloudkit_aws_dynamic::ModelError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Models {
    dir: PathBuf,
}

impl fmt::Debug for Models {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Models").field("dir", &self.dir).finish()
    }
}

/// Loaded models by (directory, service, version); a few entries, searched in order.
type Cache = Mutex<Vec<((PathBuf, String, String), Arc<ServiceModel>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `partitions.json` by models directory.
type PartitionsCache = Mutex<Vec<(PathBuf, Arc<Value>)>>;

fn partitions_cache() -> &'static PartitionsCache {
    static CACHE: OnceLock<PartitionsCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl Models {
    /// The models in `dir` (botocore's `data/` layout); not checked until something is loaded.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Finds the models: `CLOUDKIT_AWS_MODELS`, else the `data/` directory of the botocore that
    /// `python3` imports (asked once per process), else a botocore in the usual site-packages
    /// directories; else [`ModelError::NotFound`], saying how to get models.
    pub fn discover() -> Result<Self, ModelError> {
        let mut tried = Vec::new();
        if let Some(dir) = std::env::var_os(MODELS_VAR).filter(|v| !v.is_empty()) {
            let dir = PathBuf::from(dir);
            if dir.is_dir() {
                return Ok(Self::from_dir(dir));
            }
            tried.push(format!("{MODELS_VAR}={} is not a directory", dir.display()));
        } else {
            tried.push(format!("{MODELS_VAR} is not set"));
        }
        match python_botocore_data() {
            Ok(dir) => return Ok(Self::from_dir(dir)),
            Err(why) => tried.push(why),
        }
        if let Some(dir) = site_packages_botocore_data() {
            return Ok(Self::from_dir(dir));
        }
        tried.push("no botocore in the usual site-packages directories".to_owned());
        Err(ModelError::NotFound { tried: tried.join("; ") })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The services with a model, sorted (`"dynamodb"`, `"s3"`, …: the names boto3 takes).
    pub fn services(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (name, path) in entries(&self.dir) {
            if path.is_dir() && !self.versions(&name).is_empty() {
                names.push(name);
            }
        }
        names.sort_unstable();
        names
    }

    /// The API versions of `service` that have a service model, oldest first.
    pub fn versions(&self, service: &str) -> Vec<String> {
        if !valid_name(service) {
            return Vec::new();
        }
        let mut versions = Vec::new();
        for (name, path) in entries(&self.dir.join(service)) {
            if find_file(&path, "service-2.json").is_some() {
                versions.push(name);
            }
        }
        versions.sort_unstable();
        versions
    }

    /// The model of `service` at `version` (default: the newest), read and parsed once per
    /// process and shared.
    pub fn load(&self, service: &str, version: Option<&str>) -> Result<Arc<ServiceModel>, ModelError> {
        let dir = self.dir.display().to_string();
        let versions = self.versions(service);
        if versions.is_empty() {
            let hint = self
                .services()
                .into_iter()
                .find(|s| {
                    let (a, b) = (s.replace('-', ""), service.to_ascii_lowercase().replace(['-', ' ', '_'], ""));
                    a == b || (a.len().abs_diff(b.len()) <= 2 && (a.starts_with(&b) || b.starts_with(&a)))
                })
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(ModelError::UnknownService { service: service.to_owned(), dir, hint });
        }
        let version = match version {
            Some(v) if versions.iter().any(|x| x == v) => v.to_owned(),
            Some(v) => {
                return Err(ModelError::UnknownVersion {
                    service: service.to_owned(),
                    version: v.to_owned(),
                    dir,
                    available: versions.join(", "),
                });
            }
            None => versions.last().cloned().unwrap_or_default(),
        };
        let key = (self.dir.clone(), service.to_owned(), version.clone());
        if let Some((_, model)) = cache().lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(k, _)| *k == key) {
            return Ok(model.clone());
        }
        let model = Arc::new(self.read_model(service, &version)?);
        let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, first)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(first.clone());
        }
        cache.push((key, model.clone()));
        Ok(model)
    }

    /// botocore's `partitions.json` (regions, DNS suffixes), for the endpoint rules.
    pub fn partitions(&self) -> Result<Arc<Value>, ModelError> {
        if let Some((_, p)) =
            partitions_cache().lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(d, _)| *d == self.dir)
        {
            return Ok(p.clone());
        }
        let path = self.dir.join("partitions.json");
        let value = Arc::new(read_json(&path)?);
        let mut cache = partitions_cache().lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, first)) = cache.iter().find(|(d, _)| *d == self.dir) {
            return Ok(first.clone());
        }
        cache.push((self.dir.clone(), value.clone()));
        Ok(value)
    }

    fn read_model(&self, service: &str, version: &str) -> Result<ServiceModel, ModelError> {
        let dir = self.dir.join(service).join(version);
        let read_optional = |name: &str| -> Result<Option<Value>, ModelError> {
            match find_file(&dir, name) {
                Some(path) => {
                    let mut value = read_json(&path)?;
                    let extras = dir.join(name.replace(".json", ".sdk-extras.json"));
                    if extras.is_file() {
                        let extra = read_json(&extras)?;
                        if let Some(merge) = extra.get("merge") {
                            deep_merge(&mut value, merge);
                        }
                    }
                    Ok(Some(value))
                }
                None => Ok(None),
            }
        };
        let service_path = dir.join("service-2.json");
        let Some(raw) = read_optional("service-2.json")? else {
            return Err(ModelError::Read {
                path: service_path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        };
        let paginators = read_optional("paginators-1.json")?;
        let waiters = read_optional("waiters-2.json")?;
        let rules = read_optional("endpoint-rule-set-1.json")?;
        ServiceModel::from_parts(service, raw, paginators, waiters, rules)
            .map_err(|message| ModelError::Malformed { path: service_path.display().to_string(), message })
    }
}

/// A service or version name that stays inside the models directory.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && name != "."
        && name != ".."
}

/// The entries of `dir` with UTF-8 names (none when it cannot be read).
fn entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for entry in read.flatten() {
            if let Ok(name) = entry.file_name().into_string() {
                out.push((name, entry.path()));
            }
        }
    }
    out
}

/// `dir/name` or `dir/name.gz`, whichever exists.
pub(crate) fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Some(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    gz.is_file().then_some(gz)
}

pub(crate) fn read_json(path: &Path) -> Result<Value, ModelError> {
    let display = || path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ModelError::Read { path: display(), source })?;
    let mut bytes = Vec::new();
    file.take(MAX_MODEL_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| ModelError::Read { path: display(), source })?;
    if path.extension().is_some_and(|e| e == "gz") {
        bytes = crate::gzip::gunzip(&bytes, MAX_MODEL_BYTES as usize)
            .map_err(|message| ModelError::Malformed { path: display(), message })?;
    }
    serde_json::from_slice(&bytes).map_err(|e| ModelError::Malformed { path: display(), message: e.to_string() })
}

/// botocore's `deep_merge`: objects merge key by key, anything else replaces.
fn deep_merge(base: &mut Value, extra: &Value) {
    match (base, extra) {
        (Value::Object(base), Value::Object(extra)) => {
            for (k, v) in extra {
                match base.get_mut(k) {
                    Some(existing @ Value::Object(_)) if v.is_object() => deep_merge(existing, v),
                    _ => {
                        base.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (base, extra) => *base = extra.clone(),
    }
}

/// The botocore `data/` directory of the `python3` on PATH, asked once per process.
fn python_botocore_data() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let script = "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))";
            let mut last = String::new();
            for python in ["python3", "python"] {
                match Command::new(python).args(["-c", script]).output() {
                    Ok(out) if out.status.success() => {
                        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                        if dir.is_dir() {
                            return Ok(dir);
                        }
                        last = format!("`{python}` named {} for botocore, which is not a directory", dir.display());
                    }
                    Ok(_) => last = format!("`{python}` cannot import botocore"),
                    Err(e) => last = format!("could not run `{python}`: {e}"),
                }
            }
            Err(last)
        })
        .clone()
}

/// A botocore in the usual site-packages directories (for a machine whose Python is not on PATH).
fn site_packages_botocore_data() -> Option<PathBuf> {
    let mut roots = vec![PathBuf::from("/usr/lib/python3/dist-packages")];
    let mut lib_dirs = vec![PathBuf::from("/usr/local/lib"), PathBuf::from("/usr/lib")];
    if let Some(home) = std::env::var_os("HOME") {
        lib_dirs.push(Path::new(&home).join(".local/lib"));
    }
    for lib in lib_dirs {
        for (name, path) in entries(&lib) {
            if name.starts_with("python3") {
                roots.push(path.join("site-packages"));
                roots.push(path.join("dist-packages"));
            }
        }
    }
    roots.into_iter().map(|r| r.join("botocore").join("data")).find(|d| d.join("partitions.json").is_file())
}

/// One service's model: `service-2.json` with its paginators, waiters and endpoint rules, parsed
/// once (see [`Models::load`]).
pub struct ServiceModel {
    name: String,
    api_version: String,
    metadata: Map<String, Value>,
    operations: Map<String, Value>,
    shapes: Map<String, Value>,
    paginators: Map<String, Value>,
    waiters: Map<String, Value>,
    rules: Option<Value>,
}

impl fmt::Debug for ServiceModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceModel")
            .field("name", &self.name)
            .field("api_version", &self.api_version)
            .field("operations", &self.operations.len())
            .field("shapes", &self.shapes.len())
            .finish_non_exhaustive()
    }
}

fn take_object(value: &mut Value, key: &str) -> Map<String, Value> {
    match value.get_mut(key).map(Value::take) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

impl ServiceModel {
    /// A model from its parsed files (`service-2.json` and the optional others): for models built
    /// in code or read from elsewhere.
    pub fn from_parts(
        name: &str,
        mut service: Value,
        paginators: Option<Value>,
        waiters: Option<Value>,
        rules: Option<Value>,
    ) -> Result<Self, String> {
        if !service.is_object() {
            return Err("the service model is not a JSON object".to_owned());
        }
        let metadata = take_object(&mut service, "metadata");
        let api_version = metadata.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
        if api_version.is_empty() {
            return Err("metadata.apiVersion is missing".to_owned());
        }
        let model = Self {
            name: name.to_owned(),
            api_version,
            operations: take_object(&mut service, "operations"),
            shapes: take_object(&mut service, "shapes"),
            metadata,
            paginators: paginators.map(|mut p| take_object(&mut p, "pagination")).unwrap_or_default(),
            waiters: waiters.map(|mut w| take_object(&mut w, "waiters")).unwrap_or_default(),
            rules,
        };
        model.protocol().map_err(|e| e.to_string())?;
        Ok(model)
    }

    /// The service's name (the models directory's: `dynamodb`, `s3`, `cloudwatch`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The API version (`2012-08-10`).
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// A metadata field as text (`serviceId`, `endpointPrefix`, `signingName`, `targetPrefix`, …).
    #[inline(never)]
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }

    /// Whether the metadata has `key` (traits such as `awsQueryCompatible` are objects).
    #[inline(never)]
    pub fn has_metadata(&self, key: &str) -> bool {
        self.metadata.contains_key(key)
    }

    /// The service id (`DynamoDB`, `API Gateway`): the name in `AWS_ENDPOINT_URL_<SERVICE>`.
    #[inline(never)]
    pub fn service_id(&self) -> &str {
        self.metadata("serviceId").or_else(|| self.metadata("endpointPrefix")).unwrap_or(&self.name)
    }

    /// The SigV4 signing name (`signingName`, else `endpointPrefix`).
    #[inline(never)]
    pub fn signing_name(&self) -> &str {
        self.metadata("signingName").or_else(|| self.metadata("endpointPrefix")).unwrap_or(&self.name)
    }

    /// The protocol botocore speaks to this service: the first of `json`, `rest-json`,
    /// `rest-xml`, `smithy-rpc-v2-cbor`, `query`, `ec2` that the model's `protocols` lists, else
    /// its `protocol`.
    pub fn protocol(&self) -> Result<Protocol, cloudkit_core::Error> {
        let listed: Vec<&str> = match self.metadata.get("protocols").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => self.metadata("protocol").into_iter().collect(),
        };
        Protocol::choose(&listed).ok_or_else(|| {
            cloudkit_core::Error::invalid_input(
                self.name.clone(),
                "client",
                format!("the {} model lists no protocol cloudkit speaks ({})", self.name, listed.join(", ")),
            )
        })
    }

    /// The protocols the model lists.
    #[inline(never)]
    pub fn protocols(&self) -> Vec<&str> {
        match self.metadata.get("protocols").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => self.metadata("protocol").into_iter().collect(),
        }
    }

    /// The operation names, sorted.
    pub fn operations(&self) -> Vec<&str> {
        self.operations.keys().map(String::as_str).collect()
    }

    /// An operation's definition (`http`, `input`, `output`, `errors`, …), as in the model.
    #[inline(never)]
    pub fn operation(&self, name: &str) -> Option<&Map<String, Value>> {
        self.operations.get(name).and_then(Value::as_object)
    }

    /// A shape's definition, as in the model.
    #[inline(never)]
    pub fn shape(&self, name: &str) -> Option<&Map<String, Value>> {
        self.shapes.get(name).and_then(Value::as_object)
    }

    pub(crate) fn shapes(&self) -> &Map<String, Value> {
        &self.shapes
    }

    /// The paginator of an operation (`paginators-1.json`), as in the model.
    #[inline(never)]
    pub fn paginator(&self, operation: &str) -> Option<&Map<String, Value>> {
        self.paginators.get(operation).and_then(Value::as_object)
    }

    /// The operations that have a paginator, sorted.
    pub fn paginators(&self) -> Vec<&str> {
        self.paginators.keys().map(String::as_str).collect()
    }

    /// A waiter's definition (`waiters-2.json`), as in the model.
    #[inline(never)]
    pub fn waiter(&self, name: &str) -> Option<&Map<String, Value>> {
        self.waiters.get(name).and_then(Value::as_object)
    }

    /// The waiter names, sorted.
    pub fn waiters(&self) -> Vec<&str> {
        self.waiters.keys().map(String::as_str).collect()
    }

    /// The endpoint rule set (`endpoint-rule-set-1.json`), when the model has one.
    pub fn endpoint_rules(&self) -> Option<&Value> {
        self.rules.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_merge_merges_objects_and_replaces_the_rest() {
        let mut base = json!({"a": {"b": 1, "c": [1]}, "d": 1});
        deep_merge(&mut base, &json!({"a": {"c": [2], "e": 3}, "d": {"x": 1}}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [2], "e": 3}, "d": {"x": 1}}));
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        assert!(valid_name("dynamodb"));
        assert!(valid_name("2012-08-10"));
        for bad in ["", ".", "..", "a/b", "../x", "a b"] {
            assert!(!valid_name(bad), "{bad}");
        }
        let models = Models::from_dir("/nonexistent");
        assert!(models.versions("../etc").is_empty());
        let e = models.load("dynamodb", None).unwrap_err();
        assert!(e.to_string().starts_with("no model for the AWS service `dynamodb` in /nonexistent"), "{e}");
    }

    #[test]
    fn a_local_models_directory_loads_newest_first_with_extras_and_gzip() {
        let dir = cloudkit_core::testing::TempDir::new("models").unwrap();
        let root: &Path = &dir;
        for (version, ops) in [("2020-01-01", 1), ("2021-01-01", 2)] {
            let d = root.join("widgets").join(version);
            std::fs::create_dir_all(&d).unwrap();
            let mut operations = serde_json::Map::new();
            for i in 0..ops {
                operations.insert(
                    format!("Op{i}"),
                    json!({"name": format!("Op{i}"), "http": {"method": "POST", "requestUri": "/"}}),
                );
            }
            let model = json!({"metadata": {"apiVersion": version, "protocol": "json", "jsonVersion": "1.0",
                "targetPrefix": "W", "serviceId": "Widgets", "endpointPrefix": "widgets"},
                "operations": operations, "shapes": {}});
            let bytes = serde_json::to_vec(&model).unwrap();
            std::fs::write(d.join("service-2.json.gz"), crate::gzip::gzip_stored(&bytes)).unwrap();
            std::fs::write(
                d.join("paginators-1.json"),
                r#"{"pagination": {"Op0": {"input_token": "T", "output_token": "N", "result_key": "Items"}}}"#,
            )
            .unwrap();
            std::fs::write(
                d.join("paginators-1.sdk-extras.json"),
                r#"{"version": 1.0, "merge": {"pagination": {"Op0": {"non_aggregate_keys": ["X"]}}}}"#,
            )
            .unwrap();
        }
        let models = Models::from_dir(root);
        assert_eq!(models.services(), ["widgets"]);
        assert_eq!(models.versions("widgets"), ["2020-01-01", "2021-01-01"]);
        let newest = models.load("widgets", None).unwrap();
        assert_eq!(newest.api_version(), "2021-01-01");
        assert_eq!(newest.operations(), ["Op0", "Op1"]);
        assert_eq!(newest.paginator("Op0").unwrap()["non_aggregate_keys"], json!(["X"]));
        assert_eq!(newest.paginator("Op0").unwrap()["result_key"], json!("Items"));
        assert!(Arc::ptr_eq(&newest, &models.load("widgets", Some("2021-01-01")).unwrap()), "cached");
        assert_eq!(models.load("widgets", Some("2020-01-01")).unwrap().operations(), ["Op0"]);
        let e = models.load("widgets", Some("1999-01-01")).unwrap_err();
        assert!(e.to_string().contains("(available: 2020-01-01, 2021-01-01)"), "{e}");
        assert_eq!(newest.protocol().unwrap(), Protocol::Json);
    }
}
