"""Inference service (``june serve inference``): the LLM with memory, documents, tools."""
