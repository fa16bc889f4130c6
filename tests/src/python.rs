//! Runs the reference Python SDKs (boto3, azure-storage-blob, google-cloud-storage) for cross-checks.
//!
//! `scripts/testbed.sh up` installs those packages for `python3`, or into `target/tools/venv` when the
//! system Python refuses pip installs. The interpreter is `CLOUDKIT_TEST_PYTHON` if set, else that
//! virtualenv's if it exists, else `python3`. A missing interpreter or package fails the test with a
//! message saying so; it never skips.

use std::path::Path;
use std::process::Command;

/// Environment variable naming the Python interpreter to use.
pub const PYTHON_VAR: &str = "CLOUDKIT_TEST_PYTHON";

/// The packages the cross-checks import, as `scripts/testbed.sh up` installs them.
pub const PACKAGES: &str = "boto3 (with moto), azure-storage-blob, google-cloud-storage";

/// The Python interpreter the cross-checks run: `CLOUDKIT_TEST_PYTHON` (from the environment or the
/// test bed's env file, where `scripts/testbed.sh up` records the interpreter it installed for), else the test bed's virtualenv
/// (`target/tools/venv/bin/python`) when it exists, else `python3`.
pub fn interpreter() -> String {
    // The process environment first, then the value `scripts/testbed.sh up` recorded.
    if let Some(p) = crate::testbed::Testbed::global().get(PYTHON_VAR).filter(|p| !p.is_empty()) {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/tools/venv/bin/python");
    if Path::new(venv).exists() { venv.to_owned() } else { "python3".to_owned() }
}

/// Runs `python -c script args…` with `env` added to the environment (and `NO_PROXY` set for
/// 127.0.0.1, where the emulators are), and returns what it printed on stdout.
///
/// # Panics
/// - when the interpreter cannot be started: names it and how to install it or pick another;
/// - when the script fails on an import (`ImportError` / `ModuleNotFoundError`, or exit code 3, which
///   the scripts' own import guards use): says a package is missing and that `scripts/testbed.sh up`
///   installs it;
/// - when the script fails otherwise, or prints something that is not UTF-8: with its exit status and
///   stderr.
pub fn run_python(script: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let python = interpreter();
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run the Python interpreter `{python}` ({e}): install Python 3 or set {PYTHON_VAR}; \
                 `scripts/testbed.sh up` then installs {PACKAGES}"
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let import_failed =
            out.status.code() == Some(3) || stderr.contains("ModuleNotFoundError") || stderr.contains("ImportError");
        if import_failed {
            panic!(
                "a Python package the test needs is missing for `{python}` ({}): run `scripts/testbed.sh up`, \
                 which installs {PACKAGES}, or set {PYTHON_VAR} to a Python that has them:\n{stderr}",
                out.status
            );
        }
        panic!("the Python script failed under `{python}` ({}):\n{stderr}", out.status);
    }
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("the Python script printed non-UTF-8 output: {e}"))
}
