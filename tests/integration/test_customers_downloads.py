"""Attachment download and list export (CSV, XLSX) over the real broker, RPC and HTTP:
the customer's access rule holds for both, contacts stay masked where the list masks
them, and an export walks its keyset batches to the end."""
import base64
import csv
import io
import uuid
from urllib.parse import quote

import pytest
import requests

from services.common.auth import mint_token
from services.common.errors import NotFound, ValidationError
from services.customers.gateway import CustomersGateway
from services.customers.service import CustomersService
from tests.support import data
from tests.support.fixtures import actor

pytestmark = pytest.mark.integration
A, B, M = actor("dl-a"), actor("dl-b"), actor("dl-m", "manager", "management")
# a minimal PDF and JPEG, as the policy allows (.pdf/.jpg), with bytes no text codec keeps
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture(scope="module")
def base(module_services):
    from tests.support.fixtures import free_port
    port = free_port()
    module_services(CustomersService)
    module_services(CustomersGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    return f"http://127.0.0.1:{port}"


def bearer(config, who):
    token = mint_token(config, who["id"], who["roles"][0], who["department"])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def story(base, module_services, config):
    """A's customer with a PDF (Chinese file name) and a JPG; B's customer."""
    from services.common.cli.rpc_client import cluster
    tag = f"dl-{uuid.uuid4().hex[:8]}"
    with cluster(config, A) as p:
        a = p.customers.create_customer(data.customer(tags=[tag]))
        pdf = p.customers.add_attachment(a["id"], "营业执照 scan.pdf",
                                         base64.b64encode(PDF).decode())
        jpg = p.customers.add_attachment(a["id"], "photo.jpg", base64.b64encode(JPG).decode())
    with cluster(config, B) as p:
        b = p.customers.create_customer(data.customer(tags=[tag]))
        b_pdf = p.customers.add_attachment(b["id"], "b.pdf", base64.b64encode(PDF).decode())
    return {"tag": tag, "a": a, "pdf": pdf, "jpg": jpg, "b": b, "b_pdf": b_pdf}


def test_rpc_get_attachment_returns_the_uploaded_bytes(rpc, story):
    with rpc(A) as p:
        got = p.customers.get_attachment(story["a"]["id"], story["pdf"]["id"])
        jpg = p.customers.get_attachment(story["a"]["id"], story["jpg"]["id"])
    assert got == {"filename": "营业执照 scan.pdf", "content_type": "application/pdf",
                   "content_b64": base64.b64encode(PDF).decode()}
    assert base64.b64decode(jpg["content_b64"]) == JPG and jpg["content_type"] == "image/jpeg"


def test_rpc_manager_may_download_staff_b_may_not(rpc, story):
    with rpc(M) as p:
        assert p.customers.get_attachment(story["a"]["id"], story["pdf"]["id"])["filename"]
    with rpc(B) as p:
        with pytest.raises(NotFound):
            p.customers.get_attachment(story["a"]["id"], story["pdf"]["id"])
        # A's attachment id under B's own customer is not found either
        with pytest.raises(NotFound):
            p.customers.get_attachment(story["b"]["id"], story["pdf"]["id"])
        for bad in ("x", None, 0, -1):
            with pytest.raises(NotFound):
                p.customers.get_attachment(story["b"]["id"], bad)
        with pytest.raises(ValidationError) as err:  # the bus refuses ids past BIGINT
            p.customers.get_attachment(story["b"]["id"], 2 ** 70)
        assert "attachment_id" in err.value.fields


def test_http_download_headers_and_body(base, config, story):
    r = requests.get(f"{base}/customers/{story['a']['id']}/attachments/{story['pdf']['id']}",
                     headers=bearer(config, A), timeout=10)
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment; filename=\"")
    # RFC 5987: the UTF-8 name percent-encoded (营 = E8 90 A5)
    assert "filename*=UTF-8''%E8%90%A5" in cd and cd.endswith(quote("营业执照 scan.pdf", safe=""))
    r = requests.get(f"{base}/customers/{story['a']['id']}/attachments/{story['jpg']['id']}",
                     headers=bearer(config, A), timeout=10)
    assert r.content == JPG and r.headers["Content-Type"] == "image/jpeg"


def test_http_staff_b_cannot_download_as(base, config, story):
    for cid, aid in ((story["a"]["id"], story["pdf"]["id"]),
                     (story["b"]["id"], story["pdf"]["id"]),
                     (story["a"]["id"], 999999999)):
        r = requests.get(f"{base}/customers/{cid}/attachments/{aid}",
                         headers=bearer(config, B), timeout=10)
        assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"
        assert PDF not in r.content


