//! The `cloudkit` command end to end, against local directories (`file://` and plain paths), and
//! against the emulators when the test bed is up (`target/testbed/env`; skipped otherwise).

// Test helpers outside `#[test]` functions fail loudly, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use predicates::prelude::*;
use sha2::{Digest, Sha256};

/// A fresh directory under the target directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cloudkit-cli-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// `file://` URL of `rel` (percent-encoded where a URL needs it).
    fn url(&self, rel: &str) -> String {
        let path = self.path(rel);
        let mut url = String::from("file://");
        for c in path.to_str().unwrap().chars() {
            match c {
                ' ' => url.push_str("%20"),
                '%' => url.push_str("%25"),
                '#' => url.push_str("%23"),
                '?' => url.push_str("%3F"),
                c => url.push(c),
            }
        }
        url
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cloudkit() -> Command {
    let mut cmd = Command::cargo_bin("cloudkit").unwrap();
    // Nothing from the developer's environment leaks into the local tests.
    cmd.env_remove("AWS_PROFILE").env("NO_COLOR", "1");
    cmd
}

fn write(path: &Path, contents: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Every regular file under `root` (no cloudkit side files), relative path → contents.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with(".cloudkit") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_str().unwrap().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Nested directories and awkward names: spaces, unicode, `+`, `%`.
const AWKWARD: [&str; 7] = [
    "plain.txt",
    "with space.txt",
    "plus+sign.txt",
    "per%25cent%.txt",
    "ünïcødé/日本語 ファイル.txt",
    "dir one/two/three/deep file.bin",
    "dir one/a+b%20c.json",
];

fn make_awkward_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    for (i, name) in AWKWARD.iter().enumerate() {
        write(&root.join(name), format!("contents {i} of {name}\n").as_bytes());
    }
    tree(root)
}

/// Deterministic pseudo-random bytes (xorshift).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn json_of(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

#[test]
fn usage_errors_exit_2() {
    cloudkit().assert().code(2);
    cloudkit().arg("cp").arg("only-one").assert().code(2).stderr(predicate::str::contains("<DST>"));
    cloudkit().arg("frobnicate").assert().code(2);
    cloudkit().args(["ls", "x", "--no-such-flag"]).assert().code(2);
    cloudkit().args(["presign", "file:///tmp/x", "--expires", "soon"]).assert().code(2);
    cloudkit().args(["cp", "a", "b", "--concurrency", "0"]).assert().code(2);
    cloudkit().args(["ls", "x", "--json", "--jsonl"]).assert().code(2);
}

#[test]
fn help_has_examples() {
    for command in ["ls", "cp", "mv", "rm", "cat", "stat", "presign", "mb", "rb"] {
        cloudkit().args([command, "--help"]).assert().success().stdout(predicate::str::contains("Examples:"));
    }
}

#[test]
fn missing_objects_exit_1() {
    let dir = TempDir::new("missing");
    std::fs::create_dir_all(dir.path("store")).unwrap();
    let missing = dir.url("store/nope.txt");
    cloudkit().args(["cat", &missing]).assert().code(1).stderr(predicate::str::contains("not found"));
    cloudkit().args(["stat", &missing]).assert().code(1).stderr(predicate::str::contains("not found"));
    cloudkit().args(["rm", &missing]).assert().code(1).stderr(predicate::str::contains("not found"));
    cloudkit().args(["ls", &missing]).assert().code(1);
    let out = dir.path("out.txt");
    cloudkit().args(["cp", &missing, out.to_str().unwrap()]).assert().code(1);
    assert!(!out.exists());
    cloudkit().args(["cat", dir.path("no-dir/x").to_str().unwrap()]).assert().code(1);
    cloudkit().args(["ls", "ftp://host/x"]).assert().code(1).stderr(predicate::str::contains("unknown store scheme"));
}

#[test]
fn recursive_copy_of_awkward_tree_round_trips() {
    let dir = TempDir::new("tree");
    let expected = make_awkward_tree(&dir.path("src"));
    assert_eq!(expected.len(), AWKWARD.len());

    // local → file:// (under a prefix) → local
    cloudkit()
        .args(["cp", "-r", dir.path("src").to_str().unwrap(), &dir.url("store/backup/"), "--concurrency", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("copy: ").count(AWKWARD.len()));
    cloudkit()
        .args(["cp", "-r", &dir.url("store/backup"), dir.path("restored").to_str().unwrap(), "-q"])
        .assert()
        .success()
        .stdout("");
    assert_eq!(tree(&dir.path("restored")), expected);
    assert_eq!(tree(&dir.path("store/backup")), expected);

    // the listing, parsed back
    let out = cloudkit().args(["ls", "-r", "--json", &dir.url("store/backup")]).assert().success();
    let doc = json_of(&out.get_output().stdout);
    let mut keys: Vec<String> =
        doc["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap().to_owned()).collect();
    keys.sort();
    // A local directory is the store's root: keys are relative to it (URLs are absolute).
    let mut want: Vec<String> = expected.keys().cloned().collect();
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(doc["total_objects"], AWKWARD.len());
    let total: usize = expected.values().map(Vec::len).sum();
    assert_eq!(doc["total_size"], total);
}

#[test]
fn single_objects_with_awkward_names() {
    let dir = TempDir::new("single");
    for name in ["with space.txt", "plus+sign.txt", "per%cent.txt", "ünï çødé.txt"] {
        write(&dir.path(&format!("src/{name}")), name.as_bytes());
        cloudkit()
            .args(["cp", dir.path(&format!("src/{name}")).to_str().unwrap(), &dir.url("store/")])
            .assert()
            .success();
        cloudkit().args(["cat", &dir.url(&format!("store/{name}"))]).assert().success().stdout(name.to_owned());
        let out = dir.path(&format!("out/{name}"));
        cloudkit().args(["cp", &dir.url(&format!("store/{name}")), out.to_str().unwrap()]).assert().success();
        assert_eq!(std::fs::read(&out).unwrap(), name.as_bytes());
    }
}

#[test]
fn sixteen_mib_each_way_keeps_sha256() {
    let dir = TempDir::new("big");
    let data = pseudo_random(16 * 1024 * 1024 + 3);
    let digest = sha256(&data);
    write(&dir.path("big.bin"), &data);
    cloudkit().args(["cp", dir.path("big.bin").to_str().unwrap(), &dir.url("store/x/big.bin")]).assert().success();
    assert_eq!(sha256(&std::fs::read(dir.path("store/x/big.bin")).unwrap()), digest);
    cloudkit().args(["cp", &dir.url("store/x/big.bin"), dir.path("back/").to_str().unwrap()]).assert().success();
    assert_eq!(sha256(&std::fs::read(dir.path("back/big.bin")).unwrap()), digest);
    let out = cloudkit().args(["cat", &dir.url("store/x/big.bin")]).assert().success();
    assert_eq!(sha256(&out.get_output().stdout), digest);
    let out = cloudkit().args(["stat", "--json", &dir.url("store/x/big.bin")]).assert().success();
    assert_eq!(json_of(&out.get_output().stdout)["size"], data.len());
}

#[test]
fn ls_levels_long_summaries_and_jsonl() {
    let dir = TempDir::new("ls");
    write(&dir.path("s/top.txt"), b"12345");
    write(&dir.path("s/sub/inner.txt"), b"1");
    write(&dir.path("s/sub/deeper/x.txt"), b"12");
    let root = dir.url("s");
    cloudkit()
        .args(["ls", &root])
        .assert()
        .success()
        .stdout(predicate::str::contains("PRE sub/").and(predicate::str::contains("top.txt")))
        .stdout(predicate::str::contains("inner.txt").not());
    cloudkit()
        .args(["ls", "-rl", "--summarize", &root])
        .assert()
        .success()
        .stdout(predicate::str::contains("sub/deeper/x.txt"))
        .stdout(predicate::str::contains("Total Objects: 3"))
        .stdout(predicate::str::contains("Total Size: 8"));
    cloudkit()
        .args(["ls", "--human-readable", "--summarize", dir.path("s").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("5 Bytes"));
    let out = cloudkit().args(["ls", "--jsonl", "--summarize", &root]).assert().success();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.get_output().stdout.clone()).unwrap().lines().map(|l| json_of(l.as_bytes())).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["type"], "prefix");
    assert_eq!(lines[0]["prefix"], "sub/");
    assert_eq!(lines[1]["type"], "object");
    assert_eq!(lines[1]["size"], 5);
    assert_eq!(lines[2]["type"], "summary");
    assert_eq!(lines[2]["total_objects"], 1);
    let out = cloudkit().args(["ls", "--json", &dir.url("s/sub/")]).assert().success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["prefixes"][0]["prefix"], "deeper/");
    assert_eq!(doc["objects"][0]["key"], "inner.txt");
    assert!(doc["objects"][0]["url"].as_str().unwrap().ends_with("/s/sub/inner.txt"));
    // one object named directly
    cloudkit().args(["ls", "-l", &dir.url("s/top.txt")]).assert().success().stdout(predicate::str::contains("top.txt"));
}

#[test]
fn stat_prints_all_metadata() {
    let dir = TempDir::new("stat");
    write(&dir.path("a.txt"), b"hello");
    cloudkit()
        .args(["stat", dir.path("a.txt").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("Size:          5").and(predicate::str::contains("ETag:")));
    let out = cloudkit().args(["stat", "--json", &dir.url("a.txt")]).assert().success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["size"], 5);
    assert_eq!(doc["backend"], "local");
    assert!(doc["last_modified"].as_str().unwrap().ends_with('Z'));
    assert!(doc["etag"].is_string());
}

#[test]
fn partial_failures_exit_3_and_are_listed() {
    let dir = TempDir::new("partial");
    write(&dir.path("src/ok.txt"), b"fine");
    write(&dir.path("src/other/ok.txt"), b"fine");
    write(&dir.path("src/blocked/x.txt"), b"cannot land");
    write(&dir.path("src/blocked/y.txt"), b"cannot land");
    // A file stands where the destination needs the directory `blocked/`.
    write(&dir.path("dst/blocked"), b"in the way");
    cloudkit()
        .args(["cp", "-r", dir.path("src").to_str().unwrap(), dir.path("dst").to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("Failed to copy 2 of 4 objects"))
        .stderr(predicate::str::contains("blocked/x.txt").and(predicate::str::contains("blocked/y.txt")));
    assert_eq!(std::fs::read(dir.path("dst/ok.txt")).unwrap(), b"fine");
    assert_eq!(std::fs::read(dir.path("dst/other/ok.txt")).unwrap(), b"fine");
    // --json reports both lists in one document, still with exit code 3.
    let out = cloudkit()
        .args(["cp", "-r", "--json", dir.path("src").to_str().unwrap(), dir.path("dst").to_str().unwrap()])
        .assert()
        .code(3);
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["transferred"].as_array().unwrap().len(), 2);
    assert_eq!(doc["failed"].as_array().unwrap().len(), 2);
}

#[test]
fn include_exclude_and_dry_run() {
    let dir = TempDir::new("filters");
    write(&dir.path("src/a.txt"), b"a");
    write(&dir.path("src/b.log"), b"b");
    write(&dir.path("src/d/c.txt"), b"c");
    write(&dir.path("src/tmp/e.txt"), b"e");
    let src = dir.path("src");
    let dst = dir.path("dst");
    let out = cloudkit()
        .args(["cp", "-r", "--dry-run", "--json", src.to_str().unwrap(), dst.to_str().unwrap()])
        .args(["--exclude", "*", "--include", "*.txt", "--exclude", "tmp/**"])
        .assert()
        .success();
    assert!(!dst.exists(), "a dry run creates nothing");
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["dry_run"], true);
    let mut planned: Vec<String> =
        doc["planned"].as_array().unwrap().iter().map(|p| p["from"].as_str().unwrap().to_owned()).collect();
    planned.sort();
    assert_eq!(planned.len(), 2, "{planned:?}");
    assert!(planned[0].ends_with("a.txt") && planned[1].ends_with("d/c.txt"), "{planned:?}");
    cloudkit()
        .args(["cp", "-r", src.to_str().unwrap(), dst.to_str().unwrap()])
        .args(["--exclude", "*", "--include", "*.txt", "--exclude", "tmp/**"])
        .assert()
        .success();
    assert_eq!(tree(&dst).keys().cloned().collect::<Vec<_>>(), ["a.txt", "d/c.txt"]);
}

