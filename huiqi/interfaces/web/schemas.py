"""Response models of the REST API (/api): what every operation returns, and the one error body.

Money: an integer in 分 (``*_fen``) where the API computes it, and always a display string of 元 with two
decimals (``*_yuan``) or of 万元 (``*_wan``), rounded half up (core/money.py). Never a binary float.

Every model keeps fields it does not declare (``extra="allow"``): a field a service adds later still reaches the
caller, and the OpenAPI schema says so (additionalProperties); the declared fields are checked against the
running server by tests/web/test_openapi_contract.py (schemathesis).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal, Optional

from fastapi import Path
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# A database row number in a path: within a 32-bit INTEGER (PostgreSQL's, the narrower backend); beyond it the
# database overflowed (SQLite: OverflowError, a 500 found by schemathesis) — now a 422 before the query.
MAX_ID = 2_147_483_647
DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="编号")]

# The application stores UTC (db.now); SQLite gives it back without its offset, which is not an RFC 3339 date-time
# (schemathesis: "2026-12-01T06:16:33.465394" is not a "date-time"). A naive time read back is UTC.
UtcDateTime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=timezone.utc))]

Yuan = Optional[str]  # 元, two decimals ("1234.50"), or null when there is no amount
Wan = Optional[str]  # 万元, two decimals


# --------------------------------------------------------------------------------------------- the error body
ERROR_CODES: dict[int, str] = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 410: "gone", 413: "payload_too_large", 422: "invalid_request", 429: "too_many_requests",
    500: "internal_error", 503: "unavailable",
}
ErrorCode = Literal["bad_request", "unauthenticated", "forbidden", "not_found", "method_not_allowed", "conflict", "gone",
                    "payload_too_large", "invalid_request", "too_many_requests", "internal_error", "unavailable",
                    "error"]


class ErrorField(BaseModel):
    """One problem with one input."""
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="出错的输入：请求中的名称（如 period、facts.output_q、body.password）；"
                                   "导入时为“文件〔工作表〕 第N行 列名”")
    message: str = Field(description="中文说明")
    file: Optional[str] = Field(None, description="导入：文件名")
    sheet: Optional[str] = Field(None, description="导入：工作表")
    row: Optional[int] = Field(None, description="导入：行号（表头为第1行）")
    column: Optional[str] = Field(None, description="导入：列名")
    value: Optional[str] = Field(None, description="导入：单元格原值")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: ErrorCode = Field(description="机器可读的错误类别（由 HTTP 状态决定，见 docs/api.md）")
    message: str = Field(description="中文说明，可直接展示给用户")
    fields: list[ErrorField] = Field(default_factory=list, description="逐项问题（校验错误、参数错误、导入的行列错误）")


class ErrorBody(BaseModel):
    """Every error of /api, whatever its status."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"error": {
        "code": "invalid_request", "message": "请求数据有误：period：缺少此项",
        "fields": [{"field": "period", "message": "缺少此项"}]}}]})
    error: ErrorDetail


def error_body(status: int, message: str, fields: list[dict] | None = None) -> dict:
    return {"error": {"code": ERROR_CODES.get(status, "error"), "message": message,
                      "fields": [{k: v for k, v in f.items() if v is not None} for f in fields or []]}}


def error_json(status: int, message: str, fields: list[dict] | None = None, headers=None) -> JSONResponse:
    return JSONResponse(error_body(status, message, fields), status_code=status, headers=headers)


