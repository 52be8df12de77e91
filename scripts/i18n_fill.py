"""Fill .po catalogs from a dict of translations; keep existing ones."""
import json, sys
from babel.messages.pofile import read_po, write_po
from babel.messages.catalog import Catalog

pot_path, po_dir, table_path = sys.argv[1:4]
table = json.loads(open(table_path).read() or "{}")
import os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from consent_center.web.typography import french_spacing  # noqa: E402
for locale in ("fr", "nl", "en"):
    # Read afresh for each locale: Catalog.update shares the template's messages.
    with open(pot_path, "rb") as f:
        template = read_po(f)
    path = os.path.join(po_dir, locale, "LC_MESSAGES", "messages.po")
    if os.path.exists(path):
        with open(path, "rb") as f:
            catalog = read_po(f, locale=locale)
        catalog.update(template, no_fuzzy_matching=True)
    else:
        catalog = Catalog(locale=locale, project="consent-center")
        catalog.update(template, no_fuzzy_matching=True)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        mid = message.id if isinstance(message.id, str) else message.id[0]
        if locale == "en":
            message.string = message.id if isinstance(message.id, str) else tuple(message.id)
        elif not message.string or message.fuzzy:
            tr = table.get(mid, {}).get(locale)
            if tr:
                message.string = tr
                message.flags.discard("fuzzy")
            else:
                missing.append(mid)
        if locale == "fr" and message.string:
            # The no-break spaces of French typography (consent_center/web/typography.py).
            message.string = (french_spacing(message.string) if isinstance(message.string, str)
                              else tuple(french_spacing(s) for s in message.string))
    catalog.fuzzy = False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True)
    for m in missing:
        print(locale, "MISSING:", repr(m))
