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

/// How ids of documents read from files begin; [`crate::Ingestor::ingest_documents`] refuses
/// ids that do, so no upload can fall in the scope of a file ingestion.
pub const FILE_ID_SCHEME: &str = "file://";

/// An input file found under the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its document id: the `file://` URL of its absolute path, under the canonical root
    /// (`file:///home/me/docs/guide.md`), with `%`, `#` and bytes that are not UTF-8
    /// percent-escaped, so two different paths never share an id. A JSON or JSONL file's
    /// documents are `<id>#<record id>`.
    pub id: String,
    /// Its name for display: the path from the root's parent (`docs/guide.md`), escaped as
    /// the id is. Documents carry it as `source` metadata.
    pub name: String,
    /// How it is read.
    pub kind: FileKind,
}

impl SourceFile {
    /// Whether `document_id` came from this file: the file's own id, or `<id>#<record>` for
    /// a document of a JSON or JSONL file.
    pub fn owns(&self, document_id: &str) -> bool {
        document_id
            .strip_prefix(self.id.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
    }
}

/// The document id of the file at `path` (absolute): see [`SourceFile::id`].
pub fn file_id(path: &Path) -> String {
    format!("{FILE_ID_SCHEME}{}", escape_path(path))
}

/// The id prefix of every document under the directory `root` (absolute), ending in `/`.
pub fn directory_id_prefix(root: &Path) -> String {
    let id = file_id(root);
    if id.ends_with('/') { id } else { id + "/" }
}

/// A path as text that names it alone: `%` and `#` (the record separator) and every byte
/// that is not UTF-8 are written `%XX`; `\` separators become `/`.
fn escape_path(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '%' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
        let absolute = if root.is_file() {
            canonical_root.clone()
        } else {
            canonical_root.join(relative)
        };
        let name = escape_path(absolute.strip_prefix(&base).unwrap_or(&absolute));
        let id = file_id(&absolute);
        listing.files.push(SourceFile {
            path,
            id,
            name,
            kind,
        });
    }
    Ok(listing)
}

/// Reads files into documents, refusing those over a size limit.
#[derive(Debug, Clone)]
pub struct Loader {
    /// Files larger than this many bytes are refused with [`IngestError::TooLarge`].
    pub max_file_bytes: u64,
    /// A document's metadata (as JSON) larger than this many bytes is refused: every chunk
    /// of the document carries a copy, so a huge `title` would be multiplied by the chunk
    /// count. [`crate::Ingestor::ingest_documents`] holds uploads to it too.
    pub max_metadata_bytes: usize,
}

impl Default for Loader {
    fn default() -> Self {
        Self {
            max_file_bytes: 32 << 20,
            max_metadata_bytes: 32 << 10,
        }
    }
}

/// The length of `metadata` as JSON, counted without writing it out.
pub fn metadata_bytes(metadata: &Metadata) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, metadata).expect("JSON values serialize");
    count.0
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
            FileKind::Text => Ok(vec![doc(file.id.clone(), text, None, false)]),
            FileKind::Markdown => Ok(vec![doc(file.id.clone(), text, None, true)]),
            FileKind::Html => {
                // Rendering time grows with the square of the nesting or faster: 200,000
                // nested `<div>`s (2 MB) took over a minute.
                let depth = html_nesting(&text);
                if depth > MAX_HTML_NESTING {
                    return Err(IngestError::Malformed {
                        path: file.path.clone(),
                        line: None,
                        reason: format!(
                            "elements nested {depth} deep, over the limit of {MAX_HTML_NESTING}"
                        ),
                    });
                }
                let malformed = |reason: String| IngestError::Malformed {
                    path: file.path.clone(),
                    line: None,
                    reason,
                };
                // Plain text without decorations: embeddings gain nothing from `*bold*`, and
                // a strike-through mark on every letter per enclosing `<s>` made the text
                // grow with the nesting times its length. Tables in raw mode, a cell a line:
                // no borders to embed, and laying out nested tables took time exponential
                // in their nesting (7 deep in 4 KB: 0.6 s).
                let html = html2text::config::plain_no_decorate()
                    .unicode_strikeout(false)
                    .raw_mode(true)
                    .link_footnotes(false);
                let dom = html
                    .parse_html(text.as_bytes())
                    .map_err(|e| malformed(format!("cannot parse HTML: {e}")))?;
                // The parser makes elements the text never wrote (it reopens formatting
                // elements after each block, and `<li>`, `<p>` and the like that the estimate
                // leaves out still nest): the limit holds for the tree it built too.
                let depth = dom_depth(&dom.document);
                if depth > MAX_HTML_NESTING {
                    return Err(malformed(format!(
                        "elements nested {depth} deep once parsed, over the limit of {MAX_HTML_NESTING}"
                    )));
                }
                let plain = html
                    .dom_to_render_tree(&dom)
                    .and_then(|tree| html.render_to_string(tree, 10_000))
                    .map_err(|e| malformed(format!("cannot render HTML: {e}")))?;
                if plain.trim().is_empty() {
                    return Err(IngestError::Empty {
                        path: file.path.clone(),
                    });
                }
                Ok(vec![doc(file.id.clone(), plain, None, false)])
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
                let records = records.into_iter().map(|r| (None, r));
                records_to_docs(file, records, single, self.max_metadata_bytes, &doc)
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
                records_to_docs(
                    file,
                    records.into_iter(),
                    false,
                    self.max_metadata_bytes,
                    &doc,
                )
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

/// Deepest element nesting an HTML file may have, in its text and once parsed. Rendering
/// time grows faster than the square of the nesting (400 nested `<s>` take 0.6 s, 1,000
/// would take seconds); ordinary pages nest a few dozen deep.
pub const MAX_HTML_NESTING: usize = 512;

/// How deep the tree under `root` goes; without recursion, so a deep tree cannot overflow
/// the stack.
fn dom_depth(root: &html2text::Handle) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root.clone(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        for child in node.children.borrow().iter() {
            stack.push((child.clone(), depth + 1));
        }
    }
    deepest
}

