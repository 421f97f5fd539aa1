"""The ``s3`` connector kind: buckets, prefixes and objects of AWS S3, MinIO, Ceph and the like.

boto3 is an optional dependency (``pip install asset_pipeline[s3]``); it is imported only when a
config is validated or a scan starts, so the rest of the project works without it.
"""

from asset_pipeline.connectors.s3.config import S3Config
from asset_pipeline.connectors.s3.connector import S3Connector

__all__ = ["S3Config", "S3Connector"]
