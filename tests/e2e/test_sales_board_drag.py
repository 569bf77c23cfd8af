"""Drag-and-drop on the pipeline board (issue 18), for real in headless Chromium: selenium
ActionChains press, move and release a card, which Chromium turns into POINTER events
(the board's static/board.js listens to pointerdown/move/up only, no HTML5 drag and drop).
A legal drop posts the card's own CSRF-protected move form and the service moves the
opportunity (checked over RPC); an illegal drop shows the service's reason and writes
nothing; a drop on the card's own column posts nothing; a touch drag works the same.
Screenshots: var/screenshots/sales-board-drag*.png."""
import uuid

import pytest

from services.customers.service import CustomersService
from services.sales.gateway import SalesGateway
from services.sales.service import SalesService
from tests.support.browser import browser, screenshot, sign_in, wait_for  # noqa: F401
from tests.support.fixtures import actor, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _css(driver, css):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, css)


def _card(driver, opp_id):
    return _css(driver, f"article.board__card[data-opportunity='{opp_id}']")


def _column_of(driver, opp_id):
    return _card(driver, opp_id).find_element("xpath", "ancestor::section").get_attribute(
        "data-stage")


def _drag(driver, opp_id, stage, shot=None):
    """Press on the card's amount (not its link or button), move over the column, let go;
    wait for the new page when something was posted."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.expected_conditions import staleness_of
    card = _card(driver, opp_id)
    grip = card.find_element("css selector", ".num")
    target = _css(driver, f"#col-{stage} h2")
    old = _css(driver, "html")
    chain = ActionChains(driver, duration=50).click_and_hold(grip).move_by_offset(12, 0)
    chain.move_to_element(target).move_by_offset(0, 30).perform()
    if shot:  # mid-drag: the ghost card follows the pointer, the column is highlighted
        assert _css(driver, f"#col-{stage}").get_attribute("class").count("drop-target") == 1
        assert _css(driver, ".board__ghost") is not None
        screenshot(driver, shot, full_page=False)
    ActionChains(driver).release().perform()
    return old, staleness_of


def _drop(driver, opp_id, stage, shot=None):
    old, staleness_of = _drag(driver, opp_id, stage, shot)
    wait_for(driver, staleness_of(old))


def _opportunity(rpc, owner, customer_id, name):
    with rpc(actor(owner)) as p:
        return p.sales.create_opportunity({
            "customer_id": customer_id, "name": name, "amount": "50000.00",
            "expected_close_date": "2030-06-30", "competitors": []})


def test_drag_a_card_with_pointer_events(browser, start_service, config, rpc):  # noqa: F811
    from services.common.cli.demo import demo_customers
    start_service(CustomersService)
    start_service(SalesService)
    port = free_port()
    start_service(SalesGateway, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RPC_TIMEOUT=30)
    base = f"http://127.0.0.1:{port}"
    me = f"dd-{uuid.uuid4().hex[:6]}"
    data = next(demo_customers(1, [me], seed=uuid.uuid4().int % 10 ** 9))
    with rpc(actor(me)) as p:
        customer = p.customers.create_customer(dict(data, type="potential", influence=1))
    opp = _opportunity(rpc, me, customer["id"], "拖拽商机甲")
    other = _opportunity(rpc, me, customer["id"], "拖拽商机乙")

    d = browser
    sign_in(d, base, config, me)
    d.get(f"{base}/app/pipeline")
    assert _column_of(d, opp["id"]) == "qualify"
    # the buttons stay for keyboard and no-JS users
    assert _card(d, opp["id"]).find_element("css selector", "button.next-stage")

    # a legal drop: qualify → propose, posted with the card's CSRF form, done on the server
    _drop(d, opp["id"], "propose", shot="sales-board-drag")
    assert "方案报价" in _css(d, "#flash").text
    with rpc(actor(me)) as p:
        assert p.sales.get_opportunity(opp["id"])["stage"] == "propose"
    assert _column_of(d, opp["id"]) == "propose"
    screenshot(d, "sales-board-dropped")

    # an illegal drop: qualify → negotiate (two steps) is refused with the service's reason
    with rpc(actor(me)) as p:
        before = p.sales.get_opportunity(other["id"])
    _drop(d, other["id"], "negotiate")
    flash = _css(d, "#flash")
    assert "flash--error" in flash.get_attribute("class")
    assert flash.text == ("不能这样移动：不能从“初步接洽 30%”直接移到“商务谈判 90%”，"
                          "每次只能前进或后退一个阶段"), flash.text
    screenshot(d, "sales-board-drag-illegal")
    with rpc(actor(me)) as p:
        after = p.sales.get_opportunity(other["id"])
    assert after["stage"] == "qualify"
    def rows(o):  # the open row's seconds run on: what was written is stage and times
        return [(h["stage"], h["entered_at"], h["left_at"]) for h in o["stage_history"]]
    assert rows(after) == rows(before)
    assert after["updated_at"] == before["updated_at"]
    assert _column_of(d, other["id"]) == "qualify"

    # a drop back on its own column posts nothing (the page stays, no message)
    _drag(d, other["id"], "qualify")
    assert "拖拽商机乙" in _css(d, "#col-qualify").text
    assert not d.find_elements("css selector", ".board__ghost")
    with rpc(actor(me)) as p:
        assert p.sales.get_opportunity(other["id"])["updated_at"] == before["updated_at"]

    # a touch drag (a finger: pointerType touch) moves a card the same way
    _touch_drop(d, opp["id"], "negotiate")
    with rpc(actor(me)) as p:
        assert p.sales.get_opportunity(opp["id"])["stage"] == "negotiate"


def _touch_drop(driver, opp_id, stage):
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.support.expected_conditions import staleness_of
    card = _card(driver, opp_id).find_element("css selector", ".num")
    target = _css(driver, f"#col-{stage} h2")
    old = _css(driver, "html")
    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    actions.pointer_action.move_to(card).pointer_down()
    actions.pointer_action.move_by(15, 0).move_to(target, 0, 30).pointer_up()
    actions.perform()
    wait_for(driver, staleness_of(old))
