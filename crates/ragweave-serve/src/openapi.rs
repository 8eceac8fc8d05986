//! The OpenAPI 3.1 document, made from the same types the handlers parse and return.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Value, json};

use crate::api::{
    ChatChunk, ChatCompletion, ChatRequest, EmbeddingsReply, EmbeddingsRequest, Health,
    IngestReply, IngestRequest, ModelList, RerankReply, RerankRequest, RetrieveReply,
    RetrieveRequest,
};
use crate::error::ErrorBody;

/// `GET /openapi.json`: every route, its request and reply schemas, bearer auth.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    let error = schema::<ErrorBody>(&mut g);
    let mut paths = serde_json::Map::new();
    let mut post = |path: &str, summary: &str, body: Value, reply: Value, extra: Value| {
        let mut responses = json!({
            "200": {"description": "OK", "content": reply},
            "default": {"description": "An error", "content": {"application/json": {"schema": error.clone()}}},
        });
        if let (Some(r), Some(e)) = (responses.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        paths.insert(
            path.into(),
            json!({"post": {
                "summary": summary,
                "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
                "responses": responses,
            }}),
        );
    };
    let json_reply = |s: Value| json!({"application/json": {"schema": s}});
    let status = |code: &str, what: &str| json!({code: {"description": what, "content": {"application/json": {"schema": error.clone()}}}});
    let limits = {
        let mut v = status("401", "A missing or wrong bearer token");
        for (code, what) in [
            (
                "400",
                "Malformed JSON, a missing or mistyped field, a bad value; `param` names it",
            ),
            ("404", "An unknown model"),
            ("413", "A body over the server's limit"),
            ("415", "A body that is not JSON"),
            (
                "503",
                "Over the concurrency limit (retry after `Retry-After` seconds)",
            ),
        ] {
            v.as_object_mut()
                .expect("object")
                .extend(status(code, what).as_object().expect("object").clone());
        }
        v
    };
    let chat_body = schema::<ChatRequest>(&mut g);
    let chat_reply = json!({
        "application/json": {"schema": schema::<ChatCompletion>(&mut g)},
        "text/event-stream": {
            "schema": {"type": "string", "description": "With `stream: true`: `data: <chunk JSON>` events, then `data: [DONE]`."},
            "x-ragweave-event": schema::<ChatChunk>(&mut g),
        },
    });
    post(
        "/v1/chat/completions",
        "OpenAI-compatible chat. The pipeline's model answers with citations; a generator's name chats plainly.",
        chat_body,
        chat_reply,
        limits.clone(),
    );
    let b = schema::<EmbeddingsRequest>(&mut g);
    let r = json_reply(schema::<EmbeddingsReply>(&mut g));
    post(
        "/v1/embeddings",
        "OpenAI-compatible embeddings.",
        b,
        r,
        limits.clone(),
    );
    let b = schema::<RerankRequest>(&mut g);
    let r = json_reply(schema::<RerankReply>(&mut g));
    post(
        "/v1/rerank",
        "Scores passages against a query (llama-server, vLLM, Jina, Cohere shape).",
        b,
        r,
        limits.clone(),
    );
    let b = schema::<RetrieveRequest>(&mut g);
    let r = json_reply(schema::<RetrieveReply>(&mut g));
    post(
        "/v1/retrieve",
        "The pipeline's hits for a query, without generating.",
        b,
        r,
        limits.clone(),
    );
    let b = schema::<IngestRequest>(&mut g);
    let r = json_reply(schema::<IngestReply>(&mut g));
    post(
        "/v1/ingest",
        "Chunks, embeds and stores documents; unchanged ones cost nothing.",
        b,
        r,
        limits,
    );
    let get = |summary: &str, content: Value, open: bool| {
        let mut op = json!({"get": {"summary": summary, "responses": {"200": {"description": "OK", "content": content}}}});
        if open {
            op["get"]["security"] = json!([]);
        }
        op
    };
    paths.insert(
        "/v1/models".into(),
        get(
            "The models requests can name.",
            json_reply(schema::<ModelList>(&mut g)),
            false,
        ),
    );
    paths.insert(
        "/healthz".into(),
        get(
            "Health: 200 when every generator can take requests, 503 naming those that cannot; needs no token.",
            json_reply(schema::<Health>(&mut g)),
            true,
        ),
    );
    paths.insert(
        "/metrics".into(),
        get(
            "Prometheus text.",
            json!({"text/plain": {"schema": {"type": "string"}}}),
            false,
        ),
    );
    paths.insert(
        "/openapi.json".into(),
        get(
            "This document; needs no token.",
            json!({"application/json": {"schema": {"type": "object"}}}),
            true,
        ),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ragweave serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A ragweave pipeline over HTTP: OpenAI-compatible chat completions with citations, embeddings and rerank; retrieve; ingest.",
        },
        "paths": paths,
        "components": {
            "schemas": g.take_definitions(true),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    })
}

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}