def _err(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


# declared on every /api operation (app.py includes the API routers with these)
ERROR_RESPONSES: dict[int | str, dict] = {
    400: _err("请求体无法解析"),
    401: _err("未登录或会话已过期"),
    403: _err("无权访问，或 CSRF 令牌缺失/不正确"),
    404: _err("资源不存在"),
    409: _err("与当前状态冲突（如名单已审核、已公示）"),
    410: _err("资源已不存在（如筛查的结果文件已清理）"),
    422: _err("请求数据有误（逐项见 fields）"),
    500: _err("服务器内部错误"),
}
UPLOAD_ERRORS = {413: _err("上传文件过大")}
LOGIN_ERRORS = {429: _err("登录失败次数过多，稍后再试")}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_response(media_type: str, description: str) -> dict:
    """OpenAPI for a download: its media type, a binary (or text) body."""
    schema = {"type": "string"} if media_type.startswith("text/") else {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


# ----------------------------------------------------------------------------------------------------- account
class OkOut(Out):
    ok: bool = Field(description="操作成功")


class CsrfOut(Out):
    csrf_token: str = Field(description="CSRF 令牌：状态变更请求放在 X-CSRF-Token 请求头")


class UserOut(Out):
    id: int
    username: str
    display_name: str = Field(description="显示名称")
    role: Literal["admin", "officer", "enterprise"]
    role_label: str = Field(description="角色中文名")
    county_code: Optional[str] = Field(None, description="县区代码（县区工信部门）")
    credit_code: Optional[str] = Field(None, description="统一社会信用代码（企业用户）")
    active: Optional[bool] = Field(None, description="是否启用（用户列表）")


class SessionOut(Out):
    user: UserOut
    csrf_token: str


class NewUserOut(Out):
    id: int
    username: str


class AuditEntryOut(Out):
    id: int
    at: str = Field(description="时间（ISO 8601，UTC）")
    username: Optional[str]
    role: Optional[str]
    action: str = Field(description="操作（中文）")
    target: Optional[str]
    detail: Any = Field(None, description="详情（JSON）")
    ip: Optional[str]


# ---------------------------------------------------------------------------------------------- policy library
class ClauseOut(Out):
    id: str = Field(description="条款编号（如 gx2024q4:6.21）")
    document_id: str
    label: str = Field(description="条款序号（如 六、21.）")
    lines: list[int] = Field(description="原文行号范围 [起, 止]")
    text: str = Field(description="条款原文")
    measures: list[str] = Field(description="由此条款编码的措施编号")
    url: str
    document_title: Optional[str] = None


class DocumentOut(Out):
    id: str
    title: str = Field(description="文件标题")
    wenhao: Optional[str] = Field(None, description="文号")
    issuer: Optional[str] = Field(None, description="发文单位")
    level: Optional[str] = Field(None, description="层级（自治区、设区市…）")
    status: str = Field(description="有效 / 已失效 / 未载明有效期 / 尚未施行 / 征求意见稿（截至今日）")
    status_reason: Optional[str] = None
    issued: Optional[date] = Field(None, description="成文日期")
    year: Optional[int] = None
    department: Optional[str] = None
    valid_from: Optional[date] = Field(None, description="施行日期")
    valid_to: Optional[date] = Field(None, description="有效期至")
    validity_basis: Optional[str] = None
    draft: bool = Field(description="征求意见稿")
    topics: list[str]
    note: Optional[str] = None
    clause_count: int
    measures: list[str]
    url: str
    clauses: Optional[list[ClauseOut]] = Field(None, description="全部条款（只在单个文件中）")


class DocumentListOut(Out):
    total: int
    documents: list[DocumentOut]


class MeasureOut(Out):
    id: str = Field(description="措施编号")
    name: str = Field(description="措施名称")
    document: str = Field(description="所属文件编号")
    clauses: list[str] = Field(default_factory=list)
    entity: str = Field(description="适用对象：enterprise / project / county …")
    kind: str = Field(description="money（资金）/ facility / status …")
    class_: Optional[str] = Field(None, alias="class", description="类别")
    periods: list[str] = Field(default_factory=list, description="适用期间")
    url: str


class RuleListOut(Out):
    total: int
    rules_version: str = Field(description="规则集版本（内容哈希）")
    measures: list[MeasureOut]


class RuleOut(Out):
    """The full rule of one measure as encoded (conditions as SQL expressions, amount, cap …)."""
    id: str
    name: str
    document: str
    periods: list[str]
    url: str
    clause_urls: dict[str, str]
    conditions: list[dict[str, Any]] = Field(default_factory=list)


class SearchHitOut(Out):
    clause_id: str
    document_id: str
    document_title: str
    label: Optional[str] = None
    snippet: str = Field(description="命中片段（命中词以【】标出）")
    score: float = Field(description="相关度（BM25）")
    status: Optional[str] = None
    measures: list[str] = Field(default_factory=list)
    url: str


class SearchOut(Out):
    query: str
    total: int
    hits: list[SearchHitOut]


class FieldOut(Out):
    name: str = Field(description="字段代码（请求 facts 的键；也可用中文名称）")
    label: str = Field(description="中文名称")
    type: str
    unit: str = Field(description="单位（金额为元）")
    period: Optional[str] = None
    source: Optional[str] = None
    note: Optional[str] = None
    measures: list[str] = Field(description="用到此字段的措施")


class FieldsOut(Out):
    period: str
    entity: str
    fields: list[FieldOut]


# ---------------------------------------------------------------------------------------------------- calculator
class ConditionOut(Out):
    id: str
    text: str = Field(description="条件（中文）")
    result: Optional[bool] = Field(description="满足 / 不满足 / null = 缺信息无法判断")
    gap: Optional[str] = Field(None, description="差距（如“差0.1万元”）")


class MissingOut(Out):
    field: str
    label: str = Field(description="缺少的信息（中文）")
    source: Optional[str] = Field(None, description="从何处取得")


class ResultOut(Out):
    measure_id: str
    name: str
    document_id: str
    document_title: Optional[str] = None
    clauses: list[str]
    citation: str = Field(description="出处（文件与条款）")
    quote: Optional[str] = Field(None, description="原文")
    status: Literal["符合", "不符合", "待补充信息", "参数待定"]
    amount_fen: Optional[int] = Field(None, description="可享金额（分；封顶、取整、最低额和不可叠加之后）")
    amount_yuan: Yuan = Field(None, description="可享金额（元，两位小数）")
    computed_fen: Optional[int] = Field(None, description="按公式算得的金额（分；封顶之前）")
    computed_yuan: Yuan = Field(None, description="按公式算得的金额（元）")
    explanation: str = Field(description="中文说明（引用条款）")
    conditions: list[ConditionOut]
    missing: list[MissingOut] = Field(description="待补充的信息")
    pending_parameters: list[Any] = Field(default_factory=list, description="未定的参数")
    kind: str
    reason: Optional[str] = None
    clause_url: str


class CheckSummaryOut(Out):
    total_fen: int = Field(description="符合的资金类措施合计（分）")
    total_yuan: str = Field(description="合计（元，两位小数）")
    counts: dict[str, int] = Field(description="各状态的措施数")


class CheckOut(Out):
    period: str
    entity: str
    summary: CheckSummaryOut
    results: list[ResultOut] = Field(description="全部措施，金额大的在前")
    credit_code: Optional[str] = Field(None, description="已登记企业的计算（GET …/check）")


# ---------------------------------------------------------------------------------------------------- enterprises
class EnterpriseBriefOut(Out):
    credit_code: str = Field(description="统一社会信用代码")
    name: Optional[str]
    county_code: Optional[str]
    county_name: Optional[str]
    industry_code: Optional[str] = Field(description="国民经济行业代码（GB/T 4754-2017）")
    sector: Optional[str] = Field(description="行业大类（中文）")


class EnterpriseListOut(Out):
    total: int
    enterprises: list[EnterpriseBriefOut]


class EnterpriseOut(Out):
    credit_code: str
    name: Optional[str] = None
    county_code: Optional[str] = None
    county_name: Optional[str] = None
    city_name: Optional[str] = None
    industry_code: Optional[str] = None
    sector: Optional[str] = None


class FactsOut(Out):
    credit_code: str
    period: str
    facts: dict[str, Any] = Field(description="事实：金额为元的十进制字符串，是/否为布尔值；缺失的不列出")


# --------------------------------------------------------------------------------------------------- parameters
class ParameterSetOut(Out):
    id: int
    name: str
    values: dict[str, Any] = Field(description="参数取值（金额为元）")
    budget_policy: str = Field(description="超预算处理：pro_rata（按比例）/ ranked（按顺序）")
    active: bool
    version: int
    updated_at: Optional[str] = None
    updated_by: Optional[str] = None
    history: Optional[list[dict[str, Any]]] = Field(None, description="变更历史（新在前）")


class ParameterOut(Out):
    name: str
    label: str = Field(description="中文名称")
    kind: str
    default: Any = None
    max: Any = None
    min: Any = None
    clause: Optional[str] = None
    quote: Optional[str] = None
    note: Optional[str] = None
    is_budget: bool
    value: Optional[str] = Field(None, description="方案中设定的取值")
    effective: Optional[str] = Field(None, description="生效取值（方案值，否则默认值；null = 参数待定）")


class ParametersOut(Out):
    active_set: ParameterSetOut
    parameters: list[ParameterOut]


class BudgetsOut(Out):
    budget_policy: str
    budgets: list[ParameterOut]


# ----------------------------------------------------------------------------------------------------- screening
class JobStartOut(Out):
    job_id: str
    url: str


class ApprovalOut(Out):
    scope: str
    scope_label: Optional[str] = None
    by: str
    at: str
    note: Optional[str] = None


class JobOut(Out):
    id: str
    period: str
    status: str = Field(description="排队中 / 运行中 / 已完成 / 失败")
    step: Optional[str] = None
    done: int
    total: int
    percent: int
    error: Optional[str] = Field(None, description="失败原因（中文）")
    run_id: Optional[str] = None
    manifest: Optional[dict[str, Any]] = Field(None, description="运行清单（规则版本、参数、数据快照哈希）")
    created_by: Optional[str] = None
    created_at: Optional[str] = None
    finished_at: Optional[str] = None
    approvals: list[ApprovalOut] = Field(default_factory=list)


class ResultRowOut(Out):
    entity_id: str
    entity: Optional[str]
    name: Optional[str]
    credit_code: Optional[str]
    county_code: Optional[str]
    county_name: Optional[str]
    city_name: Optional[str]
    sector: Optional[str]
    measure_id: str
    measure_name: str
    status: str
    amount_fen: Optional[int] = Field(None, description="应享金额（分）")
    amount_yuan: Yuan = None
    final_fen: Optional[int] = Field(None, description="分配后金额（分；年度上限、预算之后）")
    final_yuan: Yuan = None
    allocation_note: Optional[str] = None
    reason: Optional[str] = None
    missing: Optional[str] = None


class ResultPageOut(Out):
    job_id: str
    total: int
    page: int
    page_size: int
    paid_count: int
    paid_total_fen: int
    paid_total_yuan: str
    rows: list[ResultRowOut]


class GroupOut(Out):
    key: Optional[str]
    label: str
    n: int = Field(description="主体数")
    amount_fen: int
    amount_wan: str


class StatusCountOut(Out):
    status: str
    n: int


class ScreeningSummaryOut(Out):
    paid_count: int
    paid_entities: int
    paid_total_fen: int
    paid_total_wan: str
    paid_total_yuan: str
    by_county: list[GroupOut]
    by_sector: list[GroupOut]
    by_measure: list[GroupOut]
    by_status: list[StatusCountOut]


# --------------------------------------------------------------------------------------------------------- import
class ImportOut(Out):
    ok: bool
    text: str = Field(description="中文报告")
    errors: list[dict[str, Any]] = Field(default_factory=list)
    rows: dict[str, int] = Field(default_factory=dict, description="各表读到的行数")
    written: Optional[dict[str, int]] = Field(None, description="各表写入（新增或变化）的行数；预览时为 null")
    preview: Optional[dict[str, Any]] = Field(None, description="预览：各表新增 / 变化 / 不变的行数")


# ------------------------------------------------------------------------------------ sandbox, monitoring, calendar
class SimulationOut(Out):
    """政策沙盘的测算对比（基线与情景；金额为元与万元的字符串）."""
    measures: list[dict[str, Any]]
    totals: dict[str, Any]
    distributions: dict[str, Any]


class SimulationOptionsOut(Out):
    period: str
    measures: list[dict[str, Any]]
    selected: list[str]
    parameters: list[dict[str, Any]]
    knobs: list[dict[str, Any]]
    version_sources: list[dict[str, Any]]
    budget_policy: Optional[str] = None


class MonitoringOut(Out):
    period: str
    period_label: str
    rules_version: str
    settings: dict[str, Any]
    lists: dict[str, Any] = Field(description="四张清单、临规、临退规：每张含 name、rule、basis、count、rows（金额为分、元、万元）")


class MonitoringListOut(Out):
    period: str


class CalendarEntryOut(Out):
    date: date
    kind: str = Field(description="开始 / 截止 …")
    programme_id: str
    programme: str = Field(description="申报事项")
    window: Optional[str] = None
    office: Optional[str] = None
    phones: list[str]
    document_id: str
    document_title: str
    quote: str = Field(description="载明日期的原文")
    clause: Optional[str] = None
    measures: list[str]


class CalendarOut(Out):
    total: int
    entries: list[CalendarEntryOut]


# ----------------------------------------------------------------------------------------------------- payout
class PayoutListOut(Out):
    id: int
    job_id: str
    period: str
    county_code: str
    state: str = Field(description="状态（中文）")
    stage: str
    created_by: str
    created_at: UtcDateTime
    approved_by: Optional[str] = None
    approved_at: Optional[UtcDateTime] = None
    approval_note: Optional[str] = None
    issuer: Optional[str] = None
    contact: Optional[str] = None
    publicity_days: Optional[int] = None
    publicity_start: Optional[date] = None
    publicity_end: Optional[date] = None
    published_by: Optional[str] = None
    published_at: Optional[UtcDateTime] = None
    open_objections: int
    publicity_over: bool
    publicity_open: bool


class PayoutRowOut(Out):
    id: int
    list_id: int
    credit_code: str
    name: Optional[str]
    county_code: Optional[str]
    measure_id: str
    measure_name: Optional[str]
    state: str
    review_reason: Optional[str] = None
    bank_name: Optional[str] = None
    bank_account: Optional[str] = None
    paid_on: Optional[date] = None
    voucher: Optional[str] = None
    objections: Any = None
    computed_yuan: str
    amount_yuan: str
    paid_yuan: Yuan = None


class PayoutListDetailOut(PayoutListOut):
    rows: list[PayoutRowOut]


class PayoutTotalsOut(Out):
    computed_n: int
    computed_yuan: str
    removed_n: int
    removed_yuan: str
    approved_n: int
    approved_yuan: str
    confirmed_n: int
    confirmed_yuan: str
    declined_n: int
    declined_yuan: str
    paid_n: int
    paid_yuan: str


class PayoutReportOut(Out):
    total: PayoutTotalsOut
    by_county: list[dict[str, Any]]
    by_measure: list[dict[str, Any]]


class GongshiOut(Out):
    title: str
    issuer: Optional[str]
    contact: Optional[str]
    publicity_days: Optional[int]
    start: date
    end: date
    rows: list[dict[str, Any]] = Field(description="企业名称、统一社会信用代码（中间隐去）、政策措施、金额（万元）")
