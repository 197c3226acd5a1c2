"""Ingestion: read an event's sources, find their structure, chunk them and build a knowledge base."""
