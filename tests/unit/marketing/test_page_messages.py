"""Marketing's English field messages shown in the page's language (kit's
translate_fields + marketing's own patterns; Chinese written here)."""
from services.common.web.i18n import translator
from services.marketing import page_messages as mk


class _Ctx:
    def __init__(self, lang):
        self.lang, self.t = lang, translator(lang, "marketing")


def test_zh_cn_messages_and_english_left_alone():
    fields_ = {"ends_at": ["must be after starts_at"],
               "location": ["an offline campaign needs a location"],
               "budget": ["at most 2 decimal places"],
               "theme": ["Missing data for required field."],
               "format": ["Must be one of: online, offline."],
               "starts_at": ["Not a valid datetime."],
               "contact": {"mobile": ["mobile must be 11 digits starting with 1"]},
               "other": ["something new"]}
    got = mk.errors(_Ctx("zh_CN"), fields_)
    assert got == {"ends_at": ["结束时间须晚于开始时间"], "location": ["线下活动须填写地点"],
                   "budget": ["金额最多两位小数"], "theme": ["此项为必填项。"],
                   "format": ["请从列表中选择。"], "starts_at": ["日期时间格式不正确。"],
                   "contact": {"mobile": ["手机号应为 11 位大陆手机号"]},
                   "other": ["something new"]}
    assert mk.errors(_Ctx("en"), fields_) == fields_
