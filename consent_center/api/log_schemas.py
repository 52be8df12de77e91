"""The transparency log's questions and answers (RFC 9162 proofs, signed checkpoints), for /api/v1/log/…."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from consent_center.api.fields import Query, Text
from consent_center.db import BIGINT_MAX


class TreeSize(fields.Integer):
    """A tree size or leaf count: ASCII digits only (``int`` would read "١٠" or "1_0"), at least 1."""

    def __init__(self, **kwargs) -> None:
        super().__init__(validate=validate.Range(min=1, max=BIGINT_MAX), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19):
            raise ValidationError("Not a tree size: ASCII digits.")
        return super()._deserialize(value, attr, data, **kwargs)


class InclusionQuerySchema(Query):
    event = Text(required=True, validate=validate.Length(min=1, max=36), metadata={"description": "an event's id"})
    size = TreeSize(metadata={"description": "the tree size to prove against; the latest checkpoint's by default"})


class ConsistencyQuerySchema(Query):
    first = TreeSize(required=True, data_key="from", metadata={"description": "the older tree size"})
    second = TreeSize(required=True, data_key="to", metadata={"description": "the newer tree size"})


B64 = "base64 of a SHA-256 hash (RFC 9162 §2.1)"


class InclusionProofSchema(Schema):
    """RFC 9162 §4.12 InclusionProofDataV2, with the leaf and the root it leads to."""

    log_id = Text(dump_only=True, required=True, metadata={"description": "the log's origin"})
    event = Text(dump_only=True, required=True)
    event_hash = Text(dump_only=True, required=True, metadata={"description": "the leaf: the event's hash (hex)"})
    leaf_index = fields.Integer(dump_only=True, required=True)
    tree_size = fields.Integer(dump_only=True, required=True)
    leaf_hash = Text(dump_only=True, required=True, metadata={"description": "HASH(0x00 || leaf), " + B64})
    inclusion_path = fields.List(Text(), dump_only=True, required=True, metadata={"description": B64 + ", each"})
    root_hash = Text(dump_only=True, required=True, metadata={"description": B64})
    checkpoint = Text(dump_only=True, allow_none=True, required=True,
                      metadata={"description": "the signed checkpoint of this size; null if none was signed"})


class ConsistencyProofSchema(Schema):
    """RFC 9162 §4.13 ConsistencyProofDataV2, with both roots and their signed checkpoints."""

    log_id = Text(dump_only=True, required=True)
    tree_size_1 = fields.Integer(dump_only=True, required=True)
    tree_size_2 = fields.Integer(dump_only=True, required=True)
    consistency_path = fields.List(Text(), dump_only=True, required=True, metadata={"description": B64 + ", each"})
    root_hash_1 = Text(dump_only=True, required=True, metadata={"description": B64})
    root_hash_2 = Text(dump_only=True, required=True, metadata={"description": B64})
    checkpoint_1 = Text(dump_only=True, allow_none=True, required=True)
    checkpoint_2 = Text(dump_only=True, allow_none=True, required=True)


class CheckpointSchema(Schema):
    tree_size = fields.Integer(dump_only=True, required=True)
    root_hash = Text(dump_only=True, required=True, metadata={"description": B64})
    created_at = Text(dump_only=True, required=True)
    note = Text(dump_only=True, required=True, metadata={"description": "the C2SP signed note"})


class CheckpointListSchema(Schema):
    checkpoints = fields.List(fields.Nested(CheckpointSchema), dump_only=True, required=True)
    verifier_keys = fields.List(Text(), dump_only=True, required=True,
                                metadata={"description": "C2SP verifier keys, the active one first"})


inclusion_query = InclusionQuerySchema()
consistency_query = ConsistencyQuerySchema()
inclusion_proof = InclusionProofSchema()
consistency_proof = ConsistencyProofSchema()
checkpoint_list = CheckpointListSchema()
