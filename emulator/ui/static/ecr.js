// ECR: repositories and their images (tags, digest, size, pushed at, scan findings), through the
// ECR API (DescribeRepositories, DescribeImages), refreshed every few seconds.
import { aws } from "./api.js";
import { h, poller, table, fromSeconds, timeEl } from "./dom.js";

const EVERY_MS = 4000;

async function all(operation, params, key) {
  const found = [];
  let nextToken;
  do {
    const page = await aws("ecr", operation, nextToken ? { ...params, nextToken } : params);
    found.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
}

function size(bytes) {
  if (bytes === undefined || bytes === null) return "";
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function findings(image) {
  const scan = image.imageScanStatus;
  const summary = image.imageScanFindingsSummary;
  if (!scan) return h("span", { class: "muted" }, "not scanned");
  const counts = summary && summary.findingSeverityCounts
    ? Object.entries(summary.findingSeverityCounts).map(([k, v]) => `${k} ${v}`).join(", ") : "";
  return h("span", {}, h("span", { class: scan.status === "COMPLETE" ? "COMPLETED" : scan.status }, scan.status),
    counts ? ` · ${counts}` : (scan.status === "COMPLETE" ? " · no findings" : ""));
}

// `only`: one repository (#/ecr/<name>, where a stack's repository links), else all.
export function ecrView(main, ctx, only = "") {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const back = only ? [h("p", {}, h("a", { href: "#/ecr" }, "← All repositories"))] : [];
  main.replaceChildren(...back, h("h2", {}, only ? `ECR repository ${only}` : "ECR repositories"), body);
  let shown = null;
  const loop = poller(ctx, EVERY_MS, async (closed) => {
    const repositories = await all("DescribeRepositories",
      only ? { repositoryNames: [only] } : {}, "repositories");
    const images = await Promise.all(repositories.map((r) =>
      all("DescribeImages", { repositoryName: r.repositoryName }, "imageDetails")));
    const key = JSON.stringify([repositories, images]);
    if (key !== shown && !closed()) {
      shown = key;
      render(repositories, images);
    }
  });

  function render(repositories, images) {
    if (!repositories.length) {
      body.replaceChildren(h("p", { class: "muted" }, "No repositories in this account and region."));
      return;
    }
    body.replaceChildren(...repositories.map((repo, i) => {
      const view = table(["Tags", "Digest", "Size", "Pushed at", "Scan findings"]);
      const sorted = images[i].slice().sort((a, b) => (b.imagePushedAt || 0) - (a.imagePushedAt || 0));
      for (const image of sorted) {
        view.tbody.append(h("tr", {},
          h("td", { class: "mono" }, (image.imageTags || []).join(", ") || h("span", { class: "muted" }, "untagged")),
          h("td", { class: "mono", title: image.imageDigest }, image.imageDigest.slice(0, 19) + "…"),
          h("td", { class: "num" }, size(image.imageSizeInBytes)),
          h("td", {}, timeEl(fromSeconds(image.imagePushedAt))), h("td", {}, findings(image))));
      }
      return h("section", { class: "panel" },
        h("h3", {}, repo.repositoryName, " ", h("span", { class: "mono muted" }, repo.repositoryUri)),
        h("p", { class: "muted" }, `tags ${repo.imageTagMutability} · scan on push ${repo.imageScanningConfiguration && repo.imageScanningConfiguration.scanOnPush ? "on" : "off"} · ${images[i].length} image(s)`),
        images[i].length ? view.node : null);
    }));
  }

  loop.refresh();
  return { update() {}, dispose: loop.dispose };
}
