// UI text in English and Korean: the browser's language decides, the switch
// in the header overrides (kept in localStorage).
const text = {
  en: {
    home: "Home", runs: "Runs", models: "Models", datasets: "Datasets", serving: "Serving",
    feedback: "Feedback", pipelines: "Pipelines", audit: "Audit", sign_in: "Sign in", sign_out: "Sign out",
    api_key: "API key", signed_in_as: "Signed in as", latest_runs: "Latest runs",
    waiting_approval: "Waiting for approval", nothing: "Nothing yet", id: "ID", kind: "Kind",
    name: "Name", status: "Status", started: "Started", duration: "Duration", metrics: "Metrics",
    any: "any", filter: "Filter", search: "Search", since: "Since", model: "Model", dataset: "Dataset",
    compare: "Compare", more: "More", params: "Parameters", inputs: "Inputs", outputs: "Outputs",
    smoothing: "Smoothing", overlay: "Overlay runs (ids)", apply: "Apply", versions: "Versions",
    version: "Version", aliases: "Aliases", tags: "Tags", created: "Created", run: "Run",
    evaluations: "Evaluations", gate: "Gate", passed: "passed", failed: "failed", lineage: "Lineage",
    lineage_hint: "Click a node to open it.", report: "Step report", samples: "Samples",
    requests: "Requests", error_rate: "Error rate", latency: "Latency (s)", tokens_per_s: "Tokens/s",
    feedback_rate: "Feedback rate", errors_by_status: "Errors by status", request_log: "Request log",
    prompt: "Prompt", completion: "Completion", time: "Time", key: "Key", no_log: "No request log yet.",
    pending: "Pending", approved: "Approved", rejected: "Rejected", all: "All", approve: "Approve",
    reject: "Reject", correct: "Correct", correction: "Corrected answer", save: "Save",
    export_dataset: "Export approved feedback as dataset", export: "Export", rating: "Rating",
    pipeline: "Pipeline", stages: "Stages", stage: "Stage", history: "History", trigger: "Trigger",
    reason: "Reason", verification: "Verification", chain_ok: "Audit chain verified",
    chain_bad: "Audit chain broken", entries: "entries", action: "Action", actor: "Actor",
    object: "Object", details: "Details", value: "Value", interval: "95% interval", window: "Window",
    not_allowed: "Your key or role may not do this.", done: "Done", last_day: "last 24 hours",
    workspace: "Workspace", token_hint: "Open the URL that `enclave ui` printed (it carries the sign-in token).",
    metric: "Metric", differs: "differs", p50: "p50", p95: "p95", p99: "p99", file: "File", line: "Line",
    record: "Record", cmd: "Command", message: "Message", files: "Files",
    serving_now: "Serving now", state_up: "up", state_unknown: "unknown", state_stale: "stale",
    state_unreachable: "unreachable", loaded: "loaded", up_for: "up for", answered: "requests answered",
    running: "running", queued: "queued", last_request: "Last request", ago: "{d} ago", checked: "Checked at",
    no_request_yet: "No request logged yet.",
    no_server_known: "No server is known to this dashboard: the state is judged from the request log.",
    no_server_stale: "No server is known to this dashboard, and the last logged request is old: the server may be down.",
    unit_s: "{n} s", unit_min: "{n} min", unit_h: "{n} h", unit_d: "{n} d",
  },
  ko: {
    home: "홈", runs: "실행", models: "모델", datasets: "데이터셋", serving: "서빙",
    feedback: "피드백", pipelines: "파이프라인", audit: "감사", sign_in: "로그인", sign_out: "로그아웃",
    api_key: "API 키", signed_in_as: "로그인 사용자", latest_runs: "최근 실행",
    waiting_approval: "승인 대기", nothing: "아직 없음", id: "ID", kind: "종류",
    name: "이름", status: "상태", started: "시작", duration: "소요 시간", metrics: "지표",
    any: "전체", filter: "필터", search: "검색", since: "이후", model: "모델", dataset: "데이터셋",
    compare: "비교", more: "더 보기", params: "매개변수", inputs: "입력", outputs: "출력",
    smoothing: "평활화", overlay: "겹쳐 볼 실행 (ID)", apply: "적용", versions: "버전",
    version: "버전", aliases: "별칭", tags: "태그", created: "생성", run: "실행",
    evaluations: "평가", gate: "게이트", passed: "통과", failed: "실패", lineage: "계보",
    lineage_hint: "노드를 누르면 열립니다.", report: "단계 보고서", samples: "샘플",
    requests: "요청", error_rate: "오류율", latency: "지연 시간 (초)", tokens_per_s: "초당 토큰",
    feedback_rate: "피드백 비율", errors_by_status: "상태별 오류", request_log: "요청 기록",
    prompt: "프롬프트", completion: "응답", time: "시간", key: "키", no_log: "아직 요청 기록이 없습니다.",
    pending: "대기", approved: "승인됨", rejected: "거부됨", all: "전체", approve: "승인",
    reject: "거부", correct: "수정", correction: "수정한 답변", save: "저장",
    export_dataset: "승인된 피드백을 데이터셋으로 내보내기", export: "내보내기", rating: "평점",
    pipeline: "파이프라인", stages: "단계", stage: "단계", history: "이력", trigger: "트리거",
    reason: "사유", verification: "검증", chain_ok: "감사 체인 검증됨",
    chain_bad: "감사 체인 손상", entries: "항목", action: "작업", actor: "수행자",
    object: "대상", details: "세부 정보", value: "값", interval: "95% 구간", window: "구간",
    not_allowed: "이 키 또는 역할로는 할 수 없습니다.", done: "완료", last_day: "최근 24시간",
    workspace: "작업 공간", token_hint: "`enclave ui`가 출력한 URL(로그인 토큰 포함)을 여세요.",
    metric: "지표", differs: "다름", p50: "p50", p95: "p95", p99: "p99", file: "파일", line: "줄",
    record: "레코드", cmd: "명령", message: "메시지", files: "파일",
    serving_now: "현재 서빙", state_up: "정상", state_unknown: "알 수 없음", state_stale: "오래됨",
    state_unreachable: "연결 안 됨", loaded: "로드된 버전", up_for: "가동 시간", answered: "처리한 요청",
    running: "실행 중", queued: "대기 중", last_request: "마지막 요청", ago: "{d} 전", checked: "확인 시각",
    no_request_yet: "아직 기록된 요청이 없습니다.",
    no_server_known: "이 대시보드가 아는 서버가 없어 요청 기록으로 상태를 판단합니다.",
    no_server_stale: "이 대시보드가 아는 서버가 없고 마지막 요청이 오래되었습니다. 서버가 멈췄을 수 있습니다.",
    unit_s: "{n}초", unit_min: "{n}분", unit_h: "{n}시간", unit_d: "{n}일",
  },
};

let lang = localStorage.getItem("enclave.lang") ||
  ((navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en");

export function t(key) {
  return (text[lang] && text[lang][key]) || text.en[key] || key;
}
export function language() { return lang; }
export function setLanguage(next) {
  lang = next in text ? next : "en";
  localStorage.setItem("enclave.lang", lang);
  document.documentElement.lang = lang;
}
document.documentElement.lang = lang;
