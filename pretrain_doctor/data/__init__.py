"""`pretrain-doctor data`: the data pitfalls (PDD codes of rules.md) found on a local corpus.

Never imports torch or transformers. Documents stream through checks that are accumulators:
each holds only a bounded summary, and two of them built on different shards merge into the
summary of both, so the same checks run locally, on a sample, or as a map/reduce over shards.
"""
