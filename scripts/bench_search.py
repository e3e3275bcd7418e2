"""Full-text search at 1 M complaints: seed them with Chinese descriptions, build the bigram index,
time the searches and measure the index, on SQLite or PostgreSQL.

    .venv/bin/python scripts/bench_search.py sqlite:////tmp/search.db [--size 1000000]
    .venv/bin/python scripts/bench_search.py postgresql://postgres@127.0.0.1:5432/bench_db

The database is emptied first. Prints a Markdown table for docs/perf.md."""
import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PLACES = ["会议室", "三楼走廊", "地下车库", "前台大厅", "二号楼电梯间", "员工餐厅", "卫生间", "开放办公区", "仓库",
          "停车场", "五楼茶水间", "培训教室", "财务室", "值班室", "东门岗亭"]
THINGS = ["空调", "电梯", "照明灯", "水管", "门禁", "打印机", "饮水机", "窗户", "暖气", "网络", "投影仪", "监控",
          "消防栓", "自动门", "热水器"]
FAULTS = ["漏水", "不制冷", "噪音很大", "坏了", "一直闪烁", "打不开", "有异味", "停止工作", "无法刷卡", "速度太慢",
          "漏电", "温度太高", "关不上"]
EXTRAS = ["已经是第二次了", "希望尽快处理", "影响正常办公", "客户很不满意", "请派人查看", "上周报修未解决",
          "工作人员态度不好", "等了很久没人回复", "要求赔偿损失", "下午有重要会议", "多次打电话无人接听",
          "请给个明确答复", "物业说不归他们管"]
PHRASES = [("空调漏水", "two words, common"), ("会议室空调又漏水了", "a sentence, exact"),
           ("上周报修未解决", "phrase from the middle"), ("仓库 饮水机 异味", "three words"),
           ("财务室投影仪", "rarer pair"), ("卫生间漏水", "odd length: two readings"),
           ("空调 暖气", "common words never together"), ("火箭发射", "no match")]


def description(rng, i):
    """A complaint as a desk writes it: place, thing, fault, one or two remarks, now and then a date."""
    place, thing, fault = rng.choice(PLACES), rng.choice(THINGS), rng.choice(FAULTS)
    text = rng.choice([f"{place}的{thing}{fault}", f"{place}{thing}又{fault}了", f"{thing}{fault}（{place}）"])
    text += "，" + "，".join(rng.sample(EXTRAS, rng.randint(1, 2)))
    if i % 7 == 0:
        text += f"，{rng.randint(1, 12)}月{rng.randint(1, 28)}日报修单号{rng.randint(1000, 99999)}"
    return text + "。"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="measure a database this script seeded before")
    args = parser.parse_args()
    os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-search-"))
    from app import create_app
    app = create_app({"DATABASE_URL": args.url})
    with app.app_context():
        from bench import complaint_row, insert_rows
        from models import all_models, complaints, create_tables, fulltext
        from models.base import db, is_sqlite
        from models.complaints import Complaint, Customer
        from models.users import Department, create_user
        seeded = built = None
        if not (args.reuse and Complaint.table_exists() and Complaint.select().count() >= args.size):
            db.drop_tables(all_models(), safe=True, cascade=not is_sqlite())
            create_tables()
            manager = create_user(None, "manager", "经理", ["service_manager"], "bench-password-1")
            departments = [Department.create(name=n).id for n in ("工程部", "物业部", "行政部")]
            insert_rows(Customer, [{"name": f"客户{i}", "phone": f"137{i:08d}"} for i in range(5000)])
            first_customer = Customer.select(Customer.id).order_by(Customer.id).first().id
            rng, now = random.Random(14), dt.datetime.utcnow()
            started = time.perf_counter()
            batch = 20_000
            for start in range(0, args.size, batch):
                insert_rows(Complaint, [
                    complaint_row(rng, i, now - dt.timedelta(seconds=rng.randint(3600, 730 * 86400)), now,
                                  first_customer + i % 5000, rng.choice(departments), manager.id, description(rng, i))
                    for i in range(start, min(start + batch, args.size))])
            seeded = time.perf_counter() - started
            started = time.perf_counter()
            fulltext.fill("complaint")
            built = time.perf_counter() - started
        if is_sqlite():
            db.execute_sql("ANALYZE")
            page = db.execute_sql("PRAGMA page_size").fetchone()[0]
            size = db.execute_sql("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'text_gram%'").fetchone()[0]
            table_size = db.execute_sql("SELECT SUM(pgsize) FROM dbstat WHERE name = 'complaint'").fetchone()[0]
            del page
        else:
            db.execute_sql("ANALYZE")
            size = db.execute_sql("SELECT pg_total_relation_size('text_gram')").fetchone()[0]
            table_size = db.execute_sql("SELECT pg_total_relation_size('complaint')").fetchone()[0]
        grams = fulltext.TextGram.select().count()
        backend = "SQLite" if is_sqlite() else "PostgreSQL"
        print(f"\n### {backend}, {args.size:,} complaints\n")
        if seeded is not None:
            print(f"- seeded in {seeded:.0f} s; index built (fulltext.fill) in {built:.0f} s")
        print(f"- index: {grams:,} grams, {size / 2**20:,.0f} MB (the complaints table: {table_size / 2**20:,.0f} MB)")
        print("\n| query | kind | matches (capped at 500) | search p50 (ms) | max (ms) | list page p50 (ms) |")
        print("|---|---|---|---|---|---|")
        for phrase, kind in PHRASES:
            times, pages = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                ids = fulltext.search("complaint", phrase)
                times.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                list(complaints.listing(state="all", q=phrase).limit(51))
                pages.append((time.perf_counter() - t0) * 1000)
            print(f"| {phrase} | {kind} | {len(ids)} | {statistics.median(times):.1f} | {max(times):.1f} "
                  f"| {statistics.median(pages):.1f} |")
        first = fulltext._code("上周")
        if is_sqlite():
            plan = db.execute_sql("EXPLAIN QUERY PLAN SELECT record_id FROM text_gram WHERE gram = ? AND kind = 1 "
                                  "ORDER BY record_id DESC LIMIT 500", (first,)).fetchall()
            print("\nplan:", "; ".join(str(row[-1]) for row in plan))
        else:
            plan = db.execute_sql("EXPLAIN SELECT record_id FROM text_gram WHERE gram = %s AND kind = 1 "
                                  "ORDER BY record_id DESC LIMIT 500", (first,)).fetchall()
            print("\nplan:", "; ".join(row[0].strip() for row in plan))


if __name__ == "__main__":
    main()
