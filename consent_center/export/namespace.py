"""The namespace document of the export's own JSON-LD terms: ``/ns/consent``.

The JSON-LD export (``events.jsonld_context``) names DPV and Dublin Core
terms where they exist and ``<BASE_URL>/ns/consent#<term>`` for the rest;
this page says what each of those means, to people (HTML, one anchor per
term) and to programs (``Accept: application/ld+json``, or the same
document inside the page). The terms come from the export's context: a new
column without a meaning here fails ``tests/test_namespace.py``.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request

from consent_center.export.events import jsonld_context

bp = Blueprint("namespace", __name__)

JSONLD = "application/ld+json"
# What each term of ours means (English: the vocabulary's language, like DPV's own).
MEANINGS = {
    "event_id": "The consent event's identifier, a UUID; the event's node is urn:uuid:<event_id>.",
    "seq": "The event's position in the person's chain of events, from 1.",
    "channel": "The code of the communication channel the event is about, such as email or sms.",
    "previous_status": "The channel's consent status before the event (granted, withdrawn, refused, never_asked…).",
    "status": "The channel's consent status after the event; dpv_status gives its DPV term.",
    "allowed": "Whether the person may be contacted on the channel in the state the event produced, "
               "at the event's own moment.",
    "event_type": "The kind of change the event records, such as a grant, a withdrawal or a renewal.",
    "basis": "The code of the legal basis the status rests on; legal_basis gives its DPV term.",
    "source": "Where the change came from: the customer's space, an unsubscribe link, an import, staff, the API…",
    "actor_type": "Who made the change: the person, a staff account, an API client or the system.",
    "actor_id": "The identifier of the staff account or API client that made the change, if any.",
    "policy_version": "The label of the privacy policy version in force when the change was made.",
    "policy_text_locale": "The language of the privacy policy text the person was shown.",
    "policy_text_sha256": "The SHA-256 of that privacy policy text, in hexadecimal.",
    "receipt": "The signed consent receipt issued for the change (urn:uuid:<receipt id>).",
    "prev_hash": "The hash of the previous event in the person's chain (empty for the first).",
    "hash": "The SHA-256 of the event in the person's hash chain, over its canonical JSON and prev_hash.",
    "evidence": "What was kept as proof of the change, as JSON: the form, the message or the staff's note.",
    "trace": "How the change reached the service, as JSON: the network address, user agent and time recorded.",
}


def namespace() -> str:
    return current_app.config["BASE_URL"] + "/ns/consent#"


def our_terms() -> list[str]:
    """The terms the export's context puts in our namespace, in its order."""
    terms = []
    for value in jsonld_context().values():
        iri = value.get("@id") if isinstance(value, dict) else value
        if isinstance(iri, str) and iri.startswith("cc:"):
            terms.append(iri.removeprefix("cc:"))
    return list(dict.fromkeys(terms))


def vocabulary() -> dict:
    """The namespace as a JSON-LD document: each term an RDF property with its meaning."""
    ours = namespace()
    return {
        "@context": {"cc": ours, "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
                     "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#"},
        "@graph": [
            {"@id": ours.rstrip("#"), "@type": "owl:Ontology",
             "rdfs:label": {"@value": f"{current_app.config['COMPANY_NAME']}: consent ledger terms", "@language": "en"}},
            *({"@id": f"cc:{term}", "@type": "rdf:Property", "rdfs:label": term,
               "rdfs:isDefinedBy": {"@id": ours.rstrip("#")},
               "rdfs:comment": {"@value": MEANINGS.get(term, ""), "@language": "en"}} for term in our_terms()),
        ],
    }


@bp.get("/ns/consent")
def document():
    best = request.accept_mimetypes.best_match(["text/html", JSONLD, "application/json"], default="text/html")
    if best != "text/html":
        body = json.dumps(vocabulary(), ensure_ascii=False, indent=2) + "\n"
        response = Response(body, content_type=f"{JSONLD}; charset=utf-8")
    else:
        terms = [(term, MEANINGS.get(term, "")) for term in our_terms()]
        response = Response(render_template("export/namespace.html", terms=terms, namespace=namespace(),
                                            document=vocabulary()))
    response.vary.add("Accept")
    return response
