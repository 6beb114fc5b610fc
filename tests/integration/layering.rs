//! The layering the architecture promises (docs/ARCHITECTURE.md), checked from the source:
//! module imports read from `crate::`, `super::` and `self::` paths, outside `#[cfg(test)]`
//! modules. No circle of imports in the engine; the pipeline knows nothing of the pool, the
//! plan, the scan or the report; the GUI never imports the CLI; the engine never imports a
//! front end or a GUI crate; and every format name is written in the format table alone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use conveyor::engine::format::Format;

/// The source folders of the workspace and the module path each one's root has: the app's
/// `src/`, the engine crate (whose modules the app sees as `engine::…`) and the JPEG decoder.
const ROOTS: [(&str, &str); 3] = [
    ("src", ""),
    ("crates/engine/src", "engine"),
    ("crates/jpeg-scaled/src", "jpeg_scaled"),
];

/// Every module of the workspace by path (`engine::pipeline::decode`) with its source file.
fn modules() -> BTreeMap<String, PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut mods = BTreeMap::new();
    for (dir, prefix) in ROOTS {
        let src = workspace.join(dir);
        for e in walkdir::WalkDir::new(&src).into_iter().map(Result::unwrap) {
            if e.path().extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = e.path().strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            if !prefix.is_empty() {
                parts.insert(0, prefix.to_owned());
            }
            mods.insert(parts.join("::"), e.path().to_path_buf());
        }
    }
    mods
}

/// The code of a file without comments, string contents and its `#[cfg(test)]` module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'/')) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            (b'"', _) => {
                out.push_str("\"\"");
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            (b'\'', _) if bytes.get(i + 2) == Some(&b'\'') => {
                // A character literal such as '{' must not open a use-tree.
                out.push_str("' '");
                i += 3;
            }
            (c, _) => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module a path names: the longest prefix that is a module.
