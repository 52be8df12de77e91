"""The public privacy policy: the version in force, every version, their differences."""
from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale

from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.policies.diff import grouped, policy_diff, summary
from consent_center.policies.service import all_versions, find_version, policy_in_force, render_markdown
from consent_center.policies.privacy import bp


def _locale() -> str:
    asked = request.args.get("locale")
    return asked if asked in ("fr", "nl", "en") else str(get_locale())


@bp.get("/privacy")
def current():
    version = policy_in_force(db.session)
    if version is None:
        return render_template("policies/none.html"), 404
    return _show(version)


@bp.get("/privacy/versions/<label>")
def version(label: str):
    found = find_version(db.session, label)
    if found is None:
        abort(404)
    return _show(found)


def _show(version):
    text = version.text(_locale())
    in_force = policy_in_force(db.session)
    return render_template(
        "policies/policy.html", version=version, text=text, body=render_markdown(text.body) if text else "",
        in_force=in_force is not None and in_force.id == version.id, future=version.effective_at > utcnow(),
    )


@bp.get("/privacy/versions")
def versions():
    listed = all_versions(db.session)
    in_force = policy_in_force(db.session)
    return render_template("policies/versions.html", versions=listed, in_force=in_force, now=utcnow())


@bp.get("/privacy/diff")
def diff():
    old, new = find_version(db.session, request.args.get("from", "")), find_version(db.session, request.args.get("to", ""))
    if old is None or new is None:
        abort(404)
    locale = _locale()
    old_text, new_text = old.text(locale), new.text(locale)
    blocks = policy_diff(old_text.body if old_text else "", new_text.body if new_text else "")
    return render_template("policies/diff.html", old=old, new=new, groups=grouped(blocks),
                           counts=summary(blocks), locale=locale,
                           versions=all_versions(db.session))
