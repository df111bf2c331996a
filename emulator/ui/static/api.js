// What the page calls: the ECS, ECR and CloudWatch Logs APIs as any AWS client does (AWS JSON 1.1
// on the emulator's own port; the credential scope of the Authorization header names the account
// and region: nothing is signed, the emulator does not check signatures), the fault endpoints the
// tests use, and the dashboard's own reads under /_emulator/ui/api/.
//
// Where the emulator asks for its control token (emulator/access/control_token.py), the calls
// under /_emulator/ send it as a header. The link printed at start carries it in its fragment
// (#token=...), which no request sends; the page keeps it in localStorage, which the browser
// keeps per origin (scheme, host and port): a task's page on its published port of 127.0.0.1
// cannot read it. Never a cookie: the browser would send that to every port of 127.0.0.1,
// the task's own server included. localStorage rather than sessionStorage: a tab opened from
// the dashboard (a middle click) has it too; a token of an earlier run is refused, and the
// page then says where to get the new one.

const TARGETS = {
  ecs: "AmazonEC2ContainerServiceV20141113",
  ecr: "AmazonEC2ContainerRegistry_V20150921",
  logs: "Logs_20140328",
};

export const scope = { account: "", region: "" };

export class ApiError extends Error {}

// A control call refused for want of the token (access/gate.py answers 403 naming the header).
export class TokenRefused extends ApiError {}

const TOKEN_HEADER = "X-Ecs-Emulator-Token";
const TOKEN_KEY = "ecs-emulator-control-token";
let heldToken = null;  // where the browser keeps no storage (a setting): this page's only

// Takes the token out of the address (#token=...) into storage; whether there was one.
export function takeToken() {
  const found = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!found) return false;
  heldToken = found[1];
  try { localStorage.setItem(TOKEN_KEY, found[1]); } catch { /* kept in heldToken */ }
  history.replaceState(null, "", location.pathname + location.search);
  return true;
}

function token() {
  try { return localStorage.getItem(TOKEN_KEY) || heldToken; } catch { return heldToken; }
}

// The headers of a call under /_emulator/ (the only calls that carry the token).
function control(headers = {}) {
  const held = token();
  return held ? { ...headers, [TOKEN_HEADER]: held } : headers;
}

// An error of a refused control call: TokenRefused when the token is what it lacked.
function failure(response, body, error) {
  if (response.status === 403 && String(body.message || "").includes(TOKEN_HEADER)) {
    return new TokenRefused("the control token is missing or from an earlier run: open the " +
      "dashboard from the link the emulator printed at start (…/_emulator/ui/#token=…)");
  }
  return new ApiError(error);
}

export async function aws(service, operation, params = {}) {
  const response = await fetch("/", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `${TARGETS[service]}.${operation}`,
      // A 12-digit access key id is the account; the scope's region is the region.
      "Authorization": `AWS4-HMAC-SHA256 Credential=${scope.account}/20240101/${scope.region}/` +
        `${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(params),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = (body.__type || "Error").split("#").pop();
    throw new ApiError(`${operation}: ${code}: ${body.message || body.Message || response.status}`);
  }
  return body;
}

function query(extra = {}) {
  return new URLSearchParams({ account: scope.account, region: scope.region, ...extra }).toString();
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store", headers: control() });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw failure(response, body, body.message || `${path}: ${response.status}`);
  return body;
}

export const scopes = () => getJson("/_emulator/ui/api/scopes");

let lastTag = null;
let lastSummary = null;

// The summary, or null when it has not changed since the last call (ETag and 304).
export async function summary() {
  const headers = control(lastTag ? { "If-None-Match": lastTag } : {});
  const key = query();
  const response = await fetch(`/_emulator/ui/api/summary?${key}`, { cache: "no-store", headers });
  if (response.status === 304 && lastSummary === key) return null;
  if (!response.ok && response.status !== 304) {
    throw failure(response, await response.json().catch(() => ({})), `summary: ${response.status}`);
  }
  if (response.status === 304) {  // the scope changed under a matching tag: ask again, plainly
    lastTag = null;
    return summary();
  }
  lastTag = response.headers.get("ETag");
  lastSummary = key;
  return response.json();
}

export const forgetSummary = () => { lastTag = null; lastSummary = null; };

const taskPath = (task) => `/_emulator/ui/api/tasks/${encodeURIComponent(task)}`;
export const logSources = (task) => getJson(`${taskPath(task)}/logs?${query()}`);
export const dockerLog = (task, container, after) =>
  getJson(`${taskPath(task)}/logs/${encodeURIComponent(container)}?${query(after ? { after } : {})}`);
export const metadata = (task) => getJson(`${taskPath(task)}/metadata?${query()}`);
export const stacks = () => getJson(`/_emulator/ui/api/stacks?${query()}`);

// Faults on purpose (emulator/faults_routes.py).
export async function fault(taskArn, what, body = {}) {
  // By the task id: an ARN holds slashes, which a path segment cannot.
  const id = taskArn.split("/").pop();
  const response = await fetch(`/_emulator/tasks/${encodeURIComponent(id)}/${what}`, {
    method: "POST", headers: control({ "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw failure(response, answer, `${what}: ${answer.message || response.status}`);
  return answer;
}
