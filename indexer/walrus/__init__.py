"""Walrus enrichment: fetch, keep and parse the off-chain payloads settlements point to."""
