"""The local store of questions and outcomes, and the curator's report on it."""
