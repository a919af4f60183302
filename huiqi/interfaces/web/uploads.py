"""Data import from uploaded files (the API's POST /api/imports and the 工作台's upload form): every file checked,
all written in one transaction only if nothing is wrong, a county officer only into their own 县区."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import UploadFile

from huiqi.interfaces.web.auth import User
from huiqi.interfaces.web.state import WebError, WebState


MAX_UPLOAD_BYTES = 50 * 1024 * 1024


ALLOWED_UPLOADS = (".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".parquet")


def do_import(state: WebState, user: User, uploads: list[UploadFile], money_unit: str | None, ip: str,
              preview: bool = False) -> dict:
    """Validate every uploaded file; write all (one transaction) only if there is no problem anywhere.

    preview: validate and report what would change (rows added / changed / unchanged per table), write nothing."""
    from huiqi.data.importer import import_files

    if not uploads:
        raise WebError(422, "请选择要导入的文件（.xlsx、.csv 或 .parquet）")
    if money_unit not in (None, "", "元", "万元", "亿元"):
        raise WebError(422, f"不认识的金额单位“{money_unit}”（可用 元、万元、亿元）")
    tmp = Path(tempfile.mkdtemp(prefix="huiqi-import-"))
    try:
        paths = []
        for i, up in enumerate(uploads):
            name = Path(up.filename or f"upload{i}").name
            if not name.lower().endswith(ALLOWED_UPLOADS):
                raise WebError(422, f"不支持的文件类型：{name}（可用 .xlsx、.csv、.parquet；.xls 请另存为 .xlsx）")
            target = tmp / f"{i:02d}" / name
            target.parent.mkdir()
            size = 0
            with target.open("wb") as out:
                while chunk := up.file.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise WebError(413, f"文件 {name} 超过 {MAX_UPLOAD_BYTES // (1 << 20)}MB，请分批导入")
                    out.write(chunk)
            paths.append(target)
        try:
            result = import_files(paths, None, money_unit=money_unit or None)
        except ValueError as e:
            raise WebError(422, str(e)) from None
        errors = [{k: v for k, v in row.items()} for row in result.errors.to_dicts()]
        for e in errors:
            e["file"] = Path(e["file"]).name if e.get("file") else e.get("file")
        names = [p.name for p in paths]
        if not result.ok:
            state.audit(user, "导入", "、".join(names), {"ok": False, "problems": len(errors)}, ip)
            return {"ok": False, "text": result.to_text().replace(str(tmp), ""), "errors": errors, "rows": {},
                    "written": None}
        with state.lock:  # check and write under one lock: no other import can change the owners in between
            if user.role == "officer":
                from huiqi.data.scope import county_scope_problems

                # against what is held (demo data + database), not only the file: no county takeover
                result.problems += county_scope_problems(result, user.county_code, state.tables)
                if result.problems:
                    state.audit(user, "导入", "、".join(names), {"ok": False, "outside_county": len(result.problems)}, ip)
                    raise WebError(403, "只能导入本县区的数据。" + result.to_text(limit=20).replace(str(tmp), ""))
            if preview:
                from huiqi.services.import_tools import preview as diff

                changes = diff(state.tables, result.tables)
                return {"ok": True, "preview": changes, "errors": [], "rows": result.rows(), "written": None,
                        "text": result.to_text() + "以下为预览，尚未写入。"}
            written = state.apply_import(result.tables)
        from huiqi.services.import_tools import table_label

        state.audit(user, "导入", "、".join(names), {"ok": True, "rows": result.rows(), "written": written}, ip)
        done = "，".join(f"{table_label(t)}{n}行" for t, n in written.items() if n) or "无变化（数据已是最新）"
        return {"ok": True, "text": result.to_text() + "已写入：" + done + "。",
                "errors": [], "rows": result.rows(), "written": written}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
