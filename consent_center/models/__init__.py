"""The data model, one module per aggregate."""
from .account import Account
from .api_client import ApiClient
from .channel import Channel
from .consent import ConsentEvent, ConsentState
from .outbox import OutboxMessage
from .policy import PolicyText, PolicyVersion
from .receipt import Receipt
from .signup import NewsletterSignup
from .subject import Subject
from .verification import VerificationRun
from .webhook import WebhookEndpoint
from .vocabulary import ActorType, Basis, EventType, Role, Scope, Source, Status

__all__ = [
    "Account", "ActorType", "ApiClient", "Basis", "Channel", "ConsentEvent", "ConsentState", "EventType",
    "NewsletterSignup", "OutboxMessage", "PolicyText", "PolicyVersion", "Receipt", "Role", "Scope", "Source",
    "Status", "Subject", "VerificationRun", "WebhookEndpoint",
]