#[test]
fn mv_moves_and_rm_removes() {
    let dir = TempDir::new("mvrm");
    write(&dir.path("a.txt"), b"a");
    // local → file:// store: the source is gone afterwards
    cloudkit().args(["mv", dir.path("a.txt").to_str().unwrap(), &dir.url("store/moved.txt")]).assert().success();
    assert!(!dir.path("a.txt").exists());
    assert_eq!(std::fs::read(dir.path("store/moved.txt")).unwrap(), b"a");
    // inside one store (server-side rename)
    cloudkit().args(["mv", &dir.url("store/moved.txt"), &dir.url("store/again/")]).assert().success();
    assert_eq!(std::fs::read(dir.path("store/again/moved.txt")).unwrap(), b"a");
    assert!(!dir.path("store/moved.txt").exists());
    // recursive move of a tree
    write(&dir.path("t/x/1.txt"), b"1");
    write(&dir.path("t/2.txt"), b"2");
    cloudkit().args(["mv", "-r", dir.path("t").to_str().unwrap(), &dir.url("store/t")]).assert().success();
    assert!(tree(&dir.path("t")).is_empty());
    assert_eq!(tree(&dir.path("store/t")).len(), 2);

    // rm of one object, then of a tree; stdin is not a terminal here, so no prompt
    cloudkit()
        .args(["rm", &dir.url("store/again/moved.txt")])
        .assert()
        .success()
        .stdout(predicate::str::contains("delete: "));
    assert!(!dir.path("store/again/moved.txt").exists());
    cloudkit().args(["rm", "-r", "--dry-run", &dir.url("store/t")]).assert().success();
    assert_eq!(tree(&dir.path("store/t")).len(), 2);
    let out = cloudkit().args(["rm", "-r", "--jsonl", &dir.url("store/t")]).assert().success();
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout).lines().count(), 2);
    assert!(tree(&dir.path("store/t")).is_empty() || !dir.path("store/t").exists());
    // rm of a prefix without -r is refused
    write(&dir.path("store/p/q.txt"), b"q");
    cloudkit().args(["rm", &dir.url("store/p/")]).assert().code(1);
}

