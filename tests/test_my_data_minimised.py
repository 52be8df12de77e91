"""The customer's own data export shows their own trace, never staff's or a tool's network and browser."""
import json

from sqlalchemy import select

from consent_center.accounts.staff_changes import record_on_behalf
from consent_center.models import Account, Role, Subject

from .conftest import form_post

CUSTOMER_UA, STAFF_UA, TOOL_UA = "CustomerBrowser/1.0", "StaffBrowser/9.9", "MarketingTool/2.0"
CUSTOMER_IP, TOOL_IP = "192.0.2.10", "203.0.113.5"
STAFF_NETWORK = "198.51.100.0/24"


def test_my_data_keeps_my_own_trace_and_drops_staff_and_tools(app, client, auth, api, session, customer,
                                                              make_account):
    staff = make_account("sam@example.com", role=Role.SUPPORT)
    auth.login("camille@example.com")
    saved = form_post(client, "/space/preferences", {"active": ["email", "post"]},
                      headers={"User-Agent": CUSTOMER_UA}, environ_base={"REMOTE_ADDR": CUSTOMER_IP})
    assert saved.status_code in (200, 302)
    subject = session.scalars(select(Subject).where(Subject.email == "camille@example.com")).one()
    record_on_behalf(session, subject, {"email", "post", "sms"}, staff=session.get(Account, staff.id),
                     method="phone", evidence_text="Called on 2 May", proof=None,
                     trace={"ip_network": STAFF_NETWORK, "user_agent": STAFF_UA, "route": "/admin/people/…"})
    session.commit()
    public_id = subject.public_id
    recorded = api.post(f"/subjects/{public_id}/consents", json={"channel": "newsletter", "status": "granted",
                                                                 "source": "api"},
                        headers={"User-Agent": TOOL_UA}, environ_base={"REMOTE_ADDR": TOOL_IP})
    assert recorded.status_code == 201

    document = client.get("/space/data.json").get_json(force=True)
    by_source = {}
    for event in document["consentEvents"]:
        by_source.setdefault(event["source"], []).append(event)
    assert {"customer_space", "staff", "api"} <= set(by_source)
    mine = by_source["customer_space"][0]["trace"]
    assert mine["user_agent"] == CUSTOMER_UA and mine["ip_network"] == "192.0.2.0/24"
    assert all(e["trace"] is None for e in by_source["staff"] + by_source["api"])
    csv_body = client.get("/space/data.csv").get_data(as_text=True)
    page = client.get("/space/data").get_data(as_text=True)
    for body in (json.dumps(document), csv_body, page):
        for staff_or_tool in (STAFF_UA, STAFF_NETWORK, "198.51.100", TOOL_UA, "203.0.113"):
            assert staff_or_tool not in body
    assert CUSTOMER_UA in csv_body
