"""The no-op pipeline of ragweave's `pipeline_overhead` bench, in LlamaIndex.

Same stages, each returning at once, built from LlamaIndex's own parts where it has them:
HyDE query transform (think) on a mock LLM, a retriever that routes over 3 expert retrievers
by mean pilot cosine (top 2) and fuses them by weighted RRF, a pass-through postprocessor
(rerank), LongContextReorder of the top 5, the default response synthesizer on a mock LLM.
The tokenizer is whitespace splitting: tiktoken would fetch its vocabulary from the network.
Prints the median microseconds per query.
"""

import math
from typing import List

from llama_index.core import Settings
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.indices.query.query_transform import HyDEQueryTransform
from llama_index.core.llms import MockLLM
from llama_index.core.postprocessor import LongContextReorder
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine, TransformQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from timing import QUERY, median_us

DIM = 8
Settings.llm = MockLLM(max_tokens=4)
Settings.embed_model = MockEmbedding(embed_dim=DIM)
Settings.tokenizer = str.split

EXPERTS = ["bm25", "dense", "hybrid"]


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


class Expert(BaseRetriever):
    def __init__(self, name):
        super().__init__()
        self.nodes = [TextNode(text=f"passage {i} from {name}", id_=f"{name}-{i}") for i in range(10)]

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        return [NodeWithScore(node=n, score=1.0 / (i + 1)) for i, n in enumerate(self.nodes[:5])]


class PilotRouterFusion(BaseRetriever):
    def __init__(self):
        super().__init__()
        self.experts = {name: Expert(name) for name in EXPERTS}
        self.pilots = {}
        for i, name in enumerate(EXPERTS):
            p = [1.0] * DIM
            p[i] = 2.0
            self.pilots[name] = [unit(p)]

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        q = unit(Settings.embed_model.get_query_embedding(query_bundle.query_str))
        scored = sorted(
            ((sum(sum(a * b for a, b in zip(q, p)) for p in ps) / len(ps), n) for n, ps in self.pilots.items()),
            reverse=True,
        )[:2]
        total = sum(max(s, 1e-6) for s, _ in scored)
        fused, nodes = {}, {}
        for s, name in scored:
            for rank, nws in enumerate(self.experts[name].retrieve(query_bundle), 1):
                key = nws.node.node_id
                fused[key] = fused.get(key, 0.0) + (max(s, 1e-6) / total) / (60.0 + rank)
                nodes.setdefault(key, nws.node)
        top = sorted(fused, key=fused.get, reverse=True)[:5]
        return [NodeWithScore(node=nodes[k], score=fused[k]) for k in top]


class PassThrough(BaseNodePostprocessor):
    def _postprocess_nodes(self, nodes, query_bundle=None):
        return nodes


engine = TransformQueryEngine(
    RetrieverQueryEngine.from_args(
        PilotRouterFusion(), node_postprocessors=[PassThrough(), LongContextReorder()]
    ),
    query_transform=HyDEQueryTransform(include_original=True),
)


def main():
    first = engine.query(QUERY)
    assert len(first.source_nodes) == 5, first.source_nodes
    print(f"{median_us(engine.query):.1f}")


if __name__ == "__main__":
    main()
