//! The file loaders as ingestion runs them (a file written, then loaded and chunked), and
//! the chunker on text of any shape.

use ragweave_core::{Document, Metadata};
use ragweave_ingest::loader::{FileKind, LoadedDocument, SourceFile, file_id};
use ragweave_ingest::{Chunker, Loader};

use super::{Target, scratch, seeds, tokens};
use crate::mutate::Mutator;

pub(crate) struct Load {
    name: &'static str,
    kind: FileKind,
    file: std::path::PathBuf,
    _dir: tempfile::TempDir,
    loader: Loader,
    chunker: Chunker,
}

impl Load {
    fn new(name: &'static str, kind: FileKind, ext: &str) -> Self {
        let dir = scratch();
        Self {
            name,
            kind,
            file: dir.path().join(format!("input.{ext}")),
            _dir: dir,
            loader: Loader::default(),
            chunker: Chunker::new(64, 8).expect("valid sizes"),
        }
    }

    pub(crate) fn html() -> Self {
        Self::new("loader-html", FileKind::Html, "html")
    }

    pub(crate) fn markdown() -> Self {
        Self::new("loader-md", FileKind::Markdown, "md")
    }

    pub(crate) fn jsonl() -> Self {
        Self::new("loader-jsonl", FileKind::Jsonl, "jsonl")
    }

    pub(crate) fn text() -> Self {
        Self::new("loader-txt", FileKind::Text, "txt")
    }
}

const HTML: [&str; 3] = [
    "<!doctype html><html><head><title>Rivers</title><style>p{color:red}</style>\
     <script>var x = '<div>';</script></head><body><h1>Rivers &amp; deltas</h1>\
     <p>Rivers carry <b>water</b> to the <a href=\"/sea\">sea</a>.<br>They carve valleys.</p>\
     <ul><li>Nile<li>Amazon</ul><table><tr><th>river</th><td>km</td></tr>\
     <tr><td colspan=2>6,650</td></tr></table><pre>  code\n  block</pre></body></html>",
    "<div><div><section><article><p>Nested <em>text</em> &lt;here&gt; &#x1F600; &nbsp;</p>\
     </article></section></div></div><img src=x alt=\"an image\"><!-- a comment -->",
    "<html><body><ol start=3><li><p>one</p><li><blockquote>two</blockquote></ol>\
     <dl><dt>term<dd>definition</dl><svg><text>svg</text></svg><math><mi>x</mi></math>",
];

impl Target for Load {
    fn name(&self) -> &'static str {
        self.name
    }

    fn mutator(&self) -> Mutator {
        let (seeds, dictionary) = match self.kind {
            FileKind::Html => (
                HTML.iter().map(|h| h.as_bytes().to_vec()).collect(),
                tokens(&[
                    "<div>",
                    "</div>",
                    "<p>",
                    "<table>",
                    "<tr>",
                    "<td>",
                    "<li>",
                    "<ul>",
                    "<pre>",
                    "<script>",
                    "</script>",
                    "<style>",
                    "<!--",
                    "-->",
                    "&amp;",
                    "&#",
                    "&#x",
                    "<br>",
                    "<a href=\"",
                    "\">",
                    "<![CDATA[",
                    "<svg>",
                    "<math>",
                    "<textarea>",
                    "<template>",
                    "<select>",
                    "colspan=99999",
                    "rowspan=99999",
                    "<frameset>",
                ]),
            ),
            FileKind::Jsonl | FileKind::Json => {
                let mut lines = seeds::dataset_lines("scifact", "corpus.jsonl", 4);
                lines.push_str(&seeds::dataset_lines("scifact", "queries.jsonl", 4));
                (
                    vec![lines.into_bytes()],
                    tokens(&[
                        "{",
                        "}",
                        "[",
                        "]",
                        "\"",
                        ":",
                        ",",
                        "\n",
                        "\"_id\":",
                        "\"text\":",
                        "\"title\":",
                        "\"metadata\":",
                        "null",
                        "1e999",
                        "\\ud800",
                        "\"\"",
                    ]),
                )
            }
            FileKind::Markdown | FileKind::Text => (
                seeds::files("docs", ".md", 12),
                tokens(&[
                    "# ", "## ", "\n\n", "```", "~~~", "- ", "* ", "1. ", "> ", "|", "---", "[",
                    "](", ")", "<div>", "\t", "    ", "\r\n", "\u{200b}", "é", "🦀",
                ]),
            ),
        };
        Mutator::new(seeds, dictionary, 64 << 10)
    }

    fn run(&mut self, input: &[u8]) -> Result<bool, String> {
        std::fs::write(&self.file, input).map_err(|e| format!("writing the input: {e}"))?;
        let file = SourceFile {
            path: self.file.clone(),
            id: file_id(&self.file),
            name: "input".into(),
            kind: self.kind,
        };
        let Ok(docs) = self.loader.load(&file) else {
            return Ok(false);
        };
        for doc in &docs {
            self.chunker.chunk(doc, "fuzz");
        }
        Ok(true)
    }
}

/// The chunker on any text, with sizes taken from the input's first bytes.
pub(crate) struct Chunking;

impl Target for Chunking {
    fn name(&self) -> &'static str {
        "chunker"
    }

    fn mutator(&self) -> Mutator {
        let seeds = seeds::files("docs", ".md", 12)
            .into_iter()
            .enumerate()
            .map(|(i, mut text)| {
                text.splice(0..0, [(i * 37) as u8, (i * 11) as u8, i as u8]);
                text
            })
            .collect();
        let dictionary = tokens(&[
            "# ", "\n\n", "```", "\n", " ", ". ", "\u{3000}", "𝔘", "\r", "|", "- ",
        ]);
        Mutator::new(seeds, dictionary, 64 << 10)
    }

    fn run(&mut self, input: &[u8]) -> Result<bool, String> {
        let [a, b, c, text @ ..] = input else {
            return Ok(false);
        };
        let max_tokens = usize::from(*a) + 1;
        let overlap = usize::from(*b) % (max_tokens + 2);
        let Ok(chunker) = Chunker::new(max_tokens, overlap) else {
            return Ok(false);
        };
        let text = String::from_utf8_lossy(text).into_owned();
        let bytes = text.len();
        let doc = LoadedDocument {
            document: Document {
                id: "doc".into(),
                text,
                metadata: Metadata::new(),
            },
            markdown: c & 1 == 1,
        };
        let chunks = chunker.chunk(&doc, "fuzz");
        // Output is the input about max_tokens / (max_tokens - overlap) times over (each
        // chunk repeats the overlap of the one before), never more.
        let out: usize = chunks.iter().map(|c| c.text.len()).sum();
        let copies = 2 * max_tokens / (max_tokens - overlap) + 2;
        if out > copies * bytes + 1024 {
            return Err(format!(
                "{bytes} bytes became {out} bytes of chunks (max_tokens {max_tokens}, overlap {overlap})"
            ));
        }
        Ok(!chunks.is_empty())
    }
}
