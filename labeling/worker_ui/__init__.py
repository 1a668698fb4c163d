"""The worker labeling UI: HTML routes over the same domain functions as the API."""
