#!/usr/bin/env python3
"""Retrieval-augmented generation over a folder of text files with two swift-vllm servers and LangChain's OpenAI
classes: `OpenAIEmbeddings` on the embedding server (/v1/embeddings), `ChatOpenAI` on the chat server.

    vllm serve ~/.cache/swift-vllm/models/all-MiniLM-L6-v2 --port 8001 --served-model-name minilm &
    vllm serve --port 8000 --served-model-name smollm2 &
    pip install langchain-openai
    python3 examples/rag/rag.py --question "How does PagedAttention store the KV cache?"

Every text file of --docs is cut into paragraphs and embedded once; the question is embedded, the --top-k nearest
paragraphs by cosine similarity are retrieved and handed to the chat model, which answers citing them as [file].
Prints the answer, the sources with their scores, and the time each stage took (--json: one JSON object instead).
"""
import argparse, json, math, os, time

from langchain_openai import ChatOpenAI, OpenAIEmbeddings


def chunks(folder):
    """(file name, paragraph) for every non-empty paragraph of every .txt file, in name order."""
    out = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".txt"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for paragraph in f.read().split("\n\n"):
                    if paragraph.strip():
                        out.append((name, " ".join(paragraph.split())))
    return out


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--question", required=True)
    parser.add_argument("--docs", default=os.path.join(here, "docs"))
    parser.add_argument("--embed-url", default="http://127.0.0.1:8001/v1")
    parser.add_argument("--embed-model", default="minilm")
    parser.add_argument("--chat-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--chat-model", default="smollm2")
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # check_embedding_ctx_length=False: send the texts themselves (LangChain would otherwise send tiktoken ids of an
    # OpenAI tokenizer, meaningless to another model).
    embeddings = OpenAIEmbeddings(model=args.embed_model, base_url=args.embed_url, api_key="none",
                                  check_embedding_ctx_length=False)
    chat = ChatOpenAI(model=args.chat_model, base_url=args.chat_url, api_key="none", temperature=0, max_tokens=args.max_tokens)

    timings = {}
    start = time.perf_counter()
    passages = chunks(args.docs)
    vectors = embeddings.embed_documents([text for _, text in passages])
    timings["embed_documents_s"] = time.perf_counter() - start

    t = time.perf_counter()
    query = embeddings.embed_query(args.question)
    ranked = sorted(((cosine(query, v), i) for i, v in enumerate(vectors)), reverse=True)[:args.top_k]
    timings["embed_query_and_retrieve_s"] = time.perf_counter() - t
    sources = [{"file": passages[i][0], "score": score, "text": passages[i][1]} for score, i in ranked]

    t = time.perf_counter()
    context = "\n\n".join(f"[{s['file']}] {s['text']}" for s in sources)
    answer = chat.invoke([
        ("system", "Answer the question from the sources below only, in two sentences at most, and cite the sources "
                   "you use by their name in brackets, e.g. [file.txt].\n\n" + context),
        ("user", args.question),
    ]).content
    timings["chat_s"] = time.perf_counter() - t
    timings["question_to_answer_s"] = time.perf_counter() - start - timings["embed_documents_s"]

    if args.json:
        print(json.dumps({"answer": answer, "sources": sources, "timings": timings}))
        return
    print(answer.strip())
    print()
    for s in sources:
        print(f"  [{s['file']}] cosine {s['score']:.3f}")
    print(" ".join(f"{k} {v:.3f}" for k, v in timings.items()))


if __name__ == "__main__":
    main()
