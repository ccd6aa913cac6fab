"""Analysis of one model's features: regions, coverage, flags, importance, similarity, queues."""
