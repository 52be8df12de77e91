"""The data model, one module per aggregate."""
from .account import Account
from .api_client import ApiClient
from .channel import Channel
from .consent import CanonicalJsonSince, ConsentEvent, ConsentState
from .expiry_reminder import ExpiryReminder
from .data_request import DataRequest, SuppressedAddress
from .outbox import OutboxMessage
from .policy import PolicyText, PolicyVersion
from .receipt import Receipt
from .signup import NewsletterSignup
from .staff_action import StaffAction
from .subject import Subject
from .verification import VerificationRun
from .webhook import WebhookEndpoint
from .vocabulary import ActorType, Basis, EventType, Role, Scope, Source, Status

__all__ = [
    "Account", "ActorType", "ApiClient", "Basis", "CanonicalJsonSince", "Channel", "ConsentEvent", "ConsentState",
    "DataRequest", "EventType", "ExpiryReminder", "NewsletterSignup", "OutboxMessage", "PolicyText", "PolicyVersion",
    "Receipt", "Role", "Scope", "Source", "StaffAction", "Status", "Subject", "SuppressedAddress", "VerificationRun",
    "WebhookEndpoint",
]
