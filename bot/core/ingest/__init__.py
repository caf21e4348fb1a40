"""Files, uploads and web pages -> articles -> passages."""
