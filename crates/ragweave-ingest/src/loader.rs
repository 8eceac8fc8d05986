//! Finding input files under a root and turning each into documents.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ragweave_core::{Document, Metadata};
use serde_json::Value;
use walkdir::WalkDir;

use crate::error::IngestError;

/// How a file's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Plain text (`.txt`, `.text`).
    Text,
    /// Markdown (`.md`, `.markdown`): chunked along its structure.
    Markdown,
    /// One JSON object with `text` (and optional `_id`/`id`, `title`), or an array of them.
    Json,
    /// One such object per line: BEIR `corpus.jsonl` and friends (`.jsonl`, `.ndjson`).
    Jsonl,
    /// HTML (`.html`, `.htm`), rendered to plain text.
    Html,
}

impl FileKind {
    /// The kind for a file name, by extension.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" => FileKind::Text,
            "md" | "markdown" => FileKind::Markdown,
            "json" => FileKind::Json,
            "jsonl" | "ndjson" => FileKind::Jsonl,
            "html" | "htm" => FileKind::Html,
            _ => return None,
        })
    }
}

/// An input file found under the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its name in the store: the path from the root's parent, with `/` separators
    /// (`docs/guide.md`). Document ids start with it.
    pub name: String,
    /// How it is read.
    pub kind: FileKind,
}

impl SourceFile {
    /// Whether `document_id` came from this file: the file's own id, or `name#id` for a
    /// document of a JSON or JSONL file.
    pub fn owns(&self, document_id: &str) -> bool {
        document_id
            .strip_prefix(self.name.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
    }
}

/// A document read from a file, and whether its text is markdown.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedDocument {
    /// The document; its metadata holds `source` (the file's name) and `title` when known.
    pub document: Document,
    /// Chunk along markdown structure.
    pub markdown: bool,
}

/// The files found under a root, and the entries left out.
#[derive(Debug, Default)]
pub struct Listing {
    /// Files to read, sorted by name.
    pub files: Vec<SourceFile>,
    /// Entries left out on purpose ([`IngestError::is_skip`]).
    pub skipped: Vec<IngestError>,
    /// Entries that could not be listed (a dangling link, an unreadable directory).
    pub failed: Vec<IngestError>,
}

/// Lists the files under `root` (or `root` itself when it is a file).
///
/// Hidden entries (a name starting with `.`) are left out, which keeps a store directory
/// inside the root from being ingested. Symlinks are followed only when they resolve inside
/// the root; others come back as [`IngestError::OutsideRoot`], and files of an unknown type
/// as [`IngestError::Unsupported`], both skips.
pub fn list_files(root: &Path) -> Result<Listing, IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        path: root.to_path_buf(),
        source,
    };
    let canonical_root = root.canonicalize().map_err(unreadable)?;
    let base = canonical_root
        .parent()
        .unwrap_or(&canonical_root)
        .to_path_buf();
    let mut listing = Listing::default();
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let source = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
                listing
                    .failed
                    .push(IngestError::Unreadable { path, source });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path().to_path_buf();
        let real = match path.canonicalize() {
            Ok(real) => real,
            Err(source) => {
                listing
                    .failed
                    .push(IngestError::Unreadable { path, source });
                continue;
            }
        };
        if !real.starts_with(&canonical_root) {
            listing.skipped.push(IngestError::OutsideRoot { path });
            continue;
        }
        let Some(kind) = FileKind::of(&path) else {
            listing.skipped.push(IngestError::Unsupported { path });
            continue;
        };
        // Named by where it sits under the root, not where a link inside the root leads.
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let mut name = canonical_root
            .strip_prefix(&base)
            .unwrap_or(&canonical_root)
            .join(relative)
            .to_string_lossy()
            .replace('\\', "/");
        if root.is_file() {
            name = canonical_root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(name);
        }
        listing.files.push(SourceFile { path, name, kind });
    }
    Ok(listing)
}

/// Reads files into documents, refusing those over a size limit.
#[derive(Debug, Clone)]
pub struct Loader {
    /// Files larger than this many bytes are refused with [`IngestError::TooLarge`].
    pub max_file_bytes: u64,
}

impl Default for Loader {
    fn default() -> Self {
        Self {
            max_file_bytes: 32 << 20,
        }
    }
}

