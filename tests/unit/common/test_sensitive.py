import datetime as dt

import pytest
from stdnum import luhn
from stdnum.cn import ric

from services.common.errors import ValidationError
from services.common.schemas import load
from services.customers.schemas import CustomerInSchema


def make_ric(area="110105", born="19491231", seq="002"):
    body = area + born + seq
    return body + ric.calc_check_digit(body)


def make_card(prefix="622202020011223"):
    body = prefix + "344"
    return body + luhn.calc_check_digit(body)


def test_resident_id_found_anywhere():
    from services.common.sensitive import scan_text
    assert scan_text(f"客户身份证 {make_ric()} 请核对") == "resident_id"
    assert scan_text(make_ric().lower()) in ("resident_id", None)


def test_unknown_birthplace_code_still_caught():
    # 990000 is no district stdnum knows; checksum + date are enough.
    from services.common.sensitive import scan_text
    assert scan_text(make_ric(area="990000")) == "resident_id"


def test_checksum_or_date_wrong_is_not_an_id():
    from services.common.sensitive import scan_text
    good = make_ric()
    # a wrong check character that does not happen to be a Luhn-valid card number
    bad_check = next(good[:-1] + d for d in "0123456789"
                     if d != good[-1] and not luhn.is_valid(good[:-1] + d))
    assert scan_text(bad_check) is None
    for born in ("19491332", (dt.date.today() + dt.timedelta(days=400)).strftime("%Y%m%d")):
        body = next("110105" + born + f"{n:03d}" for n in range(1000)
                    if not luhn.is_valid("110105" + born + f"{n:03d}"
                                         + ric.calc_check_digit("110105" + born + f"{n:03d}")))
        assert scan_text(body + ric.calc_check_digit(body)) is None


@pytest.mark.parametrize("sep", ["", " ", "-"])
def test_bank_card_found(sep):
    from services.common.sensitive import scan_text
    card = make_card()
    grouped = sep.join(card[i:i + 4] for i in range(0, len(card), 4))
    assert scan_text(f"卡号{grouped}") == "bank_card"


def test_luhn_invalid_number_passes():
    from services.common.sensitive import scan_text
    card = make_card()
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert scan_text(wrong) is None


def _customer(**over):
    data = {"name": "上海某某机械有限公司", "uscc": "91110000600037341L", "industry_code": "C35",
            "type": "potential",
            "contacts": [{"name": "张三", "title": "经理", "mobile": "13800138000"}]}
    data.update(over)
    return data


@pytest.mark.parametrize("field", ["name", "needs", "region", "source_channel"])
def test_every_text_field_is_scanned(field):
    with pytest.raises(ValidationError) as exc:
        load(CustomerInSchema(), _customer(**{field: f"备注 {make_ric()}"}))
    assert exc.value.code == "SENSITIVE_DATA"
    assert field in exc.value.fields


def test_nested_contact_fields_and_tags_are_scanned():
    data = _customer(tags=[make_card()])
    data["contacts"][0]["title"] = make_ric()
    with pytest.raises(ValidationError) as exc:
        load(CustomerInSchema(), data)
    assert set(exc.value.fields) == {"tags.0", "contacts.0.title"}


def test_uuids_and_hashes_are_not_cards():
    import uuid

    from services.common.sensitive import scan_text
    # digit-heavy UUIDs: the dashed groups must not read as a grouped card number
    for _ in range(2000):
        assert scan_text(str(uuid.uuid4())) is None
    assert scan_text("12345678-1234-1234-1234-123456789012") is None