#[test]
fn cp_into_one_store_is_server_side_and_prefix_needs_r() {
    let dir = TempDir::new("same");
    write(&dir.path("store/a/1.txt"), b"one");
    cloudkit().args(["cp", &dir.url("store/a/1.txt"), &dir.url("store/b/")]).assert().success();
    assert_eq!(std::fs::read(dir.path("store/b/1.txt")).unwrap(), b"one");
    cloudkit()
        .args(["cp", &dir.url("store/a"), &dir.url("store/c")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("use -r"));
    cloudkit()
        .args(["cp", "-r", &dir.url("store/a/1.txt"), &dir.url("store/c/")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("without -r"));
}

#[test]
fn presign_needs_a_backend_that_signs() {
    let dir = TempDir::new("presign");
    write(&dir.path("a.txt"), b"a");
    cloudkit()
        .args(["presign", &dir.url("a.txt"), "--expires", "1h", "--method", "PUT"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not support signed URLs"));
}

#[test]
fn mb_and_rb_need_a_cloud_bucket() {
    cloudkit().args(["mb", "file:///tmp/x"]).assert().code(1).stderr(predicate::str::contains("bucket"));
    cloudkit().args(["rb", "memory://"]).assert().code(1);
}

#[test]
fn closed_stdout_is_not_a_failure() {
    use std::io::{BufRead, BufReader};
    let dir = TempDir::new("pipe");
    for i in 0..3000 {
        write(&dir.path(&format!("d/file-{i:05}.txt")), b"x");
    }
    // `cloudkit ls -rl … | head -1`: far more than a pipe buffer of output, the reader leaves early.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloudkit"))
        .args(["ls", "-rl", dir.path("d").to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("file-0"), "{first}");
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

#[test]
fn jsonl_transfers_and_verbose_logs() {
    let dir = TempDir::new("jsonl");
    write(&dir.path("src/a.txt"), b"a");
    write(&dir.path("src/b/c.txt"), b"cc");
    let out = cloudkit()
        .args(["-vv", "cp", "-r", "--jsonl", dir.path("src").to_str().unwrap(), &dir.url("dst")])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let mut sizes: Vec<u64> = stdout.lines().map(|l| json_of(l.as_bytes())["size"].as_u64().unwrap()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 2]);
    assert!(stdout.lines().all(|l| json_of(l.as_bytes())["status"] == "ok"));
}

// ---- emulators (scripts/testbed.sh up writes target/testbed/env) ----

/// The test bed's variables, or `None` (with a message) when it is not up.
fn testbed() -> Option<BTreeMap<String, String>> {
    let path = std::env::var_os("CLOUDKIT_TESTBED_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testbed/env"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: the test bed is not up ({} is absent; run scripts/testbed.sh up)", path.display());
        return None;
    };
    let vars = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect();
    Some(vars)
}

/// The S3 endpoint and credentials of moto, as `cloudkit` arguments and environment.
fn moto_cli(vars: &BTreeMap<String, String>) -> Option<(String, [(&'static str, &'static str); 4])> {
    let endpoint = vars.get("CLOUDKIT_TEST_MOTO_ENDPOINT")?.clone();
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    Some((endpoint, env))
}

/// The endpoint and credentials of s3s-fs, as `cloudkit` arguments and environment.
fn s3s_cli(vars: &BTreeMap<String, String>) -> Option<(String, [(&'static str, String); 4])> {
    let endpoint = vars.get("CLOUDKIT_TEST_S3S_ENDPOINT")?.clone();
    let env = [
        ("AWS_ACCESS_KEY_ID", vars.get("CLOUDKIT_TEST_S3S_ACCESS_KEY_ID")?.clone()),
        ("AWS_SECRET_ACCESS_KEY", vars.get("CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY")?.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    Some((endpoint, env))
}

/// A bucket name unique to this run.
fn bucket_name(label: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("ck-cli-{label}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// mb, cp -r up, ls, cat, stat, cp -r down, cross-store copy, rm -r, rb against one emulator.
fn round_trip_on(scheme: &str, env: &[(&str, &str)], extra: &[&str]) {
    let dir = TempDir::new(scheme);
    let expected = make_awkward_tree(&dir.path("src"));
    let bucket = bucket_name(scheme);
    let base = format!("{scheme}://{bucket}");
    let run = |args: &[&str]| {
        let mut cmd = cloudkit();
        cmd.envs(env.iter().copied()).args(extra).args(args);
        cmd
    };
    run(&["mb", &base]).assert().success();
    run(&["cp", "-r", dir.path("src").to_str().unwrap(), &format!("{base}/up/")]).assert().success();
    let out = run(&["ls", "-r", "--json", &base]).assert().success();
    assert_eq!(json_of(&out.get_output().stdout)["total_objects"], AWKWARD.len());
    run(&["cat", &format!("{base}/up/plain.txt")]).assert().success().stdout("contents 0 of plain.txt\n");
    run(&["stat", &format!("{base}/up/plus+sign.txt")]).assert().success();
    if scheme == "s3" {
        let out = run(&["presign", &format!("{base}/up/plain.txt"), "--expires", "15m", "--json"]).assert().success();
        let doc = json_of(&out.get_output().stdout);
        assert!(doc["url"].as_str().unwrap().contains("X-Amz-Signature="), "{doc}");
        assert_eq!(doc["expires_in_seconds"], 900);
    }
    run(&["cp", "-r", &format!("{base}/up"), dir.path("down").to_str().unwrap()]).assert().success();
    assert_eq!(tree(&dir.path("down")), expected);
    run(&["cp", "-r", &format!("{base}/up"), &format!("{base}/copy")]).assert().success();
    let data = pseudo_random(16 * 1024 * 1024);
    write(&dir.path("big.bin"), &data);
    run(&["cp", dir.path("big.bin").to_str().unwrap(), &format!("{base}/big.bin")]).assert().success();
    let out = run(&["cat", &format!("{base}/big.bin")]).assert().success();
    assert_eq!(sha256(&out.get_output().stdout), sha256(&data));
    run(&["rm", "-r", "--yes", &format!("{base}/copy")]).assert().success();
    run(&["rb", &base]).assert().failure();
    // rb --force removes what is left (as `aws s3 rb --force`), then the bucket.
    run(&["rb", "--force", &base]).assert().success().stdout(
        predicate::str::contains("delete: ").and(predicate::str::ends_with(format!("remove_bucket: {base}\n"))),
    );
    run(&["ls", &base]).assert().failure();
}

#[test]
fn emulator_s3s() {
    let Some(vars) = testbed() else { return };
    let Some((endpoint, env)) = s3s_cli(&vars) else {
        eprintln!("skipped: the test bed env has no s3s endpoint or key");
        return;
    };
    let env = env.each_ref().map(|(k, v)| (*k, v.as_str()));
    round_trip_on("s3", &env, &["--endpoint-url", &endpoint]);
}

#[test]
fn emulator_azurite() {
    let Some(vars) = testbed() else { return };
    let Some(connection) = vars.get("CLOUDKIT_TEST_AZURITE_CONNECTION_STRING") else {
        eprintln!("skipped: the test bed env has no Azurite connection string");
        return;
    };
    round_trip_on("az", &[("AZURE_STORAGE_CONNECTION_STRING", connection.as_str())], &[]);
}

#[test]
fn emulator_gcs() {
    let Some(vars) = testbed() else { return };
    let Some(endpoint) = vars.get("CLOUDKIT_TEST_GCS_ENDPOINT") else {
        eprintln!("skipped: the test bed env has no GCS endpoint");
        return;
    };
    round_trip_on("gs", &[("STORAGE_EMULATOR_HOST", endpoint.as_str()), ("GOOGLE_CLOUD_PROJECT", "test-project")], &[]);
}

#[test]
fn emulator_cross_provider_s3s_to_azurite() {
    let Some(vars) = testbed() else { return };
    let (Some((endpoint, env)), Some(connection)) =
        (s3s_cli(&vars), vars.get("CLOUDKIT_TEST_AZURITE_CONNECTION_STRING"))
    else {
        eprintln!("skipped: the test bed env lacks s3s or Azurite");
        return;
    };
    let run = |args: &[&str]| {
        let mut cmd = cloudkit();
        cmd.envs(env.clone())
            .env("AZURE_STORAGE_CONNECTION_STRING", connection)
            .args(["--endpoint-url", endpoint.as_str()])
            .args(args);
        cmd
    };
    let dir = TempDir::new("cross");
    let expected = make_awkward_tree(&dir.path("src"));
    let (s3, az) = (format!("s3://{}", bucket_name("x")), format!("az://{}", bucket_name("x")));
    run(&["mb", &s3]).assert().success();
    run(&["mb", &az]).assert().success();
    run(&["cp", "-r", dir.path("src").to_str().unwrap(), &format!("{s3}/t")]).assert().success();
    run(&["cp", "-r", &format!("{s3}/t"), &format!("{az}/t")]).assert().success();
    run(&["cp", "-r", &format!("{az}/t"), dir.path("back").to_str().unwrap()]).assert().success();
    assert_eq!(tree(&dir.path("back")), expected);
    for bucket in [&s3, &az] {
        run(&["rm", "-r", "--yes", bucket]).assert().success();
        run(&["rb", bucket]).assert().success();
    }
}

// ---- instances: the project's fake Azure Resource Manager and Compute Engine, and moto ----

/// One of the tests crate's fakes (`arm-fake`, `gce-fake`) running as a process, with the
/// environment it printed; killed (and its key files removed) when dropped.
struct Fake {
    child: std::process::Child,
    env: BTreeMap<String, String>,
}

impl Fake {
    /// Starts `name`, building it first when it is not there yet (as scripts/with-fake.sh does).
    fn start(name: &str) -> Self {
        use std::io::BufRead;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        let bin = target.join("debug").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = std::process::Command::new(cargo)
                .args(["build", "-q", "-p", "cloudkit-tests", "--bin", name])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success(), "building {name} failed");
        }
        let mut child = std::process::Command::new(&bin)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        // Killed and reaped by `Drop`, whatever happens below.
        let mut fake = Self { child, env: BTreeMap::new() };
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line == "READY" {
                // Anything the fake prints later is read and dropped: its stdout stays open.
                std::thread::spawn(move || lines.for_each(drop));
                return fake;
            }
            if let Some((k, v)) = line.split_once('=') {
                fake.env.insert(k.to_owned(), v.to_owned());
            }
        }
        panic!("{name} ended before it was ready");
    }

    /// `cloudkit` with the fake's environment (and nothing of the developer's cloud setup).
    fn cloudkit(&self) -> Command {
        let mut cmd = cloudkit();
        for var in ["AZURE_CONFIG_DIR", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CONFIG", "AWS_REGION"] {
            cmd.env_remove(var);
        }
        cmd.envs(&self.env).env("CLOUDKIT_AZURE_EMULATOR", "1");
        cmd
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.env.get("CLOUDKIT_GCE_FAKE_DIR").filter(|d| d.contains("ck-gce-fake-")) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn jsonl_of(output: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn instances_usage_and_unknown_providers() {
    cloudkit().args(["instances", "ls"]).assert().code(2);
    cloudkit().args(["instances", "ls", "--provider", "oracle"]).assert().code(2);
    cloudkit().args(["instances", "stop"]).assert().code(2);
    cloudkit().args(["instances", "wait", "ec2:us-east-1:i-1"]).assert().code(2);
    cloudkit().args(["instances", "ls", "--provider", "aws", "--tag", "novalue"]).assert().code(2);
    cloudkit()
        .args(["instances", "stop", "memory:local-1:i-1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no compute backend for provider \"memory\""));
    cloudkit()
        .args(["instances", "start", "not-an-id"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not an instance id"));
    cloudkit().args(["instances", "--help"]).assert().success().stdout(predicate::str::contains("Examples:"));
}

#[test]
fn instances_on_the_compute_engine_fake() {
    let fake = Fake::start("gce-fake");
    let project = fake.env["GOOGLE_CLOUD_PROJECT"].clone();
    let id = |zone: &str, name: &str| format!("gce:{project}/{zone}/{name}");
    let run = |args: &[&str]| {
        let mut cmd = fake.cloudkit();
        cmd.arg("instances").args(args);
        cmd
    };
    let out = run(&["ls", "--provider", "gcp"]).assert().success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains("PROVIDER STATE"), "{table}");
    for name in ["web-1", "web-2", "batch-1"] {
        assert!(table.contains(name), "{table}");
    }
    assert!(table.contains("env=prod"), "{table}");

    let out = run(&[
        "ls",
        "--provider",
        "gcp",
        "--zone",
        "us-central1-a",
        "--state",
        "running",
        "--tag",
        "env=prod",
        "--jsonl",
    ])
    .assert()
    .success();
    let lines = jsonl_of(&out.get_output().stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["id"], id("us-central1-a", "web-1"));
    assert_eq!(lines[0]["state"], "running");
    assert_eq!(lines[0]["provider_state"], "RUNNING");
    assert_eq!(lines[0]["tags"]["env"], "prod");

    let web1 = id("us-central1-a", "web-1");
    run(&["stop", "--wait", "--timeout", "60s", &web1]).assert().success().stdout(format!("stop: {web1} (stopped)\n"));
    let out = run(&["wait", &web1, "--state", "stopped", "--timeout", "30s", "--json"]).assert().success();
    assert_eq!(json_of(&out.get_output().stdout)["provider_state"], "TERMINATED");
    run(&["start", "--wait", &web1]).assert().success().stdout(format!("start: {web1} (running)\n"));
    run(&["reboot", "-q", &web1]).assert().success().stdout("");

    let web2 = id("us-central1-a", "web-2");
    let out = run(&["terminate", "--wait", "--json", &web2]).assert().success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["action"], "terminate");
    assert_eq!(doc["instances"][0]["state"], "terminated");
    let out = run(&["ls", "--provider", "gcp", "--json"]).assert().success();
    let listed = json_of(&out.get_output().stdout);
    assert!(listed["instances"].as_array().unwrap().iter().all(|i| i["id"] != web2.as_str()), "{listed}");

    // One missing instance among several: the others are done, exit code 3, the failure listed.
    let missing = id("us-central1-b", "no-such-vm");
    run(&["stop", &id("us-central1-b", "batch-1"), &missing]).assert().code(3).stderr(
        predicate::str::contains("Failed to stop 1 of 2 instances").and(predicate::str::contains("no-such-vm")),
    );
    run(&["wait", &missing, "--state", "running", "--timeout", "5s"]).assert().code(1);
}

#[test]
fn instances_on_the_azure_resource_manager_fake() {
    let fake = Fake::start("arm-fake");
    let sub = fake.env["AZURE_SUBSCRIPTION_ID"].clone();
    let run = |args: &[&str]| {
        let mut cmd = fake.cloudkit();
        cmd.arg("instances").args(args);
        cmd
    };
    let out = run(&["ls", "--provider", "azure"]).assert().success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(table.contains(&format!("azure:{sub}/myResourceGroup/myVM")), "{table}");

    let out = run(&[
        "ls",
        "--provider",
        "azure",
        "--subscription",
        &sub,
        "--resource-group",
        "web-rg",
        "--state",
        "stopped",
        "--json",
    ])
    .assert()
    .success();
    let doc = json_of(&out.get_output().stdout);
    let listed = doc["instances"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{doc}");
    let vm = listed[0]["id"].as_str().unwrap().to_owned();
    assert!(vm.starts_with(&format!("azure:{sub}/web-rg/")), "{vm}");
    assert_eq!(listed[0]["provider_state"], "deallocated");

    run(&["start", "--wait", &vm]).assert().success().stdout(format!("start: {vm} (running)\n"));
    run(&["wait", &vm, "--state", "running"]).assert().success().stdout(format!("{vm}: running\n"));
    run(&["reboot", &vm]).assert().success();
    let out = run(&["stop", "--wait", "--jsonl", &vm]).assert().success();
    assert_eq!(jsonl_of(&out.get_output().stdout)[0]["state"], "stopped");

    // Without the emulator permission the plain-http fake is refused.
    let mut cmd = fake.cloudkit();
    cmd.env_remove("CLOUDKIT_AZURE_EMULATOR").args(["instances", "ls", "--provider", "azure"]);
    cmd.assert().code(1);
}

/// A session on moto (test credentials), for what the command cannot show.
async fn moto_session(endpoint: &str) -> cloudkit::session::AwsSession {
    cloudkit::session::Session::aws()
        .region("us-east-1")
        .endpoint_url(endpoint.to_owned())
        .credentials(cloudkit::aws::Credentials::from_keys("test", "test".to_owned()))
        .load()
        .await
        .unwrap()
}

#[test]
fn emulator_moto_instances() {
    use cloudkit::compute::{Compute, CreateInstances};
    let Some(vars) = testbed() else { return };
    let Some((endpoint, env)) = moto_cli(&vars) else {
        eprintln!("skipped: the test bed env has no moto endpoint");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let run_tag = bucket_name("ec2");
    let created = runtime.block_on(async {
        let compute = moto_session(&endpoint).await.compute().unwrap();
        compute.create_instances(CreateInstances::new("ami-12c6146b", "t3.micro").tag("run", &run_tag)).await.unwrap()
    });
    let id = created[0].id.to_string();
    let run = |args: &[&str]| {
        let mut cmd = cloudkit();
        cmd.envs(env).args(["--endpoint-url", endpoint.as_str(), "instances"]).args(args);
        cmd
    };
    let tag = format!("run={run_tag}");
    let out = run(&["ls", "--provider", "aws", "--tag", &tag, "--jsonl"]).assert().success();
    let lines = jsonl_of(&out.get_output().stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["id"], id.as_str());
    assert_eq!(lines[0]["size"], "t3.micro");
    run(&["ls", "--provider", "aws", "--region", "us-east-1", "--tag", &tag])
        .assert()
        .success()
        .stdout(predicate::str::contains(id.as_str()));
    run(&["wait", &id, "--state", "running", "--timeout", "2m"]).assert().success();
    run(&["stop", "--wait", &id]).assert().success().stdout(format!("stop: {id} (stopped)\n"));
    let out = run(&["ls", "--provider", "aws", "--tag", &tag, "--state", "stopped", "--json"]).assert().success();
    assert_eq!(json_of(&out.get_output().stdout)["instances"][0]["id"], id.as_str());
    run(&["start", "--wait", &id]).assert().success().stdout(format!("start: {id} (running)\n"));
    run(&["reboot", &id]).assert().success();
    run(&["terminate", "--wait", &id]).assert().success().stdout(format!("terminate: {id} (terminated)\n"));
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = cloudkit().args(["completions", shell]).assert().success();
        let script = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(!script.trim().is_empty(), "{shell}");
        assert!(script.contains("cloudkit"), "{shell}: {script}");
        assert!(script.contains("cp"), "{shell}");
        assert!(script.contains("instances"), "{shell}");
    }
    cloudkit().args(["completions", "powershell-ish"]).assert().code(2);
}

#[test]
fn sync_copies_missing_and_changed_and_deletes_extras() {
    let dir = TempDir::new("sync");
    let (src, dst) = (dir.url("src"), dir.url("dst"));
    write(&dir.path("src/a.txt"), b"alpha");
    write(&dir.path("src/dir/b.txt"), b"bravo");
    write(&dir.path("src/dir/with space.txt"), b"charlie");
    let lines = |out: &[u8]| String::from_utf8(out.to_vec()).unwrap().lines().map(str::to_owned).collect::<Vec<_>>();

    // --dry-run: the plan, and nothing written.
    let out = cloudkit().args(["sync", "--dry-run", &src, &dst]).assert().success();
    let plan = lines(&out.get_output().stdout);
    assert_eq!(plan.len(), 3, "{plan:?}");
    assert!(plan.iter().all(|l| l.starts_with("(dry run) copy: ") && l.ends_with("(missing)")), "{plan:?}");
    assert!(!dir.path("dst").exists());
    let out = cloudkit().args(["sync", "--dry-run", "--json", &src, &dst]).assert().success();
    assert_eq!(json_of(&out.get_output().stdout)["copy"].as_array().unwrap().len(), 3);

    // Missing objects are copied.
    let out = cloudkit().args(["sync", &src, &dst]).assert().success();
    assert_eq!(lines(&out.get_output().stdout).len(), 3);
    assert_eq!(tree(&dir.path("dst")), tree(&dir.path("src")));

    // Unchanged: nothing to do.
    cloudkit().args(["sync", &src, &dst]).assert().success().stdout("");
    let out = cloudkit().args(["sync", "--json", &src, &dst]).assert().success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!((doc["copied"].as_array().unwrap().len(), doc["unchanged"].as_u64()), (0, Some(3)), "{doc}");

    // Changed: another size; the same size but modified later; a new file. An extra file at the
    // destination stays without --delete; a destination file newer than its source is kept.
    std::thread::sleep(std::time::Duration::from_millis(50));
    write(&dir.path("src/a.txt"), b"alpha, longer");
    write(&dir.path("src/dir/b.txt"), b"BRAVO");
    write(&dir.path("src/new.txt"), b"new");
    write(&dir.path("dst/extra.txt"), b"extra");
    write(&dir.path("dst/dir/with space.txt"), b"CHARLIE");
    let out = cloudkit().args(["sync", "--jsonl", &src, &dst]).assert().success();
    let mut reasons: Vec<(String, String)> = jsonl_of(&out.get_output().stdout)
        .iter()
        .map(|v| {
            assert_eq!(v["status"], "ok", "{v}");
            let to = v["to"].as_str().unwrap();
            (to.rsplit('/').next().unwrap().to_owned(), v["reason"].as_str().unwrap().to_owned())
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [("a.txt", "size differs"), ("b.txt", "source is newer"), ("new.txt", "missing")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(std::fs::read(dir.path("dst/a.txt")).unwrap(), b"alpha, longer");
    assert_eq!(std::fs::read(dir.path("dst/dir/b.txt")).unwrap(), b"BRAVO");
    assert_eq!(std::fs::read(dir.path("dst/dir/with space.txt")).unwrap(), b"CHARLIE");
    assert!(dir.path("dst/extra.txt").exists());

    // --delete --dry-run plans the removal; --exclude keeps a file out of both sides.
    cloudkit()
        .args(["sync", "--delete", "--dry-run", &src, &dst])
        .assert()
        .success()
        .stdout(predicate::str::contains("(dry run) delete: ").and(predicate::str::contains("extra.txt")));
    assert!(dir.path("dst/extra.txt").exists());
    cloudkit().args(["sync", "--delete", "--exclude", "extra.txt", &src, &dst]).assert().success().stdout("");
    assert!(dir.path("dst/extra.txt").exists());

    // --delete removes the extra.
    cloudkit()
        .args(["sync", "--delete", &src, &dst])
        .assert()
        .success()
        .stdout(predicate::str::contains("delete: ").and(predicate::str::contains("extra.txt")));
    assert!(!dir.path("dst/extra.txt").exists());
    let (mut have, mut want) = (tree(&dir.path("dst")), tree(&dir.path("src")));
    have.remove("dir/with space.txt");
    want.remove("dir/with space.txt");
    assert_eq!(have, want);

    // Plain paths work too; a file or a missing directory is not something to sync.
    let plain = dir.path("plain");
    cloudkit().args(["sync", "-q", dir.path("src").to_str().unwrap(), plain.to_str().unwrap()]).assert().success();
    assert_eq!(tree(&plain), tree(&dir.path("src")));
    cloudkit().args(["sync", dir.path("src/a.txt").to_str().unwrap(), &dst]).assert().code(1);
    cloudkit().args(["sync", dir.path("nope").to_str().unwrap(), &dst]).assert().code(1);
    cloudkit().args(["sync", &src]).assert().code(2);
    cloudkit()
        .args(["sync", &src, &dir.url("src/inside")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("overlap"));
}

// ---- progress and Ctrl-C ----

/// Runs `cloudkit ARGS` under a pseudo-terminal (util-linux `script`, part of every Debian and
/// Ubuntu base system) and returns everything the terminal received.
fn under_a_terminal(args: &[&str]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("cloudkit");
    let mut line = bin.to_str().unwrap().to_owned();
    for a in args {
        assert!(!a.contains('\''), "no quotes in the test's arguments: {a}");
        line.push_str(&format!(" '{a}'"));
    }
    let output = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("util-linux `script` runs commands under a pseudo-terminal");
    assert!(output.status.success(), "{line}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn progress_bars_on_a_terminal_and_no_escape_codes_without_one() {
    let dir = TempDir::new("progress");
    let data = pseudo_random(64 * 1024 * 1024);
    write(&dir.path("src/big.bin"), &data);
    let (src, dst) = (dir.path("src/big.bin"), dir.path("dst/"));

    // On a terminal: a bar (escape codes, the bar's frame, a rate), then the copy line.
    let screen = under_a_terminal(&["cp", src.to_str().unwrap(), dst.to_str().unwrap()]);
    assert!(screen.contains("\x1b["), "no escape codes on the terminal: {screen:?}");
    assert!(screen.contains("copy 0/1") && screen.contains("/s ETA"), "no total bar: {screen:?}");
    assert!(screen.contains("copy: "), "{screen:?}");
    assert_eq!(sha256(&std::fs::read(dir.path("dst/big.bin")).unwrap()), sha256(&data));

    // -q on a terminal: no bar.
    let screen = under_a_terminal(&["cp", "-q", src.to_str().unwrap(), dir.path("quiet/").to_str().unwrap()]);
    assert!(!screen.contains("\x1b["), "-q drew something: {screen:?}");

    // No terminal: plain text only, on both streams.
    let out = cloudkit().args(["cp", src.to_str().unwrap(), dir.path("plain/").to_str().unwrap()]).assert().success();
    let (stdout, stderr) = (&out.get_output().stdout, &out.get_output().stderr);
    assert!(!stdout.contains(&0x1b) && !stderr.contains(&0x1b), "escape codes without a terminal");
    assert!(String::from_utf8_lossy(stdout).starts_with("copy: "));

    // No terminal, a long transfer: plain progress lines (every 5 s by default; more often here).
    let out = cloudkit()
        .env("CLOUDKIT_PROGRESS_EVERY", "0.001")
        .args(["cp", src.to_str().unwrap(), dir.path("lines/").to_str().unwrap()])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.lines().any(|l| l.starts_with("progress: copy 0/1 objects, ")), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr}");
}

/// Sends SIGINT (Ctrl-C) to a child process.
fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -INT failed");
}

#[test]
fn ctrl_c_aborts_uploads_removes_temporary_files_and_says_what_was_not_copied() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let Some(vars) = testbed() else { return };
    let Some((endpoint, env)) = moto_cli(&vars) else {
        eprintln!("skipped: the test bed env has no moto endpoint");
        return;
    };
    let dir = TempDir::new("ctrl-c");
    let data = pseudo_random(256 * 1024 * 1024);
    write(&dir.path("big.bin"), &data);
    let bucket = bucket_name("ctrl-c");
    let base = format!("s3://{bucket}");
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("cloudkit"));
        cmd.envs(env).env_remove("AWS_PROFILE").args(["--endpoint-url", endpoint.as_str()]).args(args);
        cmd
    };
    assert!(run(&["mb", &base]).status().unwrap().success());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let s3 = runtime.block_on(async { moto_session(&endpoint).await.s3().unwrap() });
    let open_uploads = || {
        runtime.block_on(async {
            let page = s3.list_multipart_uploads(bucket.clone()).send().await.unwrap();
            page.uploads.len()
        })
    };

    // Upload: Ctrl-C once the multipart upload exists.
    let mut child = run(&["cp", dir.path("big.bin").to_str().unwrap(), &format!("{base}/big.bin")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while open_uploads() == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the multipart upload never started");
        assert!(child.try_wait().unwrap().is_none(), "the upload ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Interrupted: copied 0 of 1 objects; not transferred (1):"), "{stderr}");
    assert!(stderr.contains(&format!("{base}/big.bin")), "{stderr}");
    assert_eq!(open_uploads(), 0, "the interrupted multipart upload was not aborted");
    let listed = run(&["ls", "-r", &base]).output().unwrap();
    assert!(listed.stdout.is_empty(), "an interrupted upload left an object");

    // Download: Ctrl-C once the temporary file exists; nothing is left in the directory.
    assert!(
        run(&["cp", dir.path("big.bin").to_str().unwrap(), &format!("{base}/big.bin")]).status().unwrap().success()
    );
    let down = dir.path("down");
    std::fs::create_dir_all(&down).unwrap();
    let mut child = run(&["cp", &format!("{base}/big.bin"), &format!("{}/", down.display())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::read_dir(&down).unwrap().next().is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "the download never started");
        assert!(child.try_wait().unwrap().is_none(), "the download ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(2));
    }
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&down).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left in the download directory: {left:?}");
    assert!(run(&["rb", "--force", &base]).status().unwrap().success());
}
