"""Lead Partner Pipeline: the web service."""
