"""Signals the write paths send, so side effects hang off them, not off views."""
from blinker import Namespace

_signals = Namespace()

# Sent by ledger.record_change inside the writing transaction, after the
# flush, with session=, subject=, receipt=, events=. Receivers may add rows
# to the same session (an outbox message) and must not commit.
consent_recorded = _signals.signal("consent-recorded")

# Sent by ledger.bulk.record_many once for each chunk it writes, with session=,
# recorded= (a list of (subject, receipt, events), one for each submission
# that changed something): what consent_recorded would hear one by one.
consents_recorded = _signals.signal("consents-recorded")

# Sent by ledger.checkpoints.make_checkpoint inside the signing transaction,
# after the flush, with session=, checkpoint= (the LogCheckpoint), verifier_key=
# (its C2SP verifier key): receivers copy it to witnesses through the outbox.
checkpoint_signed = _signals.signal("checkpoint-signed")
