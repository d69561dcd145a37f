"""The cogs: each a feature, thin; the decisions are in the modules of `bot` and the digit core."""
