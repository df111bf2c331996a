// What the page calls: the ECS, ECR and CloudWatch Logs APIs as any AWS client does (AWS JSON 1.1
// on the emulator's own port; the credential scope of the Authorization header names the account
// and region: nothing is signed, the emulator does not check signatures), the fault endpoints the
// tests use, and the dashboard's own reads under /_emulator/ui/api/.

const TARGETS = {
  ecs: "AmazonEC2ContainerServiceV20141113",
  ecr: "AmazonEC2ContainerRegistry_V20150921",
  logs: "Logs_20140328",
};

export const scope = { account: "", region: "" };

export class ApiError extends Error {}

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
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.message || `${path}: ${response.status}`);
  return body;
}

export const scopes = () => getJson("/_emulator/ui/api/scopes");

let lastTag = null;
let lastSummary = null;

// The summary, or null when it has not changed since the last call (ETag and 304).
export async function summary() {
  const headers = lastTag ? { "If-None-Match": lastTag } : {};
  const key = query();
  const response = await fetch(`/_emulator/ui/api/summary?${key}`, { cache: "no-store", headers });
  if (response.status === 304 && lastSummary === key) return null;
  if (!response.ok && response.status !== 304) throw new ApiError(`summary: ${response.status}`);
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
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(`${what}: ${answer.message || response.status}`);
  return answer;
}
