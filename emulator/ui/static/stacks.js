// CloudFormation: the stacks of the account and region (the dashboard's /api/stacks, read from
// moto's backend), each with its resources (physical ids linking to the cluster, service and
// repository views) and its events as a timeline, refreshed every few seconds.
import { stacks } from "./api.js";
import { h, poller, table, status, fromMs, timeEl } from "./dom.js";

const EVERY_MS = 2000;

// Where a resource of ours is shown: a cluster's services, a service, a repository.
function resourceLink(resource) {
  const id = resource.physicalId;
  if (!id) return h("span", { class: "muted" }, "—");
  const enc = encodeURIComponent;
  if (resource.type === "AWS::ECS::Cluster") {
    return h("a", { href: `#/cluster/${enc(id.split("/").pop())}`, class: "mono" }, id);
  }
  if (resource.type === "AWS::ECS::Service") {
    // arn:aws:ecs:<region>:<account>:service/<cluster>/<name>
    const [cluster, name] = id.split(":service/").pop().split("/");
    if (cluster && name) return h("a", { href: `#/service/${enc(cluster)}/${enc(name)}`, class: "mono" }, id);
  }
  if (resource.type === "AWS::ECR::Repository") {
    return h("a", { href: `#/ecr/${enc(id)}`, class: "mono" }, id);
  }
  return h("span", { class: "mono" }, id);
}

function statusOf(value) {
  // CREATE_COMPLETE -> COMPLETED's colour, *_IN_PROGRESS and *_FAILED likewise.
  const tone = /FAILED|ROLLBACK/.test(value) ? "FAILED" : /IN_PROGRESS/.test(value) ? "IN_PROGRESS"
    : /COMPLETE/.test(value) ? "COMPLETED" : "";
  return h("span", { class: tone }, value || "—");
}

function stackSection(stack) {
  const resources = table(["Logical id", "Type", "Status", "Physical id", "Updated"]);
  for (const r of stack.resources) {
    resources.tbody.append(h("tr", {}, h("td", {}, r.logicalId), h("td", { class: "mono" }, r.type),
      h("td", {}, statusOf(r.status), r.reason ? h("div", { class: "muted" }, r.reason) : null),
      h("td", {}, resourceLink(r)), h("td", {}, timeEl(fromMs(r.updatedAt)))));
  }
  const events = h("ol", { class: "timeline events", "aria-label": `Events of stack ${stack.name}` },
    stack.events.map((e) => h("li", {}, timeEl(fromMs(e.timestamp)), `${e.logicalId} `,
      statusOf(e.status), e.reason ? ` ${e.reason}` : "")));
  return h("section", { class: "panel", "aria-label": `Stack ${stack.name}` },
    h("h3", {}, stack.name, " ", statusOf(stack.status)),
    h("p", { class: "muted" }, h("span", { class: "mono" }, stack.stackId), " · created ",
      timeEl(fromMs(stack.createdAt)), stack.statusReason ? ` · ${stack.statusReason}` : "",
      stack.description ? ` · ${stack.description}` : ""),
    h("h4", {}, "Resources"),
    stack.resources.length ? resources.node : h("p", { class: "muted" }, "No resources."),
    h("details", {}, h("summary", {}, `Events (${stack.events.length})`), events));
}

export function stacksView(main, ctx) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.replaceChildren(h("h2", {}, "CloudFormation stacks"), body);
  let shown = null;
  const open = new Set();  // stacks whose events the user opened stay open across refreshes
  const loop = poller(ctx, EVERY_MS, async (closed) => {
    const found = await stacks();
    const key = JSON.stringify(found);
    if (key !== shown && !closed()) {
      shown = key;
      render(found.stacks);
    }
  });

  function render(list) {
    if (!list.length) {
      body.replaceChildren(h("p", { class: "muted" }, "No stacks in this account and region."));
      return;
    }
    body.replaceChildren(...list.map((stack) => {
      const section = stackSection(stack);
      const details = section.querySelector("details");
      details.dataset.stack = stack.stackId;
      details.addEventListener("toggle", () => {
        if (details.open) open.add(stack.stackId); else open.delete(stack.stackId);
      });
      if (open.has(stack.stackId)) details.open = true;
      return section;
    }));
  }

  loop.refresh();
  return { update() {}, dispose: loop.dispose };
}
