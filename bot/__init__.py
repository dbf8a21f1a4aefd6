"""csto-bot: answers questions about the CSTO and Eurasian security with cited quotations."""

__version__ = "0.1.0"
