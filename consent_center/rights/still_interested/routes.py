"""GET shows the question and changes nothing (mail scanners fetch every link); POST is the yes."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from consent_center.extensions import db
from consent_center.ledger import ErasedSubject, current_states
from consent_center.models.vocabulary import Status
from consent_center.rights import repermission
from consent_center.rights.still_interested import bp
from consent_center.tokens import TokenError
from consent_center.web.errors import link_invalid
from consent_center.web.forms import Form
from consent_center.web.receipt_note import receipt_sentence
from consent_center.web.trace import request_trace


class YesForm(Form):
    pass


@bp.route("/still-interested/<token>", methods=["GET", "POST"])
def question(token: str):
    try:
        asked = repermission.question_of(db.session, token)
    except TokenError:
        return link_invalid(url_for("public.manage"), _("Receive a link to your preferences by e-mail"))
    form = YesForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("web/error.html", code=400, reason="csrf"), 400
        try:
            answer = repermission.answer_yes(db.session, asked, trace=request_trace(request))
        except (repermission.QuestionClosed, ErasedSubject):  # erased by a run at the deadline, meanwhile
            return render_template("rights/still_interested.html", asked=asked, closed=True), 410
        receipt = answer.recorded.receipt if answer.recorded else None
        note = receipt_sentence(receipt.public_id, None) if receipt else None
        return render_template("rights/still_interested_yes.html", already=answer.already, receipt_note=note)
    if asked.outcome == "renewed":
        return render_template("rights/still_interested_yes.html", already=True, receipt_note=None)
    closed = not repermission.still_open(asked)
    channels = [state.channel for state in current_states(db.session, asked.subject).values()
                if state.status == Status.GRANTED]
    return render_template("rights/still_interested.html", asked=asked, form=form, closed=closed,
                           channels=sorted(channels, key=lambda c: (c.position, c.code)))
