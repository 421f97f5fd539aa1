"""HTTP JSON API over the catalog's read path (Starlette, served by uvicorn)."""
