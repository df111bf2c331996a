// Tasks: the list (from the summary) and one task (DescribeTasks): its lifecycle as a timeline,
// its containers, the actions a developer wants while testing, its live output and metadata.
import { aws, fault, logSources, dockerLog, metadata } from "./api.js";
import { h, KeyedRows, poller, table, status, fromMs, fromSeconds, timeEl, clock, portLink, shortId } from "./dom.js";

export function taskTable() {
  const { node, tbody } = table(["Task", "Cluster", "Group", "Task definition", "Last status", "Desired",
    "Health", "Capacity", "Ports", "Created", "Stop code"]);
  return { node, rows: new KeyedRows(tbody) };
}

export function taskRows(view, tasks) {
  view.rows.update(tasks, (t) => `${t.cluster}/${t.id}`, (t) => `${t.version}:${t.health}:${t.ports.length}`, (t) => h("tr", {},
    h("td", {}, h("a", { href: `#/task/${encodeURIComponent(t.id)}`, class: "mono" }, t.id)),
    h("td", {}, t.cluster), h("td", {}, t.group || ""), h("td", { class: "mono" }, t.taskDefinition),
    h("td", {}, status(t.lastStatus)), h("td", {}, status(t.desiredStatus)), h("td", {}, status(t.health)),
    h("td", {}, t.capacity || ""),
    h("td", {}, t.ports.map((p) => [portLink(p, t.lastStatus === "RUNNING"), " "])),
    h("td", {}, timeEl(fromMs(t.createdAt))), h("td", { class: "muted" }, t.stopCode || "")));
}

export function taskList(main, ctx) {
  const view = taskTable();
  const note = h("p", { class: "muted" });
  main.replaceChildren(h("h2", {}, "Tasks"), view.node, note);
  return {
    update(summary) {
      taskRows(view, summary.tasks.filter((t) => !ctx.cluster || t.cluster === ctx.cluster));
      note.textContent = summary.stoppedNotShown ? `${summary.stoppedNotShown} older stopped tasks not shown.` : "";
    },
  };
}

const STEPS = [
  ["createdAt", "created (PROVISIONING)"], ["pullStartedAt", "image pull started"],
  ["pullStoppedAt", "image pull finished"], ["connectivityAt", "connected"],
  ["startedAt", "started (RUNNING)"], ["stoppingAt", "stopping"],
  ["executionStoppedAt", "containers stopped"], ["stoppedAt", "stopped (STOPPED)"],
];

