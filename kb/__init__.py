"""The knowledge base: read what ingest built, search it, find quotes by person."""
