"""The knowledge model (`model`) and its loading and validation (`load`), beneath search and answers."""
