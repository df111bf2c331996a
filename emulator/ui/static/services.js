// Services: the list (from the summary) and one service (DescribeServices): counts, scaling,
// deployments and the events as a timeline, and its tasks.
import { aws } from "./api.js";
import { h, KeyedRows, poller, table, status, fromSeconds, timeEl } from "./dom.js";
import { taskRows, taskTable } from "./tasks.js";

export function clusterBar(summary) {
  return h("div", { class: "cluster-bar", "aria-label": "Clusters" },
    summary.clusters.length ? summary.clusters.map((c) => h("div", { class: "panel" },
      h("strong", {}, c.name), " ", status(c.status), " ",
      h("span", { class: "counts muted" }, `${c.runningTasks} running, ${c.pendingTasks} pending`)))
      : h("p", { class: "muted" }, "No clusters in this account and region yet."));
}

export function serviceList(main, ctx) {
  const bar = h("div");
  const { node, tbody } = table(["Service", "Cluster", "Status", "Desired", "Running", "Pending",
    "Rollout", "Failed tasks", "Task definition", "Latest event"]);
  const rows = new KeyedRows(tbody);
  main.replaceChildren(h("h2", {}, "Services"), bar, node);
  return {
    update(summary) {
      bar.replaceChildren(clusterBar(summary));
      const services = summary.services.filter((s) => !ctx.cluster || s.cluster === ctx.cluster);
      rows.update(services, (s) => `${s.cluster}/${s.name}`, (s) => JSON.stringify(s), (s) => h("tr", {},
        h("td", {}, h("a", { href: `#/service/${encodeURIComponent(s.cluster)}/${encodeURIComponent(s.name)}` }, s.name)),
        h("td", {}, s.cluster), h("td", {}, status(s.status)),
        h("td", { class: "num" }, s.desired), h("td", { class: "num" }, s.running),
        h("td", { class: "num" }, s.pending), h("td", {}, status(s.rolloutState)),
        h("td", { class: "num" }, s.failedTasks), h("td", { class: "mono" }, s.taskDefinition),
        h("td", { class: "muted" }, s.lastEvent || "")));
    },
  };
}

export function serviceDetail(main, ctx, cluster, name) {
  const head = h("div");
  const deployments = h("div");
  const events = h("ol", { class: "timeline events", "aria-label": "Service events" });
  const tasks = taskTable();
  const input = h("input", { type: "number", min: 0, max: 5000, id: "desired-count", required: true, class: "count" });
  const form = h("form", { class: "actions", onsubmit: async (event) => {
    event.preventDefault();
    await ctx.act(`scaled ${name} to ${input.value}`, () => aws("ecs", "UpdateService",
      { cluster, service: name, desiredCount: Number(input.value) }));
    loop.refresh();
  } }, h("label", { for: "desired-count" }, "Desired count "), input, h("button", { type: "submit" }, "Scale"));
  main.replaceChildren(h("p", {}, h("a", { href: "#/services" }, "← Services")),
    h("h2", {}, `Service ${name}`), head, form,
    h("section", { class: "panel" }, h("h3", {}, "Deployments"), deployments),
    h("section", { class: "panel" }, h("h3", {}, "Events"), events),
    h("h3", {}, "Tasks"), tasks.node);
  let firstEvent = null;
  let filled = false;
  const loop = poller(ctx, 1500, async (closed) => {
    const answer = await aws("ecs", "DescribeServices", { cluster, services: [name] });
    const service = answer.services && answer.services[0];
    if (closed()) return;
    if (!service) {
      head.replaceChildren(h("p", {}, `No service ${name} in cluster ${cluster}.`));
    } else {
      render(service);
    }
  });

  function render(s) {
    head.replaceChildren(h("p", { class: "counts" }, status(s.status), " · cluster ", h("strong", {}, cluster),
      ` · desired ${s.desiredCount} · running ${s.runningCount} · pending ${s.pendingCount} · `,
      h("span", { class: "mono" }, s.taskDefinition.split("/").pop()), ` · ${s.launchType || "capacity provider strategy"}`));
    if (!filled) { input.value = s.desiredCount; filled = true; }
    const breaker = (s.deploymentConfiguration || {}).deploymentCircuitBreaker;
    const { node, tbody } = table(["Deployment", "Status", "Rollout", "Desired", "Running", "Pending", "Failed tasks", "Task definition", "Updated"]);
    for (const d of s.deployments || []) {
      tbody.append(h("tr", {}, h("td", { class: "mono" }, d.id), h("td", {}, status(d.status)),
        h("td", {}, status(d.rolloutState), d.rolloutStateReason ? h("div", { class: "muted" }, d.rolloutStateReason) : null),
        h("td", { class: "num" }, d.desiredCount), h("td", { class: "num" }, d.runningCount),
        h("td", { class: "num" }, d.pendingCount), h("td", { class: "num" }, d.failedTasks),
        h("td", { class: "mono" }, d.taskDefinition.split("/").pop()), h("td", {}, timeEl(fromSeconds(d.updatedAt)))));
    }
    const threshold = breaker && breaker.thresholdConfiguration;
    deployments.replaceChildren(node, h("p", { class: "muted" }, breaker
      ? `Circuit breaker ${breaker.enable ? "on" : "off"}${breaker.rollback ? ", with rollback" : ""}` +
        (threshold ? `, threshold ${threshold.type} ${threshold.value}` : "") +
        (breaker.resetOnHealthyTask === false ? ", failures add up (resetOnHealthyTask off)" : "") + "."
      : "No circuit breaker."));
    const latest = (s.events || [])[0];
    if ((latest && latest.id) !== firstEvent) {
      firstEvent = latest && latest.id;
      events.replaceChildren(...(s.events || []).map((e) => h("li", {},
        timeEl(fromSeconds(e.createdAt)), e.message)));
      if (!s.events || !s.events.length) events.append(h("li", { class: "pending muted" }, "No events yet."));
    }
  }

  loop.refresh();
  return {
    update(summary) {
      taskRows(tasks, summary.tasks.filter((t) => t.cluster === cluster && t.group === `service:${name}`));
    },
    dispose: loop.dispose,
  };
}