def test_export_rpc_walks_every_batch_in_id_order(rpc, story):
    with rpc(A) as p:
        more = [p.customers.create_customer(data.customer(tags=[story["tag"]]))["id"]
                for _ in range(4)]
        seen, cursor = [], None
        while True:
            batch = p.customers.export_customers({"tags_all": [story["tag"]]}, cursor=cursor,
                                                 limit=2)
            seen += [c["id"] for c in batch["items"]]
            cursor = batch["next_cursor"]
            if cursor is None:
                break
    assert seen == sorted([story["a"]["id"], *more])  # not B's


@pytest.mark.parametrize("kwargs,field", [({"cursor": "abc"}, "cursor"),
                                          ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                                          ({"limit": "5"}, "limit")])
def test_export_rpc_refuses_bad_paging(rpc, kwargs, field):
    with rpc(A) as p, pytest.raises(ValidationError) as err:
        p.customers.export_customers({}, **kwargs)
    assert field in err.value.fields


def _csv(r):
    assert r.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_export_csv_staff_sees_own_with_contacts(base, config, story):
    r = requests.get(f"{base}/customers/export.csv", params={"tags_all": story["tag"]},
                     headers=bearer(config, A), timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    rows = _csv(r)
    assert story["b"]["uscc"] not in r.text
    mine = {row["uscc"]: row for row in rows}
    a = mine[story["a"]["uscc"]]
    assert a["contact_mobile"] == story["a"]["contacts"][0]["mobile"]
    assert a["tags"] == story["tag"] and a["name"] == story["a"]["name"]


def test_export_csv_manager_sees_all_masked(base, config, story):
    r = requests.get(f"{base}/customers/export.csv", params={"tags_all": story["tag"]},
                     headers=bearer(config, M), timeout=30)
    rows = {row["uscc"]: row for row in _csv(r)}
    for who in ("a", "b"):
        mobile = story[who]["contacts"][0]["mobile"]
        assert rows[story[who]["uscc"]]["contact_mobile"] == f"{mobile[:3]}****{mobile[-4:]}"
        assert mobile not in r.text
        assert "wang@example.cn" not in r.text


def test_export_xlsx_is_a_workbook_of_the_same_rows(base, config, story):
    from openpyxl import load_workbook
    r = requests.get(f"{base}/customers/export.xlsx", params={"tags_all": story["tag"]},
                     headers=bearer(config, B), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == ("application/vnd.openxmlformats-officedocument"
                                         ".spreadsheetml.sheet")
    assert r.content[:2] == b"PK"  # a zip container
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    assert header[:3] == ("name", "uscc", "industry_code")
    usccs = [v[header.index("uscc")] for v in values[1:]]
    assert usccs == [story["b"]["uscc"]]


def test_export_neutralises_formulas(base, config, rpc):
    tag = f"dl-f-{uuid.uuid4().hex[:6]}"
    with rpc(A) as p:
        p.customers.create_customer(data.customer(tags=[tag], needs="=HYPERLINK(\"x\")"))
    r = requests.get(f"{base}/customers/export.csv", params={"tags_all": tag},
                     headers=bearer(config, A), timeout=30)
    assert _csv(r)[0]["needs"] == "'=HYPERLINK(\"x\")"


def test_export_bad_filter_is_a_422_and_needs_a_token(base, config):
    r = requests.get(f"{base}/customers/export.csv", params={"type": "nonsense"},
                     headers=bearer(config, A), timeout=10)
    assert r.status_code == 422 and "type" in r.json()["fields"]
    assert requests.get(f"{base}/customers/export.xlsx", timeout=10).status_code == 401


def test_openapi_documents_downloads(base):
    paths = requests.get(f"{base}/openapi.json", timeout=10).json()["paths"]
    assert "text/csv" in paths["/customers/export.csv"]["get"]["responses"]["200"]["content"]
    dl = paths["/customers/{customer_id}/attachments/{attachment_id}"]["get"]
    assert "application/octet-stream" in dl["responses"]["200"]["content"]


def test_http_exports_stream_every_batch(base, config, rpc, monkeypatch):
    """Batches after the first are fetched while the response streams (after the
    gateway's worker has returned): all of them arrive, in id order."""
    from services.customers import export
    tag = f"dl-b-{uuid.uuid4().hex[:6]}"
    with rpc(A) as p:
        ids = [p.customers.create_customer(data.customer(tags=[tag]))["id"] for _ in range(5)]
    monkeypatch.setattr(export, "BATCH", 2)
    r = requests.get(f"{base}/customers/export.csv", params={"tags_all": tag},
                     headers=bearer(config, A), timeout=30)
    assert [int(row["id"]) for row in _csv(r)] == ids
    from openpyxl import load_workbook
    r = requests.get(f"{base}/customers/export.xlsx", params={"tags_all": tag},
                     headers=bearer(config, A), timeout=30)
    rows = list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(
        values_only=True))
    assert [row[rows[0].index("id")] for row in rows[1:]] == ids
