"""og-indexer: index OpenGradient inference, verification and payment activity into Postgres."""
