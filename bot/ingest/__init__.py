"""`csto-bot ingest`: turn a PDF, HTML, DOCX, Markdown or plain-text file into a knowledge document.

The parsers (pypdfium2, trafilatura, python-docx, charset-normalizer, optionally pypdf) are the
optional `ingest` extra and are imported only when a file of their kind is read.
"""
