"""The printed forms of customer service, in Chinese: the service handling form
(客户服务处理表) and the customer information form (客户信息登记表); the customer page."""
import pytest
import time_machine

from models import complaints
from models.complaints import Complaint
from models.users import Department
from tests.helpers import apply_at as _do
from tests.helpers import at, staff
from tests.pdf import assert_embedded_cjk_font, pdf_text
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """These deadlines are wall-clock hours: the setting is turned off explicitly, since working
    time is the default now (tests that count working time turn it on themselves)."""
    on_the_clock(app)


@pytest.fixture
def people(make_user):
    return staff(make_user, "spec", "manager", "head", spec={"display_name": "张伟"},
                 manager={"display_name": "杨磊"}, head={"department": "工程维修部", "display_name": "陈静"})


@pytest.fixture
def closed(app, people):
    """A complaint walked from intake to closing, with a wait on the customer."""
    with time_machine.travel(at(2026, 11, 2, 10), tick=False), app.test_request_context():
        complaint = complaints.create(people["spec"], name="王小明", phone="13800138000", content="空调不制冷，报修三次未修好",
                                      channel="phone", category="product quality", severity="major",
                                      address="北京市朝阳区建国路 88 号", organisation="星光商贸", is_vip=True)
        repairs = Department.get(Department.name == "工程维修部").id
    _do(app, complaint, "acknowledge", people["spec"], at(2026, 11, 2, 10, 5), note="已向客户致歉，承诺24小时内答复")
    _do(app, complaint, "assign", people["spec"], at(2026, 11, 2, 10, 30), department_id=repairs)
    _do(app, complaint, "pause", people["head"], at(2026, 11, 2, 11), note="等客户约定上门时间")
    _do(app, complaint, "resume", people["head"], at(2026, 11, 2, 13, 30), note="客户约定明早九点")
    _do(app, complaint, "handle", people["head"], at(2026, 11, 3, 10), note="更换压缩机")
    _do(app, complaint, "report", people["head"], at(2026, 11, 3, 12), note="已修复，运行正常")
    _do(app, complaint, "inform", people["spec"], at(2026, 11, 3, 14))
    _do(app, complaint, "satisfied", people["spec"], at(2026, 11, 4, 10), note="客户表示满意")
    _do(app, complaint, "close", people["manager"], at(2026, 11, 4, 11), root_cause="压缩机批次质量问题",
        improvement="同批次设备全面排查")
    return complaint


def test_the_service_handling_form_prints_everything_in_chinese(app, client, auth, closed):
    auth.login("spec")
    page = client.get(f"/complaints/{closed.id}").get_data(as_text=True)
    assert f'href="/complaints/{closed.id}.pdf"' in page
    response = client.get(f"/complaints/{closed.id}.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.data).split())
    for expected in ("客户服务处理表", closed.number, "王小明", "138 0013 8000", "星光商贸", "VIP 客户",
                     "空调不制冷，报修三次未修好", "产品质量", "重大", "工程维修部",
                     "已向客户致歉，承诺24小时内答复", "等客户约定上门时间", "客户约定明早九点", "更换压缩机",
                     "已修复，运行正常", "客户表示满意", "压缩机批次质量问题", "同批次设备全面排查",
                     "客服专员签字", "责任部门负责人签字", "客服经理签字", "张伟", "陈静", "杨磊",
                     # Every deadline, its clock, and who of the department handled it.
                     "答复时限", "处理时限", "方案时限 2026-11-05 12:30", "时限计法 自然时间", "经办人：陈静",
                     "第1页/共2页", "第2页/共2页"):
        assert expected in text, expected
    # Every step of the timeline, and the wait with its length.
    for step in ("已接收", "已受理", "已转交", "等待客户答复", "客户已答复", "部门已签收", "部门已处理", "已反馈处理结果",
                 "已告知客户", "回访满意", "已关闭", "2小时30分"):
        assert step in text, step
    assert_embedded_cjk_font(response.data)


def test_the_customer_page_and_its_information_form(app, client, auth, closed):
    auth.login("spec")
    with app.test_request_context():
        customer = Complaint.get_by_id(closed.id).customer
    listing = client.get("/customers?q=王小明").get_data(as_text=True)
    assert f'href="/customers/{customer.id}"' in listing
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "王小明" in page and closed.number in page and f'href="/customers/{customer.id}.pdf"' in page
    response = client.get(f"/customers/{customer.id}.pdf")
    assert response.status_code == 200
    text = " ".join(pdf_text(response.data).split())
    for expected in ("客户信息登记表", f"KH-{customer.id:06d}", "王小明", "138 0013 8000", "北京市朝阳区建国路 88 号",
                     "星光商贸", "VIP 客户", closed.number, "产品质量", "已关闭", "登记人签字", "客户签字"):
        assert expected in text, expected
    assert_embedded_cjk_font(response.data)


def test_user_text_in_a_form_cannot_load_files(app, client, auth, people):
    with app.test_request_context():
        complaint = complaints.create(people["spec"], name='<img src="file:///etc/passwd">', phone="13900139000",
                                      content='<link rel=stylesheet href="file:///etc/passwd">', channel="visit",
                                      category="other", severity="general")
    auth.login("spec")
    response = client.get(f"/complaints/{complaint.id}.pdf")
    assert response.status_code == 200 and "file:///etc/passwd" in pdf_text(response.data)


def test_unknown_records_are_not_found(client, auth, people):
    auth.login("spec")
    assert client.get("/complaints/999.pdf").status_code == 404
    assert client.get("/customers/999").status_code == 404
    assert client.get("/customers/999.pdf").status_code == 404
