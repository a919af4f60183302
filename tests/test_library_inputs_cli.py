"""Policy library, input parsing, rule loading errors, lint on a planted error, and the CLI."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huiqi.engine.inputs import InputError, normalize_facts, to_hundredths
from huiqi.interfaces.cli import app, data_dictionary_markdown
from huiqi.policies.library import default_library
from huiqi.rules.lint import Linter
from huiqi.rules.loader import RULES_DIR, RuleFileError, load_file, load_rules

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


class TestLibrary:
    def test_all_documents_registered(self):
        lib = default_library()
        assert len(lib) == 70  # 4 measure texts + the handbook's 66 documents (one of them the 2024 Q2 measures)
        assert {"gx2023", "gx2024q2", "gx2024q4", "gx2025h2", "lz2026q3", "hb01", "hb66"} <= set(lib.documents)

    def test_clause_ids_are_stable_and_carry_exact_text(self):
        clause = default_library().clause("gx2024q4:6.21")
        assert clause.label == "六、21."
        assert "每家企业补助金额最高不超过 30 万元" in clause.text

    def test_status_as_of_a_date(self):
        lib = default_library()
        assert lib.document("gx2023").status(date(2023, 6, 1)) == "有效"
        assert lib.document("gx2023").status(date(2026, 11, 22)) == "已失效"
        assert lib.document("lz2026q3").status() == "征求意见稿"
        assert lib.document("gx2024q2").wenhao == "桂工信综合〔2024〕328号"


class TestInputs:
    @pytest.mark.parametrize("value,unit,expected", [
        ("8169227.00", None, 816922700), ("816.9227", "万元", 816922700), ("816.9227万元", None, 816922700),
        (8169227, None, 816922700), (0.1, None, 10), ("1,000.5", None, 100050), ("2亿元", None, 200_000_000_00),
    ])
    def test_money_exact(self, value, unit, expected):
        assert to_hundredths(value, unit, "x") == expected

    def test_finer_than_fen_is_an_error_not_a_rounding(self):
        with pytest.raises(InputError, match="精度超过0.01元"):
            to_hundredths("1.005", None, "当季工业总产值")

    def test_text_in_number_field(self):
        with pytest.raises(InputError, match="不是数值"):
            normalize_facts({"output_q": "五百万"})

    def test_unknown_field_is_an_error(self):
        with pytest.raises(InputError, match="未知字段"):
            normalize_facts({"outptu_q": 1})

    def test_chinese_label_with_unit_in_header(self):
        assert normalize_facts({"当季工业总产值（万元）": "500"}) == {"output_q": 500_0000_00}


class TestRuleFiles:
    def test_schema_error_names_file_and_line(self, tmp_path):
        bad = tmp_path / "bad.yaml"
        bad.write_text("document: gx2024q4\ntitle: t\nmeasures:\n  - id: x\n    name: n\n    clause: c\n"
                       "    quote: q\n    entity: company\n", encoding="utf-8")
        with pytest.raises(RuleFileError) as e:
            load_file(bad)
        assert e.value.line == 8 and "bad.yaml:8" in str(e.value)

    def test_lint_passes_on_the_shipped_rules(self):
        assert [str(f) for f in Linter().run()] == []

    def _planted(self, tmp_path, old, new):
        rules = tmp_path / "rules"
        shutil.copytree(RULES_DIR, rules)
        path = rules / "gx2024q4.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return Linter(load_rules(rules)).run()

    def test_lint_fails_on_a_planted_wrong_number(self, tmp_path):
        findings = self._planted(tmp_path, "when: output_q >= wan(500)", "when: output_q >= wan(600)")
        assert any("600" in f.message for f in findings)

    def test_lint_fails_on_strict_operator_for_daodao(self, tmp_path):
        findings = self._planted(tmp_path, "when: output_q >= wan(500)", "when: output_q > wan(500)")
        assert any("达到" in f.message for f in findings)

    def test_lint_fails_on_an_altered_quote(self, tmp_path):
        findings = self._planted(tmp_path, "最高不超过30万元。", "最高不超过40万元。")
        assert any("引文" in f.message for f in findings)

    def test_cli_lint_exit_code_on_planted_error(self, tmp_path):
        rules = tmp_path / "rules"
        shutil.copytree(RULES_DIR, rules)
        p = rules / "gx2024q4.yaml"
        p.write_text(p.read_text(encoding="utf-8").replace("wan(30)", "wan(35)", 1), encoding="utf-8")
        result = runner.invoke(app, ["lint", "--rules-dir", str(rules)])
        assert result.exit_code == 1


class TestCli:
    def test_docs_list_and_show(self):
        r = runner.invoke(app, ["docs", "list", "--format", "json"])
        assert r.exit_code == 0 and len(json.loads(r.stdout)) == 70
        r = runner.invoke(app, ["docs", "show", "gx2024q4", "--format", "json"])
        assert any(c["id"] == "gx2024q4:6.21" for c in json.loads(r.stdout)["clauses"])

    def test_rules_list_and_show(self):
        r = runner.invoke(app, ["rules", "show", "gx2024q4-21", "--format", "json"])
        assert r.exit_code == 0 and json.loads(r.stdout)["cap"] == "wan(30)"
        r = runner.invoke(app, ["rules", "show", "nope"])
        assert r.exit_code == 2

    def test_check_example_prints_documented_result(self):
        r = runner.invoke(app, ["check", str(ROOT / "examples/enterprise_2024q4.yaml"), "--format", "json"])
        assert r.exit_code == 0, r.output
        out = {x["measure_id"]: x for x in json.loads(r.stdout)["results"]}
        assert out["gx2024q4-21"]["status"] == "符合" and out["gx2024q4-21"]["amount_yuan"] == "300000"
        assert out["gx2024q4-22a"]["amount_yuan"] == "18400.25"
        assert out["gx2024q4-22b"]["status"] == "不符合"
        assert "差0.01万元" in out["gx2024q4-22b"]["explanation"]

    def test_check_bad_value_is_a_clear_error(self, tmp_path):
        f = tmp_path / "bad.yaml"
        f.write_text("period: 2024Q4\nfacts:\n  当季工业总产值: 五百万\n", encoding="utf-8")
        r = runner.invoke(app, ["check", str(f)])
        assert r.exit_code == 2 and "不是数值" in r.output

    @pytest.mark.parametrize("value,fragment", [("-5", "不能为负数"), ("99999999999999999999999", "超出合理范围"),
                                                ("1e308", "超出合理范围"), (".inf", "不是有效数值"),
                                                ('"1\\0"', "空字符")])
    def test_check_facts_file_out_of_bounds_is_a_chinese_error(self, tmp_path, value, fragment):
        """The CLI facts file shares the importer's bounds (issue 8): no traceback, the field named in Chinese."""
        f = tmp_path / "bad.yaml"
        f.write_text(f"period: 2024Q4\nfacts:\n  当季工业总产值: {value}\n", encoding="utf-8")
        r = runner.invoke(app, ["check", str(f)])
        assert r.exit_code == 2 and fragment in r.output and "当季工业总产值" in r.output, r.output


def test_data_dictionary_doc_is_current():
    """docs/data-dictionary.md is generated: regenerate with `huiqi fields --format markdown`."""
    assert (ROOT / "docs/data-dictionary.md").read_text(encoding="utf-8") == data_dictionary_markdown()
