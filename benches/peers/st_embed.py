"""sentence-transformers' throughput on the same documents as embed_bench: the first N of a
BEIR corpus (title + "\n" + text), batch 32, max length 256, after one warm-up batch.
usage: st_embed.py MODEL_DIR CORPUS N {fp32|bf16|fp16}"""

import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, corpus, n, precision = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
texts = []
with open(corpus) as f:
    for line in f:
        if len(texts) >= n:
            break
        d = json.loads(line)
        texts.append(f"{d['title']}\n{d['text']}" if d.get("title") else d["text"])
model = SentenceTransformer(model_dir, device="cpu")
model.max_seq_length = 256
if precision == "bf16":
    model = model.to(torch.bfloat16)
elif precision == "fp16":
    model = model.to(torch.float16)
model.encode(texts[:32], batch_size=32)
start = time.perf_counter()
vectors = model.encode(texts, batch_size=32)
secs = time.perf_counter() - start
assert len(vectors) == len(texts)
print(
    f"sentence-transformers {precision}: {len(texts)} docs in {secs:.2f} s = "
    f"{len(texts) / secs:.1f} docs/s (torch {torch.__version__}, {torch.get_num_threads()} threads)"
)
