//! docs.rs shows every provider module, each item badged with the feature it needs: the crate is
//! documented with all features and `--cfg docsrs`, and every public item behind a feature carries
//! `#[cfg_attr(docsrs, doc(cfg(..)))]`. These tests keep both true as items are added.

/// The facade's sources that declare public items behind features.
const SOURCES: &[(&str, &str)] = &[
    ("lib.rs", include_str!("lib.rs")),
    ("store/mod.rs", include_str!("store/mod.rs")),
    ("compute/mod.rs", include_str!("compute/mod.rs")),
    ("session/mod.rs", include_str!("session/mod.rs")),
    ("session/aws.rs", include_str!("session/aws.rs")),
    ("session/azure.rs", include_str!("session/azure.rs")),
    ("session/gcp.rs", include_str!("session/gcp.rs")),
];

#[test]
fn docs_rs_builds_with_every_feature_and_the_docsrs_cfg() {
    let manifest = include_str!("../Cargo.toml");
    let section = manifest
        .split("[package.metadata.docs.rs]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("Cargo.toml has a [package.metadata.docs.rs] section");
    assert!(section.contains("all-features = true"), "{section}");
    assert!(section.contains(r#"rustdoc-args = ["--cfg", "docsrs"]"#), "{section}");
    assert!(include_str!("lib.rs").contains("#![cfg_attr(docsrs, feature(doc_cfg))]"));
}

#[test]
fn every_public_item_behind_a_feature_has_a_badge() {
    let mut missing = Vec::new();
    for (file, text) in SOURCES {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let gated = line.starts_with("#[cfg(feature") || line.starts_with("#[cfg(any(feature");
            if !gated {
                continue;
            }
            // The attributes after the `cfg`, then the item.
            let rest: Vec<&str> = lines[i + 1..].iter().copied().take_while(|l| l.starts_with("#[")).collect();
            let item = lines.get(i + 1 + rest.len()).copied().unwrap_or_default();
            let public = item.starts_with("pub ");
            if public && !rest.iter().any(|a| a.starts_with("#[cfg_attr(docsrs, doc(cfg(")) {
                missing.push(format!("{file}:{}: {item}", i + 2 + rest.len()));
            }
        }
    }
    assert!(missing.is_empty(), "public items behind a feature without a docs.rs badge:\n{}", missing.join("\n"));
}
