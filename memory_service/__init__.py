"""memory-service: persistent, consolidated memory for LLM agents."""

__version__ = "0.1.0"
