//! Fingerprints the resource model for the state file: a hash of every
//! struct and enum definition under `src/domain/` (comments and whitespace
//! left out), so a snapshot written by a build with other types is refused
//! instead of misread (borsh is not self-describing).

use std::path::Path;

fn main() {
    let mut files = Vec::new();
    collect(Path::new("src/domain"), &mut files);
    files.sort();
    // FNV-1a: stable across toolchains, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let source = std::fs::read_to_string(file).expect("read a domain source file");
        for byte in type_definitions(&source)
            .iter()
            .flat_map(|d| d.bytes().chain([0]))
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rerun-if-changed=src/domain");
    println!("cargo:rustc-env=EMULATOR_STATE_SCHEMA={hash:016x}");
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/domain") {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Each `struct`/`enum` item from its keyword to its closing brace (or
/// semicolon), without comment lines and whitespace.
fn type_definitions(source: &str) -> Vec<String> {
    let code: Vec<&str> = source
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .collect();
    let mut definitions = Vec::new();
    let mut current: Option<(String, i32)> = None;
    for line in code {
        let starts = [
            "pub struct ",
            "struct ",
            "pub enum ",
            "enum ",
            "pub(crate) struct ",
            "pub(crate) enum ",
        ]
        .iter()
        .any(|k| line.starts_with(k));
        if current.is_none() && starts {
            current = Some((String::new(), 0));
        }
        if let Some((text, depth)) = current.as_mut() {
            text.extend(line.chars().filter(|c| !c.is_whitespace()));
            *depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            if *depth <= 0 && (line.ends_with('}') || line.ends_with(';')) {
                definitions.push(std::mem::take(text));
                current = None;
            }
        }
    }
    definitions
}
