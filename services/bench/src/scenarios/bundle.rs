//! The web bundle's size: each file of `pkg/` raw, gzip-compressed here at the best level
//! (the baseline a server could reach), and as the system serves it to a browser; and the
//! bytes of a first page load.

use std::path::Path;

use crate::measure::gzip_size;
use crate::report::{Row, kib};
use crate::system::Running;

/// One file of the web bundle: raw, gzip at the best level, and as served (encoding, bytes).
pub struct Bundled {
    pub name: String,
    pub raw: usize,
    pub gzip: usize,
    pub served: (String, usize),
}

/// What the bundle scenario measured.
pub struct Bundle {
    /// The WebAssembly as served, and the first page load.
    pub rows: [Row; 2],
    /// Every file, by name.
    pub files: Vec<Bundled>,
}

/// Measures the files of `site`'s `pkg/` and the home page that loads them.
pub async fn run(system: &Running, site: &Path) -> anyhow::Result<Bundle> {
    let pkg = site.join("pkg");
    let mut files = Vec::new();
    let (_, mut first_load) = system.served("/").await?;
    let mut wasm_served = (String::new(), 0);
    let mut names: Vec<String> = std::fs::read_dir(&pkg)?
        .filter_map(|entry| Some(entry.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|name| {
            [".wasm", ".js", ".css"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .collect();
    names.sort();
    for name in names {
        let bytes = std::fs::read(pkg.join(&name))?;
        let served = system.served(&format!("/pkg/{name}")).await?;
        first_load += served.1;
        if name.ends_with(".wasm") {
            wasm_served = served.clone();
        }
        files.push(Bundled {
            name,
            raw: bytes.len(),
            gzip: gzip_size(&bytes),
            served,
        });
    }
    let wasm = Row {
        scenario: format!("WebAssembly bundle, as served ({})", wasm_served.0),
        measured: kib(wasm_served.1),
        baseline: "—".to_owned(),
        ratio: "—".to_owned(),
        target: "≤ 300 kB".to_owned(),
        met: Some(wasm_served.1 <= 300_000 && wasm_served.0 != "identity"),
    };
    let first_load = Row {
        scenario: "First page load (HTML + JS + WebAssembly + CSS), as served".to_owned(),
        measured: kib(first_load),
        baseline: "—".to_owned(),
        ratio: "—".to_owned(),
        target: "—".to_owned(),
        met: None,
    };
    Ok(Bundle {
        rows: [wasm, first_load],
        files,
    })
}