impl Loader {
    /// Reads `file` into its documents.
    pub fn load(&self, file: &SourceFile) -> Result<Vec<LoadedDocument>, IngestError> {
        let text = self.read_text(&file.path)?;
        let doc = |id: String, text: String, title: Option<String>, markdown| {
            let mut metadata = Metadata::new();
            metadata.insert("source".into(), file.name.clone().into());
            if let Some(t) = title {
                metadata.insert("title".into(), t.into());
            }
            LoadedDocument {
                document: Document { id, text, metadata },
                markdown,
            }
        };
        match file.kind {
            FileKind::Text => Ok(vec![doc(file.name.clone(), text, None, false)]),
            FileKind::Markdown => Ok(vec![doc(file.name.clone(), text, None, true)]),
            FileKind::Html => {
                let plain = html2text::config::plain()
                    .link_footnotes(false)
                    .string_from_read(text.as_bytes(), 10_000)
                    .map_err(|e| IngestError::Malformed {
                        path: file.path.clone(),
                        line: None,
                        reason: format!("cannot render HTML: {e}"),
                    })?;
                if plain.trim().is_empty() {
                    return Err(IngestError::Empty {
                        path: file.path.clone(),
                    });
                }
                Ok(vec![doc(file.name.clone(), plain, None, false)])
            }
            FileKind::Json => {
                let value: Value =
                    serde_json::from_str(&text).map_err(|e| IngestError::Malformed {
                        path: file.path.clone(),
                        line: Some(e.line()),
                        reason: format!("invalid JSON: {e}"),
                    })?;
                let records = match value {
                    Value::Array(items) => items,
                    one @ Value::Object(_) => vec![one],
                    _ => {
                        return Err(IngestError::Malformed {
                            path: file.path.clone(),
                            line: None,
                            reason: "expected an object with `text`, or an array of them".into(),
                        });
                    }
                };
                let single = records.len() == 1;
                records_to_docs(file, records.into_iter().map(|r| (None, r)), single, &doc)
            }
            FileKind::Jsonl => {
                let mut records = Vec::new();
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let value = serde_json::from_str(line).map_err(|e| IngestError::Malformed {
                        path: file.path.clone(),
                        line: Some(i + 1),
                        reason: format!("invalid JSON: {e}"),
                    })?;
                    records.push((Some(i + 1), value));
                }
                records_to_docs(file, records.into_iter(), false, &doc)
            }
        }
    }

    /// Reads a file as UTF-8 text, with typed errors for the ways that fails.
    pub fn read_text(&self, path: &Path) -> Result<String, IngestError> {
        let unreadable = |source| IngestError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::metadata(path).map_err(unreadable)?.len();
        if bytes > self.max_file_bytes {
            return Err(IngestError::TooLarge {
                path: path.to_path_buf(),
                bytes,
                limit: self.max_file_bytes,
            });
        }
        let data = std::fs::read(path).map_err(unreadable)?;
        if data.iter().take(8192).any(|b| *b == 0) {
            return Err(IngestError::Binary {
                path: path.to_path_buf(),
            });
        }
        let mut text = String::from_utf8(data).map_err(|e| IngestError::InvalidUtf8 {
            path: path.to_path_buf(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        if text.starts_with('\u{feff}') {
            text.drain(..3);
        }
        if text.trim().is_empty() {
            return Err(IngestError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(text)
    }
}

type MakeDoc<'a> = dyn Fn(String, String, Option<String>, bool) -> LoadedDocument + 'a;

fn records_to_docs(
    file: &SourceFile,
    records: impl Iterator<Item = (Option<usize>, Value)>,
    single: bool,
    doc: &MakeDoc<'_>,
) -> Result<Vec<LoadedDocument>, IngestError> {
    let mut docs = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, (line, value)) in records.enumerate() {
        let bad = |reason: String| IngestError::Malformed {
            path: file.path.clone(),
            line,
            reason,
        };
        let Value::Object(obj) = value else {
            return Err(bad(format!("record {n} is not a JSON object")));
        };
        let text = match obj.get("text").or_else(|| obj.get("contents")) {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(bad(format!("record {n} has no string `text`"))),
        };
        let title = match obj.get("title") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            _ => None,
        };
        let own_id = match obj.get("_id").or_else(|| obj.get("id")) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(x)) => Some(x.to_string()),
            _ => None,
        };
        let id = match (&own_id, single) {
            (None, true) => file.name.clone(),
            (Some(id), _) => format!("{}#{id}", file.name),
            (None, false) => format!("{}#{}", file.name, line.unwrap_or(n + 1)),
        };
        if let Some(first) = seen.insert(id.clone(), n) {
            return Err(bad(format!(
                "duplicate id `{}` (records {first} and {n})",
                own_id.unwrap_or_default()
            )));
        }
        // BEIR indexes title and text together; so does everyone who reports on it.
        let full = match &title {
            Some(t) if !text.is_empty() => format!("{t}\n\n{text}"),
            Some(t) => t.clone(),
            None => text,
        };
        if full.trim().is_empty() {
            continue;
        }
        docs.push(doc(id, full, title, false));
    }
    if docs.is_empty() {
        return Err(IngestError::Empty {
            path: file.path.clone(),
        });
    }
    Ok(docs)
}
