"""The unsubscribe links' questions and answers (RFC 8058 headers), for /api/v1/…/unsubscribe-link(s)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from consent_center.api.fields import Query, Strict, StringList, Text
from consent_center.api.schemas import MAX_ID

class LinkQuerySchema(Query):
    channel = Text(required=True, validate=validate.Length(min=1, max=40))


class ListUnsubscribeSchema(Schema):
    list_unsubscribe = Text(dump_only=True, required=True, data_key="List-Unsubscribe")
    list_unsubscribe_post = Text(dump_only=True, required=True, data_key="List-Unsubscribe-Post")


class UnsubscribeLinkSchema(Schema):
    subject = Text(dump_only=True, required=True)
    channel = Text(dump_only=True, required=True)
    url = Text(dump_only=True, required=True)
    headers = fields.Nested(ListUnsubscribeSchema, dump_only=True, required=True)


class BulkLinksSchema(Strict):
    channel = Text(required=True, load_only=True, validate=validate.Length(min=1, max=40))
    subjects = StringList(required=True, load_only=True, max_length=MAX_ID)


class BulkLinkSchema(Schema):
    subject = Text(dump_only=True, required=True)
    url = Text(dump_only=True, allow_none=True, required=True,
                        metadata={"description": "null for an unknown subject"})
    headers = fields.Nested(ListUnsubscribeSchema, dump_only=True, allow_none=True, required=True)


class BulkLinksResultSchema(Schema):
    channel = Text(dump_only=True, required=True)
    links = fields.List(fields.Nested(BulkLinkSchema), dump_only=True, required=True)


link_query = LinkQuerySchema()
unsubscribe_link = UnsubscribeLinkSchema()
bulk_links = BulkLinksSchema()
bulk_links_result = BulkLinksResultSchema()
