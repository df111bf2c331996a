// The dashboard: the account, region and cluster selectors, the hash routes (#/services,
// #/cluster/<name>, #/service/<cluster>/<name>, #/tasks, #/task/<id>, #/ecr, #/ecr/<repository>,
// #/stacks), and one poll of the summary a second
// (ETag: an unchanged summary costs a 304 and no rendering). The link printed at start opens
// it at #token=... (the control token: api.js), which is taken out before any route is read.
import { scope, scopes, summary, forgetSummary, takeToken, TokenRefused } from "./api.js";
import { h } from "./dom.js";
import { serviceList, serviceDetail } from "./services.js";
import { taskList, taskDetail } from "./tasks.js";
import { ecrView } from "./ecr.js";
import { stacksView } from "./stacks.js";

const POLL_MS = 1000;
const main = document.getElementById("main");
const statusNode = document.getElementById("status");
const toastNode = document.getElementById("toast");
const selects = { account: document.getElementById("account"), region: document.getElementById("region"),
  cluster: document.getElementById("cluster") };
const pauseButton = document.getElementById("pause");

const ctx = {
  cluster: "",
  summary: null,
  toast(message) {
    toastNode.textContent = message;
    toastNode.hidden = false;
    clearTimeout(ctx.toastTimer);
    ctx.toastTimer = setTimeout(() => { toastNode.hidden = true; }, 6000);
  },
  async act(done, call) {
    try {
      await call();
      ctx.toast(done);
      poll(true);
    } catch (error) {
      ctx.toast(String(error.message || error));
    }
  },
};

let view = null;
let paused = false;
let pollTimer = null;

function route() {
  if (view && view.dispose) view.dispose();
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const name = parts[0] || "services";
  if (name === "service" && parts.length >= 3) view = serviceDetail(main, ctx, parts[1], parts.slice(2).join("/"));
  else if (name === "task" && parts[1]) view = taskDetail(main, ctx, parts[1]);
  else if (name === "tasks") view = taskList(main, ctx);
  else if (name === "ecr") view = ecrView(main, ctx, parts[1] || "");
  else if (name === "stacks") view = stacksView(main, ctx);
  else if (name === "cluster" && parts[1]) {
    // A cluster's services: the cluster selector says which.
    ctx.cluster = parts[1];
    if (![...selects.cluster.options].some((o) => o.value === parts[1])) {
      selects.cluster.append(h("option", { value: parts[1] }, parts[1]));
    }
    selects.cluster.value = parts[1];
    view = serviceList(main, ctx);
  } else view = serviceList(main, ctx);
  const section = { service: "services", task: "tasks", cluster: "services" }[name] || name;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (ctx.summary) view.update(ctx.summary);
}

async function poll(now = false) {
  clearTimeout(pollTimer);
  if (paused && !now) return;
  if (document.hidden && !now) {  // a tab in the background costs nothing until shown again
    pollTimer = setTimeout(poll, POLL_MS);
    return;
  }
  try {
    const fresh = await summary();
    if (fresh) {
      const started = performance.now();
      ctx.summary = fresh;
      fillClusters(fresh);
      if (view) view.update(fresh);
      // The last renders' times, for scripts/bench/dashboard.py.
      (window.__dashboardRenderMs ||= []).push(performance.now() - started);
      if (window.__dashboardRenderMs.length > 50) window.__dashboardRenderMs.shift();
    }
    statusNode.textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
  } catch (error) {
    unreachable(error);
  }
  if (!paused) pollTimer = setTimeout(poll, POLL_MS);
}

function fillClusters(fresh) {
  const names = fresh.clusters.map((c) => c.name);
  const current = [...selects.cluster.options].slice(1).map((o) => o.value);
  if (names.join("\n") === current.join("\n")) return;
  selects.cluster.replaceChildren(h("option", { value: "" }, "all"),
    ...names.map((n) => h("option", { value: n, selected: n === ctx.cluster }, n)));
}

function fillScopes(found) {
  const accounts = [...new Set(found.scopes.map((s) => s.account))];
  const regions = [...new Set(found.scopes.map((s) => s.region))];
  const fill = (select, values, chosen) => {
    const keep = select.value || chosen;
    select.replaceChildren(...values.map((v) => h("option", { value: v, selected: v === keep }, v)));
  };
  fill(selects.account, accounts, scope.account);
  fill(selects.region, regions, scope.region);
}

async function loadScopes() {
  try {
    const found = await scopes();
    if (!scope.account) Object.assign(scope, found.default);
    fillScopes(found);
  } catch (error) {
    unreachable(error);
  }
}

function unreachable(error) {
  statusNode.textContent = error instanceof TokenRefused ? error.message
    : "emulator unreachable; retrying";
}

function scopeChanged() {
  scope.account = selects.account.value;
  scope.region = selects.region.value;
  ctx.cluster = "";
  ctx.summary = null;
  forgetSummary();
  route();
  poll(true);
}

selects.account.addEventListener("change", scopeChanged);
selects.region.addEventListener("change", scopeChanged);
selects.cluster.addEventListener("change", () => {
  ctx.cluster = selects.cluster.value;
  route();
});
pauseButton.addEventListener("click", () => {
  paused = !paused;
  pauseButton.setAttribute("aria-pressed", String(paused));
  pauseButton.textContent = paused ? "Resume updates" : "Pause updates";
  statusNode.textContent = paused ? "paused" : statusNode.textContent;
  if (!paused) poll(true);
});
window.addEventListener("hashchange", () => {
  // The link pasted into a tab that has the page open already (a new run's token).
  if (takeToken()) {
    loadScopes();
    poll(true);
  }
  route();
  main.focus({ preventScroll: true });
});
document.addEventListener("visibilitychange", () => { if (!document.hidden && !paused) poll(true); });
// New accounts and regions appear as clients use them.
setInterval(loadScopes, 10000);

takeToken();
await loadScopes();
route();
poll(true);
