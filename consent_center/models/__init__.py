"""The data model, one module per aggregate."""
from consent_center.models.account import Account
from consent_center.models.api_client import ApiClient
from consent_center.models.channel import Channel
from consent_center.models.consent import CanonicalJsonSince, ConsentEvent, ConsentState
from consent_center.models.expiry_reminder import ExpiryReminder
from consent_center.models.inbound import InboundHook, InboundMessage
from consent_center.models.data_request import DataRequest, SuppressedAddress
from consent_center.models.outbox import OutboxMessage
from consent_center.models.policy import PolicyText, PolicyVersion
from consent_center.models.receipt import Receipt
from consent_center.models.repermission import RepermissionRequest
from consent_center.models.signup import NewsletterSignup
from consent_center.models.staff_action import StaffAction
from consent_center.models.subject import Subject
from consent_center.models.suppression_list import SuppressionEntry, SuppressionList, UndeliverableAddress
from consent_center.models.unsubscribe_reason import UnsubscribeReason
from consent_center.models.transparency_log import LogCheckpoint, LogLeaf, LogNode, LogState
from consent_center.models.verification import VerificationRun
from consent_center.models.webhook import WebhookEndpoint
from consent_center.models.vocabulary import ActorType, Basis, EventType, Role, Scope, Source, Status

__all__ = [
    "Account", "ActorType", "ApiClient", "Basis", "CanonicalJsonSince", "Channel", "ConsentEvent", "ConsentState",
    "DataRequest", "EventType", "ExpiryReminder", "InboundHook", "InboundMessage", "LogCheckpoint", "LogLeaf", "LogNode", "LogState", "NewsletterSignup", "OutboxMessage", "PolicyText", "PolicyVersion",
    "Receipt", "RepermissionRequest", "Role", "Scope", "Source", "StaffAction", "Status", "Subject", "SuppressedAddress", "SuppressionEntry",
    "SuppressionList", "UndeliverableAddress", "UnsubscribeReason", "VerificationRun",
    "WebhookEndpoint",
]
