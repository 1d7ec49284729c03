//! ARCHITECTURE.md's import invariants, checked by reading the sources: which modules a module's
//! code names (`use crate::…`, a `crate::…` path, a name the crate root re-exports). Comments and
//! a file's `#[cfg(test)]` module at its end are not its code: a test may build a ledger.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// The pure core: functions over bytes and values. None of them reads the ledger, a store, a
/// view, or reaches the service, the CLI or a builder of what it checks.
const PURE_CORE: &[&str] = &[
    "admission.rs",
    "bundle.rs",
    "canonical.rs",
    "checkpoint.rs",
    "event.rs",
    "id.rs",
    "jsonld.rs",
    "keys.rs",
    "merkle.rs",
    "oid4vci/",
    "projection/",
    "rdfc.rs",
    "record.rs",
    "rules.rs",
    "schema.rs",
    "share.rs",
    "status_list.rs",
    "text.rs",
    "vc.rs",
    "vc/",
];

/// What the pure core never imports.
const OUTSIDE_THE_CORE: &[&str] =
    &["agent", "audit", "cli", "demo", "generate", "http", "ledger", "share_build", "store", "view"];

/// The event layer: what a signed event and its place on the log are. The standard-credential
/// layer (`vc`, `rdfc`, `jsonld`, `status_list`) and admission sit above it, so an event type
/// never checks a standard proof; nor does it know the rules, projections or bundles.
const EVENT_LAYER: &[&str] = &[
    "canonical.rs",
    "checkpoint.rs",
    "event.rs",
    "id.rs",
    "keys.rs",
    "merkle.rs",
    "record.rs",
    "schema.rs",
    "text.rs",
];

const ABOVE_THE_EVENT_LAYER: &[&str] =
    &["admission", "bundle", "jsonld", "projection", "rdfc", "rules", "share", "status_list", "vc"];

/// Every `.rs` file under `src/`, as a path relative to it.
fn sources() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).expect("under src/").to_string_lossy().into_owned());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn read(file: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file)).expect("read a source file")
}

/// A file's code: without comments, and without the test module that ends it.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string (a URL) is not a comment; these files have none in a path.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate root's re-exports (`pub use ledger::{Ledger, …}`): each name and its module.
fn reexports() -> Vec<(String, String)> {
    let lib = read("lib.rs");
    let mut out = Vec::new();
    for line in lib.lines().filter_map(|l| l.strip_prefix("pub use ")) {
        let (module, names) = line.split_once("::").expect("pub use module::names");
        let names = names.trim_end_matches(';').trim_matches(|c| c == '{' || c == '}');
        out.extend(names.split(',').map(|n| (n.trim().to_owned(), module.to_owned())));
    }
    out
}

/// The first segment of each path in a `use` tree's text: `{a::B, c}` gives `a`, `c`.
fn first_segments(tree: &str, out: &mut BTreeSet<String>) {
    let mut depth = 0;
    let mut item = String::new();
    let mut items = Vec::new();
    for c in tree.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    for item in items {
        let segment: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !segment.is_empty() {
            out.insert(segment);
        }
    }
}

/// The crate's modules (and re-exported names, as their modules) a file's code names.
fn imports(file: &str) -> BTreeSet<String> {
    imports_in(&code(&read(file)))
}

fn imports_in(code: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(tree) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = tree
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(tree.len(), |(i, _)| i);
            first_segments(&tree[..end], &mut named);
        } else {
            first_segments(rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""), &mut named);
        }
    }
    let reexports = reexports();
    named.into_iter().map(|n| reexports.iter().find(|(name, _)| name == &n).map_or(n, |(_, m)| m.clone())).collect()
}

fn in_list(file: &str, list: &[&str]) -> bool {
    list.iter().any(|entry| if entry.ends_with('/') { file.starts_with(entry) } else { file == *entry })
}

/// Each file of `files` that names a module of `forbidden`, with those modules.
fn violations(files: &[&str], forbidden: &[&str]) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|f| in_list(f, files))
        .filter_map(|f| {
            let bad: Vec<String> = imports(&f).into_iter().filter(|m| forbidden.contains(&m.as_str())).collect();
            (!bad.is_empty()).then(|| format!("{f} imports {}", bad.join(", ")))
        })
        .collect()
}

#[test]
fn the_pure_core_imports_no_ledger_store_view_service_or_cli() {
    assert_eq!(violations(PURE_CORE, OUTSIDE_THE_CORE), Vec::<String>::new());
}

#[test]
fn the_event_layer_imports_no_standard_credential_admission_rule_projection_or_bundle() {
    assert_eq!(violations(EVENT_LAYER, ABOVE_THE_EVENT_LAYER), Vec::<String>::new());
}

#[test]
fn the_ledger_builds_no_bundle() {
    assert_eq!(violations(&["ledger.rs"], &["bundle", "share_build"]), Vec::<String>::new());
}

#[test]
fn every_module_the_lists_name_exists() {
    let files = sources();
    for entry in PURE_CORE.iter().chain(EVENT_LAYER) {
        assert!(files.iter().any(|f| in_list(f, &[entry])), "{entry} is not under src/");
    }
    let modules: BTreeSet<String> =
        files.iter().map(|f| f.split(['/', '.']).next().expect("a name").to_owned()).collect();
    for module in OUTSIDE_THE_CORE.iter().chain(ABOVE_THE_EVENT_LAYER) {
        assert!(modules.contains(*module), "no module {module}");
    }
}

/// The reader itself: it sees every way a file names a module, and only code.
#[test]
fn imports_are_read_from_use_trees_paths_and_reexports_but_not_comments_or_tests() {
    let text = "use crate::{event::{A, B}, id::Did};\n// crate::view::View\nfn f() { crate::store::x(); let _ = crate::Ledger::open; }\n#[cfg(test)]\nmod tests {\n    use crate::http;\n}\n";
    let named: Vec<String> = imports_in(&code(text)).into_iter().collect();
    assert_eq!(named, ["event", "id", "ledger", "store"]);
}
