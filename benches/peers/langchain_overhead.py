"""The no-op pipeline of ragweave's `pipeline_overhead` bench, in LangChain (LCEL).

Same stages, each returning at once: think (a fake chat model writes one thought, a fixed
embedding), a pilot router over 3 experts picking the top 2 by mean cosine, the two experts
(10 fixed documents each), weighted RRF, a pass-through rerank, long-context reorder of the top
5, a chat prompt, a fake chat model's answer. Prints the median microseconds per query.
"""

import math

from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel

from timing import QUERY, median_us

DIM = 8
EXPERTS = ["bm25", "dense", "hybrid"]
DOCS = {
    name: [Document(page_content=f"passage {i} from {name}", metadata={"id": f"{name}-{i}"}) for i in range(10)]
    for name in EXPERTS
}


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


PILOTS = {}
for i, name in enumerate(EXPERTS):
    p = [1.0] * DIM
    p[i] = 2.0
    PILOTS[name] = [unit(p)]
FIXED = unit([1.0] * DIM)

thinker = FakeListChatModel(responses=["a thought"])
answerer = FakeListChatModel(responses=["an answer [1]"])
think_prompt = ChatPromptTemplate.from_messages([("user", "Think about: {query}")])
think = think_prompt | thinker | StrOutputParser()


def embed(_text):
    return list(FIXED)


def route(state):
    q = embed(state["query"])
    scores = []
    for name, pilots in PILOTS.items():
        sims = [sum(a * b for a, b in zip(q, p)) for p in pilots]
        scores.append((sum(sims) / len(sims), name))
    scores.sort(reverse=True)
    top = scores[:2]
    total = sum(max(s, 1e-6) for s, _ in top)
    return {**state, "routes": [(n, max(s, 1e-6) / total) for s, n in top]}


def retrieve(state):
    chosen = RunnableParallel({name: RunnableLambda(lambda _s, n=name: DOCS[n][:5]) for name, _ in state["routes"]})
    return {**state, "lists": chosen.invoke(state)}


def fuse(state, k=60.0):
    scores, docs = {}, {}
    weights = dict(state["routes"])
    for name, hits in state["lists"].items():
        for rank, d in enumerate(hits, 1):
            key = d.metadata["id"]
            scores[key] = scores.get(key, 0.0) + weights[name] / (k + rank)
            docs.setdefault(key, d)
    ranked = sorted(scores, key=scores.get, reverse=True)[:5]
    return {**state, "hits": [docs[i] for i in ranked]}


def rerank(state):
    return state


def reorder(state):
    hits = state["hits"]
    front, back = hits[0::2], hits[1::2]
    return {**state, "arranged": front + back[::-1]}


def to_prompt_vars(state):
    context = "\n\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(state["arranged"], 1))
    return {"context": context, "query": state["query"]}


answer_prompt = ChatPromptTemplate.from_messages(
    [("system", "Answer from the numbered passages."), ("user", "Passages:\n{context}\n\nQuestion: {query}")]
)

chain = (
    RunnableLambda(lambda q: {"query": q})
    | RunnableLambda(lambda s: {**s, "thought": think.invoke({"query": s["query"]})})
    | RunnableLambda(lambda s: {**s, "vector": embed(s["query"] + " " + s["thought"])})
    | RunnableLambda(route)
    | RunnableLambda(retrieve)
    | RunnableLambda(fuse)
    | RunnableLambda(rerank)
    | RunnableLambda(reorder)
    | RunnableLambda(to_prompt_vars)
    | answer_prompt
    | answerer
    | StrOutputParser()
)


def main():
    assert chain.invoke(QUERY) == "an answer [1]"
    print(f"{median_us(chain.invoke):.1f}")


if __name__ == "__main__":
    main()
