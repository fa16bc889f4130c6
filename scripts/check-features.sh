#!/usr/bin/env bash
# Feature isolation: a build of the facade with one provider feature must not compile the other
# providers' crates or their heavy dependencies (checked on the resolved dependency graph, so it
# costs no compilation). Part of scripts/test.sh.
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

providers_other_than_s3='^(cloudkit-aws-ec2|cloudkit-azure-blob|cloudkit-gcp-storage|azure_core|azure_identity|google-cloud-auth|aws-lc-sys|aws-lc-rs) '
providers_other_than_ec2='^(cloudkit-aws-s3|cloudkit-azure-blob|cloudkit-gcp-storage|azure_core|azure_identity|google-cloud-auth|aws-lc-sys|aws-lc-rs) '
any_provider='^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-blob|cloudkit-gcp-storage|cloudkit-cred-chain|cloudkit-signer|aws-sigv4|azure_core|google-cloud-auth|aws-lc-sys|aws-lc-rs) '

check "" "$any_provider" "provider crate (the default build is local + memory only)"
check "aws-s3" "$providers_other_than_s3" "EC2, Azure or Google crate"
check "aws-ec2" "$providers_other_than_ec2" "S3, Azure or Google crate"
check "azure-blob" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-gcp-storage|aws-sigv4|google-cloud-auth|aws-lc-sys|aws-lc-rs) ' "AWS or Google crate"
check "gcp-storage" '^(cloudkit-aws-s3|cloudkit-aws-ec2|cloudkit-aws-sts|cloudkit-aws-protocol|cloudkit-azure-blob|aws-sigv4|azure_core|aws-lc-sys|aws-lc-rs) ' "AWS or Azure crate"
exit "$fail"
