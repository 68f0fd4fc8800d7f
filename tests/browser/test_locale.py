"""The Chinese interface in Chromium: someone signs in to English pages, presses the
header's "中文" and sees the interface strings and the apps' own titles and labels in
Chinese on every page they open next, until they switch back to English."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

# the apps' zh titles (apps_catalog/*/app.json)
TITLES = ("核心人事", "试用期管理", "人才盘点", "年终奖测算与发放", "绩效改进计划")


def test_the_chinese_interface_after_the_language_switch(
    page: Page, live_server: LiveServer, shot: Shot
) -> None:
    admin = live_server.add_user("core_hr.hr_admin")
    sign_in(page, admin)
    header, main = page.get_by_role("banner"), page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Apps")
    expect(header.get_by_role("link", name="Inbox")).to_be_visible()
    expect(main.get_by_role("link", name="Core HR")).to_be_visible()

    header.get_by_role("button", name="中文").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("应用")
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(header.get_by_role("link", name="待办")).to_be_visible()
    expect(header.get_by_role("button", name="退出登录")).to_be_visible()
    expect(header.get_by_role("button", name="English")).to_be_visible()
    for title in TITLES:
        expect(main.get_by_role("link", name=title)).to_be_visible()
    expect(main).to_contain_text("各人事应用共用的基础数据")  # core_hr's description
    shot("home")

    main.get_by_role("link", name="核心人事").click()
    nav = page.get_by_role("navigation", name="核心人事")
    expect(nav.get_by_role("link", name="人力资源概览")).to_be_visible()  # its dashboard
    nav.get_by_role("link", name="员工").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("员工")
    expect(main.get_by_role("link", name="新建")).to_be_visible()
    expect(main.get_by_role("columnheader", name="姓名")).to_be_visible()
    main.get_by_role("link", name="新建").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("新建 · 员工")
    expect(page.get_by_label("工号")).to_be_visible()
    expect(page.get_by_label("直属上级")).to_be_visible()
    expect(main.get_by_role("button", name="保存")).to_be_visible()
    shot("form")

    page.goto("/inbox")  # the choice is remembered
    expect(main.get_by_role("heading", level=1)).to_have_text("待办")
    expect(main.get_by_role("link", name="待处理")).to_be_visible()
    shot("inbox")

    header.get_by_role("button", name="English").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("Inbox")
    expect(page).to_have_url(re.compile(r"/inbox$"))
