//! The price catalog: loads and merges catalog files (or the embedded copy) and answers lookups.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::provider::ProviderKind;

use super::file::{self, ParsedFile};
use super::resolve::{normalize, resolve};
use super::row::PriceRow;

/// The shipped catalog files, compiled in so the binary prices calls from any directory.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "<embedded>/pricing/openai.yaml",
        include_str!("../../pricing/openai.yaml"),
    ),
    (
        "<embedded>/pricing/anthropic.yaml",
        include_str!("../../pricing/anthropic.yaml"),
    ),
    (
        "<embedded>/pricing/gemini.yaml",
        include_str!("../../pricing/gemini.yaml"),
    ),
];

/// The default `pricing.catalogs` entry; when it does not exist the embedded files stand in.
const DEFAULT_FOLDER: &str = "pricing";

type NameMap = HashMap<Box<str>, Arc<PriceRow>>;

/// Model prices by provider, immutable once built; a reload builds a new one.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Provider name → model name or alias → row.
    pub(super) by_provider: HashMap<String, NameMap>,
    /// Every provider's names, for providers that serve other vendors' models.
    any: NameMap,
    rows: usize,
}

impl Catalog {
    /// Loads `sources` (files, or folders whose `*.yaml`/`*.yml` files are read in name order).
    /// A later source overrides an earlier one per (provider, model). Every error is returned.
    pub fn load(sources: &[PathBuf]) -> Result<Catalog, Vec<String>> {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for source in sources {
            if is_default_folder(source) && !source.exists() {
                for (origin, text) in EMBEDDED {
                    collect(file::parse(origin, text), &mut files, &mut errors);
                }
                continue;
            }
            for path in expand(source, &mut errors) {
                let origin = path.display().to_string();
                match fs::read_to_string(&path) {
                    Ok(text) => collect(file::parse(&origin, &text), &mut files, &mut errors),
                    Err(e) => errors.push(format!("{origin}: {e}")),
                }
            }
        }
        if errors.is_empty() {
            Ok(Catalog::build(files))
        } else {
            Err(errors)
        }
    }

    /// The catalog compiled into the binary.
    pub fn embedded() -> Catalog {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for (origin, text) in EMBEDDED {
            collect(file::parse(origin, text), &mut files, &mut errors);
        }
        // Unreachable with the shipped files (a test loads them); never fail the gateway for it.
        for e in &errors {
            tracing::error!(error = %e, "embedded price catalog is invalid");
        }
        Catalog::build(files)
    }

    /// The price of `model` as served by a provider of `kind`: that provider's rows first, then
    /// any provider's (an OpenAI-compatible server may serve `claude-…` names).
    pub fn lookup(&self, kind: ProviderKind, model: &str) -> Option<Arc<PriceRow>> {
        let name = normalize(model);
        if let Some(rows) = self.by_provider.get(provider_key(kind)) {
            if let Some(row) = resolve(rows, &name) {
                return Some(Arc::clone(row));
            }
        }
        resolve(&self.any, &name).map(Arc::clone)
    }

    /// The number of priced models (aliases not counted).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn build(files: Vec<ParsedFile>) -> Catalog {
        // Later files override earlier ones per (provider, model); their aliases go with them.
        let mut merged: HashMap<(String, String), (usize, file::ParsedModel)> = HashMap::new();
        let mut order = 0usize;
        for f in files {
            for m in f.models {
                order += 1;
                merged.insert((f.provider.clone(), m.row.model.clone()), (order, m));
            }
        }
        let mut models: Vec<(usize, file::ParsedModel)> = merged.into_values().collect();
        models.sort_by_key(|(order, _)| *order);

        let mut catalog = Catalog {
            rows: models.len(),
            ..Catalog::default()
        };
        // Aliases first, then canonical names, so an alias never hides a model's own name.
        for pass_aliases in [true, false] {
            for (_, m) in &models {
                let names: Vec<&str> = if pass_aliases {
                    m.aliases.iter().map(String::as_str).collect()
                } else {
                    vec![m.row.model.as_str()]
                };
                let per_provider = catalog
                    .by_provider
                    .entry(m.row.provider.clone())
                    .or_default();
                for name in names {
                    per_provider.insert(name.into(), Arc::clone(&m.row));
                    catalog.any.insert(name.into(), Arc::clone(&m.row));
                }
            }
        }
        catalog
    }
}

fn collect(
    parsed: Result<ParsedFile, Vec<String>>,
    files: &mut Vec<ParsedFile>,
    errors: &mut Vec<String>,
) {
    match parsed {
        Ok(f) => files.push(f),
        Err(e) => errors.extend(e),
    }
}

/// A file as itself; a folder as its YAML files in name order.
fn expand(source: &Path, errors: &mut Vec<String>) -> Vec<PathBuf> {
    if !source.is_dir() {
        return vec![source.to_path_buf()];
    }
    let entries = match fs::read_dir(source) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(format!("{}: {e}", source.display()));
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                )
        })
        .collect();
    paths.sort();
    paths
}

/// `pricing`, `pricing/` or `./pricing`.
pub(super) fn is_default_folder(source: &Path) -> bool {
    source
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .eq(Path::new(DEFAULT_FOLDER).components())
}

/// The `provider:` value catalog files use for each wire format.
fn provider_key(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai => "openai",
        ProviderKind::Anthropic => "anthropic",
        ProviderKind::Gemini => "gemini",
    }
}
