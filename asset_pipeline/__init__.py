"""asset_pipeline: discover data assets per connector, dedup against the catalog, bulk-load the difference."""
