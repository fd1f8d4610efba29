// ChainMatch dashboard: report jobs with progress, and the decline-reason field. No dependencies.
"use strict";

function startReport(form) {
  const panel = document.getElementById("report-panel");
  const bar = panel.querySelector(".progress > div");
  const label = panel.querySelector(".progress-label");
  const links = panel.querySelector(".downloads");
  const button = form.querySelector("button");
  button.disabled = true;
  links.innerHTML = "";
  panel.hidden = false;
  label.textContent = "排队中… (queued)";
  fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
    .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
    .then(({ ok, body }) => {
      if (!ok) throw new Error(body.detail || "失败");
      poll(body.id);
    })
    .catch((err) => { label.textContent = "生成失败：" + err.message; button.disabled = false; });

  function poll(id) {
    fetch("/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then((r) => r.json())
      .then((job) => {
        bar.style.width = job.percent + "%";
        label.textContent = job.state === "done" ? "已完成 (done)"
          : job.state === "failed" ? "生成失败：" + (job.error || "")
          : `${job.done} / ${job.total || "?"} · ${job.label || "准备中"}`;
        panel.dataset.state = job.state;
        if (job.state === "done") {
          const names = { html: "HTML 图文报告", xlsx: "Excel", csv: "CSV", json: "JSON" };
          links.innerHTML = Object.entries(job.downloads)
            .map(([fmt, url]) => `<a class="download-${fmt}" href="${url}">下载 ${names[fmt] || fmt}</a>`).join("");
          button.disabled = false;
        } else if (job.state === "failed") {
          button.disabled = false;
        } else {
          setTimeout(() => poll(id), 400);
        }
      })
      .catch(() => setTimeout(() => poll(id), 1000));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const reportForm = document.getElementById("report-form");
  if (reportForm) {
    reportForm.addEventListener("submit", (event) => { event.preventDefault(); startReport(reportForm); });
  }
  document.querySelectorAll("select[name=stage]").forEach((select) => {
    const field = select.form.querySelector(".reason-field");
    const sync = () => {
      if (!field) return;
      const declined = select.value === "declined";
      field.hidden = !declined;
      const input = field.querySelector("input, textarea");
      if (input) input.required = declined;
    };
    select.addEventListener("change", sync);
    sync();
  });
});
