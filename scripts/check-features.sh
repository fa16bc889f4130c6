#!/usr/bin/env bash
# Feature isolation: a build of the facade with one provider feature must not compile the other
# providers' crates or their heavy dependencies (checked on the resolved dependency graph, so it
# costs no compilation); and a project needs the facade alone (checked on examples/, which is
# built on its own). Part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail=0
# check FEATURES FORBIDDEN_REGEX DESCRIPTION
check() {
    local features="$1" forbidden="$2" what="$3" tree
    if [[ -z "$features" ]]; then
        tree="$(cargo tree -q -p cloudkit --no-default-features -e normal --prefix none)"
    else
        tree="$(cargo tree -q -p cloudkit --no-default-features --features "$features" -e normal --prefix none)"
    fi
    local hits
    hits="$(grep -E "$forbidden" <<<"$tree" | sort -u || true)"
    if [[ -n "$hits" ]]; then
        echo "FAIL: cloudkit with features [${features:-none}] pulls $what:"
        sed 's/^/    /' <<<"$hits"
        fail=1
    else
        echo "ok: cloudkit with features [${features:-none}] pulls no $what"
    fi
}

providers_other_than_s3='^(cloudkit-aws-ec2|cloudkit-aws-dynamic|cloudkit-azure-blob|cloudkit-azure-arm|cloudkit-gcp-storage|cloudkit-gcp-compute|azure_core|azure_identity|google-cloud-auth|aws-lc-sys|aws-lc-rs) '
providers_other_than_ec2='^(cloudkit-aws-s3|cloudkit-aws-dynamic|cloudkit-azure-blob|cloudkit-azure-arm|cloudkit-gcp-storage|cloudkit-gcp-compute|azure_core|azure_identity|google-cloud-auth|aws-lc-sys|aws-lc-rs) '
any_provider='^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-dynamic|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-blob|cloudkit-azure-arm|cloudkit-gcp-storage|cloudkit-gcp-compute|cloudkit-cred-chain|cloudkit-signer|aws-sigv4|azure_core|google-cloud-auth|aws-lc-sys|aws-lc-rs) '

check "" "$any_provider" "provider crate (the default build is local + memory only)"
check "aws-s3" "$providers_other_than_s3" "EC2, Azure or Google crate"
check "aws-ec2" "$providers_other_than_ec2" "S3, Azure or Google crate"
check "aws-any" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-azure-blob|cloudkit-azure-arm|cloudkit-gcp-storage|cloudkit-gcp-compute|azure_core|google-cloud-auth|aws-lc-sys|aws-lc-rs) ' "S3, EC2, Azure or Google crate"
check "azure-blob" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-dynamic|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-arm|cloudkit-gcp-storage|cloudkit-gcp-compute|aws-sigv4|google-cloud-auth|aws-lc-sys|aws-lc-rs) ' "AWS, Google or ARM crate"
check "azure-arm" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-dynamic|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-blob|cloudkit-gcp-storage|cloudkit-gcp-compute|aws-sigv4|google-cloud-auth|aws-lc-sys|aws-lc-rs) ' "AWS, Google or Blob crate"
check "gcp-storage" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-dynamic|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-blob|cloudkit-azure-arm|cloudkit-gcp-compute|aws-sigv4|azure_core|aws-lc-sys|aws-lc-rs) ' "AWS, Azure or Compute Engine crate"
check "gcp-compute" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-dynamic|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-blob|cloudkit-azure-arm|cloudkit-gcp-storage|aws-sigv4|azure_core|aws-lc-sys|aws-lc-rs) ' "AWS, Azure or Cloud Storage crate"

# A user's project needs the facade alone. The examples package stands for one: its examples, its tests
# and the README's Rust code (its doctests) may name no other cloudkit crate, and it must build on its own,
# with only the features it asks for (inside `cargo test --workspace` other members' features could hide
# a missing one).
others="$(cargo tree -q -p cloudkit-examples -e normal,dev --depth 1 --prefix none |
    grep -E '^cloudkit' | grep -vE '^cloudkit(-examples)? ' | sort -u || true)"
if [[ -n "$others" ]]; then
    echo "FAIL: examples/ depends on cloudkit crates other than the facade:"
    sed 's/^/    /' <<<"$others"
    fail=1
else
    echo "ok: examples/ depends on the cloudkit facade alone"
fi
if cargo check -q -p cloudkit-examples --all-targets; then
    echo "ok: examples/ (examples and tests) builds with the facade's features alone"
else
    echo "FAIL: examples/ does not build on its own (a facade feature or re-export is missing)"
    fail=1
fi
exit "$fail"
