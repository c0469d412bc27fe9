"""Keys of what the constructs write into the cloud assembly for the tools to read (the one contract between them)."""

CONSTRUCT_CLASS_METADATA = "emr-platform:construct-class"
"""Type of the construct metadata entry that names a construct's class: ``tree.json`` names a construct class
written in Python ``constructs.Construct``; the diagram prefers this name (``DataLakeStorage``)."""
