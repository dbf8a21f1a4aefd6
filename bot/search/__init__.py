"""Search: text analysis, aliases, the BM25 engine and the retriever over a knowledge base."""