export function taskDetail(main, ctx, id) {
  const head = h("div");
  const actions = h("div", { class: "actions" });
  const timeline = h("ol", { class: "timeline", "aria-label": "Task lifecycle" });
  const containers = h("div");
  const logs = h("pre", { class: "logs", tabindex: 0, "aria-label": "Task output", "aria-live": "off" });
  const meta = h("pre", { class: "json" }, "Open to load.");
  const details = h("details", { ontoggle: () => details.open && loadMetadata() },
    h("summary", {}, "Task metadata (v4, as the containers read it)"), meta);
  main.replaceChildren(h("p", {}, h("a", { href: "#/tasks" }, "← Tasks")), h("h2", {}, `Task ${id}`),
    head, actions,
    h("div", { class: "grid" },
      h("section", { class: "panel" }, h("h3", {}, "Lifecycle"), timeline),
      h("section", { class: "panel" }, h("h3", {}, "Output"), logs)),
    h("h3", {}, "Containers"), containers, details);
  let task = null;
  let version = null;
  const output = new Output(id, logs, ctx);

  async function loadMetadata() {
    try { meta.textContent = JSON.stringify(await metadata(id), null, 2); }
    catch (error) { meta.textContent = String(error.message || error); }
  }

  const loop = poller(ctx, 1000, async (closed) => {
    const brief = ctx.summary && ctx.summary.tasks.find((t) => t.id === id);
    if (brief) {
      const answer = await aws("ecs", "DescribeTasks", { cluster: brief.cluster, tasks: [brief.id], include: ["TAGS"] });
      if (answer.tasks && answer.tasks[0] && !closed()) render(answer.tasks[0]);
    } else if (ctx.summary && !task) {
      head.replaceChildren(h("p", {}, "No such task in this account and region (or it stopped over an hour ago)."));
    }
    await output.poll();
  });

  function render(t) {
    task = t;
    if (`${t.version}:${t.healthStatus}` === version) return;
    version = `${t.version}:${t.healthStatus}`;
    head.replaceChildren(h("p", {}, status(t.lastStatus), " (desired ", status(t.desiredStatus), ") · health ",
      status(t.healthStatus), " · ", h("span", { class: "mono" }, t.taskDefinitionArn.split("/").pop()),
      " · cluster ", shortId(t.clusterArn), " · ", t.capacityProviderName || t.launchType || "",
      t.group ? ` · ${t.group}` : ""),
      ...(t.stopCode || t.stoppedReason ? [h("p", {}, h("strong", {}, "Stopped: "), t.stopCode || "", " ", t.stoppedReason || "")] : []));
    const live = t.desiredStatus !== "STOPPED";
    actions.replaceChildren(...[
      h("button", { type: "button", class: "danger", disabled: !live, onclick: () => ctx.act("task stopped",
        () => aws("ecs", "StopTask", { cluster: t.clusterArn, task: t.taskArn, reason: "Stopped from the dashboard" })) }, "Stop task"),
      h("button", { type: "button", disabled: !live, onclick: () => ctx.act("essential container killed",
        () => fault(t.taskArn, "kill")) }, "Kill container"),
      h("button", { type: "button", disabled: !live, onclick: () => ctx.act("marked unhealthy",
        () => fault(t.taskArn, "health", { status: "UNHEALTHY" })) }, "Mark unhealthy"),
      t.capacityProviderName === "FARGATE_SPOT"
        ? h("button", { type: "button", disabled: !live, onclick: () => ctx.act("Spot interruption sent",
          () => fault(t.taskArn, "spot-interruption")) }, "Interrupt (Spot)") : null,
    ].filter(Boolean));
    timeline.replaceChildren(...STEPS.map(([key, label]) => h("li", { class: t[key] ? "" : "pending" },
      timeEl(fromSeconds(t[key])), t[key] ? label : h("span", { class: "muted" }, label))));
    const view = table(["Container", "Image", "Status", "Exit code", "Reason", "Health", "Ports", "Docker id", ""]);
    for (const c of t.containers || []) {
      view.tbody.append(h("tr", {},
        h("td", {}, c.name), h("td", { class: "mono" }, c.image),
        h("td", {}, status(c.lastStatus)), h("td", { class: "num" }, c.exitCode ?? ""),
        h("td", {}, c.reason || ""), h("td", {}, status(c.healthStatus)),
        h("td", {}, (c.networkBindings || []).filter((b) => b.hostPort).map((b) => [portLink(b, c.lastStatus === "RUNNING"), " "])),
        h("td", { class: "mono" }, (c.runtimeId || "").slice(0, 12)),
        h("td", {}, live && c.lastStatus === "RUNNING" ? [
          h("button", { type: "button", "aria-label": `Kill container ${c.name}`, onclick: () => ctx.act(`${c.name} killed`,
            () => fault(t.taskArn, "kill", { container: c.name })) }, "Kill"), " ",
          h("button", { type: "button", "aria-label": `Mark container ${c.name} unhealthy`, onclick: () => ctx.act(`${c.name} marked unhealthy`,
            () => fault(t.taskArn, "health", { status: "UNHEALTHY", container: c.name })) }, "Unhealthy"),
        ] : null)));
    }
    containers.replaceChildren(view.node);
  }

  loop.refresh();
  return { update() {}, dispose() { output.closed = true; loop.dispose(); } };
}

// A task's output, live: from CloudWatch Logs (GetLogEvents, forward tokens) for containers with
// the awslogs driver, else from Docker's log through the dashboard (a timestamp cursor).
class Output {
  constructor(task, node, ctx) {
    this.task = task;
    this.node = node;
    this.ctx = ctx;
    this.sources = null;
    this.cursors = new Map();
  }

  async poll() {
    if (this.closed) return;
    if (!this.sources || this.sources.some((s) => s.source === "awslogs" && !s.ready)) {
      try {
        this.sources = (await logSources(this.task)).containers;
      } catch (error) {
        return;  // not in this scope (yet): the next poll asks again
      }
      if (!this.sources.length) this.node.textContent = "No containers.";
    }
    const prefixed = this.sources.length > 1;
    for (const source of this.sources) {
      const lines = source.source === "awslogs" ? await this.cloudWatch(source) : await this.docker(source);
      this.write(lines, prefixed ? `${source.name} | ` : "");
    }
  }

  async cloudWatch(source) {
    if (!source.ready) return [];  // the stream appears when the container first writes
    const params = { logGroupName: source.group, logStreamName: source.stream, startFromHead: true };
    const token = this.cursors.get(source.name);
    if (token) params.nextToken = token;
    const page = await aws("logs", "GetLogEvents", params);
    if (page.nextForwardToken) this.cursors.set(source.name, page.nextForwardToken);
    return (page.events || []).map((e) => ({ t: e.timestamp, message: e.message, stream: "stdout" }));
  }

  async docker(source) {
    const answer = await dockerLog(this.task, source.name, this.cursors.get(source.name));
    if (answer.cursor !== null && answer.cursor !== undefined) this.cursors.set(source.name, answer.cursor);
    return answer.lines;
  }

  write(lines, prefix) {
    if (!lines.length) return;
    const atEnd = this.node.scrollTop + this.node.clientHeight >= this.node.scrollHeight - 8;
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      fragment.append(h("span", { class: line.stream === "stderr" ? "stderr" : null, title: clock(fromMs(line.t)) },
        `${prefix}${line.message.replace(/\n$/, "")}\n`));
    }
    this.node.append(fragment);
    while (this.node.childNodes.length > 5000) this.node.firstChild.remove();
    if (atEnd) this.node.scrollTop = this.node.scrollHeight;
  }
}