/// How deep the elements of `html` nest, counting only those whose end tag is required
/// (`<p>`, `<li>` and the like may be left open, and would count forever) and skipping void
/// and self-closed ones. An end tag closes the innermost open element of its name and all
/// inside it, as the HTML parser does; one that closes nothing open is ignored (it would
/// otherwise hide real nesting: `<ul>` a thousand times, each followed by `</x>`). An
/// estimate made without parsing, to refuse pathological input before the parser and
/// renderer spend their time on it.
fn html_nesting(html: &str) -> usize {
    const UNCOUNTED: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
        "thead", "tbody", "tfoot", "colgroup", "caption", "rp", "rt", "html", "head", "body",
    ];
    let mut open: Vec<String> = Vec::new();
    let mut open_by_name: HashMap<String, usize> = HashMap::new();
    let mut deepest = 0usize;
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let closing = rest.starts_with('/');
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() || UNCOUNTED.contains(&name.as_str()) {
            continue;
        }
        let tag_end = rest.find('>').unwrap_or(rest.len());
        if closing {
            if open_by_name.get(&name).is_some_and(|n| *n > 0) {
                // Each element is pushed and popped once: linear in all.
                while let Some(inner) = open.pop() {
                    *open_by_name.entry(inner.clone()).or_default() -= 1;
                    if inner == name {
                        break;
                    }
                }
            }
        } else if !rest[..tag_end].ends_with('/') {
            *open_by_name.entry(name.clone()).or_default() += 1;
            open.push(name.clone());
            deepest = deepest.max(open.len());
        }
        // Past the tag: each byte is looked at once, however the `<` and `>` fall.
        rest = &rest[tag_end..];
        // A script's or a style's `a<b` is not a tag: skip to its end tag.
        if !closing && (name == "script" || name == "style") {
            let bytes = rest.as_bytes();
            let mut from = 0;
            let mut end = rest.len();
            while let Some(i) = rest[from..].find("</") {
                let k = from + i + 2;
                if bytes.len() >= k + name.len()
                    && bytes[k..k + name.len()].eq_ignore_ascii_case(name.as_bytes())
                {
                    end = k - 2;
                    break;
                }
                from = k;
            }
            rest = &rest[end..];
        }
    }
    deepest
}

type MakeDoc<'a> = dyn Fn(String, String, Option<String>, bool) -> LoadedDocument + 'a;

fn records_to_docs(
    file: &SourceFile,
    records: impl Iterator<Item = (Option<usize>, Value)>,
    single: bool,
    max_metadata_bytes: usize,
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
            (None, true) => file.id.clone(),
            (Some(id), _) => format!("{}#{id}", file.id),
            (None, false) => format!("{}#{}", file.id, line.unwrap_or(n + 1)),
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
        let loaded = doc(id, full, title, false);
        let bytes = metadata_bytes(&loaded.document.metadata);
        if bytes > max_metadata_bytes {
            return Err(bad(format!(
                "record {n}'s metadata (its `title` and `source`) is {bytes} bytes of JSON, over \
                 the {max_metadata_bytes}-byte limit (`max_metadata_bytes`): every chunk carries it"
            )));
        }
        docs.push(loaded);
    }
    if docs.is_empty() {
        return Err(IngestError::Empty {
            path: file.path.clone(),
        });
    }
    Ok(docs)
}