fn resolve(mods: &BTreeMap<String, PathBuf>, current: &str, parts: &[&str]) -> Option<String> {
    let (mut base, mut rest): (Vec<&str>, Vec<&str>) = if parts[0] == "crate" {
        // `crate::` in the engine's or the decoder's crate names that crate's root.
        let root = ROOTS
            .iter()
            .map(|(_, prefix)| *prefix)
            .find(|p| !p.is_empty() && (current == *p || current.starts_with(&format!("{p}::"))));
        (root.into_iter().collect(), parts[1..].to_vec())
    } else {
        let base = current.split("::").filter(|s| !s.is_empty()).collect();
        (base, parts.to_vec())
    };
    while let Some(&head) = rest.first() {
        match head {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest.remove(0);
    }
    (0..=rest.len()).rev().find_map(|n| {
        let candidate = base
            .iter()
            .chain(&rest[..n])
            .copied()
            .collect::<Vec<_>>()
            .join("::");
        mods.contains_key(&candidate).then_some(candidate)
    })
}

/// Which modules each module imports.
fn imports(mods: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (module, path) in mods {
        let text = code(path);
        let mut found = BTreeSet::new();
        for head in ["crate", "super", "self"] {
            let needle = format!("{head}::");
            let mut from = 0;
            while let Some(at) = text[from..].find(&needle).map(|a| a + from) {
                from = at + needle.len();
                if text[..at].chars().next_back().is_some_and(is_ident) {
                    continue;
                }
                // The path after the head, up to a brace group or the end of the path.
                let tail: String = text[from..]
                    .chars()
                    .take_while(|&c| is_ident(c) || c == ':')
                    .collect();
                let prefix: Vec<&str> = std::iter::once(head)
                    .chain(tail.split("::").filter(|s| !s.is_empty()))
                    .collect();
                let after = &text[from + tail.len()..];
                let items: Vec<Vec<&str>> = if tail.ends_with("::") && after.starts_with('{') {
                    let mut depth = 0;
                    let end = after
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '{' => 1,
                                '}' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(after.len(), |(i, _)| i);
                    after[1..end]
                        .split(|c: char| !(is_ident(c) || c == ':'))
                        .filter(|s| !s.is_empty())
                        .map(|item| item.split("::").filter(|s| !s.is_empty()).collect())
                        .collect()
                } else {
                    vec![Vec::new()]
                };
                for item in items {
                    let parts: Vec<&str> = prefix.iter().copied().chain(item).collect();
                    if let Some(target) = resolve(mods, module, &parts)
                        && target != *module
                    {
                        found.insert(target);
                    }
                }
            }
        }
        edges.insert(module.clone(), found);
    }
    edges
}

/// Circles of imports among the modules under `prefix` (an edge from a child to its own parent
/// module is a child naming its parent's items, not an import circle).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>, prefix: &str) -> Vec<Vec<String>> {
    let inside =
        |m: &str| prefix.is_empty() || m == prefix || m.starts_with(&format!("{prefix}::"));
    let nodes: Vec<&String> = edges.keys().filter(|m| inside(m)).collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in &edges[&m] {
                if inside(next) && !m.starts_with(&format!("{next}::")) && seen.insert(next.clone())
                {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|&m| (m, reach(m))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for &m in &nodes {
        let mut circle: Vec<String> = reachable[m]
            .iter()
            .filter(|other| reachable[other].contains(m))
            .cloned()
            .collect();
        if circle.len() > 1 || (circle.len() == 1 && circle[0] != *m) {
            circle.sort();
            if !out.contains(&circle) {
                out.push(circle);
            }
        }
    }
    out
}

#[test]
fn the_engine_has_no_import_circles() {
    let mods = modules();
    assert!(mods.contains_key("engine::pipeline::decode"), "{mods:?}");
    let edges = imports(&mods);
    assert!(
        edges["engine::plan"].contains("engine::scan"),
        "the reader sees imports: {:?}",
        edges["engine::plan"]
    );
    assert_eq!(circles(&edges, "engine"), Vec::<Vec<String>>::new());
}

#[test]
fn no_import_circles_anywhere_in_the_crate() {
    let mods = modules();
    let edges = imports(&mods);
    assert!(
        edges["gui::app::frame"].contains("gui::panels"),
        "the reader sees the window's imports: {:?}",
        edges["gui::app::frame"]
    );
    assert_eq!(circles(&edges, ""), Vec::<Vec<String>>::new());
}

/// The window's code stays in files a person can read: at most 500 lines outside their
/// tests, and the shell (the `eframe::App`) under 250.
#[test]
fn the_windows_files_stay_small() {
    let mut long = Vec::new();
    for (module, path) in modules().iter().filter(|(m, _)| m.starts_with("gui")) {
        let text = std::fs::read_to_string(path).unwrap();
        let code = match text.find("#[cfg(test)]\nmod ") {
            Some(at) => &text[..at],
            None => &text[..],
        };
        let lines = code.lines().count();
        let most = if module == "gui::shell" { 249 } else { 500 };
        if lines > most {
            long.push(format!("{module}: {lines} lines (at most {most})"));
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let edge = |a: &str, b: &str| (a.to_owned(), BTreeSet::from([b.to_owned()]));
    let edges = BTreeMap::from([
        edge("engine::a", "engine::b"),
        edge("engine::b", "engine::c"),
        edge("engine::c", "engine::a"),
        edge("engine::d", "engine::a"),
    ]);
    assert_eq!(
        circles(&edges, "engine"),
        vec![vec![
            "engine::a".to_owned(),
            "engine::b".to_owned(),
            "engine::c".to_owned()
        ]]
    );
}

#[test]
fn imports_point_down_the_flow() {
    let mods = modules();
    let edges = imports(&mods);
    let under = |m: &str, p: &str| m == p || m.starts_with(&format!("{p}::"));
    let mut wrong = Vec::new();
    let rules: [(&str, &[&str]); 5] = [
        (
            "engine::codec",
            &[
                "engine::pipeline",
                "engine::header",
                "engine::pool",
                "engine::plan",
                "engine::scan",
                "engine::report",
                "engine::recipe",
            ],
        ),
        (
            "engine::pipeline",
            &[
                "engine::pool",
                "engine::plan",
                "engine::scan",
                "engine::report",
            ],
        ),
        ("gui", &["cli"]),
        // Panels are functions of what they show and the forms they edit: never the state
        // (`gui::app` and its frame loop, which borrows their views) or the shell.
        ("gui::panels", &["gui::app", "gui::shell"]),
        ("engine", &["gui", "cli"]),
    ];
    for (from, forbidden) in rules {
        for (m, targets) in edges.iter().filter(|(m, _)| under(m, from)) {
            for t in targets {
                if forbidden.iter().any(|f| under(t, f)) {
                    wrong.push(format!("{m} imports {t}"));
                }
            }
        }
    }
    // No GUI crate in the engine either.
    for (m, path) in mods.iter().filter(|(m, _)| under(m, "engine")) {
        let text = code(path);
        for gui_crate in ["egui::", "eframe::", "rfd::"] {
            if text.contains(gui_crate) {
                wrong.push(format!("{m} uses {gui_crate}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_format_name_is_written_in_the_format_table_alone() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names: BTreeSet<String> = Format::all()
        .flat_map(|f| std::iter::once(f.name()).chain(f.spec().extensions.iter().copied()))
        .map(|n| format!("\"{n}\""))
        .collect();
    let mut found = Vec::new();
    let files = ROOTS
        .iter()
        .flat_map(|(dir, _)| walkdir::WalkDir::new(workspace.join(dir)));
    for entry in files {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "rs") || path.ends_with("engine/src/format.rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (line_no, line) in text.lines().enumerate() {
            for name in names.iter().filter(|n| line.contains(n.as_str())) {
                found.push(format!("{}:{}: {name}", path.display(), line_no + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "format names outside the table: {found:#?}"
    );
}

/// #37 item 20: the README is a user guide a person reads through (about 400 lines at most;
/// measurements and their history live in `docs/`), and every file it links to or shows exists.
#[test]
fn the_readme_is_a_short_guide_whose_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(lines <= 420, "README.md has {lines} lines");
    let mut missing = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = &rest[..end];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        let file = target.split('#').next().unwrap_or(target);
        if !root.join(file).exists() {
            missing.push(target.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "README links to missing files: {missing:?}"
    );
    assert!(
        text.contains("docs/BENCHMARKS.md"),
        "the measurements are linked"
    );
    // The example recipe shown is the one the package installs, and every recipe the README
    // shows reads (its edits included) as `recipe check` reads it.
    let share = std::fs::read_to_string(root.join("assets/recipes/share.toml")).unwrap();
    assert!(
        text.contains(&format!("```toml\n{share}```")),
        "README's example recipe differs from assets/recipes/share.toml"
    );
    let mut recipes = 0;
    for block in text.split("```toml\n").skip(1) {
        let toml = block.split("```").next().unwrap();
        conveyor::engine::recipe_file::parse(toml, Path::new("README.md"))
            .unwrap_or_else(|e| panic!("README's recipe does not read: {e}\n{toml}"));
        recipes += 1;
    }
    assert!(recipes >= 2, "the README shows its recipes");
}
